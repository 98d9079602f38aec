// In-memory fakes of every session port (session_ports.h) for unit tests of SessionService: a
// session repository with a real compare-and-set, a sandbox runner that records live sandboxes
// and fails or lets a viewer "exit" on demand, a peer that records offers, answers and closes, a
// notifier and an event sink that record what they were given, and a manual scheduler that runs
// due timers when told. The fakes can share one CallLog so a test can assert the order of calls
// across ports. All are thread-safe; none calls back into the service while holding its lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "vault/app/sessions/session_ports.h"

namespace va::vault::testing {

// An ordered, thread-safe record of calls across fakes ("peer.Close ClientRequest", …).
class CallLog {
 public:
  void Add(std::string entry);
  std::vector<std::string> Entries() const;
  void Clear();

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> entries_;
};

// Logs "repo.Transition <From>-><To>" for each transition it makes.
class FakeSessionRepository final : public SessionRepository {
 public:
  explicit FakeSessionRepository(CallLog* log = nullptr) : log_(log) {}

  Result<SessionInsert> Insert(const Session& session, int max_live_per_client) override;
  Result<std::optional<Session>> FindById(std::string_view id) override;
  Result<bool> Transition(std::string_view id, SessionState from, SessionState to,
                          std::optional<int64_t> terminated_at,
                          std::optional<TerminationReason> reason) override;
  Result<std::optional<Session>> FindLiveForClientFile(std::string_view client_id,
                                                       std::string_view file_id) override;
  Result<int64_t> CountLiveForClient(std::string_view client_id) override;
  Result<std::vector<Session>> ListLive(const SessionFilter& filter) override;

  // Every call fails with kSystem while set.
  void SetFailing(bool failing) { failing_ = failing; }
  // Transitions into `to` fail with kSystem (nullopt: none do).
  void FailTransitionsTo(std::optional<SessionState> to);
  // Stores `session` as it is (any state), as a previous process would have left it.
  void Put(const Session& session);
  std::vector<Session> All() const;
  int SuccessfulTransitions() const { return transitions_; }

 private:
  Status Check() const;
  CallLog* log_;
  mutable std::mutex mutex_;
  std::vector<Session> sessions_;  // insertion order
  std::optional<SessionState> fail_to_;
  std::atomic<bool> failing_{false};
  std::atomic<int> transitions_{0};
};

// Logs "sandbox.Start", "sandbox.Destroy", "sandbox.SweepOrphans".
class FakeViewerSandboxes final : public ViewerSandboxes {
 public:
  explicit FakeViewerSandboxes(CallLog* log = nullptr) : log_(log) {}

  Result<ViewerInfo> Start(const ViewerSpec& spec) override;
  Result<ViewerRelease> Destroy(std::string_view sandbox_id) override;
  Result<std::vector<std::string>> SweepOrphans() override;
  void SetExitHandler(ExitHandler handler) override;

  // The next Start calls fail with `error` (nullopt: they succeed).
  void FailStart(std::optional<Error> error);
  // The next `times` Destroy calls fail with kTimeout (the sandbox stays live).
  void FailDestroy(int times) { destroy_failures_ = times; }
  // Runs during every Start, before it answers, on the caller's thread (to race a start).
  void SetOnStart(std::function<void(const ViewerSpec&)> hook);
  // What SweepOrphans answers (and then forgets).
  void SetOrphans(std::vector<std::string> ids);
  // The viewer of `sandbox_id` exits on its own: the exit handler runs on this thread. false
  // when no such live sandbox.
  bool SimulateExit(const std::string& sandbox_id);
  // Live sandboxes by id.
  std::map<std::string, ViewerSpec> Live() const;
  int Starts() const { return starts_; }
  int Destroys() const { return destroys_; }

 private:
  CallLog* log_;
  mutable std::mutex mutex_;
  std::map<std::string, ViewerSpec> live_;
  std::optional<Error> start_error_;
  std::function<void(const ViewerSpec&)> on_start_;
  std::vector<std::string> orphans_;
  ExitHandler handler_;
  std::mutex handler_mutex_;  // held while the handler runs, so SetExitHandler waits for it
  std::atomic<int> destroy_failures_{0};
  std::atomic<int> starts_{0};
  std::atomic<int> destroys_{0};
};

// Logs "peer.CreateOffer", "peer.Close <Reason|none>".
class FakePeerService final : public PeerService {
 public:
  explicit FakePeerService(CallLog* log = nullptr) : log_(log) {}

  // "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=<session id>\r\nt=0 0\r\n
  //  a=candidate:1 1 UDP 2130706431 127.0.0.1 40000 typ host\r\na=end-of-candidates\r\n"
  Result<std::string> CreateOffer(std::string_view session_id,
                                  std::string_view sandbox_id) override;
  // kInvalid unless the SDP starts with "v=0"; kNotFound without a peer.
  Status SetAnswer(std::string_view session_id, std::string_view sdp) override;
  // kInvalid for the candidate "bad"; kNotFound without a peer.
  Status AddIceCandidate(std::string_view session_id, const IceCandidate& candidate) override;
  Status Close(std::string_view session_id, std::optional<TerminationReason> reason) override;

  static std::string OfferFor(std::string_view session_id);

  void FailOffer(bool fail) { fail_offer_ = fail; }
  void FailClose(bool fail) { fail_close_ = fail; }
  struct Closed {
    std::string session_id;
    std::optional<TerminationReason> reason;
  };
  std::vector<Closed> Closes() const;
  std::set<std::string> Peers() const;
  std::map<std::string, std::string> Answers() const;
  std::vector<IceCandidate> Candidates() const;

 private:
  CallLog* log_;
  mutable std::mutex mutex_;
  std::set<std::string> peers_;
  std::vector<Closed> closes_;
  std::map<std::string, std::string> answers_;
  std::vector<IceCandidate> candidates_;
  std::atomic<bool> fail_offer_{false};
  std::atomic<bool> fail_close_{false};
};

// Logs "notify <type> <recipient>…[ +admins]"; runs the optional probe before recording.
class FakeNotifier final : public Notifier {
 public:
  explicit FakeNotifier(CallLog* log = nullptr) : log_(log) {}
  void Publish(Notification notification) override;
  std::vector<Notification> Sent() const;
  // The JSON texts sent to `user_id` (as a named recipient), in order.
  std::vector<std::string> JsonFor(const std::string& user_id) const;
  void SetProbe(std::function<void(const Notification&)> probe);

 private:
  CallLog* log_;
  mutable std::mutex mutex_;
  std::vector<Notification> sent_;
  std::function<void(const Notification&)> probe_;
};

// Logs "event Started" / "event Terminated".
class FakeEventSink final : public SessionEventSink {
 public:
  explicit FakeEventSink(CallLog* log = nullptr) : log_(log) {}
  void Publish(const SessionEvent& event) override;
  std::vector<SessionEvent> Events() const;

 private:
  CallLog* log_;
  mutable std::mutex mutex_;
  std::vector<SessionEvent> events_;
};

// Timers that run only when FireDue() is called, on the caller's thread. Logs "scheduler.Cancel".
class ManualScheduler final : public Scheduler {
 public:
  explicit ManualScheduler(const Clock& clock, CallLog* log = nullptr) : clock_(clock), log_(log) {}
  TimerId At(WallTime when, std::function<void()> fn) override;
  void Cancel(TimerId id) override;

  // Runs every timer due at the clock's now, earliest first, including timers that the
  // callbacks add and that are already due. Returns how many ran.
  size_t FireDue();
  size_t Pending() const;
  // Due times of the pending timers, earliest first.
  std::vector<WallTime> PendingTimes() const;

 private:
  struct Timer {
    WallTime when;
    std::function<void()> fn;
  };
  const Clock& clock_;
  CallLog* log_;
  mutable std::mutex mutex_;
  std::map<TimerId, Timer> timers_;
  TimerId next_ = 1;
};

}  // namespace va::vault::testing
