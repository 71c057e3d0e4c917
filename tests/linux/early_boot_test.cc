// Default suite (tag "kvm"): Debian's own kernel under blimp-vmm, bounded
// in time. It must print its banner, the e820 map exactly as blimp-vmm built
// it, and reach "Memory: ..." (memblock handed to the buddy allocator),
// about 30 s in on this host's PVM KVM, where every ring-0 instruction is
// emulated (~2 us each; kvm-here.md). How far it gets is printed.
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/vm_process.h"
#include "tests/linux/linux_boot.h"

namespace blimp::tests {
namespace {

TEST(LinuxEarlyBootTest, BannerE820AndMemoryOnBlimp) {
  if (!KvmAvailable()) GTEST_SKIP() << "SKIPPED: /dev/kvm not available";
  REQUIRE_LINUX_FILES();
  const std::string release = ReadFileOrEmpty(LinuxDir() + "/kernel-version");
  const int mem_mib = 256;
  const absl::Time start = absl::Now();
  auto vm = VmProcess::Start(LinuxVmConfig(mem_mib));
  ASSERT_TRUE(vm.ok()) << vm.status();
  auto since = [&] { return absl::FormatDuration(absl::Now() - start); };

  auto banner = (*vm)->WaitForLine("Linux version", absl::Seconds(45));
  ASSERT_TRUE(banner.ok()) << banner.status() << "\n" << (*vm)->output();
  EXPECT_NE(banner->find(release.substr(0, release.size() - 1)), std::string::npos) << *banner;
  std::cout << "milestone 'Linux version' at " << since() << std::endl;

  // The e820 map as arch/x86_64/e820.cc builds it for 256 MiB: low RAM below
  // the EBDA, the reserved EBDA..1 MiB hole, and RAM from 1 MiB to the end.
  for (const std::string& line :
       {std::string("BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable"),
        std::string("BIOS-e820: [mem 0x000000000009fc00-0x00000000000fffff] reserved"),
        absl::StrFormat("BIOS-e820: [mem 0x0000000000100000-0x%016x] usable",
                        (uint64_t{mem_mib} << 20) - 1)}) {
    auto seen = (*vm)->WaitForLine(line, absl::Seconds(10));
    EXPECT_TRUE(seen.ok()) << line << "\n" << (*vm)->output();
  }
  std::cout << "milestone 'BIOS-e820' at " << since() << std::endl;

  auto memory = (*vm)->WaitForLine("Memory: ", absl::Seconds(75));
  ASSERT_TRUE(memory.ok()) << memory.status() << "\n" << (*vm)->output();
  EXPECT_NE(memory->find("K available"),
            std::string::npos)
      << *memory;
  std::cout << "milestone 'Memory:' at " << since() << ": " << *memory << std::endl;
  (*vm)->Signal(SIGTERM);
  EXPECT_TRUE((*vm)->WaitExit(absl::Seconds(10)).has_value());
}

}  // namespace
}  // namespace blimp::tests
