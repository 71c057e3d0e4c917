#include "client/policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace blimp::client {
namespace {

constexpr int64_t kMib = 1024 * 1024;

// Working state of one VM during a round (MiB, signed to keep the arithmetic
// honest).
struct Work {
  const VmMemoryState* vm;
  int64_t mem;
  int64_t old_target;
  int64_t target;
  int64_t max_target;  // mem - floor, at least 0.
  bool fresh;
  int64_t avail;  // Available at the old target (projected).
  int64_t low, mid, high;
  int64_t stepped = 0;  // |change| so far this round.
  bool pressured = false;
  std::string reason;

  // Available once the balloon reaches `target`.
  int64_t AvailNow() const { return avail - (target - old_target); }
  double Fraction() const { return mem ? static_cast<double>(AvailNow()) / mem : 0; }
};

std::string Percent(int64_t part, int64_t whole) {
  return absl::StrFormat("%.0f%%", whole ? 100.0 * part / whole : 0.0);
}

void Append(std::string* reason, const std::string& text) {
  absl::StrAppend(reason, reason->empty() ? "" : "; ", text);
}

}  // namespace

std::vector<Decision> DecideTargets(const std::vector<VmMemoryState>& vms,
                                    const PolicyOptions& options, absl::Time now) {
  std::vector<Work> work;
  work.reserve(vms.size());
  for (const VmMemoryState& vm : vms) {
    Work w{};
    w.vm = &vm;
    w.mem = vm.mem_size_mib;
    w.old_target = w.target = std::min<int64_t>(vm.target_mib, w.mem);
    w.max_target = std::max<int64_t>(0, w.mem - options.floor_mib);
    const bool waiting = vm.has_stats && vm.stats_time <= vm.last_change;
    w.fresh = vm.has_stats && !waiting && now - vm.stats_time <= options.max_stats_age &&
              w.mem > 0 && vm.flagged.empty();
    w.avail = static_cast<int64_t>(vm.available_bytes / kMib) -
              (static_cast<int64_t>(vm.target_mib) - vm.stats_actual_mib);
    w.low = static_cast<int64_t>(std::llround(options.band_low * w.mem));
    w.high = static_cast<int64_t>(std::llround(options.band_high * w.mem));
    w.mid = (w.low + w.high) / 2;
    if (!vm.flagged.empty()) {
      w.reason = absl::StrCat("flagged by blimpd (", vm.flagged, "): never given memory");
    } else if (w.target > w.max_target) {
      w.target = w.max_target;
      w.reason = absl::StrCat("floor: the target left less than ", options.floor_mib,
                              " MiB outside the balloon, deflate to ", w.target, " MiB");
    }
    if (!w.fresh && w.reason.empty()) {
      w.reason = !vm.has_stats ? "no statistics yet: left alone"
                 : waiting     ? "waiting for statistics newer than the last change"
                               : absl::StrCat("stale statistics (",
                                              absl::FormatDuration(now - vm.stats_time),
                                              " old): left alone");
    }
    work.push_back(std::move(w));
  }
  const int64_t step = options.max_step_mib;
  const int64_t min_change = std::max<uint32_t>(1, options.min_change_mib);

  // 1. Idle guests give memory back, toward the band's middle.
  for (Work& w : work) {
    if (!w.fresh) continue;
    const int64_t avail = w.AvailNow();
    if (avail > w.high) {
      const int64_t give = std::min({avail - w.mid, step, w.max_target - w.target});
      if (give >= min_change) {
        w.target += give;
        w.stepped += give;
        Append(&w.reason, absl::StrCat("idle: available ", avail, " MiB (",
                                       Percent(avail, w.mem), ") above the band's top ",
                                       Percent(w.high, w.mem), ", inflate by ", give, " MiB"));
      } else {
        Append(&w.reason, absl::StrCat("idle, but at the floor or the step is too small"));
      }
    } else if (avail < w.low) {
      w.pressured = true;
    } else if (w.reason.empty()) {
      w.reason = absl::StrCat("in band: available ", avail, " MiB (", Percent(avail, w.mem),
                              ")");
    }
  }

  auto backed = [&work] {
    int64_t sum = 0;
    for (const Work& w : work) sum += w.mem - w.target;
    return sum;
  };
  int64_t headroom = static_cast<int64_t>(options.budget_mib) - backed();

  // 2. Pressured guests get memory, the most pressured first.
  std::vector<Work*> pressured;
  for (Work& w : work) {
    if (w.pressured) pressured.push_back(&w);
  }
  std::stable_sort(pressured.begin(), pressured.end(),
                   [](const Work* a, const Work* b) { return a->Fraction() < b->Fraction(); });
  for (Work* p : pressured) {
    const int64_t avail = p->AvailNow();
    const int64_t want = std::min({p->mid - avail, step, p->target});
    if (want <= 0) {
      Append(&p->reason, absl::StrCat("pressure: available ", avail, " MiB (",
                                      Percent(avail, p->mem), "), but the balloon is empty"));
      continue;
    }
    // Fund what the budget lacks from the richest guests above the band's
    // bottom (keeping a quarter of the band as a margin against ping-pong).
    if (headroom < want) {
      std::vector<Work*> donors;
      for (Work& w : work) {
        if (w.fresh && !w.pressured) donors.push_back(&w);
      }
      std::stable_sort(donors.begin(), donors.end(),
                       [](const Work* a, const Work* b) { return a->Fraction() > b->Fraction(); });
      for (Work* d : donors) {
        if (headroom >= want) break;
        const int64_t keep = d->low + (d->high - d->low) / 4;
        const int64_t give = std::min({want - headroom, d->AvailNow() - keep,
                                       d->max_target - d->target, step - d->stepped});
        if (give < min_change) continue;
        d->target += give;
        d->stepped += give;
        headroom += give;
        Append(&d->reason, absl::StrCat("donor: inflate by ", give, " MiB for '", p->vm->id,
                                        "' under pressure"));
      }
    }
    const int64_t grant = std::min(want, std::max<int64_t>(0, headroom));
    std::string text = absl::StrCat("pressure: available ", avail, " MiB (",
                                    Percent(avail, p->mem), ") below the band's bottom ",
                                    Percent(p->low, p->mem));
    if (grant > 0) {
      p->target -= grant;
      p->stepped += grant;
      headroom -= grant;
      absl::StrAppend(&text, ", deflate by ", grant, " MiB");
      if (grant < want) absl::StrAppend(&text, " (the budget allows ", grant, " of ", want, ")");
    } else {
      absl::StrAppend(&text, ", but the budget is exhausted");
    }
    Append(&p->reason, text);
  }

  // 3. Over budget: take memory back from the richest guests, first keeping
  // everyone in the band, then down to the floor.
  for (int pass = 0; pass < 2 && headroom < 0; ++pass) {
    std::vector<Work*> donors;
    for (Work& w : work) {
      if (w.fresh || pass == 1) donors.push_back(&w);
    }
    std::stable_sort(donors.begin(), donors.end(), [](const Work* a, const Work* b) {
      if (a->fresh != b->fresh) return a->fresh;
      return a->Fraction() > b->Fraction();
    });
    for (Work* d : donors) {
      if (headroom >= 0) break;
      int64_t give = std::min(-headroom, d->max_target - d->target);
      if (pass == 0) give = std::min(give, d->AvailNow() - d->low);
      if (give <= 0) continue;
      const int64_t over = -headroom;
      d->target += give;
      headroom += give;
      Append(&d->reason, absl::StrCat("over budget by ", over, " MiB: inflate by ", give, " MiB",
                                      pass == 1 ? " (below the band, down to the floor)" : ""));
    }
  }
  if (headroom < 0) {
    for (Work& w : work) {
      Append(&w.reason, absl::StrCat("the budget cannot be met: every guest is at its floor (",
                                     -headroom, " MiB over)"));
    }
  }

  std::vector<Decision> decisions;
  decisions.reserve(work.size());
  for (const Work& w : work) {
    decisions.push_back({w.vm->id, w.vm->target_mib, static_cast<uint32_t>(w.target), w.reason});
  }
  return decisions;
}

int64_t BackedMib(const std::vector<VmMemoryState>& vms, const std::vector<Decision>& decisions) {
  int64_t sum = 0;
  for (size_t i = 0; i < vms.size() && i < decisions.size(); ++i) {
    sum += static_cast<int64_t>(vms[i].mem_size_mib) - decisions[i].new_target_mib;
  }
  return sum;
}

}  // namespace blimp::client
