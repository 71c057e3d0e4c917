#include "vmm/config_file.h"

#include <sys/sysinfo.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "api/json.h"
#include "api/validate.h"
#include "base/status_macros.h"

namespace blimp::vmm {

absl::StatusOr<VmConfig> FromProto(const blimp::v1::VmConfig& proto) {
  RETURN_IF_ERROR(api::ValidateVmConfig(proto));
  VmConfig config;
  config.boot_source.kernel_image_path = proto.boot_source().kernel_image_path();
  config.boot_source.initrd_path = proto.boot_source().initrd_path();
  config.boot_source.boot_args = proto.boot_source().boot_args();
  config.machine.vcpu_count = proto.machine_config().vcpu_count();
  config.machine.mem_size_mib = proto.machine_config().mem_size_mib();
  config.machine.smt = proto.machine_config().smt();
  if (proto.has_balloon()) {
    const blimp::v1::Balloon& b = proto.balloon();
    config.balloon = BalloonConfig{b.amount_mib(), b.deflate_on_oom(),
                                   b.stats_polling_interval_s(),
                                   b.free_page_reporting(), b.free_page_hinting()};
  }
  return config;
}

blimp::v1::VmConfig ToProto(const VmConfig& config) {
  blimp::v1::VmConfig proto;
  auto* boot = proto.mutable_boot_source();
  boot->set_kernel_image_path(config.boot_source.kernel_image_path);
  boot->set_initrd_path(config.boot_source.initrd_path);
  boot->set_boot_args(config.boot_source.boot_args);
  auto* machine = proto.mutable_machine_config();
  machine->set_vcpu_count(config.machine.vcpu_count);
  machine->set_mem_size_mib(config.machine.mem_size_mib);
  machine->set_smt(config.machine.smt);
  if (config.balloon) {
    auto* b = proto.mutable_balloon();
    b->set_amount_mib(config.balloon->amount_mib);
    b->set_deflate_on_oom(config.balloon->deflate_on_oom);
    b->set_stats_polling_interval_s(config.balloon->stats_polling_interval_s);
    b->set_free_page_reporting(config.balloon->free_page_reporting);
    b->set_free_page_hinting(config.balloon->free_page_hinting);
  }
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
  for (const std::string& path :
       {config.boot_source.kernel_image_path, config.boot_source.initrd_path}) {
    if (!path.empty() && ::access(path.c_str(), R_OK) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read '", path, "': ", strerror(errno)));
    }
  }
  struct sysinfo info {};
  if (::sysinfo(&info) == 0) {
    uint64_t host_mib = static_cast<uint64_t>(info.totalram) * info.mem_unit >> 20;
    if (config.machine.mem_size_mib > host_mib) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mem_size_mib ", config.machine.mem_size_mib,
          " is more than this host's memory (", host_mib, " MiB)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace blimp::vmm
