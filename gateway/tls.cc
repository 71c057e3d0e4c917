#include "gateway/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace blimp::gateway {
namespace {

// OpenSSL's queued errors as one line (and the queue emptied): the reason a
// file did not load, or a handshake failed.
std::string TakeErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    absl::StrAppend(&out, out.empty() ? "" : "; ", text);
  }
  return out.empty() ? "unknown error" : out;
}

absl::Status Readable(const char* what, const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat("no ", what, " file given"));
  if (::access(path.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the ", what, " file ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status Bad(const char* what, const std::string& path) {
  return absl::InvalidArgumentError(
      absl::StrCat("the ", what, " file ", path, " does not load: ", TakeErrors()));
}

// One accepted connection: a non-blocking SSL object on its socket.
class OpenSslStream final : public TlsStream {
 public:
  explicit OpenSslStream(SSL* ssl) : ssl_(ssl) {}
  ~OpenSslStream() override { SSL_free(ssl_); }

  OpenSslStream(const OpenSslStream&) = delete;
  OpenSslStream& operator=(const OpenSslStream&) = delete;

  TlsResult Handshake() override;
  bool handshake_done() const override { return handshake_done_; }
  TlsResult Read(char* buffer, size_t size, size_t* n) override;
  TlsResult Write(const char* data, size_t size, size_t* n) override;
  bool HasPending() const override { return SSL_has_pending(ssl_) == 1; }
  void Shutdown() override;
  const std::string& error() const override { return error_; }

 private:
  TlsResult Outcome(int ret);

  SSL* ssl_;  // Owned.
  bool handshake_done_ = false;
  bool shut_down_ = false;
  std::string error_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<TlsContext>> TlsContext::Create(const TlsServerFiles& files) {
  for (auto [what, path] : {std::pair<const char*, const std::string*>{"certificate", &files.cert},
                            {"key", &files.key},
                            {"client CA", &files.client_ca}}) {
    if (absl::Status readable = Readable(what, *path); !readable.ok()) return readable;
  }
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) return absl::InternalError("SSL_CTX_new: " + TakeErrors());
  std::shared_ptr<TlsContext> context(new TlsContext(raw));
  SSL_CTX* ctx = context->ctx_;
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return absl::InternalError("TLS 1.2 minimum: " + TakeErrors());
  }
  // A renegotiation would make a read want a write mid-response; nobody
  // needs it for a REST call. EOF without close_notify is a close (curl and
  // others do it), not an error.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Flush() hands SSL_write what is left of its buffer, which moves and may
  // be partly taken.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) {
    return Bad("certificate", files.cert);
  }
  // The key is parsed here, not by SSL_CTX_use_PrivateKey_file, so that a
  // key of another certificate gets its own message.
  std::FILE* key_file = std::fopen(files.key.c_str(), "r");
  if (key_file == nullptr) return Bad("key", files.key);
  // No passphrase prompt on blimpd's terminal: an encrypted key just fails.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
  EVP_PKEY* key = PEM_read_PrivateKey(key_file, nullptr, no_passphrase, nullptr);
  std::fclose(key_file);
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("the key file ", files.key,
                                                   " does not load (an unencrypted PEM key is "
                                                   "needed): ",
                                                   TakeErrors()));
  }
  const bool matches = X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) == 1;
  const bool used = matches && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  if (!matches) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "the key ", files.key, " does not belong to the certificate ", files.cert));
  }
  if (!used) return Bad("key", files.key);
  if (SSL_CTX_load_verify_locations(ctx, files.client_ca.c_str(), nullptr) != 1) {
    return Bad("client CA", files.client_ca);
  }
  // The CA names the server asks for, so a client picks the right certificate.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
  if (names == nullptr) return Bad("client CA", files.client_ca);
  SSL_CTX_set_client_CA_list(ctx, names);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

absl::StatusOr<std::unique_ptr<TlsStream>> TlsContext::Accept(int fd) const {
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return absl::ResourceExhaustedError("SSL_new: " + TakeErrors());
  auto stream = std::make_unique<OpenSslStream>(ssl);
  if (SSL_set_fd(ssl, fd) != 1) return absl::InternalError("SSL_set_fd: " + TakeErrors());
  SSL_set_accept_state(ssl);
  return stream;
}

TlsResult OpenSslStream::Outcome(int ret) {
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      return TlsResult::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return TlsResult::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return TlsResult::kClosed;
    case SSL_ERROR_SYSCALL:
      // A reset or EOF with nothing queued: the peer is gone.
      if (ERR_peek_error() == 0) {
        error_ = saved_errno != 0 ? std::strerror(saved_errno) : "the peer closed the connection";
        return TlsResult::kClosed;
      }
      error_ = TakeErrors();
      return TlsResult::kError;
    default:
      error_ = TakeErrors();
      return TlsResult::kError;
  }
}

TlsResult OpenSslStream::Handshake() {
  if (handshake_done_) return TlsResult::kDone;
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    handshake_done_ = true;
    return TlsResult::kDone;
  }
  return Outcome(ret);
}

TlsResult OpenSslStream::Read(char* buffer, size_t size, size_t* n) {
  ERR_clear_error();
  const int ret = SSL_read_ex(ssl_, buffer, size, n);
  if (ret == 1) return TlsResult::kDone;
  return Outcome(ret);
}

TlsResult OpenSslStream::Write(const char* data, size_t size, size_t* n) {
  ERR_clear_error();
  const int ret = SSL_write_ex(ssl_, data, size, n);
  if (ret == 1) return TlsResult::kDone;
  return Outcome(ret);
}

void OpenSslStream::Shutdown() {
  if (shut_down_ || !handshake_done_) return;
  shut_down_ = true;
  ERR_clear_error();
  (void)SSL_shutdown(ssl_);  // Queues and tries to send close_notify; may not.
  ERR_clear_error();
}

}  // namespace blimp::gateway
