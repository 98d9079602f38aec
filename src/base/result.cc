// Error helpers: kind names, errno translation and the invariant-failure abort.
#include "base/result.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace va {

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kSystem:
      return "system";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kUntrusted:
      return "untrusted";
    case ErrorKind::kCorrupt:
      return "corrupt";
    case ErrorKind::kInvalid:
      return "invalid";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kPermission:
      return "permission";
    case ErrorKind::kUnsupported:
      return "unsupported";
  }
  return "unknown";
}

Error&& Error::Context(std::string_view what) && {
  message.insert(0, std::string(what) + ": ");
  return std::move(*this);
}

Error SysError(std::string_view what, int err) {
  ErrorKind kind = ErrorKind::kSystem;
  if (err == EPERM || err == EACCES) kind = ErrorKind::kPermission;
  if (err == ENOENT || err == ESRCH) kind = ErrorKind::kNotFound;
  if (err == ENOSYS || err == EOPNOTSUPP) kind = ErrorKind::kUnsupported;
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  return Error{kind, err, std::move(msg)};
}

void CheckFailed(const char* expr, const char* file, int line, std::string_view msg) {
  std::fprintf(stderr, "invariant failed at %s:%d: %s (%.*s)\n", file, line, expr,
               static_cast<int>(msg.size()), msg.data());
  std::abort();
}

}  // namespace va
