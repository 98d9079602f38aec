// WsHub: the notification WebSocket of spec §10 (GET /api/ws). A connection authenticates with
// the Authorization header of its upgrade request or, for browsers, with
// {"type":"Authenticate","token":…} as its first message within the auth timeout (answered
// {"type":"Authenticated","user_id":…}); failure closes it with code 4401. Publish() routes a
// message to the connections of the given users and, when asked, of every admin. It never
// blocks: each connection has a bounded queue, and a connection whose queue is full (a slow
// consumer) is closed with code 4408 without slowing anyone else.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vault/app/vault_app.h"
#include "vault/http/metrics.h"
#include "vault/http/server.h"

namespace va::vault::http {

struct WsHubOptions {
  size_t queue_limit = 256;  // messages waiting for one connection
  std::chrono::milliseconds auth_timeout{5000};
  size_t max_message_bytes = 4096;  // from the client
};

class WsHub {
 public:
  using Authenticator = std::function<AppResult<Actor>(std::string_view token, const RequestMeta&)>;

  WsHub(Authenticator authenticate, Metrics& metrics, WsHubOptions options = {});
  ~WsHub();
  WsHub(const WsHub&) = delete;
  WsHub& operator=(const WsHub&) = delete;

  // Registers GET `path` (normally /api/ws) on the router.
  void Register(Router& router, std::string_view path = "/api/ws");
  // Queues `json` for every connection of `user_ids` and, with `include_admins`, of every admin
  // (each connection gets it once). From any thread; never blocks.
  void Publish(const std::vector<std::string>& user_ids, bool include_admins,
               const std::string& json);
  // Closes every connection of the user (disabled users) with code 4401.
  void Disconnect(const std::string& user_id);
  // Closes every connection (server shutdown) with code 1001.
  void CloseAll();
  size_t Connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace va::vault::http
