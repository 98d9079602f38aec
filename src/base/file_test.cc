// Tests for base/file.h on a real filesystem: WriteFileAtomic (content, modes, replacement,
// symlinks, no temporary file left behind on success or failure), ReadTrustedFile (every trust
// check: symlink, file type, owner, group/other permissions, private_only, size limit) and
// RemoveFile.
#include "base/file.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/sys.h"
#include "base/unique_fd.h"
#include "support/test_env.h"

namespace va {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using ::va::testing::TempDir;

// Sorted names in `dir` (no "." or ".."), so tests can assert that nothing else was left.
std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st.st_mode & 07777;
}

std::string Slurp(const std::string& path) {
  Result<std::string> data = ReadSmallFile(path);
  EXPECT_TRUE(data.has_value()) << data.error().message;
  return data.value_or("");
}

// Writes `data` with exactly `mode` (bypassing the umask), for ReadTrustedFile setups.
void MakeFile(const std::string& path, std::string_view data, mode_t mode) {
  ASSERT_TRUE(WriteFileAtomic(path, data, mode).has_value());
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << std::strerror(errno);
}

// Restores the process umask when it goes out of scope.
class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
  ~UmaskGuard() { ::umask(old_); }

 private:
  mode_t old_;
};

// Runs with the working directory set to `dir`, restoring the old one on destruction.
class CwdGuard {
 public:
  explicit CwdGuard(const std::string& dir)
      : old_(::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    EXPECT_TRUE(old_.Valid());
    EXPECT_EQ(::chdir(dir.c_str()), 0) << std::strerror(errno);
  }
  ~CwdGuard() { EXPECT_EQ(::fchdir(old_.Get()), 0) << std::strerror(errno); }

 private:
  UniqueFd old_;
};

// --- WriteFileAtomic ---

TEST(WriteFileAtomicTest, WritesContentWithDefaultMode0600) {
  TempDir dir;
  const std::string path = dir.File("state.json");
  Status st = WriteFileAtomic(path, "{\"version\":1}\n");
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_EQ(Slurp(path), "{\"version\":1}\n");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_THAT(ListDir(dir.Path()), ElementsAre("state.json"));
}

TEST(WriteFileAtomicTest, AppliesACustomModeRegardlessOfUmask) {
  TempDir dir;
  UmaskGuard umask_guard(077);
  const std::string path = dir.File("public");
  ASSERT_TRUE(WriteFileAtomic(path, "hello", 0644).has_value());
  EXPECT_EQ(ModeOf(path), 0644u);
  const std::string path2 = dir.File("group");
  ASSERT_TRUE(WriteFileAtomic(path2, "hello", 0640).has_value());
  EXPECT_EQ(ModeOf(path2), 0640u);
}

TEST(WriteFileAtomicTest, ReplacesAnExistingFileWithoutDisturbingOpenReaders) {
  TempDir dir;
  const std::string path = dir.File("config");
  MakeFile(path, "old content", 0644);
  Result<UniqueFd> reader = Open(path, O_RDONLY);
  ASSERT_TRUE(reader.has_value());

  Status st = WriteFileAtomic(path, "new");
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_EQ(Slurp(path), "new");
  EXPECT_EQ(ModeOf(path), 0600u);  // the new file's mode, not the old one's
  EXPECT_THAT(ListDir(dir.Path()), ElementsAre("config"));

  // A reader that opened the old file still sees the old content in full: never a mix.
  Result<std::string> old = ReadAll(reader->Get());
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(*old, "old content");
}

TEST(WriteFileAtomicTest, RepeatedWritesLeaveOnlyTheFile) {
  TempDir dir;
  const std::string path = dir.File("counter");
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(WriteFileAtomic(path, std::to_string(i)).has_value());
  }
  EXPECT_EQ(Slurp(path), "19");
  EXPECT_THAT(ListDir(dir.Path()), ElementsAre("counter"));
}

TEST(WriteFileAtomicTest, EmptyAndBinaryDataAreWrittenExactly) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.File("empty"), "").has_value());
  EXPECT_EQ(Slurp(dir.File("empty")), "");

  const std::string binary("a\0b\xff\n", 5);
  ASSERT_TRUE(WriteFileAtomic(dir.File("binary"), binary).has_value());
  EXPECT_EQ(Slurp(dir.File("binary")), binary);
}

TEST(WriteFileAtomicTest, RelativeNameWritesInTheWorkingDirectory) {
  TempDir dir;
  {
    CwdGuard cwd(dir.Path());
    Status st = WriteFileAtomic("relative.txt", "here");
    ASSERT_TRUE(st.has_value()) << st.error().message;
  }
  EXPECT_EQ(Slurp(dir.File("relative.txt")), "here");
  EXPECT_THAT(ListDir(dir.Path()), ElementsAre("relative.txt"));
}

TEST(WriteFileAtomicTest, MissingDirectoryFailsAndCreatesNothing) {
  TempDir dir;
  const std::string path = dir.File("no/such/dir/file");
  Status st = WriteFileAtomic(path, "data");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(st.error().message, HasSubstr(dir.File("no/such/dir")));
  EXPECT_TRUE(ListDir(dir.Path()).empty());
}

TEST(WriteFileAtomicTest, FailedRenameRemovesTheTemporaryFile) {
  TempDir dir;
  // The target is a non-empty directory: the temporary file is created and written, then
  // rename(2) fails, and the temporary file must be cleaned up.
  const std::string path = dir.File("target");
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  MakeFile(path + "/inside", "keep", 0600);

  Status st = WriteFileAtomic(path, "data");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().kind, ErrorKind::kSystem);
  EXPECT_THAT(st.error().message, HasSubstr("write " + path));
  EXPECT_THAT(st.error().message, HasSubstr("rename"));
  EXPECT_THAT(ListDir(dir.Path()), ElementsAre("target"));
  EXPECT_THAT(ListDir(path), ElementsAre("inside"));
  EXPECT_EQ(Slurp(path + "/inside"), "keep");
}

TEST(WriteFileAtomicTest, PathEndingInSlashIsInvalid) {
  TempDir dir;
  Status st = WriteFileAtomic(dir.Path() + "/", "data");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().kind, ErrorKind::kInvalid);
  EXPECT_TRUE(ListDir(dir.Path()).empty());
}

TEST(WriteFileAtomicTest, ReplacesASymlinkItselfNotItsTarget) {
  TempDir dir;
  const std::string target = dir.File("target");
  const std::string link = dir.File("link");
  MakeFile(target, "original", 0600);
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);

  ASSERT_TRUE(WriteFileAtomic(link, "replacement").has_value());
  EXPECT_EQ(Slurp(target), "original");
  struct stat st {};
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(Slurp(link), "replacement");
  EXPECT_THAT(ListDir(dir.Path()), ElementsAre("link", "target"));
}

// --- ReadTrustedFile ---

TEST(ReadTrustedFileTest, ReadsAPrivateFileOwnedByTheCaller) {
  TempDir dir;
  const std::string path = dir.File("secret");
  MakeFile(path, "s3cr3t", 0600);
  Result<std::string> data = ReadTrustedFile(path);
  ASSERT_TRUE(data.has_value()) << data.error().message;
  EXPECT_EQ(*data, "s3cr3t");

  Result<std::string> private_data = ReadTrustedFile(path, {.private_only = true});
  ASSERT_TRUE(private_data.has_value()) << private_data.error().message;
  EXPECT_EQ(*private_data, "s3cr3t");
}

TEST(ReadTrustedFileTest, ReadableByOthersIsFineWithoutPrivateOnly) {
  TempDir dir;
  for (mode_t mode : {0644, 0640, 0604, 0400, 0444}) {
    const std::string path = dir.File("f");
    MakeFile(path, "shared", mode);
    Result<std::string> data = ReadTrustedFile(path);
    ASSERT_TRUE(data.has_value()) << "mode " << std::oct << mode << ": " << data.error().message;
    EXPECT_EQ(*data, "shared");
  }
}

TEST(ReadTrustedFileTest, MissingFileIsNotFound) {
  TempDir dir;
  Result<std::string> data = ReadTrustedFile(dir.File("missing"));
  ASSERT_FALSE(data.has_value());
  EXPECT_EQ(data.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(data.error().sys_errno, ENOENT);
  EXPECT_THAT(data.error().message, HasSubstr(dir.File("missing")));
}

TEST(ReadTrustedFileTest, SymlinkIsUntrustedEvenToAGoodFile) {
  TempDir dir;
  const std::string target = dir.File("good");
  const std::string link = dir.File("link");
  MakeFile(target, "fine", 0600);
  ASSERT_TRUE(ReadTrustedFile(target).has_value());
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);

  Result<std::string> data = ReadTrustedFile(link);
  ASSERT_FALSE(data.has_value());
  EXPECT_EQ(data.error().kind, ErrorKind::kUntrusted);
  EXPECT_THAT(data.error().message, HasSubstr("symbolic link"));

  const std::string dangling = dir.File("dangling");
  ASSERT_EQ(::symlink(dir.File("nowhere").c_str(), dangling.c_str()), 0);
  Result<std::string> dangling_data = ReadTrustedFile(dangling);
  ASSERT_FALSE(dangling_data.has_value());
  EXPECT_EQ(dangling_data.error().kind, ErrorKind::kUntrusted);
}

TEST(ReadTrustedFileTest, GroupWritableIsUntrusted) {
  TempDir dir;
  for (mode_t mode : {0620, 0660, 0670}) {
    const std::string path = dir.File("f");
    MakeFile(path, "x", mode);
    Result<std::string> data = ReadTrustedFile(path);
    ASSERT_FALSE(data.has_value()) << "mode " << std::oct << mode;
    EXPECT_EQ(data.error().kind, ErrorKind::kUntrusted);
    EXPECT_THAT(data.error().message, HasSubstr("writable by group or others"));
  }
}

TEST(ReadTrustedFileTest, WorldWritableIsUntrusted) {
  TempDir dir;
  for (mode_t mode : {0602, 0606, 0666, 0777}) {
    const std::string path = dir.File("f");
    MakeFile(path, "x", mode);
    Result<std::string> data = ReadTrustedFile(path);
    ASSERT_FALSE(data.has_value()) << "mode " << std::oct << mode;
    EXPECT_EQ(data.error().kind, ErrorKind::kUntrusted);
    EXPECT_THAT(data.error().message, HasSubstr("writable by group or others"));
  }
}

TEST(ReadTrustedFileTest, PrivateOnlyRefusesAnyGroupOrOtherAccess) {
  TempDir dir;
  for (mode_t mode : {0644, 0640, 0604, 0610, 0601}) {
    const std::string path = dir.File("key");
    MakeFile(path, "k", mode);
    Result<std::string> data = ReadTrustedFile(path, {.private_only = true});
    ASSERT_FALSE(data.has_value()) << "mode " << std::oct << mode;
    EXPECT_EQ(data.error().kind, ErrorKind::kUntrusted);
    EXPECT_THAT(data.error().message, HasSubstr("accessible by group or others"));
  }
}

TEST(ReadTrustedFileTest, DirectoryIsUntrusted) {
  TempDir dir;
  const std::string sub = dir.File("sub");
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  Result<std::string> data = ReadTrustedFile(sub);
  ASSERT_FALSE(data.has_value());
  EXPECT_EQ(data.error().kind, ErrorKind::kUntrusted);
  EXPECT_THAT(data.error().message, HasSubstr("not a regular file"));
}

TEST(ReadTrustedFileTest, FifoIsUntrustedAndDoesNotBlock) {
  TempDir dir;
  const std::string fifo = dir.File("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // No writer exists: a blocking open would hang here forever.
  Result<std::string> data = ReadTrustedFile(fifo);
  ASSERT_FALSE(data.has_value());
  EXPECT_EQ(data.error().kind, ErrorKind::kUntrusted);
  EXPECT_THAT(data.error().message, HasSubstr("not a regular file"));
}

TEST(ReadTrustedFileTest, FileOwnedByAnotherUidIsUntrusted) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown a file to uid 65534";
  TempDir dir;
  const std::string path = dir.File("foreign");
  MakeFile(path, "theirs", 0600);
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0) << std::strerror(errno);

  Result<std::string> data = ReadTrustedFile(path);
  ASSERT_FALSE(data.has_value());
  EXPECT_EQ(data.error().kind, ErrorKind::kUntrusted);
  EXPECT_THAT(data.error().message, HasSubstr("owned by uid 65534"));

  // Naming that owner in the policy makes the same file acceptable.
  Result<std::string> as_owner = ReadTrustedFile(path, {.owner = 65534});
  ASSERT_TRUE(as_owner.has_value()) << as_owner.error().message;
  EXPECT_EQ(*as_owner, "theirs");
}

TEST(ReadTrustedFileTest, RootOwnedFileIsAcceptedForAnyPolicyOwner) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to own a file as uid 0";
  TempDir dir;
  const std::string path = dir.File("rootfile");
  MakeFile(path, "root's", 0644);
  Result<std::string> data = ReadTrustedFile(path, {.owner = 65534});
  ASSERT_TRUE(data.has_value()) << data.error().message;
  EXPECT_EQ(*data, "root's");
}

TEST(ReadTrustedFileTest, MaxBytesIsEnforced) {
  TempDir dir;
  const std::string path = dir.File("sized");
  MakeFile(path, "0123456789", 0600);

  Result<std::string> exact = ReadTrustedFile(path, {.max_bytes = 10});
  ASSERT_TRUE(exact.has_value()) << exact.error().message;
  EXPECT_EQ(*exact, "0123456789");

  Result<std::string> over = ReadTrustedFile(path, {.max_bytes = 9});
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().kind, ErrorKind::kInvalid);
  EXPECT_THAT(over.error().message, HasSubstr(path));
}

// --- RemoveFile ---

TEST(RemoveFileTest, RemovesAnExistingFile) {
  TempDir dir;
  const std::string path = dir.File("gone");
  MakeFile(path, "x", 0600);
  ASSERT_TRUE(RemoveFile(path).has_value());
  EXPECT_TRUE(ListDir(dir.Path()).empty());
}

TEST(RemoveFileTest, MissingFileIsOk) {
  TempDir dir;
  Status st = RemoveFile(dir.File("never-existed"));
  EXPECT_TRUE(st.has_value()) << st.error().message;
}

TEST(RemoveFileTest, RemovesASymlinkNotItsTarget) {
  TempDir dir;
  const std::string target = dir.File("target");
  const std::string link = dir.File("link");
  MakeFile(target, "stay", 0600);
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  ASSERT_TRUE(RemoveFile(link).has_value());
  EXPECT_THAT(ListDir(dir.Path()), ElementsAre("target"));
  EXPECT_EQ(Slurp(target), "stay");
}

TEST(RemoveFileTest, DirectoryIsAnErrorAndIsKept) {
  TempDir dir;
  const std::string sub = dir.File("sub");
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  Status st = RemoveFile(sub);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().kind, ErrorKind::kSystem);
  EXPECT_THAT(st.error().message, HasSubstr("unlink " + sub));
  EXPECT_TRUE(std::filesystem::is_directory(sub));
}

}  // namespace
}  // namespace va
