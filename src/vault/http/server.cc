#include "vault/http/server.h"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <exception>
#include <list>
#include <mutex>

#include "base/clock.h"
#include "base/log.h"
#include "vault/http/ws_upgrade.h"

namespace va::vault::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 1;  // skip the leading '/'
  if (path.empty() || path[0] != '/') return parts;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void ParseQuery(std::string_view query, HttpRequest& req) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) {
      // Kept undecodable so that handlers see the parameter and reject it.
      req.query.emplace_back(std::string(pair.substr(0, eq)), std::string(1, '\0'));
      continue;
    }
    req.query.emplace_back(std::move(*key), std::move(*value));
  }
}

}  // namespace

std::optional<std::string_view> HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<std::string_view> HttpRequest::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return std::nullopt;
      i += 2;
    } else if (c == '+' && plus_as_space) {
      c = ' ';
    }
    out.push_back(c);
  }
  return out;
}

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message) {
  boost::json::object error;
  error["code"] = code;
  error["message"] = message;
  boost::json::object body;
  body["error"] = std::move(error);
  HttpResponse res;
  res.status = status;
  res.body = boost::json::serialize(body);
  return res;
}

void Router::Add(std::string_view method, std::string_view pattern, Handler handler,
                 BodyMode mode) {
  Route route{std::string(method), {}, std::move(handler), mode};
  for (std::string_view seg : SplitPath(pattern)) route.segments.emplace_back(seg);
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match match;
  std::vector<std::string> segments;
  for (std::string_view raw : SplitPath(path)) {
    auto decoded = PercentDecode(raw);
    if (!decoded || decoded->find('/') != std::string::npos || *decoded == "." ||
        *decoded == "..") {
      return match;
    }
    segments.push_back(std::move(*decoded));
  }
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    PathParams params;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const std::string& want = route.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        if (segments[i].empty()) ok = false;
        params.push_back(segments[i]);
      } else {
        ok = want == segments[i];
      }
    }
    if (!ok) continue;
    if (route.method != method) {
      if (!match.allowed.empty()) match.allowed += ", ";
      match.allowed += route.method;
      continue;
    }
    match.handler = &route.handler;
    match.mode = route.mode;
    match.params = std::move(params);
    match.allowed.clear();
    return match;
  }
  return match;
}

void Router::AddWebSocket(std::string_view path, UpgradeHandler handler) {
  websockets_.emplace_back(std::string(path), std::move(handler));
}

const UpgradeHandler* Router::FindWebSocket(std::string_view path) const {
  for (const auto& [p, h] : websockets_) {
    if (p == path) return &h;
  }
  return nullptr;
}

struct Connection {
  explicit Connection(tcp::socket socket)
      : executor(socket.get_executor()), stream(std::move(socket)) {}
  asio::any_io_executor executor;  // the connection's strand; valid after a hand-off
  beast::tcp_stream stream;
  bool handed_off = false;  // touched only on the strand
};

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_in, const Router& router_in, ServerOptions options_in)
      : io(io_in), router(router_in), options(std::move(options_in)), acceptor(io_in) {}

  asio::io_context& io;
  const Router& router;
  ServerOptions options;
  tcp::acceptor acceptor;
  std::atomic<bool> stopping{false};
  mutable std::mutex mu;
  std::list<std::weak_ptr<Connection>> connections;
  AccessHook hook;

  asio::awaitable<void> Accept();
  asio::awaitable<void> Serve(std::shared_ptr<Connection> conn);
};

namespace {

// Reads a streamed body through the parser's buffer_body, one chunk per call.
class StreamedBody final : public BodyReader {
 public:
  StreamedBody(beast::tcp_stream& stream, beast::flat_buffer& buffer,
               bhttp::request_parser<bhttp::buffer_body>& parser, std::chrono::seconds timeout)
      : stream_(stream), buffer_(buffer), parser_(parser), timeout_(timeout) {}

  asio::awaitable<Result<size_t>> Read(std::span<char> out) override {
    while (!parser_.is_done()) {
      auto& body = parser_.get().body();
      body.data = out.data();
      body.size = out.size();
      stream_.expires_after(timeout_);
      auto [ec, n] = co_await bhttp::async_read_some(stream_, buffer_, parser_, kTuple);
      (void)n;
      if (ec == bhttp::error::need_buffer) ec = {};
      size_t got = out.size() - parser_.get().body().size;
      if (ec) {
        if (ec == beast::error::timeout)
          co_return Fail(ErrorKind::kTimeout, "request body stalled");
        co_return Fail(ErrorKind::kInvalid, "request body: " + ec.message());
      }
      if (got > 0) co_return got;
    }
    co_return size_t{0};
  }

 private:
  beast::tcp_stream& stream_;
  beast::flat_buffer& buffer_;
  bhttp::request_parser<bhttp::buffer_body>& parser_;
  std::chrono::seconds timeout_;
};

void FillRequest(const bhttp::request_parser<bhttp::buffer_body>& parser, HttpRequest& req) {
  const auto& h = parser.get();
  req.method = std::string(h.method_string());
  req.target = std::string(h.target());
  std::string_view target = req.target;
  size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) ParseQuery(target.substr(q + 1), req);
  for (const auto& field : h) {
    req.headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
  }
  if (auto len = parser.content_length()) req.content_length = *len;
}

}  // namespace

asio::awaitable<void> HttpServer::Impl::Accept() {
  auto self = shared_from_this();
  while (!stopping.load()) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping.load()) break;
      LogWarn("http_accept_failed", {{"error", ec.message()}});
      continue;
    }
    auto conn = std::make_shared<Connection>(std::move(socket));
    {
      std::lock_guard lock(mu);
      connections.remove_if([](const std::weak_ptr<Connection>& w) { return w.expired(); });
      connections.push_back(conn);
    }
    asio::co_spawn(conn->stream.get_executor(), Serve(conn), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Impl::Serve(std::shared_ptr<Connection> conn) {
  auto self = shared_from_this();
  beast::tcp_stream& stream = conn->stream;
  beast::flat_buffer buffer;
  std::string ip;
  {
    boost::system::error_code ec;
    auto ep = stream.socket().remote_endpoint(ec);
    if (!ec) ip = ep.address().to_string();
  }
  bool first = true;
  while (!stopping.load()) {
    bhttp::request_parser<bhttp::buffer_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(boost::none);
    stream.expires_after(first ? options.request_timeout : options.idle_timeout);
    first = false;
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
    (void)n;
    auto started = MonoNow();
    HttpResponse res;
    HttpRequest req;
    req.remote_ip = ip;
    bool keep_alive = false;
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
          ec == asio::error::eof) {
        break;
      }
      res = ErrorResponse(
          400, "InvalidInput",
          ec == bhttp::error::header_limit ? "request head too large" : "malformed request");
      res.close = true;
    } else {
      FillRequest(parser, req);
      keep_alive = parser.get().keep_alive();
      if (const UpgradeHandler* upgrade = router.FindWebSocket(req.path)) {
        if (req.method == "GET" && beast::websocket::is_upgrade(parser.get())) {
          conn->handed_off = true;
          auto handoff = std::make_unique<WebSocketUpgrade>(std::move(stream));
          handoff->request = bhttp::request<bhttp::empty_body>(parser.get().base());
          if (hook) hook(req, 101, MonoNow() - started);
          (*upgrade)(std::move(handoff), req);
          co_return;
        }
      }
      Router::Match match = router.Find(req.method, req.path);
      if (auto expect = req.Header("expect");
          expect && Lower(*expect) == "100-continue" && match.handler) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        stream.expires_after(options.request_timeout);
        auto [wec, wn] = co_await bhttp::async_write(stream, cont, kTuple);
        (void)wn;
        if (wec) break;
      }
      if (router.FindWebSocket(req.path)) {
        res = ErrorResponse(426, "InvalidInput", "this endpoint needs a WebSocket upgrade");
        res.headers.emplace_back("Upgrade", "websocket");
        if (!parser.is_done()) res.close = true;
      } else if (!match.handler) {
        if (!match.allowed.empty()) {
          res = ErrorResponse(405, "InvalidInput", "method not allowed");
          res.headers.emplace_back("Allow", match.allowed);
        } else {
          res = ErrorResponse(404, "NotFound", "no such endpoint");
        }
        if (!parser.is_done()) res.close = true;
      } else if (match.mode == BodyMode::kBuffered) {
        bool too_large = req.content_length && *req.content_length > options.max_body_bytes;
        bool failed = false;
        if (!too_large) {
          char chunk[8192];
          while (!parser.is_done()) {
            auto& body = parser.get().body();
            body.data = chunk;
            body.size = sizeof chunk;
            stream.expires_after(options.request_timeout);
            auto [rec, rn] = co_await bhttp::async_read_some(stream, buffer, parser, kTuple);
            (void)rn;
            if (rec == bhttp::error::need_buffer) rec = {};
            if (rec) {
              failed = true;
              break;
            }
            req.body.append(chunk, sizeof chunk - parser.get().body().size);
            if (req.body.size() > options.max_body_bytes) {
              too_large = true;
              break;
            }
          }
        }
        if (failed) break;
        if (too_large) {
          res = ErrorResponse(413, "PayloadTooLarge", "request body too large");
          res.close = true;
        } else {
          std::exception_ptr error;
          try {
            res = co_await (*match.handler)(req, match.params, nullptr);
          } catch (...) {
            error = std::current_exception();
          }
          if (error) {
            LogError("http_handler_threw", {{"path", req.path}});
            res = ErrorResponse(500, "Internal", "internal error");
          }
        }
      } else {
        StreamedBody reader(stream, buffer, parser, options.request_timeout);
        std::exception_ptr error;
        try {
          res = co_await (*match.handler)(req, match.params, &reader);
        } catch (...) {
          error = std::current_exception();
        }
        if (error) {
          LogError("http_handler_threw", {{"path", req.path}});
          res = ErrorResponse(500, "Internal", "internal error");
        }
        if (!parser.is_done()) res.close = true;
      }
    }
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), 11};
    out.set(bhttp::field::server, options.server_name);
    if (!res.content_type.empty()) out.set(bhttp::field::content_type, res.content_type);
    out.set(bhttp::field::cache_control, "no-store");
    for (const auto& [k, v] : res.headers) out.set(k, v);
    out.body() = std::move(res.body);
    keep_alive = keep_alive && !res.close && !stopping.load();
    out.keep_alive(keep_alive);
    out.prepare_payload();
    stream.expires_after(options.request_timeout);
    auto [wec, wn] = co_await bhttp::async_write(stream, out, kTuple);
    (void)wn;
    if (hook && !req.method.empty()) hook(req, res.status, MonoNow() - started);
    if (wec || !keep_alive) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

HttpServer::HttpServer(asio::io_context& io, const Router& router, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, router, std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Listen(const std::string& address, uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return Fail(ErrorKind::kInvalid, "listen address '" + address + "': " + ec.message());
  tcp::endpoint ep(addr, port);
  std::string where = address + ":" + std::to_string(port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Fail(ErrorKind::kSystem, "listen on " + where + ": " + ec.message(), ec.value());
  return {};
}

std::pair<std::string, uint16_t> HttpServer::LocalEndpoint() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  if (ec) return {"", 0};
  return {ep.address().to_string(), ep.port()};
}

void HttpServer::Start() {
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->Accept(), asio::detached);
}

void HttpServer::Stop() {
  if (impl_->stopping.exchange(true)) return;
  auto impl = impl_;
  asio::post(impl->acceptor.get_executor(), [impl] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
  });
  std::lock_guard lock(impl->mu);
  for (auto& weak : impl->connections) {
    if (auto conn = weak.lock()) {
      asio::post(conn->executor, [conn] {
        if (conn->handed_off) return;
        boost::system::error_code ignored;
        conn->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        conn->stream.socket().close(ignored);
      });
    }
  }
}

void HttpServer::SetAccessHook(AccessHook hook) { impl_->hook = std::move(hook); }

size_t HttpServer::OpenConnections() const {
  std::lock_guard lock(impl_->mu);
  size_t n = 0;
  for (const auto& weak : impl_->connections) n += weak.expired() ? 0 : 1;
  return n;
}

}  // namespace va::vault::http
