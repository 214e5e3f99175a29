// --create --write-zeroes: each member's data area zeroed before the array
// starts, so that the new array is consistent without an initial resync
// (mdadm 4.3's option, which mdadm's own test 00raid5-zero uses).
#pragma once

#include <signal.h>

#include <cstdint>
#include <string>

namespace mdfsadm {

// One member's range, in bytes: [offset, offset + length).
struct ZeroRange {
  std::string file;  // the member file
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Zeroes the range as mdadm does on a block device (fallocate
// FALLOC_FL_ZERO_RANGE, in 1 GiB steps so that an interrupt is seen soon);
// where the file system has no ZERO_RANGE, punches a hole, and where it
// cannot do that either, writes zeroes. Throws Failure with mdadm's
// "zeroing FILE failed: REASON", or "zeroing interrupted!" after SIGINT.
void zero_data(const ZeroRange& range);

// Blocks SIGINT's default action while alive: an interrupt sets a flag that
// zero_data reads between steps, as mdadm waits for its zeroing processes
// rather than leaving a half-built array behind.
class ZeroingInterrupts {
 public:
  ZeroingInterrupts();
  ~ZeroingInterrupts();
  ZeroingInterrupts(const ZeroingInterrupts&) = delete;
  ZeroingInterrupts& operator=(const ZeroingInterrupts&) = delete;
  static bool interrupted();

 private:
  struct sigaction old_ {};
};

}  // namespace mdfsadm
