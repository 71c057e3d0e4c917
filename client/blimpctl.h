// blimpctl: the command-line client of blimpd's gRPC API. Run() is the whole
// program minus main(): tests call it with their own streams.
//   blimpctl vm create|start|stop|delete|get|list|console ...
//   blimpctl balloon set|get|stats|metrics|interval ...
//   blimpctl balloon hinting start|status|stop ...
// Exit codes: 0 ok, 1 server error (or blimpd unreachable), 2 usage error,
// 3 `balloon set --wait` stalled.
#ifndef BLIMP_CLIENT_BLIMPCTL_H_
#define BLIMP_CLIENT_BLIMPCTL_H_

#include <ostream>
#include <string>
#include <vector>

namespace blimp::client {

// `args` without the program name. `interactive`: stdout is a terminal
// (progress bars and --watch redraw in place).
int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        bool interactive = false);

}  // namespace blimp::client

#endif  // BLIMP_CLIENT_BLIMPCTL_H_
