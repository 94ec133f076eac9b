import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { ReflectionService } from "@grpc/reflection";
import type * as grpc from "@grpc/grpc-js";

/**
 * Server reflection (v1 and v1alpha, by @grpc/reflection) fed from protobuf-es
 * descriptors: the served services' files and every file they import, encoded
 * once at start. Only the served services are listed.
 */
export function addReflection(server: grpc.Server, services: readonly DescService[]): void {
  const files = new Map<string, DescFile>();
  const visit = (file: DescFile): void => {
    // A protobuf-es file's `name` lacks ".proto"; the descriptor's own name has it.
    const name = file.proto.name;
    if (files.has(name)) return;
    files.set(name, file);
    file.dependencies.forEach(visit);
  };
  services.forEach((s) => visit(s.file));
  const fileDescriptorProtos = [...files.values()].map((f) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)),
  );
  // @grpc/reflection reads a proto-loader PackageDefinition only for its
  // `fileDescriptorProtos`; one entry carrying all of them is enough.
  const packageDefinition = { files: { format: "Protocol Buffer 3 FileDescriptorProto", fileDescriptorProtos } };
  new ReflectionService(packageDefinition as never, { services: services.map((s) => s.typeName) }).addToServer(server);
}
