#include "base/host_memory.h"

#include <sys/sysinfo.h>

#include "absl/strings/str_cat.h"

namespace blimp::base {

absl::Status CheckMemoryFitsHost(uint64_t mem_size_mib) {
  struct sysinfo info {};
  if (::sysinfo(&info) != 0) return absl::OkStatus();
  const uint64_t host_mib = static_cast<uint64_t>(info.totalram) * info.mem_unit >> 20;
  if (mem_size_mib > host_mib) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mem_size_mib ", mem_size_mib, " is more than this host's memory (", host_mib, " MiB)"));
  }
  return absl::OkStatus();
}

}  // namespace blimp::base
