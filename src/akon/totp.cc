// TOTP through liboath; see totp.h.
#include "akon/totp.h"

#include <liboath/oath.h>
#include <string.h>

#include <cstdlib>
#include <mutex>

namespace va::akon {
namespace {

bool IsBase32Char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'); }

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// liboath wants oath_init() once per process before use; it never fails in practice, but if it
// does every later call reports it.
Status InitOath() {
  static std::once_flag once;
  static int rc = OATH_OK;
  std::call_once(once, [] { rc = oath_init(); });
  if (rc != OATH_OK) {
    return Fail(ErrorKind::kSystem, std::string("liboath init: ") + oath_strerror(rc));
  }
  return {};
}

int64_t FloorUnixSeconds(WallTime t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

Result<std::string> NormalizeBase32Secret(std::string_view secret) {
  std::string out;
  out.reserve(secret.size());
  size_t position = 0;  // 1-based position among the non-space characters, for messages
  bool padding = false;
  for (char c : secret) {
    if (IsAsciiSpace(c)) continue;
    ++position;
    if (c == '=') {
      padding = true;
      continue;
    }
    const char upper = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    if (padding || !IsBase32Char(upper)) {
      return Fail(
          ErrorKind::kInvalid,
          "TOTP secret is not valid Base32: invalid character at position " +
              std::to_string(position) +
              " (Base32 uses only the letters A-Z and the digits 2-7; '=' may only end it)");
    }
    out.push_back(upper);
  }
  if (out.empty()) return Fail(ErrorKind::kInvalid, "TOTP secret is empty");
  // Base32 packs 5 bytes into 8 characters; a final group of 1, 3 or 6 characters cannot occur.
  const size_t rest = out.size() % 8;
  if (rest == 1 || rest == 3 || rest == 6) {
    return Fail(ErrorKind::kInvalid,
                "TOTP secret is not valid Base32: " + std::to_string(out.size()) +
                    " characters is not a possible length (copy it again, "
                    "a character is missing or extra)");
  }
  if (out.size() < kMinTotpSecretChars) {
    return Fail(ErrorKind::kInvalid, "TOTP secret is too short: " + std::to_string(out.size()) +
                                         " Base32 characters, at least " +
                                         std::to_string(kMinTotpSecretChars) + " are needed");
  }
  return out;
}

int64_t TotpStepForUnixTime(int64_t unix_seconds, int step_secs) {
  VA_CHECK(step_secs > 0, "TOTP step must be positive");
  return FloorDiv(unix_seconds, step_secs);
}

int64_t TotpStep(WallTime t, int step_secs) {
  return TotpStepForUnixTime(FloorUnixSeconds(t), step_secs);
}

std::chrono::seconds SecondsUntilNextStep(WallTime t, int step_secs) {
  VA_CHECK(step_secs > 0, "TOTP step must be positive");
  const int64_t now = FloorUnixSeconds(t);
  const int64_t next = (FloorDiv(now, step_secs) + 1) * step_secs;
  return std::chrono::seconds(next - now);
}

Result<std::string> TotpCode(std::string_view base32_secret, WallTime t, int digits,
                             int step_secs) {
  return TotpCodeForUnixTime(base32_secret, FloorUnixSeconds(t), digits, step_secs);
}

Result<std::string> TotpCodeForUnixTime(std::string_view base32_secret, int64_t unix_seconds,
                                        int digits, int step_secs) {
  if (digits < 6 || digits > 8) {
    return Fail(ErrorKind::kInvalid,
                "TOTP digits must be 6, 7 or 8, not " + std::to_string(digits));
  }
  if (step_secs <= 0) {
    return Fail(ErrorKind::kInvalid,
                "TOTP step must be positive, not " + std::to_string(step_secs));
  }
  const int64_t now = unix_seconds;
  if (now < 0) return Fail(ErrorKind::kInvalid, "TOTP time is before the Unix epoch");
  VA_TRY(std::string normalized, NormalizeBase32Secret(base32_secret));
  VA_TRY_STATUS(InitOath());

  char* key = nullptr;
  size_t key_len = 0;
  int rc = oath_base32_decode(normalized.data(), normalized.size(), &key, &key_len);
  explicit_bzero(normalized.data(), normalized.size());
  if (rc != OATH_OK) {
    if (key != nullptr) std::free(key);
    return Fail(ErrorKind::kInvalid,
                std::string("TOTP secret is not valid Base32: ") + oath_strerror(rc));
  }
  char code[16] = {};
  rc = oath_totp_generate(key, key_len, static_cast<time_t>(now), static_cast<unsigned>(step_secs),
                          0, static_cast<unsigned>(digits), code);
  explicit_bzero(key, key_len);
  std::free(key);
  if (rc != OATH_OK) {
    return Fail(ErrorKind::kSystem, std::string("TOTP generation failed: ") + oath_strerror(rc));
  }
  std::string result(code);
  explicit_bzero(code, sizeof(code));
  return result;
}

}  // namespace va::akon
