#include "arch/x86_64/dsdt.h"

#include "absl/strings/str_format.h"
#include "arch/x86_64/aml.h"

namespace blimp::arch::x86_64 {

AcpiBytes BuildDsdt(const std::vector<VirtioMmioSlot>& devices) {
  using namespace aml;  // NOLINT: the DSDT reads like ASL this way.
  std::vector<Bytes> sb;
  sb.push_back(Device(
      "COM1", {Name("_HID", EisaId("PNP0501")), Name("_UID", Integer(0)),
               Name("_CRS", ResourceTemplate({Io(kCom1Port, kCom1Port, 1, kCom1PortCount),
                                              IrqNoFlags(kCom1Irq)}))}));
  for (size_t i = 0; i < devices.size(); ++i) {
    const VirtioMmioSlot& d = devices[i];
    sb.push_back(Device(
        absl::StrFormat("VR%02X", i),
        {Name("_HID", String(kVirtioMmioHid)), Name("_UID", Integer(i)),
         Name("_CRS",
              ResourceTemplate({Memory32Fixed(true, static_cast<uint32_t>(d.base),
                                              static_cast<uint32_t>(d.size)),
                                Interrupt(/*edge=*/true, /*active_low=*/false,
                                          /*shared=*/false, d.irq)}))}));
  }
  AcpiBytes t = SdtHeader("DSDT", kDsdtRevision);
  for (const Bytes& term :
       {Name("\\_S5_", Package({Integer(kSleepTypeS5), Integer(0), Integer(0), Integer(0)})),
        Scope("\\_SB_", sb)}) {
    t.insert(t.end(), term.begin(), term.end());
  }
  FinishSdt(t);
  return t;
}

}  // namespace blimp::arch::x86_64
