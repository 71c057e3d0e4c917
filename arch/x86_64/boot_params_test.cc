// Cross-checks our boot_params definitions against the kernel's own UAPI
// header (Debian's linux-libc-dev), at compile time.
#include "arch/x86_64/boot_params.h"

#include <asm/bootparam.h>

#include <cstddef>
#include <cstring>

#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

#define BLIMP_SAME_OFFSET(ours, theirs)                                     \
  static_assert(offsetof(BootParams, ours) == offsetof(::boot_params, theirs), \
                #ours)
#define BLIMP_SAME_HDR_OFFSET(field)                                     \
  static_assert(offsetof(SetupHeader, field) ==                          \
                    offsetof(::setup_header, field),                     \
                #field);                                                 \
  static_assert(sizeof(SetupHeader::field) == sizeof(::setup_header::field), #field)

static_assert(sizeof(BootParams) == sizeof(::boot_params));
static_assert(sizeof(SetupHeader) == sizeof(::setup_header));
static_assert(sizeof(E820Entry) == sizeof(::boot_e820_entry));
static_assert(kE820MaxEntriesZeroPage == E820_MAX_ENTRIES_ZEROPAGE);

BLIMP_SAME_OFFSET(acpi_rsdp_addr, acpi_rsdp_addr);
BLIMP_SAME_OFFSET(ext_ramdisk_image, ext_ramdisk_image);
BLIMP_SAME_OFFSET(ext_ramdisk_size, ext_ramdisk_size);
BLIMP_SAME_OFFSET(ext_cmd_line_ptr, ext_cmd_line_ptr);
BLIMP_SAME_OFFSET(e820_entries, e820_entries);
BLIMP_SAME_OFFSET(hdr, hdr);
BLIMP_SAME_OFFSET(e820_table, e820_table);

BLIMP_SAME_HDR_OFFSET(setup_sects);
BLIMP_SAME_HDR_OFFSET(vid_mode);
BLIMP_SAME_HDR_OFFSET(boot_flag);
BLIMP_SAME_HDR_OFFSET(jump);
BLIMP_SAME_HDR_OFFSET(header);
BLIMP_SAME_HDR_OFFSET(version);
BLIMP_SAME_HDR_OFFSET(type_of_loader);
BLIMP_SAME_HDR_OFFSET(loadflags);
BLIMP_SAME_HDR_OFFSET(code32_start);
BLIMP_SAME_HDR_OFFSET(ramdisk_image);
BLIMP_SAME_HDR_OFFSET(ramdisk_size);
BLIMP_SAME_HDR_OFFSET(heap_end_ptr);
BLIMP_SAME_HDR_OFFSET(cmd_line_ptr);
BLIMP_SAME_HDR_OFFSET(initrd_addr_max);
BLIMP_SAME_HDR_OFFSET(kernel_alignment);
BLIMP_SAME_HDR_OFFSET(relocatable_kernel);
BLIMP_SAME_HDR_OFFSET(min_alignment);
BLIMP_SAME_HDR_OFFSET(xloadflags);
BLIMP_SAME_HDR_OFFSET(cmdline_size);
BLIMP_SAME_HDR_OFFSET(pref_address);
BLIMP_SAME_HDR_OFFSET(init_size);
BLIMP_SAME_HDR_OFFSET(kernel_info_offset);

static_assert(offsetof(E820Entry, addr) == offsetof(::boot_e820_entry, addr));
static_assert(offsetof(E820Entry, size) == offsetof(::boot_e820_entry, size));
static_assert(offsetof(E820Entry, type) == offsetof(::boot_e820_entry, type));

static_assert(kLoadedHigh == LOADED_HIGH);
static_assert(kKeepSegments == KEEP_SEGMENTS);
static_assert(kCanUseHeap == CAN_USE_HEAP);
static_assert(kXlfKernel64 == XLF_KERNEL_64);
static_assert(kXlfCanBeLoadedAbove4G == XLF_CAN_BE_LOADED_ABOVE_4G);

TEST(BootParamsTest, LayoutMatchesKernelUapiHeader) {
  // The checks are the static_asserts above; this also checks a field
  // written through our struct lands where the kernel's struct reads it.
  BootParams ours{};
  ours.hdr.cmd_line_ptr = 0x20000;
  ours.acpi_rsdp_addr = 0xe0000;
  ours.e820_table[1].size = 0x1234;
  ::boot_params theirs;
  static_assert(sizeof(theirs) == sizeof(ours));
  std::memcpy(&theirs, &ours, sizeof(ours));
  EXPECT_EQ(theirs.hdr.cmd_line_ptr, 0x20000u);
  EXPECT_EQ(theirs.acpi_rsdp_addr, 0xe0000u);
  EXPECT_EQ(theirs.e820_table[1].size, 0x1234u);
}

}  // namespace
}  // namespace blimp::arch::x86_64
