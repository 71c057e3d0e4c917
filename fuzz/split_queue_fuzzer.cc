// Fuzzes descriptor chain walking: the driver's rings are arbitrary bytes
// in a small guest memory, the queue is configured from the input too.
#include <cstdint>

#include "glog/logging.h"

#include "device/virtio/split_queue.h"
#include "fuzz/fuzz_input.h"

namespace blimp::fuzz {

// Guest mistakes are logged; the fuzzer makes millions of them.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FLAGS_minloglevel = 3;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static memory::GuestMemory memory = *memory::GuestMemory::CreateRam(64 * 1024);
  FuzzInput input(data, size);
  // The first 16 KiB of guest memory hold whatever the fuzzer wrote.
  uint8_t* ram = *memory.HostAddress(memory::GuestAddress(0), 16 * 1024);
  std::memset(ram, 0, 16 * 1024);
  device::virtio::SplitQueue queue(256);
  queue.set_size(input.Take<uint16_t>());
  queue.set_desc_addr(input.Take<uint16_t>());
  queue.set_avail_addr(input.Take<uint16_t>());
  queue.set_used_addr(input.Take<uint16_t>());
  input.TakeBytes(ram, 16 * 1024);
  if (!queue.SetReady(memory).ok()) return 0;
  for (int i = 0; i < 512; ++i) {
    auto chain = queue.Pop(memory);
    if (chain.ok() && !chain->has_value()) break;
    if (chain.ok()) {
      uint32_t total = 0;
      for (const auto& buffer : (*chain)->buffers) {
        // Every buffer the queue hands out lies inside guest RAM.
        if (!memory.Contains(buffer.addr, buffer.len)) __builtin_trap();
        total += buffer.len;
      }
      (void)queue.AddUsed(memory, (*chain)->head, total);
    }
    (void)queue.NeedsInterrupt(memory);
  }
  return 0;
}

}  // namespace blimp::fuzz
