#include "device/virtio/balloon/balloon.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "device/virtio/balloon/pfn_ranges.h"
#include "device/virtio/virtio_defs.h"
#include "glog/logging.h"

namespace blimp::device::virtio::balloon {
namespace {

constexpr uint16_t kQueueSize = 256;
// Linux sends at most 256 PFNs per buffer; allow slack, refuse the absurd.
constexpr uint32_t kMaxPfnBytes = 64 * 1024;
constexpr uint32_t kMaxStatsBytes = 64 * kStatEntrySize;

bool Has(uint64_t features, int bit) { return features & (1ull << bit); }

}  // namespace

Balloon::Balloon(const BalloonOptions& options, std::function<void()> on_stats)
    : options_(options), on_stats_(std::move(on_stats)) {
  config_.num_pages = options.target_pages;
}

uint32_t Balloon::device_id() const { return kDeviceIdBalloon; }

uint64_t Balloon::offered_features() const {
  uint64_t features = 1ull << kFeatureVersion1;
  if (options_.stats) features |= 1ull << kFeatureStatsVq;
  if (options_.deflate_on_oom) features |= 1ull << kFeatureDeflateOnOom;
  if (options_.free_page_hinting) features |= 1ull << kFeatureFreePageHint;
  // Linux drops REPORTING when PAGE_POISON is not offered to a guest that
  // poisons or zeroes its free pages (virtballoon_validate).
  if (options_.free_page_reporting) {
    features |= (1ull << kFeatureReporting) | (1ull << kFeaturePagePoison);
  }
  return features;
}

std::vector<uint16_t> Balloon::queue_max_sizes() const {
  size_t count = 2 + options_.stats + options_.free_page_hinting + options_.free_page_reporting;
  return std::vector<uint16_t>(count, kQueueSize);
}

void Balloon::ReadConfig(uint64_t offset, absl::Span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
  if (offset >= sizeof(config_)) return;
  size_t n = std::min<size_t>(data.size(), sizeof(config_) - offset);
  std::memcpy(data.data(), reinterpret_cast<const uint8_t*>(&config_) + offset, n);
}

void Balloon::WriteConfig(uint64_t offset, absl::Span<const uint8_t> data) {
  // The driver owns `actual`, and `poison_val` when PAGE_POISON is offered.
  auto inside = [&](uint64_t field) {
    return offset >= field && offset + data.size() <= field + 4;
  };
  bool poison = Has(offered_features(), kFeaturePagePoison) && inside(kConfigPoisonOffset);
  if (!inside(kConfigActualOffset) && !poison) {
    CountFailure(absl::StrFormat("config write at %#x (+%u) outside 'actual'/'poison_val'",
                                 offset, data.size()));
    return;
  }
  // SAFETY: [offset, offset + size) lies inside config_.actual or
  // config_.poison_val (checked).
  std::memcpy(reinterpret_cast<uint8_t*>(&config_) + offset, data.data(), data.size());
}

absl::Status Balloon::Activate(const ActivateContext& context) {
  std::vector<Queue> kinds = {Queue::kInflate, Queue::kDeflate};
  // Queues exist only for features the driver accepted, in this order.
  if (Has(context.acked_features, kFeatureStatsVq)) kinds.push_back(Queue::kStats);
  if (Has(context.acked_features, kFeatureFreePageHint)) kinds.push_back(Queue::kHint);
  if (Has(context.acked_features, kFeatureReporting)) kinds.push_back(Queue::kReporting);
  queues_.clear();
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (i >= context.queues.size() || !context.queues[i]->ready()) {
      return absl::FailedPreconditionError(
          absl::StrFormat("balloon queue %u is not set up", i));
    }
    queues_.push_back({kinds[i], context.queues[i]});
  }
  memory_ = context.memory;
  interrupt_ = context.interrupt;
  acked_features_ = context.acked_features;
  active_ = true;
  return absl::OkStatus();
}

BalloonState Balloon::SaveState() const {
  return {config_, stats_, metrics_, hinting_, guest_run_, next_hint_cmd_, held_stats_head_};
}

absl::Status Balloon::RestoreState(const BalloonState& state) {
  if (state.held_stats_head) {
    SplitQueue* stats = active_ ? queue(Queue::kStats) : nullptr;
    if (stats == nullptr || *state.held_stats_head >= stats->size()) {
      return absl::InvalidArgumentError(
          "a held statistics buffer without an active statistics queue that holds it");
    }
  }
  if (state.next_hint_cmd < kHintCmdIdFirst) {
    return absl::InvalidArgumentError(
        absl::StrCat("hinting command id ", state.next_hint_cmd, " is reserved"));
  }
  config_ = state.config;
  stats_ = state.stats;
  metrics_ = state.metrics;
  hinting_ = state.hinting;
  guest_run_ = state.guest_run;
  next_hint_cmd_ = state.next_hint_cmd;
  held_stats_head_ = state.held_stats_head;
  return absl::OkStatus();
}

void Balloon::Reset() {
  active_ = false;
  queues_.clear();
  memory_ = nullptr;
  interrupt_ = nullptr;
  acked_features_ = 0;
  held_stats_head_.reset();
  config_.actual = 0;
  config_.poison_val = 0;
  hinting_.guest_cmd.reset();
  guest_run_.reset();
}

std::optional<Balloon::Queue> Balloon::QueueAt(size_t index) const {
  if (index >= queues_.size()) return std::nullopt;
  return queues_[index].first;
}

SplitQueue* Balloon::queue(Queue q) {
  for (auto& [kind, queue] : queues_) {
    if (kind == q) return queue;
  }
  return nullptr;
}

void Balloon::CountFailure(const std::string& what) {
  if (metrics_.event_fails++ < 32) LOG(WARNING) << "balloon: " << what;
}

void Balloon::ProcessQueue(size_t index) {
  if (!active_) return;
  std::optional<Queue> which = QueueAt(index);
  if (!which) {
    CountFailure(absl::StrFormat("notification for queue %u, which does not exist", index));
    return;
  }
  auto returned = [](auto handler) {
    return [handler](const DescriptorChain& chain) {
      handler(chain);
      return ChainFate::kReturn;
    };
  };
  switch (*which) {
    case Queue::kInflate:
    case Queue::kDeflate:
      DrainQueue(*which, returned([&](const DescriptorChain& c) { HandlePfns(*which, c); }));
      break;
    case Queue::kStats:
      DrainQueue(*which, [this](const DescriptorChain& c) { return HandleStats(c); },
                 &metrics_.stats_update_fails);
      break;
    case Queue::kHint:
      DrainQueue(*which, returned([this](const DescriptorChain& c) { HandleHint(c); }));
      break;
    case Queue::kReporting:
      DrainQueue(*which, returned([this](const DescriptorChain& c) { HandleReport(c); }));
      break;
  }
}

bool Balloon::ReadPfns(const DescriptorChain& chain, std::vector<uint32_t>* pfns) {
  for (const DescriptorBuffer& buffer : chain.buffers) {
    if (buffer.device_writable) {
      CountFailure("PFN buffer is device-writable; it must be read-only");
      return false;
    }
    if (buffer.len % 4 != 0 || buffer.len > kMaxPfnBytes) {
      CountFailure(absl::StrFormat("PFN buffer of %u bytes (not a whole u32 array, or huge)",
                                   buffer.len));
      return false;
    }
    size_t first = pfns->size();
    pfns->resize(first + buffer.len / 4);
    if (!memory_->Read(buffer.addr, pfns->data() + first, buffer.len).ok()) {
      CountFailure("PFN buffer unreadable");
      return false;
    }
  }
  return true;
}

bool Balloon::DiscardRange(memory::GuestAddress start, uint64_t bytes) {
  absl::Status status = memory_->Discard(start, bytes);
  if (!status.ok()) {
    CountFailure(std::string(status.message()));
    return false;
  }
  metrics_.discarded_bytes += bytes;
  return true;
}

void Balloon::DrainQueue(Queue which, const std::function<ChainFate(const DescriptorChain&)>& handle,
                         uint64_t* malformed) {
  SplitQueue* q = queue(which);
  bool returned = false;
  bool popped = false;
  while (true) {
    auto chain = q->Pop(*memory_);
    if (!chain.ok()) {
      if (malformed != nullptr) ++*malformed;
      CountFailure(std::string(chain.status().message()));
      returned = popped = true;  // The queue gave the malformed chain back.
      continue;
    }
    if (!chain->has_value()) break;
    popped = true;
    if (handle(**chain) == ChainFate::kReturn) {
      q->AddUsed(*memory_, (*chain)->head, 0).IgnoreError();
      returned = true;
    }
  }
  // Notifications with nothing new (e.g. a driver's storm) are counted.
  if (!popped) ++metrics_.spurious_notifications;
  if (returned && q->NeedsInterrupt(*memory_)) interrupt_->SignalUsedBuffers();
}

void Balloon::HandlePfns(Queue which, const DescriptorChain& chain) {
  std::vector<uint32_t> pfns;
  if (!ReadPfns(chain, &pfns)) return;
  if (which == Queue::kDeflate) {
    // Deflated pages were discarded on inflate: they read as zero already.
    ++metrics_.deflate_count;
    return;
  }
  ++metrics_.inflate_count;
  PfnRanges ranges = CompactPfns(std::move(pfns), *memory_);
  if (ranges.invalid > 0) {
    metrics_.invalid_pfns += ranges.invalid;
    CountFailure(absl::StrFormat("%u inflated PFNs outside guest RAM ignored", ranges.invalid));
  }
  for (const PageRange& range : ranges.ranges) DiscardRange(range.start, range.bytes);
}

bool Balloon::ParseStats(const DescriptorChain& chain) {
  std::vector<uint8_t> bytes;
  for (const DescriptorBuffer& buffer : chain.buffers) {
    if (buffer.device_writable || bytes.size() + buffer.len > kMaxStatsBytes) return false;
    size_t first = bytes.size();
    bytes.resize(first + buffer.len);
    if (!memory_->Read(buffer.addr, bytes.data() + first, buffer.len).ok()) return false;
  }
  if (bytes.size() % kStatEntrySize != 0) return false;
  const BalloonStatValues before = stats_;
  bool all_known = true;
  for (size_t i = 0; i < bytes.size(); i += kStatEntrySize) {
    uint16_t tag;
    uint64_t value;
    std::memcpy(&tag, &bytes[i], 2);
    std::memcpy(&value, &bytes[i + 2], 8);
    if (tag >= kStatTagCount) {
      all_known = false;  // Counted; the known tags still apply.
      continue;
    }
    stats_[tag] = value;
  }
  if (ImpossibleStats(before)) ++metrics_.stats_impossible;
  return all_known;
}

bool Balloon::ImpossibleStats(const BalloonStatValues& before) const {
  constexpr int kFree = 4, kTotal = 5, kAvailable = 6, kCaches = 7;
  if (stats_[kTotal]) {
    for (int tag : {kFree, kAvailable, kCaches}) {
      if (stats_[tag] && *stats_[tag] > *stats_[kTotal]) return true;
    }
  }
  // Swap in/out, faults, hugetlb, OOM kills, stalls, scans, reclaims only grow.
  for (int tag : {0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15}) {
    if (before[tag] && stats_[tag] && *stats_[tag] < *before[tag]) return true;
  }
  return false;
}

Balloon::ChainFate Balloon::HandleStats(const DescriptorChain& chain) {
  if (held_stats_head_) {
    // The driver queued a second buffer: give the older one back.
    queue(Queue::kStats)->AddUsed(*memory_, *held_stats_head_, 0).IgnoreError();
    interrupt_->SignalUsedBuffers();
  }
  if (ParseStats(chain)) {
    ++metrics_.stats_updates_count;
  } else {
    ++metrics_.stats_update_fails;
  }
  held_stats_head_ = chain.head;  // Held until the next RequestStats().
  if (on_stats_) on_stats_();
  return ChainFate::kKeep;
}

void Balloon::RequestStats() {
  SplitQueue* q = active_ ? queue(Queue::kStats) : nullptr;
  if (q == nullptr || !held_stats_head_) return;
  q->AddUsed(*memory_, *held_stats_head_, 0).IgnoreError();
  held_stats_head_.reset();
  interrupt_->SignalUsedBuffers();
}

void Balloon::HandleReport(const DescriptorChain& chain) {
  ++metrics_.free_page_report_count;
  // A guest that poisons free pages expects them to keep the pattern; a
  // discarded page would read back as zero. poison_val 0 (init_on_free)
  // expects zeroes, so those pages go.
  bool keep = Has(acked_features_, kFeaturePagePoison) && config_.poison_val != 0;
  if (keep && !poison_logged_) {
    poison_logged_ = true;
    LOG(WARNING) << absl::StrFormat(
        "balloon: the guest poisons free pages (poison_val %#x): reported pages are kept",
        config_.poison_val);
  }
  for (const DescriptorBuffer& buffer : chain.buffers) {
    if (keep) {
      metrics_.free_page_report_skipped += buffer.len;
    } else if (DiscardRange(buffer.addr, buffer.len)) {
      metrics_.free_page_report_freed += buffer.len;
    }
  }
}

void Balloon::HandleHint(const DescriptorChain& chain) {
  for (const DescriptorBuffer& buffer : chain.buffers) {
    if (!buffer.device_writable) {
      // A command id from the driver: the run it belongs to, or STOP.
      uint32_t cmd;
      if (buffer.len != sizeof(cmd) || !memory_->Read(buffer.addr, &cmd, sizeof(cmd)).ok()) {
        CountFailure("free page hint command is not one u32");
        continue;
      }
      hinting_.guest_cmd = cmd;
      if (cmd != kHintCmdIdStop) {
        guest_run_ = cmd;
      } else if (hinting_.acknowledge_on_stop && hinting_.host_cmd >= kHintCmdIdFirst &&
                 guest_run_ == hinting_.host_cmd) {
        // Only the STOP of the current run ends it: one of an older run may
        // arrive after the host started a new one.
        SetHintCmd(kHintCmdIdDone);
      }
    } else if (hinting_.guest_cmd == hinting_.host_cmd && hinting_.host_cmd >= kHintCmdIdFirst) {
      // Free pages of the current run: the host may drop them.
      ++metrics_.free_page_hint_count;
      if (DiscardRange(buffer.addr, buffer.len)) metrics_.free_page_hint_freed += buffer.len;
    }
  }
}

void Balloon::SetTargetPages(uint32_t pages) {
  config_.num_pages = pages;
  if (active_) interrupt_->SignalConfigChange();
}

void Balloon::SetHintCmd(uint32_t cmd) {
  hinting_.host_cmd = cmd;
  config_.free_page_hint_cmd_id = cmd;
  if (active_) interrupt_->SignalConfigChange();
}

void Balloon::StartHinting(bool acknowledge_on_stop) {
  hinting_.acknowledge_on_stop = acknowledge_on_stop;
  uint32_t cmd = next_hint_cmd_++;
  if (next_hint_cmd_ < kHintCmdIdFirst) next_hint_cmd_ = kHintCmdIdFirst;  // Wrapped.
  SetHintCmd(cmd);
}

void Balloon::StopHinting() {
  // DONE, never STOP: only DONE makes the guest free the pages it holds.
  SetHintCmd(kHintCmdIdDone);
}

}  // namespace blimp::device::virtio::balloon
