// The vault's error codes: stable names that appear on the wire ({"error": {"code": …}}), and
// the AppError every application handler returns. The HTTP status of each code is the HTTP
// layer's business (http/errors.h).
#pragma once

#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace va::vault {

enum class Code {
  kUnauthenticated,
  kForbidden,
  kUnauthorized,
  kInvalidInput,
  kSessionNotFound,
  kFileNotFound,
  kUserNotFound,
  kPermissionNotFound,
  kSessionAlreadyTerminated,
  kSessionAlreadyActive,
  kEmailAlreadyExists,
  kSessionNotActive,
  kPermissionDenied,
  kPermissionExpired,
  kPermissionRevoked,
  kPayloadTooLarge,
  kRateLimited,
  kCapacityExceeded,
  kSandboxUnavailable,
  kInternal,
};

// "Unauthenticated", "SessionNotFound", …
std::string_view CodeName(Code code);

struct AppError {
  Code code = Code::kInternal;
  std::string message;  // for the user; never internals (paths, SQL, errno text) for kInternal
  int retry_after_seconds = 0;  // kRateLimited only
};

template <typename T>
using AppResult = tl::expected<T, AppError>;
using AppStatus = AppResult<void>;

inline tl::unexpected<AppError> AppFail(Code code, std::string message, int retry_after = 0) {
  return tl::unexpected<AppError>(AppError{code, std::move(message), retry_after});
}

}  // namespace va::vault
