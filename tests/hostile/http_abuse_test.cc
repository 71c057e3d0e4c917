// blimpd's REST gateway against clients that trickle, flood, pipeline
// without reading, or send what a browser under DNS rebinding would: the
// daemon bounds each, closes the offender, and keeps serving everyone else
// (REST once the offenders are gone, gRPC throughout). No VM is needed.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/http_client.h"
#include "tests/hostile/raw_client.h"

namespace blimp::tests {
namespace {

constexpr int kMaxConnections = 64;

std::unique_ptr<DaemonProcess> Start(std::vector<std::string> flags) {
  auto daemon = DaemonProcess::Start(std::move(flags));
  EXPECT_TRUE(daemon.ok()) << daemon.status();
  return daemon.ok() ? *std::move(daemon) : nullptr;
}

// How long a gRPC ListVms takes (a failed call counts as an hour).
absl::Duration ListVmsTime(DaemonProcess& daemon) {
  const absl::Time start = absl::Now();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(start + absl::Seconds(5)));
  blimp::v1::ListVmsResponse list;
  if (!daemon.vms().ListVms(&context, {}, &list).ok()) return absl::Hours(1);
  return absl::Now() - start;
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

uint64_t RssBytes(int pid) {
  std::ifstream statm(absl::StrCat("/proc/", pid, "/statm"));
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

TEST(HttpAbuseTest, SlowlorisIsClosedAndNeverStarvesTheDaemon) {
  auto daemon = Start({"--http-max-connections=" + std::to_string(kMaxConnections),
                       "--http-header-timeout=2s"});
  ASSERT_NE(daemon, nullptr);
  // Far more trickling connections than the limit, each a few header bytes.
  std::vector<RawConnection> trickle;
  for (int i = 0; i < 3 * kMaxConnections; ++i) {
    auto connection = RawConnection::Unix(daemon->rest_socket());
    ASSERT_TRUE(connection.ok()) << connection.status();  // accept() stays healthy.
    connection->Send("GET /vms HTTP/1.1\r\nHo");
    trickle.push_back(*std::move(connection));
  }
  // gRPC is a separate listener: unaffected, and the daemon's fds stay bounded.
  EXPECT_LT(ListVmsTime(*daemon), absl::Seconds(1));
  EXPECT_LT(OpenFds(daemon->pid()), kMaxConnections + 100);
  // Connections past the limit are closed at once.
  int closed_at_once = 0;
  for (int i = kMaxConnections; i < 3 * kMaxConnections; ++i) {
    closed_at_once += trickle[i].ClosedWithin(absl::Milliseconds(200));
  }
  EXPECT_EQ(closed_at_once, 2 * kMaxConnections);
  // The ones inside the limit keep trickling and are closed at the header
  // timeout.
  const absl::Time trickle_end = absl::Now() + absl::Seconds(6);
  int closed = 0;
  while (absl::Now() < trickle_end && closed < kMaxConnections) {
    closed = 0;
    for (int i = 0; i < kMaxConnections; ++i) {
      if (!trickle[i].Send("s") || trickle[i].ClosedWithin(absl::Milliseconds(1))) ++closed;
    }
    absl::SleepFor(absl::Milliseconds(300));
  }
  EXPECT_EQ(closed, kMaxConnections);
  // And REST serves a polite client again.
  auto list = HttpRequest(daemon->rest_socket(), "GET", "/vms");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->status, 200);
  // No log flood: a few rate-limited lines, not one per refused connection.
  EXPECT_LT(FileSize(daemon->log_path()), 64 * 1024);
}

TEST(HttpAbuseTest, ClientThatPipelinesWithoutReadingIsCutOff) {
  auto daemon = Start({"--http-write-timeout=1s"});
  ASSERT_NE(daemon, nullptr);
  const uint64_t rss_before = RssBytes(daemon->pid());
  std::string burst;
  for (int i = 0; i < 500; ++i) burst += "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
  std::vector<RawConnection> greedy;
  std::vector<std::thread> senders;
  for (int c = 0; c < 8; ++c) {
    auto connection = RawConnection::Unix(daemon->rest_socket());
    ASSERT_TRUE(connection.ok());
    greedy.push_back(*std::move(connection));
  }
  // Senders stop when the daemon cuts them off (send fails) or after 20 bursts.
  for (RawConnection& connection : greedy) {
    senders.emplace_back([&connection, &burst] {
      for (int i = 0; i < 20 && connection.Send(burst); ++i) {
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  for (RawConnection& connection : greedy) {
    EXPECT_TRUE(connection.ClosedWithin(absl::Seconds(10)));
  }
  EXPECT_LT(RssBytes(daemon->pid()), rss_before + 64 * 1024 * 1024);
  auto list = HttpRequest(daemon->rest_socket(), "GET", "/metrics");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->status, 200);
}

TEST(HttpAbuseTest, HeadIsFramedSoTheNextResponseOnTheConnectionParses) {
  auto daemon = Start({});
  ASSERT_NE(daemon, nullptr);
  auto connection = RawConnection::Unix(daemon->rest_socket());
  ASSERT_TRUE(connection.ok());
  // A path with GET, one without (405), then a GET on the same connection.
  ASSERT_TRUE(connection->Send(
      "HEAD /vms HTTP/1.1\r\nHost: localhost\r\n\r\n"
      "HEAD /vms/x/actions HTTP/1.1\r\nHost: localhost\r\n\r\n"
      "GET /vms HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto head = connection->Read(absl::Seconds(5), /*head=*/true);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers.count("content-length"), 1u);
  auto refused = connection->Read(absl::Seconds(5), /*head=*/true);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->status, 405);
  auto get = connection->Read(absl::Seconds(5));
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, R"({"vms":[]})");
}

TEST(HttpAbuseTest, TcpRefusesAForeignHostHeader) {
  auto daemon = Start({"--http-listen=127.0.0.1:0"});
  ASSERT_NE(daemon, nullptr);
  auto port = daemon->RestTcpPort();
  ASSERT_TRUE(port.ok()) << port.status();
  auto ask = [&](const std::string& host) {
    auto connection = RawConnection::Tcp(*port);
    EXPECT_TRUE(connection.ok()) << connection.status();
    if (!connection.ok()) return 0;
    connection->Send(absl::StrCat("GET /vms HTTP/1.1\r\nHost: ", host, "\r\n\r\n"));
    auto response = connection->Read(absl::Seconds(5));
    EXPECT_TRUE(response.ok()) << response.status();
    if (response.ok() && response->status != 200) {
      EXPECT_NE(response->body.find("fault_message"), std::string::npos) << response->body;
    }
    return response.ok() ? response->status : 0;
  };
  EXPECT_EQ(ask(absl::StrCat("127.0.0.1:", *port)), 200);
  EXPECT_EQ(ask(absl::StrCat("localhost:", *port)), 200);
  const int rebinding = ask("attacker.example");
  EXPECT_TRUE(rebinding == 400 || rebinding == 421) << rebinding;
}

}  // namespace
}  // namespace blimp::tests
