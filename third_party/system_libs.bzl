"""The one place system libraries (Debian packages) enter the build.

A repository rule asks pkg-config for each library's flags and writes a BUILD
file with one cc_library per library. BUILD files elsewhere depend on
//third_party:<name>, which aliases these, never on raw -l flags.
"""

# target name -> pkg-config modules (a "-lname" entry is a library without a
# .pc file, linked as is).
_LIBRARIES = {
    "abseil": [
        "absl_status",
        "absl_statusor",
        "absl_strings",
        "absl_str_format",
        "absl_synchronization",
        "absl_time",
        "absl_flags",
        "absl_flags_parse",
        "absl_flags_usage",
        "absl_span",
        "absl_cleanup",
        "absl_flat_hash_map",
        "absl_flat_hash_set",
        "absl_optional",
    ],
    "glog": ["libglog"],
    "gtest": ["gtest", "gmock"],
    "gtest_main": ["gtest", "gmock", "gtest_main"],
    "protobuf": ["protobuf"],
    "grpc": ["grpc++", "-lgrpc++_reflection"],
    "seccomp": ["libseccomp"],
    # libssl + libcrypto: TLS for the REST gateway on TCP (gateway/tls.h).
    "openssl": ["openssl"],
    # prometheus-cpp's core (metric families, text serializer) for blimpd's
    # GET /metrics; not its pull (civetweb) or push (curl) parts.
    "prometheus": ["prometheus-cpp-core"],
}

def _split_flags(rctx, modules):
    pkgs = [m for m in modules if not m.startswith("-l")]
    raw = [m for m in modules if m.startswith("-l")]
    defines = []
    linkopts = []
    if pkgs:
        cflags = _pkg_config(rctx, ["--cflags"] + pkgs)
        for flag in cflags:
            if flag.startswith("-D"):
                defines.append(flag[2:])
            elif flag.startswith("-I") and flag[2:] in ["/usr/include", "/usr/local/include"]:
                pass
            else:
                fail("pkg-config %s: unsupported compile flag %s" % (pkgs, flag))
        linkopts = _pkg_config(rctx, ["--libs"] + pkgs)
    return defines, linkopts + raw

def _pkg_config(rctx, args):
    result = rctx.execute(["pkg-config"] + args)
    if result.return_code != 0:
        fail("pkg-config %s failed (run scripts/setup.sh): %s" % (" ".join(args), result.stderr))
    return [f for f in result.stdout.strip().split(" ") if f]

def _system_libs_impl(rctx):
    lines = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, modules in _LIBRARIES.items():
        defines, linkopts = _split_flags(rctx, modules)
        lines.append("cc_library(")
        lines.append("    name = %r," % name)
        lines.append("    defines = %r," % sorted({d: 1 for d in defines}.keys()))
        lines.append("    linkopts = %r," % linkopts)
        lines.append(")")
        lines.append("")
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD", "\n".join(lines))

system_libs = repository_rule(
    implementation = _system_libs_impl,
    local = True,
    doc = "cc_library targets for system libraries, flags from pkg-config.",
)
