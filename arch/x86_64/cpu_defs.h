// Architectural x86-64 constants we program at boot: control-register and
// EFER bits, MSR numbers, page-table entry bits. Section numbers refer to the
// Intel SDM (Vol. 3A unless noted) and Vol. 4 for MSRs.
#ifndef BLIMP_ARCH_X86_64_CPU_DEFS_H_
#define BLIMP_ARCH_X86_64_CPU_DEFS_H_

#include <cstdint>

namespace blimp::arch::x86_64 {

// CR0 (SDM 2.5).
inline constexpr uint64_t kCr0Pe = 1ull << 0;   // Protection enable.
inline constexpr uint64_t kCr0Et = 1ull << 4;   // Extension type (always 1).
inline constexpr uint64_t kCr0Pg = 1ull << 31;  // Paging.
// CR4 (SDM 2.5).
inline constexpr uint64_t kCr4Pae = 1ull << 5;
// IA32_EFER (SDM 2.2.1).
inline constexpr uint64_t kEferLme = 1ull << 8;
inline constexpr uint64_t kEferLma = 1ull << 10;
// RFLAGS bit 1 is reserved and always 1 (SDM Vol. 1 3.4.3).
inline constexpr uint64_t kRflagsReserved = 1ull << 1;

// Paging-structure entries (SDM 4.5, Tables 4-14..4-20).
inline constexpr uint64_t kPtePresent = 1ull << 0;
inline constexpr uint64_t kPteWritable = 1ull << 1;
inline constexpr uint64_t kPtePageSize = 1ull << 7;  // 2 MiB page in a PDE.
inline constexpr uint64_t kPageSize2M = 2ull << 20;

// x87/SSE reset-like defaults (SDM Vol. 1 8.1.5 and 10.2.3.1).
inline constexpr uint16_t kFpuControlWordDefault = 0x37f;
inline constexpr uint32_t kMxcsrDefault = 0x1f80;

// MSRs (SDM Vol. 4, Table 2-2).
inline constexpr uint32_t kMsrIa32Tsc = 0x10;
inline constexpr uint32_t kMsrIa32SysenterCs = 0x174;
inline constexpr uint32_t kMsrIa32SysenterEsp = 0x175;
inline constexpr uint32_t kMsrIa32SysenterEip = 0x176;
inline constexpr uint32_t kMsrIa32MiscEnable = 0x1a0;
inline constexpr uint64_t kMiscEnableFastString = 1ull << 0;
inline constexpr uint32_t kMsrIa32Pat = 0x277;
// Power-on value of IA32_PAT: WB, WT, UC-, UC, repeated (SDM 11.12.4).
inline constexpr uint64_t kPatDefault = 0x0007040600070406ull;
inline constexpr uint32_t kMsrMtrrDefType = 0x2ff;
inline constexpr uint64_t kMtrrEnable = 1ull << 11;
inline constexpr uint64_t kMtrrTypeWriteBack = 6;
inline constexpr uint32_t kMsrStar = 0xc0000081;
inline constexpr uint32_t kMsrLstar = 0xc0000082;
inline constexpr uint32_t kMsrCstar = 0xc0000083;
inline constexpr uint32_t kMsrSyscallMask = 0xc0000084;
inline constexpr uint32_t kMsrKernelGsBase = 0xc0000102;

}  // namespace blimp::arch::x86_64

#endif  // BLIMP_ARCH_X86_64_CPU_DEFS_H_
