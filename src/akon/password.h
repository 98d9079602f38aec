// The VPN password: PIN followed by a TOTP code that has never been sent before. The last step
// used is kept in RUNTIME_DIR/totp_last_step (0600); when the current 30-s step was already used,
// the call waits for the next one (the one legitimate time-based wait: the event is the clock).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "akon/secrets.h"
#include "base/result.h"

namespace va::akon {

// `on_wait` is told how long it will wait before it does (for a progress line). Fails when the
// secret cannot produce a code or the step file cannot be written (then nothing is sent).
Result<std::string> FreshPassword(const Secrets& secrets, const std::string& runtime_dir,
                                  const std::function<void(std::chrono::seconds)>& on_wait = {});

}  // namespace va::akon
