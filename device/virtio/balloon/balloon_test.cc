#include "device/virtio/balloon/balloon.h"

#include <cstring>

#include "device/virtio/testing/fake_driver.h"
#include "device/virtio/virtio_defs.h"
#include "gtest/gtest.h"

namespace blimp::device::virtio::balloon {
namespace {

using memory::GuestAddress;
using memory::GuestMemory;

constexpr uint64_t kMiB = 1 << 20;

class CountingSink : public InterruptSink {
 public:
  void SignalUsedBuffers() override { ++used; }
  void SignalConfigChange() override { ++config; }
  int used = 0;
  int config = 0;
};

// A 16 MiB guest with the balloon's queues laid out in its first pages and
// PFN/stat buffers at 1 MiB.
class BalloonTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kScratch = 1 * kMiB;

  void Start(const BalloonOptions& options, uint64_t features) {
    balloon_ = std::make_unique<Balloon>(options, [this] { ++stats_callbacks_; });
    size_t count = balloon_->queue_max_sizes().size();
    for (size_t i = 0; i < count; ++i) {
      uint64_t base = 0x10000 + i * 0x4000;
      queues_.push_back(std::make_unique<SplitQueue>(256));
      drivers_.push_back(std::make_unique<FakeDriver>(memory_, 16, base, base + 0x1000,
                                                      base + 0x2000));
      ASSERT_TRUE(drivers_.back()->Configure(*queues_.back()).ok());
    }
    ActivateContext context{&memory_, {}, features | (1ull << kFeatureVersion1), &sink_};
    for (auto& q : queues_) context.queues.push_back(q.get());
    ASSERT_TRUE(balloon_->Activate(context).ok());
  }

  // Writes PFNs at kScratch and sends them on queue `q`.
  void SendPfns(size_t q, const std::vector<uint32_t>& pfns, bool writable = false) {
    ASSERT_TRUE(memory_.Write(GuestAddress(kScratch), pfns.data(), pfns.size() * 4).ok());
    drivers_[q]->AddChain({{kScratch, static_cast<uint32_t>(pfns.size() * 4), writable}});
    balloon_->ProcessQueue(q);
  }

  void SendStats(size_t q, const std::vector<std::pair<uint16_t, uint64_t>>& tags) {
    std::vector<uint8_t> bytes(tags.size() * kStatEntrySize);
    for (size_t i = 0; i < tags.size(); ++i) {
      std::memcpy(&bytes[i * kStatEntrySize], &tags[i].first, 2);
      std::memcpy(&bytes[i * kStatEntrySize + 2], &tags[i].second, 8);
    }
    ASSERT_TRUE(memory_.Write(GuestAddress(kScratch), bytes.data(), bytes.size()).ok());
    drivers_[q]->AddChain({{kScratch, static_cast<uint32_t>(bytes.size())}});
    balloon_->ProcessQueue(q);
  }

  // The guest's side of free page hinting on queue `q`.
  void SendHintCmd(size_t q, uint32_t cmd) {
    ASSERT_TRUE(memory_.WriteObj(GuestAddress(kScratch), cmd).ok());
    drivers_[q]->AddChain({{kScratch, 4}});
    balloon_->ProcessQueue(q);
  }
  void SendHint(size_t q, uint64_t addr, uint32_t len, bool writable = true) {
    drivers_[q]->AddChain({{addr, len, writable}});
    balloon_->ProcessQueue(q);
  }
  uint32_t ConfigWord(uint64_t offset) {
    uint32_t value = 0;
    balloon_->ReadConfig(offset, absl::MakeSpan(reinterpret_cast<uint8_t*>(&value), 4));
    return value;
  }

  GuestMemory memory_ = *GuestMemory::CreateRam(16 * kMiB);
  CountingSink sink_;
  std::unique_ptr<Balloon> balloon_;
  std::vector<std::unique_ptr<SplitQueue>> queues_;
  std::vector<std::unique_ptr<FakeDriver>> drivers_;
  int stats_callbacks_ = 0;
};

TEST_F(BalloonTest, OffersFeaturesAndQueuesAsConfigured) {
  Balloon plain(BalloonOptions{});
  EXPECT_EQ(plain.offered_features(), 1ull << kFeatureVersion1);
  EXPECT_EQ(plain.queue_max_sizes().size(), 2u);
  Balloon full(BalloonOptions{0, true, true, true, true});
  EXPECT_EQ(full.offered_features(),
            (1ull << kFeatureVersion1) | (1 << kFeatureStatsVq) | (1 << kFeatureDeflateOnOom) |
                (1 << kFeatureFreePageHint) | (1 << kFeaturePagePoison) |
                (1 << kFeatureReporting));
  EXPECT_EQ(full.queue_max_sizes().size(), 5u);
  // PAGE_POISON comes with reporting (Linux drops reporting without it).
  Balloon reporting(BalloonOptions{0, false, false, true});
  EXPECT_EQ(reporting.offered_features(), (1ull << kFeatureVersion1) |
                                              (1 << kFeaturePagePoison) | (1 << kFeatureReporting));
  Balloon hinting(BalloonOptions{0, false, false, false, true});
  EXPECT_EQ(hinting.offered_features(), (1ull << kFeatureVersion1) | (1 << kFeatureFreePageHint));
  EXPECT_EQ(full.device_id(), 5u);
}

TEST_F(BalloonTest, ConfigSpaceTargetAndActual) {
  Start(BalloonOptions{512}, 0);
  uint32_t value = 0;
  balloon_->ReadConfig(0, absl::MakeSpan(reinterpret_cast<uint8_t*>(&value), 4));
  EXPECT_EQ(value, 512u);
  uint32_t actual = 300;
  balloon_->WriteConfig(4, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&actual), 4));
  EXPECT_EQ(balloon_->actual_pages(), 300u);
  // The driver cannot move the target.
  balloon_->WriteConfig(0, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&actual), 4));
  EXPECT_EQ(balloon_->target_pages(), 512u);
  EXPECT_EQ(balloon_->metrics().event_fails, 1u);
  balloon_->SetTargetPages(1024);
  EXPECT_EQ(balloon_->target_pages(), 1024u);
  EXPECT_EQ(sink_.config, 1);
  // Reads past the config space see zeroes.
  balloon_->ReadConfig(100, absl::MakeSpan(reinterpret_cast<uint8_t*>(&value), 4));
  EXPECT_EQ(value, 0u);
}

TEST_F(BalloonTest, InflateDiscardsPagesAndDeflateAcknowledges) {
  Start(BalloonOptions{}, 0);
  const uint32_t kPfn = 0x800;  // 8 MiB.
  ASSERT_TRUE(memory_.WriteObj<uint64_t>(GuestAddress(uint64_t{kPfn} << 12), 0xfeed).ok());
  ASSERT_TRUE(memory_.WriteObj<uint64_t>(GuestAddress(uint64_t{kPfn + 2} << 12), 0xbeef).ok());
  SendPfns(0, {kPfn, kPfn + 1, kPfn});
  EXPECT_EQ(*memory_.ReadObj<uint64_t>(GuestAddress(uint64_t{kPfn} << 12)), 0u);
  EXPECT_EQ(*memory_.ReadObj<uint64_t>(GuestAddress(uint64_t{kPfn + 2} << 12)), 0xbeefu);
  EXPECT_EQ(balloon_->metrics().inflate_count, 1u);
  EXPECT_EQ(balloon_->metrics().discarded_bytes, 2u * 4096);
  EXPECT_EQ(drivers_[0]->UsedIdx(), 1);
  EXPECT_EQ(sink_.used, 1);
  SendPfns(1, {kPfn});
  EXPECT_EQ(balloon_->metrics().deflate_count, 1u);
  EXPECT_EQ(drivers_[1]->UsedIdx(), 1);
}

TEST_F(BalloonTest, HostileInflateTouchesNothingOutsideRam) {
  Start(BalloonOptions{}, 0);
  ASSERT_TRUE(memory_.WriteObj<uint64_t>(GuestAddress(0x5000), 0x1234).ok());
  SendPfns(0, {0x100000, 0xffffffff, 4096});  // All outside 16 MiB.
  EXPECT_EQ(balloon_->metrics().invalid_pfns, 3u);
  EXPECT_EQ(balloon_->metrics().discarded_bytes, 0u);
  SendPfns(0, {5}, /*writable=*/true);  // Write-only where read-only belongs.
  EXPECT_EQ(*memory_.ReadObj<uint64_t>(GuestAddress(0x5000)), 0x1234u);
  // Odd-length buffer.
  drivers_[0]->AddChain({{kScratch, 6}});
  balloon_->ProcessQueue(0);
  EXPECT_EQ(*memory_.ReadObj<uint64_t>(GuestAddress(0x5000)), 0x1234u);
  EXPECT_GE(balloon_->metrics().event_fails, 3u);
  // Every chain was returned, so the driver does not leak descriptors.
  EXPECT_EQ(drivers_[0]->UsedIdx(), 3);
  // A notification with nothing queued, and one for a queue that does not
  // exist.
  balloon_->ProcessQueue(0);
  EXPECT_EQ(balloon_->metrics().spurious_notifications, 1u);
  balloon_->ProcessQueue(7);
  EXPECT_GE(balloon_->metrics().event_fails, 4u);
}

TEST_F(BalloonTest, StatsAreHeldParsedAndKeptWhenOmitted) {
  Start(BalloonOptions{0, false, true}, 1ull << kFeatureStatsVq);
  SendStats(2, {{4, 1000}, {5, 5000}});
  EXPECT_EQ(balloon_->stats()[4], 1000u);
  EXPECT_EQ(balloon_->stats()[5], 5000u);
  EXPECT_FALSE(balloon_->stats()[0].has_value());
  EXPECT_EQ(balloon_->metrics().stats_updates_count, 1u);
  EXPECT_EQ(stats_callbacks_, 1);
  EXPECT_EQ(drivers_[2]->UsedIdx(), 0);  // Held.
  balloon_->RequestStats();
  EXPECT_EQ(drivers_[2]->UsedIdx(), 1);  // Handed back.
  balloon_->RequestStats();              // Nothing held: no-op.
  EXPECT_EQ(drivers_[2]->UsedIdx(), 1);
  SendStats(2, {{4, 900}, {99, 1}});  // Tag 5 omitted, tag 99 bogus.
  EXPECT_EQ(balloon_->stats()[4], 900u);
  EXPECT_EQ(balloon_->stats()[5], 5000u);
  EXPECT_EQ(balloon_->metrics().stats_update_fails, 1u);
}

TEST_F(BalloonTest, ImpossibleStatsAreCounted) {
  Start(BalloonOptions{0, false, true}, 1ull << kFeatureStatsVq);
  SendStats(2, {{5, 5000}, {4, 1000}, {6, 2000}, {3, 10}});  // Honest.
  EXPECT_EQ(balloon_->metrics().stats_impossible, 0u);
  SendStats(2, {{4, 900}, {3, 12}});  // Total kept from before; faults grow.
  EXPECT_EQ(balloon_->metrics().stats_impossible, 0u);
  SendStats(2, {{4, 6000}});  // Free above total.
  EXPECT_EQ(balloon_->metrics().stats_impossible, 1u);
  SendStats(2, {{4, 100}, {6, 9000}});  // Available above total.
  EXPECT_EQ(balloon_->metrics().stats_impossible, 2u);
  SendStats(2, {{6, 100}, {3, 11}});  // minor_faults backwards.
  EXPECT_EQ(balloon_->metrics().stats_impossible, 3u);
  EXPECT_EQ(balloon_->stats()[3], 11u);  // Applied all the same.
  SendStats(2, {{3, 11}});
  EXPECT_EQ(balloon_->metrics().stats_impossible, 3u);
}

TEST_F(BalloonTest, MalformedStatsBufferCountsAsFailedUpdate) {
  Start(BalloonOptions{0, false, true}, 1ull << kFeatureStatsVq);
  drivers_[2]->AddChain({{kScratch, 7}});
  balloon_->ProcessQueue(2);
  EXPECT_EQ(balloon_->metrics().stats_update_fails, 1u);
  EXPECT_EQ(balloon_->metrics().stats_updates_count, 0u);
}

TEST_F(BalloonTest, QueuesFollowTheAcceptedFeatures) {
  // Reporting offered with stats, but the driver took only reporting: the
  // reporting queue is index 2.
  Start(BalloonOptions{0, false, true, true}, 1ull << kFeatureReporting);
  ASSERT_TRUE(memory_.WriteObj<uint64_t>(GuestAddress(2 * kMiB), 0x77).ok());
  drivers_[2]->AddChain({{2 * kMiB, 2 * kMiB, true}});
  balloon_->ProcessQueue(2);
  EXPECT_EQ(*memory_.ReadObj<uint64_t>(GuestAddress(2 * kMiB)), 0u);
  EXPECT_EQ(balloon_->metrics().free_page_report_count, 1u);
  EXPECT_EQ(balloon_->metrics().free_page_report_freed, 2 * kMiB);
  // Unaligned or out-of-RAM reports are refused.
  drivers_[2]->AddChain({{2 * kMiB + 8, 4096, true}});
  drivers_[2]->AddChain({{15 * kMiB, 2 * kMiB, true}});
  balloon_->ProcessQueue(2);
  EXPECT_EQ(balloon_->metrics().free_page_report_freed, 2 * kMiB);
  EXPECT_EQ(drivers_[2]->UsedIdx(), 3);
}

constexpr uint64_t kPoisonReporting = (1ull << kFeaturePagePoison) | (1ull << kFeatureReporting);

TEST_F(BalloonTest, PoisonValIsWrittenByTheDriverAndClearedByReset) {
  Start(BalloonOptions{0, false, false, true}, kPoisonReporting);
  uint32_t poison = 0xaaaaaaaa;
  auto bytes = [](uint32_t& v, size_t n = 4) {
    return absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&v), n);
  };
  balloon_->WriteConfig(kConfigPoisonOffset, bytes(poison));
  EXPECT_EQ(ConfigWord(kConfigPoisonOffset), poison);
  // Still nothing else: the hint command id, or a write across two fields.
  balloon_->WriteConfig(8, bytes(poison));
  uint64_t wide = ~0ull;
  balloon_->WriteConfig(4, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&wide), 8));
  EXPECT_EQ(ConfigWord(8), 0u);
  EXPECT_EQ(balloon_->metrics().event_fails, 2u);
  balloon_->Reset();
  EXPECT_EQ(ConfigWord(kConfigPoisonOffset), 0u);
  // Without PAGE_POISON offered the field does not exist for the driver.
  Balloon plain(BalloonOptions{});
  plain.WriteConfig(kConfigPoisonOffset, bytes(poison));
  uint32_t value = 1;
  plain.ReadConfig(kConfigPoisonOffset, absl::MakeSpan(reinterpret_cast<uint8_t*>(&value), 4));
  EXPECT_EQ(value, 0u);
  EXPECT_EQ(plain.metrics().event_fails, 1u);
}

TEST_F(BalloonTest, ReportedPagesOfAPoisoningGuestAreKept) {
  Start(BalloonOptions{0, false, false, true}, kPoisonReporting);
  uint32_t poison = 0xaaaaaaaa;
  balloon_->WriteConfig(kConfigPoisonOffset,
                        absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&poison), 4));
  std::vector<uint8_t> pattern(2 * kMiB, 0xaa);
  ASSERT_TRUE(memory_.Write(GuestAddress(2 * kMiB), pattern.data(), pattern.size()).ok());
  drivers_[2]->AddChain({{2 * kMiB, 2 * kMiB, true}});
  balloon_->ProcessQueue(2);
  EXPECT_EQ(*memory_.ReadObj<uint32_t>(GuestAddress(3 * kMiB)), poison);
  EXPECT_EQ(balloon_->metrics().free_page_report_count, 1u);
  EXPECT_EQ(balloon_->metrics().free_page_report_freed, 0u);
  EXPECT_EQ(balloon_->metrics().free_page_report_skipped, 2 * kMiB);
  EXPECT_EQ(balloon_->metrics().discarded_bytes, 0u);
  EXPECT_EQ(drivers_[2]->UsedIdx(), 1);  // Returned all the same.
  // Inflate is unaffected: the guest poisons pages again when they deflate.
  SendPfns(0, {0x300});
  EXPECT_EQ(*memory_.ReadObj<uint32_t>(GuestAddress(3 * kMiB)), 0u);
}

TEST_F(BalloonTest, ReportedPagesOfAnInitOnFreeGuestAreDiscarded) {
  // PAGE_POISON with poison_val 0: the guest expects zeroed free pages.
  Start(BalloonOptions{0, false, false, true}, kPoisonReporting);
  ASSERT_TRUE(memory_.WriteObj<uint64_t>(GuestAddress(2 * kMiB), 0x77).ok());
  drivers_[2]->AddChain({{2 * kMiB, 2 * kMiB, true}});
  balloon_->ProcessQueue(2);
  EXPECT_EQ(*memory_.ReadObj<uint64_t>(GuestAddress(2 * kMiB)), 0u);
  EXPECT_EQ(balloon_->metrics().free_page_report_freed, 2 * kMiB);
  EXPECT_EQ(balloon_->metrics().free_page_report_skipped, 0u);
}

TEST_F(BalloonTest, PoisonValCountsOnlyWhenPagePoisonWasNegotiated) {
  Start(BalloonOptions{0, false, false, true}, 1ull << kFeatureReporting);
  uint32_t poison = 0xaaaaaaaa;
  balloon_->WriteConfig(kConfigPoisonOffset,
                        absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&poison), 4));
  ASSERT_TRUE(memory_.WriteObj<uint64_t>(GuestAddress(2 * kMiB), 0x77).ok());
  drivers_[2]->AddChain({{2 * kMiB, 2 * kMiB, true}});
  balloon_->ProcessQueue(2);
  EXPECT_EQ(*memory_.ReadObj<uint64_t>(GuestAddress(2 * kMiB)), 0u);
  EXPECT_EQ(balloon_->metrics().free_page_report_freed, 2 * kMiB);
}

TEST_F(BalloonTest, HintingRunDiscardsHintedPagesAndAcknowledges) {
  Start(BalloonOptions{0, false, false, false, true}, 1ull << kFeatureFreePageHint);
  balloon_->StartHinting(true);
  uint32_t cmd = balloon_->hinting().host_cmd;
  EXPECT_GE(cmd, kHintCmdIdFirst);
  EXPECT_EQ(sink_.config, 1);
  ASSERT_TRUE(memory_.WriteObj(GuestAddress(kScratch), cmd).ok());
  ASSERT_TRUE(memory_.WriteObj<uint64_t>(GuestAddress(4 * kMiB), 0x99).ok());
  drivers_[2]->AddChain({{kScratch, 4}});
  drivers_[2]->AddChain({{4 * kMiB, 1 << 20, true}});
  balloon_->ProcessQueue(2);
  EXPECT_EQ(balloon_->hinting().guest_cmd, cmd);
  EXPECT_EQ(*memory_.ReadObj<uint64_t>(GuestAddress(4 * kMiB)), 0u);
  EXPECT_EQ(balloon_->metrics().free_page_hint_freed, 1u << 20);
  // The guest says STOP: acknowledged with DONE.
  ASSERT_TRUE(memory_.WriteObj<uint32_t>(GuestAddress(kScratch), kHintCmdIdStop).ok());
  drivers_[2]->AddChain({{kScratch, 4}});
  balloon_->ProcessQueue(2);
  EXPECT_EQ(balloon_->hinting().host_cmd, kHintCmdIdDone);
}

TEST_F(BalloonTest, StopHintingPublishesDoneWhateverAcknowledgeOnStopSays) {
  Start(BalloonOptions{0, false, false, false, true}, 1ull << kFeatureFreePageHint);
  balloon_->StartHinting(/*acknowledge_on_stop=*/false);
  uint32_t run = balloon_->hinting().host_cmd;
  SendHintCmd(2, run);
  SendHint(2, 4 * kMiB, 1 << 20);
  SendHintCmd(2, kHintCmdIdStop);
  // The guest's STOP is not acknowledged: the guest keeps the pages.
  EXPECT_EQ(balloon_->hinting().host_cmd, run);
  EXPECT_EQ(sink_.config, 1);
  // The host's stop frees them: DONE, never STOP.
  balloon_->StopHinting();
  EXPECT_EQ(balloon_->hinting().host_cmd, kHintCmdIdDone);
  EXPECT_EQ(ConfigWord(8), kHintCmdIdDone);
  EXPECT_EQ(sink_.config, 2);
}

TEST_F(BalloonTest, AStopOfAnOlderRunDoesNotEndTheNewOne) {
  Start(BalloonOptions{0, false, false, false, true}, 1ull << kFeatureFreePageHint);
  balloon_->StartHinting(true);
  uint32_t run2 = balloon_->hinting().host_cmd;
  SendHintCmd(2, run2);
  balloon_->StartHinting(true);
  uint32_t run3 = balloon_->hinting().host_cmd;
  ASSERT_NE(run3, run2);
  SendHintCmd(2, kHintCmdIdStop);  // Run 2's STOP, after run 3 began.
  EXPECT_EQ(balloon_->hinting().host_cmd, run3);
  EXPECT_EQ(ConfigWord(8), run3);
  // Run 3's own STOP ends it.
  SendHintCmd(2, run3);
  SendHint(2, 4 * kMiB, 1 << 20);
  SendHintCmd(2, kHintCmdIdStop);
  EXPECT_EQ(balloon_->hinting().host_cmd, kHintCmdIdDone);
}

TEST_F(BalloonTest, OnlyWritableHintsOfTheCurrentRunAreDiscarded) {
  Start(BalloonOptions{0, false, false, false, true}, 1ull << kFeatureFreePageHint);
  for (uint64_t mib : {4, 5, 6, 7, 8}) {
    ASSERT_TRUE(memory_.WriteObj<uint64_t>(GuestAddress(mib * kMiB), mib).ok());
  }
  auto word = [&](uint64_t mib) { return *memory_.ReadObj<uint64_t>(GuestAddress(mib * kMiB)); };
  SendHintCmd(2, 7);  // An id the host never published.
  SendHint(2, 8 * kMiB, 4096);
  EXPECT_EQ(word(8), 8u);
  balloon_->StartHinting(true);
  SendHintCmd(2, balloon_->hinting().host_cmd);
  balloon_->StartHinting(true);
  SendHint(2, 4 * kMiB, 4096);  // The guest is still on the older run.
  EXPECT_EQ(word(4), 4u);
  SendHintCmd(2, balloon_->hinting().host_cmd);
  SendHint(2, 5 * kMiB, 4096, /*writable=*/false);  // Not a hint: a bad command.
  EXPECT_EQ(word(5), 5u);
  SendHint(2, 6 * kMiB, 4096);
  EXPECT_EQ(word(6), 0u);
  balloon_->StopHinting();
  SendHint(2, 7 * kMiB, 4096);  // After DONE the guest owns its pages again.
  EXPECT_EQ(word(7), 7u);
  EXPECT_EQ(balloon_->metrics().free_page_hint_freed, 4096u);
  EXPECT_EQ(balloon_->metrics().event_fails, 1u);
  EXPECT_EQ(drivers_[2]->UsedIdx(), 8);  // Every chain went back.
}

TEST_F(BalloonTest, ResetForgetsTheDriver) {
  Start(BalloonOptions{0, false, true}, 1ull << kFeatureStatsVq);
  SendStats(2, {{4, 1}});
  balloon_->Reset();
  EXPECT_FALSE(balloon_->active());
  balloon_->RequestStats();  // Nothing held any more, no queues: no-op.
  balloon_->ProcessQueue(0);  // Not active: ignored.
  EXPECT_EQ(balloon_->actual_pages(), 0u);
}

// A snapshot's device state: a fresh balloon on the same queues carries on
// where the first left off (target, statistics, the held buffer, hinting).
TEST_F(BalloonTest, SavedStateRestoresIntoAFreshBalloon) {
  const BalloonOptions options{0, false, true, false, true};
  Start(options, (1ull << kFeatureStatsVq) | (1ull << kFeatureFreePageHint));
  SendStats(2, {{4, 1000}});
  balloon_->SetTargetPages(100);
  balloon_->StartHinting(true);
  const BalloonState saved = balloon_->SaveState();
  ASSERT_TRUE(saved.held_stats_head.has_value());

  Balloon fresh(options);
  ActivateContext context{&memory_, {}, balloon_->acked_features(), &sink_};
  for (auto& q : queues_) context.queues.push_back(q.get());
  ASSERT_TRUE(fresh.Activate(context).ok());
  ASSERT_TRUE(fresh.RestoreState(saved).ok());
  EXPECT_EQ(fresh.target_pages(), 100u);
  EXPECT_EQ(fresh.stats()[4], 1000u);
  EXPECT_EQ(fresh.hinting().host_cmd, balloon_->hinting().host_cmd);
  EXPECT_EQ(fresh.metrics().stats_updates_count, 1u);
  const uint16_t used = drivers_[2]->UsedIdx();
  fresh.RequestStats();
  EXPECT_EQ(drivers_[2]->UsedIdx(), used + 1) << "the held buffer went back";

  BalloonState bad = saved;
  bad.held_stats_head = 300;  // Past the queue.
  EXPECT_FALSE(fresh.RestoreState(bad).ok());
  bad = saved;
  bad.next_hint_cmd = 1;  // DONE is reserved.
  EXPECT_FALSE(fresh.RestoreState(bad).ok());
  Balloon inactive(options);
  EXPECT_FALSE(inactive.RestoreState(saved).ok()) << "a held buffer needs an active device";
}

}  // namespace
}  // namespace blimp::device::virtio::balloon
