// GuestMemory: the guest's RAM, as host mappings at guest-physical addresses.
// Every access is bounds-checked and must lie inside one region; nothing here
// can produce a host pointer outside guest RAM.
#ifndef BLIMP_MEMORY_GUEST_MEMORY_H_
#define BLIMP_MEMORY_GUEST_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "memory/guest_address.h"
#include "memory/hole_guard.h"
#include "memory/mmap_region.h"

namespace blimp::memory {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kMiB = 1024 * 1024;
// An x86 host's transparent huge page (one PMD).
inline constexpr uint64_t kHugePageSize = 2 * kMiB;
// x86's 32-bit MMIO hole (LAPIC, IOAPIC, virtio-mmio devices): RAM that does
// not fit below it continues at 4 GiB.
inline constexpr uint64_t kMmioHoleStart = 3ull << 30;
inline constexpr uint64_t kMmioHoleEnd = 4ull << 30;

struct GuestRegion {
  GuestAddress start;
  uint64_t size;
  MmapRegion mapping;
  bool huge_pages = false;  // 2 MiB-aligned and MADV_HUGEPAGE'd.
  // Mapped privately from a memory file (RamOptions::memory_file).
  bool file_backed = false;

  GuestAddress end() const { return start.Offset(size); }  // Exclusive.
};

struct RamOptions {
  // Back RAM with the host's transparent huge pages: each mapping starts on a
  // 2 MiB boundary (as the guest-physical regions do, so one guest 2 MiB
  // page is one host PMD) and is MADV_HUGEPAGE'd. A discard of a whole
  // 2 MiB page then drops one PMD instead of 512 PTEs; a smaller discard
  // splits it (the rest stays mapped, the discarded pages read as zero).
  // Without THP in the host kernel the advice is skipped (huge_pages false).
  // RAM on huge pages is also covered by a HoleGuard (hole_guard.h), so that
  // khugepaged does not fill such holes again.
  bool transparent_huge_pages = false;
  // A snapshot's memory file (an fd, -1 for none): RAM is mapped from it
  // privately, each region at its offset in the file (the regions one after
  // the other), read on first touch. Discard() then maps fresh anonymous
  // memory over the range, since MADV_DONTNEED would bring the file's page
  // back. No huge pages.
  int memory_file = -1;
};

class GuestMemory {
 public:
  // `ram_size` bytes of RAM from guest address 0, split around the MMIO hole.
  static absl::StatusOr<GuestMemory> CreateRam(uint64_t ram_size,
                                               const RamOptions& options = {});
  // One region per (start, size); page-aligned, sorted, not overlapping.
  struct Range {
    GuestAddress start;
    uint64_t size;
  };
  static absl::StatusOr<GuestMemory> Create(const std::vector<Range>& ranges,
                                            const RamOptions& options = {});

  GuestMemory(GuestMemory&&) = default;
  GuestMemory& operator=(GuestMemory&&) = default;

  const std::vector<GuestRegion>& regions() const { return regions_; }
  // True if khugepaged is kept out of the holes discards leave (hole_guard.h).
  bool holes_guarded() const { return hole_guard_.has_value(); }
  uint64_t total_size() const;
  // True if [addr, addr + len) lies inside one region.
  bool Contains(GuestAddress addr, uint64_t len) const;

  // The host address of [addr, addr + len), which must lie inside one region.
  absl::StatusOr<uint8_t*> HostAddress(GuestAddress addr, uint64_t len) const;

  absl::Status Read(GuestAddress addr, void* dst, size_t len) const;
  absl::Status Write(GuestAddress addr, const void* src, size_t len) const;

  template <typename T>
  absl::StatusOr<T> ReadObj(GuestAddress addr) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    absl::Status status = Read(addr, &value, sizeof(T));
    if (!status.ok()) return status;
    return value;
  }
  template <typename T>
  absl::Status WriteObj(GuestAddress addr, const T& value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    return Write(addr, &value, sizeof(T));
  }

  // Gives the host pages of [addr, addr + len) back to the kernel
  // (MADV_DONTNEED); the guest reads zeroes there afterwards. The range must
  // be page-aligned and inside one region.
  absl::Status Discard(GuestAddress addr, uint64_t len) const;

 private:
  GuestMemory(std::vector<GuestRegion> regions, std::optional<HoleGuard> hole_guard)
      : regions_(std::move(regions)), hole_guard_(std::move(hole_guard)) {}
  // The region holding [addr, addr + len), or nullptr.
  const GuestRegion* Find(GuestAddress addr, uint64_t len) const;

  std::vector<GuestRegion> regions_;
  std::optional<HoleGuard> hole_guard_;
};

}  // namespace blimp::memory

#endif  // BLIMP_MEMORY_GUEST_MEMORY_H_
