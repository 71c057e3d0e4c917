// Firecracker's snapshot bodies (PUT /snapshot/create, PUT /snapshot/load)
// checked once for blimp-vmm and blimpd alike, with what Blimp does not do
// (diff snapshots, Uffd) refused: the two files they name.
#ifndef BLIMP_API_SNAPSHOT_PARAMS_H_
#define BLIMP_API_SNAPSHOT_PARAMS_H_

#include <string>

#include "absl/status/statusor.h"
#include "proto/blimp/v1/config.pb.h"

namespace blimp::api {

struct SnapshotFiles {
  std::string state_path;
  std::string memory_path;
};

// INVALID_ARGUMENT unless both paths are given, absolute and distinct.
absl::Status CheckSnapshotFiles(const SnapshotFiles& files);
absl::StatusOr<SnapshotFiles> SnapshotCreateFiles(const blimp::v1::SnapshotCreateParams& params);
absl::StatusOr<SnapshotFiles> SnapshotLoadFiles(const blimp::v1::SnapshotLoadParams& params);

}  // namespace blimp::api

#endif  // BLIMP_API_SNAPSHOT_PARAMS_H_
