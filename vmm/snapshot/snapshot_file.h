// The snapshot file on disk (format in snapshot.proto): a magic, a version,
// the VmState's length and bytes, and a hash over them. Reading refuses
// anything else with a message saying what is wrong, before any of it is
// used.
#ifndef BLIMP_VMM_SNAPSHOT_SNAPSHOT_FILE_H_
#define BLIMP_VMM_SNAPSHOT_SNAPSHOT_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "vmm/snapshot/snapshot.pb.h"

namespace blimp::vmm::snapshot {

inline constexpr uint32_t kSnapshotVersion = 1;
// A VmState is a few KiB per vCPU; anything near this is not ours.
inline constexpr uint32_t kMaxStateBytes = 16 << 20;

// The file's bytes for `state`.
std::string EncodeSnapshot(const VmState& state);
absl::StatusOr<VmState> DecodeSnapshot(const std::string& bytes);

// Writes to `fd` (a new, empty file) and syncs it.
absl::Status WriteSnapshot(int fd, const VmState& state);
// Reads and decodes the file at `path`.
absl::StatusOr<VmState> ReadSnapshot(const std::string& path);

}  // namespace blimp::vmm::snapshot

#endif  // BLIMP_VMM_SNAPSHOT_SNAPSHOT_FILE_H_
