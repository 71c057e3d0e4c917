#include "arch/x86_64/acpi.h"

#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

using memory::GuestAddress;

std::vector<uint8_t> Read(const memory::GuestMemory& mem, uint64_t addr, size_t len) {
  std::vector<uint8_t> out(len);
  EXPECT_TRUE(mem.Read(GuestAddress(addr), out.data(), len).ok());
  return out;
}

uint64_t Le(const std::vector<uint8_t>& t, size_t offset, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | t.at(offset + i);
  return v;
}

TEST(AcpiTest, WritesLinkedTablesIntoBiosArea) {
  auto mem = memory::GuestMemory::CreateRam(64 * kMiB);
  ASSERT_TRUE(mem.ok());
  auto rsdp_addr = WriteAcpiTables(*mem, 4, {VirtioMmioSlotAt(0), VirtioMmioSlotAt(1)});
  ASSERT_TRUE(rsdp_addr.ok()) << rsdp_addr.status();
  EXPECT_EQ(*rsdp_addr, kRsdpAddr);
  EXPECT_EQ(*rsdp_addr % 16, 0u);
  auto rsdp = Read(*mem, *rsdp_addr, 36);
  EXPECT_EQ(std::string(rsdp.begin(), rsdp.begin() + 8), "RSD PTR ");
  EXPECT_EQ(AcpiChecksum(rsdp.data(), 20), 0);
  EXPECT_EQ(AcpiChecksum(rsdp.data(), 36), 0);
  // Follow the pointers as the kernel does: RSDP -> XSDT -> FADT, MADT; FADT -> DSDT.
  uint64_t xsdt_addr = Le(rsdp, 24, 8);
  auto header = Read(*mem, xsdt_addr, 36);
  auto xsdt = Read(*mem, xsdt_addr, Le(header, 4, 4));
  EXPECT_EQ(AcpiChecksum(xsdt.data(), xsdt.size()), 0);
  ASSERT_EQ(xsdt.size(), 36u + 16);
  std::vector<std::string> found;
  uint64_t dsdt_addr = 0;
  for (size_t i = 0; i < 2; ++i) {
    uint64_t addr = Le(xsdt, 36 + 8 * i, 8);
    EXPECT_GE(addr, kAcpiStart);
    auto h = Read(*mem, addr, 36);
    auto table = Read(*mem, addr, Le(h, 4, 4));
    EXPECT_EQ(AcpiChecksum(table.data(), table.size()), 0);
    found.emplace_back(table.begin(), table.begin() + 4);
    if (found.back() == "FACP") dsdt_addr = Le(table, 140, 8);
  }
  EXPECT_EQ(found, (std::vector<std::string>{"FACP", "APIC"}));
  auto dh = Read(*mem, dsdt_addr, 36);
  EXPECT_EQ(std::string(dh.begin(), dh.begin() + 4), "DSDT");
  auto dsdt = Read(*mem, dsdt_addr, Le(dh, 4, 4));
  EXPECT_EQ(AcpiChecksum(dsdt.data(), dsdt.size()), 0);
  EXPECT_LE(dsdt_addr + dsdt.size(), kAcpiEnd);
}

TEST(AcpiTest, LayoutIsAlignedAndDisjoint) {
  auto t = BuildAcpiTables(254, std::vector<VirtioMmioSlot>(1, VirtioMmioSlotAt(0)));
  ASSERT_TRUE(t.ok());
  const AcpiLayout& l = t->layout;
  EXPECT_LE(l.rsdp + t->rsdp.size(), l.xsdt);
  EXPECT_LE(l.xsdt + t->xsdt.size(), l.fadt);
  EXPECT_LE(l.fadt + t->fadt.size(), l.madt);
  EXPECT_LE(l.madt + t->madt.size(), l.dsdt);
  EXPECT_EQ(l.dsdt + t->dsdt.size(), l.end);
  for (uint64_t a : {l.xsdt, l.fadt, l.madt, l.dsdt}) EXPECT_EQ(a % 16, 0u);
}

TEST(AcpiTest, RejectsBadInput) {
  EXPECT_EQ(BuildAcpiTables(0, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildAcpiTables(255, {}).status().code(), absl::StatusCode::kInvalidArgument);
  VirtioMmioSlot high{0x100000000, 0x1000, 5};
  EXPECT_EQ(BuildAcpiTables(1, {high}).status().code(), absl::StatusCode::kInvalidArgument);
  VirtioMmioSlot serial_irq{kVirtioMmioStart, 0x1000, kCom1Irq};
  EXPECT_EQ(BuildAcpiTables(1, {serial_irq}).status().code(),
            absl::StatusCode::kInvalidArgument);
  VirtioMmioSlot bad_pin{kVirtioMmioStart, 0x1000, 24};
  EXPECT_EQ(BuildAcpiTables(1, {bad_pin}).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<VirtioMmioSlot> too_many(kMaxVirtioMmioDevices + 1, VirtioMmioSlotAt(0));
  EXPECT_EQ(BuildAcpiTables(1, too_many).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace blimp::arch::x86_64
