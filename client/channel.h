// The gRPC channel blimpctl and blimp-autoballoon open to blimpd: plain on a
// unix socket (unix:PATH) and on a loopback HOST:PORT, mutual TLS on
// HOST:PORT with --tls-cert, --tls-key (the client's certificate) and
// --tls-ca (the CA that signed blimpd's certificate). --tls-server-name
// checks the server certificate for that name instead of HOST.
#ifndef BLIMP_CLIENT_CHANNEL_H_
#define BLIMP_CLIENT_CHANNEL_H_

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"

namespace blimp::client {

struct ChannelTls {
  std::string cert;  // PEM files.
  std::string key;
  std::string ca;
  std::string server_name;  // Optional.

  bool any() const { return !cert.empty() || !key.empty() || !ca.empty() || !server_name.empty(); }
};

// InvalidArgument (naming the flag or file) for an incomplete set of TLS
// flags, TLS with a unix: server, or a file that cannot be read.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& server,
                                                           const ChannelTls& tls);

}  // namespace blimp::client

#endif  // BLIMP_CLIENT_CHANNEL_H_
