// 16550A UART register layout, with the datasheet's names: Texas Instruments
// PC16550D "Universal Asynchronous Receiver/Transmitter with FIFOs"
// (SNLS378), section 8 "Registers", Table 2 "Register Summary".
#ifndef BLIMP_DEVICE_SERIAL_DEFS_H_
#define BLIMP_DEVICE_SERIAL_DEFS_H_

#include <cstddef>
#include <cstdint>

namespace blimp::device::serial {

// Register offsets (A2..A0). DLAB is LCR bit 7.
inline constexpr uint64_t kRbr = 0;  // Receiver Buffer (read, DLAB=0).
inline constexpr uint64_t kThr = 0;  // Transmitter Holding (write, DLAB=0).
inline constexpr uint64_t kDll = 0;  // Divisor Latch LS (DLAB=1).
inline constexpr uint64_t kIer = 1;  // Interrupt Enable (DLAB=0).
inline constexpr uint64_t kDlm = 1;  // Divisor Latch MS (DLAB=1).
inline constexpr uint64_t kIir = 2;  // Interrupt Ident. (read).
inline constexpr uint64_t kFcr = 2;  // FIFO Control (write).
inline constexpr uint64_t kLcr = 3;  // Line Control.
inline constexpr uint64_t kMcr = 4;  // MODEM Control.
inline constexpr uint64_t kLsr = 5;  // Line Status.
inline constexpr uint64_t kMsr = 6;  // MODEM Status.
inline constexpr uint64_t kScr = 7;  // Scratch.
inline constexpr uint64_t kRegisterCount = 8;

// IER (8.6).
inline constexpr uint8_t kIerErbfi = 0x01;  // Received Data Available.
inline constexpr uint8_t kIerEtbei = 0x02;  // THR Empty.
inline constexpr uint8_t kIerElsi = 0x04;   // Receiver Line Status.
inline constexpr uint8_t kIerEdssi = 0x08;  // MODEM Status.
inline constexpr uint8_t kIerMask = 0x0f;

// IIR (8.5, Table 4): bit 0 is 0 while an interrupt is pending; bits 3..1
// identify the highest-priority one; bits 7..6 are set when FCR0 = 1.
inline constexpr uint8_t kIirNoInterrupt = 0x01;
inline constexpr uint8_t kIirReceiverLineStatus = 0x06;  // Priority 1.
inline constexpr uint8_t kIirReceivedDataAvailable = 0x04;  // Priority 2.
inline constexpr uint8_t kIirCharacterTimeout = 0x0c;  // Priority 2.
inline constexpr uint8_t kIirThrEmpty = 0x02;  // Priority 3.
inline constexpr uint8_t kIirModemStatus = 0x00;  // Priority 4.
inline constexpr uint8_t kIirFifosEnabled = 0xc0;

// FCR (8.4).
inline constexpr uint8_t kFcrFifoEnable = 0x01;
inline constexpr uint8_t kFcrRcvrFifoReset = 0x02;
inline constexpr uint8_t kFcrXmitFifoReset = 0x04;
inline constexpr uint8_t kFcrDmaModeSelect = 0x08;
inline constexpr uint8_t kFcrRcvrTriggerMask = 0xc0;

// LCR (8.1).
inline constexpr uint8_t kLcrWordLengthMask = 0x03;  // WLS1..0.
inline constexpr uint8_t kLcrStopBits = 0x04;        // STB.
inline constexpr uint8_t kLcrParityEnable = 0x08;    // PEN.
inline constexpr uint8_t kLcrEvenParity = 0x10;      // EPS.
inline constexpr uint8_t kLcrStickParity = 0x20;
inline constexpr uint8_t kLcrSetBreak = 0x40;
inline constexpr uint8_t kLcrDlab = 0x80;  // Divisor Latch Access Bit.

// MCR (8.7).
inline constexpr uint8_t kMcrDtr = 0x01;
inline constexpr uint8_t kMcrRts = 0x02;
inline constexpr uint8_t kMcrOut1 = 0x04;
inline constexpr uint8_t kMcrOut2 = 0x08;
inline constexpr uint8_t kMcrLoop = 0x10;
inline constexpr uint8_t kMcrMask = 0x1f;

// LSR (8.3).
inline constexpr uint8_t kLsrDr = 0x01;    // Data Ready.
inline constexpr uint8_t kLsrOe = 0x02;    // Overrun Error.
inline constexpr uint8_t kLsrPe = 0x04;    // Parity Error.
inline constexpr uint8_t kLsrFe = 0x08;    // Framing Error.
inline constexpr uint8_t kLsrBi = 0x10;    // Break Interrupt.
inline constexpr uint8_t kLsrThre = 0x20;  // THR Empty.
inline constexpr uint8_t kLsrTemt = 0x40;  // Transmitter Empty.
inline constexpr uint8_t kLsrRcvrFifoError = 0x80;

// MSR (8.8). In loopback CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2.
inline constexpr uint8_t kMsrDcts = 0x01;
inline constexpr uint8_t kMsrDdsr = 0x02;
inline constexpr uint8_t kMsrTeri = 0x04;
inline constexpr uint8_t kMsrDdcd = 0x08;
inline constexpr uint8_t kMsrCts = 0x10;
inline constexpr uint8_t kMsrDsr = 0x20;
inline constexpr uint8_t kMsrRi = 0x40;
inline constexpr uint8_t kMsrDcd = 0x80;

// Reset values (Table 5) and ours where the datasheet leaves it to the
// board: a console with a peer that is always there (DCD, DSR, CTS).
inline constexpr uint8_t kLcrDefault = 0x03;  // 8N1 (reset is 0; Linux sets it).
inline constexpr uint8_t kMcrDefault = kMcrOut2;
inline constexpr uint8_t kMsrDefault = kMsrDcd | kMsrDsr | kMsrCts;
inline constexpr uint16_t kDivisorDefault = 12;  // 9600 baud at 1.8432 MHz.

// The 16550A's receive FIFO holds 16 bytes; ours holds more, so that a
// burst of console input is not dropped while the guest is slow.
inline constexpr size_t kInputFifoCapacity = 64;

}  // namespace blimp::device::serial

#endif  // BLIMP_DEVICE_SERIAL_DEFS_H_
