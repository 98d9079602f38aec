// HS256 JWTs; see jwt_signer.h.
#include "vault/crypto/jwt_signer.h"

#include <openssl/crypto.h>
#include <sodium.h>

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <utility>

#include "base/result.h"
#include "vault/crypto/sodium_init.h"

namespace va::vault {
namespace {

constexpr size_t kMinKeyBytes = 32;
constexpr size_t kMaxTokenBytes = 8192;
constexpr size_t kMacBytes = 32;
// Tokens issued later than this past `now` are refused (clock skew between nodes allowed).
constexpr int64_t kMaxFutureIat = 300;

tl::unexpected<Error> Invalid(std::string message) {
  return Fail(ErrorKind::kInvalid, "access token: " + std::move(message));
}

std::optional<boost::json::object> ParseObject(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

std::optional<int64_t> Int(const boost::json::object& object, std::string_view key) {
  const boost::json::value* v = object.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v->as_uint64());
  }
  return std::nullopt;
}

std::optional<std::string> Str(const boost::json::object& object, std::string_view key) {
  const boost::json::value* v = object.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  InitSodium();
  const size_t size =
      sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  std::string out(size, '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(size - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  InitSodium();
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out(text.size() * 3 / 4 + 3, '\0');
  size_t size = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &size, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(size);
  // Canonical form only: one byte string has exactly one encoding.
  if (Base64UrlEncode(out) != text) return std::nullopt;
  return out;
}

JwtSigner::JwtSigner(std::vector<unsigned char> key) : key_(std::move(key)) {
  VA_CHECK(key_.size() >= kMinKeyBytes, "JWT signing key shorter than 32 bytes");
  InitSodium();
  VA_CHECK(crypto_auth_hmacsha256_init(&keyed_, key_.data(), key_.size()) == 0,
           "HMAC-SHA256 init failed");
}

std::string JwtSigner::Mac(std::string_view data) const {
  crypto_auth_hmacsha256_state state = keyed_;
  unsigned char out[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(data.data()),
                                data.size());
  crypto_auth_hmacsha256_final(&state, out);
  sodium_memzero(&state, sizeof state);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string JwtSigner::Sign(const AccessClaims& claims) {
  static const std::string kHeader = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");
  boost::json::array roles;
  for (const auto& name : RoleNames(claims.roles)) roles.emplace_back(boost::json::string(name));
  boost::json::object payload;
  payload["sub"] = claims.subject;
  payload["roles"] = std::move(roles);
  payload["iat"] = claims.issued_at;
  payload["exp"] = claims.expires_at;
  payload["jti"] = claims.token_id;
  std::string signing_input = kHeader + "." + Base64UrlEncode(boost::json::serialize(payload));
  std::string signature = Base64UrlEncode(Mac(signing_input));
  return signing_input + "." + signature;
}

Result<AccessClaims> JwtSigner::Verify(std::string_view token, int64_t now) {
  if (token.empty() || token.size() > kMaxTokenBytes) return Invalid("bad size");
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return Invalid("not three parts");
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Invalid("not three parts");
  }
  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view signature_b64 = token.substr(dot2 + 1);

  auto header_json = Base64UrlDecode(header_b64);
  if (!header_json) return Invalid("header is not base64url");
  auto header = ParseObject(*header_json);
  if (!header) return Invalid("header is not a JSON object");
  for (const auto& field : *header) {
    if (field.key() == "alg") {
      if (!field.value().is_string() || field.value().as_string() != "HS256") {
        return Invalid("algorithm is not HS256");
      }
    } else if (field.key() == "typ") {
      if (!field.value().is_string() || field.value().as_string() != "JWT") {
        return Invalid("type is not JWT");
      }
    } else {
      return Invalid("unexpected header field");
    }
  }
  if (!header->contains("alg")) return Invalid("algorithm missing");

  auto signature = Base64UrlDecode(signature_b64);
  if (!signature || signature->size() != kMacBytes) return Invalid("bad signature");
  const std::string expected = Mac(token.substr(0, dot2));
  if (CRYPTO_memcmp(expected.data(), signature->data(), kMacBytes) != 0) {
    return Invalid("bad signature");
  }

  auto payload_json = Base64UrlDecode(payload_b64);
  if (!payload_json) return Invalid("payload is not base64url");
  auto payload = ParseObject(*payload_json);
  if (!payload) return Invalid("payload is not a JSON object");

  AccessClaims claims;
  auto sub = Str(*payload, "sub");
  auto jti = Str(*payload, "jti");
  auto iat = Int(*payload, "iat");
  auto exp = Int(*payload, "exp");
  const boost::json::value* roles = payload->if_contains("roles");
  if (!sub || sub->empty()) return Invalid("sub missing or not a string");
  if (!jti) return Invalid("jti missing or not a string");
  if (!iat || !exp) return Invalid("iat/exp missing or not integers");
  if (roles == nullptr || !roles->is_array()) return Invalid("roles missing or not an array");
  for (const auto& role : roles->as_array()) {
    if (!role.is_string()) return Invalid("role is not a string");
    auto parsed = ParseRole(std::string_view(role.as_string()));
    if (!parsed) return Invalid("unknown role");
    claims.roles = AddRole(claims.roles, *parsed);
  }
  claims.subject = std::move(*sub);
  claims.token_id = std::move(*jti);
  claims.issued_at = *iat;
  claims.expires_at = *exp;
  if (claims.issued_at > now + kMaxFutureIat) return Invalid("issued in the future");
  if (claims.expires_at <= now) return Fail(ErrorKind::kTimeout, "access token expired");
  return claims;
}

}  // namespace va::vault
