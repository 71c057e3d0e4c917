#include "daemon/stats_sanity.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"

namespace blimp::daemon {
namespace {

namespace v1 = blimp::v1;

// Only ever grow while the guest runs.
constexpr const char* kCounters[] = {
    "swap_in",      "swap_out",   "major_faults",  "minor_faults",  "hugetlb_allocations",
    "hugetlb_failures", "oom_kill", "alloc_stall", "async_scan",    "direct_scan",
    "async_reclaim", "direct_reclaim"};

}  // namespace

std::string StatsSanity::Check(const v1::BalloonStats& stats, uint64_t mem_size_bytes) {
  std::vector<std::string> found;
  if (stats.has_total_memory()) {
    const uint64_t total = stats.total_memory();
    if (stats.has_free_memory() && stats.free_memory() > total) {
      found.push_back(absl::StrCat("free_memory ", stats.free_memory(), " > total_memory ", total));
    }
    if (stats.has_available_memory() && stats.available_memory() > total) {
      found.push_back(absl::StrCat("available_memory ", stats.available_memory(),
                                   " > total_memory ", total));
    }
    if (stats.has_disk_caches() && stats.disk_caches() > total) {
      found.push_back(absl::StrCat("disk_caches ", stats.disk_caches(), " > total_memory ", total));
    }
    if (mem_size_bytes > 0 && total > mem_size_bytes) {
      found.push_back(absl::StrCat("total_memory ", total, " > the VM's RAM ", mem_size_bytes));
    }
  }
  if (previous_) {
    const auto* descriptor = v1::BalloonStats::descriptor();
    const auto* reflection = v1::BalloonStats::GetReflection();
    for (const char* name : kCounters) {
      const google::protobuf::FieldDescriptor* field = descriptor->FindFieldByName(name);
      if (field == nullptr || !reflection->HasField(stats, field) ||
          !reflection->HasField(*previous_, field)) {
        continue;
      }
      const uint64_t before = reflection->GetUInt64(*previous_, field);
      const uint64_t now = reflection->GetUInt64(stats, field);
      if (now < before) found.push_back(absl::StrCat(name, " went backwards: ", before, " -> ", now));
    }
  }
  previous_ = stats;
  if (found.empty()) return "";
  anomalies_ += found.size();
  std::string all = absl::StrJoin(found, "; ");
  if (first_.empty()) first_ = all;
  return all;
}

}  // namespace blimp::daemon
