// The one call vmm/ makes to boot a guest on x86-64, plus the per-vCPU
// state it hands to KVM. vmm/ needs no x86 knowledge beyond this header:
//
//   ASSIGN_OR_RETURN(BootState boot, SetUpBoot(mem, config));
//   for each vCPU i:
//     ASSIGN_OR_RETURN(VcpuBootState v, BuildVcpuBootState(config, supported_cpuid, i));
//     KVM_SET_CPUID2(v.cpuid); KVM_SET_MSRS(v.msrs) (check all were set);
//     KVM_SET_FPU(v.fpu);
//   on the boot vCPU (index 0) only:
//     KVM_GET_SREGS -> ConfigureBspSregs(boot, &sregs) -> KVM_SET_SREGS;
//     KVM_SET_REGS(boot.regs);
//   other vCPUs keep KVM's reset state: the kernel starts them with
//   INIT/SIPI through the in-kernel local APICs.
#ifndef BLIMP_ARCH_X86_64_BOOT_H_
#define BLIMP_ARCH_X86_64_BOOT_H_

#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "arch/x86_64/layout.h"
#include "memory/guest_memory.h"

namespace blimp::arch::x86_64 {

struct BootConfig {
  std::string kernel_path;   // ELF vmlinux or bzImage.
  std::string initrd_path;   // Empty: no initrd.
  std::string cmdline;       // As given; nothing (e.g. console=) is added
                             // except virtio_mmio.device= under acpi=off
                             // and the PVM words (pvm_workarounds).
  uint32_t vcpu_count = 1;
  bool smt = false;          // Two threads per core in CPUID.
  // Hide the CPU features this host's PVM-based KVM cannot run: in CPUID
  // (cpuid.h) and, since its guests read CPUID natively, by name on the
  // command line (noxsave, clearcpuid=smap,erms,fsrm merged with the user's).
  // With more than one vCPU also `nopv tsc=reliable tsc_early_khz=<tsc_khz>`:
  // the host cannot complete KVM hypercalls (boot.cc).
  bool pvm_workarounds = false;
  uint32_t tsc_khz = 0;  // The guest's TSC rate (KVM_GET_TSC_KHZ); 0: unknown.
  // Each device is described one way per boot (a kernel that read both
  // would register it twice and fail the second probe, "can't request
  // region"): in the DSDT (LNRO0005), or, when the command line turns ACPI
  // off (acpi=off), as virtio_mmio.device=<size>@<base>:<irq>.
  std::vector<VirtioMmioSlot> virtio_devices;
  // Enter through the ELF's PVH note if it has one (else the 64-bit entry).
  bool prefer_pvh = false;
};

enum class BootProtocol {
  kLinux64,  // Long mode at the 64-bit entry, RSI = boot_params.
  kPvh,      // 32-bit protected mode at the PVH entry, EBX = hvm_start_info.
};

struct BootState {
  BootProtocol protocol = BootProtocol::kLinux64;
  uint64_t entry = 0;
  kvm_regs regs{};  // For the boot vCPU: KVM_SET_REGS as is.
  // Informational (logs, tests).
  uint64_t kernel_load_addr = 0;
  uint64_t kernel_end = 0;
  uint64_t initrd_addr = 0;
  uint64_t initrd_size = 0;
  uint64_t rsdp_addr = 0;
  std::string cmdline;  // What the guest got.
};

// Loads the kernel and initrd, writes the command line, boot_params (or the
// PVH start info), the GDT/IDT, the identity page tables and the ACPI
// tables. InvalidArgument for bad files or configuration.
absl::StatusOr<BootState> SetUpBoot(const memory::GuestMemory& mem, const BootConfig& config);

// Sets control registers, descriptor tables and segments for `boot`'s
// protocol; start from KVM_GET_SREGS so the rest (APIC base...) stays.
void ConfigureBspSregs(const BootState& boot, kvm_sregs* sregs);

struct VcpuBootState {
  std::vector<kvm_cpuid_entry2> cpuid;  // KVM_SET_CPUID2
  std::vector<kvm_msr_entry> msrs;      // KVM_SET_MSRS
  kvm_fpu fpu{};                        // KVM_SET_FPU
};
// For vCPU `index` (every vCPU, boot vCPU included), from the host's
// KVM_GET_SUPPORTED_CPUID entries.
absl::StatusOr<VcpuBootState> BuildVcpuBootState(
    const BootConfig& config, const std::vector<kvm_cpuid_entry2>& supported_cpuid,
    uint32_t index);

// True if `cmdline` turns ACPI off (the word acpi=off, as Linux parses it).
bool CmdlineDisablesAcpi(const std::string& cmdline);

// " virtio_mmio.device=4K@0xd0000000:5 ..." for the devices.
std::string VirtioMmioCmdline(const std::vector<VirtioMmioSlot>& devices);

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_BOOT_H_
