#include "client/top_view.h"

#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blimp::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kMib = 1024 * 1024;

blimp::v1::Vm MakeVm(const std::string& id, uint32_t mem_mib, uint64_t rss_mib,
                     std::optional<uint32_t> actual = std::nullopt) {
  blimp::v1::Vm vm;
  vm.set_vm_id(id);
  vm.set_state(blimp::v1::VM_STATE_RUNNING);
  vm.mutable_config()->mutable_machine_config()->set_vcpu_count(2);
  vm.mutable_config()->mutable_machine_config()->set_mem_size_mib(mem_mib);
  vm.set_vmm_rss_bytes(rss_mib * kMib);
  if (actual) {
    vm.set_balloon_target_mib(*actual);
    vm.set_balloon_actual_mib(*actual);
  }
  return vm;
}

std::vector<std::string> Ids(const std::vector<TopRow>& rows) {
  std::vector<std::string> ids;
  for (const TopRow& row : rows) ids.push_back(row.id);
  return ids;
}

std::vector<std::string> Lines(const std::string& frame) {
  return absl::StrSplit(frame, '\n');
}

// Columns of a UTF-8 line.
size_t Columns(const std::string& line) {
  size_t n = 0;
  for (unsigned char c : line) n += (c & 0xC0) != 0x80;
  return n;
}

TEST(TopViewTest, SortsByEachColumn) {
  TopModel model;
  model.UpdateVms({MakeVm("b", 512, 30, 100), MakeVm("a", 256, 50), MakeVm("c", 1024, 10, 0)});
  blimp::v1::BalloonStats stats;
  stats.set_free_memory(100 * kMib);
  stats.set_available_memory(300 * kMib);
  model.UpdateStats("c", stats);
  stats.set_free_memory(200 * kMib);
  stats.set_available_memory(150 * kMib);
  model.UpdateStats("b", stats);

  EXPECT_THAT(Ids(model.Rows(TopSort::kId)), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Ids(model.Rows(TopSort::kMemory)), ElementsAre("c", "b", "a"));
  EXPECT_THAT(Ids(model.Rows(TopSort::kRss)), ElementsAre("a", "b", "c"));
  // No balloon / no statistics: last.
  EXPECT_THAT(Ids(model.Rows(TopSort::kBalloon)), ElementsAre("b", "c", "a"));
  EXPECT_THAT(Ids(model.Rows(TopSort::kFree)), ElementsAre("b", "c", "a"));
  EXPECT_THAT(Ids(model.Rows(TopSort::kAvailable)), ElementsAre("c", "b", "a"));
}

TEST(TopViewTest, SortKeys) {
  TopSort sort = TopSort::kId;
  std::vector<std::string> names;
  for (int i = 0; i < kTopSortCount; ++i) {
    names.push_back(TopSortName(sort));
    sort = NextTopSort(sort);
  }
  EXPECT_EQ(sort, TopSort::kId);  // Round.
  EXPECT_THAT(names, ElementsAre("id", "mem", "balloon", "rss", "free", "avail"));
  EXPECT_EQ(TopSortForKey('r'), TopSort::kRss);
  EXPECT_EQ(TopSortForKey('m'), TopSort::kMemory);
  EXPECT_EQ(TopSortForKey('x'), std::nullopt);
  EXPECT_THAT(TopHelpLine(TopSort::kRss), HasSubstr("sort: rss"));
  EXPECT_THAT(TopHelpLine(TopSort::kRss), HasSubstr("q quit"));
}

TEST(TopViewTest, ModelDropsGoneVmsAndKeepsHistory) {
  TopModel model;
  for (uint32_t actual : {0, 32, 64}) model.UpdateVms({MakeVm("a", 128, 20, actual)});
  model.UpdateVms({MakeVm("a", 128, 20, 128), MakeVm("b", 128, 20)});
  std::vector<TopRow> rows = model.Rows(TopSort::kId);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[0].history, ElementsAre(0, 32, 64, 128));
  EXPECT_THAT(rows[1].history, ElementsAre(20));  // RSS without a balloon.

  blimp::v1::BalloonStats stats;
  stats.set_free_memory(kMib);
  model.UpdateStats("b", stats);
  model.UpdateVms({MakeVm("a", 128, 20, 128)});  // b went away.
  model.UpdateStats("b", stats);                 // Late statistics: ignored.
  rows = model.Rows(TopSort::kId);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, "a");
  EXPECT_EQ(rows[0].free_mib, std::nullopt);

  for (int i = 0; i < 50; ++i) model.UpdateVms({MakeVm("a", 128, 20, 1)});
  EXPECT_EQ(model.Rows(TopSort::kId)[0].history.size(), kTopHistory);
}

TEST(TopViewTest, HistoryBar) {
  EXPECT_EQ(HistoryBar({0, 64, 128}, 128, 5, true), "▁▅█  ");
  EXPECT_EQ(HistoryBar({0, 64, 128}, 128, 5, false), " =#  ");
  EXPECT_EQ(HistoryBar({0, 64, 128, 500}, 128, 2, false), "##");  // The last 2, clamped.
  EXPECT_EQ(HistoryBar({}, 0, 3, true), "   ");
}

TEST(TopViewTest, FrameHasEveryColumn) {
  TopModel model;
  blimp::v1::Vm vm = MakeVm("web", 512, 40, 128);
  vm.mutable_memory_enforcement()->set_flagged(true);
  model.UpdateVms({vm, MakeVm("db", 256, 100)});
  blimp::v1::BalloonStats stats;
  stats.set_free_memory(200 * kMib);
  stats.set_available_memory(300 * kMib);
  model.UpdateStats("web", stats);
  TopFrameOptions options;
  options.unicode = false;
  options.title = "blimpd x";
  const std::vector<std::string> lines =
      Lines(RenderTopFrame(model.Rows(TopSort::kMemory), TopSort::kMemory, options));
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[0], "blimpd x  2 VMs (MiB)  sort: mem");
  EXPECT_THAT(std::vector<std::string>(absl::StrSplit(lines[1], ' ', absl::SkipEmpty())),
              ElementsAre("ID", "STATE", "VCPUS", "MEM", "TARGET", "ACTUAL", "RSS", "FREE",
                          "AVAIL", "FLAG", "HISTORY"));
  EXPECT_THAT(std::vector<std::string>(absl::StrSplit(lines[2], ' ', absl::SkipEmpty())),
              ElementsAre("web", "running", "2", "512", "128", "128", "40.0", "200", "300",
                          "FLAGGED", ":"));
  EXPECT_THAT(std::vector<std::string>(absl::StrSplit(lines[3], ' ', absl::SkipEmpty())),
              ElementsAre("db", "running", "2", "256", "-", "-", "100.0", "-", "-", "-", "-"));
  EXPECT_THAT(RenderTopFrame({}, TopSort::kId, options), Not(HasSubstr("q quit")));
}

TEST(TopViewTest, FrameFitsTheTerminal) {
  TopModel model;
  std::vector<blimp::v1::Vm> vms;
  for (int i = 0; i < 30; ++i) vms.push_back(MakeVm("vm" + std::to_string(100 + i), 256, 10, 3));
  for (int i = 0; i < 3; ++i) model.UpdateVms(vms);
  TopFrameOptions options;
  options.width = 40;
  options.height = 10;
  options.status = "blimpd at x: down";
  const std::string frame = RenderTopFrame(model.Rows(TopSort::kId), TopSort::kId, options);
  std::vector<std::string> lines = Lines(frame);
  ASSERT_EQ(lines.back(), "");  // Ends in "\n".
  lines.pop_back();
  ASSERT_EQ(lines.size(), 10u);
  for (const std::string& line : lines) EXPECT_LE(Columns(line), 40u) << line;
  EXPECT_THAT(lines[2], HasSubstr("vm100"));
  EXPECT_EQ(lines[8], "blimpd at x: down");
  EXPECT_THAT(lines[9], HasSubstr("q quit"));

  // Wide enough: nothing cut, the block characters whole.
  options.width = 200;
  options.height = 40;
  options.unicode = true;
  lines = Lines(RenderTopFrame(model.Rows(TopSort::kId), TopSort::kId, options));
  EXPECT_THAT(lines[2], HasSubstr("▁▁▁"));
  EXPECT_THAT(lines[39], HasSubstr("q quit  s next sort"));
  EXPECT_THAT(lines[39], HasSubstr("sort: id"));

  // Few rows: padded, the help line on the last line.
  model.UpdateVms({MakeVm("one", 64, 1)});
  lines = Lines(RenderTopFrame(model.Rows(TopSort::kId), TopSort::kId, options));
  ASSERT_EQ(lines.size(), 41u);
  EXPECT_EQ(lines[3], "blimpd at x: down");
  EXPECT_EQ(lines[4], "");
  EXPECT_THAT(lines[39], HasSubstr("q quit"));
}

}  // namespace
}  // namespace blimp::client
