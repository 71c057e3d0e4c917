#include "memory/guest_memory.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/errno_status.h"
#include "base/status_macros.h"

namespace blimp::memory {
namespace {

absl::Status OutOfRange(GuestAddress addr, uint64_t len) {
  return absl::OutOfRangeError(absl::StrFormat(
      "guest range [%#x, +%#x) is not inside guest RAM", addr.value(), len));
}

}  // namespace

absl::StatusOr<GuestMemory> GuestMemory::CreateRam(uint64_t ram_size,
                                                   const RamOptions& options) {
  if (ram_size == 0 || ram_size % kPageSize != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "guest RAM size ", ram_size, " is not a positive multiple of 4 KiB"));
  }
  std::vector<Range> ranges;
  uint64_t low = std::min(ram_size, kMmioHoleStart);
  ranges.push_back({GuestAddress(0), low});
  if (ram_size > low) ranges.push_back({GuestAddress(kMmioHoleEnd), ram_size - low});
  return Create(ranges, options);
}

absl::StatusOr<GuestMemory> GuestMemory::Create(const std::vector<Range>& ranges,
                                                const RamOptions& options) {
  std::vector<GuestRegion> regions;
  std::optional<HoleGuard> guard;
  uint64_t next_free = 0;
  uint64_t file_offset = 0;
  const bool from_file = options.memory_file >= 0;
  if (from_file) {
    // A page past the end of the file would be SIGBUS on first touch.
    uint64_t total = 0;
    for (const Range& range : ranges) total += range.size;
    struct stat st {};
    if (::fstat(options.memory_file, &st) != 0) return base::ErrnoStatus("fstat of the memory file");
    if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != total) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the memory file holds ", st.st_size, " bytes, the guest has ", total, " bytes of RAM"));
    }
  }
  for (const Range& range : ranges) {
    if (range.start.value() % kPageSize != 0 || range.size == 0 ||
        range.size % kPageSize != 0 || !range.start.CheckedAdd(range.size) ||
        range.start.value() < next_free) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "bad guest region [%#x, +%#x): regions must be page-aligned, "
          "non-empty, sorted and disjoint",
          range.start.value(), range.size));
    }
    const bool huge = options.transparent_huge_pages && !from_file;
    ASSIGN_OR_RETURN(MmapRegion mapping,
                     MmapRegion::Create(range.size, huge ? kHugePageSize : kPageSize));
    if (from_file) {
      RETURN_IF_ERROR(mapping.MapFilePrivate(options.memory_file, file_offset));
      file_offset += range.size;
      regions.push_back({range.start, range.size, std::move(mapping), false, true});
      next_free = range.start.value() + range.size;
      continue;
    }
    bool advised = false;
    if (huge) {
      // Before any page is touched (and before the VMM's seccomp filter,
      // which allows only MADV_DONTNEED).
      absl::Status status = mapping.AdviseHugePages();
      if (!status.ok() && !absl::IsUnimplemented(status)) return status;
      advised = status.ok();
    }
    if (advised) {
      // Without the guard RAM still works; khugepaged may just refill holes.
      if (!guard) {
        absl::StatusOr<HoleGuard> created = HoleGuard::Create();
        if (created.ok()) guard.emplace(*std::move(created));
      }
      if (guard && !guard->Cover(mapping.data(), mapping.size()).ok()) guard.reset();
    }
    regions.push_back({range.start, range.size, std::move(mapping), advised});
    next_free = range.start.value() + range.size;
  }
  if (regions.empty()) return absl::InvalidArgumentError("no guest memory regions");
  return GuestMemory(std::move(regions), std::move(guard));
}

uint64_t GuestMemory::total_size() const {
  uint64_t total = 0;
  for (const GuestRegion& region : regions_) total += region.size;
  return total;
}

const GuestRegion* GuestMemory::Find(GuestAddress addr, uint64_t len) const {
  for (const GuestRegion& region : regions_) {
    if (addr < region.start) continue;
    uint64_t offset = addr.value() - region.start.value();
    // Written so that no sum can overflow.
    if (offset < region.size && len <= region.size - offset) return &region;
    if (offset < region.size) return nullptr;  // Starts inside, runs past the end.
  }
  return nullptr;
}

bool GuestMemory::Contains(GuestAddress addr, uint64_t len) const {
  return Find(addr, len) != nullptr;
}

absl::StatusOr<uint8_t*> GuestMemory::HostAddress(GuestAddress addr,
                                                  uint64_t len) const {
  const GuestRegion* region = Find(addr, len);
  if (region == nullptr) return OutOfRange(addr, len);
  return region->mapping.data() + (addr.value() - region->start.value());
}

absl::Status GuestMemory::Read(GuestAddress addr, void* dst, size_t len) const {
  ASSIGN_OR_RETURN(uint8_t* host, HostAddress(addr, len));
  if (len > 0) std::memcpy(dst, host, len);  // dst may be null when len is 0.
  return absl::OkStatus();
}

absl::Status GuestMemory::Write(GuestAddress addr, const void* src,
                                size_t len) const {
  ASSIGN_OR_RETURN(uint8_t* host, HostAddress(addr, len));
  if (len > 0) std::memcpy(host, src, len);  // src may be null when len is 0.
  return absl::OkStatus();
}

absl::Status GuestMemory::Discard(GuestAddress addr, uint64_t len) const {
  if (addr.value() % kPageSize != 0 || len % kPageSize != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "discard of [%#x, +%#x) is not page-aligned", addr.value(), len));
  }
  const GuestRegion* region = Find(addr, len);
  if (region == nullptr) return OutOfRange(addr, len);
  if (region->file_backed) {
    return region->mapping.MapAnonymous(addr.value() - region->start.value(), len);
  }
  ASSIGN_OR_RETURN(uint8_t* host, HostAddress(addr, len));
  // SAFETY: [host, host + len) lies inside one of our private anonymous
  // mappings (checked above), so only this guest's pages are dropped.
  if (::madvise(host, len, MADV_DONTNEED) < 0) {
    return base::ErrnoStatus("madvise(MADV_DONTNEED)");
  }
  return absl::OkStatus();
}

}  // namespace blimp::memory
