#include "daemon/stats_stream.h"

#include "base/grpc_status.h"

namespace blimp::daemon {

StatsStream::StatsStream(const Subscribe& subscribe) {
  // Notifies may come before handle_ is set: they find nothing to take and
  // the Advance() below takes what they announced.
  absl::StatusOr<StatsFanout::Handle> handle = subscribe([this] { Advance(); });
  {
    absl::MutexLock lock(&mu_);
    if (handle.ok()) {
      handle_.emplace(*std::move(handle));
    } else {
      finish_ = base::ToGrpcStatus(handle.status());
    }
  }
  Advance();
}

void StatsStream::Advance() {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || writing_) return;
    if (!finish_.has_value() && handle_.has_value()) {
      StatsFanout::Next next = handle_->Take();
      if (next.stats.has_value()) {
        writing_message_ = *std::move(next.stats);
        writing_ = true;
      } else if (next.end.has_value()) {
        finish_ = base::ToGrpcStatus(*next.end);
      }
    }
    if (!writing_ && finish_.has_value()) {
      finished_ = true;
      finish = finish_;
    }
    if (!writing_ && !finish.has_value()) return;
  }
  if (finish.has_value()) {
    Finish(*finish);
  } else {
    StartWrite(&writing_message_);
  }
}

void StatsStream::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok && !finish_.has_value()) {
      finish_ = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    }
  }
  Advance();
}

void StatsStream::OnCancel() {
  {
    absl::MutexLock lock(&mu_);
    if (!finish_.has_value()) finish_ = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  }
  Advance();
}

void StatsStream::OnDone() {
  std::optional<StatsFanout::Handle> handle;
  {
    absl::MutexLock lock(&mu_);
    if (handle_.has_value()) handle.emplace(std::move(*handle_));
    handle_.reset();
  }
  // Outside mu_: leaving waits for a notify (an Advance) running elsewhere.
  handle.reset();
  delete this;
}

}  // namespace blimp::daemon
