// Fixed-width integers at byte offsets of an on-disk buffer, in a stated
// byte order. The codecs read and write every field through these, so no
// code depends on the host's byte order or on the buffer's alignment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

namespace mdfs::format::bytes {

enum class Order { kLittle, kBig };

template <class T>
T load(std::span<const std::byte> b, std::size_t off, Order order = Order::kLittle) {
  static_assert(std::is_integral_v<T>);
  using U = std::make_unsigned_t<T>;
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) {
    const std::size_t at = order == Order::kLittle ? off + i : off + sizeof(U) - 1 - i;
    v = static_cast<U>(v | static_cast<U>(static_cast<U>(std::to_integer<uint8_t>(b[at])) << (8 * i)));
  }
  return static_cast<T>(v);
}

template <class T>
void store(std::span<std::byte> b, std::size_t off, T value, Order order = Order::kLittle) {
  static_assert(std::is_integral_v<T>);
  using U = std::make_unsigned_t<T>;
  const U v = static_cast<U>(value);
  for (std::size_t i = 0; i < sizeof(U); ++i) {
    const std::size_t at = order == Order::kLittle ? off + i : off + sizeof(U) - 1 - i;
    b[at] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
  }
}

// Sum of 32-bit words (plus a trailing 16-bit word when the length is 2
// mod 4) into 64 bits, folded to 32 by adding the high half to the low: the
// checksum of both md superblock formats. The word at byte `skip` (the
// checksum field itself) counts as zero.
inline uint32_t folded_word_sum(std::span<const std::byte> b, Order order, std::size_t skip) {
  uint64_t sum = 0;
  std::size_t i = 0;
  for (; i + 4 <= b.size(); i += 4) {
    if (i != skip) sum += load<uint32_t>(b, i, order);
  }
  if (b.size() - i >= 2) sum += load<uint16_t>(b, i, order);
  return static_cast<uint32_t>((sum & 0xffffffffu) + (sum >> 32));
}

}  // namespace mdfs::format::bytes
