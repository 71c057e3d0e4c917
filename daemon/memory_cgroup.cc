#include "daemon/memory_cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/errno_status.h"
#include "base/status_macros.h"

namespace blimp::daemon {
namespace {

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return base::ErrnoStatus("read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// cgroup files take one write() each: the kernel parses the whole buffer.
absl::Status WriteText(const std::string& path, absl::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return base::ErrnoStatus("open " + path);
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int err = errno;
  ::close(fd);
  if (n < 0) return base::ErrnoStatus(absl::StrCat("write '", text, "' to ", path), err);
  return absl::OkStatus();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

absl::StatusOr<uint64_t> ReadNumber(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadText(path));
  absl::string_view value = absl::StripAsciiWhitespace(text);
  if (value == "max") return UINT64_MAX;  // v2: no limit.
  uint64_t number;
  if (!absl::SimpleAtoi(value, &number)) {
    return absl::InternalError(absl::StrCat(path, ": not a number: '", value, "'"));
  }
  return number;
}

// "key N" in a flat-keyed file (memory.events, memory.oom_control).
absl::StatusOr<uint64_t> ReadKey(const std::string& path, absl::string_view key) {
  ASSIGN_OR_RETURN(std::string text, ReadText(path));
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    uint64_t value;
    if (absl::ConsumePrefix(&line, key) && absl::ConsumePrefix(&line, " ") &&
        absl::SimpleAtoi(line, &value)) {
      return value;
    }
  }
  return absl::NotFoundError(absl::StrCat(path, " has no '", key, "'"));
}

// A mountinfo line: "id parent major:minor root mountpoint opts [tags] - fstype source superopts".
struct Mount {
  std::string root, point, fstype, super_options;
};

std::vector<Mount> CgroupMounts(absl::string_view mountinfo) {
  std::vector<Mount> mounts;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    size_t dash = 0;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (dash < 5 || dash + 3 > fields.size()) continue;
    const absl::string_view fstype = fields[dash + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    mounts.push_back({std::string(fields[3]), std::string(fields[4]), std::string(fstype),
                      dash + 3 < fields.size() ? std::string(fields[dash + 3]) : ""});
  }
  return mounts;
}

// `cgroup` (a path from /proc/<pid>/cgroup) under a mount of its hierarchy.
std::optional<std::string> UnderMount(const Mount& mount, absl::string_view cgroup) {
  absl::string_view rest = cgroup;
  if (mount.root != "/" && !absl::ConsumePrefix(&rest, mount.root)) return std::nullopt;
  if (!rest.empty() && rest[0] != '/') return std::nullopt;
  std::string dir = mount.point;
  if (rest != "/") absl::StrAppend(&dir, rest);
  return dir;
}

}  // namespace

absl::StatusOr<std::string> MemoryCgroupDir(absl::string_view proc_cgroup,
                                            absl::string_view mountinfo) {
  const std::vector<Mount> mounts = CgroupMounts(mountinfo);
  std::optional<std::string> unified;  // The "0::" path.
  for (absl::string_view line : absl::StrSplit(proc_cgroup, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    if (fields[0] == "0" && fields[1].empty()) {
      unified = std::string(fields[2]);
      continue;
    }
    std::vector<absl::string_view> controllers = absl::StrSplit(fields[1], ',');
    if (std::find(controllers.begin(), controllers.end(), "memory") == controllers.end()) continue;
    for (const Mount& mount : mounts) {
      if (mount.fstype != "cgroup") continue;
      std::vector<absl::string_view> options = absl::StrSplit(mount.super_options, ',');
      if (std::find(options.begin(), options.end(), "memory") == options.end()) continue;
      if (std::optional<std::string> dir = UnderMount(mount, fields[2])) return *dir;
    }
  }
  // v2: only where no v1 hierarchy took the memory controller.
  if (unified) {
    for (const Mount& mount : mounts) {
      if (mount.fstype != "cgroup2") continue;
      std::optional<std::string> dir = UnderMount(mount, *unified);
      if (!dir) continue;
      absl::StatusOr<std::string> controllers = ReadText(mount.point + "/cgroup.controllers");
      if (controllers.ok() && absl::StrContains(*controllers, "memory")) return *dir;
    }
  }
  return absl::NotFoundError("no mounted cgroup hierarchy has the memory controller");
}

absl::StatusOr<std::string> ProcessMemoryCgroupDir(pid_t pid) {
  ASSIGN_OR_RETURN(std::string cgroup, ReadText(absl::StrCat("/proc/", pid, "/cgroup")));
  // Our mounts, not the process's: a jailed VMM has its own mount namespace.
  ASSIGN_OR_RETURN(std::string mountinfo, ReadText("/proc/self/mountinfo"));
  return MemoryCgroupDir(cgroup, mountinfo);
}

absl::StatusOr<MemoryCgroup> MemoryCgroup::Open(const std::string& dir) {
  if (Exists(dir + "/memory.max")) return MemoryCgroup(dir, /*v2=*/true);
  if (Exists(dir + "/memory.limit_in_bytes")) return MemoryCgroup(dir, /*v2=*/false);
  return absl::NotFoundError(absl::StrCat(dir, " is not a memory cgroup"));
}

absl::StatusOr<MemoryCgroup> MemoryCgroup::Create(const std::string& dir) {
  if (dir.empty() || dir[0] != '/') return absl::InvalidArgumentError("cgroup path must be absolute");
  const size_t slash = dir.rfind('/');
  const std::string parent = slash == 0 ? "/" : dir.substr(0, slash);
  if (!Exists(parent)) RETURN_IF_ERROR(Create(parent).status());
  // v2 (cgroup.subtree_control): a child has the memory controller only if
  // its parent hands it down.
  const std::string subtree = parent + "/cgroup.subtree_control";
  if (Exists(subtree)) {
    ASSIGN_OR_RETURN(std::string enabled, ReadText(subtree));
    if (!absl::StrContains(enabled, "memory")) RETURN_IF_ERROR(WriteText(subtree, "+memory"));
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return base::ErrnoStatus("mkdir " + dir);
  return Open(dir);
}

std::string MemoryCgroup::File(absl::string_view name) const { return absl::StrCat(dir_, "/", name); }

absl::Status MemoryCgroup::SetLimit(uint64_t bytes) {
  const std::string value = absl::StrCat(bytes);
  if (v2_) {
    RETURN_IF_ERROR(WriteText(File("memory.max"), value));
    // Swap is a separate budget on v2: none, so the limit is the limit.
    if (Exists(File("memory.swap.max"))) RETURN_IF_ERROR(WriteText(File("memory.swap.max"), "0"));
    return absl::OkStatus();
  }
  // v1: memsw (memory + swap) must never be below the memory limit, so it
  // moves first when raising and last when lowering.
  const std::string memsw = File("memory.memsw.limit_in_bytes");
  const bool has_memsw = Exists(memsw);
  ASSIGN_OR_RETURN(uint64_t current, Limit());
  if (has_memsw && bytes > current) RETURN_IF_ERROR(WriteText(memsw, value));
  RETURN_IF_ERROR(WriteText(File("memory.limit_in_bytes"), value));
  if (has_memsw && bytes <= current) RETURN_IF_ERROR(WriteText(memsw, value));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> MemoryCgroup::Limit() const {
  return ReadNumber(File(v2_ ? "memory.max" : "memory.limit_in_bytes"));
}

absl::StatusOr<uint64_t> MemoryCgroup::Usage() const {
  return ReadNumber(File(v2_ ? "memory.current" : "memory.usage_in_bytes"));
}

absl::StatusOr<uint64_t> MemoryCgroup::OomKills() const {
  return ReadKey(File(v2_ ? "memory.events" : "memory.oom_control"), "oom_kill");
}

absl::Status MemoryCgroup::AddProcess(pid_t pid) {
  if (!v2_) {
    // v1: the pages it already holds move with it (deprecated on new
    // kernels, where they stay behind: blimp-vmm touches guest RAM only at
    // StartVm, after this).
    WriteText(File("memory.move_charge_at_immigrate"), "3").IgnoreError();
  }
  return WriteText(File("cgroup.procs"), absl::StrCat(pid));
}

absl::StatusOr<std::vector<pid_t>> MemoryCgroup::Processes() const {
  ASSIGN_OR_RETURN(std::string text, ReadText(File("cgroup.procs")));
  std::vector<pid_t> pids;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    pid_t pid;
    if (absl::SimpleAtoi(line, &pid)) pids.push_back(pid);
  }
  return pids;
}

absl::Status MemoryCgroup::Remove(absl::Duration patience) {
  const absl::Time deadline = absl::Now() + patience;
  while (::rmdir(dir_.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY || absl::Now() >= deadline) return base::ErrnoStatus("rmdir " + dir_);
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::OkStatus();
}

int MemoryCgroup::RemoveEmptyChildren() {
  DIR* dir = ::opendir(dir_.c_str());
  if (dir == nullptr) return 0;
  int removed = 0;
  while (struct dirent* entry = ::readdir(dir)) {
    if (entry->d_type != DT_DIR || entry->d_name[0] == '.') continue;
    // Fails (EBUSY) for a cgroup with processes or children of its own.
    if (::rmdir(absl::StrCat(dir_, "/", entry->d_name).c_str()) == 0) ++removed;
  }
  ::closedir(dir);
  return removed;
}

}  // namespace blimp::daemon
