// Loads a Linux kernel into guest memory: an ELF64 vmlinux (PT_LOAD segments
// at their physical addresses, optional PVH entry note) or a bzImage (its
// protected-mode part at the address its setup header allows, entered at the
// 64-bit entry point load address + 0x200).
#ifndef BLIMP_ARCH_X86_64_KERNEL_LOADER_H_
#define BLIMP_ARCH_X86_64_KERNEL_LOADER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "arch/x86_64/boot_params.h"
#include "memory/guest_memory.h"

namespace blimp::arch::x86_64 {

struct LoadedKernel {
  enum class Format { kElf, kBzImage };
  Format format = Format::kElf;
  // Entry for the Linux 64-bit boot protocol (every kernel we load has one):
  // e_entry for ELF, load address + 0x200 for bzImage.
  uint64_t entry = 0;
  // 32-bit PVH entry, from an ELF's XEN_ELFNOTE_PHYS32_ENTRY note.
  std::optional<uint64_t> pvh_entry;
  uint64_t load_addr = 0;   // Lowest guest address the kernel occupies.
  uint64_t kernel_end = 0;  // Exclusive; for bzImage includes init_size.
  // The setup header to put into boot_params: the bzImage's own (bytes up
  // to the end it declares; the rest zero), or a synthesized one for ELF
  // (boot_flag, "HdrS", kernel_alignment, initrd_addr_max, cmdline_size).
  SetupHeader header{};
  // Longest command line the kernel takes, without the NUL.
  uint32_t cmdline_max_len = 0;
  // Highest address the initrd may occupy (inclusive).
  uint32_t initrd_addr_max = 0;
};

// Loads `path`. InvalidArgument, naming the file, for: a missing or empty
// file, neither ELF nor bzImage, an ELF that is not 64-bit x86-64, a segment
// outside guest RAM or below 1 MiB, file offsets past the end of the file,
// a boot protocol older than 2.06, a bzImage without a 64-bit entry
// (XLF_KERNEL_64) or LOADED_HIGH, a kernel that does not fit.
absl::StatusOr<LoadedKernel> LoadKernel(const memory::GuestMemory& mem,
                                        const std::string& path);

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_KERNEL_LOADER_H_
