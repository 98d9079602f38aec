// The viewer's event loop; see viewer.h.
#include "vault/viewer/viewer.h"

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <memory>

#include "base/log.h"
#include "base/sys.h"
#include "vault/viewer/document.h"
#include "vault/viewer/frame_shm.h"
#include "vault/viewer/protocol.h"
#include "vault/viewer/view_state.h"

namespace va::vault::viewer {
namespace {

enum class SendResult { kSent, kPeerGone };

Result<SendResult> SendMessage(int fd, const ViewerMessage& message) {
  const std::string text = Encode(message);
  ssize_t n = RetryEintr([&] { return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL); });
  if (n < 0) {
    if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) return SendResult::kPeerGone;
    return SysFail("send to the server");
  }
  return SendResult::kSent;
}

Status CheckSocket(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return SysFail("socket fd");
  if (type != SOCK_SEQPACKET) return Fail(ErrorKind::kInvalid, "socket fd is not SOCK_SEQPACKET");
  return {};
}

Result<std::string> ReadInput(const ViewerOptions& options) {
  VA_TRY(UniqueFd fd, Open(options.file, O_RDONLY | O_NOCTTY));
  VA_TRY(struct stat st, Fstat(fd.Get()));
  if (!S_ISREG(st.st_mode)) return Fail(ErrorKind::kInvalid, "not a regular file");
  if (static_cast<uint64_t>(st.st_size) > options.max_file_bytes) {
    return Fail(ErrorKind::kUnsupported, "the file is too large to show");
  }
  return ReadAll(fd.Get(), options.max_file_bytes);
}

class Loop {
 public:
  Loop(int socket_fd, FrameShm shm, std::unique_ptr<Document> doc, const ViewerOptions& options)
      : fd_(socket_fd),
        shm_(std::move(shm)),
        doc_(std::move(doc)),
        state_(*doc_, options.width, options.height, shm_.WidthMax(), shm_.HeightMax()) {}

  Result<int> Run(ViewerStats& stats) {
    VA_TRY(SendResult ready, SendMessage(fd_, ReadyMessage{doc_->Pages(), doc_->Kind()}));
    if (ready == SendResult::kPeerGone) return 0;
    bool dirty = true;
    for (;;) {
      if (dirty) {
        const int slot = FreeSlot();
        if (slot >= 0) {
          VA_TRY(bool sent, Render(slot, stats));
          if (!sent) return 0;
          dirty = false;
        }
      }
      pollfd p{fd_, POLLIN | POLLRDHUP, 0};
      int r = RetryEintr([&] { return ::poll(&p, 1, -1); });
      if (r < 0) return SysFail("poll");
      // Apply everything that is queued, then draw once.
      for (;;) {
        std::array<char, kMaxMessageBytes + 1> buf;
        msghdr msg{};
        iovec iov{buf.data(), buf.size()};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        ssize_t n = RetryEintr([&] { return ::recvmsg(fd_, &msg, MSG_DONTWAIT); });
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          if (errno == ECONNRESET) return 0;
          return SysFail("recv from the server");
        }
        if (n == 0) {
          // End of file, or an empty datagram: poll tells them apart (POLLHUP/POLLRDHUP).
          if ((p.revents & (POLLHUP | POLLRDHUP)) != 0) return 0;
          ++stats.ignored_messages;
          break;
        }
        if ((msg.msg_flags & MSG_TRUNC) != 0) {
          ++stats.ignored_messages;
          continue;
        }
        auto parsed = ParseServerMessage(std::string_view(buf.data(), static_cast<size_t>(n)));
        if (!parsed) {
          ++stats.ignored_messages;
          LogDebug("viewer_message_ignored", {{"error", parsed.error().message}});
          continue;
        }
        if (const auto* release = std::get_if<ReleaseMessage>(&*parsed)) {
          if (release->slot == 0 || release->slot == 1) held_[release->slot] = false;
        }
        switch (state_.Apply(*parsed)) {
          case ApplyResult::kChanged:
            dirty = true;
            break;
          case ApplyResult::kUnchanged:
            break;
          case ApplyResult::kRejected:
            ++stats.ignored_messages;
            break;
        }
      }
    }
  }

 private:
  // A slot the server does not hold, preferring the one not used last; -1 when both are held.
  int FreeSlot() const {
    const int next = last_slot_ ^ 1;
    if (!held_[next]) return next;
    if (!held_[last_slot_]) return last_slot_;
    return -1;
  }

  // Draws the current view into `slot` and announces it. false: the server is gone.
  Result<bool> Render(int slot, ViewerStats& stats) {
    const View& view = state_.Current();
    const auto start = std::chrono::steady_clock::now();
    Status drawn = RenderView(*doc_, view, shm_.Slot(slot), shm_.Stride());
    if (!drawn)
      LogWarn("viewer_page_not_drawn", {{"page", view.page}, {"error", drawn.error().message}});
    LogDebug("viewer_frame", {{"slot", slot},
                              {"page", view.page},
                              {"render", std::chrono::steady_clock::now() - start}});
    held_[slot] = true;
    last_slot_ = slot;
    ++stats.frames;
    VA_TRY(SendResult sent,
           SendMessage(fd_, FrameMessage{slot, view.width, view.height, ++seq_, view.page}));
    return sent == SendResult::kSent;
  }

  int fd_;
  FrameShm shm_;
  std::unique_ptr<Document> doc_;
  ViewState state_;
  std::array<bool, 2> held_{false, false};
  int last_slot_ = 1;  // so that the first frame goes to slot 0
  uint64_t seq_ = 0;
};

}  // namespace

Result<int> RunViewer(const ViewerOptions& options, ViewerStats* stats) {
  ViewerStats local;
  ViewerStats& s = stats != nullptr ? *stats : local;
  VA_TRY_STATUS(CheckSocket(options.socket_fd));
  auto shm = FrameShm::Attach(options.shm_fd);
  if (!shm) {
    Error error = std::move(shm.error());
    (void)SendMessage(options.socket_fd, ErrorMessage{"viewer: unusable frame buffer"});
    return tl::unexpected(std::move(error).Context("frame buffer"));
  }
  auto doc =
      ReadInput(options).and_then([](std::string bytes) { return LoadDocument(std::move(bytes)); });
  if (!doc) {
    LogWarn("viewer_file_refused", {{"file", options.file}, {"error", doc.error().message}});
    // A file that cannot be read is reported without the system's words about the path.
    const std::string message = doc.error().kind == ErrorKind::kSystem ||
                                        doc.error().kind == ErrorKind::kNotFound ||
                                        doc.error().kind == ErrorKind::kPermission
                                    ? "the file cannot be read"
                                    : doc.error().message;
    VA_TRY(SendResult sent, SendMessage(options.socket_fd, ErrorMessage{message}));
    (void)sent;
    return 1;
  }
  Loop loop(options.socket_fd, std::move(*shm), std::move(*doc), options);
  auto status = loop.Run(s);
  LogInfo("viewer_exit", {{"frames", s.frames}, {"ignored_messages", s.ignored_messages}});
  return status;
}

}  // namespace va::vault::viewer
