// The SQLite session repository against a real database file: every method, the compare-and-set
// and the insert checks under thread races on one and on two connections, the table's
// constraints, and migration of a version-1 database to version 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/ids.h"
#include "support/test_env.h"
#include "vault/store/sqlite_store.h"

namespace va::vault {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string RawText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* t = sqlite3_column_text(stmt, 0);
      if (t != nullptr) out = reinterpret_cast<const char*>(t);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

int RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open(path.c_str(), &db);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  }
  sqlite3_close(db);
  return rc;
}

class SqliteSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("vault.db");
    auto store = SqliteStore::Open(path_);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    owner_ = AddUser("owner@example.com", Role::kOwner);
    client_ = AddUser("client@example.com", Role::kClient);
    other_ = AddUser("other@example.com", Role::kClient);
    file_ = AddFile("report.pdf");
    second_file_ = AddFile("second.pdf");
    permission_ = AddPermission(file_, client_);
    second_permission_ = AddPermission(second_file_, client_);
    other_permission_ = AddPermission(file_, other_);
  }

  User AddUser(const std::string& email, Role role) {
    User u;
    u.id = RandomId("usr_");
    u.email = email;
    u.roles = static_cast<RoleSet>(role);
    u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
    u.created_at = 1000;
    auto inserted = store_->Users().Insert(u);
    EXPECT_TRUE(inserted && *inserted);
    return u;
  }
  FileRecord AddFile(const std::string& name) {
    FileRecord f;
    f.id = RandomId("fil_");
    f.owner_id = owner_.id;
    f.name = name;
    f.content_type = "application/pdf";
    f.size_bytes = 1;
    f.checksum_sha256 = std::string(64, 'a');
    f.uploaded_at = 1000;
    EXPECT_TRUE(store_->Files().Insert(f));
    return f;
  }
  Permission AddPermission(const FileRecord& file, const User& client) {
    Permission p;
    p.id = RandomId("prm_");
    p.file_id = file.id;
    p.client_id = client.id;
    p.granted_by = owner_.id;
    p.max_duration_seconds = 600;
    p.created_at = 1000;
    EXPECT_TRUE(store_->Permissions().Insert(p));
    return p;
  }
  Session MakeSession(const User& client, const FileRecord& file, const Permission& permission,
                      int64_t started_at = 2000, const std::string& node = "node-a") {
    Session s;
    s.id = RandomId("ses_");
    s.client_id = client.id;
    s.owner_id = owner_.id;
    s.file_id = file.id;
    s.permission_id = permission.id;
    s.sandbox_id = RandomId("sbx_");
    s.node_id = node;
    s.state = SessionState::kStarting;
    s.started_at = started_at;
    s.expires_at = started_at + 600;
    s.ip_address = "192.168.1.50";
    s.user_agent = "agent/1";
    return s;
  }
  SessionRepository& Repo() { return store_->Sessions(); }
  static std::vector<std::string> Ids(const Result<std::vector<Session>>& list) {
    std::vector<std::string> out;
    if (list) {
      for (const auto& s : *list) out.push_back(s.id);
    }
    return out;
  }

  va::testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
  User owner_, client_, other_;
  FileRecord file_, second_file_;
  Permission permission_, second_permission_, other_permission_;
};

TEST_F(SqliteSessionsTest, InsertFindAndEveryField) {
  Session s = MakeSession(client_, file_, permission_);
  auto inserted = Repo().Insert(s, 8);
  ASSERT_TRUE(inserted) << inserted.error().message;
  EXPECT_EQ(*inserted, SessionInsert::kInserted);
  auto found = Repo().FindById(s.id);
  ASSERT_TRUE(found && found->has_value());
  const Session& f = **found;
  EXPECT_EQ(f.id, s.id);
  EXPECT_EQ(f.client_id, client_.id);
  EXPECT_EQ(f.owner_id, owner_.id);
  EXPECT_EQ(f.file_id, file_.id);
  EXPECT_EQ(f.permission_id, permission_.id);
  EXPECT_EQ(f.sandbox_id, s.sandbox_id);
  EXPECT_EQ(f.node_id, "node-a");
  EXPECT_EQ(f.state, SessionState::kStarting);
  EXPECT_EQ(f.started_at, 2000);
  EXPECT_EQ(f.expires_at, 2600);
  EXPECT_EQ(f.terminated_at, std::nullopt);
  EXPECT_EQ(f.termination_reason, std::nullopt);
  EXPECT_EQ(f.ip_address, "192.168.1.50");
  EXPECT_EQ(f.user_agent, "agent/1");
  auto missing = Repo().FindById(RandomId("ses_"));
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  // A reused id (or sandbox id) is an error, not an answer.
  Session reused = MakeSession(client_, second_file_, second_permission_);
  reused.id = s.id;
  EXPECT_FALSE(Repo().Insert(reused, 8));
  reused = MakeSession(client_, second_file_, second_permission_);
  reused.sandbox_id = s.sandbox_id;
  EXPECT_FALSE(Repo().Insert(reused, 8));
}

TEST_F(SqliteSessionsTest, InsertRefusesADuplicateThenTheClientLimit) {
  Session first = MakeSession(client_, file_, permission_);
  ASSERT_EQ(*Repo().Insert(first, 1), SessionInsert::kInserted);
  // Same client and file: duplicate, whatever the limit.
  EXPECT_EQ(*Repo().Insert(MakeSession(client_, file_, permission_), 8), SessionInsert::kDuplicate);
  // Another file, but the client is at its limit of 1.
  EXPECT_EQ(*Repo().Insert(MakeSession(client_, second_file_, second_permission_), 1),
            SessionInsert::kClientLimit);
  // Another client is not limited by this one.
  EXPECT_EQ(*Repo().Insert(MakeSession(other_, file_, other_permission_), 1),
            SessionInsert::kInserted);
  EXPECT_EQ(*Repo().CountLiveForClient(client_.id), 1);
  // Once the first ends, the same file may be viewed again.
  ASSERT_TRUE(*Repo().Transition(first.id, SessionState::kStarting, SessionState::kTerminated, 2100,
                                 std::nullopt));
  EXPECT_EQ(*Repo().CountLiveForClient(client_.id), 0);
  EXPECT_EQ(*Repo().Insert(MakeSession(client_, file_, permission_), 1), SessionInsert::kInserted);
}

TEST_F(SqliteSessionsTest, TransitionIsACompareAndSet) {
  Session s = MakeSession(client_, file_, permission_);
  ASSERT_TRUE(Repo().Insert(s, 8));
  EXPECT_TRUE(*Repo().Transition(s.id, SessionState::kStarting, SessionState::kActive, std::nullopt,
                                 std::nullopt));
  EXPECT_FALSE(*Repo().Transition(s.id, SessionState::kStarting, SessionState::kActive,
                                  std::nullopt, std::nullopt));
  EXPECT_TRUE(*Repo().Transition(s.id, SessionState::kActive, SessionState::kTerminating,
                                 std::nullopt, std::nullopt));
  EXPECT_FALSE(*Repo().Transition(s.id, SessionState::kActive, SessionState::kTerminating,
                                  std::nullopt, std::nullopt));
  EXPECT_TRUE(*Repo().Transition(s.id, SessionState::kTerminating, SessionState::kTerminated, 2900,
                                 TerminationReason::kPermissionRevoked));
  auto found = *Repo().FindById(s.id);
  EXPECT_EQ(found->state, SessionState::kTerminated);
  EXPECT_EQ(found->terminated_at, 2900);
  EXPECT_EQ(found->termination_reason, TerminationReason::kPermissionRevoked);
  EXPECT_FALSE(*Repo().Transition(RandomId("ses_"), SessionState::kActive,
                                  SessionState::kTerminating, std::nullopt, std::nullopt));
}

TEST_F(SqliteSessionsTest, TheTableRefusesATerminatedRowWithoutItsTime) {
  Session s = MakeSession(client_, file_, permission_);
  ASSERT_TRUE(Repo().Insert(s, 8));
  auto bad = Repo().Transition(s.id, SessionState::kStarting, SessionState::kTerminated,
                               std::nullopt, TerminationReason::kExpired);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::kInvalid);
  EXPECT_EQ((*Repo().FindById(s.id))->state, SessionState::kStarting);
  // Unknown users, files or permissions violate the foreign keys.
  Session orphan = MakeSession(client_, second_file_, second_permission_);
  orphan.permission_id = RandomId("prm_");
  EXPECT_FALSE(Repo().Insert(orphan, 8));
}

TEST_F(SqliteSessionsTest, ListLiveFiltersAndOrdersByStart) {
  Session a = MakeSession(client_, file_, permission_, 3000, "node-a");
  Session b = MakeSession(client_, second_file_, second_permission_, 1000, "node-b");
  Session c = MakeSession(other_, file_, other_permission_, 2000, "node-a");
  for (const auto& s : {a, b, c}) ASSERT_EQ(*Repo().Insert(s, 8), SessionInsert::kInserted);
  EXPECT_THAT(Ids(Repo().ListLive({})), ElementsAre(b.id, c.id, a.id));
  EXPECT_THAT(Ids(Repo().ListLive({.owner_id = owner_.id})), ElementsAre(b.id, c.id, a.id));
  EXPECT_THAT(Ids(Repo().ListLive({.owner_id = client_.id})), IsEmpty());
  EXPECT_THAT(Ids(Repo().ListLive({.client_id = client_.id})), ElementsAre(b.id, a.id));
  EXPECT_THAT(Ids(Repo().ListLive({.node_id = "node-a"})), ElementsAre(c.id, a.id));
  EXPECT_THAT(Ids(Repo().ListLive({.permission_id = permission_.id})), ElementsAre(a.id));
  EXPECT_THAT(Ids(Repo().ListLive({.file_id = file_.id})), ElementsAre(c.id, a.id));
  EXPECT_THAT(Ids(Repo().ListLive({.client_id = client_.id, .node_id = "node-a"})),
              ElementsAre(a.id));
  auto live = Repo().FindLiveForClientFile(client_.id, file_.id);
  ASSERT_TRUE(live && live->has_value());
  EXPECT_EQ((*live)->id, a.id);

  // Terminating is still live; Terminated is not.
  ASSERT_TRUE(*Repo().Transition(a.id, SessionState::kStarting, SessionState::kTerminating,
                                 std::nullopt, std::nullopt));
  EXPECT_THAT(Ids(Repo().ListLive({.client_id = client_.id})), ElementsAre(b.id, a.id));
  ASSERT_TRUE(*Repo().Transition(a.id, SessionState::kTerminating, SessionState::kTerminated, 4000,
                                 TerminationReason::kClientRequest));
  EXPECT_THAT(Ids(Repo().ListLive({.client_id = client_.id})), ElementsAre(b.id));
  EXPECT_FALSE(Repo().FindLiveForClientFile(client_.id, file_.id)->has_value());
}

TEST_F(SqliteSessionsTest, OneWinnerOfTheCompareAndSetAcrossThreadsAndConnections) {
  auto second = SqliteStore::Open(path_);
  ASSERT_TRUE(second) << second.error().message;
  for (int round = 0; round < 20; ++round) {
    Session s = MakeSession(client_, file_, permission_);
    ASSERT_EQ(*Repo().Insert(s, 8), SessionInsert::kInserted);
    ASSERT_TRUE(*Repo().Transition(s.id, SessionState::kStarting, SessionState::kActive,
                                   std::nullopt, std::nullopt));
    std::atomic<int> ready{0};
    std::atomic<int> winners{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    threads.reserve(8);
    for (int i = 0; i < 8; ++i) {
      SessionRepository* repo = i % 2 == 0 ? &Repo() : &(*second)->Sessions();
      threads.emplace_back([&, repo] {
        ready.fetch_add(1);
        while (ready.load() < 8) {
        }
        auto won = repo->Transition(s.id, SessionState::kActive, SessionState::kTerminating,
                                    std::nullopt, std::nullopt);
        if (!won) {
          errors.fetch_add(1);
        } else if (*won) {
          winners.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(winners.load(), 1) << "round " << round;
    ASSERT_TRUE(*Repo().Transition(s.id, SessionState::kTerminating, SessionState::kTerminated,
                                   3000, TerminationReason::kClientRequest));
  }
}

TEST_F(SqliteSessionsTest, ConcurrentStartsOfOneFileInsertOnce) {
  auto second = SqliteStore::Open(path_);
  ASSERT_TRUE(second) << second.error().message;
  std::atomic<int> ready{0};
  std::atomic<int> inserted{0};
  std::atomic<int> duplicates{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int i = 0; i < 8; ++i) {
    SessionRepository* repo = i % 2 == 0 ? &Repo() : &(*second)->Sessions();
    Session s = MakeSession(client_, file_, permission_);
    threads.emplace_back([&, repo, s] {
      ready.fetch_add(1);
      while (ready.load() < 8) {
      }
      auto r = repo->Insert(s, 8);
      if (!r) {
        errors.fetch_add(1);
      } else if (*r == SessionInsert::kInserted) {
        inserted.fetch_add(1);
      } else if (*r == SessionInsert::kDuplicate) {
        duplicates.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(inserted.load(), 1);
  EXPECT_EQ(duplicates.load(), 7);
  EXPECT_EQ(*Repo().CountLiveForClient(client_.id), 1);
}

TEST_F(SqliteSessionsTest, AVersionOneDatabaseMigratesToTwoAndKeepsItsData) {
  EXPECT_EQ(SqliteStore::kSchemaVersion, 2);
  store_.reset();
  // Make it what version 1 left: no sessions table, no record of migration 2.
  ASSERT_EQ(RawExec(path_, "DROP TABLE sessions; DELETE FROM schema_migrations WHERE version = 2"),
            SQLITE_OK);
  ASSERT_EQ(RawText(path_, "SELECT max(version) FROM schema_migrations"), "1");
  ASSERT_EQ(RawText(path_, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'sessions%'"), "0");

  auto again = SqliteStore::Open(path_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*(*again)->SchemaVersion(), 2);
  auto user = (*again)->Users().FindById(client_.id);
  ASSERT_TRUE(user && user->has_value());
  EXPECT_EQ((*user)->email, "client@example.com");
  EXPECT_TRUE((*(*again)->Permissions().FindById(permission_.id)).has_value());
  Session s = MakeSession(client_, file_, permission_);
  EXPECT_EQ(*(*again)->Sessions().Insert(s, 8), SessionInsert::kInserted);
  EXPECT_EQ(RawText(path_,
                    "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                    "tbl_name = 'sessions' AND name LIKE 'sessions_live_%'"),
            "6");
}

}  // namespace
}  // namespace va::vault
