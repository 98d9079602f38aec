#include "vault/server/config.h"

#include <toml++/toml.h>
#include <unistd.h>

#include <charconv>

namespace va::vault {
namespace {

Status SetString(const toml::node& node, std::string_view key, std::string& out) {
  auto v = node.value<std::string>();
  if (!v)
    return Fail(ErrorKind::kInvalid, "config key '" + std::string(key) + "' must be a string");
  out = *v;
  return {};
}

Status SetInt(const toml::node& node, std::string_view key, int64_t& out) {
  if (!node.is_integer()) {
    return Fail(ErrorKind::kInvalid, "config key '" + std::string(key) + "' must be an integer");
  }
  out = node.as_integer()->get();
  return {};
}

}  // namespace

Status ApplyConfigFile(const std::string& path, const std::set<std::string>& already_set,
                       ServerConfig& config) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Fail(ErrorKind::kInvalid, "config " + path + ":" +
                                         std::to_string(e.source().begin.line) + ": " +
                                         std::string(e.description()));
  }
  for (const auto& [raw_key, node] : table) {
    std::string key(raw_key.str());
    if (already_set.count(key)) continue;
    if (key == "data_dir") {
      VA_TRY_STATUS(SetString(node, key, config.data_dir));
    } else if (key == "listen") {
      VA_TRY_STATUS(SetString(node, key, config.listen));
    } else if (key == "database") {
      VA_TRY_STATUS(SetString(node, key, config.database));
    } else if (key == "node_id") {
      VA_TRY_STATUS(SetString(node, key, config.node_id));
    } else if (key == "jwt_key_file") {
      VA_TRY_STATUS(SetString(node, key, config.jwt_key_file));
    } else if (key == "log_level") {
      VA_TRY_STATUS(SetString(node, key, config.log_level));
    } else if (key == "threads") {
      int64_t v = 0;
      VA_TRY_STATUS(SetInt(node, key, v));
      if (v < 0 || v > 256) return Fail(ErrorKind::kInvalid, "config key 'threads' must be 0…256");
      config.threads = static_cast<int>(v);
    } else if (key == "upload_limit") {
      VA_TRY_STATUS(SetInt(node, key, config.upload_limit));
    } else if (key == "access_token_ttl") {
      VA_TRY_STATUS(SetInt(node, key, config.access_token_ttl));
    } else {
      return Fail(ErrorKind::kInvalid, "config " + path + ": unknown key '" + key + "'");
    }
  }
  return {};
}

Result<std::pair<std::string, uint16_t>> ParseListen(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Fail(ErrorKind::kInvalid, "listen address '" + std::string(text) +
                                           "' must be ADDR:PORT ([v6]:PORT for IPv6)");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return Fail(ErrorKind::kInvalid, "listen address '" + std::string(text) +
                                           "' must be ADDR:PORT ([v6]:PORT for IPv6)");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || ptr != port.data() + port.size() ||
      value > 65535) {
    return Fail(ErrorKind::kInvalid,
                "listen address '" + std::string(text) + "' must be ADDR:PORT with a port 0…65535");
  }
  return std::make_pair(std::string(host), static_cast<uint16_t>(value));
}

Result<std::string> SqlitePathOf(std::string_view url) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.substr(0, kSqlite.size()) == kSqlite) {
    std::string path(url.substr(kSqlite.size()));
    if (path.empty())
      return Fail(ErrorKind::kInvalid, "database URL '" + std::string(url) + "' has no path");
    return path;
  }
  if (url.substr(0, 13) == "postgresql://" || url.substr(0, 11) == "postgres://") {
    return Fail(ErrorKind::kUnsupported,
                "database URL: PostgreSQL is not supported by this build yet; use sqlite://PATH");
  }
  return Fail(ErrorKind::kInvalid,
              "database URL '" + std::string(url) + "' must start with sqlite:// or postgresql://");
}

Status FinishConfig(ServerConfig& config) {
  if (config.data_dir.empty()) return Fail(ErrorKind::kInvalid, "data dir must not be empty");
  while (config.data_dir.size() > 1 && config.data_dir.back() == '/') config.data_dir.pop_back();
  if (config.database.empty()) config.database = "sqlite://" + config.data_dir + "/vault.db";
  if (config.jwt_key_file.empty()) config.jwt_key_file = config.data_dir + "/jwt.key";
  if (config.node_id.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') {
      config.node_id = host;
    } else {
      config.node_id = "vaultd";
    }
  }
  VA_TRY_STATUS(ParseListen(config.listen));
  VA_TRY_STATUS(SqlitePathOf(config.database));
  if (config.threads < 0 || config.threads > 256) {
    return Fail(ErrorKind::kInvalid, "threads must be 0…256");
  }
  if (config.upload_limit < 1) return Fail(ErrorKind::kInvalid, "upload limit must be ≥ 1 byte");
  if (config.access_token_ttl < 30 || config.access_token_ttl > 86400) {
    return Fail(ErrorKind::kInvalid, "access token lifetime must be 30…86400 seconds");
  }
  return {};
}

}  // namespace va::vault
