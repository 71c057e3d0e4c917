// FuzzInput: takes typed values off the front of a fuzzer's byte string
// (zero once it runs out), so targets read like the code they drive.
#ifndef BLIMP_FUZZ_FUZZ_INPUT_H_
#define BLIMP_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace blimp::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  template <typename T>
  T Take() {
    T value{};
    size_t n = sizeof(T) < size_ ? sizeof(T) : size_;
    std::memcpy(&value, data_, n);
    data_ += n;
    size_ -= n;
    return value;
  }
  // Up to `n` bytes (fewer at the end).
  size_t TakeBytes(uint8_t* out, size_t n) {
    if (n > size_) n = size_;
    std::memcpy(out, data_, n);
    data_ += n;
    size_ -= n;
    return n;
  }
  bool empty() const { return size_ == 0; }
  size_t remaining() const { return size_; }

 private:
  const uint8_t* data_;
  size_t size_;
};

}  // namespace blimp::fuzz

#endif  // BLIMP_FUZZ_FUZZ_INPUT_H_
