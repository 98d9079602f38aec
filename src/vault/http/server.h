// HttpServer: a small HTTP/1.1 server on Boost.Beast with C++20 coroutines, and the Router it
// dispatches to. Handlers see plain values (HttpRequest / HttpResponse), never Beast types, so
// route code compiles without Beast.
//
// Limits: a request head over `max_header_bytes` or malformed → 400 and the connection closes; a
// buffered body over `max_body_bytes` → 413; a streamed body (uploads) is handed to the handler
// chunk by chunk through a BodyReader and never held whole. A connection idle for
// `idle_timeout` closes; a request head or buffered body must arrive within `request_timeout`; a
// streamed body may take as long as every chunk arrives within `request_timeout`. Errors are
// JSON as spec §3. Stop() closes the listener and every connection; Run() then returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/asio.h"
#include "base/result.h"

namespace va::vault::http {

struct HttpRequest {
  std::string method;  // "GET", "POST", …
  std::string target;  // as received: path and query
  std::string path;    // the path as received (still percent-encoded), without the query
  std::vector<std::pair<std::string, std::string>> query;    // percent-decoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::optional<uint64_t> content_length;
  std::string body;  // buffered routes only
  std::string remote_ip;

  // First header / query value with this (lower-case) name.
  std::optional<std::string_view> Header(std::string_view name) const;
  std::optional<std::string_view> Query(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this response
};

// The body of a streamed request. Read() fills `out` with the next bytes and returns how many;
// 0 means the body is complete. Fails with kTimeout when a chunk does not arrive in time and
// kInvalid when the client breaks the framing.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  virtual asio::awaitable<Result<size_t>> Read(std::span<char> out) = 0;
};

using PathParams = std::vector<std::string>;  // the {param} segments, in order
using Handler =
    std::function<asio::awaitable<HttpResponse>(HttpRequest&, const PathParams&, BodyReader*)>;

enum class BodyMode { kBuffered, kStreamed };

// A connection handed over for a WebSocket upgrade: the stream and the upgrade request, in Beast
// types (defined in ws_upgrade.h, which only the server and the hub include).
struct WebSocketUpgrade;
using UpgradeHandler = std::function<void(std::unique_ptr<WebSocketUpgrade>, const HttpRequest&)>;

// Routes by method and pattern: literal segments and "{name}" segments that match one non-empty
// segment. Segments are percent-decoded one by one before matching, so "%2F" never splits one;
// a segment that decodes badly, to "." or "..", or holds a '/' or NUL matches nothing. Unknown path
// → 404 JSON; known path with another method → 405 with Allow.
class Router {
 public:
  void Add(std::string_view method, std::string_view pattern, Handler handler,
           BodyMode mode = BodyMode::kBuffered);

  struct Match {
    const Handler* handler = nullptr;
    BodyMode mode = BodyMode::kBuffered;
    PathParams params;
    std::string allowed;  // when the path matched but not the method: "GET, DELETE"
  };
  Match Find(std::string_view method, std::string_view path) const;

  // A GET to `path` that asks for a WebSocket upgrade is handed to `handler` with the
  // connection; the server then forgets the connection. A GET without the upgrade gets 426.
  void AddWebSocket(std::string_view path, UpgradeHandler handler);
  const UpgradeHandler* FindWebSocket(std::string_view path) const;

 private:
  std::vector<std::pair<std::string, UpgradeHandler>> websockets_;
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
    BodyMode mode;
  };
  std::vector<Route> routes_;
};

struct ServerOptions {
  size_t max_header_bytes = size_t{16} * 1024;
  size_t max_body_bytes = size_t{64} * 1024;
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds request_timeout{30};
  std::string server_name = "vaultd";
};

// Called after every response: method, route pattern or path, status, duration.
using AccessHook =
    std::function<void(const HttpRequest&, int status, std::chrono::nanoseconds elapsed)>;

class HttpServer {
 public:
  HttpServer(asio::io_context& io, const Router& router, ServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens ("127.0.0.1", 0 picks a port). kSystem with the address on failure.
  Status Listen(const std::string& address, uint16_t port);
  // The bound address and port ("127.0.0.1", 43211).
  std::pair<std::string, uint16_t> LocalEndpoint() const;
  // Starts accepting on the io_context; returns at once.
  void Start();
  // Closes the listener and every open connection (from any thread).
  void Stop();
  void SetAccessHook(AccessHook hook);
  size_t OpenConnections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// JSON error body of spec §3: {"error": {"code": …, "message": …}}.
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message);

// Percent-decodes; nullopt for a bad escape or a decoded NUL.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_as_space = false);

}  // namespace va::vault::http
