// Serial: a 16550A UART (registers in device/serial_defs.h) behind a bus,
// the guest's console. Transmitted bytes go to an output sink at once (THR
// and the transmitter are always empty again); received bytes come from
// EnqueueInput() into a 64-byte FIFO. Interrupts: received data available
// (ERBFI), THR empty (ETBEI) and receiver line status (ELSI, for overruns in
// loopback), with the datasheet's IIR priorities; no modem status
// interrupts. Thread-safe: vCPU threads access registers while the event
// loop enqueues input.
#ifndef BLIMP_DEVICE_SERIAL_H_
#define BLIMP_DEVICE_SERIAL_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "device/bus.h"
#include "device/interrupt_line.h"

namespace blimp::device {

// Everything a snapshot needs to bring the UART back (vmm/snapshot).
struct SerialState {
  std::vector<uint8_t> input;  // Received, not yet read by the guest.
  uint8_t ier = 0, fcr = 0, lcr = 0, mcr = 0, scr = 0, dll = 0, dlm = 0;
  uint8_t line_errors = 0;
  bool thr_empty_interrupt = false;
};

class Serial : public BusDevice {
 public:
  // Receives what the guest transmits, one call per THR write, on the vCPU
  // thread that wrote it, without the device lock held.
  using OutputSink = std::function<void(absl::Span<const uint8_t>)>;

  // `irq` must outlive the device.
  Serial(InterruptLine& irq, OutputSink output);

  // Byte registers at offsets 0..7: an access of several bytes reads or
  // writes the register at `offset` with its first byte (the rest read 0).
  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

  // Appends host input to the receive FIFO and raises the received-data
  // interrupt if enabled. Takes as many bytes as fit and returns how many;
  // the caller keeps (or drops) the rest, and the guest sees no overrun.
  size_t EnqueueInput(absl::Span<const uint8_t> bytes);
  // How many more bytes EnqueueInput() would take now.
  size_t InputSpace() const;

  SerialState SaveState() const;
  // Refuses input longer than the FIFO; otherwise the UART is as saved.
  absl::Status RestoreState(const SerialState& state);

 private:
  // Bitmask of pending interrupt sources, after IER.
  enum Pending : uint8_t {
    kPendingLineStatus = 1,
    kPendingRxData = 2,
    kPendingThrEmpty = 4,
  };
  uint8_t PendingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint8_t IirLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint8_t ReadLocked(uint64_t offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Returns true if the byte written to THR must go to the output sink.
  bool WriteLocked(uint64_t offset, uint8_t value, bool* trigger)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts a byte into the receive FIFO; false if it is full.
  bool PushInputLocked(uint8_t byte) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  InterruptLine& irq_;
  const OutputSink output_;

  mutable absl::Mutex mu_;
  std::deque<uint8_t> input_ ABSL_GUARDED_BY(mu_);
  uint8_t ier_ ABSL_GUARDED_BY(mu_);
  uint8_t fcr_ ABSL_GUARDED_BY(mu_);  // Only FIFO enable and trigger level.
  uint8_t lcr_ ABSL_GUARDED_BY(mu_);
  uint8_t mcr_ ABSL_GUARDED_BY(mu_);
  uint8_t scr_ ABSL_GUARDED_BY(mu_);
  uint8_t dll_ ABSL_GUARDED_BY(mu_);
  uint8_t dlm_ ABSL_GUARDED_BY(mu_);
  // LSR error bits (OE) until LSR is read.
  uint8_t line_errors_ ABSL_GUARDED_BY(mu_);
  // The THR-empty interrupt: set on each transmit and when ETBEI is enabled,
  // cleared by reading IIR while it is the source shown, or writing THR.
  bool thr_empty_interrupt_ ABSL_GUARDED_BY(mu_);
};

}  // namespace blimp::device

#endif  // BLIMP_DEVICE_SERIAL_H_
