// Shared by the Linux tier: the Blimp Linux guest's VM config for
// blimp-vmm. The command line is a user's plain one, as in Firecracker's
// examples: whatever this PVM host needs, blimp-vmm adds itself.
#ifndef BLIMP_TESTS_LINUX_LINUX_BOOT_H_
#define BLIMP_TESTS_LINUX_LINUX_BOOT_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "tests/linux/linux_files.h"

namespace blimp::tests {

inline constexpr char kLinuxCmdline[] = "console=ttyS0 reboot=k panic=1";

inline std::string LinuxVmConfig(int vcpus, int mem_mib, const std::string& balloon_json = "",
                                 const std::string& kernel = "vmlinux") {
  return absl::StrCat(R"({"boot-source": {"kernel_image_path": ")", LinuxDir(), "/", kernel,
                      R"(", "initrd_path": ")", LinuxDir(), R"(/initramfs.cpio",)",
                      R"( "boot_args": ")", kLinuxCmdline, R"("},)",
                      R"( "machine-config": {"vcpu_count": )", vcpus, R"(, "mem_size_mib": )",
                      mem_mib, "}",
                      balloon_json.empty() ? "" : absl::StrCat(R"(, "balloon": )", balloon_json),
                      "}");
}

}  // namespace blimp::tests

#endif  // BLIMP_TESTS_LINUX_LINUX_BOOT_H_
