// TOTP (RFC 6238, HMAC-SHA1) codes from a Base32 secret, computed by liboath.
//
// Contract: a secret is accepted in the forms people copy it in (any case, spaces between
// groups, with or without '=' padding) and is normalised to upper case without spaces or
// padding. A secret with a character outside the Base32 alphabet, an impossible length or fewer
// than kMinTotpSecretChars characters (80 bits) is rejected with kInvalid and a message that says
// what is wrong without repeating the secret. Error messages never contain the secret or a code.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/result.h"

namespace va::akon {

inline constexpr int kTotpDefaultDigits = 6;
inline constexpr int kTotpDefaultStepSecs = 30;
// 16 Base32 characters = 80 bits, the shortest secret issuers commonly hand out.
inline constexpr size_t kMinTotpSecretChars = 16;

// Upper-cases the secret and removes ASCII whitespace and trailing '=' padding. Fails with
// kInvalid when it is empty, too short, has a character outside A-Z/2-7 (the message gives its
// position, not the character) or a length no Base32 encoding has.
Result<std::string> NormalizeBase32Secret(std::string_view secret);

// The TOTP code for time t: `digits` (6..8) decimal digits, zero-padded. Fails with kInvalid when
// the secret is not valid Base32 (see NormalizeBase32Secret), digits is out of range, step_secs
// is not positive or t is before the Unix epoch; with kSystem when liboath fails.
Result<std::string> TotpCode(std::string_view base32_secret, WallTime t,
                             int digits = kTotpDefaultDigits, int step_secs = kTotpDefaultStepSecs);

// As TotpCode, for a time given in seconds since the Unix epoch. WallTime (nanoseconds in 64 bits)
// ends in the year 2262; this form covers every time_t, e.g. RFC 6238's t = 20000000000.
Result<std::string> TotpCodeForUnixTime(std::string_view base32_secret, int64_t unix_seconds,
                                        int digits = kTotpDefaultDigits,
                                        int step_secs = kTotpDefaultStepSecs);

// The RFC 6238 time counter: floor(unix seconds / step_secs). step_secs must be positive.
int64_t TotpStep(WallTime t, int step_secs = kTotpDefaultStepSecs);
int64_t TotpStepForUnixTime(int64_t unix_seconds, int step_secs = kTotpDefaultStepSecs);

// Whole seconds from t until the next step begins, in [1, step_secs] (a code generated now is
// valid for at most this long). step_secs must be positive.
std::chrono::seconds SecondsUntilNextStep(WallTime t, int step_secs = kTotpDefaultStepSecs);

}  // namespace va::akon
