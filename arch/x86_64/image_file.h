// ImageFile: a read-only kernel or initrd file, read with bounds-checked
// pread straight into guest memory. Every error is InvalidArgument and names
// the file: these are user-supplied paths.
#ifndef BLIMP_ARCH_X86_64_IMAGE_FILE_H_
#define BLIMP_ARCH_X86_64_IMAGE_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/unique_fd.h"
#include "memory/guest_memory.h"

namespace blimp::arch::x86_64 {

class ImageFile {
 public:
  // `what` ("kernel", "initrd") goes into error messages.
  static absl::StatusOr<ImageFile> Open(const std::string& path,
                                        const std::string& what);

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }

  // Reads exactly [offset, offset + len) of the file.
  absl::Status ReadAt(uint64_t offset, void* dst, uint64_t len) const;
  // Reads [offset, offset + len) of the file to guest [addr, addr + len).
  absl::Status ReadIntoGuest(const memory::GuestMemory& mem,
                             memory::GuestAddress addr, uint64_t offset,
                             uint64_t len) const;

  // InvalidArgument "<what> '<path>': <message>".
  absl::Status Error(const std::string& message) const;

 private:
  ImageFile(base::UniqueFd fd, std::string path, std::string what, uint64_t size)
      : fd_(std::move(fd)), path_(std::move(path)), what_(std::move(what)), size_(size) {}

  base::UniqueFd fd_;
  std::string path_;
  std::string what_;
  uint64_t size_;
};

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_IMAGE_FILE_H_
