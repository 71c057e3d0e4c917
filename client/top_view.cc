#include "client/top_view.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "client/format.h"

namespace blimp::client {
namespace {

constexpr double kMib = 1024.0 * 1024.0;

std::string Mib(const std::optional<double>& mib) {
  return mib ? absl::StrFormat("%.0f", *mib) : "-";
}

std::string Mib(const std::optional<uint32_t>& mib) {
  return mib ? absl::StrCat(*mib) : "-";
}

// The value a row is sorted by (absent: sorted last).
std::optional<double> SortValue(const TopRow& row, TopSort sort) {
  switch (sort) {
    case TopSort::kMemory: return row.mem_mib;
    case TopSort::kBalloon:
      return row.actual_mib ? std::optional<double>(*row.actual_mib) : std::nullopt;
    case TopSort::kRss: return row.rss_mib;
    case TopSort::kFree: return row.free_mib;
    case TopSort::kAvailable: return row.available_mib;
    case TopSort::kId: break;
  }
  return std::nullopt;
}

// The first `width` columns of `line` (one column per UTF-8 character).
std::string Cut(const std::string& line, int width) {
  if (width <= 0) return line;
  int columns = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;  // Continuation.
    if (columns == width) return line.substr(0, i);
    ++columns;
  }
  return line;
}

}  // namespace

std::string TopSortName(TopSort sort) {
  switch (sort) {
    case TopSort::kId: return "id";
    case TopSort::kMemory: return "mem";
    case TopSort::kBalloon: return "balloon";
    case TopSort::kRss: return "rss";
    case TopSort::kFree: return "free";
    case TopSort::kAvailable: return "avail";
  }
  return "id";
}

TopSort NextTopSort(TopSort sort) {
  return static_cast<TopSort>((static_cast<int>(sort) + 1) % kTopSortCount);
}

std::optional<TopSort> TopSortForKey(char key) {
  switch (key) {
    case 'i': return TopSort::kId;
    case 'm': return TopSort::kMemory;
    case 'b': return TopSort::kBalloon;
    case 'r': return TopSort::kRss;
    case 'f': return TopSort::kFree;
    case 'a': return TopSort::kAvailable;
    default: return std::nullopt;
  }
}

void SortTopRows(std::vector<TopRow>& rows, TopSort sort) {
  std::stable_sort(rows.begin(), rows.end(), [sort](const TopRow& a, const TopRow& b) {
    const std::optional<double> va = SortValue(a, sort), vb = SortValue(b, sort);
    if (va.has_value() != vb.has_value()) return va.has_value();
    if (va && *va != *vb) return *va > *vb;
    return a.id < b.id;
  });
}

void TopModel::UpdateVms(const std::vector<blimp::v1::Vm>& vms) {
  std::map<std::string, TopRow> rows;
  for (const blimp::v1::Vm& vm : vms) {
    TopRow row;
    if (auto old = rows_.find(vm.vm_id()); old != rows_.end()) row = std::move(old->second);
    row.id = vm.vm_id();
    row.state = StateName(vm.state());
    row.vcpus = vm.config().machine_config().vcpu_count();
    row.mem_mib = vm.config().machine_config().mem_size_mib();
    row.target_mib = vm.has_balloon_target_mib() ? std::optional(vm.balloon_target_mib())
                                                 : std::nullopt;
    row.actual_mib = vm.has_balloon_actual_mib() ? std::optional(vm.balloon_actual_mib())
                                                 : std::nullopt;
    row.rss_mib = static_cast<double>(vm.vmm_rss_bytes()) / kMib;
    row.flagged = vm.memory_enforcement().flagged() || vm.memory_enforcement().stats_flagged();
    row.history.push_back(row.actual_mib ? *row.actual_mib : row.rss_mib);
    while (row.history.size() > kTopHistory) row.history.pop_front();
    rows[row.id] = std::move(row);
  }
  rows_ = std::move(rows);
}

void TopModel::UpdateStats(const std::string& id, const blimp::v1::BalloonStats& stats) {
  auto row = rows_.find(id);
  if (row == rows_.end()) return;
  if (stats.has_free_memory()) row->second.free_mib = stats.free_memory() / kMib;
  if (stats.has_available_memory()) row->second.available_mib = stats.available_memory() / kMib;
}

std::vector<TopRow> TopModel::Rows(TopSort sort) const {
  std::vector<TopRow> rows;
  for (const auto& [id, row] : rows_) rows.push_back(row);
  SortTopRows(rows, sort);
  return rows;
}

std::string HistoryBar(const std::deque<double>& history, double max, size_t width,
                       bool unicode) {
  static const char* const kBlocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  static const char kAscii[] = " .:-=+*#";
  std::string out;
  const size_t first = history.size() > width ? history.size() - width : 0;
  for (size_t i = first; i < history.size(); ++i) {
    const double fraction = max > 0 ? std::clamp(history[i] / max, 0.0, 1.0) : 0.0;
    const int level = static_cast<int>(std::lround(fraction * 7));
    if (unicode) {
      out += kBlocks[level];
    } else {
      out += kAscii[level];
    }
  }
  out.append(width - (history.size() - first), ' ');
  return out;
}

std::string TopHelpLine(TopSort sort) {
  return absl::StrCat("q quit  s next sort  i id  m mem  b balloon  r rss  f free  a avail"
                      "   sort: ",
                      TopSortName(sort));
}

std::string RenderTopFrame(const std::vector<TopRow>& rows, TopSort sort,
                           const TopFrameOptions& options) {
  std::vector<std::vector<std::string>> table = {{"ID", "STATE", "VCPUS", "MEM", "TARGET",
                                                  "ACTUAL", "RSS", "FREE", "AVAIL", "FLAG",
                                                  "HISTORY"}};
  for (const TopRow& row : rows) {
    table.push_back({row.id, row.state, absl::StrCat(row.vcpus), absl::StrCat(row.mem_mib),
                     Mib(row.target_mib), Mib(row.actual_mib),
                     absl::StrFormat("%.1f", row.rss_mib), Mib(row.free_mib),
                     Mib(row.available_mib), row.flagged ? "FLAGGED" : "-",
                     HistoryBar(row.history, row.mem_mib, kTopHistory, options.unicode)});
  }
  std::vector<std::string> lines;
  lines.push_back(absl::StrCat(options.title, options.title.empty() ? "" : "  ", rows.size(),
                               rows.size() == 1 ? " VM" : " VMs", " (MiB)  sort: ",
                               TopSortName(sort)));
  for (absl::string_view line : absl::StrSplit(FormatTable(table), '\n', absl::SkipEmpty())) {
    lines.emplace_back(line);
  }
  if (!options.status.empty()) lines.push_back(options.status);
  if (options.height > 0) {
    // Keep the title, the header and the help line; drop rows at the bottom.
    const size_t room = static_cast<size_t>(std::max(options.height - 1, 2));
    if (lines.size() > room) {
      const bool has_status = !options.status.empty();
      lines.resize(room);
      if (has_status) lines.back() = options.status;
    }
    while (lines.size() < room) lines.emplace_back();
    lines.push_back(TopHelpLine(sort));
  }
  std::string out;
  for (const std::string& line : lines) absl::StrAppend(&out, Cut(line, options.width), "\n");
  return out;
}

}  // namespace blimp::client
