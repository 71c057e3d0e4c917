#include "client/format.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace blimp::client {
namespace {

constexpr uint64_t kMib = 1024 * 1024;

// Fields of BalloonStats counted in bytes (virtio tags 0, 1, 4, 5, 6, 7).
bool IsByteStat(const std::string& name) {
  return name == "swap_in" || name == "swap_out" || name == "free_memory" ||
         name == "total_memory" || name == "available_memory" || name == "disk_caches";
}

std::string OptionalMib(bool has, uint32_t value) { return has ? absl::StrCat(value) : "-"; }

}  // namespace

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string FormatPairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  size_t width = 0;
  for (const auto& [key, value] : pairs) width = std::max(width, key.size());
  std::string out;
  for (const auto& [key, value] : pairs) {
    absl::StrAppend(&out, key, ":", std::string(width - key.size() + 2, ' '), value, "\n");
  }
  return out;
}

std::string FormatBytesAsMib(uint64_t bytes) {
  if (bytes % kMib == 0) return absl::StrCat(bytes / kMib, " MiB");
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / kMib);
}

std::string StateName(blimp::v1::VmState state) {
  switch (state) {
    case blimp::v1::VM_STATE_CREATED: return "created";
    case blimp::v1::VM_STATE_RUNNING: return "running";
    case blimp::v1::VM_STATE_PAUSED: return "paused";
    case blimp::v1::VM_STATE_STOPPED: return "stopped";
    case blimp::v1::VM_STATE_FAILED: return "failed";
    default: return "unknown";
  }
}

std::string FormatVmList(const std::vector<blimp::v1::Vm>& vms) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "STATE", "VCPUS", "MEMORY", "BALLOON(TARGET/ACTUAL)", "RSS"}};
  for (const blimp::v1::Vm& vm : vms) {
    const auto& machine = vm.config().machine_config();
    std::string balloon = "-";
    if (vm.has_balloon_target_mib() || vm.has_balloon_actual_mib()) {
      balloon = absl::StrCat(OptionalMib(vm.has_balloon_target_mib(), vm.balloon_target_mib()),
                             "/",
                             OptionalMib(vm.has_balloon_actual_mib(), vm.balloon_actual_mib()),
                             " MiB");
    } else if (vm.config().has_balloon()) {
      balloon = absl::StrCat(vm.config().balloon().amount_mib(), "/- MiB");
    }
    rows.push_back({vm.vm_id(), StateName(vm.state()), absl::StrCat(machine.vcpu_count()),
                    absl::StrCat(machine.mem_size_mib(), " MiB"), balloon,
                    vm.vmm_rss_bytes() ? FormatBytesAsMib(vm.vmm_rss_bytes()) : "-"});
  }
  return FormatTable(rows);
}

std::string FormatVm(const blimp::v1::Vm& vm) {
  const auto& config = vm.config();
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"id", vm.vm_id()},
      {"state", StateName(vm.state())},
  };
  if (!vm.reason().empty()) pairs.emplace_back("reason", vm.reason());
  pairs.emplace_back("kernel", config.boot_source().kernel_image_path());
  if (!config.boot_source().initrd_path().empty()) {
    pairs.emplace_back("initrd", config.boot_source().initrd_path());
  }
  pairs.emplace_back("boot args", config.boot_source().boot_args());
  pairs.emplace_back("vcpus", absl::StrCat(config.machine_config().vcpu_count()));
  pairs.emplace_back("memory", absl::StrCat(config.machine_config().mem_size_mib(), " MiB"));
  if (config.has_balloon()) {
    pairs.emplace_back(
        "balloon", absl::StrCat(
                       "target ",
                       vm.has_balloon_target_mib() ? vm.balloon_target_mib()
                                                   : config.balloon().amount_mib(),
                       " MiB, actual ",
                       OptionalMib(vm.has_balloon_actual_mib(), vm.balloon_actual_mib()),
                       " MiB"));
  } else {
    pairs.emplace_back("balloon", "none");
  }
  if (vm.vmm_pid() != 0) pairs.emplace_back("vmm pid", absl::StrCat(vm.vmm_pid()));
  if (vm.vmm_rss_bytes() != 0) pairs.emplace_back("vmm rss", FormatBytesAsMib(vm.vmm_rss_bytes()));
  return FormatPairs(pairs);
}

std::string FormatBalloon(const blimp::v1::Balloon& balloon) {
  return FormatPairs({
      {"amount_mib", absl::StrCat(balloon.amount_mib())},
      {"deflate_on_oom", balloon.deflate_on_oom() ? "true" : "false"},
      {"stats_polling_interval_s", absl::StrCat(balloon.stats_polling_interval_s())},
      {"free_page_reporting", balloon.free_page_reporting() ? "true" : "false"},
      {"free_page_hinting", balloon.free_page_hinting() ? "true" : "false"},
  });
}

std::string FormatBalloonStats(const blimp::v1::BalloonStats& stats) {
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"target", absl::StrCat(stats.target_mib(), " MiB (", stats.target_pages(), " pages)")},
      {"actual", absl::StrCat(stats.actual_mib(), " MiB (", stats.actual_pages(), " pages)")},
  };
  const auto* descriptor = stats.GetDescriptor();
  const auto* reflection = stats.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    if (!field->has_presence() || !reflection->HasField(stats, field)) continue;
    uint64_t value = reflection->GetUInt64(stats, field);
    pairs.emplace_back(field->name(),
                       IsByteStat(field->name()) ? FormatBytesAsMib(value) : absl::StrCat(value));
  }
  return FormatPairs(pairs);
}

std::string FormatHintingStatus(const blimp::v1::HintingStatus& status) {
  return FormatPairs({{"host_cmd", absl::StrCat(status.host_cmd())},
                      {"guest_cmd", status.has_guest_cmd() ? absl::StrCat(status.guest_cmd())
                                                           : std::string("-")}});
}

std::string FormatBalloonMetrics(const blimp::v1::BalloonMetrics& metrics) {
  std::vector<std::pair<std::string, std::string>> pairs;
  const auto* descriptor = metrics.GetDescriptor();
  const auto* reflection = metrics.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    pairs.emplace_back(field->name(), absl::StrCat(reflection->GetUInt64(metrics, field)));
  }
  return FormatPairs(pairs);
}

std::string ProgressBar(uint32_t start, uint32_t actual, uint32_t target, int width) {
  const int64_t total = std::abs(static_cast<int64_t>(target) - start);
  const int64_t done = std::min<int64_t>(total, std::abs(static_cast<int64_t>(actual) - start));
  const int filled = total == 0 ? width : static_cast<int>(done * width / total);
  return absl::StrCat("[", std::string(filled, '#'), std::string(width - filled, '.'), "]  ",
                      actual, "/", target, " MiB");
}

}  // namespace blimp::client
