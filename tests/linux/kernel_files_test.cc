// Loads the Blimp Linux guest kernel (built from Debian's linux-source-6.1
// by tests/guest/linux/build_kernel.sh) both ways blimp-vmm can: the bzImage
// and the ELF vmlinux. The
// expectations come from the files themselves (setup header, ELF program
// headers and notes), parsed here independently of arch/x86_64.
#include <elf.h>

#include <cstring>

#include "arch/x86_64/boot.h"
#include "arch/x86_64/kernel_loader.h"
#include "gtest/gtest.h"
#include "tests/linux/linux_files.h"

namespace blimp::tests {
namespace {

using arch::x86_64::LoadedKernel;
using memory::GuestAddress;

constexpr uint64_t kMiB = 1 << 20;

template <typename T>
T At(const std::string& file, size_t offset) {
  T value;
  std::memcpy(&value, file.data() + offset, sizeof(T));
  return value;
}

std::string GuestBytes(const memory::GuestMemory& mem, uint64_t addr, size_t len) {
  std::string out(len, '\0');
  EXPECT_TRUE(mem.Read(GuestAddress(addr), out.data(), len).ok());
  return out;
}

class KernelFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mem = memory::GuestMemory::CreateRam(512 * kMiB);
    ASSERT_TRUE(mem.ok());
    mem_.emplace(std::move(*mem));
  }
  std::optional<memory::GuestMemory> mem_;
};

TEST_F(KernelFilesTest, BzImagePlacedWhereItsHeaderAsks) {
  REQUIRE_LINUX_FILES();
  const std::string path = LinuxDir() + "/bzImage";
  const std::string file = ReadFileOrEmpty(path);
  ASSERT_EQ(file.substr(0x202, 4), "HdrS");
  const uint16_t version = At<uint16_t>(file, 0x206);
  ASSERT_GE(version, 0x20a);  // pref_address and init_size are there.
  const int setup_sects = file[0x1f1] ? static_cast<uint8_t>(file[0x1f1]) : 4;
  const uint64_t pm_offset = (setup_sects + 1) * 512ull;
  const uint64_t pref_address = At<uint64_t>(file, 0x258);
  const uint32_t init_size = At<uint32_t>(file, 0x260);
  const uint16_t xloadflags = At<uint16_t>(file, 0x236);
  EXPECT_TRUE(xloadflags & 1) << "XLF_KERNEL_64";
  // The version string the header points at names the kernel release.
  const std::string release = ReadFileOrEmpty(LinuxDir() + "/kernel-version");
  const uint16_t version_ptr = At<uint16_t>(file, 0x20e);
  EXPECT_EQ(file.compare(version_ptr + 0x200, release.size() - 1, release, 0,
                         release.size() - 1), 0)
      << "kernel_version string does not start with " << release;

  auto kernel = arch::x86_64::LoadKernel(*mem_, path);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  EXPECT_EQ(kernel->format, LoadedKernel::Format::kBzImage);
  EXPECT_EQ(kernel->load_addr, pref_address);
  EXPECT_EQ(kernel->entry, pref_address + 0x200);  // startup_64 (boot.rst).
  EXPECT_GE(kernel->kernel_end, pref_address + init_size);
  EXPECT_EQ(kernel->header.version, version);
  EXPECT_EQ(kernel->header.init_size, init_size);
  // The protected-mode part, byte for byte: start, middle and end.
  const uint64_t pm_size = file.size() - pm_offset;
  for (uint64_t off : {uint64_t{0}, pm_size / 2, pm_size - 4096}) {
    EXPECT_EQ(GuestBytes(*mem_, pref_address + off, 4096), file.substr(pm_offset + off, 4096))
        << "at +" << off;
  }
}

TEST_F(KernelFilesTest, ElfVmlinuxSegmentsAndEntries) {
  REQUIRE_LINUX_FILES();
  const std::string path = LinuxDir() + "/vmlinux";
  const std::string file = ReadFileOrEmpty(path);
  const auto ehdr = At<Elf64_Ehdr>(file, 0);
  ASSERT_EQ(std::memcmp(ehdr.e_ident, ELFMAG, SELFMAG), 0);
  ASSERT_EQ(ehdr.e_machine, EM_X86_64);

  auto kernel = arch::x86_64::LoadKernel(*mem_, path);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  EXPECT_EQ(kernel->format, LoadedKernel::Format::kElf);

  uint64_t lowest = UINT64_MAX, highest = 0;
  std::optional<uint64_t> pvh_entry;
  for (int i = 0; i < ehdr.e_phnum; ++i) {
    const auto ph = At<Elf64_Phdr>(file, ehdr.e_phoff + i * ehdr.e_phentsize);
    if (ph.p_type == PT_LOAD) {
      lowest = std::min<uint64_t>(lowest, ph.p_paddr);
      highest = std::max<uint64_t>(highest, ph.p_paddr + ph.p_memsz);
      const uint64_t n = std::min<uint64_t>(ph.p_filesz, 4096);
      EXPECT_EQ(GuestBytes(*mem_, ph.p_paddr, n), file.substr(ph.p_offset, n));
      EXPECT_EQ(GuestBytes(*mem_, ph.p_paddr + ph.p_filesz - n, n),
                file.substr(ph.p_offset + ph.p_filesz - n, n));
      if (ph.p_memsz > ph.p_filesz) {  // BSS is zero.
        EXPECT_EQ(GuestBytes(*mem_, ph.p_paddr + ph.p_memsz - 64, 64), std::string(64, '\0'));
      }
    } else if (ph.p_type == PT_NOTE) {
      for (uint64_t off = ph.p_offset; off + 12 <= ph.p_offset + ph.p_filesz;) {
        const auto note = At<Elf64_Nhdr>(file, off);
        const uint64_t name_off = off + 12, desc_off = name_off + ((note.n_namesz + 3) & ~3u);
        // XEN_ELFNOTE_PHYS32_ENTRY (18) in a "Xen" note: the PVH entry.
        if (note.n_type == 18 && file.compare(name_off, 3, "Xen") == 0) {
          pvh_entry = note.n_descsz == 8 ? At<uint64_t>(file, desc_off)
                                         : At<uint32_t>(file, desc_off);
        }
        off = desc_off + ((note.n_descsz + 3) & ~3u);
      }
    }
  }
  EXPECT_EQ(kernel->load_addr, lowest);
  EXPECT_EQ(kernel->kernel_end, highest);
  // e_entry is the virtual startup_64; the 64-bit boot protocol enters at
  // its physical address, the start of the first segment (0x1000000).
  EXPECT_EQ(kernel->entry, lowest) << std::hex << ehdr.e_entry;
  EXPECT_EQ(ehdr.e_entry & 0x7fffffffull, lowest);
  ASSERT_TRUE(pvh_entry.has_value()) << "the guest kernel has CONFIG_PVH";
  EXPECT_EQ(kernel->pvh_entry, pvh_entry);
}

TEST_F(KernelFilesTest, FullBootSetUpWithInitramfs) {
  REQUIRE_LINUX_FILES();
  for (const char* image : {"bzImage", "vmlinux"}) {
    arch::x86_64::BootConfig config;
    config.kernel_path = LinuxDir() + "/" + image;
    config.initrd_path = LinuxDir() + "/initramfs.cpio";
    config.cmdline = "console=ttyS0";
    auto boot = arch::x86_64::SetUpBoot(*mem_, config);
    ASSERT_TRUE(boot.ok()) << image << ": " << boot.status();
    const std::string initrd = ReadFileOrEmpty(config.initrd_path);
    EXPECT_EQ(boot->initrd_size, initrd.size());
    EXPECT_GE(boot->initrd_addr, boot->kernel_end) << image;
    EXPECT_EQ(boot->initrd_addr % 4096, 0u);
    EXPECT_EQ(GuestBytes(*mem_, boot->initrd_addr, 512), initrd.substr(0, 512));
    EXPECT_EQ(boot->regs.rip, boot->entry) << image;
  }
}

}  // namespace
}  // namespace blimp::tests
