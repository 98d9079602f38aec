// Result<T> and Error: how every module reports a failure the environment can cause.
//
// An Error carries a stable kind (for callers that branch on it), the errno captured at the
// failing call (0 when not a system error) and a human-readable message that already names what
// was being done ("open /run/x: Permission denied"). Module APIs never throw; they return
// Result<T>. A broken invariant is not an Error: it aborts through VA_CHECK.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>

namespace va {

enum class ErrorKind {
  kSystem,       // a syscall failed; sys_errno says why
  kNotFound,     // the thing asked for does not exist
  kUntrusted,    // a file or process failed a trust or identity check
  kCorrupt,      // data exists but cannot be parsed
  kInvalid,      // the caller passed something unusable
  kTimeout,      // a deadline passed
  kPermission,   // the kernel refused (EPERM/EACCES)
  kUnsupported,  // the kernel or host lacks a needed feature
};

std::string_view ErrorKindName(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kSystem;
  int sys_errno = 0;
  std::string message;

  // Prefixes the message with more context: "load state: " + message.
  Error&& Context(std::string_view what) &&;
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

inline tl::unexpected<Error> Fail(ErrorKind kind, std::string message, int sys_errno = 0) {
  return tl::unexpected<Error>(Error{kind, sys_errno, std::move(message)});
}

// Builds an Error from an errno value: "WHAT: strerror(err)"; EPERM/EACCES become kPermission,
// ENOENT/ESRCH kNotFound.
Error SysError(std::string_view what, int err);
inline tl::unexpected<Error> SysFail(std::string_view what, int err = errno) {
  return tl::unexpected<Error>(SysError(what, err));
}

[[noreturn]] void CheckFailed(const char* expr, const char* file, int line, std::string_view msg);

}  // namespace va

// NOLINTBEGIN(bugprone-macro-parentheses): `decl` is a declaration and cannot be parenthesised.
// Aborts with a message when an invariant does not hold. Not for environmental failures.
#define VA_CHECK(cond, msg)                                         \
  do {                                                              \
    if (!(cond)) ::va::CheckFailed(#cond, __FILE__, __LINE__, msg); \
  } while (0)

// Propagates an error: VA_TRY(auto fd, Open(...)); or VA_TRY_STATUS(WriteAll(...));
#define VA_CONCAT_INNER(a, b) a##b
#define VA_CONCAT(a, b) VA_CONCAT_INNER(a, b)
#define VA_TRY_IMPL(tmp, decl, expr)                                      \
  auto tmp = (expr);                                                      \
  if (!tmp) return ::tl::unexpected<::va::Error>(std::move(tmp.error())); \
  decl = std::move(*tmp)
#define VA_TRY(decl, expr) VA_TRY_IMPL(VA_CONCAT(va_try_, __LINE__), decl, expr)
#define VA_TRY_STATUS(expr)                                                               \
  do {                                                                                    \
    auto va_status_ = (expr);                                                             \
    if (!va_status_) return ::tl::unexpected<::va::Error>(std::move(va_status_.error())); \
  } while (0)
// NOLINTEND(bugprone-macro-parentheses)
