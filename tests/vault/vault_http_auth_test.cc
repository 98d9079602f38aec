// Authentication against a real vaultd (docs/vault-api.md "Auth", spec §4): the login shape and
// its JWT, the same 401 for a wrong password and an unknown email, refresh rotation with reuse
// detection, logout, the token matrix on a protected endpoint (none, malformed, garbage,
// tampered, expired and foreign-key tokens forged with OpenSSL, alg "none", wrong role), a
// disabled user's live token, and the per-account login rate limit.
#include <sys/stat.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "vault/vault_fixture.h"
#include "vault/vaultd_env.h"

namespace va::vaulttest {
namespace {

namespace json = boost::json;

json::value Parse(const HttpResponse& r) { return json::parse(r.body); }

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string LoginBody(const std::string& email, const std::string& password) {
  return json::serialize(json::object{{"email", email}, {"password", password}});
}

std::string RefreshBody(const std::string& token) {
  return json::serialize(json::object{{"refresh_token", token}});
}

// The JSON of one part of a JWT.
json::object JwtPart(const std::string& token, int index) {
  size_t start = 0;
  for (int i = 0; i < index; ++i) start = token.find('.', start) + 1;
  size_t end = token.find('.', start);
  auto decoded = Base64UrlDecode(token.substr(start, end - start));
  EXPECT_TRUE(decoded.has_value()) << token;
  return json::parse(decoded.value_or("{}")).as_object();
}

std::string JwtSignature(const std::string& token) { return token.substr(token.rfind('.') + 1); }

// Checks the login/refresh answer shape and returns it.
void ExpectTokenShape(const HttpResponse& r, const Login& who, const std::string& role) {
  ASSERT_EQ(r.status, 200) << r.Describe();
  json::object o = Parse(r).as_object();
  ASSERT_TRUE(o.at("access_token").is_string());
  ASSERT_TRUE(o.at("refresh_token").is_string());
  EXPECT_FALSE(o.at("refresh_token").as_string().empty());
  EXPECT_EQ(o.at("token_type"), "Bearer");
  EXPECT_EQ(o.at("expires_in"), 900);
  const json::object& user = o.at("user").as_object();
  EXPECT_EQ(user.at("id"), who.user_id.c_str());
  EXPECT_EQ(user.at("email"), who.email.c_str());
  EXPECT_EQ(user.at("roles"), (json::array{role.c_str()}));
}

class AuthTest : public VaultSuite {};

TEST_F(AuthTest, LoginAnswersTheDocumentedShapeAndAnHs256Jwt) {
  HttpResponse r = Http().PostJson("/api/auth/login", LoginBody(owner_.email, kPassword));
  ExpectTokenShape(r, owner_, "owner");
  std::string token(Parse(r).at("access_token").as_string());
  json::object header = JwtPart(token, 0);
  EXPECT_EQ(header.at("alg"), "HS256");
  EXPECT_EQ(header.at("typ"), "JWT");
  json::object claims = JwtPart(token, 1);
  EXPECT_EQ(claims.at("sub"), owner_.user_id.c_str());
  EXPECT_EQ(claims.at("roles"), (json::array{"owner"}));
  ASSERT_TRUE(claims.at("iat").is_int64() || claims.at("iat").is_uint64());
  ASSERT_TRUE(claims.at("exp").is_int64() || claims.at("exp").is_uint64());
  EXPECT_EQ(claims.at("exp").to_number<int64_t>() - claims.at("iat").to_number<int64_t>(), 900);
  EXPECT_NEAR(static_cast<double>(claims.at("iat").to_number<int64_t>()),
              static_cast<double>(NowSeconds()), 60.0);
  ASSERT_TRUE(claims.at("jti").is_string());
  EXPECT_FALSE(claims.at("jti").as_string().empty());
  // The fresh token works.
  EXPECT_EQ(Http().Get("/api/owner/files", token).status, 200);
}

TEST_F(AuthTest, SigningKeyIsMadeOnFirstStartWithMode0600) {
  std::string path = vaultd_->DataDir() + "/jwt.key";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto key = ReadJwtKey(path);
  ASSERT_TRUE(key.has_value()) << key.error().message;
  EXPECT_EQ(key->size(), 64u);
}

TEST_F(AuthTest, WrongPasswordAndUnknownEmailGetTheSame401) {
  Login user = NewUser("wrongpw", {"client"});
  HttpResponse wrong = Http().PostJson("/api/auth/login", LoginBody(user.email, "not it at all"));
  HttpResponse unknown =
      Http().PostJson("/api/auth/login", LoginBody("nobody-here@example.com", kPassword));
  EXPECT_EQ(wrong.status, 401) << wrong.Describe();
  EXPECT_EQ(unknown.status, 401) << unknown.Describe();
  EXPECT_EQ(wrong.ErrorCode(), "Unauthenticated") << wrong.Describe();
  EXPECT_EQ(unknown.ErrorCode(), "Unauthenticated") << unknown.Describe();
  EXPECT_FALSE(wrong.ErrorMessage().empty());
  EXPECT_EQ(wrong.ErrorMessage(), unknown.ErrorMessage());
  EXPECT_EQ(wrong.body, unknown.body);
}

TEST_F(AuthTest, RefreshRotatesAndAReusedTokenRevokesTheFamily) {
  Login user = NewUser("refresh", {"client"});
  HttpResponse first = Http().PostJson("/api/auth/refresh", RefreshBody(user.refresh_token));
  ExpectTokenShape(first, user, "client");
  json::object pair = Parse(first).as_object();
  std::string access2(pair.at("access_token").as_string());
  std::string refresh2(pair.at("refresh_token").as_string());
  EXPECT_NE(refresh2, user.refresh_token);
  EXPECT_EQ(Http().Get("/api/client/files", access2).status, 200);

  // Reusing the rotated-out token is refused and kills the whole family.
  HttpResponse reuse = Http().PostJson("/api/auth/refresh", RefreshBody(user.refresh_token));
  EXPECT_EQ(reuse.status, 401) << reuse.Describe();
  EXPECT_EQ(reuse.ErrorCode(), "Unauthenticated");
  HttpResponse after = Http().PostJson("/api/auth/refresh", RefreshBody(refresh2));
  EXPECT_EQ(after.status, 401) << "the newest refresh token of a reused family must be dead: "
                               << after.Describe();
}

TEST_F(AuthTest, RefreshRejectsGarbageAndMissingTokens) {
  HttpResponse garbage = Http().PostJson("/api/auth/refresh", RefreshBody("not-a-refresh-token"));
  EXPECT_EQ(garbage.status, 401) << garbage.Describe();
  EXPECT_EQ(garbage.ErrorCode(), "Unauthenticated");
  HttpResponse missing = Http().PostJson("/api/auth/refresh", "{}");
  EXPECT_EQ(missing.status, 400) << missing.Describe();
  EXPECT_EQ(missing.ErrorCode(), "InvalidInput");
  HttpResponse wrong_type = Http().PostJson("/api/auth/refresh", R"({"refresh_token": 42})");
  EXPECT_EQ(wrong_type.status, 400) << wrong_type.Describe();
}

TEST_F(AuthTest, LogoutAnswers204AndKillsTheRefreshToken) {
  Login user = NewUser("logout", {"client"});
  HttpResponse out =
      Http().PostJson("/api/auth/logout", RefreshBody(user.refresh_token), user.access_token);
  EXPECT_EQ(out.status, 204) << out.Describe();
  EXPECT_TRUE(out.body.empty()) << out.body;
  HttpResponse refresh = Http().PostJson("/api/auth/refresh", RefreshBody(user.refresh_token));
  EXPECT_EQ(refresh.status, 401) << refresh.Describe();
}

TEST_F(AuthTest, AUserWithTwoRolesMayUseBothSetsOfEndpoints) {
  Login both = NewUser("both", {"owner", "client"});
  EXPECT_EQ(Http().Get("/api/owner/files", both.access_token).status, 200);
  EXPECT_EQ(Http().Get("/api/client/files", both.access_token).status, 200);
  EXPECT_EQ(Http().Get("/api/admin/users", both.access_token).status, 403);
}

// ---------------------------------------------------------------------------------------------
// The token matrix on GET /api/owner/files.

class TokenMatrixTest : public VaultSuite {
 protected:
  void ExpectUnauthenticated(const HttpRequest& request, const std::string& what) {
    HttpResponse r = Http().Send(request);
    EXPECT_EQ(r.status, 401) << what << ": " << r.Describe();
    EXPECT_EQ(r.ErrorCode(), "Unauthenticated") << what << ": " << r.Describe();
  }
  void ExpectTokenRefused(const std::string& token, const std::string& what,
                          const std::string& target = "/api/owner/files") {
    ExpectUnauthenticated({.target = target, .bearer = token}, what);
  }
  // The owner's claims with iat/exp moved; everything else as the server made them.
  std::string Claims(int64_t iat, int64_t exp) {
    json::object claims = JwtPart(owner_.access_token, 1);
    claims["iat"] = iat;
    claims["exp"] = exp;
    return json::serialize(claims);
  }
  std::string Key() {
    auto key = ReadJwtKey(vaultd_->DataDir() + "/jwt.key");
    EXPECT_TRUE(key.has_value()) << key.error().message;
    return key.value_or(std::string());
  }
  static constexpr const char* kHeader = R"({"alg":"HS256","typ":"JWT"})";
};

TEST_F(TokenMatrixTest, TheRealTokenWorks) {
  HttpResponse r = Http().Get("/api/owner/files", owner_.access_token);
  EXPECT_EQ(r.status, 200) << r.Describe();
}

TEST_F(TokenMatrixTest, MissingOrMalformedAuthorizationHeader) {
  ExpectUnauthenticated({.target = "/api/owner/files"}, "no header");
  const char* malformed[] = {
      "Authorization: Bearer",
      "Authorization: Bearer ",
      "Authorization: Basic b3duZXJAZXhhbXBsZS5jb206cHc=",
      "Authorization: Token abc",
      "Authorization: BearerX abc.def.ghi",
  };
  for (const char* h : malformed) {
    ExpectUnauthenticated({.target = "/api/owner/files", .headers = {h}}, h);
  }
  // The real token under another scheme.
  ExpectUnauthenticated(
      {.target = "/api/owner/files", .headers = {"Authorization: Basic " + owner_.access_token}},
      "real token, Basic scheme");
}

TEST_F(TokenMatrixTest, GarbageTokens) {
  for (const char* t : {"garbage", "abc.def.ghi", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9"}) {
    ExpectTokenRefused(t, std::string("token ") + t);
  }
  // A real token cut short or with a flipped signature byte.
  const std::string& real = owner_.access_token;
  ExpectTokenRefused(real.substr(0, real.size() - 4), "truncated signature");
  std::string flipped = real;
  flipped[flipped.size() - 2] = flipped[flipped.size() - 2] == 'A' ? 'B' : 'A';
  ExpectTokenRefused(flipped, "flipped signature character");
  ExpectTokenRefused(real + "x", "extra character");
}

TEST_F(TokenMatrixTest, TamperedPayloadKeepsTheSignatureAndIsRefused) {
  const std::string& real = owner_.access_token;
  std::string signature = JwtSignature(real);
  std::string header_b64 = real.substr(0, real.find('.'));

  json::object claims = JwtPart(real, 1);
  claims["roles"] = json::array{"owner", "admin"};
  std::string elevated =
      header_b64 + "." + Base64UrlEncode(json::serialize(claims)) + "." + signature;
  ExpectTokenRefused(elevated, "roles elevated to admin", "/api/admin/users");

  json::object other = JwtPart(real, 1);
  other["sub"] = owner2_.user_id;
  ExpectTokenRefused(header_b64 + "." + Base64UrlEncode(json::serialize(other)) + "." + signature,
                     "sub changed to another owner");

  json::object longer = JwtPart(real, 1);
  longer["exp"] = longer.at("exp").to_number<int64_t>() + 86400;
  ExpectTokenRefused(header_b64 + "." + Base64UrlEncode(json::serialize(longer)) + "." + signature,
                     "exp extended");
}

TEST_F(TokenMatrixTest, ForgedWithTheRealKeyIsAcceptedUnlessExpired) {
  std::string key = Key();
  ASSERT_EQ(key.size(), 64u);
  int64_t now = NowSeconds();
  // Control: the test's HS256 is the server's HS256, so the refusals below mean what they say.
  std::string valid = SignHs256(kHeader, Claims(now - 10, now + 600), key);
  HttpResponse control = Http().Get("/api/owner/files", valid);
  EXPECT_EQ(control.status, 200) << "a correctly signed, unexpired token was refused: "
                                 << control.Describe();

  ExpectTokenRefused(SignHs256(kHeader, Claims(now - 1000, now - 100), key), "expired 100 s ago");
  ExpectTokenRefused(SignHs256(kHeader, Claims(now - 2000, now - 1000), key), "expired 1000 s ago");

  json::object no_exp = JwtPart(owner_.access_token, 1);
  no_exp.erase("exp");
  ExpectTokenRefused(SignHs256(kHeader, json::serialize(no_exp), key), "no exp claim");
}

TEST_F(TokenMatrixTest, SignedWithAnotherKey) {
  int64_t now = NowSeconds();
  std::string other_key(64, '\x5a');
  ExpectTokenRefused(SignHs256(kHeader, Claims(now - 10, now + 600), other_key), "foreign key");
  ExpectTokenRefused(SignHs256(kHeader, Claims(now - 10, now + 600), ""), "empty key");
}

TEST_F(TokenMatrixTest, AlgNoneAndAlgSwitchAreRefused) {
  int64_t now = NowSeconds();
  std::string payload = Base64UrlEncode(Claims(now - 10, now + 600));
  for (const char* alg : {"none", "None", "NONE"}) {
    std::string header = Base64UrlEncode(std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})");
    ExpectTokenRefused(header + "." + payload + ".", std::string("alg ") + alg);
    ExpectTokenRefused(header + "." + payload + "." + JwtSignature(owner_.access_token),
                       std::string("alg ") + alg + " with a signature");
  }
  // HS512 header over an HS256 MAC made with the real key.
  std::string key = Key();
  std::string hs512 = SignHs256(R"({"alg":"HS512","typ":"JWT"})", Claims(now - 10, now + 600), key);
  ExpectTokenRefused(hs512, "alg HS512 header");
}

TEST_F(TokenMatrixTest, WrongRoleIsForbidden) {
  struct Case {
    const Login* who;
    const char* method;
    const char* target;
  };
  const Case cases[] = {
      {&client_, "GET", "/api/owner/files"},      {&client_, "POST", "/api/owner/permissions"},
      {&client_, "GET", "/api/owner/audit-logs"}, {&client_, "GET", "/api/admin/users"},
      {&client_, "GET", "/api/admin/audit-logs"}, {&owner_, "GET", "/api/admin/users"},
      {&owner_, "POST", "/api/admin/users"},      {&owner_, "GET", "/api/admin/audit-logs"},
      {&owner_, "GET", "/api/client/files"},      {&admin_, "GET", "/api/owner/files"},
      {&admin_, "GET", "/api/client/files"},
  };
  for (const Case& c : cases) {
    HttpRequest request{.method = c.method, .target = c.target, .bearer = c.who->access_token};
    if (std::string_view(c.method) == "POST") {
      request.headers = {"Content-Type: application/json"};
      request.body = "{}";
    }
    HttpResponse r = Http().Send(request);
    EXPECT_EQ(r.status, 403) << c.who->email << " " << c.method << " " << c.target << ": "
                             << r.Describe();
    EXPECT_EQ(r.ErrorCode(), "Forbidden") << c.who->email << " " << c.target;
  }
}

TEST_F(TokenMatrixTest, ADisabledUsersTokenStopsAtOnceAndWorksAgainAfterEnable) {
  Login user = NewUser("disabled", {"client"});
  ASSERT_EQ(Http().Get("/api/client/files", user.access_token).status, 200);

  HttpResponse disable = Http().PostJson("/api/admin/users/" + user.user_id + "/disable",
                                         R"({"reason":"test"})", admin_.access_token);
  ASSERT_EQ(disable.status, 200) << disable.Describe();
  json::object d = Parse(disable).as_object();
  EXPECT_EQ(d.at("user_id"), user.user_id.c_str());
  EXPECT_EQ(d.at("status"), "disabled");
  ASSERT_TRUE(d.at("disabled_at").is_string());
  EXPECT_TRUE(IsTime(d.at("disabled_at").as_string()));

  ExpectTokenRefused(user.access_token, "disabled user's live token", "/api/client/files");
  HttpResponse login = Http().PostJson("/api/auth/login", LoginBody(user.email, kPassword));
  EXPECT_EQ(login.status, 401) << "a disabled user logged in: " << login.Describe();
  HttpResponse refresh = Http().PostJson("/api/auth/refresh", RefreshBody(user.refresh_token));
  EXPECT_EQ(refresh.status, 401) << "a disabled user refreshed: " << refresh.Describe();

  HttpResponse enable =
      Http().PostJson("/api/admin/users/" + user.user_id + "/enable", "{}", admin_.access_token);
  ASSERT_EQ(enable.status, 200) << enable.Describe();
  json::object e = Parse(enable).as_object();
  EXPECT_EQ(e.at("status"), "active");
  EXPECT_TRUE(e.at("disabled_at").is_null());
  HttpResponse again = Http().Get("/api/client/files", user.access_token);
  EXPECT_EQ(again.status, 200) << again.Describe();
  EXPECT_TRUE(vaultd_->LogIn(user.email, kPassword).has_value());
}

// ---------------------------------------------------------------------------------------------
// Login rate limit: its own vaultd, so no other test's failures count against 127.0.0.1.

class RateLimitTest : public VaultSuite {};

TEST_F(RateLimitTest, FiveFailuresLockTheAccountWithRetryAfter) {
  for (int i = 1; i <= 5; ++i) {
    HttpResponse r = Http().PostJson(
        "/api/auth/login", LoginBody(owner_.email, "wrong password " + std::to_string(i)));
    ASSERT_EQ(r.status, 401) << "failure " << i << ": " << r.Describe();
  }
  HttpResponse limited =
      Http().PostJson("/api/auth/login", LoginBody(owner_.email, "wrong password 6"));
  EXPECT_EQ(limited.status, 429) << limited.Describe();
  EXPECT_EQ(limited.ErrorCode(), "RateLimited") << limited.Describe();
  auto retry = limited.Header("Retry-After");
  ASSERT_TRUE(retry.has_value()) << "no Retry-After header";
  ASSERT_FALSE(retry->empty());
  ASSERT_EQ(retry->find_first_not_of("0123456789"), std::string::npos) << *retry;
  int seconds = std::stoi(*retry);
  EXPECT_GT(seconds, 0);
  EXPECT_LE(seconds, 300);

  // The right password is refused too while the account is limited.
  HttpResponse right = Http().PostJson("/api/auth/login", LoginBody(owner_.email, kPassword));
  EXPECT_EQ(right.status, 429) << right.Describe();
  EXPECT_TRUE(right.Header("Retry-After").has_value());

  // Another account from the same address is not locked by five failures of this one.
  HttpResponse other = Http().PostJson("/api/auth/login", LoginBody(owner2_.email, kPassword));
  EXPECT_EQ(other.status, 200) << other.Describe();
  // A token issued before the lock still works: the limit is about logins.
  EXPECT_EQ(Http().Get("/api/owner/files", owner_.access_token).status, 200);
}

}  // namespace
}  // namespace va::vaulttest
