// TLS with client certificates (mutual TLS) for HttpServer's TCP listeners,
// on OpenSSL. TlsContext is the server's SSL_CTX, made once from PEM files:
// TLS 1.2 or newer, the client must present a certificate signed by the
// client CA (verify-peer + fail-if-no-peer-cert), no renegotiation.
// TlsStream is one non-blocking connection over it: Handshake/Read/Write
// never block and say when they want the socket readable or writable, so the
// server's epoll state machine drives them like plain recv/send.
//
//   auto tls = TlsContext::Create({cert, key, client_ca});  // Checks the files.
//   auto stream = TlsStream::Accept(**tls, fd);
//   stream->Handshake()  -> kDone | kWantRead | kWantWrite | kClosed | kError
#ifndef BLIMP_GATEWAY_TLS_H_
#define BLIMP_GATEWAY_TLS_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// OpenSSL's types, without its headers in ours.
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace blimp::gateway {

struct TlsServerFiles {
  std::string cert;       // PEM: the server certificate (and its chain).
  std::string key;        // PEM: its private key.
  std::string client_ca;  // PEM: CA(s) whose client certificates are accepted.
};

class TlsContext {
 public:
  // InvalidArgument naming the file when one is unreadable or not PEM, or
  // when the key does not belong to the certificate.
  static absl::StatusOr<std::shared_ptr<TlsContext>> Create(const TlsServerFiles& files);
  ~TlsContext();

  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;  // Owned.
};

// The outcome of one non-blocking TLS step.
enum class TlsResult {
  kDone,       // Handshake finished, or `*n` bytes were read/written.
  kWantRead,   // Call again once the socket is readable.
  kWantWrite,  // Call again once the socket is writable.
  kClosed,     // The peer closed (close_notify or EOF).
  kError,      // Protocol error, bad or missing certificate, socket error.
};

class TlsStream {
 public:
  // A server-side stream on the connected, non-blocking socket `fd` (not
  // owned: it must outlive the stream).
  static absl::StatusOr<std::unique_ptr<TlsStream>> Accept(const TlsContext& context, int fd);
  ~TlsStream();

  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  TlsResult Handshake();
  bool handshake_done() const { return handshake_done_; }
  // Plaintext in and out; on kDone `*n` is the count.
  TlsResult Read(char* buffer, size_t size, size_t* n);
  TlsResult Write(const char* data, size_t size, size_t* n);
  // Decrypted or received bytes OpenSSL holds that epoll cannot see.
  bool HasPending() const;
  // Sends close_notify once, best effort (never blocks).
  void Shutdown();
  // Why the last kError happened (OpenSSL's reason), for logs.
  const std::string& error() const { return error_; }

 private:
  explicit TlsStream(SSL* ssl) : ssl_(ssl) {}
  TlsResult Outcome(int ret);

  SSL* ssl_;  // Owned.
  bool handshake_done_ = false;
  bool shut_down_ = false;
  std::string error_;
};

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_TLS_H_
