// Where raid4, raid5 and raid6 put data, P and Q: the kernel's
// raid5_compute_sector (and raid6_d0/raid6_idx_to_slot for Q's order) as
// pure functions of the stripe number, so they can be checked sector by
// sector against arrays the kernel wrote. No I/O here.
#pragma once

#include <cstdint>
#include <vector>

#include "mdfs/result.h"

namespace mdfs::raid {

// md's layout numbers for the parity levels (ALGORITHM_* in the kernel's
// raid5.h, the names mdadm prints).
enum Raid5Algorithm : int {
  kLeftAsymmetric = 0,
  kRightAsymmetric = 1,
  kLeftSymmetric = 2,  // mdadm's default
  kRightSymmetric = 3,
  kParityFirst = 4,
  kParityLast = 5,
  // raid6 only: the layouts of SNIA DDF arrays.
  kDdfZeroRestart = 8,
  kDdfNRestart = 9,
  kDdfNContinue = 10,
  // raid6 only: Q on the last member, P and data over the others by the
  // raid5 rule of the same name (what a raid5 -> raid6 reshape leaves).
  kLeftAsymmetric6 = 16,
  kRightAsymmetric6 = 17,
  kLeftSymmetric6 = 18,
  kRightSymmetric6 = 19,
  kParityFirst6 = 20,
};

// The roles of one stripe (one chunk-sized row across all members).
struct StripeRoles {
  int p = -1;
  int q = -1;  // -1 for raid4/raid5
  // data[k]: the role holding the stripe's k-th data chunk, in array order.
  std::vector<int> data;
  // q_exp[k]: data chunk k enters Q as g^q_exp[k] * D_k (raid6 only).
  std::vector<int> q_exp;
};

// Where one array sector lives.
struct SectorLocation {
  uint64_t stripe;
  int data_index;  // k: which data chunk of the stripe
  int role;        // the member holding it
  int p_role;
  int q_role;  // -1 without Q
  uint64_t member_sector;  // from the member's data_offset
};

class Raid5Layout {
 public:
  // Checks what the kernel checks at run time: level 4, 5 or 6, enough
  // members (2 for raid4/5, 4 for raid6), a known algorithm for the level
  // (raid4 ignores the layout number, as raid5_compute_sector does), and a
  // chunk that is a power of two of at least 4 KiB. EINVAL otherwise.
  static Result<Raid5Layout> make(int level, int algorithm, int raid_disks, uint32_t chunk_sectors);

  int level() const { return level_; }
  int algorithm() const { return algorithm_; }
  int raid_disks() const { return raid_disks_; }
  int data_disks() const { return raid_disks_ - parity_disks(); }
  int parity_disks() const { return level_ == 6 ? 2 : 1; }
  uint32_t chunk_sectors() const { return chunk_sectors_; }
  // DDF layouts count Q's coefficients from member 0, P and Q included.
  bool ddf() const;

  // The roles of stripe `stripe`; `out` is reused to spare allocations.
  void roles(uint64_t stripe, StripeRoles& out) const;
  StripeRoles roles(uint64_t stripe) const;
  SectorLocation locate(uint64_t array_sector) const;

 private:
  Raid5Layout(int level, int algorithm, int raid_disks, uint32_t chunk_sectors)
      : level_(level), algorithm_(algorithm), raid_disks_(raid_disks), chunk_sectors_(chunk_sectors) {}
  int level_;
  int algorithm_;
  int raid_disks_;
  uint32_t chunk_sectors_;
};

}  // namespace mdfs::raid
