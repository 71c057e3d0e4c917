// The seccomp filter blimp-vmm installs on all its threads once the VM is
// built: only the system calls a running VMM makes are allowed (KVM ioctls,
// the event loop's and gRPC's I/O, MADV_DONTNEED for the balloon, reading
// /proc files for statistics, threads); anything else kills the process,
// so a compromised VMM cannot open files for writing, exec, fork, open
// sockets or trace other processes. A kill is logged by the kernel's audit
// (dmesg: "audit: type=1326 ... syscall=N").
#ifndef BLIMP_VMM_SECCOMP_FILTER_H_
#define BLIMP_VMM_SECCOMP_FILTER_H_

#include "absl/status/status.h"

namespace blimp::vmm {

// Installs the filter on every thread of the process (TSYNC). Irreversible.
absl::Status InstallVmmSeccompFilter();

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_SECCOMP_FILTER_H_
