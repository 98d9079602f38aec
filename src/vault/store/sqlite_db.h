// SqliteDb and Statement: a thin RAII layer over one sqlite3 connection. SqliteDb owns the
// connection and a cache of prepared statements keyed by their SQL text; Statement borrows one
// cached statement for one use and resets it (clearing its bindings) when it goes away. Values
// are always bound, never spliced into SQL. Not thread-safe: the owner serialises access.
//
// Failures: every error names the operation ("sqlite: insert user: UNIQUE constraint failed:
// …"); SQLITE_BUSY/LOCKED become kTimeout, CORRUPT/NOTADB kCorrupt, CONSTRAINT kInvalid,
// PERM/READONLY/AUTH kPermission, CANTOPEN kNotFound, anything else kSystem (with the OS errno
// when SQLite has one).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace va::vault::sqlite {

// The error of result code `rc` on `db` (which may be null) while doing `what`.
Error SqlError(sqlite3* db, int rc, std::string_view what);

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, const char* what)
      : db_(db), stmt_(stmt), what_(what) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds parameter `index` (1-based). A failed bind is reported by the next Step().
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, const std::optional<int64_t>& value);
  Statement& BindNull(int index);

  // true when a row is ready, false when the statement is done.
  Result<bool> Step();
  // Steps to the end, ignoring any rows (for INSERT/UPDATE without RETURNING).
  Status Run();

  int64_t Int(int col) const;
  std::optional<int64_t> OptInt(int col) const;
  std::string Text(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const char* what_;
  int bind_rc_ = 0;  // first failed bind (SQLITE_OK when none)
};

class SqliteDb {
 public:
  // Opens (creating when missing) the database file at `path`. Fails like every operation here;
  // a file that is not a database is only noticed by the first statement (kCorrupt).
  static Result<SqliteDb> Open(const std::string& path);

  SqliteDb(SqliteDb&&) noexcept;
  SqliteDb& operator=(SqliteDb&&) noexcept;
  ~SqliteDb();

  // Runs one or more SQL statements without parameters (PRAGMAs, DDL, BEGIN/COMMIT).
  Status Exec(const std::string& sql, std::string_view what);
  // A cached prepared statement for `sql` (compiled on first use).
  Result<Statement> Prepare(const std::string& sql, const char* what);
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t Changes() const;
  // true when no transaction is open (SQLite ends one by itself after some errors).
  bool Autocommit() const;
  sqlite3* Raw() const { return db_.get(); }

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const;
  };
  struct StmtFinalizer {
    void operator()(sqlite3_stmt* stmt) const;
  };
  explicit SqliteDb(sqlite3* db) : db_(db) {}

  // Declared first so it is destroyed last, after every cached statement is finalised.
  std::unique_ptr<sqlite3, DbCloser> db_;
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, StmtFinalizer>> cache_;
};

}  // namespace va::vault::sqlite
