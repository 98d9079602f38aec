// Crash consistency: a child process writes through SqliteStore and is SIGKILLed mid-transaction
// (or in the middle of a stream of transactions); the database reopened afterwards holds exactly
// the committed work and passes PRAGMA integrity_check.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "base/ids.h"
#include "base/sys.h"
#include "support/test_env.h"
#include "vault/store/sqlite_store.h"

namespace va::vault {
namespace {

User NewUser(const std::string& email) {
  User u;
  u.id = RandomId("usr_");
  u.email = email;
  u.roles = static_cast<RoleSet>(Role::kOwner);
  u.password_hash = "hash";
  u.created_at = 1;
  return u;
}

AuditEntry NewEntry(const std::string& resource) {
  AuditEntry e;
  e.id = RandomId("aud_");
  e.timestamp = 1;
  e.action = "UserCreated";
  e.resource_type = "user";
  e.resource_id = resource;
  return e;
}

// Runs `child` in a forked process that reports progress by writing single bytes to `fd`; the
// parent waits (with a deadline) for `bytes` of them, then SIGKILLs the child and reaps it.
// The child never returns into the test framework.
template <typename F>
void RunAndKill(F child, int bytes) {
  auto pipe = MakePipe();
  ASSERT_TRUE(pipe);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    pipe->read.Reset();
    child(pipe->write.Get());
    ::_exit(3);  // the child is expected to be killed before it gets here
  }
  pipe->write.Reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int seen = 0;
  while (seen < bytes) {
    auto ready =
        PollOne(pipe->read.Get(), POLLIN, std::chrono::milliseconds(MillisUntil(deadline)));
    ASSERT_TRUE(ready && *ready != 0) << "the child made no progress before the deadline";
    char buf[64];
    auto n = Read(pipe->read.Get(), buf);
    ASSERT_TRUE(n && *n > 0) << "the child died early";
    seen += static_cast<int>(*n);
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(RetryEintr([&] { return ::waitpid(pid, &status, 0); }), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
}

std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        out += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

TEST(SqliteCrashTest, KilledMidTransactionLeavesOnlyCommittedRows) {
  testing::TempDir dir;
  const std::string path = dir.File("vault.db");
  const User committed = NewUser("committed@example.com");
  const User pending = NewUser("pending@example.com");
  RunAndKill(
      [&](int fd) {
        auto store = SqliteStore::Open(path);
        if (!store) ::_exit(1);
        if (!(*store)->Users().Insert(committed)) ::_exit(1);
        (void)(*store)->InTransaction([&]() -> Status {
          VA_TRY_STATUS((*store)->Users().Insert(pending));
          for (int i = 0; i < 200; ++i) {
            VA_TRY_STATUS((*store)->Audit().Append(NewEntry("usr_pending")));
          }
          (void)WriteAll(fd, "x");
          for (;;) ::pause();  // killed here, the transaction still open
        });
        ::_exit(2);
      },
      1);

  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store) << store.error().message;
  auto found = (*store)->Users().FindById(committed.id);
  ASSERT_TRUE(found);
  EXPECT_TRUE(*found);
  found = (*store)->Users().FindById(pending.id);
  ASSERT_TRUE(found);
  EXPECT_FALSE(*found);
  auto audit = (*store)->Audit().Query({});
  ASSERT_TRUE(audit);
  EXPECT_EQ(audit->total_count, 0);
  store->reset();
  EXPECT_EQ(IntegrityCheck(path), "ok");
}

TEST(SqliteCrashTest, KilledDuringAStreamOfTransactionsKeepsEachWhole) {
  testing::TempDir dir;
  const std::string path = dir.File("vault.db");
  RunAndKill(
      [&](int fd) {
        auto store = SqliteStore::Open(path);
        if (!store) ::_exit(1);
        for (int i = 0;; ++i) {
          // Each transaction adds one user and one audit entry naming it: the counts must match.
          User u = NewUser("u" + std::to_string(i) + "@example.com");
          auto st = (*store)->InTransaction([&]() -> Status {
            VA_TRY_STATUS((*store)->Users().Insert(u));
            return (*store)->Audit().Append(NewEntry(u.id));
          });
          if (!st) ::_exit(1);
          (void)WriteAll(fd, "x");
        }
      },
      40);

  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store) << store.error().message;
  auto users = (*store)->Users().List({});
  auto audit = (*store)->Audit().Query({});
  ASSERT_TRUE(users && audit);
  EXPECT_GE(users->total_count, 40);
  EXPECT_EQ(users->total_count, audit->total_count);
  store->reset();
  EXPECT_EQ(IntegrityCheck(path), "ok");
}

}  // namespace
}  // namespace va::vault
