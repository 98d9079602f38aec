// VaultApp's construction and the helpers every handler file shares; the handlers live in
// auth.cc, users.cc, files.cc, permissions.cc, client.cc and audit.cc.
#include "vault/app/vault_app.h"

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/log.h"
#include "vault/app/internal.h"

namespace va::vault {

struct VaultApp::UserCache {
  static constexpr size_t kMaxEntries = 10000;
  struct Entry {
    User user;
    MonoTime fetched;
  };
  std::mutex mu;
  std::unordered_map<std::string, Entry> entries;
};

std::optional<User> VaultApp::CachedUser(std::string_view id) {
  if (config_.user_cache_ttl_ms <= 0) return std::nullopt;
  std::lock_guard lock(user_cache_->mu);
  auto it = user_cache_->entries.find(std::string(id));
  if (it == user_cache_->entries.end()) return std::nullopt;
  if (clock_.Mono() - it->second.fetched >= std::chrono::milliseconds(config_.user_cache_ttl_ms)) {
    user_cache_->entries.erase(it);
    return std::nullopt;
  }
  return it->second.user;
}

void VaultApp::RememberUser(const User& user) {
  if (config_.user_cache_ttl_ms <= 0) return;
  std::lock_guard lock(user_cache_->mu);
  if (user_cache_->entries.size() >= UserCache::kMaxEntries) user_cache_->entries.clear();
  user_cache_->entries[user.id] = {user, clock_.Mono()};
}

void VaultApp::ForgetUser(std::string_view id) {
  std::lock_guard lock(user_cache_->mu);
  user_cache_->entries.erase(std::string(id));
}

VaultApp::VaultApp(Store& store, BlobStore& blobs, PasswordHasher& hasher, TokenSigner& signer,
                   Digest& digest, const Clock& clock, AppConfig config)
    : store_(store),
      blobs_(blobs),
      hasher_(hasher),
      signer_(signer),
      digest_(digest),
      clock_(clock),
      config_(config),
      throttle_(std::make_unique<Throttle>()),
      user_cache_(std::make_unique<UserCache>()) {}

VaultApp::~VaultApp() = default;

void VaultApp::SetSessionHooks(SessionHooks* hooks) {
  hooks_ = hooks != nullptr ? hooks : &default_hooks_;
}

int64_t VaultApp::Now() const { return UnixSeconds(clock_.Now()); }

AppError VaultApp::Backend(std::string_view op, const Error& error) const {
  LogError("vault_store_failed", {{"op", op}, {"error", error.message}});
  return AppError{Code::kInternal, "internal error", 0};
}

}  // namespace va::vault
