#include "vmm/snapshot/snapshot_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace blimp::vmm::snapshot {
namespace {

VmState Sample() {
  VmState state;
  state.set_memory_bytes(128 << 20);
  state.mutable_config()->mutable_machine_config()->set_mem_size_mib(128);
  VcpuState* vcpu = state.add_vcpus();
  vcpu->set_regs(std::string(144, '\x5a'));
  state.mutable_balloon()->set_num_pages(1234);
  return state;
}

TEST(SnapshotFileTest, RoundTripsThroughAFile) {
  char path[] = "/tmp/snapshot-test-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(WriteSnapshot(fd, Sample()).ok());
  ::close(fd);
  auto read = ReadSnapshot(path);
  ::unlink(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->balloon().num_pages(), 1234u);
  EXPECT_EQ(read->vcpus(0).regs(), std::string(144, '\x5a'));
  EXPECT_FALSE(ReadSnapshot(path).ok()) << "a missing file";
}

// Every damage is refused, and says what it found.
TEST(SnapshotFileTest, CorruptedTruncatedAndForeignFilesAreRefused) {
  const std::string good = EncodeSnapshot(Sample());
  ASSERT_TRUE(DecodeSnapshot(good).ok());
  struct Case {
    std::string name;
    std::string bytes;
    std::string says;
  };
  std::vector<Case> cases;
  cases.push_back({"empty", "", "shorter than a header"});
  cases.push_back({"truncated", good.substr(0, good.size() - 9), "truncated"});
  cases.push_back({"extended", good + "x", "truncated or extended"});
  std::string magic = good;
  magic[0] = 'X';
  cases.push_back({"magic", magic, "BLIMPSNP"});
  std::string version = good;
  version[8] = 2;
  cases.push_back({"version", version, "format version 2"});
  std::string length = good;
  length[15] = '\x7f';
  cases.push_back({"length", length, "bytes of state"});
  for (size_t at : {size_t{20}, good.size() / 2, good.size() - 1}) {
    std::string flipped = good;
    flipped[at] ^= 0x01;
    cases.push_back({"bit flip at " + std::to_string(at), flipped, "hash"});
  }
  cases.push_back({"text", std::string(4096, 'a'), "BLIMPSNP"});
  for (const Case& c : cases) {
    auto decoded = DecodeSnapshot(c.bytes);
    ASSERT_FALSE(decoded.ok()) << c.name;
    EXPECT_NE(decoded.status().message().find(c.says), std::string::npos)
        << c.name << ": " << decoded.status();
  }
}

}  // namespace
}  // namespace blimp::vmm::snapshot
