// The memory file of a snapshot: guest RAM's regions one after the other, as
// a sparse file. Only pages holding something other than zeroes are
// written: pages never touched, given to the balloon or reported free read
// as zero and stay holes, so a guest that gave back 75% of its RAM writes
// about a quarter of it.
#ifndef BLIMP_VMM_SNAPSHOT_MEMORY_FILE_H_
#define BLIMP_VMM_SNAPSHOT_MEMORY_FILE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "memory/guest_memory.h"

namespace blimp::vmm::snapshot {

struct MemoryFileStats {
  uint64_t file_bytes = 0;     // The file's size: all of guest RAM.
  uint64_t written_bytes = 0;  // Pages written; the rest are holes.
};

// Writes `memory` into `fd` (a new, empty file) and syncs it. The guest must
// not run meanwhile (its vCPUs paused).
absl::StatusOr<MemoryFileStats> WriteMemoryFile(const memory::GuestMemory& memory, int fd);

}  // namespace blimp::vmm::snapshot

#endif  // BLIMP_VMM_SNAPSHOT_MEMORY_FILE_H_
