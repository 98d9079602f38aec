// Configuration location, parsing, validation, rendering and saving; see config.h.
#include "akon/config.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <vector>

#include "base/file.h"
#include "base/sys.h"
#include "base/unique_fd.h"

namespace va::akon {
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr size_t kMaxUsernameBytes = 256;

struct UserEntry {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

std::optional<UserEntry> LookupUser(const char* name) {
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  while (::getpwnam_r(name, &pw, buf.data(), buf.size(), &found) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  if (found == nullptr) return std::nullopt;
  return UserEntry{pw.pw_uid, pw.pw_gid, pw.pw_dir ? pw.pw_dir : ""};
}

std::optional<std::string> HomeOfUid(uid_t uid) {
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  while (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  if (found == nullptr || pw.pw_dir == nullptr || pw.pw_dir[0] == '\0') return std::nullopt;
  return std::string(pw.pw_dir);
}

const char* NonEmptyEnv(const char* name) {
  const char* value = std::getenv(name);
  return (value != nullptr && value[0] != '\0') ? value : nullptr;
}

// The invoking user when running as root under sudo; nullopt otherwise (or when unknown).
std::optional<UserEntry> SudoUser() {
  if (::geteuid() != 0) return std::nullopt;
  const char* name = NonEmptyEnv("SUDO_USER");
  if (name == nullptr) return std::nullopt;
  return LookupUser(name);
}

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// ---- validation helpers -----------------------------------------------------------------------

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }
bool IsSpaceOrControl(unsigned char c) { return c == ' ' || IsControl(c); }
bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsBase64Char(char c) { return IsAsciiAlnum(c) || c == '+' || c == '/'; }

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

tl::unexpected<Error> Invalid(std::string_view key, std::string_view what) {
  return Fail(ErrorKind::kInvalid, std::string(key) + ": " + std::string(what));
}

// Checks an http(s) URL: scheme, then a host (name, IPv4 or [IPv6]) with an optional port, then
// anything. No user info, spaces or control characters.
Status ValidateUrl(std::string_view key, std::string_view url, bool allow_http,
                   std::string_view example) {
  const std::string hint = std::string(" (e.g. \"") + std::string(example) + "\")";
  for (unsigned char c : url) {
    if (IsSpaceOrControl(c)) return Invalid(key, "must not contain spaces or control characters");
  }
  size_t rest_at = 0;
  if (StartsWithNoCase(url, "https://")) {
    rest_at = 8;
  } else if (allow_http && StartsWithNoCase(url, "http://")) {
    rest_at = 7;
  } else {
    return Invalid(key, std::string("must be an ") +
                            (allow_http ? "http:// or https://" : "https://") + " URL" + hint);
  }
  std::string_view rest = url.substr(rest_at);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    return Invalid(key, "must not contain a user name or password" + hint);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Invalid(key, "has an unterminated [IPv6] host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Invalid(key, "has text after the [IPv6] host");
      port = after.substr(1);
      if (port.empty()) return Invalid(key, "has an empty port");
    }
    if (host.empty()) return Invalid(key, "has no host" + hint);
    for (char c : host) {
      if (!IsHexDigit(c) && c != ':' && c != '.') return Invalid(key, "has an invalid IPv6 host");
    }
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return Invalid(key, "has an empty port");
    }
    if (host.empty()) return Invalid(key, "has no host" + hint);
    if (host.front() == '.' || host.front() == '-' || host.find("..") != std::string_view::npos) {
      return Invalid(key, "has an invalid host name");
    }
    for (char c : host) {
      if (!IsAsciiAlnum(c) && c != '-' && c != '.' && c != '_') {
        return Invalid(key, "has an invalid character in the host name");
      }
    }
  }
  if (!port.empty()) {
    if (port.size() > 5) return Invalid(key, "has an invalid port");
    int value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return Invalid(key, "has an invalid port");
      value = value * 10 + (c - '0');
    }
    if (value < 1 || value > 65535) return Invalid(key, "has a port outside 1-65535");
  }
  return {};
}

Status ValidateUsername(std::string_view key, std::string_view username) {
  if (username.empty()) return Invalid(key, "must not be empty");
  if (username.size() > kMaxUsernameBytes) {
    return Invalid(key, "is longer than " + std::to_string(kMaxUsernameBytes) + " bytes");
  }
  for (unsigned char c : username) {
    if (IsSpaceOrControl(c)) return Invalid(key, "must not contain spaces or control characters");
  }
  return {};
}

Status ValidateServerCert(std::string_view key, std::string_view cert) {
  auto all_hex = [](std::string_view s) {
    for (char c : s) {
      if (!IsHexDigit(c)) return false;
    }
    return true;
  };
  constexpr std::string_view kExpected =
      "expected \"pin-sha256:<base64 of 32 bytes>\", \"sha256:<64 hex digits>\" or "
      "\"sha1:<40 hex digits>\" (openconnect prints the pin-sha256 of the server's certificate)";
  if (cert.starts_with("pin-sha256:")) {
    std::string_view b64 = cert.substr(11);
    while (!b64.empty() && b64.back() == '=') b64.remove_suffix(1);
    bool ok = b64.size() == 43;
    for (char c : b64) ok = ok && IsBase64Char(c);
    if (!ok)
      return Invalid(key, std::string("malformed pin-sha256 value: ") + std::string(kExpected));
    return {};
  }
  if (cert.starts_with("sha256:")) {
    std::string_view hex = cert.substr(7);
    if (hex.size() != 64 || !all_hex(hex)) {
      return Invalid(key, std::string("malformed sha256 fingerprint: ") + std::string(kExpected));
    }
    return {};
  }
  if (cert.starts_with("sha1:")) {
    std::string_view hex = cert.substr(5);
    if (hex.size() != 40 || !all_hex(hex)) {
      return Invalid(key, std::string("malformed sha1 fingerprint: ") + std::string(kExpected));
    }
    return {};
  }
  return Invalid(key, kExpected);
}

Status ValidateCafile(std::string_view key, std::string_view path) {
  if (path.empty()) return Invalid(key, "must not be empty (remove the key to use no extra CA)");
  if (path.front() != '/') return Invalid(key, "must be an absolute path");
  for (unsigned char c : path) {
    if (IsControl(c)) return Invalid(key, "must not contain control characters");
  }
  return {};
}

Status ValidateRange(std::string_view key, int64_t value, int64_t min, int64_t max) {
  if (value < min || value > max) {
    return Invalid(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                            ", not " + std::to_string(value));
  }
  return {};
}

// ---- typed access to the TOML tree
// ---------------------------------------------------------------

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

class Section {
 public:
  Section(const toml::table* table, std::string name) : table_(table), name_(std::move(name)) {}

  std::string Key(std::string_view key) const { return name_ + "." + std::string(key); }

  Result<std::optional<std::string>> String(std::string_view key) const {
    const toml::node* node = Find(key);
    if (node == nullptr) return std::optional<std::string>();
    if (!node->is_string()) return WrongType(key, *node, "a string");
    return std::optional<std::string>(node->as_string()->get());
  }

  Result<std::string> RequiredString(std::string_view key, std::string_view example) const {
    VA_TRY(auto value, String(key));
    if (!value) {
      return Invalid(Key(key), "is missing: add " + std::string(key) + " = " +
                                   std::string(example) + " under [" + name_ + "]");
    }
    return std::move(*value);
  }

  Result<std::optional<bool>> Bool(std::string_view key) const {
    const toml::node* node = Find(key);
    if (node == nullptr) return std::optional<bool>();
    if (!node->is_boolean()) return WrongType(key, *node, "true or false");
    return std::optional<bool>(node->as_boolean()->get());
  }

  // An integer key within [min, max]; `fallback` when absent.
  Result<int> Int(std::string_view key, int fallback, int64_t min, int64_t max) const {
    const toml::node* node = Find(key);
    if (node == nullptr) return fallback;
    if (!node->is_integer()) return WrongType(key, *node, "an integer");
    const int64_t value = node->as_integer()->get();
    VA_TRY_STATUS(ValidateRange(Key(key), value, min, max));
    return static_cast<int>(value);
  }

 private:
  const toml::node* Find(std::string_view key) const {
    return table_ == nullptr ? nullptr : table_->get(key);
  }

  tl::unexpected<Error> WrongType(std::string_view key, const toml::node& node,
                                  std::string_view expected) const {
    return Invalid(Key(key),
                   "must be " + std::string(expected) + ", not " + std::string(TypeName(node)));
  }

  const toml::table* table_;
  std::string name_;
};

// A top-level table, or nullptr when absent; fails when the key holds something else.
Result<const toml::table*> TopTable(const toml::table& root, std::string_view name) {
  const toml::node* node = root.get(name);
  if (node == nullptr) return static_cast<const toml::table*>(nullptr);
  if (!node->is_table()) {
    return Invalid(
        name, "must be a table ([" + std::string(name) + "]), not " + std::string(TypeName(*node)));
  }
  return node->as_table();
}

Result<VpnConfig> ParseVpn(const toml::table& root) {
  VA_TRY(const toml::table* table, TopTable(root, "vpn"));
  if (table == nullptr) {
    return Fail(ErrorKind::kInvalid,
                "vpn: the [vpn] table is missing (run `akon setup` to write a complete config)");
  }
  Section s(table, "vpn");
  VpnConfig vpn;
  VA_TRY(vpn.server, s.RequiredString("server", "\"https://vpn.example.com\""));
  VA_TRY_STATUS(ValidateUrl(s.Key("server"), vpn.server, false, "https://vpn.example.com"));
  VA_TRY(vpn.username, s.RequiredString("username", "\"alice\""));
  VA_TRY_STATUS(ValidateUsername(s.Key("username"), vpn.username));
  VA_TRY(vpn.protocol, s.RequiredString("protocol", "\"anyconnect\""));
  if (!IsSupportedProtocol(vpn.protocol)) {
    return Invalid(s.Key("protocol"),
                   "\"" + vpn.protocol +
                       "\" is not supported; use one of anyconnect, f5, gp, nc, pulse, fortinet, "
                       "array");
  }
  VA_TRY(vpn.servercert, s.String("servercert"));
  if (vpn.servercert) VA_TRY_STATUS(ValidateServerCert(s.Key("servercert"), *vpn.servercert));
  VA_TRY(vpn.cafile, s.String("cafile"));
  if (vpn.cafile) VA_TRY_STATUS(ValidateCafile(s.Key("cafile"), *vpn.cafile));
  VA_TRY(auto no_dtls, s.Bool("no_dtls"));
  vpn.no_dtls = no_dtls.value_or(false);
  VA_TRY(auto lazy_mode, s.Bool("lazy_mode"));
  vpn.lazy_mode = lazy_mode.value_or(false);
  VA_TRY(vpn.connect_timeout_secs, s.Int("connect_timeout_secs", VpnConfig{}.connect_timeout_secs,
                                         1, kMaxConnectTimeoutSecs));
  return vpn;
}

Result<std::optional<ReconnectionConfig>> ParseReconnection(const toml::table& root) {
  VA_TRY(const toml::table* table, TopTable(root, "reconnection"));
  if (table == nullptr) return std::optional<ReconnectionConfig>();
  Section s(table, "reconnection");
  const ReconnectionConfig defaults;
  ReconnectionConfig r;
  VA_TRY(r.health_url, s.RequiredString("health_url", "\"https://intranet.example.com/health\""));
  VA_TRY_STATUS(
      ValidateUrl(s.Key("health_url"), r.health_url, true, "https://intranet.example.com/health"));
  VA_TRY(r.check_interval_secs,
         s.Int("check_interval_secs", defaults.check_interval_secs, 1, kMaxIntervalSecs));
  VA_TRY(r.failure_threshold,
         s.Int("failure_threshold", defaults.failure_threshold, 1, kMaxFailureThreshold));
  VA_TRY(r.max_attempts, s.Int("max_attempts", defaults.max_attempts, 1, kMaxReconnectAttempts));
  VA_TRY(r.backoff_base_secs,
         s.Int("backoff_base_secs", defaults.backoff_base_secs, 1, kMaxIntervalSecs));
  VA_TRY(r.backoff_max_secs,
         s.Int("backoff_max_secs", defaults.backoff_max_secs, 1, kMaxIntervalSecs));
  if (r.backoff_max_secs < r.backoff_base_secs) {
    return Invalid(s.Key("backoff_max_secs"), "must be at least backoff_base_secs (" +
                                                  std::to_string(r.backoff_base_secs) + "), not " +
                                                  std::to_string(r.backoff_max_secs));
  }
  return std::optional<ReconnectionConfig>(std::move(r));
}

Result<SecretsConfig> ParseSecrets(const toml::table& root) {
  VA_TRY(const toml::table* table, TopTable(root, "secrets"));
  Section s(table, "secrets");
  SecretsConfig secrets;
  VA_TRY(auto backend, s.String("backend"));
  if (backend) {
    auto parsed = ParseSecretBackend(*backend);
    if (!parsed) {
      return Invalid(s.Key("backend"),
                     "\"" + *backend + "\" is not a secret backend; use \"keyring\" or \"file\"");
    }
    secrets.backend = *parsed;
  }
  return secrets;
}

// ---- rendering --------------------------------------------------------------------------------

// A TOML basic string ("…"), quoted and escaped by toml++ itself.
std::string TomlString(std::string_view text) {
  const toml::value<std::string> value{std::string(text)};
  std::ostringstream out;
  out << toml::toml_formatter{value, toml::format_flags::none};
  return out.str();
}

const char* TomlBool(bool b) { return b ? "true" : "false"; }

}  // namespace

bool IsSupportedProtocol(std::string_view protocol) {
  for (std::string_view p : kProtocols) {
    if (p == protocol) return true;
  }
  return false;
}

std::string_view SecretBackendName(SecretBackend backend) {
  switch (backend) {
    case SecretBackend::kKeyring:
      return "keyring";
    case SecretBackend::kFile:
      return "file";
  }
  return "keyring";
}

std::optional<SecretBackend> ParseSecretBackend(std::string_view name) {
  if (name == "keyring") return SecretBackend::kKeyring;
  if (name == "file") return SecretBackend::kFile;
  return std::nullopt;
}

Result<std::string> ConfigDir() {
  if (const char* dir = NonEmptyEnv("AKON_CONFIG_DIR")) return StripTrailingSlashes(dir);
  if (::geteuid() == 0) {
    if (const char* sudo_user = NonEmptyEnv("SUDO_USER")) {
      auto user = LookupUser(sudo_user);
      if (!user || user->home.empty()) {
        return Fail(ErrorKind::kNotFound,
                    std::string("cannot find the home directory of SUDO_USER ") + sudo_user +
                        ": set AKON_CONFIG_DIR to akon's config directory");
      }
      return StripTrailingSlashes(user->home) + "/.config/akon";
    }
  }
  if (const char* xdg = NonEmptyEnv("XDG_CONFIG_HOME"); xdg != nullptr && xdg[0] == '/') {
    return StripTrailingSlashes(xdg) + "/akon";
  }
  if (const char* home = NonEmptyEnv("HOME")) return StripTrailingSlashes(home) + "/.config/akon";
  if (auto home = HomeOfUid(::geteuid())) return StripTrailingSlashes(*home) + "/.config/akon";
  return Fail(ErrorKind::kNotFound,
              "cannot find a home directory (HOME is not set): set AKON_CONFIG_DIR to akon's "
              "config directory");
}

std::string ConfigPath(const std::string& config_dir) {
  return config_dir + "/" + std::string(kConfigFileName);
}

uid_t ConfigOwnerUid() {
  if (auto user = SudoUser()) return user->uid;
  return ::geteuid();
}

Status GiveToConfigOwner(const std::string& path) {
  auto user = SudoUser();
  if (!user || user->uid == 0) return {};
  if (::lchown(path.c_str(), user->uid, user->gid) != 0) return SysFail("chown " + path);
  return {};
}

Status EnsureConfigDir(const std::string& dir) {
  if (dir.empty()) return Fail(ErrorKind::kInvalid, "config directory path is empty");
  // Walk the components, creating what is missing.
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    const std::string prefix = dir.substr(0, pos);
    if (prefix.empty() || prefix == "/") continue;
    if (::mkdir(prefix.c_str(), 0700) == 0) {
      VA_TRY_STATUS(GiveToConfigOwner(prefix));
      continue;
    }
    const int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        return Fail(ErrorKind::kInvalid, "create " + dir + ": " + prefix + " is not a directory");
      }
      continue;
    }
    return SysFail("create directory " + prefix, err);
  }
  return {};
}

Result<Config> ParseConfig(std::string_view toml_text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    return Fail(ErrorKind::kCorrupt, std::string(source) + ":" + std::to_string(begin.line) + ":" +
                                         std::to_string(begin.column) +
                                         ": TOML syntax error: " + std::string(e.description()));
  } catch (const std::exception& e) {
    return Fail(ErrorKind::kCorrupt, std::string(source) + ": " + e.what());
  }
  Config config;
  auto in_source = [&](Error e) { return tl::unexpected<Error>(std::move(e).Context(source)); };
  auto vpn = ParseVpn(root);
  if (!vpn) return in_source(std::move(vpn.error()));
  config.vpn = std::move(*vpn);
  auto reconnection = ParseReconnection(root);
  if (!reconnection) return in_source(std::move(reconnection.error()));
  config.reconnection = std::move(*reconnection);
  auto secrets = ParseSecrets(root);
  if (!secrets) return in_source(std::move(secrets.error()));
  config.secrets = *secrets;
  return config;
}

Result<Config> LoadConfig(const std::string& path) {
  int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK); });
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return Fail(ErrorKind::kNotFound,
                  "no configuration at " + path + ": run `akon setup` to create it", err);
    }
    return SysFail("open " + path, err);
  }
  UniqueFd owned(fd);
  VA_TRY(struct stat st, Fstat(fd));
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorKind::kUntrusted, path + " is not a regular file");
  }
  const uid_t owner = ConfigOwnerUid();
  if (st.st_uid != owner && st.st_uid != 0) {
    return Fail(ErrorKind::kUntrusted, path + " is owned by uid " + std::to_string(st.st_uid) +
                                           ", not by uid " + std::to_string(owner) +
                                           " or root: it is not trusted");
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return Fail(ErrorKind::kUntrusted,
                path + " is writable by group or others: run `chmod 600 " + path + "`");
  }
  auto text = ReadAll(fd, kMaxConfigBytes);
  if (!text) return tl::unexpected(std::move(text.error()).Context("read " + path));
  return ParseConfig(*text, path);
}

std::string RenderConfig(const Config& config) {
  const VpnConfig& vpn = config.vpn;
  std::string out;
  out += "# akon configuration (akon setup writes it; see the akon documentation for the keys)\n";
  out += "[vpn]\n";
  out += "server = " + TomlString(vpn.server) + "\n";
  out += "username = " + TomlString(vpn.username) + "\n";
  out +=
      "protocol = " + TomlString(vpn.protocol) + "  # anyconnect|f5|gp|nc|pulse|fortinet|array\n";
  if (vpn.servercert) out += "servercert = " + TomlString(*vpn.servercert) + "\n";
  if (vpn.cafile) out += "cafile = " + TomlString(*vpn.cafile) + "\n";
  out += std::string("no_dtls = ") + TomlBool(vpn.no_dtls) + "\n";
  out += std::string("lazy_mode = ") + TomlBool(vpn.lazy_mode) + "\n";
  out += "connect_timeout_secs = " + std::to_string(vpn.connect_timeout_secs) + "\n";
  if (config.reconnection) {
    const ReconnectionConfig& r = *config.reconnection;
    out += "\n[reconnection]\n";
    out += "health_url = " + TomlString(r.health_url) + "\n";
    out += "check_interval_secs = " + std::to_string(r.check_interval_secs) + "\n";
    out += "failure_threshold = " + std::to_string(r.failure_threshold) + "\n";
    out += "max_attempts = " + std::to_string(r.max_attempts) + "\n";
    out += "backoff_base_secs = " + std::to_string(r.backoff_base_secs) + "\n";
    out += "backoff_max_secs = " + std::to_string(r.backoff_max_secs) + "\n";
  }
  out += "\n[secrets]\n";
  out +=
      "backend = " + TomlString(SecretBackendName(config.secrets.backend)) + "  # keyring|file\n";
  return out;
}

Status SaveConfig(const std::string& path, const Config& config) {
  const std::string text = RenderConfig(config);
  auto check = ParseConfig(text, path);
  if (!check) {
    return tl::unexpected(std::move(check.error()).Context("not saving an invalid config"));
  }
  const auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0)
    VA_TRY_STATUS(EnsureConfigDir(path.substr(0, slash)));
  VA_TRY_STATUS(WriteFileAtomic(path, text, 0600));
  return GiveToConfigOwner(path);
}

std::optional<InvokingUser> SudoInvokingUser() {
  auto user = SudoUser();
  if (!user || user->uid == 0) return std::nullopt;
  return InvokingUser{user->uid, user->gid, NonEmptyEnv("SUDO_USER"), user->home};
}

}  // namespace va::akon
