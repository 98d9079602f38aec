// SHA-256 via OpenSSL EVP; see sha256.h.
#include "vault/crypto/sha256.h"

#include <openssl/evp.h>

#include "base/result.h"

namespace va::vault {
namespace {

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  return out;
}

}  // namespace

struct Sha256Stream::Ctx {
  EVP_MD_CTX* md = nullptr;
  Ctx() : md(EVP_MD_CTX_new()) {
    VA_CHECK(md != nullptr, "EVP_MD_CTX_new failed");
    Reset();
  }
  ~Ctx() { EVP_MD_CTX_free(md); }
  Ctx(const Ctx&) = delete;
  Ctx& operator=(const Ctx&) = delete;
  void Reset() const { VA_CHECK(EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1, "sha256 init"); }
};

Sha256Stream::Sha256Stream() : ctx_(std::make_unique<Ctx>()) {}
Sha256Stream::~Sha256Stream() = default;
Sha256Stream::Sha256Stream(Sha256Stream&&) noexcept = default;
Sha256Stream& Sha256Stream::operator=(Sha256Stream&&) noexcept = default;

void Sha256Stream::Update(std::string_view bytes) {
  if (bytes.empty()) return;
  VA_CHECK(EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size()) == 1, "sha256 update");
}

std::string Sha256Stream::FinalHex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  VA_CHECK(EVP_DigestFinal_ex(ctx_->md, out, &size) == 1, "sha256 final");
  ctx_->Reset();
  return Hex(out, size);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  VA_CHECK(EVP_Digest(data.data(), data.size(), out, &size, EVP_sha256(), nullptr) == 1,
           "sha256 digest");
  return Hex(out, size);
}

std::string OpenSslDigest::Sha256Hex(std::string_view data) { return vault::Sha256Hex(data); }

}  // namespace va::vault
