// Argon2Hasher: the PasswordHasher of production, argon2id through libsodium's crypto_pwhash_str
// (the hash string embeds algorithm, parameters and salt). Defaults are libsodium's INTERACTIVE
// limits; tests may lower them. Thread-safe (no state besides the limits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "vault/app/ports.h"

namespace va::vault {

struct Argon2Params {
  // 0 means libsodium's crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE.
  uint64_t opslimit = 0;
  size_t memlimit = 0;
  // libsodium's minimums (fast; for tests only).
  static Argon2Params Minimal();
};

class Argon2Hasher final : public PasswordHasher {
 public:
  // Initialises libsodium once per process (aborts if it cannot).
  explicit Argon2Hasher(Argon2Params params = {});
  // Fails with kSystem when libsodium cannot allocate the memory the parameters ask for.
  Result<std::string> Hash(std::string_view password) override;
  // false for a wrong password and for anything that is not an argon2id hash string.
  bool Verify(std::string_view hash, std::string_view password) override;

 private:
  uint64_t opslimit_;
  size_t memlimit_;
};

}  // namespace va::vault
