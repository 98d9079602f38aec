// `akon vpn on`, `akon get-password` and `akon setup`: the commands that need the configuration
// and the secrets (spec §2–§4). Each returns the exit code and writes its lines to `ui`.
#pragma once

#include <optional>
#include <string>

#include "akon/ui.h"

namespace va::akon {

struct OnOptions {
  bool force = false;       // tear down an existing connection first
  bool foreground = false;  // stay attached; Ctrl-C disconnects
};
int VpnOn(Ui& ui, const OnOptions& options);

int GetPassword(Ui& ui);

// Hidden `akon __secrets`: prints {"pin":…,"otp_secret":…} for `vpn on` running under sudo, which
// starts it as the invoking user so that it reaches that user's keyring.
int PrintSecretsMain();

struct SetupOptions {
  bool non_interactive = false;
  std::optional<std::string> server, username, protocol, servercert;
  std::optional<std::string> backend;  // keyring|file
};
int Setup(Ui& ui, const SetupOptions& options);

// Runs `vpn on` when the config says lazy_mode = true; otherwise returns nullopt.
std::optional<int> LazyMode(Ui& ui);

}  // namespace va::akon
