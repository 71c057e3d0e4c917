// Shared by the Linux boot tests: the VM config for Debian's kernel on
// blimp-vmm and the command line that cuts the kernel's work where this
// host emulates every ring-0 instruction (kvm-here.md).
#ifndef BLIMP_TESTS_LINUX_LINUX_BOOT_H_
#define BLIMP_TESTS_LINUX_LINUX_BOOT_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "tests/linux/linux_files.h"

namespace blimp::tests {

// earlyprintk: the banner shows ~15 s in, not when ttyS0 is set up (~55 s).
// clearcpuid=smap: no clac/stac on every kernel entry (blimp-vmm completes
// them, but each costs an exit). noxsave: the host cannot emulate xrstor.
// lpj: skips the delay-loop calibration. tsc=reliable, no_timer_check:
// skips clocksource watchdog and timer checks. nokaslr: the ELF vmlinux is
// entered directly (no decompressor), so addresses are the linked ones.
// initcall_blacklist=ftrace_check_for_weak_functions: that initcall queues
// a check of every ftrace record against kallsyms (minutes here; a soft
// lockup report at ~200 s) which late_initcall_sync then waits for; with
// ftrace unused (ftrace=nop) skipping it changes nothing else.
inline constexpr char kLinuxCmdline[] =
    "console=ttyS0 earlyprintk=serial,ttyS0 clearcpuid=smap noxsave mitigations=off "
    "init_on_alloc=0 no_timer_check tsc=reliable lpj=4000000 nokaslr audit=0 ftrace=nop "
    "initcall_blacklist=ftrace_check_for_weak_functions";

inline std::string LinuxVmConfig(int mem_mib, const std::string& kernel = "vmlinux",
                                 const std::string& balloon_json = "") {
  return absl::StrCat(R"({"boot-source": {"kernel_image_path": ")", LinuxDir(), "/", kernel,
                      R"(", "initrd_path": ")", LinuxDir(), R"(/initramfs.cpio.gz",)",
                      R"( "boot_args": ")", kLinuxCmdline, R"("},)",
                      R"( "machine-config": {"vcpu_count": 1, "mem_size_mib": )", mem_mib,
                      "}", balloon_json.empty() ? "" : absl::StrCat(R"(, "balloon": )", balloon_json),
                      "}");
}

}  // namespace blimp::tests

#endif  // BLIMP_TESTS_LINUX_LINUX_BOOT_H_
