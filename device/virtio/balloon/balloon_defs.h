// Virtio balloon constants: virtio 1.1 section 5.5 and Linux's
// include/uapi/linux/virtio_balloon.h (free page hinting and reporting,
// statistics tags 10-15).
#ifndef BLIMP_DEVICE_VIRTIO_BALLOON_BALLOON_DEFS_H_
#define BLIMP_DEVICE_VIRTIO_BALLOON_BALLOON_DEFS_H_

#include <cstdint>
#include <type_traits>

namespace blimp::device::virtio::balloon {

// 5.5.3 Feature bits.
inline constexpr int kFeatureMustTellHost = 0;
inline constexpr int kFeatureStatsVq = 1;
inline constexpr int kFeatureDeflateOnOom = 2;
inline constexpr int kFeatureFreePageHint = 3;
inline constexpr int kFeaturePagePoison = 4;
inline constexpr int kFeatureReporting = 5;

// 5.5.6: balloon page frames are always 4 KiB.
inline constexpr uint64_t kPfnShift = 12;
inline constexpr uint64_t kBalloonPageSize = 1ull << kPfnShift;
inline constexpr uint32_t kPagesPerMib = 256;

// 5.5.4 Device configuration layout.
struct BalloonConfigSpace {
  uint32_t num_pages;              // Written by the host: the target.
  uint32_t actual;                 // Written by the driver.
  uint32_t free_page_hint_cmd_id;  // Written by the host (FREE_PAGE_HINT).
  uint32_t poison_val;             // Written by the driver (PAGE_POISON).
};
static_assert(sizeof(BalloonConfigSpace) == 16 &&
              std::is_trivially_copyable_v<BalloonConfigSpace>);
inline constexpr uint64_t kConfigActualOffset = 4;
inline constexpr uint64_t kConfigPoisonOffset = 12;

// Free page hinting command ids (Linux virtio_balloon.h).
inline constexpr uint32_t kHintCmdIdStop = 0;
inline constexpr uint32_t kHintCmdIdDone = 1;
inline constexpr uint32_t kHintCmdIdFirst = 2;

// 5.5.6.3 Memory statistics: a packed {le16 tag; le64 val} per entry.
inline constexpr uint32_t kStatEntrySize = 10;
inline constexpr uint16_t kStatTagCount = 16;  // Tags 0..15.

}  // namespace blimp::device::virtio::balloon

#endif  // BLIMP_DEVICE_VIRTIO_BALLOON_BALLOON_DEFS_H_
