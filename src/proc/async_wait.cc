// Asynchronous exit waits and stops on an Asio loop; see async_wait.h.
#include "proc/async_wait.h"

#include <fcntl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

#include "proc/stop_machine.h"

namespace va {

asio::awaitable<Result<bool>> AsyncWaitExit(const Process& process,
                                            std::chrono::nanoseconds timeout) {
  if (process.Exited()) co_return true;
  auto executor = co_await asio::this_coro::executor;
  // The stream_descriptor owns what it watches, so it gets its own duplicate of the pidfd.
  int fd = ::fcntl(process.PidFd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) co_return SysFail("dup pidfd");
  asio::posix::stream_descriptor pidfd(executor, fd);
  asio::steady_timer timer(
      executor, std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout));
  using namespace asio::experimental::awaitable_operators;
  auto first = co_await (pidfd.async_wait(asio::posix::stream_descriptor::wait_read,
                                          asio::as_tuple(asio::use_awaitable)) ||
                         timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (first.index() == 0) {
    auto [ec] = std::get<0>(first);
    if (ec) co_return Fail(ErrorKind::kSystem, "wait for pidfd: " + ec.message());
    co_return true;
  }
  co_return process.Exited();
}

asio::awaitable<StopResult> AsyncStopProcess(Process& process, StopPolicy policy) {
  StopMachine m(process, policy);
  if (auto done = m.Start()) co_return *done;
  auto left = m.GraceDeadline() - MonoNow();
  auto exited = co_await AsyncWaitExit(process, std::max<std::chrono::nanoseconds>(left, {}));
  if (auto done = m.AfterGrace(exited)) co_return *done;
  co_return m.AfterKill(co_await AsyncWaitExit(process, policy.kill_grace));
}

}  // namespace va
