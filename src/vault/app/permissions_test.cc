// VaultApp permissions over the fakes: grant (validation of every field, the client must exist,
// be active and hold the client role, another owner's file), list, revoke (twice is
// PermissionNotFound, another owner's is Unauthorized and audited, the hook runs) and the
// client's viewable files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "vault/app/testing/app_fixture.h"

namespace va::vault {
namespace {

using testing::AppTest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PermissionsTest : public AppTest {
 protected:
  PermissionsTest()
      : admin_(MakeUser("admin@example.com", {"admin"})),
        owner_(MakeUser("owner@example.com", {"owner"})),
        other_(MakeUser("other@example.com", {"owner"})),
        client_(MakeUser("client@example.com", {"client"})),
        file_(Upload(ActorOf(owner_), "report.pdf", "pdf bytes")) {}
  User admin_;
  User owner_;
  User other_;
  User client_;
  FileRecord file_;
};

TEST_F(PermissionsTest, GrantSucceedsAndIsAudited) {
  GrantRequest request = GrantFor(file_, "Client@Example.com");
  request.expires_at = clock_.Seconds() + 86400;
  request.max_duration_seconds = 1800;
  auto granted = app_->Grant(ActorOf(owner_), request);
  ASSERT_TRUE(granted.has_value()) << granted.error().message;
  const Permission& p = granted->permission;
  EXPECT_TRUE(IsValidId(p.id, "prm_"));
  EXPECT_EQ(p.file_id, file_.id);
  EXPECT_EQ(p.client_id, client_.id);
  EXPECT_EQ(p.granted_by, owner_.id);
  EXPECT_TRUE(p.read);
  EXPECT_FALSE(p.write);
  EXPECT_FALSE(p.execute);
  EXPECT_EQ(p.expires_at, clock_.Seconds() + 86400);
  EXPECT_EQ(p.max_duration_seconds, 1800);
  EXPECT_EQ(p.created_at, clock_.Seconds());
  EXPECT_EQ(granted->client_email, "client@example.com");
  EXPECT_EQ(granted->file_name, "report.pdf");

  auto entry = LastAudit();
  EXPECT_EQ(entry.action, "PermissionGranted");
  EXPECT_EQ(entry.resource_type, "permission");
  EXPECT_EQ(entry.resource_id, p.id);
  EXPECT_EQ(entry.owner_id, owner_.id);
  EXPECT_THAT(entry.metadata_json, HasSubstr(client_.id));

  auto list = app_->ListPermissions(ActorOf(owner_), std::nullopt);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].permission.id, p.id);
  auto by_file = app_->ListPermissions(ActorOf(owner_), std::string_view(file_.id));
  ASSERT_TRUE(by_file.has_value());
  EXPECT_EQ(by_file->size(), 1u);
  auto theirs = app_->ListPermissions(ActorOf(other_), std::nullopt);
  ASSERT_TRUE(theirs.has_value());
  EXPECT_TRUE(theirs->empty());

  auto viewable = app_->ListClientFiles(ActorOf(client_));
  ASSERT_TRUE(viewable.has_value());
  ASSERT_EQ(viewable->size(), 1u);
  EXPECT_EQ((*viewable)[0].file.id, file_.id);
  EXPECT_EQ((*viewable)[0].permission.id, p.id);
  clock_.Advance(86400);
  viewable = app_->ListClientFiles(ActorOf(client_));
  ASSERT_TRUE(viewable.has_value());
  EXPECT_TRUE(viewable->empty());  // expired
}

TEST_F(PermissionsTest, GrantValidation) {
  struct Case {
    std::string what;
    GrantRequest request;
    Code code;
  };
  auto base = GrantFor(file_, "client@example.com");
  std::vector<Case> cases;
  auto add = [&](std::string what, auto change, Code code = Code::kInvalidInput) {
    GrantRequest r = base;
    change(r);
    cases.push_back({std::move(what), r, code});
  };
  add("bad file id", [](GrantRequest& r) { r.file_id = "../x"; });
  add("wrong id type", [](GrantRequest& r) { r.file_id = "prm_0000000000000000000000000a"; });
  add("bad email", [](GrantRequest& r) { r.client_email = "nope"; });
  add("empty email", [](GrantRequest& r) { r.client_email = ""; });
  add("read false", [](GrantRequest& r) { r.read = false; });
  add("write", [](GrantRequest& r) { r.write = true; });
  add("execute", [](GrantRequest& r) { r.execute = true; });
  add("duration 0", [](GrantRequest& r) { r.max_duration_seconds = 0; });
  add("duration negative", [](GrantRequest& r) { r.max_duration_seconds = -5; });
  add("duration too long", [](GrantRequest& r) { r.max_duration_seconds = 28801; });
  add("expires now", [&](GrantRequest& r) { r.expires_at = clock_.Seconds(); });
  add("expires past", [&](GrantRequest& r) { r.expires_at = clock_.Seconds() - 10; });
  add(
      "missing file", [](GrantRequest& r) { r.file_id = "fil_0000000000000000000000000a"; },
      Code::kFileNotFound);
  add(
      "unknown client", [](GrantRequest& r) { r.client_email = "ghost@example.com"; },
      Code::kUserNotFound);
  add(
      "not a client", [](GrantRequest& r) { r.client_email = "other@example.com"; },
      Code::kUserNotFound);
  for (const auto& c : cases) {
    auto r = app_->Grant(ActorOf(owner_), c.request);
    ASSERT_FALSE(r.has_value()) << c.what;
    EXPECT_EQ(r.error().code, c.code) << c.what << ": " << r.error().message;
  }
  EXPECT_TRUE(store_.AllPermissions().empty());

  GrantRequest edge = base;
  edge.max_duration_seconds = 28800;
  edge.expires_at = clock_.Seconds() + 1;
  EXPECT_TRUE(app_->Grant(ActorOf(owner_), edge));
  edge.max_duration_seconds = 1;
  EXPECT_TRUE(app_->Grant(ActorOf(owner_), edge));
}

TEST_F(PermissionsTest, GrantToDisabledClientIsUserNotFound) {
  ASSERT_TRUE(app_->DisableUser(ActorOf(admin_), client_.id, ""));
  auto r = app_->Grant(ActorOf(owner_), GrantFor(file_, "client@example.com"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kUserNotFound);
}

TEST_F(PermissionsTest, GrantOnAnotherOwnersFile) {
  auto r = app_->Grant(ActorOf(other_), GrantFor(file_, "client@example.com"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kUnauthorized);
  auto entry = LastAudit();
  EXPECT_EQ(entry.result, AuditResult::kDenied);
  EXPECT_EQ(entry.resource_id, file_.id);
  EXPECT_EQ(entry.owner_id, owner_.id);
  EXPECT_THAT(entry.metadata_json, HasSubstr("GrantPermission"));
  auto list = app_->ListPermissions(ActorOf(other_), std::string_view(file_.id));
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().code, Code::kUnauthorized);
}

TEST_F(PermissionsTest, OnlyOwnersGrantAndOnlyClientsList) {
  auto r = app_->Grant(ActorOf(client_), GrantFor(file_, "client@example.com"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kForbidden);
  EXPECT_EQ(LastAudit().resource_type, "permission");
  auto files = app_->ListClientFiles(ActorOf(owner_));
  ASSERT_FALSE(files.has_value());
  EXPECT_EQ(files.error().code, Code::kForbidden);
  auto revoke = app_->Revoke(ActorOf(admin_), "prm_0000000000000000000000000a");
  ASSERT_FALSE(revoke.has_value());
  EXPECT_EQ(revoke.error().code, Code::kForbidden);
}

TEST_F(PermissionsTest, RevokeTwiceIsNotFound) {
  auto granted = app_->Grant(ActorOf(owner_), GrantFor(file_, "client@example.com"));
  ASSERT_TRUE(granted.has_value());
  const std::string id = granted->permission.id;
  clock_.Advance(2);
  ASSERT_TRUE(app_->Revoke(ActorOf(owner_), id));
  EXPECT_THAT(hooks_.revoked_permissions, ElementsAre(id));
  auto entry = LastAudit();
  EXPECT_EQ(entry.action, "PermissionRevoked");
  EXPECT_EQ(entry.resource_id, id);
  EXPECT_EQ(entry.owner_id, owner_.id);
  EXPECT_EQ(store_.AllPermissions()[0].revoked_at, clock_.Seconds());

  auto again = app_->Revoke(ActorOf(owner_), id);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, Code::kPermissionNotFound);
  EXPECT_EQ(hooks_.revoked_permissions.size(), 1u);
  auto viewable = app_->ListClientFiles(ActorOf(client_));
  ASSERT_TRUE(viewable.has_value());
  EXPECT_TRUE(viewable->empty());
}

TEST_F(PermissionsTest, RevokeErrors) {
  auto granted = app_->Grant(ActorOf(owner_), GrantFor(file_, "client@example.com"));
  ASSERT_TRUE(granted.has_value());
  auto bad = app_->Revoke(ActorOf(owner_), "fil_0000000000000000000000000a");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Code::kInvalidInput);
  auto missing = app_->Revoke(ActorOf(owner_), "prm_0000000000000000000000000a");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Code::kPermissionNotFound);
  auto theirs = app_->Revoke(ActorOf(other_), granted->permission.id);
  ASSERT_FALSE(theirs.has_value());
  EXPECT_EQ(theirs.error().code, Code::kUnauthorized);
  auto entry = LastAudit();
  EXPECT_EQ(entry.result, AuditResult::kDenied);
  EXPECT_EQ(entry.resource_type, "permission");
  EXPECT_EQ(entry.resource_id, granted->permission.id);
  EXPECT_EQ(entry.owner_id, owner_.id);
  EXPECT_TRUE(hooks_.revoked_permissions.empty());
  EXPECT_FALSE(store_.AllPermissions()[0].revoked_at.has_value());
}

}  // namespace
}  // namespace va::vault
