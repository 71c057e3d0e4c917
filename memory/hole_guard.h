// HoleGuard: keeps khugepaged from refilling the holes that discards leave
// in guest RAM on transparent huge pages.
//
// A 4 KiB discard (a balloon inflate) splits the huge page it hits. With the
// host's khugepaged/max_ptes_none at its default (511), khugepaged later
// collapses such a range back into a whole, newly allocated huge page, so the
// discarded pages count in RSS again (measured here: 32 MiB of every-other-page
// discards came back within 50 s). khugepaged never collapses a range with
// empty entries in a userfaultfd-registered mapping (hpage_collapse_scan_pmd:
// userfaultfd_armed), so the guard registers guest RAM with a userfaultfd in
// write-protect mode and holds it. Nothing is ever write-protected: faults and
// discards behave as before, and no fault ever reaches the fd. MADV_NOHUGEPAGE
// on ballooned ranges would do the same job but splits the mapping and needs
// more than MADV_DONTNEED after the VMM's seccomp filter is on.
#ifndef BLIMP_MEMORY_HOLE_GUARD_H_
#define BLIMP_MEMORY_HOLE_GUARD_H_

#include <cstddef>
#include <cstdint>

#include <utility>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"

namespace blimp::memory {

class HoleGuard {
 public:
  // Fails on kernels without userfaultfd write-protection of anonymous
  // memory (before 5.11 with UFFD_USER_MODE_ONLY), or where it is not allowed.
  static absl::StatusOr<HoleGuard> Create();

  // Guards [data, data + size), page-aligned, for as long as this object lives.
  absl::Status Cover(uint8_t* data, size_t size) const;

 private:
  explicit HoleGuard(base::UniqueFd fd) : fd_(std::move(fd)) {}

  base::UniqueFd fd_;
};

}  // namespace blimp::memory

#endif  // BLIMP_MEMORY_HOLE_GUARD_H_
