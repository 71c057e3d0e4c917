#include "memory/mmap_region.h"

#include <sys/mman.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"

namespace blimp::memory {

namespace {
constexpr size_t kPageSize = 4096;
}  // namespace

absl::StatusOr<MmapRegion> MmapRegion::Create(size_t size) {
  if (size == 0 || size % kPageSize != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("mapping size ", size, " is not a positive multiple of 4 KiB"));
  }
  // SAFETY: a fresh anonymous private mapping aliases nothing; this object
  // owns it until munmap in Unmap().
  void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (data == MAP_FAILED) {
    return base::ErrnoStatus(absl::StrCat("mmap of ", size, " bytes"));
  }
  return MmapRegion(static_cast<uint8_t*>(data), size);
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
