// Permissions (spec §5): an owner grants a client the right to view one file (validated: read
// only, a duration within the session limit, an expiry in the future, an active client), lists
// and revokes them. Revoking ends the sessions that used the permission through the hooks.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ids.h"
#include "vault/app/internal.h"
#include "vault/app/vault_app.h"

namespace va::vault {
namespace {

AuditEntry PermissionEntry(const Actor& actor, std::string_view action, const Permission& p,
                           const FileRecord& file) {
  AuditEntry entry;
  entry.actor_id = actor.user.id;
  entry.actor_email = actor.user.email;
  entry.action = std::string(action);
  entry.resource_type = "permission";
  entry.resource_id = p.id;
  entry.ip_address = actor.meta.ip_address;
  entry.user_agent = actor.meta.user_agent;
  entry.owner_id = file.owner_id;
  return entry;
}

}  // namespace

AppResult<PermissionView> VaultApp::Grant(const Actor& actor, const GrantRequest& request) {
  if (auto ok = RequireRoleFor(actor, Role::kOwner, "permission", ""); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = CheckId("file_id", request.file_id, "fil_"); !ok) {
    return tl::unexpected(ok.error());
  }
  const std::string client_email = LowerAscii(request.client_email);
  if (auto ok = CheckEmail("client_email", client_email); !ok) return tl::unexpected(ok.error());
  if (!request.read) {
    return AppFail(Code::kInvalidInput, "permissions.read: must be true (viewing is read)");
  }
  if (request.write) {
    return AppFail(Code::kInvalidInput, "permissions.write: not supported, must be false");
  }
  if (request.execute) {
    return AppFail(Code::kInvalidInput, "permissions.execute: not supported, must be false");
  }
  if (request.max_duration_seconds < 1 ||
      request.max_duration_seconds > config_.max_session_seconds) {
    return AppFail(Code::kInvalidInput, "max_duration_seconds: must be 1…" +
                                            std::to_string(config_.max_session_seconds));
  }
  const int64_t now = Now();
  if (request.expires_at && *request.expires_at <= now) {
    return AppFail(Code::kInvalidInput, "expires_at: must be in the future");
  }

  auto file = LoadOwnedFile(actor, request.file_id, "GrantPermission");
  if (!file) return tl::unexpected(file.error());

  auto client = store_.Users().FindByEmail(client_email);
  if (!client) return tl::unexpected(Backend("find_user_by_email", client.error()));
  if (!client->has_value() || (*client)->status != UserStatus::kActive ||
      !HasRole((*client)->roles, Role::kClient)) {
    return AppFail(Code::kUserNotFound, "no active client with this email");
  }

  Permission permission;
  permission.id = RandomId("prm_");
  permission.file_id = file->id;
  permission.client_id = (*client)->id;
  permission.granted_by = actor.user.id;
  permission.read = true;
  permission.write = false;
  permission.execute = false;
  permission.expires_at = request.expires_at;
  permission.max_duration_seconds = request.max_duration_seconds;
  permission.created_at = now;
  if (auto inserted = store_.Permissions().Insert(permission); !inserted) {
    return tl::unexpected(Backend("insert_permission", inserted.error()));
  }

  AuditEntry entry = PermissionEntry(actor, "PermissionGranted", permission, *file);
  entry.metadata_json = Meta()
                            .Str("file_id", file->id)
                            .Str("file_name", file->name)
                            .Str("client_id", permission.client_id)
                            .Str("client_email", (*client)->email)
                            .OptInt("expires_at", permission.expires_at)
                            .Int("max_duration_seconds", permission.max_duration_seconds)
                            .Json();
  Record(std::move(entry));
  return PermissionView{std::move(permission), (*client)->email, file->name};
}

AppResult<std::vector<PermissionView>> VaultApp::ListPermissions(
    const Actor& actor, std::optional<std::string_view> file_id) {
  if (auto ok = RequireRoleFor(actor, Role::kOwner, "permission", ""); !ok) {
    return tl::unexpected(ok.error());
  }
  if (file_id) {
    if (auto ok = CheckId("file_id", *file_id, "fil_"); !ok) return tl::unexpected(ok.error());
    auto file = LoadOwnedFile(actor, *file_id, "ListPermissions");
    if (!file) return tl::unexpected(file.error());
  }
  auto list = store_.Permissions().ListByOwner(actor.user.id, file_id);
  if (!list) return tl::unexpected(Backend("list_permissions", list.error()));
  return std::move(*list);
}

AppStatus VaultApp::Revoke(const Actor& actor, std::string_view permission_id) {
  if (auto ok = RequireRoleFor(actor, Role::kOwner, "permission", permission_id); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = CheckId("permission_id", permission_id, "prm_"); !ok) {
    return tl::unexpected(ok.error());
  }
  auto found = store_.Permissions().FindById(permission_id);
  if (!found) return tl::unexpected(Backend("find_permission", found.error()));
  if (!found->has_value()) return AppFail(Code::kPermissionNotFound, "no such permission");
  const Permission permission = **found;
  auto file = store_.Files().FindById(permission.file_id);
  if (!file) return tl::unexpected(Backend("find_file", file.error()));
  if (!file->has_value()) return AppFail(Code::kPermissionNotFound, "no such permission");
  if ((*file)->owner_id != actor.user.id) {
    RecordDenied(actor, "RevokePermission", "permission", permission_id, (*file)->owner_id,
                 "not_owner");
    return AppFail(Code::kUnauthorized, "the permission is on another owner's file");
  }
  if (permission.revoked_at.has_value()) {
    return AppFail(Code::kPermissionNotFound, "no such permission (already revoked)");
  }
  auto revoked = store_.Permissions().Revoke(permission_id, Now());
  if (!revoked) return tl::unexpected(Backend("revoke_permission", revoked.error()));
  if (!*revoked) return AppFail(Code::kPermissionNotFound, "no such permission (already revoked)");

  hooks_->OnPermissionRevoked(permission.id);
  AuditEntry entry = PermissionEntry(actor, "PermissionRevoked", permission, **file);
  entry.metadata_json =
      Meta().Str("file_id", permission.file_id).Str("client_id", permission.client_id).Json();
  Record(std::move(entry));
  return {};
}

}  // namespace va::vault
