// The parity personalities, as the kernel's raid5.c: raid4, raid5 and raid6
// share one data path (layout math in raid5_layout.h, parity in parity.h).
#pragma once

#include "mdfs/personality.h"

namespace mdfs::raid {

extern const PersonalityType kRaid4Personality;
extern const PersonalityType kRaid5Personality;
extern const PersonalityType kRaid6Personality;

}  // namespace mdfs::raid
