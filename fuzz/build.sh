#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build/fuzz/.
# Bazel builds our code with gcc; the fuzzers need clang's -fsanitize=fuzzer,
# so this script compiles the few pure-code sources each target needs
# directly, against the same Debian libraries (flags from pkg-config) and the
# protobuf code Bazel generated.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/fuzz
mkdir -p "$out"

bazel build //proto/blimp/v1:all //vmm/control:control_cc_proto //vmm/snapshot:snapshot_cc_proto >/dev/null 2>&1 ||
  bazel build //proto/blimp/v1:all //vmm/control:control_cc_proto //vmm/snapshot:snapshot_cc_proto
gen=$(bazel info bazel-bin 2>/dev/null)

absl_libs=$(pkg-config --libs absl_status absl_statusor absl_strings absl_str_format \
  absl_synchronization absl_time absl_flat_hash_map absl_span)
libs="$absl_libs $(pkg-config --libs libglog protobuf grpc++)"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -DNOMINMAX -I. -I"$gen" -Wno-deprecated-declarations)

memory_srcs="memory/guest_memory.cc memory/hole_guard.cc memory/mmap_region.cc base/unique_fd.cc"
queue_srcs="$memory_srcs device/virtio/split_queue.cc"
balloon_srcs="$queue_srcs device/virtio/balloon/balloon.cc device/virtio/balloon/pfn_ranges.cc"
config_srcs="base/image_file_check.cc base/host_memory.cc base/unique_fd.cc api/json.cc api/json_strict.cc api/json_string.cc api/validate.cc vmm/config_file.cc $gen/proto/blimp/v1/config.pb.cc"
api_srcs="$config_srcs $gen/proto/blimp/v1/balloon_service.pb.cc $gen/proto/blimp/v1/vm_service.pb.cc
  $gen/vmm/control/control.pb.cc"

declare -A sources=(
  [split_queue_fuzzer]="fuzz/split_queue_fuzzer.cc $queue_srcs"
  [balloon_fuzzer]="fuzz/balloon_fuzzer.cc $balloon_srcs"
  [mmio_transport_fuzzer]="fuzz/mmio_transport_fuzzer.cc $balloon_srcs device/virtio/mmio_transport.cc"
  [config_fuzzer]="fuzz/config_fuzzer.cc $config_srcs"
  [http_parser_fuzzer]="fuzz/http_parser_fuzzer.cc gateway/http_parser.cc"
  [router_fuzzer]="fuzz/router_fuzzer.cc $api_srcs gateway/router.cc gateway/path.cc
    gateway/fault.cc gateway/http_status.cc vmm/vm_controller.cc vmm/single_vm_api.cc
    vmm/control/control_handler.cc vmm/control/response_status.cc vmm/control/vm_control.cc
    api/snapshot_params.cc vmm/snapshot/snapshot_file.cc $gen/vmm/snapshot/snapshot.pb.cc"
)

targets=("$@")
((${#targets[@]})) || targets=("${!sources[@]}")
for target in "${targets[@]}"; do
  srcs=${sources[$target]}
  binary="$out/$target"
  # Rebuild only when a source or header changed since the last build.
  if [ -x "$binary" ] && [ -z "$(find $srcs fuzz base memory device api vmm gateway \
      -newer "$binary" -name '*.[ch]*' 2>/dev/null | head -1)" ]; then
    continue
  fi
  echo "fuzz: building $target"
  # shellcheck disable=SC2086
  clang++ "${flags[@]}" $srcs -o "$binary" $libs
done
