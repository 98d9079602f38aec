// vaultd: the vault server. Command-line front end only; the server lives in src/vault.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "base/log.h"
#include "vault/server/config.h"
#include "vault/server/daemon.h"

namespace {

constexpr const char* kDescription =
    R"(vaultd - let clients view confidential files without receiving them.

Serves the vault HTTP API (accounts, files, permissions, audit) and, per viewing session, a
sandboxed viewer streamed to the browser. With no arguments it starts on the embedded default:
SQLite database and file store under ./vault-data, listening on 127.0.0.1:8080. Create the first
admin with `vaultctl user add`.
)";

constexpr const char* kFooter = R"(
Each option can also be set with the environment variable VAULT_<NAME> (VAULT_DATA_DIR,
VAULT_LISTEN, ...) or as a key in the TOML file given with --config (data_dir = "...").
A flag wins over the environment, which wins over the file.

OUTPUT
  Once the listener accepts connections, one line on stdout:
    vaultd listening on http://ADDR:PORT
  Logs are structured records (event key=value) on stderr and in the journal.

SIGNALS
  SIGTERM, SIGINT   stop accepting, end every session, exit 0 within 10 s

FILES
  DATA_DIR/vault.db                 SQLite database (WAL)
  DATA_DIR/jwt.key                  access-token signing key, made on first start (0600)
  DATA_DIR/users/OWNER/files/FILE   uploaded files (0600)

EXIT STATUS
  0 stopped by a signal, 1 could not start (the reason is on stderr), 2 bad usage
)";

}  // namespace

int main(int argc, char** argv) {
  va::vault::ServerConfig config;
  CLI::App cli(kDescription, "vaultd");
  cli.footer(kFooter);
  cli.get_formatter()->column_width(34);
  struct Opt {
    const char* key;
    CLI::Option* option;
  };
  std::vector<Opt> opts;
  auto add = [&](const char* key, CLI::Option* option, const char* env) {
    option->envname(env);
    opts.push_back({key, option});
  };
  add("data_dir",
      cli.add_option("--data-dir", config.data_dir, "files, database, keys, scratch dirs")
          ->capture_default_str(),
      "VAULT_DATA_DIR");
  add("listen",
      cli.add_option("--listen", config.listen, "ADDR:PORT to serve (port 0: pick one)")
          ->capture_default_str(),
      "VAULT_LISTEN");
  add("database",
      cli.add_option("--database", config.database,
                     "sqlite://PATH (default sqlite://DATA_DIR/vault.db)"),
      "VAULT_DATABASE");
  add("node_id",
      cli.add_option("--node-id", config.node_id, "this node's name (default: host name)"),
      "VAULT_NODE_ID");
  add("threads",
      cli.add_option("--threads", config.threads, "I/O threads (0: one per CPU)")
          ->capture_default_str(),
      "VAULT_THREADS");
  add("upload_limit",
      cli.add_option("--upload-limit", config.upload_limit, "largest upload in bytes")
          ->capture_default_str(),
      "VAULT_UPLOAD_LIMIT");
  add("access_token_ttl",
      cli.add_option("--access-token-ttl", config.access_token_ttl,
                     "access-token lifetime, seconds")
          ->capture_default_str(),
      "VAULT_ACCESS_TOKEN_TTL");
  add("jwt_key_file",
      cli.add_option("--jwt-key-file", config.jwt_key_file,
                     "signing key file (default DATA_DIR/jwt.key)"),
      "VAULT_JWT_KEY_FILE");
  add("log_level",
      cli.add_option("--log-level", config.log_level, "debug|info|warn|error")
          ->capture_default_str(),
      "VAULT_LOG_LEVEL");
  cli.add_option("--config", config.config_file, "TOML file with any of the settings above")
      ->envname("VAULT_CONFIG");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }
  if (!config.config_file.empty()) {
    std::set<std::string> already_set;
    for (const Opt& o : opts) {
      if (o.option->count() > 0) already_set.insert(o.key);
    }
    if (auto ok = va::vault::ApplyConfigFile(config.config_file, already_set, config); !ok) {
      std::fprintf(stderr, "vaultd: %s\n", ok.error().message.c_str());
      return 2;
    }
  }
  auto level = va::ParseLogLevel(config.log_level);
  if (!level) {
    std::fprintf(stderr, "vaultd: unknown log level '%s'\n", config.log_level.c_str());
    return 2;
  }
  if (auto ok = va::vault::FinishConfig(config); !ok) {
    std::fprintf(stderr, "vaultd: %s\n", ok.error().message.c_str());
    return 2;
  }
  va::InitLogging({.program = "vaultd", .level = *level});
  return va::vault::RunDaemon(config);
}
