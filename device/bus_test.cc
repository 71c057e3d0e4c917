#include "device/bus.h"

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blimp::device {
namespace {

using ::testing::HasSubstr;

// Records the last access; reads return offset + i in each byte.
class FakeDevice : public BusDevice {
 public:
  void Read(uint64_t offset, absl::Span<uint8_t> data) override {
    ++reads;
    last_offset = offset;
    last_size = data.size();
    for (size_t i = 0; i < data.size(); ++i) {
      data[i] = static_cast<uint8_t>(offset + i);
    }
  }
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override {
    ++writes;
    last_offset = offset;
    last_size = data.size();
    written.assign(data.begin(), data.end());
  }

  std::atomic<int> reads{0};
  std::atomic<int> writes{0};
  std::atomic<uint64_t> last_offset{~0ull};
  std::atomic<size_t> last_size{0};
  std::vector<uint8_t> written;
};

TEST(BusTest, DispatchesWithOffsetFromBase) {
  Bus bus;
  auto uart = std::make_shared<FakeDevice>();
  ASSERT_TRUE(bus.Insert(uart, 0x3f8, 8).ok());

  uint8_t byte = 0;
  EXPECT_TRUE(bus.Read(0x3fd, absl::MakeSpan(&byte, 1)));
  EXPECT_EQ(uart->last_offset, 5u);
  EXPECT_EQ(byte, 5);

  const uint8_t out[] = {0xaa, 0xbb};
  EXPECT_TRUE(bus.Write(0x3f8, out));
  EXPECT_EQ(uart->last_offset, 0u);
  EXPECT_EQ(uart->written, std::vector<uint8_t>({0xaa, 0xbb}));
}

TEST(BusTest, DispatchesToTheRightDeviceAmongMany) {
  Bus bus;
  auto a = std::make_shared<FakeDevice>();
  auto b = std::make_shared<FakeDevice>();
  auto c = std::make_shared<FakeDevice>();
  // Inserted out of order, b right after a.
  ASSERT_TRUE(bus.Insert(c, 0xd0001000, 0x1000).ok());
  ASSERT_TRUE(bus.Insert(a, 0xd0000000, 0x200).ok());
  ASSERT_TRUE(bus.Insert(b, 0xd0000200, 0x200).ok());

  uint32_t value = 0;
  auto span = absl::MakeSpan(reinterpret_cast<uint8_t*>(&value), 4);
  EXPECT_TRUE(bus.Read(0xd00001fc, span));  // Last word of a.
  EXPECT_EQ(a->last_offset, 0x1fcu);
  EXPECT_TRUE(bus.Read(0xd0000200, span));  // First word of b.
  EXPECT_EQ(b->last_offset, 0u);
  EXPECT_TRUE(bus.Write(0xd0001ffc, span));  // Last word of c.
  EXPECT_EQ(c->last_offset, 0xffcu);
  EXPECT_EQ(a->reads, 1);
  EXPECT_EQ(b->reads, 1);
  EXPECT_EQ(c->writes, 1);
}

TEST(BusTest, AccessOutsideEveryDeviceIsRefused) {
  Bus bus;
  auto dev = std::make_shared<FakeDevice>();
  ASSERT_TRUE(bus.Insert(dev, 0x100, 0x10).ok());
  uint8_t buf[4] = {};
  EXPECT_FALSE(bus.Read(0xff, absl::MakeSpan(buf, 1)));   // Just before.
  EXPECT_FALSE(bus.Read(0x110, absl::MakeSpan(buf, 1)));  // Just after.
  EXPECT_FALSE(bus.Write(0, absl::MakeSpan(buf, 1)));
  EXPECT_FALSE(bus.Read(~0ull, absl::MakeSpan(buf, 1)));
  // Starts inside, runs past the end.
  EXPECT_FALSE(bus.Read(0x10e, absl::MakeSpan(buf, 4)));
  EXPECT_FALSE(bus.Write(0x10f, absl::MakeSpan(buf, 2)));
  // Starts before, ends inside.
  EXPECT_FALSE(bus.Read(0xfe, absl::MakeSpan(buf, 4)));
  // Empty access.
  EXPECT_FALSE(bus.Read(0x100, absl::Span<uint8_t>()));
  // Exactly at the end is fine.
  EXPECT_TRUE(bus.Read(0x10c, absl::MakeSpan(buf, 4)));
  EXPECT_EQ(dev->reads, 1);
  EXPECT_EQ(dev->writes, 0);
}

TEST(BusTest, EmptyBusRefusesEverything) {
  Bus bus;
  uint8_t byte = 0;
  EXPECT_FALSE(bus.Read(0, absl::MakeSpan(&byte, 1)));
  EXPECT_FALSE(bus.Write(0x3f8, absl::MakeSpan(&byte, 1)));
}

TEST(BusTest, RejectsBadRanges) {
  Bus bus;
  auto dev = std::make_shared<FakeDevice>();
  absl::Status status = bus.Insert(dev, 0x100, 0);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("empty"));
  status = bus.Insert(nullptr, 0x100, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  status = bus.Insert(dev, ~0ull - 1, 3);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("past the end"));
}

TEST(BusTest, RangeAtTheTopOfTheAddressSpaceWorks) {
  Bus bus;
  auto dev = std::make_shared<FakeDevice>();
  ASSERT_TRUE(bus.Insert(dev, ~0ull - 3, 4).ok());
  uint8_t buf[4] = {};
  EXPECT_TRUE(bus.Read(~0ull - 3, absl::MakeSpan(buf, 4)));
  EXPECT_TRUE(bus.Read(~0ull, absl::MakeSpan(buf, 1)));
  // Would wrap past 2^64.
  EXPECT_FALSE(bus.Read(~0ull, absl::MakeSpan(buf, 2)));
  EXPECT_EQ(dev->reads, 2);
}

TEST(BusTest, RejectsOverlapsNamingBothRanges) {
  Bus bus;
  auto dev = std::make_shared<FakeDevice>();
  ASSERT_TRUE(bus.Insert(dev, 0x1000, 0x100).ok());
  struct Case {
    uint64_t base, len;
  };
  for (Case c : {Case{0x1000, 0x100},   // Exact duplicate.
                 Case{0x1010, 0x10},    // Contained.
                 Case{0x0f00, 0x1000},  // Contains.
                 Case{0x0f80, 0x81},    // Overlaps the first byte.
                 Case{0x10ff, 0x10}}) {  // Overlaps the last byte.
    absl::Status status = bus.Insert(dev, c.base, c.len);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << std::hex << c.base;
    EXPECT_THAT(status.message(), HasSubstr("[0x1000, 0x1100)"));
  }
  absl::Status status = bus.Insert(dev, 0x1010, 0x10);
  EXPECT_THAT(status.message(), HasSubstr("[0x1010, 0x1020)"));
  // Touching on either side is fine.
  EXPECT_TRUE(bus.Insert(dev, 0x0f00, 0x100).ok());
  EXPECT_TRUE(bus.Insert(dev, 0x1100, 0x100).ok());
  // Between two neighbours that leave no room.
  status = bus.Insert(dev, 0x10f0, 0x20);
  EXPECT_FALSE(status.ok());
}

TEST(BusTest, ConcurrentReadsFromManyThreads) {
  Bus bus;
  std::vector<std::shared_ptr<FakeDevice>> devices;
  for (int i = 0; i < 16; ++i) {
    devices.push_back(std::make_shared<FakeDevice>());
    ASSERT_TRUE(bus.Insert(devices.back(), 0x1000 * i, 0x100).ok());
  }
  constexpr int kThreads = 4;
  constexpr int kIterations = 20000;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&bus, &wrong, t] {
      for (int i = 0; i < kIterations; ++i) {
        uint64_t dev = (i + t) % 16;
        uint64_t offset = i % 0x100;
        uint8_t byte = 0;
        if (!bus.Read(dev * 0x1000 + offset, absl::MakeSpan(&byte, 1)) ||
            byte != static_cast<uint8_t>(offset)) {
          ++wrong;
        }
        if (bus.Read(dev * 0x1000 + 0x100, absl::MakeSpan(&byte, 1))) {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong, 0);
  int total = 0;
  for (const auto& device : devices) total += device->reads;
  EXPECT_EQ(total, kThreads * kIterations);
}

}  // namespace
}  // namespace blimp::device
