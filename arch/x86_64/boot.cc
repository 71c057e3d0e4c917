#include "arch/x86_64/boot.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/boot_data.h"
#include "arch/x86_64/cpu_state.h"
#include "arch/x86_64/cpuid.h"
#include "arch/x86_64/e820.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/kernel_loader.h"
#include "arch/x86_64/page_tables.h"
#include "arch/x86_64/zero_page.h"
#include "base/status_macros.h"

namespace blimp::arch::x86_64 {

std::string VirtioMmioCmdline(const std::vector<VirtioMmioSlot>& devices) {
  // Format parsed by vm_cmdline_set() in drivers/virtio/virtio_mmio.c:
  // <size>@<baseaddr>:<irq>, size through memparse (K suffix allowed).
  std::string out;
  for (const VirtioMmioSlot& d : devices) {
    if (d.size % 1024 == 0) {
      absl::StrAppendFormat(&out, " virtio_mmio.device=%dK@%#x:%d", d.size / 1024, d.base,
                            d.irq);
    } else {
      absl::StrAppendFormat(&out, " virtio_mmio.device=%d@%#x:%d", d.size, d.base, d.irq);
    }
  }
  return out;
}

namespace {

// What a guest of this project's PVM-based KVM needs and CPUID cannot say:
// its guests read CPUID natively (measured 2026-12-01: leaf 1 ECX and leaf
// 7 EBX read the same in guest ring 0 and ring 3 whatever KVM_SET_CPUID2
// holds), so Linux is told by name. noxsave: xrstor is not emulated (the
// boot stops in fpu__init_system_xstate). clearcpuid=smap: otherwise every
// user access runs clac/stac, each an exit completed in user space. erms,
// fsrm: the host's emulator runs rep movsb/stosb one byte per iteration
// (~0.4 us each); without them Linux copies and clears 8 bytes at a time
// (measured: 32 MiB of page faults in 23 s instead of 35 s).
constexpr absl::string_view kPvmNoxsave = "noxsave";
constexpr absl::string_view kPvmClearCpuid[] = {"smap", "erms", "fsrm"};

// With more than one vCPU, Linux's KVM guest code makes hypercalls (PV IPIs
// and PV sched yield, kvm.c: only if num_possible_cpus() != 1), and this
// host's emulator never completes one: measured 2026-12-02, 2 vCPUs, vCPU 1
// re-ran the same `vmcall` (eax 10, KVM_HC_SEND_IPI, in __send_ipi_mask)
// ~16000 times a second while vCPU 0 spun in queued_spin_lock_slowpath, after
// "x86: Booting SMP configuration:". The guest sees the outer hypervisor's
// KVM leaves natively, so only `nopv` turns that off; it also turns off
// kvm-clock, leaving the TSC as the clock: tsc_early_khz= gives its rate
// (the PIT calibration fails under emulation: "Marking TSC unstable") and
// tsc=reliable skips the clocksource watchdog and the AP's TSC sync check,
// which have no reference here.
constexpr absl::string_view kPvmSmpNopv = "nopv";
constexpr absl::string_view kPvmSmpTscReliable = "tsc=reliable";

// Linux takes one clearcpuid= (the last): merge the user's with ours.
std::string WithPvmWords(absl::string_view cmdline, const BootConfig& config) {
  std::vector<std::string> words;
  std::vector<std::string> clear;
  bool noxsave = false;
  bool nopv = false, tsc = false, tsc_khz = false;  // Already given by the user.
  for (absl::string_view w : absl::StrSplit(cmdline, ' ', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&w, "clearcpuid=")) {
      for (absl::string_view f : absl::StrSplit(w, ',', absl::SkipEmpty())) {
        clear.emplace_back(f);
      }
      continue;
    }
    noxsave = noxsave || w == kPvmNoxsave;
    nopv = nopv || w == kPvmSmpNopv;
    tsc = tsc || absl::StartsWith(w, "tsc=");
    tsc_khz = tsc_khz || absl::StartsWith(w, "tsc_early_khz=");
    words.emplace_back(w);
  }
  if (!noxsave) words.emplace_back(kPvmNoxsave);
  if (config.vcpu_count > 1) {
    if (!nopv) words.emplace_back(kPvmSmpNopv);
    if (!tsc) words.emplace_back(kPvmSmpTscReliable);
    if (!tsc_khz && config.tsc_khz != 0) {
      words.push_back(absl::StrCat("tsc_early_khz=", config.tsc_khz));
    }
  }
  for (absl::string_view f : kPvmClearCpuid) {
    if (std::find(clear.begin(), clear.end(), f) == clear.end()) clear.emplace_back(f);
  }
  words.push_back(absl::StrCat("clearcpuid=", absl::StrJoin(clear, ",")));
  return absl::StrJoin(words, " ");
}

// The kernel's words and, from " -- " on, init's (which stay last).
std::pair<absl::string_view, absl::string_view> SplitAtInitArgs(absl::string_view cmdline) {
  if (absl::StartsWith(cmdline, "-- ") || cmdline == "--") return {"", cmdline};
  size_t dashes = cmdline.find(" -- ");
  if (dashes == absl::string_view::npos && absl::EndsWith(cmdline, " --")) {
    dashes = cmdline.size() - 3;
  }
  if (dashes == absl::string_view::npos) return {cmdline, ""};
  return {cmdline.substr(0, dashes), cmdline.substr(dashes)};
}

}  // namespace

bool CmdlineDisablesAcpi(const std::string& cmdline) {
  // Linux's early_param("acpi") takes the last acpi= word.
  bool off = false;
  for (absl::string_view word : absl::StrSplit(cmdline, ' ', absl::SkipEmpty())) {
    if (absl::StartsWith(word, "acpi=")) off = word == "acpi=off";
  }
  return off;
}

absl::StatusOr<BootState> SetUpBoot(const memory::GuestMemory& mem, const BootConfig& config) {
  RETURN_IF_ERROR(ValidateAcpiInput(config.vcpu_count, config.virtio_devices));
  ASSIGN_OR_RETURN(std::vector<E820Entry> e820, BuildE820Map(mem));
  ASSIGN_OR_RETURN(LoadedKernel kernel, LoadKernel(mem, config.kernel_path));

  BootState state;
  state.kernel_load_addr = kernel.load_addr;
  state.kernel_end = kernel.kernel_end;
  if (config.prefer_pvh && kernel.pvh_entry) {
    state.protocol = BootProtocol::kPvh;
    state.entry = *kernel.pvh_entry;
  } else {
    if (config.prefer_pvh) {
      LOG(INFO) << "kernel " << config.kernel_path
                << " has no PVH entry note; using the 64-bit boot protocol";
    }
    state.protocol = BootProtocol::kLinux64;
    state.entry = kernel.entry;
  }

  auto [kernel_words, init_words] = SplitAtInitArgs(config.cmdline);
  state.cmdline =
      config.pvm_workarounds ? WithPvmWords(kernel_words, config) : std::string(kernel_words);
  if (CmdlineDisablesAcpi(std::string(kernel_words))) {
    std::string devices = VirtioMmioCmdline(config.virtio_devices);
    state.cmdline += state.cmdline.empty() && !devices.empty() ? devices.substr(1) : devices;
  }
  absl::StrAppend(&state.cmdline, init_words);
  RETURN_IF_ERROR(WriteCmdline(mem, state.cmdline, kernel.cmdline_max_len));

  if (!config.initrd_path.empty()) {
    ASSIGN_OR_RETURN(LoadedInitrd initrd, LoadInitrd(mem, config.initrd_path, kernel.kernel_end,
                                                     kernel.initrd_addr_max));
    state.initrd_addr = initrd.addr;
    state.initrd_size = initrd.size;
  }

  ASSIGN_OR_RETURN(state.rsdp_addr,
                   WriteAcpiTables(mem, config.vcpu_count, config.virtio_devices));
  RETURN_IF_ERROR(WriteGdtAndIdt(mem));
  RETURN_IF_ERROR(WriteIdentityPageTables(mem));

  BootInfo info;
  info.cmdline_addr = kCmdlineAddr;
  info.initrd_addr = state.initrd_addr;
  info.initrd_size = state.initrd_size;
  info.rsdp_addr = state.rsdp_addr;
  info.e820 = std::move(e820);
  if (state.protocol == BootProtocol::kPvh) {
    RETURN_IF_ERROR(WriteStartInfo(mem, info));
    ConfigurePvhRegs(state.entry, &state.regs);
  } else {
    RETURN_IF_ERROR(WriteBootParams(mem, kernel.header, info));
    ConfigureLinux64Regs(state.entry, &state.regs);
  }
  return state;
}

void ConfigureBspSregs(const BootState& boot, kvm_sregs* sregs) {
  if (boot.protocol == BootProtocol::kPvh) {
    ConfigurePvhSregs(sregs);
  } else {
    ConfigureLongModeSregs(sregs);
  }
}

absl::StatusOr<VcpuBootState> BuildVcpuBootState(
    const BootConfig& config, const std::vector<kvm_cpuid_entry2>& supported_cpuid,
    uint32_t index) {
  VcpuBootState state;
  CpuidConfig cpuid;
  cpuid.vcpu_index = index;
  cpuid.vcpu_count = config.vcpu_count;
  cpuid.smt = config.smt;
  cpuid.pvm_workarounds = config.pvm_workarounds;
  ASSIGN_OR_RETURN(state.cpuid, BuildVcpuCpuid(supported_cpuid, cpuid));
  state.msrs = BootMsrEntries();
  ConfigureFpu(&state.fpu);
  return state;
}

}  // namespace blimp::arch::x86_64
