// ThreadScheduler: the Scheduler of session_ports.h on one thread of its own. Timers run one at
// a time, earliest first, at or after their wall time (a wall clock stepped forward runs them
// early, one stepped back runs them late); a long callback delays the ones after it. Callbacks
// may call At() and Cancel(). The destructor drops the timers that have not started and waits
// for the one running (so it must not run on the scheduler's own thread). Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "vault/app/sessions/session_ports.h"

namespace va::vault {

class ThreadScheduler final : public Scheduler {
 public:
  ThreadScheduler();
  ~ThreadScheduler() override;
  ThreadScheduler(const ThreadScheduler&) = delete;
  ThreadScheduler& operator=(const ThreadScheduler&) = delete;

  TimerId At(WallTime when, std::function<void()> fn) override;
  void Cancel(TimerId id) override;
  // Timers not yet started.
  size_t Pending() const;

 private:
  void Run();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::set<std::pair<WallTime, TimerId>> queue_;        // earliest first
  std::map<TimerId, std::function<void()>> callbacks_;  // of the timers in queue_
  std::map<TimerId, WallTime> due_;
  TimerId next_ = 1;
  bool stop_ = false;
  std::thread thread_;  // last: started after everything above exists
};

}  // namespace va::vault
