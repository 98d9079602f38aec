// Admin user management against a real vaultd (docs/vault-api.md "Users"): create (201 user
// object), duplicate email in any case, validation of email, roles and password, paging of the
// list, and disable/enable of unknown or malformed ids.
#include <boost/json.hpp>
#include <set>
#include <string>

#include "vault/vault_fixture.h"
#include "vault/vaultd_env.h"

namespace va::vaulttest {
namespace {

namespace json = boost::json;

json::value Parse(const HttpResponse& r) { return json::parse(r.body); }

std::string UserBody(const std::string& email, json::array roles, const std::string& password) {
  return json::serialize(
      json::object{{"email", email}, {"roles", std::move(roles)}, {"password", password}});
}

void ExpectUserObject(const json::object& u) {
  EXPECT_TRUE(IsId(u.at("user_id").as_string(), "usr_")) << json::serialize(u);
  EXPECT_TRUE(u.at("email").is_string());
  EXPECT_TRUE(u.at("roles").is_array());
  EXPECT_TRUE(u.at("status") == "active" || u.at("status") == "disabled") << json::serialize(u);
  EXPECT_TRUE(IsTime(u.at("created_at").as_string())) << json::serialize(u);
  EXPECT_TRUE(u.at("disabled_at").is_null() || IsTime(u.at("disabled_at").as_string()));
}

class AdminUsersTest : public VaultSuite {
 protected:
  HttpResponse Create(const std::string& body) {
    return Http().PostJson("/api/admin/users", body, admin_.access_token);
  }
  void ExpectInvalid(const std::string& body, const std::string& what) {
    HttpResponse r = Create(body);
    EXPECT_EQ(r.status, 400) << what << ": " << r.Describe();
    EXPECT_EQ(r.ErrorCode(), "InvalidInput") << what << ": " << r.Describe();
  }
};

TEST_F(AdminUsersTest, CreateAnswers201WithTheUserObjectAndTheUserCanLogIn) {
  HttpResponse r = Create(UserBody("new.user@example.com", {"owner", "client"}, kPassword));
  ASSERT_EQ(r.status, 201) << r.Describe();
  json::object u = Parse(r).as_object();
  ExpectUserObject(u);
  EXPECT_EQ(u.at("email"), "new.user@example.com");
  std::set<std::string> roles;
  for (const auto& role : u.at("roles").as_array()) roles.emplace(role.as_string());
  EXPECT_EQ(roles, (std::set<std::string>{"owner", "client"}));
  EXPECT_EQ(u.at("status"), "active");
  EXPECT_TRUE(u.at("disabled_at").is_null());
  auto login = vaultd_->LogIn("new.user@example.com", kPassword);
  ASSERT_TRUE(login.has_value()) << login.error().message;
  EXPECT_EQ(login->user_id, std::string(u.at("user_id").as_string()));
  // The answer never carries the password or its hash.
  EXPECT_EQ(r.body.find(kPassword), std::string::npos);
  EXPECT_EQ(r.body.find("argon2"), std::string::npos);
}

TEST_F(AdminUsersTest, DuplicateEmailInAnyCaseIs409) {
  ASSERT_EQ(Create(UserBody("dup@example.com", {"client"}, kPassword)).status, 201);
  for (const char* email : {"dup@example.com", "DUP@example.com", "Dup@Example.COM"}) {
    HttpResponse r = Create(UserBody(email, {"client"}, kPassword));
    EXPECT_EQ(r.status, 409) << email << ": " << r.Describe();
    EXPECT_EQ(r.ErrorCode(), "EmailAlreadyExists") << email;
  }
  // Users made by vaultctl count too.
  HttpResponse r = Create(UserBody("OWNER@example.com", {"client"}, kPassword));
  EXPECT_EQ(r.status, 409) << r.Describe();
}

TEST_F(AdminUsersTest, BadEmailRolesOrPasswordIs400) {
  for (const char* email :
       {"", "not-an-email", "a@", "@example.com", "a b@example.com", "two@@example.com"}) {
    ExpectInvalid(UserBody(email, {"client"}, kPassword), std::string("email '") + email + "'");
  }
  ExpectInvalid(UserBody("roles1@example.com", {}, kPassword), "no roles");
  ExpectInvalid(UserBody("roles2@example.com", {"superuser"}, kPassword), "unknown role");
  ExpectInvalid(UserBody("roles3@example.com", {"Owner"}, kPassword), "role in the wrong case");
  ExpectInvalid(UserBody("roles4@example.com", {1}, kPassword), "role not a string");
  ExpectInvalid(UserBody("pw1@example.com", {"client"}, ""), "empty password");
  ExpectInvalid(UserBody("pw2@example.com", {"client"}, "abc"), "3-character password");
  // Wrong types and missing fields.
  ExpectInvalid(R"({"email": 5, "roles": ["client"], "password": "long enough password"})",
                "email a number");
  ExpectInvalid(R"({"email": "t1@example.com", "roles": "client", "password": "long enough pw"})",
                "roles a string");
  ExpectInvalid(R"({"email": "t2@example.com", "roles": ["client"], "password": 12345678901})",
                "password a number");
  ExpectInvalid(R"({"roles": ["client"], "password": "long enough password"})", "no email");
  ExpectInvalid(R"({"email": "t3@example.com", "password": "long enough password"})", "no roles");
  ExpectInvalid(R"({"email": "t4@example.com", "roles": ["client"]})", "no password");
  // Nothing of the above was created.
  for (const char* email : {"roles1@example.com", "roles2@example.com", "pw1@example.com",
                            "pw2@example.com", "t1@example.com"}) {
    HttpResponse login = Http().PostJson(
        "/api/auth/login",
        json::serialize(json::object{{"email", email}, {"password", "long enough password"}}));
    EXPECT_EQ(login.status, 401) << email;
  }
}

TEST_F(AdminUsersTest, ListPagesWithTotalCount) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(
        Create(UserBody("page" + std::to_string(i) + "@example.com", {"client"}, kPassword)).status,
        201);
  }
  HttpResponse all = Http().Get("/api/admin/users?page=1&page_size=100", admin_.access_token);
  ASSERT_EQ(all.status, 200) << all.Describe();
  json::object a = Parse(all).as_object();
  int64_t total = a.at("total_count").to_number<int64_t>();
  EXPECT_EQ(a.at("page"), 1);
  EXPECT_EQ(a.at("page_size"), 100);
  const json::array& users = a.at("users").as_array();
  EXPECT_EQ(static_cast<int64_t>(users.size()), total);
  EXPECT_GE(total, 8);  // five from vaultctl, three here (others may add more)
  std::set<std::string> ids;
  for (const auto& u : users) {
    ExpectUserObject(u.as_object());
    ids.emplace(u.at("user_id").as_string());
  }
  EXPECT_TRUE(ids.contains(admin_.user_id));
  EXPECT_TRUE(ids.contains(client2_.user_id));

  // Pages of two cover the same users once each.
  std::set<std::string> paged;
  int64_t pages = (total + 1) / 2;
  for (int64_t p = 1; p <= pages; ++p) {
    HttpResponse r = Http().Get("/api/admin/users?page=" + std::to_string(p) + "&page_size=2",
                                admin_.access_token);
    ASSERT_EQ(r.status, 200) << r.Describe();
    json::object o = Parse(r).as_object();
    EXPECT_EQ(o.at("page"), p);
    EXPECT_EQ(o.at("page_size"), 2);
    EXPECT_GE(o.at("total_count").to_number<int64_t>(), total);
    for (const auto& u : o.at("users").as_array()) {
      EXPECT_TRUE(paged.emplace(u.at("user_id").as_string()).second)
          << "user on two pages: " << u.at("user_id");
    }
  }
  for (const auto& id : ids) EXPECT_TRUE(paged.contains(id)) << id << " on no page";
  // A page past the end is empty, not an error.
  HttpResponse past = Http().Get("/api/admin/users?page=1000&page_size=2", admin_.access_token);
  ASSERT_EQ(past.status, 200) << past.Describe();
  EXPECT_TRUE(Parse(past).at("users").as_array().empty());
  // Defaults.
  HttpResponse def = Http().Get("/api/admin/users", admin_.access_token);
  ASSERT_EQ(def.status, 200);
  EXPECT_EQ(Parse(def).at("page"), 1);
  EXPECT_EQ(Parse(def).at("page_size"), 20);
}

TEST_F(AdminUsersTest, BadPagingIs400) {
  for (const char* q : {"page_size=0", "page_size=101", "page=0", "page=-1", "page=abc",
                        "page_size=1.5", "page_size=99999999999999999999"}) {
    HttpResponse r = Http().Get(std::string("/api/admin/users?") + q, admin_.access_token);
    EXPECT_EQ(r.status, 400) << q << ": " << r.Describe();
    EXPECT_EQ(r.ErrorCode(), "InvalidInput") << q;
  }
  HttpResponse max = Http().Get("/api/admin/users?page_size=100", admin_.access_token);
  EXPECT_EQ(max.status, 200) << max.Describe();
  HttpResponse min = Http().Get("/api/admin/users?page_size=1", admin_.access_token);
  EXPECT_EQ(min.status, 200) << min.Describe();
}

TEST_F(AdminUsersTest, DisableOrEnableUnknownUserIs404AndBadIdIs400) {
  std::string unknown = OtherId(client_.user_id);
  ASSERT_TRUE(IsId(unknown, "usr_"));
  for (const char* action : {"disable", "enable"}) {
    HttpResponse r =
        Http().PostJson("/api/admin/users/" + unknown + "/" + action, "{}", admin_.access_token);
    EXPECT_EQ(r.status, 404) << action << ": " << r.Describe();
    EXPECT_EQ(r.ErrorCode(), "UserNotFound") << action;
    std::string body_of_file_id = "fil_" + client_.user_id.substr(4);
    for (const std::string& bad :
         {std::string("nope"), std::string("usr_"), body_of_file_id, client_.user_id + "0",
          client_.user_id.substr(0, client_.user_id.size() - 1),
          std::string("usr_!!!!!!!!!!!!!!!!!!!!!!!!!!")}) {
      HttpResponse b =
          Http().PostJson("/api/admin/users/" + bad + "/" + action, "{}", admin_.access_token);
      EXPECT_EQ(b.status, 400) << action << " " << bad << ": " << b.Describe();
      EXPECT_EQ(b.ErrorCode(), "InvalidInput") << action << " " << bad;
    }
    // An encoded dot segment never reaches storage (400 or, per the brief, 404).
    HttpResponse dots = Http().PostJson("/api/admin/users/%2e%2e/" + std::string(action), "{}",
                                        admin_.access_token);
    EXPECT_TRUE(dots.status == 400 || dots.status == 404) << dots.Describe();
  }
  // The reason is optional: no body at all works too.
  Login user = NewUser("noreason", {"client"});
  HttpResponse r = Http().Send({.method = "POST",
                                .target = "/api/admin/users/" + user.user_id + "/disable",
                                .bearer = admin_.access_token});
  EXPECT_EQ(r.status, 200) << r.Describe();
  HttpResponse e = Http().Send({.method = "POST",
                                .target = "/api/admin/users/" + user.user_id + "/enable",
                                .bearer = admin_.access_token});
  EXPECT_EQ(e.status, 200) << e.Describe();
}

}  // namespace
}  // namespace va::vaulttest
