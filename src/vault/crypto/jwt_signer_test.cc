// HS256 JWTs: round trip, the exact header, tampering (payload, signature), algorithm confusion
// ("none", HS512, extra header fields) even when correctly MACed, a wrong key, expiry, malformed
// tokens (part counts, base64, JSON shapes, claim types), and a fuzz loop of random mutations of a
// valid token that must never be accepted.
#include "vault/crypto/jwt_signer.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <string>
#include <vector>

namespace va::vault {
namespace {

constexpr int64_t kNow = 1'800'000'000;

std::vector<unsigned char> Key(unsigned char fill) { return std::vector<unsigned char>(64, fill); }

// header.payload signed with `key` the way a forger who knows the key would.
std::string Forge(const std::string& header_json, const std::string& payload_json,
                  const std::vector<unsigned char>& key) {
  std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size);
  return input + "." + Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), size));
}

const std::string kHeader = R"({"alg":"HS256","typ":"JWT"})";
const std::string kPayload =
    R"({"sub":"usr_0000000000000000000000000a","roles":["owner","client"],"iat":1800000000,"exp":1800000900,"jti":"jti_1"})";

AccessClaims Claims() {
  AccessClaims c;
  c.subject = "usr_0000000000000000000000000a";
  c.roles = AddRole(AddRole(0, Role::kOwner), Role::kClient);
  c.issued_at = kNow;
  c.expires_at = kNow + 900;
  c.token_id = "jti_1";
  return c;
}

TEST(JwtSignerTest, RoundTrip) {
  JwtSigner signer(Key(1));
  std::string token = signer.Sign(Claims());
  auto claims = signer.Verify(token, kNow);
  ASSERT_TRUE(claims.has_value()) << claims.error().message;
  EXPECT_EQ(claims->subject, Claims().subject);
  EXPECT_EQ(claims->roles, Claims().roles);
  EXPECT_EQ(claims->issued_at, kNow);
  EXPECT_EQ(claims->expires_at, kNow + 900);
  EXPECT_EQ(claims->token_id, "jti_1");
  EXPECT_EQ(token.find('='), std::string::npos);
  EXPECT_EQ(Base64UrlDecode(token.substr(0, token.find('.'))), kHeader);
  // Forge() makes the same bytes the signer does.
  EXPECT_EQ(Forge(kHeader, kPayload, Key(1)), token);
  AccessClaims admin = Claims();
  admin.roles = AddRole(0, Role::kAdmin);
  auto back = signer.Verify(signer.Sign(admin), kNow);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->roles, AddRole(0, Role::kAdmin));
}

TEST(JwtSignerTest, ExpiryAndFuture) {
  JwtSigner signer(Key(1));
  std::string token = signer.Sign(Claims());
  EXPECT_TRUE(signer.Verify(token, kNow + 899));
  auto expired = signer.Verify(token, kNow + 900);
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().kind, ErrorKind::kTimeout);
  auto future = signer.Verify(token, kNow - 301);
  ASSERT_FALSE(future.has_value());
  EXPECT_EQ(future.error().kind, ErrorKind::kInvalid);
}

TEST(JwtSignerTest, TamperingAndWrongKey) {
  JwtSigner signer(Key(1));
  std::string token = signer.Sign(Claims());
  size_t dot1 = token.find('.');
  size_t dot2 = token.rfind('.');
  std::string payload = kPayload;
  payload.replace(payload.find("owner"), 5, "admin");
  std::string swapped = token.substr(0, dot1) + "." + Base64UrlEncode(payload) + token.substr(dot2);
  auto r = signer.Verify(swapped, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalid);

  std::string bad_sig = token;
  bad_sig[dot2 + 1] = bad_sig[dot2 + 1] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(signer.Verify(bad_sig, kNow));
  EXPECT_FALSE(signer.Verify(token.substr(0, dot2 + 1), kNow));  // empty signature
  EXPECT_FALSE(signer.Verify(token.substr(0, token.size() - 2), kNow));

  JwtSigner other(Key(2));
  auto wrong = other.Verify(token, kNow);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().kind, ErrorKind::kInvalid);
}

TEST(JwtSignerTest, OnlyHs256HeadersAreAccepted) {
  JwtSigner signer(Key(1));
  const std::vector<std::string> headers = {
      R"({"alg":"none","typ":"JWT"})",
      R"({"alg":"none"})",
      R"({"alg":"HS512","typ":"JWT"})",
      R"({"alg":"RS256","typ":"JWT"})",
      R"({"alg":"hs256","typ":"JWT"})",
      R"({"typ":"JWT"})",
      R"({"alg":"HS256","typ":"JWS"})",
      R"({"alg":"HS256","kid":"x"})",
      R"({"alg":["HS256"]})",
      R"({"alg":"HS256","crit":["exp"]})",
      R"([])",
      R"("HS256")",
      R"({"alg":"HS256","typ":"JWT"} x)",
  };
  for (const auto& header : headers) {
    auto r = signer.Verify(Forge(header, kPayload, Key(1)), kNow);
    EXPECT_FALSE(r.has_value()) << header;
  }
  // "none" with an empty signature, the classic attack.
  std::string none =
      Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + Base64UrlEncode(kPayload) + ".";
  EXPECT_FALSE(signer.Verify(none, kNow));
  // The typ field is optional.
  EXPECT_TRUE(signer.Verify(Forge(R"({"alg":"HS256"})", kPayload, Key(1)), kNow));
}

TEST(JwtSignerTest, MalformedTokens) {
  JwtSigner signer(Key(1));
  std::string good = signer.Sign(Claims());
  const std::vector<std::string> tokens = {
      "",
      "abc",
      "a.b",
      "a.b.c.d",
      good + ".",
      "." + good,
      good + "." + good,
      "@@@.@@@.@@@",
      good.substr(0, good.find('.')) + "=" + good.substr(good.find('.')),
      std::string(9000, 'a'),
      "e30.e30.e30",
  };
  for (const auto& token : tokens) {
    auto r = signer.Verify(token, kNow);
    ASSERT_FALSE(r.has_value()) << token;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalid) << token;
  }
}

TEST(JwtSignerTest, ClaimTypesAreChecked) {
  JwtSigner signer(Key(1));
  const std::vector<std::string> payloads = {
      "[]",
      "1",
      R"("sub")",
      "not json",
      R"({})",
      R"({"sub":1,"roles":["owner"],"iat":1800000000,"exp":1800000900,"jti":"j"})",
      R"({"sub":"","roles":["owner"],"iat":1800000000,"exp":1800000900,"jti":"j"})",
      R"({"sub":"u","roles":"owner","iat":1800000000,"exp":1800000900,"jti":"j"})",
      R"({"sub":"u","roles":[1],"iat":1800000000,"exp":1800000900,"jti":"j"})",
      R"({"sub":"u","roles":["root"],"iat":1800000000,"exp":1800000900,"jti":"j"})",
      R"({"sub":"u","roles":["owner"],"iat":"1800000000","exp":1800000900,"jti":"j"})",
      R"({"sub":"u","roles":["owner"],"iat":1800000000,"exp":1800000900.5,"jti":"j"})",
      R"({"sub":"u","roles":["owner"],"iat":1800000000,"exp":18446744073709551615,"jti":"j"})",
      R"({"sub":"u","roles":["owner"],"iat":1800000000,"exp":1800000900})",
      R"({"sub":"u","roles":["owner"],"iat":1800000000,"exp":1800000900,"jti":7})",
      R"({"sub":"u","roles":["owner"],"exp":1800000900,"jti":"j"})",
      R"({"sub":"u","iat":1800000000,"exp":1800000900,"jti":"j"})",
  };
  for (const auto& payload : payloads) {
    auto r = signer.Verify(Forge(kHeader, payload, Key(1)), kNow);
    ASSERT_FALSE(r.has_value()) << payload;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalid) << payload;
  }
  EXPECT_TRUE(signer.Verify(
      Forge(kHeader, R"({"sub":"u","roles":[],"iat":1800000000,"exp":1800000900,"jti":""})",
            Key(1)),
      kNow));
}

TEST(JwtSignerTest, Base64UrlIsStrict) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_EQ(Base64UrlDecode(""), "");
  EXPECT_FALSE(Base64UrlDecode("-_8="));  // padding
  EXPECT_FALSE(Base64UrlDecode("+/8"));   // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("-_9"));   // non-zero trailing bits
  EXPECT_FALSE(Base64UrlDecode("A"));     // impossible length
  EXPECT_FALSE(Base64UrlDecode("AA A"));
}

TEST(JwtSignerTest, RandomMutationsAreNeverAccepted) {
  JwtSigner signer(Key(7));
  const std::string good = signer.Sign(Claims());
  std::mt19937 rng(12345);  // a fixed seed: the same mutations on every run
  const std::string alphabet =
      std::string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ") + '\0' +
      '\xff';
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string token = good;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !token.empty(); ++e) {
      size_t at = rng() % token.size();
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 4) {
        case 0:
          token[at] = c;
          break;
        case 1:
          token.insert(token.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        case 2:
          token.erase(at, 1);
          break;
        default:
          token.resize(at);
          break;
      }
    }
    if (token == good) continue;
    if (signer.Verify(token, kNow)) {
      ++accepted;
      ADD_FAILURE() << "accepted a mutated token: " << token;
    }
  }
  EXPECT_EQ(accepted, 0);
}

}  // namespace
}  // namespace va::vault
