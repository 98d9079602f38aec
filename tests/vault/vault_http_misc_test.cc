// Malformed input and health endpoints against a real vaultd (docs/vault-api.md "Limits and
// validation", "Health"): bad JSON, non-object bodies, wrong types naming the field, a JSON body
// over 64 KiB (413), a request head over 16 KiB (400), garbage request lines, unknown endpoints
// (404) and wrong methods (405), and /healthz, /readyz, /metrics.
#include <boost/json.hpp>
#include <string>

#include "vault/vault_fixture.h"
#include "vault/vaultd_env.h"

namespace va::vaulttest {
namespace {

namespace json = boost::json;

json::value Parse(const HttpResponse& r) { return json::parse(r.body); }

class MalformedInputTest : public VaultSuite {
 protected:
  void ExpectInvalid(const HttpResponse& r, const std::string& what,
                     const std::string& field = "") {
    EXPECT_EQ(r.status, 400) << what << ": " << r.Describe();
    EXPECT_EQ(r.ErrorCode(), "InvalidInput") << what << ": " << r.Describe();
    EXPECT_FALSE(r.ErrorMessage().empty()) << what;
    if (!field.empty()) {
      EXPECT_NE(r.ErrorMessage().find(field), std::string::npos)
          << what << ": the message should name '" << field << "': " << r.ErrorMessage();
    }
  }
};

TEST_F(MalformedInputTest, BadJsonAndNonObjectBodies) {
  for (const char* body : {"{", "not json", "", "{\"email\":", "[]", "[{\"email\":\"a\"}]",
                           "\"string\"", "null", "123", "{\"email\":\"a\",}", "{'email':'a'}"}) {
    ExpectInvalid(Http().PostJson("/api/auth/login", body),
                  std::string("login body '") + body + "'");
  }
  ExpectInvalid(Http().PostJson("/api/owner/permissions", "[]", owner_.access_token),
                "grant body []");
  ExpectInvalid(Http().PostJson("/api/admin/users", "{", admin_.access_token), "user body {");
  // The connection is still usable after errors.
  EXPECT_EQ(Http().Get("/api/owner/files", owner_.access_token).status, 200);
}

TEST_F(MalformedInputTest, WrongTypesInLoginNameTheField) {
  ExpectInvalid(Http().PostJson("/api/auth/login", R"({"email": 1, "password": "x"})"),
                "email a number", "email");
  ExpectInvalid(Http().PostJson("/api/auth/login", R"({"email": null, "password": "x"})"),
                "email null", "email");
  ExpectInvalid(Http().PostJson("/api/auth/login", R"({"email": ["a@b.c"], "password": "x"})"),
                "email an array", "email");
  ExpectInvalid(
      Http().PostJson("/api/auth/login", R"({"email": "owner@example.com", "password": true})"),
      "password a bool", "password");
  ExpectInvalid(
      Http().PostJson("/api/auth/login", R"({"email": "owner@example.com", "password": {}})"),
      "password an object", "password");
  ExpectInvalid(Http().PostJson("/api/auth/login", R"({"password": "x"})"), "no email", "email");
  ExpectInvalid(Http().PostJson("/api/auth/login", R"({"email": "owner@example.com"})"),
                "no password", "password");
  // Unknown fields are ignored.
  HttpResponse extra = Http().PostJson(
      "/api/auth/login",
      json::serialize(json::object{{"email", owner_.email}, {"password", kPassword}, {"x", 1}}));
  EXPECT_EQ(extra.status, 200) << extra.Describe();
}

TEST_F(MalformedInputTest, JsonBodyOver64KiBIs413) {
  std::string pad(70 * size_t{1024}, 'p');
  std::string body = json::serialize(
      json::object{{"email", "nobody@example.com"}, {"password", "x"}, {"pad", pad}});
  HttpResponse big = Http().PostJson("/api/auth/login", body);
  EXPECT_EQ(big.status, 413) << big.Describe();
  EXPECT_EQ(big.ErrorCode(), "PayloadTooLarge") << big.Describe();
  HttpResponse grant = Http().PostJson(
      "/api/owner/permissions", json::serialize(json::object{{"file_id", "x"}, {"pad", pad}}),
      owner_.access_token);
  EXPECT_EQ(grant.status, 413) << grant.Describe();
  // Just under the limit is read and judged on its content (unknown fields ignored).
  std::string under = json::serialize(json::object{{"email", "nobody@example.com"},
                                                   {"password", "x"},
                                                   {"pad", std::string(60 * size_t{1024}, 'p')}});
  HttpResponse ok = Http().PostJson("/api/auth/login", under);
  EXPECT_EQ(ok.status, 401) << ok.Describe();
}

TEST_F(MalformedInputTest, RequestHeadOver16KiBIs400) {
  HttpResponse big_header =
      Http().Send({.target = "/api/owner/files",
                   .headers = {"X-Pad: " + std::string(17 * size_t{1024}, 'h')},
                   .bearer = owner_.access_token});
  EXPECT_EQ(big_header.status, 400) << big_header.Describe();
  EXPECT_EQ(big_header.ErrorCode(), "InvalidInput") << big_header.Describe();
  HttpResponse long_url =
      Http().Get("/api/owner/files?x=" + std::string(17 * size_t{1024}, 'u'), owner_.access_token);
  EXPECT_EQ(long_url.status, 400) << long_url.Describe();
  // Many small headers adding up to more than 16 KiB.
  HttpRequest many{.target = "/api/owner/files", .bearer = owner_.access_token};
  for (int i = 0; i < 40; ++i) {
    many.headers.push_back("X-Pad-" + std::to_string(i) + ": " + std::string(500, 'm'));
  }
  EXPECT_EQ(Http().Send(many).status, 400);
  // A head well under the limit is fine.
  HttpResponse fine = Http().Send({.target = "/api/owner/files",
                                   .headers = {"X-Pad: " + std::string(8 * size_t{1024}, 'h')},
                                   .bearer = owner_.access_token});
  EXPECT_EQ(fine.status, 200) << fine.Describe();
}

TEST_F(MalformedInputTest, GarbageOnTheWireGets400AndTheServerCarriesOn) {
  for (const std::string& bytes :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
        std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)}) {
    auto response = RawExchange(vaultd_->Port(), bytes, std::chrono::seconds(5));
    ASSERT_TRUE(response.has_value()) << response.error().message;
    int status = RawStatus(*response);
    EXPECT_TRUE(status == 400 || status == 0 || status == 505)
        << UrlEncode(bytes) << " → " << response->substr(0, 200);
  }
  EXPECT_EQ(Http().Get("/healthz").status, 200);
}

TEST_F(MalformedInputTest, UnknownEndpointIs404AndWrongMethodIs405) {
  for (const char* target : {"/api/nope", "/api/owner/nope", "/nope", "/api/owner/files/x/y",
                             "/api/admin/users/usr_0123456789abcdefghjkmnpqrs/nope"}) {
    HttpResponse r = Http().Get(target, owner_.access_token);
    EXPECT_EQ(r.status, 404) << target << ": " << r.Describe();
    EXPECT_FALSE(r.ErrorCode().empty()) << target << ": not the error format: " << r.body;
  }
  struct Case {
    const char* method;
    const char* target;
    const Login* who;
  };
  const Case cases[] = {
      {"PUT", "/api/owner/files", &owner_},    {"PATCH", "/api/owner/files", &owner_},
      {"GET", "/api/auth/login", nullptr},     {"DELETE", "/api/auth/login", nullptr},
      {"PUT", "/api/admin/users", &admin_},    {"DELETE", "/api/admin/users", &admin_},
      {"POST", "/api/client/files", &client_}, {"POST", "/healthz", nullptr},
      {"GET", "/api/auth/refresh", nullptr},   {"PUT", "/api/owner/permissions", &owner_},
  };
  for (const Case& c : cases) {
    HttpRequest request{.method = c.method, .target = c.target};
    if (c.who != nullptr) request.bearer = c.who->access_token;
    HttpResponse r = Http().Send(request);
    EXPECT_EQ(r.status, 405) << c.method << " " << c.target << ": " << r.Describe();
    EXPECT_FALSE(r.ErrorCode().empty()) << c.method << " " << c.target << ": " << r.body;
  }
}

// ---------------------------------------------------------------------------------------------

class HealthTest : public VaultSuite {};

TEST_F(HealthTest, HealthzReadyzAndMetrics) {
  HttpResponse h = Http().Get("/healthz");
  ASSERT_EQ(h.status, 200) << h.Describe();
  EXPECT_EQ(Parse(h), (json::object{{"status", "ok"}}));

  HttpResponse r = Http().Get("/readyz");
  ASSERT_EQ(r.status, 200) << r.Describe();
  json::object ready = Parse(r).as_object();
  EXPECT_EQ(ready.at("status"), "ready");
  EXPECT_EQ(ready.at("checks").at("database"), "ok");

  // Make sure a few requests were counted, then read the counters.
  EXPECT_EQ(Http().Get("/api/owner/files", owner_.access_token).status, 200);
  EXPECT_EQ(Http().Get("/api/owner/files").status, 401);
  HttpResponse m = Http().Get("/metrics");
  ASSERT_EQ(m.status, 200) << m.Describe();
  auto type = m.Header("Content-Type");
  ASSERT_TRUE(type.has_value());
  EXPECT_EQ(type->rfind("text/plain", 0), 0u) << *type;
  EXPECT_NE(m.body.find("vault_http_requests_total"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("vault_http_requests_total{"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("code=\"200\""), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("code=\"401\""), std::string::npos) << m.body;
}

}  // namespace
}  // namespace va::vaulttest
