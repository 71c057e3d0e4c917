#include "client/env.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/channel.h"

namespace blimp::client {

std::string FormatHelp(const CommandHelp& help, const FlagSet& flags) {
  std::string out = absl::StrCat("Usage: blimpctl ", help.name, " ", help.synopsis, "\n\n",
                                 help.summary, "\n");
  if (!help.details.empty()) absl::StrAppend(&out, "\n", help.details, "\n");
  absl::StrAppend(&out, "\nFlags:\n", flags.Usage());
  return out;
}

std::optional<int> Env::Parse(const CommandHelp& help, FlagSet& flags, bool read_command,
                              const std::vector<std::string>& args,
                              const std::vector<std::string>& positional_names,
                              std::vector<std::string>* positional) {
  help_ = &help;
  flags.String("server", &server_,
               "blimpd's gRPC address: unix:PATH or HOST:PORT", "ADDR");
  flags.String("tls-cert", &tls_.cert,
               "PEM client certificate for a HOST:PORT --server with mutual TLS", "FILE");
  flags.String("tls-key", &tls_.key, "PEM private key of --tls-cert", "FILE");
  flags.String("tls-ca", &tls_.ca, "PEM CA certificate that signed blimpd's certificate",
               "FILE");
  flags.String("tls-server-name", &tls_.server_name,
               "name to check blimpd's certificate for (default: the --server host)", "NAME");
  if (read_command) flags.String("output", &output_, "table or json", "FORMAT");
  absl::Status parsed = flags.Parse(args, positional);
  if (flags.help()) {
    out_ << FormatHelp(help, flags);
    return kExitOk;
  }
  if (!parsed.ok()) return UsageError(std::string(parsed.message()));
  if (output_ != "table" && output_ != "json") {
    return UsageError(absl::StrCat("--output wants table or json, not \"", output_, "\""));
  }
  if (positional->size() < positional_names.size()) {
    return UsageError(absl::StrCat(
        "missing ",
        absl::StrJoin(positional_names.begin() + positional->size(), positional_names.end(),
                      " ")));
  }
  if (positional->size() > positional_names.size()) {
    return UsageError(absl::StrCat("unexpected argument \"", (*positional)[positional_names.size()],
                                   "\""));
  }
  // Checked now, so a bad TLS flag is a usage error before any call.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(server_, tls_);
  if (!channel.ok()) return UsageError(std::string(channel.status().message()));
  channel_ = *std::move(channel);
  return std::nullopt;
}

int Env::UsageError(const std::string& message) {
  err_ << "blimpctl: " << message << "\n";
  if (help_ != nullptr) {
    err_ << "Usage: blimpctl " << help_->name << " " << help_->synopsis << "\n"
         << "Run 'blimpctl " << help_->name << " --help' for more.\n";
  }
  return kExitUsage;
}

void Env::EnsureChannel() {
  if (vms_) return;
  if (!channel_) channel_ = grpc::CreateChannel(server_, grpc::InsecureChannelCredentials());
  vms_ = blimp::v1::VmService::NewStub(channel_);
  balloons_ = blimp::v1::BalloonService::NewStub(channel_);
}

blimp::v1::VmService::Stub& Env::vms() {
  EnsureChannel();
  return *vms_;
}

blimp::v1::BalloonService::Stub& Env::balloons() {
  EnsureChannel();
  return *balloons_;
}

std::unique_ptr<grpc::ClientContext> Env::Context(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

int Env::ServerError(const grpc::Status& status, const std::string& what) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    err_ << "blimpctl: cannot reach blimpd at " << server_ << ": " << status.error_message()
         << "\n(is blimpd running? --server chooses another address)\n";
  } else if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    err_ << "blimpctl: " << what << ": blimpd did not answer in time (" << server_ << ")\n";
  } else {
    err_ << "blimpctl: " << what << ": " << status.error_message() << "\n";
  }
  return kExitError;
}

}  // namespace blimp::client
