// Tests for stop.h with real processes: a child that ends on the term signal, one that ignores
// it, one already dead, a zombie nobody reaps, a pid that is another process than expected (never
// signalled), permission denied (as uid 65534 through va-proc-tool), and concurrent stops of one
// process from two threads and from another process.
#include "proc/stop.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/sys.h"
#include "proc/process.h"
#include "support/child.h"
#include "support/test_env.h"

namespace va {
namespace {

using std::chrono::milliseconds;
using testing::PendingSignals;
using testing::ReapStrays;
using testing::RunCommand;
using testing::SignalBit;
using testing::StartChild;

// The target (a block-term child) is alive and has never been sent SIGTERM: a blocked SIGTERM
// would still be pending, and any SIGKILL would have ended it.
void ExpectNeverSignalled(const Process& p) {
  EXPECT_FALSE(p.Exited());
  auto id = ReadProcessIdentity(p.Pid());
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_NE(id->state, 'Z');
  auto pending = PendingSignals(p.Pid());
  ASSERT_TRUE(pending) << "cannot read /proc/" << p.Pid() << "/status";
  EXPECT_EQ(*pending & SignalBit(SIGTERM), 0u) << "SIGTERM was sent";
}

// Records the steps StopPolicy::on_step reports (from any thread).
class StepLog {
 public:
  std::function<void(StopStep)> Callback() {
    return [this](StopStep step) {
      std::lock_guard lock(mu_);
      steps_.push_back(step);
    };
  }
  std::vector<StopStep> Steps() {
    std::lock_guard lock(mu_);
    return steps_;
  }

 private:
  std::mutex mu_;
  std::vector<StopStep> steps_;
};

class StopTest : public ::testing::Test {
 protected:
  // Killed grandchildren are reparented to us rather than to init; TearDown reaps them.
  static void SetUpTestSuite() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  void SetUp() override { ReapStrays(); }
  void TearDown() override { ReapStrays(); }
};

TEST(StopOutcomeNameTest, StableNames) {
  EXPECT_EQ(StopOutcomeName(StopOutcome::kAlreadyGone), "already_gone");
  EXPECT_EQ(StopOutcomeName(StopOutcome::kExitedGracefully), "exited_gracefully");
  EXPECT_EQ(StopOutcomeName(StopOutcome::kKilled), "killed");
  EXPECT_EQ(StopOutcomeName(StopOutcome::kUnkillable), "unkillable");
  EXPECT_EQ(StopOutcomeName(StopOutcome::kNotOurs), "not_ours");
  EXPECT_EQ(StopOutcomeName(StopOutcome::kPermissionDenied), "permission_denied");
  EXPECT_EQ(StopOutcomeName(StopOutcome::kFailed), "failed");
}

TEST_F(StopTest, ChildThatExitsOnTermExitsGracefully) {
  auto child = StartChild({"exit-on-term"});
  ASSERT_TRUE(child) << child.error().message;
  StepLog log;
  StopPolicy policy;  // the default 5 s grace: the child ends long before
  policy.on_step = log.Callback();
  StopResult r = StopProcess(child->process, policy);
  EXPECT_EQ(r.outcome, StopOutcome::kExitedGracefully) << r.detail;
  EXPECT_TRUE(r.Gone());
  EXPECT_EQ(r.pid, child->process.Pid());
  EXPECT_EQ(r.status, (ExitStatus{false, 0}));
  EXPECT_LT(r.elapsed, policy.grace);
  EXPECT_EQ(log.Steps(), std::vector<StopStep>{StopStep::kTermSent}) << "no SIGKILL may be sent";
}

TEST_F(StopTest, DefaultDispositionEndsByTheTermSignal) {
  auto child = StartChild({"pause"});
  ASSERT_TRUE(child) << child.error().message;
  StopPolicy policy;
  policy.term_signal = SIGHUP;
  StopResult r = StopProcess(child->process, policy);
  EXPECT_EQ(r.outcome, StopOutcome::kExitedGracefully) << r.detail;
  EXPECT_EQ(r.status, (ExitStatus{true, SIGHUP}));
}

TEST_F(StopTest, ChildDoesNotInheritTheSpawnersBlockedSignals) {
  // A supervisor that reads SIGTERM through a signalfd blocks it; its children must not.
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
  auto child = StartChild({"pause"});
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(child) << child.error().message;
  StopPolicy policy;
  policy.grace = std::chrono::seconds(5);
  StopResult r = StopProcess(child->process, policy);
  EXPECT_EQ(r.outcome, StopOutcome::kExitedGracefully) << r.detail;
  EXPECT_EQ(r.status, (ExitStatus{true, SIGTERM}));
}

TEST_F(StopTest, SlowChildEndsWithinGrace) {
  auto child = StartChild({"slow-term", "150"});
  ASSERT_TRUE(child) << child.error().message;
  StepLog log;
  StopPolicy policy;
  policy.on_step = log.Callback();
  StopResult r = StopProcess(child->process, policy);
  EXPECT_EQ(r.outcome, StopOutcome::kExitedGracefully) << r.detail;
  EXPECT_EQ(r.status, (ExitStatus{false, 0}));
  EXPECT_GE(r.elapsed, milliseconds(150));
  EXPECT_EQ(log.Steps(), std::vector<StopStep>{StopStep::kTermSent});
}

TEST_F(StopTest, ChildThatIgnoresTermIsKilledAfterGrace) {
  auto child = StartChild({"ignore-term"});
  ASSERT_TRUE(child) << child.error().message;
  StepLog log;
  StopPolicy policy;
  policy.grace = milliseconds(200);
  policy.kill_grace = milliseconds(2000);
  policy.on_step = log.Callback();
  StopResult r = StopProcess(child->process, policy);
  EXPECT_EQ(r.outcome, StopOutcome::kKilled) << r.detail;
  EXPECT_TRUE(r.Gone());
  EXPECT_EQ(r.status, (ExitStatus{true, SIGKILL}));
  EXPECT_GE(r.elapsed, policy.grace);
  EXPECT_LT(r.elapsed, policy.grace + policy.kill_grace);
  EXPECT_EQ(log.Steps(), (std::vector<StopStep>{StopStep::kTermSent, StopStep::kGraceExpired,
                                                StopStep::kKillSent}));
}

TEST_F(StopTest, ProcessThatSurvivesTheKillSignalIsUnkillable) {
  // A "kill" signal the child ignores stands in for a process stuck in the kernel.
  auto child = StartChild({"ignore-term"});
  ASSERT_TRUE(child) << child.error().message;
  StopPolicy policy;
  policy.grace = milliseconds(100);
  policy.kill_signal = SIGWINCH;  // ignored by default
  policy.kill_grace = milliseconds(100);
  StopResult r = StopProcess(child->process, policy);
  EXPECT_EQ(r.outcome, StopOutcome::kUnkillable);
  EXPECT_FALSE(r.Gone());
  EXPECT_FALSE(r.detail.empty());
  EXPECT_FALSE(child->process.Exited());
  EXPECT_TRUE(StopProcess(child->process, {.grace = milliseconds(0)}).Gone());
}

TEST_F(StopTest, AlreadyDeadChildIsAlreadyGone) {
  auto p = Process::Spawn({.argv = {testing::BinPath("va-test-child"), "exit", "3"}});
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->WaitExit(milliseconds(5000)), true);
  StepLog log;
  StopResult r = StopProcess(*p, {.on_step = log.Callback()});
  EXPECT_EQ(r.outcome, StopOutcome::kAlreadyGone) << r.detail;
  EXPECT_TRUE(r.Gone());
  EXPECT_EQ(r.status, (ExitStatus{false, 3}));
  EXPECT_TRUE(log.Steps().empty());
  // Stopping it again changes nothing.
  EXPECT_EQ(StopProcess(*p).outcome, StopOutcome::kAlreadyGone);
}

TEST_F(StopTest, MissingPidIsAlreadyGone) {
  auto pid_max = ReadSmallFile("/proc/sys/kernel/pid_max");
  ASSERT_TRUE(pid_max);
  const pid_t missing = static_cast<pid_t>(std::stol(*pid_max));
  StopResult r = StopPid(missing, {.name = "va-test-child"});
  EXPECT_EQ(r.outcome, StopOutcome::kAlreadyGone) << r.detail;
  EXPECT_EQ(r.pid, missing);
}

TEST_F(StopTest, ZombieNobodyReapsIsAlreadyGone) {
  auto parent = StartChild({"zombie-parent"});
  ASSERT_TRUE(parent) << parent.error().message;
  const pid_t zombie = static_cast<pid_t>(std::stol(parent->line));
  {
    auto adopted = Process::Adopt(zombie, {.name = "va-test-child"});
    ASSERT_TRUE(adopted) << adopted.error().message;
    EXPECT_TRUE(adopted->Exited());
  }
  StepLog log;
  StopResult r = StopPid(zombie, {.name = "va-test-child"}, {.on_step = log.Callback()});
  EXPECT_EQ(r.outcome, StopOutcome::kAlreadyGone) << r.detail;
  EXPECT_TRUE(log.Steps().empty());
  // Still a zombie of its parent, which was not touched either.
  auto id = ReadProcessIdentity(zombie);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->state, 'Z');
  EXPECT_FALSE(parent->process.Exited());
  EXPECT_TRUE(StopProcess(parent->process, {.grace = milliseconds(1000)}).Gone());
}

TEST_F(StopTest, PidWithAnotherNameIsNotOursAndNeverSignalled) {
  auto child = StartChild({"block-term"});
  ASSERT_TRUE(child) << child.error().message;
  const pid_t pid = child->process.Pid();
  StepLog log;
  StopResult r = StopPid(pid, {.name = "openconnect"}, {.on_step = log.Callback()});
  EXPECT_EQ(r.outcome, StopOutcome::kNotOurs);
  EXPECT_FALSE(r.Gone());
  EXPECT_FALSE(r.detail.empty());
  EXPECT_TRUE(log.Steps().empty());
  ExpectNeverSignalled(child->process);
  // It is ours under its real name; SIGTERM is blocked, so it has to be killed.
  StopResult mine = StopPid(pid, {.name = "va-test-child"}, {.grace = milliseconds(100)});
  EXPECT_EQ(mine.outcome, StopOutcome::kKilled) << mine.detail;
}

TEST_F(StopTest, PidWithAnotherStartTimeIsNotOursAndNeverSignalled) {
  auto child = StartChild({"block-term"});
  ASSERT_TRUE(child) << child.error().message;
  const pid_t pid = child->process.Pid();
  const uint64_t start = child->process.Identity().start_time;
  ASSERT_GT(start, 0u);
  StopResult r = StopPid(pid, {.name = "va-test-child", .start_time = start + 1});
  EXPECT_EQ(r.outcome, StopOutcome::kNotOurs);
  EXPECT_FALSE(r.detail.empty());
  StopResult other_uid = StopPid(pid, {.uid = ::getuid() + 1});
  EXPECT_EQ(other_uid.outcome, StopOutcome::kNotOurs);
  ExpectNeverSignalled(child->process);
  StopResult mine = StopPid(pid, {.name = "va-test-child", .start_time = start, .uid = ::getuid()},
                            {.grace = milliseconds(100)});
  EXPECT_EQ(mine.outcome, StopOutcome::kKilled) << mine.detail;
}

TEST_F(StopTest, PermissionDeniedLeavesTheTargetRunning) {
  VA_REQUIRE_ROOT();
  if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "needs setpriv (util-linux)";
  // A copy of the tool that uid 65534 can surely reach and run.
  testing::TempDir dir;
  ASSERT_EQ(::chmod(dir.Path().c_str(), 0755), 0);
  const std::string tool = dir.File("va-proc-tool");
  std::filesystem::copy_file(testing::BinPath("va-proc-tool"), tool);
  ASSERT_EQ(::chmod(tool.c_str(), 0755), 0);

  auto target = StartChild({"block-term"});
  ASSERT_TRUE(target) << target.error().message;
  ASSERT_EQ(target->process.Identity().uid, 0u);
  auto run = RunCommand({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                         tool, "stop", std::to_string(target->process.Pid()), "--name",
                         "va-test-child", "--grace-ms", "100"});
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->out, "permission_denied\n") << run->err;
  EXPECT_EQ(run->status, (ExitStatus{false, 1})) << run->err;
  ExpectNeverSignalled(target->process);
  EXPECT_EQ(StopProcess(target->process, {.grace = milliseconds(100)}).outcome,
            StopOutcome::kKilled);
}

TEST_F(StopTest, ToolStopsAProcessOfItsOwnUser) {
  auto target = StartChild({"exit-on-term"});
  ASSERT_TRUE(target) << target.error().message;
  auto run = RunCommand({testing::BinPath("va-proc-tool"), "stop",
                         std::to_string(target->process.Pid()), "--name", "va-test-child"});
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->out, "exited_gracefully\n") << run->err;
  EXPECT_EQ(run->status, (ExitStatus{false, 0}));
  EXPECT_TRUE(target->process.Exited());
}

TEST_F(StopTest, ToolReportsNotOurs) {
  auto target = StartChild({"block-term"});
  ASSERT_TRUE(target) << target.error().message;
  auto run = RunCommand({testing::BinPath("va-proc-tool"), "stop",
                         std::to_string(target->process.Pid()), "--name", "sshd"});
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->out, "not_ours\n");
  EXPECT_EQ(run->status, (ExitStatus{false, 1}));
  ExpectNeverSignalled(target->process);
  EXPECT_TRUE(StopProcess(target->process, {.grace = milliseconds(0)}).Gone());
}

// Runs StopProcess on `process` and StopPid on its pid from two threads released together.
std::pair<StopResult, StopResult> StopTwiceAtOnce(Process& process, const StopPolicy& policy) {
  std::latch go(2);
  StopResult by_process, by_pid;
  std::thread a([&] {
    go.arrive_and_wait();
    by_process = StopProcess(process, policy);
  });
  std::thread b([&] {
    go.arrive_and_wait();
    by_pid = StopPid(process.Pid(), {.name = "va-test-child"}, policy);
  });
  a.join();
  b.join();
  return {std::move(by_process), std::move(by_pid)};
}

TEST_F(StopTest, TwoStopsAtOnceDuringGraceBothSucceed) {
  auto child = StartChild({"slow-term", "200"});
  ASSERT_TRUE(child) << child.error().message;
  auto [first, second] = StopTwiceAtOnce(child->process, {.grace = std::chrono::seconds(5)});
  EXPECT_TRUE(first.Gone()) << StopOutcomeName(first.outcome) << " " << first.detail;
  EXPECT_TRUE(second.Gone()) << StopOutcomeName(second.outcome) << " " << second.detail;
  EXPECT_NE(first.outcome, StopOutcome::kKilled);
  EXPECT_NE(second.outcome, StopOutcome::kKilled);
  EXPECT_TRUE(child->process.Exited());
}

TEST_F(StopTest, TwoStopsAtOnceThatBothKillSucceed) {
  auto child = StartChild({"ignore-term"});
  ASSERT_TRUE(child) << child.error().message;
  auto [first, second] = StopTwiceAtOnce(child->process, {.grace = milliseconds(200)});
  EXPECT_TRUE(first.Gone()) << StopOutcomeName(first.outcome) << " " << first.detail;
  EXPECT_TRUE(second.Gone()) << StopOutcomeName(second.outcome) << " " << second.detail;
  EXPECT_TRUE(child->process.Exited());
}

TEST_F(StopTest, StopFromAnotherProcessAtTheSameTime) {
  auto child = StartChild({"ignore-term"});
  ASSERT_TRUE(child) << child.error().message;
  std::latch go(2);
  StopResult here;
  std::thread a([&] {
    go.arrive_and_wait();
    here = StopProcess(child->process, {.grace = milliseconds(200)});
  });
  go.arrive_and_wait();
  auto run =
      RunCommand({testing::BinPath("va-proc-tool"), "stop", std::to_string(child->process.Pid()),
                  "--name", "va-test-child", "--grace-ms", "200"});
  a.join();
  EXPECT_TRUE(here.Gone()) << StopOutcomeName(here.outcome) << " " << here.detail;
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->status, (ExitStatus{false, 0})) << run->out << run->err;
  EXPECT_TRUE(run->out == "killed\n" || run->out == "exited_gracefully\n" ||
              run->out == "already_gone\n")
      << run->out;
}

}  // namespace
}  // namespace va
