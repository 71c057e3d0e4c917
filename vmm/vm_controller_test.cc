#include "vmm/vm_controller.h"

#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "vmm/testing/fake_running_vm.h"

namespace blimp::vmm {
namespace {

using absl::StatusCode;

using testing::FakeRunningVm;

BalloonConfig Balloon(uint32_t amount, uint32_t interval = 1, bool hinting = false) {
  BalloonConfig b;
  b.amount_mib = amount;
  b.stats_polling_interval_s = interval;
  b.free_page_hinting = hinting;
  return b;
}

// A controller for a 256 MiB VM, optionally with a balloon, optionally booted.
struct Scenario {
  std::optional<BalloonConfig> balloon;
  bool boot = false;
};

class VmControllerTest : public ::testing::Test {
 protected:
  void Make(const Scenario& setup) {
    PendingConfig config;
    config.boot_source = BootSourceConfig{"/kernel", "", ""};
    config.machine.mem_size_mib = 256;
    config.balloon = setup.balloon;
    controller_ = std::make_unique<VmController>(
        "vm0", config, [this](const VmConfig& c) -> absl::StatusOr<std::unique_ptr<RunningVm>> {
          launched_ = c;
          auto vm = std::make_unique<FakeRunningVm>();
          if (c.balloon) vm->SetBalloonTarget(c.balloon->amount_mib * 256);
          fake_ = vm.get();
          return std::unique_ptr<RunningVm>(std::move(vm));
        });
    if (setup.boot) {
      ASSERT_TRUE(controller_->Start().ok());
    }
  }

  std::unique_ptr<VmController> controller_;
  FakeRunningVm* fake_ = nullptr;
  std::optional<VmConfig> launched_;
};

struct Rule {
  std::string name;
  Scenario setup;
  std::function<absl::Status(VmController&)> call;
  StatusCode code;
  std::string message;  // Expected in the error message.
};

TEST_F(VmControllerTest, ContractRules) {
  const Rule rules[] = {
      {"put before boot", {std::nullopt, false},
       [](VmController& c) { return c.PutBalloon(Balloon(64)); }, StatusCode::kOk, ""},
      {"put after boot", {Balloon(0), true},
       [](VmController& c) { return c.PutBalloon(Balloon(64)); },
       StatusCode::kFailedPrecondition, "after starting"},
      {"put larger than memory", {std::nullopt, false},
       [](VmController& c) { return c.PutBalloon(Balloon(257)); },
       StatusCode::kInvalidArgument, "too large"},
      {"put equal to memory", {std::nullopt, false},
       [](VmController& c) { return c.PutBalloon(Balloon(256)); }, StatusCode::kOk, ""},
      {"machine smaller than balloon", {Balloon(200), false},
       [](VmController& c) { return c.PutMachineConfig({1, 128, false}); },
       StatusCode::kInvalidArgument, "smaller than the balloon"},
      {"machine config after boot", {std::nullopt, true},
       [](VmController& c) { return c.PutMachineConfig({1, 512, false}); },
       StatusCode::kFailedPrecondition, "after starting"},
      {"boot source after boot", {std::nullopt, true},
       [](VmController& c) { return c.PutBootSource({"/k2", "", ""}); },
       StatusCode::kFailedPrecondition, "after starting"},
      {"patch before boot", {Balloon(0), false},
       [](VmController& c) { return c.PatchBalloon(10); },
       StatusCode::kFailedPrecondition, "before starting"},
      {"patch after boot", {Balloon(0), true},
       [](VmController& c) { return c.PatchBalloon(10); }, StatusCode::kOk, ""},
      {"patch too large", {Balloon(0), true},
       [](VmController& c) { return c.PatchBalloon(300); },
       StatusCode::kInvalidArgument, "256 MiB"},
      {"patch without balloon", {std::nullopt, true},
       [](VmController& c) { return c.PatchBalloon(10); }, StatusCode::kNotFound, "not found"},
      {"get without balloon", {std::nullopt, false},
       [](VmController& c) { return c.GetBalloon().status(); }, StatusCode::kNotFound, "not found"},
      {"get before boot", {Balloon(5), false},
       [](VmController& c) { return c.GetBalloon().status(); }, StatusCode::kOk, ""},
      {"stats before boot", {Balloon(0), false},
       [](VmController& c) { return c.GetBalloonStatistics().status(); },
       StatusCode::kFailedPrecondition, "before starting"},
      {"stats disabled", {Balloon(0, 0), true},
       [](VmController& c) { return c.GetBalloonStatistics().status(); },
       StatusCode::kFailedPrecondition, "not enabled"},
      {"stats enabled", {Balloon(0, 1), true},
       [](VmController& c) { return c.GetBalloonStatistics().status(); }, StatusCode::kOk, ""},
      {"stats without balloon", {std::nullopt, true},
       [](VmController& c) { return c.GetBalloonStatistics().status(); },
       StatusCode::kNotFound, "not found"},
      {"enable stats after boot", {Balloon(0, 0), true},
       [](VmController& c) { return c.PatchBalloonStatistics(5); },
       StatusCode::kFailedPrecondition, "not enabled"},
      {"disable stats after boot", {Balloon(0, 1), true},
       [](VmController& c) { return c.PatchBalloonStatistics(0); },
       StatusCode::kFailedPrecondition, "cannot be disabled"},
      {"patch stats before boot", {Balloon(0, 1), false},
       [](VmController& c) { return c.PatchBalloonStatistics(2); },
       StatusCode::kFailedPrecondition, "before starting"},
      {"patch stats same value", {Balloon(0, 1), true},
       [](VmController& c) { return c.PatchBalloonStatistics(1); }, StatusCode::kOk, ""},
      {"hinting not enabled", {Balloon(0), true},
       [](VmController& c) { return c.StartHinting(true); },
       StatusCode::kFailedPrecondition, "hinting is not enabled"},
      {"hinting before boot", {Balloon(0, 1, true), false},
       [](VmController& c) { return c.GetHintingStatus().status(); },
       StatusCode::kFailedPrecondition, "before starting"},
      {"hinting after boot", {Balloon(0, 1, true), true},
       [](VmController& c) { return c.StopHinting(); }, StatusCode::kOk, ""},
      {"hinting without balloon", {std::nullopt, true},
       [](VmController& c) { return c.StartHinting(true); }, StatusCode::kNotFound, "not found"},
      {"start twice", {std::nullopt, true},
       [](VmController& c) { return c.Start(); }, StatusCode::kFailedPrecondition, "already"},
      {"stop before boot", {std::nullopt, false},
       [](VmController& c) { return c.Stop(); }, StatusCode::kFailedPrecondition, "not running"},
  };
  for (const Rule& rule : rules) {
    SCOPED_TRACE(rule.name);
    Make(rule.setup);
    VmInfo before = controller_->Info();
    absl::Status status = rule.call(*controller_);
    EXPECT_EQ(status.code(), rule.code) << status;
    EXPECT_NE(status.message().find(rule.message), std::string::npos) << status;
    if (!status.ok()) {
      // A refused call changes nothing.
      VmInfo after = controller_->Info();
      EXPECT_EQ(after.phase, before.phase);
      EXPECT_EQ(after.config.machine.mem_size_mib, before.config.machine.mem_size_mib);
      EXPECT_EQ(after.config.balloon.has_value(), before.config.balloon.has_value());
      if (before.config.balloon) {
        EXPECT_EQ(after.config.balloon->amount_mib, before.config.balloon->amount_mib);
        EXPECT_EQ(after.config.balloon->stats_polling_interval_s,
                  before.config.balloon->stats_polling_interval_s);
      }
    }
  }
}

TEST_F(VmControllerTest, StartNeedsABootSource) {
  controller_ = std::make_unique<VmController>("vm0", PendingConfig{}, nullptr);
  absl::Status status = controller_->Start();
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("boot source"), std::string::npos);
}

TEST_F(VmControllerTest, FailedLaunchLeavesTheVmConfigurable) {
  PendingConfig config;
  config.boot_source = BootSourceConfig{"/nope", "", ""};
  controller_ = std::make_unique<VmController>(
      "vm0", config, [](const VmConfig&) -> absl::StatusOr<std::unique_ptr<RunningVm>> {
        return absl::InvalidArgumentError("cannot read '/nope'");
      });
  EXPECT_EQ(controller_->Start().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(controller_->Info().phase, VmPhase::kNotStarted);
  EXPECT_TRUE(controller_->PutBootSource({"/ok", "", ""}).ok());
}

TEST_F(VmControllerTest, LaunchGetsTheAssembledConfig) {
  Make({std::nullopt, false});
  ASSERT_TRUE(controller_->PutMachineConfig({2, 512, false}).ok());
  ASSERT_TRUE(controller_->PutBalloon(Balloon(100, 2)).ok());
  ASSERT_TRUE(controller_->Start().ok());
  ASSERT_TRUE(launched_.has_value());
  EXPECT_EQ(launched_->machine.vcpu_count, 2u);
  EXPECT_EQ(launched_->machine.mem_size_mib, 512u);
  EXPECT_EQ(launched_->balloon->amount_mib, 100u);
  EXPECT_EQ(controller_->Info().phase, VmPhase::kRunning);
}

TEST_F(VmControllerTest, PatchSetsTheTargetInPagesAndGetReportsIt) {
  Make({Balloon(0), true});
  ASSERT_TRUE(controller_->PatchBalloon(64).ok());
  EXPECT_EQ(fake_->GetBalloon().target_pages, 64u * 256);
  EXPECT_EQ(controller_->GetBalloon()->amount_mib, 64u);
}

TEST_F(VmControllerTest, IntervalChangeRefreshesOnlyWhenItChanges) {
  Make({Balloon(0, 1), true});
  ASSERT_TRUE(controller_->PatchBalloonStatistics(1).ok());
  EXPECT_TRUE(fake_->intervals().empty());
  ASSERT_TRUE(controller_->PatchBalloonStatistics(3).ok());
  EXPECT_EQ(fake_->intervals(), std::vector<uint32_t>{3});
  EXPECT_EQ(controller_->GetBalloon()->stats_polling_interval_s, 3u);
}

TEST_F(VmControllerTest, StopEndsTheVmAndBalloonCallsAreRefused) {
  Make({Balloon(0), true});
  ASSERT_TRUE(controller_->Stop().ok());
  EXPECT_EQ(controller_->Info().phase, VmPhase::kStopped);
  EXPECT_EQ(controller_->PatchBalloon(1).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(controller_->Stop().code(), StatusCode::kFailedPrecondition);
}

TEST_F(VmControllerTest, PauseAndResumeAreIdempotentAndRefusedBeforeBoot) {
  Make({Balloon(0), false});
  EXPECT_EQ(controller_->Pause().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(controller_->Resume().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(controller_->Start().ok());
  ASSERT_TRUE(controller_->Pause().ok());
  EXPECT_EQ(controller_->Info().phase, VmPhase::kPaused);
  ASSERT_TRUE(controller_->Pause().ok());
  EXPECT_EQ(fake_->pauses(), 1) << "a paused VM is not paused again";
  ASSERT_TRUE(controller_->Resume().ok());
  ASSERT_TRUE(controller_->Resume().ok());
  EXPECT_EQ(fake_->resumes(), 1);
  EXPECT_EQ(controller_->Info().phase, VmPhase::kRunning);
}

TEST_F(VmControllerTest, APausedVmTakesBalloonCallsAndStops) {
  Make({Balloon(0, 1, true), true});
  ASSERT_TRUE(controller_->Pause().ok());
  ASSERT_TRUE(controller_->PatchBalloon(64).ok());
  EXPECT_EQ(fake_->GetBalloon().target_pages, 64u * 256);
  EXPECT_EQ(controller_->GetBalloon()->amount_mib, 64u);
  EXPECT_TRUE(controller_->GetBalloonStatistics().ok());
  EXPECT_TRUE(controller_->PatchBalloonStatistics(2).ok());
  EXPECT_TRUE(controller_->StartHinting(true).ok());
  ASSERT_TRUE(controller_->Stop().ok());
  EXPECT_EQ(controller_->Info().phase, VmPhase::kStopped);
  EXPECT_EQ(controller_->Resume().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(controller_->Pause().code(), StatusCode::kFailedPrecondition);
}

TEST_F(VmControllerTest, APauseThatFailsLeavesTheVmRunning) {
  Make({Balloon(0), true});
  fake_->SetPauseResult(absl::DeadlineExceededError("vCPU 0 did not pause"));
  EXPECT_EQ(controller_->Pause().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(controller_->Info().phase, VmPhase::kRunning);
  fake_->SetPauseResult(absl::OkStatus());
  EXPECT_TRUE(controller_->Pause().ok());
}

}  // namespace
}  // namespace blimp::vmm
