#include "vault/app/sessions/thread_scheduler.h"

namespace va::vault {

ThreadScheduler::ThreadScheduler() : thread_([this] { Run(); }) {}

ThreadScheduler::~ThreadScheduler() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

TimerId ThreadScheduler::At(WallTime when, std::function<void()> fn) {
  TimerId id = 0;
  {
    std::lock_guard lock(mutex_);
    id = next_++;
    queue_.emplace(when, id);
    callbacks_.emplace(id, std::move(fn));
    due_.emplace(id, when);
  }
  wake_.notify_all();
  return id;
}

void ThreadScheduler::Cancel(TimerId id) {
  std::lock_guard lock(mutex_);
  auto it = due_.find(id);
  if (it == due_.end()) return;
  queue_.erase({it->second, id});
  callbacks_.erase(id);
  due_.erase(it);
}

size_t ThreadScheduler::Pending() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void ThreadScheduler::Run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (queue_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const auto [when, id] = *queue_.begin();
    if (when > WallNow()) {
      wake_.wait_until(lock, when);
      continue;
    }
    queue_.erase(queue_.begin());
    due_.erase(id);
    auto node = callbacks_.extract(id);
    lock.unlock();
    if (!node.empty() && node.mapped()) node.mapped()();
    node = {};  // the callback's captures go before the lock is taken again
    lock.lock();
  }
}

}  // namespace va::vault
