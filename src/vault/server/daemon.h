// The vaultd composition root: opens the data directory, the store, the signing key, wires the
// application to the HTTP API and serves until SIGTERM/SIGINT. Also the pieces vaultctl shares
// (data directory and store opening).
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "vault/app/ports.h"
#include "vault/server/config.h"

namespace va::vault {

// Creates the data directory (0700) when missing. Refuses (kUntrusted) a directory that another
// user owns or that group or others may write.
Status PrepareDataDir(const std::string& dir);

// Opens (creating and migrating) the database named by `database_url`.
Result<std::unique_ptr<Store>> OpenStore(const std::string& database_url);

// Runs the server: prints "vaultd listening on http://ADDR:PORT" to stdout once the listener
// accepts connections, serves until SIGTERM or SIGINT, then stops accepting, closes connections
// and returns 0 (within 10 s). Returns 1 after logging a start-up failure (bad data dir, port in
// use, corrupt database or key).
int RunDaemon(const ServerConfig& config);

}  // namespace va::vault
