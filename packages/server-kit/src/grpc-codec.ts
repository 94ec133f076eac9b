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

/**
 * A grpc-js service definition for a protobuf-es service descriptor: the
 * bridge that lets grpc-js (the fast server and client here) speak messages
 * typed by protobuf-es. Used by the server mount and by clients alike.
 */
export function grpcServiceDefinition(desc: DescService): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const method of desc.methods) {
    const kind = method.methodKind;
    definition[method.localName] = {
      path: `/${desc.typeName}/${method.name}`,
      requestStream: kind === "client_streaming" || kind === "bidi_streaming",
      responseStream: kind === "server_streaming" || kind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
      originalName: method.name,
    };
  }
  return definition;
}
