// Firecracker's JSON config file (boot-source, machine-config, balloon) to a
// validated VmConfig, plus the checks that need the host: files exist and
// the memory fits the machine.
#ifndef BLIMP_VMM_CONFIG_FILE_H_
#define BLIMP_VMM_CONFIG_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/blimp/v1/config.pb.h"
#include "vmm/vm_config.h"

namespace blimp::vmm {

// Each piece, validated (contract rules) and converted.
absl::StatusOr<BootSourceConfig> FromProto(const blimp::v1::BootSource& proto);
absl::StatusOr<MachineConfig> FromProto(const blimp::v1::MachineConfig& proto);
absl::StatusOr<BalloonConfig> FromProto(const blimp::v1::Balloon& proto);
blimp::v1::BootSource ToProto(const BootSourceConfig& boot_source);
blimp::v1::MachineConfig ToProto(const MachineConfig& machine);
blimp::v1::Balloon ToProto(const BalloonConfig& balloon);

// Validates the whole config (contract rules) and converts it.
absl::StatusOr<VmConfig> FromProto(const blimp::v1::VmConfig& proto);
blimp::v1::VmConfig ToProto(const VmConfig& config);

// Parses and validates config-file JSON text.
absl::StatusOr<VmConfig> ParseConfigJson(absl::string_view json);
// Reads, parses and validates a config file.
absl::StatusOr<VmConfig> LoadConfigFile(const std::string& path);

// Checks against this host: kernel (and initrd) readable, memory not larger
// than the host's RAM.
absl::Status CheckHostResources(const VmConfig& config);

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_CONFIG_FILE_H_
