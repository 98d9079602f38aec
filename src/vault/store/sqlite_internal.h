// Internal to the SQLite store: the shared connection (one sqlite3 handle guarded by a recursive
// mutex, so the thread running a transaction body re-enters while other threads wait) and the
// repository classes over it. Not part of the store's public API.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "vault/app/ports.h"
#include "vault/app/sessions/session_ports.h"
#include "vault/store/sqlite_db.h"

namespace va::vault::sqlite {

class Connection {
 public:
  explicit Connection(SqliteDb db) : db_(std::move(db)) {}

  // Held for the length of one repository call or one whole transaction. Recursive: a thread
  // that already holds it (the one running a transaction body) takes it again without waiting.
  std::unique_lock<std::recursive_mutex> Lock() { return std::unique_lock(mu_); }

  // The following require Lock() held by the caller.
  SqliteDb& Db() { return db_; }
  bool InTransaction() const { return in_tx_; }
  void SetInTransaction(bool in) { in_tx_ = in; }

  // A cached statement, refused inside a transaction that SQLite has already rolled back after
  // an error (I/O, disk full): run outside it, the statement would commit on its own.
  Result<Statement> Prepare(const std::string& sql, const char* what) {
    VA_TRY_STATUS(Usable(what));
    return db_.Prepare(sql, what);
  }
  Status Usable(const char* what) const {
    if (in_tx_ && db_.Autocommit()) {
      return Fail(ErrorKind::kSystem, std::string("sqlite: ") + what +
                                          ": the transaction was rolled back by an earlier error");
    }
    return {};
  }

  // Runs `fn` (returning a Result) so that its writes apply together: inside an open transaction
  // as a savepoint, otherwise in a transaction of its own (BEGIN IMMEDIATE, so it waits for
  // another writer up to the busy timeout instead of failing on a lock upgrade). Rolled back when
  // `fn` fails; its error is returned.
  template <typename F>
  auto Atomic(F&& fn) -> decltype(fn()) {
    const bool nested = in_tx_;
    if (auto usable = Usable("begin"); !usable) return tl::unexpected(std::move(usable.error()));
    if (auto begun = db_.Exec(nested ? "SAVEPOINT va_op" : "BEGIN IMMEDIATE", "begin"); !begun) {
      return tl::unexpected(std::move(begun.error()));
    }
    auto result = fn();
    if (result) {
      auto done = db_.Exec(nested ? "RELEASE va_op" : "COMMIT", "commit");
      if (done) return result;
      Undo(nested);
      return tl::unexpected(std::move(done.error()));
    }
    Undo(nested);
    return result;
  }

  // Runs `fn` on one consistent snapshot (a page and its total): inside an open transaction as
  // is, otherwise in a read transaction of its own.
  template <typename F>
  auto Snapshot(F&& fn) -> decltype(fn()) {
    if (in_tx_) return fn();
    if (auto begun = db_.Exec("BEGIN", "begin"); !begun) {
      return tl::unexpected(std::move(begun.error()));
    }
    auto result = fn();
    if (auto done = db_.Exec("COMMIT", "end read"); !done) {
      Undo(false);
      if (result) return tl::unexpected(std::move(done.error()));
    }
    return result;
  }

  // Rolls back the savepoint or the whole transaction; errors are ignored (SQLite has already
  // rolled back when the failure was fatal to the transaction).
  void Undo(bool nested) {
    if (nested) {
      (void)db_.Exec("ROLLBACK TO va_op; RELEASE va_op", "rollback");
    } else {
      (void)db_.Exec("ROLLBACK", "rollback");
    }
  }

 private:
  std::recursive_mutex mu_;
  SqliteDb db_;
  bool in_tx_ = false;  // guarded by mu_
};

// page_size clamped to 1…100, page to ≥ 1.
struct Window {
  int64_t limit;
  int64_t offset;
};
Window PageWindow(const PageRequest& page);

// ASCII lower case (emails are stored this way).
std::string LowerAscii(std::string_view text);

class SqliteUsers final : public UserRepository {
 public:
  explicit SqliteUsers(Connection& conn) : conn_(conn) {}
  Result<bool> Insert(const User& user) override;
  Result<std::optional<User>> FindById(std::string_view id) override;
  Result<std::optional<User>> FindByEmail(std::string_view email) override;
  Result<Page<User>> List(const PageRequest& page) override;
  Result<bool> SetStatus(std::string_view id, UserStatus status, int64_t at,
                         std::string_view reason) override;

 private:
  Connection& conn_;
};

class SqliteFiles final : public FileRepository {
 public:
  explicit SqliteFiles(Connection& conn) : conn_(conn) {}
  Status Insert(const FileRecord& file) override;
  Result<std::optional<FileRecord>> FindById(std::string_view id) override;
  Result<Page<FileRecord>> ListByOwner(std::string_view owner_id, const PageRequest& page) override;
  Result<bool> MarkDeleted(std::string_view id, int64_t at) override;

 private:
  Connection& conn_;
};

class SqlitePermissions final : public PermissionRepository {
 public:
  explicit SqlitePermissions(Connection& conn) : conn_(conn) {}
  Status Insert(const Permission& permission) override;
  Result<std::optional<Permission>> FindById(std::string_view id) override;
  Result<std::vector<PermissionView>> ListByOwner(std::string_view owner_id,
                                                  std::optional<std::string_view> file_id) override;
  Result<std::optional<Permission>> FindLatest(std::string_view client_id,
                                               std::string_view file_id) override;
  Result<std::vector<ViewableFile>> ListViewable(std::string_view client_id, int64_t now) override;
  Result<bool> Revoke(std::string_view id, int64_t at) override;
  Result<std::vector<std::string>> RevokeAllForFile(std::string_view file_id, int64_t at) override;

 private:
  Connection& conn_;
};

class SqliteTokens final : public TokenRepository {
 public:
  explicit SqliteTokens(Connection& conn) : conn_(conn) {}
  Status Insert(const RefreshToken& token) override;
  Result<std::optional<RefreshToken>> Find(std::string_view token_hash) override;
  Result<bool> MarkUsed(std::string_view token_hash, int64_t at) override;
  Status RevokeFamily(std::string_view family_id) override;
  Status RevokeAllForUser(std::string_view user_id) override;

 private:
  Connection& conn_;
};

class SqliteAudit final : public AuditRepository {
 public:
  explicit SqliteAudit(Connection& conn) : conn_(conn) {}
  Status Append(const AuditEntry& entry) override;
  Result<Page<AuditEntry>> Query(const AuditQuery& query) override;

 private:
  Connection& conn_;
};

class SqliteSessions final : public SessionRepository {
 public:
  explicit SqliteSessions(Connection& conn) : conn_(conn) {}
  Result<SessionInsert> Insert(const Session& session, int max_live_per_client) override;
  Result<std::optional<Session>> FindById(std::string_view id) override;
  Result<bool> Transition(std::string_view id, SessionState from, SessionState to,
                          std::optional<int64_t> terminated_at,
                          std::optional<TerminationReason> reason) override;
  Result<std::optional<Session>> FindLiveForClientFile(std::string_view client_id,
                                                       std::string_view file_id) override;
  Result<int64_t> CountLiveForClient(std::string_view client_id) override;
  Result<std::vector<Session>> ListLive(const SessionFilter& filter) override;

 private:
  Connection& conn_;
};

}  // namespace va::vault::sqlite
