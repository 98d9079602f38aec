// Tests for process.h with real child processes (tests/helpers/test_child.cc): spawning and its
// failures (which must leave no zombie), descriptor wiring, signalling, waiting, reaping, and
// adopting an existing pid, including a zombie nobody reaps.
#include "proc/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/sys.h"
#include "proc/stop.h"
#include "support/child.h"
#include "support/test_env.h"

namespace va {
namespace {

using std::chrono::milliseconds;
using testing::kReadyTimeout;
using testing::ReadLineWithin;
using testing::ReapStrays;
using testing::StartChild;

// True when this process has a child that has exited and not been reaped.
bool HaveZombieChild() {
  siginfo_t info{};
  if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;  // ECHILD
  return info.si_pid != 0;
}

StopPolicy QuickPolicy() {
  StopPolicy policy;
  policy.grace = milliseconds(1000);
  policy.kill_grace = milliseconds(1000);
  return policy;
}

class ProcessTest : public ::testing::Test {
 protected:
  // Killed grandchildren are reparented to us rather than to init; TearDown reaps them.
  static void SetUpTestSuite() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  void SetUp() override { ReapStrays(); }
  void TearDown() override { ReapStrays(); }
};

TEST_F(ProcessTest, SpawnMissingAbsolutePathIsNotFound) {
  auto p = Process::Spawn({.argv = {"/nonexistent/va-no-such-binary"}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, ErrorKind::kNotFound) << p.error().message;
  EXPECT_FALSE(HaveZombieChild());
}

TEST_F(ProcessTest, SpawnMissingNameInPathIsNotFound) {
  auto p = Process::Spawn({.argv = {"va-no-such-binary-in-path"}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, ErrorKind::kNotFound) << p.error().message;
  EXPECT_FALSE(HaveZombieChild());
}

TEST_F(ProcessTest, ExecFailingInTheChildIsReportedAndReaped) {
  // The program exists, so the lookup succeeds; exec itself fails in the child with ENOENT
  // because the interpreter is missing. The child must be reaped before Spawn returns.
  testing::TempDir dir;
  const std::string script = dir.File("needs-missing-interpreter");
  {
    auto fd = Open(script, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    ASSERT_TRUE(fd) << fd.error().message;
    ASSERT_TRUE(WriteAll(fd->Get(), "#!/nonexistent/interpreter\n"));
  }
  auto p = Process::Spawn({.argv = {script}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, ErrorKind::kNotFound) << p.error().message;
  EXPECT_EQ(p.error().sys_errno, ENOENT);
  EXPECT_FALSE(HaveZombieChild());
}

TEST_F(ProcessTest, SetUpFailureInTheChildIsReportedAndReaped) {
  auto p = Process::Spawn(
      {.argv = {testing::BinPath("va-test-child"), "exit", "0"}, .cwd = "/nonexistent/dir"});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, ErrorKind::kNotFound) << p.error().message;
  EXPECT_FALSE(HaveZombieChild());
}

TEST_F(ProcessTest, EmptyArgvIsInvalid) {
  auto p = Process::Spawn({});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, ErrorKind::kInvalid);
}

TEST_F(ProcessTest, SpawnWiresStdoutToAPipe) {
  auto out = MakePipe();
  ASSERT_TRUE(out);
  SpawnOptions options;
  options.argv = {testing::BinPath("va-test-child"), "echo", "hello", "pipe"};
  options.stdout_fd = out->write.Get();
  options.stdin_fd = SpawnOptions::kDevNull;
  auto p = Process::Spawn(options);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->IsChild());
  EXPECT_GT(p->Pid(), 0);
  EXPECT_GE(p->PidFd(), 0);
  out->write.Reset();
  // End of file arrives once the child has exited: nothing else holds the write end.
  auto text = ReadAll(out->read.Get());
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, "hello pipe\n");
  auto exited = p->WaitExit(milliseconds(5000));
  ASSERT_TRUE(exited);
  EXPECT_TRUE(*exited);
  EXPECT_EQ(p->Reap(), (ExitStatus{false, 0}));
}

TEST_F(ProcessTest, ExtraFdReachesTheChildAtItsNumber) {
  auto ready = MakePipe();
  ASSERT_TRUE(ready);
  SpawnOptions options;
  options.argv = {testing::BinPath("va-test-child"), "--ready-fd", "5", "exit-on-term"};
  options.stdout_fd = SpawnOptions::kDevNull;
  options.extra_fds = {{ready->write.Get(), 5}};
  auto p = Process::Spawn(options);
  ASSERT_TRUE(p) << p.error().message;
  ready->write.Reset();
  EXPECT_EQ(ReadLineWithin(ready->read.Get(), kReadyTimeout), "ready");
  EXPECT_TRUE(StopProcess(*p, QuickPolicy()).Gone());
}

TEST_F(ProcessTest, SpawnedIdentityIsKnown) {
  auto child = StartChild({"pause"});
  ASSERT_TRUE(child) << child.error().message;
  const ProcessIdentity& id = child->process.Identity();
  EXPECT_EQ(id.pid, child->process.Pid());
  EXPECT_EQ(id.comm, "va-test-child");
  EXPECT_EQ(id.ppid, ::getpid());
  EXPECT_GT(id.start_time, 0u);
  EXPECT_TRUE(StopProcess(child->process, QuickPolicy()).Gone());
}

TEST_F(ProcessTest, NewProcessGroup) {
  auto child = StartChild({"pause"}, {.new_process_group = true});
  ASSERT_TRUE(child) << child.error().message;
  EXPECT_EQ(::getpgid(child->process.Pid()), child->process.Pid());
  EXPECT_TRUE(StopProcess(child->process, QuickPolicy()).Gone());
}

TEST_F(ProcessTest, ExitCodeIsReported) {
  auto p = Process::Spawn({.argv = {testing::BinPath("va-test-child"), "exit", "7"}});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->WaitExit(milliseconds(5000)), true);
  EXPECT_TRUE(p->Exited());
  auto status = p->Reap();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, (ExitStatus{false, 7}));
  EXPECT_EQ(status->ToString(), "exit 7");
  EXPECT_EQ(p->Status(), status);
  // Reaping again returns the same status, and the process stays exited.
  EXPECT_EQ(p->Reap(), status);
  EXPECT_TRUE(p->Exited());
  // Nothing is left to signal.
  auto sent = p->Signal(SIGTERM);
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_FALSE(*sent);
}

TEST_F(ProcessTest, SignalWaitAndReap) {
  auto child = StartChild({"pause"});
  ASSERT_TRUE(child) << child.error().message;
  Process& p = child->process;
  EXPECT_FALSE(p.Exited());
  EXPECT_EQ(p.Reap(), std::nullopt);
  // Still running: the wait times out.
  EXPECT_EQ(p.WaitExit(milliseconds(20)), false);

  auto sent = p.Signal(SIGKILL);
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_TRUE(*sent);
  EXPECT_EQ(p.WaitExit(milliseconds(5000)), true);
  EXPECT_TRUE(p.Exited());
  auto status = p.Reap();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, (ExitStatus{true, SIGKILL}));
  EXPECT_EQ(status->ToString(), "signal SIGKILL");
}

TEST_F(ProcessTest, DestructorReapsAnExitedChildButNeverSignals) {
  pid_t exited_pid = 0;
  {
    auto p = Process::Spawn({.argv = {testing::BinPath("va-test-child"), "exit", "0"}});
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_EQ(p->WaitExit(milliseconds(5000)), true);
    exited_pid = p->Pid();
  }
  siginfo_t info{};
  EXPECT_NE(::waitid(P_PID, static_cast<id_t>(exited_pid), &info, WEXITED | WNOHANG | WNOWAIT), 0)
      << "pid " << exited_pid << " was left a zombie";

  // A running child is left running by the destructor.
  pid_t running_pid = 0;
  {
    auto child = StartChild({"pause"});
    ASSERT_TRUE(child) << child.error().message;
    running_pid = child->process.Pid();
  }
  auto adopted = Process::Adopt(running_pid, {.name = "va-test-child"});
  ASSERT_TRUE(adopted) << adopted.error().message;
  EXPECT_FALSE(adopted->Exited());
  EXPECT_TRUE(adopted->IsChild());
  EXPECT_TRUE(StopProcess(*adopted, QuickPolicy()).Gone());
}

TEST_F(ProcessTest, MoveKeepsThePidfd) {
  auto child = StartChild({"pause"});
  ASSERT_TRUE(child) << child.error().message;
  const pid_t pid = child->process.Pid();
  Process moved = std::move(child->process);
  EXPECT_EQ(moved.Pid(), pid);
  EXPECT_GE(moved.PidFd(), 0);
  EXPECT_FALSE(moved.Exited());
  EXPECT_TRUE(StopProcess(moved, QuickPolicy()).Gone());
}

TEST_F(ProcessTest, SignalName) {
  EXPECT_EQ(SignalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(SignalName(SIGKILL), "SIGKILL");
  EXPECT_EQ(SignalName(SIGHUP), "SIGHUP");
  EXPECT_EQ(SignalName(SIGRTMIN + 40), "SIG" + std::to_string(SIGRTMIN + 40));
}

TEST_F(ProcessTest, AdoptSelf) {
  auto self = Process::Adopt(::getpid(), {.uid = ::getuid()});
  ASSERT_TRUE(self) << self.error().message;
  EXPECT_EQ(self->Pid(), ::getpid());
  EXPECT_FALSE(self->IsChild());
  EXPECT_FALSE(self->Exited());
  EXPECT_EQ(self->Identity().pid, ::getpid());
}

TEST_F(ProcessTest, AdoptMissingPidIsNotFound) {
  auto pid_max = ReadSmallFile("/proc/sys/kernel/pid_max");
  ASSERT_TRUE(pid_max);
  auto p = Process::Adopt(static_cast<pid_t>(std::stol(*pid_max)));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, ErrorKind::kNotFound) << p.error().message;
}

TEST_F(ProcessTest, AdoptAnotherProcessIsUntrusted) {
  auto child = StartChild({"pause"});
  ASSERT_TRUE(child) << child.error().message;
  const pid_t pid = child->process.Pid();
  auto by_name = Process::Adopt(pid, {.name = "openconnect"});
  ASSERT_FALSE(by_name);
  EXPECT_EQ(by_name.error().kind, ErrorKind::kUntrusted) << by_name.error().message;
  auto by_start = Process::Adopt(pid, {.start_time = child->process.Identity().start_time + 1});
  ASSERT_FALSE(by_start);
  EXPECT_EQ(by_start.error().kind, ErrorKind::kUntrusted) << by_start.error().message;

  auto right = Process::Adopt(
      pid, {.name = "va-test-child", .start_time = child->process.Identity().start_time});
  ASSERT_TRUE(right) << right.error().message;
  EXPECT_EQ(right->Pid(), pid);
  EXPECT_TRUE(StopProcess(child->process, QuickPolicy()).Gone());
}

TEST_F(ProcessTest, AdoptAZombieNobodyReaps) {
  auto parent = StartChild({"zombie-parent"});
  ASSERT_TRUE(parent) << parent.error().message;
  const pid_t zombie = static_cast<pid_t>(std::stol(parent->line));
  auto id = ReadProcessIdentity(zombie);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->state, 'Z');
  EXPECT_EQ(id->ppid, parent->process.Pid());

  auto adopted = Process::Adopt(zombie, {.name = "va-test-child"});
  ASSERT_TRUE(adopted) << adopted.error().message;
  EXPECT_TRUE(adopted->Exited());
  EXPECT_FALSE(adopted->IsChild());
  EXPECT_EQ(adopted->WaitExit(milliseconds(0)), true);
  // Not our child: there is nothing for us to reap.
  EXPECT_EQ(adopted->Reap(), std::nullopt);

  EXPECT_TRUE(StopProcess(parent->process, QuickPolicy()).Gone());
}

}  // namespace
}  // namespace va
