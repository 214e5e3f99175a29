// Parity math: md's GF(2^8), P/Q through ISA-L against a plain definition
// and against the parity the kernel stored in the fixtures, and recovery of
// any one or two lost chunks.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>

#include "raid/parity.h"
#include "raid/raid5_layout.h"
#include "raid5_fixtures.h"

using namespace mdfs::raid;
using namespace mdfs::raid::test;

namespace {

// md's field by the book: shift and reduce by x^8+x^4+x^3+x^2+1.
uint8_t slow_mul(uint8_t a, uint8_t b) {
  unsigned r = 0, x = a;
  for (int i = 0; i < 8; ++i) {
    if (b & (1u << i)) r ^= x;
    x = (x << 1) ^ ((x & 0x80) ? 0x11d : 0);
  }
  return static_cast<uint8_t>(r);
}

void slow_pq(const std::vector<const std::byte*>& data, const std::vector<int>& q_exp, std::byte* p, std::byte* q,
             size_t len) {
  for (size_t i = 0; i < len; ++i) {
    uint8_t pv = 0, qv = 0;
    for (size_t k = 0; k < data.size(); ++k) {
      uint8_t g = 1;
      for (int e = 0; e < q_exp[k]; ++e) g = slow_mul(g, 2);
      const auto v = static_cast<uint8_t>(data[k][i]);
      pv ^= v;
      qv ^= slow_mul(g, v);
    }
    p[i] = std::byte{pv};
    q[i] = std::byte{qv};
  }
}

// Buffers at a chosen misalignment from a 64-byte boundary.
class Buffers {
 public:
  Buffers(size_t count, size_t len, size_t misalign) : len_(len), misalign_(misalign) {
    for (size_t i = 0; i < count; ++i) {
      mem_.emplace_back(static_cast<std::byte*>(std::aligned_alloc(64, (len + misalign + 63) / 64 * 64)));
    }
  }
  std::byte* operator[](size_t i) { return mem_[i].get() + misalign_; }
  size_t len() const { return len_; }

 private:
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::vector<std::unique_ptr<std::byte, Free>> mem_;
  size_t len_;
  size_t misalign_;
};

void fill_random(std::byte* p, size_t len, std::mt19937_64& rng) {
  for (size_t i = 0; i < len; ++i) p[i] = std::byte(rng() & 0xff);
}

}  // namespace

TEST_CASE("md's field: g = 2 over x^8+x^4+x^3+x^2+1", "[raid5][parity]") {
  CHECK(parity::gf_pow2(0) == 1);
  CHECK(parity::gf_pow2(1) == 2);
  CHECK(parity::gf_pow2(8) == 0x1d);
  CHECK(parity::gf_pow2(255) == 1);
  uint8_t g = 1;
  for (int i = 0; i < 255; ++i) {
    REQUIRE(parity::gf_pow2(i) == g);
    g = slow_mul(g, 2);
  }
  int wrong = 0;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      wrong += parity::gf_mul(static_cast<uint8_t>(a), static_cast<uint8_t>(b)) !=
               slow_mul(static_cast<uint8_t>(a), static_cast<uint8_t>(b));
    }
  }
  CHECK(wrong == 0);  // ISA-L's gf_mul is md's field
}

TEST_CASE("P and Q from ISA-L equal the definition, aligned or not", "[raid5][parity]") {
  std::mt19937_64 rng(7);
  struct Case {
    std::vector<int> q_exp;
    size_t len;
  };
  const std::vector<Case> cases = {
      {{0, 1}, 4096},          {{2, 0, 1}, 4096},     {{0, 1, 2, 3, 4, 5, 6}, 512},
      {{1, 2, 4}, 4096},  // DDF: exponents are member numbers, with holes
      {{3, 0, 2, 1}, 96},      {{0, 1, 2}, 33},       {{1, 0}, 7}};
  for (const Case& c : cases) {
    for (size_t misalign : {size_t{0}, size_t{1}, size_t{16}}) {
      INFO("exponents " << c.q_exp.size() << " len " << c.len << " misalign " << misalign);
      const size_t d = c.q_exp.size();
      Buffers bufs(d + 4, c.len, misalign);
      std::vector<const std::byte*> data;
      for (size_t k = 0; k < d; ++k) {
        fill_random(bufs[k], c.len, rng);
        data.push_back(bufs[k]);
      }
      parity::gen_pq(data, c.q_exp, bufs[d], bufs[d + 1], c.len);
      slow_pq(data, c.q_exp, bufs[d + 2], bufs[d + 3], c.len);
      CHECK(std::memcmp(bufs[d], bufs[d + 2], c.len) == 0);
      CHECK(std::memcmp(bufs[d + 1], bufs[d + 3], c.len) == 0);
      parity::gen_p(data, bufs[d], c.len);
      CHECK(std::memcmp(bufs[d], bufs[d + 2], c.len) == 0);
    }
  }
}

TEST_CASE("a data chunk's change folded into P and Q gives the new stripe's parity", "[raid5][parity]") {
  std::mt19937_64 rng(11);
  const size_t len = 4096, d = 4;
  const std::vector<int> q_exp = {1, 3, 0, 2};
  for (size_t misalign : {size_t{0}, size_t{3}}) {
    Buffers bufs(d + 5, len, misalign);
    std::vector<const std::byte*> data;
    for (size_t k = 0; k < d; ++k) {
      fill_random(bufs[k], len, rng);
      data.push_back(bufs[k]);
    }
    std::byte* p = bufs[d];
    std::byte* q = bufs[d + 1];
    parity::gen_pq(data, q_exp, p, q, len);
    // Change bytes [100, 1100) of chunk 2 by a random delta (old ^ new).
    std::byte* delta = bufs[d + 2];
    fill_random(delta, 1000, rng);
    parity::xor_into(bufs[2] + 100, delta, 1000);
    parity::apply_delta(delta, q_exp[2], p + 100, q + 100, 1000);
    parity::gen_pq(data, q_exp, bufs[d + 3], bufs[d + 4], len);
    CHECK(std::memcmp(p, bufs[d + 3], len) == 0);
    CHECK(std::memcmp(q, bufs[d + 4], len) == 0);
  }
}

TEST_CASE("recover rebuilds any one or two lost data chunks", "[raid5][parity]") {
  std::mt19937_64 rng(5);
  for (const std::vector<int>& q_exp :
       {std::vector<int>{0, 1, 2, 3, 4}, std::vector<int>{3, 4, 0, 1, 2}, std::vector<int>{0, 2, 3, 5, 6}}) {
    for (size_t len : {size_t{4096}, size_t{100}}) {
      const size_t d = q_exp.size();
      Buffers bufs(2 * d + 2, len, 0);
      std::vector<const std::byte*> data;
      for (size_t k = 0; k < d; ++k) {
        fill_random(bufs[k], len, rng);
        data.push_back(bufs[k]);
      }
      std::byte* p = bufs[d];
      std::byte* q = bufs[d + 1];
      parity::gen_pq(data, q_exp, p, q, len);
      auto try_lose = [&](std::vector<int> lost, bool have_p, bool have_q) {
        INFO("lost " << lost.size() << " first " << lost[0] << " P " << have_p << " Q " << have_q);
        std::vector<std::byte*> work(d);
        for (size_t k = 0; k < d; ++k) {
          work[k] = bufs[d + 2 + k];
          std::memcpy(work[k], data[k], len);
        }
        for (int k : lost) std::memset(work[k], 0xee, len);
        REQUIRE(parity::recover(work, q_exp, lost, have_p ? p : nullptr, have_q ? q : nullptr, len) == 0);
        for (int k : lost) CHECK(std::memcmp(work[k], data[k], len) == 0);
      };
      for (int x = 0; x < static_cast<int>(d); ++x) {
        try_lose({x}, true, true);
        try_lose({x}, true, false);  // data + Q lost
        try_lose({x}, false, true);  // data + P lost
        for (int y = x + 1; y < static_cast<int>(d); ++y) try_lose({x, y}, true, true);
      }
      // Too much lost.
      std::vector<std::byte*> work(d, nullptr);
      for (size_t k = 0; k < d; ++k) work[k] = bufs[d + 2 + k];
      CHECK(parity::recover(work, q_exp, std::vector<int>{0, 1}, p, nullptr, len) == EIO);
      CHECK(parity::recover(work, q_exp, std::vector<int>{0}, nullptr, nullptr, len) == EIO);
      CHECK(parity::recover(work, q_exp, std::vector<int>{0, 1, 2}, p, q, len) == EIO);
    }
  }
}

TEST_CASE("ISA-L's P and Q equal the kernel's on every stripe of the fixtures", "[raid5][parity]") {
  for (const std::string& name : parity_fixture_names()) {
    const Fixture& f = fixture(name);
    INFO(name);
    auto layout = Raid5Layout::make(f.level, f.layout, f.raid_disks, f.chunk_sectors);
    REQUIRE(layout.ok());
    const auto members = load_members(f);
    const size_t chunk = f.chunk_sectors * 512;
    const uint64_t stripes = f.avail_sectors / f.chunk_sectors;
    const int d = layout->data_disks();
    // misalign 0 takes pq_gen/xor_gen, 1 the ec_encode_data path.
    for (size_t misalign : {size_t{0}, size_t{1}}) {
      INFO("misalign " << misalign);
      Buffers bufs(d + 2, chunk, misalign);
      int bad_p = 0, bad_q = 0;
      for (uint64_t s = 0; s < stripes; ++s) {
        const StripeRoles r = layout->roles(s);
        std::vector<const std::byte*> data;
        for (int k = 0; k < d; ++k) {
          std::memcpy(bufs[k], members[r.data[k]].data() + s * chunk, chunk);
          data.push_back(bufs[k]);
        }
        if (f.level == 6) {
          parity::gen_pq(data, r.q_exp, bufs[d], bufs[d + 1], chunk);
          bad_q += std::memcmp(bufs[d + 1], members[r.q].data() + s * chunk, chunk) != 0;
        } else {
          parity::gen_p(data, bufs[d], chunk);
        }
        bad_p += std::memcmp(bufs[d], members[r.p].data() + s * chunk, chunk) != 0;
      }
      CHECK(bad_p == 0);
      CHECK(bad_q == 0);
    }
  }
}

TEST_CASE("raid6 Q depends on md's data order: array order is wrong for asymmetric layouts", "[raid5][parity]") {
  // Guards the fixture check above: it can tell the orders apart.
  for (const std::string name : {"raid6-5-ls", "raid6-5-ra"}) {
    const Fixture& f = fixture(name);
    auto layout = Raid5Layout::make(f.level, f.layout, f.raid_disks, f.chunk_sectors);
    REQUIRE(layout.ok());
    const auto members = load_members(f);
    const size_t chunk = f.chunk_sectors * 512;
    const int d = layout->data_disks();
    Buffers bufs(2, chunk, 0);
    int differs = 0;
    for (uint64_t s = 0; s < f.avail_sectors / f.chunk_sectors; ++s) {
      const StripeRoles r = layout->roles(s);
      std::vector<const std::byte*> data;
      std::vector<int> array_order;
      for (int k = 0; k < d; ++k) {
        data.push_back(members[r.data[k]].data() + s * chunk);
        array_order.push_back(k);
      }
      parity::gen_pq(data, array_order, bufs[0], bufs[1], chunk);
      differs += std::memcmp(bufs[1], members[r.q].data() + s * chunk, chunk) != 0;
    }
    if (std::string(name) == "raid6-5-ls") {
      CHECK(differs == 0);
    } else {
      CHECK(differs > 0);
    }
  }
}
