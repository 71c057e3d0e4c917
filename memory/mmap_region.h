// MmapRegion: an owned MAP_PRIVATE|MAP_ANONYMOUS mapping, unmapped on
// destruction. Private anonymous memory is what makes the balloon safe: after
// MADV_DONTNEED the next access sees zeroes, never another process's data.
#ifndef BLIMP_MEMORY_MMAP_REGION_H_
#define BLIMP_MEMORY_MMAP_REGION_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"

namespace blimp::memory {

class MmapRegion {
 public:
  // Maps `size` bytes (a multiple of the 4 KiB page size) of zeroed memory
  // with MAP_NORESERVE: pages are only backed when touched. The mapping
  // starts at a multiple of `align` (a power of two, at least 4 KiB).
  static absl::StatusOr<MmapRegion> Create(size_t size, size_t align = 4096);

  // MADV_HUGEPAGE on the whole mapping: the kernel may back it with
  // transparent huge pages (when its THP mode is `madvise` or `always`).
  // Unimplemented if the kernel has no THP.
  absl::Status AdviseHugePages() const;

  // Maps `fd` from `offset` over the whole mapping, privately (MAP_FIXED):
  // pages are read from the file on first touch and copied on write; the
  // file itself never changes.
  absl::Status MapFilePrivate(int fd, uint64_t offset);
  // Fresh zeroed anonymous memory over [offset, offset + len) (MAP_FIXED): on
  // a file mapping, the way to drop pages (MADV_DONTNEED would read the
  // file's page again).
  absl::Status MapAnonymous(size_t offset, size_t len) const;

  MmapRegion(MmapRegion&& other) noexcept;
  MmapRegion& operator=(MmapRegion&& other) noexcept;
  MmapRegion(const MmapRegion&) = delete;
  MmapRegion& operator=(const MmapRegion&) = delete;
  ~MmapRegion();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MmapRegion(uint8_t* data, size_t size) : data_(data), size_(size) {}
  void Unmap();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace blimp::memory

#endif  // BLIMP_MEMORY_MMAP_REGION_H_
