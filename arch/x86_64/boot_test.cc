#include "arch/x86_64/boot.h"

#include <cstring>

#include "arch/x86_64/boot_params.h"
#include "arch/x86_64/cpu_defs.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/testing/test_files.h"
#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

using memory::GuestAddress;

std::string ReadCmdline(const memory::GuestMemory& mem) {
  std::vector<char> buf(4096);
  EXPECT_TRUE(mem.Read(GuestAddress(kCmdlineAddr), buf.data(), buf.size()).ok());
  return std::string(buf.data());
}

class BootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mem = memory::GuestMemory::CreateRam(128 * kMiB);
    ASSERT_TRUE(mem.ok());
    mem_.emplace(std::move(*mem));
    std::vector<uint8_t> pvh = Note("Xen", kXenElfNotePhys32Entry, Le64(0x1000100));
    elf_path_ = WriteTestFile("boot-vmlinux", MakeElf({{PT_LOAD, 0x1000000, {0xf4}, 0x400000},
                                                       {PT_NOTE, 0, pvh, pvh.size()}},
                                                      0x1000000));
    initrd_path_ = WriteTestFile("boot-initrd", std::vector<uint8_t>(10000, 0x5a));
    config_.kernel_path = elf_path_;
    config_.initrd_path = initrd_path_;
    config_.cmdline = "console=ttyS0 reboot=k";
    config_.vcpu_count = 2;
    config_.virtio_devices = {VirtioMmioSlotAt(0), VirtioMmioSlotAt(1)};
  }
  std::optional<memory::GuestMemory> mem_;
  std::string elf_path_, initrd_path_;
  BootConfig config_;
};

TEST_F(BootTest, Linux64ProtocolWithElf) {
  auto boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok()) << boot.status();
  EXPECT_EQ(boot->protocol, BootProtocol::kLinux64);
  EXPECT_EQ(boot->entry, 0x1000000u);
  EXPECT_EQ(boot->regs.rip, 0x1000000u);
  EXPECT_EQ(boot->regs.rsi, kZeroPageAddr);
  EXPECT_EQ(boot->regs.rflags, 2u);
  EXPECT_EQ(boot->rsdp_addr, kRsdpAddr);
  EXPECT_EQ(boot->initrd_size, 10000u);
  EXPECT_EQ(boot->initrd_addr, 128 * kMiB - 3 * 4096);
  // ACPI on: the devices are in the DSDT only.
  EXPECT_EQ(boot->cmdline, "console=ttyS0 reboot=k");
  EXPECT_EQ(ReadCmdline(*mem_), boot->cmdline);

  auto params = mem_->ReadObj<BootParams>(GuestAddress(kZeroPageAddr));
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(+params->hdr.boot_flag, kBootFlagMagic);
  EXPECT_EQ(+params->hdr.header, kHdrSMagic);
  EXPECT_EQ(+params->hdr.type_of_loader, 0xff);
  EXPECT_EQ(+params->hdr.cmd_line_ptr, kCmdlineAddr);
  EXPECT_EQ(+params->hdr.ramdisk_image, boot->initrd_addr);
  EXPECT_EQ(+params->hdr.ramdisk_size, 10000u);
  EXPECT_EQ(+params->acpi_rsdp_addr, kRsdpAddr);
  EXPECT_EQ(+params->e820_entries, 3);

  // GDT, page tables, ACPI are there.
  auto gdt1 = mem_->ReadObj<uint64_t>(GuestAddress(kGdtAddr + 8));
  EXPECT_EQ(*gdt1, 0x00af9b000000ffffull);
  auto pml4 = mem_->ReadObj<uint64_t>(GuestAddress(kPml4Addr));
  EXPECT_EQ(*pml4, kPdptAddr | 3);
  char sig[8];
  ASSERT_TRUE(mem_->Read(GuestAddress(kRsdpAddr), sig, 8).ok());
  EXPECT_EQ(std::string(sig, 8), "RSD PTR ");

  kvm_sregs sregs{};
  ConfigureBspSregs(*boot, &sregs);
  EXPECT_EQ(sregs.cr0, 0x80000011u);
  EXPECT_EQ(sregs.efer, 0x500u);
  EXPECT_EQ(sregs.cr3, kPml4Addr);
}

TEST_F(BootTest, PvhWhenPreferredAndAvailable) {
  config_.prefer_pvh = true;
  auto boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok()) << boot.status();
  EXPECT_EQ(boot->protocol, BootProtocol::kPvh);
  EXPECT_EQ(boot->regs.rip, 0x1000100u);
  EXPECT_EQ(boot->regs.rbx, kPvhStartInfoAddr);
  auto start = mem_->ReadObj<HvmStartInfo>(GuestAddress(kPvhStartInfoAddr));
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(+start->magic, kHvmStartMagic);
  EXPECT_EQ(+start->cmdline_paddr, kCmdlineAddr);
  EXPECT_EQ(+start->rsdp_paddr, kRsdpAddr);
  EXPECT_EQ(+start->nr_modules, 1u);
  EXPECT_EQ(+start->memmap_entries, 3u);
  kvm_sregs sregs{};
  ConfigureBspSregs(*boot, &sregs);
  EXPECT_EQ(sregs.cr0, kCr0Pe | kCr0Et);
  EXPECT_EQ(sregs.efer, 0u);
  EXPECT_EQ(sregs.cs.db, 1);
}

TEST_F(BootTest, PreferPvhFallsBackWithoutNote) {
  config_.prefer_pvh = true;
  config_.kernel_path =
      WriteTestFile("boot-vmlinux-nopvh", MakeElf({{PT_LOAD, 0x1000000, {0xf4}, 1}}, 0x1000000));
  auto boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok()) << boot.status();
  EXPECT_EQ(boot->protocol, BootProtocol::kLinux64);
}

TEST_F(BootTest, BzImageKeepsItsHeader) {
  config_.kernel_path = WriteTestFile("boot-bzImage", MakeBzImage(BzOptions{}));
  config_.virtio_devices.clear();
  config_.cmdline = "";
  auto boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok()) << boot.status();
  EXPECT_EQ(boot->entry, 0x1000200u);
  EXPECT_EQ(boot->cmdline, "");
  auto params = mem_->ReadObj<BootParams>(GuestAddress(kZeroPageAddr));
  EXPECT_EQ(+params->hdr.version, 0x020f);
  EXPECT_EQ(+params->hdr.kernel_alignment, 0x200000u);
  EXPECT_EQ(+params->hdr.loadflags, kLoadedHigh | kCanUseHeap);
  EXPECT_EQ(+params->hdr.heap_end_ptr, kHeapEndPtr);
  // The initrd sits above the kernel's init_size footprint, at the top.
  EXPECT_GE(boot->initrd_addr, boot->kernel_end);
}

TEST_F(BootTest, DevicesOnTheCmdlineOnlyWithAcpiOff) {
  config_.cmdline = "console=ttyS0 acpi=off";
  auto boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->cmdline,
            "console=ttyS0 acpi=off virtio_mmio.device=4K@0xd0000000:5 "
            "virtio_mmio.device=4K@0xd0001000:6");
  EXPECT_EQ(ReadCmdline(*mem_), boot->cmdline);
  config_.cmdline = "acpi=off -- init-arg";  // Words after "--" are init's.
  boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->cmdline,
            "acpi=off virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6"
            " -- init-arg");
  config_.cmdline = "acpi=off acpi=force";  // The last acpi= word counts.
  boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->cmdline, "acpi=off acpi=force");
}

TEST_F(BootTest, PvmWordsAreAddedOnce) {
  config_.pvm_workarounds = true;
  config_.vcpu_count = 1;  // More add the SMP words (the test below).
  config_.cmdline = "console=ttyS0 noxsave";
  auto boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->cmdline, "console=ttyS0 noxsave clearcpuid=smap,erms,fsrm");
  config_.cmdline = "";
  boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->cmdline, "noxsave clearcpuid=smap,erms,fsrm");
  // Linux reads one clearcpuid=: the user's features and ours are merged.
  config_.cmdline = "clearcpuid=pku console=ttyS0 clearcpuid=fsrm,smap";
  boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->cmdline, "console=ttyS0 noxsave clearcpuid=pku,fsrm,smap,erms");
  // Words after "--" are init's: ours go before them.
  config_.cmdline = "console=ttyS0 -- clearcpuid=x";
  boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->cmdline, "console=ttyS0 noxsave clearcpuid=smap,erms,fsrm -- clearcpuid=x");
}

TEST_F(BootTest, PvmSmpGuestsGetNopvAndATscClock) {
  config_.pvm_workarounds = true;
  config_.cmdline = "console=ttyS0";
  config_.vcpu_count = 2;
  config_.tsc_khz = 2596098;
  auto boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok()) << boot.status();
  EXPECT_EQ(boot->cmdline,
            "console=ttyS0 noxsave nopv tsc=reliable tsc_early_khz=2596098 "
            "clearcpuid=smap,erms,fsrm");
  // The user's own words win; an unknown rate is left out.
  config_.cmdline = "tsc=unstable nopv tsc_early_khz=1000";
  boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->cmdline, "tsc=unstable nopv tsc_early_khz=1000 noxsave clearcpuid=smap,erms,fsrm");
  config_.cmdline = "";
  config_.tsc_khz = 0;
  boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->cmdline, "noxsave nopv tsc=reliable clearcpuid=smap,erms,fsrm");
  // One vCPU makes no hypercalls: it keeps kvm-clock.
  config_.vcpu_count = 1;
  config_.tsc_khz = 2596098;
  boot = SetUpBoot(*mem_, config_);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->cmdline, "noxsave clearcpuid=smap,erms,fsrm");
}

TEST(CmdlineDisablesAcpiTest, Words) {
  EXPECT_TRUE(CmdlineDisablesAcpi("acpi=off"));
  EXPECT_TRUE(CmdlineDisablesAcpi("console=ttyS0  acpi=off panic=1"));
  EXPECT_FALSE(CmdlineDisablesAcpi(""));
  EXPECT_FALSE(CmdlineDisablesAcpi("noacpi=off"));
  EXPECT_FALSE(CmdlineDisablesAcpi("acpi=offx"));
  EXPECT_FALSE(CmdlineDisablesAcpi("acpi=off acpi=on"));
}

TEST_F(BootTest, Errors) {
  BootConfig c = config_;
  c.cmdline = std::string(3000, 'x');  // vmlinux: COMMAND_LINE_SIZE 2048.
  EXPECT_EQ(SetUpBoot(*mem_, c).status().code(), absl::StatusCode::kInvalidArgument);
  c = config_;
  c.vcpu_count = 0;
  EXPECT_EQ(SetUpBoot(*mem_, c).status().code(), absl::StatusCode::kInvalidArgument);
  c = config_;
  c.kernel_path = "/nonexistent";
  EXPECT_EQ(SetUpBoot(*mem_, c).status().code(), absl::StatusCode::kInvalidArgument);
  c = config_;
  c.initrd_path = "/nonexistent-initrd";
  auto status = SetUpBoot(*mem_, c).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("/nonexistent-initrd"), std::string::npos);
}

TEST_F(BootTest, VcpuBootState) {
  kvm_cpuid_entry2 leaf1{};
  leaf1.function = 1;
  leaf1.ecx = 1u << 13;
  config_.pvm_workarounds = true;
  auto v = BuildVcpuBootState(config_, {leaf1}, 1);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->cpuid.size(), 1u);
  EXPECT_EQ(v->cpuid[0].ebx >> 24, 1u);
  EXPECT_EQ(v->cpuid[0].ecx, 1u << 31);  // CX16 gone, hypervisor set.
  EXPECT_EQ(v->fpu.fcw, 0x37f);
  EXPECT_FALSE(v->msrs.empty());
  EXPECT_FALSE(BuildVcpuBootState(config_, {leaf1}, 2).ok());
}

}  // namespace
}  // namespace blimp::arch::x86_64
