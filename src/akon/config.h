// akon's configuration: where it lives, how it is parsed, validated, rendered and saved.
//
// Contract: `config.toml` (see the akon spec, §3) has a required [vpn] table, an optional
// [reconnection] table (absent = no automatic reconnection) and an optional [secrets] table.
// Every value is validated on load and an error names the key ("vpn.server: …") and what to do.
// Unknown keys and tables are ignored; a known key with the wrong TOML type is an error.
// The file is saved atomically with mode 0600 in a directory created 0700; under sudo the files
// and directories akon creates are handed to the invoking user. No function here throws.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace va::akon {

inline constexpr std::string_view kConfigFileName = "config.toml";
inline constexpr std::string_view kSecretsFileName = "secrets.toml";

// The protocols openconnect speaks, as its --protocol option names them.
inline constexpr std::string_view kProtocols[] = {"anyconnect", "f5",       "gp",   "nc",
                                                  "pulse",      "fortinet", "array"};
bool IsSupportedProtocol(std::string_view protocol);

// Bounds enforced on load (and therefore by SaveConfig).
inline constexpr int kMaxConnectTimeoutSecs = 600;
inline constexpr int kMaxIntervalSecs = 86400;
inline constexpr int kMaxFailureThreshold = 100;
inline constexpr int kMaxReconnectAttempts = 1000;

struct VpnConfig {
  std::string server;                     // https:// URL with a host
  std::string username;                   // non-empty, no whitespace or control characters
  std::string protocol;                   // one of kProtocols
  std::optional<std::string> servercert;  // "pin-sha256:<base64>", "sha1:<hex>", "sha256:<hex>"
  std::optional<std::string> cafile;      // absolute path
  bool no_dtls = false;
  bool lazy_mode = false;
  int connect_timeout_secs = 30;  // 1..kMaxConnectTimeoutSecs

  bool operator==(const VpnConfig&) const = default;
};

struct ReconnectionConfig {
  std::string health_url;        // http:// or https:// URL probed through the tunnel
  int check_interval_secs = 60;  // 1..kMaxIntervalSecs
  int failure_threshold = 2;     // 1..kMaxFailureThreshold
  int max_attempts = 5;          // 1..kMaxReconnectAttempts
  int backoff_base_secs = 5;     // 1..kMaxIntervalSecs
  int backoff_max_secs = 60;     // backoff_base_secs..kMaxIntervalSecs

  bool operator==(const ReconnectionConfig&) const = default;
};

enum class SecretBackend { kKeyring, kFile };
std::string_view SecretBackendName(SecretBackend backend);
// "keyring" or "file"; nullopt for anything else.
std::optional<SecretBackend> ParseSecretBackend(std::string_view name);

struct SecretsConfig {
  SecretBackend backend = SecretBackend::kKeyring;

  bool operator==(const SecretsConfig&) const = default;
};

struct Config {
  VpnConfig vpn;
  std::optional<ReconnectionConfig> reconnection;
  SecretsConfig secrets;

  bool operator==(const Config&) const = default;
};

// The user who ran `sudo akon ...` (root running under sudo, SUDO_USER set and not root);
// nullopt otherwise.
struct InvokingUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
  std::string home;
};
std::optional<InvokingUser> SudoInvokingUser();

// The directory holding config.toml and secrets.toml: $AKON_CONFIG_DIR if set; otherwise, when
// running as root under sudo (SUDO_USER set, euid 0), the invoking user's home (from the password
// database) + "/.config/akon"; otherwise $XDG_CONFIG_HOME/akon (if absolute) or
// $HOME/.config/akon (HOME falling back to the password database). Fails with kNotFound when the
// sudo user is unknown or no home directory can be found.
Result<std::string> ConfigDir();

// "<dir>/config.toml".
std::string ConfigPath(const std::string& config_dir);

// The uid that must own akon's files: the sudo user's uid when running as root under sudo
// (SUDO_USER known to the password database), else the effective uid. Root is always accepted
// by the trust checks as well.
uid_t ConfigOwnerUid();

// Creates `dir` and any missing parents with mode 0700 (existing directories are left alone);
// under sudo, directories it creates are chowned to the invoking user. Fails with the failing
// mkdir/chown's error, or kInvalid when a path component exists but is not a directory.
Status EnsureConfigDir(const std::string& dir);

// Parses and validates TOML text; `source` names it in messages (usually the path). Fails with
// kCorrupt ("<source>:<line>:<column>: …") on a TOML syntax error and kInvalid naming the key on
// a missing, mistyped or out-of-range value.
Result<Config> ParseConfig(std::string_view toml_text, std::string_view source = "config.toml");

// Reads and validates the config file. Fails with kNotFound (telling the user to run
// `akon setup`) when it does not exist; kUntrusted when it is not a regular file, is writable by
// group or others, or is owned by someone other than ConfigOwnerUid() or root (a symlink to such
// a file is fine); otherwise as ParseConfig or with the read's system error.
Result<Config> LoadConfig(const std::string& path);

// The config as TOML text in the documented layout; ParseConfig(RenderConfig(c)) == c for every
// valid config.
std::string RenderConfig(const Config& config);

// Validates the config, then writes it atomically with mode 0600, creating its directory (see
// EnsureConfigDir). Under sudo the file is chowned to the invoking user. Fails with kInvalid
// (nothing written) when the config would not load back, or with the write's error.
Status SaveConfig(const std::string& path, const Config& config);

// Hands a file akon created to the invoking user when running as root under sudo; a no-op
// otherwise. Fails with the chown's error.
Status GiveToConfigOwner(const std::string& path);

}  // namespace va::akon
