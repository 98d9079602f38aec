// Authentication (spec §4): login with per-account and per-IP throttling, rotating refresh
// tokens with reuse detection, logout, and the per-request check of an access token and its
// user. Every refusal answers Unauthenticated (RateLimited when throttled) and is audited; no
// password or token ever enters an audit entry or a log record.
#include <algorithm>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "base/ids.h"
#include "base/log.h"
#include "vault/app/internal.h"
#include "vault/app/vault_app.h"

namespace va::vault {
namespace {

constexpr std::string_view kBadRefresh = "invalid or expired refresh token";
constexpr std::string_view kBadAccess = "invalid or expired access token";

AuditEntry AuthEntry(std::string_view action, AuditResult result, const RequestMeta& meta) {
  AuditEntry entry;
  entry.action = std::string(action);
  entry.result = result;
  entry.resource_type = "auth";
  entry.ip_address = meta.ip_address;
  entry.user_agent = meta.user_agent;
  return entry;
}

void SetActor(AuditEntry& entry, const User& user) {
  entry.actor_id = user.id;
  entry.actor_email = user.email;
  entry.resource_type = "user";
  entry.resource_id = user.id;
}

}  // namespace

// --- throttle ------------------------------------------------------------------------------

int64_t VaultApp::Throttle::RetryAfter(std::unordered_map<std::string, Window>& table,
                                       const std::string& key, int limit, int64_t window,
                                       int64_t now) {
  auto it = table.find(key);
  if (it == table.end()) return 0;
  auto& failures = it->second.failures;
  while (!failures.empty() && failures.front() + window <= now) failures.pop_front();
  if (failures.empty()) {
    table.erase(it);
    return 0;
  }
  if (static_cast<int64_t>(failures.size()) < limit) return 0;
  // The oldest failure that still counts leaves the window at front + window.
  return std::max<int64_t>(1, failures.front() + window - now);
}

void VaultApp::Throttle::AddFailure(std::unordered_map<std::string, Window>& table,
                                    const std::string& key, int limit, int64_t now) {
  auto& failures = table[key].failures;
  failures.push_back(now);
  while (static_cast<int64_t>(failures.size()) > std::max(limit, 1)) failures.pop_front();
}

void VaultApp::Throttle::Sweep(std::unordered_map<std::string, Window>& table, int64_t window,
                               int64_t now) {
  for (auto it = table.begin(); it != table.end();) {
    if (it->second.failures.empty() || it->second.failures.back() + window <= now) {
      it = table.erase(it);
    } else {
      ++it;
    }
  }
}

const std::string& VaultApp::DummyHash() {
  std::call_once(dummy_once_, [this] {
    // A real hash of a random password, so verifying against it costs what a real check costs.
    auto hash = hasher_.Hash(RandomHex(16));
    if (hash) {
      dummy_hash_ = std::move(*hash);
    } else {
      LogError("vault_dummy_hash_failed", {{"error", hash.error().message}});
    }
  });
  return dummy_hash_;
}

// --- tokens ----------------------------------------------------------------------------------

namespace {

// A new access token and refresh token for `user`; the refresh token's record is returned for
// the caller to store.
std::pair<LoginResult, RefreshToken> MakeTokens(TokenSigner& signer, Digest& digest,
                                                const AppConfig& config, const User& user,
                                                const std::string& family_id, int64_t now) {
  AccessClaims claims;
  claims.subject = user.id;
  claims.roles = user.roles;
  claims.issued_at = now;
  claims.expires_at = now + config.access_token_ttl_seconds;
  claims.token_id = RandomId("jti_");

  LoginResult result;
  result.access_token = signer.Sign(claims);
  result.expires_in = config.access_token_ttl_seconds;
  result.refresh_token = RandomHex(32);
  result.user = user;

  RefreshToken token;
  token.token_hash = digest.Sha256Hex(result.refresh_token);
  token.family_id = family_id;
  token.user_id = user.id;
  token.issued_at = now;
  token.expires_at = now + config.refresh_token_ttl_seconds;
  return {std::move(result), std::move(token)};
}

}  // namespace

AppResult<LoginResult> VaultApp::IssueTokens(const User& user, const std::string& family_id,
                                             int64_t now) {
  auto [result, token] = MakeTokens(signer_, digest_, config_, user, family_id, now);
  if (auto inserted = store_.Tokens().Insert(token); !inserted) {
    return tl::unexpected(Backend("insert_refresh_token", inserted.error()));
  }
  return std::move(result);
}

// --- login -----------------------------------------------------------------------------------

AppResult<LoginResult> VaultApp::Login(std::string_view email_in, std::string_view password,
                                       const RequestMeta& meta) {
  if (email_in.size() > kMaxEmailBytes) {
    return AppFail(Code::kInvalidInput, "email: longer than 254 bytes");
  }
  if (password.size() > kMaxPasswordBytes) {
    return AppFail(Code::kInvalidInput, "password: longer than 1024 bytes");
  }
  const std::string email = LowerAscii(email_in);
  const int64_t now = Now();
  AuditEntry failed = AuthEntry("LoginFailed", AuditResult::kFailed, meta);
  // What was typed as the email is not a secret, but only a plausible one is recorded.
  if (CheckEmail("email", email)) failed.actor_email = email;

  {
    std::lock_guard lock(throttle_->mutex);
    int64_t retry = std::max(
        Throttle::RetryAfter(throttle_->accounts, email, config_.login_attempts_per_account,
                             config_.login_window_seconds, now),
        Throttle::RetryAfter(throttle_->ips, meta.ip_address, config_.login_attempts_per_ip,
                             config_.login_window_seconds, now));
    if (retry > 0) {
      failed.metadata_json = Meta().Str("reason", "rate_limited").Int("retry_after", retry).Json();
      Record(std::move(failed));
      return AppFail(Code::kRateLimited, "too many failed logins; try again later",
                     static_cast<int>(std::min<int64_t>(retry, 1 << 30)));
    }
  }

  auto found = store_.Users().FindByEmail(email);
  if (!found) return tl::unexpected(Backend("find_user_by_email", found.error()));

  bool verified = false;
  if (found->has_value()) {
    verified = hasher_.Verify((*found)->password_hash, password);
  } else {
    // Unknown email: spend the same time as a real check so timing does not tell.
    (void)hasher_.Verify(DummyHash(), password);
  }

  if (!verified) {
    {
      std::lock_guard lock(throttle_->mutex);
      if (throttle_->accounts.size() + throttle_->ips.size() >= throttle_->sweep_at) {
        Throttle::Sweep(throttle_->accounts, config_.login_window_seconds, now);
        Throttle::Sweep(throttle_->ips, config_.login_window_seconds, now);
        throttle_->sweep_at =
            std::max<size_t>(4096, 2 * (throttle_->accounts.size() + throttle_->ips.size()));
      }
      Throttle::AddFailure(throttle_->accounts, email, config_.login_attempts_per_account, now);
      Throttle::AddFailure(throttle_->ips, meta.ip_address, config_.login_attempts_per_ip, now);
    }
    if (found->has_value()) SetActor(failed, **found);
    failed.metadata_json = Meta().Str("reason", "bad_credentials").Json();
    Record(std::move(failed));
    return AppFail(Code::kUnauthenticated, std::string(kBadCredentials));
  }

  const User& user = **found;
  SetActor(failed, user);
  if (user.status != UserStatus::kActive) {
    failed.metadata_json = Meta().Str("reason", "disabled").Json();
    Record(std::move(failed));
    return AppFail(Code::kUnauthenticated, "account is disabled");
  }
  {
    std::lock_guard lock(throttle_->mutex);
    throttle_->accounts.erase(email);
  }

  auto issued = IssueTokens(user, RandomHex(16), now);
  if (!issued) return issued;
  AuditEntry ok = AuthEntry("LoginSucceeded", AuditResult::kSuccess, meta);
  SetActor(ok, user);
  Record(std::move(ok));
  return issued;
}

// --- refresh and logout ----------------------------------------------------------------------

AppResult<LoginResult> VaultApp::Refresh(std::string_view refresh_token, const RequestMeta& meta) {
  const int64_t now = Now();
  AuditEntry denied = AuthEntry("RefreshDenied", AuditResult::kDenied, meta);
  auto deny = [&](std::string_view reason) {
    denied.metadata_json = Meta().Str("reason", reason).Json();
    Record(std::move(denied));
    return AppFail(Code::kUnauthenticated, std::string(kBadRefresh));
  };
  if (refresh_token.empty() || refresh_token.size() > kMaxTokenBytes) return deny("malformed");

  const std::string hash = digest_.Sha256Hex(refresh_token);
  auto found = store_.Tokens().Find(hash);
  if (!found) return tl::unexpected(Backend("find_refresh_token", found.error()));
  if (!found->has_value()) return deny("unknown_token");
  const RefreshToken token = **found;

  auto user = store_.Users().FindById(token.user_id);
  if (!user) return tl::unexpected(Backend("find_user", user.error()));
  if (user->has_value()) SetActor(denied, **user);

  if (token.family_revoked) return deny("revoked");
  if (token.used_at.has_value()) {
    // A replay: whoever holds this family may be an attacker; end it for everyone.
    if (auto revoked = store_.Tokens().RevokeFamily(token.family_id); !revoked) {
      return tl::unexpected(Backend("revoke_token_family", revoked.error()));
    }
    denied.action = "RefreshTokenReused";
    return deny("reused");
  }
  if (token.expires_at <= now) return deny("expired");
  if (!user->has_value()) return deny("user_not_found");
  if ((*user)->status != UserStatus::kActive) return deny("user_disabled");

  bool replay = false;
  LoginResult result;
  auto rotated = store_.InTransaction([&]() -> Status {
    VA_TRY(bool marked, store_.Tokens().MarkUsed(hash, now));
    if (!marked) {
      replay = true;
      return {};
    }
    auto [issued, next] = MakeTokens(signer_, digest_, config_, **user, token.family_id, now);
    VA_TRY_STATUS(store_.Tokens().Insert(next));
    result = std::move(issued);
    return {};
  });
  if (!rotated) return tl::unexpected(Backend("rotate_refresh_token", rotated.error()));
  if (replay) {
    // Another request used the token between Find and MarkUsed: the same replay.
    if (auto revoked = store_.Tokens().RevokeFamily(token.family_id); !revoked) {
      return tl::unexpected(Backend("revoke_token_family", revoked.error()));
    }
    denied.action = "RefreshTokenReused";
    return deny("reused");
  }
  return result;
}

AppStatus VaultApp::Logout(std::string_view refresh_token, const RequestMeta& meta) {
  if (refresh_token.empty() || refresh_token.size() > kMaxTokenBytes) {
    return AppFail(Code::kUnauthenticated, std::string(kBadRefresh));
  }
  auto found = store_.Tokens().Find(digest_.Sha256Hex(refresh_token));
  if (!found) return tl::unexpected(Backend("find_refresh_token", found.error()));
  if (!found->has_value()) return AppFail(Code::kUnauthenticated, std::string(kBadRefresh));
  if (auto revoked = store_.Tokens().RevokeFamily((*found)->family_id); !revoked) {
    return tl::unexpected(Backend("revoke_token_family", revoked.error()));
  }
  AuditEntry entry = AuthEntry("LoggedOut", AuditResult::kSuccess, meta);
  auto user = store_.Users().FindById((*found)->user_id);
  if (user && user->has_value()) SetActor(entry, **user);
  Record(std::move(entry));
  return {};
}

// --- access tokens ---------------------------------------------------------------------------

AppResult<Actor> VaultApp::Authenticate(std::string_view access_token, const RequestMeta& meta) {
  if (access_token.empty()) return AppFail(Code::kUnauthenticated, "missing access token");
  AuditEntry denied = AuthEntry("AccessDenied", AuditResult::kDenied, meta);
  auto deny = [&](std::string_view reason) {
    denied.metadata_json = Meta().Str("reason", reason).Json();
    Record(std::move(denied));
    return AppFail(Code::kUnauthenticated, std::string(kBadAccess));
  };
  if (access_token.size() > kMaxTokenBytes) return deny("malformed_token");
  auto claims = signer_.Verify(access_token, Now());
  if (!claims) {
    return deny(claims.error().kind == ErrorKind::kTimeout ? "expired_token" : "invalid_token");
  }
  if (!IsValidId(claims->subject, "usr_")) return deny("invalid_token");
  if (std::optional<User> cached = CachedUser(claims->subject)) {
    if (cached->status == UserStatus::kActive) return Actor{std::move(*cached), meta};
    SetActor(denied, *cached);
    return deny("user_disabled");
  }
  auto user = store_.Users().FindById(claims->subject);
  if (!user) return tl::unexpected(Backend("find_user", user.error()));
  if (!user->has_value()) return deny("user_not_found");
  RememberUser(**user);
  SetActor(denied, **user);
  if ((*user)->status != UserStatus::kActive) return deny("user_disabled");
  return Actor{std::move(**user), meta};
}

}  // namespace va::vault
