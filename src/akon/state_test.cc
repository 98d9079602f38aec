// Tests for state.h: the state document round-trips through RenderState/ParseState (all fields,
// and with the optional ones absent), unknown fields are ignored, the older format without a pid
// is accepted, and every kind of corruption is reported as kCorrupt and nothing else; a fuzz loop
// of random mutations never crashes the parser. SaveState/LoadState on real files in temporary
// directories: 0600, atomic replacement, never through a symlink, refusal of untrusted files.
#include "akon/state.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_env.h"

namespace va::akon {
namespace {

using ::va::testing::ScopedEnv;
using ::va::testing::TempDir;

// 2026-11-25T10:15:00Z: whole seconds, since the document keeps second precision.
WallTime SampleTime() { return WallTime(std::chrono::seconds(1795601700)); }

VpnState FullState() {
  VpnState s;
  s.ip = "10.99.0.50";
  s.device = "tun0";
  s.connected_at = SampleTime();
  s.pid = 4242;
  s.pid_start_time = 123456789;
  s.supervisor_pid = 4241;
  s.supervisor_start_time = 123456700;
  s.server = "https://vpn.example.com:8443/group?a=\"b\"&c=ü";
  s.record_dir = "/run/akon/conn-0a1b2c3d4e5f";
  s.ended = "openconnect (pid 4242) exited unexpectedly (signal SIGKILL)";
  return s;
}

VpnState MinimalState() {
  VpnState s;
  s.ip = "fd00::5";
  s.device = "vpn-tun.1";
  s.connected_at = SampleTime();
  return s;
}

void ExpectSameState(const VpnState& got, const VpnState& want) {
  EXPECT_EQ(got.version, want.version);
  EXPECT_EQ(got.ip, want.ip);
  EXPECT_EQ(got.device, want.device);
  EXPECT_EQ(got.connected_at, want.connected_at);
  EXPECT_EQ(got.pid, want.pid);
  EXPECT_EQ(got.pid_start_time, want.pid_start_time);
  EXPECT_EQ(got.supervisor_pid, want.supervisor_pid);
  EXPECT_EQ(got.supervisor_start_time, want.supervisor_start_time);
  EXPECT_EQ(got.server, want.server);
  EXPECT_EQ(got.record_dir, want.record_dir);
  EXPECT_EQ(got.ended, want.ended);
}

// A valid document with `fields` (JSON members, already rendered) after the required ones.
std::string Doc(const std::string& fields = {}) {
  std::string doc = R"({"ip":"10.0.0.1","device":"tun0","connected_at":"2026-11-25T10:15:00Z")";
  if (!fields.empty()) doc += "," + fields;
  return doc + "}";
}

void ExpectCorrupt(std::string_view doc) {
  auto parsed = ParseState(doc);
  ASSERT_FALSE(parsed.has_value()) << "accepted: " << doc;
  EXPECT_EQ(parsed.error().kind, ErrorKind::kCorrupt) << doc << ": " << parsed.error().message;
  EXPECT_FALSE(parsed.error().message.empty()) << doc;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& text, mode_t mode = 0600) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(StateTest, RoundTripsEveryField) {
  const VpnState state = FullState();
  const std::string doc = RenderState(state);
  EXPECT_EQ(doc.back(), '\n');
  auto parsed = ParseState(doc);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message << "\n" << doc;
  ExpectSameState(*parsed, state);
  EXPECT_EQ(RenderState(*parsed), doc);
}

TEST(StateTest, RoundTripsWithOptionalFieldsAbsent) {
  const VpnState state = MinimalState();
  const std::string doc = RenderState(state);
  for (const char* key : {"\"pid\"", "pid_start_time", "supervisor_pid", "supervisor_start_time",
                          "\"server\"", "record_dir", "\"ended\""}) {
    EXPECT_EQ(doc.find(key), std::string::npos) << key << " rendered in " << doc;
  }
  auto parsed = ParseState(doc);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message << "\n" << doc;
  ExpectSameState(*parsed, state);
}

TEST(StateTest, RendersTheDocumentedKeys) {
  auto doc = RenderState(FullState());
  for (const char* key : {"\"version\":1", "\"ip\":\"10.99.0.50\"", "\"device\":\"tun0\"",
                          "\"connected_at\":\"2026-11-25T10:15:00Z\"", "\"pid\":4242"}) {
    EXPECT_NE(doc.find(key), std::string::npos) << key << " not in " << doc;
  }
}

TEST(StateTest, IgnoresUnknownFields) {
  auto parsed = ParseState(Doc(R"("pid":77,"future":{"nested":[1,2,3]},"note":"hi","n":null)"));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->pid, 77);
  EXPECT_EQ(parsed->ip, "10.0.0.1");
  EXPECT_EQ(parsed->device, "tun0");
}

TEST(StateTest, AcceptsTheOlderFormatWithoutPid) {
  // What the earlier akon wrote: ip, device and connected_at only.
  auto parsed =
      ParseState(R"({"ip":"10.0.0.7","device":"tun1","connected_at":"2024-03-01T08:00:00+01:00"})");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_FALSE(parsed->pid.has_value());
  EXPECT_FALSE(parsed->pid_start_time.has_value());
  EXPECT_FALSE(parsed->supervisor_pid.has_value());
  EXPECT_EQ(parsed->version, kStateVersion);
  EXPECT_EQ(FormatRfc3339(parsed->connected_at), "2024-03-01T07:00:00Z");
}

TEST(StateTest, NullOptionalFieldsCountAsAbsent) {
  auto parsed = ParseState(Doc(R"("pid":null,"pid_start_time":null)"));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_FALSE(parsed->pid.has_value());
  EXPECT_FALSE(parsed->pid_start_time.has_value());
}

TEST(StateTest, AcceptsBoundaryValues) {
  auto parsed =
      ParseState(Doc(R"("pid":4194304,"supervisor_pid":1,"pid_start_time":9223372036854775807,)"
                     R"("supervisor_start_time":0,"version":0)"));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->pid, 4194304);
  EXPECT_EQ(parsed->supervisor_pid, 1);
  EXPECT_EQ(parsed->pid_start_time, uint64_t{9223372036854775807});
  EXPECT_EQ(parsed->supervisor_start_time, uint64_t{0});
  EXPECT_TRUE(ParseState(Doc()).has_value());
  EXPECT_TRUE(ParseState(R"({"ip":"::1","device":"abcdefghijklmno",)"
                         R"("connected_at":"2026-11-25T10:15:00.123456789Z"})")
                  .has_value());
}

TEST(StateTest, NotJsonIsCorrupt) {
  for (const char* doc : {"", " ", "{", "}", "garbage", "{\"ip\":", "{'ip':'10.0.0.1'}",
                          "{\"ip\":\"10.0.0.1\",}", "\xff\xfe{}", "{} {}"}) {
    ExpectCorrupt(doc);
  }
  ExpectCorrupt(Doc() + "trailing");
  ExpectCorrupt(std::string_view("{\"ip\":\"10.0.0.1\0\"}", 18));
}

TEST(StateTest, NotAnObjectIsCorrupt) {
  for (const char* doc : {"[]", "[{\"ip\":\"10.0.0.1\"}]", "\"state\"", "42", "null", "true"}) {
    ExpectCorrupt(doc);
  }
}

TEST(StateTest, MissingRequiredFieldsAreCorrupt) {
  ExpectCorrupt("{}");
  ExpectCorrupt(R"({"device":"tun0","connected_at":"2026-11-25T10:15:00Z","pid":5})");
  ExpectCorrupt(R"({"ip":"10.0.0.1","connected_at":"2026-11-25T10:15:00Z","pid":5})");
  ExpectCorrupt(R"({"ip":"10.0.0.1","device":"tun0","pid":5})");
  auto parsed = ParseState(R"({"ip":"10.0.0.1","device":"tun0"})");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_NE(parsed.error().message.find("connected_at"), std::string::npos)
      << parsed.error().message;
}

TEST(StateTest, WrongTypesAreCorrupt) {
  ExpectCorrupt(R"({"ip":167772161,"device":"tun0","connected_at":"2026-11-25T10:15:00Z"})");
  ExpectCorrupt(R"({"ip":"10.0.0.1","device":["tun0"],"connected_at":"2026-11-25T10:15:00Z"})");
  ExpectCorrupt(R"({"ip":"10.0.0.1","device":"tun0","connected_at":1795601700})");
  ExpectCorrupt(R"({"ip":null,"device":"tun0","connected_at":"2026-11-25T10:15:00Z"})");
  for (const char* field :
       {R"("pid":"4242")", R"("pid":42.0)", R"("pid":true)", R"("pid":[1])", R"("pid":{})",
        R"("pid_start_time":"1")", R"("supervisor_pid":1.5)", R"("supervisor_start_time":false)",
        R"("server":1)", R"("record_dir":[])", R"("ended":{})", R"("version":"1")",
        R"("server":null)"}) {
    ExpectCorrupt(Doc(field));
  }
}

TEST(StateTest, BadIpIsCorrupt) {
  for (const char* ip : {"", "10.0.0.256", "10.0.0", "localhost", "10.0.0.1 ", " 10.0.0.1",
                         "10.0.0.1/24", "fd00::g", "10.0.0.1\n", "::ffff:1.2.3"}) {
    ExpectCorrupt(R"({"ip":")" + std::string(ip) +
                  R"(","device":"tun0","connected_at":"2026-11-25T10:15:00Z"})");
  }
}

TEST(StateTest, BadDeviceNameIsCorrupt) {
  for (const char* dev : {"", "tun/0", "../../etc", "tun 0", "a-device-name-16", "tun\\t0",
                          "tun\\n", "tun\\u0000", "tun\\u007f", "abcdefghijklmnopqrstuvwxyz"}) {
    ExpectCorrupt(R"({"ip":"10.0.0.1","device":")" + std::string(dev) +
                  R"(","connected_at":"2026-11-25T10:15:00Z"})");
  }
}

TEST(StateTest, PidOutOfRangeIsCorrupt) {
  for (const char* pid : {"0", "-1", "-4242", "4194305", "2147483648", "4294967296",
                          "9223372036854775807", "-9223372036854775808"}) {
    ExpectCorrupt(Doc(std::string(R"("pid":)") + pid));
    ExpectCorrupt(Doc(std::string(R"("supervisor_pid":)") + pid));
  }
  ExpectCorrupt(Doc(R"("pid_start_time":-1)"));
  ExpectCorrupt(Doc(R"("supervisor_start_time":-5)"));
  ExpectCorrupt(Doc(R"("version":-1)"));
  ExpectCorrupt(Doc(R"("version":1001)"));
}

TEST(StateTest, HugeNumbersAreCorrupt) {
  for (const char* field :
       {R"("pid":18446744073709551615)", R"("pid":18446744073709551616)", R"("pid":1e30)",
        R"("pid":1e400)", R"("pid":-1e400)", R"("pid_start_time":18446744073709551615)",
        R"("pid_start_time":9223372036854775808)",
        R"("supervisor_start_time":99999999999999999999999999999999)",
        R"("version":99999999999999999999)"}) {
    ExpectCorrupt(Doc(field));
  }
}

TEST(StateTest, BadTimeIsCorrupt) {
  for (const char* at :
       {"", "yesterday", "2026-11-25", "2026-11-25T10:15:00", "2026-11-25 10:15:00Z",
        "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-25T24:00:00Z",
        "2026-11-25T10:60:00Z", "2026-11-25T10:15:00+25:00", "2026-11-25T10:15:00.Z",
        "2026-11-25T10:15:00Zjunk", "26-11-25T10:15:00Z", "+2026-11-25T10:15:00Z"}) {
    ExpectCorrupt(R"({"ip":"10.0.0.1","device":"tun0","connected_at":")" + std::string(at) +
                  R"("})");
  }
}

// Random byte flips, truncations, insertions and deletions of a valid document: the parser never
// crashes, and what it accepts is a valid state that renders to a stable document.
TEST(StateTest, FuzzedDocumentsParseOrAreCorrupt) {
  const std::string valid = RenderState(FullState());
  std::string alphabet = "{}[]\":,0123456789-+.eEZT \\/nultrsfa\x7f\xff\xc3\xa9";
  alphabet.push_back('\0');
  std::mt19937 rng(20261125);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  int accepted = 0;
  for (int iteration = 0; iteration < 5000; ++iteration) {
    std::string doc = valid;
    const size_t mutations = 1 + pick(4);
    for (size_t m = 0; m < mutations; ++m) {
      switch (pick(5)) {
        case 0:  // flip one bit
          if (!doc.empty()) doc[pick(doc.size())] ^= static_cast<char>(1 << pick(8));
          break;
        case 1:  // truncate
          doc.resize(pick(doc.size() + 1));
          break;
        case 2:  // insert a byte that matters to JSON
          doc.insert(pick(doc.size() + 1), 1, alphabet[pick(alphabet.size())]);
          break;
        case 3: {  // delete a run
          if (doc.empty()) break;
          size_t at = pick(doc.size());
          doc.erase(at, 1 + pick(8));
          break;
        }
        default:  // replace one byte with an arbitrary one
          if (!doc.empty()) doc[pick(doc.size())] = static_cast<char>(pick(256));
          break;
      }
    }
    auto parsed = ParseState(doc);
    if (!parsed) {
      ASSERT_EQ(parsed.error().kind, ErrorKind::kCorrupt) << parsed.error().message;
      continue;
    }
    ++accepted;
    // Whatever was accepted satisfies the invariants and renders to a fixpoint.
    ASSERT_FALSE(parsed->device.empty());
    ASSERT_LE(parsed->device.size(), 15u);
    ASSERT_EQ(parsed->device.find('/'), std::string::npos);
    if (parsed->pid) {
      ASSERT_GT(*parsed->pid, 0);
    }
    const std::string rendered = RenderState(*parsed);
    auto again = ParseState(rendered);
    ASSERT_TRUE(again.has_value()) << again.error().message << "\nfrom: " << doc;
    ASSERT_EQ(RenderState(*again), rendered);
  }
  // Some mutations (e.g. inside a string value) keep the document valid; most do not.
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 5000);
}

TEST(StateTest, SaveWritesPrivateFileAtomically) {
  TempDir dir;
  const std::string path = dir.File("state.json");
  ASSERT_TRUE(SaveState(path, FullState()).has_value());
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(ReadFile(path), RenderState(FullState()));
  EXPECT_EQ(DirEntries(dir.Path()), std::vector<std::string>{"state.json"});

  // Replacing: a reader holding the old file keeps seeing the old document whole (rename, not an
  // in-place rewrite), the path shows the new one, and no temporary file is left.
  std::ifstream old_reader(path);
  VpnState next = MinimalState();
  ASSERT_TRUE(SaveState(path, next).has_value());
  struct stat st2 {};
  ASSERT_EQ(::lstat(path.c_str(), &st2), 0);
  EXPECT_NE(st.st_ino, st2.st_ino);
  EXPECT_EQ(st2.st_mode & 07777, 0600u);
  std::stringstream old_text;
  old_text << old_reader.rdbuf();
  EXPECT_EQ(old_text.str(), RenderState(FullState()));
  auto loaded = LoadState(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ExpectSameState(*loaded, next);
  EXPECT_EQ(DirEntries(dir.Path()), std::vector<std::string>{"state.json"});
}

TEST(StateTest, SaveReplacesAnExistingLooseFileWithMode0600) {
  TempDir dir;
  const std::string path = dir.File("state.json");
  WriteFile(path, "old contents", 0644);
  ASSERT_TRUE(SaveState(path, FullState()).has_value());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto loaded = LoadState(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ExpectSameState(*loaded, FullState());
}

TEST(StateTest, SaveNeverWritesThroughASymlink) {
  TempDir dir;
  const std::string target = dir.File("elsewhere");
  WriteFile(target, "precious\n", 0644);
  const std::string path = dir.File("state.json");
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  ASSERT_TRUE(SaveState(path, FullState()).has_value());
  EXPECT_EQ(ReadFile(target), "precious\n");
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode)) << "the symlink was written through, not replaced";
  EXPECT_TRUE(LoadState(path).has_value());
}

TEST(StateTest, SaveFailsWhenTheDirectoryIsMissing) {
  TempDir dir;
  auto saved = SaveState(dir.File("missing/state.json"), FullState());
  EXPECT_FALSE(saved.has_value());
}

TEST(StateTest, LoadMissingIsNotFound) {
  TempDir dir;
  auto loaded = LoadState(dir.File("state.json"));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().kind, ErrorKind::kNotFound) << loaded.error().message;
}

TEST(StateTest, LoadRefusesASymlink) {
  TempDir dir;
  const std::string real = dir.File("real.json");
  ASSERT_TRUE(SaveState(real, FullState()).has_value());
  const std::string path = dir.File("state.json");
  ASSERT_EQ(::symlink(real.c_str(), path.c_str()), 0);
  auto loaded = LoadState(path);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().kind, ErrorKind::kUntrusted) << loaded.error().message;
  // A dangling symlink is refused too, not reported as "no state".
  const std::string dangling = dir.File("dangling.json");
  ASSERT_EQ(::symlink(dir.File("nowhere").c_str(), dangling.c_str()), 0);
  loaded = LoadState(dangling);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().kind, ErrorKind::kUntrusted) << loaded.error().message;
}

TEST(StateTest, LoadRefusesGroupOrWorldWritable) {
  TempDir dir;
  const std::string path = dir.File("state.json");
  for (mode_t mode : {0620, 0602, 0666, 0660}) {
    WriteFile(path, RenderState(FullState()), mode);
    auto loaded = LoadState(path);
    ASSERT_FALSE(loaded.has_value()) << std::oct << mode;
    EXPECT_EQ(loaded.error().kind, ErrorKind::kUntrusted) << loaded.error().message;
  }
  // Readable by others is fine for the state file (it holds no secret).
  WriteFile(path, RenderState(FullState()), 0644);
  EXPECT_TRUE(LoadState(path).has_value());
}

TEST(StateTest, LoadRefusesAFileOwnedBySomeoneElse) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  TempDir dir;
  const std::string path = dir.File("state.json");
  WriteFile(path, RenderState(FullState()), 0600);
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  auto loaded = LoadState(path);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().kind, ErrorKind::kUntrusted) << loaded.error().message;
}

TEST(StateTest, LoadRefusesADirectory) {
  TempDir dir;
  auto loaded = LoadState(dir.Path());
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().kind, ErrorKind::kUntrusted) << loaded.error().message;
}

TEST(StateTest, LoadReportsCorruptionWithThePath) {
  TempDir dir;
  const std::string path = dir.File("state.json");
  WriteFile(path, "{\"ip\":", 0600);
  auto loaded = LoadState(path);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().kind, ErrorKind::kCorrupt);
  EXPECT_NE(loaded.error().message.find(path), std::string::npos) << loaded.error().message;
}

TEST(StateTest, LoadRefusesAnOversizedFile) {
  TempDir dir;
  const std::string path = dir.File("state.json");
  std::string doc = Doc(R"("padding":")" + std::string(100 * 1024, 'x') + "\"");
  WriteFile(path, doc, 0600);
  EXPECT_FALSE(LoadState(path).has_value());
}

TEST(StateTest, StatePathHonoursTheEnvironment) {
  {
    ScopedEnv env("AKON_STATE_FILE", "/somewhere/else/state.json");
    EXPECT_EQ(StatePath(), "/somewhere/else/state.json");
    EXPECT_EQ(StateLockPath(StatePath()), "/somewhere/else/state.json.lock");
  }
  {
    ScopedEnv env("AKON_STATE_FILE", std::nullopt);
    EXPECT_EQ(StatePath(), "/tmp/akon_vpn_state.json");
  }
  {
    ScopedEnv env("AKON_STATE_FILE", "");
    EXPECT_EQ(StatePath(), "/tmp/akon_vpn_state.json");
  }
}

}  // namespace
}  // namespace va::akon
