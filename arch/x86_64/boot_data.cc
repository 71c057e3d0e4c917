#include "arch/x86_64/boot_data.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "arch/x86_64/e820.h"
#include "arch/x86_64/image_file.h"
#include "arch/x86_64/layout.h"
#include "base/status_macros.h"

namespace blimp::arch::x86_64 {

absl::StatusOr<uint64_t> PlaceInitrd(const memory::GuestMemory& mem, uint64_t size,
                                     uint64_t kernel_end, uint64_t initrd_addr_max) {
  uint64_t limit = LowRamEnd(mem);
  if (initrd_addr_max < UINT64_MAX) limit = std::min(limit, initrd_addr_max + 1);
  if (size == 0 || size > limit) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "initrd of %#x bytes does not fit below %#x", size, limit));
  }
  uint64_t addr = (limit - size) & ~(memory::kPageSize - 1);
  if (addr < kernel_end) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "initrd of %#x bytes does not fit between the kernel's end %#x and %#x; "
        "give the VM more memory",
        size, kernel_end, limit));
  }
  return addr;
}

absl::StatusOr<LoadedInitrd> LoadInitrd(const memory::GuestMemory& mem,
                                        const std::string& path, uint64_t kernel_end,
                                        uint64_t initrd_addr_max) {
  ASSIGN_OR_RETURN(ImageFile file, ImageFile::Open(path, "initrd"));
  absl::StatusOr<uint64_t> addr = PlaceInitrd(mem, file.size(), kernel_end, initrd_addr_max);
  if (!addr.ok()) return file.Error(std::string(addr.status().message()));
  RETURN_IF_ERROR(file.ReadIntoGuest(mem, memory::GuestAddress(*addr), 0, file.size()));
  return LoadedInitrd{*addr, file.size()};
}

absl::Status WriteCmdline(const memory::GuestMemory& mem, const std::string& cmdline,
                          uint64_t max_len) {
  max_len = std::min<uint64_t>(max_len, kCmdlineMaxSize - 1);
  if (cmdline.size() > max_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kernel command line is ", cmdline.size(), " bytes; this kernel takes at most ",
        max_len));
  }
  if (cmdline.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("kernel command line contains a NUL byte");
  }
  // c_str() supplies the terminating NUL.
  return mem.Write(memory::GuestAddress(kCmdlineAddr), cmdline.c_str(), cmdline.size() + 1);
}

}  // namespace blimp::arch::x86_64
