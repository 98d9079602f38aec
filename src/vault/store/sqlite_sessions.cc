// The session repository over SQLite; see sqlite_internal.h and, for the contract of each method,
// app/sessions/session_ports.h. "Live" is `state <> 'Terminated'`, written the same way in every
// query so that SQLite uses the partial indexes of migration 2. Insert checks and inserts inside
// one BEGIN IMMEDIATE transaction and Transition is one conditional UPDATE, so both hold against
// other threads (the connection's mutex) and other processes (SQLite's write lock).
#include <string>
#include <utility>
#include <vector>

#include "vault/store/sqlite_internal.h"

namespace va::vault::sqlite {
namespace {

constexpr const char* kSessionColumns =
    "id, client_id, owner_id, file_id, permission_id, sandbox_id, node_id, state, started_at, "
    "expires_at, terminated_at, termination_reason, ip_address, user_agent";

constexpr const char* kLive = "state <> 'Terminated'";

Result<Session> ReadSession(const Statement& row) {
  Session s;
  s.id = row.Text(0);
  s.client_id = row.Text(1);
  s.owner_id = row.Text(2);
  s.file_id = row.Text(3);
  s.permission_id = row.Text(4);
  s.sandbox_id = row.Text(5);
  s.node_id = row.Text(6);
  auto state = ParseSessionState(row.Text(7));
  if (!state) return Fail(ErrorKind::kCorrupt, "sqlite: session " + s.id + ": unknown state");
  s.state = *state;
  s.started_at = row.Int(8);
  s.expires_at = row.Int(9);
  s.terminated_at = row.OptInt(10);
  const std::string reason = row.Text(11);
  if (!reason.empty()) {
    auto parsed = ParseTerminationReason(reason);
    if (!parsed) {
      return Fail(ErrorKind::kCorrupt, "sqlite: session " + s.id + ": unknown termination reason");
    }
    s.termination_reason = *parsed;
  }
  s.ip_address = row.Text(12);
  s.user_agent = row.Text(13);
  return s;
}

Result<std::vector<Session>> ReadAll(Statement& stmt) {
  std::vector<Session> out;
  for (;;) {
    VA_TRY(bool row, stmt.Step());
    if (!row) break;
    VA_TRY(Session s, ReadSession(stmt));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Result<SessionInsert> SqliteSessions::Insert(const Session& session, int max_live_per_client) {
  auto lock = conn_.Lock();
  return conn_.Atomic([&]() -> Result<SessionInsert> {
    {
      VA_TRY(auto dup, conn_.Prepare(std::string("SELECT 1 FROM sessions WHERE client_id = ?1 "
                                                 "AND file_id = ?2 AND ") +
                                         kLive,
                                     "find live session of client and file"));
      dup.Bind(1, session.client_id).Bind(2, session.file_id);
      VA_TRY(bool row, dup.Step());
      if (row) return SessionInsert::kDuplicate;
    }
    {
      VA_TRY(auto count, conn_.Prepare(std::string("SELECT count(*) FROM sessions WHERE "
                                                   "client_id = ?1 AND ") +
                                           kLive,
                                       "count live sessions of client"));
      count.Bind(1, session.client_id);
      VA_TRY(bool row, count.Step());
      if (row && count.Int(0) >= max_live_per_client) return SessionInsert::kClientLimit;
    }
    VA_TRY(auto stmt,
           conn_.Prepare("INSERT INTO sessions (id, client_id, owner_id, file_id, permission_id, "
                         "sandbox_id, node_id, state, started_at, expires_at, terminated_at, "
                         "termination_reason, ip_address, user_agent) VALUES (?1, ?2, ?3, ?4, ?5, "
                         "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                         "insert session"));
    stmt.Bind(1, session.id)
        .Bind(2, session.client_id)
        .Bind(3, session.owner_id)
        .Bind(4, session.file_id)
        .Bind(5, session.permission_id)
        .Bind(6, session.sandbox_id)
        .Bind(7, session.node_id)
        .Bind(8, SessionStateName(session.state))
        .Bind(9, session.started_at)
        .Bind(10, session.expires_at)
        .Bind(11, session.terminated_at)
        .Bind(13, session.ip_address)
        .Bind(14, session.user_agent);
    if (session.termination_reason) {
      stmt.Bind(12, TerminationReasonName(*session.termination_reason));
    } else {
      stmt.BindNull(12);
    }
    VA_TRY_STATUS(stmt.Run());
    return SessionInsert::kInserted;
  });
}

Result<std::optional<Session>> SqliteSessions::FindById(std::string_view id) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt,
         conn_.Prepare(std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE id = ?1",
                       "find session"));
  stmt.Bind(1, id);
  VA_TRY(bool row, stmt.Step());
  if (!row) return std::optional<Session>();
  VA_TRY(Session s, ReadSession(stmt));
  return std::optional<Session>(std::move(s));
}

Result<bool> SqliteSessions::Transition(std::string_view id, SessionState from, SessionState to,
                                        std::optional<int64_t> terminated_at,
                                        std::optional<TerminationReason> reason) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt, conn_.Prepare("UPDATE sessions SET state = ?3, terminated_at = "
                                  "coalesce(?4, terminated_at), termination_reason = "
                                  "coalesce(?5, termination_reason) WHERE id = ?1 AND state = ?2",
                                  "transition session"));
  stmt.Bind(1, id)
      .Bind(2, SessionStateName(from))
      .Bind(3, SessionStateName(to))
      .Bind(4, terminated_at);
  if (reason) {
    stmt.Bind(5, TerminationReasonName(*reason));
  } else {
    stmt.BindNull(5);
  }
  VA_TRY_STATUS(stmt.Run());
  return conn_.Db().Changes() == 1;
}

Result<std::optional<Session>> SqliteSessions::FindLiveForClientFile(std::string_view client_id,
                                                                     std::string_view file_id) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt,
         conn_.Prepare(std::string("SELECT ") + kSessionColumns +
                           " FROM sessions WHERE client_id = ?1 AND file_id = ?2 AND " + kLive,
                       "find live session of client and file"));
  stmt.Bind(1, client_id).Bind(2, file_id);
  VA_TRY(bool row, stmt.Step());
  if (!row) return std::optional<Session>();
  VA_TRY(Session s, ReadSession(stmt));
  return std::optional<Session>(std::move(s));
}

Result<int64_t> SqliteSessions::CountLiveForClient(std::string_view client_id) {
  auto lock = conn_.Lock();
  VA_TRY(
      auto stmt,
      conn_.Prepare(std::string("SELECT count(*) FROM sessions WHERE client_id = ?1 AND ") + kLive,
                    "count live sessions of client"));
  stmt.Bind(1, client_id);
  VA_TRY(bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

Result<std::vector<Session>> SqliteSessions::ListLive(const SessionFilter& filter) {
  auto lock = conn_.Lock();
  // The WHERE clause names only the filters that are set, with their values bound in order; the
  // statement cache holds one statement per combination (at most 32).
  std::string where = std::string(" WHERE ") + kLive;
  std::vector<const std::string*> values;
  auto add = [&](const std::optional<std::string>& value, const char* column) {
    if (!value) return;
    values.push_back(&*value);
    where += std::string(" AND ") + column + " = ?" + std::to_string(values.size());
  };
  add(filter.owner_id, "owner_id");
  add(filter.client_id, "client_id");
  add(filter.node_id, "node_id");
  add(filter.permission_id, "permission_id");
  add(filter.file_id, "file_id");
  VA_TRY(auto stmt, conn_.Prepare(std::string("SELECT ") + kSessionColumns + " FROM sessions" +
                                      where + " ORDER BY started_at, rowid",
                                  "list live sessions"));
  for (size_t i = 0; i < values.size(); ++i) stmt.Bind(static_cast<int>(i + 1), *values[i]);
  return ReadAll(stmt);
}

}  // namespace va::vault::sqlite
