// Text output helpers for blimpctl: aligned tables, key/value listings,
// sizes, VM states and the balloon progress bar.
#ifndef BLIMP_CLIENT_FORMAT_H_
#define BLIMP_CLIENT_FORMAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proto/blimp/v1/config.pb.h"
#include "proto/blimp/v1/vm_service.pb.h"

namespace blimp::client {

// Columns padded to their widest cell, two spaces apart; the first row is
// the header.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// "key:   value" lines, keys padded to the widest.
std::string FormatPairs(const std::vector<std::pair<std::string, std::string>>& pairs);

// Bytes as MiB with one decimal when needed: "512 MiB", "1.5 MiB".
std::string FormatBytesAsMib(uint64_t bytes);

// "created", "running", "stopped", "failed", "unknown".
std::string StateName(blimp::v1::VmState state);

// One row per VM: ID, STATE, VCPUS, MEMORY, BALLOON (target/actual), RSS.
std::string FormatVmList(const std::vector<blimp::v1::Vm>& vms);
std::string FormatVm(const blimp::v1::Vm& vm);
std::string FormatBalloon(const blimp::v1::Balloon& balloon);
// Target/actual, then every statistic the guest reported (bytes as MiB).
std::string FormatBalloonStats(const blimp::v1::BalloonStats& stats);
std::string FormatHintingStatus(const blimp::v1::HintingStatus& status);
std::string FormatBalloonMetrics(const blimp::v1::BalloonMetrics& metrics);

// "[#########...........]  72/128 MiB" for a balloon moving from `start` to
// `target`, `width` cells wide.
std::string ProgressBar(uint32_t start, uint32_t actual, uint32_t target, int width = 30);

}  // namespace blimp::client

#endif  // BLIMP_CLIENT_FORMAT_H_
