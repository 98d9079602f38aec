// The append-only audit log over SQLite; see sqlite_internal.h and app/ports.h. The table's
// triggers refuse UPDATE and DELETE, so not even a bug here can rewrite history.
#include <string>
#include <vector>

#include "vault/store/sqlite_internal.h"

namespace va::vault::sqlite {
namespace {

// The WHERE clause for the filters present. Only fixed text is added here; every value is bound
// to the parameter numbered alongside it, so the statement cache holds one entry per filter
// combination, never one per value.
struct Filter {
  std::string where;
  std::vector<std::string> texts;  // ?1 … in order
  std::vector<int64_t> ints;       // after the texts
};

Filter BuildFilter(const AuditQuery& q) {
  Filter f;
  std::vector<std::string> clauses;
  auto text = [&](const char* column, const std::optional<std::string>& value) {
    if (!value) return;
    f.texts.push_back(*value);
    clauses.push_back(std::string(column) + " = ?" + std::to_string(f.texts.size()));
  };
  text("action", q.action);
  text("actor_id", q.actor_id);
  text("resource_id", q.resource_id);
  text("owner_id", q.owner_id);
  auto number = [&](const char* op, const std::optional<int64_t>& value) {
    if (!value) return;
    f.ints.push_back(*value);
    clauses.push_back(std::string("timestamp ") + op + " ?" +
                      std::to_string(f.texts.size() + f.ints.size()));
  };
  number(">=", q.since);
  number("<=", q.until);
  for (size_t i = 0; i < clauses.size(); ++i) {
    f.where += i == 0 ? " WHERE " : " AND ";
    f.where += clauses[i];
  }
  return f;
}

void BindFilter(Statement& stmt, const Filter& f) {
  int index = 1;
  for (const auto& t : f.texts) stmt.Bind(index++, t);
  for (int64_t v : f.ints) stmt.Bind(index++, v);
}

}  // namespace

Status SqliteAudit::Append(const AuditEntry& e) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt,
         conn_.Prepare("INSERT INTO audit_log (id, timestamp, actor_id, actor_email, action, "
                       "resource_type, resource_id, result, ip_address, user_agent, metadata, "
                       "owner_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                       "append audit entry"));
  stmt.Bind(1, e.id)
      .Bind(2, e.timestamp)
      .Bind(3, e.actor_id)
      .Bind(4, e.actor_email)
      .Bind(5, e.action)
      .Bind(6, e.resource_type)
      .Bind(7, e.resource_id)
      .Bind(8, AuditResultName(e.result))
      .Bind(9, e.ip_address)
      .Bind(10, e.user_agent)
      .Bind(11,
            e.metadata_json.empty() ? std::string_view("{}") : std::string_view(e.metadata_json))
      .Bind(12, e.owner_id);
  return stmt.Run();
}

Result<Page<AuditEntry>> SqliteAudit::Query(const AuditQuery& query) {
  auto lock = conn_.Lock();
  const Filter filter = BuildFilter(query);
  const Window window = PageWindow(query.page);
  const int limit_index = static_cast<int>(filter.texts.size() + filter.ints.size()) + 1;
  return conn_.Snapshot([&]() -> Result<Page<AuditEntry>> {
    Page<AuditEntry> out;
    {
      VA_TRY(auto count,
             conn_.Prepare("SELECT count(*) FROM audit_log" + filter.where, "count audit entries"));
      BindFilter(count, filter);
      VA_TRY(bool row, count.Step());
      if (row) out.total_count = count.Int(0);
    }
    VA_TRY(auto stmt,
           conn_.Prepare(
               "SELECT id, timestamp, actor_id, actor_email, action, resource_type, "
               "resource_id, result, ip_address, user_agent, metadata, owner_id FROM audit_log" +
                   filter.where + " ORDER BY timestamp DESC, seq DESC LIMIT ?" +
                   std::to_string(limit_index) + " OFFSET ?" + std::to_string(limit_index + 1),
               "query audit entries"));
    BindFilter(stmt, filter);
    stmt.Bind(limit_index, window.limit).Bind(limit_index + 1, window.offset);
    for (;;) {
      VA_TRY(bool row, stmt.Step());
      if (!row) break;
      AuditEntry e;
      e.id = stmt.Text(0);
      e.timestamp = stmt.Int(1);
      e.actor_id = stmt.Text(2);
      e.actor_email = stmt.Text(3);
      e.action = stmt.Text(4);
      e.resource_type = stmt.Text(5);
      e.resource_id = stmt.Text(6);
      auto result = ParseAuditResult(stmt.Text(7));
      if (!result) {
        return Fail(ErrorKind::kCorrupt, "sqlite: audit entry " + e.id + ": unknown result");
      }
      e.result = *result;
      e.ip_address = stmt.Text(8);
      e.user_agent = stmt.Text(9);
      e.metadata_json = stmt.Text(10);
      e.owner_id = stmt.Text(11);
      out.items.push_back(std::move(e));
    }
    return out;
  });
}

}  // namespace va::vault::sqlite
