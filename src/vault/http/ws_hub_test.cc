// WsHub against real WebSocket clients on loopback: authentication by header and by first
// message (4401 on failure or timeout), routing to users and admins, and a slow consumer dropped
// with 4408 while another connection keeps receiving.
#include "vault/http/ws_hub.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <thread>

namespace va::vault::http {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

class WsHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WsHubOptions options;
    options.auth_timeout = std::chrono::milliseconds(300);
    options.queue_limit = 8;
    hub_ = std::make_unique<WsHub>(
        [](std::string_view token, const RequestMeta&) -> AppResult<Actor> {
          // "tok-<user>" authenticates <user>; "tok-admin…" is an admin.
          if (token.substr(0, 4) != "tok-") return AppFail(Code::kUnauthenticated, "bad token");
          Actor actor;
          actor.user.id = std::string(token.substr(4));
          actor.user.roles = actor.user.id.rfind("admin", 0) == 0
                                 ? static_cast<RoleSet>(Role::kAdmin)
                                 : static_cast<RoleSet>(Role::kOwner);
          return actor;
        },
        metrics_, options);
    hub_->Register(router_);
    server_ = std::make_unique<HttpServer>(io_, router_);
    ASSERT_TRUE(server_->Listen("127.0.0.1", 0));
    port_ = server_->LocalEndpoint().second;
    server_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    hub_->CloseAll();
    server_->Stop();
    thread_.join();
  }

  using Client = websocket::stream<beast::tcp_stream>;

  std::unique_ptr<Client> Connect(const std::string& header_token) {
    auto client = std::make_unique<Client>(client_io_);
    beast::get_lowest_layer(*client).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    beast::get_lowest_layer(*client).expires_after(std::chrono::seconds(5));
    client->set_option(
        websocket::stream_base::decorator([header_token](websocket::request_type& req) {
          if (!header_token.empty())
            req.set(beast::http::field::authorization, "Bearer " + header_token);
        }));
    client->handshake("127.0.0.1", "/api/ws");
    return client;
  }

  // The next text message, or "" with `closed` set when the server closed the connection.
  std::string Read(Client& client, uint16_t* close_code = nullptr) {
    beast::flat_buffer buffer;
    beast::error_code ec;
    beast::get_lowest_layer(client).expires_after(std::chrono::seconds(5));
    client.read(buffer, ec);
    if (ec) {
      if (close_code) *close_code = client.reason().code;
      return "";
    }
    return beast::buffers_to_string(buffer.data());
  }

  void WaitForConnections(size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (hub_->Connections() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    ASSERT_EQ(hub_->Connections(), n);
  }

  Metrics metrics_;
  Router router_;
  asio::io_context io_;
  asio::io_context client_io_;
  std::unique_ptr<WsHub> hub_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

TEST_F(WsHubTest, HeaderAuthenticationThenDelivery) {
  auto client = Connect("tok-usr_a");
  EXPECT_EQ(Read(*client), R"({"type":"Authenticated","user_id":"usr_a"})");
  WaitForConnections(1);
  hub_->Publish({"usr_a"}, false, R"({"type":"SessionStarted"})");
  EXPECT_EQ(Read(*client), R"({"type":"SessionStarted"})");
}

TEST_F(WsHubTest, FirstMessageAuthentication) {
  auto client = Connect("");
  client->write(asio::buffer(std::string(R"({"type":"Authenticate","token":"tok-usr_b"})")));
  EXPECT_EQ(Read(*client), R"({"type":"Authenticated","user_id":"usr_b"})");
}

TEST_F(WsHubTest, BadTokenClosesWith4401) {
  auto client = Connect("");
  client->write(asio::buffer(std::string(R"({"type":"Authenticate","token":"nope"})")));
  uint16_t code = 0;
  EXPECT_EQ(Read(*client, &code), "");
  EXPECT_EQ(code, 4401);
}

TEST_F(WsHubTest, MalformedFirstMessageClosesWith4401) {
  auto client = Connect("");
  client->write(asio::buffer(std::string("hello")));
  uint16_t code = 0;
  EXPECT_EQ(Read(*client, &code), "");
  EXPECT_EQ(code, 4401);
}

TEST_F(WsHubTest, SilenceClosesWith4401AfterTheTimeout) {
  auto client = Connect("");
  uint16_t code = 0;
  EXPECT_EQ(Read(*client, &code), "");
  EXPECT_EQ(code, 4401);
}

TEST_F(WsHubTest, RoutesToUsersAndAdmins) {
  auto a = Connect("tok-usr_a");
  auto b = Connect("tok-usr_b");
  auto admin = Connect("tok-admin1");
  for (auto* c : {a.get(), b.get(), admin.get()}) Read(*c);
  WaitForConnections(3);
  hub_->Publish({"usr_a"}, true, "m1");
  hub_->Publish({"usr_b"}, false, "m2");
  EXPECT_EQ(Read(*a), "m1");
  EXPECT_EQ(Read(*admin), "m1");
  EXPECT_EQ(Read(*b), "m2");  // b never saw m1
}

TEST_F(WsHubTest, SlowConsumerIsDroppedWith4408WithoutSlowingOthers) {
  auto slow = Connect("tok-usr_slow");
  auto fast = Connect("tok-usr_fast");
  Read(*slow);
  Read(*fast);
  WaitForConnections(2);
  // The slow client never reads: once the socket buffers fill, its queue (8) overflows.
  std::string big(256 * 1024, 'x');
  for (int i = 0; i < 200 && metrics_.NotificationsDropped().load() == 0; ++i) {
    hub_->Publish({"usr_slow"}, false, big);
    hub_->Publish({"usr_fast"}, false, "tick");
    EXPECT_EQ(Read(*fast), "tick");
  }
  EXPECT_GE(metrics_.NotificationsDropped().load(), 1u);
  // The slow client reads what was sent before the drop, then the 4408 close.
  uint16_t code = 0;
  for (int i = 0; i < 1000; ++i) {
    if (Read(*slow, &code).empty()) break;
  }
  EXPECT_EQ(code, 4408);
}

}  // namespace
}  // namespace va::vault::http
