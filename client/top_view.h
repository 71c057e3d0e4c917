// `blimpctl top` without the terminal and the network: the rows it shows
// (ListVms answers and balloon statistics folded in, with a short history per
// VM), their sort orders and the text of one frame. Pure, for unit tests.
#ifndef BLIMP_CLIENT_TOP_VIEW_H_
#define BLIMP_CLIENT_TOP_VIEW_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/blimp/v1/config.pb.h"
#include "proto/blimp/v1/vm_service.pb.h"

namespace blimp::client {

// Samples kept per VM for its history bar.
inline constexpr size_t kTopHistory = 20;

struct TopRow {
  std::string id;
  std::string state;  // StateName().
  uint32_t vcpus = 0;
  uint32_t mem_mib = 0;
  std::optional<uint32_t> target_mib, actual_mib;
  double rss_mib = 0;
  // From the guest's balloon statistics (when it sends them).
  std::optional<double> free_mib, available_mib;
  bool flagged = false;  // memory_enforcement.flagged (or stats_flagged).
  // Balloon actual MiB per ListVms sample (RSS MiB for a VM without a
  // balloon), oldest first, at most kTopHistory.
  std::deque<double> history;
};

// The columns `top` sorts by: id ascending, the others largest first.
enum class TopSort { kId, kMemory, kBalloon, kRss, kFree, kAvailable };
inline constexpr int kTopSortCount = 6;

// "id", "mem", "balloon", "rss", "free", "avail".
std::string TopSortName(TopSort sort);
// The column after `sort`, round (`s`).
TopSort NextTopSort(TopSort sort);
// The sort a key picks ('i', 'm', 'b', 'r', 'f', 'a'), if any.
std::optional<TopSort> TopSortForKey(char key);
// Stable; ties (and absent values, last) fall back to the id.
void SortTopRows(std::vector<TopRow>& rows, TopSort sort);

// The VMs of blimpd as `top` knows them.
class TopModel {
 public:
  // A new ListVms answer: VMs no longer listed are dropped (their statistics
  // too), each listed VM gets one history sample.
  void UpdateVms(const std::vector<blimp::v1::Vm>& vms);
  // The latest statistics of a VM (ignored when it is not listed).
  void UpdateStats(const std::string& id, const blimp::v1::BalloonStats& stats);
  // The rows in `sort` order.
  std::vector<TopRow> Rows(TopSort sort) const;

 private:
  std::map<std::string, TopRow> rows_;
};

// `history` as one cell per sample (the last `width`), scaled 0..`max`:
// ▁▂▃▄▅▆▇█, or " .:-=+*#" when !unicode. Padded with spaces to `width`.
std::string HistoryBar(const std::deque<double>& history, double max, size_t width,
                       bool unicode);

struct TopFrameOptions {
  int width = 0;   // Columns of the terminal; 0: no limit.
  int height = 0;  // Lines; 0: no limit (and no help line).
  bool unicode = true;
  std::string title;   // First line, e.g. "blimpd unix:/run/blimp/blimp.grpc.sock".
  std::string status;  // Shown under the table when not empty (e.g. an error).
};

// The whole frame, lines ending in "\n", no escape sequences: a title line,
// the table (ID STATE VCPUS MEM TARGET ACTUAL RSS FREE AVAIL FLAG HISTORY;
// MiB, "-" for unknown), the status and, with a height, the help line on the
// last line. Lines are cut at `width` columns, rows dropped to fit `height`.
std::string RenderTopFrame(const std::vector<TopRow>& rows, TopSort sort,
                           const TopFrameOptions& options);

// The help line: keys and the current sort.
std::string TopHelpLine(TopSort sort);

}  // namespace blimp::client

#endif  // BLIMP_CLIENT_TOP_VIEW_H_
