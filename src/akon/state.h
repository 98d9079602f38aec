// The VPN state file (spec §3): where `vpn on` records the live connection and what `vpn off`,
// `vpn status` and `vpn reset` read. JSON, versioned, written atomically (0600, never through a
// symlink), read defensively: unknown fields are ignored, a file that cannot be parsed is
// kCorrupt, one that is a symlink, group/world-writable or owned by someone else is kUntrusted.
// A pid read from it is never trusted without an identity check (see proc/identity.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/result.h"

namespace va::akon {

inline constexpr int kStateVersion = 1;

struct VpnState {
  int version = kStateVersion;
  std::string ip;      // address on the tunnel device
  std::string device;  // tun device name
  WallTime connected_at{};
  std::optional<pid_t> pid;                // openconnect; absent in the older format
  std::optional<uint64_t> pid_start_time;  // /proc start time of openconnect
  std::optional<pid_t> supervisor_pid;     // the akon process that supervises openconnect
  std::optional<uint64_t> supervisor_start_time;
  std::string server;
  std::string record_dir;  // where the vpnc-script wrapper recorded connect/disconnect
  // Set by the supervisor when openconnect ended without `vpn off` (e.g. killed from outside).
  std::string ended;
  // "connected" (or empty), "reconnecting" while the supervisor retries, "error" after its last
  // attempt failed. With reconnecting: the attempt under way and when it starts.
  std::string status;
  int attempt = 0;
  std::optional<WallTime> next_retry;
};

// $AKON_STATE_FILE, default /tmp/akon_vpn_state.json.
std::string StatePath();
// The lock that serialises on/off/reset: STATE_PATH + ".lock".
std::string StateLockPath(const std::string& state_path);

std::string RenderState(const VpnState& state);
// Parses a state document; kCorrupt with the reason when it is not a valid state.
Result<VpnState> ParseState(std::string_view json);

// kNotFound when there is no file; kUntrusted / kCorrupt as above.
Result<VpnState> LoadState(const std::string& path);
Status SaveState(const std::string& path, const VpnState& state);

}  // namespace va::akon
