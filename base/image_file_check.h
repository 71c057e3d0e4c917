// Checks a user-supplied kernel or initrd path before anything boots from it,
// without ever blocking: no NUL byte (a C API would cut the path and open
// another file), absolute (optional), opens read-only with O_NONBLOCK (a FIFO
// cannot hang the caller), a regular file, and optionally inside one of a set
// of allowed directories (checked on the opened file, symlinks resolved).
// blimpd runs it at create, before any blimp-vmm is spawned; blimp-vmm's host
// checks run it too. Every failure is InvalidArgument naming the field and
// the path.
#ifndef BLIMP_BASE_IMAGE_FILE_CHECK_H_
#define BLIMP_BASE_IMAGE_FILE_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace blimp::base {

struct ImageFileRules {
  bool require_absolute = true;
  // Resolved directories (see ResolveAllowedDirs); empty = anywhere.
  std::vector<std::string> allowed_dirs;
};

// OK if `path` names a readable regular file that `rules` allow. `field`
// (e.g. "kernel_image_path") starts the error message:
//   "kernel_image_path '/tmp/fifo': not a regular file (a FIFO)".
absl::Status CheckImageFile(absl::string_view field, absl::string_view path,
                            const ImageFileRules& rules = {});

// realpath of each directory; InvalidArgument if one is missing, relative or
// not a directory.
absl::StatusOr<std::vector<std::string>> ResolveAllowedDirs(
    const std::vector<std::string>& dirs);

}  // namespace blimp::base

#endif  // BLIMP_BASE_IMAGE_FILE_CHECK_H_
