// The virtio balloon device (virtio 1.1 section 5.5) with the behaviour of
// ../shared/balloon-contract.md: inflate discards the guest's pages from the
// host (MADV_DONTNEED), deflate acknowledges, the statistics buffer is held
// and handed back on request, free page reporting and hinting discard what
// the guest reports (reports are kept when the guest poisons its free pages:
// PAGE_POISON with a non-zero poison_val). Whatever the driver writes is
// checked; mistakes are logged and counted, never fatal.
//
// Every method runs under the transport's device lock (MmioTransport calls
// the VirtioDevice methods with it held; the control plane goes through
// MmioTransport::WithDevice).
//
// Hinted pages are discarded safely only if ProcessQueue for the hint queue
// runs before the guest's kick returns (vmm/vm.cc notifies queues 2+ through
// the MMIO exit, not an ioeventfd): Linux may reuse a hinted page as soon as
// its kick is back.
#ifndef BLIMP_DEVICE_VIRTIO_BALLOON_BALLOON_H_
#define BLIMP_DEVICE_VIRTIO_BALLOON_BALLOON_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>

#include "device/virtio/balloon/balloon_defs.h"
#include "device/virtio/virtio_device.h"

namespace blimp::device::virtio::balloon {

struct BalloonOptions {
  uint32_t target_pages = 0;
  bool deflate_on_oom = false;
  bool stats = false;  // stats_polling_interval_s != 0
  bool free_page_reporting = false;
  bool free_page_hinting = false;
};

struct BalloonMetrics {
  uint64_t inflate_count = 0;
  uint64_t deflate_count = 0;
  uint64_t stats_updates_count = 0;
  uint64_t stats_update_fails = 0;
  uint64_t free_page_report_count = 0;
  uint64_t free_page_report_freed = 0;  // Bytes.
  uint64_t free_page_report_skipped = 0;  // Bytes kept: the guest poisons free pages.
  uint64_t free_page_hint_count = 0;
  uint64_t free_page_hint_freed = 0;  // Bytes.
  uint64_t event_fails = 0;           // Malformed buffers and chains.
  uint64_t invalid_pfns = 0;          // PFNs outside guest RAM.
  uint64_t spurious_notifications = 0;  // Notified, nothing new in the queue.
  uint64_t transport_errors = 0;      // Refused register accesses (filled by vmm/).
  uint64_t discarded_bytes = 0;       // Given back to the host, all causes.
  // Statistics updates with impossible values (free, available or caches
  // above total; a cumulative counter going backwards): applied all the
  // same, counted so that nobody believes them.
  uint64_t stats_impossible = 0;
};

// The last value the guest reported for each tag (0..15).
using BalloonStatValues = std::array<std::optional<uint64_t>, kStatTagCount>;

struct HintingState {
  uint32_t host_cmd = 0;                // Current command id of the host.
  std::optional<uint32_t> guest_cmd;    // Last id the guest sent.
  bool acknowledge_on_stop = true;
};

// The device's own state, for snapshots (the queues are the transport's).
struct BalloonState {
  BalloonConfigSpace config{};
  BalloonStatValues stats;
  BalloonMetrics metrics;
  HintingState hinting;
  std::optional<uint32_t> guest_run;
  uint32_t next_hint_cmd = 0;
  // The statistics buffer the device holds, by its head descriptor.
  std::optional<uint16_t> held_stats_head;
};

class Balloon : public VirtioDevice {
 public:
  // `on_stats` runs (under the device lock) after each statistics update.
  Balloon(const BalloonOptions& options, std::function<void()> on_stats = nullptr);

  // VirtioDevice.
  uint32_t device_id() const override;
  uint64_t offered_features() const override;
  std::vector<uint16_t> queue_max_sizes() const override;
  void ReadConfig(uint64_t offset, absl::Span<uint8_t> data) override;
  void WriteConfig(uint64_t offset, absl::Span<const uint8_t> data) override;
  absl::Status Activate(const ActivateContext& context) override;
  void ProcessQueue(size_t index) override;
  void Reset() override;

  // Control plane.
  void SetTargetPages(uint32_t pages);
  uint32_t target_pages() const { return config_.num_pages; }
  uint32_t actual_pages() const { return config_.actual; }
  // Hands the held statistics buffer back so the guest refills it.
  void RequestStats();
  const BalloonStatValues& stats() const { return stats_; }
  const BalloonMetrics& metrics() const { return metrics_; }
  bool active() const { return active_; }
  uint64_t acked_features() const { return acked_features_; }

  // Free page hinting as Firecracker does it: a new run id in the config
  // space; the guest answers with the id, its free pages, then STOP. With
  // `acknowledge_on_stop` the device publishes DONE at the STOP of the
  // current run; StopHinting always publishes DONE (the guest then frees
  // the pages it held).
  void StartHinting(bool acknowledge_on_stop);
  void StopHinting();
  const HintingState& hinting() const { return hinting_; }

  BalloonState SaveState() const;
  // After the transport re-activated the device (or left it inactive). A
  // held statistics buffer needs an active device with a statistics queue
  // whose size covers its head.
  absl::Status RestoreState(const BalloonState& state);

 private:
  enum class Queue { kInflate, kDeflate, kStats, kHint, kReporting };

  // What happens to a chain once handled: back to the driver, or held
  // (the statistics buffer).
  enum class ChainFate { kReturn, kKeep };

  std::optional<Queue> QueueAt(size_t index) const;
  SplitQueue* queue(Queue q);
  // Pops every available chain of `which` and hands it to `handle`;
  // malformed chains are counted (also in `*malformed` if given). Signals
  // the driver once if any chain went back.
  void DrainQueue(Queue which, const std::function<ChainFate(const DescriptorChain&)>& handle,
                  uint64_t* malformed = nullptr);
  void HandlePfns(Queue which, const DescriptorChain& chain);
  ChainFate HandleStats(const DescriptorChain& chain);
  void HandleReport(const DescriptorChain& chain);
  void HandleHint(const DescriptorChain& chain);
  // Reads the PFN array of one driver buffer chain; false if malformed.
  bool ReadPfns(const DescriptorChain& chain, std::vector<uint32_t>* pfns);
  bool ParseStats(const DescriptorChain& chain);
  // Discards whole pages [start, start + bytes); false if not allowed.
  bool DiscardRange(memory::GuestAddress start, uint64_t bytes);
  void SetHintCmd(uint32_t cmd);
  void CountFailure(const std::string& what);

  const BalloonOptions options_;
  const std::function<void()> on_stats_;
  BalloonConfigSpace config_{};
  BalloonStatValues stats_;
  // Whether the update that turned `before` into stats_ is impossible.
  bool ImpossibleStats(const BalloonStatValues& before) const;
  BalloonMetrics metrics_;
  HintingState hinting_;
  std::optional<uint32_t> guest_run_;  // The last run id the guest started.
  uint32_t next_hint_cmd_ = kHintCmdIdFirst;
  // Set while the driver runs the device (between Activate and Reset).
  bool active_ = false;
  const memory::GuestMemory* memory_ = nullptr;
  InterruptSink* interrupt_ = nullptr;
  uint64_t acked_features_ = 0;
  std::vector<std::pair<Queue, SplitQueue*>> queues_;
  std::optional<uint16_t> held_stats_head_;
  bool poison_logged_ = false;
};

}  // namespace blimp::device::virtio::balloon

#endif  // BLIMP_DEVICE_VIRTIO_BALLOON_BALLOON_H_
