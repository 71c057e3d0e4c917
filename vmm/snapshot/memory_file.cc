#include "vmm/snapshot/memory_file.h"

#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"

namespace blimp::vmm::snapshot {
namespace {

using memory::kPageSize;

// Written in runs of at most this many bytes.
constexpr uint64_t kMaxRun = 1 << 20;

bool IsZeroPage(const uint8_t* page) {
  // Reading a page the guest never touched maps the kernel's zero page: no
  // memory is allocated for the scan.
  uint64_t acc = 0;
  for (size_t i = 0; i < kPageSize; i += 8) {
    uint64_t word;
    std::memcpy(&word, page + i, sizeof(word));
    acc |= word;
  }
  return acc == 0;
}

absl::Status WriteRun(int fd, const uint8_t* data, uint64_t len, uint64_t offset) {
  while (len > 0) {
    ssize_t n = ::pwrite(fd, data, len, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(absl::StrCat("write of the memory file at ", offset));
    }
    data += n;
    len -= n;
    offset += n;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MemoryFileStats> WriteMemoryFile(const memory::GuestMemory& memory, int fd) {
  MemoryFileStats stats;
  stats.file_bytes = memory.total_size();
  if (::ftruncate(fd, static_cast<off_t>(stats.file_bytes)) != 0) {
    return base::ErrnoStatus("ftruncate of the memory file");
  }
  uint64_t file_offset = 0;
  for (const memory::GuestRegion& region : memory.regions()) {
    const uint8_t* base = region.mapping.data();
    uint64_t run_start = 0, run_len = 0;
    for (uint64_t at = 0; at < region.size; at += kPageSize) {
      const bool data = !IsZeroPage(base + at);
      if (data && run_len == 0) run_start = at;
      if (data) run_len += kPageSize;
      if (run_len > 0 && (!data || run_len == kMaxRun || at + kPageSize == region.size)) {
        absl::Status written = WriteRun(fd, base + run_start, run_len, file_offset + run_start);
        if (!written.ok()) return written;
        stats.written_bytes += run_len;
        run_len = 0;
      }
    }
    file_offset += region.size;
  }
  if (::fsync(fd) != 0) return base::ErrnoStatus("fsync of the memory file");
  return stats;
}

}  // namespace blimp::vmm::snapshot
