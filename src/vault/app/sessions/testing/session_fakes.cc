// In-memory fakes of the session ports; see session_fakes.h.
#include "vault/app/sessions/testing/session_fakes.h"

#include <algorithm>
#include <utility>

namespace va::vault::testing {
namespace {

void Note(CallLog* log, std::string entry) {
  if (log != nullptr) log->Add(std::move(entry));
}

bool Matches(const Session& s, const SessionFilter& f) {
  if (!IsLive(s.state)) return false;
  if (f.owner_id && s.owner_id != *f.owner_id) return false;
  if (f.client_id && s.client_id != *f.client_id) return false;
  if (f.node_id && s.node_id != *f.node_id) return false;
  if (f.permission_id && s.permission_id != *f.permission_id) return false;
  if (f.file_id && s.file_id != *f.file_id) return false;
  return true;
}

}  // namespace

// --- CallLog
// --------------------------------------------------------------------------------------

void CallLog::Add(std::string entry) {
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(entry));
}

std::vector<std::string> CallLog::Entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

void CallLog::Clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

// --- FakeSessionRepository
// ------------------------------------------------------------------------

Status FakeSessionRepository::Check() const {
  if (failing_) return Fail(ErrorKind::kSystem, "fake session repository failure");
  return {};
}

Result<SessionInsert> FakeSessionRepository::Insert(const Session& session,
                                                    int max_live_per_client) {
  std::lock_guard lock(mutex_);
  VA_TRY_STATUS(Check());
  int64_t live = 0;
  for (const auto& s : sessions_) {
    if (s.id == session.id) return Fail(ErrorKind::kInvalid, "fake: session id reused");
    if (s.client_id != session.client_id || !IsLive(s.state)) continue;
    if (s.file_id == session.file_id) return SessionInsert::kDuplicate;
    ++live;
  }
  if (live >= max_live_per_client) return SessionInsert::kClientLimit;
  sessions_.push_back(session);
  return SessionInsert::kInserted;
}

Result<std::optional<Session>> FakeSessionRepository::FindById(std::string_view id) {
  std::lock_guard lock(mutex_);
  VA_TRY_STATUS(Check());
  for (const auto& s : sessions_) {
    if (s.id == id) return s;
  }
  return std::nullopt;
}

Result<bool> FakeSessionRepository::Transition(std::string_view id, SessionState from,
                                               SessionState to,
                                               std::optional<int64_t> terminated_at,
                                               std::optional<TerminationReason> reason) {
  std::lock_guard lock(mutex_);
  VA_TRY_STATUS(Check());
  if (fail_to_ && *fail_to_ == to) return Fail(ErrorKind::kSystem, "fake transition failure");
  for (auto& s : sessions_) {
    if (s.id != id) continue;
    if (s.state != from) return false;
    s.state = to;
    if (terminated_at) s.terminated_at = terminated_at;
    if (reason) s.termination_reason = reason;
    transitions_.fetch_add(1);
    Note(log_, "repo.Transition " + std::string(SessionStateName(from)) + "->" +
                   std::string(SessionStateName(to)));
    return true;
  }
  return false;
}

Result<std::optional<Session>> FakeSessionRepository::FindLiveForClientFile(
    std::string_view client_id, std::string_view file_id) {
  std::lock_guard lock(mutex_);
  VA_TRY_STATUS(Check());
  for (const auto& s : sessions_) {
    if (IsLive(s.state) && s.client_id == client_id && s.file_id == file_id) return s;
  }
  return std::nullopt;
}

Result<int64_t> FakeSessionRepository::CountLiveForClient(std::string_view client_id) {
  std::lock_guard lock(mutex_);
  VA_TRY_STATUS(Check());
  return static_cast<int64_t>(std::count_if(sessions_.begin(), sessions_.end(), [&](auto& s) {
    return IsLive(s.state) && s.client_id == client_id;
  }));
}

Result<std::vector<Session>> FakeSessionRepository::ListLive(const SessionFilter& filter) {
  std::lock_guard lock(mutex_);
  VA_TRY_STATUS(Check());
  std::vector<Session> out;
  for (const auto& s : sessions_) {
    if (Matches(s, filter)) out.push_back(s);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Session& a, const Session& b) { return a.started_at < b.started_at; });
  return out;
}

void FakeSessionRepository::FailTransitionsTo(std::optional<SessionState> to) {
  std::lock_guard lock(mutex_);
  fail_to_ = to;
}

void FakeSessionRepository::Put(const Session& session) {
  std::lock_guard lock(mutex_);
  sessions_.push_back(session);
}

std::vector<Session> FakeSessionRepository::All() const {
  std::lock_guard lock(mutex_);
  return sessions_;
}

// --- FakeViewerSandboxes
// --------------------------------------------------------------------------

Result<ViewerInfo> FakeViewerSandboxes::Start(const ViewerSpec& spec) {
  Note(log_, "sandbox.Start");
  std::function<void(const ViewerSpec&)> hook;
  {
    std::lock_guard lock(mutex_);
    hook = on_start_;
  }
  if (hook) hook(spec);
  std::lock_guard lock(mutex_);
  if (start_error_) return tl::unexpected(*start_error_);
  starts_.fetch_add(1);
  live_[spec.sandbox_id] = spec;
  return ViewerInfo{spec.sandbox_id, 4242};
}

Result<ViewerRelease> FakeViewerSandboxes::Destroy(std::string_view sandbox_id) {
  Note(log_, "sandbox.Destroy");
  destroys_.fetch_add(1);
  if (destroy_failures_.load() > 0) {
    destroy_failures_.fetch_sub(1);
    return Fail(ErrorKind::kTimeout, "fake: processes survived cgroup.kill");
  }
  std::lock_guard lock(mutex_);
  ViewerRelease release;
  if (auto it = live_.find(std::string(sandbox_id)); it != live_.end()) {
    live_.erase(it);
    release.existed = true;
    release.processes = 2;
  }
  return release;
}

Result<std::vector<std::string>> FakeViewerSandboxes::SweepOrphans() {
  Note(log_, "sandbox.SweepOrphans");
  std::lock_guard lock(mutex_);
  return std::exchange(orphans_, {});
}

void FakeViewerSandboxes::SetExitHandler(ExitHandler handler) {
  std::lock_guard running(handler_mutex_);
  handler_ = std::move(handler);
}

void FakeViewerSandboxes::FailStart(std::optional<Error> error) {
  std::lock_guard lock(mutex_);
  start_error_ = std::move(error);
}

void FakeViewerSandboxes::SetOnStart(std::function<void(const ViewerSpec&)> hook) {
  std::lock_guard lock(mutex_);
  on_start_ = std::move(hook);
}

void FakeViewerSandboxes::SetOrphans(std::vector<std::string> ids) {
  std::lock_guard lock(mutex_);
  orphans_ = std::move(ids);
}

bool FakeViewerSandboxes::SimulateExit(const std::string& sandbox_id) {
  std::string session_id;
  {
    std::lock_guard lock(mutex_);
    auto it = live_.find(sandbox_id);
    if (it == live_.end()) return false;
    session_id = it->second.session_id;
    live_.erase(it);  // the viewer is gone; Destroy() still cleans up (existed=false here)
  }
  std::lock_guard running(handler_mutex_);
  if (handler_) handler_(session_id, sandbox_id);
  return true;
}

std::map<std::string, ViewerSpec> FakeViewerSandboxes::Live() const {
  std::lock_guard lock(mutex_);
  return live_;
}

// --- FakePeerService
// ------------------------------------------------------------------------------

std::string FakePeerService::OfferFor(std::string_view session_id) {
  return "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=" + std::string(session_id) +
         "\r\nt=0 0\r\na=candidate:1 1 UDP 2130706431 127.0.0.1 40000 typ host\r\n"
         "a=end-of-candidates\r\n";
}

Result<std::string> FakePeerService::CreateOffer(std::string_view session_id,
                                                 std::string_view /*sandbox_id*/) {
  Note(log_, "peer.CreateOffer");
  if (fail_offer_) return Fail(ErrorKind::kSystem, "fake: webrtcbin refused");
  std::lock_guard lock(mutex_);
  peers_.emplace(session_id);
  return OfferFor(session_id);
}

Status FakePeerService::SetAnswer(std::string_view session_id, std::string_view sdp) {
  std::lock_guard lock(mutex_);
  if (peers_.count(std::string(session_id)) == 0) return Fail(ErrorKind::kNotFound, "no peer");
  if (sdp.substr(0, 3) != "v=0") return Fail(ErrorKind::kInvalid, "fake: not an SDP");
  answers_[std::string(session_id)] = std::string(sdp);
  return {};
}

Status FakePeerService::AddIceCandidate(std::string_view session_id,
                                        const IceCandidate& candidate) {
  std::lock_guard lock(mutex_);
  if (peers_.count(std::string(session_id)) == 0) return Fail(ErrorKind::kNotFound, "no peer");
  if (candidate.candidate == "bad") return Fail(ErrorKind::kInvalid, "fake: bad candidate");
  candidates_.push_back(candidate);
  return {};
}

Status FakePeerService::Close(std::string_view session_id,
                              std::optional<TerminationReason> reason) {
  Note(log_, "peer.Close " + std::string(reason ? TerminationReasonName(*reason) : "none"));
  std::lock_guard lock(mutex_);
  peers_.erase(std::string(session_id));
  closes_.push_back(Closed{std::string(session_id), reason});
  if (fail_close_) return Fail(ErrorKind::kSystem, "fake: data channel send failed");
  return {};
}

std::vector<FakePeerService::Closed> FakePeerService::Closes() const {
  std::lock_guard lock(mutex_);
  return closes_;
}

std::set<std::string> FakePeerService::Peers() const {
  std::lock_guard lock(mutex_);
  return peers_;
}

std::map<std::string, std::string> FakePeerService::Answers() const {
  std::lock_guard lock(mutex_);
  return answers_;
}

std::vector<IceCandidate> FakePeerService::Candidates() const {
  std::lock_guard lock(mutex_);
  return candidates_;
}

// --- FakeNotifier, FakeEventSink
// ------------------------------------------------------------------

void FakeNotifier::Publish(Notification notification) {
  std::function<void(const Notification&)> probe;
  {
    std::lock_guard lock(mutex_);
    probe = probe_;
  }
  if (probe) probe(notification);
  std::string entry = "notify " + notification.type;
  for (const auto& r : notification.recipients) entry += " " + r;
  if (notification.include_admins) entry += " +admins";
  Note(log_, std::move(entry));
  std::lock_guard lock(mutex_);
  sent_.push_back(std::move(notification));
}

std::vector<Notification> FakeNotifier::Sent() const {
  std::lock_guard lock(mutex_);
  return sent_;
}

std::vector<std::string> FakeNotifier::JsonFor(const std::string& user_id) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& n : sent_) {
    if (std::find(n.recipients.begin(), n.recipients.end(), user_id) != n.recipients.end()) {
      out.push_back(n.json);
    }
  }
  return out;
}

void FakeNotifier::SetProbe(std::function<void(const Notification&)> probe) {
  std::lock_guard lock(mutex_);
  probe_ = std::move(probe);
}

void FakeEventSink::Publish(const SessionEvent& event) {
  Note(log_, event.kind == SessionEvent::Kind::kStarted ? "event Started" : "event Terminated");
  std::lock_guard lock(mutex_);
  events_.push_back(event);
}

std::vector<SessionEvent> FakeEventSink::Events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

// --- ManualScheduler
// ------------------------------------------------------------------------------

TimerId ManualScheduler::At(WallTime when, std::function<void()> fn) {
  std::lock_guard lock(mutex_);
  const TimerId id = next_++;
  timers_.emplace(id, Timer{when, std::move(fn)});
  return id;
}

void ManualScheduler::Cancel(TimerId id) {
  Note(log_, "scheduler.Cancel");
  std::lock_guard lock(mutex_);
  timers_.erase(id);
}

size_t ManualScheduler::FireDue() {
  size_t ran = 0;
  for (;;) {
    std::function<void()> fn;
    {
      std::lock_guard lock(mutex_);
      const WallTime now = clock_.Now();
      auto due = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (it->second.when <= now &&
            (due == timers_.end() || it->second.when < due->second.when)) {
          due = it;
        }
      }
      if (due == timers_.end()) return ran;
      fn = std::move(due->second.fn);
      timers_.erase(due);
    }
    fn();
    ++ran;
  }
}

size_t ManualScheduler::Pending() const {
  std::lock_guard lock(mutex_);
  return timers_.size();
}

std::vector<WallTime> ManualScheduler::PendingTimes() const {
  std::lock_guard lock(mutex_);
  std::vector<WallTime> out;
  for (const auto& [id, timer] : timers_) out.push_back(timer.when);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace va::vault::testing
