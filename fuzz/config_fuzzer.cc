// Fuzzes config-file JSON -> validated VM config: whatever the text, parsing
// (the strict pre-pass, then protobuf's parser) either fails with
// InvalidArgument or yields a config that keeps the contract's limits, and
// what ToJson prints of it parses again to the same config.
#include <cstdint>
#include <string>

#include "api/json.h"
#include "api/validate.h"
#include "proto/blimp/v1/config.pb.h"
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
  const blimp::v1::VmConfig proto = blimp::vmm::ToProto(*config);
  if (!blimp::vmm::FromProto(proto).ok()) __builtin_trap();
  // The printer and the strict parser agree.
  blimp::v1::VmConfig again;
  if (!blimp::api::ParseJson(blimp::api::ToJson(proto), &again).ok()) __builtin_trap();
  if (again.SerializeAsString() != proto.SerializeAsString()) __builtin_trap();
  return 0;
}
