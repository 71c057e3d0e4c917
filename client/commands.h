// blimpctl's command table: each command has its help text and a function
// that parses its own flags (through Env::Parse) and runs it.
#ifndef BLIMP_CLIENT_COMMANDS_H_
#define BLIMP_CLIENT_COMMANDS_H_

#include <string>
#include <vector>

#include "client/env.h"

namespace blimp::client {

struct Command {
  CommandHelp help;
  int (*run)(Env& env, const CommandHelp& help, const std::vector<std::string>& args);
};

// `path` made absolute against the current directory: blimpd opens the
// files a command names, from its own working directory.
std::string Absolute(const std::string& path);

// vm create|start|stop|delete|get|list|console.
std::vector<Command> VmCommands();
// vm snapshot|restore|migrate.
std::vector<Command> SnapshotCommands();
// balloon set|get|stats|metrics|interval, balloon hinting start|status|stop.
std::vector<Command> BalloonCommands();
// top (top.cc).
std::vector<Command> TopCommands();

}  // namespace blimp::client

#endif  // BLIMP_CLIENT_COMMANDS_H_
