// Structured logging: each record is an event name plus key=value fields,
//   2026-11-25T10:15:00.123Z warn vpn_force_killed pid=4242 method=SIGKILL
// written to stderr at or above the configured level, and to the systemd journal (with the
// fields as journal fields) when a journal socket exists. Libraries return errors; the top layer
// logs each error once. Values are quoted when they contain spaces, quotes or '='.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace va {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

// "debug|info|warn|error|off" (also "warning", "trace" = debug); nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view text);
std::string_view LogLevelName(LogLevel level);

struct LogOptions {
  std::string program = "va";
  LogLevel level = LogLevel::kWarn;
  bool journal = true;  // also write to the journal when its socket exists
  std::string journal_socket = "/run/systemd/journal/socket";
};

// Sets up logging once per process; later calls replace the options. Safe to skip: records then
// go to stderr at warn and above.
void InitLogging(const LogOptions& options);
LogLevel CurrentLogLevel();

struct LogField {
  std::string_view key;
  std::string value;

  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  LogField(std::string_view k, T v) : key(k), value(std::to_string(v)) {}
  template <typename R, typename P>
  LogField(std::string_view k, std::chrono::duration<R, P> d)
      : key(k), value(FormatMillis(std::chrono::duration_cast<std::chrono::nanoseconds>(d))) {}

  static std::string FormatMillis(std::chrono::nanoseconds d);
};

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
inline void LogDebug(std::string_view e, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kDebug, e, f);
}
inline void LogInfo(std::string_view e, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, e, f);
}
inline void LogWarn(std::string_view e, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarn, e, f);
}
inline void LogError(std::string_view e, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, e, f);
}

// The text of one record without timestamp and level: "event k=v k2=\"a b\"". For tests.
std::string FormatLogRecord(std::string_view event, std::initializer_list<LogField> fields);

}  // namespace va
