#include "base/image_file_check.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace blimp::base {
namespace {

class ImageFileCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/image-check-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    kernel_ = dir_ + "/vmlinux";
    std::ofstream(kernel_) << "kernel";
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  std::string Message(absl::string_view path, const ImageFileRules& rules = {}) {
    absl::Status status = CheckImageFile("kernel_image_path", path, rules);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    return std::string(status.message());
  }

  std::string dir_;
  std::string kernel_;
};

TEST_F(ImageFileCheckTest, AcceptsARegularFile) {
  EXPECT_TRUE(CheckImageFile("kernel_image_path", kernel_).ok());
}

TEST_F(ImageFileCheckTest, RefusesAFifoWithoutBlocking) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Without O_NONBLOCK this open() waits for a writer forever (ctest's
  // timeout would end the test).
  EXPECT_EQ(Message(fifo), "kernel_image_path '" + fifo + "': not a regular file (a FIFO)");
}

TEST_F(ImageFileCheckTest, RefusesDirectoriesDevicesAndMissingFiles) {
  EXPECT_NE(Message(dir_).find("not a regular file (a directory)"), std::string::npos);
  EXPECT_NE(Message("/dev/null").find("a character device"), std::string::npos);
  EXPECT_NE(Message(dir_ + "/missing").find("cannot read: No such file"), std::string::npos);
}

TEST_F(ImageFileCheckTest, RefusesANulByteAnywhere) {
  // A C API would open `kernel_` itself: the part before the NUL.
  std::string with_nul = kernel_ + std::string("\0.evil", 6);
  std::string message = Message(with_nul);
  EXPECT_NE(message.find("contains a NUL byte"), std::string::npos) << message;
  EXPECT_NE(message.find("\\000.evil"), std::string::npos) << message;
}

TEST_F(ImageFileCheckTest, RelativePathsOnlyWhenAllowed) {
  ASSERT_EQ(::chdir(dir_.c_str()), 0);
  EXPECT_NE(Message("vmlinux").find("not an absolute path"), std::string::npos);
  ImageFileRules relative_ok;
  relative_ok.require_absolute = false;
  EXPECT_TRUE(CheckImageFile("kernel_image_path", "vmlinux", relative_ok).ok());
  EXPECT_EQ(CheckImageFile("initrd_path", "").message(), "initrd_path: no path given");
}

TEST_F(ImageFileCheckTest, AllowedDirectoriesResolveSymlinks) {
  const std::string images = dir_ + "/images";
  ASSERT_EQ(::mkdir(images.c_str(), 0700), 0);
  const std::string inside = images + "/vmlinux";
  std::ofstream(inside) << "kernel";
  // A symlink inside the allowed folder that points outside it.
  const std::string escape = images + "/escape";
  ASSERT_EQ(::symlink(kernel_.c_str(), escape.c_str()), 0);
  // A folder whose name starts like the allowed one.
  const std::string sibling = dir_ + "/images2";
  ASSERT_EQ(::mkdir(sibling.c_str(), 0700), 0);
  std::ofstream(sibling + "/vmlinux") << "kernel";

  absl::StatusOr<std::vector<std::string>> dirs = ResolveAllowedDirs({images});
  ASSERT_TRUE(dirs.ok()) << dirs.status();
  ImageFileRules rules;
  rules.allowed_dirs = *dirs;
  EXPECT_TRUE(CheckImageFile("kernel_image_path", inside, rules).ok());
  EXPECT_TRUE(CheckImageFile("kernel_image_path", images + "/../images/vmlinux", rules).ok());
  EXPECT_NE(Message(escape, rules).find("outside the allowed image directories"),
            std::string::npos);
  EXPECT_NE(Message(sibling + "/vmlinux", rules).find("outside"), std::string::npos);
  EXPECT_NE(Message(kernel_, rules).find("outside"), std::string::npos);

  EXPECT_FALSE(ResolveAllowedDirs({dir_ + "/missing"}).ok());
  EXPECT_FALSE(ResolveAllowedDirs({"relative"}).ok());
  EXPECT_FALSE(ResolveAllowedDirs({kernel_}).ok());
}

}  // namespace
}  // namespace blimp::base
