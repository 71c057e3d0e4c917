// dump_acpi OUT_DIR VCPUS DEVICES: writes the ACPI tables Blimp would give a
// guest with VCPUS vCPUs and DEVICES virtio-mmio devices (in the standard
// slots) as OUT_DIR/{rsdp,xsdt,facp,apic,dsdt}.dat, for `iasl -d`.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "arch/x86_64/acpi.h"
#include "arch/x86_64/layout.h"

namespace {

bool WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  // SAFETY: reading uint8_t bytes as char for ostream::write.
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return out.good();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace blimp::arch::x86_64;  // NOLINT
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s OUT_DIR VCPUS DEVICES\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  uint32_t vcpus = static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10));
  uint32_t count = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10));
  std::vector<VirtioMmioSlot> devices;
  for (uint32_t i = 0; i < count; ++i) devices.push_back(VirtioMmioSlotAt(i));
  auto tables = BuildAcpiTables(vcpus, devices);
  if (!tables.ok()) {
    std::fprintf(stderr, "%s\n", tables.status().ToString().c_str());
    return 1;
  }
  bool ok = WriteFile(dir + "/rsdp.dat", tables->rsdp) &&
            WriteFile(dir + "/xsdt.dat", tables->xsdt) &&
            WriteFile(dir + "/facp.dat", tables->fadt) &&
            WriteFile(dir + "/apic.dat", tables->madt) &&
            WriteFile(dir + "/dsdt.dat", tables->dsdt);
  if (!ok) {
    std::fprintf(stderr, "cannot write to %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
