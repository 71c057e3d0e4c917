// The contract's stateless rules (required fields, limits, names), checked
// once at the edge. Rules that depend on the VM's state (before/after boot)
// belong to the services. Every error is InvalidArgument with a message a
// user can act on.
#ifndef BLIMP_API_VALIDATE_H_
#define BLIMP_API_VALIDATE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/blimp/v1/config.pb.h"

namespace blimp::api {

inline constexpr uint32_t kMaxVcpus = 32;
inline constexpr uint32_t kMaxMemMib = 1024 * 1024;  // 1 TiB.
inline constexpr size_t kMaxVmIdLength = 64;
// kernel_image_path and initrd_path: PATH_MAX (4096) counts the NUL.
inline constexpr size_t kMaxPathLength = 4095;
// boot_args: x86 COMMAND_LINE_SIZE is 2048 bytes with the NUL, and blimp-vmm
// appends words of its own (arch/x86_64/boot.cc): " noxsave
// clearcpuid=smap,erms,fsrm" on a PVM host (34 bytes) and, with acpi=off,
// " virtio_mmio.device=4K@0xd0000000:5" per device (35 bytes, one device
// today). 128 bytes are kept for them, so accepted boot_args always fit a
// kernel with the standard cmdline_size (checked again at boot).
inline constexpr size_t kBootArgsReserve = 128;
inline constexpr size_t kMaxBootArgsLength = 2048 - 1 - kBootArgsReserve;  // 1919.

// Letters, digits, '-', '_' and '.', 1..64 long, not starting with '.': safe
// as a directory name under the run directory.
absl::Status ValidateVmId(absl::string_view vm_id);

absl::Status ValidateBalloon(const blimp::v1::Balloon& balloon);
absl::Status ValidateBalloonUpdate(const blimp::v1::BalloonUpdate& update);
absl::Status ValidateBalloonStatsUpdate(const blimp::v1::BalloonStatsUpdate& update);
// kernel_image_path (required) and initrd_path (optional): absolute, at most
// kMaxPathLength bytes, no NUL or other control character (a proto string,
// and JSON's \u0000, can hold a NUL that would cut the path for open()).
// boot_args: no NUL, at most kMaxBootArgsLength bytes.
absl::Status ValidateBootSource(const blimp::v1::BootSource& boot_source);
absl::Status ValidateMachineConfig(const blimp::v1::MachineConfig& machine);
// A complete VM: boot source, machine config, and a balloon no larger than
// the memory.
absl::Status ValidateVmConfig(const blimp::v1::VmConfig& config);
// The balloon fits the machine's memory.
absl::Status ValidateBalloonFits(uint32_t amount_mib, uint32_t mem_size_mib);

}  // namespace blimp::api

#endif  // BLIMP_API_VALIDATE_H_
