// The fleet memory controller's policy, a pure function: given each VM's
// size, balloon (target, actual) and the guest's latest statistics, pick new
// balloon targets that keep every guest's available memory inside a band
// while the memory the host backs, sum(mem_size - target), stays within a
// budget.
//
//   - A guest above the band's top is idle: inflate toward the band's middle.
//   - A guest below the bottom is under pressure: deflate toward the middle,
//     most pressured first, as far as the budget allows; when it does not,
//     guests above the band's bottom (idle ones first: they are the richest)
//     inflate to fund it.
//   - Over budget (e.g. at start): inflate the richest guests, first without
//     pushing anyone below the band, then down to the floor.
//   - Hard limits: target <= mem_size - floor (never leave a guest less than
//     the floor outside the balloon), target <= mem_size, budget never
//     exceeded by what the policy adds.
//   - Guests without fresh statistics are left alone (their current target
//     still counts against the budget).
//   - Guests blimpd flagged (memory above what the balloon leaves them, or
//     impossible statistics) are never given memory: no deflate, not even
//     to the floor; they may still be inflated to fund others.
// "Available" is taken at the target: the guest reported it with the balloon
// at `stats_actual`, and will have (target - stats_actual) less once it gets
// there, so a balloon still moving is not pushed twice; statistics older than
// the last change of the target are not used at all.
#ifndef BLIMP_CLIENT_POLICY_H_
#define BLIMP_CLIENT_POLICY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace blimp::client {

struct VmMemoryState {
  std::string id;
  uint32_t mem_size_mib = 0;
  uint32_t target_mib = 0;  // The balloon's current target.
  uint32_t actual_mib = 0;  // Where the guest's balloon is.
  bool has_stats = false;   // The guest reported available_memory.
  // The balloon's actual size when the statistics were taken: available
  // memory is measured there, not at `actual_mib` (which moves on while the
  // statistics stay until the guest's next report).
  uint32_t stats_actual_mib = 0;
  uint64_t available_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
  absl::Time stats_time = absl::InfinitePast();  // When the statistics arrived.
  // When the controller last changed the target: statistics from before it
  // do not count (the guest has not reacted yet), so a round never pushes the
  // same shortage twice.
  absl::Time last_change = absl::InfinitePast();
  // Why blimpd does not trust this VM (memory flagged, impossible
  // statistics); "" when it does. A flagged VM is never given memory.
  std::string flagged;
};

struct PolicyOptions {
  uint32_t budget_mib = 0;   // Max sum over VMs of (mem_size - target).
  double band_low = 0.15;    // Available memory, fraction of mem_size.
  double band_high = 0.30;
  uint32_t floor_mib = 128;  // Never less than this outside the balloon.
  uint32_t max_step_mib = 256;  // Largest change per VM per round (budget excepted).
  uint32_t min_change_mib = 4;  // Smaller changes are not made.
  absl::Duration max_stats_age = absl::Seconds(10);
};

struct Decision {
  std::string id;
  uint32_t old_target_mib = 0;
  uint32_t new_target_mib = 0;
  std::string reason;
  bool changed() const { return old_target_mib != new_target_mib; }
};

// One decision per VM, in input order.
std::vector<Decision> DecideTargets(const std::vector<VmMemoryState>& vms,
                                    const PolicyOptions& options, absl::Time now);

// Sum over `vms` of (mem_size - target) with the decided targets.
int64_t BackedMib(const std::vector<VmMemoryState>& vms, const std::vector<Decision>& decisions);

}  // namespace blimp::client

#endif  // BLIMP_CLIENT_POLICY_H_
