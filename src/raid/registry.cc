// The personality registry: every level mdfs runs, in the order the kernel
// registers them (and /proc/mdstat lists them). A level is one line here.
#include <algorithm>

#include "mdfs/personality.h"

namespace mdfs::raid {

extern const PersonalityType kLinearPersonality;  // linear.cc
extern const PersonalityType kRaid0Personality;   // raid0.cc
extern const PersonalityType kRaid1Personality;   // raid1.cc
extern const PersonalityType kRaid10Personality;  // raid10.cc
extern const PersonalityType kRaid6Personality;   // raid5.cc
extern const PersonalityType kRaid5Personality;   // raid5.cc
extern const PersonalityType kRaid4Personality;   // raid5.cc

namespace {

constexpr const PersonalityType* kPersonalities[] = {
    &kLinearPersonality,
    &kRaid0Personality,
    &kRaid1Personality,
    &kRaid10Personality,
    &kRaid6Personality,
    &kRaid5Personality,
    &kRaid4Personality,
};

}  // namespace

std::span<const PersonalityType* const> personalities() { return kPersonalities; }

const PersonalityType* find_personality(int level) {
  auto it = std::find_if(std::begin(kPersonalities), std::end(kPersonalities),
                         [&](const PersonalityType* p) { return p->level == level; });
  return it == std::end(kPersonalities) ? nullptr : *it;
}

const PersonalityType* find_personality(std::string_view name) {
  auto it = std::find_if(std::begin(kPersonalities), std::end(kPersonalities),
                         [&](const PersonalityType* p) { return p->name == name; });
  return it == std::end(kPersonalities) ? nullptr : *it;
}

}  // namespace mdfs::raid
