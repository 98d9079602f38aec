// vault-viewer: renders one file into the frame buffer on fd 3 and talks to vaultd over the
// SOCK_SEQPACKET socket on fd 4 (docs/vault-viewer-protocol.md). Runs inside a session's sandbox.
//
//   vault-viewer --sandbox-id sbx_… --file PATH --width W --height H [--log-level LEVEL]
//
// Exit status: 0 when vaultd closes the socket, 1 after telling vaultd the file cannot be shown,
// 2 for a bad command line or unusable descriptors.
#include <CLI/CLI.hpp>
#include <csignal>
#include <string>

#include "base/log.h"
#include "vault/viewer/viewer.h"

int main(int argc, char** argv) {
  CLI::App app{"vault-viewer: renders one file as frames for vaultd"};
  std::string sandbox_id;
  std::string log_level = "warn";
  va::vault::viewer::ViewerOptions options;
  app.add_option("--sandbox-id", sandbox_id, "the sandbox this viewer runs in (for ps)")
      ->required();
  app.add_option("--file", options.file, "the file to show")->required();
  app.add_option("--width", options.width, "initial width in pixels")->required();
  app.add_option("--height", options.height, "initial height in pixels")->required();
  app.add_option("--log-level", log_level, "debug|info|warn|error|off");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto level = va::ParseLogLevel(log_level);
  if (!level) {
    std::fprintf(stderr, "vault-viewer: bad --log-level %s\n", log_level.c_str());
    return 2;
  }
  va::InitLogging({.program = "vault-viewer", .level = *level, .journal = false});
  std::signal(SIGPIPE, SIG_IGN);

  auto status = va::vault::viewer::RunViewer(options);
  if (!status) {
    va::LogError("viewer_failed", {{"sandbox_id", sandbox_id}, {"error", status.error().message}});
    return 2;
  }
  return *status;
}
