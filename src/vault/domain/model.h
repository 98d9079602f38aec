// The vault's entities as plain values: users and roles, files, permissions, refresh tokens and
// audit entries. Times are integer Unix seconds (the wire format is made by the HTTP layer); ids
// are opaque prefixed strings (usr_, fil_, prm_, aud_, …) from va::RandomId. Nothing here knows
// of HTTP, SQL or JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace va::vault {

enum class Role : uint8_t { kAdmin = 1, kOwner = 2, kClient = 4 };
// A set of roles as a bit mask of Role values.
using RoleSet = uint8_t;

inline bool HasRole(RoleSet set, Role role) { return (set & static_cast<uint8_t>(role)) != 0; }
inline RoleSet AddRole(RoleSet set, Role role) {
  return static_cast<RoleSet>(set | static_cast<uint8_t>(role));
}
// "admin", "owner", "client".
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);
// Names in the fixed order admin, owner, client.
std::vector<std::string> RoleNames(RoleSet set);

enum class UserStatus { kActive, kDisabled };
std::string_view UserStatusName(UserStatus status);  // "active", "disabled"
std::optional<UserStatus> ParseUserStatus(std::string_view name);

struct User {
  std::string id;     // usr_…
  std::string email;  // stored lower-cased
  RoleSet roles = 0;
  std::string password_hash;  // argon2id string; never logged, never on the wire
  UserStatus status = UserStatus::kActive;
  int64_t created_at = 0;
  std::optional<int64_t> disabled_at;
  std::string disabled_reason;
};

struct FileRecord {
  std::string id;        // fil_…
  std::string owner_id;  // usr_…
  std::string name;      // display name, validated (no '/', no NUL, no control chars)
  std::string content_type;
  int64_t size_bytes = 0;
  std::string checksum_sha256;  // lowercase hex
  int64_t uploaded_at = 0;
  std::optional<int64_t> deleted_at;  // soft delete
};

struct Permission {
  std::string id;  // prm_…
  std::string file_id;
  std::string client_id;
  std::string granted_by;  // the owner's user id
  bool read = true;
  bool write = false;
  bool execute = false;
  std::optional<int64_t> expires_at;
  int64_t max_duration_seconds = 0;  // 1 … 28800
  int64_t created_at = 0;
  std::optional<int64_t> revoked_at;
};

// A refresh token is stored only as its SHA-256 (hex); the token itself goes to the client once.
// Tokens of one login form a family; using a token marks it used and issues the next one in the
// family. A used token presented again revokes the whole family.
struct RefreshToken {
  std::string token_hash;
  std::string family_id;
  std::string user_id;
  int64_t issued_at = 0;
  int64_t expires_at = 0;
  std::optional<int64_t> used_at;
  bool family_revoked = false;
};

enum class AuditResult { kSuccess, kDenied, kFailed };
std::string_view AuditResultName(AuditResult result);  // "Success", "Denied", "Failed"
std::optional<AuditResult> ParseAuditResult(std::string_view name);

struct AuditEntry {
  std::string id;  // aud_…
  int64_t timestamp = 0;
  std::string actor_id;  // empty when unknown (failed login of an unknown email)
  std::string actor_email;
  std::string action;         // PascalCase: LoginSucceeded, FileUploaded, …
  std::string resource_type;  // "user", "file", "permission", "session", "auth"
  std::string resource_id;
  AuditResult result = AuditResult::kSuccess;
  std::string ip_address;
  std::string user_agent;
  std::string metadata_json = "{}";  // a JSON object; never holds a secret
  // The owner whose files/sessions this entry concerns (for the owner's audit query); empty when
  // none. Not on the wire.
  std::string owner_id;
};

}  // namespace va::vault
