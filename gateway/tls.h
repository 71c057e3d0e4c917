// Mutual TLS for HttpServer's TCP listeners (HttpServerOptions::tcp_tls), on
// OpenSSL: one SSL_CTX made from PEM files, TLS 1.2 or newer, the client must
// present a certificate signed by the client CA (verify-peer +
// fail-if-no-peer-cert), no renegotiation. Its streams (tls_stream.h) are
// non-blocking SSL objects on the accepted sockets.
//
//   auto tls = TlsContext::Create({cert, key, client_ca});  // Checks the files.
//   options.tcp_tls = *tls;
#ifndef BLIMP_GATEWAY_TLS_H_
#define BLIMP_GATEWAY_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gateway/tls_stream.h"

// OpenSSL's type, without its headers in ours.
typedef struct ssl_ctx_st SSL_CTX;

namespace blimp::gateway {

struct TlsServerFiles {
  std::string cert;       // PEM: the server certificate (and its chain).
  std::string key;        // PEM: its private key.
  std::string client_ca;  // PEM: CA(s) whose client certificates are accepted.
};

class TlsContext final : public TlsAcceptor {
 public:
  // InvalidArgument naming the file when one is unreadable or not PEM, or
  // when the key does not belong to the certificate.
  static absl::StatusOr<std::shared_ptr<TlsContext>> Create(const TlsServerFiles& files);
  ~TlsContext() override;

  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  absl::StatusOr<std::unique_ptr<TlsStream>> Accept(int fd) const override;

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;  // Owned.
};

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_TLS_H_
