// Time: a monotonic clock for deadlines and durations, wall time for records, and an interface
// that domain code takes so tests can control time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace va {

using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

inline MonoTime MonoNow() { return std::chrono::steady_clock::now(); }
inline WallTime WallNow() { return std::chrono::system_clock::now(); }

// Seconds since the Unix epoch.
int64_t UnixSeconds(WallTime t);
// "2026-11-25T10:15:00Z" (UTC, second precision).
std::string FormatRfc3339(WallTime t);
// Parses RFC 3339 ("…Z" or "…+hh:mm", optional fraction); nullopt when malformed or outside
// the years WallTime can hold (1678..2261).
std::optional<WallTime> ParseRfc3339(std::string_view text);
// "1.234 ms" style for logs and tables.
std::string FormatDuration(std::chrono::nanoseconds d);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime Now() const = 0;
  virtual MonoTime Mono() const = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime Now() const override { return WallNow(); }
  MonoTime Mono() const override { return MonoNow(); }
};

}  // namespace va
