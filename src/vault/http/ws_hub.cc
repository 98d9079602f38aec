#include "vault/http/ws_hub.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "base/log.h"
#include "vault/http/ws_upgrade.h"

namespace va::vault::http {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

constexpr uint16_t kCloseUnauthenticated = 4401;
constexpr uint16_t kCloseTooSlow = 4408;

}  // namespace

// One authenticated (or authenticating) WebSocket. Everything but `queue`'s producer side runs
// on the connection's strand.
struct WsConnection : std::enable_shared_from_this<WsConnection> {
  explicit WsConnection(beast::tcp_stream stream)
      : ws(std::move(stream)), wake(ws.get_executor()) {}
  websocket::stream<beast::tcp_stream> ws;
  asio::steady_timer wake;  // cancelled to wake the writer
  std::deque<std::string> queue;
  std::string user_id;
  bool admin = false;
  bool closing = false;
  uint16_t close_code = 0;
};

struct WsHub::Impl : std::enable_shared_from_this<Impl> {
  Impl(Authenticator a, Metrics& m, WsHubOptions o)
      : authenticate(std::move(a)), metrics(m), options(o) {}
  Authenticator authenticate;
  Metrics& metrics;
  WsHubOptions options;
  mutable std::mutex mu;
  std::unordered_multimap<std::string, std::weak_ptr<WsConnection>> by_user;
  std::vector<std::weak_ptr<WsConnection>> admins;
  bool shut = false;

  asio::awaitable<void> Serve(std::shared_ptr<WsConnection> conn,
                              beast::http::request<beast::http::empty_body> request,
                              RequestMeta meta, std::optional<std::string> header_token);
  asio::awaitable<void> Writer(std::shared_ptr<WsConnection> conn);
  void Enqueue(const std::shared_ptr<WsConnection>& conn, const std::string& json);
  void Close(const std::shared_ptr<WsConnection>& conn, uint16_t code);
  void Forget(const WsConnection* conn);
};

void WsHub::Impl::Close(const std::shared_ptr<WsConnection>& conn, uint16_t code) {
  // On the strand.
  if (conn->closing) return;
  conn->closing = true;
  conn->close_code = code;
  conn->queue.clear();
  conn->wake.cancel();
}

void WsHub::Impl::Enqueue(const std::shared_ptr<WsConnection>& conn, const std::string& text) {
  asio::post(conn->ws.get_executor(), [self = shared_from_this(), conn, text] {
    if (conn->closing) return;
    if (conn->queue.size() >= self->options.queue_limit) {
      self->metrics.NotificationsDropped().fetch_add(1);
      LogWarn("ws_slow_consumer_dropped",
              {{"user_id", conn->user_id}, {"queued", conn->queue.size()}});
      self->Close(conn, kCloseTooSlow);
      return;
    }
    conn->queue.push_back(text);
    conn->wake.cancel();
  });
}

void WsHub::Impl::Forget(const WsConnection* conn) {
  std::lock_guard lock(mu);
  for (auto it = by_user.begin(); it != by_user.end();) {
    auto locked = it->second.lock();
    if (!locked || locked.get() == conn) {
      it = by_user.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(admins, [conn](const std::weak_ptr<WsConnection>& w) {
    auto locked = w.lock();
    return !locked || locked.get() == conn;
  });
}

asio::awaitable<void> WsHub::Impl::Writer(std::shared_ptr<WsConnection> conn) {
  for (;;) {
    while (!conn->closing && !conn->queue.empty()) {
      std::string next = std::move(conn->queue.front());
      conn->queue.pop_front();
      conn->ws.text(true);
      auto [ec, n] = co_await conn->ws.async_write(asio::buffer(next), kTuple);
      (void)n;
      if (ec) {
        conn->closing = true;
        co_return;
      }
      metrics.NotificationsSent().fetch_add(1);
    }
    if (conn->closing) break;
    conn->wake.expires_at(asio::steady_timer::time_point::max());
    auto [ec] = co_await conn->wake.async_wait(kTuple);
    (void)ec;
  }
  if (conn->close_code != 0) {
    websocket::close_reason reason(conn->close_code);
    reason.reason = conn->close_code == kCloseTooSlow ? "too slow" : "closing";
    auto [ec] = co_await conn->ws.async_close(reason, kTuple);
    (void)ec;
  }
}

asio::awaitable<void> WsHub::Impl::Serve(std::shared_ptr<WsConnection> conn,
                                         beast::http::request<beast::http::empty_body> request,
                                         RequestMeta meta,
                                         std::optional<std::string> header_token) {
  auto self = shared_from_this();
  auto& ws = conn->ws;
  beast::get_lowest_layer(ws).expires_never();
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "vaultd"); }));
  ws.read_message_max(options.max_message_bytes);
  {
    auto [ec] = co_await ws.async_accept(request, kTuple);
    if (ec) co_return;
  }
  auto refuse = [&](std::string_view why) -> asio::awaitable<void> {
    websocket::close_reason reason(kCloseUnauthenticated);
    reason.reason = std::string(why);
    auto [ec] = co_await ws.async_close(reason, kTuple);
    (void)ec;
  };
  beast::flat_buffer buffer;
  std::optional<std::string> token = std::move(header_token);
  if (!token) {
    // The first message must authenticate, within the timeout.
    // On timeout the close frame goes out while the read is pending (Beast allows a close
    // beside a read); the read then ends when the client answers the close.
    asio::steady_timer deadline(ws.get_executor());
    deadline.expires_after(options.auth_timeout);
    auto timed_out = std::make_shared<bool>(false);
    deadline.async_wait([conn, timed_out](const boost::system::error_code& ec) {
      if (ec) return;
      *timed_out = true;
      websocket::close_reason reason(kCloseUnauthenticated);
      reason.reason = "authentication timed out";
      conn->ws.async_close(reason, [conn](const boost::system::error_code&) {});
    });
    auto [ec, n] = co_await ws.async_read(buffer, kTuple);
    (void)n;
    deadline.cancel();
    if (*timed_out) co_return;
    if (ec) co_return;
    boost::system::error_code perr;
    json::value msg = json::parse(beast::buffers_to_string(buffer.data()), perr);
    buffer.consume(buffer.size());
    const json::object* obj = !perr && msg.is_object() ? &msg.as_object() : nullptr;
    const json::value* type = obj ? obj->if_contains("type") : nullptr;
    const json::value* tok = obj ? obj->if_contains("token") : nullptr;
    if (!type || !type->is_string() || type->as_string() != "Authenticate" || !tok ||
        !tok->is_string()) {
      co_await refuse("expected {\"type\":\"Authenticate\",\"token\":…}");
      co_return;
    }
    token = std::string(tok->as_string());
  }
  auto actor = authenticate(*token, meta);
  if (!actor) {
    co_await refuse("invalid or expired access token");
    co_return;
  }
  conn->user_id = actor->user.id;
  conn->admin = HasRole(actor->user.roles, Role::kAdmin);
  {
    std::lock_guard lock(mu);
    if (shut) co_return;
    by_user.emplace(conn->user_id, conn);
    if (conn->admin) admins.push_back(conn);
  }
  LogInfo("ws_connected", {{"user_id", conn->user_id}, {"ip", meta.ip_address}});
  conn->queue.push_back(
      json::serialize(json::object{{"type", "Authenticated"}, {"user_id", conn->user_id}}));
  asio::co_spawn(ws.get_executor(), Writer(conn), asio::detached);
  // Reads (and drops) whatever the client sends, so control frames are answered and a close is
  // noticed.
  for (;;) {
    auto [ec, n] = co_await ws.async_read(buffer, kTuple);
    (void)n;
    buffer.consume(buffer.size());
    if (ec) break;
    if (conn->closing) break;
  }
  if (!conn->closing) {
    conn->closing = true;
    conn->wake.cancel();
  }
  Forget(conn.get());
  LogInfo("ws_disconnected", {{"user_id", conn->user_id}});
}

WsHub::WsHub(Authenticator authenticate, Metrics& metrics, WsHubOptions options)
    : impl_(std::make_shared<Impl>(std::move(authenticate), metrics, options)) {}

WsHub::~WsHub() { CloseAll(); }

void WsHub::Register(Router& router, std::string_view path) {
  auto impl = impl_;
  router.AddWebSocket(path, [impl](std::unique_ptr<WebSocketUpgrade> up, const HttpRequest& req) {
    RequestMeta meta;
    meta.ip_address = req.remote_ip;
    meta.user_agent = std::string(req.Header("user-agent").value_or("").substr(0, 256));
    std::optional<std::string> token;
    if (auto auth = req.Header("authorization");
        auth && auth->size() > 7 &&
        (auth->substr(0, 7) == "Bearer " || auth->substr(0, 7) == "bearer ")) {
      token = std::string(auth->substr(7));
    }
    auto conn = std::make_shared<WsConnection>(std::move(up->stream));
    asio::co_spawn(conn->ws.get_executor(),
                   impl->Serve(conn, std::move(up->request), std::move(meta), std::move(token)),
                   asio::detached);
  });
}

void WsHub::Publish(const std::vector<std::string>& user_ids, bool include_admins,
                    const std::string& json) {
  std::vector<std::shared_ptr<WsConnection>> targets;
  {
    std::lock_guard lock(impl_->mu);
    for (const std::string& user : user_ids) {
      auto [begin, end] = impl_->by_user.equal_range(user);
      for (auto it = begin; it != end; ++it) {
        if (auto c = it->second.lock()) targets.push_back(std::move(c));
      }
    }
    if (include_admins) {
      for (const auto& w : impl_->admins) {
        if (auto c = w.lock()) targets.push_back(std::move(c));
      }
    }
  }
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  for (const auto& conn : targets) impl_->Enqueue(conn, json);
}

void WsHub::Disconnect(const std::string& user_id) {
  std::vector<std::shared_ptr<WsConnection>> targets;
  {
    std::lock_guard lock(impl_->mu);
    auto [begin, end] = impl_->by_user.equal_range(user_id);
    for (auto it = begin; it != end; ++it) {
      if (auto c = it->second.lock()) targets.push_back(std::move(c));
    }
  }
  for (const auto& conn : targets) {
    asio::post(conn->ws.get_executor(),
               [impl = impl_, conn] { impl->Close(conn, kCloseUnauthenticated); });
  }
}

void WsHub::CloseAll() {
  std::vector<std::shared_ptr<WsConnection>> targets;
  {
    std::lock_guard lock(impl_->mu);
    impl_->shut = true;
    for (auto& [user, w] : impl_->by_user) {
      if (auto c = w.lock()) targets.push_back(std::move(c));
    }
  }
  for (const auto& conn : targets) {
    asio::post(conn->ws.get_executor(), [impl = impl_, conn] {
      impl->Close(conn, static_cast<uint16_t>(websocket::close_code::going_away));
    });
  }
}

size_t WsHub::Connections() const {
  std::lock_guard lock(impl_->mu);
  size_t n = 0;
  for (const auto& [user, w] : impl_->by_user) n += w.expired() ? 0 : 1;
  return n;
}

}  // namespace va::vault::http
