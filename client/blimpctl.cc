#include "client/blimpctl.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "client/env.h"

namespace blimp::client {
namespace {

std::vector<Command> AllCommands() {
  std::vector<Command> commands = VmCommands();
  for (Command& command : SnapshotCommands()) commands.push_back(std::move(command));
  for (Command& command : BalloonCommands()) commands.push_back(std::move(command));
  for (Command& command : TopCommands()) commands.push_back(std::move(command));
  return commands;
}

// The command list, for the top level or one group ("vm", "balloon hinting").
std::string ListCommands(const std::vector<Command>& commands, const std::string& group) {
  size_t width = 0;
  for (const Command& command : commands) width = std::max(width, command.help.name.size());
  std::string out;
  for (const Command& command : commands) {
    if (!group.empty() && !absl::StartsWith(command.help.name, group + " ")) continue;
    absl::StrAppend(&out, "  ", command.help.name,
                    std::string(width + 2 - command.help.name.size(), ' '), command.help.summary,
                    "\n");
  }
  return out;
}

std::string TopHelp(const std::vector<Command>& commands) {
  return absl::StrCat(
      "Usage: blimpctl COMMAND [ARGS] [FLAGS]\n\n"
      "The command-line client of blimpd (gRPC on ", kDefaultServer,
      " unless --server\nADDR says otherwise: unix:PATH or HOST:PORT).\n\nCommands:\n",
      ListCommands(commands, ""),
      "\nEvery command takes --help. Read commands take --output table|json.\n"
      "Exit codes: 0 ok, 1 the server refused or cannot be reached, 2 usage error,\n"
      "3 balloon set --wait stalled.\n");
}

// Flags of Env::Parse that take a separate value, so that their value is not
// mistaken for a command word ("--server unix:/x vm list").
bool TakesValue(const std::string& arg) {
  static const char* const kValueFlags[] = {"--server", "--output", "--run-dir", "--run_dir",
                                            "-server",  "-output"};
  for (const char* flag : kValueFlags) {
    if (arg == flag) return true;
  }
  return false;
}

}  // namespace

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        bool interactive) {
  const std::vector<Command> commands = AllCommands();
  // The command words: the leading non-flag arguments, flags may come first.
  std::vector<size_t> word_indexes;
  bool help = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help" || arg == "help") {
      help = true;
      continue;
    }
    if (absl::StartsWith(arg, "-")) {
      if (TakesValue(arg)) ++i;
      continue;
    }
    word_indexes.push_back(i);
  }
  // The longest command whose name is a prefix of the words.
  const Command* match = nullptr;
  size_t match_words = 0;
  std::string words;
  for (size_t n = 1; n <= word_indexes.size(); ++n) {
    words = absl::StrCat(words, n > 1 ? " " : "", args[word_indexes[n - 1]]);
    for (const Command& command : commands) {
      if (command.help.name == words) {
        match = &command;
        match_words = n;
      }
    }
  }
  if (match == nullptr) {
    // A group ("vm", "balloon hinting") or nothing: list what there is.
    std::string group;
    for (size_t n = 0; n < word_indexes.size(); ++n) {
      std::string longer = absl::StrCat(group, n ? " " : "", args[word_indexes[n]]);
      if (ListCommands(commands, longer).empty()) break;
      group = longer;
    }
    std::string listing = group.empty() ? TopHelp(commands)
                                        : absl::StrCat("Usage: blimpctl ", group,
                                                       " SUBCOMMAND [ARGS] [FLAGS]\n\n"
                                                       "Subcommands:\n",
                                                       ListCommands(commands, group));
    const size_t used = group.empty() ? 0 : static_cast<size_t>(
                                                std::count(group.begin(), group.end(), ' ') + 1);
    if (help && used == word_indexes.size()) {
      out << listing;
      return kExitOk;
    }
    if (word_indexes.size() > used) {
      const std::string& word = args[word_indexes[used]];
      err << "blimpctl: unknown command \"" << (group.empty() ? word : group + " " + word)
          << "\"\n";
    } else {
      err << "blimpctl: " << (group.empty() ? "a command" : "a subcommand") << " is needed\n";
    }
    err << listing;
    return kExitUsage;
  }
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    if (std::find(word_indexes.begin(), word_indexes.begin() + match_words, i) !=
        word_indexes.begin() + match_words) {
      continue;
    }
    rest.push_back(args[i] == "help" ? "--help" : args[i]);
  }
  Env env(out, err, interactive);
  return match->run(env, match->help, rest);
}

}  // namespace blimp::client
