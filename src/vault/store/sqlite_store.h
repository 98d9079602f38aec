// SqliteStore: the vault's repositories (ports.h) over one SQLite database file.
//
// Open() creates the file (mode 0600, never through a symlink) when missing, switches it to WAL
// with foreign keys on, synchronous=FULL (an acknowledged revocation, token use or audit entry
// survives power loss, not only a crash of the process) and a 5 s busy timeout (vaultctl may
// write while vaultd runs), then applies the numbered migrations it lacks, each in its own
// transaction, recording them in `schema_migrations`. Times are integer Unix seconds.
//
// Thread-safe: one connection behind a recursive mutex. InTransaction() holds it for the whole
// body, so repository calls the body makes on its own thread join the transaction while calls
// from other threads wait for the commit (a body must not wait for another thread that uses the
// store: that would deadlock).
//
// Failures: backend errors name the operation ("sqlite: insert user: …"); kTimeout when the
// database stayed locked by another process past the busy timeout, kCorrupt for a damaged file
// or one that is not SQLite, kUnsupported for a schema newer than this code, kInvalid for a
// violated constraint (a caller bug, such as a file whose owner does not exist). The ordinary
// answers of ports.h (a taken email, a missing row) are values, not errors.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "vault/app/ports.h"
#include "vault/app/sessions/session_ports.h"

namespace va::vault {

namespace sqlite {
class Connection;
class SqliteUsers;
class SqliteFiles;
class SqlitePermissions;
class SqliteTokens;
class SqliteAudit;
class SqliteSessions;
}  // namespace sqlite

class SqliteStore final : public Store {
 public:
  // The newest schema version this code knows (the number of the last migration).
  static const int kSchemaVersion;

  // Opens or creates the database at `path` and migrates it. Fails with kCorrupt when the file
  // is not a SQLite database or holds tables that are not the vault's, kUnsupported when its
  // schema is newer than kSchemaVersion, kTimeout when another process keeps it locked.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  UserRepository& Users() override;
  FileRepository& Files() override;
  PermissionRepository& Permissions() override;
  TokenRepository& Tokens() override;
  AuditRepository& Audit() override;
  // The viewing sessions (not part of the shared Store interface: the composition root hands it
  // to the SessionService). Its compare-and-set holds across processes sharing the file.
  SessionRepository& Sessions();
  // BEGIN IMMEDIATE … COMMIT around `body`; a nested call on the same thread fails with kInvalid.
  Status InTransaction(const std::function<Status()>& body) override;
  Status Ping() override;

  // The highest version recorded in schema_migrations.
  Result<int> SchemaVersion();

 private:
  explicit SqliteStore(std::unique_ptr<sqlite::Connection> conn);

  std::unique_ptr<sqlite::Connection> conn_;
  std::unique_ptr<sqlite::SqliteUsers> users_;
  std::unique_ptr<sqlite::SqliteFiles> files_;
  std::unique_ptr<sqlite::SqlitePermissions> permissions_;
  std::unique_ptr<sqlite::SqliteTokens> tokens_;
  std::unique_ptr<sqlite::SqliteAudit> audit_;
  std::unique_ptr<sqlite::SqliteSessions> sessions_;
};

}  // namespace va::vault
