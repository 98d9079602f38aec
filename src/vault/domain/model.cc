#include "vault/domain/model.h"

namespace va::vault {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kOwner:
      return "owner";
    case Role::kClient:
      return "client";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role role : {Role::kAdmin, Role::kOwner, Role::kClient}) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

std::vector<std::string> RoleNames(RoleSet set) {
  std::vector<std::string> names;
  for (Role role : {Role::kAdmin, Role::kOwner, Role::kClient}) {
    if (HasRole(set, role)) names.emplace_back(RoleName(role));
  }
  return names;
}

std::string_view UserStatusName(UserStatus status) {
  return status == UserStatus::kActive ? "active" : "disabled";
}

std::optional<UserStatus> ParseUserStatus(std::string_view name) {
  if (name == "active") return UserStatus::kActive;
  if (name == "disabled") return UserStatus::kDisabled;
  return std::nullopt;
}

std::string_view AuditResultName(AuditResult result) {
  switch (result) {
    case AuditResult::kSuccess:
      return "Success";
    case AuditResult::kDenied:
      return "Denied";
    case AuditResult::kFailed:
      return "Failed";
  }
  return "Failed";
}

std::optional<AuditResult> ParseAuditResult(std::string_view name) {
  for (AuditResult r : {AuditResult::kSuccess, AuditResult::kDenied, AuditResult::kFailed}) {
    if (AuditResultName(r) == name) return r;
  }
  return std::nullopt;
}

}  // namespace va::vault
