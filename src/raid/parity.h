// Parity math of raid4/5/6 over ISA-L: P is the XOR of a stripe's data
// chunks; Q = sum of g^i * D_i in GF(2^8) with the polynomial 0x11d and
// g = 2 (the kernel's lib/raid6 field), where the exponent i of each data
// chunk comes from the layout (StripeRoles::q_exp). Buffers may have any
// alignment and length; aligned ones take ISA-L's pq_gen/xor_gen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace mdfs::raid::parity {

// g^i for g = 2 in md's field (i taken mod 255).
uint8_t gf_pow2(int i);
// a * b in md's field.
uint8_t gf_mul(uint8_t a, uint8_t b);

// out = XOR of `sources` (at least one), `len` bytes each.
void gen_p(std::span<const std::byte* const> sources, std::byte* out, size_t len);
// dst ^= src.
void xor_into(std::byte* dst, const std::byte* src, size_t len);
// P and Q of data chunks: data[k] enters Q as g^q_exp[k] * data[k].
void gen_pq(std::span<const std::byte* const> data, std::span<const int> q_exp, std::byte* p,
            std::byte* q, size_t len);
// Read-modify-write: folds the change of one data chunk (`delta` = old ^ new)
// into P, and into Q with exponent `q_exp` when `q` is not null.
void apply_delta(const std::byte* delta, int q_exp, std::byte* p, std::byte* q, size_t len);

// Rebuilds lost data chunks of a stripe from the rest. data[k] is data chunk
// k; `missing` lists every data index whose contents are unknown (at most
// two). For a missing k, data[k] receives the rebuilt chunk, or is nullptr
// when that one is not wanted. p and q are the parity chunks, nullptr when
// unavailable. Returns 0, or EIO when too little is left to solve for the
// missing ones.
int recover(std::span<std::byte* const> data, std::span<const int> q_exp,
            std::span<const int> missing, const std::byte* p, const std::byte* q, size_t len);

}  // namespace mdfs::raid::parity
