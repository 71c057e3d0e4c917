// GuestAddress: a guest-physical address, kept apart from host pointers and
// plain integers by type.
#ifndef BLIMP_MEMORY_GUEST_ADDRESS_H_
#define BLIMP_MEMORY_GUEST_ADDRESS_H_

#include <cstdint>
#include <optional>

namespace blimp::memory {

class GuestAddress {
 public:
  constexpr GuestAddress() = default;
  constexpr explicit GuestAddress(uint64_t value) : value_(value) {}

  constexpr uint64_t value() const { return value_; }

  // this + offset, or nullopt on 64-bit overflow.
  constexpr std::optional<GuestAddress> CheckedAdd(uint64_t offset) const {
    if (offset > UINT64_MAX - value_) return std::nullopt;
    return GuestAddress(value_ + offset);
  }
  // this + offset for offsets the caller has already bounded.
  constexpr GuestAddress Offset(uint64_t offset) const {
    return GuestAddress(value_ + offset);
  }

  friend constexpr bool operator==(GuestAddress a, GuestAddress b) { return a.value_ == b.value_; }
  friend constexpr bool operator!=(GuestAddress a, GuestAddress b) { return a.value_ != b.value_; }
  friend constexpr bool operator<(GuestAddress a, GuestAddress b) { return a.value_ < b.value_; }
  friend constexpr bool operator<=(GuestAddress a, GuestAddress b) { return a.value_ <= b.value_; }
  friend constexpr bool operator>(GuestAddress a, GuestAddress b) { return a.value_ > b.value_; }
  friend constexpr bool operator>=(GuestAddress a, GuestAddress b) { return a.value_ >= b.value_; }

 private:
  uint64_t value_ = 0;
};

}  // namespace blimp::memory

#endif  // BLIMP_MEMORY_GUEST_ADDRESS_H_
