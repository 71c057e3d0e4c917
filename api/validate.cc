#include "api/validate.h"

#include <climits>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace blimp::api {
namespace {

static_assert(kMaxPathLength == PATH_MAX - 1, "PATH_MAX counts the NUL");

absl::Status Missing(absl::string_view object, absl::string_view field) {
  return absl::InvalidArgumentError(
      absl::StrCat(object, ": missing required field '", field, "'"));
}

// A file the VMM opens: absolute, bounded, and free of bytes that would cut
// it (NUL) or hide in logs and messages (control characters).
absl::Status ValidatePath(absl::string_view field, absl::string_view path) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "boot-source: ", field, " '", absl::CHexEscape(path.substr(0, 256)),
        path.size() > 256 ? "...'" : "'", " ", why));
  };
  if (path.size() > kMaxPathLength) {
    return bad(absl::StrCat("is ", path.size(), " bytes long; the limit is ", kMaxPathLength));
  }
  if (path.find('\0') != absl::string_view::npos) return bad("contains a NUL byte");
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f) return bad("contains a control character");
  }
  if (path[0] != '/') return bad("is not an absolute path (it must start with '/')");
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateVmId(absl::string_view vm_id) {
  bool ok = !vm_id.empty() && vm_id.size() <= kMaxVmIdLength && vm_id[0] != '.';
  for (char c : vm_id) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                c == '_' || c == '.');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid VM id '", absl::CEscape(vm_id.substr(0, kMaxVmIdLength)),
        "': use 1 to ", kMaxVmIdLength,
        " letters, digits, '-', '_' or '.', not starting with '.'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateBalloon(const blimp::v1::Balloon& balloon) {
  if (!balloon.has_amount_mib()) return Missing("balloon", "amount_mib");
  if (!balloon.has_deflate_on_oom()) return Missing("balloon", "deflate_on_oom");
  const std::string& mode = balloon.memory_enforcement();
  if (balloon.has_memory_enforcement() && mode != "monitor" && mode != "limit" && mode != "none") {
    return absl::InvalidArgumentError(
        absl::StrCat("balloon field 'memory_enforcement': '", mode,
                     "' is not one of \"monitor\", \"limit\", \"none\""));
  }
  if (mode == "limit" && balloon.deflate_on_oom()) {
    // The guest takes pages back on OOM without asking: no limit can be
    // raised before that deflate, so it would kill an honest guest.
    return absl::InvalidArgumentError(
        "balloon field 'memory_enforcement': \"limit\" cannot be combined with deflate_on_oom "
        "(the guest deflates without asking first); use \"monitor\"");
  }
  return absl::OkStatus();
}

absl::Status ValidateBalloonUpdate(const blimp::v1::BalloonUpdate& update) {
  if (!update.has_amount_mib()) return Missing("balloon update", "amount_mib");
  return absl::OkStatus();
}

absl::Status ValidateBalloonStatsUpdate(const blimp::v1::BalloonStatsUpdate& update) {
  if (!update.has_stats_polling_interval_s()) {
    return Missing("balloon statistics update", "stats_polling_interval_s");
  }
  return absl::OkStatus();
}

absl::Status ValidateBootSource(const blimp::v1::BootSource& boot_source) {
  if (boot_source.kernel_image_path().empty()) {
    return Missing("boot-source", "kernel_image_path");
  }
  RETURN_IF_ERROR(ValidatePath("kernel_image_path", boot_source.kernel_image_path()));
  if (!boot_source.initrd_path().empty()) {
    RETURN_IF_ERROR(ValidatePath("initrd_path", boot_source.initrd_path()));
  }
  const std::string& args = boot_source.boot_args();
  if (args.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("boot-source: boot_args contains a NUL byte");
  }
  if (args.size() > kMaxBootArgsLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "boot-source: boot_args is ", args.size(), " bytes long; the limit is ",
        kMaxBootArgsLength, " (the kernel takes 2047, blimp-vmm keeps ", kBootArgsReserve,
        " for its own words)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateMachineConfig(const blimp::v1::MachineConfig& machine) {
  if (!machine.has_vcpu_count()) return Missing("machine-config", "vcpu_count");
  if (!machine.has_mem_size_mib()) return Missing("machine-config", "mem_size_mib");
  if (machine.vcpu_count() < 1 || machine.vcpu_count() > kMaxVcpus) {
    return absl::InvalidArgumentError(absl::StrCat(
        "machine-config: vcpu_count must be 1 to ", kMaxVcpus, ", got ",
        machine.vcpu_count()));
  }
  if (machine.mem_size_mib() < 1 || machine.mem_size_mib() > kMaxMemMib) {
    return absl::InvalidArgumentError(absl::StrCat(
        "machine-config: mem_size_mib must be 1 to ", kMaxMemMib, ", got ",
        machine.mem_size_mib()));
  }
  return absl::OkStatus();
}

absl::Status ValidateBalloonFits(uint32_t amount_mib, uint32_t mem_size_mib) {
  if (amount_mib > mem_size_mib) {
    return absl::InvalidArgumentError(absl::StrCat(
        "balloon amount_mib ", amount_mib,
        " is too large: it must not exceed the guest memory (", mem_size_mib,
        " MiB)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateVmConfig(const blimp::v1::VmConfig& config) {
  if (!config.has_boot_source()) return Missing("config", "boot-source");
  if (!config.has_machine_config()) return Missing("config", "machine-config");
  RETURN_IF_ERROR(ValidateBootSource(config.boot_source()));
  RETURN_IF_ERROR(ValidateMachineConfig(config.machine_config()));
  if (config.has_balloon()) {
    RETURN_IF_ERROR(ValidateBalloon(config.balloon()));
    RETURN_IF_ERROR(ValidateBalloonFits(config.balloon().amount_mib(),
                                        config.machine_config().mem_size_mib()));
  }
  return absl::OkStatus();
}

}  // namespace blimp::api
