// Random identifiers and bytes from the kernel CSPRNG (getrandom). Never a seeded PRNG.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace va {

// Fills `out` from getrandom(2); aborts if the kernel cannot supply randomness (a broken host).
void RandomBytes(std::span<unsigned char> out);
// `bytes` random bytes as lowercase hex.
std::string RandomHex(size_t bytes);
// A prefixed identifier such as "sbx_" + 26 base32 characters (128 bits).
std::string RandomId(std::string_view prefix);

}  // namespace va
