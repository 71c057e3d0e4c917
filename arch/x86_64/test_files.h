// Test helper: writes bytes to a fresh file under $TEST_TMPDIR.
#ifndef BLIMP_ARCH_X86_64_TEST_FILES_H_
#define BLIMP_ARCH_X86_64_TEST_FILES_H_

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace blimp::arch::x86_64 {

inline std::string WriteTestFile(const std::string& name, const std::vector<uint8_t>& bytes) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = std::string(dir ? dir : "/tmp") + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),  // SAFETY: byte view.
            static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_TEST_FILES_H_
