#include "vmm/snapshot/snapshot_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/errno_status.h"
#include "base/unique_fd.h"
#include "base/write_all.h"

namespace blimp::vmm::snapshot {
namespace {

constexpr char kMagic[8] = {'B', 'L', 'I', 'M', 'P', 'S', 'N', 'P'};
constexpr size_t kHeaderBytes = sizeof(kMagic) + 4 + 4;
constexpr size_t kHashBytes = 8;

uint64_t Fnv1a64(const char* data, size_t len) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; ++i) {
    hash ^= static_cast<uint8_t>(data[i]);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

void PutLe(uint64_t value, size_t bytes, std::string* out) {
  for (size_t i = 0; i < bytes; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t GetLe(const char* data, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value |= uint64_t{static_cast<uint8_t>(data[i])} << (8 * i);
  return value;
}

absl::Status Refused(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("not a usable Blimp snapshot: ", why));
}

}  // namespace

std::string EncodeSnapshot(const VmState& state) {
  std::string payload = state.SerializeAsString();
  std::string out(kMagic, sizeof(kMagic));
  PutLe(kSnapshotVersion, 4, &out);
  PutLe(payload.size(), 4, &out);
  out += payload;
  PutLe(Fnv1a64(out.data(), out.size()), kHashBytes, &out);
  return out;
}

absl::StatusOr<VmState> DecodeSnapshot(const std::string& bytes) {
  if (bytes.size() < kHeaderBytes + kHashBytes) {
    return Refused(absl::StrCat("the file is ", bytes.size(), " bytes, shorter than a header"));
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return Refused("it does not start with BLIMPSNP");
  }
  const uint32_t version = static_cast<uint32_t>(GetLe(bytes.data() + 8, 4));
  if (version != kSnapshotVersion) {
    return Refused(absl::StrCat("format version ", version, "; this blimp-vmm reads version ",
                                kSnapshotVersion));
  }
  const uint64_t length = GetLe(bytes.data() + 12, 4);
  if (length > kMaxStateBytes || bytes.size() != kHeaderBytes + length + kHashBytes) {
    return Refused(absl::StrCat("its header says ", length, " bytes of state, the file holds ",
                                bytes.size() - std::min(bytes.size(), kHeaderBytes + kHashBytes),
                                " (truncated or extended)"));
  }
  const size_t hashed = kHeaderBytes + length;
  if (GetLe(bytes.data() + hashed, kHashBytes) != Fnv1a64(bytes.data(), hashed)) {
    return Refused("its hash does not match (the file is corrupted)");
  }
  VmState state;
  if (!state.ParseFromArray(bytes.data() + kHeaderBytes, static_cast<int>(length))) {
    return Refused("its state does not parse");
  }
  return state;
}

absl::Status WriteSnapshot(int fd, const VmState& state) {
  const std::string bytes = EncodeSnapshot(state);
  if (!base::WriteAll(fd, bytes.data(), bytes.size())) return base::ErrnoStatus("write snapshot");
  if (::fsync(fd) != 0) return base::ErrnoStatus("fsync snapshot");
  return absl::OkStatus();
}

absl::StatusOr<VmState> ReadSnapshot(const std::string& path) {
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return base::ErrnoStatus(absl::StrCat("open snapshot '", path, "'"));
  std::string bytes;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) return base::ErrnoStatus(absl::StrCat("read snapshot '", path, "'"));
    if (n == 0) break;
    bytes.append(buffer, n);
    if (bytes.size() > kMaxStateBytes + kHeaderBytes + kHashBytes) {
      return Refused(absl::StrCat("'", path, "' is larger than any snapshot"));
    }
  }
  return DecodeSnapshot(bytes);
}

}  // namespace blimp::vmm::snapshot
