#include "arch/x86_64/kernel_loader.h"

#include <elf.h>

#include <cstring>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/testing/test_files.h"
#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

using memory::GuestAddress;

class KernelLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mem = memory::GuestMemory::CreateRam(64 * kMiB);
    ASSERT_TRUE(mem.ok());
    mem_.emplace(std::move(*mem));
  }
  void ExpectInvalid(const std::string& path, const std::string& fragment) {
    auto kernel = LoadKernel(*mem_, path);
    ASSERT_FALSE(kernel.ok()) << path;
    EXPECT_EQ(kernel.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(kernel.status().message().find(path), std::string::npos)
        << kernel.status();
    EXPECT_NE(kernel.status().message().find(fragment), std::string::npos)
        << kernel.status();
  }
  std::optional<memory::GuestMemory> mem_;
};

TEST_F(KernelLoaderTest, LoadsElfSegmentsAndZeroesBss) {
  // Dirty the BSS area first: it must come back zero.
  std::vector<uint8_t> junk(0x100, 0xee);
  ASSERT_TRUE(mem_->Write(GuestAddress(0x1000000 + 4), junk.data(), junk.size()).ok());
  std::vector<uint8_t> text = {0xf4, 0xeb, 0xfd, 0x90};
  std::vector<uint8_t> data = {1, 2, 3, 4, 5};
  std::string path = WriteTestFile(
      "vmlinux", MakeElf({{PT_LOAD, 0x1000000, text, 0x200},
                          {PT_LOAD, 0x1200000, data, 5}},
                         0x1000000));
  auto kernel = LoadKernel(*mem_, path);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  EXPECT_EQ(kernel->format, LoadedKernel::Format::kElf);
  EXPECT_EQ(kernel->entry, 0x1000000u);
  EXPECT_FALSE(kernel->pvh_entry.has_value());
  EXPECT_EQ(kernel->load_addr, 0x1000000u);
  EXPECT_EQ(kernel->kernel_end, 0x1200005u);
  uint8_t back[8];
  ASSERT_TRUE(mem_->Read(GuestAddress(0x1000000), back, 8).ok());
  EXPECT_EQ(std::memcmp(back, text.data(), 4), 0);
  EXPECT_EQ(back[4], 0);  // BSS.
  ASSERT_TRUE(mem_->Read(GuestAddress(0x1200000), back, 5).ok());
  EXPECT_EQ(std::memcmp(back, data.data(), 5), 0);
  // The synthesized setup header.
  EXPECT_EQ(+kernel->header.boot_flag, kBootFlagMagic);
  EXPECT_EQ(+kernel->header.header, kHdrSMagic);
  EXPECT_EQ(kernel->cmdline_max_len, 2047u);
  EXPECT_EQ(kernel->initrd_addr_max, 0x7fffffffu);
}

TEST_F(KernelLoaderTest, FindsPvhNote) {
  std::vector<uint8_t> notes = Note("GNU", 3, {1, 2, 3, 4});
  std::vector<uint8_t> xen = Note("Xen", 18, Le64(0x1000abc));  // Linux: 8 bytes.
  notes.insert(notes.end(), xen.begin(), xen.end());
  std::string path = WriteTestFile(
      "vmlinux-pvh", MakeElf({{PT_LOAD, 0x1000000, {0x90}, 1},
                              {PT_NOTE, 0, notes, notes.size()}},
                             0x1000000));
  auto kernel = LoadKernel(*mem_, path);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  ASSERT_TRUE(kernel->pvh_entry.has_value());
  EXPECT_EQ(*kernel->pvh_entry, 0x1000abcu);
}

TEST_F(KernelLoaderTest, FindsFourBytePvhNoteAndIgnoresOtherXenNotes) {
  std::vector<uint8_t> notes = Note("Xen", 5, {'x', 'e', 'n', 0});
  std::vector<uint8_t> entry = Note("Xen", 18, {0x34, 0x12, 0x00, 0x01});
  notes.insert(notes.end(), entry.begin(), entry.end());
  std::string path = WriteTestFile(
      "vmlinux-pvh4", MakeElf({{PT_NOTE, 0, notes, notes.size()},
                               {PT_LOAD, 0x1000000, {0x90}, 1}},
                              0x1000000));
  auto kernel = LoadKernel(*mem_, path);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  EXPECT_EQ(kernel->pvh_entry.value_or(0), 0x1001234u);
}

TEST_F(KernelLoaderTest, MalformedNote) {
  std::vector<uint8_t> notes = Note("Xen", 18, Le64(0x1000abc));
  notes.resize(notes.size() - 4);  // Desc runs past the segment.
  std::string path = WriteTestFile(
      "vmlinux-badnote", MakeElf({{PT_LOAD, 0x1000000, {0x90}, 1},
                                  {PT_NOTE, 0, notes, notes.size()}},
                                 0x1000000));
  ExpectInvalid(path, "malformed ELF note");
}

TEST_F(KernelLoaderTest, MissingFile) {
  ExpectInvalid("/nonexistent/vmlinux", "cannot open");
}

TEST_F(KernelLoaderTest, EmptyFile) {
  ExpectInvalid(WriteTestFile("empty", {}), "empty");
}

TEST_F(KernelLoaderTest, TextFile) {
  std::string text = "this is not a kernel\n";
  ExpectInvalid(WriteTestFile("text", std::vector<uint8_t>(text.begin(), text.end())),
                "neither an ELF vmlinux nor a bzImage");
  // Long enough to have a byte at 0x202, still no "HdrS".
  ExpectInvalid(WriteTestFile("zeros", std::vector<uint8_t>(4096, 'x')),
                "neither an ELF vmlinux nor a bzImage");
}

TEST_F(KernelLoaderTest, ThirtyTwoBitElf) {
  std::vector<uint8_t> elf = MakeElf({{PT_LOAD, 0x1000000, {0x90}, 1}}, 0x1000000, ELFCLASS32);
  ExpectInvalid(WriteTestFile("vmlinux32", elf), "32-bit ELF");
}

TEST_F(KernelLoaderTest, SegmentOutsideRam) {
  ExpectInvalid(WriteTestFile("vmlinux-big", MakeElf({{PT_LOAD, 0x1000000, {0x90}, 64 * kMiB}},
                                                     0x1000000)),
                "outside guest RAM");
  ExpectInvalid(WriteTestFile("vmlinux-hole",
                              MakeElf({{PT_LOAD, 0xd0000000, {0x90}, 1}}, 0xd0000000)),
                "outside guest RAM");
  ExpectInvalid(WriteTestFile("vmlinux-wrap",
                              MakeElf({{PT_LOAD, ~0ull - 8, {0x90}, 64}}, 0x1000000)),
                "outside guest RAM");
  ExpectInvalid(WriteTestFile("vmlinux-low", MakeElf({{PT_LOAD, 0x7000, {0x90}, 1}}, 0x7000)),
                "below 1 MiB");
}

TEST_F(KernelLoaderTest, SegmentPastEndOfFile) {
  std::vector<uint8_t> elf = MakeElf({{PT_LOAD, 0x1000000, {1, 2, 3, 4}, 4}}, 0x1000000);
  elf.resize(elf.size() - 2);
  ExpectInvalid(WriteTestFile("vmlinux-trunc", elf), "past the end of the file");
}

TEST_F(KernelLoaderTest, ProgramHeadersPastEndOfFile) {
  std::vector<uint8_t> elf = MakeElf({{PT_LOAD, 0x1000000, {1}, 1}}, 0x1000000);
  elf.resize(sizeof(Elf64_Ehdr) + 8);
  ExpectInvalid(WriteTestFile("vmlinux-phtrunc", elf), "program headers");
}

TEST_F(KernelLoaderTest, ElfWithoutLoadSegments) {
  ExpectInvalid(WriteTestFile("vmlinux-noload", MakeElf({{PT_NOTE, 0, {}, 0}}, 0x1000000)),
                "no PT_LOAD");
}

// ---- bzImage.

TEST_F(KernelLoaderTest, LoadsBzImageAtPrefAddress) {
  BzOptions o;
  std::string path = WriteTestFile("bzImage", MakeBzImage(o));
  auto kernel = LoadKernel(*mem_, path);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  EXPECT_EQ(kernel->format, LoadedKernel::Format::kBzImage);
  EXPECT_EQ(kernel->load_addr, 0x1000000u);
  EXPECT_EQ(kernel->entry, 0x1000200u);
  EXPECT_EQ(kernel->kernel_end, 0x1000000u + 0x800000);  // init_size > file.
  EXPECT_FALSE(kernel->pvh_entry.has_value());
  EXPECT_EQ(kernel->cmdline_max_len, 0x7ffu);
  EXPECT_EQ(kernel->initrd_addr_max, 0x7fffffffu);
  EXPECT_EQ(+kernel->header.version, 0x020f);
  EXPECT_EQ(+kernel->header.code32_start, 0x1000000u);
  EXPECT_EQ(+kernel->header.kernel_info_offset, 0u);
  uint8_t back[4];
  ASSERT_TRUE(mem_->Read(GuestAddress(0x1000000), back, 4).ok());
  EXPECT_EQ(back[0], 0);
  EXPECT_EQ(back[3], 3);
  ASSERT_TRUE(mem_->Read(GuestAddress(0x1000000 + 0x2fff), back, 1).ok());
  EXPECT_EQ(back[0], static_cast<uint8_t>(0x2fff));
}

TEST_F(KernelLoaderTest, ExplicitSetupSects) {
  BzOptions o;
  o.setup_sects = 7;
  auto kernel = LoadKernel(*mem_, WriteTestFile("bzImage-7", MakeBzImage(o)));
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  uint8_t back[2];
  ASSERT_TRUE(mem_->Read(GuestAddress(0x1000000), back, 2).ok());
  EXPECT_EQ(back[1], 1);  // The protected-mode part starts at 8 * 512.
}

TEST_F(KernelLoaderTest, RelocatableBzImageMovesDownWhenPrefAddressDoesNotFit) {
  BzOptions o;
  o.init_size = 60 * kMiB;  // 16 MiB + 60 MiB > 64 MiB of RAM.
  auto kernel = LoadKernel(*mem_, WriteTestFile("bzImage-big", MakeBzImage(o)));
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  EXPECT_EQ(kernel->load_addr, 0x200000u);  // 1 MiB aligned up to 2 MiB.
  EXPECT_EQ(kernel->entry, 0x200200u);
  o.relocatable = 0;
  ExpectInvalid(WriteTestFile("bzImage-big-fixed", MakeBzImage(o)), "non-relocatable");
  o.relocatable = 1;
  o.init_size = 100 * kMiB;
  ExpectInvalid(WriteTestFile("bzImage-huge", MakeBzImage(o)), "init_size");
}

TEST_F(KernelLoaderTest, BzImageErrors) {
  BzOptions old;
  old.version = 0x0204;
  ExpectInvalid(WriteTestFile("bz-old", MakeBzImage(old)), "too old");
  BzOptions no64;
  no64.xloadflags = 0;
  ExpectInvalid(WriteTestFile("bz-no64", MakeBzImage(no64)), "XLF_KERNEL_64");
  BzOptions zimage;
  zimage.loadflags = 0;
  ExpectInvalid(WriteTestFile("bz-zimage", MakeBzImage(zimage)), "LOADED_HIGH");
  std::vector<uint8_t> setup_only = MakeBzImage(BzOptions{});
  setup_only.resize(5 * 512);
  ExpectInvalid(WriteTestFile("bz-setup-only", setup_only), "no protected-mode kernel");
}

}  // namespace
}  // namespace blimp::arch::x86_64
