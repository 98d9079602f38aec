// The viewer's event loop (docs/vault-viewer-protocol.md): open the one input file, send `ready`,
// then render a frame into a free slot of the shared buffer whenever the picture has changed and
// announce it with `frame`; apply the server's messages; exit when the socket closes.
//
// The loop sleeps in poll(2) on the socket alone: no timer, no busy wait, so an idle viewer uses
// no CPU. Messages that arrive together are all applied before one frame is drawn. A picture that
// changes while both slots are held waits for the next `release`. Unknown or malformed messages
// are ignored and counted (logged at exit).
//
// RunViewer returns the exit status: 0 when the socket reached end of file (or the peer is gone),
// 1 after sending `error` for a file that cannot be opened or shown. It fails (the caller exits
// 2) only when the descriptors themselves are unusable: no valid frame buffer, no socket.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace va::vault::viewer {

struct ViewerOptions {
  std::string file;
  int width = 1280;
  int height = 720;
  int shm_fd = 3;
  int socket_fd = 4;
  // Largest file read into memory; a larger one gets `error`.
  size_t max_file_bytes = size_t{256} << 20;
};

struct ViewerStats {
  uint64_t frames = 0;
  uint64_t ignored_messages = 0;
};

Result<int> RunViewer(const ViewerOptions& options, ViewerStats* stats = nullptr);

}  // namespace va::vault::viewer
