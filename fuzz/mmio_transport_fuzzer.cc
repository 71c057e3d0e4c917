// Fuzzes the virtio-mmio register file: any sequence of reads and writes of
// any size at any offset, with a balloon behind it.
#include <cstdint>

#include "glog/logging.h"

#include "device/virtio/balloon/balloon.h"
#include "device/virtio/mmio_transport.h"
#include "fuzz/fuzz_input.h"

namespace blimp::fuzz {
namespace {

class NullLine : public device::InterruptLine {
 public:
  void Trigger() override {}
};

}  // namespace

// Guest mistakes are logged; the fuzzer makes millions of them.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FLAGS_minloglevel = 3;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static memory::GuestMemory memory = *memory::GuestMemory::CreateRam(1 << 20);
  static NullLine line;
  FuzzInput input(data, size);
  device::virtio::balloon::BalloonOptions options{64, true, true, true, true};
  device::virtio::MmioTransport transport(
      std::make_unique<device::virtio::balloon::Balloon>(options), memory, line);
  while (!input.empty()) {
    uint8_t op = input.Take<uint8_t>();
    uint64_t offset = input.Take<uint16_t>() % 0x1000;
    size_t len = 1u << (op % 4);  // 1, 2, 4 or 8 bytes.
    uint8_t bytes[8];
    if (op & 0x80) {
      uint64_t value = input.Take<uint32_t>();
      // Bias writes towards the registers that matter.
      if (op & 0x40) offset = (op & 0x3c) * 4;
      std::memcpy(bytes, &value, 8);
      transport.Write(offset, absl::MakeConstSpan(bytes, len));
    } else {
      transport.Read(offset, absl::MakeSpan(bytes, len));
    }
  }
  return 0;
}

}  // namespace blimp::fuzz
