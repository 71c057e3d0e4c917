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

// Letters, digits, '-', '_' and '.', 1..64 long, not starting with '.': safe
// as a directory name under the run directory.
absl::Status ValidateVmId(absl::string_view vm_id);

absl::Status ValidateBalloon(const blimp::v1::Balloon& balloon);
absl::Status ValidateBalloonUpdate(const blimp::v1::BalloonUpdate& update);
absl::Status ValidateBalloonStatsUpdate(const blimp::v1::BalloonStatsUpdate& update);
absl::Status ValidateBootSource(const blimp::v1::BootSource& boot_source);
absl::Status ValidateMachineConfig(const blimp::v1::MachineConfig& machine);
// A complete VM: boot source, machine config, and a balloon no larger than
// the memory.
absl::Status ValidateVmConfig(const blimp::v1::VmConfig& config);
// The balloon fits the machine's memory.
absl::Status ValidateBalloonFits(uint32_t amount_mib, uint32_t mem_size_mib);

}  // namespace blimp::api

#endif  // BLIMP_API_VALIDATE_H_
