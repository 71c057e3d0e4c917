// Isolation between VMs and the VMM's confinement: each VM is its own
// process with private anonymous guest memory, so one guest's balloon (its
// PFNs, whatever they are) cannot touch another guest's memory; and every
// thread of a running blimp-vmm runs under its seccomp filter.
#include <dirent.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/e2e/balloon_client.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

constexpr uint64_t kMiB = 1 << 20;

std::unique_ptr<VmProcess> Boot(const std::string& socket) {
  auto vm = VmProcess::Start(
      TestGuestConfig(1, 512,
                      R"({"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 1})"),
      {"--control-sock", socket});
  EXPECT_TRUE(vm.ok()) << vm.status();
  if (!vm.ok()) return nullptr;
  EXPECT_TRUE((*vm)->WaitForLine("BLIMP-GUEST-READY", absl::Seconds(30)).ok());
  return *std::move(vm);
}

std::string Last(const absl::StatusOr<std::vector<std::string>>& lines) {
  return lines.ok() ? lines->back() : lines.status().ToString();
}

TEST(IsolationTest, OneGuestsBalloonNeverTouchesAnotherGuest) {
  SKIP_WITHOUT_KVM();
  const std::string sock_a = absl::StrCat("/tmp/blimp-iso-a-", ::getpid(), ".sock");
  const std::string sock_b = absl::StrCat("/tmp/blimp-iso-b-", ::getpid(), ".sock");
  auto a = Boot(sock_a);
  auto b = Boot(sock_b);
  ASSERT_TRUE(a && b);
  // Both guests fill the same guest-physical pages (same allocator, same
  // layout); B keeps its pages, each linked to the next through its first
  // word.
  ASSERT_EQ(Last(b->Command("touch 300")), "ok");
  uint64_t b_rss = *b->RssBytes();
  ASSERT_EQ(Last(a->Command("touch 300")), "ok");
  ASSERT_EQ(Last(a->Command("free 300")), "ok");
  // A inflates over exactly those guest-physical pages.
  BalloonClient balloon(sock_a);
  ASSERT_TRUE(balloon.SetTarget(400).ok());
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline && a->Command("balloon")->front().find("actual_pages=102400") ==
                                        std::string::npos) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_LT(*a->RssBytes(), b_rss - 250 * kMiB);  // A gave its memory back...
  // ...while B's memory stayed resident and intact: walking its chain of
  // touched pages would fault on a zeroed page.
  EXPECT_GT(*b->RssBytes(), b_rss - 4 * kMiB);
  auto freed = b->Command("free 300");
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(freed->back(), "ok") << freed->front();
  ::unlink(sock_a.c_str());
  ::unlink(sock_b.c_str());
}

TEST(IsolationTest, EveryVmmThreadRunsUnderSeccomp) {
  SKIP_WITHOUT_KVM();
  const std::string sock = absl::StrCat("/tmp/blimp-iso-s-", ::getpid(), ".sock");
  auto vm = Boot(sock);
  ASSERT_TRUE(vm);
  std::string tasks = absl::StrCat("/proc/", vm->pid(), "/task");
  DIR* dir = ::opendir(tasks.c_str());
  ASSERT_NE(dir, nullptr);
  int threads = 0;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream status(tasks + "/" + entry->d_name + "/status");
    std::string line, mode;
    while (std::getline(status, line)) {
      if (line.rfind("Seccomp:", 0) == 0) mode = line.substr(8);
    }
    EXPECT_NE(mode.find('2'), std::string::npos) << "thread " << entry->d_name << ":" << mode;
    ++threads;
  }
  ::closedir(dir);
  EXPECT_GE(threads, 3);  // vCPU, event loop, control server...
  ::unlink(sock.c_str());
}

}  // namespace
}  // namespace blimp::tests
