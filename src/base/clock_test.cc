// Tests for base/clock.h: UnixSeconds, RFC 3339 formatting and parsing (round trips, offsets,
// fractions, and malformed inputs that must be rejected), FormatDuration and SystemClock.
#include "base/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace va {
namespace {

using namespace std::chrono_literals;

WallTime FromUnix(int64_t secs) { return WallTime(std::chrono::seconds(secs)); }

TEST(UnixSecondsTest, CountsWholeSecondsSinceEpoch) {
  EXPECT_EQ(UnixSeconds(FromUnix(0)), 0);
  EXPECT_EQ(UnixSeconds(FromUnix(1795601700)), 1795601700);
  EXPECT_EQ(UnixSeconds(FromUnix(1795601700) + 999ms), 1795601700);
}

TEST(FormatRfc3339Test, FormatsKnownInstantsInUtc) {
  EXPECT_EQ(FormatRfc3339(FromUnix(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(FromUnix(1795601700)), "2026-11-25T10:15:00Z");
  EXPECT_EQ(FormatRfc3339(FromUnix(1709251199)), "2024-02-29T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(FromUnix(946684799)), "1999-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(FromUnix(2147483648)), "2038-01-19T03:14:08Z");
}

TEST(FormatRfc3339Test, DropsTheFraction) {
  EXPECT_EQ(FormatRfc3339(FromUnix(1795601700) + 999ms), "2026-11-25T10:15:00Z");
}

TEST(ParseRfc3339Test, ParsesUtc) {
  std::optional<WallTime> t = ParseRfc3339("2026-11-25T10:15:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, FromUnix(1795601700));
}

TEST(ParseRfc3339Test, RoundTripsWithFormat) {
  for (int64_t secs : {int64_t{0}, int64_t{946684799}, int64_t{946684800}, int64_t{1709251199},
                       int64_t{1795601700}, int64_t{2147483648}, int64_t{4102444800}}) {
    const std::string text = FormatRfc3339(FromUnix(secs));
    std::optional<WallTime> parsed = ParseRfc3339(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(*parsed, FromUnix(secs)) << text;
    EXPECT_EQ(FormatRfc3339(*parsed), text);
  }
}

TEST(ParseRfc3339Test, RoundTripsTheCurrentTimeToTheSecond) {
  const WallTime now = WallNow();
  std::optional<WallTime> parsed = ParseRfc3339(FormatRfc3339(now));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(UnixSeconds(*parsed), UnixSeconds(now));
}

TEST(ParseRfc3339Test, AppliesOffsets) {
  const WallTime utc = FromUnix(1795601700);  // 2026-11-25T10:15:00Z
  std::optional<WallTime> plus2 = ParseRfc3339("2026-11-25T12:15:00+02:00");
  ASSERT_TRUE(plus2.has_value());
  EXPECT_EQ(*plus2, utc);

  std::optional<WallTime> minus530 = ParseRfc3339("2026-11-25T04:45:00-05:30");
  ASSERT_TRUE(minus530.has_value());
  EXPECT_EQ(*minus530, utc);

  std::optional<WallTime> zero = ParseRfc3339("2026-11-25T10:15:00+00:00");
  ASSERT_TRUE(zero.has_value());
  EXPECT_EQ(*zero, utc);

  // An offset that crosses midnight and a month boundary.
  std::optional<WallTime> crossing = ParseRfc3339("2026-12-01T01:00:00+14:00");
  ASSERT_TRUE(crossing.has_value());
  EXPECT_EQ(FormatRfc3339(*crossing), "2026-11-30T11:00:00Z");
}

TEST(ParseRfc3339Test, AcceptsLowercaseSeparators) {
  std::optional<WallTime> t = ParseRfc3339("2026-11-25t10:15:00z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, FromUnix(1795601700));
}

TEST(ParseRfc3339Test, ParsesFractions) {
  const WallTime base = FromUnix(1795601700);
  struct Case {
    std::string_view text;
    std::chrono::nanoseconds extra;
  };
  const Case cases[] = {
      {"2026-11-25T10:15:00.5Z", 500ms},
      {"2026-11-25T10:15:00.123Z", 123ms},
      {"2026-11-25T10:15:00.000001Z", 1us},
      {"2026-11-25T10:15:00.123456789Z", 123456789ns},
      // Digits beyond nanoseconds are accepted and ignored.
      {"2026-11-25T10:15:00.1234567899Z", 123456789ns},
      {"2026-11-25T12:15:00.25+02:00", 250ms},
  };
  for (const Case& c : cases) {
    std::optional<WallTime> t = ParseRfc3339(c.text);
    ASSERT_TRUE(t.has_value()) << c.text;
    EXPECT_EQ(*t - base, c.extra) << c.text;
  }
}

TEST(ParseRfc3339Test, AcceptsLeapDayInLeapYearsOnly) {
  EXPECT_TRUE(ParseRfc3339("2024-02-29T00:00:00Z").has_value());
  EXPECT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2025-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("1900-02-29T00:00:00Z").has_value());
}

TEST(ParseRfc3339Test, RejectsMalformedInput) {
  const std::string_view bad[] = {
      "",
      "2026",
      "2026-11-25",
      "2026-11-25T10:15Z",           // no seconds
      "2026-11-25T10:15:00",         // no zone
      "2026-11-25T10:15:00Zjunk",    // trailing garbage
      "2026-11-25T10:15:00Z ",       // trailing space
      "2026-11-25T10:15:00+02:00x",  // garbage after offset
      " 2026-11-25T10:15:00Z",       // leading space
      "2026-13-01T00:00:00Z",        // month 13
      "2026-00-10T00:00:00Z",        // month 0
      "2026-01-00T00:00:00Z",        // day 0
      "2026-01-32T00:00:00Z",        // day 32
      "2026-02-30T00:00:00Z",        // Feb 30
      "2026-04-31T00:00:00Z",        // Apr 31
      "2026-11-25T24:00:00Z",        // hour 24
      "2026-11-25T10:60:00Z",        // minute 60
      "2026-11-25T10:15:61Z",        // second 61
      "2026-11-25T10:15:00.Z",       // fraction without digits
      "2026-11-25T10:15:00+0200",    // offset without colon
      "2026-11-25T10:15:00+2:00",    // one-digit offset hour
      "2026-11-25T10:15:00+24:00",   // offset hour out of range
      "2026-11-25T10:15:00+02:60",   // offset minute out of range
      "2026-11-25T10:15:00+",        // truncated offset
      "2026-1-25T10:15:00Z",         // one-digit month
      "26-11-25T10:15:00Z",          // two-digit year
      "9999-12-31T23:59:59Z",        // beyond what WallTime holds
      "1000-01-01T00:00:00Z",        // before what WallTime holds
      "2026/11/25T10:15:00Z",        // wrong separators
      "2026-11-25X10:15:00Z",        // wrong date/time separator
      "2026-11-25T10-15-00Z",        // wrong time separators
      "2026-11-25T1a:15:00Z",        // non-digit
      "2026-11-25T10:15:00UTC",      // zone name
  };
  for (std::string_view text : bad) {
    EXPECT_FALSE(ParseRfc3339(text).has_value()) << "accepted \"" << text << "\"";
  }
}

TEST(FormatDurationTest, PicksAUnitByMagnitude) {
  EXPECT_EQ(FormatDuration(0ns), "0 ns");
  EXPECT_EQ(FormatDuration(999ns), "999 ns");
  EXPECT_EQ(FormatDuration(1500ns), "1.5 µs");
  EXPECT_EQ(FormatDuration(1234567ns), "1.235 ms");
  EXPECT_EQ(FormatDuration(2500ms), "2.500 s");
  EXPECT_EQ(FormatDuration(90s), "90.000 s");
}

TEST(SystemClockTest, ReportsWallAndMonotonicTime) {
  SystemClock clock;
  const Clock& iface = clock;
  // The wall clock may be stepped, so only check that it is a plausible present (after 2020).
  EXPECT_GT(UnixSeconds(iface.Now()), 1577836800);
  const MonoTime m1 = iface.Mono();
  const MonoTime m2 = iface.Mono();
  EXPECT_GE(m2, m1);
}

}  // namespace
}  // namespace va
