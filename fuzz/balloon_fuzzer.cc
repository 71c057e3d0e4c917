// Fuzzes the balloon's queue processing (inflate, deflate, stats, hinting,
// reporting) with arbitrary ring and buffer contents. Every host access goes
// through GuestMemory's bounds checks; AddressSanitizer and UBSan catch
// anything that escapes them.
#include <cstdint>

#include "glog/logging.h"

#include "device/virtio/balloon/balloon.h"
#include "device/virtio/virtio_defs.h"
#include "fuzz/fuzz_input.h"

namespace blimp::fuzz {
namespace {

class NullSink : public device::virtio::InterruptSink {
 public:
  void SignalUsedBuffers() override {}
  void SignalConfigChange() override {}
};

constexpr uint64_t kRam = 1 << 20;

}  // namespace

// Guest mistakes are logged; the fuzzer makes millions of them.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FLAGS_minloglevel = 3;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static memory::GuestMemory memory = *memory::GuestMemory::CreateRam(kRam);
  FuzzInput input(data, size);
  uint8_t* ram = *memory.HostAddress(memory::GuestAddress(0), kRam);
  std::memset(ram, 0, 64 * 1024);
  // Rings for five queues in the first 40 KiB, buffers anywhere in 64 KiB.
  input.TakeBytes(ram, 64 * 1024);

  uint8_t flags = input.Take<uint8_t>();
  device::virtio::balloon::BalloonOptions options{input.Take<uint32_t>(), bool(flags & 1),
                                                  bool(flags & 2), bool(flags & 4),
                                                  bool(flags & 8)};
  device::virtio::balloon::Balloon balloon(options);
  std::vector<std::unique_ptr<device::virtio::SplitQueue>> queues;
  NullSink sink;
  device::virtio::ActivateContext context{&memory, {}, input.Take<uint64_t>(), &sink};
  for (size_t i = 0; i < balloon.queue_max_sizes().size(); ++i) {
    auto queue = std::make_unique<device::virtio::SplitQueue>(256);
    queue->set_size(16);
    queue->set_desc_addr(i * 0x2000);
    queue->set_avail_addr(i * 0x2000 + 0x1000);
    queue->set_used_addr(i * 0x2000 + 0x1800);
    if (!queue->SetReady(memory).ok()) return 0;
    context.queues.push_back(queue.get());
    queues.push_back(std::move(queue));
  }
  if (!balloon.Activate(context).ok()) return 0;
  while (!input.empty()) {
    uint8_t op = input.Take<uint8_t>();
    switch (op % 6) {
      case 0: balloon.ProcessQueue(input.Take<uint8_t>() % 8); break;
      case 1: balloon.RequestStats(); break;
      case 2: balloon.SetTargetPages(input.Take<uint32_t>()); break;
      case 3: balloon.StartHinting(op & 8); break;
      case 4: balloon.StopHinting(); break;
      case 5: {
        uint32_t value = input.Take<uint32_t>();
        balloon.WriteConfig(input.Take<uint8_t>() % 24,
                            absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&value),
                                                1 + op % 4));
        break;
      }
    }
  }
  return 0;
}

}  // namespace blimp::fuzz
