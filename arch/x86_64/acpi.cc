#include "arch/x86_64/acpi.h"

#include "absl/strings/str_format.h"
#include "arch/x86_64/dsdt.h"
#include "base/status_macros.h"

namespace blimp::arch::x86_64 {
namespace {

uint64_t Align16(uint64_t v) { return (v + 15) & ~uint64_t{15}; }

}  // namespace

absl::Status ValidateAcpiInput(uint32_t vcpu_count,
                               const std::vector<VirtioMmioSlot>& devices) {
  if (vcpu_count == 0 || vcpu_count > kMaxVcpus) {
    return absl::InvalidArgumentError(
        absl::StrFormat("vcpu_count %d is not in [1, %d]", vcpu_count, kMaxVcpus));
  }
  if (devices.size() > kMaxVirtioMmioDevices) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d virtio-mmio devices; at most %d fit", devices.size(), kMaxVirtioMmioDevices));
  }
  for (const VirtioMmioSlot& d : devices) {
    if (d.size == 0 || d.base > UINT32_MAX || d.size > UINT32_MAX - d.base + 1) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "virtio-mmio device [%#x, +%#x) is not inside the 32-bit address space", d.base,
          d.size));
    }
    if (d.irq >= kIoapicPins || d.irq == kCom1Irq) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "virtio-mmio device at %#x: IRQ %d is not a free IOAPIC pin", d.base, d.irq));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AcpiTables> BuildAcpiTables(uint32_t vcpu_count,
                                           const std::vector<VirtioMmioSlot>& devices) {
  RETURN_IF_ERROR(ValidateAcpiInput(vcpu_count, devices));
  AcpiTables t;
  t.madt = BuildMadt(vcpu_count);
  t.dsdt = BuildDsdt(devices);
  AcpiLayout& l = t.layout;
  l.rsdp = kRsdpAddr;
  l.xsdt = Align16(l.rsdp + kRsdpSize);
  // The XSDT points at the FADT and MADT: 36 + 2 * 8 bytes.
  l.fadt = Align16(l.xsdt + kSdtHeaderSize + 2 * 8);
  l.madt = Align16(l.fadt + kFadtSize);
  l.dsdt = Align16(l.madt + t.madt.size());
  l.end = l.dsdt + t.dsdt.size();
  if (l.end > kAcpiEnd) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ACPI tables need %#x bytes, more than the %#x reserved", l.end - kAcpiStart,
        kAcpiEnd - kAcpiStart));
  }
  t.fadt = BuildFadt(l.dsdt);
  t.xsdt = BuildXsdt({l.fadt, l.madt});
  t.rsdp = BuildRsdp(l.xsdt);
  return t;
}

absl::StatusOr<uint64_t> WriteAcpiTables(const memory::GuestMemory& mem, uint32_t vcpu_count,
                                         const std::vector<VirtioMmioSlot>& devices) {
  ASSIGN_OR_RETURN(AcpiTables t, BuildAcpiTables(vcpu_count, devices));
  using memory::GuestAddress;
  // Clear the region first: no stale tables from an earlier boot.
  std::vector<uint8_t> zeroes(kAcpiEnd - kAcpiStart, 0);
  RETURN_IF_ERROR(mem.Write(GuestAddress(kAcpiStart), zeroes.data(), zeroes.size()));
  RETURN_IF_ERROR(mem.Write(GuestAddress(t.layout.rsdp), t.rsdp.data(), t.rsdp.size()));
  RETURN_IF_ERROR(mem.Write(GuestAddress(t.layout.xsdt), t.xsdt.data(), t.xsdt.size()));
  RETURN_IF_ERROR(mem.Write(GuestAddress(t.layout.fadt), t.fadt.data(), t.fadt.size()));
  RETURN_IF_ERROR(mem.Write(GuestAddress(t.layout.madt), t.madt.data(), t.madt.size()));
  RETURN_IF_ERROR(mem.Write(GuestAddress(t.layout.dsdt), t.dsdt.data(), t.dsdt.size()));
  return t.layout.rsdp;
}

}  // namespace blimp::arch::x86_64
