#include "vmm/power_devices.h"

#include <vector>

#include "gtest/gtest.h"

namespace blimp::vmm {
namespace {

class PowerDevicesTest : public ::testing::Test {
 protected:
  ExitRequest Recorder() {
    return [this](ExitReason reason) { requests_.push_back(reason); };
  }
  static void WriteByte(device::BusDevice& device, uint64_t offset, uint8_t value) {
    device.Write(offset, absl::MakeConstSpan(&value, 1));
  }
  std::vector<ExitReason> requests_;
};

TEST_F(PowerDevicesTest, AcpiSleepS5PowersOff) {
  AcpiPowerDevice acpi(Recorder());
  WriteByte(acpi, 0, (5 << 2) | (1 << 5));
  EXPECT_EQ(requests_, std::vector<ExitReason>{ExitReason::kPowerOff});
}

TEST_F(PowerDevicesTest, OtherSleepWritesAreIgnored) {
  AcpiPowerDevice acpi(Recorder());
  WriteByte(acpi, 0, 5 << 2);               // No SLP_EN.
  WriteByte(acpi, 0, (3 << 2) | (1 << 5));  // S3.
  WriteByte(acpi, 1, 0xff);                 // Status register.
  WriteByte(acpi, 2, 7);                    // Not the reset value.
  uint16_t wide = 0x34;
  acpi.Write(0, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&wide), 2));
  EXPECT_TRUE(requests_.empty());
  uint8_t status = 0xff;
  acpi.Read(1, absl::MakeSpan(&status, 1));
  EXPECT_EQ(status, 0);
}

TEST_F(PowerDevicesTest, AcpiResetRegisterReboots) {
  AcpiPowerDevice acpi(Recorder());
  WriteByte(acpi, 2, AcpiPowerDevice::kResetValue);
  EXPECT_EQ(requests_, std::vector<ExitReason>{ExitReason::kReboot});
}

TEST_F(PowerDevicesTest, I8042ResetCommandReboots) {
  I8042Device i8042(Recorder());
  WriteByte(i8042, 0, 0xfe);  // Data port: not a command.
  WriteByte(i8042, 4, 0xaa);  // Another command.
  EXPECT_TRUE(requests_.empty());
  WriteByte(i8042, 4, 0xfe);
  EXPECT_EQ(requests_, std::vector<ExitReason>{ExitReason::kReboot});
}

}  // namespace
}  // namespace blimp::vmm
