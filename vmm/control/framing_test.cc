#include "vmm/control/framing.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "vmm/control/control.pb.h"

namespace blimp::vmm::control {
namespace {

struct Pair {
  base::UniqueFd a, b;
};

Pair SocketPair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  return {base::UniqueFd(fds[0]), base::UniqueFd(fds[1])};
}

absl::Time Soon() { return absl::Now() + absl::Seconds(5); }

TEST(FramingTest, RoundTripsOneMessagePerDatagram) {
  Pair pair = SocketPair();
  Request first, second;
  first.set_id(1);
  first.mutable_patch_balloon()->set_amount_mib(64);
  second.set_id(2);
  second.mutable_describe();
  ASSERT_TRUE(SendFrame(pair.a.get(), first, Soon()).ok());
  ASSERT_TRUE(SendFrame(pair.a.get(), second, Soon()).ok());
  Request got;
  ASSERT_TRUE(ReceiveFrame(pair.b.get(), &got, Soon()).ok());
  EXPECT_EQ(got.id(), 1u);
  EXPECT_EQ(got.patch_balloon().amount_mib(), 64u);
  ASSERT_TRUE(ReceiveFrame(pair.b.get(), &got, Soon()).ok());
  EXPECT_EQ(got.id(), 2u);
  EXPECT_TRUE(got.has_describe());
}

TEST(FramingTest, EmptyAndOversizedMessagesAreRefusedBySender) {
  Pair pair = SocketPair();
  EXPECT_EQ(SendFrame(pair.a.get(), Request(), Soon()).code(), absl::StatusCode::kInvalidArgument);
  Response big;
  big.set_id(1);
  big.set_message(std::string(kMaxFrameBytes + 1, 'x'));
  EXPECT_EQ(SendFrame(pair.a.get(), big, Soon()).code(), absl::StatusCode::kInvalidArgument);
}

TEST(FramingTest, OversizedOrGarbageFramesAreDataLossNotMisread) {
  Pair pair = SocketPair();
  const std::string huge(kMaxFrameBytes + 100, '\x08');
  ASSERT_EQ(::send(pair.a.get(), huge.data(), huge.size(), 0),
            static_cast<ssize_t>(huge.size()));
  const char garbage[] = {0x0a, 0x64, 'x'};  // A string field claiming 100 bytes.
  ASSERT_EQ(::send(pair.a.get(), garbage, sizeof(garbage), 0), 3);
  Request ok;
  ok.set_id(7);
  ok.mutable_start();
  ASSERT_TRUE(SendFrame(pair.a.get(), ok, Soon()).ok());
  Request got;
  EXPECT_EQ(ReceiveFrame(pair.b.get(), &got, Soon()).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReceiveFrame(pair.b.get(), &got, Soon()).code(), absl::StatusCode::kDataLoss);
  // The stream stays in step: the next frame is the next message.
  ASSERT_TRUE(ReceiveFrame(pair.b.get(), &got, Soon()).ok());
  EXPECT_EQ(got.id(), 7u);
}

TEST(FramingTest, SilenceIsADeadlineAndACloseIsUnavailable) {
  Pair pair = SocketPair();
  Request got;
  const absl::Time start = absl::Now();
  EXPECT_EQ(ReceiveFrame(pair.b.get(), &got, absl::Now() + absl::Milliseconds(100)).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  pair.a.Reset();
  EXPECT_EQ(ReceiveFrame(pair.b.get(), &got, Soon()).code(), absl::StatusCode::kUnavailable);
  Request any;
  any.set_id(1);
  EXPECT_EQ(SendFrame(pair.b.get(), any, Soon()).code(), absl::StatusCode::kUnavailable);
}

TEST(FramingTest, AFullSocketIsADeadlineForTheSender) {
  Pair pair = SocketPair();
  Response message;
  message.set_id(1);
  message.set_message(std::string(kMaxFrameBytes - 64, 'y'));
  absl::Status status;
  for (int i = 0; i < 1000 && status.ok(); ++i) {
    status = SendFrame(pair.a.get(), message, absl::Now() + absl::Milliseconds(50));
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(FramingTest, ListenReplacesAStaleSocketButNoOtherFile) {
  const std::string path = absl::StrCat("/tmp/blimp-framing-", ::getpid(), ".sock");
  {
    auto first = ListenSeqpacket(path, 4);
    ASSERT_TRUE(first.ok()) << first.status();
  }
  auto second = ListenSeqpacket(path, 4);  // The first one's file is stale now.
  ASSERT_TRUE(second.ok()) << second.status();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto client = ConnectSeqpacket(path);
  EXPECT_TRUE(client.ok()) << client.status();
  ::unlink(path.c_str());
  const std::string file = path + ".file";
  ::close(::open(file.c_str(), O_CREAT | O_WRONLY, 0600));
  EXPECT_EQ(ListenSeqpacket(file, 4).status().code(), absl::StatusCode::kAlreadyExists);
  ::unlink(file.c_str());
  EXPECT_EQ(ConnectSeqpacket(path).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace blimp::vmm::control
