// blimpctl against a real blimpd with the Blimp test guest on KVM: create,
// start, list, console, balloon set --wait, stats, stop, delete.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/json.h"
#include "client/blimpctl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"

namespace blimp::client {
namespace {

using ::testing::HasSubstr;

std::string Runfile(const std::string& path) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/", std::getenv("TEST_WORKSPACE"), "/", path);
}

std::string ReadFile(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

struct Result {
  int code;
  std::string out;
  std::string err;
};

// Runs `vm console` with `input` as stdin and a file as stdout (fds 0 and 1
// are swapped for the call).
std::string ConsoleSession(const std::vector<std::string>& args, const std::string& input,
                           const std::string& out_path, int* code) {
  int pipe_fds[2];
  EXPECT_EQ(::pipe(pipe_fds), 0);
  EXPECT_EQ(::write(pipe_fds[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  ::close(pipe_fds[1]);
  const int saved_in = ::dup(0), saved_out = ::dup(1);
  const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(pipe_fds[0], 0);
  ::dup2(out, 1);
  std::ostringstream ignored_out, err;
  *code = blimp::client::Run(args, ignored_out, err);
  ::dup2(saved_in, 0);
  ::dup2(saved_out, 1);
  for (int fd : {pipe_fds[0], out, saved_in, saved_out}) ::close(fd);
  return ReadFile(out_path);
}

class BlimpctlE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/dev/kvm", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "SKIPPED: /dev/kvm is missing or not usable";
    }
    auto daemon = tests::DaemonProcess::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
  }

  Result Ctl(std::vector<std::string> args) {
    args.push_back("--server");
    args.push_back(absl::StrCat("unix:", daemon_->run_dir(), "/blimp.grpc.sock"));
    std::ostringstream out, err;
    int code = blimp::client::Run(args, out, err);
    return {code, out.str(), err.str()};
  }

  bool WaitForConsole(const std::string& id, const std::string& text) {
    const std::string log = daemon_->console_log(id);
    for (absl::Time deadline = absl::Now() + absl::Seconds(30); absl::Now() < deadline;) {
      if (ReadFile(log).find(text) != std::string::npos) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  std::unique_ptr<tests::DaemonProcess> daemon_;
};

TEST_F(BlimpctlE2eTest, VmLifecycleAndBalloon) {
  const std::string kernel = Runfile("tests/guest/test_guest.elf");
  Result r = Ctl({"vm", "create", "g1", "--kernel", kernel, "--mem-mib", "256", "--balloon-mib",
                  "0", "--stats-interval", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({"vm", "start", "g1"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(WaitForConsole("g1", "BLIMP-GUEST-READY"));

  r = Ctl({"vm", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("g1"));
  EXPECT_THAT(r.out, HasSubstr("running"));
  r = Ctl({"vm", "list", "--output", "json"});
  blimp::v1::ListVmsResponse list;
  ASSERT_TRUE(api::ParseJson(r.out, &list).ok()) << r.out;
  ASSERT_EQ(list.vms_size(), 1);
  EXPECT_GT(list.vms(0).vmm_rss_bytes(), 0u);

  // The console: the guest's help, through console.sock.
  int code = -1;
  std::string shell = ConsoleSession(
      {"vm", "console", "g1", "--run-dir", daemon_->run_dir()}, "help\n",
      daemon_->run_dir() + "/console-out.txt", &code);
  EXPECT_EQ(code, 0);
  EXPECT_THAT(shell, HasSubstr("touch MIB"));
  if (shell.find("balloon ") == std::string::npos) {
    GTEST_SKIP() << "SKIPPED: the test guest has no balloon driver yet (no `balloon` command)";
  }

  r = Ctl({"balloon", "set", "g1", "--amount-mib", "64", "--wait", "--stall-timeout-s", "20"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("reached 64 MiB in"));
  EXPECT_THAT(r.out, HasSubstr("64/64 MiB"));

  // Statistics arrive every second.
  blimp::v1::BalloonStats stats;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10); absl::Now() < deadline;) {
    r = Ctl({"balloon", "stats", "g1", "--output", "json"});
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_TRUE(api::ParseJson(r.out, &stats).ok()) << r.out;
    if (stats.has_available_memory()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(stats.actual_mib(), 64u);
  EXPECT_TRUE(stats.has_available_memory());
  r = Ctl({"balloon", "stats", "g1"});
  EXPECT_THAT(r.out, HasSubstr("available_memory:"));
  r = Ctl({"balloon", "stats", "g1", "--watch", "--count", "1"});
  EXPECT_EQ(r.code, 0) << r.err;

  r = Ctl({"balloon", "set", "g1", "--amount-mib", "0", "--wait"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ctl({"vm", "get", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("nope"));

  r = Ctl({"vm", "pause", "g1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("paused VM 'g1'"));
  r = Ctl({"vm", "list"});
  EXPECT_THAT(r.out, HasSubstr("paused"));
  r = Ctl({"vm", "resume", "g1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("resumed VM 'g1' (running)"));
  r = Ctl({"vm", "pause", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("nope"));
  r = Ctl({"vm", "pause"});
  EXPECT_NE(r.code, 0);

  r = Ctl({"vm", "stop", "g1"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ctl({"vm", "delete", "g1"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ctl({"vm", "list", "--output", "json"});
  ASSERT_TRUE(api::ParseJson(r.out, &list).ok()) << r.out;
  EXPECT_EQ(list.vms_size(), 0);
}

}  // namespace
}  // namespace blimp::client
