// Tests for base/log.h: the record text (FormatLogRecord quoting and escaping, LogField
// conversions), level names and parsing, and Log() itself: it writes "TIMESTAMP level event
// key=value" lines to the real fd 2 only at or above the configured level.
#include "base/log.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <string>

#include "base/sys.h"
#include "base/unique_fd.h"

namespace va {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using namespace std::chrono_literals;

// --- FormatLogRecord / LogField ---

TEST(FormatLogRecordTest, EventAlone) { EXPECT_EQ(FormatLogRecord("started", {}), "started"); }

TEST(FormatLogRecordTest, PlainValuesAreUnquoted) {
  EXPECT_EQ(FormatLogRecord("vpn_force_killed", {{"pid", 4242}, {"method", "SIGKILL"}}),
            "vpn_force_killed pid=4242 method=SIGKILL");
}

TEST(FormatLogRecordTest, QuotesAndEscapesWhenNeeded) {
  EXPECT_EQ(FormatLogRecord("e", {{"k", "a b"}}), "e k=\"a b\"");
  EXPECT_EQ(FormatLogRecord("e", {{"k", "say \"hi\""}}), "e k=\"say \\\"hi\\\"\"");
  EXPECT_EQ(FormatLogRecord("e", {{"k", "a=b"}}), "e k=\"a=b\"");
  EXPECT_EQ(FormatLogRecord("e", {{"k", "line1\nline2"}}), "e k=\"line1\\nline2\"");
  EXPECT_EQ(FormatLogRecord("e", {{"k", ""}}), "e k=\"\"");
  EXPECT_EQ(FormatLogRecord("e", {{"k", "C:\\path"}}), "e k=\"C:\\\\path\"");
  EXPECT_EQ(FormatLogRecord("e", {{"k", "a\tb\rc"}}), "e k=\"a\\tb\\rc\"");
  EXPECT_EQ(FormatLogRecord("e", {{"k", std::string("a\x01z")}}), "e k=\"a\\x01z\"");
}

TEST(FormatLogRecordTest, ARecordStaysOnOneLine) {
  const std::string record =
      FormatLogRecord("e", {{"a", "x\ny"}, {"b", "\r\n"}, {"c", std::string(1, '\0')}});
  EXPECT_EQ(record.find('\n'), std::string::npos) << record;
  EXPECT_EQ(record.find('\r'), std::string::npos) << record;
  EXPECT_EQ(record.find('\0'), std::string::npos) << record;
}

TEST(FormatLogRecordTest, NonAsciiIsKeptAsIs) {
  EXPECT_EQ(FormatLogRecord("e", {{"user", "zoë"}}), "e user=zoë");
}

TEST(LogFieldTest, ConvertsValues) {
  EXPECT_EQ(LogField("k", 42).value, "42");
  EXPECT_EQ(LogField("k", -7).value, "-7");
  EXPECT_EQ(LogField("k", std::numeric_limits<uint64_t>::max()).value, "18446744073709551615");
  EXPECT_EQ(LogField("k", true).value, "true");
  EXPECT_EQ(LogField("k", false).value, "false");
  EXPECT_EQ(LogField("k", "text").value, "text");
  EXPECT_EQ(LogField("k", std::string("str")).value, "str");
  EXPECT_EQ(LogField("k", std::string_view("view")).value, "view");
  EXPECT_EQ(LogField("k", 1500us).value, "1.500ms");
  EXPECT_EQ(LogField("k", 2s).value, "2000.000ms");
  EXPECT_EQ(LogField("k", 0ns).value, "0.000ms");
}

// --- Levels ---

TEST(ParseLogLevelTest, AcceptsEveryName) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("trace"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("warning"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("off"), LogLevel::kOff);
}

TEST(ParseLogLevelTest, IsCaseInsensitive) {
  EXPECT_EQ(ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("Warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("ERROR"), LogLevel::kError);
}

TEST(ParseLogLevelTest, RejectsAnythingElse) {
  for (const char* bad : {"", "verbose", "warnings", "err", " info", "info ", "1", "fatal"}) {
    EXPECT_EQ(ParseLogLevel(bad), std::nullopt) << "accepted \"" << bad << "\"";
  }
}

TEST(LogLevelNameTest, RoundTripsThroughParse) {
  for (LogLevel level :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError, LogLevel::kOff}) {
    EXPECT_EQ(ParseLogLevel(LogLevelName(level)), level) << LogLevelName(level);
  }
  EXPECT_EQ(LogLevelName(LogLevel::kWarn), "warn");
}

// --- Log() on the real stderr ---

// Points fd 2 at a memfd while alive; Finish() restores fd 2 and returns what was written.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    file_.Reset(::memfd_create("stderr_capture", MFD_CLOEXEC));
    EXPECT_TRUE(file_.Valid()) << "memfd_create: " << std::strerror(errno);
    saved_.Reset(::fcntl(2, F_DUPFD_CLOEXEC, 3));
    EXPECT_TRUE(saved_.Valid()) << "dup stderr: " << std::strerror(errno);
    EXPECT_EQ(::dup2(file_.Get(), 2), 2) << std::strerror(errno);
  }
  ~StderrCapture() { Finish(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  std::string Finish() {
    if (!saved_.Valid()) return captured_;
    std::fflush(stderr);
    EXPECT_EQ(::dup2(saved_.Get(), 2), 2) << std::strerror(errno);
    saved_.Reset();
    EXPECT_EQ(::lseek(file_.Get(), 0, SEEK_SET), 0);
    Result<std::string> data = ReadAll(file_.Get());
    EXPECT_TRUE(data.has_value()) << data.error().message;
    captured_ = data.value_or("");
    return captured_;
  }

 private:
  UniqueFd file_;
  UniqueFd saved_;
  std::string captured_;
};

class LogTest : public ::testing::Test {
 protected:
  static void SetLevel(LogLevel level) {
    InitLogging({.program = "log_test", .level = level, .journal = false});
  }
  void TearDown() override { SetLevel(LogLevel::kWarn); }
};

TEST_F(LogTest, InitLoggingSetsTheLevel) {
  SetLevel(LogLevel::kDebug);
  EXPECT_EQ(CurrentLogLevel(), LogLevel::kDebug);
  SetLevel(LogLevel::kError);
  EXPECT_EQ(CurrentLogLevel(), LogLevel::kError);
}

TEST_F(LogTest, WritesOneStructuredLineToStderr) {
  SetLevel(LogLevel::kWarn);
  StderrCapture capture;
  LogWarn("vpn_force_killed", {{"pid", 4242}, {"method", "SIGKILL"}, {"note", "took long"}});
  const std::string out = capture.Finish();
  EXPECT_THAT(out, HasSubstr("vpn_force_killed pid=4242 method=SIGKILL note=\"took long\""));
  static const std::regex kLine(
      "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z warn "
      "vpn_force_killed pid=4242 method=SIGKILL note=\"took long\"\n");
  EXPECT_TRUE(std::regex_match(out, kLine)) << out;
}

TEST_F(LogTest, EveryLevelNameAppearsInItsLine) {
  SetLevel(LogLevel::kDebug);
  StderrCapture capture;
  LogDebug("d_event");
  LogInfo("i_event");
  LogWarn("w_event");
  LogError("e_event");
  const std::string out = capture.Finish();
  EXPECT_THAT(out, HasSubstr("Z debug d_event\n"));
  EXPECT_THAT(out, HasSubstr("Z info i_event\n"));
  EXPECT_THAT(out, HasSubstr("Z warn w_event\n"));
  EXPECT_THAT(out, HasSubstr("Z error e_event\n"));
}

TEST_F(LogTest, RecordsBelowTheLevelAreDropped) {
  SetLevel(LogLevel::kWarn);
  StderrCapture capture;
  LogDebug("debug_event", {{"k", "v"}});
  LogInfo("info_event", {{"k", "v"}});
  LogWarn("warn_event", {{"k", "v"}});
  LogError("error_event", {{"k", "v"}});
  const std::string out = capture.Finish();
  EXPECT_THAT(out, Not(HasSubstr("debug_event")));
  EXPECT_THAT(out, Not(HasSubstr("info_event")));
  EXPECT_THAT(out, HasSubstr("warn_event k=v"));
  EXPECT_THAT(out, HasSubstr("error_event k=v"));
}

TEST_F(LogTest, DebugLevelLetsEverythingThrough) {
  SetLevel(LogLevel::kDebug);
  StderrCapture capture;
  LogDebug("debug_event", {{"n", 1}});
  Log(LogLevel::kInfo, "info_event", {{"n", 2}});
  const std::string out = capture.Finish();
  EXPECT_THAT(out, HasSubstr("debug_event n=1"));
  EXPECT_THAT(out, HasSubstr("info_event n=2"));
}

TEST_F(LogTest, OffSilencesEvenErrors) {
  SetLevel(LogLevel::kOff);
  StderrCapture capture;
  LogError("error_event");
  EXPECT_THAT(capture.Finish(), IsEmpty());
}

TEST_F(LogTest, StderrIsRestoredAfterCapture) {
  // The capture helper itself must leave fd 2 as it found it, or later tests lose their output.
  struct stat before {};
  ASSERT_EQ(::fstat(2, &before), 0);
  {
    StderrCapture capture;
    LogError("captured_event");
    EXPECT_THAT(capture.Finish(), HasSubstr("captured_event"));
  }
  struct stat after {};
  ASSERT_EQ(::fstat(2, &after), 0);
  EXPECT_EQ(before.st_dev, after.st_dev);
  EXPECT_EQ(before.st_ino, after.st_ino);
}

}  // namespace
}  // namespace va

namespace va {
namespace {

// Decodes one datagram of the journal's native protocol into its fields.
std::map<std::string, std::string> DecodeJournal(std::string_view d) {
  std::map<std::string, std::string> fields;
  while (!d.empty()) {
    size_t nl = d.find('\n');
    size_t eq = d.find('=');
    if (eq != std::string_view::npos && eq < nl) {
      fields[std::string(d.substr(0, eq))] = std::string(d.substr(eq + 1, nl - eq - 1));
      d.remove_prefix(nl + 1);
      continue;
    }
    std::string key(d.substr(0, nl));
    d.remove_prefix(nl + 1);
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i)
      n |= static_cast<uint64_t>(static_cast<unsigned char>(d[i])) << (8 * i);
    d.remove_prefix(8);
    fields[key] = std::string(d.substr(0, n));
    d.remove_prefix(n + 1);
  }
  return fields;
}

TEST(JournalTest, RecordsReachTheJournalSocketWithTheirFields) {
  // A datagram socket standing in for journald's, at a path given to InitLogging.
  char dir_template[] = "/tmp/va-journal-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/socket";
  UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(sock.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);

  InitLogging({.program = "journal_test",
               .level = LogLevel::kError,
               .journal = true,
               .journal_socket = path});
  LogError("vpn_disconnect_failed", {{"pid", 7}, {"error", "two\nlines"}, {"state", "Failed"}});
  InitLogging({.program = "log_test", .level = LogLevel::kWarn, .journal = false});

  char buf[4096];
  ssize_t n = ::recv(sock.Get(), buf, sizeof(buf), MSG_DONTWAIT);
  ::unlink(path.c_str());
  ::rmdir(dir_template);
  ASSERT_GT(n, 0) << "nothing was sent to the journal socket";
  auto fields = DecodeJournal(std::string_view(buf, static_cast<size_t>(n)));
  EXPECT_EQ(fields["EVENT"], "vpn_disconnect_failed");
  EXPECT_EQ(fields["PRIORITY"], "3");
  EXPECT_EQ(fields["SYSLOG_IDENTIFIER"], "journal_test");
  EXPECT_EQ(fields["PID"], "7");
  EXPECT_EQ(fields["ERROR"], "two\nlines");
  EXPECT_EQ(fields["STATE"], "Failed");
  EXPECT_EQ(fields["MESSAGE"], "vpn_disconnect_failed pid=7 error=\"two\\nlines\" state=Failed");
}

}  // namespace
}  // namespace va
