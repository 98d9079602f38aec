// SqliteStore against a real database file in a temporary directory: every repository method,
// transactions across threads, migrations, and refusal of files it must not open.
#include "vault/store/sqlite_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "base/ids.h"
#include "support/test_env.h"

namespace va::vault {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

User MakeUser(std::string email, RoleSet roles = static_cast<RoleSet>(Role::kOwner),
              int64_t created_at = 1000) {
  User u;
  u.id = RandomId("usr_");
  u.email = std::move(email);
  u.roles = roles;
  u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  u.created_at = created_at;
  return u;
}

FileRecord MakeFile(const std::string& owner, std::string name, int64_t at) {
  FileRecord f;
  f.id = RandomId("fil_");
  f.owner_id = owner;
  f.name = std::move(name);
  f.content_type = "application/pdf";
  f.size_bytes = 42;
  f.checksum_sha256 = std::string(64, 'a');
  f.uploaded_at = at;
  return f;
}

Permission MakePermission(const FileRecord& file, const User& client, int64_t at,
                          std::optional<int64_t> expires_at = std::nullopt) {
  Permission p;
  p.id = RandomId("prm_");
  p.file_id = file.id;
  p.client_id = client.id;
  p.granted_by = file.owner_id;
  p.expires_at = expires_at;
  p.max_duration_seconds = 600;
  p.created_at = at;
  return p;
}

AuditEntry MakeEntry(int64_t ts, std::string action, std::string actor = "usr_a",
                     std::string resource = "fil_x", std::string owner = "") {
  AuditEntry e;
  e.id = RandomId("aud_");
  e.timestamp = ts;
  e.actor_id = std::move(actor);
  e.actor_email = "a@example.com";
  e.action = std::move(action);
  e.resource_type = "file";
  e.resource_id = std::move(resource);
  e.ip_address = "127.0.0.1";
  e.user_agent = "test";
  e.metadata_json = R"({"k":"v"})";
  e.owner_id = std::move(owner);
  return e;
}

// A raw connection for what the store refuses to do (tampering, inspection).
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  // SQLITE_OK or the error code; `error` gets the message.
  int Exec(const std::string& sql, std::string* error = nullptr) {
    char* msg = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
    if (msg != nullptr && error != nullptr) *error = msg;
    sqlite3_free(msg);
    return rc;
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* t = sqlite3_column_text(stmt, 0);
      if (t != nullptr) out = reinterpret_cast<const char*>(t);
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("vault.db");
    auto store = SqliteStore::Open(path_);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }

  User AddUser(const std::string& email, RoleSet roles = static_cast<RoleSet>(Role::kOwner),
               int64_t at = 1000) {
    User u = MakeUser(email, roles, at);
    auto inserted = store_->Users().Insert(u);
    EXPECT_TRUE(inserted && *inserted) << (inserted ? "" : inserted.error().message);
    return u;
  }
  FileRecord AddFile(const User& owner, const std::string& name, int64_t at) {
    FileRecord f = MakeFile(owner.id, name, at);
    auto st = store_->Files().Insert(f);
    EXPECT_TRUE(st) << st.error().message;
    return f;
  }
  Permission AddPermission(const FileRecord& file, const User& client, int64_t at,
                           std::optional<int64_t> expires_at = std::nullopt) {
    Permission p = MakePermission(file, client, at, expires_at);
    auto st = store_->Permissions().Insert(p);
    EXPECT_TRUE(st) << st.error().message;
    return p;
  }

  testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

// --- opening, PRAGMAs, migrations ---

TEST_F(SqliteStoreTest, CreatesAPrivateWalDatabaseAtTheLatestVersion) {
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  AddUser("wal@example.com");  // the write-ahead log and its index exist now, as private
  for (const char* suffix : {"-wal", "-shm"}) {
    ASSERT_EQ(::stat((path_ + suffix).c_str(), &st), 0) << suffix;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << suffix;
  }
  auto version = store_->SchemaVersion();
  ASSERT_TRUE(version);
  EXPECT_EQ(*version, SqliteStore::kSchemaVersion);
  EXPECT_GE(SqliteStore::kSchemaVersion, 1);
  EXPECT_TRUE(store_->Ping());
  RawDb raw(path_);
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.Text("SELECT count(*) FROM schema_migrations"),
            std::to_string(SqliteStore::kSchemaVersion));
  EXPECT_NE(raw.Text("SELECT applied_at FROM schema_migrations WHERE version = 1"), "");
}

TEST_F(SqliteStoreTest, ReopenKeepsDataAndDoesNotMigrateAgain) {
  User u = AddUser("keep@example.com");
  store_.reset();
  auto again = SqliteStore::Open(path_);
  ASSERT_TRUE(again) << again.error().message;
  auto found = (*again)->Users().FindById(u.id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->email, "keep@example.com");
  RawDb raw(path_);
  EXPECT_EQ(raw.Text("SELECT count(*) FROM schema_migrations"),
            std::to_string(SqliteStore::kSchemaVersion));
}

TEST_F(SqliteStoreTest, RefusesANewerSchema) {
  store_.reset();
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("INSERT INTO schema_migrations VALUES (999, 0)"), SQLITE_OK);
  }
  auto again = SqliteStore::Open(path_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::kUnsupported);
  EXPECT_THAT(again.error().message, HasSubstr("version 999"));
  EXPECT_THAT(again.error().message, HasSubstr("newer"));
}

TEST(SqliteStoreOpen, RefusesAFileThatIsNotSqlite) {
  testing::TempDir dir;
  const std::string path = dir.File("garbage.db");
  {
    std::ofstream out(path);
    for (int i = 0; i < 200; ++i) out << "this is not a database, just text\n";
  }
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, ErrorKind::kCorrupt);
  EXPECT_THAT(store.error().message, HasSubstr("not a database"));
}

TEST(SqliteStoreOpen, RefusesAnotherApplicationsDatabase) {
  testing::TempDir dir;
  const std::string path = dir.File("other.db");
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("CREATE TABLE songs (title TEXT)"), SQLITE_OK);
  }
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, ErrorKind::kCorrupt);
  EXPECT_THAT(store.error().message, HasSubstr("not a vault database"));
}

TEST(SqliteStoreOpen, RefusesASymlinkAndAMissingDirectory) {
  testing::TempDir dir;
  ASSERT_EQ(::symlink(dir.File("target.db").c_str(), dir.File("link.db").c_str()), 0);
  EXPECT_FALSE(SqliteStore::Open(dir.File("link.db")));
  auto missing = SqliteStore::Open(dir.File("no/such/dir/vault.db"));
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("no/such/dir"));
}

// --- users ---

TEST_F(SqliteStoreTest, UsersInsertFindAndCaseInsensitiveEmail) {
  User u = MakeUser("Alice@Example.COM", AddRole(static_cast<RoleSet>(Role::kAdmin), Role::kClient),
                    1234);
  auto inserted = store_->Users().Insert(u);
  ASSERT_TRUE(inserted) << inserted.error().message;
  EXPECT_TRUE(*inserted);

  auto by_id = store_->Users().FindById(u.id);
  ASSERT_TRUE(by_id && *by_id);
  EXPECT_EQ((*by_id)->email, "alice@example.com");
  EXPECT_EQ((*by_id)->roles, u.roles);
  EXPECT_EQ((*by_id)->password_hash, u.password_hash);
  EXPECT_EQ((*by_id)->status, UserStatus::kActive);
  EXPECT_EQ((*by_id)->created_at, 1234);
  EXPECT_FALSE((*by_id)->disabled_at);

  auto by_email = store_->Users().FindByEmail("ALICE@example.com");
  ASSERT_TRUE(by_email && *by_email);
  EXPECT_EQ((*by_email)->id, u.id);

  auto duplicate = store_->Users().Insert(MakeUser("alice@EXAMPLE.com"));
  ASSERT_TRUE(duplicate) << duplicate.error().message;
  EXPECT_FALSE(*duplicate);

  auto none = store_->Users().FindByEmail("bob@example.com");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto no_id = store_->Users().FindById("usr_nope");
  ASSERT_TRUE(no_id);
  EXPECT_FALSE(*no_id);
}

TEST_F(SqliteStoreTest, UsersInsertWithAReusedIdIsAnError) {
  User u = AddUser("one@example.com");
  User again = MakeUser("two@example.com");
  again.id = u.id;
  auto inserted = store_->Users().Insert(again);
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().kind, ErrorKind::kInvalid);
  EXPECT_THAT(inserted.error().message, HasSubstr("sqlite: insert user: UNIQUE constraint"));
}

TEST_F(SqliteStoreTest, UsersListPagesOldestFirstWithTotal) {
  std::vector<std::string> ids;
  ids.reserve(5);
  for (int i = 0; i < 5; ++i) {
    // Two share a timestamp: insertion order breaks the tie.
    ids.push_back(AddUser("u" + std::to_string(i) + "@example.com",
                          static_cast<RoleSet>(Role::kClient), 100 + i / 2 * 10)
                      .id);
  }
  auto first = store_->Users().List({.page = 1, .page_size = 2});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->total_count, 5);
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].id, ids[0]);
  EXPECT_EQ(first->items[1].id, ids[1]);
  auto last = store_->Users().List({.page = 3, .page_size = 2});
  ASSERT_TRUE(last);
  ASSERT_EQ(last->items.size(), 1u);
  EXPECT_EQ(last->items[0].id, ids[4]);
  auto beyond = store_->Users().List({.page = 9, .page_size = 2});
  ASSERT_TRUE(beyond);
  EXPECT_TRUE(beyond->items.empty());
  EXPECT_EQ(beyond->total_count, 5);
}

TEST_F(SqliteStoreTest, UsersSetStatusDisablesAndEnables) {
  User u = AddUser("carol@example.com");
  auto disabled = store_->Users().SetStatus(u.id, UserStatus::kDisabled, 5000, "left");
  ASSERT_TRUE(disabled && *disabled);
  auto found = store_->Users().FindById(u.id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->status, UserStatus::kDisabled);
  EXPECT_EQ((*found)->disabled_at, 5000);
  EXPECT_EQ((*found)->disabled_reason, "left");

  auto enabled = store_->Users().SetStatus(u.id, UserStatus::kActive, 6000, "ignored");
  ASSERT_TRUE(enabled && *enabled);
  found = store_->Users().FindById(u.id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->status, UserStatus::kActive);
  EXPECT_FALSE((*found)->disabled_at);
  EXPECT_EQ((*found)->disabled_reason, "");

  auto missing = store_->Users().SetStatus("usr_missing", UserStatus::kDisabled, 1, "");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
}

// --- files ---

TEST_F(SqliteStoreTest, FilesInsertFindListAndSoftDelete) {
  User owner = AddUser("owner@example.com");
  User other = AddUser("other@example.com");
  FileRecord a = AddFile(owner, "a.pdf", 100);
  FileRecord b = AddFile(owner, "b.pdf", 200);
  FileRecord c = AddFile(owner, "c.pdf", 200);  // same second as b, inserted later
  AddFile(other, "theirs.pdf", 300);

  auto found = store_->Files().FindById(a.id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->name, "a.pdf");
  EXPECT_EQ((*found)->owner_id, owner.id);
  EXPECT_EQ((*found)->size_bytes, 42);
  EXPECT_EQ((*found)->checksum_sha256, a.checksum_sha256);
  EXPECT_EQ((*found)->content_type, "application/pdf");
  EXPECT_EQ((*found)->uploaded_at, 100);
  EXPECT_FALSE((*found)->deleted_at);

  auto page = store_->Files().ListByOwner(owner.id, {.page = 1, .page_size = 2});
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->total_count, 3);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].id, c.id);
  EXPECT_EQ(page->items[1].id, b.id);

  auto deleted = store_->Files().MarkDeleted(c.id, 900);
  ASSERT_TRUE(deleted && *deleted);
  auto again = store_->Files().MarkDeleted(c.id, 901);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto missing = store_->Files().MarkDeleted("fil_missing", 901);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);

  page = store_->Files().ListByOwner(owner.id, {.page = 1, .page_size = 20});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total_count, 2);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].id, b.id);
  EXPECT_EQ(page->items[1].id, a.id);

  // FindById still answers for a deleted file, with its deletion time.
  found = store_->Files().FindById(c.id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->deleted_at, 900);
}

TEST_F(SqliteStoreTest, FilesOfAnUnknownOwnerViolateTheForeignKey) {
  auto st = store_->Files().Insert(MakeFile("usr_nobody", "x.pdf", 1));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, ErrorKind::kInvalid);
  EXPECT_THAT(st.error().message, HasSubstr("FOREIGN KEY"));
}

// --- permissions ---

TEST_F(SqliteStoreTest, PermissionsInsertFindAndListByOwner) {
  User owner = AddUser("owner@example.com");
  User client = AddUser("Client@Example.com", static_cast<RoleSet>(Role::kClient));
  User stranger = AddUser("stranger@example.com");
  FileRecord f1 = AddFile(owner, "one.pdf", 10);
  FileRecord f2 = AddFile(owner, "two.pdf", 11);
  FileRecord theirs = AddFile(stranger, "theirs.pdf", 12);
  Permission p1 = AddPermission(f1, client, 100, 5000);
  Permission p2 = AddPermission(f2, client, 200);
  AddPermission(theirs, client, 300);

  auto found = store_->Permissions().FindById(p1.id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->file_id, f1.id);
  EXPECT_EQ((*found)->client_id, client.id);
  EXPECT_EQ((*found)->granted_by, owner.id);
  EXPECT_TRUE((*found)->read);
  EXPECT_FALSE((*found)->write);
  EXPECT_FALSE((*found)->execute);
  EXPECT_EQ((*found)->expires_at, 5000);
  EXPECT_EQ((*found)->max_duration_seconds, 600);
  EXPECT_EQ((*found)->created_at, 100);
  EXPECT_FALSE((*found)->revoked_at);
  auto none = store_->Permissions().FindById("prm_none");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  auto all = store_->Permissions().ListByOwner(owner.id, std::nullopt);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].permission.id, p2.id);  // newest first
  EXPECT_EQ((*all)[0].file_name, "two.pdf");
  EXPECT_EQ((*all)[0].client_email, "client@example.com");
  EXPECT_EQ((*all)[1].permission.id, p1.id);

  ASSERT_TRUE(store_->Permissions().Revoke(p1.id, 400));
  auto one = store_->Permissions().ListByOwner(owner.id, std::string_view(f1.id));
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);  // revoked ones included
  EXPECT_EQ((*one)[0].permission.revoked_at, 400);
}

TEST_F(SqliteStoreTest, PermissionsFindLatestIsTheNewestWhateverItsState) {
  User owner = AddUser("owner@example.com");
  User client = AddUser("client@example.com", static_cast<RoleSet>(Role::kClient));
  FileRecord f = AddFile(owner, "f.pdf", 10);
  auto none = store_->Permissions().FindLatest(client.id, f.id);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  AddPermission(f, client, 100);
  Permission same_second = AddPermission(f, client, 200);
  ASSERT_TRUE(store_->Permissions().Revoke(same_second.id, 250));
  auto latest = store_->Permissions().FindLatest(client.id, f.id);
  ASSERT_TRUE(latest && *latest);
  EXPECT_EQ((*latest)->id, same_second.id);
  EXPECT_EQ((*latest)->revoked_at, 250);
  Permission newest = AddPermission(f, client, 200);  // ties broken by insertion order
  latest = store_->Permissions().FindLatest(client.id, f.id);
  ASSERT_TRUE(latest && *latest);
  EXPECT_EQ((*latest)->id, newest.id);
}

TEST_F(SqliteStoreTest, PermissionsListViewableExcludesRevokedExpiredAndDeleted) {
  User owner = AddUser("owner@example.com");
  User client = AddUser("client@example.com", static_cast<RoleSet>(Role::kClient));
  User other = AddUser("other@example.com", static_cast<RoleSet>(Role::kClient));
  FileRecord zebra = AddFile(owner, "zebra.pdf", 1);
  FileRecord apple = AddFile(owner, "apple.pdf", 2);
  FileRecord revoked = AddFile(owner, "revoked.pdf", 3);
  FileRecord expired = AddFile(owner, "expired.pdf", 4);
  FileRecord deleted = AddFile(owner, "deleted.pdf", 5);
  FileRecord mango = AddFile(owner, "mango.pdf", 6);
  const int64_t now = 1000;
  Permission pz = AddPermission(zebra, client, 10);           // no expiry
  Permission pa = AddPermission(apple, client, 10, now + 1);  // expires later
  Permission pr = AddPermission(revoked, client, 10);
  AddPermission(expired, client, 10, now);  // expires exactly now
  AddPermission(deleted, client, 10);
  AddPermission(mango, other, 10);            // someone else's
  AddPermission(apple, client, 20, now - 1);  // newer but expired
  ASSERT_TRUE(store_->Permissions().Revoke(pr.id, 50));
  ASSERT_TRUE(store_->Files().MarkDeleted(deleted.id, 60));

  auto viewable = store_->Permissions().ListViewable(client.id, now);
  ASSERT_TRUE(viewable) << viewable.error().message;
  ASSERT_EQ(viewable->size(), 2u);
  EXPECT_EQ((*viewable)[0].file.name, "apple.pdf");  // ordered by file name
  EXPECT_EQ((*viewable)[0].permission.id, pa.id);
  EXPECT_EQ((*viewable)[0].file.owner_id, owner.id);
  EXPECT_EQ((*viewable)[1].file.name, "zebra.pdf");
  EXPECT_EQ((*viewable)[1].permission.id, pz.id);
  EXPECT_EQ((*viewable)[1].permission.max_duration_seconds, 600);

  // Two usable grants on one file: the file appears once, with the newest grant.
  Permission again = AddPermission(zebra, client, 30);
  viewable = store_->Permissions().ListViewable(client.id, now);
  ASSERT_TRUE(viewable);
  ASSERT_EQ(viewable->size(), 2u);
  EXPECT_EQ((*viewable)[1].permission.id, again.id);
}

TEST_F(SqliteStoreTest, PermissionsRevokeTwiceAndRevokeAllForFile) {
  User owner = AddUser("owner@example.com");
  User c1 = AddUser("c1@example.com", static_cast<RoleSet>(Role::kClient));
  User c2 = AddUser("c2@example.com", static_cast<RoleSet>(Role::kClient));
  FileRecord f = AddFile(owner, "f.pdf", 1);
  FileRecord g = AddFile(owner, "g.pdf", 1);
  Permission p1 = AddPermission(f, c1, 10);
  Permission p2 = AddPermission(f, c2, 10);
  Permission p3 = AddPermission(f, c2, 11);
  Permission pg = AddPermission(g, c1, 10);

  auto first = store_->Permissions().Revoke(p1.id, 100);
  ASSERT_TRUE(first && *first);
  auto second = store_->Permissions().Revoke(p1.id, 101);
  ASSERT_TRUE(second);
  EXPECT_FALSE(*second);
  auto missing = store_->Permissions().Revoke("prm_missing", 101);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  auto found = store_->Permissions().FindById(p1.id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->revoked_at, 100);  // the first revocation's time stays

  auto ids = store_->Permissions().RevokeAllForFile(f.id, 200);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_THAT(*ids, UnorderedElementsAre(p2.id, p3.id));
  ids = store_->Permissions().RevokeAllForFile(f.id, 300);
  ASSERT_TRUE(ids);
  EXPECT_TRUE(ids->empty());
  found = store_->Permissions().FindById(p1.id);
  EXPECT_EQ((*found)->revoked_at, 100);
  found = store_->Permissions().FindById(pg.id);
  ASSERT_TRUE(found && *found);
  EXPECT_FALSE((*found)->revoked_at);  // another file's grant is untouched
}

// --- refresh tokens ---

RefreshToken MakeToken(const User& user, std::string family, int64_t at) {
  RefreshToken t;
  t.token_hash = RandomHex(32);
  t.family_id = std::move(family);
  t.user_id = user.id;
  t.issued_at = at;
  t.expires_at = at + 3600;
  return t;
}

TEST_F(SqliteStoreTest, TokensInsertFindMarkUsedAndRevokeFamily) {
  User u = AddUser("tok@example.com");
  RefreshToken t1 = MakeToken(u, "fam_one", 100);
  ASSERT_TRUE(store_->Tokens().Insert(t1));
  auto found = store_->Tokens().Find(t1.token_hash);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->family_id, "fam_one");
  EXPECT_EQ((*found)->user_id, u.id);
  EXPECT_EQ((*found)->issued_at, 100);
  EXPECT_EQ((*found)->expires_at, 3700);
  EXPECT_FALSE((*found)->used_at);
  EXPECT_FALSE((*found)->family_revoked);
  auto none = store_->Tokens().Find("nope");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  auto used = store_->Tokens().MarkUsed(t1.token_hash, 150);
  ASSERT_TRUE(used && *used);
  auto replay = store_->Tokens().MarkUsed(t1.token_hash, 160);
  ASSERT_TRUE(replay);
  EXPECT_FALSE(*replay);
  found = store_->Tokens().Find(t1.token_hash);
  EXPECT_EQ((*found)->used_at, 150);
  auto unknown = store_->Tokens().MarkUsed("unknown", 1);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);

  RefreshToken t2 = MakeToken(u, "fam_one", 150);  // the rotated successor, same family
  ASSERT_TRUE(store_->Tokens().Insert(t2));
  RefreshToken other = MakeToken(u, "fam_two", 150);
  ASSERT_TRUE(store_->Tokens().Insert(other));
  ASSERT_TRUE(store_->Tokens().RevokeFamily("fam_one"));
  EXPECT_TRUE((*store_->Tokens().Find(t1.token_hash))->family_revoked);
  EXPECT_TRUE((*store_->Tokens().Find(t2.token_hash))->family_revoked);
  EXPECT_FALSE((*store_->Tokens().Find(other.token_hash))->family_revoked);
  EXPECT_TRUE(store_->Tokens().RevokeFamily("fam_unknown"));

  // A token added to a revoked family does not revive it.
  ASSERT_TRUE(store_->Tokens().Insert(MakeToken(u, "fam_one", 170)));
  EXPECT_TRUE((*store_->Tokens().Find(t2.token_hash))->family_revoked);
}

TEST_F(SqliteStoreTest, TokensRevokeAllForUser) {
  User u = AddUser("a@example.com");
  User v = AddUser("b@example.com");
  RefreshToken a1 = MakeToken(u, "fam_a1", 1);
  RefreshToken a2 = MakeToken(u, "fam_a2", 1);
  RefreshToken b1 = MakeToken(v, "fam_b1", 1);
  for (const auto& t : {a1, a2, b1}) ASSERT_TRUE(store_->Tokens().Insert(t));
  ASSERT_TRUE(store_->Tokens().RevokeAllForUser(u.id));
  EXPECT_TRUE((*store_->Tokens().Find(a1.token_hash))->family_revoked);
  EXPECT_TRUE((*store_->Tokens().Find(a2.token_hash))->family_revoked);
  EXPECT_FALSE((*store_->Tokens().Find(b1.token_hash))->family_revoked);
}

TEST_F(SqliteStoreTest, MarkUsedRaceHasExactlyOneWinner) {
  User u = AddUser("race@example.com");
  // Threads on one store, and two stores (two connections, as two processes would have).
  auto second = SqliteStore::Open(path_);
  ASSERT_TRUE(second) << second.error().message;
  for (int round = 0; round < 20; ++round) {
    RefreshToken t = MakeToken(u, "fam_race" + std::to_string(round), 1);
    ASSERT_TRUE(store_->Tokens().Insert(t));
    std::atomic<int> ready{0};
    std::atomic<int> winners{0};
    std::atomic<int> errors{0};
    auto race = [&](Store& store) {
      ready.fetch_add(1);
      while (ready.load() < 4) {
      }
      auto won = store.Tokens().MarkUsed(t.token_hash, 2);
      if (!won) {
        errors.fetch_add(1);
      } else if (*won) {
        winners.fetch_add(1);
      }
    };
    std::thread a(race, std::ref(*store_));
    std::thread b(race, std::ref(*store_));
    std::thread c(race, std::ref(**second));
    std::thread d(race, std::ref(**second));
    a.join();
    b.join();
    c.join();
    d.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(winners.load(), 1) << "round " << round;
  }
}

// --- audit ---

TEST_F(SqliteStoreTest, AuditAppendAndQueryNewestFirstWithPaging) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    AuditEntry e = MakeEntry(100 + i / 2, "FileUploaded");  // pairs share a second
    e.result = i == 3 ? AuditResult::kDenied : AuditResult::kSuccess;
    ASSERT_TRUE(store_->Audit().Append(e));
    ids.push_back(e.id);
  }
  AuditQuery q;
  q.page = {.page = 1, .page_size = 3};
  auto page = store_->Audit().Query(q);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->total_count, 7);
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(page->items[0].id, ids[6]);
  EXPECT_EQ(page->items[1].id, ids[5]);  // same second as ids[4]: later insertion first
  EXPECT_EQ(page->items[2].id, ids[4]);
  q.page = {.page = 3, .page_size = 3};
  page = store_->Audit().Query(q);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, ids[0]);

  q.page = {.page = 1, .page_size = 100};
  q.resource_id = "fil_x";
  q.since = 101;
  q.until = 101;
  page = store_->Audit().Query(q);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].id, ids[3]);
  const AuditEntry& e = page->items[0];
  EXPECT_EQ(e.result, AuditResult::kDenied);
  EXPECT_EQ(e.timestamp, 101);
  EXPECT_EQ(e.actor_id, "usr_a");
  EXPECT_EQ(e.actor_email, "a@example.com");
  EXPECT_EQ(e.action, "FileUploaded");
  EXPECT_EQ(e.resource_type, "file");
  EXPECT_EQ(e.ip_address, "127.0.0.1");
  EXPECT_EQ(e.user_agent, "test");
  EXPECT_EQ(e.metadata_json, R"({"k":"v"})");
}

TEST_F(SqliteStoreTest, AuditFiltersCombineAndCountTheSameRows) {
  ASSERT_TRUE(store_->Audit().Append(MakeEntry(10, "LoginSucceeded", "usr_1", "usr_1")));
  ASSERT_TRUE(store_->Audit().Append(MakeEntry(20, "FileUploaded", "usr_1", "fil_1", "usr_1")));
  ASSERT_TRUE(store_->Audit().Append(MakeEntry(30, "FileUploaded", "usr_2", "fil_2", "usr_2")));
  ASSERT_TRUE(store_->Audit().Append(MakeEntry(40, "FileDeleted", "usr_1", "fil_1", "usr_1")));
  ASSERT_TRUE(store_->Audit().Append(
      MakeEntry(50, "UnauthorizedSessionAttempt", "usr_3", "fil_1", "usr_1")));
  AuditEntry unknown = MakeEntry(60, "LoginFailed", "", "");
  unknown.actor_email = "who@example.com";
  unknown.result = AuditResult::kFailed;
  ASSERT_TRUE(store_->Audit().Append(unknown));

  auto actions = [&](const AuditQuery& q) {
    std::vector<std::string> out;
    auto page = store_->Audit().Query(q);
    EXPECT_TRUE(page) << page.error().message;
    if (!page) return out;
    EXPECT_EQ(page->total_count, static_cast<int64_t>(page->items.size()));
    for (const auto& e : page->items) out.push_back(e.action + "@" + std::to_string(e.timestamp));
    return out;
  };
  AuditQuery q;
  q.action = "FileUploaded";
  EXPECT_THAT(actions(q), ElementsAre("FileUploaded@30", "FileUploaded@20"));
  q = {};
  q.actor_id = "usr_1";
  EXPECT_THAT(actions(q), ElementsAre("FileDeleted@40", "FileUploaded@20", "LoginSucceeded@10"));
  q.action = "FileUploaded";
  EXPECT_THAT(actions(q), ElementsAre("FileUploaded@20"));
  q = {};
  q.resource_id = "fil_1";
  EXPECT_THAT(actions(q),
              ElementsAre("UnauthorizedSessionAttempt@50", "FileDeleted@40", "FileUploaded@20"));
  q = {};
  q.owner_id = "usr_1";
  q.since = 20;
  q.until = 40;  // both ends inclusive
  EXPECT_THAT(actions(q), ElementsAre("FileDeleted@40", "FileUploaded@20"));
  q = {};
  q.until = 10;
  EXPECT_THAT(actions(q), ElementsAre("LoginSucceeded@10"));
  q = {};
  q.since = 60;
  EXPECT_THAT(actions(q), ElementsAre("LoginFailed@60"));
  q = {};
  q.action = "Nothing";
  EXPECT_THAT(actions(q), ElementsAre());
  // Values are bound, never spliced in: a quote is just a character.
  q.action = "x' OR '1'='1";
  EXPECT_THAT(actions(q), ElementsAre());
}

TEST_F(SqliteStoreTest, AuditRowsCannotBeUpdatedOrDeleted) {
  AuditEntry e = MakeEntry(10, "UserCreated");
  ASSERT_TRUE(store_->Audit().Append(e));
  RawDb raw(path_);
  std::string error;
  EXPECT_NE(raw.Exec("UPDATE audit_log SET action = 'Nothing'", &error), SQLITE_OK);
  EXPECT_THAT(error, HasSubstr("append-only"));
  error.clear();
  EXPECT_NE(raw.Exec("DELETE FROM audit_log", &error), SQLITE_OK);
  EXPECT_THAT(error, HasSubstr("append-only"));
  auto page = store_->Audit().Query({});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].action, "UserCreated");
}

TEST_F(SqliteStoreTest, AuditRefusesMetadataThatIsNotAJsonObject) {
  AuditEntry e = MakeEntry(10, "UserCreated");
  e.metadata_json = "[1,2]";
  auto st = store_->Audit().Append(e);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message, HasSubstr("append audit entry"));
}

// --- transactions ---

TEST_F(SqliteStoreTest, TransactionCommitsOnSuccess) {
  User owner = MakeUser("tx@example.com");
  FileRecord file = MakeFile(owner.id, "f.pdf", 1);
  auto st = store_->InTransaction([&]() -> Status {
    VA_TRY(bool inserted, store_->Users().Insert(owner));
    if (!inserted) return Fail(ErrorKind::kInvalid, "taken");
    VA_TRY_STATUS(store_->Files().Insert(file));
    return store_->Audit().Append(MakeEntry(1, "FileUploaded"));
  });
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_TRUE(*store_->Files().FindById(file.id));
}

TEST_F(SqliteStoreTest, TransactionRollbackLeavesNothing) {
  User owner = MakeUser("tx@example.com");
  FileRecord file = MakeFile(owner.id, "f.pdf", 1);
  RefreshToken token = MakeToken(owner, "fam_tx", 1);
  auto st = store_->InTransaction([&]() -> Status {
    VA_TRY_STATUS(store_->Users().Insert(owner));
    VA_TRY_STATUS(store_->Files().Insert(file));
    VA_TRY_STATUS(store_->Tokens().Insert(token));
    VA_TRY_STATUS(store_->Audit().Append(MakeEntry(1, "FileUploaded")));
    // Reads inside the transaction see its own writes.
    auto seen = store_->Users().FindById(owner.id);
    if (!seen || !*seen) return Fail(ErrorKind::kCorrupt, "own write not visible");
    return Fail(ErrorKind::kInvalid, "changed my mind");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "changed my mind");
  EXPECT_FALSE(*store_->Users().FindById(owner.id));
  EXPECT_FALSE(*store_->Files().FindById(file.id));
  EXPECT_FALSE(*store_->Tokens().Find(token.token_hash));
  EXPECT_EQ(store_->Audit().Query({})->total_count, 0);
  // The store is usable afterwards.
  EXPECT_TRUE(store_->InTransaction([] { return Status(); }));
  AddUser("after@example.com");
}

TEST_F(SqliteStoreTest, TransactionIsNotReentrant) {
  auto st = store_->InTransaction([&]() -> Status {
    auto inner = store_->InTransaction([] { return Status(); });
    EXPECT_FALSE(inner);
    EXPECT_EQ(inner.error().kind, ErrorKind::kInvalid);
    return {};
  });
  EXPECT_TRUE(st);
}

TEST_F(SqliteStoreTest, FailedStatementInsideATransactionLeavesItUsable) {
  User u = AddUser("dup@example.com");
  User fresh = MakeUser("fresh@example.com");
  auto st = store_->InTransaction([&]() -> Status {
    // A constraint error (unknown owner) on one statement, then more work in the same transaction.
    auto bad = store_->Files().Insert(MakeFile("usr_nobody", "x", 1));
    EXPECT_FALSE(bad);
    VA_TRY_STATUS(store_->Users().Insert(fresh));
    return store_->Tokens().Insert(MakeToken(u, "fam_in_tx", 1));
  });
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_TRUE(*store_->Users().FindById(fresh.id));
}

TEST_F(SqliteStoreTest, NothingRunsOutsideATransactionSqliteRolledBack) {
  // SQLite ends a transaction by itself after some errors (disk full, I/O, RAISE(ROLLBACK)).
  // A body that ignores the error must not go on writing in autocommit mode.
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("CREATE TRIGGER test_rollback BEFORE INSERT ON users WHEN NEW.email = "
                       "'rollback@example.com' BEGIN SELECT RAISE(ROLLBACK, 'disk on fire'); END"),
              SQLITE_OK);
  }
  User first = MakeUser("first@example.com");
  User later = MakeUser("later@example.com");
  std::string later_error;
  auto st = store_->InTransaction([&]() -> Status {
    VA_TRY_STATUS(store_->Users().Insert(first));
    auto failed = store_->Users().Insert(MakeUser("rollback@example.com"));
    EXPECT_FALSE(failed);
    auto after = store_->Users().Insert(later);  // ignoring the error above
    EXPECT_FALSE(after);
    if (!after) later_error = after.error().message;
    auto token = store_->Tokens().Insert(MakeToken(first, "fam_x", 1));
    EXPECT_FALSE(token);
    return {};
  });
  EXPECT_FALSE(st);
  EXPECT_THAT(later_error, HasSubstr("rolled back by an earlier error"));
  EXPECT_FALSE(*store_->Users().FindById(first.id));
  EXPECT_FALSE(*store_->Users().FindById(later.id));
  AddUser("usable@example.com");
}

TEST_F(SqliteStoreTest, OtherThreadsWaitForATransactionAndDoNotJoinIt) {
  User inside = MakeUser("inside@example.com");
  User outside = MakeUser("outside@example.com");
  std::mutex mu;
  std::condition_variable cv;
  bool other_started = false;
  bool other_done = false;
  bool other_done_during_tx = true;
  std::thread other;
  auto st = store_->InTransaction([&]() -> Status {
    VA_TRY_STATUS(store_->Users().Insert(inside));
    other = std::thread([&] {
      {
        std::lock_guard lock(mu);
        other_started = true;
      }
      cv.notify_all();
      auto inserted = store_->Users().Insert(outside);
      EXPECT_TRUE(inserted && *inserted);
      std::lock_guard lock(mu);
      other_done = true;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return other_started; });
    // The other thread must not get through while this transaction is open. A broken lock lets
    // it finish at once; give it a generous chance to show that.
    other_done_during_tx =
        cv.wait_for(lock, std::chrono::milliseconds(300), [&] { return other_done; });
    return Fail(ErrorKind::kInvalid, "roll back");
  });
  other.join();
  EXPECT_FALSE(st);
  EXPECT_FALSE(other_done_during_tx);
  EXPECT_FALSE(*store_->Users().FindById(inside.id));  // rolled back
  EXPECT_TRUE(*store_->Users().FindById(outside.id));  // its own, committed after ours
}

TEST_F(SqliteStoreTest, ConcurrentWritersFromThreadsAndAnotherConnection) {
  auto second = SqliteStore::Open(path_);
  ASSERT_TRUE(second) << second.error().message;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  auto writer = [&](Store& store, int t) {
    for (int i = 0; i < kPerThread; ++i) {
      auto st = store.InTransaction([&]() -> Status {
        VA_TRY_STATUS(store.Users().Insert(
            MakeUser("w" + std::to_string(t) + "_" + std::to_string(i) + "@example.com")));
        return store.Audit().Append(MakeEntry(i, "UserCreated"));
      });
      if (!st) failures.fetch_add(1);
    }
  };
  std::thread a(writer, std::ref(*store_), 0);
  std::thread b(writer, std::ref(*store_), 1);
  std::thread c(writer, std::ref(**second), 2);
  a.join();
  b.join();
  c.join();
  EXPECT_EQ(failures.load(), 0);
  auto users = store_->Users().List({.page = 1, .page_size = 1});
  ASSERT_TRUE(users);
  EXPECT_EQ(users->total_count, 3 * kPerThread);
  EXPECT_EQ(store_->Audit().Query({})->total_count, 3 * kPerThread);
}

}  // namespace
}  // namespace va::vault
