// VaultApp's construction and the helpers every handler file shares; the handlers live in
// auth.cc, users.cc, files.cc, permissions.cc, client.cc and audit.cc.
#include "vault/app/vault_app.h"

#include <string>
#include <string_view>

#include "base/log.h"
#include "vault/app/internal.h"

namespace va::vault {

VaultApp::VaultApp(Store& store, BlobStore& blobs, PasswordHasher& hasher, TokenSigner& signer,
                   Digest& digest, const Clock& clock, AppConfig config)
    : store_(store),
      blobs_(blobs),
      hasher_(hasher),
      signer_(signer),
      digest_(digest),
      clock_(clock),
      config_(config),
      throttle_(std::make_unique<Throttle>()) {}

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
