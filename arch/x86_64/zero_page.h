// Writers for what the kernel reads at entry: struct boot_params (the Linux
// 64-bit boot protocol's "zero page") and, for PVH, struct hvm_start_info
// with its memory map and module list.
#ifndef BLIMP_ARCH_X86_64_ZERO_PAGE_H_
#define BLIMP_ARCH_X86_64_ZERO_PAGE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "arch/x86_64/boot_params.h"
#include "memory/guest_memory.h"

namespace blimp::arch::x86_64 {

// What goes into either structure. Addresses are guest-physical.
struct BootInfo {
  uint64_t cmdline_addr = 0;
  uint64_t initrd_addr = 0;  // Ignored when initrd_size == 0.
  uint64_t initrd_size = 0;
  uint64_t rsdp_addr = 0;
  std::vector<E820Entry> e820;
};

// boot_params for a kernel whose setup header is `header` (the image's own,
// or a synthesized one for vmlinux): type_of_loader 0xff, LOADED_HIGH |
// CAN_USE_HEAP, heap_end_ptr, cmd_line_ptr, ramdisk_image/size (low 32 bits
// in hdr, high 32 bits in ext_*), acpi_rsdp_addr, the e820 table.
absl::StatusOr<BootParams> BuildBootParams(const SetupHeader& header,
                                           const BootInfo& info);
// BuildBootParams written at kZeroPageAddr.
absl::Status WriteBootParams(const memory::GuestMemory& mem,
                             const SetupHeader& header, const BootInfo& info);

// hvm_start_info (version 1) at kPvhStartInfoAddr, its memory map at
// kPvhMemmapAddr and, with an initrd, a one-entry module list at
// kPvhModlistAddr.
absl::Status WriteStartInfo(const memory::GuestMemory& mem, const BootInfo& info);

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_ZERO_PAGE_H_
