// Time formatting and parsing; see clock.h.
#include "base/clock.h"

#include <fmt/format.h>

#include <cctype>
#include <ctime>

namespace va {

int64_t UnixSeconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string FormatRfc3339(WallTime t) {
  time_t secs = static_cast<time_t>(UnixSeconds(t));
  struct tm tm {};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

namespace {

bool TakeInt(std::string_view& s, size_t digits, int& out) {
  if (s.size() < digits) return false;
  out = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  s.remove_prefix(digits);
  return true;
}

bool TakeChar(std::string_view& s, char c) {
  if (s.empty() || (s[0] != c && std::tolower(static_cast<unsigned char>(s[0])) != c)) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<WallTime> ParseRfc3339(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (!TakeInt(s, 4, y) || !TakeChar(s, '-') || !TakeInt(s, 2, mo) || !TakeChar(s, '-') ||
      !TakeInt(s, 2, d) || !TakeChar(s, 't') || !TakeInt(s, 2, h) || !TakeChar(s, ':') ||
      !TakeInt(s, 2, mi) || !TakeChar(s, ':') || !TakeInt(s, 2, sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  int64_t nanos = 0;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    int digits = 0;
    while (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
      if (digits < 9) nanos = nanos * 10 + (s[0] - '0');
      ++digits;
      s.remove_prefix(1);
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }
  int offset_min = 0;
  if (TakeChar(s, 'z')) {
  } else if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    int sign = s[0] == '+' ? 1 : -1;
    s.remove_prefix(1);
    int oh, om;
    if (!TakeInt(s, 2, oh) || !TakeChar(s, ':') || !TakeInt(s, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_min = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                  std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits: years outside 1678..2261 do not fit.
  if (y < 1678 || y > 2261) return std::nullopt;
  auto days = std::chrono::sys_days(ymd);
  auto t = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      days + std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(sec) -
      std::chrono::minutes(offset_min));
  return t + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                 std::chrono::nanoseconds(nanos));
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  double ns = static_cast<double>(d.count());
  if (ns < 1e3) return fmt::format("{:.0f} ns", ns);
  if (ns < 1e6) return fmt::format("{:.1f} µs", ns / 1e3);
  if (ns < 1e9) return fmt::format("{:.3f} ms", ns / 1e6);
  return fmt::format("{:.3f} s", ns / 1e9);
}

}  // namespace va
