#include "daemon/testing/test_util.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "daemon/run_dir.h"
#include "glog/logging.h"

namespace blimp::daemon::testing {

TempRunDir::TempRunDir() {
  char pattern[] = "/tmp/blimpd-test-XXXXXX";
  char* dir = ::mkdtemp(pattern);
  CHECK(dir != nullptr) << "mkdtemp";
  path_ = dir;
}

TempRunDir::~TempRunDir() { RemoveTree(path_).IgnoreError(); }

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::string root = srcdir != nullptr ? srcdir : ".";
  return root + "/blimp/" + path;
}

blimp::v1::VmConfig MinimalConfig(const std::string& kernel) {
  blimp::v1::VmConfig config;
  config.mutable_boot_source()->set_kernel_image_path(kernel);
  config.mutable_machine_config()->set_vcpu_count(1);
  config.mutable_machine_config()->set_mem_size_mib(64);
  return config;
}

bool ProcessAlive(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("State:", 0) == 0) return line.find("Z (zombie)") == std::string::npos;
  }
  return false;
}

std::vector<std::string> FindSockets(const std::string& dir) {
  std::vector<std::string> sockets;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return sockets;
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISSOCK(st.st_mode)) sockets.push_back(path);
    if (S_ISDIR(st.st_mode)) {
      for (std::string& inner : FindSockets(path)) sockets.push_back(std::move(inner));
    }
  }
  ::closedir(d);
  return sockets;
}

}  // namespace blimp::daemon::testing
