// SHA-256 against the FIPS 180-2 test vectors, one-shot and streamed in odd chunks, and the
// Digest port.
#include "vault/crypto/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace va::vault {
namespace {

struct Vector {
  std::string input;
  std::string hex;
};

std::vector<Vector> Vectors() {
  return {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string(1000000, 'a'),
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
}

TEST(Sha256Test, OneShotVectors) {
  OpenSslDigest digest;
  for (const auto& v : Vectors()) {
    EXPECT_EQ(Sha256Hex(v.input), v.hex);
    EXPECT_EQ(digest.Sha256Hex(v.input), v.hex);
  }
}

TEST(Sha256Test, StreamingInOddChunks) {
  for (const auto& v : Vectors()) {
    for (size_t chunk : {size_t{1}, size_t{3}, size_t{63}, size_t{64}, size_t{65}, size_t{4097}}) {
      if (chunk == 1 && v.input.size() > 100000) continue;
      Sha256Stream stream;
      for (size_t at = 0; at < v.input.size(); at += chunk) {
        stream.Update(std::string_view(v.input).substr(at, chunk));
      }
      EXPECT_EQ(stream.FinalHex(), v.hex) << chunk;
    }
  }
}

TEST(Sha256Test, StreamStartsOverAfterFinalAndMoves) {
  Sha256Stream stream;
  stream.Update(std::span<const char>("ab", 2));
  stream.Update(std::string_view(""));
  stream.Update(std::string_view("c"));
  EXPECT_EQ(stream.FinalHex(), Vectors()[1].hex);
  EXPECT_EQ(stream.FinalHex(), Vectors()[0].hex);
  stream.Update("abc");
  Sha256Stream moved = std::move(stream);
  EXPECT_EQ(moved.FinalHex(), Vectors()[1].hex);
}

}  // namespace
}  // namespace va::vault
