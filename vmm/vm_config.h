// The configuration of one microVM as plain structs: what vmm/ and device/
// work with. Converted from the proto config (and validated) once, at the
// edge (config_file.h).
#ifndef BLIMP_VMM_VM_CONFIG_H_
#define BLIMP_VMM_VM_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>

namespace blimp::vmm {

struct MachineConfig {
  uint32_t vcpu_count = 1;
  uint32_t mem_size_mib = 128;
  bool smt = false;
};

struct BootSourceConfig {
  std::string kernel_image_path;
  std::string initrd_path;  // Empty: no initrd.
  std::string boot_args;
};

struct BalloonConfig {
  uint32_t amount_mib = 0;
  bool deflate_on_oom = false;
  uint32_t stats_polling_interval_s = 0;
  bool free_page_reporting = false;
  bool free_page_hinting = false;
  // blimpd's, carried so that it sees the mode of an adopted VM; "" = monitor.
  std::string memory_enforcement;
};

struct VmConfig {
  BootSourceConfig boot_source;
  MachineConfig machine;
  std::optional<BalloonConfig> balloon;
};

}  // namespace blimp::vmm

#endif  // BLIMP_VMM_VM_CONFIG_H_
