#include "base/sockets.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace blimp::base {
namespace {

std::string TempDir() {
  char dir[] = "/tmp/blimp-sockets-XXXXXX";
  return ::mkdtemp(dir);
}

TEST(SocketsTest, AUnixListenerIsOwnerOnlyAndReplacesOnlyAnOldSocket) {
  const std::string dir = TempDir();
  const std::string path = dir + "/a.sock";
  absl::StatusOr<UniqueFd> first = ListenUnix(path);
  ASSERT_TRUE(first.ok()) << first.status();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<UniqueFd> client = ConnectUnix(path);
  EXPECT_TRUE(client.ok()) << client.status();
  first->Reset();
  EXPECT_TRUE(ListenUnix(path).ok()) << "an old socket is replaced";

  const std::string file = dir + "/file";
  std::ofstream(file) << "keep me";
  EXPECT_EQ(ListenUnix(file).status().code(), absl::StatusCode::kAlreadyExists);
  std::ifstream kept(file);
  std::string contents;
  std::getline(kept, contents);
  EXPECT_EQ(contents, "keep me");
  EXPECT_EQ(ListenUnix(dir + "/no/such/a.sock").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ListenUnix(dir + "/" + std::string(120, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ListenUnix("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ConnectUnix(dir + "/nobody.sock").ok());
  std::filesystem::remove_all(dir);
}

TEST(SocketsTest, ATcpListenerReportsItsPortAndBadAddressesAreRefused) {
  int port = 0;
  absl::StatusOr<UniqueFd> listener = ListenTcp("127.0.0.1:0", &port);
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_GT(port, 0);
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "host:port", ":x"}) {
    EXPECT_EQ(ListenTcp(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace blimp::base
