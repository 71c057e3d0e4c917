#include "device/virtio/mmio_transport.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "device/virtio/virtio_defs.h"

namespace blimp::device::virtio {
namespace {

using namespace mmio;  // NOLINT: register names.

uint32_t Low(uint64_t v) { return static_cast<uint32_t>(v); }
uint32_t High(uint64_t v) { return static_cast<uint32_t>(v >> 32); }
uint64_t SetLow(uint64_t v, uint32_t low) { return (v & ~0xffffffffull) | low; }
uint64_t SetHigh(uint64_t v, uint32_t high) { return (v & 0xffffffffull) | (uint64_t{high} << 32); }

}  // namespace

MmioTransport::MmioTransport(std::unique_ptr<VirtioDevice> device,
                             const memory::GuestMemory& memory, InterruptLine& irq)
    : device_(std::move(device)), memory_(memory), irq_(irq) {
  for (uint16_t max : device_->queue_max_sizes()) queues_.emplace_back(max);
}

uint32_t MmioTransport::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

void MmioTransport::Refuse(const char* what) {
  if (invalid_accesses_++ < 32) {
    LOG(WARNING) << "virtio-mmio (device " << device_->device_id() << "): " << what;
  }
}

void MmioTransport::Read(uint64_t offset, absl::Span<uint8_t> data) {
  absl::MutexLock lock(&mu_);
  if (offset >= kRegConfig) {
    device_->ReadConfig(offset - kRegConfig, data);
    return;
  }
  if (data.size() != 4 || offset % 4 != 0) {
    Refuse("register read that is not 32-bit aligned");
    std::fill(data.begin(), data.end(), 0);
    return;
  }
  uint32_t value = ReadRegister(offset);
  std::memcpy(data.data(), &value, 4);
}

void MmioTransport::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  absl::MutexLock lock(&mu_);
  if (offset >= kRegConfig) {
    device_->WriteConfig(offset - kRegConfig, data);
    return;
  }
  if (data.size() != 4 || offset % 4 != 0) {
    Refuse("register write that is not 32-bit aligned");
    return;
  }
  uint32_t value;
  std::memcpy(&value, data.data(), 4);
  WriteRegister(offset, value);
}

uint32_t MmioTransport::ReadRegister(uint64_t offset) {
  SplitQueue* queue = queue_sel_ < queues_.size() ? &queues_[queue_sel_] : nullptr;
  switch (offset) {
    case kRegMagicValue: return kMagicValue;
    case kRegVersion: return kVersion;
    case kRegDeviceId: return device_->device_id();
    case kRegVendorId: return kVendorId;
    case kRegDeviceFeatures: {
      uint64_t features = device_->offered_features();
      return device_features_sel_ == 0 ? Low(features)
             : device_features_sel_ == 1 ? High(features) : 0;
    }
    case kRegQueueNumMax: return queue ? queue->max_size() : 0;
    case kRegQueueReady: return queue && queue->ready() ? 1 : 0;
    case kRegInterruptStatus: return interrupt_status_;
    case kRegStatus: return status_;
    case kRegConfigGeneration: return config_generation_;
    case kRegQueueDescLow: return queue ? Low(queue->desc_addr()) : 0;
    case kRegQueueDescHigh: return queue ? High(queue->desc_addr()) : 0;
    case kRegQueueDriverLow: return queue ? Low(queue->avail_addr()) : 0;
    case kRegQueueDriverHigh: return queue ? High(queue->avail_addr()) : 0;
    case kRegQueueDeviceLow: return queue ? Low(queue->used_addr()) : 0;
    case kRegQueueDeviceHigh: return queue ? High(queue->used_addr()) : 0;
    default:
      Refuse("read of a write-only or unknown register");
      return 0;
  }
}

SplitQueue* MmioTransport::ConfigurableQueue() {
  // Spec 4.2.3.2: queues are set up after FEATURES_OK, before DRIVER_OK.
  if (queue_sel_ >= queues_.size()) {
    Refuse("queue register with no such queue selected");
    return nullptr;
  }
  if (!(status_ & kStatusFeaturesOk) || (status_ & kStatusDriverOk) ||
      queues_[queue_sel_].ready()) {
    Refuse("queue configured outside set-up or while ready");
    return nullptr;
  }
  return &queues_[queue_sel_];
}

void MmioTransport::WriteRegister(uint64_t offset, uint32_t value) {
  switch (offset) {
    case kRegDeviceFeaturesSel: device_features_sel_ = value; return;
    case kRegDriverFeaturesSel: driver_features_sel_ = value; return;
    case kRegDriverFeatures:
      if ((status_ & kStatusFeaturesOk) || !(status_ & kStatusDriver)) {
        Refuse("driver features written outside negotiation");
      } else if (driver_features_sel_ == 0) {
        driver_features_ = SetLow(driver_features_, value);
      } else if (driver_features_sel_ == 1) {
        driver_features_ = SetHigh(driver_features_, value);
      } else if (value != 0) {
        Refuse("driver features beyond bit 63");
      }
      return;
    case kRegQueueSel: queue_sel_ = value; return;
    case kRegQueueNum:
      if (SplitQueue* q = ConfigurableQueue()) q->set_size(static_cast<uint16_t>(value));
      return;
    case kRegQueueDescLow:
    case kRegQueueDescHigh:
    case kRegQueueDriverLow:
    case kRegQueueDriverHigh:
    case kRegQueueDeviceLow:
    case kRegQueueDeviceHigh:
      if (SplitQueue* q = ConfigurableQueue()) {
        bool high = offset % 8 == 4;
        auto set = [&](uint64_t old) { return high ? SetHigh(old, value) : SetLow(old, value); };
        if (offset <= kRegQueueDescHigh) q->set_desc_addr(set(q->desc_addr()));
        else if (offset <= kRegQueueDriverHigh) q->set_avail_addr(set(q->avail_addr()));
        else q->set_used_addr(set(q->used_addr()));
      }
      return;
    case kRegQueueReady:
      if (value == 0) {
        if (queue_sel_ < queues_.size() && !(status_ & kStatusDriverOk)) {
          queues_[queue_sel_].SetNotReady();
        }
      } else if (SplitQueue* q = ConfigurableQueue()) {
        absl::Status status = q->SetReady(memory_);
        if (!status.ok()) {
          Refuse("queue made ready with a bad configuration");
          LOG(WARNING) << "virtio-mmio queue " << queue_sel_ << ": " << status;
        }
      }
      return;
    case kRegQueueNotify:
      NotifyLocked(value);
      return;
    case kRegInterruptAck:
      interrupt_status_ &= ~value;
      return;
    case kRegStatus:
      WriteStatus(value);
      return;
    default:
      Refuse("write to a read-only or unknown register");
  }
}

void MmioTransport::WriteStatus(uint32_t value) {
  if (value == 0) {
    ResetLocked();
    return;
  }
  // Spec 2.1.2: the driver only ever adds bits (until a reset).
  if ((value & status_) != status_) {
    Refuse("status bits cleared without a reset");
    return;
  }
  uint32_t added = value & ~status_;
  if (added & kStatusFeaturesOk) {
    uint64_t offered = device_->offered_features();
    if ((driver_features_ & ~offered) != 0 ||
        !(driver_features_ & (1ull << kFeatureVersion1))) {
      Refuse("driver accepted features not offered, or not VERSION_1");
      value &= ~kStatusFeaturesOk;  // Reads back without FEATURES_OK.
    }
  }
  if ((added & kStatusDriverOk) && !active_) {
    if (!(value & kStatusFeaturesOk)) {
      Refuse("DRIVER_OK without FEATURES_OK");
      return;
    }
    status_ = value;
    ActivateContext context{&memory_, {}, driver_features_, this};
    for (SplitQueue& q : queues_) context.queues.push_back(&q);
    absl::Status status = device_->Activate(context);
    if (!status.ok()) {
      LOG(WARNING) << "virtio device " << device_->device_id()
                   << " failed to activate: " << status;
      status_ |= kStatusDeviceNeedsReset;
      SignalConfigChange();
      return;
    }
    active_ = true;
    // A driver may make buffers available and notify before DRIVER_OK
    // (Linux's virtio_balloon does so with its first statistics buffer):
    // such a notification was not delivered, so poll every queue now.
    for (size_t i = 0; i < queues_.size(); ++i) {
      if (queues_[i].HasAvailable(memory_)) device_->ProcessQueue(i);
    }
    return;
  }
  status_ = value;
}

void MmioTransport::ResetLocked() {
  device_->Reset();
  for (SplitQueue& q : queues_) q.Reset();
  status_ = 0;
  device_features_sel_ = driver_features_sel_ = queue_sel_ = 0;
  driver_features_ = 0;
  interrupt_status_ = 0;
  active_ = false;
}

void MmioTransport::NotifyQueue(uint32_t index) {
  absl::MutexLock lock(&mu_);
  NotifyLocked(index);
}

void MmioTransport::NotifyLocked(uint32_t index) {
  if (!active_ && index < queues_.size() && queues_[index].ready()) {
    // Before DRIVER_OK: allowed, delivered by the poll at DRIVER_OK.
    return;
  }
  if (!active_ || index >= queues_.size()) {
    Refuse("notification for a queue that is not running");
    return;
  }
  device_->ProcessQueue(index);
}

MmioTransportState MmioTransport::SaveState() const {
  absl::MutexLock lock(&mu_);
  MmioTransportState state{status_,           device_features_sel_, driver_features_sel_,
                           queue_sel_,        driver_features_,     interrupt_status_,
                           config_generation_, active_,             {}};
  for (const SplitQueue& q : queues_) state.queues.push_back(q.SaveState());
  return state;
}

absl::Status MmioTransport::RestoreState(
    const MmioTransportState& state,
    const std::function<absl::Status(VirtioDevice&)>& restore_device) {
  absl::MutexLock lock(&mu_);
  ResetLocked();
  auto fail = [&](absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ResetLocked();
    return status;
  };
  if (state.queues.size() != queues_.size()) {
    return fail(absl::InvalidArgumentError(absl::StrFormat(
        "%u queues saved, the device has %u", state.queues.size(), queues_.size())));
  }
  if (state.active && ((state.driver_features & ~device_->offered_features()) != 0 ||
                       !(state.status & kStatusDriverOk))) {
    return fail(absl::InvalidArgumentError(
        "an active device with features it does not offer, or without DRIVER_OK"));
  }
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (absl::Status s = queues_[i].RestoreState(state.queues[i], memory_); !s.ok()) {
      return fail(absl::InvalidArgumentError(absl::StrCat("queue ", i, ": ", s.message())));
    }
  }
  status_ = state.status;
  device_features_sel_ = state.device_features_sel;
  driver_features_sel_ = state.driver_features_sel;
  queue_sel_ = state.queue_sel;
  driver_features_ = state.driver_features;
  interrupt_status_ = state.interrupt_status;
  config_generation_ = state.config_generation;
  if (state.active) {
    ActivateContext context{&memory_, {}, driver_features_, this};
    for (SplitQueue& q : queues_) context.queues.push_back(&q);
    if (absl::Status s = device_->Activate(context); !s.ok()) return fail(s);
    active_ = true;
  }
  if (absl::Status s = restore_device(*device_); !s.ok()) return fail(s);
  return absl::OkStatus();
}

void MmioTransport::WithDevice(const std::function<void(VirtioDevice&)>& fn) {
  absl::MutexLock lock(&mu_);
  fn(*device_);
}

void MmioTransport::SignalUsedBuffers() {
  // Devices call through InterruptSink*, where the analysis cannot follow.
  mu_.AssertHeld();
  interrupt_status_ |= kInterruptUsedBuffer;
  irq_.Trigger();
}

void MmioTransport::SignalConfigChange() {
  mu_.AssertHeld();
  ++config_generation_;
  interrupt_status_ |= kInterruptConfigChange;
  irq_.Trigger();
}

}  // namespace blimp::device::virtio
