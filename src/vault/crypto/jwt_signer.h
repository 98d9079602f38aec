// JwtSigner: the TokenSigner of production, HS256 JWTs (RFC 7519) with HMAC-SHA256.
// Signing makes header {"alg":"HS256","typ":"JWT"} and claims {sub, roles, iat, exp, jti},
// base64url without padding. Verification is strict: exactly three parts of canonical base64url,
// a header that says HS256 and nothing else ("none", HS512, … and unknown header fields are
// refused), a signature compared in constant time before the claims are read, claims of the
// right types (unknown roles refused), and exp checked. Thread-safe.
// (HMAC-SHA256 comes from libsodium with the key schedule computed once.)
#pragma once

#include <sodium/crypto_auth_hmacsha256.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vault/app/ports.h"

namespace va::vault {

class JwtSigner final : public TokenSigner {
 public:
  // The HMAC key; at least 32 bytes (aborts otherwise: a short key is a configuration bug the
  // caller must have refused).
  explicit JwtSigner(std::vector<unsigned char> key);
  std::string Sign(const AccessClaims& claims) override;
  // kInvalid for anything malformed, a bad signature or a wrong header or claim; kTimeout when
  // expired at `now` (exp <= now).
  Result<AccessClaims> Verify(std::string_view token, int64_t now) override;

 private:
  // HMAC-SHA256 of `data` under the key (32 bytes).
  std::string Mac(std::string_view data) const;
  std::vector<unsigned char> key_;
  // The HMAC state after the key: each MAC copies it instead of hashing the key again.
  crypto_auth_hmacsha256_state keyed_{};
};

// base64url without padding (RFC 4648 §5), and its strict inverse: nullopt for padding,
// characters outside the alphabet, an impossible length or non-zero trailing bits.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace va::vault
