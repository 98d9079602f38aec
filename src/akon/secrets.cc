// Secret stores: a private TOML file and the Secret Service through libsecret; see secrets.h.
#include "akon/secrets.h"

#include <dlfcn.h>
#include <string.h>
#include <toml++/toml.h>

#include <cstdlib>
#include <exception>
#include <sstream>
#include <vector>

#include "base/file.h"

namespace va::akon {
namespace {

constexpr size_t kMaxSecretsFileBytes = 64 << 10;

// Overwrites a string that held secret material when it goes out of scope.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& s) : s_(s) {}
  ~WipeOnExit() { explicit_bzero(s_.data(), s_.size()); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::string& s_;
};

std::string DirName(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

// ---- FileSecretStore ----------------------------------------------------------------------------

FileSecretStore::FileSecretStore(std::string path, uid_t owner)
    : path_(std::move(path)), owner_(owner) {}

Result<Secrets> FileSecretStore::Load(const std::string& /*username*/) {
  TrustPolicy policy;
  policy.private_only = true;
  policy.owner = owner_;
  policy.max_bytes = kMaxSecretsFileBytes;
  auto text = ReadTrustedFile(path_, policy);
  if (!text) {
    Error e = std::move(text.error());
    if (e.kind == ErrorKind::kNotFound) {
      e.message = "no secrets file at " + path_ +
                  ": run `akon setup` to store your PIN and TOTP "
                  "secret";
    } else if (e.kind == ErrorKind::kUntrusted) {
      e.message = "refusing to read secrets: " + e.message;
    }
    return tl::unexpected(std::move(e));
  }
  WipeOnExit wipe_text(*text);
  toml::table root;
  try {
    root = toml::parse(*text, path_);
  } catch (const toml::parse_error& e) {
    // The parser's description may quote the file; only the position is reported.
    const auto& begin = e.source().begin;
    return Fail(ErrorKind::kCorrupt, path_ + ":" + std::to_string(begin.line) + ":" +
                                         std::to_string(begin.column) +
                                         ": not valid TOML: fix it or run `akon setup` again");
  } catch (const std::exception&) {
    return Fail(ErrorKind::kCorrupt, path_ + ": not valid TOML: run `akon setup` again");
  }
  Secrets secrets;
  for (auto [key, out] :
       {std::pair<const char*, std::string*>{"pin", &secrets.pin},
        std::pair<const char*, std::string*>{"otp_secret", &secrets.otp_secret}}) {
    const toml::node* node = root.get(key);
    if (node == nullptr) {
      return Fail(ErrorKind::kNotFound, path_ + ": " + key + " is missing: run `akon setup`");
    }
    if (!node->is_string()) {
      return Fail(ErrorKind::kCorrupt,
                  path_ + ": " + key + " must be a string (in quotes: " + key + " = \"…\")");
    }
    *out = node->as_string()->get();
  }
  if (secrets.otp_secret.empty()) {
    return Fail(ErrorKind::kNotFound, path_ + ": otp_secret is empty: run `akon setup`");
  }
  return secrets;
}

Status FileSecretStore::Save(const std::string& /*username*/, const Secrets& secrets) {
  VA_TRY_STATUS(ValidateSecrets(secrets));
  toml::table table{{"pin", secrets.pin}, {"otp_secret", secrets.otp_secret}};
  std::ostringstream out;
  out << "# akon secrets: the VPN PIN and TOTP secret. Keep this file private (mode 0600).\n"
      << table << "\n";
  std::string text = out.str();
  WipeOnExit wipe_text(text);
  VA_TRY_STATUS(EnsureConfigDir(DirName(path_)));
  VA_TRY_STATUS(WriteFileAtomic(path_, text, 0600));
  return GiveToConfigOwner(path_);
}

// ---- factory ----------------------------------------------------------------------------------

std::string SecretsPath(const std::string& config_dir) {
  return config_dir + "/" + std::string(kSecretsFileName);
}

Result<std::unique_ptr<SecretStore>> MakeSecretStore(const Config& config,
                                                     const std::string& config_dir) {
  SecretBackend backend = config.secrets.backend;
  if (const char* env = std::getenv("AKON_SECRET_BACKEND"); env != nullptr && env[0] != '\0') {
    auto parsed = ParseSecretBackend(env);
    if (!parsed) {
      return Fail(ErrorKind::kInvalid, std::string("AKON_SECRET_BACKEND=\"") + env +
                                           "\" is not a secret backend: use keyring or file");
    }
    backend = *parsed;
  }
  switch (backend) {
    case SecretBackend::kFile:
      return std::unique_ptr<SecretStore>(
          std::make_unique<FileSecretStore>(SecretsPath(config_dir), ConfigOwnerUid()));
    case SecretBackend::kKeyring:
      break;
  }
  return LoadKeyringStore();
}

Result<std::unique_ptr<SecretStore>> LoadKeyringStore() {
  // libsecret pulls in GLib, GIO and libgcrypt: loaded only when the keyring is used, so that
  // `vpn off` and `vpn status` start fast.
  std::string module = "akon-keyring.so";
  char self[4096];
  if (ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1); n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    module = dir.substr(0, dir.rfind('/') + 1) + module;
  }
  void* handle = ::dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return Fail(ErrorKind::kUnsupported, "keyring support is not available (" +
                                             std::string(why ? why : module) + "); " +
                                             std::string(kUseFileBackendHint));
  }
  using Factory = SecretStore* (*)();
  auto factory = reinterpret_cast<Factory>(::dlsym(handle, "va_akon_new_keyring_store"));
  if (factory == nullptr) {
    return Fail(ErrorKind::kUnsupported, module + " is not akon's keyring module");
  }
  // The module stays loaded for the life of the process (the store's code lives in it).
  return std::unique_ptr<SecretStore>(factory());
}

}  // namespace va::akon
