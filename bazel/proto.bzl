"""Protocol Buffers + gRPC C++ code generation with Debian's protoc.

blimp_cc_proto_library(name, srcs, deps, grpc, messages_name) runs protoc (and
/usr/bin/grpc_cpp_plugin when grpc = True) in a genrule and wraps the output in
a cc_library. Generated headers are included by the .proto path, e.g.
"proto/blimp/v1/balloon.pb.h". deps are other blimp_cc_proto_library targets.

With grpc = True and messages_name set, the messages get a cc_library of their
own (messages_name, no gRPC) and `name` holds only the gRPC stubs and service
bases on top of it: code that needs the messages but not gRPC (blimp-vmm)
does not link gRPC.
"""

_GRPC_PLUGIN = "/usr/bin/grpc_cpp_plugin"

def _outs(srcs, suffixes):
    outs = []
    for src in srcs:
        if not src.endswith(".proto"):
            fail("%s: not a .proto file" % src)
        base = src[:-len(".proto")]
        outs += [base + suffix for suffix in suffixes]
    return outs

def _cc_library(name, outs, deps, visibility):
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        # Generated code is not ours to keep warning-free.
        copts = ["-Wno-error"],
        deps = deps,
        visibility = visibility,
    )

def blimp_cc_proto_library(name, srcs, deps = [], grpc = False, messages_name = None,
                           visibility = None):
    pkg = native.package_name()

    # Imported .proto files travel as the "_srcs" filegroups of deps.
    dep_srcs = [d + "_srcs" for d in deps]
    native.filegroup(
        name = name + "_srcs",
        srcs = srcs + dep_srcs,
        visibility = visibility,
    )
    message_outs = _outs(srcs, [".pb.h", ".pb.cc"])
    grpc_outs = _outs(srcs, [".grpc.pb.h", ".grpc.pb.cc"]) if grpc else []
    grpc_flags = ""
    if grpc:
        grpc_flags = "--grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=%s " % _GRPC_PLUGIN
    native.genrule(
        name = name + "_gen",
        srcs = srcs + dep_srcs,
        outs = message_outs + grpc_outs,
        cmd = "protoc -I. --cpp_out=$(GENDIR) " + grpc_flags +
              " ".join(["%s/%s" % (pkg, s) for s in srcs]),
        message = "protoc %s" % name,
    )
    if grpc and messages_name:
        native.filegroup(
            name = messages_name + "_srcs",
            srcs = srcs + dep_srcs,
            visibility = visibility,
        )
        _cc_library(messages_name, message_outs, deps + ["//third_party:protobuf"], visibility)
        _cc_library(name, grpc_outs, [":" + messages_name, "//third_party:grpc"], visibility)
    else:
        _cc_library(name, message_outs + grpc_outs,
                    deps + ["//third_party:protobuf"] + (["//third_party:grpc"] if grpc else []),
                    visibility)
