// What HttpServer needs of TLS, without any TLS library in its build:
// a TlsAcceptor wraps each accepted TCP socket in a TlsStream whose
// Handshake/Read/Write never block and say when they want the socket
// readable or writable, so the server's epoll state machine drives them
// like recv/send. tls.h is the OpenSSL implementation (blimpd links it;
// blimp-vmm, whose --api-sock is a unix socket, does not).
#ifndef BLIMP_GATEWAY_TLS_STREAM_H_
#define BLIMP_GATEWAY_TLS_STREAM_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace blimp::gateway {

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
  virtual ~TlsStream() = default;
  virtual TlsResult Handshake() = 0;
  virtual bool handshake_done() const = 0;
  // Plaintext in and out; on kDone `*n` is the count.
  virtual TlsResult Read(char* buffer, size_t size, size_t* n) = 0;
  virtual TlsResult Write(const char* data, size_t size, size_t* n) = 0;
  // Received or decrypted bytes the stream holds that epoll cannot see.
  virtual bool HasPending() const = 0;
  // Sends close_notify once, best effort (never blocks).
  virtual void Shutdown() = 0;
  // Why the last kError or kClosed happened, for logs.
  virtual const std::string& error() const = 0;
};

class TlsAcceptor {
 public:
  virtual ~TlsAcceptor() = default;
  // A server-side stream on the connected, non-blocking socket `fd` (not
  // owned: it must outlive the stream). Thread-safe.
  virtual absl::StatusOr<std::unique_ptr<TlsStream>> Accept(int fd) const = 0;
};

}  // namespace blimp::gateway

#endif  // BLIMP_GATEWAY_TLS_STREAM_H_
