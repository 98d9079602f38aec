// Tests for base/unique_fd.h and base/sys.h on real descriptors: UniqueFd closes exactly once and
// moves ownership, every descriptor from Open/OpenAt/MakePipe is close-on-exec, Read/ReadAll/
// WriteAll move real bytes through files and pipes (with ReadAll's size limit), PollOne reports
// timeouts and readiness, and the small-file helpers read and write whole files.
#include "base/sys.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "base/unique_fd.h"
#include "support/test_env.h"

namespace va {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// True when `fd` names an open descriptor in this process.
bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

bool IsCloexec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  return flags != -1 && (flags & FD_CLOEXEC) != 0;
}

using ::va::testing::TempDir;

// A descriptor created outside UniqueFd, for ownership tests.
int RawFd() {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  return fd;
}

// --- UniqueFd ---

TEST(UniqueFdTest, DefaultIsInvalid) {
  UniqueFd fd;
  EXPECT_FALSE(fd.Valid());
  EXPECT_FALSE(fd);
  EXPECT_EQ(fd.Get(), -1);
}

TEST(UniqueFdTest, DestructorClosesTheDescriptor) {
  int raw = RawFd();
  {
    UniqueFd fd(raw);
    EXPECT_TRUE(fd.Valid());
    EXPECT_EQ(fd.Get(), raw);
    EXPECT_TRUE(IsOpen(raw));
  }
  EXPECT_FALSE(IsOpen(raw));
}

TEST(UniqueFdTest, ResetClosesOldAndAdoptsNew) {
  int first = RawFd();
  int second = RawFd();
  UniqueFd fd(first);
  fd.Reset(second);
  EXPECT_FALSE(IsOpen(first));
  EXPECT_TRUE(IsOpen(second));
  EXPECT_EQ(fd.Get(), second);
  fd.Reset();
  EXPECT_FALSE(IsOpen(second));
  EXPECT_FALSE(fd.Valid());
  fd.Reset();  // resetting an empty UniqueFd is harmless
  EXPECT_FALSE(fd.Valid());
}

TEST(UniqueFdTest, ReleaseGivesUpOwnershipWithoutClosing) {
  int raw = RawFd();
  {
    UniqueFd fd(raw);
    EXPECT_EQ(fd.Release(), raw);
    EXPECT_FALSE(fd.Valid());
  }
  EXPECT_TRUE(IsOpen(raw));
  ::close(raw);
}

TEST(UniqueFdTest, MoveConstructionTransfersOwnership) {
  int raw = RawFd();
  UniqueFd a(raw);
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a.Valid());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(b.Get(), raw);
  a.Reset();  // must not close the descriptor b now owns
  EXPECT_TRUE(IsOpen(raw));
  b.Reset();
  EXPECT_FALSE(IsOpen(raw));
}

TEST(UniqueFdTest, MoveAssignmentClosesTargetAndTransfers) {
  int target_raw = RawFd();
  int source_raw = RawFd();
  UniqueFd target(target_raw);
  UniqueFd source(source_raw);
  target = std::move(source);
  EXPECT_FALSE(IsOpen(target_raw));
  EXPECT_TRUE(IsOpen(source_raw));
  EXPECT_EQ(target.Get(), source_raw);
  EXPECT_FALSE(source.Valid());  // NOLINT(bugprone-use-after-move)
}

TEST(UniqueFdTest, SelfMoveAssignmentKeepsTheDescriptor) {
  int raw = RawFd();
  UniqueFd fd(raw);
  UniqueFd& alias = fd;
  fd = std::move(alias);
  EXPECT_EQ(fd.Get(), raw);
  EXPECT_TRUE(IsOpen(raw));
}

// --- Open / OpenAt ---

TEST(OpenTest, OpensCloexecEvenWhenNotAsked) {
  TempDir dir;
  Result<UniqueFd> fd = Open(dir.File("f"), O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_TRUE(fd.has_value()) << fd.error().message;
  EXPECT_TRUE(IsCloexec(fd->Get()));
  Result<struct stat> st = Fstat(fd->Get());
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(S_ISREG(st->st_mode));
}

TEST(OpenTest, MissingFileIsNotFoundAndNamesThePath) {
  TempDir dir;
  const std::string path = dir.File("missing");
  Result<UniqueFd> fd = Open(path, O_RDONLY);
  ASSERT_FALSE(fd.has_value());
  EXPECT_EQ(fd.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(fd.error().sys_errno, ENOENT);
  EXPECT_THAT(fd.error().message, HasSubstr("open " + path));
}

TEST(OpenTest, ExclusiveCreateOfExistingFileIsSystemError) {
  TempDir dir;
  ASSERT_TRUE(Open(dir.File("f"), O_WRONLY | O_CREAT, 0600).has_value());
  Result<UniqueFd> again = Open(dir.File("f"), O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().kind, ErrorKind::kSystem);
  EXPECT_EQ(again.error().sys_errno, EEXIST);
}

TEST(OpenAtTest, OpensRelativeToDirectoryCloexec) {
  TempDir dir;
  Result<UniqueFd> dirfd = Open(dir.Path(), O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(dirfd.has_value()) << dirfd.error().message;
  EXPECT_TRUE(IsCloexec(dirfd->Get()));

  Result<UniqueFd> fd = OpenAt(dirfd->Get(), "child", O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_TRUE(fd.has_value()) << fd.error().message;
  EXPECT_TRUE(IsCloexec(fd->Get()));
  ASSERT_TRUE(WriteAll(fd->Get(), "via openat").has_value());
  fd->Reset();

  Result<std::string> data = ReadSmallFile(dir.File("child"));
  ASSERT_TRUE(data.has_value()) << data.error().message;
  EXPECT_EQ(*data, "via openat");

  Result<UniqueFd> missing = OpenAt(dirfd->Get(), "nope", O_RDONLY);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(missing.error().message, HasSubstr("nope"));
}

// --- Pipes, Read, ReadAll, WriteAll ---

TEST(MakePipeTest, BothEndsAreCloexec) {
  Result<Pipe> p = MakePipe();
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_TRUE(IsCloexec(p->read.Get()));
  EXPECT_TRUE(IsCloexec(p->write.Get()));
  EXPECT_EQ(::fcntl(p->read.Get(), F_GETFL) & O_NONBLOCK, 0);
}

TEST(MakePipeTest, ExtraFlagsAreAppliedAndCloexecKept) {
  Result<Pipe> p = MakePipe(O_NONBLOCK);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_TRUE(IsCloexec(p->read.Get()));
  EXPECT_TRUE(IsCloexec(p->write.Get()));
  EXPECT_NE(::fcntl(p->read.Get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(p->write.Get(), F_GETFL) & O_NONBLOCK, 0);

  // Reading an empty non-blocking pipe fails with EAGAIN instead of blocking.
  char buf[4];
  Result<size_t> n = Read(p->read.Get(), buf);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().sys_errno, EAGAIN);
  EXPECT_EQ(n.error().kind, ErrorKind::kSystem);
}

TEST(ReadTest, ReturnsBytesThenZeroAtEndOfFile) {
  Result<Pipe> p = MakePipe();
  ASSERT_TRUE(p.has_value());
  ASSERT_TRUE(WriteAll(p->write.Get(), "abc").has_value());
  p->write.Reset();
  char buf[16];
  Result<size_t> n = Read(p->read.Get(), buf);
  ASSERT_TRUE(n.has_value());
  ASSERT_EQ(*n, 3u);
  EXPECT_EQ(std::string(buf, *n), "abc");
  Result<size_t> eof = Read(p->read.Get(), buf);
  ASSERT_TRUE(eof.has_value());
  EXPECT_EQ(*eof, 0u);
}

TEST(ReadTest, BadDescriptorIsAnError) {
  char buf[4];
  Result<size_t> n = Read(-1, buf);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().sys_errno, EBADF);
  EXPECT_THAT(n.error().message, HasSubstr("read"));
}

TEST(ReadAllTest, ReadsAFileLargerThanOneBuffer) {
  TempDir dir;
  std::string content;
  for (int i = 0; i < 50000; ++i) content += static_cast<char>('a' + i % 26);
  {
    Result<UniqueFd> fd = Open(dir.File("big"), O_WRONLY | O_CREAT, 0600);
    ASSERT_TRUE(fd.has_value());
    ASSERT_TRUE(WriteAll(fd->Get(), content).has_value());
  }
  Result<UniqueFd> fd = Open(dir.File("big"), O_RDONLY);
  ASSERT_TRUE(fd.has_value());
  Result<std::string> data = ReadAll(fd->Get());
  ASSERT_TRUE(data.has_value()) << data.error().message;
  EXPECT_EQ(*data, content);
}

TEST(ReadAllTest, ExactlyTheLimitIsAcceptedOneMoreIsInvalid) {
  for (size_t size : {size_t{100}, size_t{101}}) {
    Result<Pipe> p = MakePipe();
    ASSERT_TRUE(p.has_value());
    ASSERT_TRUE(WriteAll(p->write.Get(), std::string(size, 'x')).has_value());
    p->write.Reset();
    Result<std::string> data = ReadAll(p->read.Get(), 100);
    if (size == 100) {
      ASSERT_TRUE(data.has_value()) << data.error().message;
      EXPECT_EQ(data->size(), 100u);
    } else {
      ASSERT_FALSE(data.has_value());
      EXPECT_EQ(data.error().kind, ErrorKind::kInvalid);
      EXPECT_THAT(data.error().message, HasSubstr("100"));
    }
  }
}

TEST(ReadAllTest, EmptyInputIsEmptyString) {
  Result<Pipe> p = MakePipe();
  ASSERT_TRUE(p.has_value());
  p->write.Reset();
  Result<std::string> data = ReadAll(p->read.Get(), 0);
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(*data, "");
}

TEST(WriteAllTest, WritesMoreThanAPipeHoldsWhileAReaderDrains) {
  Result<Pipe> p = MakePipe();
  ASSERT_TRUE(p.has_value());
  // Several times the default 64 KiB pipe capacity, so the writer must loop on short writes.
  std::string payload;
  payload.reserve(1 << 20);
  for (int i = 0; payload.size() < (1u << 20); ++i) payload += std::to_string(i) + ',';

  Status written;
  std::thread writer([&] {
    written = WriteAll(p->write.Get(), payload);
    p->write.Reset();
  });
  Result<std::string> data = ReadAll(p->read.Get());
  writer.join();
  ASSERT_TRUE(written.has_value()) << written.error().message;
  ASSERT_TRUE(data.has_value()) << data.error().message;
  EXPECT_EQ(data->size(), payload.size());
  EXPECT_TRUE(*data == payload);
}

TEST(WriteAllTest, EmptyDataWritesNothing) {
  Result<Pipe> p = MakePipe(O_NONBLOCK);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(WriteAll(p->write.Get(), "").has_value());
  p->write.Reset();
  Result<std::string> data = ReadAll(p->read.Get());
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(*data, "");
}

TEST(WriteAllTest, ClosedReaderGivesEpipe) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old {};
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &old), 0);

  Result<Pipe> p = MakePipe();
  ASSERT_TRUE(p.has_value());
  p->read.Reset();
  Status st = WriteAll(p->write.Get(), "nobody listens");
  ::sigaction(SIGPIPE, &old, nullptr);

  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().sys_errno, EPIPE);
  EXPECT_EQ(st.error().kind, ErrorKind::kSystem);
  EXPECT_THAT(st.error().message, HasSubstr("write"));
}

// --- Fstat ---

TEST(FstatTest, ReportsSizeAndFailsOnBadFd) {
  TempDir dir;
  Result<UniqueFd> fd = Open(dir.File("f"), O_RDWR | O_CREAT, 0640);
  ASSERT_TRUE(fd.has_value());
  ASSERT_TRUE(WriteAll(fd->Get(), "12345").has_value());
  Result<struct stat> st = Fstat(fd->Get());
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->st_size, 5);

  Result<struct stat> bad = Fstat(-1);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().sys_errno, EBADF);
}

// --- PollOne / MillisUntil ---

TEST(PollOneTest, TimeoutReturnsZero) {
  Result<Pipe> p = MakePipe();
  ASSERT_TRUE(p.has_value());
  Result<short> zero_wait = PollOne(p->read.Get(), POLLIN, 0ms);
  ASSERT_TRUE(zero_wait.has_value()) << zero_wait.error().message;
  EXPECT_EQ(*zero_wait, 0);
  Result<short> short_wait = PollOne(p->read.Get(), POLLIN, 5ms);
  ASSERT_TRUE(short_wait.has_value()) << short_wait.error().message;
  EXPECT_EQ(*short_wait, 0);
}

TEST(PollOneTest, ReadableReturnsPollin) {
  Result<Pipe> p = MakePipe();
  ASSERT_TRUE(p.has_value());
  ASSERT_TRUE(WriteAll(p->write.Get(), "x").has_value());
  // A negative timeout means forever; the data is already there, so it returns at once.
  Result<short> r = PollOne(p->read.Get(), POLLIN, -1ms);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_NE(*r & POLLIN, 0);
}

TEST(PollOneTest, ClosedWriterReturnsPollhup) {
  Result<Pipe> p = MakePipe();
  ASSERT_TRUE(p.has_value());
  p->write.Reset();
  Result<short> r = PollOne(p->read.Get(), POLLIN, 1000ms);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_NE(*r & POLLHUP, 0);
}

TEST(PollOneTest, WritableReturnsPollout) {
  Result<Pipe> p = MakePipe();
  ASSERT_TRUE(p.has_value());
  Result<short> r = PollOne(p->write.Get(), POLLOUT, 1000ms);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_NE(*r & POLLOUT, 0);
}

TEST(PollOneTest, WakesWhenAnotherThreadWrites) {
  Result<Pipe> p = MakePipe();
  ASSERT_TRUE(p.has_value());
  std::thread writer([&] { (void)WriteAll(p->write.Get(), "ready"); });
  Result<short> r = PollOne(p->read.Get(), POLLIN, -1ms);
  writer.join();
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_NE(*r & POLLIN, 0);
}

TEST(PollOneTest, InvalidFdReportsPollnval) {
  Result<short> r = PollOne(INT_MAX, POLLIN, 0ms);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_NE(*r & POLLNVAL, 0);
}

TEST(MillisUntilTest, PastDeadlineIsZero) {
  EXPECT_EQ(MillisUntil(std::chrono::steady_clock::now() - 1s), 0);
  EXPECT_EQ(MillisUntil(std::chrono::steady_clock::now()), 0);
}

TEST(MillisUntilTest, FutureDeadlineIsPositiveAndBounded) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  int ms = MillisUntil(deadline);
  EXPECT_GT(ms, 0);
  EXPECT_LE(ms, 5000);
}

TEST(MillisUntilTest, FarDeadlineIsClampedToIntMax) {
  const auto far = std::chrono::steady_clock::now() + std::chrono::hours(24 * 365 * 50);
  EXPECT_EQ(MillisUntil(far), INT_MAX);
}

// --- ReadSmallFile / WriteExistingFile ---

TEST(ReadSmallFileTest, ReadsWholeFileAndReportsErrorsWithPath) {
  TempDir dir;
  const std::string path = dir.File("small");
  {
    Result<UniqueFd> fd = Open(path, O_WRONLY | O_CREAT, 0600);
    ASSERT_TRUE(fd.has_value());
    ASSERT_TRUE(WriteAll(fd->Get(), "1234 (cat) S 1\n").has_value());
  }
  Result<std::string> data = ReadSmallFile(path);
  ASSERT_TRUE(data.has_value()) << data.error().message;
  EXPECT_EQ(*data, "1234 (cat) S 1\n");

  Result<std::string> too_big = ReadSmallFile(path, 4);
  ASSERT_FALSE(too_big.has_value());
  EXPECT_EQ(too_big.error().kind, ErrorKind::kInvalid);
  EXPECT_THAT(too_big.error().message, HasSubstr(path + ": "));

  Result<std::string> missing = ReadSmallFile(dir.File("missing"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
}

TEST(ReadSmallFileTest, ReadsProcFiles) {
  Result<std::string> stat = ReadSmallFile("/proc/self/stat");
  ASSERT_TRUE(stat.has_value()) << stat.error().message;
  EXPECT_EQ(stat->rfind(std::to_string(::getpid()) + " (", 0), 0u) << *stat;
}

TEST(WriteExistingFileTest, OverwritesExistingAndNeverCreates) {
  TempDir dir;
  const std::string path = dir.File("control");
  ASSERT_TRUE(Open(path, O_WRONLY | O_CREAT, 0600).has_value());
  Status st = WriteExistingFile(path, "max 100\n");
  ASSERT_TRUE(st.has_value()) << st.error().message;
  Result<std::string> data = ReadSmallFile(path);
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(*data, "max 100\n");

  const std::string absent = dir.File("absent");
  Status missing = WriteExistingFile(absent, "x");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(absent));
}

TEST(WriteExistingFileTest, WriteErrorNamesThePath) {
  // /dev/full accepts open(O_WRONLY) but every write fails with ENOSPC.
  Status st = WriteExistingFile("/dev/full", "x");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().sys_errno, ENOSPC);
  EXPECT_THAT(st.error().message, HasSubstr("/dev/full: write"));
}

}  // namespace
}  // namespace va
