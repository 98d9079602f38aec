// VaultApp user administration over the fakes: CreateUser validation (email shape, roles,
// password length), duplicates, vaultctl audit without an actor, the admin role requirement,
// listing with pages, disable (tokens revoked, hook called) and enable.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "vault/app/testing/app_fixture.h"

namespace va::vault {
namespace {

using testing::AppTest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::kPassword;

class UsersTest : public AppTest {};

TEST_F(UsersTest, CreateUserFromVaultctlIsAudited) {
  auto user = app_->CreateUser(
      nullptr, NewUser{"Owner@Example.com", {"owner", "client", "owner"}, kPassword});
  ASSERT_TRUE(user.has_value()) << user.error().message;
  EXPECT_TRUE(IsValidId(user->id, "usr_"));
  EXPECT_EQ(user->email, "owner@example.com");
  EXPECT_EQ(user->roles, AddRole(AddRole(0, Role::kOwner), Role::kClient));
  EXPECT_EQ(user->status, UserStatus::kActive);
  EXPECT_EQ(user->created_at, clock_.Seconds());
  EXPECT_NE(user->password_hash, kPassword);
  EXPECT_TRUE(hasher_.Verify(user->password_hash, kPassword));

  auto entry = LastAudit();
  EXPECT_EQ(entry.action, "UserCreated");
  EXPECT_EQ(entry.actor_id, "");
  EXPECT_EQ(entry.actor_email, "");
  EXPECT_EQ(entry.resource_type, "user");
  EXPECT_EQ(entry.resource_id, user->id);
  EXPECT_THAT(entry.metadata_json, HasSubstr("\"via\":\"vaultctl\""));
}

TEST_F(UsersTest, CreateUserByAdmin) {
  User admin = MakeUser("admin@example.com", {"admin"});
  Actor actor = ActorOf(admin);
  auto created = app_->CreateUser(&actor, NewUser{"c@example.com", {"client"}, kPassword});
  ASSERT_TRUE(created.has_value()) << created.error().message;
  EXPECT_EQ(LastAudit().actor_id, admin.id);
  EXPECT_EQ(LastAudit().ip_address, "192.0.2.10");
  EXPECT_THAT(LastAudit().metadata_json, ::testing::Not(HasSubstr("vaultctl")));
}

TEST_F(UsersTest, CreateUserNeedsAdmin) {
  User owner = MakeUser("owner@example.com", {"owner", "client"});
  Actor actor = ActorOf(owner);
  auto created = app_->CreateUser(&actor, NewUser{"x@example.com", {"client"}, kPassword});
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, Code::kForbidden);
  EXPECT_EQ(LastAudit().action, "AccessDenied");
  EXPECT_EQ(LastAudit().result, AuditResult::kDenied);
  EXPECT_EQ(LastAudit().resource_type, "user");
  EXPECT_EQ(LastAudit().actor_id, owner.id);
}

TEST_F(UsersTest, CreateUserValidation) {
  struct Case {
    std::string email;
    std::vector<std::string> roles;
    std::string password;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"", {"client"}, kPassword, "email"},
      {"no-at-sign", {"client"}, kPassword, "email"},
      {"two@@example.com", {"client"}, kPassword, "email"},
      {"a@b@example.com", {"client"}, kPassword, "email"},
      {"@example.com", {"client"}, kPassword, "email"},
      {"user@", {"client"}, kPassword, "email"},
      {"us er@example.com", {"client"}, kPassword, "email"},
      {"user@exa\tmple.com", {"client"}, kPassword, "email"},
      {"user\x01@example.com", {"client"}, kPassword, "email"},
      {std::string(250, 'a') + "@b.io", {"client"}, kPassword, "email"},
      {"u@example.com", {}, kPassword, "roles"},
      {"u@example.com", {"root"}, kPassword, "roles"},
      {"u@example.com", {"Client"}, kPassword, "roles"},
      {"u@example.com", {"client"}, "short", "password"},
      {"u@example.com", {"client"}, std::string(1025, 'p'), "password"},
  };
  for (const auto& c : cases) {
    auto r = app_->CreateUser(nullptr, NewUser{c.email, c.roles, c.password});
    ASSERT_FALSE(r.has_value()) << c.email;
    EXPECT_EQ(r.error().code, Code::kInvalidInput) << c.email;
    EXPECT_THAT(r.error().message, HasSubstr(c.field)) << c.email;
  }
  EXPECT_TRUE(app_->CreateUser(
      nullptr, NewUser{std::string(240, 'a') + "@example.com", {"client"}, std::string(8, 'p')}));
  EXPECT_TRUE(
      app_->CreateUser(nullptr, NewUser{"max@example.com", {"client"}, std::string(1024, 'p')}));
  EXPECT_EQ(AuditCount(), 2u);
}

TEST_F(UsersTest, DuplicateEmailIgnoringCase) {
  MakeUser("pat@example.com", {"client"});
  auto again = app_->CreateUser(nullptr, NewUser{"PAT@example.com", {"owner"}, kPassword});
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, Code::kEmailAlreadyExists);
}

TEST_F(UsersTest, ListUsersPages) {
  User admin = MakeUser("admin@example.com", {"admin"});
  for (int i = 0; i < 4; ++i) MakeUser("u" + std::to_string(i) + "@example.com", {"client"});
  Actor actor = ActorOf(admin);
  auto page = app_->ListUsers(&actor, PageRequest{2, 2});
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->total_count, 5);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].email, "u1@example.com");
  auto all = app_->ListUsers(nullptr, PageRequest{});
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->items.size(), 5u);
  for (PageRequest bad : {PageRequest{0, 20}, PageRequest{1, 0}, PageRequest{1, 101}}) {
    auto r = app_->ListUsers(&actor, bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Code::kInvalidInput);
  }
  User client = MakeUser("client@example.com", {"client"});
  Actor client_actor = ActorOf(client);
  auto denied = app_->ListUsers(&client_actor, PageRequest{});
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code, Code::kForbidden);
}

TEST_F(UsersTest, DisableAndEnable) {
  User admin = MakeUser("admin@example.com", {"admin"});
  User user = MakeUser("quinn@example.com", {"owner"});
  auto login = app_->Login("quinn@example.com", kPassword, RequestMeta{});
  ASSERT_TRUE(login.has_value());
  clock_.Advance(5);
  auto disabled = app_->DisableUser(ActorOf(admin), user.id, "left the company");
  ASSERT_TRUE(disabled.has_value()) << disabled.error().message;
  EXPECT_EQ(disabled->status, UserStatus::kDisabled);
  EXPECT_EQ(disabled->disabled_at, clock_.Seconds());
  EXPECT_EQ(disabled->disabled_reason, "left the company");
  EXPECT_THAT(hooks_.disabled_users, ElementsAre(user.id));
  for (const auto& t : store_.RefreshTokens()) {
    if (t.user_id == user.id) {
      EXPECT_TRUE(t.family_revoked);
    }
  }
  auto entry = LastAudit();
  EXPECT_EQ(entry.action, "UserDisabled");
  EXPECT_EQ(entry.actor_id, admin.id);
  EXPECT_EQ(entry.resource_id, user.id);
  EXPECT_THAT(entry.metadata_json, HasSubstr("left the company"));

  // Disabling twice answers the user as it is and changes nothing.
  size_t before = AuditCount();
  auto twice = app_->DisableUser(ActorOf(admin), user.id, "again");
  ASSERT_TRUE(twice.has_value());
  EXPECT_EQ(twice->disabled_reason, "left the company");
  EXPECT_EQ(AuditCount(), before);
  EXPECT_EQ(hooks_.disabled_users.size(), 1u);

  auto enabled = app_->EnableUser(ActorOf(admin), user.id);
  ASSERT_TRUE(enabled.has_value());
  EXPECT_EQ(enabled->status, UserStatus::kActive);
  EXPECT_FALSE(enabled->disabled_at.has_value());
  EXPECT_EQ(LastAudit().action, "UserEnabled");
}

TEST_F(UsersTest, DisableErrors) {
  User admin = MakeUser("admin@example.com", {"admin"});
  User owner = MakeUser("owner@example.com", {"owner"});
  auto bad_id = app_->DisableUser(ActorOf(admin), "../x", "");
  ASSERT_FALSE(bad_id.has_value());
  EXPECT_EQ(bad_id.error().code, Code::kInvalidInput);
  auto wrong_type = app_->DisableUser(ActorOf(admin), "fil_0000000000000000000000000a", "");
  ASSERT_FALSE(wrong_type.has_value());
  EXPECT_EQ(wrong_type.error().code, Code::kInvalidInput);
  auto missing = app_->DisableUser(ActorOf(admin), "usr_0000000000000000000000000a", "");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Code::kUserNotFound);
  auto enable_missing = app_->EnableUser(ActorOf(admin), "usr_0000000000000000000000000a");
  ASSERT_FALSE(enable_missing.has_value());
  EXPECT_EQ(enable_missing.error().code, Code::kUserNotFound);
  auto self = app_->DisableUser(ActorOf(admin), admin.id, "");
  ASSERT_FALSE(self.has_value());
  EXPECT_EQ(self.error().code, Code::kInvalidInput);
  auto bad_reason = app_->DisableUser(ActorOf(admin), owner.id, "a\nb");
  ASSERT_FALSE(bad_reason.has_value());
  EXPECT_EQ(bad_reason.error().code, Code::kInvalidInput);
  auto forbidden = app_->DisableUser(ActorOf(owner), admin.id, "");
  ASSERT_FALSE(forbidden.has_value());
  EXPECT_EQ(forbidden.error().code, Code::kForbidden);
  EXPECT_EQ(LastAudit().result, AuditResult::kDenied);
  EXPECT_EQ(LastAudit().resource_id, admin.id);
  auto forbidden_enable = app_->EnableUser(ActorOf(owner), admin.id);
  ASSERT_FALSE(forbidden_enable.has_value());
  EXPECT_EQ(forbidden_enable.error().code, Code::kForbidden);
  EXPECT_TRUE(hooks_.disabled_users.empty());
}

TEST_F(UsersTest, HasherFailureIsInternal) {
  hasher_.SetFailing(true);
  auto r = app_->CreateUser(nullptr, NewUser{"r@example.com", {"client"}, kPassword});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kInternal);
  EXPECT_EQ(r.error().message, "internal error");
}

}  // namespace
}  // namespace va::vault
