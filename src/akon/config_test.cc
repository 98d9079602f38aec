// Tests for config.h: parsing and validation of config.toml, rendering and saving, and where the
// config directory is under different environments. Real files in temporary directories.
#include "akon/config.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "support/test_env.h"

namespace va::akon {
namespace {

using ::va::testing::ScopedEnv;
using ::va::testing::TempDir;

void WriteFile(const std::string& path, const std::string& text, mode_t mode = 0600) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

constexpr char kMinimal[] = R"(
[vpn]
server = "https://vpn.example.com"
username = "alice"
protocol = "anyconnect"
)";

constexpr char kFull[] = R"(
# a comment
top_level_unknown = 1

[vpn]
server = "https://vpn.example.com:8443/group?x=1"
username = "alice@example.com"
protocol = "f5"
servercert = "pin-sha256:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcde="
cafile = "/etc/akon/ca.pem"
no_dtls = true
lazy_mode = true
connect_timeout_secs = 45
some_future_key = "ignored"

[reconnection]
health_url = "http://intranet.example.com/health"
check_interval_secs = 10
failure_threshold = 3
max_attempts = 7
backoff_base_secs = 2
backoff_max_secs = 120

[secrets]
backend = "file"

[unknown_table]
x = [1, 2, 3]
)";

TEST(ParseConfigTest, FullConfig) {
  auto config = ParseConfig(kFull);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->vpn.server, "https://vpn.example.com:8443/group?x=1");
  EXPECT_EQ(config->vpn.username, "alice@example.com");
  EXPECT_EQ(config->vpn.protocol, "f5");
  EXPECT_EQ(config->vpn.servercert, "pin-sha256:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcde=");
  EXPECT_EQ(config->vpn.cafile, "/etc/akon/ca.pem");
  EXPECT_TRUE(config->vpn.no_dtls);
  EXPECT_TRUE(config->vpn.lazy_mode);
  EXPECT_EQ(config->vpn.connect_timeout_secs, 45);
  ASSERT_TRUE(config->reconnection.has_value());
  EXPECT_EQ(config->reconnection->health_url, "http://intranet.example.com/health");
  EXPECT_EQ(config->reconnection->check_interval_secs, 10);
  EXPECT_EQ(config->reconnection->failure_threshold, 3);
  EXPECT_EQ(config->reconnection->max_attempts, 7);
  EXPECT_EQ(config->reconnection->backoff_base_secs, 2);
  EXPECT_EQ(config->reconnection->backoff_max_secs, 120);
  EXPECT_EQ(config->secrets.backend, SecretBackend::kFile);
}

TEST(ParseConfigTest, MinimalConfigGetsDefaults) {
  auto config = ParseConfig(kMinimal);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_FALSE(config->vpn.servercert.has_value());
  EXPECT_FALSE(config->vpn.cafile.has_value());
  EXPECT_FALSE(config->vpn.no_dtls);
  EXPECT_FALSE(config->vpn.lazy_mode);
  EXPECT_EQ(config->vpn.connect_timeout_secs, 30);
  EXPECT_FALSE(config->reconnection.has_value());
  EXPECT_EQ(config->secrets.backend, SecretBackend::kKeyring);
}

TEST(ParseConfigTest, ReconnectionDefaults) {
  auto config = ParseConfig(std::string(kMinimal) +
                            "[reconnection]\nhealth_url = \"https://intra.example.com/\"\n");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_TRUE(config->reconnection.has_value());
  EXPECT_EQ(*config->reconnection,
            (ReconnectionConfig{"https://intra.example.com/", 60, 2, 5, 5, 60}));
}

TEST(ParseConfigTest, AcceptsEveryProtocolAndCertForm) {
  for (std::string_view protocol : kProtocols) {
    auto config = ParseConfig("[vpn]\nserver = \"https://h\"\nusername = \"u\"\nprotocol = \"" +
                              std::string(protocol) + "\"\n");
    EXPECT_TRUE(config) << protocol << ": " << config.error().message;
  }
  for (std::string cert :
       {"pin-sha256:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcde=",
        "pin-sha256:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcde",
        "sha1:0123456789abcdef0123456789ABCDEF01234567",
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF"}) {
    auto with_cert = ParseConfig(
        "[vpn]\nserver = \"https://h\"\nusername = \"u\"\nprotocol = \"gp\"\nservercert = \"" +
        cert + "\"\n");
    EXPECT_TRUE(with_cert) << cert << ": " << with_cert.error().message;
  }
  for (std::string server :
       {"https://vpn.example.com", "HTTPS://VPN.EXAMPLE.COM/", "https://10.0.0.1:443",
        "https://[2001:db8::1]:8443/path", "https://vpn-1.corp_x.example"}) {
    auto config =
        ParseConfig("[vpn]\nserver = \"" + server + "\"\nusername = \"u\"\nprotocol = \"nc\"\n");
    EXPECT_TRUE(config) << server << ": " << config.error().message;
  }
}

struct BadCase {
  std::string toml;
  std::string fragment;  // expected in the message
};

// A config whose [vpn] table has the three required keys with the given TOML values, then `extra`.
std::string Vpn(const std::string& server, const std::string& username, const std::string& protocol,
                const std::string& extra = "") {
  return "[vpn]\nserver = " + server + "\nusername = " + username + "\nprotocol = " + protocol +
         "\n" + extra;
}

std::string WithVpnExtra(const std::string& extra) {
  return Vpn("\"https://vpn.example.com\"", "\"alice\"", "\"anyconnect\"", extra);
}

std::string WithReconnection(const std::string& body) {
  return WithVpnExtra("") + "[reconnection]\n" + body;
}

TEST(ParseConfigTest, RejectsInvalidValuesNamingTheKey) {
  const std::string ok_health = "health_url = \"https://h/health\"\n";
  const BadCase cases[] = {
      // [vpn] itself
      {"", "[vpn] table is missing"},
      {"vpn = \"x\"\n", "vpn: must be a table"},
      // server
      {"[vpn]\nusername = \"a\"\nprotocol = \"gp\"\n", "vpn.server: is missing"},
      {Vpn("\"http://vpn.example.com\"", "\"a\"", "\"gp\""), "vpn.server: must be an https:// URL"},
      {Vpn("\"vpn.example.com\"", "\"a\"", "\"gp\""), "vpn.server: must be an https:// URL"},
      {Vpn("\"https://\"", "\"a\"", "\"gp\""), "vpn.server: has no host"},
      {Vpn("\"https:///path\"", "\"a\"", "\"gp\""), "vpn.server: has no host"},
      {Vpn("\"https://:443\"", "\"a\"", "\"gp\""), "vpn.server: has no host"},
      {Vpn("\"https://vpn example.com\"", "\"a\"", "\"gp\""),
       "vpn.server: must not contain spaces"},
      {Vpn("\"https://user:pw@vpn.example.com\"", "\"a\"", "\"gp\""),
       "vpn.server: must not contain a user name"},
      {Vpn("\"https://vpn.example.com:0\"", "\"a\"", "\"gp\""), "vpn.server: has a port outside"},
      {Vpn("\"https://vpn.example.com:99999\"", "\"a\"", "\"gp\""),
       "vpn.server: has a port outside"},
      {Vpn("\"https://vpn.example.com:ab\"", "\"a\"", "\"gp\""), "vpn.server: has an invalid port"},
      {Vpn("\"https://vpn.example.com:\"", "\"a\"", "\"gp\""), "vpn.server: has an empty port"},
      {Vpn("\"https://vpn..example.com\"", "\"a\"", "\"gp\""), "vpn.server: has an invalid host"},
      {Vpn("\"https://vpn$.example.com\"", "\"a\"", "\"gp\""),
       "vpn.server: has an invalid character"},
      {Vpn("\"https://[::1\"", "\"a\"", "\"gp\""), "vpn.server: has an unterminated"},
      {Vpn("\"https://[zz::1]\"", "\"a\"", "\"gp\""), "vpn.server: has an invalid IPv6"},
      {Vpn("\"https://vpn.example.com\\u0007\"", "\"a\"", "\"gp\""),
       "vpn.server: must not contain"},
      // username
      {"[vpn]\nserver = \"https://h\"\nprotocol = \"gp\"\n", "vpn.username: is missing"},
      {Vpn("\"https://h\"", "\"\"", "\"gp\""), "vpn.username: must not be empty"},
      {Vpn("\"https://h\"", "\"al ice\"", "\"gp\""), "vpn.username: must not contain spaces"},
      {Vpn("\"https://h\"", "\"alice\\t\"", "\"gp\""), "vpn.username: must not contain spaces"},
      {Vpn("\"https://h\"", "\"alice\\n\"", "\"gp\""), "vpn.username: must not contain spaces"},
      {Vpn("\"https://h\"", "\"" + std::string(300, 'a') + "\"", "\"gp\""),
       "vpn.username: is longer than 256"},
      // protocol
      {"[vpn]\nserver = \"https://h\"\nusername = \"a\"\n", "vpn.protocol: is missing"},
      {Vpn("\"https://h\"", "\"a\"", "\"openvpn\""), "vpn.protocol: \"openvpn\" is not supported"},
      {Vpn("\"https://h\"", "\"a\"", "\"AnyConnect\""), "vpn.protocol:"},
      {Vpn("\"https://h\"", "\"a\"", "\"\""), "vpn.protocol:"},
      // servercert
      {WithVpnExtra("servercert = \"\"\n"), "vpn.servercert: expected"},
      {WithVpnExtra("servercert = \"AABBCC\"\n"), "vpn.servercert: expected"},
      {WithVpnExtra("servercert = \"pin-sha256:short=\"\n"),
       "vpn.servercert: malformed pin-sha256"},
      {WithVpnExtra("servercert = \"pin-sha256:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcd!=\"\n"),
       "vpn.servercert: malformed pin-sha256"},
      {WithVpnExtra("servercert = \"sha1:0123\"\n"), "vpn.servercert: malformed sha1"},
      {WithVpnExtra("servercert = \"sha1:0123456789abcdef0123456789abcdef0123456g\"\n"),
       "vpn.servercert: malformed sha1"},
      {WithVpnExtra("servercert = \"sha256:0123456789abcdef0123456789abcdef\"\n"),
       "vpn.servercert: malformed sha256"},
      // cafile
      {WithVpnExtra("cafile = \"\"\n"), "vpn.cafile: must not be empty"},
      {WithVpnExtra("cafile = \"ca.pem\"\n"), "vpn.cafile: must be an absolute path"},
      {WithVpnExtra("cafile = \"/etc/ca\\n.pem\"\n"), "vpn.cafile: must not contain control"},
      // connect_timeout_secs
      {WithVpnExtra("connect_timeout_secs = 0\n"),
       "vpn.connect_timeout_secs: must be between 1 and 600, not 0"},
      {WithVpnExtra("connect_timeout_secs = -5\n"), "vpn.connect_timeout_secs: must be between"},
      {WithVpnExtra("connect_timeout_secs = 601\n"), "vpn.connect_timeout_secs: must be between"},
      {WithVpnExtra("connect_timeout_secs = 9999999999999\n"),
       "vpn.connect_timeout_secs: must be between"},
      // [reconnection]
      {"reconnection = 5\n" + WithVpnExtra(""), "reconnection: must be a table"},
      {WithReconnection("check_interval_secs = 5\n"), "reconnection.health_url: is missing"},
      {WithReconnection("health_url = \"ftp://h/\"\n"),
       "reconnection.health_url: must be an http:// or https:// URL"},
      {WithReconnection("health_url = \"https://\"\n"), "reconnection.health_url: has no host"},
      {WithReconnection(ok_health + "check_interval_secs = 0\n"),
       "reconnection.check_interval_secs: must be between 1 and 86400"},
      {WithReconnection(ok_health + "check_interval_secs = 86401\n"),
       "reconnection.check_interval_secs: must be between"},
      {WithReconnection(ok_health + "failure_threshold = 0\n"),
       "reconnection.failure_threshold: must be between 1 and 100"},
      {WithReconnection(ok_health + "failure_threshold = 101\n"),
       "reconnection.failure_threshold:"},
      {WithReconnection(ok_health + "max_attempts = 0\n"),
       "reconnection.max_attempts: must be between 1 and 1000"},
      {WithReconnection(ok_health + "max_attempts = 1001\n"), "reconnection.max_attempts:"},
      {WithReconnection(ok_health + "backoff_base_secs = 0\n"),
       "reconnection.backoff_base_secs: must be between"},
      {WithReconnection(ok_health + "backoff_max_secs = 0\n"),
       "reconnection.backoff_max_secs: must be between"},
      {WithReconnection(ok_health + "backoff_base_secs = 30\nbackoff_max_secs = 10\n"),
       "reconnection.backoff_max_secs: must be at least backoff_base_secs (30), not 10"},
      // [secrets]
      {"secrets = \"file\"\n" + WithVpnExtra(""), "secrets: must be a table"},
      {WithVpnExtra("") + "[secrets]\nbackend = \"vault\"\n",
       "secrets.backend: \"vault\" is not a secret backend"},
      {WithVpnExtra("") + "[secrets]\nbackend = \"\"\n", "secrets.backend:"},
  };
  for (const auto& c : cases) {
    auto config = ParseConfig(c.toml, "test.toml");
    ASSERT_FALSE(config) << "accepted:\n" << c.toml;
    EXPECT_EQ(config.error().kind, ErrorKind::kInvalid) << c.toml;
    EXPECT_NE(config.error().message.find(c.fragment), std::string::npos)
        << "expected \"" << c.fragment << "\" in: " << config.error().message;
    EXPECT_EQ(config.error().message.rfind("test.toml: ", 0), 0u) << config.error().message;
  }
}

TEST(ParseConfigTest, RejectsWrongTypes) {
  const BadCase cases[] = {
      {Vpn("42", "\"a\"", "\"gp\""), "vpn.server: must be a string, not an integer"},
      {Vpn("[\"https://h\"]", "\"a\"", "\"gp\""), "vpn.server: must be a string, not an array"},
      {Vpn("\"https://h\"", "true", "\"gp\""), "vpn.username: must be a string, not a boolean"},
      {Vpn("\"https://h\"", "\"a\"", "{ name = \"gp\" }"),
       "vpn.protocol: must be a string, not a table"},
      {WithVpnExtra("servercert = 1.5\n"), "vpn.servercert: must be a string, not a float"},
      {WithVpnExtra("cafile = 1979-05-27\n"), "vpn.cafile: must be a string, not a date"},
      {WithVpnExtra("no_dtls = \"false\"\n"), "vpn.no_dtls: must be true or false, not a string"},
      {WithVpnExtra("lazy_mode = 1\n"), "vpn.lazy_mode: must be true or false, not an integer"},
      {WithVpnExtra("connect_timeout_secs = \"30\"\n"),
       "vpn.connect_timeout_secs: must be an integer, not a string"},
      {WithVpnExtra("connect_timeout_secs = 30.0\n"),
       "vpn.connect_timeout_secs: must be an integer, not a float"},
      {WithReconnection("health_url = 5\n"), "reconnection.health_url: must be a string"},
      {WithReconnection("health_url = \"https://h\"\nmax_attempts = \"5\"\n"),
       "reconnection.max_attempts: must be an integer"},
      {WithVpnExtra("") + "[secrets]\nbackend = true\n",
       "secrets.backend: must be a string, not a boolean"},
  };
  for (const auto& c : cases) {
    auto config = ParseConfig(c.toml);
    ASSERT_FALSE(config) << "accepted:\n" << c.toml;
    EXPECT_EQ(config.error().kind, ErrorKind::kInvalid);
    EXPECT_NE(config.error().message.find(c.fragment), std::string::npos)
        << "expected \"" << c.fragment << "\" in: " << config.error().message;
  }
}

TEST(ParseConfigTest, SyntaxErrorIsCorruptWithPosition) {
  auto config = ParseConfig("[vpn]\nserver = \"https://h\"\nusername = alice\n", "c.toml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().kind, ErrorKind::kCorrupt);
  EXPECT_EQ(config.error().message.rfind("c.toml:3:", 0), 0u) << config.error().message;
  EXPECT_NE(config.error().message.find("TOML syntax error"), std::string::npos);

  auto duplicate = ParseConfig("[vpn]\nserver = \"https://a\"\nserver = \"https://b\"\n");
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().kind, ErrorKind::kCorrupt);

  auto unterminated = ParseConfig("[vpn\n");
  ASSERT_FALSE(unterminated);
  EXPECT_EQ(unterminated.error().kind, ErrorKind::kCorrupt);
}

TEST(ParseConfigTest, UnknownKeysAndTablesAreIgnored) {
  auto config = ParseConfig(std::string(kMinimal) +
                            "colour = \"blue\"\n[vpn.nested]\nx = 1\n[future]\ny = [1, 2]\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->vpn.username, "alice");
}

TEST(RenderConfigTest, RoundTrips) {
  Config full = *ParseConfig(kFull);
  auto again = ParseConfig(RenderConfig(full));
  ASSERT_TRUE(again) << again.error().message << "\n" << RenderConfig(full);
  EXPECT_EQ(*again, full);

  Config minimal = *ParseConfig(kMinimal);
  again = ParseConfig(RenderConfig(minimal));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, minimal);
  EXPECT_EQ(RenderConfig(minimal).find("[reconnection]"), std::string::npos);

  // Characters TOML must escape survive.
  Config odd = minimal;
  odd.vpn.username = "ali\"ce\\é";
  odd.vpn.cafile = "/tmp/a \"quoted\" \\ path/ca.pem";
  again = ParseConfig(RenderConfig(odd));
  ASSERT_TRUE(again) << again.error().message << "\n" << RenderConfig(odd);
  EXPECT_EQ(*again, odd);
}

TEST(RenderConfigTest, HasTheDocumentedLayout) {
  const std::string text = RenderConfig(*ParseConfig(kFull));
  const auto vpn = text.find("[vpn]\n");
  const auto reconnection = text.find("[reconnection]\n");
  const auto secrets = text.find("[secrets]\n");
  ASSERT_NE(vpn, std::string::npos);
  ASSERT_NE(reconnection, std::string::npos);
  ASSERT_NE(secrets, std::string::npos);
  EXPECT_LT(vpn, reconnection);
  EXPECT_LT(reconnection, secrets);
  EXPECT_NE(text.find("server = \"https://vpn.example.com:8443/group?x=1\"\n"), std::string::npos);
  EXPECT_NE(text.find("backend = \"file\""), std::string::npos);
}

TEST(LoadConfigTest, LoadsAFile) {
  TempDir dir;
  WriteFile(dir.File("config.toml"), kFull, 0644);
  auto config = LoadConfig(dir.File("config.toml"));
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->vpn.protocol, "f5");
}

TEST(LoadConfigTest, MissingFileTellsToRunSetup) {
  TempDir dir;
  for (const std::string& path : {dir.File("config.toml"), dir.File("nodir/config.toml")}) {
    auto config = LoadConfig(path);
    ASSERT_FALSE(config);
    EXPECT_EQ(config.error().kind, ErrorKind::kNotFound);
    EXPECT_NE(config.error().message.find("akon setup"), std::string::npos)
        << config.error().message;
    EXPECT_NE(config.error().message.find(path), std::string::npos);
  }
}

TEST(LoadConfigTest, ErrorsNameThePath) {
  TempDir dir;
  WriteFile(dir.File("config.toml"), "[vpn]\nserver = 1\n");
  auto config = LoadConfig(dir.File("config.toml"));
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message.rfind(dir.File("config.toml") + ": vpn.server", 0), 0u)
      << config.error().message;
}

TEST(LoadConfigTest, RefusesFilesOthersCanWrite) {
  TempDir dir;
  for (mode_t mode : {0660, 0602, 0666}) {
    WriteFile(dir.File("config.toml"), kMinimal, mode);
    auto config = LoadConfig(dir.File("config.toml"));
    ASSERT_FALSE(config) << std::oct << mode;
    EXPECT_EQ(config.error().kind, ErrorKind::kUntrusted);
    EXPECT_NE(config.error().message.find("chmod 600"), std::string::npos)
        << config.error().message;
  }
  ASSERT_EQ(::mkdir(dir.File("adir").c_str(), 0700), 0);
  auto config = LoadConfig(dir.File("adir"));
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().kind, ErrorKind::kUntrusted);
}

TEST(LoadConfigTest, FollowsASymlinkToATrustedFile) {
  TempDir dir;
  WriteFile(dir.File("real.toml"), kMinimal, 0644);
  ASSERT_EQ(::symlink(dir.File("real.toml").c_str(), dir.File("config.toml").c_str()), 0);
  auto config = LoadConfig(dir.File("config.toml"));
  ASSERT_TRUE(config) << config.error().message;
}

TEST(LoadConfigTest, RefusesAFileOwnedBySomeoneElse) {
  VA_REQUIRE_ROOT();
  TempDir dir;
  ScopedEnv sudo("SUDO_USER", std::nullopt);
  WriteFile(dir.File("config.toml"), kMinimal, 0644);
  ASSERT_EQ(::chown(dir.File("config.toml").c_str(), 65534, 65534), 0);
  auto config = LoadConfig(dir.File("config.toml"));
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().kind, ErrorKind::kUntrusted);
  EXPECT_NE(config.error().message.find("owned by uid 65534"), std::string::npos)
      << config.error().message;
}

TEST(SaveConfigTest, WritesPrivateFileInNewPrivateDirectories) {
  TempDir dir;
  ScopedEnv sudo("SUDO_USER", std::nullopt);
  const std::string path = dir.File("home/.config/akon/config.toml");
  Config config = *ParseConfig(kFull);
  ASSERT_TRUE(SaveConfig(path, config));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(dir.File("home/.config/akon").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(dir.File("home").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  auto loaded = LoadConfig(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, config);

  // Saving again replaces the file; an existing directory keeps its mode.
  ASSERT_EQ(::chmod(dir.File("home").c_str(), 0755), 0);
  config.vpn.username = "bob";
  ASSERT_TRUE(SaveConfig(path, config));
  EXPECT_EQ(LoadConfig(path)->vpn.username, "bob");
  ASSERT_EQ(::stat(dir.File("home").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST(SaveConfigTest, RefusesAnInvalidConfigAndWritesNothing) {
  TempDir dir;
  Config config = *ParseConfig(kMinimal);
  config.vpn.server = "http://insecure.example.com";
  auto st = SaveConfig(dir.File("config.toml"), config);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, ErrorKind::kInvalid);
  EXPECT_NE(st.error().message.find("vpn.server"), std::string::npos) << st.error().message;
  EXPECT_NE(::access(dir.File("config.toml").c_str(), F_OK), 0);
}

TEST(SaveConfigTest, FailsWhenAParentIsAFile) {
  TempDir dir;
  WriteFile(dir.File("file"), "x");
  auto st = SaveConfig(dir.File("file/akon/config.toml"), *ParseConfig(kMinimal));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("not a directory"), std::string::npos) << st.error().message;
}

TEST(SaveConfigTest, UnderSudoFilesBelongToTheInvokingUser) {
  VA_REQUIRE_ROOT();
  struct passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody' on this system";
  const uid_t nobody_uid = nobody->pw_uid;
  TempDir dir;
  ScopedEnv sudo("SUDO_USER", "nobody");
  EXPECT_EQ(ConfigOwnerUid(), nobody_uid);
  const std::string path = dir.File("cfg/akon/config.toml");
  ASSERT_TRUE(SaveConfig(path, *ParseConfig(kMinimal)));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody_uid);
  ASSERT_EQ(::stat(dir.File("cfg/akon").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody_uid);
  // Owned by the sudo user: trusted while running for that user.
  EXPECT_TRUE(LoadConfig(path)) << LoadConfig(path).error().message;
}

TEST(ConfigDirTest, AkonConfigDirWins) {
  ScopedEnv dir("AKON_CONFIG_DIR", "/srv/akon-conf/");
  ScopedEnv xdg("XDG_CONFIG_HOME", "/xdg");
  ScopedEnv sudo("SUDO_USER", "root");
  EXPECT_EQ(*ConfigDir(), "/srv/akon-conf");
  EXPECT_EQ(ConfigPath(*ConfigDir()), "/srv/akon-conf/config.toml");
}

TEST(ConfigDirTest, XdgConfigHomeThenHome) {
  ScopedEnv dir("AKON_CONFIG_DIR", std::nullopt);
  ScopedEnv sudo("SUDO_USER", std::nullopt);
  ScopedEnv home("HOME", "/home/alice");
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", "/home/alice/.xdg");
    EXPECT_EQ(*ConfigDir(), "/home/alice/.xdg/akon");
  }
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", "relative/ignored");
    EXPECT_EQ(*ConfigDir(), "/home/alice/.config/akon");
  }
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", "");
    EXPECT_EQ(*ConfigDir(), "/home/alice/.config/akon");
  }
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", std::nullopt);
    ScopedEnv empty_dir("AKON_CONFIG_DIR", "");
    EXPECT_EQ(*ConfigDir(), "/home/alice/.config/akon");
  }
}

TEST(ConfigDirTest, WithoutHomeUsesThePasswordDatabase) {
  ScopedEnv dir("AKON_CONFIG_DIR", std::nullopt);
  ScopedEnv sudo("SUDO_USER", std::nullopt);
  ScopedEnv xdg("XDG_CONFIG_HOME", std::nullopt);
  ScopedEnv home("HOME", std::nullopt);
  struct passwd* me = ::getpwuid(::geteuid());
  if (me == nullptr) GTEST_SKIP() << "the current uid has no password entry";
  EXPECT_EQ(*ConfigDir(), std::string(me->pw_dir) + "/.config/akon");
}

TEST(ConfigDirTest, UnderSudoUsesTheInvokingUsersHome) {
  VA_REQUIRE_ROOT();
  struct passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody' on this system";
  const std::string nobody_home = nobody->pw_dir;
  ScopedEnv dir("AKON_CONFIG_DIR", std::nullopt);
  ScopedEnv home("HOME", "/root");
  ScopedEnv xdg("XDG_CONFIG_HOME", "/root/.config");
  {
    ScopedEnv sudo("SUDO_USER", "nobody");
    EXPECT_EQ(*ConfigDir(), nobody_home + "/.config/akon");
  }
  {
    ScopedEnv sudo("SUDO_USER", "no-such-user-akon-test");
    auto r = ConfigDir();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
    EXPECT_NE(r.error().message.find("AKON_CONFIG_DIR"), std::string::npos);
    EXPECT_EQ(ConfigOwnerUid(), 0u);  // unknown sudo user: files must be root's
  }
  {
    ScopedEnv sudo("SUDO_USER", std::nullopt);
    EXPECT_EQ(*ConfigDir(), "/root/.config/akon");
    EXPECT_EQ(ConfigOwnerUid(), 0u);
  }
}

TEST(ConfigDirTest, SudoUserIsIgnoredWhenNotRoot) {
  ScopedEnv dir("AKON_CONFIG_DIR", std::nullopt);
  ScopedEnv xdg("XDG_CONFIG_HOME", std::nullopt);
  ScopedEnv home("HOME", "/home/me");
  ScopedEnv sudo("SUDO_USER", "root");
  // As root, check it in a child that has dropped to an ordinary uid.
  EXPECT_EXIT(
      {
        if (::geteuid() == 0 &&
            (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)) {
          std::_Exit(3);
        }
        auto got = ConfigDir();
        bool ok = got && *got == "/home/me/.config/akon" && ConfigOwnerUid() == ::geteuid();
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(SecretBackendTest, NamesRoundTrip) {
  EXPECT_EQ(ParseSecretBackend("keyring"), SecretBackend::kKeyring);
  EXPECT_EQ(ParseSecretBackend("file"), SecretBackend::kFile);
  EXPECT_EQ(ParseSecretBackend("File"), std::nullopt);
  EXPECT_EQ(SecretBackendName(SecretBackend::kFile), "file");
  EXPECT_EQ(SecretBackendName(SecretBackend::kKeyring), "keyring");
  EXPECT_TRUE(IsSupportedProtocol("pulse"));
  EXPECT_FALSE(IsSupportedProtocol("openvpn"));
}

}  // namespace
}  // namespace va::akon
