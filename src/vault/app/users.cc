// User administration (spec §5, admin role; CreateUser also serves vaultctl with no actor):
// create with validation, list, disable (revokes refresh tokens, ends sessions through the
// hooks) and enable. Each change is audited.
#include <string>
#include <string_view>
#include <utility>

#include "base/ids.h"
#include "vault/app/internal.h"
#include "vault/app/vault_app.h"

namespace va::vault {
namespace {

AuditEntry UserEntry(const Actor* actor, std::string_view action, const User& user) {
  AuditEntry entry;
  if (actor != nullptr) {
    entry.actor_id = actor->user.id;
    entry.actor_email = actor->user.email;
    entry.ip_address = actor->meta.ip_address;
    entry.user_agent = actor->meta.user_agent;
  }
  entry.action = std::string(action);
  entry.resource_type = "user";
  entry.resource_id = user.id;
  return entry;
}

}  // namespace

AppResult<User> VaultApp::CreateUser(const Actor* actor, const NewUser& request) {
  if (actor != nullptr) {
    if (auto ok = RequireRoleFor(*actor, Role::kAdmin, "user", ""); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  const std::string email = LowerAscii(request.email);
  if (auto ok = CheckEmail("email", email); !ok) return tl::unexpected(ok.error());
  if (request.roles.empty()) return AppFail(Code::kInvalidInput, "roles: must not be empty");
  RoleSet roles = 0;
  for (const auto& name : request.roles) {
    auto role = ParseRole(name);
    if (!role) {
      return AppFail(Code::kInvalidInput, "roles: unknown role (expected admin, owner or client)");
    }
    roles = AddRole(roles, *role);
  }
  if (auto ok = CheckPassword(request.password); !ok) return tl::unexpected(ok.error());

  auto hash = hasher_.Hash(request.password);
  if (!hash) return tl::unexpected(Backend("hash_password", hash.error()));

  User user;
  user.id = RandomId("usr_");
  user.email = email;
  user.roles = roles;
  user.password_hash = std::move(*hash);
  user.status = UserStatus::kActive;
  user.created_at = Now();
  auto inserted = store_.Users().Insert(user);
  if (!inserted) return tl::unexpected(Backend("insert_user", inserted.error()));
  if (!*inserted) return AppFail(Code::kEmailAlreadyExists, "a user with this email exists");

  AuditEntry entry = UserEntry(actor, "UserCreated", user);
  Meta meta;
  meta.Str("email", user.email).Strs("roles", RoleNames(user.roles));
  if (actor == nullptr) meta.Str("via", "vaultctl");
  entry.metadata_json = meta.Json();
  Record(std::move(entry));
  return user;
}

AppResult<Page<User>> VaultApp::ListUsers(const Actor* actor, const PageRequest& page) {
  if (actor != nullptr) {
    if (auto ok = RequireRoleFor(*actor, Role::kAdmin, "user", ""); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  if (auto ok = CheckPageRequest(page); !ok) return tl::unexpected(ok.error());
  auto users = store_.Users().List(page);
  if (!users) return tl::unexpected(Backend("list_users", users.error()));
  return std::move(*users);
}

AppResult<User> VaultApp::DisableUser(const Actor& actor, std::string_view user_id,
                                      std::string_view reason) {
  if (auto ok = RequireRoleFor(actor, Role::kAdmin, "user", user_id); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = CheckId("user_id", user_id, "usr_"); !ok) return tl::unexpected(ok.error());
  if (auto ok = CheckReason(reason); !ok) return tl::unexpected(ok.error());
  if (user_id == actor.user.id) {
    return AppFail(Code::kInvalidInput, "user_id: an admin cannot disable their own account");
  }
  auto found = store_.Users().FindById(user_id);
  if (!found) return tl::unexpected(Backend("find_user", found.error()));
  if (!found->has_value()) return AppFail(Code::kUserNotFound, "no such user");
  if ((*found)->status == UserStatus::kDisabled) return std::move(**found);

  const int64_t now = Now();
  auto set = store_.Users().SetStatus(user_id, UserStatus::kDisabled, now, reason);
  if (!set) return tl::unexpected(Backend("disable_user", set.error()));
  if (!*set) return AppFail(Code::kUserNotFound, "no such user");
  ForgetUser(user_id);
  // Access tokens stop working at once (Authenticate checks the status); refresh tokens too.
  if (auto revoked = store_.Tokens().RevokeAllForUser(user_id); !revoked) {
    (void)Backend("revoke_user_tokens", revoked.error());
  }
  hooks_->OnUserDisabled(std::string(user_id));

  User user = std::move(**found);
  user.status = UserStatus::kDisabled;
  user.disabled_at = now;
  user.disabled_reason = std::string(reason);
  AuditEntry entry = UserEntry(&actor, "UserDisabled", user);
  entry.metadata_json = Meta().Str("email", user.email).Str("reason", reason).Json();
  Record(std::move(entry));
  return user;
}

AppResult<User> VaultApp::EnableUser(const Actor& actor, std::string_view user_id) {
  if (auto ok = RequireRoleFor(actor, Role::kAdmin, "user", user_id); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = CheckId("user_id", user_id, "usr_"); !ok) return tl::unexpected(ok.error());
  auto found = store_.Users().FindById(user_id);
  if (!found) return tl::unexpected(Backend("find_user", found.error()));
  if (!found->has_value()) return AppFail(Code::kUserNotFound, "no such user");
  if ((*found)->status == UserStatus::kActive) return std::move(**found);

  auto set = store_.Users().SetStatus(user_id, UserStatus::kActive, Now(), "");
  if (!set) return tl::unexpected(Backend("enable_user", set.error()));
  if (!*set) return AppFail(Code::kUserNotFound, "no such user");
  ForgetUser(user_id);

  User user = std::move(**found);
  user.status = UserStatus::kActive;
  user.disabled_at.reset();
  user.disabled_reason.clear();
  AuditEntry entry = UserEntry(&actor, "UserEnabled", user);
  entry.metadata_json = Meta().Str("email", user.email).Json();
  Record(std::move(entry));
  return user;
}

}  // namespace va::vault
