#include "gateway/http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
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
  Router router = Router::ForDaemon(daemon);
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

}  // namespace
}  // namespace blimp::gateway
