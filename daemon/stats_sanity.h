// StatsSanity: the guest's balloon statistics checked before anyone
// believes them (a guest writes whatever it likes into its stats buffer).
// Impossible values are counted: free, available or disk caches above
// total; total above the VM's RAM; a cumulative counter (swap in/out,
// faults, OOM kills, stalls, scans, reclaims, hugetlb) going backwards.
// One anomaly flags the VM for good: its statistics cannot be trusted.
#ifndef BLIMP_DAEMON_STATS_SANITY_H_
#define BLIMP_DAEMON_STATS_SANITY_H_

#include <cstdint>
#include <optional>
#include <string>

#include "proto/blimp/v1/config.pb.h"

namespace blimp::daemon {

class StatsSanity {
 public:
  // One update of the guest's statistics; `mem_size_bytes` is the VM's
  // RAM. Returns the anomalies found in it ("" when none).
  std::string Check(const blimp::v1::BalloonStats& stats, uint64_t mem_size_bytes);

  uint64_t anomalies() const { return anomalies_; }
  bool flagged() const { return anomalies_ > 0; }
  // The first anomaly seen, with the numbers.
  const std::string& first() const { return first_; }

 private:
  std::optional<blimp::v1::BalloonStats> previous_;
  uint64_t anomalies_ = 0;
  std::string first_;
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_STATS_SANITY_H_
