// The supervisor: the akon process that runs openconnect as its child, knows when the tunnel is
// configured, writes the state file, and stays with the connection until `vpn off`.
//
// `vpn on` starts it detached (its own session) and hands it its parameters, including the
// password, through a pipe; it reports one line back on another pipe:
//   "connected IP DEVICE"  or  "error CODE MESSAGE".
// With --foreground the same code runs inside the `vpn on` process.
#pragma once

#include <string>

#include "base/result.h"

namespace va::akon {

struct SupervisorParams {
  std::string openconnect;  // binary
  std::string server;
  std::string username;
  std::string protocol;
  std::string servercert;  // optional
  std::string cafile;      // optional
  bool no_dtls = false;
  int connect_timeout_secs = 30;
  std::string runtime_dir;
  std::string record_dir;
  std::string state_path;
  std::string password;  // PIN + TOTP; only ever in memory and in openconnect's stdin pipe
  // Reconnection (spec §6): when openconnect exits unexpectedly, log in again with a fresh TOTP
  // code after an exponential backoff. The PIN and secret stay in memory for that.
  bool reconnect = false;
  int max_attempts = 5;
  int backoff_base_secs = 5;
  int backoff_max_secs = 60;
  std::string pin;
  std::string otp_secret;
  // The health probe: GET health_url every check_interval_secs (and at once after a network
  // change or a resume from suspend); failure_threshold failures in a row trigger a reconnection.
  std::string health_url;
  int check_interval_secs = 60;
  int failure_threshold = 2;
};

std::string RenderParams(const SupervisorParams& p);
Result<SupervisorParams> ParseParams(std::string_view json);

// Why a connect failed, mapped to the user's message and exit code by `vpn on`.
enum class ConnectError { kNone, kAuth, kTimeout, kExited, kScript, kSystem };

// Runs the supervisor. Reads nothing from the terminal. `report_fd` receives the one status line
// and is closed after it. `foreground` makes Ctrl-C (SIGINT) and SIGTERM disconnect. Returns the
// process exit code.
int RunSupervisor(const SupervisorParams& params, int report_fd, bool foreground);

// Entry point of the hidden `akon vpn __supervise`: parameters from stdin, report to stdout.
int SuperviseMain();

}  // namespace va::akon
