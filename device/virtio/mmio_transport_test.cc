#include "device/virtio/mmio_transport.h"

#include <cstring>
#include <random>

#include "device/virtio/virtio_defs.h"
#include "gtest/gtest.h"

namespace blimp::device::virtio {
namespace {

using namespace mmio;  // NOLINT: register names.

class FakeDevice : public VirtioDevice {
 public:
  uint32_t device_id() const override { return 42; }
  uint64_t offered_features() const override { return (1ull << kFeatureVersion1) | 0b101; }
  std::vector<uint16_t> queue_max_sizes() const override { return {16, 8}; }
  void ReadConfig(uint64_t offset, absl::Span<uint8_t> data) override {
    for (size_t i = 0; i < data.size(); ++i) data[i] = offset + i < 4 ? config[offset + i] : 0;
  }
  void WriteConfig(uint64_t offset, absl::Span<const uint8_t> data) override {
    for (size_t i = 0; i < data.size() && offset + i < 4; ++i) config[offset + i] = data[i];
  }
  absl::Status Activate(const ActivateContext& context) override {
    ++activations;
    features = context.acked_features;
    sink = context.interrupt;
    return fail_activate ? absl::InternalError("no") : absl::OkStatus();
  }
  void ProcessQueue(size_t index) override { notified.push_back(index); }
  void Reset() override { ++resets; }

  uint8_t config[4] = {1, 2, 3, 4};
  int activations = 0, resets = 0;
  bool fail_activate = false;
  uint64_t features = 0;
  InterruptSink* sink = nullptr;
  std::vector<size_t> notified;
};

class CountingLine : public InterruptLine {
 public:
  void Trigger() override { ++count; }
  int count = 0;
};

class MmioTransportTest : public ::testing::Test {
 protected:
  MmioTransportTest() {
    auto device = std::make_unique<FakeDevice>();
    device_ = device.get();
    transport_ = std::make_unique<MmioTransport>(std::move(device), memory_, line_);
  }

  uint32_t Read(uint64_t reg) {
    uint32_t value = 0;
    transport_->Read(reg, absl::MakeSpan(reinterpret_cast<uint8_t*>(&value), 4));
    return value;
  }
  void Write(uint64_t reg, uint32_t value) {
    transport_->Write(reg, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&value), 4));
  }
  // The driver's side of 3.1.1 device initialization, with both queues.
  void Initialize(uint64_t features = (1ull << kFeatureVersion1) | 1) {
    Write(kRegStatus, kStatusAcknowledge);
    Write(kRegStatus, kStatusAcknowledge | kStatusDriver);
    Write(kRegDriverFeaturesSel, 0);
    Write(kRegDriverFeatures, static_cast<uint32_t>(features));
    Write(kRegDriverFeaturesSel, 1);
    Write(kRegDriverFeatures, static_cast<uint32_t>(features >> 32));
    Write(kRegStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
    for (uint32_t q = 0; q < 2; ++q) {
      Write(kRegQueueSel, q);
      Write(kRegQueueNum, 8);
      Write(kRegQueueDescLow, 0x10000 + q * 0x1000);
      Write(kRegQueueDriverLow, 0x20000 + q * 0x1000);
      Write(kRegQueueDeviceLow, 0x30000 + q * 0x1000);
      Write(kRegQueueReady, 1);
    }
    Write(kRegStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  }

  memory::GuestMemory memory_ = *memory::GuestMemory::CreateRam(1 << 20);
  CountingLine line_;
  FakeDevice* device_;
  std::unique_ptr<MmioTransport> transport_;
};

TEST_F(MmioTransportTest, IdentityRegisters) {
  EXPECT_EQ(Read(kRegMagicValue), 0x74726976u);
  EXPECT_EQ(Read(kRegVersion), 2u);
  EXPECT_EQ(Read(kRegDeviceId), 42u);
  Write(kRegDeviceFeaturesSel, 0);
  EXPECT_EQ(Read(kRegDeviceFeatures), 0b101u);
  Write(kRegDeviceFeaturesSel, 1);
  EXPECT_EQ(Read(kRegDeviceFeatures), 1u);  // VERSION_1 is bit 32.
  Write(kRegQueueSel, 1);
  EXPECT_EQ(Read(kRegQueueNumMax), 8u);
  Write(kRegQueueSel, 5);
  EXPECT_EQ(Read(kRegQueueNumMax), 0u);
}

TEST_F(MmioTransportTest, FullInitializationActivatesTheDevice) {
  Initialize();
  EXPECT_EQ(device_->activations, 1);
  EXPECT_EQ(device_->features, (1ull << kFeatureVersion1) | 1);
  EXPECT_TRUE(Read(kRegStatus) & kStatusDriverOk);
  Write(kRegQueueSel, 1);
  EXPECT_EQ(Read(kRegQueueReady), 1u);
  EXPECT_EQ(Read(kRegQueueDescLow), 0x11000u);
  Write(kRegQueueNotify, 1);
  transport_->NotifyQueue(0);
  EXPECT_EQ(device_->notified, (std::vector<size_t>{1, 0}));
}

// Linux's virtio_balloon adds its first statistics buffer and notifies
// before DRIVER_OK: the buffer must reach the device at DRIVER_OK.
TEST_F(MmioTransportTest, BuffersNotifiedBeforeDriverOkAreProcessedAtDriverOk) {
  // Queue 1's avail ring (Initialize puts it at 0x21000): one entry.
  ASSERT_TRUE(memory_.WriteObj<uint16_t>(memory::GuestAddress(0x21000 + 2), 1).ok());
  Initialize();  // Notifies nothing itself; the poll at DRIVER_OK does.
  EXPECT_EQ(device_->notified, (std::vector<size_t>{1}));
}

TEST_F(MmioTransportTest, NotifyBeforeDriverOkIsNotAnError) {
  Write(kRegStatus, kStatusAcknowledge | kStatusDriver);
  Write(kRegDriverFeaturesSel, 1);
  Write(kRegDriverFeatures, 1);
  Write(kRegStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  Write(kRegQueueSel, 0);
  Write(kRegQueueNum, 8);
  Write(kRegQueueDescLow, 0x10000);
  Write(kRegQueueDriverLow, 0x20000);
  Write(kRegQueueDeviceLow, 0x30000);
  Write(kRegQueueReady, 1);
  Write(kRegQueueNotify, 0);
  EXPECT_TRUE(device_->notified.empty());
  EXPECT_EQ(transport_->invalid_accesses(), 0u);
  Write(kRegQueueNotify, 7);  // No such queue: refused.
  EXPECT_EQ(transport_->invalid_accesses(), 1u);
}

TEST_F(MmioTransportTest, FeaturesNotOfferedOrWithoutVersion1AreRefused) {
  Write(kRegStatus, kStatusAcknowledge | kStatusDriver);
  Write(kRegDriverFeatures, 0b10);  // Bit 1 was not offered.
  Write(kRegDriverFeaturesSel, 1);
  Write(kRegDriverFeatures, 1);
  Write(kRegStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  EXPECT_FALSE(Read(kRegStatus) & kStatusFeaturesOk);
  Write(kRegStatus, 0);
  Write(kRegStatus, kStatusAcknowledge | kStatusDriver);
  Write(kRegDriverFeatures, 1);  // No VERSION_1: legacy drivers are not served.
  Write(kRegStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  EXPECT_FALSE(Read(kRegStatus) & kStatusFeaturesOk);
  EXPECT_GE(transport_->invalid_accesses(), 2u);
}

TEST_F(MmioTransportTest, BadQueueConfigurationIsRefused) {
  Write(kRegStatus, kStatusAcknowledge | kStatusDriver);
  Write(kRegDriverFeaturesSel, 1);
  Write(kRegDriverFeatures, 1);
  Write(kRegStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  Write(kRegQueueSel, 0);
  Write(kRegQueueNum, 8);
  Write(kRegQueueDescLow, 0x10000);
  Write(kRegQueueDescHigh, 0x1);  // Above 4 GiB: outside RAM.
  Write(kRegQueueReady, 1);
  EXPECT_EQ(Read(kRegQueueReady), 0u);
  Write(kRegQueueSel, 9);  // No such queue.
  Write(kRegQueueNum, 8);
  Write(kRegStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  // DRIVER_OK with queue 0 not ready: the device decides (the balloon refuses).
  EXPECT_EQ(device_->activations, 1);
  EXPECT_GE(transport_->invalid_accesses(), 1u);
}

TEST_F(MmioTransportTest, FailedActivationAsksForReset) {
  device_->fail_activate = true;
  Initialize();
  EXPECT_TRUE(Read(kRegStatus) & kStatusDeviceNeedsReset);
  EXPECT_EQ(Read(kRegInterruptStatus) & kInterruptConfigChange, kInterruptConfigChange);
  Write(kRegQueueNotify, 0);  // Not running: ignored.
  EXPECT_TRUE(device_->notified.empty());
}

// As a device does: from a method the transport calls under its lock.
void Signal(MmioTransport& transport, void (InterruptSink::*signal)()) {
  transport.WithDevice([&](VirtioDevice& device) {
    (static_cast<FakeDevice&>(device).sink->*signal)();
  });
}

TEST_F(MmioTransportTest, InterruptsSetStatusAndAreAcknowledged) {
  Initialize();
  Signal(*transport_, &InterruptSink::SignalUsedBuffers);
  EXPECT_EQ(line_.count, 1);
  EXPECT_EQ(Read(kRegInterruptStatus), kInterruptUsedBuffer);
  uint32_t generation = Read(kRegConfigGeneration);
  Signal(*transport_, &InterruptSink::SignalConfigChange);
  EXPECT_EQ(Read(kRegConfigGeneration), generation + 1);
  EXPECT_EQ(Read(kRegInterruptStatus), kInterruptUsedBuffer | kInterruptConfigChange);
  Write(kRegInterruptAck, kInterruptUsedBuffer);
  EXPECT_EQ(Read(kRegInterruptStatus), kInterruptConfigChange);
}

TEST_F(MmioTransportTest, SignalOutsideTheDeviceLockIsCaught) {
  Initialize();
  EXPECT_DEATH(device_->sink->SignalUsedBuffers(), "should hold");
}

TEST_F(MmioTransportTest, ResetReturnsToTheInitialState) {
  Initialize();
  Write(kRegStatus, 0);
  EXPECT_EQ(Read(kRegStatus), 0u);
  EXPECT_EQ(device_->resets, 1);
  Write(kRegQueueSel, 0);
  EXPECT_EQ(Read(kRegQueueReady), 0u);
  Write(kRegQueueNotify, 0);
  EXPECT_TRUE(device_->notified.empty());
  Initialize();  // And it can be brought up again.
  EXPECT_EQ(device_->activations, 2);
}

TEST_F(MmioTransportTest, ConfigSpaceGoesToTheDevice) {
  uint8_t bytes[2] = {0, 0};
  transport_->Read(kRegConfig + 1, absl::MakeSpan(bytes));
  EXPECT_EQ(bytes[0], 2);
  EXPECT_EQ(bytes[1], 3);
  uint8_t value = 9;
  transport_->Write(kRegConfig + 3, absl::MakeConstSpan(&value, 1));
  EXPECT_EQ(device_->config[3], 9);
}

TEST_F(MmioTransportTest, OddAccessesAndClearingStatusBitsAreRefused) {
  uint8_t byte = 0;
  transport_->Read(kRegStatus, absl::MakeSpan(&byte, 1));
  transport_->Write(kRegMagicValue + 2, absl::MakeConstSpan(&byte, 1));
  Write(kRegMagicValue, 1);  // Read-only.
  Initialize();
  Write(kRegStatus, kStatusAcknowledge);  // Clears bits without a reset.
  EXPECT_TRUE(Read(kRegStatus) & kStatusDriverOk);
  EXPECT_GE(transport_->invalid_accesses(), 4u);
}

TEST_F(MmioTransportTest, SurvivesRandomRegisterTraffic) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    uint64_t reg = (rng() % 0x40) * 4;
    if (rng() % 2) {
      Write(reg, rng() % 4 ? rng() % 16 : rng());
    } else {
      Read(reg);
    }
  }
  SUCCEED();  // No crash, no sanitizer report.
}

// A snapshot's transport state brings a fresh transport to the same
// registers and queues, with the device activated again.
TEST_F(MmioTransportTest, SavedStateRestoresIntoAFreshTransport) {
  Initialize();
  Write(kRegQueueSel, 1);
  const MmioTransportState saved = transport_->SaveState();
  EXPECT_TRUE(saved.active);
  ASSERT_EQ(saved.queues.size(), 2u);
  EXPECT_EQ(saved.queues[1].desc, 0x11000u);

  auto device = std::make_unique<FakeDevice>();
  FakeDevice* fresh = device.get();
  MmioTransport restored(std::move(device), memory_, line_);
  bool device_restored = false;
  ASSERT_TRUE(restored
                  .RestoreState(saved,
                                [&](VirtioDevice&) {
                                  device_restored = true;
                                  return absl::OkStatus();
                                })
                  .ok());
  EXPECT_TRUE(device_restored);
  EXPECT_EQ(fresh->activations, 1);
  EXPECT_EQ(fresh->features, saved.driver_features);
  EXPECT_EQ(restored.status(), saved.status);
  uint32_t value = 0;
  restored.Read(kRegQueueReady, absl::MakeSpan(reinterpret_cast<uint8_t*>(&value), 4));
  EXPECT_EQ(value, 1u) << "queue 1 (still selected) is ready";
  // Notifications reach the device again.
  restored.NotifyQueue(1);
  EXPECT_EQ(fresh->notified, std::vector<size_t>{1});
}

TEST_F(MmioTransportTest, BadSavedStatesAreRefusedAndLeaveAResetTransport) {
  Initialize();
  const MmioTransportState good = transport_->SaveState();
  auto ok = [](VirtioDevice&) { return absl::OkStatus(); };
  std::vector<std::pair<std::string, MmioTransportState>> bad;
  bad.push_back({"queue outside RAM", good});
  bad.back().second.queues[0].desc = 1ull << 40;
  bad.push_back({"size over the maximum", good});
  bad.back().second.queues[1].size = 64;
  bad.push_back({"not a power of two", good});
  bad.back().second.queues[0].size = 6;
  bad.push_back({"a queue missing", good});
  bad.back().second.queues.pop_back();
  bad.push_back({"features never offered", good});
  bad.back().second.driver_features |= 1ull << 20;
  bad.push_back({"active without DRIVER_OK", good});
  bad.back().second.status = kStatusAcknowledge;
  for (const auto& [name, state] : bad) {
    auto device = std::make_unique<FakeDevice>();
    FakeDevice* fresh = device.get();
    MmioTransport restored(std::move(device), memory_, line_);
    EXPECT_FALSE(restored.RestoreState(state, ok).ok()) << name;
    EXPECT_EQ(restored.status(), 0u) << name;
    EXPECT_TRUE(restored.SaveState().queues[0].desc == 0) << name;
    EXPECT_EQ(fresh->activations, 0) << name;
  }
  // The device's own refusal also resets.
  auto device = std::make_unique<FakeDevice>();
  MmioTransport restored(std::move(device), memory_, line_);
  EXPECT_FALSE(restored
                   .RestoreState(good, [](VirtioDevice&) {
                     return absl::InvalidArgumentError("bad device state");
                   })
                   .ok());
  EXPECT_EQ(restored.status(), 0u);
}

}  // namespace
}  // namespace blimp::device::virtio
