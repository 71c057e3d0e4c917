#include "api/snapshot_params.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace blimp::api {

absl::Status CheckSnapshotFiles(const SnapshotFiles& files) {
  for (const std::string* path : {&files.state_path, &files.memory_path}) {
    if (path->empty() || (*path)[0] != '/' || path->find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("snapshot paths must be absolute, got '", *path, "'"));
    }
  }
  if (files.state_path == files.memory_path) {
    return absl::InvalidArgumentError("snapshot_path and mem_file_path must differ");
  }
  return absl::OkStatus();
}

absl::StatusOr<SnapshotFiles> SnapshotCreateFiles(const blimp::v1::SnapshotCreateParams& params) {
  if (!params.snapshot_type().empty() && params.snapshot_type() != "Full") {
    return absl::InvalidArgumentError(absl::StrCat(
        "snapshot_type '", params.snapshot_type(), "' is not supported (only \"Full\")"));
  }
  if (params.snapshot_path().empty() || params.mem_file_path().empty()) {
    return absl::InvalidArgumentError("snapshot_path and mem_file_path are required");
  }
  SnapshotFiles files{params.snapshot_path(), params.mem_file_path()};
  RETURN_IF_ERROR(CheckSnapshotFiles(files));
  return files;
}

absl::StatusOr<SnapshotFiles> SnapshotLoadFiles(const blimp::v1::SnapshotLoadParams& params) {
  if (params.enable_diff_snapshots()) {
    return absl::InvalidArgumentError("enable_diff_snapshots is not supported");
  }
  if (params.snapshot_path().empty()) return absl::InvalidArgumentError("snapshot_path is required");
  const bool backend = params.has_mem_backend();
  if (backend == !params.mem_file_path().empty()) {
    return absl::InvalidArgumentError("give exactly one of mem_backend and mem_file_path");
  }
  SnapshotFiles files{params.snapshot_path(), params.mem_file_path()};
  if (backend) {
    if (params.mem_backend().backend_type() != "File") {
      return absl::InvalidArgumentError(absl::StrCat("mem_backend.backend_type '",
                                                     params.mem_backend().backend_type(),
                                                     "' is not supported (only \"File\")"));
    }
    if (params.mem_backend().backend_path().empty()) {
      return absl::InvalidArgumentError("mem_backend.backend_path is required");
    }
    files.memory_path = params.mem_backend().backend_path();
  }
  RETURN_IF_ERROR(CheckSnapshotFiles(files));
  return files;
}

}  // namespace blimp::api
