// akon: one-command OpenConnect VPN with an automatic TOTP password. Command-line front end only;
// the commands live in src/akon.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "akon/runtime.h"
#include "akon/supervisor.h"
#include "akon/vpn_off.h"
#include "akon/vpn_on.h"
#include "akon/vpnc.h"
#include "base/log.h"

namespace {

constexpr const char* kDescription = R"(akon - connect to a corporate VPN with one command.

akon drives openconnect (AnyConnect, F5, GlobalProtect, Pulse, Fortinet, Array) with a password
made of your PIN followed by a fresh 6-digit TOTP code, supervises the connection, and takes it
down gracefully (SIGTERM, then SIGKILL after 5 s) with routes and DNS restored.
)";

constexpr const char* kFooter = R"(
COMMANDS
  setup               store server, user, protocol, PIN and TOTP secret
  vpn on              connect (needs root: it creates a tun device and sets routes and DNS)
  vpn off             disconnect
  vpn status          show the connection (--json for scripts)
  vpn reset           clear stale state without touching a live connection
  get-password        print PIN + current TOTP code for other tools
  With lazy_mode = true in the config, plain `akon` runs `vpn on`.

EXIT STATUS
  vpn on:     0 connected or already connected, 1 VPN error, 2 config or secret error
  vpn off:    0 disconnected (or already), 1 no connection or failure
  vpn status: 0 connected, 1 not connected, 2 stale state, 3 error

FILES
  ~/.config/akon/config.toml   configuration (the invoking user's under sudo)
  ~/.config/akon/secrets.toml  secrets with backend = "file" (must be mode 0600)
  /tmp/akon_vpn_state.json     connection state
  /run/akon/                   openconnect.log, supervisor.log, vpnc-script records (as root)

ENVIRONMENT
  AKON_CONFIG_DIR      configuration directory
  AKON_STATE_FILE      state file path
  AKON_SECRET_BACKEND  keyring | file (overrides the config)
  AKON_LOG             error | warn | info | debug (default warn); records go to stderr and
                       to the systemd journal when one is running
  AKON_RUNTIME_DIR     directory for logs and records
)";

constexpr const char* kSetupFooter = R"(
Interactive by default: asks for each value, the PIN and the TOTP secret without echo. The secret
is checked by generating a code before anything is stored. With --non-interactive, --server,
--username and --protocol are required and the PIN then the Base32 TOTP secret are read as two
lines on standard input (never from argv). Run it as yourself, not with sudo: the config goes to
~/.config/akon/config.toml and the secrets to your keyring (or secrets.toml with --backend file).
Exit status: 0 saved, 2 invalid input or no usable secret store.)";

constexpr const char* kOnFooter = R"(
Runs openconnect as a supervised child with the PIN + a fresh TOTP code on its stdin, waits until
the vpnc-script has configured the tunnel and the tun device is up, writes the state file and
prints the address and device. The same 30-s code is never sent twice: if it was just used, akon
waits for the next one and says so. Needs root (tun device, routes, DNS).
Exit status: 0 connected or already connected, 1 VPN error (login failed, timeout, openconnect
failed), 2 configuration or secret error (including openconnect not installed).)";

constexpr const char* kOffFooter = R"(
Checks that the recorded pid is still the openconnect akon started (name and start time), tells
the supervisor first, sends SIGTERM through a pidfd and returns the moment it exits; after 5 s it
sends SIGKILL and replays the recorded vpnc-script disconnect so routes and DNS are restored.
A state file that is a symlink, group/world-writable or owned by someone else is not trusted.
Exit status: 0 disconnected (or already disconnected), 1 no connection, permission denied,
corrupted or untrusted state, or a process that could not be killed.)";

constexpr const char* kStatusFooter = R"(
States: Connected (ip, device, server, since, pid), Reconnecting (attempt, next retry),
Disconnected, Stale (the recorded openconnect is gone), Error. --json prints one object with
"state" and the same fields.
Exit status: 0 connected, 1 not connected or reconnecting, 2 stale, 3 error.)";

constexpr const char* kResetFooter = R"(
Removes a state file whose openconnect is gone (replaying its vpnc-script disconnect if it never
ran). A live connection, or a state file that cannot be trusted, is left alone.
Exit status: 0 done or nothing to do, 1 refused.)";

}  // namespace

int main(int argc, char** argv) {
  using namespace va::akon;
  va::LogOptions log;
  log.program = "akon";
  if (const char* lvl = std::getenv("AKON_LOG"))
    log.level = va::ParseLogLevel(lvl).value_or(va::LogLevel::kWarn);
  va::InitLogging(log);
  Ui& ui = Ui::Std();

  CLI::App app(kDescription, "akon");
  app.footer(kFooter);
  app.require_subcommand(0, 1);

  SetupOptions setup;
  auto* setup_cmd = app.add_subcommand("setup", "Store the VPN settings, PIN and TOTP secret");
  setup_cmd->footer(kSetupFooter);
  setup_cmd->add_flag("--non-interactive", setup.non_interactive,
                      "Read the PIN then the TOTP secret as two lines on standard input");
  setup_cmd->add_option("--server", setup.server, "VPN server URL (https://...)");
  setup_cmd->add_option("--username", setup.username, "VPN user name");
  setup_cmd->add_option("--protocol", setup.protocol, "anyconnect|f5|gp|nc|pulse|fortinet|array");
  setup_cmd->add_option("--servercert", setup.servercert,
                        "Pin the server certificate (pin-sha256:...)");
  setup_cmd->add_option("--backend", setup.backend, "Where secrets go: keyring (default) or file");

  auto* vpn = app.add_subcommand("vpn", "Connect, disconnect and inspect the VPN");
  vpn->require_subcommand(1);
  OnOptions on;
  auto* on_cmd = vpn->add_subcommand(
      "on", "Connect (exit 0 connected or already connected, 1 VPN error, 2 config error)");
  on_cmd->footer(kOnFooter);
  on_cmd->add_flag("--force", on.force, "Tear down an existing connection first");
  on_cmd->add_flag("--foreground", on.foreground, "Stay attached; Ctrl-C disconnects");
  auto* off_cmd =
      vpn->add_subcommand("off", "Disconnect: SIGTERM, then SIGKILL after 5 s (exit 0 / 1)");
  off_cmd->footer(kOffFooter);
  bool json = false;
  auto* status_cmd = vpn->add_subcommand(
      "status", "Show the connection (exit 0 connected, 1 not, 2 stale, 3 error)");
  status_cmd->footer(kStatusFooter);
  status_cmd->add_flag("--json", json, "One JSON object for scripts");
  auto* reset_cmd =
      vpn->add_subcommand("reset", "Clear stale state; never touches a live connection");
  reset_cmd->footer(kResetFooter);
  auto* supervise_cmd = vpn->add_subcommand("__supervise", "");
  supervise_cmd->group("");

  std::string record_dir, script;
  auto* hook_cmd = app.add_subcommand("vpnc-hook", "");
  hook_cmd->group("");
  hook_cmd->add_option("--record-dir", record_dir)->required();
  hook_cmd->add_option("--script", script)->required();

  auto* getpw_cmd = app.add_subcommand("get-password", "Print PIN + current TOTP code");
  getpw_cmd->footer(
      "\nPrints the PIN followed by the current 6-digit code, for tools that need the "
      "password.\nExit status: 0 printed, 2 no configuration or secrets.");
  auto* secrets_cmd = app.add_subcommand("__secrets", "");
  secrets_cmd->group("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*setup_cmd) return Setup(ui, setup);
  if (*on_cmd) return VpnOn(ui, on);
  if (*off_cmd) return VpnOff(ui);
  if (*status_cmd) return VpnStatus(ui, json);
  if (*reset_cmd) return VpnReset(ui);
  if (*supervise_cmd) return SuperviseMain();
  if (*hook_cmd) return RunVpncHook(record_dir, script);
  if (*getpw_cmd) return GetPassword(ui);
  if (*secrets_cmd) return PrintSecretsMain();
  if (auto lazy = LazyMode(ui)) return *lazy;
  std::cout << app.help();
  return 0;
}
