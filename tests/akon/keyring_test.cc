// KeyringSecretStore against a real gnome-keyring on a private D-Bus session bus.
//
// Contract: run directly (or by CTest) the binary starts its own session and leaves nothing
// behind. The outer process makes a temporary HOME / XDG_DATA_HOME / XDG_RUNTIME_DIR, becomes a
// child subreaper, and re-executes itself under
//   dbus-run-session --config-file=<bus.conf> -- sh -c '<unlock gnome-keyring>; exec self'
// with a bus configuration that allows no service activation (so no second, unmanaged keyring
// daemon can be started behind the test's back). The inner process waits for
// org.freedesktop.secrets to appear on the bus and runs the tests. When dbus-run-session has
// exited, the outer process waits (with a deadline, on SIGCHLD) until every descendant — the
// dbus-daemon and the daemonised gnome-keyring-daemon, re-parented to it — has exited; anything
// still alive at the deadline is reported, killed and makes the run fail. Without dbus-run-session
// or gnome-keyring-daemon every test skips with the reason.
#include <dirent.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gtest/gtest.h>
#include <libsecret/secret.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "akon/secrets.h"
#include "base/ids.h"

namespace {

constexpr char kInnerEnv[] = "AKON_KEYRING_TEST_INNER";
constexpr char kSkipEnv[] = "AKON_KEYRING_TEST_SKIP";
constexpr char kPasswordEnv[] = "AKON_KEYRING_TEST_PASSWORD";
constexpr char kPassword[] = "akon-keyring-test";
constexpr auto kServiceTimeout = std::chrono::seconds(20);
constexpr auto kCleanupTimeout = std::chrono::seconds(10);

// ---- outer process: the private session and the clean-up check
// ------------------------------------

std::optional<std::string> FindInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

std::string SelfExe() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : path.string();
}

// Children of this process that are still running (from /proc/self/task/*/children).
std::vector<pid_t> LiveChildren() {
  std::vector<pid_t> pids;
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return pids;
  while (struct dirent* e = ::readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/children");
    pid_t pid;
    while (in >> pid) pids.push_back(pid);
  }
  ::closedir(tasks);
  return pids;
}

std::string Comm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

// Runs the tests in-process with every test skipped for `reason`.
int RunSkipped(int argc, char** argv, const std::string& reason) {
  ::setenv(kSkipEnv, reason.c_str(), 1);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

int RunOutside(int argc, char** argv) {
  auto dbus_run_session = FindInPath("dbus-run-session");
  auto keyring_daemon = FindInPath("gnome-keyring-daemon");
  if (!dbus_run_session || !keyring_daemon) {
    return RunSkipped(argc, argv,
                      "needs dbus-run-session and gnome-keyring-daemon (packages dbus, "
                      "gnome-keyring)");
  }
  const std::string self = SelfExe();
  if (self.empty()) return RunSkipped(argc, argv, "cannot resolve /proc/self/exe");

  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp") + "/akon-keyring-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string root = tmpl;
  for (const char* sub : {"/home", "/data", "/run", "/bus"}) {
    if (::mkdir((root + sub).c_str(), 0700) != 0) {
      std::perror("mkdir");
      return 1;
    }
  }
  const std::string bus_conf = root + "/bus.conf";
  {
    std::ofstream conf(bus_conf);
    conf << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
            " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
            "<busconfig>\n"
            "  <type>session</type>\n"
            "  <listen>unix:dir="
         << root
         << "/bus</listen>\n"
            "  <auth>EXTERNAL</auth>\n"
            "  <policy context=\"default\">\n"
            "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
            "    <allow eavesdrop=\"true\"/>\n"
            "    <allow own=\"*\"/>\n"
            "  </policy>\n"
            "</busconfig>\n";
  }

  // Everything prepared before fork: the child only execs.
  std::map<std::string, std::string> env_map;
  for (char** e = ::environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env_map[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const char* drop :
       {"DBUS_SESSION_BUS_ADDRESS", "DBUS_STARTER_ADDRESS", "DBUS_STARTER_BUS_TYPE", "DISPLAY",
        "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK", "SUDO_USER"}) {
    env_map.erase(drop);
  }
  env_map["HOME"] = root + "/home";
  env_map["XDG_DATA_HOME"] = root + "/data";
  env_map["XDG_CONFIG_HOME"] = root + "/home/.config";
  env_map["XDG_CACHE_HOME"] = root + "/home/.cache";
  env_map["XDG_RUNTIME_DIR"] = root + "/run";
  env_map[kInnerEnv] = "1";
  env_map[kPasswordEnv] = kPassword;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env_map) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<std::string> args = {
      *dbus_run_session,
      "--config-file=" + bus_conf,
      "--",
      "/bin/sh",
      "-c",
      "printf '%s' \"$" + std::string(kPasswordEnv) + "\" | " + *keyring_daemon +
          " --unlock --components=secrets >/dev/null || "
          "{ echo 'gnome-keyring-daemon --unlock failed' >&2; exit 1; }\n"
          "exec \"$0\" \"$@\"",
      self};
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  std::vector<char*> argvp;
  for (auto& a : args) argvp.push_back(a.data());
  argvp.push_back(nullptr);

  // Daemonised descendants are re-parented to us, so we can wait for them.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    std::perror("prctl(PR_SET_CHILD_SUBREAPER)");
    return 1;
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
  const int sfd = ::signalfd(-1, &chld, SFD_CLOEXEC);
  if (sfd < 0) {
    std::perror("signalfd");
    return 1;
  }

  const pid_t session = ::fork();
  if (session < 0) {
    std::perror("fork");
    return 1;
  }
  if (session == 0) {
    ::sigprocmask(SIG_UNBLOCK, &chld, nullptr);
    ::execve(argvp[0], argvp.data(), envp.data());
    ::_exit(127);
  }

  int exit_code = 1;
  bool session_done = false;
  std::optional<std::chrono::steady_clock::time_point> cleanup_deadline;
  for (;;) {
    // Reap whatever has exited.
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid == session) {
        session_done = true;
        exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        cleanup_deadline = std::chrono::steady_clock::now() + kCleanupTimeout;
      }
    }
    if (session_done && LiveChildren().empty()) {
      // Only zombies or nothing left: reap the zombies and finish.
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      break;
    }
    int timeout_ms = -1;
    if (cleanup_deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *cleanup_deadline - std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    struct pollfd pfd = {sfd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, timeout_ms);
    if (ready > 0) {
      struct signalfd_siginfo info;
      while (::read(sfd, &info, sizeof(info)) == sizeof(info)) {
        if (::poll(&pfd, 1, 0) <= 0) break;
      }
      continue;
    }
    if (ready == 0) {
      // Something outlived its bus: report, kill, fail.
      for (pid_t pid : LiveChildren()) {
        std::fprintf(stderr, "keyring_test: left behind after the session ended: pid %d (%s)\n",
                     pid, Comm(pid).c_str());
        ::kill(pid, SIGKILL);  // our own unreaped child: the pid cannot have been reused
      }
      while (::waitpid(-1, nullptr, 0) > 0) {
      }
      exit_code = 1;
      break;
    }
  }
  ::close(sfd);
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  if (exit_code == 0) {
    std::fprintf(stderr, "keyring_test: session ended and no process was left behind\n");
  }
  return exit_code;
}

// ---- inner process: waiting for the keyring
// --------------------------------------------------------

bool WaitForSecretService() {
  GError* error = nullptr;
  GDBusConnection* bus = g_bus_get_sync(G_BUS_TYPE_SESSION, nullptr, &error);
  if (bus == nullptr) {
    std::fprintf(stderr, "keyring_test: no session bus: %s\n", error->message);
    g_error_free(error);
    return false;
  }
  struct State {
    GMainLoop* loop;
    bool appeared = false;
  } state{g_main_loop_new(nullptr, FALSE)};
  const guint watch = g_bus_watch_name_on_connection(
      bus, "org.freedesktop.secrets", G_BUS_NAME_WATCHER_FLAGS_NONE,
      [](GDBusConnection*, const gchar*, const gchar*, gpointer data) {
        auto* s = static_cast<State*>(data);
        s->appeared = true;
        g_main_loop_quit(s->loop);
      },
      nullptr, &state, nullptr);
  const guint timer = g_timeout_add_seconds(
      static_cast<guint>(kServiceTimeout.count()),
      [](gpointer data) -> gboolean {
        g_main_loop_quit(static_cast<State*>(data)->loop);
        return G_SOURCE_REMOVE;
      },
      &state);
  g_main_loop_run(state.loop);
  if (state.appeared) g_source_remove(timer);
  g_bus_unwatch_name(watch);
  g_main_loop_unref(state.loop);
  g_object_unref(bus);
  if (!state.appeared) {
    std::fprintf(stderr, "keyring_test: org.freedesktop.secrets did not appear within %llds\n",
                 static_cast<long long>(kServiceTimeout.count()));
  }
  return state.appeared;
}

}  // namespace

namespace va::akon {
namespace {

// ---- libsecret helpers playing "the Rust akon" and inspecting what akon wrote
// ----------------------

struct Item {
  std::map<std::string, std::string> attributes;
  std::string secret;
  std::string label;
};

GHashTable* NewAttributes(const std::map<std::string, std::string>& attributes) {
  GHashTable* table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  for (const auto& [k, v] : attributes) {
    g_hash_table_insert(table, g_strdup(k.c_str()), g_strdup(v.c_str()));
  }
  return table;
}

// A fresh proxy each time (not the shared instance, whose cached properties go stale in a
// program that runs no GLib main loop).
SecretService* Service() {
  GError* error = nullptr;
  SecretService* service = secret_service_open_sync(SECRET_TYPE_SERVICE, nullptr,
                                                    SECRET_SERVICE_OPEN_SESSION, nullptr, &error);
  if (error != nullptr) {
    ADD_FAILURE() << "secret_service_get_sync: " << error->message;
    g_error_free(error);
  }
  return service;
}

// Every item with service/username, under any schema (no xdg:schema attribute in the search).
std::vector<Item> Find(std::string_view service_name, const std::string& username) {
  std::vector<Item> out;
  SecretService* service = Service();
  if (service == nullptr) return out;
  GHashTable* attributes =
      NewAttributes({{"service", std::string(service_name)}, {"username", username}});
  GError* error = nullptr;
  GList* items = secret_service_search_sync(
      service, nullptr, attributes,
      static_cast<SecretSearchFlags>(SECRET_SEARCH_ALL | SECRET_SEARCH_LOAD_SECRETS), nullptr,
      &error);
  g_hash_table_unref(attributes);
  if (error != nullptr) {
    ADD_FAILURE() << "search: " << error->message;
    g_error_free(error);
  }
  for (GList* l = items; l != nullptr; l = l->next) {
    SecretItem* item = SECRET_ITEM(l->data);
    Item found;
    GHashTable* attrs = secret_item_get_attributes(item);
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, attrs);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
      found.attributes[static_cast<const char*>(key)] = static_cast<const char*>(value);
    }
    g_hash_table_unref(attrs);
    if (SecretValue* v = secret_item_get_secret(item)) {
      found.secret = secret_value_get_text(v) ? secret_value_get_text(v) : "";
      secret_value_unref(v);
    }
    gchar* label = secret_item_get_label(item);
    found.label = label != nullptr ? label : "";
    g_free(label);
    out.push_back(std::move(found));
  }
  g_list_free_full(items, g_object_unref);
  g_object_unref(service);
  return out;
}

// Creates an item the way the keyring crate does: Secret Service CreateItem in the default
// collection with plain attributes (no schema, hence no xdg:schema) and a text/plain secret.
void CreateRawItem(const std::map<std::string, std::string>& attributes,
                   const std::string& secret) {
  SecretService* service = Service();
  ASSERT_NE(service, nullptr);
  GError* error = nullptr;
  SecretCollection* collection = secret_collection_for_alias_sync(
      service, SECRET_COLLECTION_DEFAULT, SECRET_COLLECTION_NONE, nullptr, &error);
  ASSERT_EQ(error, nullptr) << error->message;
  ASSERT_NE(collection, nullptr) << "no default collection";
  GHashTable* attrs = NewAttributes(attributes);
  SecretValue* value = secret_value_new(secret.c_str(), -1, "text/plain");
  SecretItem* item = secret_item_create_sync(collection, nullptr, attrs, "keyring-rs item", value,
                                             SECRET_ITEM_CREATE_NONE, nullptr, &error);
  secret_value_unref(value);
  g_hash_table_unref(attrs);
  g_object_unref(collection);
  g_object_unref(service);
  ASSERT_EQ(error, nullptr) << error->message;
  ASSERT_NE(item, nullptr);
  g_object_unref(item);
}

std::string UniqueUser(const std::string& base) { return base + "-" + RandomHex(4); }

// Unlocks the default collection without a prompt, with gnome-keyring's own interface for that
// (what its PAM module and `--unlock` at start-up amount to): the password goes in a Secret
// struct of a "plain" session.
void UnlockDefaultCollection() {
  GError* error = nullptr;
  GDBusConnection* bus = g_bus_get_sync(G_BUS_TYPE_SESSION, nullptr, &error);
  ASSERT_NE(bus, nullptr) << error->message;
  auto call = [&](const char* interface, const char* method, GVariant* args,
                  const char* reply_type) -> GVariant* {
    GVariant* reply = g_dbus_connection_call_sync(
        bus, "org.freedesktop.secrets", "/org/freedesktop/secrets", interface, method, args,
        G_VARIANT_TYPE(reply_type), G_DBUS_CALL_FLAGS_NONE, 10000, nullptr, &error);
    if (reply == nullptr) {
      ADD_FAILURE() << method << ": " << error->message;
      g_clear_error(&error);
    }
    return reply;
  };
  GVariant* session_reply = call("org.freedesktop.Secret.Service", "OpenSession",
                                 g_variant_new("(sv)", "plain", g_variant_new_string("")), "(vo)");
  GVariant* alias_reply =
      call("org.freedesktop.Secret.Service", "ReadAlias", g_variant_new("(s)", "default"), "(o)");
  if (session_reply != nullptr && alias_reply != nullptr) {
    const gchar* session = nullptr;
    const gchar* collection = nullptr;
    g_variant_get(session_reply, "(v&o)", nullptr, &session);
    g_variant_get(alias_reply, "(&o)", &collection);
    GVariant* params = g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "", 0, 1);
    GVariant* value =
        g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, kPassword, sizeof(kPassword) - 1, 1);
    GVariant* reply = call(
        "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface", "UnlockWithMasterPassword",
        g_variant_new("(o(o@ay@ays))", collection, session, params, value, "text/plain"), "()");
    if (reply != nullptr) g_variant_unref(reply);
  }
  if (session_reply != nullptr) g_variant_unref(session_reply);
  if (alias_reply != nullptr) g_variant_unref(alias_reply);
  g_object_unref(bus);
}

class KeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* skip = std::getenv(kSkipEnv)) GTEST_SKIP() << skip;
  }
};

TEST_F(KeyringTest, SaveThenLoad) {
  KeyringSecretStore store;
  const std::string user = UniqueUser("alice");
  const Secrets secrets{"0042", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"};
  auto saved = store.Save(user, secrets);
  ASSERT_TRUE(saved) << saved.error().message;
  auto loaded = store.Load(user);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->pin, secrets.pin);
  EXPECT_EQ(loaded->otp_secret, secrets.otp_secret);

  // What is in the keyring is what the Rust akon looks for.
  auto pins = Find(kPinService, user);
  ASSERT_EQ(pins.size(), 1u);
  EXPECT_EQ(pins[0].secret, "0042");
  EXPECT_EQ(pins[0].attributes["service"], "akon-vpn-pin");
  EXPECT_EQ(pins[0].attributes["username"], user);
  EXPECT_EQ(pins[0].attributes["target"], "default");
  EXPECT_FALSE(pins[0].label.empty());
  auto otps = Find(kOtpService, user);
  ASSERT_EQ(otps.size(), 1u);
  EXPECT_EQ(otps[0].secret, secrets.otp_secret);
}

TEST_F(KeyringTest, BackendChosenByConfigLoadsTheKeyringModule) {
  // What `akon` itself does: the store comes from akon-keyring.so, loaded on demand.
  Config config;
  config.secrets.backend = SecretBackend::kKeyring;
  auto store = MakeSecretStore(config, "/nonexistent");
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->Name(), "keyring");
  const std::string user = UniqueUser("module");
  ASSERT_TRUE((*store)->Save(user, Secrets{"7", "GEZDGNBVGY3TQOJQ"}));
  auto loaded = KeyringSecretStore().Load(user);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->pin, "7");
}

TEST_F(KeyringTest, SaveReplacesInPlace) {
  KeyringSecretStore store;
  const std::string user = UniqueUser("carol");
  ASSERT_TRUE(store.Save(user, Secrets{"1111", "GEZDGNBVGY3TQOJQ"}));
  ASSERT_TRUE(store.Save(user, Secrets{"", "JBSWY3DPEHPK3PXP"}));
  auto loaded = store.Load(user);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->pin, "");
  EXPECT_EQ(loaded->otp_secret, "JBSWY3DPEHPK3PXP");
  EXPECT_EQ(Find(kPinService, user).size(), 1u);
  EXPECT_EQ(Find(kOtpService, user).size(), 1u);
}

TEST_F(KeyringTest, FindsSecretsWrittenByTheRustAkon) {
  // keyring crate v2/v3: service, username, target=default, application=rust-keyring.
  const std::string user = UniqueUser("bob");
  CreateRawItem({{"service", "akon-vpn-pin"},
                 {"username", user},
                 {"target", "default"},
                 {"application", "rust-keyring"}},
                "9876");
  CreateRawItem({{"service", "akon-vpn-otp"},
                 {"username", user},
                 {"target", "default"},
                 {"application", "rust-keyring"}},
                "JBSWY3DPEHPK3PXP");
  auto raw = Find(kPinService, user);
  ASSERT_EQ(raw.size(), 1u);
  // The item was created without a schema (gnome-keyring may still report its generic one).
  EXPECT_NE(raw[0].attributes["xdg:schema"], "io.github.akon.Secret");

  KeyringSecretStore store;
  auto loaded = store.Load(user);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->pin, "9876");
  EXPECT_EQ(loaded->otp_secret, "JBSWY3DPEHPK3PXP");

  // Saving updates those items, so the Rust akon (which wants a unique match) still finds one.
  ASSERT_TRUE(store.Save(user, Secrets{"5555", "GEZDGNBVGY3TQOJQ"}));
  auto pins = Find(kPinService, user);
  ASSERT_EQ(pins.size(), 1u);
  EXPECT_EQ(pins[0].secret, "5555");
  EXPECT_EQ(pins[0].attributes["application"], "rust-keyring");
}

TEST_F(KeyringTest, FindsSecretsWrittenByKeyringCrateV1) {
  // keyring crate v1: service, username, application — no target; here also under a foreign
  // schema name, which akon's lookup must not require to match.
  const std::string user = UniqueUser("dave");
  CreateRawItem({{"service", "akon-vpn-pin"},
                 {"username", user},
                 {"application", "rust-keyring"},
                 {"xdg:schema", "org.freedesktop.Secret.Generic"}},
                "1234");
  CreateRawItem({{"service", "akon-vpn-otp"},
                 {"username", user},
                 {"application", "rust-keyring"},
                 {"xdg:schema", "org.freedesktop.Secret.Generic"}},
                "GEZDGNBVGY3TQOJQ");
  auto loaded = KeyringSecretStore().Load(user);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->pin, "1234");
  EXPECT_EQ(loaded->otp_secret, "GEZDGNBVGY3TQOJQ");
}

TEST_F(KeyringTest, IgnoresOtherTargets) {
  const std::string user = UniqueUser("erin");
  CreateRawItem({{"service", "akon-vpn-pin"}, {"username", user}, {"target", "work"}}, "1");
  CreateRawItem({{"service", "akon-vpn-otp"}, {"username", user}, {"target", "work"}},
                "GEZDGNBVGY3TQOJQ");
  auto loaded = KeyringSecretStore().Load(user);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::kNotFound);
}

TEST_F(KeyringTest, MissingUserIsNotFound) {
  const std::string user = UniqueUser("nobody");
  auto loaded = KeyringSecretStore().Load(user);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(loaded.error().message.find("akon setup"), std::string::npos) << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("PIN"), std::string::npos) << loaded.error().message;

  // A PIN without a TOTP secret is not enough.
  CreateRawItem({{"service", "akon-vpn-pin"}, {"username", user}}, "1234");
  loaded = KeyringSecretStore().Load(user);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(loaded.error().message.find("TOTP secret"), std::string::npos)
      << loaded.error().message;
  EXPECT_EQ(loaded.error().message.find("1234"), std::string::npos);
}

TEST_F(KeyringTest, LockedKeyringSaysWhatToDo) {
  KeyringSecretStore store;
  const std::string user = UniqueUser("frank");
  ASSERT_TRUE(store.Save(user, Secrets{"4321", "GEZDGNBVGY3TQOJQ"}));

  SecretService* service = Service();
  ASSERT_NE(service, nullptr);
  GError* error = nullptr;
  SecretCollection* collection = secret_collection_for_alias_sync(
      service, SECRET_COLLECTION_DEFAULT, SECRET_COLLECTION_NONE, nullptr, &error);
  ASSERT_EQ(error, nullptr) << error->message;
  ASSERT_NE(collection, nullptr);
  GList* objects = g_list_append(nullptr, collection);
  const gint locked = secret_service_lock_sync(service, objects, nullptr, nullptr, &error);
  g_list_free(objects);
  ASSERT_EQ(error, nullptr) << error->message;
  ASSERT_EQ(locked, 1);

  auto loaded = store.Load(user);
  auto saved = store.Save(UniqueUser("grace"), Secrets{"1", "GEZDGNBVGY3TQOJQ"});

  // Unlock again with the login password before asserting, so later tests find it open.
  UnlockDefaultCollection();

  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::kPermission) << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("locked"), std::string::npos) << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("backend = \"file\""), std::string::npos)
      << loaded.error().message;
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().kind, ErrorKind::kPermission) << saved.error().message;

  g_object_unref(collection);
  g_object_unref(service);
  service = Service();
  ASSERT_NE(service, nullptr);
  collection = secret_collection_for_alias_sync(service, SECRET_COLLECTION_DEFAULT,
                                                SECRET_COLLECTION_NONE, nullptr, &error);
  ASSERT_EQ(error, nullptr) << error->message;
  ASSERT_NE(collection, nullptr);
  EXPECT_FALSE(secret_collection_get_locked(collection)) << "could not unlock the keyring again";
  g_object_unref(collection);
  g_object_unref(service);
  auto again = store.Load(user);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->pin, "4321");
}

}  // namespace
}  // namespace va::akon

int main(int argc, char** argv) {
  if (std::getenv(kInnerEnv) == nullptr) return RunOutside(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (!WaitForSecretService()) return 1;
  return RUN_ALL_TESTS();
}
