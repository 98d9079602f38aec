// Permissions and the client's file list against a real vaultd (docs/vault-api.md
// "Permissions", "Client"; spec §5): grant (201 object, status "active"), its validation
// (duration bounds, write/execute, expires_at, unknown or non-client email, another owner's
// file), list with and without file_id, revoke and revoke twice, the client list holding exactly
// the permitted, unrevoked, undeleted files, and a file's deletion revoking its permissions.
#include <boost/json.hpp>
#include <chrono>
#include <set>
#include <string>

#include "base/clock.h"
#include "vault/vault_fixture.h"
#include "vault/vaultd_env.h"

namespace va::vaulttest {
namespace {

namespace json = boost::json;

json::value Parse(const HttpResponse& r) { return json::parse(r.body); }

json::object ReadOnly() { return {{"read", true}, {"write", false}, {"execute", false}}; }

std::string InFuture(std::chrono::seconds s) { return FormatRfc3339(WallNow() + s); }

class PermissionsTest : public VaultSuite {
 protected:
  std::string UploadOk(const Login& who, const std::string& name) {
    HttpResponse r = Http().PostRaw("/api/owner/files?name=" + UrlEncode(name),
                                    "content of " + name, "text/plain", who.access_token);
    EXPECT_EQ(r.status, 201) << r.Describe();
    return r.status == 201 ? std::string(Parse(r).at("file_id").as_string()) : std::string();
  }
  HttpResponse Grant(const Login& who, const json::object& body) {
    return Http().PostJson("/api/owner/permissions", json::serialize(body), who.access_token);
  }
  json::object GrantBody(const std::string& file_id, const std::string& email,
                         int64_t max_duration = 3600) {
    return {{"file_id", file_id},
            {"client_email", email},
            {"permissions", ReadOnly()},
            {"max_duration_seconds", max_duration}};
  }
  // Grants and returns the permission id (fails the test unless 201).
  std::string GrantOk(const Login& who, const std::string& file_id, const std::string& email) {
    HttpResponse r = Grant(who, GrantBody(file_id, email));
    EXPECT_EQ(r.status, 201) << r.Describe();
    return r.status == 201 ? std::string(Parse(r).at("permission_id").as_string()) : std::string();
  }
  void ExpectStatus(const HttpResponse& r, int status, const std::string& code,
                    const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.Describe();
    EXPECT_EQ(r.ErrorCode(), code) << what << ": " << r.Describe();
  }
  std::set<std::string> ClientFileIds(const Login& client) {
    HttpResponse r = Http().Get("/api/client/files", client.access_token);
    EXPECT_EQ(r.status, 200) << r.Describe();
    std::set<std::string> ids;
    if (r.status != 200) return ids;
    json::value listed = Parse(r);
    for (const auto& f : listed.at("files").as_array()) ids.emplace(f.at("file_id").as_string());
    return ids;
  }
  json::array ListPermissions(const Login& who, const std::string& query = "") {
    HttpResponse r = Http().Get("/api/owner/permissions" + query, who.access_token);
    EXPECT_EQ(r.status, 200) << query << ": " << r.Describe();
    return r.status == 200 ? Parse(r).at("permissions").as_array() : json::array();
  }
};

TEST_F(PermissionsTest, GrantAnswers201WithTheDocumentedObject) {
  std::string file = UploadOk(owner_, "granted.txt");
  ASSERT_FALSE(file.empty());
  json::object body = GrantBody(file, client_.email, 900);
  std::string expires = InFuture(std::chrono::hours(2));
  body["expires_at"] = expires;
  HttpResponse r = Grant(owner_, body);
  ASSERT_EQ(r.status, 201) << r.Describe();
  json::object p = Parse(r).as_object();
  EXPECT_TRUE(IsId(p.at("permission_id").as_string(), "prm_")) << r.body;
  EXPECT_EQ(p.at("file_id"), file.c_str());
  EXPECT_EQ(p.at("file_name"), "granted.txt");
  EXPECT_EQ(p.at("client_id"), client_.user_id.c_str());
  EXPECT_EQ(p.at("client_email"), client_.email.c_str());
  EXPECT_EQ(p.at("permissions"), ReadOnly());
  EXPECT_EQ(p.at("expires_at"), expires.c_str());
  EXPECT_EQ(p.at("max_duration_seconds"), 900);
  EXPECT_TRUE(IsTime(p.at("created_at").as_string()));
  EXPECT_TRUE(p.at("revoked_at").is_null());
  EXPECT_EQ(p.at("status"), "active");

  // Without expires_at it is null; the bounds 1 and 28800 are accepted.
  HttpResponse open = Grant(owner_, GrantBody(file, client2_.email, 28800));
  ASSERT_EQ(open.status, 201) << open.Describe();
  EXPECT_TRUE(Parse(open).at("expires_at").is_null());
  EXPECT_EQ(Parse(open).at("max_duration_seconds"), 28800);
  std::string other = UploadOk(owner_, "one-second.txt");
  HttpResponse one = Grant(owner_, GrantBody(other, client_.email, 1));
  EXPECT_EQ(one.status, 201) << one.Describe();
}

TEST_F(PermissionsTest, GrantValidation) {
  std::string file = UploadOk(owner_, "validate.txt");
  ASSERT_FALSE(file.empty());
  for (int64_t d : {0, -1, 28801, 1000000}) {
    ExpectStatus(Grant(owner_, GrantBody(file, client_.email, d)), 400, "InvalidInput",
                 "max_duration_seconds " + std::to_string(d));
  }
  for (const char* flag : {"write", "execute"}) {
    json::object body = GrantBody(file, client_.email);
    body["permissions"].as_object()[flag] = true;
    ExpectStatus(Grant(owner_, body), 400, "InvalidInput", std::string(flag) + " true");
  }
  const std::string bad_times[] = {FormatRfc3339(WallNow() - std::chrono::hours(1)),
                                   "1970-01-01T00:00:00Z",
                                   "tomorrow",
                                   "2030-13-01T00:00:00Z",
                                   "2030-01-01",
                                   "2030-01-01 10:00:00",
                                   ""};
  for (const auto& t : bad_times) {
    json::object body = GrantBody(file, client_.email);
    body["expires_at"] = t;
    ExpectStatus(Grant(owner_, body), 400, "InvalidInput", "expires_at '" + t + "'");
  }
  // Wrong types and missing fields.
  json::object t1 = GrantBody(file, client_.email);
  t1["expires_at"] = 12345;
  ExpectStatus(Grant(owner_, t1), 400, "InvalidInput", "expires_at a number");
  json::object t2 = GrantBody(file, client_.email);
  t2["max_duration_seconds"] = "60";
  ExpectStatus(Grant(owner_, t2), 400, "InvalidInput", "max_duration_seconds a string");
  json::object t3 = GrantBody(file, client_.email);
  t3["max_duration_seconds"] = 60.5;
  ExpectStatus(Grant(owner_, t3), 400, "InvalidInput", "max_duration_seconds fractional");
  json::object t4 = GrantBody(file, client_.email);
  t4["permissions"] = "read";
  ExpectStatus(Grant(owner_, t4), 400, "InvalidInput", "permissions a string");
  json::object t5 = GrantBody(file, client_.email);
  t5["permissions"].as_object()["read"] = "yes";
  ExpectStatus(Grant(owner_, t5), 400, "InvalidInput", "permissions.read a string");
  json::object t6 = GrantBody(file, client_.email);
  t6["file_id"] = 5;
  ExpectStatus(Grant(owner_, t6), 400, "InvalidInput", "file_id a number");
  json::object t7 = GrantBody(file, client_.email);
  t7["client_email"] = json::array{client_.email.c_str()};
  ExpectStatus(Grant(owner_, t7), 400, "InvalidInput", "client_email an array");
  for (const char* field : {"file_id", "client_email", "permissions", "max_duration_seconds"}) {
    json::object body = GrantBody(file, client_.email);
    body.erase(field);
    HttpResponse r = Grant(owner_, body);
    ExpectStatus(r, 400, "InvalidInput", std::string("missing ") + field);
    EXPECT_NE(r.ErrorMessage().find(field), std::string::npos)
        << "the message should name " << field << ": " << r.ErrorMessage();
  }
  json::object bad_id = GrantBody("fil_nope", client_.email);
  ExpectStatus(Grant(owner_, bad_id), 400, "InvalidInput", "malformed file_id");

  // Who and what.
  ExpectStatus(Grant(owner_, GrantBody(file, "nobody@example.com")), 404, "UserNotFound",
               "unknown client email");
  ExpectStatus(Grant(owner_, GrantBody(file, owner2_.email)), 404, "UserNotFound",
               "an owner, not a client");
  ExpectStatus(Grant(owner_, GrantBody(file, admin_.email)), 404, "UserNotFound",
               "an admin, not a client");
  std::string theirs = UploadOk(owner2_, "theirs.txt");
  ExpectStatus(Grant(owner_, GrantBody(theirs, client_.email)), 403, "Unauthorized",
               "another owner's file");
  ExpectStatus(Grant(owner_, GrantBody(OtherId(file), client_.email)), 404, "FileNotFound",
               "unknown file");
  std::string deleted = UploadOk(owner_, "deleted.txt");
  ASSERT_EQ(Http().Delete("/api/owner/files/" + deleted, owner_.access_token).status, 200);
  ExpectStatus(Grant(owner_, GrantBody(deleted, client_.email)), 404, "FileNotFound",
               "deleted file");

  // None of the refused grants exists.
  for (const auto& p : ListPermissions(owner_, "?file_id=" + file)) {
    ADD_FAILURE() << "a refused grant was stored: " << json::serialize(p);
  }
}

TEST_F(PermissionsTest, ListWithAndWithoutFileIdAndRevokeTwice) {
  Login owner = NewUser("perm-owner", {"owner"});
  std::string f1 = UploadOk(owner, "one.txt");
  std::string f2 = UploadOk(owner, "two.txt");
  std::string p1 = GrantOk(owner, f1, client_.email);
  std::string p2 = GrantOk(owner, f2, client_.email);
  std::string p3 = GrantOk(owner, f2, client2_.email);
  ASSERT_FALSE(p1.empty() || p2.empty() || p3.empty());

  std::set<std::string> all;
  for (const auto& p : ListPermissions(owner)) all.emplace(p.at("permission_id").as_string());
  EXPECT_EQ(all, (std::set<std::string>{p1, p2, p3}));
  std::set<std::string> of_f2;
  for (const auto& p : ListPermissions(owner, "?file_id=" + f2)) {
    EXPECT_EQ(p.at("file_id"), f2.c_str());
    of_f2.emplace(p.at("permission_id").as_string());
  }
  EXPECT_EQ(of_f2, (std::set<std::string>{p2, p3}));
  // Another owner sees none of them.
  for (const auto& p : ListPermissions(owner2_)) {
    EXPECT_FALSE(all.contains(std::string(p.at("permission_id").as_string())));
  }
  HttpResponse bad = Http().Get("/api/owner/permissions?file_id=nope", owner.access_token);
  EXPECT_EQ(bad.status, 400) << bad.Describe();

  // Another owner cannot revoke it.
  ExpectStatus(Http().Delete("/api/owner/permissions/" + p1, owner2_.access_token), 403,
               "Unauthorized", "another owner's permission");

  HttpResponse revoke = Http().Delete("/api/owner/permissions/" + p1, owner.access_token);
  ASSERT_EQ(revoke.status, 200) << revoke.Describe();
  json::object r = Parse(revoke).as_object();
  EXPECT_EQ(r.at("success"), true);
  EXPECT_EQ(r.at("permission_id"), p1.c_str());
  EXPECT_TRUE(IsTime(r.at("revoked_at").as_string()));
  ExpectStatus(Http().Delete("/api/owner/permissions/" + p1, owner.access_token), 404,
               "PermissionNotFound", "second revoke");
  ExpectStatus(Http().Delete("/api/owner/permissions/" + OtherId(p1), owner.access_token), 404,
               "PermissionNotFound", "unknown permission");
  ExpectStatus(Http().Delete("/api/owner/permissions/nope", owner.access_token), 400,
               "InvalidInput", "malformed permission id");
  ExpectStatus(Http().Delete("/api/owner/permissions/" + f1, owner.access_token), 400,
               "InvalidInput", "a file id as a permission id");

  for (const auto& p : ListPermissions(owner, "?file_id=" + f1)) {
    if (p.at("permission_id") == p1.c_str()) {
      EXPECT_EQ(p.at("status"), "revoked");
      EXPECT_TRUE(IsTime(p.at("revoked_at").as_string()));
    }
  }
}

TEST_F(PermissionsTest, ClientSeesExactlyThePermittedUnrevokedUndeletedFiles) {
  Login owner = NewUser("cl-owner", {"owner"});
  Login client = NewUser("cl-client", {"client"});
  Login other_client = NewUser("cl-other", {"client"});
  std::string kept = UploadOk(owner, "kept.txt");
  std::string revoked = UploadOk(owner, "revoked.txt");
  std::string deleted = UploadOk(owner, "deleted.txt");
  std::string never = UploadOk(owner, "never.txt");
  std::string others = UploadOk(owner, "others.txt");
  std::string p_kept = GrantOk(owner, kept, client.email);
  std::string p_revoked = GrantOk(owner, revoked, client.email);
  GrantOk(owner, deleted, client.email);
  GrantOk(owner, others, other_client.email);
  (void)never;

  EXPECT_EQ(ClientFileIds(client), (std::set<std::string>{kept, revoked, deleted}));
  ASSERT_EQ(Http().Delete("/api/owner/permissions/" + p_revoked, owner.access_token).status, 200);
  ASSERT_EQ(Http().Delete("/api/owner/files/" + deleted, owner.access_token).status, 200);
  EXPECT_EQ(ClientFileIds(client), (std::set<std::string>{kept}));
  EXPECT_EQ(ClientFileIds(other_client), (std::set<std::string>{others}));

  HttpResponse r = Http().Get("/api/client/files", client.access_token);
  ASSERT_EQ(r.status, 200);
  json::array files = Parse(r).at("files").as_array();
  ASSERT_EQ(files.size(), 1u);
  const json::object& f = files[0].as_object();
  EXPECT_EQ(f.at("file_id"), kept.c_str());
  EXPECT_EQ(f.at("file_name"), "kept.txt");
  EXPECT_EQ(f.at("file_size_bytes"), std::string("content of kept.txt").size());
  EXPECT_EQ(f.at("content_type"), "text/plain");
  EXPECT_EQ(f.at("permission_id"), p_kept.c_str());
  EXPECT_EQ(f.at("permissions"), ReadOnly());
  EXPECT_TRUE(f.at("expires_at").is_null());
  EXPECT_EQ(f.at("max_duration_seconds"), 3600);
  // The client list never carries the owner's checksum or storage details.
  EXPECT_EQ(r.body.find(owner.user_id + "/files"), std::string::npos);
}

TEST_F(PermissionsTest, DeletingAFileRevokesItsPermissions) {
  Login owner = NewUser("del-owner", {"owner"});
  Login client = NewUser("del-client", {"client"});
  std::string file = UploadOk(owner, "doomed.txt");
  std::string perm = GrantOk(owner, file, client.email);
  ASSERT_FALSE(perm.empty());
  ASSERT_EQ(Http().Delete("/api/owner/files/" + file, owner.access_token).status, 200);
  EXPECT_TRUE(ClientFileIds(client).empty());
  ExpectStatus(Http().Delete("/api/owner/permissions/" + perm, owner.access_token), 404,
               "PermissionNotFound", "revoking a permission its file's deletion revoked");
  for (const auto& p : ListPermissions(owner)) {
    if (p.at("permission_id") == perm.c_str()) {
      EXPECT_EQ(p.at("status"), "revoked") << json::serialize(p);
      EXPECT_FALSE(p.at("revoked_at").is_null());
    }
  }
}

}  // namespace
}  // namespace va::vaulttest
