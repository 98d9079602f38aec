// Tests for identity.h: reading a real process's identity from /proc (this process, a child whose
// name holds spaces and parentheses, a pid that does not exist) and every kind of mismatch.
#include "proc/identity.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/sys.h"
#include "proc/process.h"
#include "proc/stop.h"
#include "support/child.h"
#include "support/test_env.h"

namespace va {
namespace {

using std::chrono::milliseconds;

std::string ReadFileOrEmpty(const std::string& path) {
  auto text = ReadSmallFile(path);
  return text ? *text : std::string();
}

class IdentityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  void TearDown() override { testing::ReapStrays(); }
};

TEST_F(IdentityTest, SelfMatchesGetpidGetuidAndComm) {
  auto id = ReadProcessIdentity(::getpid());
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->pid, ::getpid());
  EXPECT_EQ(id->uid, ::getuid());
  EXPECT_EQ(id->ppid, ::getppid());
  EXPECT_EQ(id->pgid, ::getpgrp());
  EXPECT_EQ(id->state, 'R');
  std::string comm = ReadFileOrEmpty("/proc/self/comm");
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  EXPECT_EQ(id->comm, comm);
  EXPECT_EQ(id->exe, std::filesystem::read_symlink("/proc/self/exe").string());
  EXPECT_GT(id->start_time, 0u);

  // Reading twice gives the same start time: it identifies this process, not the moment of reading.
  auto again = ReadProcessIdentity(::getpid());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->start_time, id->start_time);
  EXPECT_EQ(
      IdentityMismatch(*again, {.name = id->comm, .start_time = id->start_time, .uid = id->uid}),
      std::nullopt);
}

TEST_F(IdentityTest, MissingPidIsNotFound) {
  // pid_max is one more than the largest pid the kernel hands out.
  auto pid_max = ReadSmallFile("/proc/sys/kernel/pid_max");
  ASSERT_TRUE(pid_max);
  const pid_t missing = static_cast<pid_t>(std::stol(*pid_max));
  auto id = ReadProcessIdentity(missing);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().kind, ErrorKind::kNotFound) << id.error().message;
}

TEST_F(IdentityTest, InvalidPidFails) {
  EXPECT_FALSE(ReadProcessIdentity(0));
  EXPECT_FALSE(ReadProcessIdentity(-1));
}

TEST_F(IdentityTest, ChildWithParenthesesAndSpacesInItsName) {
  // comm comes from the name the program was exec'd by; a symlink gives it an awkward one.
  testing::TempDir dir;
  const std::string link = dir.File("a) b (c");
  std::filesystem::create_symlink(testing::BinPath("va-test-child"), link);
  auto child = testing::StartChild({"pause"}, {.argv = {link}});
  ASSERT_TRUE(child) << child.error().message;
  ASSERT_EQ(child->line, "ready");

  auto id = ReadProcessIdentity(child->process.Pid());
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->comm, "a) b (c");
  EXPECT_EQ(id->ppid, ::getpid());
  EXPECT_EQ(id->pgid, ::getpgrp());
  EXPECT_EQ(id->uid, ::getuid());
  // Running or already waiting in pause(), but alive.
  EXPECT_TRUE(id->state == 'R' || id->state == 'S') << id->state;
  EXPECT_EQ(std::filesystem::path(id->exe).filename(), "va-test-child");
  EXPECT_GT(id->start_time, 0u);
  // Either name identifies it: the one it was started by (comm) and its executable's.
  EXPECT_EQ(IdentityMismatch(*id, {.name = "a) b (c"}), std::nullopt);
  EXPECT_EQ(IdentityMismatch(*id, {.name = "va-test-child"}), std::nullopt);

  StopPolicy policy;
  policy.grace = milliseconds(1000);
  EXPECT_TRUE(StopProcess(child->process, policy).Gone());
}

ProcessIdentity SampleIdentity() {
  ProcessIdentity id;
  id.pid = 4242;
  id.comm = "openconnect";
  id.exe = "/usr/sbin/openconnect";
  id.start_time = 123456;
  id.uid = 0;
  id.state = 'S';
  id.ppid = 1;
  id.pgid = 4242;
  return id;
}

TEST(IdentityMismatchTest, NoExpectationsMatchesAnything) {
  EXPECT_EQ(IdentityMismatch(SampleIdentity(), {}), std::nullopt);
}

TEST(IdentityMismatchTest, EveryExpectationMet) {
  EXPECT_EQ(
      IdentityMismatch(SampleIdentity(), {.name = "openconnect", .start_time = 123456, .uid = 0}),
      std::nullopt);
}

TEST(IdentityMismatchTest, WrongNameIsAMismatch) {
  auto why = IdentityMismatch(SampleIdentity(), {.name = "sshd"});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("sshd"), std::string::npos) << *why;
  // A prefix of the name is not the name.
  EXPECT_TRUE(IdentityMismatch(SampleIdentity(), {.name = "openconn"}));
}

TEST(IdentityMismatchTest, NameMatchesExeBasenameWhenCommDiffers) {
  ProcessIdentity id = SampleIdentity();
  id.comm = "renamed-thread";
  EXPECT_EQ(IdentityMismatch(id, {.name = "openconnect"}), std::nullopt);
}

TEST(IdentityMismatchTest, LongNameComparedOnCommsFifteenBytes) {
  ProcessIdentity id = SampleIdentity();
  id.exe = "";                  // unreadable, as for another user's process
  id.comm = "a-very-long-pro";  // the kernel keeps 15 bytes
  EXPECT_EQ(IdentityMismatch(id, {.name = "a-very-long-program-name"}), std::nullopt);
  EXPECT_TRUE(IdentityMismatch(id, {.name = "a-very-long-pr"}));
  EXPECT_TRUE(IdentityMismatch(id, {.name = "a-very-long-other"}));
}

TEST(IdentityMismatchTest, UnreadableExeFallsBackToComm) {
  ProcessIdentity id = SampleIdentity();
  id.exe = "";
  EXPECT_EQ(IdentityMismatch(id, {.name = "openconnect"}), std::nullopt);
  id.comm = "other";
  EXPECT_TRUE(IdentityMismatch(id, {.name = "openconnect"}));
}

TEST(IdentityMismatchTest, WrongStartTimeIsAMismatch) {
  auto why = IdentityMismatch(SampleIdentity(), {.name = "openconnect", .start_time = 123457});
  ASSERT_TRUE(why);
  EXPECT_FALSE(why->empty());
}

TEST(IdentityMismatchTest, WrongUidIsAMismatch) {
  auto why = IdentityMismatch(SampleIdentity(), {.uid = 1000});
  ASSERT_TRUE(why);
  EXPECT_FALSE(why->empty());
}

}  // namespace
}  // namespace va
