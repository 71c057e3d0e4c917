// Whether a VM's memory fits this host: the one check of mem_size_mib against
// the machine's RAM, shared by blimpd (before it spawns a VMM) and blimp-vmm.
#ifndef BLIMP_BASE_HOST_MEMORY_H_
#define BLIMP_BASE_HOST_MEMORY_H_

#include <cstdint>

#include "absl/status/status.h"

namespace blimp::base {

// InvalidArgument "mem_size_mib N is more than this host's memory (M MiB)";
// OK when the host's size cannot be read.
absl::Status CheckMemoryFitsHost(uint64_t mem_size_mib);

}  // namespace blimp::base

#endif  // BLIMP_BASE_HOST_MEMORY_H_
