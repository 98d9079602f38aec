// The health probe of spec §6: an HTTP(S) GET of health_url, through the tunnel, with the system
// trust store plus an optional CA file. libcurl lives in the module akon-health.so, loaded only by
// the supervisor, so that short commands do not pay for its libraries at start-up.
#pragma once

#include <chrono>
#include <string>

#include "base/result.h"

namespace va::akon {

// The HTTP status of GET `url` (any status counts as an answer; 2xx and 3xx are healthy), or an
// error: kUnsupported when the module cannot be loaded, kTimeout or kSystem (curl's message)
// when no answer came.
Result<int> ProbeHealth(const std::string& url, const std::string& cafile,
                        std::chrono::milliseconds timeout);

inline bool Healthy(const Result<int>& r) { return r && *r >= 200 && *r < 400; }

}  // namespace va::akon
