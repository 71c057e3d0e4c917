// blimpd's TCP listeners and their security: --tls-cert, --tls-key and
// --tls-client-ca turn on mutual TLS for both --grpc-listen and
// --http-listen (clients must present a certificate the client CA signed).
// Without them a TCP listener must be a loopback address: blimpd refuses to
// start rather than serve its API unauthenticated to the network.
#ifndef BLIMP_DAEMON_TLS_FLAGS_H_
#define BLIMP_DAEMON_TLS_FLAGS_H_

#include <memory>
#include <string>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"
#include "gateway/tls.h"

namespace blimp::daemon {

struct TcpListenFlags {
  std::string grpc_listen;  // HOST:PORT or empty.
  std::string http_listen;
  std::string tls_cert;  // PEM files; all three or none.
  std::string tls_key;
  std::string tls_client_ca;
};

struct TcpSecurity {
  bool tls = false;
  // For --grpc-listen: SSL credentials requiring a verified client
  // certificate, or insecure ones (loopback only).
  std::shared_ptr<grpc::ServerCredentials> grpc;
  // For --http-listen (HttpServerOptions::tcp_tls); null: plain HTTP.
  std::shared_ptr<const gateway::TlsAcceptor> rest;
  // For MigrateVm's connection to another blimpd: this blimpd's certificate
  // as the client's, the client CA as the root the target's certificate
  // must chain to (one fleet CA signs both). Null without TLS.
  std::shared_ptr<grpc::ChannelCredentials> migration;
};

// Checks the rules above and the files (readable, PEM, the key is the
// certificate's); the message names the flag or file at fault.
absl::StatusOr<TcpSecurity> SecureTcpListeners(const TcpListenFlags& flags);

// The flags from blimpd's command line (--grpc-listen and --http-listen are
// defined in main.cc and passed in).
TcpListenFlags TcpListenFlagsFromCommandLine(const std::string& grpc_listen,
                                             const std::string& http_listen);

}  // namespace blimp::daemon

#endif  // BLIMP_DAEMON_TLS_FLAGS_H_
