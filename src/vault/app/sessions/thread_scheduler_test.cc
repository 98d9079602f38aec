// ThreadScheduler with its real thread: due timers run earliest first, cancelled ones never,
// callbacks may schedule and cancel, and destruction drops what has not started. Waits are for
// events with a deadline, never sleeps.
#include "vault/app/sessions/thread_scheduler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace va::vault {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

// Collects what the callbacks did, and waits (with a deadline) until there are `n` entries.
class Journal {
 public:
  void Add(std::string entry) {
    std::lock_guard lock(mutex_);
    entries_.push_back(std::move(entry));
    changed_.notify_all();
  }
  bool WaitFor(size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, seconds(10), [&] { return entries_.size() >= n; });
  }
  std::vector<std::string> Entries() {
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> entries_;
};

TEST(ThreadScheduler, DueTimersRunEarliestFirstAndCancelledOnesNever) {
  Journal journal;
  ThreadScheduler scheduler;
  const WallTime past = WallNow() - seconds(10);
  // Hold the thread in a first callback so the others queue up behind it.
  std::mutex gate;
  std::unique_lock hold(gate);
  scheduler.At(past - seconds(5), [&] {
    std::lock_guard wait(gate);
    journal.Add("first");
  });
  scheduler.At(past + seconds(2), [&] { journal.Add("third"); });
  scheduler.At(past + seconds(1), [&] { journal.Add("second"); });
  TimerId cancelled = scheduler.At(past, [&] { journal.Add("cancelled"); });
  TimerId later = scheduler.At(WallNow() + hours(1), [&] { journal.Add("later"); });
  scheduler.Cancel(cancelled);
  scheduler.Cancel(12345);  // unknown: ignored
  hold.unlock();
  ASSERT_TRUE(journal.WaitFor(3));
  EXPECT_EQ(journal.Entries(), (std::vector<std::string>{"first", "second", "third"}));
  EXPECT_EQ(scheduler.Pending(), 1u);
  scheduler.Cancel(later);
  EXPECT_EQ(scheduler.Pending(), 0u);
}

TEST(ThreadScheduler, CallbacksMayScheduleAndCancel) {
  Journal journal;
  ThreadScheduler scheduler;
  TimerId victim = scheduler.At(WallNow() + hours(1), [&] { journal.Add("victim"); });
  scheduler.At(WallNow(), [&] {
    scheduler.Cancel(victim);
    scheduler.At(WallNow(), [&] { journal.Add("child"); });
    journal.Add("parent");
  });
  ASSERT_TRUE(journal.WaitFor(2));
  EXPECT_EQ(journal.Entries(), (std::vector<std::string>{"parent", "child"}));
  EXPECT_EQ(scheduler.Pending(), 0u);
}

TEST(ThreadScheduler, DestructionDropsTimersThatHaveNotStarted) {
  Journal journal;
  {
    ThreadScheduler scheduler;
    scheduler.At(WallNow() + hours(1), [&] { journal.Add("never"); });
  }
  EXPECT_TRUE(journal.Entries().empty());
}

}  // namespace
}  // namespace va::vault
