#include "arch/x86_64/kernel_loader.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "arch/x86_64/e820.h"
#include "arch/x86_64/image_file.h"
#include "arch/x86_64/layout.h"
#include "base/status_macros.h"

namespace blimp::arch::x86_64 {
namespace {

using memory::GuestAddress;

// Note segments are a few hundred bytes; refuse absurd ones.
constexpr uint64_t kMaxNoteSegmentSize = 1 * kMiB;

// True if a + b does not fit in 64 bits.
bool AddOverflows(uint64_t a, uint64_t b) { return b > UINT64_MAX - a; }

uint64_t AlignUp(uint64_t value, uint64_t align) {
  return (value + align - 1) / align * align;
}

// Looks for XEN_ELFNOTE_PHYS32_ENTRY ("Xen", type 18) in one PT_NOTE
// segment's bytes (ELF spec "Note Section": 4-byte aligned name and desc).
absl::StatusOr<std::optional<uint64_t>> FindPvhEntry(const ImageFile& file,
                                                     const std::vector<uint8_t>& notes) {
  size_t pos = 0;
  while (notes.size() - pos >= sizeof(Elf64_Nhdr)) {
    Elf64_Nhdr nhdr;
    std::memcpy(&nhdr, notes.data() + pos, sizeof(nhdr));
    pos += sizeof(nhdr);
    uint64_t name_len = AlignUp(nhdr.n_namesz, 4);
    uint64_t desc_len = AlignUp(nhdr.n_descsz, 4);
    if (name_len > notes.size() - pos || desc_len > notes.size() - pos - name_len) {
      return file.Error("malformed ELF note (runs past its PT_NOTE segment)");
    }
    const uint8_t* name = notes.data() + pos;
    const uint8_t* desc = name + name_len;
    pos += name_len + desc_len;
    if (nhdr.n_type != kXenElfNotePhys32Entry || nhdr.n_namesz != 4 ||
        std::memcmp(name, "Xen", 4) != 0) {
      continue;
    }
    // Linux emits it with _ASM_PTR (8 bytes on x86-64); Xen's spec says
    // 32 bits. Accept both, but the entry must be a 32-bit address.
    uint64_t entry = 0;
    if (nhdr.n_descsz == 4) {
      uint32_t e32;
      std::memcpy(&e32, desc, 4);
      entry = e32;
    } else if (nhdr.n_descsz == 8) {
      std::memcpy(&entry, desc, 8);
    } else {
      return file.Error(absl::StrCat("PVH entry note has a ", nhdr.n_descsz,
                                     "-byte value; expected 4 or 8"));
    }
    if (entry > UINT32_MAX) {
      return file.Error(absl::StrFormat("PVH entry %#x is not a 32-bit address", entry));
    }
    return std::optional<uint64_t>(entry);
  }
  return std::optional<uint64_t>();
}

absl::StatusOr<LoadedKernel> LoadElf(const memory::GuestMemory& mem,
                                     const ImageFile& file) {
  if (file.size() < EI_NIDENT) return file.Error("truncated ELF header");
  unsigned char ident[EI_NIDENT];
  RETURN_IF_ERROR(file.ReadAt(0, ident, EI_NIDENT));
  if (ident[EI_CLASS] != ELFCLASS64) {
    return file.Error(ident[EI_CLASS] == ELFCLASS32
                          ? "32-bit ELF; a 64-bit x86-64 vmlinux is required"
                          : "ELF of unknown class; a 64-bit x86-64 vmlinux is required");
  }
  if (file.size() < sizeof(Elf64_Ehdr)) return file.Error("truncated ELF header");
  Elf64_Ehdr ehdr;
  RETURN_IF_ERROR(file.ReadAt(0, &ehdr, sizeof(ehdr)));
  if (ehdr.e_ident[EI_DATA] != ELFDATA2LSB) return file.Error("ELF is not little-endian");
  if (ehdr.e_machine != EM_X86_64) {
    return file.Error(absl::StrCat("ELF machine ", ehdr.e_machine, " is not x86-64 (62)"));
  }
  if (ehdr.e_type != ET_EXEC) return file.Error("ELF is not an executable (ET_EXEC)");
  if (ehdr.e_phentsize != sizeof(Elf64_Phdr)) {
    return file.Error(absl::StrCat("ELF program header size ", ehdr.e_phentsize,
                                   " is not ", sizeof(Elf64_Phdr)));
  }
  if (ehdr.e_phnum == 0) return file.Error("ELF has no program headers");
  uint64_t ph_bytes = uint64_t{ehdr.e_phnum} * sizeof(Elf64_Phdr);
  if (AddOverflows(ehdr.e_phoff, ph_bytes) || ehdr.e_phoff + ph_bytes > file.size()) {
    return file.Error("ELF program headers lie past the end of the file");
  }
  std::vector<Elf64_Phdr> phdrs(ehdr.e_phnum);
  RETURN_IF_ERROR(file.ReadAt(ehdr.e_phoff, phdrs.data(), ph_bytes));

  LoadedKernel kernel;
  kernel.format = LoadedKernel::Format::kElf;
  kernel.entry = ehdr.e_entry;
  kernel.load_addr = UINT64_MAX;
  bool any_load = false;
  for (size_t i = 0; i < phdrs.size(); ++i) {
    const Elf64_Phdr& ph = phdrs[i];
    if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE) continue;
    if (AddOverflows(ph.p_offset, ph.p_filesz) || ph.p_offset + ph.p_filesz > file.size()) {
      return file.Error(absl::StrFormat(
          "program header %d: file range [%#x, +%#x) lies past the end of the file (%d bytes)",
          i, ph.p_offset, ph.p_filesz, file.size()));
    }
    if (ph.p_type == PT_NOTE) {
      if (ph.p_filesz > kMaxNoteSegmentSize) {
        return file.Error(absl::StrCat("PT_NOTE segment ", i, " is too large"));
      }
      std::vector<uint8_t> notes(ph.p_filesz);
      RETURN_IF_ERROR(file.ReadAt(ph.p_offset, notes.data(), notes.size()));
      ASSIGN_OR_RETURN(std::optional<uint64_t> pvh, FindPvhEntry(file, notes));
      if (pvh && !kernel.pvh_entry) kernel.pvh_entry = pvh;
      continue;
    }
    if (ph.p_filesz > ph.p_memsz) {
      return file.Error(absl::StrCat("segment ", i, ": p_filesz > p_memsz"));
    }
    if (ph.p_paddr < kHimemStart) {
      return file.Error(absl::StrFormat(
          "segment %d at %#x lies below 1 MiB, where the boot structures go", i,
          ph.p_paddr));
    }
    if (AddOverflows(ph.p_paddr, ph.p_memsz) ||
        !mem.Contains(GuestAddress(ph.p_paddr), ph.p_memsz)) {
      return file.Error(absl::StrFormat(
          "segment %d [%#x, +%#x) lies outside guest RAM", i, ph.p_paddr, ph.p_memsz));
    }
    RETURN_IF_ERROR(file.ReadIntoGuest(mem, GuestAddress(ph.p_paddr), ph.p_offset,
                                       ph.p_filesz));
    // Zero the BSS part: guest memory may not be fresh (reboot).
    uint64_t bss = ph.p_memsz - ph.p_filesz;
    if (bss > 0) {
      ASSIGN_OR_RETURN(uint8_t * host,
                       mem.HostAddress(GuestAddress(ph.p_paddr + ph.p_filesz), bss));
      std::memset(host, 0, bss);
    }
    any_load = true;
    kernel.load_addr = std::min<uint64_t>(kernel.load_addr, ph.p_paddr);
    kernel.kernel_end = std::max<uint64_t>(kernel.kernel_end, ph.p_paddr + ph.p_memsz);
  }
  if (!any_load) return file.Error("ELF has no PT_LOAD segment");

  // A vmlinux has no setup header; make the one boot_params needs.
  SetupHeader& hdr = kernel.header;
  hdr.boot_flag = kBootFlagMagic;
  hdr.header = kHdrSMagic;
  hdr.kernel_alignment = kDefaultKernelAlignment;
  hdr.initrd_addr_max = kDefaultInitrdAddrMax;
  hdr.cmdline_size = kDefaultCmdlineSize;
  kernel.cmdline_max_len = kDefaultCmdlineSize - 1;  // COMMAND_LINE_SIZE has the NUL.
  kernel.initrd_addr_max = kDefaultInitrdAddrMax;
  return kernel;
}

absl::StatusOr<LoadedKernel> LoadBzImage(const memory::GuestMemory& mem,
                                         const ImageFile& file) {
  // The header's own end: 0x202 + the jump's byte offset at 0x201 (boot.rst).
  uint8_t jump_offset = 0;
  RETURN_IF_ERROR(file.ReadAt(0x201, &jump_offset, 1));
  uint64_t header_end = std::min<uint64_t>(
      {0x202u + jump_offset, kSetupHeaderFileOffset + sizeof(SetupHeader), file.size()});
  LoadedKernel kernel;
  kernel.format = LoadedKernel::Format::kBzImage;
  SetupHeader& hdr = kernel.header;
  std::memset(&hdr, 0, sizeof(hdr));
  // SAFETY: SetupHeader is a packed, trivially-copyable struct; we fill a
  // prefix of it (header_end - 0x1f1 <= sizeof(SetupHeader) bytes).
  RETURN_IF_ERROR(file.ReadAt(kSetupHeaderFileOffset, reinterpret_cast<uint8_t*>(&hdr),
                              header_end - kSetupHeaderFileOffset));

  uint16_t version = hdr.version;
  if (version < kMinBootProtocol) {
    return file.Error(absl::StrFormat(
        "boot protocol %d.%02d is too old; 2.06 or newer is required", version >> 8,
        version & 0xff));
  }
  if (!(hdr.loadflags & kLoadedHigh)) {
    return file.Error("not a bzImage (loadflags LOADED_HIGH unset: zImage at 0x10000)");
  }
  if (!(hdr.xloadflags & kXlfKernel64)) {
    return file.Error(absl::StrFormat(
        "boot protocol %d.%02d kernel has no 64-bit entry point (xloadflags "
        "XLF_KERNEL_64 unset)",
        version >> 8, version & 0xff));
  }
  uint64_t setup_sects = hdr.setup_sects == 0 ? kDefaultSetupSects : hdr.setup_sects;
  uint64_t setup_size = (setup_sects + 1) * kSectorSize;
  if (setup_size >= file.size()) {
    return file.Error(absl::StrCat("setup code (", setup_size,
                                   " bytes) leaves no protected-mode kernel in the file"));
  }
  uint64_t pm_size = file.size() - setup_size;
  uint64_t footprint = std::max<uint64_t>(pm_size, hdr.init_size);

  // Where to load: pref_address if it fits (2.10+); a relocatable kernel
  // may instead go at the lowest kernel_alignment-aligned address >= 1 MiB.
  uint64_t low_end = LowRamEnd(mem);
  auto fits = [&](uint64_t addr) {
    return addr >= kHimemStart && !AddOverflows(addr, footprint) &&
           addr + footprint <= low_end;
  };
  // (Copies, not references: hdr is packed.)
  const uint64_t pref_address = hdr.pref_address;
  uint64_t load_addr = version >= 0x020a ? pref_address : kKernelLoadAddr;
  if (!fits(load_addr)) {
    uint32_t alignment = hdr.kernel_alignment;
    if (!hdr.relocatable_kernel) {
      return file.Error(absl::StrFormat(
          "non-relocatable kernel needs [%#x, +%#x) but guest low RAM ends at %#x",
          load_addr, footprint, low_end));
    }
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
      return file.Error(absl::StrFormat("kernel_alignment %#x is not a power of two",
                                        alignment));
    }
    load_addr = AlignUp(kKernelLoadAddr, alignment);
    if (!fits(load_addr)) {
      return file.Error(absl::StrFormat(
          "kernel needs %#x bytes (init_size) at %#x but guest low RAM ends at %#x",
          footprint, load_addr, low_end));
    }
  }
  RETURN_IF_ERROR(file.ReadIntoGuest(mem, GuestAddress(load_addr), setup_size, pm_size));

  kernel.load_addr = load_addr;
  kernel.entry = load_addr + kEntry64Offset;
  kernel.kernel_end = load_addr + footprint;
  hdr.code32_start = static_cast<uint32_t>(load_addr);
  kernel.cmdline_max_len = hdr.cmdline_size;
  kernel.initrd_addr_max = hdr.initrd_addr_max;
  return kernel;
}

}  // namespace

absl::StatusOr<LoadedKernel> LoadKernel(const memory::GuestMemory& mem,
                                        const std::string& path) {
  ASSIGN_OR_RETURN(ImageFile file, ImageFile::Open(path, "kernel"));
  if (file.size() >= SELFMAG) {
    unsigned char magic[SELFMAG];
    RETURN_IF_ERROR(file.ReadAt(0, magic, SELFMAG));
    if (std::memcmp(magic, ELFMAG, SELFMAG) == 0) return LoadElf(mem, file);
  }
  if (file.size() >= 0x206) {
    uint32_t hdrs = 0;
    RETURN_IF_ERROR(file.ReadAt(0x202, &hdrs, sizeof(hdrs)));
    if (hdrs == kHdrSMagic) return LoadBzImage(mem, file);
  }
  return file.Error(
      "neither an ELF vmlinux nor a bzImage (no ELF magic, no \"HdrS\" at 0x202)");
}

}  // namespace blimp::arch::x86_64
