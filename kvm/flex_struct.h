// KVM's variable-length structs (kvm_cpuid2, kvm_msrs, kvm_msr_list) as C
// lays them out, with the ioctl numbers that go with them. Internal to kvm/.
//
// Why not the structs from <linux/kvm.h>: their trailing arrays are declared
// with __DECLARE_FLEX_ARRAY, which wraps an empty struct; an empty struct has
// size 1 in C++ but 0 in C. In C++ sizeof(kvm_cpuid2) is 12 instead of 8 and
// sizeof(kvm_msrs) 16 instead of 8, so the entries sit at the wrong offset
// and the ioctl numbers (which encode sizeof) are ones KVM rejects with
// EINVAL. Never use those three structs or their ioctl macros from C++.
#ifndef BLIMP_KVM_FLEX_STRUCT_H_
#define BLIMP_KVM_FLEX_STRUCT_H_

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace blimp::kvm::internal {

// The fixed part of each struct, as in C (linux/kvm.h, asm/kvm.h).
struct Cpuid2Header {  // struct kvm_cpuid2
  uint32_t nent;
  uint32_t padding;
};
struct MsrsHeader {  // struct kvm_msrs
  uint32_t nmsrs;
  uint32_t pad;
};
struct MsrListHeader {  // struct kvm_msr_list
  uint32_t nmsrs;
};
static_assert(sizeof(Cpuid2Header) == 8);
static_assert(sizeof(MsrsHeader) == 8);
static_assert(sizeof(MsrListHeader) == 4);
static_assert(sizeof(kvm_cpuid_entry2) == 40);
static_assert(sizeof(kvm_msr_entry) == 16);

// The ioctl numbers with C's sizes (same numbers as linux/kvm.h in C).
inline constexpr unsigned long kKvmGetMsrIndexList =
    _IOWR(KVMIO, 0x02, MsrListHeader);
inline constexpr unsigned long kKvmGetSupportedCpuid =
    _IOWR(KVMIO, 0x05, Cpuid2Header);
inline constexpr unsigned long kKvmGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
inline constexpr unsigned long kKvmSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
inline constexpr unsigned long kKvmSetCpuid2 = _IOW(KVMIO, 0x90, Cpuid2Header);

// Zeroed, 8-byte aligned storage for a `Header` followed directly by
// `capacity` `Entry`s, as the kernel expects.
template <typename Header, typename Entry>
class FlexStruct {
 public:
  static_assert(std::is_trivially_copyable_v<Header>);
  static_assert(std::is_trivially_copyable_v<Entry>);
  static_assert(alignof(Header) <= alignof(uint64_t));
  static_assert(alignof(Entry) <= alignof(uint64_t));
  // In C the array follows the header without padding for these structs.
  static_assert(sizeof(Header) % alignof(Entry) == 0);

  explicit FlexStruct(size_t capacity)
      : capacity_(capacity),
        storage_((sizeof(Header) + capacity * sizeof(Entry) +
                  sizeof(uint64_t) - 1) / sizeof(uint64_t)) {}

  // What the ioctl is given.
  void* data() { return storage_.data(); }

  Header* header() {
    // SAFETY: storage_ is zeroed, 8-byte aligned and holds at least
    // sizeof(Header) bytes; Header is a trivially copyable C struct, so
    // zeroed bytes are a valid object of it.
    return reinterpret_cast<Header*>(storage_.data());
  }
  Entry* entries() {
    // SAFETY: storage_ holds sizeof(Header) + capacity_ * sizeof(Entry)
    // bytes; sizeof(Header) is a multiple of alignof(Entry) (asserted), and
    // Entry is a trivially copyable C struct.
    return reinterpret_cast<Entry*>(
        reinterpret_cast<uint8_t*>(storage_.data()) + sizeof(Header));
  }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  std::vector<uint64_t> storage_;
};

}  // namespace blimp::kvm::internal

#endif  // BLIMP_KVM_FLEX_STRUCT_H_
