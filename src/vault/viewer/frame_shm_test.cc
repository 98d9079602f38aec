// The shared frame buffer: the server's Create and the viewer's Attach see the same memory, and
// Attach refuses a descriptor whose size or header is wrong.
#include "vault/viewer/frame_shm.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace va::vault::viewer {
namespace {

TEST(FrameShmTest, AttachSeesWhatCreateWrote) {
  auto server = FrameShm::Create(640, 480);
  ASSERT_TRUE(server) << server.error().message;
  auto viewer = FrameShm::Attach(server->Fd());
  ASSERT_TRUE(viewer) << viewer.error().message;
  EXPECT_EQ(viewer->WidthMax(), 640);
  EXPECT_EQ(viewer->HeightMax(), 480);
  EXPECT_EQ(viewer->Stride(), 640u * 4);
  EXPECT_EQ(viewer->Slot(1).size(), 640u * 4 * 480);
  viewer->Slot(1)[5] = 0xAB;
  EXPECT_EQ(server->Slot(1)[5], 0xAB);
  EXPECT_EQ(server->Slot(1).data() - server->Slot(0).data(),
            static_cast<ptrdiff_t>(ShmSlotBytes(640, 480)));
  // The header, byte for byte: "WFVV" little-endian, version 1, maxima.
  uint8_t header[16];
  ASSERT_EQ(::pread(server->Fd(), header, sizeof header, 0), 16);
  const uint8_t expected[16] = {0x57, 0x46, 0x56, 0x56, 1, 0, 0, 0, 0x80, 2, 0, 0, 0xE0, 1, 0, 0};
  EXPECT_EQ(std::memcmp(header, expected, 16), 0);
}

TEST(FrameShmTest, CreateRefusesSizesOutsideTheLimits) {
  EXPECT_FALSE(FrameShm::Create(15, 100));
  EXPECT_FALSE(FrameShm::Create(3841, 100));
  EXPECT_FALSE(FrameShm::Create(100, 2161));
  EXPECT_TRUE(FrameShm::Create(3840, 2160));
}

TEST(FrameShmTest, AttachRefusesABadDescriptor) {
  auto good = FrameShm::Create(64, 64);
  ASSERT_TRUE(good);
  // Too small for its own header's maxima.
  ASSERT_EQ(::ftruncate(good->Fd(), static_cast<off_t>(ShmBytes(64, 64) - 1)), 0);
  EXPECT_FALSE(FrameShm::Attach(good->Fd()));

  int fd = ::memfd_create("bad", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(ShmBytes(64, 64))), 0);
  auto zeros = FrameShm::Attach(fd);  // no magic
  ASSERT_FALSE(zeros);
  EXPECT_EQ(zeros.error().kind, ErrorKind::kCorrupt);
  const uint32_t header[4] = {kShmMagic, 2, 64, 64};  // wrong version
  ASSERT_EQ(::pwrite(fd, header, sizeof header, 0), 16);
  EXPECT_FALSE(FrameShm::Attach(fd));
  const uint32_t huge[4] = {kShmMagic, 1, 100000, 64};  // maxima out of range
  ASSERT_EQ(::pwrite(fd, huge, sizeof huge, 0), 16);
  EXPECT_FALSE(FrameShm::Attach(fd));
  ::close(fd);

  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  EXPECT_FALSE(FrameShm::Attach(pipefd[0]));
  ::close(pipefd[0]);
  ::close(pipefd[1]);
}

}  // namespace
}  // namespace va::vault::viewer
