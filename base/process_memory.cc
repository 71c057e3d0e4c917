#include "base/process_memory.h"

#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"

namespace blimp::base {

absl::StatusOr<uint64_t> ResidentBytes(pid_t pid) {
  std::string path = absl::StrCat("/proc/", pid, "/statm");
  std::ifstream statm(path);
  uint64_t size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  return resident_pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace blimp::base
