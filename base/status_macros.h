// RETURN_IF_ERROR and ASSIGN_OR_RETURN for absl::Status / absl::StatusOr.
// Our Abseil (20220623) does not ship them.
#ifndef BLIMP_BASE_STATUS_MACROS_H_
#define BLIMP_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define BLIMP_STATUS_CONCAT_INNER_(a, b) a##b
#define BLIMP_STATUS_CONCAT_(a, b) BLIMP_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function if it is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status blimp_status_ = (expr);             \
    if (!blimp_status_.ok()) return blimp_status_;     \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on
// error returns its status, otherwise moves the value into `lhs`, which may be
// a declaration (`auto fd`) or an existing variable.
#define ASSIGN_OR_RETURN(lhs, expr)                                        \
  BLIMP_ASSIGN_OR_RETURN_IMPL_(                                            \
      BLIMP_STATUS_CONCAT_(blimp_statusor_, __LINE__), lhs, expr)

#define BLIMP_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // BLIMP_BASE_STATUS_MACROS_H_
