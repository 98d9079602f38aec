// argon2id via libsodium; see argon2_hasher.h.
#include "vault/crypto/argon2_hasher.h"

#include <sodium.h>

#include <mutex>

#include "base/result.h"
#include "vault/crypto/sodium_init.h"

namespace va::vault {

void InitSodium() {
  static std::once_flag once;
  std::call_once(once, [] { VA_CHECK(sodium_init() >= 0, "libsodium initialisation failed"); });
}

Argon2Params Argon2Params::Minimal() {
  return Argon2Params{crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

Argon2Hasher::Argon2Hasher(Argon2Params params)
    : opslimit_(params.opslimit != 0 ? params.opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE),
      memlimit_(params.memlimit != 0 ? params.memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE) {
  InitSodium();
}

Result<std::string> Argon2Hasher::Hash(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), opslimit_, memlimit_,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Fail(ErrorKind::kSystem, "argon2id: out of memory");
  }
  return std::string(out);
}

bool Argon2Hasher::Verify(std::string_view hash, std::string_view password) {
  static constexpr std::string_view kPrefix = "$argon2id$";
  if (hash.size() >= crypto_pwhash_STRBYTES || hash.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  // libsodium wants a NUL-terminated string and reads at most STRBYTES.
  char buffer[crypto_pwhash_STRBYTES] = {};
  hash.copy(buffer, hash.size());
  return crypto_pwhash_str_verify(buffer, password.data(), password.size()) == 0;
}

}  // namespace va::vault
