// The console: output reaches console.log, which is rotated to console.log.1
// (one old generation) whenever it would pass its cap; the counters add up;
// clients of console.sock see the output and their input reaches the UART.
#include "vmm/console/console.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include <fstream>
#include <sstream>
#include <string>

#include <thread>

#include "base/sockets.h"
#include "gtest/gtest.h"

namespace blimp::vmm {
namespace {

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/blimp-console-XXXXXX";
    path_ = ::mkdtemp(name);
  }
  ~TempDir() { std::system(("rm -rf " + path_).c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path) << contents;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

TEST(ConsoleTest, RotatesTheLogAtItsCap) {
  TempDir dir;
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
  TempDir dir;
  absl::StatusOr<std::unique_ptr<base::EventLoop>> loop = base::EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  ConsoleOptions options;
  options.log_path = dir.path() + "/console.log";
  options.socket_path = dir.path() + "/console.sock";
  options.max_log_bytes = 10;
  WriteFile(options.log_path, "12345678");
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

TEST(ConsoleTest, ClientsSeeOutputAndTheirInputReachesTheUart) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<base::EventLoop>> loop = base::EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  std::thread loop_thread([&] { (*loop)->Run().IgnoreError(); });
  int out[2], in[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  base::UniqueFd out_write(out[1]), in_read(in[0]);
  ConsoleOptions options;
  options.log_path = dir.path() + "/console.log";
  options.socket_path = dir.path() + "/console.sock";
  absl::StatusOr<std::shared_ptr<Console>> console = Console::Create(
      **loop, base::UniqueFd(out[0]), base::UniqueFd(in[1]), options);
  ASSERT_TRUE(console.ok()) << console.status();
  absl::StatusOr<base::UniqueFd> client = base::ConnectUnix(options.socket_path);
  ASSERT_TRUE(client.ok()) << client.status();
  // A second client that never reads must not hold the first one back.
  absl::StatusOr<base::UniqueFd> silent = base::ConnectUnix(options.socket_path);
  ASSERT_TRUE(silent.ok()) << silent.status();
  for (int i = 0; i < 200 && (*console)->client_count() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ((*console)->client_count(), 2);

  ASSERT_EQ(::write(out_write.get(), "hello\n", 6), 6);
  char seen[6];
  ASSERT_EQ(::recv(client->get(), seen, sizeof(seen), MSG_WAITALL), 6);
  EXPECT_EQ(std::string(seen, 6), "hello\n");
  ASSERT_EQ(::send(client->get(), "ls\n", 3, 0), 3);
  char typed[3];
  ASSERT_EQ(::read(in_read.get(), typed, sizeof(typed)), 3);
  EXPECT_EQ(std::string(typed, 3), "ls\n");

  (*console)->Close();
  EXPECT_EQ(ReadFile(options.log_path), "hello\n");
  EXPECT_NE(::access(options.socket_path.c_str(), F_OK), 0) << "console.sock outlives Close()";
  (*loop)->Stop();
  loop_thread.join();
}

}  // namespace
}  // namespace blimp::vmm
