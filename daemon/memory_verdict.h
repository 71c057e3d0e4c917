// MemoryVerdict: whether a VM holds more guest RAM than its balloon leaves
// it, over time. One sample per check: resident (what the host measured)
// against allowed (mem_size - balloon actual). Over = resident > allowed +
// slack; flagged once over for `grace` without a break (a balloon moving,
// or the guest deflating on OOM a moment before it writes `actual`, is
// briefly over and never flagged); cleared by the first sample not over.
#ifndef BLIMP_DAEMON_MEMORY_VERDICT_H_
#define BLIMP_DAEMON_MEMORY_VERDICT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace blimp::daemon {

struct MemoryVerdictOptions {
  uint64_t slack_bytes = uint64_t{16} << 20;
  absl::Duration grace = absl::Seconds(3);
};

class MemoryVerdict {
 public:
  enum class Change { kNone, kFlagged, kCleared };

  explicit MemoryVerdict(MemoryVerdictOptions options) : options_(options) {}

  Change Sample(absl::Time now, uint64_t resident, uint64_t allowed);

  bool flagged() const { return flagged_; }
  uint64_t flag_count() const { return flag_count_; }
  // With the numbers, while flagged.
  const std::string& reason() const { return reason_; }

 private:
  const MemoryVerdictOptions options_;
  std::optional<absl::Time> over_since_;
  bool flagged_ = false;
  uint64_t flag_count_ = 0;
  std::string reason_;
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_MEMORY_VERDICT_H_
