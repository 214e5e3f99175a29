// --monitor (--follow): mdadm's Monitor over the mounts. Each pass reads
// proc/mdstat and every watched array (GET_ARRAY_INFO, GET_DISK_INFO) and
// reports what changed as mdadm's events (Fail, FailSpare, SpareActive,
// DegradedArray, RebuildStarted, RebuildNN, RebuildFinished, NewArray,
// DeviceDisappeared, TestMessage, SparesMissing) to a program, by mail
// (through a sendmail-compatible command), to syslog or on stdout. Between
// passes it waits in poll() on proc/mdstat, which mdfs wakes on each md
// event, or --delay seconds at most.
#pragma once

#include "mdfsadm/config.h"
#include "mdfsadm/options.h"

namespace mdfsadm {

int monitor_mode(const Command& cmd, const Config& config);

}  // namespace mdfsadm
