// Where akon keeps the VPN PIN and TOTP secret: the Secret Service keyring or a private file.
//
// Contract: a SecretStore loads and saves the PIN and the Base32 TOTP secret of one VPN user.
// - KeyringSecretStore (libsecret) keeps two items, service "akon-vpn-pin" and service
//   "akon-vpn-otp", each with attribute username=<vpn user> — what the earlier Rust akon (keyring
//   crate) wrote, so its secrets are found. Items are searched by service and username only,
//   under any schema name, in every collection; an item whose `target` attribute is neither
//   absent nor "default" belongs to another keyring-crate target and is ignored. A save updates
//   the matching items in place, or creates new ones in the default collection with attributes
//   service, username and target="default".
// - FileSecretStore keeps `secrets.toml` (keys `pin`, `otp_secret`) in the config directory,
//   written atomically with mode 0600 and read only if it is private (no group/other access),
//   owned by the config owner or root, and not a symlink.
// Missing secrets are kNotFound with a message that tells the user to run `akon setup`. Secret
// values never appear in error messages or logs. No function here throws.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "akon/config.h"
#include "base/result.h"

namespace va::akon {

inline constexpr std::string_view kPinService = "akon-vpn-pin";
inline constexpr std::string_view kOtpService = "akon-vpn-otp";

struct Secrets {
  std::string pin;         // may be empty (a VPN that wants only the code)
  std::string otp_secret;  // Base32, as the user gave it
};

class SecretStore {
 public:
  virtual ~SecretStore() = default;
  // The secrets of `username`. Fails with kNotFound when they are not stored (or the TOTP secret
  // is empty), and as the backend documents when it cannot be read.
  virtual Result<Secrets> Load(const std::string& username) = 0;
  // Stores (replaces) the secrets of `username`. Fails with kInvalid when otp_secret is empty, and
  // as the backend documents when it cannot be written.
  virtual Status Save(const std::string& username, const Secrets& secrets) = 0;
  // "keyring" or "file", for messages.
  virtual std::string_view Name() const = 0;
};

// secrets.toml. The file holds one user's secrets; `username` is not part of it.
class FileSecretStore final : public SecretStore {
 public:
  // `path` is the secrets file; `owner` the uid that must own it (besides root).
  explicit FileSecretStore(std::string path, uid_t owner);

  // Fails with kNotFound when the file does not exist, kUntrusted (with the reason and the fix)
  // when it is group/world-accessible, foreign-owned, a symlink or not a regular file, kCorrupt
  // when it is not valid TOML or a key has the wrong type.
  Result<Secrets> Load(const std::string& username) override;
  // Creates the directory (0700) if needed and writes the file atomically, mode 0600; under sudo
  // it is chowned to the invoking user. Fails with the write's error.
  Status Save(const std::string& username, const Secrets& secrets) override;
  std::string_view Name() const override { return "file"; }

  const std::string& Path() const { return path_; }

 private:
  std::string path_;
  uid_t owner_;
};

// The Secret Service through libsecret (synchronous D-Bus calls on the session bus).
// Every operation fails with kUnsupported when there is no session bus or no Secret Service on
// it, and kPermission when the items or the collection are locked and cannot be unlocked here;
// both messages say what to do (unlock the keyring, or set backend = "file").
class KeyringSecretStore final : public SecretStore {
 public:
  KeyringSecretStore() = default;

  Result<Secrets> Load(const std::string& username) override;
  Status Save(const std::string& username, const Secrets& secrets) override;
  std::string_view Name() const override { return "keyring"; }
};

// What every secret-store error ends with.
inline constexpr std::string_view kUseFileBackendHint =
    "or set backend = \"file\" under [secrets] in config.toml (or AKON_SECRET_BACKEND=file) and "
    "run `akon setup` again";

// Checks secrets before they are stored: a TOTP secret is required and the PIN holds no control
// characters. kInvalid otherwise.
inline Status ValidateSecrets(const Secrets& secrets) {
  if (secrets.otp_secret.empty()) return Fail(ErrorKind::kInvalid, "the TOTP secret is empty");
  for (unsigned char c : secrets.pin) {
    if (c < 0x20 || c == 0x7f) {
      return Fail(ErrorKind::kInvalid, "the PIN must not contain control characters");
    }
  }
  return {};
}

// Loads akon-keyring.so from the directory of the running binary and makes a KeyringSecretStore
// with it. kUnsupported when the module cannot be loaded.
Result<std::unique_ptr<SecretStore>> LoadKeyringStore();

// The backend the user chose: $AKON_SECRET_BACKEND ("keyring" or "file") if set, else
// config.secrets.backend. The file backend uses <config_dir>/secrets.toml owned by
// ConfigOwnerUid(). Fails with kInvalid when AKON_SECRET_BACKEND has another value.
Result<std::unique_ptr<SecretStore>> MakeSecretStore(const Config& config,
                                                     const std::string& config_dir);

// "<config_dir>/secrets.toml".
std::string SecretsPath(const std::string& config_dir);

}  // namespace va::akon
