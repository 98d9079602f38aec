// WebSocketUpgrade: what the HTTP server hands to a WebSocket endpoint — the connection's stream
// and the upgrade request's head. Beast types; included only by server.cc and ws_hub.cc.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include "vault/http/server.h"

namespace va::vault::http {

struct WebSocketUpgrade {
  explicit WebSocketUpgrade(boost::beast::tcp_stream s) : stream(std::move(s)) {}
  boost::beast::tcp_stream stream;
  boost::beast::http::request<boost::beast::http::empty_body> request;
};

}  // namespace va::vault::http
