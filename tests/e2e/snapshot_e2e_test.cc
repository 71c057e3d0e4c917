// Snapshots end to end with the test guest and blimp-vmm on its own
// (--api-sock, Firecracker's calls): pause, PUT /snapshot/create, a fresh
// blimp-vmm with PUT /snapshot/load. The guest's memory (a pattern written
// before), clock, console and balloon carry on; a balloon at 75% makes a
// memory file of holes; damaged files are refused and nothing is restored.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/http_client.h"
#include "tests/e2e/vm_process.h"

namespace blimp::tests {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr int kMemMib = 256;
constexpr char kBalloon[] =
    R"({"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 1,)"
    R"( "free_page_hinting": true})";

std::string Slurp(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path, std::ios::binary).rdbuf();
  return text.str();
}

void Spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

uint64_t AllocatedBytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

class SnapshotE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_KVM();
    char dir[] = "/tmp/blimp-snap-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    vms_.clear();
    if (!dir_.empty()) (void)!::system(absl::StrCat("rm -rf ", dir_).c_str());
  }

  // A blimp-vmm serving REST on <dir>/<name>.sock; booted from `config`, or
  // waiting for /snapshot/load when `config` is empty.
  VmProcess* Start(const std::string& name, const std::string& config) {
    const std::string socket = Socket(name);
    auto vm = VmProcess::Start(config, {"--api-sock", socket, "--id", "vm0"});
    EXPECT_TRUE(vm.ok()) << vm.status();
    if (!vm.ok()) return nullptr;
    VmProcess* raw = vm->get();
    vms_.push_back(*std::move(vm));
    for (absl::Time deadline = absl::Now() + absl::Seconds(10); absl::Now() < deadline;) {
      if (::access(socket.c_str(), F_OK) == 0) break;
      absl::SleepFor(absl::Milliseconds(10));
    }
    if (!config.empty()) {
      EXPECT_TRUE(raw->WaitForLine("BLIMP-GUEST-READY", absl::Seconds(30)).ok()) << raw->output();
    }
    return raw;
  }
  std::string Socket(const std::string& name) const { return dir_ + "/" + name + ".sock"; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  HttpResult Call(const std::string& name, const std::string& method, const std::string& path,
                  const std::string& body = "") {
    auto result = HttpRequest(Socket(name), method, path, body);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : HttpResult{};
  }
  HttpResult Snapshot(const std::string& name, const std::string& snap, const std::string& mem) {
    return Call(name, "PUT", "/snapshot/create",
                absl::StrCat(R"({"snapshot_type": "Full", "snapshot_path": ")", Path(snap),
                             R"(", "mem_file_path": ")", Path(mem), R"("})"));
  }
  HttpResult Load(const std::string& name, const std::string& snap, const std::string& mem,
                  bool resume = true) {
    return Call(name, "PUT", "/snapshot/load",
                absl::StrCat(R"({"snapshot_path": ")", Path(snap),
                             R"(", "mem_backend": {"backend_type": "File", "backend_path": ")",
                             Path(mem), R"("}, "resume_vm": )", resume ? "true" : "false", "}"));
  }
  std::string State(const std::string& name) {
    std::string body = Call(name, "GET", "/").body;
    size_t at = body.find(R"("state":")");
    if (at == std::string::npos) return body;
    return body.substr(at + 9, body.find('"', at + 9) - at - 9);
  }
  // The guest's uptime in ms, -1 if it does not answer.
  static int64_t Uptime(VmProcess& vm) {
    auto lines = vm.Command("uptime", absl::Seconds(10));
    int64_t ms = -1;
    if (!lines.ok() || lines->empty()) return -1;
    for (const std::string& line : *lines) {
      if (absl::StartsWith(line, "uptime: ")) {
        (void)absl::SimpleAtoi(line.substr(8, line.find(' ', 8) - 8), &ms);
      }
    }
    return ms;
  }
  static uint32_t Actual(const std::string& stats_json) {
    size_t at = stats_json.find(R"("actual_mib":)");
    uint32_t mib = 0;
    if (at != std::string::npos) {
      (void)absl::SimpleAtoi(stats_json.substr(at + 13, stats_json.find_first_of(",}", at) - at - 13),
                             &mib);
    }
    return mib;
  }
  bool WaitForActual(const std::string& name, uint32_t mib) {
    for (absl::Time deadline = absl::Now() + absl::Seconds(30); absl::Now() < deadline;) {
      if (Actual(Call(name, "GET", "/balloon/statistics").body) == mib) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  std::string dir_;
  std::vector<std::unique_ptr<VmProcess>> vms_;
};

TEST_F(SnapshotE2eTest, ARestoredGuestKeepsItsMemoryClockConsoleAndBalloon) {
  VmProcess* source = Start("a", TestGuestConfig(1, kMemMib, kBalloon));
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(source->Command("touch 32").ok());
  ASSERT_TRUE(source->Command("fill 7").ok());
  ASSERT_EQ(Call("a", "PATCH", "/balloon", R"({"amount_mib": 16})").status, 204);
  ASSERT_TRUE(WaitForActual("a", 16));
  const int64_t before = Uptime(*source);
  ASSERT_GT(before, 0);

  // Not while running; then paused, as Firecracker requires.
  HttpResult running = Snapshot("a", "vm.snap", "vm.mem");
  EXPECT_EQ(running.status, 400) << running.body;
  EXPECT_TRUE(absl::StrContains(running.body, "paused")) << running.body;
  EXPECT_NE(::access(Path("vm.mem").c_str(), F_OK), 0) << "a refused snapshot leaves no file";
  ASSERT_EQ(Call("a", "PATCH", "/vm", R"({"state": "Paused"})").status, 204);
  const absl::Time t0 = absl::Now();
  HttpResult created = Snapshot("a", "vm.snap", "vm.mem");
  ASSERT_EQ(created.status, 204) << created.body;
  std::cout << "snapshot of " << kMemMib << " MiB in " << absl::FormatDuration(absl::Now() - t0)
            << ", memory file " << AllocatedBytes(Path("vm.mem")) / kMiB << " MiB allocated"
            << std::endl;
  struct stat st {};
  ASSERT_EQ(::stat(Path("vm.mem").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kMemMib * kMiB);
  EXPECT_LT(AllocatedBytes(Path("vm.mem")), 96 * kMiB) << "only what the guest holds";
  // A file is never replaced.
  HttpResult again = Snapshot("a", "vm.snap", "other.mem");
  EXPECT_EQ(again.status, 400);
  EXPECT_TRUE(absl::StrContains(again.body, "exists")) << again.body;
  EXPECT_NE(::access(Path("other.mem").c_str(), F_OK), 0) << "nor half written";
  // The source resumes and still works.
  ASSERT_EQ(Call("a", "PATCH", "/vm", R"({"state": "Resumed"})").status, 204);
  EXPECT_TRUE(source->Command("check 7").ok());
  source->Signal(SIGKILL);

  VmProcess* restored = Start("b", "");
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(State("b"), "Not started");
  const absl::Time t1 = absl::Now();
  HttpResult loaded = Load("b", "vm.snap", "vm.mem");
  ASSERT_EQ(loaded.status, 204) << loaded.body << restored->Stderr();
  std::cout << "restored in " << absl::FormatDuration(absl::Now() - t1) << std::endl;
  EXPECT_EQ(State("b"), "Running");
  // Memory: the pattern is intact. Console: it answers. Clock: it moved on.
  auto check = restored->Command("check 7");
  ASSERT_TRUE(check.ok()) << check.status() << "\n" << restored->output();
  EXPECT_TRUE(absl::StrContains(absl::StrJoin(*check, "\n"), "checked: 8192 pages"));
  EXPECT_GE(Uptime(*restored), before);
  // The balloon: the target it had, statistics arrive, hinting answers,
  // inflate and deflate work.
  HttpResult balloon = Call("b", "GET", "/balloon");
  EXPECT_TRUE(absl::StrContains(balloon.body, R"("amount_mib":16)")) << balloon.body;
  EXPECT_EQ(Call("b", "GET", "/balloon/hinting/status").status, 200);
  const std::string stats_before = Call("b", "GET", "/balloon/statistics").body;
  absl::SleepFor(absl::Milliseconds(2500));
  const std::string stats_after = Call("b", "GET", "/balloon/statistics").body;
  EXPECT_NE(stats_before, stats_after) << "statistics keep arriving";
  ASSERT_TRUE(restored->Command("free 32").ok());
  auto rss_touched = restored->LargeMappingRssBytes(kMemMib * kMiB / 2);
  ASSERT_TRUE(rss_touched.ok());
  ASSERT_EQ(Call("b", "PATCH", "/balloon", R"({"amount_mib": 200})").status, 204);
  ASSERT_TRUE(WaitForActual("b", 200));
  auto rss_inflated = restored->LargeMappingRssBytes(kMemMib * kMiB / 2);
  ASSERT_TRUE(rss_inflated.ok());
  std::cout << "guest RAM resident after restore: " << *rss_touched / kMiB << " MiB, inflated: "
            << *rss_inflated / kMiB << " MiB" << std::endl;
  EXPECT_LE(*rss_inflated + 24 * kMiB, *rss_touched) << "inflated pages leave the RSS";
  ASSERT_EQ(Call("b", "PATCH", "/balloon", R"({"amount_mib": 0})").status, 204);
  ASSERT_TRUE(WaitForActual("b", 0));
  EXPECT_TRUE(restored->Command("touch 64").ok()) << "deflated memory is usable";
  EXPECT_TRUE(restored->Command("fill 9").ok());
  EXPECT_TRUE(restored->Command("check 9").ok());
}

TEST_F(SnapshotE2eTest, ABalloonAt75PercentLeavesAMemoryFileOfHoles) {
  VmProcess* vm = Start("a", TestGuestConfig(1, kMemMib, kBalloon));
  ASSERT_NE(vm, nullptr);
  // Dirty most of RAM, give it back to the guest, then to the balloon.
  ASSERT_TRUE(vm->Command("touch 200").ok());
  ASSERT_TRUE(vm->Command("free 200").ok());
  ASSERT_EQ(Call("a", "PATCH", "/balloon", R"({"amount_mib": 192})").status, 204);
  ASSERT_TRUE(WaitForActual("a", 192));
  ASSERT_EQ(Call("a", "PATCH", "/vm", R"({"state": "Paused"})").status, 204);
  ASSERT_EQ(Snapshot("a", "full.snap", "full.mem").status, 204);
  const uint64_t allocated = AllocatedBytes(Path("full.mem"));
  std::cout << "balloon at 75%: memory file " << allocated / kMiB << " of " << kMemMib
            << " MiB allocated" << std::endl;
  EXPECT_LE(allocated, kMemMib * kMiB * 30 / 100);
  vm->Signal(SIGKILL);
  // The restored guest has its balloon still inflated, and runs.
  VmProcess* restored = Start("b", "");
  ASSERT_NE(restored, nullptr);
  ASSERT_EQ(Load("b", "full.snap", "full.mem").status, 204);
  EXPECT_EQ(Actual(Call("b", "GET", "/balloon/statistics").body), 192u);
  EXPECT_TRUE(restored->Command("touch 16").ok());
}

TEST_F(SnapshotE2eTest, DamagedSnapshotsAreRefusedAndNothingIsRestored) {
  VmProcess* vm = Start("a", TestGuestConfig(1, 128, kBalloon));
  ASSERT_NE(vm, nullptr);
  ASSERT_EQ(Call("a", "PATCH", "/vm", R"({"state": "Paused"})").status, 204);
  ASSERT_EQ(Snapshot("a", "good.snap", "good.mem").status, 204);
  vm->Signal(SIGKILL);
  const std::string good = Slurp(Path("good.snap"));
  ASSERT_GT(good.size(), 64u);

  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x20;
  Spit(Path("flipped.snap"), flipped);
  Spit(Path("truncated.snap"), good.substr(0, good.size() / 2));
  std::string version = good;
  version[8] = 9;
  Spit(Path("version.snap"), version);
  Spit(Path("empty.snap"), "");
  Spit(Path("short.mem"), "");

  VmProcess* target = Start("b", "");
  ASSERT_NE(target, nullptr);
  struct Case {
    std::string snap, mem, says;
  };
  for (const Case& c : std::vector<Case>{{"flipped.snap", "good.mem", "hash"},
                                         {"truncated.snap", "good.mem", "truncated"},
                                         {"version.snap", "good.mem", "version 9"},
                                         {"empty.snap", "good.mem", "shorter than a header"},
                                         {"missing.snap", "good.mem", "missing.snap"},
                                         {"good.snap", "short.mem", "memory file holds 0 bytes"},
                                         {"good.snap", "missing.mem", "missing.mem"}}) {
    HttpResult refused = Load("b", c.snap, c.mem);
    EXPECT_EQ(refused.status, 400) << c.snap << " " << c.mem << ": " << refused.body;
    EXPECT_TRUE(absl::StrContains(refused.body, c.says)) << c.snap << ": " << refused.body;
    EXPECT_EQ(State("b"), "Not started") << c.snap;
  }
  // Bodies Blimp does not take.
  for (const std::string& body :
       {std::string(R"({"snapshot_path": "relative.snap", "mem_file_path": "/x"})"),
        absl::StrCat(R"({"snapshot_path": ")", Path("good.snap"),
                     R"(", "mem_backend": {"backend_type": "Uffd", "backend_path": "/x"}})"),
        absl::StrCat(R"({"snapshot_path": ")", Path("good.snap"), R"("})"),
        std::string(R"({"snapshot_path": 1})")}) {
    HttpResult refused = Call("b", "PUT", "/snapshot/load", body);
    EXPECT_EQ(refused.status, 400) << body << ": " << refused.body;
    EXPECT_TRUE(absl::StrContains(refused.body, "fault_message")) << refused.body;
  }
  EXPECT_EQ(Call("b", "PUT", "/snapshot/create",
                 R"({"snapshot_type": "Diff", "snapshot_path": "/a", "mem_file_path": "/b"})")
                .status,
            400);

  // After all that, a good snapshot still loads into the same blimp-vmm.
  VmProcess* again = Start("c", TestGuestConfig(1, 128, kBalloon));
  ASSERT_NE(again, nullptr);
  ASSERT_EQ(Call("c", "PATCH", "/vm", R"({"state": "Paused"})").status, 204);
  ASSERT_EQ(Snapshot("c", "second.snap", "second.mem").status, 204);
  again->Signal(SIGKILL);
  HttpResult loaded = Load("b", "second.snap", "second.mem", /*resume=*/false);
  ASSERT_EQ(loaded.status, 204) << loaded.body;
  EXPECT_EQ(State("b"), "Paused");
  ASSERT_EQ(Call("b", "PATCH", "/vm", R"({"state": "Resumed"})").status, 204);
  EXPECT_TRUE(target->Command("touch 8").ok()) << target->output();
  HttpResult twice = Load("b", "second.snap", "second.mem");
  EXPECT_EQ(twice.status, 400) << "only before boot";
}

}  // namespace
}  // namespace blimp::tests
