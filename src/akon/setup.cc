// akon setup: asks for (or reads from stdin) the server, user, protocol, PIN and TOTP secret,
// validates the secret by generating a code, then writes the config and stores the secrets.
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "akon/config.h"
#include "akon/runtime.h"
#include "akon/secrets.h"
#include "akon/totp.h"
#include "akon/vpn_on.h"

namespace va::akon {
namespace {

// Reads one line from stdin; with `hidden` and a terminal, without echo. nullopt at end of input.
std::optional<std::string> ReadLine(bool hidden) {
  termios old{};
  bool restore = false;
  if (hidden && ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &old) == 0) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    restore = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  std::string line;
  bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (restore) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::cerr << '\n';
  }
  if (!ok) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::optional<std::string> Ask(const std::string& prompt, const std::string& fallback,
                               bool hidden) {
  std::cerr << prompt;
  if (!fallback.empty()) std::cerr << " [" << fallback << "]";
  std::cerr << ": " << std::flush;
  auto line = ReadLine(hidden);
  if (line && line->empty()) return fallback;
  return line;
}

}  // namespace

int Setup(Ui& ui, const SetupOptions& o) {
  auto dir = ConfigDir();
  if (!dir) {
    ui.Error("Cannot find the configuration directory: " + dir.error().message,
             "Set AKON_CONFIG_DIR.");
    return kExitConfigError;
  }
  Config config;
  if (auto existing = LoadConfig(ConfigPath(*dir))) config = *existing;
  std::string pin, secret;
  if (o.non_interactive) {
    if (!o.server || !o.username || !o.protocol) {
      ui.Error("--non-interactive needs --server, --username and --protocol.",
               "See 'akon setup --help'.");
      return kExitConfigError;
    }
    config.vpn.server = *o.server;
    config.vpn.username = *o.username;
    config.vpn.protocol = *o.protocol;
    if (o.servercert) config.vpn.servercert = *o.servercert;
    auto p = ReadLine(false);
    auto s = ReadLine(false);
    if (!p || !s) {
      ui.Error("Expected the PIN and the TOTP secret as two lines on standard input.");
      return kExitConfigError;
    }
    pin = *p;
    secret = *s;
  } else {
    auto server = Ask("VPN server URL (https://...)", config.vpn.server, false);
    auto user = server ? Ask("Username", config.vpn.username, false) : std::nullopt;
    auto proto = user ? Ask("Protocol (anyconnect|f5|gp|nc|pulse|fortinet|array)",
                            config.vpn.protocol.empty() ? "anyconnect" : config.vpn.protocol, false)
                      : std::nullopt;
    auto p = proto ? Ask("PIN", "", true) : std::nullopt;
    auto s = p ? Ask("TOTP secret (Base32)", "", true) : std::nullopt;
    if (!s) {
      ui.Error("Setup cancelled: input ended.");
      return kExitConfigError;
    }
    config.vpn.server = *server;
    config.vpn.username = *user;
    config.vpn.protocol = *proto;
    pin = *p;
    secret = *s;
  }
  if (o.backend) {
    auto b = ParseSecretBackend(*o.backend);
    if (!b) {
      ui.Error("Unknown secret backend '" + *o.backend + "'.", "Use keyring or file.");
      return kExitConfigError;
    }
    config.secrets.backend = *b;
  }
  if (auto valid = ParseConfig(RenderConfig(config)); !valid) {
    ui.Error("Invalid setting: " + valid.error().message,
             "Run 'akon setup' again with a corrected value.");
    return kExitConfigError;
  }
  if (pin.empty()) {
    ui.Error("The PIN is empty.", "Run 'akon setup' again.");
    return kExitConfigError;
  }
  auto normalized = NormalizeBase32Secret(secret);
  if (!normalized) {
    ui.Error("Invalid TOTP secret: " + normalized.error().message,
             "Copy the Base32 secret from your authenticator enrolment.");
    return kExitConfigError;
  }
  auto code = TotpCode(*normalized, WallNow());
  if (!code) {
    ui.Error("The TOTP secret does not produce a code: " + code.error().message);
    return kExitConfigError;
  }
  auto store = MakeSecretStore(config, *dir);
  if (!store) {
    ui.Error("Secret store unavailable: " + store.error().message,
             "Use --backend file, or unlock your keyring.");
    return kExitConfigError;
  }
  if (auto st = SaveConfig(ConfigPath(*dir), config); !st) {
    ui.Error("Cannot write the configuration: " + st.error().message);
    return kExitConfigError;
  }
  if (auto st = (*store)->Save(config.vpn.username, Secrets{pin, *normalized}); !st) {
    ui.Error("Cannot store the secrets: " + st.error().message,
             "Use --backend file, or unlock your keyring.");
    return kExitConfigError;
  }
  ui.Success("Configuration saved to " + ConfigPath(*dir));
  ui.Success("PIN and TOTP secret stored in " + std::string((*store)->Name()) +
             " (checked by generating a code)");
  return kExitOk;
}

}  // namespace va::akon
