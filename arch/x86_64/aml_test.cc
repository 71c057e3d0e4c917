#include "arch/x86_64/aml.h"

#include "gtest/gtest.h"

namespace blimp::arch::x86_64::aml {
namespace {

TEST(AmlTest, PkgLength) {
  EXPECT_EQ(PkgLength(0), Bytes({0x01}));
  EXPECT_EQ(PkgLength(62), Bytes({0x3f}));
  // 63 payload bytes + 2 length bytes = 65 = 0x41: low nibble 1, then 0x04.
  EXPECT_EQ(PkgLength(63), Bytes({0x41, 0x04}));
  EXPECT_EQ(PkgLength(0x0ffd), Bytes({0x4f, 0xff}));  // 0xfff total.
  // 0xffe + 3 = 0x1001: three bytes.
  EXPECT_EQ(PkgLength(0x0ffe), Bytes({0x81, 0x00, 0x01}));
  EXPECT_EQ(PkgLength(0x100000), Bytes({0xc4, 0x00, 0x00, 0x01}));
}

TEST(AmlTest, NameString) {
  EXPECT_EQ(NameString("_HID"), Bytes({'_', 'H', 'I', 'D'}));
  EXPECT_EQ(NameString("_S5"), Bytes({'_', 'S', '5', '_'}));
  EXPECT_EQ(NameString("\\_SB_"), Bytes({0x5c, '_', 'S', 'B', '_'}));
  EXPECT_EQ(NameString("\\_SB.VR00"),
            Bytes({0x5c, 0x2e, '_', 'S', 'B', '_', 'V', 'R', '0', '0'}));
  EXPECT_EQ(NameString("A.B.C"),
            Bytes({0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_'}));
  EXPECT_EQ(NameString("^FOO"), Bytes({0x5e, 'F', 'O', 'O', '_'}));
  EXPECT_EQ(NameString("\\"), Bytes({0x5c, 0x00}));
}

TEST(AmlTest, Integers) {
  EXPECT_EQ(Integer(0), Bytes({0x00}));
  EXPECT_EQ(Integer(1), Bytes({0x01}));
  EXPECT_EQ(Integer(5), Bytes({0x0a, 0x05}));
  EXPECT_EQ(Integer(0x3f8), Bytes({0x0b, 0xf8, 0x03}));
  EXPECT_EQ(Integer(0xd0000000), Bytes({0x0c, 0x00, 0x00, 0x00, 0xd0}));
  EXPECT_EQ(Integer(0x100000000), Bytes({0x0e, 0, 0, 0, 0, 1, 0, 0, 0}));
}

TEST(AmlTest, StringsAndEisaId) {
  EXPECT_EQ(String("AB"), Bytes({0x0d, 'A', 'B', 0}));
  // iasl: EisaId("PNP0501") == 0x0105D041, EisaId("PNP0A03") == 0x030AD041.
  EXPECT_EQ(EisaId("PNP0501"), Bytes({0x0c, 0x41, 0xd0, 0x05, 0x01}));
  EXPECT_EQ(EisaId("PNP0A03"), Bytes({0x0c, 0x41, 0xd0, 0x0a, 0x03}));
}

TEST(AmlTest, PackageBufferName) {
  EXPECT_EQ(Package({Integer(5), Integer(0), Integer(0), Integer(0)}),
            Bytes({0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00}));
  EXPECT_EQ(Buffer({0xaa, 0xbb}), Bytes({0x11, 0x05, 0x0a, 0x02, 0xaa, 0xbb}));
  EXPECT_EQ(Name("_UID", Integer(1)), Bytes({0x08, '_', 'U', 'I', 'D', 0x01}));
  EXPECT_EQ(Scope("\\_SB_", {}), Bytes({0x10, 0x06, 0x5c, '_', 'S', 'B', '_'}));
  EXPECT_EQ(Device("VR00", {}), Bytes({0x5b, 0x82, 0x05, 'V', 'R', '0', '0'}));
}

TEST(AmlTest, LongPackageUsesMultiBytePkgLength) {
  std::vector<Bytes> elements(40, Integer(0x1234));  // 3 bytes each.
  Bytes p = Package(elements);
  // 1 count byte + 120 element bytes = 121 payload; 123 with 2 length bytes.
  ASSERT_EQ(p.size(), 1u + 2 + 121);
  EXPECT_EQ(p[1], 0x40 | (123 & 0xf));
  EXPECT_EQ(p[2], 123 >> 4);
}

TEST(AmlTest, ResourceDescriptors) {
  EXPECT_EQ(Io(0x3f8, 0x3f8, 1, 8), Bytes({0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08}));
  EXPECT_EQ(IrqNoFlags(4), Bytes({0x22, 0x10, 0x00}));
  EXPECT_EQ(Memory32Fixed(true, 0xd0000000, 0x1000),
            Bytes({0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00}));
  EXPECT_EQ(Interrupt(true, false, false, 5),
            Bytes({0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00}));
  EXPECT_EQ(Interrupt(false, true, true, 0x20)[3], 0x0d);
  EXPECT_EQ(ResourceTemplate({IrqNoFlags(4)}),
            Bytes({0x11, 0x08, 0x0a, 0x05, 0x22, 0x10, 0x00, 0x79, 0x00}));
}

}  // namespace
}  // namespace blimp::arch::x86_64::aml
