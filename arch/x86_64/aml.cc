#include "arch/x86_64/aml.h"

#include <glog/logging.h>

namespace blimp::arch::x86_64::aml {
namespace {

void Append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

void AppendLe(Bytes& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// `op` (one or two bytes), PkgLength, then `body`.
Bytes WithPkgLength(const Bytes& op, const Bytes& body) {
  Bytes out = op;
  Append(out, PkgLength(body.size()));
  Append(out, body);
  return out;
}

void AppendNameSeg(Bytes& out, std::string_view seg) {
  CHECK(!seg.empty() && seg.size() <= 4) << "bad AML name segment '" << seg << "'";
  for (size_t i = 0; i < 4; ++i) out.push_back(i < seg.size() ? seg[i] : '_');
}

}  // namespace

Bytes PkgLength(size_t payload_len) {
  // One byte holds up to 63; longer ones use 1-3 extra bytes, the first
  // holding the low nibble (section 20.2.4).
  if (payload_len + 1 <= 63) return {static_cast<uint8_t>(payload_len + 1)};
  for (size_t extra = 1; extra <= 3; ++extra) {
    size_t total = payload_len + 1 + extra;
    if (total < (size_t{1} << (4 + 8 * extra))) {
      Bytes out = {static_cast<uint8_t>((extra << 6) | (total & 0xf))};
      AppendLe(out, total >> 4, static_cast<int>(extra));
      return out;
    }
  }
  LOG(FATAL) << "AML package too large: " << payload_len;
  return {};
}

Bytes NameString(std::string_view path) {
  Bytes out;
  while (!path.empty() && (path[0] == '\\' || path[0] == '^')) {
    out.push_back(path[0] == '\\' ? kRootChar : kParentPrefixChar);
    path.remove_prefix(1);
  }
  std::vector<std::string_view> segs;
  while (!path.empty()) {
    size_t dot = path.find('.');
    segs.push_back(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  if (segs.empty()) {
    out.push_back(kNullName);
  } else if (segs.size() == 2) {
    out.push_back(kDualNamePrefix);
  } else if (segs.size() > 2) {
    CHECK_LE(segs.size(), 255u);
    out.push_back(kMultiNamePrefix);
    out.push_back(static_cast<uint8_t>(segs.size()));
  }
  for (std::string_view seg : segs) AppendNameSeg(out, seg);
  return out;
}

Bytes Integer(uint64_t value) {
  if (value == 0) return {kZeroOp};
  if (value == 1) return {kOneOp};
  Bytes out;
  if (value <= 0xff) {
    out.push_back(kBytePrefix);
    AppendLe(out, value, 1);
  } else if (value <= 0xffff) {
    out.push_back(kWordPrefix);
    AppendLe(out, value, 2);
  } else if (value <= 0xffffffff) {
    out.push_back(kDWordPrefix);
    AppendLe(out, value, 4);
  } else {
    out.push_back(kQWordPrefix);
    AppendLe(out, value, 8);
  }
  return out;
}

Bytes String(std::string_view value) {
  Bytes out = {kStringPrefix};
  for (char c : value) {
    // As unsigned: char is signed here, so `c < 0x80` alone always holds.
    uint8_t byte = static_cast<uint8_t>(c);
    CHECK(byte > 0 && byte < 0x80) << "AML strings are 7-bit ASCII without NUL";
    out.push_back(byte);
  }
  out.push_back(0);
  return out;
}

Bytes EisaId(std::string_view id) {
  CHECK_EQ(id.size(), 7u) << "EISA id must be 3 letters and 4 hex digits";
  uint32_t vendor = 0;
  for (int i = 0; i < 3; ++i) vendor = (vendor << 5) | ((id[i] - 0x40) & 0x1f);
  uint32_t product = 0;
  for (int i = 3; i < 7; ++i) {
    char c = id[i];
    uint32_t digit = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    CHECK_LT(digit, 16u) << "bad hex digit in EISA id " << id;
    product = (product << 4) | digit;
  }
  // The four bytes are stored big-endian: vendor then product.
  uint32_t value = ((vendor >> 8) & 0xff) | ((vendor & 0xff) << 8) |
                   (((product >> 8) & 0xff) << 16) | ((product & 0xff) << 24);
  Bytes out = {kDWordPrefix};
  AppendLe(out, value, 4);
  return out;
}

Bytes Package(const std::vector<Bytes>& elements) {
  CHECK_LE(elements.size(), 255u);
  Bytes body = {static_cast<uint8_t>(elements.size())};
  for (const Bytes& e : elements) Append(body, e);
  return WithPkgLength({kPackageOp}, body);
}

Bytes Buffer(const Bytes& data) {
  Bytes body = Integer(data.size());
  Append(body, data);
  return WithPkgLength({kBufferOp}, body);
}

Bytes Name(std::string_view name, const Bytes& value) {
  Bytes out = {kNameOp};
  Append(out, NameString(name));
  Append(out, value);
  return out;
}

Bytes Scope(std::string_view name, const std::vector<Bytes>& terms) {
  Bytes body = NameString(name);
  for (const Bytes& t : terms) Append(body, t);
  return WithPkgLength({kScopeOp}, body);
}

Bytes Device(std::string_view name, const std::vector<Bytes>& terms) {
  Bytes body = NameString(name);
  for (const Bytes& t : terms) Append(body, t);
  return WithPkgLength({kExtOpPrefix, kDeviceOp}, body);
}

Bytes Io(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length) {
  // Small item 0x08 (I/O port), 7 bytes: tag 0x47, decode16 flag.
  Bytes out = {0x47, 0x01};
  AppendLe(out, min, 2);
  AppendLe(out, max, 2);
  out.push_back(alignment);
  out.push_back(length);
  return out;
}

Bytes IrqNoFlags(uint8_t irq) {
  CHECK_LT(irq, 16);
  // Small item 0x04 (IRQ), 2 bytes: the IRQ mask; edge/high/exclusive.
  Bytes out = {0x22};
  AppendLe(out, 1u << irq, 2);
  return out;
}

Bytes Memory32Fixed(bool writable, uint32_t base, uint32_t length) {
  // Large item 0x06, 9 bytes of data.
  Bytes out = {0x86, 0x09, 0x00, static_cast<uint8_t>(writable ? 1 : 0)};
  AppendLe(out, base, 4);
  AppendLe(out, length, 4);
  return out;
}

Bytes Interrupt(bool edge, bool active_low, bool shared, uint32_t irq) {
  // Large item 0x09 (Extended Interrupt), one interrupt: 6 bytes of data.
  uint8_t flags = 0x01 /* consumer */ | (edge ? 0x02 : 0) | (active_low ? 0x04 : 0) |
                  (shared ? 0x08 : 0);
  Bytes out = {0x89, 0x06, 0x00, flags, 0x01};
  AppendLe(out, irq, 4);
  return out;
}

Bytes ResourceTemplate(const std::vector<Bytes>& descriptors) {
  Bytes data;
  for (const Bytes& d : descriptors) Append(data, d);
  // End Tag (small item 0x0F): checksum 0 means "not checked" (6.4.2.9).
  data.push_back(0x79);
  data.push_back(0x00);
  return Buffer(data);
}

}  // namespace blimp::arch::x86_64::aml
