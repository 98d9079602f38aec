// The one way the project includes Asio: separately compiled (BOOST_ASIO_SEPARATE_COMPILATION is
// set by the va_asio target), so its implementation is built once in asio_impl.cc.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace va {
namespace asio = boost::asio;
}  // namespace va
