// How much of a VM's guest RAM its blimp-vmm really holds, seen from the
// host: the resident pages (Rss, plus hugetlb pages, which Rss leaves out)
// of the mappings inside the guest RAM ranges the VMM reports, from
// /proc/<pid>/smaps. Exact per page, independent of the VMM's own heap and
// of page cache, and cheap (one read of smaps, ~40 mappings per VMM).
#ifndef BLIMP_DAEMON_GUEST_RAM_RESIDENT_H_
#define BLIMP_DAEMON_GUEST_RAM_RESIDENT_H_

#include <sys/types.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace blimp::daemon {

// (host address, bytes) per guest RAM region.
using HostRanges = std::vector<std::pair<uint64_t, uint64_t>>;

// Resident bytes of the smaps mappings that overlap `ranges`; a mapping
// only partly inside (merged with a neighbour) counts in proportion.
uint64_t ResidentInRanges(absl::string_view smaps, const HostRanges& ranges);
// The same for a live process.
absl::StatusOr<uint64_t> GuestRamResidentBytes(pid_t pid, const HostRanges& ranges);

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_GUEST_RAM_RESIDENT_H_
