// `blimpctl top` in a real terminal (a detached tmux 160x40 on its own
// socket) against a real blimpd with two test guests on KVM: the rows, the
// balloon statistics stream, a balloon inflating, sorting, a VM deleted
// under it, and `q` restoring the terminal.
#include <stdio.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/vm_process.h"

namespace blimp::client {
namespace {

using ::blimp::tests::Runfile;
using ::testing::HasSubstr;
using ::testing::Not;

// `command`'s stdout (through sh).
std::string Shell(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = ::fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

// The cells of the line of VM `id` in a frame ({} when it has none).
std::vector<std::string> Row(const std::string& screen, const std::string& id) {
  for (absl::string_view line : absl::StrSplit(screen, '\n')) {
    std::vector<std::string> cells = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (!cells.empty() && cells[0] == id) return cells;
  }
  return {};
}

// Column indexes of the frame (see RenderTopFrame).
constexpr int kActual = 5, kAvail = 8;

class TopE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/dev/kvm", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "SKIPPED: /dev/kvm is missing or not usable";
    }
    ASSERT_THAT(Shell("tmux -V 2>&1"), HasSubstr("tmux "))
        << "tmux is missing (scripts/setup.sh installs it)";
    auto daemon = tests::DaemonProcess::Start();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
    tmux_ = absl::StrCat("tmux -S ", daemon_->run_dir(), "/tmux.sock");
  }
  void TearDown() override {
    if (!tmux_.empty()) Shell(tmux_ + " kill-server 2>/dev/null");
  }

  std::string Screen() { return Shell(tmux_ + " capture-pane -p -t top"); }

  // Polls the pane until `done` holds (true) or 30 s pass (false).
  bool WaitForScreen(const std::function<bool(const std::string&)>& done,
                     std::string* screen) {
    for (absl::Time deadline = absl::Now() + absl::Seconds(30); absl::Now() < deadline;) {
      *screen = Screen();
      if (done(*screen)) return true;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return false;
  }

  std::unique_ptr<tests::DaemonProcess> daemon_;
  std::string tmux_;
};

TEST_F(TopE2eTest, LiveViewSortsAndQuits) {
  ASSERT_TRUE(daemon_->BootTestGuest("a", 128).ok());
  ASSERT_TRUE(daemon_->BootTestGuest("b", 256).ok());
  // After top: its exit status and the terminal's modes, then the shell waits.
  const std::string command = absl::StrCat(
      Runfile("client/blimpctl"), " top --interval-ms 300 --server unix:", daemon_->run_dir(),
      "/blimp.grpc.sock; echo top-exited-$?; stty -a; sleep 600");
  ASSERT_EQ(std::system(absl::StrCat("LANG=C.UTF-8 ", tmux_,
                                     " new-session -d -s top -x 160 -y 40 '", command, "'")
                            .c_str()),
            0);
  std::string screen;
  ASSERT_TRUE(WaitForScreen(
      [](const std::string& s) { return Row(s, "a").size() > 10 && Row(s, "b").size() > 10; },
      &screen))
      << screen;
  EXPECT_THAT(screen, HasSubstr("MEM  TARGET  ACTUAL  RSS   FREE  AVAIL  FLAG  HISTORY"));
  EXPECT_THAT(screen, HasSubstr("q quit  s next sort"));
  EXPECT_THAT(screen, HasSubstr("sort: id"));
  EXPECT_LT(screen.find("\na "), screen.find("\nb ")) << screen;
  EXPECT_EQ(Row(screen, "b")[1], "running");
  EXPECT_EQ(Row(screen, "b")[3], "256");

  // The statistics stream: the guest's available memory.
  EXPECT_TRUE(WaitForScreen(
      [](const std::string& s) {
        std::vector<std::string> row = Row(s, "b");
        return row.size() > kAvail && row[kAvail] != "-";
      },
      &screen))
      << screen;

  // Inflate b's balloon: its row follows.
  ASSERT_TRUE(daemon_->SetTarget("b", 64).ok());
  EXPECT_TRUE(WaitForScreen(
      [](const std::string& s) {
        std::vector<std::string> row = Row(s, "b");
        return row.size() > kActual && row[kActual] == "64";
      },
      &screen))
      << screen;
  EXPECT_EQ(Row(screen, "b")[kActual - 1], "64");  // The target.

  // `s`: by memory, b (256 MiB) first.
  Shell(tmux_ + " send-keys -t top s");
  EXPECT_TRUE(WaitForScreen(
      [](const std::string& s) { return s.find("sort: mem") != std::string::npos; }, &screen))
      << screen;
  EXPECT_LT(screen.find("\nb "), screen.find("\na ")) << screen;

  // A VM going away under it.
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    blimp::v1::DeleteVmRequest request;
    request.set_vm_id("a");
    google::protobuf::Empty empty;
    ASSERT_TRUE(daemon_->vms().DeleteVm(&context, request, &empty).ok());
  }
  EXPECT_TRUE(WaitForScreen(
      [](const std::string& s) {
        return s.find("1 VM (MiB)") != std::string::npos && Row(s, "a").empty();
      },
      &screen))
      << screen;
  EXPECT_EQ(Row(screen, "b")[kActual], "64");

  // `q`: top ends with 0, the normal screen and the terminal's modes back.
  Shell(tmux_ + " send-keys -t top q");
  EXPECT_TRUE(WaitForScreen(
      [](const std::string& s) { return s.find("top-exited-") != std::string::npos; }, &screen))
      << screen;
  EXPECT_THAT(screen, HasSubstr("top-exited-0"));
  EXPECT_THAT(screen, HasSubstr("icanon"));
  EXPECT_THAT(screen, Not(HasSubstr("-icanon")));
  EXPECT_THAT(screen, Not(HasSubstr("-echo ")));
  EXPECT_THAT(screen, Not(HasSubstr("q quit")));  // The alternate screen is gone.
  EXPECT_THAT(Shell(tmux_ + " display-message -p -t top '#{cursor_flag}'"), HasSubstr("1"));
}

}  // namespace
}  // namespace blimp::client
