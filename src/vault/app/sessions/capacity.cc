#include "vault/app/sessions/capacity.h"

#include <algorithm>
#include <limits>

namespace va::vault {

int MaxSessionsForMemory(int64_t available_bytes, int64_t per_session_bytes,
                         int64_t reserve_bytes) {
  if (per_session_bytes <= 0 || available_bytes <= reserve_bytes) return 0;
  const int64_t slots = (available_bytes - reserve_bytes) / per_session_bytes;
  return static_cast<int>(std::min<int64_t>(slots, std::numeric_limits<int>::max()));
}

bool CountingCapacity::TryAcquire(std::string_view session_id) {
  std::lock_guard lock(mutex_);
  if (held_.find(session_id) != held_.end()) return true;
  if (static_cast<int64_t>(held_.size()) >= max_) return false;
  held_.emplace(session_id);
  return true;
}

void CountingCapacity::Release(std::string_view session_id) {
  std::lock_guard lock(mutex_);
  if (auto it = held_.find(session_id); it != held_.end()) held_.erase(it);
}

int CountingCapacity::InUse() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(held_.size());
}

}  // namespace va::vault
