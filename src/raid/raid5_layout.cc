#include "raid/raid5_layout.h"

#include <cerrno>

namespace mdfs::raid {

namespace {

bool valid_raid5_algorithm(int a) { return a >= kLeftAsymmetric && a <= kParityLast; }

bool valid_raid6_algorithm(int a) {
  return valid_raid5_algorithm(a) || (a >= kDdfZeroRestart && a <= kDdfNContinue) ||
         (a >= kLeftAsymmetric6 && a <= kParityFirst6);
}

// The raid5 rule over the first `m` members (all of them for raid5, all but
// the last for raid6's -6 layouts): P's role and the data roles in order.
void raid5_rule(int algorithm, uint64_t stripe, int m, int& p, std::vector<int>& data) {
  const int d = m - 1;
  const int r = static_cast<int>(stripe % static_cast<uint64_t>(m));
  switch (algorithm) {
    case kLeftAsymmetric:
    case kRightAsymmetric:
      p = algorithm == kLeftAsymmetric ? d - r : r;
      for (int k = 0; k < d; ++k) data[k] = k < p ? k : k + 1;
      break;
    case kLeftSymmetric:
    case kRightSymmetric:
      p = algorithm == kLeftSymmetric ? d - r : r;
      for (int k = 0; k < d; ++k) data[k] = (p + 1 + k) % m;
      break;
    case kParityFirst:
      p = 0;
      for (int k = 0; k < d; ++k) data[k] = k + 1;
      break;
    default:  // kParityLast
      p = d;
      for (int k = 0; k < d; ++k) data[k] = k;
      break;
  }
}

}  // namespace

Result<Raid5Layout> Raid5Layout::make(int level, int algorithm, int raid_disks, uint32_t chunk_sectors) {
  // As raid5.c's setup_conf: a chunk of whole pages, a power of two.
  if (chunk_sectors < 8 || (chunk_sectors & (chunk_sectors - 1)) != 0) return err(EINVAL);
  switch (level) {
    case 4:
      if (raid_disks < 2) return err(EINVAL);
      break;
    case 5:
      if (raid_disks < 2 || !valid_raid5_algorithm(algorithm)) return err(EINVAL);
      break;
    case 6: {
      // Q's coefficients g^i must differ: i < 255.
      const bool ddf = algorithm >= kDdfZeroRestart && algorithm <= kDdfNContinue;
      if (raid_disks < 4 || raid_disks > (ddf ? 255 : 256) || !valid_raid6_algorithm(algorithm)) {
        return err(EINVAL);
      }
      break;
    }
    default:
      return err(EINVAL);
  }
  return Raid5Layout(level, algorithm, raid_disks, chunk_sectors);
}

bool Raid5Layout::ddf() const {
  return level_ == 6 && algorithm_ >= kDdfZeroRestart && algorithm_ <= kDdfNContinue;
}

void Raid5Layout::roles(uint64_t stripe, StripeRoles& out) const {
  const int n = raid_disks_;
  const int d = data_disks();
  out.data.resize(d);
  out.q = -1;
  if (level_ == 4) {
    // raid4 is parity-last whatever the layout number says.
    raid5_rule(kParityLast, stripe, n, out.p, out.data);
    out.q_exp.clear();
    return;
  }
  if (level_ == 5) {
    raid5_rule(algorithm_, stripe, n, out.p, out.data);
    out.q_exp.clear();
    return;
  }

  int& p = out.p;
  int& q = out.q;
  auto& data = out.data;
  switch (algorithm_) {
    case kLeftAsymmetric:
    case kRightAsymmetric:
    case kDdfZeroRestart:  // right-asymmetric's placement, DDF's Q order
    case kDdfNRestart: {   // left-asymmetric one stripe on: the first stripe is D..D P Q
      const uint64_t s = algorithm_ == kDdfNRestart ? stripe + 1 : stripe;
      const int r = static_cast<int>(s % static_cast<uint64_t>(n));
      p = (algorithm_ == kLeftAsymmetric || algorithm_ == kDdfNRestart) ? n - 1 - r : r;
      if (p == n - 1) {
        q = 0;  // Q D D .. D P
        for (int k = 0; k < d; ++k) data[k] = k + 1;
      } else {
        q = p + 1;  // D .. P Q .. D
        for (int k = 0; k < d; ++k) data[k] = k < p ? k : k + 2;
      }
      break;
    }
    case kLeftSymmetric:
    case kRightSymmetric: {
      const int r = static_cast<int>(stripe % static_cast<uint64_t>(n));
      p = algorithm_ == kLeftSymmetric ? n - 1 - r : r;
      q = (p + 1) % n;
      for (int k = 0; k < d; ++k) data[k] = (p + 2 + k) % n;
      break;
    }
    case kParityFirst:
      p = 0;
      q = 1;
      for (int k = 0; k < d; ++k) data[k] = k + 2;
      break;
    case kParityLast:
      p = d;
      q = d + 1;
      for (int k = 0; k < d; ++k) data[k] = k;
      break;
    case kDdfNContinue: {
      // left-symmetric with Q just before P.
      const int r = static_cast<int>(stripe % static_cast<uint64_t>(n));
      p = n - 1 - r;
      q = (p + n - 1) % n;
      for (int k = 0; k < d; ++k) data[k] = (p + 1 + k) % n;
      break;
    }
    default:  // the -6 layouts
      raid5_rule(algorithm_ - kLeftAsymmetric6, stripe, n - 1, p, data);
      q = n - 1;
      break;
  }

  out.q_exp.resize(d);
  if (ddf()) {
    // DDF counts every member from 0, P and Q taking (zero) places.
    for (int k = 0; k < d; ++k) out.q_exp[k] = data[k];
  } else {
    // md counts only the data members, from the one after Q, wrapping.
    const int p_dist = (p - q + n) % n;
    for (int k = 0; k < d; ++k) {
      const int dist = (data[k] - q + n) % n;
      out.q_exp[k] = dist - 1 - (p_dist < dist ? 1 : 0);
    }
  }
}

StripeRoles Raid5Layout::roles(uint64_t stripe) const {
  StripeRoles r;
  roles(stripe, r);
  return r;
}

SectorLocation Raid5Layout::locate(uint64_t array_sector) const {
  const uint64_t chunk = array_sector / chunk_sectors_;
  const uint64_t d = static_cast<uint64_t>(data_disks());
  SectorLocation loc{};
  loc.stripe = chunk / d;
  loc.data_index = static_cast<int>(chunk % d);
  const StripeRoles r = roles(loc.stripe);
  loc.role = r.data[loc.data_index];
  loc.p_role = r.p;
  loc.q_role = r.q;
  loc.member_sector = loc.stripe * chunk_sectors_ + array_sector % chunk_sectors_;
  return loc;
}

}  // namespace mdfs::raid
