// BalloonClient: a standalone blimp-vmm's balloon for tests, over its
// control socket (the internal protocol blimpd uses). Calls that must
// succeed for a test to make sense log their error and return an empty
// message, so a test's own expectations say what went wrong.
#ifndef BLIMP_TESTS_E2E_BALLOON_CLIENT_H_
#define BLIMP_TESTS_E2E_BALLOON_CLIENT_H_

#include <iostream>
#include <string>

#include "absl/time/time.h"
#include "vmm/control/control_client.h"
#include "vmm/control/vm_control.h"

namespace blimp::tests {

class BalloonClient {
 public:
  explicit BalloonClient(const std::string& control_socket)
      : client_(control_socket), control_([this](const vmm::control::Request& request) {
          return client_.Call(request, absl::Seconds(20));
        }) {}

  absl::Status SetTarget(uint32_t mib) {
    blimp::v1::BalloonUpdate update;
    update.set_amount_mib(mib);
    return control_.PatchBalloon(update);
  }
  absl::Status SetStatsInterval(uint32_t seconds) {
    blimp::v1::BalloonStatsUpdate update;
    update.set_stats_polling_interval_s(seconds);
    return control_.PatchStatistics(update);
  }
  blimp::v1::BalloonStats Stats() { return OrEmpty(control_.GetStatistics(), "statistics"); }
  blimp::v1::BalloonMetrics Metrics() { return OrEmpty(control_.GetMetrics(), "metrics"); }
  absl::Status StartHinting(bool acknowledge_on_stop) {
    blimp::v1::HintingStart start;
    start.set_acknowledge_on_stop(acknowledge_on_stop);
    return control_.StartHinting(start);
  }
  absl::Status StopHinting() { return control_.StopHinting(); }
  blimp::v1::HintingStatus Hinting() { return OrEmpty(control_.GetHintingStatus(), "hinting"); }

  // Every other control call (pause, snapshots, ...).
  vmm::control::VmControl& control() { return control_; }

  // Waits until the balloon's actual size is `mib`.
  bool WaitForActual(uint32_t mib, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (Stats().actual_mib() == mib) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return Stats().actual_mib() == mib;
  }

 private:
  template <typename T>
  static T OrEmpty(absl::StatusOr<T> result, const char* what) {
    if (result.ok()) return *std::move(result);
    std::cerr << "balloon " << what << ": " << result.status() << std::endl;
    return T();
  }

  vmm::control::VmmClient client_;
  vmm::control::VmControl control_;
};

}  // namespace blimp::tests

#endif  // BLIMP_TESTS_E2E_BALLOON_CLIENT_H_
