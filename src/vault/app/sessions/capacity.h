// CountingCapacity: the NodeCapacity of one vaultd — a fixed number of sandbox slots, computed
// at start-up from the memory the node can give to viewers (MaxSessionsForMemory). Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "vault/app/sessions/session_ports.h"

namespace va::vault {

// floor((available - reserve) / per_session), at least 0; per_session ≤ 0 gives 0.
int MaxSessionsForMemory(int64_t available_bytes, int64_t per_session_bytes, int64_t reserve_bytes);

class CountingCapacity final : public NodeCapacity {
 public:
  explicit CountingCapacity(int max_sessions) : max_(max_sessions) {}
  bool TryAcquire(std::string_view session_id) override;
  void Release(std::string_view session_id) override;
  int InUse() const;
  int Max() const { return max_; }

 private:
  const int max_;
  mutable std::mutex mutex_;
  std::set<std::string, std::less<>> held_;
};

}  // namespace va::vault
