// The guest's ways to power off and reset the machine, seen by the VMM:
// the ACPI hw-reduced sleep control/status and reset registers the FADT
// points at (I/O ports, arch/x86_64/layout.h), and the i8042 controller's
// reset line (command 0xFE on port 0x64), which Linux also tries.
#ifndef BLIMP_VMM_POWER_DEVICES_H_
#define BLIMP_VMM_POWER_DEVICES_H_

#include <functional>

#include "device/bus.h"
#include "vmm/exit_reason.h"

namespace blimp::vmm {

using ExitRequest = std::function<void(ExitReason)>;

// Three one-byte registers: sleep control (+0), sleep status (+1), reset (+2).
class AcpiPowerDevice : public device::BusDevice {
 public:
  static constexpr uint8_t kSleepTypeS5 = 5;
  static constexpr uint8_t kResetValue = 1;

  explicit AcpiPowerDevice(ExitRequest request) : request_(std::move(request)) {}
  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

 private:
  ExitRequest request_;
};

// Ports 0x60 (data, +0) and 0x64 (status/command, +4): no keyboard, just
// the reset command.
class I8042Device : public device::BusDevice {
 public:
  static constexpr uint8_t kResetCommand = 0xfe;

  explicit I8042Device(ExitRequest request) : request_(std::move(request)) {}
  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

 private:
  ExitRequest request_;
};

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_POWER_DEVICES_H_
