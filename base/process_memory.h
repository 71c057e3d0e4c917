// Resident memory of a process, from /proc/<pid>/statm.
#ifndef BLIMP_BASE_PROCESS_MEMORY_H_
#define BLIMP_BASE_PROCESS_MEMORY_H_

#include <sys/types.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace blimp::base {

// Resident set size in bytes; NotFound if the process is gone.
absl::StatusOr<uint64_t> ResidentBytes(pid_t pid);

}  // namespace blimp::base

#endif  // BLIMP_BASE_PROCESS_MEMORY_H_
