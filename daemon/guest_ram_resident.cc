#include "daemon/guest_ram_resident.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/errno_status.h"

namespace blimp::daemon {
namespace {

// The overlap of [start, end) with `ranges`, bytes.
uint64_t Overlap(uint64_t start, uint64_t end, const HostRanges& ranges) {
  uint64_t inside = 0;
  for (const auto& [address, size] : ranges) {
    const uint64_t lo = std::max(start, address), hi = std::min(end, address + size);
    if (lo < hi) inside += hi - lo;
  }
  return inside;
}

}  // namespace

uint64_t ResidentInRanges(absl::string_view smaps, const HostRanges& ranges) {
  uint64_t total = 0;
  uint64_t start = 0, end = 0, inside = 0, resident_kib = 0;
  auto finish = [&] {
    if (inside > 0 && end > start) {
      const uint64_t bytes = resident_kib * 1024;
      // 128-bit: a 1 TiB mapping times its size would overflow 64 bits.
      total += static_cast<uint64_t>(static_cast<unsigned __int128>(bytes) * inside /
                                     (end - start));
    }
    inside = resident_kib = 0;
  };
  for (absl::string_view line : absl::StrSplit(smaps, '\n', absl::SkipEmpty())) {
    // A mapping's header: "start-end perms offset dev inode [path]".
    const size_t dash = line.find('-');
    const size_t space = line.find(' ');
    if (dash != absl::string_view::npos && space != absl::string_view::npos && dash < space &&
        line.find(':') > space) {
      finish();
      if (absl::SimpleHexAtoi(line.substr(0, dash), &start) &&
          absl::SimpleHexAtoi(line.substr(dash + 1, space - dash - 1), &end) && end > start) {
        inside = Overlap(start, end, ranges);
      }
      continue;
    }
    if (inside == 0) continue;
    for (absl::string_view key : {"Rss:", "Private_Hugetlb:", "Shared_Hugetlb:"}) {
      absl::string_view rest = line;
      uint64_t kib;
      if (absl::ConsumePrefix(&rest, key) &&
          absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(rest), " kB"), &kib)) {
        resident_kib += kib;
      }
    }
  }
  finish();
  return total;
}

absl::StatusOr<uint64_t> GuestRamResidentBytes(pid_t pid, const HostRanges& ranges) {
  const std::string path = absl::StrCat("/proc/", pid, "/smaps");
  std::ifstream in(path);
  if (!in) return base::ErrnoStatus("read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return ResidentInRanges(text.str(), ranges);
}

}  // namespace blimp::daemon
