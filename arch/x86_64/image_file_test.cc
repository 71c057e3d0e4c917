#include "arch/x86_64/image_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "arch/x86_64/testing/test_files.h"
#include "gtest/gtest.h"

namespace blimp::arch::x86_64 {
namespace {

TEST(ImageFileTest, OpensARegularFile) {
  std::string path = WriteTestFile("image", {1, 2, 3});
  absl::StatusOr<ImageFile> image = ImageFile::Open(path, "kernel");
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->size(), 3u);
  uint8_t bytes[3] = {};
  ASSERT_TRUE(image->ReadAt(0, bytes, 3).ok());
  EXPECT_EQ(bytes[2], 3);
}

TEST(ImageFileTest, RefusesAFifoWithoutBlocking) {
  // Without O_NONBLOCK, open() of a FIFO with no writer never returns.
  std::string path = WriteTestFile("fifo-dir-marker", {0});
  path = path.substr(0, path.rfind('/')) + "/kernel.fifo";
  ::unlink(path.c_str());
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  absl::StatusOr<ImageFile> image = ImageFile::Open(path, "kernel");
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(image.status().message(), "kernel '" + path + "': not a regular file");
}

TEST(ImageFileTest, RefusesADirectoryAndANulByte) {
  std::string path = WriteTestFile("image2", {1});
  std::string dir = path.substr(0, path.rfind('/'));
  EXPECT_EQ(ImageFile::Open(dir, "initrd").status().message(),
            "initrd '" + dir + "': not a regular file");
  // Cut at the NUL, this would open `path`.
  absl::StatusOr<ImageFile> cut = ImageFile::Open(path + std::string("\0x", 2), "kernel");
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(cut.status().message().find("contains a NUL byte"), std::string::npos);
}

}  // namespace
}  // namespace blimp::arch::x86_64
