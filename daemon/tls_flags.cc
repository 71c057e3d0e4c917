#include "daemon/tls_flags.h"

#include <fstream>
#include <sstream>
#include <utility>

#include <grpcpp/security/server_credentials.h>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "daemon/listen_address.h"

ABSL_FLAG(std::string, tls_cert, "",
          "PEM server certificate for --grpc-listen and --http-listen (mutual TLS; with "
          "--tls-key and --tls-client-ca)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls-cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificate(s): TCP clients must present a certificate signed by one");

namespace blimp::daemon {
namespace {

std::string ReadFile(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

// Plain text on TCP only where nobody but this host can connect.
absl::Status CheckPlaintext(const char* flag, const std::string& host_port) {
  if (host_port.empty()) return absl::OkStatus();
  absl::StatusOr<bool> loopback = IsLoopbackListenAddress(host_port);
  if (!loopback.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", loopback.status().message()));
  }
  if (*loopback) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "--", flag, " ", host_port,
      " is not a loopback address: blimpd serves its API beyond this host only with mutual "
      "TLS (--tls-cert, --tls-key, --tls-client-ca; see daemon/README.md, TLS)"));
}

}  // namespace

absl::StatusOr<TcpSecurity> SecureTcpListeners(const TcpListenFlags& flags) {
  const int given =
      !flags.tls_cert.empty() + !flags.tls_key.empty() + !flags.tls_client_ca.empty();
  TcpSecurity security;
  if (given == 0) {
    if (absl::Status ok = CheckPlaintext("grpc-listen", flags.grpc_listen); !ok.ok()) return ok;
    if (absl::Status ok = CheckPlaintext("http-listen", flags.http_listen); !ok.ok()) return ok;
    security.grpc = grpc::InsecureServerCredentials();
    return security;
  }
  if (given != 3) {
    return absl::InvalidArgumentError(
        "--tls-cert, --tls-key and --tls-client-ca go together (mutual TLS needs all three)");
  }
  if (flags.grpc_listen.empty() && flags.http_listen.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert, --tls-key and --tls-client-ca apply to --grpc-listen and --http-listen; "
        "neither is given (the unix sockets never use TLS)");
  }
  // Parses all three and checks the key against the certificate, for both
  // listeners: gRPC would only fail later, at its first connection.
  absl::StatusOr<std::shared_ptr<gateway::TlsContext>> rest =
      gateway::TlsContext::Create({flags.tls_cert, flags.tls_key, flags.tls_client_ca});
  if (!rest.ok()) return rest.status();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = ReadFile(flags.tls_client_ca);
  options.pem_key_cert_pairs.push_back({ReadFile(flags.tls_key), ReadFile(flags.tls_cert)});
  security.tls = true;
  security.grpc = grpc::SslServerCredentials(options);
  grpc::SslCredentialsOptions client;
  client.pem_root_certs = options.pem_root_certs;
  client.pem_private_key = options.pem_key_cert_pairs[0].private_key;
  client.pem_cert_chain = options.pem_key_cert_pairs[0].cert_chain;
  security.migration = grpc::SslCredentials(client);
  security.rest = *std::move(rest);
  return security;
}

TcpListenFlags TcpListenFlagsFromCommandLine(const std::string& grpc_listen,
                                             const std::string& http_listen) {
  return {grpc_listen, http_listen, absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
          absl::GetFlag(FLAGS_tls_client_ca)};
}

}  // namespace blimp::daemon
