// A small per-command flag parser for blimpctl's subcommands. absl flags are
// process-global and exit on errors, which a CLI that tests call in-process
// (Run(args, out, err)) cannot have; this parser keeps each command's flags
// local. Accepted forms: --name=value, --name value, --name (bools),
// --name=true|false; dashes and underscores in names are the same
// (--amount-mib == --amount_mib); "--" ends the flags; -h and --help set
// help(). Anything else starting with '-' is an error.
#ifndef BLIMP_CLIENT_FLAGS_H_
#define BLIMP_CLIENT_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace blimp::client {

class FlagSet {
 public:
  void String(const std::string& name, std::string* value, const std::string& help,
              const std::string& value_name = "VALUE");
  void Uint(const std::string& name, uint32_t* value, const std::string& help,
            const std::string& value_name = "N");
  void Bool(const std::string& name, bool* value, const std::string& help);

  // Sets the flags it finds and appends the other arguments to `positional`.
  // InvalidArgument for an unknown flag, a missing or malformed value.
  absl::Status Parse(const std::vector<std::string>& args,
                     std::vector<std::string>* positional);

  bool help() const { return help_; }
  // Whether the flag was given on the command line.
  bool seen(const std::string& name) const;
  // One line per flag: "  --name VALUE   help (default: x)".
  std::string Usage() const;

 private:
  enum class Kind { kString, kUint, kBool };
  struct Flag {
    std::string name;  // With dashes.
    Kind kind;
    void* value;
    std::string help;
    std::string value_name;
    std::string default_text;
    bool seen = false;
  };
  Flag* Find(const std::string& name);
  void Add(Flag flag);

  std::vector<Flag> flags_;
  bool help_ = false;
};

}  // namespace blimp::client

#endif  // BLIMP_CLIENT_FLAGS_H_
