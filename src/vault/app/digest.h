// Digest: the one hash the application layer needs (SHA-256 of refresh tokens, which are stored
// only as their digest). Implemented by crypto/sha256.h (OpenSSL) and by an in-memory fake in
// unit tests; the application layer itself never links a crypto library. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace va::vault {

class Digest {
 public:
  virtual ~Digest() = default;
  // SHA-256 of `data` as 64 lowercase hex characters. Cannot fail.
  virtual std::string Sha256Hex(std::string_view data) = 0;
};

}  // namespace va::vault
