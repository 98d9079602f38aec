// VaultApp audit over the fakes: admin and owner queries (filters, paging, newest first, the
// owner restricted to their own files), query validation, the role matrix of every handler (each
// refusal Forbidden and audited Denied), and that no password or token ever reaches an entry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "vault/app/testing/app_fixture.h"

namespace va::vault {
namespace {

using testing::AppTest;
using ::testing::HasSubstr;
using testing::kPassword;
using ::testing::Not;

class AuditTest : public AppTest {
 protected:
  AuditTest()
      : admin_(MakeUser("admin@example.com", {"admin"})),
        owner_(MakeUser("owner@example.com", {"owner"})),
        other_(MakeUser("other@example.com", {"owner"})),
        client_(MakeUser("client@example.com", {"client"})) {}
  User admin_;
  User owner_;
  User other_;
  User client_;
};

TEST_F(AuditTest, AdminSeesEverythingNewestFirstWithFilters) {
  clock_.Advance(10);
  FileRecord mine = Upload(ActorOf(owner_), "mine.txt", "1");
  clock_.Advance(10);
  FileRecord theirs = Upload(ActorOf(other_), "theirs.txt", "2");
  clock_.Advance(10);
  (void)app_->GetOwnerFile(ActorOf(other_), mine.id);  // denied

  auto all = app_->AdminAudit(ActorOf(admin_), AuditQuery{});
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->total_count, 7);  // 4 UserCreated, 2 FileUploaded, 1 AccessDenied
  ASSERT_EQ(all->items.size(), 7u);
  EXPECT_EQ(all->items[0].action, "AccessDenied");
  EXPECT_EQ(all->items[1].resource_id, theirs.id);
  for (size_t i = 1; i < all->items.size(); ++i) {
    EXPECT_GE(all->items[i - 1].timestamp, all->items[i].timestamp);
  }
  // Every entry has an id and a timestamp.
  for (const auto& e : all->items) {
    EXPECT_TRUE(IsValidId(e.id, "aud_")) << e.id;
    EXPECT_GT(e.timestamp, 0);
  }

  AuditQuery by_action;
  by_action.action = "FileUploaded";
  auto uploads = app_->AdminAudit(ActorOf(admin_), by_action);
  ASSERT_TRUE(uploads.has_value());
  EXPECT_EQ(uploads->total_count, 2);

  AuditQuery by_actor;
  by_actor.actor_id = other_.id;
  auto other = app_->AdminAudit(ActorOf(admin_), by_actor);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->total_count, 2);

  AuditQuery by_resource;
  by_resource.resource_id = mine.id;
  auto about_mine = app_->AdminAudit(ActorOf(admin_), by_resource);
  ASSERT_TRUE(about_mine.has_value());
  EXPECT_EQ(about_mine->total_count, 2);

  AuditQuery window;
  window.since = clock_.Seconds() - 20;
  window.until = clock_.Seconds() - 10;
  auto in_window = app_->AdminAudit(ActorOf(admin_), window);
  ASSERT_TRUE(in_window.has_value());
  EXPECT_EQ(in_window->total_count, 2);

  AuditQuery paged;
  paged.page = PageRequest{3, 3};
  auto last = app_->AdminAudit(ActorOf(admin_), paged);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->total_count, 7);
  ASSERT_EQ(last->items.size(), 1u);
  EXPECT_EQ(last->items[0].action, "UserCreated");
}

TEST_F(AuditTest, QueryValidation) {
  std::vector<std::function<void(AuditQuery&)>> bad = {
      [](AuditQuery& q) {
        q.page = PageRequest{0, 20};
      },
      [](AuditQuery& q) {
        q.page = PageRequest{1, 101};
      },
      [](AuditQuery& q) { q.action = ""; },
      [](AuditQuery& q) { q.action = "File Uploaded"; },
      [](AuditQuery& q) { q.action = "x' OR 1=1"; },
      [](AuditQuery& q) { q.actor_id = "fil_0000000000000000000000000a"; },
      [](AuditQuery& q) { q.actor_id = "../x"; },
      [](AuditQuery& q) { q.resource_id = "../x"; },
      [](AuditQuery& q) { q.resource_id = "_0000000000000000000000000a"; },
      [](AuditQuery& q) {
        q.since = 100;
        q.until = 99;
      },
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    AuditQuery q;
    bad[i](q);
    auto admin = app_->AdminAudit(ActorOf(admin_), q);
    ASSERT_FALSE(admin.has_value()) << i;
    EXPECT_EQ(admin.error().code, Code::kInvalidInput) << i;
    auto owner = app_->OwnerAudit(ActorOf(owner_), q);
    ASSERT_FALSE(owner.has_value()) << i;
    EXPECT_EQ(owner.error().code, Code::kInvalidInput) << i;
  }
  AuditQuery ok;
  ok.resource_id = "ses_0000000000000000000000000a";
  ok.action = "SessionStarted";
  EXPECT_TRUE(app_->AdminAudit(ActorOf(admin_), ok));
}

TEST_F(AuditTest, OwnerSeesOnlyTheirFiles) {
  FileRecord mine = Upload(ActorOf(owner_), "mine.txt", "1");
  FileRecord theirs = Upload(ActorOf(other_), "theirs.txt", "2");
  ASSERT_TRUE(app_->Grant(ActorOf(owner_), GrantFor(mine, "client@example.com")));
  ASSERT_TRUE(app_->Grant(ActorOf(other_), GrantFor(theirs, "client@example.com")));

  auto audit = app_->OwnerAudit(ActorOf(owner_), AuditQuery{});
  ASSERT_TRUE(audit.has_value());
  EXPECT_EQ(audit->total_count, 2);
  for (const auto& e : audit->items) EXPECT_EQ(e.owner_id, owner_.id);

  // Filters cannot widen the view.
  AuditQuery theirs_query;
  theirs_query.actor_id = other_.id;
  auto widened = app_->OwnerAudit(ActorOf(owner_), theirs_query);
  ASSERT_TRUE(widened.has_value());
  EXPECT_EQ(widened->total_count, 0);

  auto denied = app_->OwnerAudit(ActorOf(client_), AuditQuery{});
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code, Code::kForbidden);
  auto admin_only = app_->AdminAudit(ActorOf(owner_), AuditQuery{});
  ASSERT_FALSE(admin_only.has_value());
  EXPECT_EQ(admin_only.error().code, Code::kForbidden);
}

TEST_F(AuditTest, RecordFillsIdAndTimeAndSurvivesBackendFailure) {
  AuditEntry entry;
  entry.action = "SandboxFailed";
  entry.result = AuditResult::kFailed;
  entry.metadata_json = "";
  app_->Record(entry);
  auto last = LastAudit();
  EXPECT_TRUE(IsValidId(last.id, "aud_"));
  EXPECT_EQ(last.timestamp, clock_.Seconds());
  EXPECT_EQ(last.metadata_json, "{}");
  entry.id = "aud_0000000000000000000000000a";
  entry.timestamp = 42;
  app_->Record(entry);
  EXPECT_EQ(LastAudit().id, "aud_0000000000000000000000000a");
  EXPECT_EQ(LastAudit().timestamp, 42);
  store_.SetFailing(true);
  app_->Record(entry);  // logged, not returned, no crash
  store_.SetFailing(false);
  auto q = app_->AdminAudit(ActorOf(admin_), AuditQuery{});
  ASSERT_TRUE(q.has_value());
  store_.SetFailing(true);
  auto failed = app_->AdminAudit(ActorOf(admin_), AuditQuery{});
  store_.SetFailing(false);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, Code::kInternal);
}

// Every handler with each single-role actor: allowed roles never get Forbidden, the others get
// Forbidden with one Denied entry naming the actor.
TEST_F(AuditTest, RoleMatrix) {
  FileRecord file = Upload(ActorOf(owner_), "f.txt", "x");
  const std::string fid = file.id;
  const std::string pid = "prm_0000000000000000000000000a";
  struct Handler {
    std::string name;
    Role allowed;
    std::function<std::optional<Code>(const Actor&)> call;
  };
  auto code = [](const auto& r) -> std::optional<Code> {
    if (r.has_value()) return std::nullopt;
    return r.error().code;
  };
  std::vector<Handler> handlers = {
      {"CreateUser", Role::kAdmin,
       [&](const Actor& a) {
         return code(
             app_->CreateUser(&a, NewUser{"n" + a.user.id + "@x.io", {"client"}, kPassword}));
       }},
      {"ListUsers", Role::kAdmin, [&](const Actor& a) { return code(app_->ListUsers(&a, {})); }},
      {"DisableUser", Role::kAdmin,
       [&](const Actor& a) { return code(app_->DisableUser(a, client_.id, "")); }},
      {"EnableUser", Role::kAdmin,
       [&](const Actor& a) { return code(app_->EnableUser(a, client_.id)); }},
      {"AdminAudit", Role::kAdmin, [&](const Actor& a) { return code(app_->AdminAudit(a, {})); }},
      {"OwnerAudit", Role::kOwner, [&](const Actor& a) { return code(app_->OwnerAudit(a, {})); }},
      {"BeginUpload", Role::kOwner,
       [&](const Actor& a) { return code(app_->BeginUpload(a, "n", "", std::nullopt)); }},
      {"ListOwnerFiles", Role::kOwner,
       [&](const Actor& a) { return code(app_->ListOwnerFiles(a, {})); }},
      {"GetOwnerFile", Role::kOwner,
       [&](const Actor& a) { return code(app_->GetOwnerFile(a, fid)); }},
      {"Grant", Role::kOwner,
       [&](const Actor& a) { return code(app_->Grant(a, GrantFor(file, "client@example.com"))); }},
      {"ListPermissions", Role::kOwner,
       [&](const Actor& a) { return code(app_->ListPermissions(a, std::nullopt)); }},
      {"Revoke", Role::kOwner, [&](const Actor& a) { return code(app_->Revoke(a, pid)); }},
      {"ListClientFiles", Role::kClient,
       [&](const Actor& a) { return code(app_->ListClientFiles(a)); }},
      {"DeleteFile", Role::kOwner, [&](const Actor& a) { return code(app_->DeleteFile(a, fid)); }},
  };
  const User* users[] = {&admin_, &owner_, &client_};
  for (const auto& h : handlers) {
    for (const User* user : users) {
      Actor actor = ActorOf(*user);
      size_t before = AuditCount();
      std::optional<Code> result = h.call(actor);
      bool allowed = HasRole(user->roles, h.allowed);
      if (allowed) {
        EXPECT_NE(result, Code::kForbidden) << h.name << " as " << user->email;
      } else {
        EXPECT_EQ(result, Code::kForbidden) << h.name << " as " << user->email;
        ASSERT_EQ(AuditCount(), before + 1) << h.name;
        auto entry = LastAudit();
        EXPECT_EQ(entry.result, AuditResult::kDenied) << h.name;
        EXPECT_EQ(entry.actor_id, user->id) << h.name;
        EXPECT_FALSE(entry.resource_type.empty()) << h.name;
      }
    }
  }
}

TEST_F(AuditTest, NoSecretEverReachesTheAuditLog) {
  const std::string wrong = "wrong-password-7731";
  const std::string other_password = "another-secret-9923";
  std::vector<std::string> secrets = {kPassword, wrong, other_password};
  RequestMeta meta{"192.0.2.1", "ua"};
  ASSERT_TRUE(app_->CreateUser(nullptr, NewUser{"sec@example.com", {"owner"}, other_password}));
  (void)app_->Login("owner@example.com", wrong, meta);
  (void)app_->Login("unknown@example.com", wrong, meta);
  (void)app_->Login(kPassword, kPassword, meta);  // a password typed as the email
  auto login = app_->Login("owner@example.com", kPassword, meta);
  ASSERT_TRUE(login.has_value());
  secrets.push_back(login->access_token);
  secrets.push_back(login->refresh_token);
  auto refreshed = app_->Refresh(login->refresh_token, meta);
  ASSERT_TRUE(refreshed.has_value());
  secrets.push_back(refreshed->access_token);
  secrets.push_back(refreshed->refresh_token);
  (void)app_->Refresh(login->refresh_token, meta);  // reuse
  (void)app_->Authenticate(login->access_token + "x", meta);
  (void)app_->Logout(refreshed->refresh_token, meta);
  for (int i = 0; i < 6; ++i) (void)app_->Login("sec@example.com", wrong, meta);  // throttled
  // The stored token hashes are not the tokens either.
  for (const auto& t : store_.RefreshTokens()) {
    EXPECT_NE(t.token_hash, login->refresh_token);
    EXPECT_NE(t.token_hash, refreshed->refresh_token);
  }

  auto entries = store_.AuditEntries();
  EXPECT_GT(entries.size(), 10u);
  for (const auto& e : entries) {
    std::string all = e.id + "|" + e.actor_id + "|" + e.actor_email + "|" + e.action + "|" +
                      e.resource_type + "|" + e.resource_id + "|" + e.ip_address + "|" +
                      e.user_agent + "|" + e.metadata_json + "|" + e.owner_id;
    for (const auto& secret : secrets) {
      EXPECT_THAT(all, Not(HasSubstr(secret))) << e.action;
    }
  }
}

}  // namespace
}  // namespace va::vault
