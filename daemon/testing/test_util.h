// Helpers for blimpd's tests: a short temporary run directory (unix socket
// paths must stay under 108 bytes), runfiles paths, minimal VM configs.
#ifndef BLIMP_DAEMON_TESTING_TEST_UTIL_H_
#define BLIMP_DAEMON_TESTING_TEST_UTIL_H_

#include <string>
#include <vector>

#include "proto/blimp/v1/config.pb.h"

namespace blimp::daemon::testing {

// A new empty directory under /tmp (0700), removed by the destructor.
class TempRunDir {
 public:
  TempRunDir();
  ~TempRunDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A file in the test's runfiles, e.g. "vmm/blimp-vmm".
std::string Runfile(const std::string& path);

// A config blimp-vmm accepts in --wait-for-start mode: `kernel` must be a
// readable file; 64 MiB, 1 vCPU, no balloon.
blimp::v1::VmConfig MinimalConfig(const std::string& kernel);

// Whether a process exists (and is not a zombie).
bool ProcessAlive(int pid);

// Every socket below `dir`, recursively.
std::vector<std::string> FindSockets(const std::string& dir);

}  // namespace blimp::daemon::testing

#endif  // BLIMP_DAEMON_TESTING_TEST_UTIL_H_
