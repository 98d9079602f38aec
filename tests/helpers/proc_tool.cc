// va-proc-tool: runs the process layer's stopper from a separate process, so tests can stop a
// process from another process or as another user (e.g. under setpriv as uid 65534).
//
//   va-proc-tool stop PID [--name NAME] [--grace-ms N]
//
// Calls va::StopPid and prints the outcome's stable name ("killed", "permission_denied", ...) as
// one line on stdout, with the detail on stderr when there is one. Exits 0 when the process is
// gone, 1 when it is not, 2 on a usage error.
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "proc/identity.h"
#include "proc/stop.h"

namespace {

[[noreturn]] void Usage(std::string_view why) {
  std::fprintf(stderr,
               "va-proc-tool: %.*s\nusage: va-proc-tool stop PID [--name NAME] [--grace-ms N]\n",
               static_cast<int>(why.size()), why.data());
  std::exit(2);
}

std::optional<long long> ParseNumber(const char* text) {
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0) return std::nullopt;
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || std::string_view(argv[1]) != "stop") Usage("expected: stop PID");
  const auto pid = ParseNumber(argv[2]);
  if (!pid || *pid <= 0) Usage("PID must be a positive number");

  va::ExpectedIdentity expected;
  va::StopPolicy policy;
  for (int i = 3; i < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) Usage(std::string(flag) + " needs a value");
    if (flag == "--name") {
      expected.name = argv[i + 1];
    } else if (flag == "--grace-ms") {
      const auto ms = ParseNumber(argv[i + 1]);
      if (!ms) Usage("--grace-ms must be a number");
      policy.grace = std::chrono::milliseconds(*ms);
    } else {
      Usage("unknown option " + std::string(flag));
    }
  }

  const va::StopResult result = va::StopPid(static_cast<pid_t>(*pid), expected, policy);
  const std::string_view name = va::StopOutcomeName(result.outcome);
  std::printf("%.*s\n", static_cast<int>(name.size()), name.data());
  if (!result.detail.empty()) std::fprintf(stderr, "va-proc-tool: %s\n", result.detail.c_str());
  return result.Gone() ? 0 : 1;
}
