// The start-up sweep: finds the sandboxes a dead supervisor left under a scratch root (their
// owner records name the supervisor, init and cgroups), destroys them — kill everything in their
// cgroups, SIGKILL an init that still runs (identity checked: pid and start time), remove the
// cgroups and the scratch directory — and returns their ids so that the caller can end their
// sessions (vaultd: reason ServerRecovery). Sandboxes whose supervisor is alive are left alone,
// so two supervisors may share a root. A directory whose record is unreadable is reported in
// `failed` and left in place.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace va::sandbox {

struct SweepResult {
  std::vector<std::string> destroyed;  // sbx ids
  std::vector<std::string> failed;     // "sbx_…: why"
};

// Fails only when scratch_root cannot be listed (a missing root is an empty sweep).
Result<SweepResult> Sweep(const std::string& scratch_root);

}  // namespace va::sandbox
