#include "vmm/snapshot/device_state.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace blimp::vmm::snapshot {
namespace {

namespace balloon = device::virtio::balloon;

// `value` as a T, or an error naming `field`.
template <typename T>
absl::StatusOr<T> Narrow(uint64_t value, const char* field) {
  if (value > std::numeric_limits<T>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot: ", field, " ", value, " does not fit its register"));
  }
  return static_cast<T>(value);
}

}  // namespace

SerialState ToProto(const device::SerialState& s) {
  SerialState p;
  p.set_input(std::string(s.input.begin(), s.input.end()));
  p.set_ier(s.ier);
  p.set_fcr(s.fcr);
  p.set_lcr(s.lcr);
  p.set_mcr(s.mcr);
  p.set_scr(s.scr);
  p.set_dll(s.dll);
  p.set_dlm(s.dlm);
  p.set_line_errors(s.line_errors);
  p.set_thr_empty_interrupt(s.thr_empty_interrupt);
  return p;
}

absl::StatusOr<device::SerialState> FromProto(const SerialState& p) {
  device::SerialState s;
  s.input.assign(p.input().begin(), p.input().end());
  ASSIGN_OR_RETURN(s.ier, Narrow<uint8_t>(p.ier(), "serial IER"));
  ASSIGN_OR_RETURN(s.fcr, Narrow<uint8_t>(p.fcr(), "serial FCR"));
  ASSIGN_OR_RETURN(s.lcr, Narrow<uint8_t>(p.lcr(), "serial LCR"));
  ASSIGN_OR_RETURN(s.mcr, Narrow<uint8_t>(p.mcr(), "serial MCR"));
  ASSIGN_OR_RETURN(s.scr, Narrow<uint8_t>(p.scr(), "serial SCR"));
  ASSIGN_OR_RETURN(s.dll, Narrow<uint8_t>(p.dll(), "serial DLL"));
  ASSIGN_OR_RETURN(s.dlm, Narrow<uint8_t>(p.dlm(), "serial DLM"));
  ASSIGN_OR_RETURN(s.line_errors, Narrow<uint8_t>(p.line_errors(), "serial line errors"));
  s.thr_empty_interrupt = p.thr_empty_interrupt();
  return s;
}

VirtioMmioState ToProto(const device::virtio::MmioTransportState& s) {
  VirtioMmioState p;
  p.set_status(s.status);
  p.set_device_features_sel(s.device_features_sel);
  p.set_driver_features_sel(s.driver_features_sel);
  p.set_queue_sel(s.queue_sel);
  p.set_driver_features(s.driver_features);
  p.set_interrupt_status(s.interrupt_status);
  p.set_config_generation(s.config_generation);
  p.set_active(s.active);
  for (const device::virtio::SplitQueueState& q : s.queues) {
    QueueState* out = p.add_queues();
    out->set_size(q.size);
    out->set_ready(q.ready);
    out->set_desc(q.desc);
    out->set_avail(q.avail);
    out->set_used(q.used);
    out->set_next_avail(q.next_avail);
    out->set_next_used(q.next_used);
  }
  return p;
}

absl::StatusOr<device::virtio::MmioTransportState> FromProto(const VirtioMmioState& p) {
  device::virtio::MmioTransportState s;
  s.status = p.status();
  s.device_features_sel = p.device_features_sel();
  s.driver_features_sel = p.driver_features_sel();
  s.queue_sel = p.queue_sel();
  s.driver_features = p.driver_features();
  s.interrupt_status = p.interrupt_status();
  s.config_generation = p.config_generation();
  s.active = p.active();
  for (const QueueState& q : p.queues()) {
    device::virtio::SplitQueueState out;
    ASSIGN_OR_RETURN(out.size, Narrow<uint16_t>(q.size(), "queue size"));
    out.ready = q.ready();
    out.desc = q.desc();
    out.avail = q.avail();
    out.used = q.used();
    ASSIGN_OR_RETURN(out.next_avail, Narrow<uint16_t>(q.next_avail(), "queue next_avail"));
    ASSIGN_OR_RETURN(out.next_used, Narrow<uint16_t>(q.next_used(), "queue next_used"));
    s.queues.push_back(out);
  }
  return s;
}

BalloonState ToProto(const balloon::BalloonState& s) {
  BalloonState p;
  p.set_num_pages(s.config.num_pages);
  p.set_actual(s.config.actual);
  p.set_free_page_hint_cmd_id(s.config.free_page_hint_cmd_id);
  p.set_poison_val(s.config.poison_val);
  for (size_t tag = 0; tag < s.stats.size(); ++tag) {
    if (s.stats[tag]) (*p.mutable_stats())[static_cast<uint32_t>(tag)] = *s.stats[tag];
  }
  const balloon::BalloonMetrics& m = s.metrics;
  BalloonCounters* c = p.mutable_counters();
  c->set_inflate_count(m.inflate_count);
  c->set_deflate_count(m.deflate_count);
  c->set_stats_updates_count(m.stats_updates_count);
  c->set_stats_update_fails(m.stats_update_fails);
  c->set_free_page_report_count(m.free_page_report_count);
  c->set_free_page_report_freed(m.free_page_report_freed);
  c->set_free_page_report_skipped(m.free_page_report_skipped);
  c->set_free_page_hint_count(m.free_page_hint_count);
  c->set_free_page_hint_freed(m.free_page_hint_freed);
  c->set_event_fails(m.event_fails);
  c->set_invalid_pfns(m.invalid_pfns);
  c->set_spurious_notifications(m.spurious_notifications);
  c->set_discarded_bytes(m.discarded_bytes);
  c->set_stats_impossible(m.stats_impossible);
  p.set_hint_host_cmd(s.hinting.host_cmd);
  if (s.hinting.guest_cmd) p.set_hint_guest_cmd(*s.hinting.guest_cmd);
  p.set_hint_acknowledge_on_stop(s.hinting.acknowledge_on_stop);
  if (s.guest_run) p.set_hint_guest_run(*s.guest_run);
  p.set_next_hint_cmd(s.next_hint_cmd);
  if (s.held_stats_head) p.set_held_stats_head(*s.held_stats_head);
  return p;
}

absl::StatusOr<balloon::BalloonState> FromProto(const BalloonState& p) {
  balloon::BalloonState s;
  s.config.num_pages = p.num_pages();
  s.config.actual = p.actual();
  s.config.free_page_hint_cmd_id = p.free_page_hint_cmd_id();
  s.config.poison_val = p.poison_val();
  for (const auto& [tag, value] : p.stats()) {
    if (tag >= s.stats.size()) {
      return absl::InvalidArgumentError(absl::StrCat("snapshot: statistics tag ", tag));
    }
    s.stats[tag] = value;
  }
  const BalloonCounters& c = p.counters();
  balloon::BalloonMetrics& m = s.metrics;
  m.inflate_count = c.inflate_count();
  m.deflate_count = c.deflate_count();
  m.stats_updates_count = c.stats_updates_count();
  m.stats_update_fails = c.stats_update_fails();
  m.free_page_report_count = c.free_page_report_count();
  m.free_page_report_freed = c.free_page_report_freed();
  m.free_page_report_skipped = c.free_page_report_skipped();
  m.free_page_hint_count = c.free_page_hint_count();
  m.free_page_hint_freed = c.free_page_hint_freed();
  m.event_fails = c.event_fails();
  m.invalid_pfns = c.invalid_pfns();
  m.spurious_notifications = c.spurious_notifications();
  m.discarded_bytes = c.discarded_bytes();
  m.stats_impossible = c.stats_impossible();
  s.hinting.host_cmd = p.hint_host_cmd();
  if (p.has_hint_guest_cmd()) s.hinting.guest_cmd = p.hint_guest_cmd();
  s.hinting.acknowledge_on_stop = p.hint_acknowledge_on_stop();
  if (p.has_hint_guest_run()) s.guest_run = p.hint_guest_run();
  s.next_hint_cmd = p.next_hint_cmd();
  if (p.has_held_stats_head()) {
    ASSIGN_OR_RETURN(s.held_stats_head, Narrow<uint16_t>(p.held_stats_head(), "held buffer"));
  }
  return s;
}

}  // namespace blimp::vmm::snapshot
