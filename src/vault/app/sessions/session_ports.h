// The ports the session lifecycle (SessionService) drives, implemented by adapters — the SQLite
// and PostgreSQL stores, the sandbox + vault-viewer runner, the GStreamer WebRTC peer, the
// WebSocket hub, a timer thread — and by the in-memory fakes of testing/session_fakes.h.
// Header-only: an adapter includes it without linking the application layer.
//
// Every method is safe to call from several threads at once. Ports never call back into the
// SessionService while holding a lock that one of their own methods takes (the service calls
// Destroy from inside an exit handler, and Cancel from inside a timer callback).
//
// Failures: a Result error means the backend failed; "not found" is an ordinary answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "vault/domain/session.h"

namespace va::vault {

// --- sessions in the database ---------------------------------------------------------------

enum class SessionInsert {
  kInserted,
  kDuplicate,    // the client already has a live session on this file (nothing inserted)
  kClientLimit,  // the client already has `max_live_per_client` live sessions (nothing inserted)
};

// Which live sessions to list; every field that is set must match (none set: all of them).
struct SessionFilter {
  std::optional<std::string> owner_id;
  std::optional<std::string> client_id;
  std::optional<std::string> node_id;
  std::optional<std::string> permission_id;
  std::optional<std::string> file_id;
};

// "Live" (IsLive) means Starting, Active or Terminating.
class SessionRepository {
 public:
  virtual ~SessionRepository() = default;
  // Inserts `session` (in state Starting) unless the client already has a live session on the
  // same file or `max_live_per_client` live sessions in all; the checks and the insert are one
  // atomic step, so two concurrent starts cannot both pass them.
  virtual Result<SessionInsert> Insert(const Session& session, int max_live_per_client) = 0;
  virtual Result<std::optional<Session>> FindById(std::string_view id) = 0;
  // Compare-and-set: moves the session from `from` to `to` only if it is in `from` now, setting
  // terminated_at / termination_reason when given (and leaving them unchanged when not). true
  // when this call made the change; false when the session is missing or in another state. Of
  // several concurrent calls with the same `from`, at most one returns true — also across
  // processes sharing the database.
  virtual Result<bool> Transition(std::string_view id, SessionState from, SessionState to,
                                  std::optional<int64_t> terminated_at,
                                  std::optional<TerminationReason> reason) = 0;
  // The client's live session on the file, if any.
  virtual Result<std::optional<Session>> FindLiveForClientFile(std::string_view client_id,
                                                               std::string_view file_id) = 0;
  virtual Result<int64_t> CountLiveForClient(std::string_view client_id) = 0;
  // Live sessions matching `filter`, oldest first (started_at, then insertion order).
  virtual Result<std::vector<Session>> ListLive(const SessionFilter& filter) = 0;
};

// --- the sandboxed viewer -----------------------------------------------------------------------

struct ViewerSpec {
  std::string session_id;
  std::string sandbox_id;  // sbx_…: names the cgroup and scratch dir, appears in the viewer's argv
  std::string file_path;   // the one host file the viewer may read (BlobStore::PathOf)
  std::string content_type;  // as uploaded; the viewer also sniffs the bytes
  int width = 0;             // the first frame size; the peer may ask for another later
  int height = 0;
};

struct ViewerInfo {
  std::string sandbox_id;
  int64_t init_pid = 0;  // for logs only; never signal by pid
};

struct ViewerRelease {
  std::chrono::nanoseconds elapsed{};
  bool existed = false;   // false: nothing of that sandbox was found (already destroyed)
  int64_t processes = 0;  // processes killed
};

class ViewerSandboxes {
 public:
  // Called (on an adapter thread) when a viewer's process exits on its own, i.e. not inside
  // Destroy(). May be called for a sandbox the service is destroying at that moment.
  using ExitHandler =
      std::function<void(const std::string& session_id, const std::string& sandbox_id)>;

  virtual ~ViewerSandboxes() = default;
  // Starts `spec`'s viewer in a new sandbox with every isolation layer of spec §8, or fails
  // closed: kUnsupported / kPermission when a required layer cannot be applied (the service
  // answers SandboxUnavailable), another kind for any other failure. Nothing is left behind on
  // failure. The error message names the layer and is for logs and the audit log only.
  virtual Result<ViewerInfo> Start(const ViewerSpec& spec) = 0;
  // Kills every process of the sandbox, waits until none is left, removes its cgroup and
  // scratch dir (spec §7, seed AC4). Idempotent: a sandbox already destroyed, or never created,
  // is success with existed=false. Also destroys what a previous process of this node left
  // under that id. Errors (kTimeout: processes survived the kill) mean something may remain;
  // the service retries later.
  virtual Result<ViewerRelease> Destroy(std::string_view sandbox_id) = 0;
  // Destroys everything a dead previous process of this node left (sandboxes, cgroups, scratch
  // dirs) and returns their sbx_ ids. Sandboxes of live processes are left alone.
  virtual Result<std::vector<std::string>> SweepOrphans() = 0;
  // Replaces the handler (nullptr: none). After it returns, the previous handler is not called
  // again and no call of it is still running.
  virtual void SetExitHandler(ExitHandler handler) = 0;
};

// --- the WebRTC peer
// ------------------------------------------------------------------------------

struct IceCandidate {
  std::string candidate;  // "candidate:…" ("" = end of candidates)
  std::optional<std::string> sdp_mid;
  std::optional<int64_t> sdp_mline_index;
};

class PeerService {
 public:
  virtual ~PeerService() = default;
  // Creates the session's peer, fed by the viewer of `sandbox_id`, with its data channel, and
  // returns the SDP offer once ICE gathering is complete (the offer carries the server's
  // candidates).
  virtual Result<std::string> CreateOffer(std::string_view session_id,
                                          std::string_view sandbox_id) = 0;
  // kInvalid when the SDP is malformed or does not answer the offer; kNotFound when the session
  // has no peer.
  virtual Status SetAnswer(std::string_view session_id, std::string_view sdp) = 0;
  // kInvalid for a malformed candidate; kNotFound when the session has no peer.
  virtual Status AddIceCandidate(std::string_view session_id, const IceCandidate& candidate) = 0;
  // Sends {"type":"SessionTerminated","reason":"<reason>"} on the data channel when it is open
  // (nothing when `reason` is nullopt: a start that failed before the client could connect),
  // then closes the channel and the peer and frees it. Idempotent: success when the session has
  // no peer. An error still leaves the peer freed; it only reports what went wrong.
  virtual Status Close(std::string_view session_id, std::optional<TerminationReason> reason) = 0;
};

// --- notifications (spec §10) -------------------------------------------------------------------

struct Notification {
  std::string type;                     // the message's "type": "SessionStarted", …
  std::string json;                     // the whole message, a JSON object
  std::vector<std::string> recipients;  // user ids
  bool include_admins = false;          // also every connected admin
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  // Queues `notification` for every connection of its recipients (and of admins when asked),
  // each connection receiving it at most once even when its user is named twice. Never blocks:
  // a connection whose queue is full is dropped (close code 4408).
  virtual void Publish(Notification notification) = 0;
};

// --- domain events (metrics, multi-node fan-out)
// --------------------------------------------------

struct SessionEvent {
  enum class Kind { kStarted, kTerminated };
  Kind kind = Kind::kStarted;
  Session session;  // as it is after the event
  // kStarted: StartSession's request until Active. kTerminated: from the winning compare-and-set
  // until the session was Terminated with every resource released (or given up on).
  std::chrono::nanoseconds latency{};
  int64_t duration_seconds = 0;  // kTerminated
  bool release_failed = false;   // kTerminated: a resource is left to the reaper
};

class SessionEventSink {
 public:
  virtual ~SessionEventSink() = default;
  // Never blocks.
  virtual void Publish(const SessionEvent& event) = 0;
};

// --- timers
// ----------------------------------------------------------------------------------------

using TimerId = uint64_t;

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Runs `fn` once, on a scheduler thread, at or after wall time `when` (immediately when it is
  // past) — never inside At() itself. Returns an id > 0.
  virtual TimerId At(WallTime when, std::function<void()> fn) = 0;
  // The timer will not start after Cancel returns. Does not wait for a callback that is already
  // running (Cancel is called from inside callbacks). Unknown or fired ids are ignored.
  virtual void Cancel(TimerId id) = 0;
};

// --- node capacity
// --------------------------------------------------------------------------------

// How many sandboxes this node may run at once (by memory). A slot is taken for each session
// from StartSession until its sandbox is destroyed.
class NodeCapacity {
 public:
  virtual ~NodeCapacity() = default;
  // Takes a slot for `session_id`; false when the node is full. A second call for the same id
  // takes no second slot and answers true.
  virtual bool TryAcquire(std::string_view session_id) = 0;
  // Gives the slot back; unknown ids are ignored.
  virtual void Release(std::string_view session_id) = 0;
};

}  // namespace va::vault
