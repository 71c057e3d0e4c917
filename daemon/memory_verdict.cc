#include "daemon/memory_verdict.h"

#include "absl/strings/str_cat.h"

namespace blimp::daemon {

MemoryVerdict::Change MemoryVerdict::Sample(absl::Time now, uint64_t resident, uint64_t allowed) {
  const bool over = resident > allowed + options_.slack_bytes;
  if (!over) {
    over_since_.reset();
    if (!flagged_) return Change::kNone;
    flagged_ = false;
    reason_.clear();
    return Change::kCleared;
  }
  if (!over_since_) over_since_ = now;
  if (flagged_ || now - *over_since_ < options_.grace) return Change::kNone;
  flagged_ = true;
  ++flag_count_;
  reason_ = absl::StrCat("guest holds ", resident >> 20, " MiB of RAM, the balloon leaves it ",
                         allowed >> 20, " MiB (slack ", options_.slack_bytes >> 20, " MiB) for ",
                         absl::FormatDuration(absl::Trunc(now - *over_since_, absl::Milliseconds(100))));
  return Change::kFlagged;
}

}  // namespace blimp::daemon
