// Virtio constants, from the Virtual I/O Device (VIRTIO) spec, version 1.1.
#ifndef BLIMP_DEVICE_VIRTIO_VIRTIO_DEFS_H_
#define BLIMP_DEVICE_VIRTIO_VIRTIO_DEFS_H_

#include <cstdint>
#include <type_traits>

namespace blimp::device::virtio {

// 2.1 Device status field.
inline constexpr uint32_t kStatusAcknowledge = 1;
inline constexpr uint32_t kStatusDriver = 2;
inline constexpr uint32_t kStatusDriverOk = 4;
inline constexpr uint32_t kStatusFeaturesOk = 8;
inline constexpr uint32_t kStatusDeviceNeedsReset = 64;
inline constexpr uint32_t kStatusFailed = 128;

// 6 Reserved feature bits.
inline constexpr int kFeatureRingIndirectDesc = 28;
inline constexpr int kFeatureRingEventIdx = 29;
inline constexpr int kFeatureVersion1 = 32;

// 2.6.5 The virtqueue descriptor table.
inline constexpr uint16_t kDescFlagNext = 1;
inline constexpr uint16_t kDescFlagWrite = 2;
inline constexpr uint16_t kDescFlagIndirect = 4;

// 2.6.6 / 2.6.8 ring flags.
inline constexpr uint16_t kAvailFlagNoInterrupt = 1;
inline constexpr uint16_t kUsedFlagNoNotify = 1;

// 2.6 Split virtqueue layout.
struct VirtqDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(VirtqDesc) == 16 && std::is_trivially_copyable_v<VirtqDesc>);

struct VirtqUsedElem {
  uint32_t id;
  uint32_t len;
};
static_assert(sizeof(VirtqUsedElem) == 8 && std::is_trivially_copyable_v<VirtqUsedElem>);

// 2.6: largest queue size.
inline constexpr uint16_t kMaxQueueSize = 32768;

// 4.2.2 MMIO device register layout (version 2).
namespace mmio {
inline constexpr uint32_t kMagicValue = 0x74726976;  // "virt"
inline constexpr uint32_t kVersion = 2;
inline constexpr uint32_t kVendorId = 0x504d4c42;    // "BLMP"
inline constexpr uint64_t kRegMagicValue = 0x000;
inline constexpr uint64_t kRegVersion = 0x004;
inline constexpr uint64_t kRegDeviceId = 0x008;
inline constexpr uint64_t kRegVendorId = 0x00c;
inline constexpr uint64_t kRegDeviceFeatures = 0x010;
inline constexpr uint64_t kRegDeviceFeaturesSel = 0x014;
inline constexpr uint64_t kRegDriverFeatures = 0x020;
inline constexpr uint64_t kRegDriverFeaturesSel = 0x024;
inline constexpr uint64_t kRegQueueSel = 0x030;
inline constexpr uint64_t kRegQueueNumMax = 0x034;
inline constexpr uint64_t kRegQueueNum = 0x038;
inline constexpr uint64_t kRegQueueReady = 0x044;
inline constexpr uint64_t kRegQueueNotify = 0x050;
inline constexpr uint64_t kRegInterruptStatus = 0x060;
inline constexpr uint64_t kRegInterruptAck = 0x064;
inline constexpr uint64_t kRegStatus = 0x070;
inline constexpr uint64_t kRegQueueDescLow = 0x080;
inline constexpr uint64_t kRegQueueDescHigh = 0x084;
inline constexpr uint64_t kRegQueueDriverLow = 0x090;
inline constexpr uint64_t kRegQueueDriverHigh = 0x094;
inline constexpr uint64_t kRegQueueDeviceLow = 0x0a0;
inline constexpr uint64_t kRegQueueDeviceHigh = 0x0a4;
inline constexpr uint64_t kRegConfigGeneration = 0x0fc;
inline constexpr uint64_t kRegConfig = 0x100;
// The register window each device occupies.
inline constexpr uint64_t kWindowSize = 0x1000;

// 4.2.2 Interrupt status bits.
inline constexpr uint32_t kInterruptUsedBuffer = 1;
inline constexpr uint32_t kInterruptConfigChange = 2;
}  // namespace mmio

// 5 Device types.
inline constexpr uint32_t kDeviceIdBalloon = 5;

}  // namespace blimp::device::virtio

#endif  // BLIMP_DEVICE_VIRTIO_VIRTIO_DEFS_H_
