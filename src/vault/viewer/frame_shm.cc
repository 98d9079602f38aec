// The shared frame buffer; see frame_shm.h for the layout and the checks.
#include "vault/viewer/frame_shm.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>

#include "base/sys.h"

namespace va::vault::viewer {
namespace {

bool WithinLimits(int64_t w, int64_t h) {
  return w >= kMinWidth && w <= kMaxWidth && h >= kMinHeight && h <= kMaxHeight;
}

uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

void StoreU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

Result<void*> MapShared(int fd, size_t bytes) {
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return SysFail("mmap frame buffer");
  return base;
}

}  // namespace

Result<FrameShm> FrameShm::Create(int width_max, int height_max) {
  if (!WithinLimits(width_max, height_max)) {
    return Fail(ErrorKind::kInvalid, "frame buffer " + std::to_string(width_max) + "x" +
                                         std::to_string(height_max) + " outside the limits");
  }
  const size_t bytes = ShmBytes(width_max, height_max);
  UniqueFd fd(::memfd_create("vault-viewer-frames", MFD_CLOEXEC));
  if (!fd) return SysFail("memfd_create");
  if (RetryEintr([&] { return ::ftruncate(fd.Get(), static_cast<off_t>(bytes)); }) != 0) {
    return SysFail("ftruncate frame buffer");
  }
  VA_TRY(void* base, MapShared(fd.Get(), bytes));
  auto* header = static_cast<uint8_t*>(base);
  StoreU32(header, kShmMagic);
  StoreU32(header + 4, kShmVersion);
  StoreU32(header + 8, static_cast<uint32_t>(width_max));
  StoreU32(header + 12, static_cast<uint32_t>(height_max));
  return FrameShm(std::move(fd), base, bytes, width_max, height_max);
}

Result<FrameShm> FrameShm::Attach(int fd) {
  VA_TRY(struct stat st, Fstat(fd));
  if (!S_ISREG(st.st_mode)) return Fail(ErrorKind::kInvalid, "frame buffer is not a memfd/file");
  if (static_cast<size_t>(st.st_size) < kShmHeaderBytes) {
    return Fail(ErrorKind::kInvalid, "frame buffer smaller than its header");
  }
  uint8_t header[16];
  ssize_t n = RetryEintr([&] { return ::pread(fd, header, sizeof header, 0); });
  if (n != static_cast<ssize_t>(sizeof header)) return SysFail("read frame buffer header");
  if (LoadU32(header) != kShmMagic) return Fail(ErrorKind::kCorrupt, "frame buffer: bad magic");
  if (LoadU32(header + 4) != kShmVersion) {
    return Fail(ErrorKind::kCorrupt, "frame buffer: unsupported version");
  }
  const uint32_t w = LoadU32(header + 8);
  const uint32_t h = LoadU32(header + 12);
  if (!WithinLimits(w, h)) return Fail(ErrorKind::kCorrupt, "frame buffer: maxima out of range");
  const int width_max = static_cast<int>(w);
  const int height_max = static_cast<int>(h);
  const size_t bytes = ShmBytes(width_max, height_max);
  if (static_cast<size_t>(st.st_size) < bytes) {
    return Fail(ErrorKind::kInvalid, "frame buffer: " + std::to_string(st.st_size) +
                                         " bytes, need " + std::to_string(bytes));
  }
  VA_TRY(void* base, MapShared(fd, bytes));
  return FrameShm(UniqueFd(), base, bytes, width_max, height_max);
}

FrameShm::FrameShm(FrameShm&& other) noexcept
    : fd_(std::move(other.fd_)),
      base_(std::exchange(other.base_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      width_max_(other.width_max_),
      height_max_(other.height_max_) {}

FrameShm& FrameShm::operator=(FrameShm&& other) noexcept {
  if (this != &other) {
    Unmap();
    fd_ = std::move(other.fd_);
    base_ = std::exchange(other.base_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    width_max_ = other.width_max_;
    height_max_ = other.height_max_;
  }
  return *this;
}

FrameShm::~FrameShm() { Unmap(); }

void FrameShm::Unmap() {
  if (base_ != nullptr) ::munmap(base_, bytes_);
  base_ = nullptr;
}

std::span<uint8_t> FrameShm::Slot(int slot) const {
  VA_CHECK(slot == 0 || slot == 1, "frame slot must be 0 or 1");
  const size_t slot_bytes = ShmSlotBytes(width_max_, height_max_);
  auto* first = static_cast<uint8_t*>(base_) + kShmHeaderBytes + slot_bytes * slot;
  return {first, slot_bytes};
}

}  // namespace va::vault::viewer
