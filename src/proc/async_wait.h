// Waiting for a process from an Asio event loop: the pidfd is watched for readiness, so a
// coroutine resumes the moment the process exits, without a thread or a poll loop.
#pragma once

#include <chrono>

#include "base/asio.h"
#include "proc/process.h"
#include "proc/stop.h"

namespace va {

// Resumes when `process` has exited (true) or `timeout` has passed (false). Fails only when the
// pidfd cannot be watched. The process must outlive the wait.
asio::awaitable<Result<bool>> AsyncWaitExit(const Process& process,
                                            std::chrono::nanoseconds timeout);

// StopProcess as a coroutine: the same state machine and outcomes, without blocking the loop.
asio::awaitable<StopResult> AsyncStopProcess(Process& process, StopPolicy policy = {});

}  // namespace va
