#include "vmm/power_devices.h"

#include <algorithm>

namespace blimp::vmm {
namespace {

// ACPI 6.4, 4.8.3.7 (sleep control register): SLP_TYP in bits 2-4, SLP_EN
// bit 5.
constexpr uint8_t kSleepEnable = 1 << 5;
constexpr int kSleepTypeShift = 2;
constexpr uint8_t kSleepTypeMask = 0x7;

constexpr uint64_t kSleepControl = 0;
constexpr uint64_t kReset = 2;
constexpr uint64_t kI8042Command = 4;

}  // namespace

void AcpiPowerDevice::Read(uint64_t offset, absl::Span<uint8_t> data) {
  // Sleep status reads 0 (WAK_STS clear); the other registers read 0 too.
  std::fill(data.begin(), data.end(), 0);
}

void AcpiPowerDevice::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  if (data.size() != 1) return;
  uint8_t value = data[0];
  if (offset == kSleepControl && (value & kSleepEnable) &&
      ((value >> kSleepTypeShift) & kSleepTypeMask) == kSleepTypeS5) {
    request_(ExitReason::kPowerOff);
  } else if (offset == kReset && value == kResetValue) {
    request_(ExitReason::kReboot);
  }
}

void I8042Device::Read(uint64_t offset, absl::Span<uint8_t> data) {
  // Status 0: output buffer empty, input buffer empty, so a guest polling
  // before a command never waits.
  std::fill(data.begin(), data.end(), 0);
}

void I8042Device::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  if (offset == kI8042Command && data.size() == 1 && data[0] == kResetCommand) {
    request_(ExitReason::kReboot);
  }
}

}  // namespace blimp::vmm
