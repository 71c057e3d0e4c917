#include "arch/x86_64/zero_page.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "arch/x86_64/layout.h"
#include "base/status_macros.h"

namespace blimp::arch::x86_64 {

using memory::GuestAddress;

absl::StatusOr<BootParams> BuildBootParams(const SetupHeader& header,
                                           const BootInfo& info) {
  if (info.e820.size() > kE820MaxEntriesZeroPage) {
    return absl::InvalidArgumentError(
        absl::StrCat("e820 map has ", info.e820.size(), " entries, at most ",
                     kE820MaxEntriesZeroPage, " fit in boot_params"));
  }
  BootParams params;
  std::memset(&params, 0, sizeof(params));
  params.hdr = header;
  params.hdr.type_of_loader = kTypeOfLoaderUndefined;
  params.hdr.loadflags =
      static_cast<uint8_t>(header.loadflags | kLoadedHigh | kCanUseHeap);
  params.hdr.heap_end_ptr = kHeapEndPtr;
  params.hdr.vid_mode = 0xffff;  // "normal" (boot.rst: vid_mode).
  params.hdr.cmd_line_ptr = static_cast<uint32_t>(info.cmdline_addr);
  params.ext_cmd_line_ptr = static_cast<uint32_t>(info.cmdline_addr >> 32);
  params.hdr.ramdisk_image = 0;
  params.hdr.ramdisk_size = 0;
  if (info.initrd_size != 0) {
    params.hdr.ramdisk_image = static_cast<uint32_t>(info.initrd_addr);
    params.ext_ramdisk_image = static_cast<uint32_t>(info.initrd_addr >> 32);
    params.hdr.ramdisk_size = static_cast<uint32_t>(info.initrd_size);
    params.ext_ramdisk_size = static_cast<uint32_t>(info.initrd_size >> 32);
  }
  params.acpi_rsdp_addr = info.rsdp_addr;
  params.e820_entries = static_cast<uint8_t>(info.e820.size());
  for (size_t i = 0; i < info.e820.size(); ++i) params.e820_table[i] = info.e820[i];
  return params;
}

absl::Status WriteBootParams(const memory::GuestMemory& mem,
                             const SetupHeader& header, const BootInfo& info) {
  ASSIGN_OR_RETURN(BootParams params, BuildBootParams(header, info));
  return mem.WriteObj(GuestAddress(kZeroPageAddr), params);
}

absl::Status WriteStartInfo(const memory::GuestMemory& mem, const BootInfo& info) {
  if (info.e820.size() > kPvhMemmapMaxEntries) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory map has ", info.e820.size(), " entries, at most ",
                     kPvhMemmapMaxEntries, " fit in the PVH memmap"));
  }
  HvmStartInfo start{};
  start.magic = kHvmStartMagic;
  start.version = kHvmStartInfoVersion;
  start.cmdline_paddr = info.cmdline_addr;
  start.rsdp_paddr = info.rsdp_addr;
  start.memmap_paddr = kPvhMemmapAddr;
  start.memmap_entries = static_cast<uint32_t>(info.e820.size());
  if (info.initrd_size != 0) {
    HvmModlistEntry module{};
    module.paddr = info.initrd_addr;
    module.size = info.initrd_size;
    RETURN_IF_ERROR(mem.WriteObj(GuestAddress(kPvhModlistAddr), module));
    start.nr_modules = 1;
    start.modlist_paddr = kPvhModlistAddr;
  }
  for (size_t i = 0; i < info.e820.size(); ++i) {
    HvmMemmapEntry entry{};
    entry.addr = info.e820[i].addr;
    entry.size = info.e820[i].size;
    entry.type = info.e820[i].type;
    RETURN_IF_ERROR(mem.WriteObj(
        GuestAddress(kPvhMemmapAddr + i * sizeof(HvmMemmapEntry)), entry));
  }
  return mem.WriteObj(GuestAddress(kPvhStartInfoAddr), start);
}

}  // namespace blimp::arch::x86_64
