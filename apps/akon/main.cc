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
  on_cmd->add_flag("--force", on.force, "Tear down an existing connection first");
  on_cmd->add_flag("--foreground", on.foreground, "Stay attached; Ctrl-C disconnects");
  auto* off_cmd =
      vpn->add_subcommand("off", "Disconnect: SIGTERM, then SIGKILL after 5 s (exit 0 / 1)");
  bool json = false;
  auto* status_cmd = vpn->add_subcommand(
      "status", "Show the connection (exit 0 connected, 1 not, 2 stale, 3 error)");
  status_cmd->add_flag("--json", json, "One JSON object for scripts");
  auto* reset_cmd =
      vpn->add_subcommand("reset", "Clear stale state; never touches a live connection");
  auto* supervise_cmd = vpn->add_subcommand("__supervise", "");
  supervise_cmd->group("");

  std::string record_dir, script;
  auto* hook_cmd = app.add_subcommand("vpnc-hook", "");
  hook_cmd->group("");
  hook_cmd->add_option("--record-dir", record_dir)->required();
  hook_cmd->add_option("--script", script)->required();

  auto* getpw_cmd = app.add_subcommand("get-password", "Print PIN + current TOTP code");
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
