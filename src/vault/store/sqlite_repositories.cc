// The user, file, permission and refresh-token repositories over SQLite; see sqlite_internal.h
// and, for the contract of each method, app/ports.h. Every value is bound, never spliced in.
#include <algorithm>

#include "vault/store/sqlite_internal.h"

namespace va::vault::sqlite {

Window PageWindow(const PageRequest& page) {
  const int64_t size = std::clamp(page.page_size, 1, 100);
  const int64_t number = std::max(page.page, 1);
  return {size, (number - 1) * size};
}

std::string LowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

namespace {

// --- users ---

constexpr const char* kUserColumns =
    "id, email, roles, password_hash, status, created_at, disabled_at, disabled_reason";

Result<User> ReadUser(const Statement& row) {
  User user;
  user.id = row.Text(0);
  user.email = row.Text(1);
  user.roles = static_cast<RoleSet>(row.Int(2));
  user.password_hash = row.Text(3);
  auto status = ParseUserStatus(row.Text(4));
  if (!status) return Fail(ErrorKind::kCorrupt, "sqlite: user " + user.id + ": unknown status");
  user.status = *status;
  user.created_at = row.Int(5);
  user.disabled_at = row.OptInt(6);
  user.disabled_reason = row.Text(7);
  return user;
}

Result<std::optional<User>> FindOneUser(Connection& conn, const std::string& where,
                                        std::string_view key, const char* what) {
  auto lock = conn.Lock();
  VA_TRY(auto stmt,
         conn.Prepare(std::string("SELECT ") + kUserColumns + " FROM users WHERE " + where, what));
  stmt.Bind(1, key);
  VA_TRY(bool row, stmt.Step());
  if (!row) return std::optional<User>();
  VA_TRY(User user, ReadUser(stmt));
  return std::optional<User>(std::move(user));
}

// --- files ---

constexpr const char* kFileColumns =
    "f.id, f.owner_id, f.name, f.content_type, f.size_bytes, f.checksum_sha256, f.uploaded_at, "
    "f.deleted_at";
constexpr int kFileColumnCount = 8;

FileRecord ReadFile(const Statement& row, int first = 0) {
  FileRecord file;
  file.id = row.Text(first + 0);
  file.owner_id = row.Text(first + 1);
  file.name = row.Text(first + 2);
  file.content_type = row.Text(first + 3);
  file.size_bytes = row.Int(first + 4);
  file.checksum_sha256 = row.Text(first + 5);
  file.uploaded_at = row.Int(first + 6);
  file.deleted_at = row.OptInt(first + 7);
  return file;
}

// --- permissions ---

constexpr const char* kPermissionColumns =
    "p.id, p.file_id, p.client_id, p.granted_by, p.can_read, p.can_write, p.can_execute, "
    "p.expires_at, p.max_duration_seconds, p.created_at, p.revoked_at";
constexpr int kPermissionColumnCount = 11;

Permission ReadPermission(const Statement& row, int first = 0) {
  Permission p;
  p.id = row.Text(first + 0);
  p.file_id = row.Text(first + 1);
  p.client_id = row.Text(first + 2);
  p.granted_by = row.Text(first + 3);
  p.read = row.Int(first + 4) != 0;
  p.write = row.Int(first + 5) != 0;
  p.execute = row.Int(first + 6) != 0;
  p.expires_at = row.OptInt(first + 7);
  p.max_duration_seconds = row.Int(first + 8);
  p.created_at = row.Int(first + 9);
  p.revoked_at = row.OptInt(first + 10);
  return p;
}

}  // namespace

// --- SqliteUsers ---

Result<bool> SqliteUsers::Insert(const User& user) {
  auto lock = conn_.Lock();
  // A taken email is an answer, not an error: DO NOTHING and look at the change count. Any other
  // violated constraint (a reused id) is still an error.
  VA_TRY(auto stmt,
         conn_.Prepare("INSERT INTO users (id, email, roles, password_hash, status, created_at, "
                       "disabled_at, disabled_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                       "ON CONFLICT (email) DO NOTHING",
                       "insert user"));
  stmt.Bind(1, user.id)
      .Bind(2, LowerAscii(user.email))
      .Bind(3, int64_t{user.roles})
      .Bind(4, user.password_hash)
      .Bind(5, UserStatusName(user.status))
      .Bind(6, user.created_at)
      .Bind(7, user.disabled_at)
      .Bind(8, user.disabled_reason);
  VA_TRY_STATUS(stmt.Run());
  return conn_.Db().Changes() == 1;
}

Result<std::optional<User>> SqliteUsers::FindById(std::string_view id) {
  return FindOneUser(conn_, "id = ?1", id, "find user by id");
}

Result<std::optional<User>> SqliteUsers::FindByEmail(std::string_view email) {
  return FindOneUser(conn_, "email = ?1", LowerAscii(email), "find user by email");
}

Result<Page<User>> SqliteUsers::List(const PageRequest& page) {
  auto lock = conn_.Lock();
  const Window window = PageWindow(page);
  return conn_.Snapshot([&]() -> Result<Page<User>> {
    Page<User> out;
    {
      VA_TRY(auto count, conn_.Prepare("SELECT count(*) FROM users", "count users"));
      VA_TRY(bool row, count.Step());
      if (row) out.total_count = count.Int(0);
    }
    VA_TRY(auto stmt, conn_.Prepare(std::string("SELECT ") + kUserColumns +
                                        " FROM users ORDER BY created_at, rowid "
                                        "LIMIT ?1 OFFSET ?2",
                                    "list users"));
    stmt.Bind(1, window.limit).Bind(2, window.offset);
    for (;;) {
      VA_TRY(bool row, stmt.Step());
      if (!row) break;
      VA_TRY(User user, ReadUser(stmt));
      out.items.push_back(std::move(user));
    }
    return out;
  });
}

Result<bool> SqliteUsers::SetStatus(std::string_view id, UserStatus status, int64_t at,
                                    std::string_view reason) {
  auto lock = conn_.Lock();
  if (status == UserStatus::kActive) {
    VA_TRY(auto stmt, conn_.Prepare("UPDATE users SET status = 'active', disabled_at = NULL, "
                                    "disabled_reason = '' WHERE id = ?1",
                                    "enable user"));
    stmt.Bind(1, id);
    VA_TRY_STATUS(stmt.Run());
  } else {
    VA_TRY(auto stmt, conn_.Prepare("UPDATE users SET status = 'disabled', disabled_at = ?2, "
                                    "disabled_reason = ?3 WHERE id = ?1",
                                    "disable user"));
    stmt.Bind(1, id).Bind(2, at).Bind(3, reason);
    VA_TRY_STATUS(stmt.Run());
  }
  return conn_.Db().Changes() == 1;
}

// --- SqliteFiles ---

Status SqliteFiles::Insert(const FileRecord& file) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt,
         conn_.Prepare("INSERT INTO files (id, owner_id, name, content_type, size_bytes, "
                       "checksum_sha256, uploaded_at, deleted_at) VALUES (?1, ?2, ?3, ?4, ?5, "
                       "?6, ?7, ?8)",
                       "insert file"));
  stmt.Bind(1, file.id)
      .Bind(2, file.owner_id)
      .Bind(3, file.name)
      .Bind(4, file.content_type)
      .Bind(5, file.size_bytes)
      .Bind(6, file.checksum_sha256)
      .Bind(7, file.uploaded_at)
      .Bind(8, file.deleted_at);
  return stmt.Run();
}

Result<std::optional<FileRecord>> SqliteFiles::FindById(std::string_view id) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt,
         conn_.Prepare(std::string("SELECT ") + kFileColumns + " FROM files f WHERE f.id = ?1",
                       "find file"));
  stmt.Bind(1, id);
  VA_TRY(bool row, stmt.Step());
  if (!row) return std::optional<FileRecord>();
  return std::optional<FileRecord>(ReadFile(stmt));
}

Result<Page<FileRecord>> SqliteFiles::ListByOwner(std::string_view owner_id,
                                                  const PageRequest& page) {
  auto lock = conn_.Lock();
  const Window window = PageWindow(page);
  return conn_.Snapshot([&]() -> Result<Page<FileRecord>> {
    Page<FileRecord> out;
    {
      VA_TRY(auto count, conn_.Prepare("SELECT count(*) FROM files WHERE owner_id = ?1 AND "
                                       "deleted_at IS NULL",
                                       "count files"));
      count.Bind(1, owner_id);
      VA_TRY(bool row, count.Step());
      if (row) out.total_count = count.Int(0);
    }
    VA_TRY(auto stmt, conn_.Prepare(std::string("SELECT ") + kFileColumns +
                                        " FROM files f WHERE f.owner_id = ?1 AND "
                                        "f.deleted_at IS NULL ORDER BY f.uploaded_at DESC, "
                                        "f.rowid DESC LIMIT ?2 OFFSET ?3",
                                    "list files"));
    stmt.Bind(1, owner_id).Bind(2, window.limit).Bind(3, window.offset);
    for (;;) {
      VA_TRY(bool row, stmt.Step());
      if (!row) break;
      out.items.push_back(ReadFile(stmt));
    }
    return out;
  });
}

Result<bool> SqliteFiles::MarkDeleted(std::string_view id, int64_t at) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt,
         conn_.Prepare("UPDATE files SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
                       "delete file"));
  stmt.Bind(1, id).Bind(2, at);
  VA_TRY_STATUS(stmt.Run());
  return conn_.Db().Changes() == 1;
}

// --- SqlitePermissions ---

Status SqlitePermissions::Insert(const Permission& p) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt,
         conn_.Prepare("INSERT INTO permissions (id, file_id, client_id, granted_by, "
                       "can_read, can_write, can_execute, expires_at, max_duration_seconds, "
                       "created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                       "?10, ?11)",
                       "insert permission"));
  stmt.Bind(1, p.id)
      .Bind(2, p.file_id)
      .Bind(3, p.client_id)
      .Bind(4, p.granted_by)
      .Bind(5, int64_t{p.read})
      .Bind(6, int64_t{p.write})
      .Bind(7, int64_t{p.execute})
      .Bind(8, p.expires_at)
      .Bind(9, p.max_duration_seconds)
      .Bind(10, p.created_at)
      .Bind(11, p.revoked_at);
  return stmt.Run();
}

Result<std::optional<Permission>> SqlitePermissions::FindById(std::string_view id) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt, conn_.Prepare(std::string("SELECT ") + kPermissionColumns +
                                      " FROM permissions p WHERE p.id = ?1",
                                  "find permission"));
  stmt.Bind(1, id);
  VA_TRY(bool row, stmt.Step());
  if (!row) return std::optional<Permission>();
  return std::optional<Permission>(ReadPermission(stmt));
}

Result<std::vector<PermissionView>> SqlitePermissions::ListByOwner(
    std::string_view owner_id, std::optional<std::string_view> file_id) {
  auto lock = conn_.Lock();
  std::string sql = std::string("SELECT ") + kPermissionColumns +
                    ", u.email, f.name FROM permissions p JOIN files f ON f.id = p.file_id "
                    "JOIN users u ON u.id = p.client_id WHERE f.owner_id = ?1";
  if (file_id) sql += " AND p.file_id = ?2";
  sql += " ORDER BY p.created_at DESC, p.rowid DESC";
  VA_TRY(auto stmt, conn_.Prepare(sql, "list permissions"));
  stmt.Bind(1, owner_id);
  if (file_id) stmt.Bind(2, *file_id);
  std::vector<PermissionView> out;
  for (;;) {
    VA_TRY(bool row, stmt.Step());
    if (!row) break;
    PermissionView view;
    view.permission = ReadPermission(stmt);
    view.client_email = stmt.Text(kPermissionColumnCount);
    view.file_name = stmt.Text(kPermissionColumnCount + 1);
    out.push_back(std::move(view));
  }
  return out;
}

Result<std::optional<Permission>> SqlitePermissions::FindLatest(std::string_view client_id,
                                                                std::string_view file_id) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt, conn_.Prepare(std::string("SELECT ") + kPermissionColumns +
                                      " FROM permissions p WHERE p.client_id = ?1 AND "
                                      "p.file_id = ?2 ORDER BY p.created_at DESC, "
                                      "p.rowid DESC LIMIT 1",
                                  "find latest permission"));
  stmt.Bind(1, client_id).Bind(2, file_id);
  VA_TRY(bool row, stmt.Step());
  if (!row) return std::optional<Permission>();
  return std::optional<Permission>(ReadPermission(stmt));
}

Result<std::vector<ViewableFile>> SqlitePermissions::ListViewable(std::string_view client_id,
                                                                  int64_t now) {
  auto lock = conn_.Lock();
  // One row per file: when several usable permissions exist for one file, the newest wins.
  VA_TRY(auto stmt,
         conn_.Prepare(
             std::string("SELECT * FROM (SELECT ") + kFileColumns + ", " + kPermissionColumns +
                 ", row_number() OVER (PARTITION BY p.file_id ORDER BY p.created_at DESC, "
                 "p.rowid DESC) AS rank FROM permissions p JOIN files f ON f.id = p.file_id "
                 "WHERE p.client_id = ?1 AND p.revoked_at IS NULL AND (p.expires_at IS NULL OR "
                 "p.expires_at > ?2) AND f.deleted_at IS NULL) WHERE rank = 1 "
                 "ORDER BY 3, 1",
             "list viewable files"));
  stmt.Bind(1, client_id).Bind(2, now);
  std::vector<ViewableFile> out;
  for (;;) {
    VA_TRY(bool row, stmt.Step());
    if (!row) break;
    ViewableFile viewable;
    viewable.file = ReadFile(stmt);
    viewable.permission = ReadPermission(stmt, kFileColumnCount);
    out.push_back(std::move(viewable));
  }
  return out;
}

Result<bool> SqlitePermissions::Revoke(std::string_view id, int64_t at) {
  auto lock = conn_.Lock();
  VA_TRY(
      auto stmt,
      conn_.Prepare("UPDATE permissions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    "revoke permission"));
  stmt.Bind(1, id).Bind(2, at);
  VA_TRY_STATUS(stmt.Run());
  return conn_.Db().Changes() == 1;
}

Result<std::vector<std::string>> SqlitePermissions::RevokeAllForFile(std::string_view file_id,
                                                                     int64_t at) {
  auto lock = conn_.Lock();
  // One statement: the rows it changes are exactly the ids it returns.
  VA_TRY(auto stmt, conn_.Prepare("UPDATE permissions SET revoked_at = ?2 WHERE file_id = ?1 "
                                  "AND revoked_at IS NULL RETURNING id",
                                  "revoke permissions of file"));
  stmt.Bind(1, file_id).Bind(2, at);
  std::vector<std::string> ids;
  for (;;) {
    VA_TRY(bool row, stmt.Step());
    if (!row) break;
    ids.push_back(stmt.Text(0));
  }
  return ids;
}

// --- SqliteTokens ---

Status SqliteTokens::Insert(const RefreshToken& token) {
  auto lock = conn_.Lock();
  return conn_.Atomic([&]() -> Status {
    {
      // The first token of a login creates its family; a family once revoked stays revoked.
      VA_TRY(auto family,
             conn_.Prepare("INSERT INTO token_families (id, user_id, revoked) VALUES (?1, ?2, "
                           "?3) ON CONFLICT (id) DO UPDATE SET revoked = max(revoked, "
                           "excluded.revoked)",
                           "insert token family"));
      family.Bind(1, token.family_id).Bind(2, token.user_id).Bind(3, int64_t{token.family_revoked});
      VA_TRY_STATUS(family.Run());
    }
    VA_TRY(auto stmt, conn_.Prepare("INSERT INTO refresh_tokens (token_hash, family_id, "
                                    "user_id, issued_at, expires_at, used_at) VALUES (?1, "
                                    "?2, ?3, ?4, ?5, ?6)",
                                    "insert refresh token"));
    stmt.Bind(1, token.token_hash)
        .Bind(2, token.family_id)
        .Bind(3, token.user_id)
        .Bind(4, token.issued_at)
        .Bind(5, token.expires_at)
        .Bind(6, token.used_at);
    return stmt.Run();
  });
}

Result<std::optional<RefreshToken>> SqliteTokens::Find(std::string_view token_hash) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt,
         conn_.Prepare("SELECT t.token_hash, t.family_id, t.user_id, t.issued_at, t.expires_at, "
                       "t.used_at, f.revoked FROM refresh_tokens t JOIN token_families f ON "
                       "f.id = t.family_id WHERE t.token_hash = ?1",
                       "find refresh token"));
  stmt.Bind(1, token_hash);
  VA_TRY(bool row, stmt.Step());
  if (!row) return std::optional<RefreshToken>();
  RefreshToken token;
  token.token_hash = stmt.Text(0);
  token.family_id = stmt.Text(1);
  token.user_id = stmt.Text(2);
  token.issued_at = stmt.Int(3);
  token.expires_at = stmt.Int(4);
  token.used_at = stmt.OptInt(5);
  token.family_revoked = stmt.Int(6) != 0;
  return std::optional<RefreshToken>(std::move(token));
}

Result<bool> SqliteTokens::MarkUsed(std::string_view token_hash, int64_t at) {
  auto lock = conn_.Lock();
  // Atomic across threads and processes: only one UPDATE can see used_at IS NULL.
  VA_TRY(auto stmt, conn_.Prepare("UPDATE refresh_tokens SET used_at = ?2 WHERE token_hash "
                                  "= ?1 AND used_at IS NULL",
                                  "mark refresh token used"));
  stmt.Bind(1, token_hash).Bind(2, at);
  VA_TRY_STATUS(stmt.Run());
  return conn_.Db().Changes() == 1;
}

Status SqliteTokens::RevokeFamily(std::string_view family_id) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt, conn_.Prepare("UPDATE token_families SET revoked = 1 WHERE id = ?1",
                                  "revoke token family"));
  stmt.Bind(1, family_id);
  return stmt.Run();
}

Status SqliteTokens::RevokeAllForUser(std::string_view user_id) {
  auto lock = conn_.Lock();
  VA_TRY(auto stmt, conn_.Prepare("UPDATE token_families SET revoked = 1 WHERE user_id = ?1",
                                  "revoke token families of user"));
  stmt.Bind(1, user_id);
  return stmt.Run();
}

}  // namespace va::vault::sqlite
