#include "sysfs/attributes.h"

#include "core/names.h"
#include "core/parse.h"
#include "mdfs/personality.h"

namespace mdfs::sysfs {

namespace {

using core::Array;

// Most md attributes are one Array show and one Array store.
template <std::string (Array::*Show)() const>
std::string show(const Target& t) {
  return (t.array->*Show)();
}

template <Result<void> (Array::*Store)(std::string_view)>
Result<void> store(const Target& t, std::string_view text) {
  return (t.array->*Store)(text);
}

// A writable attribute whose changes mdfs does not carry (a policy switch,
// the stripe cache's tunables): the kernel's answer for a value it cannot
// take.
Result<void> refuse(const Target&, std::string_view) { return err(EINVAL); }

// A raid5 tunable fixed at 0 in mdfs (group_thread_cnt: mdfs has no
// worker thread groups; skip_copy: no stripe cache to copy into): writing
// 0 (the kernel's reading of the value) is accepted and changes nothing,
// anything else in the kernel's range is EINVAL, as for a value mdfs
// cannot take, and text is EINVAL as the kernel's kstrto answers.
template <unsigned long Max>
Result<void> fixed_zero(const Target&, std::string_view text) {
  auto n = core::parse_kstrto<unsigned long>(text);
  if (!n || *n > Max) return err(EINVAL);
  return *n == 0 ? Result<void>{} : err(EINVAL);
}

bool if_running(const Target& t) { return t.array->running(); }

// md_redundancy_group: only personalities that can resync have these.
bool if_redundant(const Target& t) {
  int level = t.array->running_level();
  return level != LEVEL_NONE && level != 0 && level != LEVEL_LINEAR;
}

bool if_parity(const Target& t) {
  int level = t.array->running_level();
  return level == 4 || level == 5 || level == 6;
}

template <const char* Text>
std::string constant(const Target&) {
  return Text;
}
constexpr char kZero[] = "0\n";

// Member attributes: one Array show/store taking the member.
template <std::string (Array::*Show)(const core::Member&) const>
std::string member_show(const Target& t) {
  return (t.array->*Show)(*t.member);
}

template <Result<void> (Array::*Store)(core::Member&, std::string_view)>
Result<void> member_store(const Target& t, std::string_view text) {
  return (t.array->*Store)(*t.member, text);
}

// rdev->corrected_errors, an atomic_t the kernel prints signed.
std::string show_member_errors(const Target& t) {
  return std::to_string(static_cast<int32_t>(t.member->corrected_errors.load())) + "\n";
}
// As errors_store: any unsigned number sets the count.
Result<void> store_member_errors(const Target& t, std::string_view text) {
  auto n = core::parse_kstrto<uint32_t>(text);
  if (!n) return err(n.error());
  t.member->corrected_errors = *n;
  return {};
}

template <bool Unacknowledged>
std::string member_bad_blocks(const Target& t) {
  return t.array->member_bad_blocks_text(*t.member, Unacknowledged);
}

template <bool Unacknowledged>
Result<void> store_member_bad_blocks(const Target& t, std::string_view text) {
  return t.array->store_member_bad_blocks(*t.member, text, Unacknowledged);
}


std::string show_create_on_open(const Target& t) { return t.registry->create_on_open() ? "Y\n" : "N\n"; }

Result<void> store_create_on_open(const Target& t, std::string_view text) {
  auto value = core::parse_kstrtobool(text);
  if (!value) return err(value.error());
  t.registry->set_create_on_open(*value);
  return {};
}

Result<void> store_new_array(const Target& t, std::string_view text) {
  if (!t.memory) return err(t.registry->new_array(text).error());
  StoreMemory& m = *t.memory;
  // A finished name (it ended with a newline) followed by another whole
  // line is a second name on the same open file, as `echo` twice makes.
  if (!m.text.empty() && m.text.back() == '\n' && !text.empty() && text.back() == '\n') m = {};
  if (!m.text.empty()) {
    // A later piece of the same name: the whole text is the name, and what
    // its first pieces made is taken back (EBUSY if someone uses it now).
    if (!m.made.empty() && !t.registry->withdraw_new_array(m.made, m.made_id)) return err(EBUSY);
    m.made.clear();
  }
  m.text.append(text);
  auto id = t.registry->new_array(m.text);
  if (!id) return err(id.error());
  m.made = core::parse_new_array_name(m.text)->name;
  m.made_id = *id;
  return {};
}

Result<void> store_start_dirty_degraded(const Target& t, std::string_view text) {
  auto value = core::parse_kstrtoint(text);
  if (!value) return err(EINVAL);  // param_set_int answers EINVAL for anything it cannot parse
  t.registry->set_start_dirty_degraded(*value);
  return {};
}

std::string show_start_dirty_degraded(const Target& t) {
  return std::to_string(t.registry->start_dirty_degraded()) + "\n";
}

std::string show_size(const Target& t) { return std::to_string(t.array->size_bytes() / raid::kSectorSize) + "\n"; }
std::string show_ro(const Target& t) { return t.array->read_only_disk() ? "1\n" : "0\n"; }

std::string show_array_state(const Target& t) { return std::string(core::to_string(t.array->array_state())) + "\n"; }
std::string show_degraded(const Target& t) { return std::to_string(t.array->degraded()) + "\n"; }

Result<void> store_new_dev(const Target& t, std::string_view text) { return t.array->store_new_dev(text); }

std::string show_mdstat(const Target& t) { return render_mdstat(*t.registry); }

// md_mod's parameters, with the kernel's modes.
const Attribute kModuleParameters[] = {
    {"create_on_open", 0600, show_create_on_open, store_create_on_open},
    {"new_array", 0200, nullptr, store_new_array},
    {"start_dirty_degraded", 0644, show_start_dirty_degraded, store_start_dirty_degraded},
};

const Attribute kBlockAttributes[] = {
    {"ro", 0444, show_ro, nullptr},
    {"size", 0444, show_size, nullptr},
};

const Attribute kMdAttributes[] = {
    {"array_size", 0644, show<&Array::array_size_text>, store<&Array::store_array_size>},
    {"array_state", 0644, show_array_state, store<&Array::store_array_state>},
    {"chunk_size", 0644, show<&Array::chunk_size_text>, store<&Array::store_chunk_size>},
    {"component_size", 0644, show<&Array::component_size_text>, store<&Array::store_component_size>},
    {"consistency_policy", 0644, show<&Array::consistency_policy_text>, store<&Array::store_consistency_policy>},
    {"bitmap_set_bits", 0200, nullptr, store<&Array::store_bitmap_set_bits>, if_running},
    {"degraded", 0444, show_degraded, nullptr, if_redundant},
    {"group_thread_cnt", 0644, constant<kZero>, fixed_zero<8192>, if_parity},
    {"journal_mode", 0644, show<&Array::journal_mode_text>, store<&Array::store_journal_mode>, if_parity},
    {"last_sync_action", 0444, show<&Array::last_sync_action_text>, nullptr, if_redundant},
    {"mismatch_cnt", 0444, show<&Array::mismatch_cnt_text>, nullptr, if_redundant},
    {"ppl_write_hint", 0644, constant<kZero>, refuse, if_parity},
    {"preread_bypass_threshold", 0644, show<&Array::preread_bypass_threshold_text>,
     store<&Array::store_preread_bypass_threshold>, if_parity},
    {"rmw_level", 0644, [](const Target&) -> std::string { return "1\n"; }, refuse, if_parity},
    {"skip_copy", 0644, constant<kZero>, fixed_zero<~0UL>, if_parity},
    {"stripe_cache_active", 0444, show<&Array::stripe_cache_active_text>, nullptr, if_parity},
    {"stripe_cache_size", 0644, show<&Array::stripe_cache_size_text>, store<&Array::store_stripe_cache_size>,
     if_parity},
    {"stripe_size", 0444, [](const Target&) -> std::string { return "4096\n"; }, nullptr, if_parity},
    {"suspend_hi", 0644, constant<kZero>, refuse, if_running},
    {"suspend_lo", 0644, constant<kZero>, refuse, if_running},
    {"sync_action", 0644, show<&Array::sync_action_text>, store<&Array::store_sync_action>, if_redundant},
    {"sync_completed", 0444, show<&Array::sync_completed_text>, nullptr, if_redundant},
    {"sync_force_parallel", 0644, constant<kZero>, refuse, if_redundant},
    {"sync_max", 0644, show<&Array::sync_max_text>, store<&Array::store_sync_max>, if_redundant},
    {"sync_min", 0644, show<&Array::sync_min_text>, store<&Array::store_sync_min>, if_redundant},
    {"sync_speed", 0444, show<&Array::sync_speed_text>, nullptr, if_redundant},
    {"sync_speed_max", 0644, show<&Array::sync_speed_max_text>, store<&Array::store_sync_speed_max>, if_redundant},
    {"sync_speed_min", 0644, show<&Array::sync_speed_min_text>, store<&Array::store_sync_speed_min>, if_redundant},
    {"fail_last_dev", 0644, show<&Array::fail_last_dev_text>, store<&Array::store_fail_last_dev>},
    {"layout", 0644, show<&Array::layout_text>, store<&Array::store_layout>},
    {"level", 0644, show<&Array::level_text>, store<&Array::store_level>},
    {"max_read_errors", 0644, show<&Array::max_read_errors_text>, store<&Array::store_max_read_errors>},
    {"metadata_version", 0644, show<&Array::metadata_version_text>, store<&Array::store_metadata_version>},
    {"new_dev", 0200, nullptr, store_new_dev},
    {"raid_disks", 0644, show<&Array::raid_disks_text>, store<&Array::store_raid_disks>},
    {"reshape_direction", 0644, show<&Array::reshape_direction_text>, store<&Array::store_reshape_direction>},
    {"reshape_position", 0644, show<&Array::reshape_position_text>, store<&Array::store_reshape_position>},
    {"resync_start", 0644, show<&Array::resync_start_text>, store<&Array::store_resync_start>},
    {"safe_mode_delay", 0644, show<&Array::safe_mode_delay_text>, store<&Array::store_safe_mode_delay>},
    {"serialize_policy", 0644, show<&Array::serialize_policy_text>, refuse},
    {"set_name", 0644, show<&Array::set_name_text>, store<&Array::store_set_name>},
    {"uuid", 0444, show<&Array::uuid_text>, nullptr},
};

// The write-intent bitmap's attributes (md-bitmap.c's md_bitmap_group).
const Attribute kBitmapAttributes[] = {
    {"backlog", 0644, show<&Array::bitmap_backlog_text>, store<&Array::store_bitmap_backlog>},
    {"can_clear", 0644, show<&Array::bitmap_can_clear_text>, store<&Array::store_bitmap_can_clear>},
    {"chunksize", 0644, show<&Array::bitmap_chunksize_text>, store<&Array::store_bitmap_chunksize>},
    {"location", 0644, show<&Array::bitmap_location_text>, store<&Array::store_bitmap_location>},
    {"max_backlog_used", 0644, show<&Array::bitmap_max_backlog_used_text>, store<&Array::store_bitmap_max_backlog_used>},
    {"metadata", 0644, show<&Array::bitmap_metadata_text>, store<&Array::store_bitmap_metadata>},
    {"space", 0644, show<&Array::bitmap_space_text>, store<&Array::store_bitmap_space>},
    {"time_base", 0644, show<&Array::bitmap_time_base_text>, store<&Array::store_bitmap_time_base>},
};

const Attribute kMemberAttributes[] = {
    {"bad_blocks", 0644, member_bad_blocks<false>, store_member_bad_blocks<false>},
    {"errors", 0644, show_member_errors, store_member_errors},
    {"new_offset", 0644, member_show<&Array::member_new_offset_text>, member_store<&Array::store_member_new_offset>},
    {"offset", 0644, member_show<&Array::member_offset_text>, member_store<&Array::store_member_offset>},
    {"ppl_sector", 0644, constant<kZero>, refuse},
    {"ppl_size", 0644, constant<kZero>, refuse},
    {"recovery_start", 0644, member_show<&Array::member_recovery_start_text>,
     member_store<&Array::store_member_recovery_start>},
    {"size", 0644, member_show<&Array::member_size_text>, member_store<&Array::store_member_size>},
    {"slot", 0644, member_show<&Array::member_slot_text>, member_store<&Array::store_member_slot>},
    {"state", 0644, member_show<&Array::member_state_text>, member_store<&Array::store_member_state>},
    {"unacknowledged_bad_blocks", 0644, member_bad_blocks<true>, store_member_bad_blocks<true>},
};

const Attribute kMdstat{"mdstat", 0444, show_mdstat, nullptr};

}  // namespace

std::span<const Attribute> module_parameters() { return kModuleParameters; }
std::span<const Attribute> block_attributes() { return kBlockAttributes; }
std::span<const Attribute> md_attributes() { return kMdAttributes; }
std::span<const Attribute> bitmap_attributes() { return kBitmapAttributes; }
std::span<const Attribute> member_attributes() { return kMemberAttributes; }
const Attribute& mdstat_attribute() { return kMdstat; }

std::string render_mdstat(core::Registry& registry) {
  std::string out = "Personalities : ";
  for (const auto* p : raid::personalities()) out += "[" + std::string(p->name) + "] ";
  out += "\n";
  for (const auto& array : registry.arrays()) out += array->mdstat_entry();
  out += "unused devices: <none>\n";
  return out;
}

}  // namespace mdfs::sysfs
