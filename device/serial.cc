#include "device/serial.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "device/serial_defs.h"

namespace blimp::device {

Serial::Serial(InterruptLine& irq, OutputSink output)
    : irq_(irq),
      output_(std::move(output)),
      ier_(0),
      fcr_(0),
      lcr_(serial::kLcrDefault),
      mcr_(serial::kMcrDefault),
      scr_(0),
      dll_(serial::kDivisorDefault & 0xff),
      dlm_(serial::kDivisorDefault >> 8),
      line_errors_(0),
      thr_empty_interrupt_(false) {}

uint8_t Serial::PendingLocked() const {
  uint8_t pending = 0;
  if ((ier_ & serial::kIerElsi) && line_errors_ != 0) pending |= kPendingLineStatus;
  if ((ier_ & serial::kIerErbfi) && !input_.empty()) pending |= kPendingRxData;
  if ((ier_ & serial::kIerEtbei) && thr_empty_interrupt_) pending |= kPendingThrEmpty;
  return pending;
}

uint8_t Serial::IirLocked() const {
  uint8_t fifo_bits = (fcr_ & serial::kFcrFifoEnable) ? serial::kIirFifosEnabled : 0;
  uint8_t pending = PendingLocked();
  // Priorities (Table 4): line status > received data > THR empty.
  if (pending & kPendingLineStatus) return fifo_bits | serial::kIirReceiverLineStatus;
  if (pending & kPendingRxData) return fifo_bits | serial::kIirReceivedDataAvailable;
  if (pending & kPendingThrEmpty) return fifo_bits | serial::kIirThrEmpty;
  return fifo_bits | serial::kIirNoInterrupt;
}

void Serial::Read(uint64_t offset, absl::Span<uint8_t> data) {
  if (data.empty()) return;
  std::fill(data.begin(), data.end(), 0);
  absl::MutexLock lock(&mu_);
  data[0] = ReadLocked(offset);
}

uint8_t Serial::ReadLocked(uint64_t offset) {
  bool dlab = (lcr_ & serial::kLcrDlab) != 0;
  switch (offset) {
    case serial::kRbr: {
      if (dlab) return dll_;
      if (input_.empty()) return 0;
      uint8_t byte = input_.front();
      input_.pop_front();
      return byte;
    }
    case serial::kIer:
      return dlab ? dlm_ : ier_;
    case serial::kIir: {
      uint8_t iir = IirLocked();
      // Reading IIR acknowledges a THR-empty interrupt it reports (8.5).
      if ((iir & 0x0f) == serial::kIirThrEmpty) thr_empty_interrupt_ = false;
      return iir;
    }
    case serial::kLcr:
      return lcr_;
    case serial::kMcr:
      return mcr_;
    case serial::kLsr: {
      // Transmission is instant: THR and the transmitter are always empty.
      uint8_t lsr = serial::kLsrThre | serial::kLsrTemt | line_errors_;
      if (!input_.empty()) lsr |= serial::kLsrDr;
      line_errors_ = 0;  // Reading LSR clears the error bits.
      return lsr;
    }
    case serial::kMsr:
      if (mcr_ & serial::kMcrLoop) {
        uint8_t msr = 0;
        if (mcr_ & serial::kMcrRts) msr |= serial::kMsrCts;
        if (mcr_ & serial::kMcrDtr) msr |= serial::kMsrDsr;
        if (mcr_ & serial::kMcrOut1) msr |= serial::kMsrRi;
        if (mcr_ & serial::kMcrOut2) msr |= serial::kMsrDcd;
        return msr;
      }
      return serial::kMsrDefault;
    case serial::kScr:
      return scr_;
    default:
      return 0;
  }
}

void Serial::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  if (data.empty()) return;
  uint8_t value = data[0];
  bool trigger = false;
  bool transmit = false;
  {
    absl::MutexLock lock(&mu_);
    uint8_t before = PendingLocked();
    transmit = WriteLocked(offset, value, &trigger);
    // Edge: any enabled source that was not pending before.
    if (PendingLocked() & ~before) trigger = true;
  }
  // Outside the lock: the sink may block, and neither may call back in.
  if (transmit && output_) output_(absl::MakeConstSpan(&value, 1));
  if (trigger) irq_.Trigger();
}

bool Serial::WriteLocked(uint64_t offset, uint8_t value, bool* trigger) {
  bool dlab = (lcr_ & serial::kLcrDlab) != 0;
  switch (offset) {
    case serial::kThr: {
      if (dlab) {
        dll_ = value;
        return false;
      }
      bool transmit = true;
      if (mcr_ & serial::kMcrLoop) {
        // Loopback: the transmitter feeds the receiver, nothing goes out.
        transmit = false;
        if (!PushInputLocked(value)) line_errors_ |= serial::kLsrOe;
        if (ier_ & serial::kIerErbfi) *trigger = true;
      }
      // The byte leaves at once: THR is empty again, which interrupts on
      // every transmit when enabled.
      thr_empty_interrupt_ = true;
      if (ier_ & serial::kIerEtbei) *trigger = true;
      return transmit;
    }
    case serial::kIer:
      if (dlab) {
        dlm_ = value;
        return false;
      }
      // Enabling ETBEI while THR is empty (always, here) raises the
      // THR-empty interrupt.
      if ((value & serial::kIerEtbei) && !(ier_ & serial::kIerEtbei)) {
        thr_empty_interrupt_ = true;
      }
      ier_ = value & serial::kIerMask;
      return false;
    case serial::kFcr:
      if (value & serial::kFcrRcvrFifoReset) input_.clear();
      // Nothing to reset on the transmit side.
      fcr_ = value & (serial::kFcrFifoEnable | serial::kFcrRcvrTriggerMask);
      return false;
    case serial::kLcr:
      lcr_ = value;
      return false;
    case serial::kMcr:
      mcr_ = value & serial::kMcrMask;
      return false;
    case serial::kScr:
      scr_ = value;
      return false;
    default:  // LSR and MSR are read-only (writes are "factory test" only).
      return false;
  }
}

bool Serial::PushInputLocked(uint8_t byte) {
  if (input_.size() >= serial::kInputFifoCapacity) return false;
  input_.push_back(byte);
  return true;
}

size_t Serial::EnqueueInput(absl::Span<const uint8_t> bytes) {
  size_t taken = 0;
  bool trigger = false;
  {
    absl::MutexLock lock(&mu_);
    while (taken < bytes.size() && PushInputLocked(bytes[taken])) ++taken;
    // New data is a new event even while older data waits: trigger for each
    // batch, so an edge cannot be lost against a driver draining the FIFO.
    trigger = taken > 0 && (ier_ & serial::kIerErbfi);
  }
  if (trigger) irq_.Trigger();
  return taken;
}

size_t Serial::InputSpace() const {
  absl::MutexLock lock(&mu_);
  return serial::kInputFifoCapacity - input_.size();
}

SerialState Serial::SaveState() const {
  absl::MutexLock lock(&mu_);
  SerialState state;
  state.input.assign(input_.begin(), input_.end());
  state.ier = ier_;
  state.fcr = fcr_;
  state.lcr = lcr_;
  state.mcr = mcr_;
  state.scr = scr_;
  state.dll = dll_;
  state.dlm = dlm_;
  state.line_errors = line_errors_;
  state.thr_empty_interrupt = thr_empty_interrupt_;
  return state;
}

absl::Status Serial::RestoreState(const SerialState& state) {
  if (state.input.size() > serial::kInputFifoCapacity) {
    return absl::InvalidArgumentError(absl::StrCat("serial input of ", state.input.size(),
                                                   " bytes exceeds its FIFO of ",
                                                   serial::kInputFifoCapacity));
  }
  absl::MutexLock lock(&mu_);
  input_.assign(state.input.begin(), state.input.end());
  ier_ = state.ier;
  fcr_ = state.fcr;
  lcr_ = state.lcr;
  mcr_ = state.mcr;
  scr_ = state.scr;
  dll_ = state.dll;
  dlm_ = state.dlm;
  line_errors_ = state.line_errors;
  thr_empty_interrupt_ = state.thr_empty_interrupt;
  return absl::OkStatus();
}

}  // namespace blimp::device
