// SHA-256 over OpenSSL's EVP interface: a streaming hasher (the blob store feeds it an upload as
// the bytes arrive) and the app layer's Digest port. Nothing here can fail short of OpenSSL
// being unable to allocate, which aborts.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "vault/app/digest.h"

namespace va::vault {

class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(Sha256Stream&&) noexcept;
  Sha256Stream& operator=(Sha256Stream&&) noexcept;
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(std::string_view bytes);
  void Update(std::span<const char> bytes) { Update(std::string_view(bytes.data(), bytes.size())); }
  void Update(const char* text) { Update(std::string_view(text)); }
  // The digest of everything given so far as 64 lowercase hex characters; the stream then
  // starts over empty.
  std::string FinalHex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// SHA-256 of `data` as 64 lowercase hex characters.
std::string Sha256Hex(std::string_view data);

class OpenSslDigest final : public Digest {
 public:
  std::string Sha256Hex(std::string_view data) override;
};

}  // namespace va::vault
