// Fresh PIN+TOTP passwords; see password.h.
#include "akon/password.h"

#include <time.h>

#include <cerrno>
#include <cstdlib>

#include "akon/totp.h"
#include "base/file.h"

namespace va::akon {

Result<std::string> FreshPassword(const Secrets& s, const std::string& runtime_dir,
                                  const std::function<void(std::chrono::seconds)>& on_wait) {
  const std::string step_file = runtime_dir + "/totp_last_step";
  int64_t last = -1;
  if (auto text = ReadTrustedFile(step_file)) last = std::strtoll(text->c_str(), nullptr, 10);
  WallTime now = WallNow();
  if (TotpStep(now) <= last) {
    auto wait = SecondsUntilNextStep(now);
    if (on_wait) on_wait(wait);
    auto target = std::chrono::duration_cast<std::chrono::nanoseconds>(
        (now + wait).time_since_epoch() + std::chrono::milliseconds(20));
    timespec ts{static_cast<time_t>(target.count() / 1000000000),
                static_cast<long>(target.count() % 1000000000)};
    while (::clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    now = WallNow();
  }
  VA_TRY(std::string code, TotpCode(s.otp_secret, now));
  // Recorded before it is sent: a crash after this point can never lead to a second use.
  VA_TRY_STATUS(WriteFileAtomic(step_file, std::to_string(TotpStep(now)) + "\n", 0600));
  return s.pin + code;
}

}  // namespace va::akon
