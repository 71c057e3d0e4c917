// The Linux x86 boot protocol's data structures (struct boot_params, struct
// setup_header, the e820 entry; Documentation/arch/x86/boot.rst and
// zero-page.rst) and the Xen/PVH start-of-day structures (hvm_start_info,
// xen/include/public/arch-x86/hvm/start_info.h), as our own packed
// definitions. Only the fields we read or write are named; each has a
// static_assert on its offset here, and boot_params_test.cc checks them
// against the kernel's own <asm/bootparam.h>.
#ifndef BLIMP_ARCH_X86_64_BOOT_PARAMS_H_
#define BLIMP_ARCH_X86_64_BOOT_PARAMS_H_

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace blimp::arch::x86_64 {

// ---- Linux boot protocol constants (Documentation/arch/x86/boot.rst).
inline constexpr uint16_t kBootFlagMagic = 0xaa55;         // boot_flag
inline constexpr uint32_t kHdrSMagic = 0x53726448;         // "HdrS"
inline constexpr uint16_t kMinBootProtocol = 0x0206;       // cmdline_size
inline constexpr uint64_t kSetupHeaderFileOffset = 0x1f1;  // In bzImage.
inline constexpr uint8_t kDefaultSetupSects = 4;           // setup_sects == 0
inline constexpr uint64_t kSectorSize = 512;
inline constexpr uint64_t kEntry64Offset = 0x200;  // 64-bit entry from load addr.
inline constexpr uint8_t kTypeOfLoaderUndefined = 0xff;
// loadflags
inline constexpr uint8_t kLoadedHigh = 1u << 0;
inline constexpr uint8_t kKeepSegments = 1u << 6;
inline constexpr uint8_t kCanUseHeap = 1u << 7;
// xloadflags (protocol 2.12)
inline constexpr uint16_t kXlfKernel64 = 1u << 0;
inline constexpr uint16_t kXlfCanBeLoadedAbove4G = 1u << 1;
// heap_end_ptr: end of the setup heap, relative to the real-mode code; the
// value boot.rst suggests for a modern loader (0xe000 - 0x200).
inline constexpr uint16_t kHeapEndPtr = 0xde00;
// Defaults for a vmlinux without a setup header (a synthesized one).
inline constexpr uint32_t kDefaultInitrdAddrMax = 0x7fffffff;
inline constexpr uint32_t kDefaultCmdlineSize = 2048;  // x86 COMMAND_LINE_SIZE
inline constexpr uint32_t kDefaultKernelAlignment = 0x1000000;

// e820 types (ACPI 6.5 section 15, Table 15.1).
inline constexpr uint32_t kE820Ram = 1;
inline constexpr uint32_t kE820Reserved = 2;
inline constexpr size_t kE820MaxEntriesZeroPage = 128;

#pragma pack(push, 1)

struct E820Entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
};
static_assert(sizeof(E820Entry) == 20);
static_assert(offsetof(E820Entry, size) == 8);
static_assert(offsetof(E820Entry, type) == 16);

// struct setup_header, at 0x1f1 both in a bzImage file and in boot_params.
// Offsets in comments are relative to the start of boot_params.
struct SetupHeader {
  uint8_t setup_sects;            // 0x1f1
  uint16_t root_flags;            // 0x1f2
  uint32_t syssize;               // 0x1f4
  uint16_t ram_size;              // 0x1f8
  uint16_t vid_mode;              // 0x1fa
  uint16_t root_dev;              // 0x1fc
  uint16_t boot_flag;             // 0x1fe
  uint16_t jump;                  // 0x200
  uint32_t header;                // 0x202
  uint16_t version;               // 0x206
  uint32_t realmode_swtch;        // 0x208
  uint16_t start_sys_seg;         // 0x20c
  uint16_t kernel_version;        // 0x20e
  uint8_t type_of_loader;         // 0x210
  uint8_t loadflags;              // 0x211
  uint16_t setup_move_size;       // 0x212
  uint32_t code32_start;          // 0x214
  uint32_t ramdisk_image;         // 0x218
  uint32_t ramdisk_size;          // 0x21c
  uint32_t bootsect_kludge;       // 0x220
  uint16_t heap_end_ptr;          // 0x224
  uint8_t ext_loader_ver;         // 0x226
  uint8_t ext_loader_type;        // 0x227
  uint32_t cmd_line_ptr;          // 0x228
  uint32_t initrd_addr_max;       // 0x22c
  uint32_t kernel_alignment;      // 0x230
  uint8_t relocatable_kernel;     // 0x234
  uint8_t min_alignment;          // 0x235
  uint16_t xloadflags;            // 0x236
  uint32_t cmdline_size;          // 0x238
  uint32_t hardware_subarch;      // 0x23c
  uint64_t hardware_subarch_data; // 0x240
  uint32_t payload_offset;        // 0x248
  uint32_t payload_length;        // 0x24c
  uint64_t setup_data;            // 0x250
  uint64_t pref_address;          // 0x258
  uint32_t init_size;             // 0x260
  uint32_t handover_offset;       // 0x264
  uint32_t kernel_info_offset;    // 0x268
};
static_assert(sizeof(SetupHeader) == 0x26c - 0x1f1);
static_assert(std::is_trivially_copyable_v<SetupHeader>);
#define BLIMP_HDR_AT(field, off) \
  static_assert(offsetof(SetupHeader, field) == (off) - 0x1f1, #field)
BLIMP_HDR_AT(setup_sects, 0x1f1);
BLIMP_HDR_AT(vid_mode, 0x1fa);
BLIMP_HDR_AT(boot_flag, 0x1fe);
BLIMP_HDR_AT(jump, 0x200);
BLIMP_HDR_AT(header, 0x202);
BLIMP_HDR_AT(version, 0x206);
BLIMP_HDR_AT(type_of_loader, 0x210);
BLIMP_HDR_AT(loadflags, 0x211);
BLIMP_HDR_AT(code32_start, 0x214);
BLIMP_HDR_AT(ramdisk_image, 0x218);
BLIMP_HDR_AT(ramdisk_size, 0x21c);
BLIMP_HDR_AT(heap_end_ptr, 0x224);
BLIMP_HDR_AT(cmd_line_ptr, 0x228);
BLIMP_HDR_AT(initrd_addr_max, 0x22c);
BLIMP_HDR_AT(kernel_alignment, 0x230);
BLIMP_HDR_AT(relocatable_kernel, 0x234);
BLIMP_HDR_AT(min_alignment, 0x235);
BLIMP_HDR_AT(xloadflags, 0x236);
BLIMP_HDR_AT(cmdline_size, 0x238);
BLIMP_HDR_AT(pref_address, 0x258);
BLIMP_HDR_AT(init_size, 0x260);
#undef BLIMP_HDR_AT

// struct boot_params, the "zero page" (Documentation/arch/x86/zero-page.rst).
struct BootParams {
  uint8_t screen_info_etc[0x070];      // 0x000: screen_info, apm, tboot, ist
  uint64_t acpi_rsdp_addr;             // 0x070 (protocol 2.14)
  uint8_t pad1[0x0c0 - 0x078];         // 0x078
  uint32_t ext_ramdisk_image;          // 0x0c0
  uint32_t ext_ramdisk_size;           // 0x0c4
  uint32_t ext_cmd_line_ptr;           // 0x0c8
  uint8_t pad2[0x1e8 - 0x0cc];         // 0x0cc
  uint8_t e820_entries;                // 0x1e8
  uint8_t pad3[0x1f1 - 0x1e9];         // 0x1e9
  SetupHeader hdr;                     // 0x1f1
  uint8_t pad4[0x2d0 - 0x26c];         // 0x26c
  E820Entry e820_table[kE820MaxEntriesZeroPage];  // 0x2d0
  uint8_t pad5[0x1000 - 0xcd0];        // 0xcd0
};
static_assert(sizeof(BootParams) == 4096);
static_assert(std::is_trivially_copyable_v<BootParams>);
static_assert(offsetof(BootParams, acpi_rsdp_addr) == 0x070);
static_assert(offsetof(BootParams, ext_ramdisk_image) == 0x0c0);
static_assert(offsetof(BootParams, ext_ramdisk_size) == 0x0c4);
static_assert(offsetof(BootParams, ext_cmd_line_ptr) == 0x0c8);
static_assert(offsetof(BootParams, e820_entries) == 0x1e8);
static_assert(offsetof(BootParams, hdr) == 0x1f1);
static_assert(offsetof(BootParams, e820_table) == 0x2d0);

// ---- PVH (xen/include/public/arch-x86/hvm/start_info.h, version 1).
inline constexpr uint32_t kHvmStartMagic = 0x336ec578;
inline constexpr uint32_t kHvmStartInfoVersion = 1;  // Has the memory map.
// ELF note announcing the 32-bit PVH entry (xen/include/public/elfnote.h).
inline constexpr uint32_t kXenElfNotePhys32Entry = 18;

struct HvmStartInfo {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;  // Version >= 1.
  uint32_t memmap_entries;
  uint32_t reserved;
};
static_assert(sizeof(HvmStartInfo) == 56);
static_assert(std::is_trivially_copyable_v<HvmStartInfo>);
static_assert(offsetof(HvmStartInfo, nr_modules) == 12);
static_assert(offsetof(HvmStartInfo, modlist_paddr) == 16);
static_assert(offsetof(HvmStartInfo, cmdline_paddr) == 24);
static_assert(offsetof(HvmStartInfo, rsdp_paddr) == 32);
static_assert(offsetof(HvmStartInfo, memmap_paddr) == 40);
static_assert(offsetof(HvmStartInfo, memmap_entries) == 48);

struct HvmModlistEntry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
};
static_assert(sizeof(HvmModlistEntry) == 32);
static_assert(std::is_trivially_copyable_v<HvmModlistEntry>);

struct HvmMemmapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;  // The e820 types.
  uint32_t reserved;
};
static_assert(sizeof(HvmMemmapEntry) == 24);
static_assert(std::is_trivially_copyable_v<HvmMemmapEntry>);
static_assert(offsetof(HvmMemmapEntry, type) == 16);

#pragma pack(pop)

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_BOOT_PARAMS_H_
