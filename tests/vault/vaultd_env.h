// Test harness for vault's HTTP contract (docs/vault-api.md): a real `vaultd` process on
// loopback with a fresh data directory, users made with the real `vaultctl`, a libcurl HTTP
// client (JSON, raw, multipart and streamed generated bodies), and the JWT helpers the token
// tests need (HS256 forging with OpenSSL).
//
// Every wait has a deadline: vaultd is ready when it prints `vaultd listening on http://A:P`
// (read from its stdout by a drain thread, never polled with sleeps). Stopping sends SIGTERM and
// expects exit 0 within 10 s; a vaultd that does not stop is killed and reaped, and the test
// fails. Functions that can fail return Result with a message that includes vaultd's output.
// JSON is parsed with Boost.JSON in the .cc files only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/result.h"
#include "proc/process.h"
#include "support/child.h"
#include "support/test_env.h"

namespace va::vaulttest {

using ::va::testing::BinPath;
using ::va::testing::CommandResult;
using ::va::testing::RunCommand;
using ::va::testing::TempDir;

// ---------------------------------------------------------------------------------------------
// HTTP client

// A multipart/form-data part (curl_mime).
struct MimePart {
  std::string name;
  std::string data;
  std::optional<std::string> filename;
  std::optional<std::string> content_type;
};

// A body of `size` deterministic pseudo-random bytes made on the fly by curl's read callback, so
// neither side of the test holds it whole. `chunked` sends it without Content-Length.
struct GeneratedBody {
  uint64_t size = 0;
  uint64_t seed = 1;
  bool chunked = false;
};

struct HttpRequest {
  std::string method = "GET";
  std::string target;                      // path and query, sent as is (no dot-segment squashing)
  std::vector<std::string> headers;        // "Name: value"
  std::optional<std::string> bearer;       // Authorization: Bearer <token>
  std::optional<std::string> body;         // raw body (Content-Type via headers)
  std::vector<MimePart> parts;             // multipart body when not empty
  std::optional<GeneratedBody> generated;  // streamed body
  std::chrono::milliseconds timeout{30000};
};

struct HttpResponse {
  long status = 0;  // 0 when the exchange failed (see transport_error)
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string transport_error;  // curl's message when the exchange failed
  std::string sent_sha256;      // hex SHA-256 of the generated body as sent
  uint64_t sent_bytes = 0;

  std::optional<std::string> Header(std::string_view name) const;  // case-insensitive
  // "POST /x → 401 {body}" style text for failure messages.
  std::string Describe() const;
  // The "error.code" of an error body ("" when the body is not one).
  std::string ErrorCode() const;
  std::string ErrorMessage() const;
};

// One libcurl easy handle (keeps its connection alive between requests).
class HttpClient {
 public:
  explicit HttpClient(uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse Send(const HttpRequest& request);

  HttpResponse Get(const std::string& target, const std::optional<std::string>& bearer = {});
  HttpResponse Delete(const std::string& target, const std::optional<std::string>& bearer = {});
  // JSON body (Content-Type: application/json).
  HttpResponse PostJson(const std::string& target, const std::string& json,
                        const std::optional<std::string>& bearer = {});
  HttpResponse DeleteJson(const std::string& target, const std::string& json,
                          const std::optional<std::string>& bearer = {});
  // Raw upload: POST target with `data` and the given Content-Type.
  HttpResponse PostRaw(const std::string& target, const std::string& data,
                       const std::string& content_type, const std::optional<std::string>& bearer);

  uint16_t Port() const { return port_; }

 private:
  uint16_t port_;
  void* curl_;  // CURL*
};

// Sends `bytes` on a fresh TCP connection to 127.0.0.1:port and returns what comes back until
// the server closes the connection or `timeout` passes (for requests curl will not send). With
// `half_close`, shuts down the sending side once everything is sent (a client that went away
// mid-request), so the server's close tells that it has dealt with the end of the stream.
Result<std::string> RawExchange(uint16_t port, const std::string& bytes,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                bool half_close = false);

// The status code of a raw HTTP/1.1 response ("HTTP/1.1 400 Bad Request" → 400); 0 if none.
int RawStatus(std::string_view response);

// Percent-encodes everything but unreserved characters.
std::string UrlEncode(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Hashing, JWT and process helpers

std::string Sha256Hex(std::string_view data);
// The bytes GeneratedBody{size, seed} produces (for small sizes; tests of big ones hash them).
std::string GeneratedBytes(uint64_t size, uint64_t seed);

std::string Base64UrlEncode(std::string_view data);
std::optional<std::string> Base64UrlDecode(std::string_view text);
// header.payload.signature with HMAC-SHA256 over header.payload using `key`.
std::string SignHs256(std::string_view header_json, std::string_view payload_json,
                      std::string_view key);
// The 64-byte key in <data-dir>/jwt.key (128 hex characters).
Result<std::string> ReadJwtKey(const std::string& path);

// A field of /proc/<pid>/status in KiB ("VmHWM", "VmRSS"); nullopt when unreadable.
std::optional<uint64_t> ProcStatusKb(pid_t pid, std::string_view field);

// ---------------------------------------------------------------------------------------------
// vaultd

struct UserSpec {
  std::string email;
  std::vector<std::string> roles;
  std::string password;
};

// Tokens and identity of a logged-in user.
struct Login {
  std::string user_id;
  std::string email;
  std::string password;
  std::string access_token;
  std::string refresh_token;
};

struct VaultdOptions {
  std::vector<std::string> args;  // extra flags
  std::vector<std::string> env;   // extra "K=V" (VAULT_* from the test's own env never leak in)
  bool listen_flag = true;        // pass --listen 127.0.0.1:0
  bool data_dir_flag = true;      // pass --data-dir <fresh temp dir>
  std::vector<UserSpec> users;    // made with vaultctl before vaultd starts
  std::chrono::milliseconds ready_timeout{15000};
};

// Output of a process collected by drain threads.
class OutputDrain {
 public:
  OutputDrain() = default;
  ~OutputDrain();
  OutputDrain(const OutputDrain&) = delete;
  OutputDrain& operator=(const OutputDrain&) = delete;

  // Starts draining `fd` (takes ownership).
  void Start(UniqueFd fd);
  // Waits until the text so far satisfies `done` or the stream ended or `timeout` passed.
  bool WaitFor(const std::function<bool(const std::string&)>& done,
               std::chrono::milliseconds timeout);
  std::string Text() const;
  // Stops the thread (after the stream ends or, at the latest, after a short grace).
  void Stop();

 private:
  void Run();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
  bool ended_ = false;
  UniqueFd fd_;
  UniqueFd stop_read_, stop_write_;
  std::thread thread_;
};

class Vaultd {
 public:
  // Creates the data dir, runs vaultctl for options.users, starts vaultd and waits for its
  // listening line. Fails with vaultd's output when it exits or stays silent.
  static Result<std::unique_ptr<Vaultd>> Start(VaultdOptions options = {});
  // Starts vaultd on an existing data dir (owned by the caller).
  static Result<std::unique_ptr<Vaultd>> StartIn(const std::string& data_dir,
                                                 VaultdOptions options = {});
  // Stops it (if still running) with the checks of Stop().
  ~Vaultd();
  Vaultd(const Vaultd&) = delete;
  Vaultd& operator=(const Vaultd&) = delete;

  // SIGTERM (or `sig`), then waits up to `timeout`; on timeout kills and reaps. Returns the
  // exit status, nullopt when it had to be killed. Adds a test failure unless it exits 0 when
  // `expect_clean`.
  std::optional<ExitStatus> Stop(int sig = 15,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                 bool expect_clean = true);

  uint16_t Port() const { return port_; }
  const std::string& Host() const { return host_; }
  pid_t Pid() const { return process_->Pid(); }
  const std::string& DataDir() const { return data_dir_; }
  // stdout + stderr so far.
  std::string Output() const;

  // A new HTTP client for this server.
  std::unique_ptr<HttpClient> Client() const { return std::make_unique<HttpClient>(port_); }
  // A client shared by the helpers below.
  HttpClient& Http() { return *http_; }

  // Runs `vaultctl --data-dir D user add ...` and returns the printed user id.
  Result<std::string> CtlAddUser(const UserSpec& user);
  // POST /api/auth/login; fails unless 200 with the documented shape.
  Result<Login> LogIn(const std::string& email, const std::string& password);
  // Creates the user with vaultctl and logs in.
  Result<Login> AddAndLogIn(const UserSpec& user);
  // Creates the user through POST /api/admin/users with `admin_token` and logs in.
  Result<Login> AddViaApiAndLogIn(const std::string& admin_token, const UserSpec& user);

 private:
  Vaultd() = default;
  std::unique_ptr<TempDir> temp_;  // owned data dir (nullptr when the caller owns it)
  std::string data_dir_;
  std::optional<Process> process_;
  OutputDrain out_, err_;
  std::string host_;
  uint16_t port_ = 0;
  std::unique_ptr<HttpClient> http_;
};

// Runs vaultctl with `args` and optional stdin text.
Result<CommandResult> RunVaultctl(const std::vector<std::string>& args, std::string stdin_text = {},
                                  const std::vector<std::string>& extra_env = {});

// The environment of this process without VAULT_* variables, plus `extra`.
std::vector<std::string> CleanEnv(const std::vector<std::string>& extra = {});

// Spawns vaultd with `args` and waits for it to exit (for flag and start-up failure tests).
Result<CommandResult> RunVaultdToExit(const std::vector<std::string>& args,
                                      const std::vector<std::string>& extra_env = {},
                                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

// True when `id` is PREFIX followed by 26 Crockford base32 characters.
bool IsId(std::string_view id, std::string_view prefix);
// A well-formed id of the same type that differs from `id` (last character changed).
std::string OtherId(const std::string& id);
// True when `text` is RFC 3339 UTC with whole seconds: 2026-02-14T10:45:00Z.
bool IsTime(std::string_view text);

}  // namespace va::vaulttest
