// RAII over sqlite3 and its prepared statements; see sqlite_db.h.
#include "vault/store/sqlite_db.h"

#include <fcntl.h>
#include <sqlite3.h>

#include <utility>

#include "base/sys.h"

namespace va::vault::sqlite {

Error SqlError(sqlite3* db, int rc, std::string_view what) {
  ErrorKind kind = ErrorKind::kSystem;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      kind = ErrorKind::kTimeout;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      kind = ErrorKind::kCorrupt;
      break;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      kind = ErrorKind::kInvalid;
      break;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      kind = ErrorKind::kPermission;
      break;
    case SQLITE_CANTOPEN:
      kind = ErrorKind::kNotFound;
      break;
    default:
      break;
  }
  // The connection's message describes the last failure on it; for a bind or an open without a
  // handle, the generic text of the code is all there is.
  const char* detail =
      db != nullptr && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int sys_errno = db != nullptr ? sqlite3_system_errno(db) : 0;
  if (kind != ErrorKind::kSystem && kind != ErrorKind::kNotFound) sys_errno = 0;
  std::string message = "sqlite: ";
  message.append(what);
  message.append(": ");
  message.append(detail);
  return Error{kind, sys_errno, std::move(message)};
}

// --- Statement ---

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      what_(other.what_),
      bind_rc_(other.bind_rc_) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Statement& Statement::Bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, const std::optional<int64_t>& value) {
  return value ? Bind(index, *value) : BindNull(index);
}

Statement& Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Result<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) return tl::unexpected(SqlError(nullptr, bind_rc_, what_));
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return tl::unexpected(SqlError(db_, rc, what_));
}

Status Statement::Run() {
  for (;;) {
    VA_TRY(bool row, Step());
    if (!row) return {};
  }
}

int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::optional<int64_t> Statement::OptInt(int col) const {
  if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(stmt_, col);
}

std::string Statement::Text(int col) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (text == nullptr) return {};
  return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

// --- SqliteDb ---

void SqliteDb::DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }
void SqliteDb::StmtFinalizer::operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }

SqliteDb::SqliteDb(SqliteDb&&) noexcept = default;
SqliteDb& SqliteDb::operator=(SqliteDb&&) noexcept = default;
SqliteDb::~SqliteDb() = default;

Result<SqliteDb> SqliteDb::Open(const std::string& path) {
  // The database holds password and token hashes: create it 0600 ourselves (SQLite would use
  // 0644) and never through a symlink. SQLite gives its -wal and -shm files the mode of the
  // database file.
  {
    auto fd = va::Open(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
    if (!fd) return tl::unexpected(std::move(fd.error()).Context("sqlite: open database"));
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                               SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE,
                           nullptr);
  SqliteDb db(raw);  // closes the handle, which SQLite allocates even on most failures
  if (rc != SQLITE_OK) return tl::unexpected(SqlError(raw, rc, "open " + path));
  return db;
}

Status SqliteDb::Exec(const std::string& sql, std::string_view what) {
  int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return tl::unexpected(SqlError(db_.get(), rc, what));
  return {};
}

Result<Statement> SqliteDb::Prepare(const std::string& sql, const char* what) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size() + 1),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return tl::unexpected(SqlError(db_.get(), rc, what));
    }
    it = cache_.emplace(sql, std::unique_ptr<sqlite3_stmt, StmtFinalizer>(stmt)).first;
  }
  return Statement(db_.get(), it->second.get(), what);
}

int64_t SqliteDb::Changes() const { return sqlite3_changes64(db_.get()); }

bool SqliteDb::Autocommit() const { return sqlite3_get_autocommit(db_.get()) != 0; }

}  // namespace va::vault::sqlite
