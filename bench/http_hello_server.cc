// http_hello_server: the bare peer of vaultd in http_bench. A minimal HTTP/1.1 keep-alive server
// on the same stack as vaultd (Boost.Beast compiled once in va_beast, C++20 coroutines, one
// io_context run on N threads, a strand per connection, beast::tcp_stream with the same idle and
// request timeouts and the same head and body limits). Every GET gets 200 with a small fixed JSON
// body; any other method gets 405. No routing, authentication, database or logging: whatever
// vaultd costs beyond this server is what the benchmark shows.
//
// Usage: http_hello_server [--listen ADDR:PORT] [--threads N]
// Prints "hello listening on http://ADDR:PORT" once accepting (port 0 picks a free one); exits 0
// on SIGTERM or SIGINT, 1 when it cannot listen, 2 on bad usage.
#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "base/asio.h"

namespace {

namespace asio = va::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// vaultd's defaults (ServerOptions), so that both servers do the same per-request bookkeeping.
constexpr uint32_t kMaxHeaderBytes = 16 * 1024;
constexpr uint64_t kMaxBodyBytes = uint64_t{64} * 1024;
constexpr std::chrono::seconds kIdleTimeout(60);
constexpr std::chrono::seconds kRequestTimeout(30);
constexpr std::string_view kBody = R"({"message":"hello","status":"ok"})";

asio::awaitable<void> Serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  bool first = true;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxBodyBytes);
    stream.expires_after(first ? kRequestTimeout : kIdleTimeout);
    first = false;
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
    (void)n;
    if (ec) break;  // end of stream, timeout, or a malformed request: close
    const auto& req = parser.get();
    bhttp::response<bhttp::string_body> res{
        req.method() == bhttp::verb::get ? bhttp::status::ok : bhttp::status::method_not_allowed,
        req.version()};
    res.set(bhttp::field::server, "hello");
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::cache_control, "no-store");
    res.body() = kBody;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    stream.expires_after(kRequestTimeout);
    auto [wec, wn] = co_await bhttp::async_write(stream, res, kTuple);
    (void)wn;
    if (wec || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> Accept(asio::io_context& io, tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kTuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;  // e.g. EMFILE: keep accepting
    auto executor = socket.get_executor();
    asio::co_spawn(executor, Serve(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  unsigned threads = 1;
  CLI::App cli("http_hello_server - the bare Beast peer of vaultd in http_bench",
               "http_hello_server");
  cli.add_option("--listen", listen, "ADDR:PORT to serve (port 0: pick one)")
      ->capture_default_str();
  cli.add_option("--threads", threads, "threads running the io_context")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u));
  CLI11_PARSE(cli, argc, argv);

  auto colon = listen.rfind(':');
  boost::system::error_code ec;
  asio::ip::address address;
  unsigned long port = 65536;
  if (colon != std::string::npos) {
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    address = asio::ip::make_address(host, ec);
    try {
      port = std::stoul(listen.substr(colon + 1));
    } catch (const std::exception&) {
      port = 65536;
    }
  }
  if (colon == std::string::npos || ec || port > 65535) {
    std::fprintf(stderr, "http_hello_server: --listen wants ADDR:PORT, got '%s'\n", listen.c_str());
    return 2;
  }

  asio::io_context io(static_cast<int>(threads));
  tcp::acceptor acceptor(io);
  tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "http_hello_server: listen on %s: %s\n", listen.c_str(),
                 ec.message().c_str());
    return 1;
  }

  // SIGTERM/SIGINT: stop the loop; open connections are dropped with the io_context.
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& error, int) {
    if (error) return;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    io.stop();
  });
  asio::co_spawn(acceptor.get_executor(), Accept(io, acceptor), asio::detached);

  auto local = acceptor.local_endpoint(ec);
  std::string shown = local.address().to_string();
  if (local.address().is_v6()) shown = "[" + shown + "]";
  std::printf("hello listening on http://%s:%u\n", shown.c_str(),
              static_cast<unsigned>(local.port()));
  std::fflush(stdout);

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& t : workers) t.join();
  return 0;
}
