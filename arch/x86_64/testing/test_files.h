// Test helpers: files under $TEST_TMPDIR, and synthetic kernels (a minimal
// ELF64 vmlinux, a bzImage with just a setup header).
#ifndef BLIMP_ARCH_X86_64_TESTING_TEST_FILES_H_
#define BLIMP_ARCH_X86_64_TESTING_TEST_FILES_H_

#include <elf.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "arch/x86_64/boot_params.h"

namespace blimp::arch::x86_64 {

inline std::string WriteTestFile(const std::string& name, const std::vector<uint8_t>& bytes) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = std::string(dir ? dir : "/tmp") + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),  // SAFETY: byte view.
            static_cast<std::streamsize>(bytes.size()));
  return path;
}

template <typename T>
inline void Put(std::vector<uint8_t>& out, size_t offset, const T& value) {
  if (out.size() < offset + sizeof(T)) out.resize(offset + sizeof(T));
  std::memcpy(out.data() + offset, &value, sizeof(T));
}

struct Segment {
  uint32_t type;
  uint64_t paddr;
  std::vector<uint8_t> bytes;
  uint64_t memsz;
};

// A minimal ELF64 executable: header, program headers, then each segment's
// bytes in file order.
inline std::vector<uint8_t> MakeElf(const std::vector<Segment>& segments, uint64_t entry,
                             uint8_t elf_class = ELFCLASS64) {
  std::vector<uint8_t> out;
  Elf64_Ehdr ehdr{};
  std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
  ehdr.e_ident[EI_CLASS] = elf_class;
  ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
  ehdr.e_ident[EI_VERSION] = EV_CURRENT;
  ehdr.e_type = ET_EXEC;
  ehdr.e_machine = EM_X86_64;
  ehdr.e_version = EV_CURRENT;
  ehdr.e_entry = entry;
  ehdr.e_phoff = sizeof(Elf64_Ehdr);
  ehdr.e_ehsize = sizeof(Elf64_Ehdr);
  ehdr.e_phentsize = sizeof(Elf64_Phdr);
  ehdr.e_phnum = static_cast<uint16_t>(segments.size());
  Put(out, 0, ehdr);
  uint64_t data_offset = sizeof(Elf64_Ehdr) + segments.size() * sizeof(Elf64_Phdr);
  for (size_t i = 0; i < segments.size(); ++i) {
    Elf64_Phdr ph{};
    ph.p_type = segments[i].type;
    ph.p_offset = data_offset;
    ph.p_paddr = segments[i].paddr;
    ph.p_vaddr = segments[i].paddr + 0xffffffff80000000ull;
    ph.p_filesz = segments[i].bytes.size();
    ph.p_memsz = segments[i].memsz;
    ph.p_align = 4;
    Put(out, sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr), ph);
    out.resize(data_offset);
    out.insert(out.end(), segments[i].bytes.begin(), segments[i].bytes.end());
    data_offset += segments[i].bytes.size();
  }
  return out;
}

inline std::vector<uint8_t> Note(const char* name, uint32_t type, const std::vector<uint8_t>& desc) {
  std::vector<uint8_t> out;
  Elf64_Nhdr n{};
  n.n_namesz = static_cast<uint32_t>(std::strlen(name) + 1);
  n.n_descsz = static_cast<uint32_t>(desc.size());
  n.n_type = type;
  Put(out, 0, n);
  out.insert(out.end(), name, name + n.n_namesz);
  while (out.size() % 4) out.push_back(0);
  out.insert(out.end(), desc.begin(), desc.end());
  while (out.size() % 4) out.push_back(0);
  return out;
}

inline std::vector<uint8_t> Le64(uint64_t v) {
  std::vector<uint8_t> out(8);
  std::memcpy(out.data(), &v, 8);
  return out;
}

struct BzOptions {
  uint16_t version = 0x020f;
  uint8_t setup_sects = 0;  // 0 means 4.
  uint8_t loadflags = kLoadedHigh;
  uint16_t xloadflags = kXlfKernel64 | kXlfCanBeLoadedAbove4G;
  uint8_t relocatable = 1;
  uint64_t pref_address = 0x1000000;
  uint32_t kernel_alignment = 0x200000;
  uint32_t init_size = 0x800000;
  size_t pm_size = 0x3000;
};

inline std::vector<uint8_t> MakeBzImage(const BzOptions& o) {
  size_t sects = o.setup_sects == 0 ? 4 : o.setup_sects;
  std::vector<uint8_t> out((sects + 1) * 512 + o.pm_size, 0);
  for (size_t i = 0; i < o.pm_size; ++i) out[(sects + 1) * 512 + i] = static_cast<uint8_t>(i);
  SetupHeader h{};
  h.setup_sects = o.setup_sects;
  h.boot_flag = kBootFlagMagic;
  h.jump = 0x66eb;  // jmp +0x66: header ends at 0x202 + 0x66 = 0x268.
  h.header = kHdrSMagic;
  h.version = o.version;
  h.loadflags = o.loadflags;
  h.initrd_addr_max = 0x7fffffff;
  h.kernel_alignment = o.kernel_alignment;
  h.relocatable_kernel = o.relocatable;
  h.min_alignment = 21;
  h.xloadflags = o.xloadflags;
  h.cmdline_size = 0x7ff;
  h.pref_address = o.pref_address;
  h.init_size = o.init_size;
  h.kernel_info_offset = 0xdeadbeef;  // Past the declared end: not copied.
  Put(out, kSetupHeaderFileOffset, h);
  return out;
}

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_TESTING_TEST_FILES_H_
