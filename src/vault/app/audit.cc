// The audit writer, the Denied entries of refused authorizations, role checks and the admin and
// owner audit queries (spec §11). Record() never fails: a backend failure is logged, because the
// action it records has already happened.
#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "base/ids.h"
#include "base/log.h"
#include "vault/app/internal.h"
#include "vault/app/vault_app.h"

namespace va::vault {
namespace {

std::string Encode(const boost::json::value& value) { return boost::json::serialize(value); }

bool IsActionName(std::string_view action) {
  if (action.empty() || action.size() > 64) return false;
  for (char c : action) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Resource ids are prefixed base32 ids of any type: "usr_…", "fil_…", ….
bool IsResourceId(std::string_view id) {
  size_t underscore = id.find('_');
  if (underscore == std::string_view::npos || underscore == 0 || underscore > 8) return false;
  for (char c : id.substr(0, underscore)) {
    if (c < 'a' || c > 'z') return false;
  }
  return IsValidId(id, id.substr(0, underscore + 1));
}

}  // namespace

void Meta::Add(std::string_view key, std::string_view encoded) {
  body_ += body_.empty() ? "" : ",";
  body_ += Encode(boost::json::string(key));
  body_ += ':';
  body_ += encoded;
}

Meta& Meta::Str(std::string_view key, std::string_view value) {
  Add(key, Encode(boost::json::string(value)));
  return *this;
}

Meta& Meta::Int(std::string_view key, int64_t value) {
  Add(key, std::to_string(value));
  return *this;
}

Meta& Meta::Bool(std::string_view key, bool value) {
  Add(key, value ? "true" : "false");
  return *this;
}

Meta& Meta::OptInt(std::string_view key, std::optional<int64_t> value) {
  Add(key, value ? std::to_string(*value) : std::string("null"));
  return *this;
}

Meta& Meta::Strs(std::string_view key, const std::vector<std::string>& values) {
  boost::json::array array;
  for (const auto& v : values) array.emplace_back(boost::json::string(v));
  Add(key, Encode(array));
  return *this;
}

std::string Meta::Json() const { return "{" + body_ + "}"; }

void VaultApp::Record(AuditEntry entry) {
  if (entry.id.empty()) entry.id = RandomId("aud_");
  if (entry.timestamp == 0) entry.timestamp = Now();
  if (entry.metadata_json.empty()) entry.metadata_json = "{}";
  if (auto appended = store_.Audit().Append(entry); !appended) {
    LogError("vault_audit_failed", {{"action", entry.action},
                                    {"resource_id", entry.resource_id},
                                    {"error", appended.error().message}});
  }
}

void VaultApp::RecordDenied(const Actor& actor, std::string_view operation,
                            std::string_view resource_type, std::string_view resource_id,
                            std::string_view owner_id, std::string_view reason) {
  AuditEntry entry;
  entry.actor_id = actor.user.id;
  entry.actor_email = actor.user.email;
  entry.action = "AccessDenied";
  entry.resource_type = std::string(resource_type);
  entry.resource_id = std::string(resource_id);
  entry.result = AuditResult::kDenied;
  entry.ip_address = actor.meta.ip_address;
  entry.user_agent = actor.meta.user_agent;
  entry.metadata_json = Meta().Str("operation", operation).Str("reason", reason).Json();
  entry.owner_id = std::string(owner_id);
  Record(std::move(entry));
}

AppStatus VaultApp::RequireRoleFor(const Actor& actor, Role role, std::string_view resource_type,
                                   std::string_view resource_id) {
  if (HasRole(actor.user.roles, role)) return {};
  std::string reason = "requires the " + std::string(RoleName(role)) + " role";
  RecordDenied(actor, "RequireRole", resource_type, resource_id, "", reason);
  return AppFail(Code::kForbidden, reason);
}

AppStatus VaultApp::RequireRole(const Actor& actor, Role role, std::string_view resource) {
  return RequireRoleFor(actor, role, resource, "");
}

namespace {

AppStatus CheckAuditQuery(const AuditQuery& query) {
  if (query.action && !IsActionName(*query.action)) {
    return AppFail(Code::kInvalidInput, "action: must be a PascalCase action name");
  }
  if (query.actor_id && !IsValidId(*query.actor_id, "usr_")) {
    return AppFail(Code::kInvalidInput, "actor_id: not a valid usr_… id");
  }
  if (query.resource_id && !IsResourceId(*query.resource_id)) {
    return AppFail(Code::kInvalidInput, "resource_id: not a valid id");
  }
  if (query.since && query.until && *query.since > *query.until) {
    return AppFail(Code::kInvalidInput, "since: must not be after until");
  }
  return {};
}

}  // namespace

// NOLINTNEXTLINE(performance-unnecessary-value-param): by value like OwnerAudit, which edits it.
AppResult<Page<AuditEntry>> VaultApp::AdminAudit(const Actor& actor, AuditQuery query) {
  if (auto ok = RequireRoleFor(actor, Role::kAdmin, "audit", ""); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = CheckPageRequest(query.page); !ok) return tl::unexpected(ok.error());
  if (auto ok = CheckAuditQuery(query); !ok) return tl::unexpected(ok.error());
  auto page = store_.Audit().Query(query);
  if (!page) return tl::unexpected(Backend("audit_query", page.error()));
  return std::move(*page);
}

AppResult<Page<AuditEntry>> VaultApp::OwnerAudit(const Actor& actor, AuditQuery query) {
  if (auto ok = RequireRoleFor(actor, Role::kOwner, "audit", ""); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = CheckPageRequest(query.page); !ok) return tl::unexpected(ok.error());
  if (auto ok = CheckAuditQuery(query); !ok) return tl::unexpected(ok.error());
  query.owner_id = actor.user.id;
  auto page = store_.Audit().Query(query);
  if (!page) return tl::unexpected(Backend("audit_query", page.error()));
  return std::move(*page);
}

}  // namespace va::vault
