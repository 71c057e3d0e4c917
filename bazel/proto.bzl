"""Protocol Buffers + gRPC C++ code generation with Debian's protoc.

blimp_cc_proto_library(name, srcs, deps, grpc) runs protoc (and
/usr/bin/grpc_cpp_plugin when grpc = True) in a genrule and wraps the output in
a cc_library. Generated headers are included by the .proto path, e.g.
"proto/blimp/v1/balloon.pb.h". deps are other blimp_cc_proto_library targets.
"""

_GRPC_PLUGIN = "/usr/bin/grpc_cpp_plugin"

def blimp_cc_proto_library(name, srcs, deps = [], grpc = False, visibility = None):
    pkg = native.package_name()
    outs = []
    for src in srcs:
        if not src.endswith(".proto"):
            fail("%s: not a .proto file" % src)
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]

    # Imported .proto files travel as the "_srcs" filegroups of deps.
    dep_srcs = [d + "_srcs" for d in deps]
    native.filegroup(
        name = name + "_srcs",
        srcs = srcs + dep_srcs,
        visibility = visibility,
    )

    grpc_flags = ""
    if grpc:
        grpc_flags = "--grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=%s " % _GRPC_PLUGIN
    native.genrule(
        name = name + "_gen",
        srcs = srcs + dep_srcs,
        outs = outs,
        cmd = "protoc -I. --cpp_out=$(GENDIR) " + grpc_flags +
              " ".join(["%s/%s" % (pkg, s) for s in srcs]),
        message = "protoc %s" % name,
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        # Generated code is not ours to keep warning-free.
        copts = ["-Wno-error"],
        deps = deps + ["//third_party:protobuf"] + (["//third_party:grpc"] if grpc else []),
        visibility = visibility,
    )
