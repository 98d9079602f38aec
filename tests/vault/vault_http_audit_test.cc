// The audit log against a real vaultd (spec §11, docs/vault-api.md "Audit"): after a scripted
// sequence of logins, user, file and permission changes and three refused authorizations, the
// admin log holds an entry for each with the documented shape; the filters (action, actor_id,
// resource_id, since/until), paging and newest-first order work; the owner's log shows only
// entries about the owner's own files; and no password or token appears in the audit log or in
// vaultd's own output.
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/sys.h"
#include "vault/vault_fixture.h"
#include "vault/vaultd_env.h"

namespace va::vaulttest {
namespace {

namespace json = boost::json;

json::value Parse(const HttpResponse& r) { return json::parse(r.body); }

std::string Str(const json::value& v, std::string_view key) {
  const auto* f = v.as_object().if_contains(key);
  return f != nullptr && f->is_string() ? std::string(f->as_string()) : std::string();
}

constexpr const char* kWrongPassword = "this-wrong-password-must-not-be-logged";

class AuditTest : public VaultSuite {
 protected:
  static void SetUpTestSuite() {
    StartServer();
    if (vaultd_) Script();
  }

  // The scripted sequence; failures here are reported by the tests through script_error_.
  static void Script() {
    HttpClient& http = vaultd_->Http();
    auto fail = [](const std::string& what, const HttpResponse& r) {
      script_error_ += what + ": " + r.Describe() + "\n";
    };
    HttpResponse r = http.PostJson(
        "/api/auth/login",
        json::serialize(json::object{{"email", owner_.email}, {"password", kWrongPassword}}));
    if (r.status != 401) fail("failed login", r);

    auto created = vaultd_->AddViaApiAndLogIn(admin_.access_token,
                                              {"audited@example.com", {"client"}, kPassword});
    if (!created) {
      script_error_ += created.error().message + "\n";
      return;
    }
    audited_ = *created;

    auto upload = [&](const Login& who, const std::string& name) {
      HttpResponse u =
          http.PostRaw("/api/owner/files?name=" + name, "audit me", "text/plain", who.access_token);
      if (u.status != 201) fail("upload " + name, u);
      return u.status == 201 ? Str(Parse(u), "file_id") : std::string();
    };
    file1_ = upload(owner_, "first.txt");
    file2_ = upload(owner_, "second.txt");
    theirs_ = upload(owner2_, "theirs.txt");

    HttpResponse g =
        http.PostJson("/api/owner/permissions",
                      json::serialize(json::object{
                          {"file_id", file1_},
                          {"client_email", client_.email},
                          {"permissions", {{"read", true}, {"write", false}, {"execute", false}}},
                          {"max_duration_seconds", 600}}),
                      owner_.access_token);
    if (g.status != 201) fail("grant", g);
    permission_ = g.status == 201 ? Str(Parse(g), "permission_id") : std::string();
    HttpResponse rv = http.Delete("/api/owner/permissions/" + permission_, owner_.access_token);
    if (rv.status != 200) fail("revoke", rv);
    HttpResponse del = http.Delete("/api/owner/files/" + file2_, owner_.access_token);
    if (del.status != 200) fail("delete", del);

    // Refused authorizations.
    HttpResponse role = http.Get("/api/admin/users", client_.access_token);
    if (role.status != 403) fail("wrong role", role);
    HttpResponse other = http.Get("/api/owner/files/" + file1_, owner2_.access_token);
    if (other.status != 403) fail("other owner's file", other);
    HttpResponse dis = http.PostJson("/api/admin/users/" + audited_.user_id + "/disable",
                                     R"({"reason":"audit test"})", admin_.access_token);
    if (dis.status != 200) fail("disable", dis);
    HttpResponse refused = http.Get("/api/client/files", audited_.access_token);
    if (refused.status != 401) fail("disabled user's request", refused);
  }

  void SetUp() override {
    VaultSuite::SetUp();
    ASSERT_TRUE(script_error_.empty()) << script_error_;
  }

  // Every entry of a query (all pages of 100), newest first as served.
  std::vector<json::value> Logs(const std::string& scope, const std::string& query,
                                const Login& who, std::string* raw = nullptr) {
    std::vector<json::value> out;
    for (int page = 1; page < 100; ++page) {
      std::string sep = query.empty() ? "" : "&";
      HttpResponse r = Http().Get("/api/" + scope + "/audit-logs?" + query + sep +
                                      "page_size=100&page=" + std::to_string(page),
                                  who.access_token);
      EXPECT_EQ(r.status, 200) << query << ": " << r.Describe();
      if (r.status != 200) break;
      if (raw != nullptr) *raw += r.body;
      json::object o = Parse(r).as_object();
      const json::array& logs = o.at("logs").as_array();
      for (const auto& e : logs) out.push_back(e);
      if (logs.empty() ||
          static_cast<int64_t>(out.size()) >= o.at("total_count").to_number<int64_t>()) {
        break;
      }
    }
    return out;
  }

  static bool Has(const std::vector<json::value>& logs, const std::string& action,
                  const std::string& resource_id = "", const std::string& result = "") {
    for (const auto& e : logs) {
      if (Str(e, "action") != action) continue;
      if (!resource_id.empty() && Str(e, "resource_id") != resource_id) continue;
      if (!result.empty() && Str(e, "result") != result) continue;
      return true;
    }
    return false;
  }

  static inline std::string script_error_;
  static inline Login audited_;
  static inline std::string file1_, file2_, theirs_, permission_;
};

TEST_F(AuditTest, EveryActionOfTheScriptIsLoggedWithTheDocumentedShape) {
  auto logs = Logs("admin", "", admin_);
  ASSERT_FALSE(logs.empty());
  for (const auto& e : logs) {
    const json::object& o = e.as_object();
    EXPECT_TRUE(IsId(o.at("id").as_string(), "aud_")) << json::serialize(o);
    EXPECT_TRUE(IsTime(o.at("timestamp").as_string())) << json::serialize(o);
    EXPECT_TRUE(o.at("actor_id").is_string() || o.at("actor_id").is_null());
    EXPECT_TRUE(o.at("actor_email").is_string() || o.at("actor_email").is_null());
    EXPECT_FALSE(Str(e, "action").empty());
    EXPECT_TRUE(o.at("resource_type").is_string() || o.at("resource_type").is_null());
    EXPECT_TRUE(o.at("resource_id").is_string() || o.at("resource_id").is_null());
    std::string result = Str(e, "result");
    EXPECT_TRUE(result == "Success" || result == "Denied" || result == "Failed") << result;
    EXPECT_TRUE(o.at("ip_address").is_string() || o.at("ip_address").is_null());
    EXPECT_TRUE(o.at("user_agent").is_string() || o.at("user_agent").is_null());
    EXPECT_TRUE(o.at("metadata").is_object()) << json::serialize(o);
  }
  EXPECT_TRUE(Has(logs, "LoginSucceeded"));
  EXPECT_TRUE(Has(logs, "LoginFailed"));
  EXPECT_TRUE(Has(logs, "UserCreated", audited_.user_id, "Success"));
  EXPECT_TRUE(Has(logs, "UserDisabled", audited_.user_id, "Success"));
  EXPECT_TRUE(Has(logs, "FileUploaded", file1_, "Success"));
  EXPECT_TRUE(Has(logs, "FileUploaded", file2_, "Success"));
  EXPECT_TRUE(Has(logs, "FileDeleted", file2_, "Success"));
  EXPECT_TRUE(Has(logs, "PermissionGranted", permission_, "Success"));
  EXPECT_TRUE(Has(logs, "PermissionRevoked", permission_, "Success"));

  // The request's address and user agent are recorded.
  for (const auto& e : logs) {
    if (Str(e, "action") == "FileUploaded" && Str(e, "resource_id") == file1_) {
      EXPECT_EQ(Str(e, "ip_address"), "127.0.0.1");
      EXPECT_EQ(Str(e, "user_agent"), "vault-http-test/1");
      EXPECT_EQ(Str(e, "actor_id"), owner_.user_id);
      EXPECT_EQ(Str(e, "actor_email"), owner_.email);
      EXPECT_EQ(Str(e, "resource_type"), "file") << json::serialize(e);
    }
  }
}

TEST_F(AuditTest, EachRefusedAuthorizationHasADeniedEntryNamingTheResource) {
  auto logs = Logs("admin", "", admin_);
  bool wrong_role = false, other_owner = false, disabled = false;
  for (const auto& e : logs) {
    if (Str(e, "result") != "Denied") continue;
    std::string actor = Str(e, "actor_id"), resource = Str(e, "resource_id");
    std::string type = Str(e, "resource_type");
    if (actor == client_.user_id && (!resource.empty() || !type.empty())) wrong_role = true;
    if (actor == owner2_.user_id && resource == file1_) other_owner = true;
    if (actor == audited_.user_id || resource == audited_.user_id) disabled = true;
  }
  EXPECT_TRUE(wrong_role) << "no Denied entry for the client calling GET /api/admin/users";
  EXPECT_TRUE(other_owner) << "no Denied entry naming " << file1_ << " for owner2";
  EXPECT_TRUE(disabled) << "no Denied entry for the disabled user's request";
}

TEST_F(AuditTest, FiltersPagingAndNewestFirst) {
  auto uploads = Logs("admin", "action=FileUploaded", admin_);
  ASSERT_GE(uploads.size(), 3u);
  int first_at = -1, second_at = -1;
  for (size_t i = 0; i < uploads.size(); ++i) {
    EXPECT_EQ(Str(uploads[i], "action"), "FileUploaded");
    if (Str(uploads[i], "resource_id") == file1_) first_at = static_cast<int>(i);
    if (Str(uploads[i], "resource_id") == file2_) second_at = static_cast<int>(i);
  }
  ASSERT_GE(first_at, 0);
  ASSERT_GE(second_at, 0);
  EXPECT_LT(second_at, first_at) << "newest first: second.txt was uploaded after first.txt";

  auto all = Logs("admin", "", admin_);
  for (size_t i = 1; i < all.size(); ++i) {
    auto prev = ParseRfc3339(Str(all[i - 1], "timestamp"));
    auto cur = ParseRfc3339(Str(all[i], "timestamp"));
    ASSERT_TRUE(prev && cur);
    EXPECT_GE(*prev, *cur) << "entry " << i << " is newer than entry " << i - 1;
  }

  for (const auto& e : Logs("admin", "actor_id=" + owner2_.user_id, admin_)) {
    EXPECT_EQ(Str(e, "actor_id"), owner2_.user_id);
  }
  auto about_file1 = Logs("admin", "resource_id=" + file1_, admin_);
  EXPECT_TRUE(Has(about_file1, "FileUploaded", file1_));
  for (const auto& e : about_file1) EXPECT_EQ(Str(e, "resource_id"), file1_);
  auto combined = Logs("admin", "action=FileUploaded&actor_id=" + owner2_.user_id, admin_);
  ASSERT_EQ(combined.size(), 1u);
  EXPECT_EQ(Str(combined[0], "resource_id"), theirs_);

  std::set<std::string> all_ids;
  for (const auto& e : all) all_ids.insert(Str(e, "id"));
  // Entries written after `all` was read (if any) may show up too: compare as sets.
  auto ids_of = [&](const std::string& query) {
    std::set<std::string> ids;
    for (const auto& e : Logs("admin", query, admin_)) ids.insert(Str(e, "id"));
    return ids;
  };
  auto includes_all = [&](const std::set<std::string>& ids) {
    return std::includes(ids.begin(), ids.end(), all_ids.begin(), all_ids.end());
  };
  std::string hour_ago = FormatRfc3339(WallNow() - std::chrono::hours(1));
  std::string in_an_hour = FormatRfc3339(WallNow() + std::chrono::hours(1));
  EXPECT_TRUE(includes_all(ids_of("since=" + hour_ago)));
  EXPECT_TRUE(includes_all(ids_of("until=" + in_an_hour)));
  EXPECT_TRUE(includes_all(ids_of("since=" + hour_ago + "&until=" + in_an_hour)));
  EXPECT_TRUE(Logs("admin", "since=" + in_an_hour, admin_).empty());
  EXPECT_TRUE(Logs("admin", "until=2000-01-01T00:00:00Z", admin_).empty());
  // since and until are bounds on the entry's timestamp, inclusive.
  std::string newest = Str(all.front(), "timestamp");
  std::string oldest = Str(all.back(), "timestamp");
  auto since_newest = Logs("admin", "since=" + newest, admin_);
  EXPECT_FALSE(since_newest.empty());
  for (const auto& e : since_newest)
    EXPECT_GE(*ParseRfc3339(Str(e, "timestamp")), *ParseRfc3339(newest));
  auto until_oldest = Logs("admin", "until=" + oldest, admin_);
  EXPECT_FALSE(until_oldest.empty());
  for (const auto& e : until_oldest)
    EXPECT_LE(*ParseRfc3339(Str(e, "timestamp")), *ParseRfc3339(oldest));

  // Pages of 3 split the log without overlap and report the same total.
  std::set<std::string> seen;
  int64_t total = -1;
  for (int page = 1; page <= 3; ++page) {
    HttpResponse r = Http().Get("/api/admin/audit-logs?page_size=3&page=" + std::to_string(page),
                                admin_.access_token);
    ASSERT_EQ(r.status, 200) << r.Describe();
    json::object o = Parse(r).as_object();
    EXPECT_EQ(o.at("page"), page);
    EXPECT_EQ(o.at("page_size"), 3);
    if (total < 0) total = o.at("total_count").to_number<int64_t>();
    EXPECT_GE(o.at("total_count").to_number<int64_t>(), total);
    EXPECT_EQ(o.at("logs").as_array().size(), 3u);
    for (const auto& e : o.at("logs").as_array()) {
      EXPECT_TRUE(seen.emplace(Str(e, "id")).second) << "entry on two pages";
    }
  }
  for (const char* bad : {"page_size=0", "page_size=101", "page=0", "since=yesterday",
                          "until=2026-02-30T25:00:00Z", "since=2026-01-01"}) {
    HttpResponse r = Http().Get(std::string("/api/admin/audit-logs?") + bad, admin_.access_token);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.Describe();
  }
}

TEST_F(AuditTest, TheOwnersLogShowsOnlyTheirOwnFiles) {
  auto logs = Logs("owner", "", owner_);
  EXPECT_TRUE(Has(logs, "FileUploaded", file1_));
  EXPECT_TRUE(Has(logs, "FileDeleted", file2_));
  EXPECT_TRUE(Has(logs, "PermissionGranted", permission_));
  std::set<std::string> mine = {file1_, file2_, permission_, owner_.user_id};
  for (const auto& e : logs) {
    std::string resource = Str(e, "resource_id");
    EXPECT_NE(resource, theirs_) << "another owner's file in the log: " << json::serialize(e);
    EXPECT_NE(resource, audited_.user_id) << json::serialize(e);
    EXPECT_TRUE(mine.contains(resource) || Str(e, "actor_id") == owner_.user_id)
        << "not about the owner's files: " << json::serialize(e);
  }
  EXPECT_TRUE(Logs("owner", "resource_id=" + theirs_, owner_).empty());
  EXPECT_TRUE(Logs("owner", "actor_id=" + admin_.user_id, owner_).empty());
  auto theirs = Logs("owner", "", owner2_);
  EXPECT_TRUE(Has(theirs, "FileUploaded", theirs_));
  EXPECT_FALSE(Has(theirs, "FileUploaded", file1_));
}

TEST_F(AuditTest, NoPasswordOrTokenAppearsInTheAuditLogOrVaultdOutput) {
  std::string raw;
  Logs("admin", "", admin_, &raw);
  ASSERT_FALSE(raw.empty());
  std::string output = vaultd_->Output();
  std::vector<std::pair<std::string, std::string>> secrets = {{"password", kPassword},
                                                              {"wrong password", kWrongPassword}};
  for (const Login* l : {&admin_, &owner_, &owner2_, &client_, &client2_, &audited_}) {
    secrets.emplace_back("access token of " + l->email, l->access_token);
    secrets.emplace_back("refresh token of " + l->email, l->refresh_token);
    // The signature alone identifies a token as well.
    secrets.emplace_back("token signature of " + l->email,
                         l->access_token.substr(l->access_token.rfind('.') + 1));
  }
  auto key_hex = ReadSmallFile(vaultd_->DataDir() + "/jwt.key");
  ASSERT_TRUE(key_hex.has_value());
  secrets.emplace_back("signing key", key_hex->substr(0, 128));
  for (const auto& [what, secret] : secrets) {
    ASSERT_FALSE(secret.empty()) << what;
    EXPECT_EQ(raw.find(secret), std::string::npos) << what << " in the audit log";
    EXPECT_EQ(output.find(secret), std::string::npos) << what << " in vaultd's output";
  }
  // The file content neither.
  EXPECT_EQ(raw.find("audit me"), std::string::npos);
}

}  // namespace
}  // namespace va::vaulttest
