// ControlHandler: the VMM's side of the internal control protocol. Turns a
// Request into VmController calls and their result into a Response (errors
// as their absl status code and message, converted nowhere else). Proto <->
// struct conversion of the payloads is config_file.h's; the VM's status,
// statistics and metrics are converted here. Thread-safe (VmController is).
#ifndef BLIMP_VMM_CONTROL_CONTROL_HANDLER_H_
#define BLIMP_VMM_CONTROL_CONTROL_HANDLER_H_

#include "absl/status/status.h"
#include "vmm/console/console_log.h"
#include "vmm/control/control.pb.h"
#include "vmm/vm_controller.h"

namespace blimp::vmm::control {

// The VM's status (phase, config, reason, balloon sizes, VMM pid, and the
// console's counters when there is a hosted console).
VmStatus DescribeVm(VmController& controller, const ConsoleCounters* console = nullptr);
// Statistics from a snapshot: config-space sizes plus the reported tags.
blimp::v1::BalloonStats StatsToProto(const BalloonSnapshot& snapshot);
blimp::v1::BalloonMetrics MetricsToProto(const BalloonSnapshot& snapshot);

class ControlHandler {
 public:
  // `console`: the counters of the console blimp-vmm serves, if any; it
  // outlives the handler.
  explicit ControlHandler(VmController& controller, const ConsoleCounters* console = nullptr)
      : controller_(controller), console_(console) {}

  // Every op but watch_statistics (the server streams those; see
  // WatchSource). A request without an op is InvalidArgument.
  Response Handle(const Request& request);

  // For watch_statistics: the running VM whose statistics to stream, with
  // the same errors as get_statistics.
  absl::StatusOr<RunningVm*> WatchSource() { return controller_.StatsSource(); }

 private:
  absl::Status Dispatch(const Request& request, Response* response);

  VmController& controller_;
  const ConsoleCounters* const console_;
};

}  // namespace blimp::vmm::control

#endif  // BLIMP_VMM_CONTROL_CONTROL_HANDLER_H_
