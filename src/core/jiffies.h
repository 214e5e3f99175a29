// The kernel counts time in jiffies; Debian's kernels run at HZ=250, which
// is why a running array's default safe_mode_delay reads 0.204 (51 jiffies).
#pragma once

namespace mdfs::core {

inline constexpr unsigned kHz = 250;
inline constexpr unsigned kDefaultSafemodeJiffies = 200 * kHz / 1000 + 1;

}  // namespace mdfs::core
