#include "base/image_file_check.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/unique_fd.h"

namespace blimp::base {
namespace {

const char* FileKind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

// The path the kernel resolved for `fd` (symlinks followed).
std::string OpenedPath(int fd) {
  char link[64];
  std::snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  char target[PATH_MAX];
  ssize_t n = ::readlink(link, target, sizeof(target) - 1);
  if (n <= 0) return "";
  return std::string(target, static_cast<size_t>(n));
}

}  // namespace

absl::Status CheckImageFile(absl::string_view field, absl::string_view path,
                            const ImageFileRules& rules) {
  auto error = [&](absl::string_view message) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " '", absl::CEscape(path), "': ", message));
  };
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": no path given"));
  if (path.find('\0') != absl::string_view::npos) return error("contains a NUL byte");
  if (rules.require_absolute && path[0] != '/') return error("not an absolute path");
  const std::string owned(path);
  // O_NONBLOCK: opening a FIFO with no writer returns at once instead of
  // waiting; O_NOCTTY: a terminal never becomes our controlling tty.
  UniqueFd fd(::open(owned.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return error(absl::StrCat("cannot read: ", std::strerror(errno)));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return error(absl::StrCat("cannot stat: ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return error(absl::StrCat("not a regular file (", FileKind(st.st_mode), ")"));
  }
  if (!rules.allowed_dirs.empty()) {
    const std::string resolved = OpenedPath(fd.get());
    bool inside = false;
    for (const std::string& dir : rules.allowed_dirs) {
      const std::string prefix = dir == "/" ? dir : absl::StrCat(dir, "/");
      inside = inside || (!resolved.empty() && absl::StartsWith(resolved, prefix));
    }
    if (!inside) {
      return error(absl::StrCat("resolves to '", absl::CEscape(resolved),
                                "', outside the allowed image directories (",
                                absl::StrJoin(rules.allowed_dirs, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ResolveAllowedDirs(
    const std::vector<std::string>& dirs) {
  std::vector<std::string> resolved;
  for (const std::string& dir : dirs) {
    if (dir.empty() || dir[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("allowed image directory '", dir, "' is not an absolute path"));
    }
    char real[PATH_MAX];
    if (::realpath(dir.c_str(), real) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("allowed image directory '", dir,
                                                     "': ", std::strerror(errno)));
    }
    struct stat st;
    if (::stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("allowed image directory '", dir, "' is not a directory"));
    }
    resolved.push_back(real);
  }
  return resolved;
}

}  // namespace blimp::base
