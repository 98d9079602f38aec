// `akon vpn off`, `akon vpn status` and `akon vpn reset`: the commands that read the state file
// and deal with the openconnect process it names (seed 003 and spec §5). Each returns the exit
// code and writes its user-facing lines to `ui`.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "akon/state.h"
#include "akon/ui.h"
#include "proc/process.h"

namespace va::akon {

// What the state file's pid turned out to be.
struct LiveCheck {
  enum Kind { kLive, kGone, kNotOurs, kNoPid } kind = kNoPid;
  std::optional<Process> process;  // when kLive
  std::string detail;
};

// Identity-checks the openconnect process named by `state` (name "openconnect", and its start
// time when recorded). Never signals anything.
LiveCheck CheckOpenconnect(const VpnState& state);

// True when the state's supervisor (name "akon", recorded start time) is still running.
bool SupervisorAlive(const VpnState& state);

struct OffOptions {
  std::chrono::nanoseconds grace = std::chrono::seconds(5);  // before SIGKILL (seed: 5 s)
  std::chrono::nanoseconds kill_grace = std::chrono::seconds(1);
};

int VpnOff(Ui& ui, const OffOptions& options = {});
int VpnStatus(Ui& ui, bool json);
int VpnReset(Ui& ui);

}  // namespace va::akon
