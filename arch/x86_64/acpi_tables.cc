#include "arch/x86_64/acpi_tables.h"

#include <cstring>

#include <glog/logging.h>

#include "arch/x86_64/layout.h"

namespace blimp::arch::x86_64 {
namespace {

void PutLe(AcpiBytes& t, size_t offset, uint64_t value, int bytes) {
  if (t.size() < offset + bytes) t.resize(offset + bytes);
  for (int i = 0; i < bytes; ++i) t[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

void PutChars(AcpiBytes& t, size_t offset, std::string_view s) {
  if (t.size() < offset + s.size()) t.resize(offset + s.size());
  std::memcpy(t.data() + offset, s.data(), s.size());
}

// Generic Address Structure: 12 bytes.
void PutGas(AcpiBytes& t, size_t offset, uint8_t space, uint8_t bit_width,
            uint8_t access_size, uint64_t address) {
  PutLe(t, offset, space, 1);
  PutLe(t, offset + 1, bit_width, 1);
  PutLe(t, offset + 2, 0, 1);  // Bit offset.
  PutLe(t, offset + 3, access_size, 1);
  PutLe(t, offset + 4, address, 8);
}

void PutIoByteGas(AcpiBytes& t, size_t offset, uint16_t port) {
  PutGas(t, offset, kGasSystemIo, 8, kGasAccessByte, port);
}

}  // namespace

uint8_t AcpiChecksum(const uint8_t* data, size_t len) {
  uint8_t sum = 0;
  for (size_t i = 0; i < len; ++i) sum = static_cast<uint8_t>(sum + data[i]);
  return sum;
}

AcpiBytes SdtHeader(std::string_view signature, uint8_t revision) {
  CHECK_EQ(signature.size(), 4u);
  AcpiBytes t(kSdtHeaderSize, 0);
  PutChars(t, 0, signature);
  PutLe(t, 8, revision, 1);
  PutChars(t, 10, std::string_view(kAcpiOemId, 6));
  // OEM table id: "BLIMP" and the signature, 8 bytes.
  PutChars(t, 16, "BLMP");
  PutChars(t, 20, signature);
  PutLe(t, 24, kAcpiOemRevision, 4);
  PutChars(t, 28, std::string_view(kAcpiCreatorId, 4));
  PutLe(t, 32, kAcpiCreatorRevision, 4);
  return t;
}

void FinishSdt(AcpiBytes& table) {
  PutLe(table, kSdtLengthOffset, table.size(), 4);
  table[kSdtChecksumOffset] = 0;
  table[kSdtChecksumOffset] =
      static_cast<uint8_t>(-AcpiChecksum(table.data(), table.size()));
}

AcpiBytes BuildRsdp(uint64_t xsdt_addr) {
  AcpiBytes t(kRsdpSize, 0);
  PutChars(t, 0, "RSD PTR ");
  PutChars(t, 9, std::string_view(kAcpiOemId, 6));
  PutLe(t, 15, 2, 1);          // Revision 2: ACPI 2.0+ RSDP with XSDT.
  PutLe(t, 16, 0, 4);          // RsdtAddress: none, the XSDT is used.
  PutLe(t, 20, kRsdpSize, 4);  // Length.
  PutLe(t, 24, xsdt_addr, 8);
  t[8] = static_cast<uint8_t>(-AcpiChecksum(t.data(), kRsdpV1Size));
  t[32] = static_cast<uint8_t>(-AcpiChecksum(t.data(), kRsdpSize));
  return t;
}

AcpiBytes BuildXsdt(const std::vector<uint64_t>& table_addrs) {
  AcpiBytes t = SdtHeader("XSDT", 1);
  for (uint64_t addr : table_addrs) PutLe(t, t.size(), addr, 8);
  FinishSdt(t);
  return t;
}

AcpiBytes BuildFadt(uint64_t dsdt_addr) {
  // Offsets from ACPI 6.5 Table 5.9.
  AcpiBytes t = SdtHeader("FACP", kFadtRevision);
  t.resize(kFadtSize, 0);
  // FIRMWARE_CTRL/X_FIRMWARE_CTRL stay 0: no FACS in hardware-reduced mode.
  // DSDT (32-bit) stays 0 because X_DSDT is set (5.2.9: one or the other).
  PutLe(t, 45, 0, 1);  // Preferred_PM_Profile: unspecified.
  PutLe(t, 46, 0, 2);  // SCI_INT: none (no fixed hardware, no GPEs).
  PutLe(t, 109, kBootArchVgaNotPresent | kBootArchMsiNotSupported |
                    kBootArchCmosRtcNotPresent, 2);
  PutLe(t, 112, kFadtHwReducedAcpi | kFadtResetRegSup | kFadtPwrButton | kFadtSlpButton, 4);
  PutIoByteGas(t, 116, kAcpiResetPort);  // RESET_REG
  PutLe(t, 128, kAcpiResetValue, 1);     // RESET_VALUE
  PutLe(t, 131, kFadtMinorRevision, 1);
  PutLe(t, 140, dsdt_addr, 8);                    // X_DSDT
  PutIoByteGas(t, 244, kAcpiSleepControlPort);    // SLEEP_CONTROL_REG
  PutIoByteGas(t, 256, kAcpiSleepStatusPort);     // SLEEP_STATUS_REG
  PutChars(t, 268, "BLIMPVMM");                   // Hypervisor Vendor Identity
  FinishSdt(t);
  return t;
}

AcpiBytes BuildMadt(uint32_t vcpu_count) {
  CHECK_GE(vcpu_count, 1u);
  CHECK_LE(vcpu_count, kMaxVcpus);
  AcpiBytes t = SdtHeader("APIC", kMadtRevision);
  PutLe(t, 36, kLapicAddr, 4);
  // PCAT_COMPAT: KVM's in-kernel irqchip does include the dual 8259s.
  PutLe(t, 40, kMadtPcatCompat, 4);
  for (uint32_t i = 0; i < vcpu_count; ++i) {
    size_t at = t.size();
    PutLe(t, at, kMadtLocalApic, 1);
    PutLe(t, at + 1, 8, 1);  // Length.
    PutLe(t, at + 2, i, 1);  // ACPI processor UID.
    PutLe(t, at + 3, i, 1);  // APIC id.
    PutLe(t, at + 4, kMadtLocalApicEnabled, 4);
  }
  size_t at = t.size();
  PutLe(t, at, kMadtIoApic, 1);
  PutLe(t, at + 1, 12, 1);  // Length.
  PutLe(t, at + 2, 0, 1);   // IOAPIC id (KVM's IOAPIC resets its id to 0).
  PutLe(t, at + 3, 0, 1);   // Reserved.
  PutLe(t, at + 4, kIoapicAddr, 4);
  PutLe(t, at + 8, 0, 4);   // Global system interrupt base.
  FinishSdt(t);
  return t;
}

}  // namespace blimp::arch::x86_64
