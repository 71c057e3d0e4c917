// StatsStream: one WatchBalloonStatistics call on gRPC's callback API, fed
// by a StatsFanout subscription, so an open stream holds no thread in
// blimpd. At most one write is in flight; a subscriber that writes slowly
// only sees fewer, newer snapshots (the fan-out keeps the latest). The
// stream ends with the VM's status when its statistics stream ends, with
// CANCELLED when the client leaves; the reactor deletes itself in OnDone.
#ifndef BLIMP_DAEMON_STATS_STREAM_H_
#define BLIMP_DAEMON_STATS_STREAM_H_

#include <functional>
#include <optional>

#include <grpcpp/support/server_callback.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/stats_fanout.h"
#include "proto/blimp/v1/balloon_service.pb.h"

namespace blimp::daemon {

class StatsStream final : public grpc::ServerWriteReactor<blimp::v1::BalloonStats> {
 public:
  // Subscribes with the stream's notify callback (e.g. DaemonApi::WatchStatistics).
  using Subscribe =
      std::function<absl::StatusOr<StatsFanout::Handle>(StatsFanout::Notify notify)>;

  // Owned by gRPC from here on; a refused subscription finishes the call at
  // once with its status.
  explicit StatsStream(const Subscribe& subscribe);

 private:
  ~StatsStream() override = default;  // Only through OnDone.

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  // Starts the next write, or finishes, if nothing is in flight. gRPC calls
  // go out without mu_ held: a reaction may run on another thread at once.
  void Advance();

  absl::Mutex mu_;
  std::optional<StatsFanout::Handle> handle_ ABSL_GUARDED_BY(mu_);
  blimp::v1::BalloonStats writing_message_;  // Untouched while a write is in flight.
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // Finish() was called.
  // Why to finish once no write is in flight (cancelled, refused).
  std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_STATS_STREAM_H_
