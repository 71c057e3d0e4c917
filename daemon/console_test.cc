// The console: output reaches console.log, which is rotated to console.log.1
// (one old generation) whenever it would pass its cap; the counters add up.
#include "daemon/console.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "daemon/run_dir.h"
#include "daemon/testing/test_util.h"
#include "gtest/gtest.h"

namespace blimp::daemon {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

TEST(ConsoleTest, RotatesTheLogAtItsCap) {
  testing::TempRunDir dir;
  absl::StatusOr<std::unique_ptr<base::EventLoop>> loop = base::EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  int out[2], in[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  base::UniqueFd out_write(out[1]), in_read(in[0]);
  ConsoleOptions options;
  options.log_path = dir.path() + "/console.log";
  options.socket_path = dir.path() + "/console.sock";
  options.max_log_bytes = 1000;
  options.counters = std::make_shared<ConsoleCounters>();
  absl::StatusOr<std::shared_ptr<Console>> console = Console::Create(
      **loop, base::UniqueFd(out[0]), base::UniqueFd(in[1]), options);
  ASSERT_TRUE(console.ok()) << console.status();

  // 3500 bytes of numbered lines: the pipe holds them all; Close() drains it.
  std::string output;
  for (int i = 0; output.size() < 3500; ++i) output += "line " + std::to_string(i) + "\n";
  output.resize(3500);
  ASSERT_EQ(::write(out_write.get(), output.data(), output.size()),
            static_cast<ssize_t>(output.size()));
  out_write.Reset();
  (*console)->Close();

  // 3500 = 1000 + 1000 + 1000 (rotated away) + 500 (current).
  EXPECT_EQ(ReadFile(options.log_path), output.substr(3000));
  EXPECT_EQ(ReadFile(options.log_path + ".1"), output.substr(2000, 1000));
  EXPECT_EQ(options.counters->bytes_logged.load(), 3500u);
  EXPECT_EQ(options.counters->rotations.load(), 3u);
}

TEST(ConsoleTest, AppendsToAnExistingLogUpToTheCap) {
  testing::TempRunDir dir;
  absl::StatusOr<std::unique_ptr<base::EventLoop>> loop = base::EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  ConsoleOptions options;
  options.log_path = dir.path() + "/console.log";
  options.socket_path = dir.path() + "/console.sock";
  options.max_log_bytes = 10;
  ASSERT_TRUE(WriteFile(options.log_path, "12345678", 0600).ok());
  int out[2], in[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  base::UniqueFd out_write(out[1]), in_read(in[0]);
  absl::StatusOr<std::shared_ptr<Console>> console = Console::Create(
      **loop, base::UniqueFd(out[0]), base::UniqueFd(in[1]), options);
  ASSERT_TRUE(console.ok()) << console.status();
  ASSERT_EQ(::write(out_write.get(), "abcde", 5), 5);
  out_write.Reset();
  (*console)->Close();
  EXPECT_EQ(ReadFile(options.log_path + ".1"), "12345678ab");
  EXPECT_EQ(ReadFile(options.log_path), "cde");
  options.max_log_bytes = 0;
  EXPECT_EQ(Console::Create(**loop, base::UniqueFd(), base::UniqueFd(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace blimp::daemon
