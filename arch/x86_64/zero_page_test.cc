#include "arch/x86_64/zero_page.h"

#include "arch/x86_64/e820.h"
#include "arch/x86_64/layout.h"
#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

using memory::GuestAddress;

BootInfo TestInfo(const memory::GuestMemory& mem) {
  BootInfo info;
  info.cmdline_addr = kCmdlineAddr;
  info.initrd_addr = 0x3000000;
  info.initrd_size = 0x123456;
  info.rsdp_addr = kRsdpAddr;
  info.e820 = *BuildE820Map(mem);
  return info;
}

TEST(ZeroPageTest, BootParamsFields) {
  auto mem = memory::GuestMemory::CreateRam(64 * kMiB);
  ASSERT_TRUE(mem.ok());
  SetupHeader header{};
  header.header = kHdrSMagic;
  header.version = 0x020f;
  header.loadflags = kLoadedHigh;
  header.cmdline_size = 2047;
  ASSERT_TRUE(WriteBootParams(*mem, header, TestInfo(*mem)).ok());
  auto params = mem->ReadObj<BootParams>(GuestAddress(kZeroPageAddr));
  ASSERT_TRUE(params.ok());
  const BootParams& p = *params;
  EXPECT_EQ(+p.hdr.type_of_loader, 0xff);
  EXPECT_EQ(+p.hdr.loadflags, kLoadedHigh | kCanUseHeap);
  EXPECT_EQ(+p.hdr.heap_end_ptr, kHeapEndPtr);
  EXPECT_EQ(+p.hdr.header, kHdrSMagic);  // Kept from the kernel's header.
  EXPECT_EQ(+p.hdr.version, 0x020f);
  EXPECT_EQ(+p.hdr.cmdline_size, 2047u);
  EXPECT_EQ(+p.hdr.cmd_line_ptr, kCmdlineAddr);
  EXPECT_EQ(+p.ext_cmd_line_ptr, 0u);
  EXPECT_EQ(+p.hdr.ramdisk_image, 0x3000000u);
  EXPECT_EQ(+p.hdr.ramdisk_size, 0x123456u);
  EXPECT_EQ(+p.ext_ramdisk_image, 0u);
  EXPECT_EQ(+p.acpi_rsdp_addr, kRsdpAddr);
  EXPECT_EQ(+p.e820_entries, 3);
  E820Entry last = p.e820_table[2];
  EXPECT_EQ(+last.addr, kHimemStart);
  EXPECT_EQ(+last.size, 63 * kMiB);
  EXPECT_EQ(+last.type, kE820Ram);
}

TEST(ZeroPageTest, HighAddressesUseExtFields) {
  SetupHeader header{};
  BootInfo info;
  info.cmdline_addr = 0x1'2000'0000;
  info.initrd_addr = 0x1'4000'0000;
  info.initrd_size = 0x1'0000'1000;
  auto p = BuildBootParams(header, info);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(+p->hdr.cmd_line_ptr, 0x2000'0000u);
  EXPECT_EQ(+p->ext_cmd_line_ptr, 1u);
  EXPECT_EQ(+p->hdr.ramdisk_image, 0x4000'0000u);
  EXPECT_EQ(+p->ext_ramdisk_image, 1u);
  EXPECT_EQ(+p->hdr.ramdisk_size, 0x1000u);
  EXPECT_EQ(+p->ext_ramdisk_size, 1u);
}

TEST(ZeroPageTest, NoInitrdLeavesRamdiskZero) {
  SetupHeader header{};
  header.ramdisk_image = 0xdead;  // Whatever the image had is cleared.
  BootInfo info;
  auto p = BuildBootParams(header, info);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(+p->hdr.ramdisk_image, 0u);
  EXPECT_EQ(+p->hdr.ramdisk_size, 0u);
  EXPECT_EQ(+p->e820_entries, 0);
}

TEST(ZeroPageTest, TooManyE820Entries) {
  BootInfo info;
  info.e820.resize(kE820MaxEntriesZeroPage + 1);
  EXPECT_EQ(BuildBootParams(SetupHeader{}, info).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ZeroPageTest, StartInfo) {
  auto mem = memory::GuestMemory::CreateRam(64 * kMiB);
  ASSERT_TRUE(mem.ok());
  ASSERT_TRUE(WriteStartInfo(*mem, TestInfo(*mem)).ok());
  auto start = mem->ReadObj<HvmStartInfo>(GuestAddress(kPvhStartInfoAddr));
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(+start->magic, 0x336ec578u);
  EXPECT_EQ(+start->version, 1u);
  EXPECT_EQ(+start->cmdline_paddr, kCmdlineAddr);
  EXPECT_EQ(+start->rsdp_paddr, kRsdpAddr);
  EXPECT_EQ(+start->nr_modules, 1u);
  EXPECT_EQ(+start->modlist_paddr, kPvhModlistAddr);
  EXPECT_EQ(+start->memmap_paddr, kPvhMemmapAddr);
  EXPECT_EQ(+start->memmap_entries, 3u);
  auto module = mem->ReadObj<HvmModlistEntry>(GuestAddress(kPvhModlistAddr));
  EXPECT_EQ(+module->paddr, 0x3000000u);
  EXPECT_EQ(+module->size, 0x123456u);
  auto reserved = mem->ReadObj<HvmMemmapEntry>(GuestAddress(kPvhMemmapAddr + 24));
  EXPECT_EQ(+reserved->addr, kEbdaStart);
  EXPECT_EQ(+reserved->type, kE820Reserved);
  // The structures do not overlap each other or the zero page.
  EXPECT_LE(kPvhStartInfoAddr + sizeof(HvmStartInfo), kPvhModlistAddr);
  EXPECT_LE(kPvhModlistAddr + sizeof(HvmModlistEntry), kPvhMemmapAddr);
  EXPECT_LE(kPvhMemmapAddr + kPvhMemmapMaxEntries * sizeof(HvmMemmapEntry), kZeroPageAddr);
}

TEST(ZeroPageTest, StartInfoWithoutInitrd) {
  auto mem = memory::GuestMemory::CreateRam(64 * kMiB);
  ASSERT_TRUE(mem.ok());
  BootInfo info = TestInfo(*mem);
  info.initrd_size = 0;
  ASSERT_TRUE(WriteStartInfo(*mem, info).ok());
  auto start = mem->ReadObj<HvmStartInfo>(GuestAddress(kPvhStartInfoAddr));
  EXPECT_EQ(+start->nr_modules, 0u);
  EXPECT_EQ(+start->modlist_paddr, 0u);
}

}  // namespace
}  // namespace blimp::arch::x86_64
