// The loader on an ELF made by the real toolchain (testdata/tiny_vmlinux.S,
// linked by gcc/ld with a linker script modeled on the kernel's): virtual
// addresses in the kernel map, physical load addresses, physical e_entry,
// a PT_NOTE with Linux's 8-byte PVH entry note, and a BSS.
#include <cstdlib>
#include <cstring>
#include <string>

#include "arch/x86_64/kernel_loader.h"
#include "arch/x86_64/layout.h"
#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return std::string(srcdir ? srcdir : ".") + "/" + (workspace ? workspace : "blimp") + "/" +
         path;
}

TEST(KernelLoaderElfTest, LoadsToolchainBuiltVmlinux) {
  auto mem = memory::GuestMemory::CreateRam(64 * kMiB);
  ASSERT_TRUE(mem.ok());
  auto kernel = LoadKernel(*mem, Runfile("arch/x86_64/tiny_vmlinux"));
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  EXPECT_EQ(kernel->format, LoadedKernel::Format::kElf);
  EXPECT_EQ(kernel->entry, 0x1000000u);
  EXPECT_EQ(kernel->load_addr, 0x1000000u);
  // pvh_start_xen follows startup_64's `hlt; jmp` (3 bytes).
  ASSERT_TRUE(kernel->pvh_entry.has_value());
  EXPECT_EQ(*kernel->pvh_entry, 0x1000003u);
  // .data at 16 MiB + 2 MiB, then 8 KiB of BSS.
  EXPECT_EQ(kernel->kernel_end, 0x1200000u + 0x200b);
  uint8_t text[1];
  ASSERT_TRUE(mem->Read(memory::GuestAddress(0x1000000), text, 1).ok());
  EXPECT_EQ(text[0], 0xf4);  // hlt
  char data[12] = {};
  ASSERT_TRUE(mem->Read(memory::GuestAddress(0x1200000), data, 11).ok());
  EXPECT_STREQ(data, "BLIMPKERNEL");
}

}  // namespace
}  // namespace blimp::arch::x86_64
