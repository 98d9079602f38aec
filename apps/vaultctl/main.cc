// vaultctl: offline administration of a vault data directory or database. Command-line front
// end only; the work is done by src/vault (the same application layer vaultd runs).
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/ids.h"
#include "base/log.h"
#include "sandbox/doctor.h"
#include "vault/app/vault_app.h"
#include "vault/crypto/argon2_hasher.h"
#include "vault/crypto/jwt_signer.h"
#include "vault/crypto/sha256.h"
#include "vault/server/daemon.h"
#include "vault/store/file_blob_store.h"

namespace {

namespace json = boost::json;
using va::vault::User;

constexpr const char* kDescription = R"(vaultctl - administer a vault server's data offline.

Works directly on the data directory (or the database named by --database), also while vaultd
runs: SQLite's WAL lets both write. Use it to create the first admin.
)";

constexpr const char* kFooter = R"(
EXAMPLES
  printf '%s\n' "$PASSWORD" | vaultctl --data-dir ./vault-data user add \
      --email admin@example.com --role admin --password-stdin
  vaultctl --data-dir ./vault-data user list --json
  vaultctl doctor

EXIT STATUS
  0 done, 1 the operation failed (the reason is on stderr), 2 bad usage
)";

int Die(const std::string& message, int code = 1) {
  std::fprintf(stderr, "vaultctl: %s\n", message.c_str());
  return code;
}

// Reads a password: the first line of stdin with --password-stdin, otherwise asked twice on the
// terminal without echo.
std::optional<std::string> ReadPassword(bool from_stdin, std::string& error) {
  std::string password;
  if (from_stdin) {
    if (!std::getline(std::cin, password)) {
      error = "--password-stdin: no line on stdin";
      return std::nullopt;
    }
    if (!password.empty() && password.back() == '\r') password.pop_back();
    return password;
  }
  if (!isatty(STDIN_FILENO)) {
    error = "no password: pass --password-stdin and write it to stdin";
    return std::nullopt;
  }
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  std::string again;
  std::fprintf(stderr, "Password: ");
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::getline(std::cin, password);
  std::fprintf(stderr, "\nRepeat password: ");
  std::getline(std::cin, again);
  tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::fprintf(stderr, "\n");
  if (password != again) {
    error = "the passwords differ";
    return std::nullopt;
  }
  return password;
}

json::object UserJson(const User& user) {
  json::array roles;
  for (const std::string& r : va::vault::RoleNames(user.roles)) roles.emplace_back(r);
  json::object out{
      {"user_id", user.id},
      {"email", user.email},
      {"roles", std::move(roles)},
      {"status", va::vault::UserStatusName(user.status)},
      {"created_at", va::FormatRfc3339(va::WallTime(std::chrono::seconds(user.created_at)))}};
  return out;
}

std::string JoinRoles(va::vault::RoleSet roles) {
  std::string out;
  for (const std::string& r : va::vault::RoleNames(roles)) out += (out.empty() ? "" : ",") + r;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli(kDescription, "vaultctl");
  cli.footer(kFooter);
  cli.require_subcommand(1);
  std::string data_dir = "./vault-data";
  std::string database;
  cli.add_option("--data-dir", data_dir, "the vault data directory")
      ->envname("VAULT_DATA_DIR")
      ->capture_default_str();
  cli.add_option("--database", database, "sqlite://PATH (default sqlite://DATA_DIR/vault.db)")
      ->envname("VAULT_DATABASE");

  CLI::App* user = cli.add_subcommand("user", "create and list users");
  user->require_subcommand(1);
  CLI::App* add = user->add_subcommand("add", "create a user and print its id");
  std::string email;
  std::vector<std::string> roles;
  bool password_stdin = false;
  bool json_out = false;
  add->add_option("--email", email, "the user's email (unique, case-insensitive)")->required();
  add->add_option("--role", roles, "admin, owner or client (repeat for several)")->required();
  add->add_flag("--password-stdin", password_stdin, "read the password from stdin's first line");
  add->add_flag("--json", json_out, "print the user as JSON");
  CLI::App* list = user->add_subcommand("list", "print every user");
  list->add_flag("--json", json_out, "print JSON");

  CLI::App* doctor = cli.add_subcommand(
      "doctor",
      "check that this host can run sandboxes: report each isolation layer, then try to escape "
      "from a real sandbox; exit 0 only if every layer is in force and every attempt is denied");
  doctor->add_flag("--json", json_out, "print one JSON object");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }
  va::InitLogging({.program = "vaultctl", .level = va::LogLevel::kError});
  if (doctor->parsed()) {
    std::string exe(4096, '\0');
    ssize_t n = readlink("/proc/self/exe", exe.data(), exe.size() - 1);
    exe.resize(n > 0 ? static_cast<size_t>(n) : 0);
    va::sandbox::DoctorOptions options;
    options.json = json_out;
    options.bin_dir = exe.substr(0, exe.rfind('/'));
    return va::sandbox::RunDoctor(options);
  }
  while (data_dir.size() > 1 && data_dir.back() == '/') data_dir.pop_back();
  if (database.empty()) database = "sqlite://" + data_dir + "/vault.db";
  if (auto ok = va::vault::PrepareDataDir(data_dir); !ok) return Die(ok.error().message);
  auto store = va::vault::OpenStore(database);
  if (!store) return Die(store.error().message);
  auto blobs = va::vault::FileBlobStore::Open(data_dir);
  if (!blobs) return Die(blobs.error().message);
  va::vault::Argon2Hasher hasher;
  std::vector<unsigned char> ephemeral(64);
  va::RandomBytes(ephemeral);  // vaultctl never signs a token
  va::vault::JwtSigner signer(std::move(ephemeral));
  va::vault::OpenSslDigest digest;
  va::SystemClock clock;
  va::vault::VaultApp app(**store, **blobs, hasher, signer, digest, clock);

  if (add->parsed()) {
    std::string error;
    auto password = ReadPassword(password_stdin, error);
    if (!password) return Die(error, 2);
    auto created = app.CreateUser(nullptr, {email, roles, *password});
    if (!created) return Die(created.error().message);
    if (json_out) {
      std::cout << json::serialize(UserJson(*created)) << "\n";
    } else {
      std::cout << created->id << "\n";
    }
    return 0;
  }
  if (list->parsed()) {
    json::array all;
    std::vector<User> users;
    for (int page = 1;; ++page) {
      auto chunk = app.ListUsers(nullptr, {page, 100});
      if (!chunk) return Die(chunk.error().message);
      for (User& u : chunk->items) users.push_back(std::move(u));
      if (chunk->items.empty() || static_cast<int64_t>(users.size()) >= chunk->total_count) break;
    }
    if (json_out) {
      for (const User& u : users) all.emplace_back(UserJson(u));
      std::cout << json::serialize(json::object{{"users", std::move(all)}}) << "\n";
    } else {
      std::printf("%-30s %-32s %-20s %-8s %s\n", "USER_ID", "EMAIL", "ROLES", "STATUS", "CREATED");
      for (const User& u : users) {
        std::printf("%-30s %-32s %-20s %-8s %s\n", u.id.c_str(), u.email.c_str(),
                    JoinRoles(u.roles).c_str(),
                    std::string(va::vault::UserStatusName(u.status)).c_str(),
                    va::FormatRfc3339(va::WallTime(std::chrono::seconds(u.created_at))).c_str());
      }
    }
    return 0;
  }
  return 2;
}
