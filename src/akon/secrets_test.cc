// Tests for secrets.h: the file store's round trip and its refusals (permissions, symlink, owner,
// corruption), backend selection, and the keyring's error when no session bus exists. The keyring
// against a real gnome-keyring is tested in tests/akon/keyring_test.cc.
#include "akon/secrets.h"

#include <gtest/gtest.h>
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

void WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

const Secrets kSecrets{"0042", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"};

TEST(FileSecretStoreTest, RoundTripCreatesAPrivateFile) {
  TempDir dir;
  ScopedEnv sudo("SUDO_USER", std::nullopt);
  const std::string path = dir.File("conf/akon/secrets.toml");
  FileSecretStore store(path, ::geteuid());
  EXPECT_EQ(store.Name(), "file");
  ASSERT_TRUE(store.Save("alice", kSecrets));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(dir.File("conf/akon").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  auto loaded = store.Load("alice");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->pin, kSecrets.pin);
  EXPECT_EQ(loaded->otp_secret, kSecrets.otp_secret);

  // Characters TOML must escape survive; an empty PIN is allowed.
  const Secrets odd{"p\"i\\n é", "gezd gnbv gy3t qojq"};
  ASSERT_TRUE(store.Save("alice", odd));
  loaded = store.Load("alice");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->pin, odd.pin);
  EXPECT_EQ(loaded->otp_secret, odd.otp_secret);
  ASSERT_TRUE(store.Save("alice", Secrets{"", "GEZDGNBVGY3TQOJQ"}));
  EXPECT_EQ(store.Load("alice")->pin, "");
}

TEST(FileSecretStoreTest, ReadsAHandWrittenFile) {
  TempDir dir;
  WriteFile(dir.File("secrets.toml"),
            "# mine\npin = \"1234\"\notp_secret = \"JBSWY3DPEHPK3PXP\"\nnote = \"ignored\"\n",
            0600);
  auto loaded = FileSecretStore(dir.File("secrets.toml"), ::geteuid()).Load("x");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->pin, "1234");
  EXPECT_EQ(loaded->otp_secret, "JBSWY3DPEHPK3PXP");
}

TEST(FileSecretStoreTest, MissingFileTellsToRunSetup) {
  TempDir dir;
  auto loaded = FileSecretStore(dir.File("secrets.toml"), ::geteuid()).Load("alice");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(loaded.error().message.find("akon setup"), std::string::npos) << loaded.error().message;
}

TEST(FileSecretStoreTest, RefusesAFileOthersCanAccess) {
  TempDir dir;
  const std::string path = dir.File("secrets.toml");
  FileSecretStore store(path, ::geteuid());
  ASSERT_TRUE(store.Save("alice", kSecrets));
  for (mode_t mode : {0644, 0660, 0640, 0604, 0601, 0610}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto loaded = store.Load("alice");
    ASSERT_FALSE(loaded) << std::oct << mode;
    EXPECT_EQ(loaded.error().kind, ErrorKind::kUntrusted) << std::oct << mode;
    EXPECT_NE(loaded.error().message.find("refusing to read secrets"), std::string::npos);
    EXPECT_NE(loaded.error().message.find("group or others"), std::string::npos)
        << loaded.error().message;
    EXPECT_EQ(loaded.error().message.find(kSecrets.otp_secret), std::string::npos);
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(store.Load("alice"));
}

TEST(FileSecretStoreTest, RefusesASymlink) {
  TempDir dir;
  FileSecretStore real(dir.File("real.toml"), ::geteuid());
  ASSERT_TRUE(real.Save("alice", kSecrets));
  ASSERT_EQ(::symlink(dir.File("real.toml").c_str(), dir.File("secrets.toml").c_str()), 0);
  auto loaded = FileSecretStore(dir.File("secrets.toml"), ::geteuid()).Load("alice");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::kUntrusted);
  EXPECT_NE(loaded.error().message.find("symbolic link"), std::string::npos)
      << loaded.error().message;
}

TEST(FileSecretStoreTest, RefusesAFileOwnedBySomeoneElse) {
  VA_REQUIRE_ROOT();
  TempDir dir;
  const std::string path = dir.File("secrets.toml");
  ASSERT_TRUE(FileSecretStore(path, 0).Save("alice", kSecrets));
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  // Expected owner 1000: neither the file's owner (65534) nor root.
  auto loaded = FileSecretStore(path, 1000).Load("alice");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::kUntrusted);
  EXPECT_NE(loaded.error().message.find("owned by uid 65534"), std::string::npos)
      << loaded.error().message;
  // The expected owner (e.g. the sudo user) is trusted.
  EXPECT_TRUE(FileSecretStore(path, 65534).Load("alice"));
}

TEST(FileSecretStoreTest, RefusesADirectory) {
  TempDir dir;
  ASSERT_EQ(::mkdir(dir.File("secrets.toml").c_str(), 0700), 0);
  auto loaded = FileSecretStore(dir.File("secrets.toml"), ::geteuid()).Load("alice");
  ASSERT_FALSE(loaded);
}

TEST(FileSecretStoreTest, CorruptFilesAreReportedWithoutTheirContent) {
  TempDir dir;
  const std::string path = dir.File("secrets.toml");
  FileSecretStore store(path, ::geteuid());
  struct Case {
    std::string text;
    ErrorKind kind;
    std::string fragment;
  };
  const Case cases[] = {
      {"pin = \"SUPERSECRET\notp_secret = \"X\"\n", ErrorKind::kCorrupt, ":1:"},
      {"pin = SUPERSECRET\n", ErrorKind::kCorrupt, "not valid TOML"},
      {"pin = 1234\notp_secret = \"SUPERSECRET\"\n", ErrorKind::kCorrupt, "pin must be a string"},
      {"pin = \"1\"\notp_secret = [\"SUPERSECRET\"]\n", ErrorKind::kCorrupt,
       "otp_secret must be a string"},
      {"pin = \"SUPERSECRET\"\n", ErrorKind::kNotFound, "otp_secret is missing"},
      {"otp_secret = \"SUPERSECRET\"\n", ErrorKind::kNotFound, "pin is missing"},
      {"pin = \"SUPERSECRET\"\notp_secret = \"\"\n", ErrorKind::kNotFound, "otp_secret is empty"},
  };
  for (const auto& c : cases) {
    WriteFile(path, c.text, 0600);
    auto loaded = store.Load("alice");
    ASSERT_FALSE(loaded) << c.text;
    EXPECT_EQ(loaded.error().kind, c.kind) << c.text << ": " << loaded.error().message;
    EXPECT_NE(loaded.error().message.find(c.fragment), std::string::npos)
        << c.text << ": " << loaded.error().message;
    EXPECT_EQ(loaded.error().message.find("SUPERSECRET"), std::string::npos)
        << loaded.error().message;
  }
}

TEST(FileSecretStoreTest, SaveRejectsUnusableSecrets) {
  TempDir dir;
  FileSecretStore store(dir.File("secrets.toml"), ::geteuid());
  auto empty = store.Save("alice", Secrets{"1234", ""});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().kind, ErrorKind::kInvalid);
  auto newline = store.Save("alice", Secrets{"12\n34", "GEZDGNBVGY3TQOJQ"});
  ASSERT_FALSE(newline);
  EXPECT_EQ(newline.error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(newline.error().message.find("12"), std::string::npos);
  EXPECT_NE(::access(dir.File("secrets.toml").c_str(), F_OK), 0);
}

TEST(MakeSecretStoreTest, ConfigChoosesAndEnvironmentOverrides) {
  TempDir dir;
  Config config;
  {
    ScopedEnv env("AKON_SECRET_BACKEND", std::nullopt);
    auto store = MakeSecretStore(config, dir.Path());
    ASSERT_TRUE(store);
    EXPECT_EQ((*store)->Name(), "keyring");
    config.secrets.backend = SecretBackend::kFile;
    store = MakeSecretStore(config, dir.Path());
    ASSERT_TRUE(store);
    EXPECT_EQ((*store)->Name(), "file");
    auto* file = dynamic_cast<FileSecretStore*>(store->get());
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(file->Path(), dir.File("secrets.toml"));
    EXPECT_EQ(SecretsPath(dir.Path()), dir.File("secrets.toml"));
  }
  {
    ScopedEnv env("AKON_SECRET_BACKEND", "keyring");
    EXPECT_EQ((*MakeSecretStore(config, dir.Path()))->Name(), "keyring");
  }
  {
    config.secrets.backend = SecretBackend::kKeyring;
    ScopedEnv env("AKON_SECRET_BACKEND", "file");
    EXPECT_EQ((*MakeSecretStore(config, dir.Path()))->Name(), "file");
  }
  {
    ScopedEnv env("AKON_SECRET_BACKEND", "");
    EXPECT_EQ((*MakeSecretStore(config, dir.Path()))->Name(), "keyring");
  }
  {
    ScopedEnv env("AKON_SECRET_BACKEND", "pass");
    auto store = MakeSecretStore(config, dir.Path());
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().kind, ErrorKind::kInvalid);
    EXPECT_NE(store.error().message.find("AKON_SECRET_BACKEND"), std::string::npos);
  }
}

TEST(KeyringSecretStoreTest, NoSessionBusSaysWhatToDo) {
  TempDir dir;
  ScopedEnv bus("DBUS_SESSION_BUS_ADDRESS", "unix:path=" + dir.File("no-bus"));
  ScopedEnv display("DISPLAY", std::nullopt);
  ScopedEnv wayland("WAYLAND_DISPLAY", std::nullopt);
  auto module = LoadKeyringStore();  // akon-keyring.so next to this binary
  ASSERT_TRUE(module) << module.error().message;
  SecretStore& store = **module;
  EXPECT_EQ(store.Name(), "keyring");
  auto loaded = store.Load("alice");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::kUnsupported);
  EXPECT_NE(loaded.error().message.find("unavailable"), std::string::npos)
      << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("backend = \"file\""), std::string::npos)
      << loaded.error().message;
  auto saved = store.Save("alice", kSecrets);
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().kind, ErrorKind::kUnsupported);
  EXPECT_EQ(saved.error().message.find(kSecrets.otp_secret), std::string::npos);
}

}  // namespace
}  // namespace va::akon
