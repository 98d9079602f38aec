// Helpers shared by the VaultApp handler files (not part of the layer's API): field validation,
// the audit metadata builder and the login throttle. Validation functions return the error the
// handler answers with, naming the field.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vault/app/vault_app.h"
#include "vault/domain/errors.h"

namespace va::vault {

inline constexpr size_t kMaxEmailBytes = 254;
inline constexpr size_t kMinPasswordBytes = 8;
inline constexpr size_t kMaxPasswordBytes = 1024;
inline constexpr size_t kMaxFileNameBytes = 255;
inline constexpr size_t kMaxContentTypeBytes = 255;
inline constexpr size_t kMaxReasonBytes = 1024;
inline constexpr size_t kMaxTokenBytes = 4096;
inline constexpr std::string_view kDefaultContentType = "application/octet-stream";
inline constexpr std::string_view kBadCredentials = "invalid email or password";

// ASCII lower-casing (emails are compared this way).
std::string LowerAscii(std::string_view text);
// InvalidInput naming `field` unless `email` (already lower-cased) has one '@', a non-empty
// local part and domain, no spaces or control characters, and at most 254 bytes.
AppStatus CheckEmail(std::string_view field, std::string_view email);
// InvalidInput unless 8…1024 bytes.
AppStatus CheckPassword(std::string_view password);
// InvalidInput unless 1…255 bytes of valid UTF-8 without '/', '\\', NUL or control characters
// (C0, DEL, C1), and not "." or "..".
AppStatus CheckFileName(std::string_view name);
// The content type to record (default when empty); InvalidInput unless ≤ 255 printable ASCII.
AppResult<std::string> CheckContentType(std::string_view content_type);
// InvalidInput unless ≤ 1024 bytes of valid UTF-8 without control characters.
AppStatus CheckReason(std::string_view reason);
// InvalidInput naming `field` unless IsValidId(id, prefix).
AppStatus CheckId(std::string_view field, std::string_view id, std::string_view prefix);
bool IsValidUtf8(std::string_view text);

// Builds the metadata JSON object of an audit entry, in insertion order:
//   Meta().Str("reason", "bad_credentials").Int("size", 12).Json()
class Meta {
 public:
  Meta& Str(std::string_view key, std::string_view value);
  Meta& Int(std::string_view key, int64_t value);
  Meta& Bool(std::string_view key, bool value);
  Meta& OptInt(std::string_view key, std::optional<int64_t> value);
  Meta& Strs(std::string_view key, const std::vector<std::string>& values);
  std::string Json() const;

 private:
  void Add(std::string_view key, std::string_view encoded);
  std::string body_;
};

// Counts failed logins per key (account, IP) in a sliding window. Memory is bounded: expired
// keys are swept when the table grows, and a key keeps at most `limit` timestamps.
struct VaultApp::Throttle {
  struct Window {
    std::deque<int64_t> failures;  // oldest first
  };
  std::mutex mutex;
  std::unordered_map<std::string, Window> accounts;
  std::unordered_map<std::string, Window> ips;
  size_t sweep_at = 4096;

  // Seconds until `key` may try again (> 0) when it reached `limit` failures within `window`
  // ending at `now`; 0 when it may try now.
  static int64_t RetryAfter(std::unordered_map<std::string, Window>& table, const std::string& key,
                            int limit, int64_t window, int64_t now);
  static void AddFailure(std::unordered_map<std::string, Window>& table, const std::string& key,
                         int limit, int64_t now);
  static void Sweep(std::unordered_map<std::string, Window>& table, int64_t window, int64_t now);
};

}  // namespace va::vault
