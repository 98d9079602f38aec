// FileBlobStore on a real directory: streaming with SHA-256, commit/abort, modes, refusal of
// path tricks and symlinks, and removal of partial uploads a crash left behind.
#include "vault/store/file_blob_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/test_env.h"

namespace va::vault {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr std::string_view kOwner = "usr_0123456789abcdefghjkmnpqrs";
constexpr std::string_view kFile = "fil_0123456789abcdefghjkmnpqrs";
// FIPS 180-2 test vectors.
constexpr std::string_view kShaAbc =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr std::string_view kShaEmpty =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::string_view kShaMillionA =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class FileBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.File("data");
    auto store = FileBlobStore::Open(root_);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }
  std::string FilesDir() const { return root_ + "/users/" + std::string(kOwner) + "/files"; }

  testing::TempDir dir_;
  std::string root_;
  std::unique_ptr<FileBlobStore> store_;
};

TEST_F(FileBlobStoreTest, RoundTripWithSha256AndPrivateModes) {
  auto writer = store_->Create(kOwner, kFile);
  ASSERT_TRUE(writer) << writer.error().message;
  ASSERT_TRUE((*writer)->Write(std::string_view("ab")));
  ASSERT_TRUE((*writer)->Write(std::string_view("c")));
  EXPECT_EQ((*writer)->BytesWritten(), 3);
  // Before the commit only a partial file exists, already 0600.
  auto names = Names(FilesDir());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_THAT(names[0], HasSubstr(std::string(kFile) + ".part-"));
  EXPECT_EQ(ModeOf(FilesDir() + "/" + names[0]), 0600u);

  auto committed = (*writer)->Commit();
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(committed->size_bytes, 3);
  EXPECT_EQ(committed->sha256_hex, kShaAbc);

  const std::string path = store_->PathOf(kOwner, kFile);
  EXPECT_EQ(path, FilesDir() + "/" + std::string(kFile));
  EXPECT_EQ(ReadWhole(path), "abc");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ModeOf(root_ + "/users"), 0700u);
  EXPECT_EQ(ModeOf(root_ + "/users/" + std::string(kOwner)), 0700u);
  EXPECT_EQ(ModeOf(FilesDir()), 0700u);
  EXPECT_THAT(Names(FilesDir()), ElementsAre(std::string(kFile)));

  // A writer is done after its commit.
  EXPECT_FALSE((*writer)->Write(std::string_view("more")));
  EXPECT_FALSE((*writer)->Commit());
  writer->reset();  // the destructor leaves the committed blob alone
  EXPECT_EQ(ReadWhole(path), "abc");
}

TEST_F(FileBlobStoreTest, StreamsAMillionBytesInChunks) {
  auto writer = store_->Create(kOwner, kFile);
  ASSERT_TRUE(writer);
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE((*writer)->Write(chunk));
  auto committed = (*writer)->Commit();
  ASSERT_TRUE(committed);
  EXPECT_EQ(committed->size_bytes, 1000000);
  EXPECT_EQ(committed->sha256_hex, kShaMillionA);
  EXPECT_EQ(fs::file_size(store_->PathOf(kOwner, kFile)), 1000000u);
}

TEST_F(FileBlobStoreTest, EmptyBlob) {
  auto writer = store_->Create(kOwner, kFile);
  ASSERT_TRUE(writer);
  auto committed = (*writer)->Commit();
  ASSERT_TRUE(committed);
  EXPECT_EQ(committed->size_bytes, 0);
  EXPECT_EQ(committed->sha256_hex, kShaEmpty);
}

TEST_F(FileBlobStoreTest, AbortLeavesNothing) {
  auto writer = store_->Create(kOwner, kFile);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->Write(std::string_view("partial")));
  (*writer)->Abort();
  EXPECT_TRUE(Names(FilesDir()).empty());
  EXPECT_FALSE((*writer)->Write(std::string_view("x")));
  EXPECT_FALSE((*writer)->Commit());
  EXPECT_TRUE(Names(FilesDir()).empty());
}

TEST_F(FileBlobStoreTest, DestructorWithoutCommitLeavesNothing) {
  {
    auto writer = store_->Create(kOwner, kFile);
    ASSERT_TRUE(writer);
    ASSERT_TRUE((*writer)->Write(std::string_view("partial")));
    EXPECT_EQ(Names(FilesDir()).size(), 1u);
  }
  EXPECT_TRUE(Names(FilesDir()).empty());
}

TEST_F(FileBlobStoreTest, NeverReplacesAnExistingBlob) {
  auto first = store_->Create(kOwner, kFile);
  ASSERT_TRUE(first);
  ASSERT_TRUE((*first)->Write(std::string_view("first")));
  ASSERT_TRUE((*first)->Commit());
  auto second = store_->Create(kOwner, kFile);
  ASSERT_TRUE(second);
  ASSERT_TRUE((*second)->Write(std::string_view("second")));
  auto committed = (*second)->Commit();
  ASSERT_FALSE(committed);
  EXPECT_THAT(committed.error().message, HasSubstr("File exists"));
  EXPECT_EQ(ReadWhole(store_->PathOf(kOwner, kFile)), "first");
  EXPECT_THAT(Names(FilesDir()), ElementsAre(std::string(kFile)));  // the partial is gone
}

TEST_F(FileBlobStoreTest, RefusesPathTricksInIds) {
  const std::string long_id(65, 'a');
  for (std::string_view bad :
       {std::string_view(""), std::string_view("."), std::string_view(".."),
        std::string_view("../x"), std::string_view("a/b"), std::string_view("/etc"),
        std::string_view("USR_A"), std::string_view("usr-a"), std::string_view("x.part-1"),
        std::string_view("usr_a\0b", 7), std::string_view("usr a"), std::string_view(long_id)}) {
    auto as_owner = store_->Create(bad, kFile);
    ASSERT_FALSE(as_owner) << bad;
    EXPECT_EQ(as_owner.error().kind, ErrorKind::kInvalid);
    auto as_file = store_->Create(kOwner, bad);
    ASSERT_FALSE(as_file) << bad;
    EXPECT_EQ(as_file.error().kind, ErrorKind::kInvalid);
    EXPECT_EQ(store_->PathOf(bad, kFile), "");
    EXPECT_EQ(store_->PathOf(kOwner, bad), "");
    EXPECT_FALSE(store_->Remove(bad, kFile));
  }
  EXPECT_TRUE(Names(root_).empty());  // nothing was created anywhere
  EXPECT_TRUE(FileBlobStore::ValidId(std::string(64, 'z')));
}

TEST_F(FileBlobStoreTest, RefusesASymlinkedUsersDirectory) {
  const std::string elsewhere = dir_.File("elsewhere");
  ASSERT_EQ(::mkdir(elsewhere.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(elsewhere.c_str(), (root_ + "/users").c_str()), 0);
  auto writer = store_->Create(kOwner, kFile);
  ASSERT_FALSE(writer);
  EXPECT_EQ(writer.error().kind, ErrorKind::kUntrusted);
  EXPECT_THAT(writer.error().message, HasSubstr("users is a symbolic link"));
  EXPECT_TRUE(Names(elsewhere).empty());
  EXPECT_FALSE(store_->Remove(kOwner, kFile));
}

TEST_F(FileBlobStoreTest, RefusesSymlinksDeeperDown) {
  const std::string elsewhere = dir_.File("elsewhere");
  ASSERT_EQ(::mkdir(elsewhere.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((root_ + "/users").c_str(), 0700), 0);
  // The owner's directory is a symlink.
  ASSERT_EQ(::symlink(elsewhere.c_str(), (root_ + "/users/" + std::string(kOwner)).c_str()), 0);
  auto writer = store_->Create(kOwner, kFile);
  ASSERT_FALSE(writer);
  EXPECT_EQ(writer.error().kind, ErrorKind::kUntrusted);
  // Another owner's files directory is a symlink.
  const std::string other = "usr_other";
  ASSERT_EQ(::mkdir((root_ + "/users/" + other).c_str(), 0700), 0);
  ASSERT_EQ(::symlink(elsewhere.c_str(), (root_ + "/users/" + other + "/files").c_str()), 0);
  writer = store_->Create(other, kFile);
  ASSERT_FALSE(writer);
  EXPECT_EQ(writer.error().kind, ErrorKind::kUntrusted);
  EXPECT_TRUE(Names(elsewhere).empty());
}

TEST_F(FileBlobStoreTest, RemoveDeletesAndToleratesMissing) {
  EXPECT_TRUE(store_->Remove(kOwner, kFile));  // nothing exists yet
  auto writer = store_->Create(kOwner, kFile);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->Commit());
  ASSERT_TRUE(fs::exists(store_->PathOf(kOwner, kFile)));
  EXPECT_TRUE(store_->Remove(kOwner, kFile));
  EXPECT_FALSE(fs::exists(store_->PathOf(kOwner, kFile)));
  EXPECT_TRUE(store_->Remove(kOwner, kFile));
  EXPECT_TRUE(store_->Remove("usr_nobody", kFile));
}

TEST_F(FileBlobStoreTest, RemoveStalePartialsDeletesOnlyPartials) {
  auto writer = store_->Create(kOwner, kFile);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->Commit());
  // What a crash mid-upload leaves: partial files in two owners' directories.
  std::ofstream(FilesDir() + "/fil_crashed.part-0011223344556677") << "half";
  ASSERT_TRUE(fs::create_directories(root_ + "/users/usr_b/files"));
  std::ofstream(root_ + "/users/usr_b/files/fil_y.part-aa") << "half";
  // An owner directory without files/ and a stray file in users/ are left alone.
  ASSERT_TRUE(fs::create_directories(root_ + "/users/usr_c"));
  std::ofstream(root_ + "/users/README") << "x";

  int removed = -1;
  auto st = store_->RemoveStalePartials(&removed);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(removed, 2);
  EXPECT_THAT(Names(FilesDir()), ElementsAre(std::string(kFile)));
  EXPECT_TRUE(Names(root_ + "/users/usr_b/files").empty());
  EXPECT_TRUE(fs::exists(root_ + "/users/README"));
  EXPECT_TRUE(store_->RemoveStalePartials());
}

TEST_F(FileBlobStoreTest, RemoveStalePartialsDoesNotFollowSymlinks) {
  const std::string elsewhere = dir_.File("elsewhere");
  ASSERT_TRUE(fs::create_directories(elsewhere + "/files"));
  std::ofstream(elsewhere + "/files/victim.part-1") << "keep";
  ASSERT_TRUE(fs::create_directories(root_ + "/users"));
  ASSERT_EQ(::symlink(elsewhere.c_str(), (root_ + "/users/usr_link").c_str()), 0);
  int removed = -1;
  ASSERT_TRUE(store_->RemoveStalePartials(&removed));
  EXPECT_EQ(removed, 0);
  EXPECT_TRUE(fs::exists(elsewhere + "/files/victim.part-1"));
}

TEST(FileBlobStoreOpen, CreatesTheRootAndNeedsNoUsersDirectory) {
  testing::TempDir dir;
  const std::string root = dir.File("new-data");
  auto store = FileBlobStore::Open(root);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(ModeOf(root), 0700u);
  EXPECT_TRUE((*store)->RemoveStalePartials());
  EXPECT_FALSE(FileBlobStore::Open(""));
  EXPECT_FALSE(FileBlobStore::Open(dir.File("missing/parent/data")));
}

}  // namespace
}  // namespace va::vault
