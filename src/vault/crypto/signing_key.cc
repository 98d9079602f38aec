// The JWT signing key file; see signing_key.h.
#include "vault/crypto/signing_key.h"

#include <string_view>

#include "base/file.h"
#include "base/ids.h"

namespace va::vault {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Result<std::vector<unsigned char>> Parse(const std::string& path, std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.size() != kSigningKeyBytes * 2) {
    return Fail(ErrorKind::kCorrupt, path + ": expected 128 lowercase hex characters");
  }
  std::vector<unsigned char> key(kSigningKeyBytes);
  for (size_t i = 0; i < kSigningKeyBytes; ++i) {
    int hi = HexValue(text[2 * i]);
    int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Fail(ErrorKind::kCorrupt, path + ": expected 128 lowercase hex characters");
    }
    key[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return key;
}

}  // namespace

Result<std::vector<unsigned char>> LoadOrCreateSigningKey(const std::string& path) {
  TrustPolicy policy;
  policy.private_only = true;
  policy.max_bytes = 4096;
  auto text = ReadTrustedFile(path, policy);
  if (!text && text.error().kind == ErrorKind::kNotFound) {
    if (auto written = WriteFileAtomic(path, RandomHex(kSigningKeyBytes), 0600); !written) {
      return tl::unexpected(std::move(written.error()).Context("create signing key"));
    }
    // Read back what is on disk, so two processes that raced to create it agree.
    text = ReadTrustedFile(path, policy);
  }
  if (!text) return tl::unexpected(std::move(text.error()).Context("signing key"));
  return Parse(path, *text);
}

}  // namespace va::vault
