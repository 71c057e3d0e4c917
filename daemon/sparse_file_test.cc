#include "daemon/sparse_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "gtest/gtest.h"

namespace blimp::daemon {
namespace {

constexpr uint64_t kMiB = 1 << 20;

class SparseFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/sparse_file_test.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  // A 16 MiB file holding 'a' at 1 MiB and 'b' at 9 MiB (64 KiB each).
  std::string MakeSparse(const std::string& name) {
    const std::string path = dir_ + "/" + name;
    base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600));
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(::ftruncate(fd.get(), 16 * kMiB), 0);
    const std::string a(64 << 10, 'a'), b(64 << 10, 'b');
    EXPECT_EQ(::pwrite(fd.get(), a.data(), a.size(), 1 * kMiB), static_cast<ssize_t>(a.size()));
    EXPECT_EQ(::pwrite(fd.get(), b.data(), b.size(), 9 * kMiB), static_cast<ssize_t>(b.size()));
    return path;
  }

  static uint64_t AllocatedBytes(const std::string& path) {
    struct stat st;
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }

  static std::string ReadAt(const std::string& path, uint64_t offset, size_t size) {
    base::UniqueFd fd(::open(path.c_str(), O_RDONLY));
    std::string data(size, '\0');
    EXPECT_EQ(::pread(fd.get(), data.data(), size, offset), static_cast<ssize_t>(size));
    return data;
  }

  std::string dir_;
};

TEST_F(SparseFileTest, DataRangesSkipHoles) {
  const std::string path = MakeSparse("in");
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY));
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  ASSERT_TRUE(ForEachDataRange(fd.get(), [&](uint64_t offset, uint64_t length) {
                ranges.emplace_back(offset, length);
                return absl::OkStatus();
              }).ok());
  ASSERT_EQ(ranges.size(), 2u);
  uint64_t total = 0;
  for (const auto& [offset, length] : ranges) total += length;
  EXPECT_LE(ranges[0].first, 1 * kMiB);
  EXPECT_GE(ranges[1].first + ranges[1].second, 9 * kMiB + (64 << 10));
  EXPECT_LT(total, 2 * kMiB);  // Filesystem blocks around 128 KiB of data.
}

TEST_F(SparseFileTest, AnErrorStopsTheWalk) {
  const std::string path = MakeSparse("in");
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY));
  int calls = 0;
  absl::Status status = ForEachDataRange(fd.get(), [&](uint64_t, uint64_t) {
    ++calls;
    return absl::DataLossError("stop");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(calls, 1);
}

TEST_F(SparseFileTest, CopyKeepsDataSizeAndHoles) {
  const std::string in = MakeSparse("in"), out = dir_ + "/out";
  ASSERT_TRUE(CopySparse(in, out).ok());
  struct stat st;
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 16 * kMiB);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_LT(AllocatedBytes(out), 2 * kMiB);
  EXPECT_EQ(ReadAt(out, 1 * kMiB, 64 << 10), std::string(64 << 10, 'a'));
  EXPECT_EQ(ReadAt(out, 9 * kMiB, 64 << 10), std::string(64 << 10, 'b'));
  EXPECT_EQ(ReadAt(out, 4 * kMiB, 16), std::string(16, '\0'));
}

TEST_F(SparseFileTest, CopyNeverReplacesAFile) {
  const std::string in = MakeSparse("in"), out = MakeSparse("out");
  absl::Status status = CopySparse(in, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_EQ(ReadAt(out, 1 * kMiB, 4), "aaaa");  // Untouched.
}

TEST_F(SparseFileTest, CopyOfAMissingFileCreatesNothing) {
  const std::string out = dir_ + "/out";
  EXPECT_FALSE(CopySparse(dir_ + "/missing", out).ok());
  EXPECT_NE(::access(out.c_str(), F_OK), 0);
}

TEST_F(SparseFileTest, MoveLinksAndNeverReplaces) {
  const std::string in = MakeSparse("in"), out = dir_ + "/out";
  ASSERT_TRUE(MoveFile(in, out).ok());
  EXPECT_NE(::access(in.c_str(), F_OK), 0);
  EXPECT_EQ(ReadAt(out, 9 * kMiB, 4), "bbbb");
  const std::string again = MakeSparse("again");
  EXPECT_EQ(MoveFile(again, out).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(::access(again.c_str(), F_OK), 0);  // Not lost.
}

}  // namespace
}  // namespace blimp::daemon
