// The daemon's log, where the kernel writes to its ring buffer: why an
// array was refused or started read-only, members left out, failures.
// Lines go to stderr ("mdfs: ..."), and to syslog once the daemon runs in
// the background (main.cc turns that on).
#pragma once

#include <string>

namespace mdfs::core {

void log_line(const std::string& line);
// After daemonising: stderr is /dev/null, lines go to syslog as well.
void log_to_syslog(bool on);

}  // namespace mdfs::core
