// Fuzzes config-file JSON -> validated VM config: whatever the text, parsing
// either fails with InvalidArgument or yields a config that keeps the
// contract's limits.
#include <cstdint>
#include <string>

#include "api/validate.h"
#include "vmm/config_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string json(reinterpret_cast<const char*>(data), size);
  auto config = blimp::vmm::ParseConfigJson(json);
  if (!config.ok()) {
    if (config.status().code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
    return 0;
  }
  const auto& machine = config->machine;
  if (machine.vcpu_count < 1 || machine.vcpu_count > blimp::api::kMaxVcpus) __builtin_trap();
  if (machine.mem_size_mib < 1 || machine.mem_size_mib > blimp::api::kMaxMemMib) __builtin_trap();
  if (config->boot_source.kernel_image_path.empty()) __builtin_trap();
  if (config->balloon && config->balloon->amount_mib > machine.mem_size_mib) __builtin_trap();
  // And it survives a round trip.
  if (!blimp::vmm::FromProto(blimp::vmm::ToProto(*config)).ok()) __builtin_trap();
  return 0;
}
