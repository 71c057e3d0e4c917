// A small encoder for the ACPI Machine Language we need in a DSDT (ACPI 6.5
// chapter 20, "ACPI Machine Language Specification"; resource descriptors in
// section 6.4): names, integers, strings, packages, buffers, Name / Scope /
// Device, and ResourceTemplate buffers with IO, IRQNoFlags, Memory32Fixed
// and extended Interrupt descriptors. Each function returns the encoded
// bytes of one term, so terms nest by value.
#ifndef BLIMP_ARCH_X86_64_AML_H_
#define BLIMP_ARCH_X86_64_AML_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace blimp::arch::x86_64::aml {

using Bytes = std::vector<uint8_t>;

// Opcodes and prefixes (ACPI 6.5 section 20.3).
inline constexpr uint8_t kZeroOp = 0x00;
inline constexpr uint8_t kOneOp = 0x01;
inline constexpr uint8_t kNameOp = 0x08;
inline constexpr uint8_t kBytePrefix = 0x0a;
inline constexpr uint8_t kWordPrefix = 0x0b;
inline constexpr uint8_t kDWordPrefix = 0x0c;
inline constexpr uint8_t kStringPrefix = 0x0d;
inline constexpr uint8_t kQWordPrefix = 0x0e;
inline constexpr uint8_t kScopeOp = 0x10;
inline constexpr uint8_t kBufferOp = 0x11;
inline constexpr uint8_t kPackageOp = 0x12;
inline constexpr uint8_t kExtOpPrefix = 0x5b;
inline constexpr uint8_t kDeviceOp = 0x82;  // After kExtOpPrefix.
inline constexpr uint8_t kDualNamePrefix = 0x2e;
inline constexpr uint8_t kMultiNamePrefix = 0x2f;
inline constexpr uint8_t kRootChar = 0x5c;
inline constexpr uint8_t kParentPrefixChar = 0x5e;
inline constexpr uint8_t kNullName = 0x00;

// PkgLength for `payload_len` bytes following it (section 20.2.4): the
// encoded length counts its own bytes. Up to 2^28 - 5 bytes.
Bytes PkgLength(size_t payload_len);

// A NameString: "\\_SB_.VR00", "_HID", "^FOO". Segments shorter than four
// characters are padded with '_'.
Bytes NameString(std::string_view path);

// The shortest encoding: ZeroOp, OneOp, or Byte/Word/DWord/QWord const.
Bytes Integer(uint64_t value);
// A NUL-terminated ASCII string.
Bytes String(std::string_view value);
// EISAID("PNP0501") as ASL's EisaId() encodes it: a DWordConst.
Bytes EisaId(std::string_view id);

Bytes Package(const std::vector<Bytes>& elements);
Bytes Buffer(const Bytes& data);
Bytes Name(std::string_view name, const Bytes& value);
Bytes Scope(std::string_view name, const std::vector<Bytes>& terms);
Bytes Device(std::string_view name, const std::vector<Bytes>& terms);

// Resource descriptors (section 6.4), to put in ResourceTemplate().
// IO(Decode16, min, max, alignment, length).
Bytes Io(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length);
// IRQNoFlags() {irq}: edge-triggered, active-high, exclusive, irq < 16.
Bytes IrqNoFlags(uint8_t irq);
// Memory32Fixed(ReadWrite or ReadOnly, base, length).
Bytes Memory32Fixed(bool writable, uint32_t base, uint32_t length);
// Interrupt(ResourceConsumer, Edge|Level, ActiveHigh|ActiveLow,
// Exclusive|Shared) {irq}.
Bytes Interrupt(bool edge, bool active_low, bool shared, uint32_t irq);
// A Buffer holding the descriptors and the End Tag.
Bytes ResourceTemplate(const std::vector<Bytes>& descriptors);

}  // namespace blimp::arch::x86_64::aml

#endif  // BLIMP_ARCH_X86_64_AML_H_
