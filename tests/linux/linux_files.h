// Where the tests find the Blimp Linux guest built by
// tests/guest/linux/build_image.sh: $BLIMP_LINUX_DIR (scripts/test.sh builds
// them and passes it with --test_env). Tests skip loudly when it is unset
// and fail when it is set but the files are missing.
#ifndef BLIMP_TESTS_LINUX_LINUX_FILES_H_
#define BLIMP_TESTS_LINUX_LINUX_FILES_H_

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace blimp::tests {

inline std::string LinuxDir() {
  const char* dir = std::getenv("BLIMP_LINUX_DIR");
  return dir ? dir : "";
}

inline bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

inline std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace blimp::tests

#define REQUIRE_LINUX_FILES()                                                          \
  if (::blimp::tests::LinuxDir().empty())                                              \
    GTEST_SKIP() << "SKIPPED: BLIMP_LINUX_DIR is not set (scripts/test.sh builds the " \
                    "Linux guest with tests/guest/linux/build_image.sh and sets it)"; \
  for (const char* f : {"bzImage", "vmlinux", "initramfs.cpio", "kernel-version"})     \
    ASSERT_TRUE(::blimp::tests::FileExists(::blimp::tests::LinuxDir() + "/" + f))      \
        << ::blimp::tests::LinuxDir() << "/" << f                                      \
        << " is missing: run tests/guest/linux/build_image.sh"

#endif  // BLIMP_TESTS_LINUX_LINUX_FILES_H_
