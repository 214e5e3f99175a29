#include "raid/parity.h"

#include <isa-l/erasure_code.h>
#include <isa-l/raid.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

namespace mdfs::raid::parity {

namespace {

constexpr std::array<uint8_t, 255> make_pow2() {
  std::array<uint8_t, 255> t{};
  unsigned x = 1;
  for (auto& v : t) {
    v = static_cast<uint8_t>(x);
    x = (x << 1) ^ ((x & 0x80) ? 0x11d : 0);
  }
  return t;
}
constexpr std::array<uint8_t, 255> kPow2 = make_pow2();

// ISA-L's SIMD pq_gen/xor_gen load with aligned (non-temporal) moves.
bool aligned32(const void* p) { return reinterpret_cast<uintptr_t>(p) % 32 == 0; }

unsigned char* uc(const std::byte* p) {
  // ISA-L's signatures are not const-correct; sources are only read.
  return reinterpret_cast<unsigned char*>(const_cast<std::byte*>(p));
}

// ec_encode_data over `sources` with a rows x sources coefficient matrix.
void encode(const std::vector<unsigned char>& coeffs, std::span<const std::byte* const> sources,
            std::span<std::byte* const> outputs, size_t len) {
  const int k = static_cast<int>(sources.size());
  const int rows = static_cast<int>(outputs.size());
  std::vector<unsigned char> tables(32 * static_cast<size_t>(k) * rows);
  ec_init_tables(k, rows, const_cast<unsigned char*>(coeffs.data()), tables.data());
  std::vector<unsigned char*> src(k);
  for (int i = 0; i < k; ++i) src[i] = uc(sources[i]);
  std::vector<unsigned char*> dst(rows);
  for (int r = 0; r < rows; ++r) dst[r] = uc(outputs[r]);
  ec_encode_data(static_cast<int>(len), k, rows, tables.data(), src.data(), dst.data());
}

}  // namespace

uint8_t gf_pow2(int i) {
  i %= 255;
  if (i < 0) i += 255;
  return kPow2[i];
}

uint8_t gf_mul(uint8_t a, uint8_t b) { return ::gf_mul(a, b); }

void xor_into(std::byte* dst, const std::byte* src, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, dst + i, 8);
    std::memcpy(&b, src + i, 8);
    a ^= b;
    std::memcpy(dst + i, &a, 8);
  }
  for (; i < len; ++i) dst[i] ^= src[i];
}

void gen_p(std::span<const std::byte* const> sources, std::byte* out, size_t len) {
  if (len == 0 || sources.empty()) return;
  if (sources.size() >= 2 && aligned32(out)) {
    bool aligned = true;
    for (const std::byte* s : sources) aligned = aligned && aligned32(s);
    if (aligned) {
      std::vector<void*> array;
      array.reserve(sources.size() + 1);
      for (const std::byte* s : sources) array.push_back(uc(s));
      array.push_back(out);
      if (xor_gen(static_cast<int>(array.size()), static_cast<int>(len), array.data()) == 0) return;
    }
  }
  if (out != sources[0]) std::memcpy(out, sources[0], len);
  for (size_t i = 1; i < sources.size(); ++i) xor_into(out, sources[i], len);
}

void gen_pq(std::span<const std::byte* const> data, std::span<const int> q_exp, std::byte* p,
            std::byte* q, size_t len) {
  if (len == 0) return;
  const size_t d = data.size();
  // pq_gen gives source j the coefficient g^j: usable when the exponents
  // are 0..d-1 (md's own layouts; not DDF, whose exponents have holes).
  bool fast = d >= 2 && len % 32 == 0 && aligned32(p) && aligned32(q);
  std::vector<void*> array(d + 2, nullptr);
  for (size_t k = 0; fast && k < d; ++k) {
    const int e = q_exp[k];
    if (e < 0 || static_cast<size_t>(e) >= d || array[e] != nullptr || !aligned32(data[k])) {
      fast = false;
    } else {
      array[e] = uc(data[k]);
    }
  }
  if (fast) {
    array[d] = p;
    array[d + 1] = q;
    if (pq_gen(static_cast<int>(d + 2), static_cast<int>(len), array.data()) == 0) return;
  }
  std::vector<unsigned char> coeffs(2 * d);
  for (size_t k = 0; k < d; ++k) {
    coeffs[k] = 1;
    coeffs[d + k] = gf_pow2(q_exp[k]);
  }
  std::byte* outs[] = {p, q};
  encode(coeffs, data, outs, len);
}

void apply_delta(const std::byte* delta, int q_exp, std::byte* p, std::byte* q, size_t len) {
  if (len == 0) return;
  if (q == nullptr) {
    xor_into(p, delta, len);
    return;
  }
  unsigned char coeffs[2] = {1, gf_pow2(q_exp)};
  unsigned char tables[2 * 32];
  ec_init_tables(1, 2, coeffs, tables);
  unsigned char* outs[2] = {uc(p), uc(q)};
  ec_encode_data_update(static_cast<int>(len), 1, 2, 0, tables, uc(delta), outs);
}

int recover(std::span<std::byte* const> data, std::span<const int> q_exp,
            std::span<const int> missing, const std::byte* p, const std::byte* q, size_t len) {
  const size_t m = missing.size();
  if (m == 0 || len == 0) return 0;
  if (m > 2 || (m == 2 && (p == nullptr || q == nullptr)) || (p == nullptr && q == nullptr)) {
    return EIO;
  }
  auto is_missing = [&](size_t k) {
    for (int x : missing) {
      if (static_cast<size_t>(x) == k) return true;
    }
    return false;
  };

  // One lost chunk and P at hand: P ^ the others, the cheap way.
  if (m == 1 && p != nullptr) {
    std::byte* out = data[missing[0]];
    if (out == nullptr) return 0;
    std::vector<const std::byte*> sources{p};
    for (size_t k = 0; k < data.size(); ++k) {
      if (!is_missing(k)) sources.push_back(data[k]);
    }
    gen_p(sources, out, len);
    return 0;
  }

  // Otherwise solve the m parity equations (P's, then Q's) for the m
  // unknowns: C * lost = parity ^ (the known data's share), where C holds
  // each equation's coefficients of the lost chunks. Each rebuilt chunk is
  // then one linear combination of the parity and the known data.
  std::vector<const std::byte*> parity_rows;  // the equations used, in order
  std::vector<bool> row_is_q;
  if (m == 2 || p != nullptr) {
    parity_rows.push_back(p);
    row_is_q.push_back(false);
  }
  if (parity_rows.size() < m) {
    parity_rows.push_back(q);
    row_is_q.push_back(true);
  }
  auto coeff = [&](size_t row, size_t k) -> uint8_t { return row_is_q[row] ? gf_pow2(q_exp[k]) : 1; };

  // inv = C^-1 (1x1 or 2x2).
  uint8_t inv[2][2] = {};
  if (m == 1) {
    inv[0][0] = gf_inv(coeff(0, missing[0]));
  } else {
    const uint8_t a = coeff(0, missing[0]), b = coeff(0, missing[1]);
    const uint8_t c = coeff(1, missing[0]), d = coeff(1, missing[1]);
    const uint8_t det = static_cast<uint8_t>(gf_mul(a, d) ^ gf_mul(b, c));
    if (det == 0) return EIO;
    const uint8_t r = gf_inv(det);
    inv[0][0] = gf_mul(d, r);
    inv[0][1] = gf_mul(b, r);
    inv[1][0] = gf_mul(c, r);
    inv[1][1] = gf_mul(a, r);
  }

  std::vector<const std::byte*> sources(parity_rows.begin(), parity_rows.end());
  std::vector<size_t> known;
  for (size_t k = 0; k < data.size(); ++k) {
    if (!is_missing(k)) {
      known.push_back(k);
      sources.push_back(data[k]);
    }
  }
  std::vector<std::byte*> outputs;
  std::vector<unsigned char> coeffs;
  for (size_t t = 0; t < m; ++t) {
    if (data[missing[t]] == nullptr) continue;
    outputs.push_back(data[missing[t]]);
    for (size_t r = 0; r < m; ++r) coeffs.push_back(inv[t][r]);
    for (size_t k : known) {
      uint8_t c = 0;
      for (size_t r = 0; r < m; ++r) c ^= gf_mul(inv[t][r], coeff(r, k));
      coeffs.push_back(c);
    }
  }
  if (outputs.empty()) return 0;
  encode(coeffs, sources, outputs, len);
  return 0;
}

}  // namespace mdfs::raid::parity
