// The JWT signing key file: 64 random bytes as 128 lowercase hex characters (an optional final
// newline is accepted), mode 0600, made atomically on first use. It is never regenerated over a
// file that exists: a malformed or untrusted key file is an error for the operator.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace va::vault {

inline constexpr size_t kSigningKeyBytes = 64;

// Loads the key at `path`, creating it when missing. Fails with kUntrusted when the file is a
// symlink, not a regular file, owned by someone else or accessible by group or others; kCorrupt
// when it does not hold exactly 128 lowercase hex characters; kSystem/kPermission when it cannot
// be read or (on first use) written.
Result<std::vector<unsigned char>> LoadOrCreateSigningKey(const std::string& path);

}  // namespace va::vault
