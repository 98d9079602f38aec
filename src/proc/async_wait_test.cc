// Tests for async_wait.h: AsyncWaitExit and AsyncStopProcess on a real io_context with real child
// processes — exit noticed, timeout, every stop outcome, and the loop kept free while a stop
// waits out its grace period.
#include "proc/async_wait.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/sys.h"
#include "proc/process.h"
#include "proc/stop.h"
#include "support/child.h"
#include "support/test_env.h"

namespace va {
namespace {

using std::chrono::milliseconds;
using testing::ReapStrays;
using testing::StartChild;

// Runs `coro` to completion on a fresh io_context (at most `limit`) and returns its result.
template <typename T>
std::optional<T> RunLoop(asio::awaitable<T> coro,
                         std::chrono::seconds limit = std::chrono::seconds(10)) {
  asio::io_context ioc;
  std::optional<T> out;
  asio::co_spawn(ioc, std::move(coro), [&](std::exception_ptr e, T value) {
    if (e) std::rethrow_exception(e);
    out = std::move(value);
  });
  ioc.run_for(limit);
  return out;
}

class AsyncWaitTest : public ::testing::Test {
 protected:
  // Killed grandchildren are reparented to us rather than to init; TearDown reaps them.
  static void SetUpTestSuite() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  void SetUp() override { ReapStrays(); }
  void TearDown() override { ReapStrays(); }
};

TEST_F(AsyncWaitTest, WaitExitTrueWhenTheChildExitsOnTerm) {
  auto child = StartChild({"exit-on-term"});
  ASSERT_TRUE(child) << child.error().message;
  Process& p = child->process;
  ASSERT_EQ(p.Signal(SIGTERM), true);
  auto exited = RunLoop(AsyncWaitExit(p, std::chrono::seconds(5)));
  ASSERT_TRUE(exited);
  ASSERT_TRUE(*exited) << exited->error().message;
  EXPECT_TRUE(**exited);
  EXPECT_EQ(p.Reap(), (ExitStatus{false, 0}));
}

TEST_F(AsyncWaitTest, WaitExitResumesWhenTheExitHappensDuringTheWait) {
  auto child = StartChild({"exit-on-term"});
  ASSERT_TRUE(child) << child.error().message;
  Process& p = child->process;
  auto coro = [](Process& proc) -> asio::awaitable<Result<bool>> {
    auto executor = co_await asio::this_coro::executor;
    // Signal from the loop itself once the wait is underway.
    asio::post(executor, [&proc] { (void)proc.Signal(SIGTERM); });
    co_return co_await AsyncWaitExit(proc, std::chrono::seconds(5));
  };
  auto exited = RunLoop(coro(p));
  ASSERT_TRUE(exited);
  ASSERT_TRUE(*exited) << exited->error().message;
  EXPECT_TRUE(**exited);
  EXPECT_EQ(p.Reap(), (ExitStatus{false, 0}));
}

TEST_F(AsyncWaitTest, WaitExitFalseOnTimeout) {
  auto child = StartChild({"pause"});
  ASSERT_TRUE(child) << child.error().message;
  Process& p = child->process;
  auto exited = RunLoop(AsyncWaitExit(p, milliseconds(50)));
  ASSERT_TRUE(exited);
  ASSERT_TRUE(*exited) << exited->error().message;
  EXPECT_FALSE(**exited);
  EXPECT_FALSE(p.Exited());
  EXPECT_TRUE(StopProcess(p, {.grace = milliseconds(1000)}).Gone());
}

TEST_F(AsyncWaitTest, WaitExitOnAnExitedProcessIsImmediate) {
  auto p = Process::Spawn({.argv = {testing::BinPath("va-test-child"), "exit", "0"}});
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->WaitExit(std::chrono::seconds(5)), true);
  auto exited = RunLoop(AsyncWaitExit(*p, std::chrono::seconds(5)));
  ASSERT_TRUE(exited);
  ASSERT_TRUE(*exited);
  EXPECT_TRUE(**exited);
}

TEST_F(AsyncWaitTest, AsyncStopExitsGracefully) {
  auto child = StartChild({"exit-on-term"});
  ASSERT_TRUE(child) << child.error().message;
  Process& p = child->process;
  std::vector<StopStep> steps;
  StopPolicy policy;
  policy.on_step = [&](StopStep s) { steps.push_back(s); };
  auto r = RunLoop(AsyncStopProcess(p, policy));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, StopOutcome::kExitedGracefully) << r->detail;
  EXPECT_EQ(r->status, (ExitStatus{false, 0}));
  EXPECT_EQ(steps, std::vector<StopStep>{StopStep::kTermSent});
}

TEST_F(AsyncWaitTest, AsyncStopKillsAfterGrace) {
  auto child = StartChild({"ignore-term"});
  ASSERT_TRUE(child) << child.error().message;
  Process& p = child->process;
  std::vector<StopStep> steps;
  StopPolicy policy;
  policy.grace = milliseconds(200);
  policy.kill_grace = milliseconds(2000);
  policy.on_step = [&](StopStep s) { steps.push_back(s); };
  auto r = RunLoop(AsyncStopProcess(p, policy));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, StopOutcome::kKilled) << r->detail;
  EXPECT_EQ(r->status, (ExitStatus{true, SIGKILL}));
  EXPECT_GE(r->elapsed, policy.grace);
  EXPECT_LT(r->elapsed, policy.grace + policy.kill_grace);
  EXPECT_EQ(steps, (std::vector<StopStep>{StopStep::kTermSent, StopStep::kGraceExpired,
                                          StopStep::kKillSent}));
}

TEST_F(AsyncWaitTest, AsyncStopOfAnExitedChildIsAlreadyGone) {
  auto p = Process::Spawn({.argv = {testing::BinPath("va-test-child"), "exit", "4"}});
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->WaitExit(std::chrono::seconds(5)), true);
  auto r = RunLoop(AsyncStopProcess(*p));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, StopOutcome::kAlreadyGone) << r->detail;
  EXPECT_EQ(r->status, (ExitStatus{false, 4}));
}

TEST_F(AsyncWaitTest, AsyncStopUnkillable) {
  auto child = StartChild({"ignore-term"});
  ASSERT_TRUE(child) << child.error().message;
  Process& p = child->process;
  StopPolicy policy;
  policy.grace = milliseconds(50);
  policy.kill_signal = SIGWINCH;  // ignored by default: stands in for a stuck process
  policy.kill_grace = milliseconds(50);
  auto r = RunLoop(AsyncStopProcess(p, policy));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, StopOutcome::kUnkillable) << r->detail;
  EXPECT_FALSE(p.Exited());
  EXPECT_TRUE(StopProcess(p, {.grace = milliseconds(0)}).Gone());
}

TEST_F(AsyncWaitTest, LoopStaysFreeDuringTheGracePeriod) {
  // Two stops and a timer on one thread: the timer fires and the graceful stop finishes while
  // the forced stop is still waiting out its grace period.
  auto slow_child = StartChild({"ignore-term"});
  ASSERT_TRUE(slow_child) << slow_child.error().message;
  Process& slow = slow_child->process;
  auto quick_child = StartChild({"exit-on-term"});
  ASSERT_TRUE(quick_child) << quick_child.error().message;
  Process& quick = quick_child->process;

  asio::io_context ioc;
  std::vector<std::string> order;
  std::optional<StopResult> slow_result, quick_result;
  asio::co_spawn(ioc, AsyncStopProcess(slow, {.grace = milliseconds(300)}),
                 [&](std::exception_ptr e, StopResult r) {
                   if (e) std::rethrow_exception(e);
                   order.push_back("slow");
                   slow_result = std::move(r);
                 });
  asio::co_spawn(ioc, AsyncStopProcess(quick), [&](std::exception_ptr e, StopResult r) {
    if (e) std::rethrow_exception(e);
    order.push_back("quick");
    quick_result = std::move(r);
  });
  asio::steady_timer timer(ioc, milliseconds(20));
  timer.async_wait([&](boost::system::error_code) { order.push_back("timer"); });
  ioc.run_for(std::chrono::seconds(10));

  ASSERT_TRUE(slow_result);
  ASSERT_TRUE(quick_result);
  EXPECT_EQ(slow_result->outcome, StopOutcome::kKilled) << slow_result->detail;
  EXPECT_EQ(quick_result->outcome, StopOutcome::kExitedGracefully) << quick_result->detail;
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order.back(), "slow");
}

}  // namespace
}  // namespace va
