#include "arch/x86_64/acpi_tables.h"

#include <cstring>

#include "arch/x86_64/layout.h"
#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

uint64_t Le(const AcpiBytes& t, size_t offset, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | t.at(offset + i);
  return v;
}

std::string Chars(const AcpiBytes& t, size_t offset, size_t len) {
  return std::string(t.begin() + offset, t.begin() + offset + len);
}

void ExpectValidSdt(const AcpiBytes& t, const std::string& signature) {
  EXPECT_EQ(Chars(t, 0, 4), signature);
  EXPECT_EQ(Le(t, 4, 4), t.size());
  EXPECT_EQ(AcpiChecksum(t.data(), t.size()), 0) << signature;
  EXPECT_EQ(Chars(t, 10, 6), "BLIMP ");
  EXPECT_EQ(Chars(t, 28, 4), "BLMP");
}

TEST(AcpiTablesTest, Rsdp) {
  AcpiBytes r = BuildRsdp(0xe0030);
  ASSERT_EQ(r.size(), 36u);
  EXPECT_EQ(Chars(r, 0, 8), "RSD PTR ");
  EXPECT_EQ(AcpiChecksum(r.data(), 20), 0);
  EXPECT_EQ(AcpiChecksum(r.data(), 36), 0);
  EXPECT_EQ(r[15], 2);                // Revision.
  EXPECT_EQ(Le(r, 16, 4), 0u);        // No RSDT.
  EXPECT_EQ(Le(r, 20, 4), 36u);       // Length.
  EXPECT_EQ(Le(r, 24, 8), 0xe0030u);  // XSDT.
}

TEST(AcpiTablesTest, Xsdt) {
  AcpiBytes x = BuildXsdt({0xe0100, 0xe0200});
  ExpectValidSdt(x, "XSDT");
  ASSERT_EQ(x.size(), 36u + 16);
  EXPECT_EQ(Le(x, 36, 8), 0xe0100u);
  EXPECT_EQ(Le(x, 44, 8), 0xe0200u);
}

TEST(AcpiTablesTest, Fadt) {
  AcpiBytes f = BuildFadt(0xe0400);
  ExpectValidSdt(f, "FACP");
  ASSERT_EQ(f.size(), 276u);
  EXPECT_EQ(f[8], 6);     // Revision 6.
  EXPECT_EQ(f[131], 5);   // Minor version: ACPI 6.5.
  EXPECT_EQ(Le(f, 40, 4), 0u);        // DSDT: 0, X_DSDT is used.
  EXPECT_EQ(Le(f, 140, 8), 0xe0400u); // X_DSDT.
  uint32_t flags = static_cast<uint32_t>(Le(f, 112, 4));
  EXPECT_TRUE(flags & (1u << 20));  // HW_REDUCED_ACPI.
  EXPECT_TRUE(flags & (1u << 10));  // RESET_REG_SUP.
  // RESET_REG: SystemIO, 8 bits, byte access, port 0x602; value 1.
  EXPECT_EQ(f[116], 1);
  EXPECT_EQ(f[117], 8);
  EXPECT_EQ(f[119], 1);
  EXPECT_EQ(Le(f, 120, 8), 0x602u);
  EXPECT_EQ(f[128], 1);
  // SLEEP_CONTROL_REG and SLEEP_STATUS_REG.
  EXPECT_EQ(f[244], 1);
  EXPECT_EQ(Le(f, 248, 8), 0x600u);
  EXPECT_EQ(f[256], 1);
  EXPECT_EQ(Le(f, 260, 8), 0x601u);
  // No fixed hardware blocks.
  for (size_t off : {56u, 64u, 76u, 80u}) EXPECT_EQ(Le(f, off, 4), 0u) << off;
}

TEST(AcpiTablesTest, MadtOneLocalApicPerVcpu) {
  for (uint32_t n : {1u, 2u, 7u, 254u}) {
    AcpiBytes m = BuildMadt(n);
    ExpectValidSdt(m, "APIC");
    EXPECT_EQ(Le(m, 36, 4), kLapicAddr);
    EXPECT_EQ(Le(m, 40, 4), 1u);  // PCAT_COMPAT.
    size_t off = 44;
    uint32_t lapics = 0, ioapics = 0;
    while (off < m.size()) {
      uint8_t type = m[off], len = m[off + 1];
      ASSERT_GE(len, 2);
      if (type == 0) {
        EXPECT_EQ(len, 8);
        EXPECT_EQ(m[off + 2], lapics);      // UID.
        EXPECT_EQ(m[off + 3], lapics);      // APIC id.
        EXPECT_EQ(Le(m, off + 4, 4), 1u);   // Enabled.
        ++lapics;
      } else if (type == 1) {
        EXPECT_EQ(len, 12);
        EXPECT_EQ(Le(m, off + 4, 4), kIoapicAddr);
        EXPECT_EQ(Le(m, off + 8, 4), 0u);  // GSI base.
        ++ioapics;
      } else {
        ADD_FAILURE() << "unexpected MADT entry type " << int{type};
      }
      off += len;
    }
    EXPECT_EQ(off, m.size());
    EXPECT_EQ(lapics, n);
    EXPECT_EQ(ioapics, 1u);
  }
}

}  // namespace
}  // namespace blimp::arch::x86_64
