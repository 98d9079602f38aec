// SqliteStore: opening, PRAGMAs, migrations and transactions; see sqlite_store.h. The
// repositories are in sqlite_repositories.cc, sqlite_audit.cc and sqlite_sessions.cc.
#include "vault/store/sqlite_store.h"

#include <sqlite3.h>

#include <chrono>
#include <utility>

#include "vault/store/sqlite_internal.h"

namespace va::vault {
namespace {

using sqlite::SqliteDb;

struct Migration {
  int version;
  const char* sql;
};

// Append only: a released migration never changes; a new schema is a new migration.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE users (
  id              TEXT PRIMARY KEY,
  email           TEXT NOT NULL COLLATE NOCASE UNIQUE,  -- stored lower-cased
  roles           INTEGER NOT NULL CHECK (roles BETWEEN 0 AND 7),  -- bit mask of Role
  password_hash   TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  created_at      INTEGER NOT NULL,
  disabled_at     INTEGER,
  disabled_reason TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX users_created ON users (created_at);

CREATE TABLE files (
  id              TEXT PRIMARY KEY,
  owner_id        TEXT NOT NULL REFERENCES users (id),
  name            TEXT NOT NULL,
  content_type    TEXT NOT NULL,
  size_bytes      INTEGER NOT NULL CHECK (size_bytes >= 0),
  checksum_sha256 TEXT NOT NULL,
  uploaded_at     INTEGER NOT NULL,
  deleted_at      INTEGER  -- soft delete
) STRICT;
CREATE INDEX files_owner ON files (owner_id, deleted_at, uploaded_at);

CREATE TABLE permissions (
  id                   TEXT PRIMARY KEY,
  file_id              TEXT NOT NULL REFERENCES files (id),
  client_id            TEXT NOT NULL REFERENCES users (id),
  granted_by           TEXT NOT NULL REFERENCES users (id),
  can_read             INTEGER NOT NULL CHECK (can_read IN (0, 1)),
  can_write            INTEGER NOT NULL CHECK (can_write IN (0, 1)),
  can_execute          INTEGER NOT NULL CHECK (can_execute IN (0, 1)),
  expires_at           INTEGER,
  max_duration_seconds INTEGER NOT NULL CHECK (max_duration_seconds >= 0),
  created_at           INTEGER NOT NULL,
  revoked_at           INTEGER
) STRICT;
CREATE INDEX permissions_client_file ON permissions (client_id, file_id, created_at);
CREATE INDEX permissions_file ON permissions (file_id, created_at);
CREATE INDEX permissions_granted_by ON permissions (granted_by);

CREATE TABLE token_families (
  id      TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id),
  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT;
CREATE INDEX token_families_user ON token_families (user_id);

CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,  -- SHA-256 hex of the token; the token itself is never stored
  family_id  TEXT NOT NULL REFERENCES token_families (id),
  user_id    TEXT NOT NULL REFERENCES users (id),
  issued_at  INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE audit_log (
  seq           INTEGER PRIMARY KEY,  -- insertion order
  id            TEXT NOT NULL UNIQUE,
  timestamp     INTEGER NOT NULL,
  actor_id      TEXT NOT NULL,
  actor_email   TEXT NOT NULL,
  action        TEXT NOT NULL,
  resource_type TEXT NOT NULL,
  resource_id   TEXT NOT NULL,
  result        TEXT NOT NULL CHECK (result IN ('Success', 'Denied', 'Failed')),
  ip_address    TEXT NOT NULL,
  user_agent    TEXT NOT NULL,
  -- A JSON object (json_valid is not usable in a CHECK with trusted_schema off).
  metadata      TEXT NOT NULL CHECK (substr(metadata, 1, 1) = '{'),
  owner_id      TEXT NOT NULL  -- '' when the entry concerns no owner
) STRICT;
CREATE INDEX audit_time ON audit_log (timestamp);
CREATE INDEX audit_action ON audit_log (action, timestamp);
CREATE INDEX audit_actor ON audit_log (actor_id, timestamp);
CREATE INDEX audit_resource ON audit_log (resource_id, timestamp);
CREATE INDEX audit_owner ON audit_log (owner_id, timestamp);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
)sql"},
    {2, R"sql(
-- Viewing sessions (spec §6–§8). "Live" = not Terminated: a live row holds (or may hold) a
-- sandbox, counts against the client's limit and blocks a second session on the same file.
CREATE TABLE sessions (
  id                 TEXT PRIMARY KEY,
  client_id          TEXT NOT NULL REFERENCES users (id),
  owner_id           TEXT NOT NULL REFERENCES users (id),
  file_id            TEXT NOT NULL REFERENCES files (id),
  permission_id      TEXT NOT NULL REFERENCES permissions (id),
  sandbox_id         TEXT NOT NULL UNIQUE,
  node_id            TEXT NOT NULL,
  state              TEXT NOT NULL
                     CHECK (state IN ('Starting', 'Active', 'Terminating', 'Terminated')),
  started_at         INTEGER NOT NULL,
  expires_at         INTEGER NOT NULL,
  terminated_at      INTEGER,
  termination_reason TEXT CHECK (termination_reason IN ('ClientRequest', 'OwnerRequest',
                     'AdminAction', 'Expired', 'PermissionRevoked', 'FileDeleted', 'UserDisabled',
                     'SandboxExited', 'ServerShutdown', 'ServerRecovery')),
  ip_address         TEXT NOT NULL,
  user_agent         TEXT NOT NULL,
  CHECK ((state = 'Terminated') = (terminated_at IS NOT NULL))
) STRICT;
-- At most one live session per (client, file); also serves the client's live sessions.
CREATE UNIQUE INDEX sessions_live_client_file ON sessions (client_id, file_id)
  WHERE state <> 'Terminated';
CREATE INDEX sessions_live_started ON sessions (started_at) WHERE state <> 'Terminated';
CREATE INDEX sessions_live_owner ON sessions (owner_id, started_at) WHERE state <> 'Terminated';
CREATE INDEX sessions_live_node ON sessions (node_id, started_at) WHERE state <> 'Terminated';
CREATE INDEX sessions_live_permission ON sessions (permission_id) WHERE state <> 'Terminated';
CREATE INDEX sessions_live_file ON sessions (file_id) WHERE state <> 'Terminated';
)sql"},
};

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<int64_t> QueryInt(SqliteDb& db, const std::string& sql, const char* what) {
  VA_TRY(auto stmt, db.Prepare(sql, what));
  VA_TRY(bool row, stmt.Step());
  if (!row) return Fail(ErrorKind::kCorrupt, std::string("sqlite: ") + what + ": no row");
  return stmt.Int(0);
}

Status Configure(SqliteDb& db) {
  // Refuse the statements that can corrupt a database on purpose (writable_schema and the like).
  sqlite3_db_config(db.Raw(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db.Raw(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  VA_TRY_STATUS(db.Exec("PRAGMA busy_timeout = 5000", "set busy_timeout"));
  // The first statement that reads the file: a file that is not SQLite fails here (kCorrupt).
  {
    VA_TRY(auto stmt, db.Prepare("PRAGMA journal_mode = WAL", "set journal_mode=WAL"));
    VA_TRY(bool row, stmt.Step());
    std::string mode = row ? stmt.Text(0) : "";
    if (mode != "wal") {
      return Fail(ErrorKind::kUnsupported,
                  "sqlite: set journal_mode=WAL: the database stays in mode '" + mode + "'");
    }
  }
  VA_TRY_STATUS(db.Exec("PRAGMA foreign_keys = ON", "set foreign_keys"));
  VA_TRY_STATUS(db.Exec("PRAGMA synchronous = FULL", "set synchronous"));
  VA_TRY(int64_t fk, QueryInt(db, "PRAGMA foreign_keys", "read foreign_keys"));
  if (fk != 1) return Fail(ErrorKind::kUnsupported, "sqlite: foreign keys cannot be enabled");
  return {};
}

// Within an open write transaction: the recorded version, creating the bookkeeping table in a
// new database. Fails with kCorrupt when the database holds other tables but no
// schema_migrations (it is not a vault database).
Result<int> CurrentVersion(SqliteDb& db) {
  VA_TRY(int64_t has_table,
         QueryInt(db,
                  "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = "
                  "'schema_migrations'",
                  "look for schema_migrations"));
  if (has_table == 0) {
    VA_TRY(int64_t others, QueryInt(db,
                                    "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE "
                                    "'sqlite\\_%' ESCAPE '\\'",
                                    "list tables"));
    if (others != 0) {
      return Fail(ErrorKind::kCorrupt,
                  "sqlite: the database has tables but no schema_migrations: not a vault "
                  "database");
    }
    VA_TRY_STATUS(db.Exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT "
        "NULL) STRICT",
        "create schema_migrations"));
    return 0;
  }
  VA_TRY(int64_t version, QueryInt(db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                                   "read schema version"));
  return static_cast<int>(version);
}

// Applies each missing migration in a transaction of its own. Another process migrating at the
// same time is harmless: the version is re-read under the write lock.
Status Migrate(SqliteDb& db) {
  for (const Migration& migration : kMigrations) {
    VA_TRY_STATUS(db.Exec("BEGIN IMMEDIATE", "begin migration"));
    auto step = [&]() -> Status {
      VA_TRY(int current, CurrentVersion(db));
      if (current > SqliteStore::kSchemaVersion) {
        return Fail(ErrorKind::kUnsupported, "sqlite: the database schema is version " +
                                                 std::to_string(current) + ", newer than the " +
                                                 std::to_string(SqliteStore::kSchemaVersion) +
                                                 " this program knows; use a newer vaultd");
      }
      if (current >= migration.version) return {};
      const std::string what = "migrate to version " + std::to_string(migration.version);
      VA_TRY_STATUS(db.Exec(migration.sql, what));
      VA_TRY(auto record, db.Prepare("INSERT INTO schema_migrations (version, applied_at) "
                                     "VALUES (?1, ?2)",
                                     "record migration"));
      record.Bind(1, int64_t{migration.version}).Bind(2, NowSeconds());
      return record.Run();
    };
    if (auto st = step(); !st) {
      (void)db.Exec("ROLLBACK", "rollback migration");
      return st;
    }
    VA_TRY_STATUS(db.Exec("COMMIT", "commit migration"));
  }
  return {};
}

}  // namespace

const int SqliteStore::kSchemaVersion = kMigrations[std::size(kMigrations) - 1].version;

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  VA_TRY(SqliteDb db, SqliteDb::Open(path));
  VA_TRY_STATUS(Configure(db));
  VA_TRY_STATUS(Migrate(db));
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::make_unique<sqlite::Connection>(std::move(db))));
}

SqliteStore::SqliteStore(std::unique_ptr<sqlite::Connection> conn)
    : conn_(std::move(conn)),
      users_(std::make_unique<sqlite::SqliteUsers>(*conn_)),
      files_(std::make_unique<sqlite::SqliteFiles>(*conn_)),
      permissions_(std::make_unique<sqlite::SqlitePermissions>(*conn_)),
      tokens_(std::make_unique<sqlite::SqliteTokens>(*conn_)),
      audit_(std::make_unique<sqlite::SqliteAudit>(*conn_)),
      sessions_(std::make_unique<sqlite::SqliteSessions>(*conn_)) {}

SqliteStore::~SqliteStore() = default;

UserRepository& SqliteStore::Users() { return *users_; }
FileRepository& SqliteStore::Files() { return *files_; }
PermissionRepository& SqliteStore::Permissions() { return *permissions_; }
TokenRepository& SqliteStore::Tokens() { return *tokens_; }
AuditRepository& SqliteStore::Audit() { return *audit_; }
SessionRepository& SqliteStore::Sessions() { return *sessions_; }

Status SqliteStore::InTransaction(const std::function<Status()>& body) {
  auto lock = conn_->Lock();
  if (conn_->InTransaction()) {
    return Fail(ErrorKind::kInvalid, "sqlite: transaction: InTransaction is not reentrant");
  }
  VA_TRY_STATUS(conn_->Db().Exec("BEGIN IMMEDIATE", "begin transaction"));
  conn_->SetInTransaction(true);
  Status result;
  try {
    result = body();
  } catch (...) {
    conn_->SetInTransaction(false);
    conn_->Undo(false);
    throw;
  }
  conn_->SetInTransaction(false);
  if (!result) {
    conn_->Undo(false);
    return result;
  }
  if (auto done = conn_->Db().Exec("COMMIT", "commit transaction"); !done) {
    conn_->Undo(false);
    return done;
  }
  return {};
}

Status SqliteStore::Ping() {
  auto lock = conn_->Lock();
  VA_TRY(int64_t one, QueryInt(conn_->Db(), "SELECT 1", "ping"));
  if (one != 1) return Fail(ErrorKind::kCorrupt, "sqlite: ping: SELECT 1 did not answer 1");
  return {};
}

Result<int> SqliteStore::SchemaVersion() {
  auto lock = conn_->Lock();
  VA_TRY(int64_t version,
         QueryInt(conn_->Db(), "SELECT coalesce(max(version), 0) FROM schema_migrations",
                  "read schema version"));
  return static_cast<int>(version);
}

}  // namespace va::vault
