#include "gateway/metrics.h"

#include <functional>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace blimp::gateway {
namespace {

using google::protobuf::FieldDescriptor;

// Label values escape '\\', '"' and newlines (exposition format 0.0.4).
std::string LabelValue(absl::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void AppendHeader(absl::string_view name, absl::string_view type, absl::string_view help,
                  std::string* out) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

// A gauge with one sample per VM for which `value` returns something.
void AppendGauge(const std::vector<VmSample>& samples, absl::string_view name,
                 absl::string_view help,
                 const std::function<std::optional<uint64_t>(const VmSample&)>& value,
                 std::string* out) {
  AppendHeader(name, "gauge", help, out);
  for (const VmSample& sample : samples) {
    std::optional<uint64_t> v = value(sample);
    if (!v) continue;
    absl::StrAppend(out, name, "{vm=\"", LabelValue(sample.vm.vm_id()), "\"} ", *v, "\n");
  }
}

absl::string_view StateLabel(blimp::v1::VmState state) {
  switch (state) {
    case blimp::v1::VM_STATE_CREATED: return "not_started";
    case blimp::v1::VM_STATE_RUNNING: return "running";
    case blimp::v1::VM_STATE_STOPPED: return "stopped";
    case blimp::v1::VM_STATE_FAILED: return "failed";
    default: return "unknown";
  }
}

absl::string_view CounterHelp(absl::string_view field) {
  static const std::pair<absl::string_view, absl::string_view> kHelp[] = {
      {"inflate_count", "Inflate queue buffers processed."},
      {"deflate_count", "Deflate queue buffers processed."},
      {"stats_updates_count", "Statistics updates received from the guest."},
      {"stats_update_fails", "Statistics updates that were malformed or had unknown tags."},
      {"free_page_report_count", "Free page reporting buffers processed."},
      {"free_page_report_freed", "Bytes discarded through free page reporting."},
      {"free_page_report_skipped",
       "Reported bytes kept, not discarded: the guest poisons its free pages."},
      {"event_fails", "Queue events that failed (malformed descriptors and the like)."},
      {"discarded_bytes", "Guest memory bytes actually discarded (madvise DONTNEED)."},
      {"free_page_hint_count", "Free page hinting buffers processed."},
      {"free_page_hint_freed", "Bytes discarded through free page hinting."},
      {"invalid_pfns", "Inflated page frame numbers outside guest RAM."},
      {"stats_impossible",
       "Statistics updates with impossible values (free > total, counters going backwards)."},
  };
  for (const auto& [name, help] : kHelp) {
    if (name == field) return help;
  }
  return "Balloon device counter.";
}

}  // namespace

std::string RenderPrometheus(const std::vector<VmSample>& samples) {
  std::string out;
  static constexpr blimp::v1::VmState kStates[] = {
      blimp::v1::VM_STATE_CREATED, blimp::v1::VM_STATE_RUNNING, blimp::v1::VM_STATE_STOPPED,
      blimp::v1::VM_STATE_FAILED};
  AppendHeader("blimp_vm_state", "gauge",
               "1 for the state the VM is in (not_started, running, stopped, failed), else 0.",
               &out);
  for (const VmSample& sample : samples) {
    for (blimp::v1::VmState state : kStates) {
      absl::StrAppend(&out, "blimp_vm_state{vm=\"", LabelValue(sample.vm.vm_id()),
                      "\",state=\"", StateLabel(state), "\"} ",
                      sample.vm.state() == state ? 1 : 0, "\n");
    }
  }
  AppendGauge(samples, "blimp_vmm_rss_bytes", "Resident memory of the VM's VMM process.",
              [](const VmSample& s) -> std::optional<uint64_t> {
                return s.vm.vmm_rss_bytes();
              },
              &out);
  AppendGauge(samples, "blimp_balloon_target_mib", "Balloon target size in MiB.",
              [](const VmSample& s) -> std::optional<uint64_t> {
                if (!s.vm.has_balloon_target_mib()) return std::nullopt;
                return s.vm.balloon_target_mib();
              },
              &out);
  AppendGauge(samples, "blimp_balloon_actual_mib",
              "Balloon actual size in MiB, as reported by the guest driver.",
              [](const VmSample& s) -> std::optional<uint64_t> {
                if (!s.vm.has_balloon_actual_mib()) return std::nullopt;
                return s.vm.balloon_actual_mib();
              },
              &out);
  // blimpd's host-side memory check (daemon/README.md), while it measures.
  auto measured = [](const VmSample& s) { return s.vm.has_memory_enforcement(); };
  AppendGauge(samples, "blimp_vm_memory_flagged",
              "1 while the guest holds more RAM than its balloon leaves it (past slack and grace).",
              [&](const VmSample& s) -> std::optional<uint64_t> {
                if (!measured(s)) return std::nullopt;
                return s.vm.memory_enforcement().flagged() ? 1 : 0;
              },
              &out);
  AppendGauge(samples, "blimp_vm_memory_flag_count", "Times the VM was flagged so far.",
              [&](const VmSample& s) -> std::optional<uint64_t> {
                if (!measured(s)) return std::nullopt;
                return s.vm.memory_enforcement().flag_count();
              },
              &out);
  AppendGauge(samples, "blimp_vm_guest_resident_bytes",
              "Guest RAM the VMM holds, measured on the host (resident pages of its mappings).",
              [&](const VmSample& s) -> std::optional<uint64_t> {
                if (!measured(s)) return std::nullopt;
                return s.vm.memory_enforcement().guest_resident_bytes();
              },
              &out);
  AppendGauge(samples, "blimp_vm_guest_allowed_bytes",
              "Guest RAM the balloon leaves the guest: mem_size - balloon actual.",
              [&](const VmSample& s) -> std::optional<uint64_t> {
                if (!measured(s)) return std::nullopt;
                return s.vm.memory_enforcement().guest_allowed_bytes();
              },
              &out);
  AppendGauge(samples, "blimp_vm_stats_anomalies",
              "Impossible balloon statistics seen from the guest (free > total, counters "
              "going backwards, ...).",
              [&](const VmSample& s) -> std::optional<uint64_t> {
                if (!measured(s)) return std::nullopt;
                return s.vm.memory_enforcement().stats_anomalies();
              },
              &out);
  // Every BalloonMetrics field is a counter named after it.
  const auto* descriptor = blimp::v1::BalloonMetrics::descriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const std::string name = absl::StrCat("blimp_balloon_", field->name());
    AppendHeader(name, "counter", CounterHelp(field->name()), &out);
    for (const VmSample& sample : samples) {
      if (!sample.balloon) continue;
      const auto* reflection = sample.balloon->GetReflection();
      const uint64_t value = field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64
                                 ? reflection->GetUInt64(*sample.balloon, field)
                                 : 0;
      absl::StrAppend(&out, name, "{vm=\"", LabelValue(sample.vm.vm_id()), "\"} ", value,
                      "\n");
    }
  }
  return out;
}

}  // namespace blimp::gateway
