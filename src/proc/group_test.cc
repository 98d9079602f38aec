// Tests for group.h with real processes: a process group of 200 (one va-test-child that forks 199
// more) stopped gracefully and by force, and the same in a cgroup v2 directory this test creates
// (root and cgroup2 only; skipped with a reason otherwise), which is removed afterwards.
#include "proc/group.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/sys.h"
#include "proc/process.h"
#include "support/child.h"
#include "support/test_env.h"

namespace va {
namespace {

using std::chrono::milliseconds;
using testing::ReapStrays;
using testing::StartChild;

// Forking 200 processes on a loaded machine can take a while.
constexpr milliseconds kReadyTimeout(10000);
constexpr size_t kGroupSize = 200;

// Last resort so that a failing test leaves no process group behind.
void KillGroup(pid_t pgid) {
  if (pgid > 0) ::kill(-pgid, SIGKILL);
}

std::string UniqueCgroupName() {
  static std::atomic<int> counter{0};
  return "va-proc-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

class GroupTest : public ::testing::Test {
 protected:
  // The forked members are reparented to us (not init) once the group's first process dies, so
  // they can be reaped here rather than lingering as zombies.
  static void SetUpTestSuite() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  void SetUp() override { ReapStrays(); }
  void TearDown() override {
    KillGroup(pgid_);
    ReapStrays();
  }
  pid_t pgid_ = 0;
};

TEST_F(GroupTest, ListOfAnEmptyGroupIsEmpty) {
  auto pid_max = ReadSmallFile("/proc/sys/kernel/pid_max");
  ASSERT_TRUE(pid_max);
  auto members = ListProcessGroup(static_cast<pid_t>(std::stol(*pid_max)));
  ASSERT_TRUE(members) << members.error().message;
  EXPECT_TRUE(members->empty());
}

TEST_F(GroupTest, StopOfAnEmptyGroupIsAlreadyGone) {
  auto pid_max = ReadSmallFile("/proc/sys/kernel/pid_max");
  ASSERT_TRUE(pid_max);
  GroupStopResult r = StopProcessGroup(static_cast<pid_t>(std::stol(*pid_max)));
  EXPECT_EQ(r.outcome, StopOutcome::kAlreadyGone) << r.detail;
  EXPECT_EQ(r.signalled, 0u);
}

TEST_F(GroupTest, ListProcessGroupOfOneChild) {
  auto leader = StartChild({"pause"}, {.new_process_group = true}, kReadyTimeout);
  ASSERT_TRUE(leader) << leader.error().message;
  pgid_ = leader->process.Pid();
  auto members = ListProcessGroup(pgid_);
  ASSERT_TRUE(members) << members.error().message;
  EXPECT_EQ(*members, std::vector<pid_t>{leader->process.Pid()});
  GroupStopResult r = StopProcessGroup(pgid_, {.grace = milliseconds(1000)});
  EXPECT_EQ(r.outcome, StopOutcome::kExitedGracefully) << r.detail;
  EXPECT_EQ(r.signalled, 1u);
  EXPECT_TRUE(leader->process.Exited());
}

TEST_F(GroupTest, StopsAGroupOf200Gracefully) {
  auto leader = StartChild({"fork", std::to_string(kGroupSize - 1)}, {.new_process_group = true},
                           kReadyTimeout);
  ASSERT_TRUE(leader) << leader.error().message;
  pgid_ = leader->process.Pid();
  auto members = ListProcessGroup(pgid_);
  ASSERT_TRUE(members) << members.error().message;
  EXPECT_EQ(members->size(), kGroupSize);
  EXPECT_NE(std::find(members->begin(), members->end(), leader->process.Pid()), members->end());

  std::vector<StopStep> steps;
  StopPolicy policy;
  policy.on_step = [&](StopStep s) { steps.push_back(s); };
  GroupStopResult r = StopProcessGroup(pgid_, policy);
  EXPECT_EQ(r.outcome, StopOutcome::kExitedGracefully) << r.detail;
  EXPECT_EQ(r.signalled, kGroupSize);
  EXPECT_EQ(r.killed, 0u);
  EXPECT_EQ(steps, std::vector<StopStep>{StopStep::kTermSent});
  auto left = ListProcessGroup(pgid_);
  ASSERT_TRUE(left) << left.error().message;
  EXPECT_TRUE(left->empty()) << left->size() << " members left";
  EXPECT_TRUE(leader->process.Exited());
}

TEST_F(GroupTest, KillsAGroupOf200ThatIgnoresTerm) {
  auto leader = StartChild({"fork-ignore", std::to_string(kGroupSize - 1)},
                           {.new_process_group = true}, kReadyTimeout);
  ASSERT_TRUE(leader) << leader.error().message;
  pgid_ = leader->process.Pid();
  std::vector<StopStep> steps;
  StopPolicy policy;
  policy.grace = milliseconds(200);
  policy.kill_grace = milliseconds(5000);
  policy.on_step = [&](StopStep s) { steps.push_back(s); };
  GroupStopResult r = StopProcessGroup(pgid_, policy);
  EXPECT_EQ(r.outcome, StopOutcome::kKilled) << r.detail;
  EXPECT_EQ(r.signalled, kGroupSize);
  EXPECT_EQ(r.killed, kGroupSize);
  EXPECT_GE(r.elapsed, policy.grace);
  EXPECT_EQ(steps, (std::vector<StopStep>{StopStep::kTermSent, StopStep::kGraceExpired,
                                          StopStep::kKillSent}));
  auto left = ListProcessGroup(pgid_);
  ASSERT_TRUE(left) << left.error().message;
  EXPECT_TRUE(left->empty()) << left->size() << " members left";
}

// A cgroup2 mount point this test may create directories in, or a reason to skip.
std::optional<std::string> CgroupRootOrSkipReason(std::string& reason) {
  if (!testing::IsRoot()) {
    reason = "needs root to create a cgroup";
    return std::nullopt;
  }
  auto root = Cgroup::V2Root();
  if (!root) {
    reason = "no cgroup2 file system: " + root.error().message;
    return std::nullopt;
  }
  return *root;
}

#define VA_REQUIRE_CGROUP2(root_var)             \
  std::string root_var;                          \
  do {                                           \
    std::string reason;                          \
    auto found = CgroupRootOrSkipReason(reason); \
    if (!found) GTEST_SKIP() << reason;          \
    root_var = *found;                           \
  } while (0)

TEST_F(GroupTest, CgroupCreateOpenAndDestroy) {
  VA_REQUIRE_CGROUP2(root);
  const std::string name = UniqueCgroupName();
  auto cg = Cgroup::Create(root, name);
  ASSERT_TRUE(cg) << cg.error().message;
  EXPECT_EQ(cg->Path(), root + "/" + name);
  EXPECT_GE(cg->DirFd(), 0);
  EXPECT_TRUE(std::filesystem::is_directory(cg->Path()));
  EXPECT_EQ(cg->Populated(), false);
  auto procs = cg->Procs();
  ASSERT_TRUE(procs) << procs.error().message;
  EXPECT_TRUE(procs->empty());
  EXPECT_EQ(StopCgroup(*cg).outcome, StopOutcome::kAlreadyGone);

  // It exists now: creating it again fails.
  EXPECT_FALSE(Cgroup::Create(root, name));
  EXPECT_FALSE(Cgroup::Create(root, "../escape"));
  EXPECT_FALSE(Cgroup::Open("/proc"));

  const std::string path = cg->Path();
  ASSERT_TRUE(cg->Destroy()) << "destroy";
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(GroupTest, CgroupDestructorKillsWhatIsInsideAndRemovesTheDirectory) {
  VA_REQUIRE_CGROUP2(root);
  std::string path;
  std::optional<Process> child;
  {
    auto cg = Cgroup::Create(root, UniqueCgroupName());
    ASSERT_TRUE(cg) << cg.error().message;
    path = cg->Path();
    auto started = StartChild({"ignore-term"}, {.cgroup_fd = cg->DirFd()}, kReadyTimeout);
    ASSERT_TRUE(started) << started.error().message;
    child.emplace(std::move(started->process));
    EXPECT_EQ(cg->Populated(), true);
    // Ownership moves with the object.
    Cgroup moved = std::move(*cg);
    EXPECT_EQ(moved.Path(), path);
    EXPECT_EQ(moved.Procs(), std::vector<pid_t>{child->Pid()});
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(child->Exited());
  EXPECT_EQ(child->Reap(), (ExitStatus{true, SIGKILL}));
}

TEST_F(GroupTest, StopsACgroupOf200Gracefully) {
  VA_REQUIRE_CGROUP2(root);
  auto cg = Cgroup::Create(root, UniqueCgroupName());
  ASSERT_TRUE(cg) << cg.error().message;
  auto leader = StartChild({"fork", std::to_string(kGroupSize - 1)},
                           {.new_process_group = true, .cgroup_fd = cg->DirFd()}, kReadyTimeout);
  ASSERT_TRUE(leader) << leader.error().message;
  pgid_ = leader->process.Pid();
  auto procs = cg->Procs();
  ASSERT_TRUE(procs) << procs.error().message;
  EXPECT_EQ(procs->size(), kGroupSize);
  EXPECT_EQ(cg->Populated(), true);

  std::vector<StopStep> steps;
  StopPolicy policy;
  policy.on_step = [&](StopStep s) { steps.push_back(s); };
  GroupStopResult r = StopCgroup(*cg, policy);
  EXPECT_EQ(r.outcome, StopOutcome::kExitedGracefully) << r.detail;
  EXPECT_EQ(r.signalled, kGroupSize);
  EXPECT_EQ(r.killed, 0u);
  EXPECT_EQ(steps, std::vector<StopStep>{StopStep::kTermSent});
  EXPECT_EQ(cg->Populated(), false);
  EXPECT_TRUE(leader->process.Exited());

  const std::string path = cg->Path();
  auto destroyed = cg->Destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().message;
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(GroupTest, KillsACgroupOf200ThatIgnoresTerm) {
  VA_REQUIRE_CGROUP2(root);
  auto cg = Cgroup::Create(root, UniqueCgroupName());
  ASSERT_TRUE(cg) << cg.error().message;
  // Its own process group too, so the members cannot be found that way: only the cgroup knows.
  auto leader = StartChild({"fork-ignore", std::to_string(kGroupSize - 1)},
                           {.new_process_group = true, .cgroup_fd = cg->DirFd()}, kReadyTimeout);
  ASSERT_TRUE(leader) << leader.error().message;
  pgid_ = leader->process.Pid();

  std::vector<StopStep> steps;
  StopPolicy policy;
  policy.grace = milliseconds(200);
  policy.kill_grace = milliseconds(5000);
  policy.on_step = [&](StopStep s) { steps.push_back(s); };
  GroupStopResult r = StopCgroup(*cg, policy);
  EXPECT_EQ(r.outcome, StopOutcome::kKilled) << r.detail;
  EXPECT_EQ(r.signalled, kGroupSize);
  EXPECT_EQ(r.killed, kGroupSize);
  EXPECT_GE(r.elapsed, policy.grace);
  EXPECT_EQ(steps, (std::vector<StopStep>{StopStep::kTermSent, StopStep::kGraceExpired,
                                          StopStep::kKillSent}));
  EXPECT_EQ(cg->Populated(), false);
  auto left = ListProcessGroup(pgid_);
  ASSERT_TRUE(left) << left.error().message;
  EXPECT_TRUE(left->empty());

  const std::string path = cg->Path();
  auto destroyed = cg->Destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().message;
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(GroupTest, ProcessAddedToACgroupIsStoppedWithIt) {
  VA_REQUIRE_CGROUP2(root);
  auto cg = Cgroup::Create(root, UniqueCgroupName());
  ASSERT_TRUE(cg) << cg.error().message;
  auto child = StartChild({"exit-on-term"}, {}, kReadyTimeout);
  ASSERT_TRUE(child) << child.error().message;
  auto added = cg->AddProcess(child->process.Pid());
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(cg->Procs(), std::vector<pid_t>{child->process.Pid()});
  GroupStopResult r = StopCgroup(*cg, {.grace = milliseconds(2000)});
  EXPECT_EQ(r.outcome, StopOutcome::kExitedGracefully) << r.detail;
  EXPECT_EQ(r.signalled, 1u);
  EXPECT_EQ(child->process.WaitExit(milliseconds(0)), true);
  EXPECT_EQ(child->process.Reap(), (ExitStatus{false, 0}));
  auto empty = cg->WaitEmpty(MonoNow());
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(*empty);
}

}  // namespace
}  // namespace va
