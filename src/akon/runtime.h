// Paths akon uses at run time and the exit codes of its commands.
#pragma once

#include <string>

#include "base/result.h"

namespace va::akon {

// Exit codes (spec §2).
inline constexpr int kExitOk = 0;
inline constexpr int kExitVpnError = 1;
inline constexpr int kExitConfigError = 2;
inline constexpr int kExitStale = 2;  // vpn status
inline constexpr int kExitStatusError = 3;

// $AKON_RUNTIME_DIR, else /run/akon for root, else $XDG_RUNTIME_DIR/akon, else /tmp/akon-UID.
// Created 0700 when missing; refused (kUntrusted) when it is a symlink, not a directory, not
// owned by the caller, or accessible by group/others.
Result<std::string> RuntimeDir();

// The system vpnc-script that the wrapper calls: $AKON_VPNC_SCRIPT, else the first of
// /usr/share/vpnc-scripts/vpnc-script and /etc/vpnc/vpnc-script that exists.
std::string SystemVpncScript();

// The openconnect binary: $AKON_OPENCONNECT, else looked up in PATH (also /usr/sbin, /sbin).
// kNotFound when it is not installed.
Result<std::string> FindOpenconnect();

// Absolute path of the running akon binary (/proc/self/exe).
std::string SelfExe();

}  // namespace va::akon
