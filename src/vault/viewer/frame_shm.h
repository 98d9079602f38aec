// The frame double-buffer shared by vault-viewer and vaultd (docs/vault-viewer-protocol.md): one
// memfd holding a 64-byte header (little-endian u32: magic "WFVV", version 1, width_max,
// height_max, then zeros) and two frame slots of `stride * height_max` bytes, stride = width_max
// * 4. Pixels are 32-bit BGRx (cairo RGB24 on little-endian), top-down.
//
// FrameShm owns one shared mapping of that memfd (and, for the creating side, the memfd itself).
// Create() is the server's side: memfd, size, header. Attach() is the viewer's: it trusts nothing
// in the descriptor — the size, the magic, the version and the limits are all checked — and
// fails with kInvalid/kCorrupt naming what is wrong. Move-only; unmaps once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.h"
#include "base/unique_fd.h"

namespace va::vault::viewer {

inline constexpr uint32_t kShmMagic = 0x56564657;  // "WFVV" read as a little-endian u32
inline constexpr uint32_t kShmVersion = 1;
inline constexpr size_t kShmHeaderBytes = 64;
inline constexpr int kMinWidth = 16;
inline constexpr int kMaxWidth = 3840;
inline constexpr int kMinHeight = 16;
inline constexpr int kMaxHeight = 2160;
inline constexpr int kSlots = 2;

constexpr size_t ShmStride(int width_max) { return static_cast<size_t>(width_max) * 4; }
constexpr size_t ShmSlotBytes(int width_max, int height_max) {
  return ShmStride(width_max) * static_cast<size_t>(height_max);
}
// Bytes of the whole memfd for these maxima (kShmBytes of the protocol).
constexpr size_t ShmBytes(int width_max, int height_max) {
  return kShmHeaderBytes + kSlots * ShmSlotBytes(width_max, height_max);
}

class FrameShm {
 public:
  // A new memfd sized and headed for width_max x height_max (each within the limits, else
  // kInvalid), mapped shared. The caller passes Fd() to the viewer (as its fd 3).
  static Result<FrameShm> Create(int width_max, int height_max);
  // Maps an existing memfd after checking its size and header. Does not take the descriptor.
  static Result<FrameShm> Attach(int fd);

  FrameShm(FrameShm&& other) noexcept;
  FrameShm& operator=(FrameShm&& other) noexcept;
  FrameShm(const FrameShm&) = delete;
  FrameShm& operator=(const FrameShm&) = delete;
  ~FrameShm();

  // The memfd when this side created it, else -1.
  int Fd() const { return fd_.Get(); }
  int WidthMax() const { return width_max_; }
  int HeightMax() const { return height_max_; }
  size_t Stride() const { return ShmStride(width_max_); }
  // Slot 0 or 1 (anything else aborts): Stride() * HeightMax() bytes.
  std::span<uint8_t> Slot(int slot) const;

 private:
  FrameShm(UniqueFd fd, void* base, size_t bytes, int width_max, int height_max)
      : fd_(std::move(fd)),
        base_(base),
        bytes_(bytes),
        width_max_(width_max),
        height_max_(height_max) {}
  void Unmap();

  UniqueFd fd_;
  void* base_ = nullptr;
  size_t bytes_ = 0;
  int width_max_ = 0;
  int height_max_ = 0;
};

}  // namespace va::vault::viewer
