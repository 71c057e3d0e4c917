#include "gateway/http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/unique_fd.h"
#include "gateway/metrics.h"
#include "gateway/prometheus_text.h"
#include "gateway/router.h"
#include "gateway/testing/fake_vms.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blimp::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

bool HaveCurl() { return ::system("curl --version >/dev/null 2>&1") == 0; }

// Runs `script` with /bin/sh; returns its stdout.
std::string Shell(const std::string& script) {
  FILE* pipe = ::popen(script.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = ::fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

std::string MakeTempDir() {
  char dir[] = "/tmp/blimp-gateway-XXXXXX";  // Short: sun_path is 108 bytes.
  EXPECT_NE(::mkdtemp(dir), nullptr);
  return dir;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveCurl()) {
      std::fprintf(stderr, "SKIPPED: curl is not installed; HTTP server tests need it\n");
      GTEST_SKIP() << "SKIPPED: curl is not installed";
    }
    dir_ = MakeTempDir();
    socket_ = dir_ + "/firecracker.socket";
    auto server = HttpServer::Create(router_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(server_->ListenUnix(socket_).ok());
    ASSERT_TRUE(server_->ListenTcp("127.0.0.1:0", &port_).ok());
    ASSERT_GT(port_, 0);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    server_.reset();
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  // The seed's variables, then `command`.
  std::string Seed(const std::string& command) {
    return Shell(absl::StrCat("socket_location=", socket_,
                              "\namount_mib=64\ndeflate_on_oom=true\npolling_interval=1\n\n",
                              command, " 2>/dev/null"));
  }

  testing::FakeVmHost vm_{"vm0", 256, std::nullopt};
  Router router_ = Router::ForSingleVm("vm0", *vm_.api);
  std::unique_ptr<HttpServer> server_;
  std::string dir_;
  std::string socket_;
  int port_ = 0;
};

// The seed document's commands, character for character.
constexpr char kSeedPut[] = R"(curl --unix-socket $socket_location -i \
    -X PUT 'http://localhost/balloon' \
    -H 'Accept: application/json' \
    -H 'Content-Type: application/json' \
    -d "{
        \"amount_mib\": $amount_mib, \
        \"deflate_on_oom\": $deflate_on_oom, \
        \"stats_polling_interval_s\": $polling_interval \
    }")";
constexpr char kSeedGet[] = R"(curl --unix-socket $socket_location -i \
    -X GET 'http://localhost/balloon' \
    -H 'Accept: application/json')";
constexpr char kSeedPatch[] = R"(curl --unix-socket $socket_location -i \
    -X PATCH 'http://localhost/balloon' \
    -H 'Accept: application/json' \
    -H 'Content-Type: application/json' \
    -d "{
        \"amount_mib\": $amount_mib, \
        \"stats_polling_interval_s\": $polling_interval \
    }")";
constexpr char kSeedStats[] = R"(curl --unix-socket $socket_location -i \
    -X GET 'http://localhost/balloon/statistics' \
    -H 'Accept: application/json')";
constexpr char kSeedPatchStats[] = R"(curl --unix-socket $socket_location -i \
    -X PATCH 'http://localhost/balloon' \
    -H 'Accept: application/json' \
    -H 'Content-Type: application/json' \
    -d "{ \"stats_polling_interval_s\": $polling_interval }")";

TEST_F(HttpServerTest, SeedCommandsOverUnixSocket) {
  struct stat st;
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  EXPECT_THAT(Seed(kSeedPut), StartsWith("HTTP/1.1 204 No Content\r\n"));
  const std::string get = Seed(kSeedGet);
  EXPECT_THAT(get, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(get, HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_THAT(get, HasSubstr("\r\n\r\n{\"amount_mib\":64,\"deflate_on_oom\":true,"
                             "\"stats_polling_interval_s\":1,"));
  const std::string stats_before = Seed(kSeedStats);
  EXPECT_THAT(stats_before, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(stats_before, HasSubstr("{\"fault_message\":\""));
  EXPECT_THAT(stats_before, HasSubstr("before starting"));

  EXPECT_THAT(Seed("curl --unix-socket $socket_location -i -X PUT 'http://localhost/actions' "
                   "-d '{\"action_type\": \"InstanceStart\"}'"),
              StartsWith("HTTP/1.1 204"));
  // The seed's PATCH carries stats_polling_interval_s: rejected by design.
  const std::string patch = Seed(kSeedPatch);
  EXPECT_THAT(patch, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(patch, HasSubstr("BalloonUpdate"));
  EXPECT_THAT(Seed(kSeedPatchStats), StartsWith("HTTP/1.1 400"));
  // The same commands with the contract's bodies and paths.
  EXPECT_THAT(Seed(R"(curl --unix-socket $socket_location -i \
    -X PATCH 'http://localhost/balloon' \
    -H 'Accept: application/json' \
    -H 'Content-Type: application/json' \
    -d "{ \"amount_mib\": 32 }")"),
              StartsWith("HTTP/1.1 204"));
  EXPECT_THAT(Seed(R"(curl --unix-socket $socket_location -i \
    -X PATCH 'http://localhost/balloon/statistics' \
    -H 'Accept: application/json' \
    -H 'Content-Type: application/json' \
    -d "{ \"stats_polling_interval_s\": $polling_interval }")"),
              StartsWith("HTTP/1.1 204"));
  const std::string stats = Seed(kSeedStats);
  EXPECT_THAT(stats, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(stats, HasSubstr("{\"target_pages\":8192,\"actual_pages\":0,\"target_mib\":32,"
                               "\"actual_mib\":0}"));
}

TEST_F(HttpServerTest, KeepAliveTcpAndErrors) {
  // Two requests, one connection.
  EXPECT_EQ(Seed("curl -s --unix-socket $socket_location -o /dev/null -o /dev/null "
                 "-w '%{http_code} %{num_connects}\\n' http://localhost/ "
                 "http://localhost/machine-config"),
            "200 1\n200 0\n");
  const std::string tcp = Shell(absl::StrCat("curl -s -i http://127.0.0.1:", port_, "/"));
  EXPECT_THAT(tcp, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(tcp, HasSubstr("{\"app_name\":\"blimp\",\"id\":\"vm0\",\"state\":\"Not started\""));

  const std::string wrong = Seed("curl -s -i --unix-socket $socket_location -X DELETE "
                                 "http://localhost/balloon");
  EXPECT_THAT(wrong, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(wrong, HasSubstr("Allow: PUT, GET, PATCH\r\n"));
  EXPECT_THAT(Seed("curl -s -i --unix-socket $socket_location http://localhost/nope"),
              StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(Seed("curl -s -i --path-as-is --unix-socket $socket_location "
                   "'http://localhost/balloon/%2e%2e/x'"),
              StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(Seed("curl -s -i --unix-socket $socket_location 'http://localhost/balloon?x=1'"),
              StartsWith("HTTP/1.1 400"));  // Query ignored; no balloon yet.

  const std::string big = dir_ + "/big.json";
  std::ofstream(big) << std::string(kMaxBodyBytes + 1, ' ');
  EXPECT_THAT(Seed(absl::StrCat("curl -s -i --unix-socket $socket_location -X PUT "
                                "--data-binary @", big, " http://localhost/balloon")),
              StartsWith("HTTP/1.1 413"));
  std::ofstream(big) << "{\"amount_mib\": 1, \"deflate_on_oom\": true}"
                     << std::string(kMaxBodyBytes - 100, ' ');
  EXPECT_THAT(Seed(absl::StrCat("curl -s -i --unix-socket $socket_location -X PUT "
                                "--data-binary @", big, " http://localhost/balloon")),
              StartsWith("HTTP/1.1 204"));
  ::unlink(big.c_str());
}

TEST_F(HttpServerTest, StopUnlinksTheSocket) {
  server_->Stop();
  server_->Stop();  // Idempotent.
  EXPECT_NE(::access(socket_.c_str(), F_OK), 0);
}

TEST(HttpServerListenTest, ReplacesAStaleSocketButNothingElse) {
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/api.sock";
  {
    // A socket file left behind by a dead process.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, path.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ::close(fd);
  }
  testing::FakeVmHost vm("vm0", 256, std::nullopt);
  Router router = Router::ForSingleVm("vm0", *vm.api);
  {
    auto server = HttpServer::Create(router);
    ASSERT_TRUE(server.ok());
    EXPECT_TRUE((*server)->ListenUnix(path).ok());
    ASSERT_TRUE((*server)->Start().ok());
    if (HaveCurl()) {
      EXPECT_THAT(Shell("curl -s -i --unix-socket " + path + " http://localhost/"),
                  StartsWith("HTTP/1.1 200 OK"));
    }
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0);  // Unlinked on stop.

  std::ofstream(path) << "not a socket";
  auto server = HttpServer::Create(router);
  ASSERT_TRUE(server.ok());
  absl::Status regular = (*server)->ListenUnix(path);
  EXPECT_EQ(regular.code(), absl::StatusCode::kAlreadyExists) << regular;
  EXPECT_EQ(::access(path.c_str(), F_OK), 0);  // Left alone.
  ::unlink(path.c_str());

  absl::Status missing = (*server)->ListenUnix(dir + "/no/such/dir/api.sock");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
  EXPECT_THAT(std::string(missing.message()), HasSubstr("does not exist"));
  absl::Status too_long = (*server)->ListenUnix(dir + "/" + std::string(120, 'x'));
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument) << too_long;
  EXPECT_THAT(std::string(too_long.message()), HasSubstr("longer than"));
  EXPECT_FALSE((*server)->ListenTcp("nonsense").ok());
  EXPECT_FALSE((*server)->ListenTcp("127.0.0.1:99999").ok());
  ::rmdir(dir.c_str());
}

TEST(HttpServerDaemonTest, MetricsAndUnsafeIdsOverTcp) {
  if (!HaveCurl()) {
    std::fprintf(stderr, "SKIPPED: curl is not installed; HTTP server tests need it\n");
    GTEST_SKIP() << "SKIPPED: curl is not installed";
  }
  testing::FakeDaemonApi daemon;
  RouterOptions options;
  options.metrics = [&daemon] {
    return SerializePrometheus(VmMetricFamilies(daemon.CollectMetrics()));
  };
  Router router = Router::ForDaemon(daemon, options);
  auto server = HttpServer::Create(router);
  ASSERT_TRUE(server.ok());
  int port = 0;
  ASSERT_TRUE((*server)->ListenTcp("127.0.0.1:0", &port).ok());
  ASSERT_TRUE((*server)->Start().ok());
  const std::string base = absl::StrCat("http://127.0.0.1:", port);
  EXPECT_THAT(Shell("curl -s -i -X PUT " + base +
                    "/vms/a -d '{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
                    "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128}}'"),
              StartsWith("HTTP/1.1 204"));
  const std::string metrics = Shell("curl -s -i " + base + "/metrics");
  EXPECT_THAT(metrics, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(metrics, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_THAT(metrics, HasSubstr("blimp_vm_state{vm=\"a\",state=\"not_started\"} 1\n"));
  for (const char* path : {"/vms/a%2Fb", "/vms/%2e%2e/balloon", "/vms/a%2f..%2fb"}) {
    EXPECT_THAT(Shell(absl::StrCat("curl -s -i --path-as-is '", base, path, "'")),
                StartsWith("HTTP/1.1 400")) << path;
  }
  EXPECT_THAT(Shell("curl -s -i --path-as-is " + base + "/vms/../etc/passwd"),
              StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(Shell("curl -s -i " + base + "/vms/zz/balloon"), StartsWith("HTTP/1.1 404"));
}

// ---- The bounded server, with a handler the tests control. ----

// Lane: the first path segment. "/<lane>/block" waits for `release`;
// "/<lane>/big" answers `big_bytes` bytes; anything else echoes.
class TestHandler : public HttpHandler {
 public:
  HttpResponse Handle(const HttpRequest& request) const override {
    HttpResponse response;
    if (absl::EndsWith(request.path, "/block")) {
      ++blocked;
      release.WaitForNotificationWithTimeout(absl::Seconds(60));
      --blocked;
    }
    if (absl::EndsWith(request.path, "/big")) {
      response.body = std::string(big_bytes, 'x');
    } else {
      response.body = absl::StrCat(request.method, " ", request.path, " ", request.body);
    }
    response.content_type = "text/plain";
    return response;
  }
  std::string Lane(const HttpRequest& request) const override {
    std::vector<std::string> parts = absl::StrSplit(request.path, '/', absl::SkipEmpty());
    return parts.empty() ? "" : parts[0];
  }

  mutable absl::Notification release;
  mutable std::atomic<int> blocked{0};
  size_t big_bytes = 64 * 1024;
};

// Polls `done` every millisecond until it holds or `timeout` passes.
template <typename F>
bool Eventually(F done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

base::UniqueFd ConnectUnix(const std::string& path) {
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return base::UniqueFd();
  }
  return fd;
}

base::UniqueFd ConnectTcp(int port) {
  base::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return base::UniqueFd();
  }
  return fd;
}

bool SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(n);
  }
  return true;
}

// Reads into `buffer` until it holds `want` bytes or EOF/timeout.
bool ReadMore(int fd, std::string* buffer, absl::Time deadline) {
  pollfd p = {fd, POLLIN, 0};
  const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
  if (::poll(&p, 1, static_cast<int>(ms)) <= 0) return false;
  char chunk[65536];
  const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
  if (n <= 0) return false;
  buffer->append(chunk, n);
  return true;
}

struct Reply {
  int status = 0;
  std::string head;  // Status line and headers.
  std::string body;
  std::optional<size_t> content_length;
  bool ok = false;
};

// Reads one response from `fd` (`buffer` keeps bytes of the next one).
Reply ReadReply(int fd, std::string* buffer, bool head_request = false,
                absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  Reply reply;
  size_t end;
  while ((end = buffer->find("\r\n\r\n")) == std::string::npos) {
    if (!ReadMore(fd, buffer, deadline)) return reply;
  }
  reply.head = buffer->substr(0, end + 2);
  buffer->erase(0, end + 4);
  if (reply.head.size() < 12 || !absl::SimpleAtoi(reply.head.substr(9, 3), &reply.status)) {
    return reply;
  }
  for (absl::string_view line : absl::StrSplit(reply.head, "\r\n")) {
    if (absl::StartsWithIgnoreCase(line, "content-length:")) {
      size_t length;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(15)), &length)) {
        reply.content_length = length;
      }
    }
  }
  const size_t body = head_request ? 0 : reply.content_length.value_or(0);
  while (buffer->size() < body) {
    if (!ReadMore(fd, buffer, deadline)) return reply;
  }
  reply.body = buffer->substr(0, body);
  buffer->erase(0, body);
  reply.ok = true;
  return reply;
}

Reply Get(int fd, const std::string& path, const std::string& host = "localhost") {
  std::string buffer;
  if (!SendAll(fd, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", host, "\r\n\r\n"))) {
    return Reply();
  }
  return ReadReply(fd, &buffer);
}

// True once the server closed `fd` (EOF or reset) within `timeout`.
bool ClosedByServer(int fd, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  char chunk[65536];
  while (absl::Now() < deadline) {
    pollfd p = {fd, POLLIN, 0};
    const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (::poll(&p, 1, static_cast<int>(ms)) <= 0) continue;
    if (::recv(fd, chunk, sizeof(chunk), 0) <= 0) return true;
  }
  return false;
}

class BoundedServerTest : public ::testing::Test {
 protected:
  void Serve(HttpServerOptions options = {}) {
    dir_ = MakeTempDir();
    socket_ = dir_ + "/api.sock";
    auto server = HttpServer::Create(handler_, std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(server_->ListenUnix(socket_).ok());
    ASSERT_TRUE(server_->ListenTcp("127.0.0.1:0", &port_).ok());
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (!handler_.release.HasBeenNotified()) handler_.release.Notify();
    server_.reset();
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }

  TestHandler handler_;
  std::unique_ptr<HttpServer> server_;
  std::string dir_;
  std::string socket_;
  int port_ = 0;
};

TEST_F(BoundedServerTest, SlowlorisIsClosedAfterTheHeaderTimeoutWhileOthersAreServed) {
  HttpServerOptions options;
  options.header_timeout = absl::Milliseconds(300);
  Serve(options);
  const std::string request = "GET /x HTTP/1.1\r\nHost: localhost\r\nX-Slow: " +
                              std::string(100, 'a') + "\r\n\r\n";
  std::vector<base::UniqueFd> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(ConnectUnix(socket_));
    // Half of them after a first request (the header time-out then runs
    // from the first byte of the next one, not from accept).
    if (i % 2) {
      ASSERT_EQ(Get(slow.back().get(), "/x").status, 200);
    }
  }
  base::UniqueFd healthy = ConnectUnix(socket_);
  const absl::Time start = absl::Now();
  size_t sent = 0;
  int served = 0;
  // One byte per connection every 20 ms: each connection stays busy but
  // never finishes its headers (they need ~3 s at this rate).
  while (absl::Now() - start < absl::Seconds(1)) {
    for (auto& fd : slow) ::send(fd.get(), request.data() + sent, 1, MSG_NOSIGNAL);
    ++sent;
    Reply reply = Get(healthy.get(), "/x");
    ASSERT_EQ(reply.status, 200) << reply.head;
    ++served;
    absl::SleepFor(absl::Milliseconds(20));  // The client's pace, not a wait for the server.
  }
  EXPECT_GT(served, 10);
  for (auto& fd : slow) EXPECT_TRUE(ClosedByServer(fd.get(), absl::Seconds(2)));
  EXPECT_EQ(server_->counters().timeouts_header, 20u);
  EXPECT_EQ(Get(healthy.get(), "/x").status, 200);  // Keep-alive survived.
}

TEST_F(BoundedServerTest, ConnectionLimitRefusesQuicklyWithoutALogFlood) {
  HttpServerOptions options;
  options.max_connections = 8;
  Serve(options);
  std::vector<base::UniqueFd> old;
  for (int i = 0; i < 8; ++i) {
    old.push_back(ConnectUnix(socket_));
    ASSERT_EQ(Get(old.back().get(), "/x").status, 200);
  }
  for (int i = 0; i < 200; ++i) {
    const absl::Time start = absl::Now();
    base::UniqueFd extra = ConnectUnix(socket_);
    ASSERT_TRUE(extra.valid());
    std::string buffer;
    Reply reply = ReadReply(extra.get(), &buffer, false, absl::Seconds(2));
    EXPECT_EQ(reply.status, 503) << i;
    EXPECT_THAT(reply.body, HasSubstr("\"fault_message\":\"too many connections"));
    EXPECT_THAT(reply.head, HasSubstr("Connection: close\r\n"));
    EXPECT_TRUE(ClosedByServer(extra.get(), absl::Seconds(2)));
    EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  }
  // TCP is a listener of its own.
  base::UniqueFd tcp = ConnectTcp(port_);
  EXPECT_EQ(Get(tcp.get(), "/x", "127.0.0.1").status, 200);
  for (auto& fd : old) EXPECT_EQ(Get(fd.get(), "/x").status, 200);
  old.resize(4);
  ASSERT_TRUE(Eventually([&] { return server_->counters().connections_active == 5; }));
  std::vector<base::UniqueFd> fresh;
  for (int i = 0; i < 4; ++i) {
    fresh.push_back(ConnectUnix(socket_));
    EXPECT_EQ(Get(fresh.back().get(), "/x").status, 200);
  }
  const HttpServer::Counters counters = server_->counters();
  EXPECT_EQ(counters.connections_refused_at_limit, 200u);
  EXPECT_LE(counters.log_lines, 1u);  // One line per 10 s, with a count.
  EXPECT_GE(counters.log_lines_suppressed, 199u);
}

TEST_F(BoundedServerTest, APipeliningClientThatDoesNotReadIsCutOff) {
  HttpServerOptions options;
  options.write_timeout = absl::Milliseconds(500);
  Serve(options);
  base::UniqueFd greedy = ConnectUnix(socket_);
  const int flags = ::fcntl(greedy.get(), F_GETFL);
  ::fcntl(greedy.get(), F_SETFL, flags | O_NONBLOCK);
  std::string requests;
  for (int i = 0; i < 1000; ++i) requests += "GET /m/big HTTP/1.1\r\nHost: localhost\r\n\r\n";
  absl::string_view rest = requests;
  uint64_t peak = 0;
  bool cut = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!cut && absl::Now() < deadline) {
    if (!rest.empty()) {
      const ssize_t n = ::send(greedy.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n > 0) rest.remove_prefix(n);
      if (n < 0 && errno != EAGAIN) cut = true;  // Reset by the server.
    }
    peak = std::max(peak, server_->counters().output_bytes_buffered);
    cut = cut || server_->counters().slow_readers_cut == 1;
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_TRUE(cut);
  const HttpServer::Counters counters = server_->counters();
  EXPECT_EQ(counters.slow_readers_cut, 1u);
  EXPECT_EQ(counters.timeouts_write, 1u);
  // One request at a time: only as many were parsed as responses fit in the
  // socket buffers, never 1000, and at most one response was buffered.
  EXPECT_LT(counters.requests, 100u);
  EXPECT_LE(peak, handler_.big_bytes + 512);
  EXPECT_TRUE(Eventually([&] { return server_->counters().output_bytes_buffered == 0; }));
  base::UniqueFd other = ConnectUnix(socket_);
  EXPECT_EQ(Get(other.get(), "/x").status, 200);
}

TEST_F(BoundedServerTest, AWedgedLaneNeverDelaysAnotherAndOverflowsWith503) {
  HttpServerOptions options;
  options.lanes.concurrency = 2;
  options.lanes.queue_limit = 3;
  Serve(options);
  std::vector<base::UniqueFd> wedged;
  for (int i = 0; i < 5; ++i) {
    wedged.push_back(ConnectUnix(socket_));
    ASSERT_TRUE(SendAll(wedged.back().get(), "GET /a/block HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  }
  ASSERT_TRUE(Eventually([&] { return server_->counters().requests == 5; }));
  ASSERT_TRUE(Eventually([&] { return handler_.blocked == 2; }));
  base::UniqueFd overflow = ConnectUnix(socket_);
  Reply busy = Get(overflow.get(), "/a/block");
  EXPECT_EQ(busy.status, 503);
  EXPECT_THAT(busy.body, HasSubstr("\"fault_message\":\"VM 'a' is busy"));
  EXPECT_EQ(server_->counters().requests_rejected_busy, 1u);

  base::UniqueFd other = ConnectUnix(socket_);
  absl::Duration worst;
  for (int i = 0; i < 50; ++i) {
    const absl::Time start = absl::Now();
    Reply reply = Get(other.get(), "/b/x");
    worst = std::max(worst, absl::Now() - start);
    ASSERT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, "GET /b/x ");
  }
  EXPECT_LT(worst, absl::Milliseconds(100));
  base::UniqueFd daemon = ConnectUnix(socket_);
  EXPECT_EQ(Get(daemon.get(), "/").status, 200);  // The "" lane too.
  EXPECT_EQ(handler_.blocked, 2);

  handler_.release.Notify();
  for (auto& fd : wedged) {
    std::string buffer;
    EXPECT_EQ(ReadReply(fd.get(), &buffer).status, 200);
  }
}

TEST_F(BoundedServerTest, HeadHasTheLengthOfGetButNoBody) {
  Serve();
  base::UniqueFd fd = ConnectUnix(socket_);
  ASSERT_TRUE(SendAll(fd.get(),
                      "HEAD /v/x HTTP/1.1\r\nHost: localhost\r\n\r\n"
                      "GET /v/x HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  std::string buffer;
  Reply head = ReadReply(fd.get(), &buffer, /*head_request=*/true);
  ASSERT_TRUE(head.ok);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_length, std::string("GET /v/x ").size());  // Served as GET.
  Reply get = ReadReply(fd.get(), &buffer);
  ASSERT_TRUE(get.ok) << buffer;
  EXPECT_EQ(get.body, "GET /v/x ");
  EXPECT_TRUE(buffer.empty());
}

TEST_F(BoundedServerTest, ChunkedBodiesAndPipelinedRequestsInOrder) {
  Serve();
  base::UniqueFd fd = ConnectUnix(socket_);
  ASSERT_TRUE(SendAll(fd.get(),
                      "PUT /c/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n"
                      "PUT /c/y HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi"));
  std::string buffer;
  EXPECT_EQ(ReadReply(fd.get(), &buffer).body, "PUT /c/x abcdefg");
  EXPECT_EQ(ReadReply(fd.get(), &buffer).body, "PUT /c/y hi");
}

TEST_F(BoundedServerTest, BadRequestsGetJsonAndConnectionClose) {
  Serve();
  base::UniqueFd fd = ConnectUnix(socket_);
  ASSERT_TRUE(SendAll(fd.get(),
                      "PUT /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n"
                      "Content-Length: 1\r\n\r\nx"));
  std::string buffer;
  Reply reply = ReadReply(fd.get(), &buffer);
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.head, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(reply.head, HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_EQ(reply.body, "{\"fault_message\":\"more than one Content-Length header\"}");
  EXPECT_TRUE(ClosedByServer(fd.get(), absl::Seconds(3)));
  EXPECT_EQ(server_->counters().parse_errors, 1u);
}

TEST_F(BoundedServerTest, HostMustBeAnAddressOrLocalhostOnTcpOnly) {
  HttpServerOptions options;
  options.allowed_hosts = {"blimp.internal"};
  Serve(options);
  for (const std::string& host : std::vector<std::string>{"127.0.0.1", absl::StrCat("127.0.0.1:", port_), "localhost", "LOCALHOST:80", "[::1]",
        "[::1]:8080", "blimp.internal", "Blimp.Internal:1"}) {
    base::UniqueFd fd = ConnectTcp(port_);
    EXPECT_EQ(Get(fd.get(), "/x", host).status, 200) << host;
  }
  for (const std::string& host : std::vector<std::string>{"evil.example", "evil.example:80", "127.0.0.1.evil.example",
                                 "localhost.", "[::1", "[nope]:1", "localhost:x", ""}) {
    base::UniqueFd fd = ConnectTcp(port_);
    Reply reply = Get(fd.get(), "/x", host);
    EXPECT_EQ(reply.status, 421) << host;
    EXPECT_THAT(reply.body, HasSubstr("fault_message")) << host;
    EXPECT_TRUE(ClosedByServer(fd.get(), absl::Seconds(3))) << host;
  }
  EXPECT_EQ(server_->counters().requests_rejected_host, 8u);
  base::UniqueFd unix_fd = ConnectUnix(socket_);
  EXPECT_EQ(Get(unix_fd.get(), "/x", "evil.example").status, 200);  // Any Host on unix.
}

TEST_F(BoundedServerTest, StopWithRequestsInFlightReturnsPromptly) {
  Serve();
  std::vector<base::UniqueFd> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(ConnectUnix(socket_));
    ASSERT_TRUE(SendAll(clients.back().get(),
                        absl::StrCat("GET /", i % 2 ? "a" : "b",
                                     "/block HTTP/1.1\r\nHost: localhost\r\n\r\n")));
  }
  for (int i = 0; i < 3; ++i) clients.push_back(ConnectUnix(socket_));  // Idle.
  ASSERT_TRUE(Eventually([&] { return handler_.blocked == 6; }));
  const absl::Time start = absl::Now();
  server_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  for (auto& fd : clients) EXPECT_TRUE(ClosedByServer(fd.get(), absl::Seconds(1)));
  EXPECT_NE(::access(socket_.c_str(), F_OK), 0);
  EXPECT_EQ(server_->counters().connections_active, 0u);
  handler_.release.Notify();
  server_.reset();  // Waits for the handlers; ASan checks the rest.
}

TEST_F(BoundedServerTest, AcceptOutOfFdsBacksOffInsteadOfSpinning) {
  HttpServerOptions options;
  options.accept_backoff = absl::Milliseconds(100);
  Serve(options);
  rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old_limit), 0);
  // The lowest free fd number + 4: a few connections fit, then EMFILE (both
  // ends of each connection live in this process).
  base::UniqueFd probe(::dup(0));
  rlimit low = old_limit;
  low.rlim_cur = probe.get() + 4;
  probe.Reset();
  std::vector<base::UniqueFd> clients;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  for (int i = 0; i < 3; ++i) {
    base::UniqueFd fd = ConnectUnix(socket_);
    if (fd.valid()) clients.push_back(std::move(fd));
  }
  // Accepting now fails with EMFILE; in 1 s the server retries ~10 times.
  absl::SleepFor(absl::Seconds(1));  // Measuring a rate over a span of time.
  const HttpServer::Counters starved = server_->counters();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old_limit), 0);
  EXPECT_GE(starved.accept_errors, 1u);
  EXPECT_LE(starved.accept_errors, 20u);
  EXPECT_LE(starved.log_lines, 1u);
  // Once fds are back, the waiting connections are served.
  for (auto& fd : clients) EXPECT_EQ(Get(fd.get(), "/x").status, 200);
}

TEST(HttpServerExpectTest, CurlExpect100ContinueWithA4KiBBody) {
  if (!HaveCurl()) GTEST_SKIP() << "SKIPPED: curl is not installed";
  TestHandler handler;
  const std::string dir = MakeTempDir();
  const std::string socket = dir + "/api.sock";
  auto server = HttpServer::Create(handler);
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE((*server)->ListenUnix(socket).ok());
  ASSERT_TRUE((*server)->Start().ok());
  const std::string body = dir + "/body";
  std::ofstream(body) << std::string(4096, 'b');
  const absl::Time start = absl::Now();
  // curl waits up to --expect100-timeout for the 100 before it sends the
  // body anyway (curl 7.88 asks for it by itself only above 1 MiB).
  // Without our 100, curl would wait the full --expect100-timeout (5 s).
  const std::string reply = dir + "/reply";
  const std::string out = Shell(absl::StrCat(
      "curl -s -v --expect100-timeout 5 -H 'Expect: 100-continue' --unix-socket ", socket,
      " -X PUT --data-binary @", body, " -o ", reply, " http://localhost/e/x 2>&1"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_THAT(out, HasSubstr("> Expect: 100-continue"));
  EXPECT_THAT(out, HasSubstr("< HTTP/1.1 100 Continue"));
  EXPECT_THAT(out, HasSubstr("< HTTP/1.1 200 OK"));
  std::string served;
  std::getline(std::ifstream(reply), served);
  EXPECT_TRUE(served == "PUT /e/x " + std::string(4096, 'b')) << served.size();
  ::unlink(reply.c_str());
  // The same body chunked.
  const std::string chunked = Shell(absl::StrCat(
      "curl -s --unix-socket ", socket, " -X PUT -H 'Transfer-Encoding: chunked' --data-binary @",
      body, " http://localhost/e/y"));
  EXPECT_TRUE(chunked == "PUT /e/y " + std::string(4096, 'b')) << chunked.size();
  ::unlink(body.c_str());
  server->reset();
  ::rmdir(dir.c_str());
}
}  // namespace
}  // namespace blimp::gateway
