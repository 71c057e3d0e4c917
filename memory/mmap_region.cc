#include "memory/mmap_region.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"

namespace blimp::memory {

namespace {
constexpr size_t kPageSize = 4096;
}  // namespace

absl::StatusOr<MmapRegion> MmapRegion::Create(size_t size, size_t align) {
  if (size == 0 || size % kPageSize != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("mapping size ", size, " is not a positive multiple of 4 KiB"));
  }
  if (align < kPageSize || (align & (align - 1)) != 0 || size > SIZE_MAX - align) {
    return absl::InvalidArgumentError(
        absl::StrCat("mapping alignment ", align, " is not a power of two >= 4 KiB"));
  }
  // mmap only promises 4 KiB alignment: reserve `align` more, then give the
  // unaligned head and the tail back.
  const size_t reserved = size + align - kPageSize;
  // SAFETY: a fresh anonymous private mapping aliases nothing; this object
  // owns [start, start + size) until munmap in Unmap().
  void* data = ::mmap(nullptr, reserved, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (data == MAP_FAILED) {
    return base::ErrnoStatus(absl::StrCat("mmap of ", reserved, " bytes"));
  }
  const uintptr_t base = reinterpret_cast<uintptr_t>(data);
  const uintptr_t start = (base + align - 1) & ~(uintptr_t{align} - 1);
  const size_t head = start - base;
  const size_t tail = reserved - head - size;
  // SAFETY: both pieces lie inside the reservation above and outside
  // [start, start + size); nothing else refers to them.
  if (head > 0) ::munmap(data, head);
  if (tail > 0) ::munmap(reinterpret_cast<void*>(start + size), tail);
  return MmapRegion(reinterpret_cast<uint8_t*>(start), size);
}

absl::Status MmapRegion::AdviseHugePages() const {
  // SAFETY: advice on our own mapping; MADV_HUGEPAGE never changes contents.
  if (::madvise(data_, size_, MADV_HUGEPAGE) < 0) {
    if (errno == EINVAL) return absl::UnimplementedError("the kernel has no transparent huge pages");
    return base::ErrnoStatus("madvise(MADV_HUGEPAGE)");
  }
  return absl::OkStatus();
}

absl::Status MmapRegion::MapFilePrivate(int fd, uint64_t offset) {
  // SAFETY: MAP_FIXED replaces only our own mapping [data_, data_ + size_).
  void* mapped = ::mmap(data_, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE,
                        fd, static_cast<off_t>(offset));
  if (mapped == MAP_FAILED) return base::ErrnoStatus("mmap of the memory file");
  return absl::OkStatus();
}

absl::Status MmapRegion::MapAnonymous(size_t offset, size_t len) const {
  if (offset > size_ || len > size_ - offset || offset % kPageSize != 0 || len % kPageSize != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("[", offset, ", +", len, ") is not page-aligned inside the mapping"));
  }
  // SAFETY: MAP_FIXED replaces only pages inside our own mapping (checked).
  void* mapped = ::mmap(data_ + offset, len, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
  if (mapped == MAP_FAILED) return base::ErrnoStatus("mmap over discarded pages");
  return absl::OkStatus();
}

MmapRegion::MmapRegion(MmapRegion&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MmapRegion& MmapRegion::operator=(MmapRegion&& other) noexcept {
  if (this != &other) {
    Unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MmapRegion::~MmapRegion() { Unmap(); }

void MmapRegion::Unmap() {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace blimp::memory
