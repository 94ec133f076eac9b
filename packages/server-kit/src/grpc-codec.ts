import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescService } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";

/** Serialises plain objects and protobuf-es messages alike; no copy into a Buffer. */
export function serializer(schema: DescMessage): (value: object) => Buffer {
  return (value) => {
    const msg = isMessage(value, schema) ? value : create(schema, value as never);
    const bytes = toBinary(schema, msg);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Parses wire bytes into a protobuf-es message. */
export function deserializer(schema: DescMessage): (bytes: Buffer) => object {
  return (bytes) => fromBinary(schema, bytes);
}

/** A request that failed to parse (e.g. a string field that is not UTF-8). */
export class MalformedMessage {
  constructor(readonly reason: string) {}
}

/**
 * The server side's parser: a request that fails to parse becomes a
 * MalformedMessage for the mount to answer INVALID_ARGUMENT (grpc-js itself
 * would answer INTERNAL, blaming the server for the client's bytes).
 */
function lenientDeserializer(schema: DescMessage): (bytes: Buffer) => object {
  return (bytes) => {
    try {
      return fromBinary(schema, bytes);
    } catch (err) {
      return new MalformedMessage(err instanceof Error ? err.message : String(err));
    }
  };
}

/**
 * A grpc-js service definition for a protobuf-es service descriptor: the
 * bridge that lets grpc-js (the fast server and client here) speak messages
 * typed by protobuf-es. Used by the server mount and by clients alike.
 */
export function grpcServiceDefinition(desc: DescService, side: "client" | "server" = "client"): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const method of desc.methods) {
    const kind = method.methodKind;
    definition[method.localName] = {
      path: `/${desc.typeName}/${method.name}`,
      requestStream: kind === "client_streaming" || kind === "bidi_streaming",
      responseStream: kind === "server_streaming" || kind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: side === "server" ? lenientDeserializer(method.input) : deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
      originalName: method.name,
    };
  }
  return definition;
}
