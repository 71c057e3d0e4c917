#include "vmm/config_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "api/json.h"
#include "api/validate.h"
#include "base/host_memory.h"
#include "base/image_file_check.h"
#include "base/status_macros.h"

namespace blimp::vmm {

absl::StatusOr<BootSourceConfig> FromProto(const blimp::v1::BootSource& proto) {
  RETURN_IF_ERROR(api::ValidateBootSource(proto));
  return BootSourceConfig{proto.kernel_image_path(), proto.initrd_path(), proto.boot_args()};
}

absl::StatusOr<MachineConfig> FromProto(const blimp::v1::MachineConfig& proto) {
  RETURN_IF_ERROR(api::ValidateMachineConfig(proto));
  return MachineConfig{proto.vcpu_count(), proto.mem_size_mib(), proto.smt()};
}

absl::StatusOr<BalloonConfig> FromProto(const blimp::v1::Balloon& proto) {
  RETURN_IF_ERROR(api::ValidateBalloon(proto));
  return BalloonConfig{proto.amount_mib(), proto.deflate_on_oom(),
                       proto.stats_polling_interval_s(), proto.free_page_reporting(),
                       proto.free_page_hinting(), proto.memory_enforcement()};
}

blimp::v1::BootSource ToProto(const BootSourceConfig& boot_source) {
  blimp::v1::BootSource proto;
  proto.set_kernel_image_path(boot_source.kernel_image_path);
  proto.set_initrd_path(boot_source.initrd_path);
  proto.set_boot_args(boot_source.boot_args);
  return proto;
}

blimp::v1::MachineConfig ToProto(const MachineConfig& machine) {
  blimp::v1::MachineConfig proto;
  proto.set_vcpu_count(machine.vcpu_count);
  proto.set_mem_size_mib(machine.mem_size_mib);
  proto.set_smt(machine.smt);
  return proto;
}

blimp::v1::Balloon ToProto(const BalloonConfig& balloon) {
  blimp::v1::Balloon proto;
  proto.set_amount_mib(balloon.amount_mib);
  proto.set_deflate_on_oom(balloon.deflate_on_oom);
  proto.set_stats_polling_interval_s(balloon.stats_polling_interval_s);
  proto.set_free_page_reporting(balloon.free_page_reporting);
  proto.set_free_page_hinting(balloon.free_page_hinting);
  if (!balloon.memory_enforcement.empty()) {
    proto.set_memory_enforcement(balloon.memory_enforcement);
  }
  return proto;
}

absl::StatusOr<VmConfig> FromProto(const blimp::v1::VmConfig& proto) {
  RETURN_IF_ERROR(api::ValidateVmConfig(proto));
  VmConfig config;
  ASSIGN_OR_RETURN(config.boot_source, FromProto(proto.boot_source()));
  ASSIGN_OR_RETURN(config.machine, FromProto(proto.machine_config()));
  if (proto.has_balloon()) {
    ASSIGN_OR_RETURN(config.balloon, FromProto(proto.balloon()));
  }
  return config;
}

blimp::v1::VmConfig ToProto(const VmConfig& config) {
  blimp::v1::VmConfig proto;
  *proto.mutable_boot_source() = ToProto(config.boot_source);
  *proto.mutable_machine_config() = ToProto(config.machine);
  if (config.balloon) *proto.mutable_balloon() = ToProto(*config.balloon);
  return proto;
}

absl::StatusOr<VmConfig> ParseConfigJson(absl::string_view json) {
  blimp::v1::VmConfig proto;
  RETURN_IF_ERROR(api::ParseJson(json, &proto));
  return FromProto(proto);
}

absl::StatusOr<VmConfig> LoadConfigFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot read config file '", path, "'"));
  }
  std::stringstream text;
  text << file.rdbuf();
  auto config = ParseConfigJson(text.str());
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

absl::Status CheckHostResources(const VmConfig& config) {
  // The same checks blimpd runs before it spawns us (base/); relative paths
  // are fine when blimp-vmm is run by hand.
  base::ImageFileRules rules;
  rules.require_absolute = false;
  RETURN_IF_ERROR(
      base::CheckImageFile("kernel_image_path", config.boot_source.kernel_image_path, rules));
  if (!config.boot_source.initrd_path.empty()) {
    RETURN_IF_ERROR(base::CheckImageFile("initrd_path", config.boot_source.initrd_path, rules));
  }
  return base::CheckMemoryFitsHost(config.machine.mem_size_mib);
}

}  // namespace blimp::vmm
