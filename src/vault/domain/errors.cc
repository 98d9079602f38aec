#include "vault/domain/errors.h"

namespace va::vault {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kUnauthenticated:
      return "Unauthenticated";
    case Code::kForbidden:
      return "Forbidden";
    case Code::kUnauthorized:
      return "Unauthorized";
    case Code::kInvalidInput:
      return "InvalidInput";
    case Code::kSessionNotFound:
      return "SessionNotFound";
    case Code::kFileNotFound:
      return "FileNotFound";
    case Code::kUserNotFound:
      return "UserNotFound";
    case Code::kPermissionNotFound:
      return "PermissionNotFound";
    case Code::kSessionAlreadyTerminated:
      return "SessionAlreadyTerminated";
    case Code::kSessionAlreadyActive:
      return "SessionAlreadyActive";
    case Code::kEmailAlreadyExists:
      return "EmailAlreadyExists";
    case Code::kSessionNotActive:
      return "SessionNotActive";
    case Code::kPermissionDenied:
      return "PermissionDenied";
    case Code::kPermissionExpired:
      return "PermissionExpired";
    case Code::kPermissionRevoked:
      return "PermissionRevoked";
    case Code::kPayloadTooLarge:
      return "PayloadTooLarge";
    case Code::kRateLimited:
      return "RateLimited";
    case Code::kCapacityExceeded:
      return "CapacityExceeded";
    case Code::kSandboxUnavailable:
      return "SandboxUnavailable";
    case Code::kInternal:
      return "Internal";
  }
  return "Internal";
}

}  // namespace va::vault
