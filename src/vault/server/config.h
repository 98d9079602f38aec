// ServerConfig: vaultd's settings (spec §2, docs/vault-api.md) and how they are assembled:
// a flag wins over its VAULT_<NAME> environment variable, which wins over the TOML file given
// with --config, which wins over the default. Every value is validated here, so the daemon
// starts with a config that makes sense or not at all.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.h"

namespace va::vault {

struct ServerConfig {
  std::string data_dir = "./vault-data";
  std::string listen = "127.0.0.1:8080";
  std::string database;  // empty: sqlite://<data_dir>/vault.db
  std::string node_id;   // empty: the host name
  std::string config_file;
  int threads = 0;  // 0: one per CPU
  int64_t upload_limit = int64_t{1} << 30;
  int64_t access_token_ttl = 900;
  std::string jwt_key_file;  // empty: <data_dir>/jwt.key
  std::string log_level = "info";
};

// Reads the TOML file and sets every field whose key is not in `already_set` (the keys given by
// flag or environment). Unknown keys and wrong types are errors (kInvalid naming the key);
// an unreadable or malformed file is kInvalid/kNotFound with the parser's position.
Status ApplyConfigFile(const std::string& path, const std::set<std::string>& already_set,
                       ServerConfig& config);

// Fills defaults that depend on other fields and checks ranges: listen must be ADDR:PORT
// (IPv6 in brackets), threads 0…256, upload_limit ≥ 1, access_token_ttl 30…86400.
Status FinishConfig(ServerConfig& config);

// "127.0.0.1:8080" → {"127.0.0.1", 8080}; "[::1]:0" → {"::1", 0}.
Result<std::pair<std::string, uint16_t>> ParseListen(std::string_view text);

// The SQLite path of a sqlite:// URL (sqlite:///abs/path or sqlite://relative/path); kUnsupported
// for postgresql:// (not built yet), kInvalid otherwise.
Result<std::string> SqlitePathOf(std::string_view database_url);

}  // namespace va::vault
