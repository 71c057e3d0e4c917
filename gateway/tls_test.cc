// TlsContext's file checks, and HttpServer's TCP listeners with mutual TLS:
// a good client is served, others are refused and counted, a slow handshake
// is closed at the header time-out, the unix socket stays plain.
#include "gateway/tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/unique_fd.h"
#include "gateway/http_server.h"
#include "gateway/testing/test_certs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blimp::gateway {
namespace {

using ::testing::HasSubstr;

// "/big" answers 256 KiB (many TLS records, partial writes); anything else
// echoes the path.
class EchoHandler : public HttpHandler {
 public:
  HttpResponse Handle(const HttpRequest& request) const override {
    HttpResponse response;
    response.body = request.path == "/big" ? std::string(256 * 1024, 'x') : request.path;
    response.content_type = "text/plain";
    return response;
  }
};

base::UniqueFd ConnectTcp(int port) {
  base::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // SAFETY: a complete sockaddr_in of the size passed.
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return base::UniqueFd();
  }
  timeval limit{5, 0};  // Every test read is bounded.
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  return fd;
}

// True once the server closed `fd` (EOF or reset) within `timeout`; what it
// sent before is appended to `received`.
bool ClosedByServer(int fd, absl::Duration timeout, std::string* received = nullptr) {
  const absl::Time deadline = absl::Now() + timeout;
  char chunk[4096];
  while (absl::Now() < deadline) {
    pollfd p = {fd, POLLIN, 0};
    const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (::poll(&p, 1, static_cast<int>(ms)) <= 0) continue;
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return true;
    if (received != nullptr) received->append(chunk, n);
  }
  return false;
}

// A blocking OpenSSL client that trusts `ca` and presents `cert`/`key` if
// given.
class TlsClient {
 public:
  TlsClient(const std::string& ca, const std::string& cert, const std::string& key)
      : ctx_(SSL_CTX_new(TLS_client_method())) {
    SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (!cert.empty()) {
      SSL_CTX_use_certificate_chain_file(ctx_, cert.c_str());
      SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM);
    }
  }
  ~TlsClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  // Connects and handshakes (the client's side: with TLS 1.3 a refused
  // client certificate shows only on the first read).
  bool Connect(int port) {
    fd_ = ConnectTcp(port);
    if (!fd_.valid()) return false;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_.get());
    SSL_set1_host(ssl_, "127.0.0.1");
    return SSL_connect(ssl_) == 1;
  }

  // One GET on the connection: the status, or nullopt if refused or closed;
  // the body in `body`.
  std::optional<int> Get(const std::string& path, std::string* body = nullptr) {
    if (!Send(Request(path))) return std::nullopt;
    return Response(body);
  }

  static std::string Request(const std::string& path) {
    return absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  }
  bool Send(const std::string& data) {
    return SSL_write(ssl_, data.data(), static_cast<int>(data.size())) > 0;
  }
  // The next response's status (its body in `body`), or nullopt if none.
  std::optional<int> Response(std::string* body = nullptr) {
    std::string& in = in_;
    size_t end;
    while ((end = in.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore(&in)) return std::nullopt;
    }
    int status = 0;
    if (!absl::SimpleAtoi(in.substr(9, 3), &status)) return std::nullopt;
    const size_t at = in.find("Content-Length: ");
    size_t length = 0;
    if (at == std::string::npos ||
        !absl::SimpleAtoi(in.substr(at + 16, in.find("\r\n", at) - at - 16), &length)) {
      return std::nullopt;
    }
    while (in.size() < end + 4 + length) {
      if (!ReadMore(&in)) return std::nullopt;
    }
    if (body != nullptr) *body = in.substr(end + 4, length);
    in.erase(0, end + 4 + length);  // Keeps the next response's bytes.
    return status;
  }

 private:
  bool ReadMore(std::string* in) {
    char chunk[16384];
    const int n = SSL_read(ssl_, chunk, sizeof(chunk));
    if (n <= 0) return false;
    in->append(chunk, n);
    return true;
  }

  SSL_CTX* ctx_;
  SSL* ssl_ = nullptr;
  std::string in_;  // Received, not yet returned.
  base::UniqueFd fd_;
};

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::TestCerts> certs = testing::MakeTestCerts();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
  }
  void TearDown() override {
    server_.reset();
    if (!certs_.dir.empty()) std::system(("rm -rf " + certs_.dir).c_str());
  }

  TlsServerFiles ServerFiles() const {
    return {certs_.server_cert, certs_.server_key, certs_.ca_cert};
  }

  void Serve(HttpServerOptions options = {}) {
    absl::StatusOr<std::shared_ptr<TlsContext>> tls = TlsContext::Create(ServerFiles());
    ASSERT_TRUE(tls.ok()) << tls.status();
    options.tcp_tls = *tls;
    auto server = HttpServer::Create(handler_, std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    socket_ = certs_.dir + "/api.sock";
    ASSERT_TRUE(server_->ListenUnix(socket_).ok());
    ASSERT_TRUE(server_->ListenTcp("127.0.0.1:0", &port_).ok());
    ASSERT_TRUE(server_->Start().ok());
  }

  // Waits (bounded) for the I/O thread to count what a client just saw.
  template <typename F>
  bool Eventually(F done) {
    for (absl::Time deadline = absl::Now() + absl::Seconds(5); absl::Now() < deadline;
         absl::SleepFor(absl::Milliseconds(5))) {
      if (done()) return true;
    }
    return false;
  }

  testing::TestCerts certs_;
  EchoHandler handler_;
  std::unique_ptr<HttpServer> server_;
  std::string socket_;
  int port_ = 0;
};

TEST_F(TlsServerTest, CreateNamesTheFileThatIsMissingUnparsableOrMismatched) {
  TlsServerFiles files = ServerFiles();
  files.cert = certs_.dir + "/nope.crt";
  absl::Status status = TlsContext::Create(files).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("cannot read the certificate file"));

  std::ofstream(certs_.dir + "/junk.pem") << "not a PEM file\n";
  files = ServerFiles();
  files.client_ca = certs_.dir + "/junk.pem";
  status = TlsContext::Create(files).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("client CA file"));

  files = ServerFiles();
  files.key = certs_.dir + "/junk.pem";
  EXPECT_THAT(TlsContext::Create(files).status().message(), HasSubstr("key file"));

  files = ServerFiles();
  files.key = certs_.client_key;  // Another certificate's key.
  status = TlsContext::Create(files).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("does not belong to the certificate"));

  EXPECT_TRUE(TlsContext::Create(ServerFiles()).ok());
}

TEST_F(TlsServerTest, AGoodClientIsServedWithKeepAliveAndLargeResponses) {
  Serve();
  TlsClient client(certs_.ca_cert, certs_.client_cert, certs_.client_key);
  ASSERT_TRUE(client.Connect(port_));
  std::string body;
  EXPECT_EQ(client.Get("/a", &body), 200);
  EXPECT_EQ(body, "/a");
  EXPECT_EQ(client.Get("/big", &body), 200);  // Same connection.
  EXPECT_EQ(body.size(), 256u * 1024);
  EXPECT_EQ(client.Get("/b", &body), 200);
  EXPECT_EQ(body, "/b");
  // Pipelined: three requests in one TLS record, answered in order.
  ASSERT_TRUE(client.Send(TlsClient::Request("/p1") + TlsClient::Request("/p2") +
                          TlsClient::Request("/p3")));
  for (const char* path : {"/p1", "/p2", "/p3"}) {
    EXPECT_EQ(client.Response(&body), 200);
    EXPECT_EQ(body, path);
  }
  EXPECT_EQ(server_->counters().tls_handshake_failures, 0u);
  EXPECT_EQ(server_->counters().requests, 6u);
}

TEST_F(TlsServerTest, ClientsWithoutOrWithAForeignCertificateAreRefusedAndCounted) {
  Serve();
  TlsClient anonymous(certs_.ca_cert, "", "");
  EXPECT_FALSE(anonymous.Connect(port_) && anonymous.Get("/a").has_value());
  ASSERT_TRUE(Eventually([&] { return server_->counters().tls_handshake_failures == 1; }));

  TlsClient foreign(certs_.ca_cert, certs_.other_client_cert, certs_.other_client_key);
  EXPECT_FALSE(foreign.Connect(port_) && foreign.Get("/a").has_value());
  ASSERT_TRUE(Eventually([&] { return server_->counters().tls_handshake_failures == 2; }));
  EXPECT_EQ(server_->counters().requests, 0u);
  EXPECT_EQ(server_->counters().connections_active, 0u);
}

TEST_F(TlsServerTest, PlainHttpToTheTlsPortIsClosedWithoutAResponse) {
  Serve();
  base::UniqueFd fd = ConnectTcp(port_);
  ASSERT_TRUE(fd.valid());
  const std::string request = "GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  ASSERT_EQ(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string received;
  EXPECT_TRUE(ClosedByServer(fd.get(), absl::Seconds(5), &received));
  EXPECT_FALSE(absl::StrContains(received, "HTTP/1.1")) << received;
  ASSERT_TRUE(Eventually([&] { return server_->counters().tls_handshake_failures == 1; }));
  EXPECT_EQ(server_->counters().requests, 0u);
}

TEST_F(TlsServerTest, ASlowHandshakeIsClosedAtTheHeaderTimeoutWhileOthersAreServed) {
  HttpServerOptions options;
  options.header_timeout = absl::Milliseconds(300);
  Serve(options);
  base::UniqueFd silent = ConnectTcp(port_);
  base::UniqueFd partial = ConnectTcp(port_);
  ASSERT_TRUE(silent.valid() && partial.valid());
  // The first bytes of a ClientHello record, and then nothing.
  const char hello[] = {0x16, 0x03, 0x01, 0x00};
  ASSERT_EQ(::send(partial.get(), hello, sizeof(hello), MSG_NOSIGNAL), 4);
  const absl::Time start = absl::Now();
  TlsClient good(certs_.ca_cert, certs_.client_cert, certs_.client_key);
  ASSERT_TRUE(good.Connect(port_));
  EXPECT_EQ(good.Get("/a"), 200);
  EXPECT_TRUE(ClosedByServer(silent.get(), absl::Seconds(3)));
  EXPECT_TRUE(ClosedByServer(partial.get(), absl::Seconds(3)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  EXPECT_EQ(server_->counters().timeouts_header, 2u);
  EXPECT_EQ(server_->counters().tls_handshake_failures, 0u);  // Timed out, not failed.
  EXPECT_EQ(good.Get("/b"), 200);  // The good connection is still served.
}

TEST_F(TlsServerTest, AtTheConnectionLimitATlsClientIsClosedWithoutPlainText) {
  HttpServerOptions options;
  options.max_connections = 1;
  Serve(options);
  TlsClient first(certs_.ca_cert, certs_.client_cert, certs_.client_key);
  ASSERT_TRUE(first.Connect(port_));
  EXPECT_EQ(first.Get("/a"), 200);
  base::UniqueFd second = ConnectTcp(port_);
  ASSERT_TRUE(second.valid());
  std::string received;
  EXPECT_TRUE(ClosedByServer(second.get(), absl::Seconds(5), &received));
  EXPECT_EQ(received, "");  // No plaintext 503 a TLS client would take for garbage.
  EXPECT_EQ(server_->counters().connections_refused_at_limit, 1u);
  EXPECT_EQ(first.Get("/b"), 200);
}

TEST_F(TlsServerTest, TheUnixSocketStaysPlainHttp) {
  Serve();
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_.c_str(), sizeof(address.sun_path) - 1);
  // SAFETY: a complete sockaddr_un of the size passed.
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const std::string request = "GET /u HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string received;
  EXPECT_TRUE(ClosedByServer(fd.get(), absl::Seconds(5), &received));
  EXPECT_TRUE(absl::StartsWith(received, "HTTP/1.1 200 OK\r\n")) << received;
  EXPECT_TRUE(absl::EndsWith(received, "\r\n\r\n/u")) << received;
}

}  // namespace
}  // namespace blimp::gateway
