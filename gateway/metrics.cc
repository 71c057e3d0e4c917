#include "gateway/metrics.h"

#include <optional>
#include <string>
#include <utility>

#include "gateway/prometheus_text.h"
#include "glog/logging.h"
#include "google/protobuf/descriptor.h"

namespace blimp::gateway {
namespace {

using prometheus::MetricType;

constexpr uint64_t kMiB = 1 << 20;

constexpr BalloonCounter kBalloonCounters[] = {
    {"inflate_count", "blimp_balloon_inflate_buffers_total", "Inflate queue buffers processed."},
    {"deflate_count", "blimp_balloon_deflate_buffers_total", "Deflate queue buffers processed."},
    {"stats_updates_count", "blimp_balloon_stats_updates_total",
     "Statistics updates received from the guest."},
    {"stats_update_fails", "blimp_balloon_stats_update_failures_total",
     "Statistics updates that were malformed or had unknown tags."},
    {"free_page_report_count", "blimp_balloon_free_page_report_buffers_total",
     "Free page reporting buffers processed."},
    {"free_page_report_freed", "blimp_balloon_free_page_report_freed_bytes_total",
     "Bytes discarded through free page reporting."},
    {"free_page_report_skipped", "blimp_balloon_free_page_report_skipped_bytes_total",
     "Reported bytes kept, not discarded: the guest poisons its free pages."},
    {"event_fails", "blimp_balloon_event_failures_total",
     "Queue events that failed (malformed descriptors and the like)."},
    {"discarded_bytes", "blimp_balloon_discarded_bytes_total",
     "Guest memory bytes actually discarded (madvise DONTNEED)."},
    {"free_page_hint_count", "blimp_balloon_free_page_hint_buffers_total",
     "Free page hinting buffers processed."},
    {"free_page_hint_freed", "blimp_balloon_free_page_hint_freed_bytes_total",
     "Bytes discarded through free page hinting."},
    {"invalid_pfns", "blimp_balloon_invalid_pfns_total",
     "Inflated page frame numbers outside guest RAM."},
    {"spurious_notifications", "blimp_balloon_spurious_notifications_total",
     "Queue notifications with nothing new queued."},
    {"transport_errors", "blimp_balloon_transport_errors_total",
     "virtio-mmio register accesses refused."},
    {"stats_impossible", "blimp_balloon_stats_impossible_total",
     "Statistics updates with impossible values (free > total, counters going backwards)."},
};

Labels VmLabel(const api::VmMetrics& vm) { return {{"vm", vm.vm.vm_id()}}; }

absl::string_view StateLabel(blimp::v1::VmState state) {
  switch (state) {
    case blimp::v1::VM_STATE_CREATED: return "not_started";
    case blimp::v1::VM_STATE_RUNNING: return "running";
    case blimp::v1::VM_STATE_PAUSED: return "paused";
    case blimp::v1::VM_STATE_STOPPED: return "stopped";
    case blimp::v1::VM_STATE_FAILED: return "failed";
    default: return "unknown";
  }
}

// A family with a sample per VM for which `value` returns something.
template <typename Value>
prometheus::MetricFamily PerVm(const std::vector<api::VmMetrics>& vms, std::string name,
                               MetricType type, std::string help, Value value) {
  prometheus::MetricFamily family = Family(std::move(name), type, std::move(help));
  family.metric.reserve(vms.size());
  for (const api::VmMetrics& vm : vms) {
    if (std::optional<uint64_t> v = value(vm)) AddSample(family, VmLabel(vm), *v);
  }
  return family;
}

// The state set: one series per VM and state, 1 for the VM's state.
prometheus::MetricFamily StateFamily(const std::vector<api::VmMetrics>& vms) {
  static constexpr blimp::v1::VmState kStates[] = {
      blimp::v1::VM_STATE_CREATED, blimp::v1::VM_STATE_RUNNING, blimp::v1::VM_STATE_PAUSED,
      blimp::v1::VM_STATE_STOPPED, blimp::v1::VM_STATE_FAILED};
  prometheus::MetricFamily family =
      Family("blimp_vm_state", MetricType::Gauge,
             "1 for the state the VM is in (not_started, running, paused, stopped, failed), else 0.");
  for (const api::VmMetrics& vm : vms) {
    for (blimp::v1::VmState state : kStates) {
      AddSample(family, {{"vm", vm.vm.vm_id()}, {"state", std::string(StateLabel(state))}},
                vm.vm.state() == state ? 1 : 0);
    }
  }
  return family;
}

// One counter family per BalloonMetrics field, for VMs whose balloon answered.
prometheus::MetricFamily BalloonFamily(const std::vector<api::VmMetrics>& vms,
                                       const BalloonCounter& counter) {
  const google::protobuf::FieldDescriptor* field =
      blimp::v1::BalloonMetrics::descriptor()->FindFieldByName(std::string(counter.field));
  CHECK(field != nullptr && field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_UINT64)
      << "BalloonMetrics has no uint64 " << counter.field;
  return PerVm(vms, std::string(counter.name), MetricType::Counter, std::string(counter.help),
               [field](const api::VmMetrics& vm) -> std::optional<uint64_t> {
                 if (!vm.balloon) return std::nullopt;
                 return vm.balloon->GetReflection()->GetUInt64(*vm.balloon, field);
               });
}

}  // namespace

absl::Span<const BalloonCounter> BalloonCounters() { return kBalloonCounters; }

std::vector<prometheus::MetricFamily> VmMetricFamilies(const std::vector<api::VmMetrics>& vms) {
  std::vector<prometheus::MetricFamily> families;
  families.push_back(StateFamily(vms));
  families.push_back(PerVm(vms, "blimp_vmm_rss_bytes", MetricType::Gauge,
                           "Resident memory of the VM's VMM process.",
                           [](const api::VmMetrics& vm) -> std::optional<uint64_t> {
                             return vm.vm.vmm_rss_bytes();
                           }));
  families.push_back(PerVm(vms, "blimp_balloon_target_bytes", MetricType::Gauge,
                           "Balloon target size (whole MiB).",
                           [](const api::VmMetrics& vm) -> std::optional<uint64_t> {
                             if (!vm.vm.has_balloon_target_mib()) return std::nullopt;
                             return vm.vm.balloon_target_mib() * kMiB;
                           }));
  families.push_back(PerVm(vms, "blimp_balloon_actual_bytes", MetricType::Gauge,
                           "Balloon actual size as the guest driver reports it (whole MiB).",
                           [](const api::VmMetrics& vm) -> std::optional<uint64_t> {
                             if (!vm.vm.has_balloon_actual_mib()) return std::nullopt;
                             return vm.vm.balloon_actual_mib() * kMiB;
                           }));
  // blimpd's host-side memory check (daemon/README.md), for VMs it measures.
  auto check = [](auto value) {
    return [value](const api::VmMetrics& vm) -> std::optional<uint64_t> {
      if (!vm.vm.has_memory_enforcement()) return std::nullopt;
      return value(vm.vm.memory_enforcement());
    };
  };
  using Check = blimp::v1::MemoryEnforcement;
  families.push_back(PerVm(
      vms, "blimp_vm_memory_flagged", MetricType::Gauge,
      "1 while the guest holds more RAM than its balloon leaves it (past slack and grace).",
      check([](const Check& c) -> uint64_t { return c.flagged() ? 1 : 0; })));
  families.push_back(PerVm(vms, "blimp_vm_memory_flags_total", MetricType::Counter,
                           "Times the VM was flagged.",
                           check([](const Check& c) { return c.flag_count(); })));
  families.push_back(PerVm(
      vms, "blimp_vm_guest_resident_bytes", MetricType::Gauge,
      "Guest RAM the VMM holds, measured on the host (resident pages of its mappings).",
      check([](const Check& c) { return c.guest_resident_bytes(); })));
  families.push_back(PerVm(vms, "blimp_vm_guest_allowed_bytes", MetricType::Gauge,
                           "Guest RAM the balloon leaves the guest: mem_size - balloon actual.",
                           check([](const Check& c) { return c.guest_allowed_bytes(); })));
  families.push_back(PerVm(vms, "blimp_vm_stats_anomalies_total", MetricType::Counter,
                           "Impossible balloon statistics seen from the guest (free > total, "
                           "counters going backwards, ...).",
                           check([](const Check& c) { return c.stats_anomalies(); })));
  for (const BalloonCounter& counter : kBalloonCounters) {
    families.push_back(BalloonFamily(vms, counter));
  }
  return families;
}

}  // namespace blimp::gateway
