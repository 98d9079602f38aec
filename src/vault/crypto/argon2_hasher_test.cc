// argon2id through libsodium: hash strings embed argon2id and a fresh salt, verification accepts
// only the right password, and malformed or foreign hash strings are refused, never crash.
#include "vault/crypto/argon2_hasher.h"

#include <gtest/gtest.h>

#include <string>

namespace va::vault {
namespace {

TEST(Argon2HasherTest, HashAndVerify) {
  Argon2Hasher hasher(Argon2Params::Minimal());
  auto hash = hasher.Hash("correct horse battery");
  ASSERT_TRUE(hash.has_value()) << hash.error().message;
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_EQ(hash->find("correct"), std::string::npos);
  EXPECT_TRUE(hasher.Verify(*hash, "correct horse battery"));
  EXPECT_FALSE(hasher.Verify(*hash, "correct horse batterY"));
  EXPECT_FALSE(hasher.Verify(*hash, ""));
  auto again = hasher.Hash("correct horse battery");
  ASSERT_TRUE(again.has_value());
  EXPECT_NE(*again, *hash);  // a fresh salt each time
}

TEST(Argon2HasherTest, DefaultParametersAreInteractive) {
  Argon2Hasher hasher;
  auto hash = hasher.Hash("another password");
  ASSERT_TRUE(hash.has_value());
  // libsodium's INTERACTIVE limits: 64 MiB, 2 passes.
  EXPECT_NE(hash->find("m=65536,t=2"), std::string::npos) << *hash;
  EXPECT_TRUE(hasher.Verify(*hash, "another password"));
  std::string with_nul("a\0b", 3);
  auto nul_hash = hasher.Hash(with_nul);
  ASSERT_TRUE(nul_hash.has_value());
  EXPECT_TRUE(hasher.Verify(*nul_hash, with_nul));
  EXPECT_FALSE(hasher.Verify(*nul_hash, "a"));
}

TEST(Argon2HasherTest, MalformedHashesAreRefused) {
  Argon2Hasher hasher(Argon2Params::Minimal());
  auto hash = hasher.Hash("password1");
  ASSERT_TRUE(hash.has_value());
  for (const std::string& bad :
       {std::string(), std::string("password1"), std::string("$argon2i$v=19$m=8,t=1,p=1$x$y"),
        std::string("$argon2id$"), hash->substr(0, hash->size() - 5), *hash + "AAAA",
        std::string(500, '$'), std::string("fake$00$00"), std::string(*hash).replace(11, 1, "X")}) {
    EXPECT_FALSE(hasher.Verify(bad, "password1")) << bad;
  }
}

}  // namespace
}  // namespace va::vault
