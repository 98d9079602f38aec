// Structured logging on spdlog (stderr) and the journal's native protocol; see log.h.
#include "base/log.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace va {
namespace {

struct LogState {
  std::mutex mu;
  std::shared_ptr<spdlog::logger> logger;
  std::string program = "va";
  bool journal = false;
  std::string journal_socket;
};

std::atomic<int> g_level{static_cast<int>(LogLevel::kWarn)};

LogState& State() {
  static LogState* state = [] {
    auto* s = new LogState;  // never destroyed: logging must work during static destruction
    s->logger =
        std::make_shared<spdlog::logger>("va", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    // The level name comes from LogLevelName ("warn"), not spdlog's %l ("warning").
    s->logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %v", spdlog::pattern_time_type::utc);
    s->logger->set_level(spdlog::level::trace);
    return s;
  }();
  return *state;
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

void AppendValue(std::string& out, std::string_view v) {
  if (!NeedsQuotes(v)) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

spdlog::level::level_enum ToSpd(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

int ToSyslogPriority(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return 7;
    case LogLevel::kInfo:
      return 6;
    case LogLevel::kWarn:
      return 4;
    default:
      return 3;
  }
}

std::string JournalKey(std::string_view key) {
  std::string out;
  for (char c : key) {
    unsigned char u = static_cast<unsigned char>(c);
    out += std::isalnum(u) ? static_cast<char>(std::toupper(u)) : '_';
  }
  if (out.empty() || out[0] == '_' || std::isdigit(static_cast<unsigned char>(out[0]))) {
    out = "F" + out;
  }
  return out;
}

// Appends one field in the journal's native protocol: KEY=VALUE\n, or for a value holding a
// newline KEY\n, its length as 64-bit little endian, the bytes, \n.
void AppendJournalField(std::string& out, std::string_view key, std::string_view value) {
  out += key;
  if (value.find('\n') == std::string_view::npos) {
    out += '=';
    out += value;
  } else {
    out += '\n';
    uint64_t n = value.size();
    for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
    out += value;
  }
  out += '\n';
}

// Sends one record as a datagram to journald (best effort: a full or absent journal loses it).
// Written directly rather than through libsystemd, which would cost every start-up its loading.
void SendToJournal(const std::string& socket_path, LogLevel level, const std::string& program,
                   std::string_view event, const std::string& message,
                   std::initializer_list<LogField> fields) {
  static int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return;
  std::string datagram;
  AppendJournalField(datagram, "MESSAGE", message);
  AppendJournalField(datagram, "PRIORITY", std::to_string(ToSyslogPriority(level)));
  AppendJournalField(datagram, "SYSLOG_IDENTIFIER", program);
  AppendJournalField(datagram, "EVENT", event);
  for (const auto& f : fields) AppendJournalField(datagram, JournalKey(f.key), f.value);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
  (void)::sendto(sock, datagram.data(), datagram.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  std::string t;
  for (char c : text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "debug" || t == "trace") return LogLevel::kDebug;
  if (t == "info") return LogLevel::kInfo;
  if (t == "warn" || t == "warning") return LogLevel::kWarn;
  if (t == "error") return LogLevel::kError;
  if (t == "off" || t == "none") return LogLevel::kOff;
  return std::nullopt;
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "info";
}

void InitLogging(const LogOptions& options) {
  auto& s = State();
  std::lock_guard lock(s.mu);
  s.program = options.program;
  s.journal_socket = options.journal_socket;
  s.journal = options.journal && ::access(options.journal_socket.c_str(), W_OK) == 0;
  g_level.store(static_cast<int>(options.level));
}

LogLevel CurrentLogLevel() { return static_cast<LogLevel>(g_level.load()); }

std::string LogField::FormatMillis(std::chrono::nanoseconds d) {
  return fmt::format("{:.3f}ms", static_cast<double>(d.count()) / 1e6);
}

std::string FormatLogRecord(std::string_view event, std::initializer_list<LogField> fields) {
  std::string out(event);
  for (const auto& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    AppendValue(out, f.value);
  }
  return out;
}

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  std::string line = FormatLogRecord(event, fields);
  auto& s = State();
  std::lock_guard lock(s.mu);
  s.logger->log(ToSpd(level), "{} {}", LogLevelName(level), line);
  if (s.journal) SendToJournal(s.journal_socket, level, s.program, event, line, fields);
}

}  // namespace va
