import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, fromJson, toBinary, toJson, type JsonValue } from "@bufbuild/protobuf";
import { createFileRegistry, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { reflectionV1, reflectionV1alpha } from "@breakwater/proto";
import { createGrpcClient, grpcTarget, toConnectError } from "../grpc-client.js";

type Version = "v1" | "v1alpha";

/**
 * A client that knows nothing of a server's .proto files and learns them by
 * server reflection, then calls methods with JSON in and JSON out: what
 * grpcurl does, so tests can prove that operators' tools work. `credentials`
 * (TLS with a client certificate: grpcurl's `-cacert -cert -key`) default to plaintext.
 */
export function createReflectionClient(
  address: string,
  version: Version = "v1",
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
) {
  const desc = version === "v1" ? reflectionV1.ServerReflection : reflectionV1alpha.ServerReflection;
  const client = createGrpcClient(desc, address, {}, credentials);
  const raw = new grpc.Client(grpcTarget(address), credentials);

  async function ask(request: object): Promise<reflectionV1.ServerReflectionResponse> {
    async function* one() {
      yield request as never;
    }
    for await (const res of client.serverReflectionInfo(one())) {
      const r = res as unknown as reflectionV1.ServerReflectionResponse;
      if (r.messageResponse.case === "errorResponse") {
        throw new Error(
          `reflection error ${r.messageResponse.value.errorCode}: ${r.messageResponse.value.errorMessage}`,
        );
      }
      return r;
    }
    throw new Error("reflection answered nothing");
  }

  function files(res: reflectionV1.ServerReflectionResponse): FileDescriptorProto[] {
    if (res.messageResponse.case !== "fileDescriptorResponse")
      throw new Error(`unexpected ${res.messageResponse.case}`);
    return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
  }

  const api = {
    async listServices(): Promise<string[]> {
      const res = await ask({ messageRequest: { case: "listServices", value: "*" } });
      if (res.messageResponse.case !== "listServicesResponse")
        throw new Error(`unexpected ${res.messageResponse.case}`);
      return res.messageResponse.value.service.map((s) => s.name);
    },
    async fileContainingSymbol(symbol: string): Promise<FileDescriptorProto[]> {
      return files(await ask({ messageRequest: { case: "fileContainingSymbol", value: symbol } }));
    },
    async fileByFilename(name: string): Promise<FileDescriptorProto[]> {
      return files(await ask({ messageRequest: { case: "fileByFilename", value: name } }));
    },
    /** Every file a symbol needs, resolved through reflection, as a registry. */
    async registryFor(symbol: string): Promise<FileRegistry> {
      const byName = new Map<string, FileDescriptorProto>();
      const pending = await api.fileContainingSymbol(symbol);
      while (pending.length > 0) {
        const f = pending.pop()!;
        if (byName.has(f.name)) continue;
        byName.set(f.name, f);
        for (const dep of f.dependency) if (!byName.has(dep)) pending.push(...(await api.fileByFilename(dep)));
      }
      return createFileRegistry(create(FileDescriptorSetSchema, { file: [...byName.values()] }));
    },
    /**
     * Calls `service/method` with a JSON request; answers the JSON response(s)
     * (a list for a server stream), as grpcurl would print them.
     */
    async invokeJson(
      serviceName: string,
      methodName: string,
      request: JsonValue,
      headers: Record<string, string> = {},
    ): Promise<JsonValue | JsonValue[]> {
      const registry = await api.registryFor(serviceName);
      const svc = registry.getService(serviceName);
      const method = svc?.methods.find((m) => m.name === methodName);
      if (!method) throw new Error(`${serviceName}/${methodName} is not in the reflected descriptors`);
      const path = `/${serviceName}/${methodName}`;
      const ser = (json: JsonValue): Buffer =>
        Buffer.from(toBinary(method.input, fromJson(method.input, json, { registry })));
      const de = (bytes: Buffer): JsonValue => toJson(method.output, fromBinary(method.output, bytes), { registry });
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(headers)) md.set(k, v);
      if (method.methodKind === "unary") {
        return new Promise((resolve, reject) =>
          raw.makeUnaryRequest(path, ser, de, request, md, (err, res) =>
            err ? reject(toConnectError(err)) : resolve(res!),
          ),
        );
      }
      if (method.methodKind === "server_streaming") {
        const out: JsonValue[] = [];
        try {
          for await (const m of raw.makeServerStreamRequest(path, ser, de, request, md)) out.push(m as JsonValue);
        } catch (err) {
          throw toConnectError(err);
        }
        return out;
      }
      throw new Error(`${methodName}: only unary and server-streaming methods are supported here`);
    },
    /** Opens a server stream by reflection and hands each JSON message to `onMessage`; returns a cancel. */
    async watchJson(
      serviceName: string,
      methodName: string,
      request: JsonValue,
      onMessage: (m: JsonValue) => void,
    ): Promise<() => void> {
      const registry = await api.registryFor(serviceName);
      const method = registry.getService(serviceName)?.methods.find((m) => m.name === methodName);
      if (!method) throw new Error(`${serviceName}/${methodName} is not in the reflected descriptors`);
      const call = raw.makeServerStreamRequest(
        `/${serviceName}/${methodName}`,
        (json: JsonValue) => Buffer.from(toBinary(method.input, fromJson(method.input, json, { registry }))),
        (bytes: Buffer) => toJson(method.output, fromBinary(method.output, bytes), { registry }),
        request,
      );
      call.on("data", onMessage);
      call.on("error", () => undefined);
      return () => call.cancel();
    },
    close(): void {
      client.close();
      raw.close();
    },
  };
  return api;
}
