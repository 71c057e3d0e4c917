// Lets users spell flags with dashes (`--config-file`, as Firecracker does)
// although absl flag names are identifiers (`config_file`).
#ifndef BLIMP_BASE_DASHED_FLAGS_H_
#define BLIMP_BASE_DASHED_FLAGS_H_

#include <string>
#include <vector>

namespace blimp::base {

// argv with '-' turned into '_' in each flag's name (the part after the
// leading dashes and before '='). Arguments after a bare "--" and values are
// left alone.
std::vector<std::string> DashesToUnderscores(int argc, char** argv);

// Owns the rewritten arguments and exposes them as argc/argv.
class NormalizedArgs {
 public:
  NormalizedArgs(int argc, char** argv);
  int argc() const { return static_cast<int>(pointers_.size()) - 1; }
  char** argv() { return pointers_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<char*> pointers_;
};

}  // namespace blimp::base

#endif  // BLIMP_BASE_DASHED_FLAGS_H_
