// `blimpctl vm console`: connects to a VM's console.sock (a unix stream
// socket served by the VM's blimp-vmm) and copies bytes both ways until the
// socket closes, the input ends, or the user types Ctrl-] (0x1d). When `in` is a terminal it is
// put in raw mode for the session and restored afterwards.
#ifndef BLIMP_CLIENT_CONSOLE_H_
#define BLIMP_CLIENT_CONSOLE_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"

namespace blimp::client {

inline constexpr char kDetachByte = 0x1d;  // Ctrl-]

// Returns OK on detach, end of input or when blimp-vmm closes the console (the
// VM stopped); an error when the socket cannot be reached. `notes` gets the
// "attached"/"detached" lines (stderr, so that `out` carries only the
// guest's bytes).
absl::Status AttachConsole(const std::string& socket_path, int in, int out, std::ostream& notes);

}  // namespace blimp::client

#endif  // BLIMP_CLIENT_CONSOLE_H_
