#include "device/serial.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "device/serial_defs.h"
#include "gtest/gtest.h"

namespace blimp::device {
namespace {

namespace s = serial;

class CountingLine : public InterruptLine {
 public:
  void Trigger() override { ++count; }
  std::atomic<int> count{0};
};

class SerialTest : public ::testing::Test {
 protected:
  SerialTest()
      : serial_(irq_, [this](absl::Span<const uint8_t> bytes) {
          output_.append(bytes.begin(), bytes.end());
        }) {}

  uint8_t In(uint64_t offset) {
    uint8_t value = 0xee;
    serial_.Read(offset, absl::MakeSpan(&value, 1));
    return value;
  }
  void Out(uint64_t offset, uint8_t value) {
    serial_.Write(offset, absl::MakeConstSpan(&value, 1));
  }
  size_t Enqueue(const std::string& text) {
    return serial_.EnqueueInput(absl::MakeConstSpan(
        reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  // The interrupt identification, without the FIFO bits.
  uint8_t Iir() { return In(s::kIir) & 0x0f; }

  CountingLine irq_;
  std::string output_;
  Serial serial_;
};

TEST_F(SerialTest, ResetState) {
  EXPECT_EQ(In(s::kIer), 0);
  EXPECT_EQ(In(s::kIir), s::kIirNoInterrupt);
  EXPECT_EQ(In(s::kLcr), s::kLcrDefault);
  EXPECT_EQ(In(s::kMcr), s::kMcrOut2);
  EXPECT_EQ(In(s::kLsr), s::kLsrThre | s::kLsrTemt);
  EXPECT_EQ(In(s::kMsr), s::kMsrDcd | s::kMsrDsr | s::kMsrCts);
  EXPECT_EQ(In(s::kRbr), 0);  // Empty FIFO.
  EXPECT_EQ(irq_.count, 0);
}

TEST_F(SerialTest, DivisorLatchBehindDlab) {
  Out(s::kIer, s::kIerErbfi);
  Out(s::kLcr, s::kLcrDlab | 0x03);
  EXPECT_EQ(In(s::kDll), 12);  // 9600 baud.
  EXPECT_EQ(In(s::kDlm), 0);
  Out(s::kDll, 0x01);  // 115200 baud.
  Out(s::kDlm, 0x02);
  EXPECT_EQ(In(s::kDll), 0x01);
  EXPECT_EQ(In(s::kDlm), 0x02);
  EXPECT_TRUE(output_.empty());  // The DLL write did not transmit.
  Out(s::kLcr, 0x03);
  // IER and RBR/THR are back, untouched by the divisor writes.
  EXPECT_EQ(In(s::kIer), s::kIerErbfi);
  Out(s::kThr, 'x');
  EXPECT_EQ(output_, "x");
  Out(s::kLcr, s::kLcrDlab);
  EXPECT_EQ(In(s::kDll), 0x01);
  EXPECT_EQ(In(s::kDlm), 0x02);
}

TEST_F(SerialTest, LcrScrAndIerReadBack) {
  Out(s::kLcr, 0x1b);
  EXPECT_EQ(In(s::kLcr), 0x1b);
  Out(s::kScr, 0xa5);
  EXPECT_EQ(In(s::kScr), 0xa5);
  Out(s::kIer, 0xff);
  EXPECT_EQ(In(s::kIer), s::kIerMask);  // Upper bits are always 0.
  Out(s::kMcr, 0xff);
  EXPECT_EQ(In(s::kMcr), s::kMcrMask);
}

TEST_F(SerialTest, OutputSinkGetsThrBytes) {
  for (char c : std::string("hello\n")) Out(s::kThr, c);
  EXPECT_EQ(output_, "hello\n");
  // Transmission is instant.
  EXPECT_EQ(In(s::kLsr) & (s::kLsrThre | s::kLsrTemt),
            s::kLsrThre | s::kLsrTemt);
}

TEST_F(SerialTest, WideAccessUsesTheFirstByte) {
  const uint8_t wide[] = {'A', 'B'};
  serial_.Write(s::kThr, wide);
  EXPECT_EQ(output_, "A");
  uint8_t lsr[2] = {0xff, 0xff};
  serial_.Read(s::kLsr, absl::MakeSpan(lsr));
  EXPECT_EQ(lsr[0], s::kLsrThre | s::kLsrTemt);
  EXPECT_EQ(lsr[1], 0);
}

TEST_F(SerialTest, DataReadyFollowsTheFifo) {
  EXPECT_EQ(Enqueue("ab"), 2u);
  EXPECT_TRUE(In(s::kLsr) & s::kLsrDr);
  EXPECT_EQ(In(s::kRbr), 'a');
  EXPECT_TRUE(In(s::kLsr) & s::kLsrDr);
  EXPECT_EQ(In(s::kRbr), 'b');
  EXPECT_FALSE(In(s::kLsr) & s::kLsrDr);
}

TEST_F(SerialTest, InputFifoKeepsOrderAndRefusesOverflow) {
  std::string input;
  for (size_t i = 0; i < s::kInputFifoCapacity + 10; ++i) {
    input.push_back(static_cast<char>('!' + i));
  }
  EXPECT_EQ(serial_.InputSpace(), s::kInputFifoCapacity);
  EXPECT_EQ(Enqueue(input), s::kInputFifoCapacity);
  EXPECT_EQ(serial_.InputSpace(), 0u);
  EXPECT_EQ(Enqueue("more"), 0u);
  // Refused host input is not a guest-visible overrun.
  EXPECT_FALSE(In(s::kLsr) & s::kLsrOe);
  for (size_t i = 0; i < s::kInputFifoCapacity; ++i) {
    ASSERT_EQ(In(s::kRbr), static_cast<uint8_t>(input[i])) << i;
  }
  EXPECT_FALSE(In(s::kLsr) & s::kLsrDr);
  EXPECT_EQ(serial_.InputSpace(), s::kInputFifoCapacity);
}

TEST_F(SerialTest, FcrResetsTheReceiveFifoAndShowsFifoBits) {
  Out(s::kFcr, s::kFcrFifoEnable);
  EXPECT_EQ(In(s::kIir), s::kIirFifosEnabled | s::kIirNoInterrupt);
  Enqueue("abc");
  Out(s::kFcr, s::kFcrFifoEnable | s::kFcrRcvrFifoReset);
  EXPECT_FALSE(In(s::kLsr) & s::kLsrDr);
  EXPECT_EQ(In(s::kIir), s::kIirFifosEnabled | s::kIirNoInterrupt);
  Out(s::kFcr, 0);
  EXPECT_EQ(In(s::kIir), s::kIirNoInterrupt);
}

TEST_F(SerialTest, NoInterruptsWhenDisabled) {
  Enqueue("abc");
  Out(s::kThr, 'x');
  EXPECT_EQ(irq_.count, 0);
  EXPECT_EQ(Iir(), s::kIirNoInterrupt);
  // Data is still readable by polling.
  EXPECT_EQ(In(s::kRbr), 'a');
}

TEST_F(SerialTest, ReceivedDataInterrupt) {
  Out(s::kIer, s::kIerErbfi);
  EXPECT_EQ(irq_.count, 0);  // Nothing to receive yet.
  Enqueue("a");
  EXPECT_EQ(irq_.count, 1);
  EXPECT_EQ(Iir(), s::kIirReceivedDataAvailable);
  Enqueue("b");  // Each batch of input triggers.
  EXPECT_EQ(irq_.count, 2);
  In(s::kRbr);
  EXPECT_EQ(Iir(), s::kIirReceivedDataAvailable);  // 'b' still there.
  In(s::kRbr);
  EXPECT_EQ(Iir(), s::kIirNoInterrupt);
  EXPECT_EQ(Enqueue(""), 0u);
  EXPECT_EQ(irq_.count, 2);  // Nothing new.
}

TEST_F(SerialTest, EnablingRxInterruptWithDataWaitingTriggers) {
  Enqueue("a");
  EXPECT_EQ(irq_.count, 0);
  Out(s::kIer, s::kIerErbfi);
  EXPECT_EQ(irq_.count, 1);
  EXPECT_EQ(Iir(), s::kIirReceivedDataAvailable);
}

TEST_F(SerialTest, ThrEmptyInterruptOnEnableAndEachTransmit) {
  Out(s::kIer, s::kIerEtbei);
  EXPECT_EQ(irq_.count, 1);  // THR is empty the moment ETBEI is set.
  EXPECT_EQ(Iir(), s::kIirThrEmpty);
  // Reading IIR acknowledged it.
  EXPECT_EQ(Iir(), s::kIirNoInterrupt);
  Out(s::kIer, s::kIerEtbei);  // Still enabled: no new edge.
  EXPECT_EQ(irq_.count, 1);
  Out(s::kThr, 'x');
  EXPECT_EQ(irq_.count, 2);
  Out(s::kThr, 'y');
  EXPECT_EQ(irq_.count, 3);
  EXPECT_EQ(Iir(), s::kIirThrEmpty);
  EXPECT_EQ(Iir(), s::kIirNoInterrupt);
  // Off and on again raises it again (Linux's start_tx relies on this).
  Out(s::kIer, 0);
  Out(s::kIer, s::kIerEtbei);
  EXPECT_EQ(irq_.count, 4);
  EXPECT_EQ(Iir(), s::kIirThrEmpty);
}

TEST_F(SerialTest, ReceivedDataOutranksThrEmpty) {
  Out(s::kIer, s::kIerErbfi | s::kIerEtbei);
  Enqueue("a");
  // Both pending: received data shows first, and reading IIR does not
  // acknowledge the THR-empty interrupt behind it.
  EXPECT_EQ(Iir(), s::kIirReceivedDataAvailable);
  EXPECT_EQ(Iir(), s::kIirReceivedDataAvailable);
  EXPECT_EQ(In(s::kRbr), 'a');
  EXPECT_EQ(Iir(), s::kIirThrEmpty);
  EXPECT_EQ(Iir(), s::kIirNoInterrupt);
}

TEST_F(SerialTest, LoopbackFeedsTheReceiver) {
  Out(s::kMcr, s::kMcrLoop | s::kMcrRts | s::kMcrOut2);
  // Linux's 8250 probe: in loopback MSR mirrors MCR (CTS=RTS, DCD=OUT2).
  EXPECT_EQ(In(s::kMsr) & 0xf0, s::kMsrCts | s::kMsrDcd);
  Out(s::kMcr, s::kMcrLoop | s::kMcrDtr | s::kMcrOut1);
  EXPECT_EQ(In(s::kMsr) & 0xf0, s::kMsrDsr | s::kMsrRi);

  Out(s::kIer, s::kIerErbfi);
  Out(s::kThr, 'q');
  EXPECT_TRUE(output_.empty());
  EXPECT_EQ(irq_.count, 1);
  EXPECT_TRUE(In(s::kLsr) & s::kLsrDr);
  EXPECT_EQ(In(s::kRbr), 'q');

  Out(s::kMcr, s::kMcrOut2);
  Out(s::kThr, 'z');
  EXPECT_EQ(output_, "z");
  EXPECT_FALSE(In(s::kLsr) & s::kLsrDr);
  EXPECT_EQ(In(s::kMsr), s::kMsrDcd | s::kMsrDsr | s::kMsrCts);
}

TEST_F(SerialTest, LoopbackOverrunSetsOeAndLineStatusInterrupt) {
  Out(s::kMcr, s::kMcrLoop);
  Out(s::kIer, s::kIerElsi);
  for (size_t i = 0; i < s::kInputFifoCapacity; ++i) Out(s::kThr, 'a');
  EXPECT_EQ(irq_.count, 0);
  Out(s::kThr, 'b');  // One too many.
  EXPECT_EQ(irq_.count, 1);
  EXPECT_EQ(Iir(), s::kIirReceiverLineStatus);
  EXPECT_EQ(In(s::kLsr) & (s::kLsrOe | s::kLsrDr), s::kLsrOe | s::kLsrDr);
  // Reading LSR cleared the error and the interrupt.
  EXPECT_FALSE(In(s::kLsr) & s::kLsrOe);
  EXPECT_EQ(Iir(), s::kIirNoInterrupt);
}

TEST_F(SerialTest, ConcurrentInputAndRegisterAccess) {
  Out(s::kIer, s::kIerErbfi);
  constexpr int kBytes = 20000;
  std::thread producer([this] {
    for (int sent = 0; sent < kBytes;) {
      uint8_t byte = static_cast<uint8_t>(sent);
      sent += serial_.EnqueueInput(absl::MakeConstSpan(&byte, 1));
    }
  });
  std::vector<uint8_t> received;
  while (received.size() < kBytes) {
    if (In(s::kLsr) & s::kLsrDr) received.push_back(In(s::kRbr));
  }
  producer.join();
  for (int i = 0; i < kBytes; ++i) {
    ASSERT_EQ(received[i], static_cast<uint8_t>(i)) << i;
  }
  EXPECT_GT(irq_.count, 0);
}

TEST(SerialStateTest, SavedStateRestoresRegistersAndPendingInput) {
  CountingLine irq_a, irq_b;
  Serial a(irq_a, [](absl::Span<const uint8_t>) {});
  uint8_t byte = 0x03;  // LCR: 8 data bits.
  a.Write(serial::kLcr, absl::MakeConstSpan(&byte, 1));
  byte = serial::kIerErbfi;
  a.Write(serial::kIer, absl::MakeConstSpan(&byte, 1));
  const uint8_t input[] = {'h', 'i'};
  ASSERT_EQ(a.EnqueueInput(input), 2u);
  const SerialState saved = a.SaveState();
  EXPECT_EQ(saved.input, std::vector<uint8_t>({'h', 'i'}));

  Serial b(irq_b, [](absl::Span<const uint8_t>) {});
  ASSERT_TRUE(b.RestoreState(saved).ok());
  uint8_t read = 0;
  b.Read(serial::kLcr, absl::MakeSpan(&read, 1));
  EXPECT_EQ(read, 0x03);
  b.Read(serial::kRbr, absl::MakeSpan(&read, 1));
  EXPECT_EQ(read, 'h');
  b.Read(serial::kRbr, absl::MakeSpan(&read, 1));
  EXPECT_EQ(read, 'i');

  SerialState too_much = saved;
  too_much.input.assign(serial::kInputFifoCapacity + 1, 'x');
  EXPECT_FALSE(b.RestoreState(too_much).ok());
}

}  // namespace
}  // namespace blimp::device
