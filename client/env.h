// What every blimpctl command shares: its output streams, the common flags
// (--server, --tls-*, --output, --run-dir), argument parsing with --help and usage
// errors, the gRPC stubs, and the exit codes.
#ifndef BLIMP_CLIENT_ENV_H_
#define BLIMP_CLIENT_ENV_H_

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "client/channel.h"
#include "client/flags.h"
#include "proto/blimp/v1/balloon_service.grpc.pb.h"
#include "proto/blimp/v1/vm_service.grpc.pb.h"

namespace blimp::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;    // The server said no, or is unreachable.
inline constexpr int kExitUsage = 2;    // Bad command line.
inline constexpr int kExitStalled = 3;  // balloon set --wait: the guest stopped moving.

inline constexpr char kDefaultServer[] = "unix:/run/blimp/blimp.grpc.sock";
inline constexpr char kDefaultRunDir[] = "/run/blimp";

// The text of one command's --help.
struct CommandHelp {
  std::string name;      // "balloon set"
  std::string synopsis;  // "ID --amount-mib N [--wait]"
  std::string summary;   // One line for the command list.
  std::string details;   // More paragraphs, may be empty.
};

class Env {
 public:
  Env(std::ostream& out, std::ostream& err, bool interactive)
      : out_(out), err_(err), interactive_(interactive) {}

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  // stdout is a terminal (progress bars redraw in place).
  bool interactive() const { return interactive_; }

  const std::string& server() const { return server_; }
  const std::string& run_dir() const { return run_dir_; }
  bool json() const { return output_ == "json"; }

  // Parses `args` for the command `help` with `flags` plus the common ones
  // (--output only when `read_command`), and wants exactly the positional
  // arguments named in `positional_names`. Returns an exit code when the
  // command must end now: 0 after printing --help, kExitUsage after a usage
  // error (printed with the synopsis).
  std::optional<int> Parse(const CommandHelp& help, FlagSet& flags, bool read_command,
                           const std::vector<std::string>& args,
                           const std::vector<std::string>& positional_names,
                           std::vector<std::string>* positional);

  // Prints "blimpctl: MESSAGE" and the synopsis; returns kExitUsage.
  int UsageError(const std::string& message);

  blimp::v1::VmService::Stub& vms();
  blimp::v1::BalloonService::Stub& balloons();
  // A context with a deadline `timeout` from now (never wait-for-ready: a
  // daemon that is not there fails fast).
  std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout = absl::Seconds(30));

  // Prints the server's error (or that blimpd cannot be reached) on stderr;
  // returns kExitError.
  int ServerError(const grpc::Status& status, const std::string& what);

  // Prints `message` as JSON or text depending on --output.
  template <typename Message>
  void Print(const Message& message, const std::string& text);

 private:
  void EnsureChannel();

  std::ostream& out_;
  std::ostream& err_;
  const bool interactive_;
  const CommandHelp* help_ = nullptr;
  std::string server_ = kDefaultServer;
  std::string output_ = "table";
  std::string run_dir_ = kDefaultRunDir;
  ChannelTls tls_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<blimp::v1::VmService::Stub> vms_;
  std::unique_ptr<blimp::v1::BalloonService::Stub> balloons_;
};

// "Usage: blimpctl NAME SYNOPSIS", the summary, details and `flags`.
std::string FormatHelp(const CommandHelp& help, const FlagSet& flags);

}  // namespace blimp::client

#include "api/json.h"

namespace blimp::client {

template <typename Message>
void Env::Print(const Message& message, const std::string& text) {
  if (json()) {
    out_ << api::ToJson(message) << "\n";
  } else {
    out_ << text;
  }
  out_.flush();
}

}  // namespace blimp::client

#endif  // BLIMP_CLIENT_ENV_H_
