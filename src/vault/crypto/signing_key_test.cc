// The signing key file on a real file system: made with mode 0600 and 128 lowercase hex
// characters on first use, reloaded identical, never regenerated over a malformed file, and
// refused when group-readable or a symlink.
#include "vault/crypto/signing_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "base/file.h"
#include "base/sys.h"
#include "support/test_env.h"

namespace va::vault {
namespace {

using ::va::testing::TempDir;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(SigningKeyTest, CreatedOnceThenReloaded) {
  TempDir dir;
  std::string path = dir.File("jwt.key");
  auto key = LoadOrCreateSigningKey(path);
  ASSERT_TRUE(key.has_value()) << key.error().message;
  EXPECT_EQ(key->size(), 64u);
  EXPECT_EQ(ModeOf(path), 0600u);
  auto text = ReadSmallFile(path);
  ASSERT_TRUE(text.has_value());
  ASSERT_EQ(text->size(), 128u);
  EXPECT_EQ(text->find_first_not_of("0123456789abcdef"), std::string::npos);

  auto again = LoadOrCreateSigningKey(path);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *key);

  TempDir other;
  auto fresh = LoadOrCreateSigningKey(other.File("jwt.key"));
  ASSERT_TRUE(fresh.has_value());
  EXPECT_NE(*fresh, *key);
}

TEST(SigningKeyTest, AcceptsATrailingNewline) {
  TempDir dir;
  std::string path = dir.File("jwt.key");
  std::string hex(128, 'a');
  ASSERT_TRUE(WriteFileAtomic(path, hex + "\n", 0600));
  auto key = LoadOrCreateSigningKey(path);
  ASSERT_TRUE(key.has_value()) << key.error().message;
  EXPECT_EQ(*key, std::vector<unsigned char>(64, 0xaa));
}

TEST(SigningKeyTest, CorruptFilesAreRefusedNotReplaced) {
  TempDir dir;
  std::string path = dir.File("jwt.key");
  for (const std::string& bad :
       {std::string(), std::string(127, 'a'), std::string(129, 'a'), std::string(128, 'A'),
        std::string(126, 'a') + "zz", std::string(128, 'a') + "\n\n", std::string(64, '\0')}) {
    ASSERT_TRUE(WriteFileAtomic(path, bad, 0600));
    auto key = LoadOrCreateSigningKey(path);
    ASSERT_FALSE(key.has_value());
    EXPECT_EQ(key.error().kind, ErrorKind::kCorrupt);
    auto after = ReadSmallFile(path);
    ASSERT_TRUE(after.has_value());
    EXPECT_EQ(*after, bad);  // never silently regenerated
  }
}

TEST(SigningKeyTest, GroupReadableOrSymlinkIsRefused) {
  TempDir dir;
  std::string path = dir.File("jwt.key");
  ASSERT_TRUE(LoadOrCreateSigningKey(path));
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  auto group = LoadOrCreateSigningKey(path);
  ASSERT_FALSE(group.has_value());
  EXPECT_EQ(group.error().kind, ErrorKind::kUntrusted);
  ASSERT_EQ(::chmod(path.c_str(), 0604), 0);
  auto world = LoadOrCreateSigningKey(path);
  ASSERT_FALSE(world.has_value());
  EXPECT_EQ(world.error().kind, ErrorKind::kUntrusted);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);

  std::string link = dir.File("link.key");
  ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
  auto linked = LoadOrCreateSigningKey(link);
  ASSERT_FALSE(linked.has_value());
  EXPECT_EQ(linked.error().kind, ErrorKind::kUntrusted);
}

TEST(SigningKeyTest, MissingDirectoryFails) {
  TempDir dir;
  auto key = LoadOrCreateSigningKey(dir.File("no/such/dir/jwt.key"));
  ASSERT_FALSE(key.has_value());
}

}  // namespace
}  // namespace va::vault
