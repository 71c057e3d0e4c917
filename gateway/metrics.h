// GET /metrics, per-VM part: each VM's state, memory and balloon counters as
// Prometheus metric families (gateway/prometheus_text.h writes them). Names
// start with `blimp_`, sizes are bytes (`_bytes`), counters end in `_total`,
// and every series carries the label vm="<id>" (blimp_vm_state also
// state="..."). gateway/README.md lists them.
#ifndef BLIMP_GATEWAY_METRICS_H_
#define BLIMP_GATEWAY_METRICS_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "api/vm_api.h"
#include "prometheus/metric_family.h"

namespace blimp::gateway {

// One blimp.v1.BalloonMetrics field and the counter family it is exposed as.
struct BalloonCounter {
  absl::string_view field;
  absl::string_view name;
  absl::string_view help;
};

// Every BalloonMetrics field's counter (metrics_test checks none is missing).
absl::Span<const BalloonCounter> BalloonCounters();

// Every per-VM family, each with a sample per VM that has the value (balloon
// families: VMs with a balloon; memory check families: VMs it measures).
std::vector<prometheus::MetricFamily> VmMetricFamilies(const std::vector<api::VmMetrics>& vms);

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_METRICS_H_
