// Host programs end-to-end tests run (curl, promtool, prometheus): found on
// PATH, and run through the shell with their output captured. scripts/setup.sh
// installs every one, so a missing tool is a failure, not a skip.
#ifndef BLIMP_TESTS_E2E_HOST_TOOLS_H_
#define BLIMP_TESTS_E2E_HOST_TOOLS_H_

#include <string>

#include "absl/status/statusor.h"

namespace blimp::tests {

// The first executable `name` on PATH; NotFound naming scripts/setup.sh.
absl::StatusOr<std::string> FindTool(const std::string& name);

struct CommandResult {
  int exit_code = -1;  // -1: did not exit normally.
  std::string output;  // stdout and stderr together.
};

// `sh -c command`, waited for. Bound it with `timeout N` in `command`.
CommandResult RunCommand(const std::string& command);

}  // namespace blimp::tests

#endif  // BLIMP_TESTS_E2E_HOST_TOOLS_H_
