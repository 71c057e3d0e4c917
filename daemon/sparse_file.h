// Snapshot files as blimpd moves them: memory files are sparse (holes where
// the guest held nothing), and every step here keeps the holes, so copying
// or streaming a VM whose balloon holds 75% of its RAM touches a quarter.
#ifndef BLIMP_DAEMON_SPARSE_FILE_H_
#define BLIMP_DAEMON_SPARSE_FILE_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"

namespace blimp::daemon {

// Calls `range(offset, length)` for each data range of the open file `fd`
// (SEEK_DATA/SEEK_HOLE), in order, stopping at the first error.
absl::Status ForEachDataRange(int fd,
                              const std::function<absl::Status(uint64_t, uint64_t)>& range);

// pwrite(2) until all of `size` bytes are at `offset`.
absl::Status WriteAt(int fd, const char* data, size_t size, uint64_t offset);

// Copies the data ranges of `from` into the new file `to` (never an existing
// one) with the same size; `to` is removed again on failure. `owner` -1
// keeps blimpd's.
absl::Status CopySparse(const std::string& from, const std::string& to, uid_t owner = -1);

// Moves `from` to the new path `to`: link + unlink on one filesystem,
// CopySparse + unlink across. The file then belongs to blimpd's user.
absl::Status MoveFile(const std::string& from, const std::string& to);

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_SPARSE_FILE_H_
