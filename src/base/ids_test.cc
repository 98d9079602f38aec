// Tests for base/ids.h: RandomBytes fills its buffer, RandomHex gives lowercase hex of the right
// length, RandomId gives the prefix plus 26 Crockford base32 characters, and ids do not repeat.
#include "base/ids.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <string_view>

namespace va {
namespace {

constexpr std::string_view kHexChars = "0123456789abcdef";
constexpr std::string_view kBase32Chars = "0123456789abcdefghjkmnpqrstvwxyz";

bool AllIn(std::string_view s, std::string_view allowed) {
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return allowed.find(c) != std::string_view::npos; });
}

TEST(RandomBytesTest, FillsTheWholeBuffer) {
  // 64 zero bytes from a CSPRNG has probability 2^-512; a buffer left untouched is caught.
  std::array<unsigned char, 64> buf{};
  RandomBytes(buf);
  EXPECT_TRUE(std::any_of(buf.begin(), buf.end(), [](unsigned char c) { return c != 0; }));
  // The tail is written too, not just the start.
  std::array<unsigned char, 4096> big{};
  RandomBytes(big);
  EXPECT_TRUE(std::any_of(big.end() - 64, big.end(), [](unsigned char c) { return c != 0; }));
}

TEST(RandomBytesTest, EmptySpanIsFine) {
  RandomBytes({});
  SUCCEED();
}

TEST(RandomHexTest, LengthAndCharset) {
  EXPECT_EQ(RandomHex(0), "");
  for (size_t bytes : {size_t{1}, size_t{8}, size_t{16}, size_t{100}}) {
    const std::string hex = RandomHex(bytes);
    EXPECT_EQ(hex.size(), bytes * 2);
    EXPECT_TRUE(AllIn(hex, kHexChars)) << hex;
  }
}

TEST(RandomHexTest, UsesEveryHexDigitAndDoesNotRepeat) {
  std::set<std::string> seen;
  std::set<char> digits;
  for (int i = 0; i < 1000; ++i) {
    std::string hex = RandomHex(16);
    digits.insert(hex.begin(), hex.end());
    seen.insert(std::move(hex));
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(digits.size(), kHexChars.size());
}

TEST(RandomIdTest, PrefixPlus26Base32Characters) {
  const std::string id = RandomId("sbx_");
  ASSERT_EQ(id.size(), 4u + 26u) << id;
  EXPECT_EQ(id.substr(0, 4), "sbx_");
  EXPECT_TRUE(AllIn(id.substr(4), kBase32Chars)) << id;

  const std::string bare = RandomId("");
  EXPECT_EQ(bare.size(), 26u);
  EXPECT_TRUE(AllIn(bare, kBase32Chars)) << bare;
}

TEST(RandomIdTest, ThousandIdsAreUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(RandomId("job_"));
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(RandomIdTest, EncodesExactly128Bits) {
  // 128 bits = 25 full 5-bit groups + 3 bits, so the last character holds 3 data bits padded with
  // two zero bits: its alphabet index is a multiple of 4. The first 25 characters use the whole
  // alphabet (no I, L, O, U).
  std::set<char> body_chars;
  std::set<char> last_chars;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = RandomId("");
    ASSERT_EQ(id.size(), 26u);
    body_chars.insert(id.begin(), id.end() - 1);
    last_chars.insert(id.back());
  }
  EXPECT_EQ(body_chars.size(), kBase32Chars.size());
  for (char c : last_chars) {
    EXPECT_EQ(kBase32Chars.find(c) % 4, 0u) << "last character '" << c << "'";
  }
  EXPECT_EQ(last_chars.size(), 8u);
}

}  // namespace
}  // namespace va
