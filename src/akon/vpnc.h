// The vpnc-script wrapper. openconnect runs it (through /bin/sh -c) at each step with the step in
// $reason; the wrapper first records the environment the step carries (tun device, addresses,
// routes, DNS) as RECORD_DIR/<reason>.json, then runs the system vpnc-script, then records its exit
// status as RECORD_DIR/<reason>.status. akon waits for connect.status to know the tunnel is
// configured, and after a forced kill replays `disconnect` from the connect record so routes and
// DNS are restored as openconnect would have done.
#pragma once

#include <map>
#include <string>

#include "base/clock.h"
#include "base/result.h"

namespace va::akon {

using Environment = std::map<std::string, std::string>;

// The variables vpnc-script reads (reason, VPNGATEWAY, TUNDEV, INTERNAL_IP4_*, INTERNAL_IP6_*,
// CISCO_*, ...), taken from `environ`.
Environment VpnEnvironmentFromProcess();

// Writes RECORD_DIR/<reason>.json atomically (0600).
Status WriteRecord(const std::string& record_dir, const Environment& env);
// Reads a record back; kNotFound when that step was never recorded.
Result<Environment> ReadRecord(const std::string& record_dir, const std::string& reason);
// Exit status of the system script for a step, if recorded.
Result<int> ReadStepStatus(const std::string& record_dir, const std::string& reason);

// The `--script` argument for openconnect: a shell-quoted command running this binary's hook.
std::string HookCommand(const std::string& self_exe, const std::string& record_dir,
                        const std::string& system_script);

// Entry point of `akon vpnc-hook`: record, run the system script, record its status. Returns
// the script's exit status (what openconnect sees).
int RunVpncHook(const std::string& record_dir, const std::string& system_script);

// Runs the system script with reason=disconnect and the recorded connect environment. Does nothing
// (and succeeds) when no connect was recorded or a disconnect already ran.
Status ReplayDisconnect(const std::string& record_dir, const std::string& system_script);

}  // namespace va::akon
