// StatsFanout against a real ControlServer (FakeVmm: no process, no KVM)
// and the VmmClient watch blimpd uses: one VMM connection per VM however
// many subscribers, every update to each of them in order, a slow one only
// losing older snapshots, the connection closed with the last subscriber,
// every subscriber ended when the VM stops or its VMM dies, the limits.
#include "daemon/stats_fanout.h"

#include <unistd.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/testing/fake_vmm.h"
#include "daemon/testing/test_util.h"
#include "gtest/gtest.h"
#include "vmm/control/control_client.h"

namespace blimp::daemon {
namespace {

namespace v1 = blimp::v1;
using testing::FakeVmm;

constexpr absl::Duration kTimeout = absl::Seconds(5);

// A subscriber that takes everything as soon as it is told (a fast client),
// or only when asked to (`eager` false: a client that does not read).
class Collector {
 public:
  explicit Collector(bool eager = true) : eager_(eager) {}
  ~Collector() { Leave(); }

  absl::Status Join(StatsFanout& fanout, const std::string& vm_id,
                    const std::shared_ptr<int>& instance, StatsFanout::Opener open) {
    absl::StatusOr<StatsFanout::Handle> handle =
        fanout.Subscribe(vm_id, instance, std::move(open), [this] { Notified(); });
    if (!handle.ok()) return handle.status();
    {
      absl::MutexLock lock(&mu_);
      handle_.emplace(*std::move(handle));
    }
    Notified();  // What came before handle_ was set.
    return absl::OkStatus();
  }
  // Outside mu_: leaving waits for a notify running on the loop thread.
  void Leave() {
    std::optional<StatsFanout::Handle> handle;
    {
      absl::MutexLock lock(&mu_);
      if (handle_.has_value()) handle.emplace(std::move(*handle_));
      handle_.reset();
    }
  }
  // Takes what is waiting now (for a subscriber that is not eager).
  void TakeNow() {
    absl::MutexLock lock(&mu_);
    DrainLocked();
  }
  // Waits until `n` updates have come; whether they did.
  bool WaitForUpdates(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return got_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kTimeout);
  }
  std::optional<absl::Status> WaitForEnd() {
    absl::MutexLock lock(&mu_);
    auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return end_.has_value(); };
    mu_.AwaitWithTimeout(absl::Condition(&ended), kTimeout);
    return end_;
  }
  std::vector<uint64_t> free_memory() {
    absl::MutexLock lock(&mu_);
    std::vector<uint64_t> values;
    for (const v1::BalloonStats& stats : got_) values.push_back(stats.free_memory());
    return values;
  }
  int notifies() {
    absl::MutexLock lock(&mu_);
    return notifies_;
  }
  uint64_t coalesced() {
    absl::MutexLock lock(&mu_);
    return handle_->coalesced();
  }

 private:
  void Notified() {
    absl::MutexLock lock(&mu_);
    ++notifies_;
    if (eager_) DrainLocked();
  }
  void DrainLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!handle_.has_value()) return;
    while (true) {
      StatsFanout::Next next = handle_->Take();
      if (next.stats.has_value()) {
        got_.push_back(*next.stats);
      } else {
        if (next.end.has_value()) end_ = next.end;
        return;
      }
    }
  }

  const bool eager_;
  absl::Mutex mu_;
  std::optional<StatsFanout::Handle> handle_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::BalloonStats> got_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
  int notifies_ ABSL_GUARDED_BY(mu_) = 0;
};

class StatsFanoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto vmm = FakeVmm::Start(run_dir_.path() + "/control.sock");
    ASSERT_TRUE(vmm.ok()) << vmm.status();
    vmm_ = *std::move(vmm);
    ASSERT_TRUE(vmm_->Boot().ok());
    ASSERT_TRUE(vmm_->WaitForConnections(0));  // Boot's own connection is gone.
    MakeFanout(WatchLimits{});
  }

  void MakeFanout(WatchLimits limits) {
    fanout_.reset();
    auto fanout = StatsFanout::Create(limits);
    ASSERT_TRUE(fanout.ok()) << fanout.status();
    fanout_ = *std::move(fanout);
  }

  // Opens a watch on the fake VMM, counting how often it is asked to.
  StatsFanout::Opener Open() {
    return [this] {
      ++opens_;
      return vmm::control::VmmClient(vmm_->socket_path()).Watch(kTimeout);
    };
  }

  // A guest refresh reporting `free` bytes.
  void Publish(uint64_t free) { vmm_->vm().PublishStats(0, free); }

  testing::TempRunDir run_dir_;
  std::unique_ptr<FakeVmm> vmm_;
  std::unique_ptr<StatsFanout> fanout_;
  std::shared_ptr<int> instance_ = std::make_shared<int>(1);  // Stands for a VmInstance.
  std::atomic<int> opens_{0};
};

TEST_F(StatsFanoutTest, EverySubscriberGetsEveryUpdateInOrderOverOneConnection) {
  std::vector<std::unique_ptr<Collector>> collectors;
  for (int i = 0; i < 5; ++i) {
    collectors.push_back(std::make_unique<Collector>());
    ASSERT_TRUE(collectors.back()->Join(*fanout_, "vm", instance_, Open()).ok());
  }
  EXPECT_EQ(opens_, 1);
  EXPECT_EQ(fanout_->vm_watches(), 1);
  EXPECT_EQ(fanout_->subscribers(), 5);
  EXPECT_TRUE(vmm_->WaitForConnections(1)) << vmm_->connections();
  // The snapshot at the start, then one update per refresh; each refresh
  // waits for the last to arrive, so a fast subscriber coalesces nothing.
  for (auto& collector : collectors) ASSERT_TRUE(collector->WaitForUpdates(1));
  for (uint64_t free = 1; free <= 10; ++free) {
    Publish(free << 20);
    for (auto& collector : collectors) ASSERT_TRUE(collector->WaitForUpdates(1 + free));
  }
  std::vector<uint64_t> expected = {0};
  for (uint64_t free = 1; free <= 10; ++free) expected.push_back(free << 20);
  for (auto& collector : collectors) EXPECT_EQ(collector->free_memory(), expected);
  EXPECT_EQ(fanout_->coalesced_total(), 0u);
  // A late subscriber starts with the latest snapshot, as a new VMM watch
  // would, without waiting for the next refresh, and on the same connection.
  Collector late;
  ASSERT_TRUE(late.Join(*fanout_, "vm", instance_, Open()).ok());
  ASSERT_TRUE(late.WaitForUpdates(1));
  EXPECT_EQ(late.free_memory(), std::vector<uint64_t>{10 << 20});
  EXPECT_EQ(opens_, 1);
  EXPECT_EQ(vmm_->connections(), 1);
}

TEST_F(StatsFanoutTest, ASlowSubscriberKeepsOnlyTheLatestAndDelaysNobody) {
  Collector fast;
  Collector slow(/*eager=*/false);
  ASSERT_TRUE(fast.Join(*fanout_, "vm", instance_, Open()).ok());
  ASSERT_TRUE(slow.Join(*fanout_, "vm", instance_, Open()).ok());
  ASSERT_TRUE(fast.WaitForUpdates(1));
  for (uint64_t free = 1; free <= 20; ++free) {
    Publish(free);
    ASSERT_TRUE(fast.WaitForUpdates(1 + free)) << "the fast subscriber waits for the slow one";
  }
  EXPECT_EQ(fast.free_memory().size(), 21u);
  // The loop offers each update to the subscribers one after the other:
  // the slow one may get the last a moment after the fast one.
  for (absl::Time end = absl::Now() + kTimeout; slow.coalesced() < 20 && absl::Now() < end;) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  slow.TakeNow();
  // Only the newest snapshot; the 20 before it were replaced unseen.
  EXPECT_EQ(slow.free_memory(), std::vector<uint64_t>{20});
  EXPECT_EQ(slow.coalesced(), 20u);
  EXPECT_EQ(fast.coalesced(), 0u);
  EXPECT_EQ(fanout_->coalesced_total(), 20u);
  EXPECT_GE(slow.notifies(), 1);
  // Once it reads again it gets what is new, in order.
  Publish(21);
  ASSERT_TRUE(fast.WaitForUpdates(22));
  for (absl::Time end = absl::Now() + kTimeout;
       slow.free_memory().size() < 2 && absl::Now() < end;) {
    absl::SleepFor(absl::Milliseconds(5));
    slow.TakeNow();
  }
  EXPECT_EQ(slow.free_memory(), (std::vector<uint64_t>{20, 21}));
}

TEST_F(StatsFanoutTest, TheLastSubscriberToLeaveClosesTheVmmConnection) {
  auto first = std::make_unique<Collector>();
  auto second = std::make_unique<Collector>();
  ASSERT_TRUE(first->Join(*fanout_, "vm", instance_, Open()).ok());
  ASSERT_TRUE(second->Join(*fanout_, "vm", instance_, Open()).ok());
  ASSERT_TRUE(vmm_->WaitForConnections(1));
  first.reset();
  absl::SleepFor(absl::Milliseconds(300));  // The VMM notices a close within 200 ms.
  EXPECT_EQ(vmm_->connections(), 1) << "closed while a subscriber was left";
  EXPECT_EQ(fanout_->vm_watches(), 1);
  Publish(7);
  ASSERT_TRUE(second->WaitForUpdates(2));
  EXPECT_EQ(second->free_memory(), (std::vector<uint64_t>{0, 7}));
  second.reset();
  EXPECT_EQ(fanout_->vm_watches(), 0);
  EXPECT_EQ(fanout_->subscribers(), 0);
  EXPECT_TRUE(vmm_->WaitForConnections(0)) << vmm_->connections();
  // The next subscriber opens a new one.
  Collector third;
  ASSERT_TRUE(third.Join(*fanout_, "vm", instance_, Open()).ok());
  EXPECT_EQ(opens_, 2);
  ASSERT_TRUE(third.WaitForUpdates(1));
  EXPECT_EQ(third.free_memory(), std::vector<uint64_t>{7});
}

TEST_F(StatsFanoutTest, TheVmStoppingEndsEverySubscriber) {
  Collector a, b;
  ASSERT_TRUE(a.Join(*fanout_, "vm", instance_, Open()).ok());
  ASSERT_TRUE(b.Join(*fanout_, "vm", instance_, Open()).ok());
  ASSERT_TRUE(a.WaitForUpdates(1));
  vmm_->StopVm();
  for (Collector* collector : {&a, &b}) {
    std::optional<absl::Status> end = collector->WaitForEnd();
    ASSERT_TRUE(end.has_value());
    EXPECT_EQ(end->code(), absl::StatusCode::kUnavailable) << *end;
    EXPECT_NE(end->message().find("VM 'vm'"), std::string::npos) << *end;
    EXPECT_NE(end->message().find("the VM stopped"), std::string::npos) << *end;
  }
  EXPECT_EQ(fanout_->vm_watches(), 0);
  EXPECT_EQ(fanout_->subscribers(), 2) << "a subscriber counts until it leaves";
}

TEST_F(StatsFanoutTest, ADyingVmmEndsEverySubscriber) {
  Collector a, b;
  ASSERT_TRUE(a.Join(*fanout_, "vm", instance_, Open()).ok());
  ASSERT_TRUE(b.Join(*fanout_, "vm", instance_, Open()).ok());
  ASSERT_TRUE(b.WaitForUpdates(1));
  vmm_->Kill();
  for (Collector* collector : {&a, &b}) {
    std::optional<absl::Status> end = collector->WaitForEnd();
    ASSERT_TRUE(end.has_value());
    EXPECT_EQ(end->code(), absl::StatusCode::kUnavailable) << *end;
    EXPECT_NE(end->message().find("VM 'vm' statistics stream ended"), std::string::npos) << *end;
  }
  EXPECT_EQ(fanout_->vm_watches(), 0);
}

TEST_F(StatsFanoutTest, AFailedOpenEndsItsSubscriberWithTheError) {
  Collector collector;
  ASSERT_TRUE(collector
                  .Join(*fanout_, "vm", instance_,
                        [] { return absl::FailedPreconditionError("VM 'vm' is not running"); })
                  .ok());
  std::optional<absl::Status> end = collector.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(*end, absl::FailedPreconditionError("VM 'vm' is not running"));
  EXPECT_EQ(fanout_->vm_watches(), 0);
}

TEST_F(StatsFanoutTest, AVmCreatedAgainUnderItsIdGetsAWatchOfItsOwn) {
  Collector old_vm, new_vm;
  ASSERT_TRUE(old_vm.Join(*fanout_, "vm", instance_, Open()).ok());
  ASSERT_TRUE(old_vm.WaitForUpdates(1));
  auto other_instance = std::make_shared<int>(2);
  ASSERT_TRUE(new_vm.Join(*fanout_, "vm", other_instance, Open()).ok());
  std::optional<absl::Status> end = old_vm.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(opens_, 2);
  ASSERT_TRUE(new_vm.WaitForUpdates(1));
  EXPECT_EQ(fanout_->vm_watches(), 1);
}

TEST_F(StatsFanoutTest, LimitsPerVmAndInTotal) {
  MakeFanout(WatchLimits{/*per_vm=*/2, /*total=*/3});
  Collector a1, a2, a3, b1, c1, c2;
  ASSERT_TRUE(a1.Join(*fanout_, "a", instance_, Open()).ok());
  ASSERT_TRUE(a2.Join(*fanout_, "a", instance_, Open()).ok());
  absl::Status refused = a3.Join(*fanout_, "a", instance_, Open());
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_NE(refused.message().find("--max-watches-per-vm"), std::string::npos) << refused;
  auto b_instance = std::make_shared<int>(2);
  ASSERT_TRUE(b1.Join(*fanout_, "b", b_instance, Open()).ok());
  auto c_instance = std::make_shared<int>(3);
  refused = c1.Join(*fanout_, "c", c_instance, Open());
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_NE(refused.message().find("--max-watches"), std::string::npos) << refused;
  EXPECT_EQ(fanout_->subscribers(), 3);
  EXPECT_EQ(fanout_->vm_watches(), 2);  // a and b; the refused c opened nothing.
  a1.Leave();  // A freed slot is usable again.
  EXPECT_TRUE(c2.Join(*fanout_, "c", c_instance, Open()).ok());
  EXPECT_EQ(fanout_->subscribers(), 3);
}

}  // namespace
}  // namespace blimp::daemon
