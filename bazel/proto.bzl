"""Turns .proto files into C++ message and gRPC stub libraries with the system protoc.

Debian ships protoc and grpc_cpp_plugin but no Bazel proto rules that work offline with
Bazel 4, so a genrule runs them. Import paths are rooted at //protos:
`import "identity/v1/identity_service.proto";` and `#include "identity/v1/identity_service.pb.h"`.

    suite_proto_library(
        name = "identity_proto",
        srcs = ["identity_service.proto"],
        deps = ["//protos/google/rpc:status_proto"],
    )

gives `:identity_proto` (a cc_library with messages and stubs) and `:identity_proto_files`
(the .proto sources, transitively, for dependants and for descriptor sets).
"""

def _strip_protos_root(label_path):
    prefix = "protos/"
    if not label_path.startswith(prefix):
        fail("suite_proto_library must live under //protos, got " + label_path)
    return label_path[len(prefix):]

def suite_proto_library(name, srcs, deps = [], grpc = True, visibility = None):
    pkg = native.package_name()
    rel = _strip_protos_root(pkg + "/")
    outs = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]

    native.filegroup(
        name = name + "_files",
        srcs = srcs + [dep + "_files" for dep in deps],
        visibility = visibility,
    )

    grpc_flags = ""
    if grpc:
        grpc_flags = "--grpc_out=$(GENDIR)/protos --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin "
    native.genrule(
        name = name + "_gen",
        srcs = [name + "_files"],
        outs = outs,
        cmd = ("/usr/bin/protoc -Iprotos -I/usr/include --cpp_out=$(GENDIR)/protos " +
               grpc_flags + " ".join(["protos/" + rel + s for s in srcs])),
    )

    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        strip_include_prefix = "/protos",
        # Message-only libraries (grpc = False) do not reach gRPC: the absl-only packages
        # (shared/api) use the google.rpc messages, and the domains must not link gRPC.
        deps = deps + (["//third_party:grpc"] if grpc else []) + ["//third_party:protobuf"],
        visibility = visibility,
    )
