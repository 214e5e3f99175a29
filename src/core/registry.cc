#include "core/registry.h"

#include "format/feature_rules.h"

#include <algorithm>

#include "core/log.h"
#include "core/names.h"
#include "core/superblock.h"

#include <cstring>

namespace mdfs::core {

ArrayRef::ArrayRef(Registry& registry, std::shared_ptr<Array> array)
    : registry_(&registry), array_(std::move(array)) {}

ArrayRef::ArrayRef(ArrayRef&& other) noexcept
    : registry_(other.registry_), array_(std::move(other.array_)) {}

ArrayRef::~ArrayRef() {
  if (array_) registry_->put(array_);
}

Registry::Registry(UniqueFd source) : shelf_(std::move(source)) {}

Registry::~Registry() { misc_wq_.flush(); }

void Registry::set_delete_listener(DeleteListener listener) { listener_ = std::move(listener); }

void Registry::set_notify_listener(NotifyListener listener) {
  std::lock_guard lock(notify_mutex_);
  notify_ = std::move(listener);
}

void Registry::sysfs_notify(uint64_t array_id, std::string_view path) {
  std::lock_guard lock(notify_mutex_);
  if (notify_) notify_(array_id, path);
}

Result<uint64_t> Registry::new_array(std::string_view text) {
  auto name = parse_new_array_name(text);
  if (!name) return err(name.error());
  for (;;) {
    // As md_alloc: wait for pending deletions, so a name being deleted is free.
    misc_wq_.flush();
    std::lock_guard lock(mutex_);
    auto it = arrays_.find(name->name);
    if (it != arrays_.end()) {
      if (it->second->deleted_) continue;  // deleted after our flush: flush again
      return err(EEXIST);
    }
    auto hold = name->numbered ? Hold::kUntilIoctl : Hold::kUntilStop;
    const uint64_t id = next_id_++;
    arrays_.emplace(name->name, std::make_shared<Array>(*this, name->name, name->minor, id, hold));
    return id;
  }
}

bool Registry::withdraw_new_array(const std::string& name, uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = arrays_.find(name);
  if (it == arrays_.end()) return false;
  const auto& array = it->second;
  if (array->id() != id || array->deleted_ || array->active_ > 0 || array->openers() > 0 || array->configured())
    return false;
  array->hold_ = Hold::kNone;
  array->deleted_ = true;
  misc_wq_.post([this, array] { delayed_delete(array); });
  return true;
}

Result<std::shared_ptr<Array>> Registry::create_and_open(std::string_view device_name, bool exclusive) {
  auto name = parse_device_name(device_name);
  if (!name) return err(EINVAL);
  if (!create_on_open()) return err(ENXIO);
  for (;;) {
    misc_wq_.flush();
    std::shared_ptr<Array> array;
    {
      std::lock_guard lock(mutex_);
      auto it = arrays_.find(name->name);
      if (it != arrays_.end()) {
        if (it->second->deleted_) continue;
        if (exclusive) return err(EEXIST);
        array = it->second;
      } else {
        array = std::make_shared<Array>(*this, name->name, name->minor, next_id_++, Hold::kUntilIoctl);
        arrays_.emplace(name->name, array);
      }
      ++array->active_;
    }
    if (!add_opener(array)) return err(ENODEV);
    return array;
  }
}

Result<void> Registry::open(const std::shared_ptr<Array>& array) {
  {
    std::unique_lock lock(mutex_);
    if (array->deleted_) {
      // The lookup that found this array raced its deletion: let the
      // deletion finish, then have the kernel look the name up again.
      deletion_done_.wait(lock, [&] { return array->deletion_done_; });
      return err(ESTALE);
    }
    ++array->active_;
  }
  if (!add_opener(array)) return err(ENODEV);
  return {};
}

// Takes the opener count for a caller that holds a reference; drops the
// reference and fails while a STOP_ARRAY is closing the array (MD_CLOSING).
bool Registry::add_opener(const std::shared_ptr<Array>& array) {
  {
    std::lock_guard lock(array->open_mutex_);
    if (!array->closing_) {
      ++array->openers_;
      return true;
    }
  }
  put(array);
  return false;
}

void Registry::release(const std::shared_ptr<Array>& array) {
  {
    std::lock_guard lock(array->open_mutex_);
    --array->openers_;
  }
  array->released_.notify_all();
  put(array);
}

std::optional<ArrayRef> Registry::get(const std::shared_ptr<Array>& array) {
  std::lock_guard lock(mutex_);
  if (array->deleted_) return std::nullopt;
  ++array->active_;
  return ArrayRef(*this, array);
}

void Registry::put(const std::shared_ptr<Array>& array) {
  std::lock_guard lock(mutex_);
  if (--array->active_ > 0) return;
  // Nobody can change the configuration now: every store holds a reference.
  if (array->configured() || array->hold() != Hold::kNone || array->deleted_) return;
  array->deleted_ = true;
  // Queued under the lock, so a flush() by anyone who saw the mark waits for it.
  misc_wq_.post([this, array] { delayed_delete(array); });
}

void Registry::delayed_delete(const std::shared_ptr<Array>& array) {
  {
    std::lock_guard lock(mutex_);
    auto it = arrays_.find(array->name());
    if (it != arrays_.end() && it->second == array) arrays_.erase(it);
  }
  // The listener first: an open waiting on the deletion (rule 5) returns
  // only once the namespace has been told.
  if (listener_) listener_(array);
  {
    std::lock_guard lock(mutex_);
    array->deletion_done_ = true;
  }
  deletion_done_.notify_all();
}

std::shared_ptr<Array> Registry::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = arrays_.find(name);
  if (it == arrays_.end() || it->second->deleted_) return nullptr;
  return it->second;
}

std::vector<std::shared_ptr<Array>> Registry::arrays() const {
  std::vector<std::shared_ptr<Array>> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, array] : arrays_)
      if (!array->deleted_) out.push_back(array);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->id() > b->id(); });
  return out;
}

size_t Registry::size() const {
  std::lock_guard lock(mutex_);
  return arrays_.size();
}

void Registry::flush() { misc_wq_.flush(); }

namespace {

// The array name mdadm would give a member's array: the v1 name after the
// homehost ("0" is md0, "data" is md_data), made safe as mdadm makes it;
// 0.90's preferred minor.
std::string name_for(const format::SuperInfo& sb) {
  if (sb.major == 0) return "md" + std::to_string(std::max(sb.md_minor, 0));
  std::string name = sanitize_metadata_name(sb.name.substr(sb.name.find(':') + 1));
  if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return "md" + std::to_string(std::stoul(name.substr(0, 6)));
  return "md_" + name;
}

}  // namespace

void Registry::assemble_all() {
  struct Found {
    std::string file;
    format::SuperInfo sb;
  };
  // Every member file, examined as mdadm --examine would: 1.2, 1.1, 1.0,
  // 0.90; each file once, whatever names lead to it.
  std::map<std::array<uint8_t, 16>, std::vector<Found>> groups;
  std::map<Shelf::FileId, std::string> seen;
  for (const auto& file : shelf_.files()) {
    auto claimed = shelf_.claim(file);
    if (!claimed) continue;
    if (auto [it, first] = seen.emplace(claimed->id, file); !first) {
      md_log("%s: the same file as %s: examined once", file.c_str(), it->second.c_str());
      shelf_.release(claimed->id);
      continue;
    }
    Member probe(shelf_, file, std::move(*claimed));
    std::vector<std::string> rejected;
    auto found = superblock::examine(probe, &rejected);
    for (const auto& why : rejected) md_log("%s: %s", file.c_str(), why.c_str());
    if (found && !found->empty()) groups[found->front().uuid].push_back({file, found->front()});
  }
  for (auto& [uuid, found] : groups) {
    size_t freshest = 0;
    for (size_t i = 0; i < found.size(); ++i)
      if (found[i].sb.events > found[freshest].sb.events) freshest = i;
    std::string name = name_for(found[freshest].sb);
    if (!parse_device_name(name) || find(name)) {
      for (int n = 127; n >= 0; --n)
        if (!find("md" + std::to_string(n))) {
          name = "md" + std::to_string(n);
          break;
        }
    }
    auto parsed = parse_device_name(name);
    if (!parsed) continue;
    // As mdadm's Assemble: one file for each role, the one with the most
    // events; on a tie the first found keeps it (v1), and for 0.90 mdadm
    // takes two such files for one device seen twice and assembles neither.
    // A replacement has a place of its own beside its role (mdadm's
    // best[2 * role + 1]).
    std::map<std::pair<uint16_t, bool>, size_t> best;
    std::vector<bool> chosen(found.size(), true);
    bool refuse = false;
    for (size_t i = 0; i < found.size() && !refuse; ++i) {
      if (found[i].sb.role >= format::kRoleMax) continue;  // spares and faulty: each its own
      auto [it, first] = best.emplace(std::make_pair(found[i].sb.role, found[i].sb.replacement), i);
      if (first) continue;
      const Found& other = found[it->second];
      if (found[i].sb.events == other.sb.events && found[i].sb.major == 0) {
        md_log("WARNING %s and %s appear to have very similar superblocks. If they are really different, "
               "please --zero the superblock on one. If they are the same or overlap, please remove one from "
               "the source folder.", other.file.c_str(), found[i].file.c_str());
        refuse = true;
        break;
      }
      const size_t loser = found[i].sb.events > other.sb.events ? it->second : i;
      if (loser == it->second) it->second = i;
      chosen[loser] = false;
      md_log("%s: not added to %s: role %u is taken by %s (events %llu, this file %llu)", found[loser].file.c_str(),
             name.c_str(), found[i].sb.role, found[it->second].file.c_str(),
             static_cast<unsigned long long>(found[it->second].sb.events),
             static_cast<unsigned long long>(found[loser].sb.events));
    }
    if (refuse) continue;
    // As mdadm's assemble without --force: a journal that is missing or
    // stale keeps the array from starting.
    std::vector<const format::SuperInfo*> infos;
    for (size_t i = 0; i < found.size(); ++i)
      if (chosen[i]) infos.push_back(&found[i].sb);
    if (format::journal_missing(infos)) {
      md_log("%s: Not safe to assemble with missing or stale journal device, consider --force.", name.c_str());
      continue;
    }
    std::shared_ptr<Array> array;
    {
      std::lock_guard lock(mutex_);
      array = std::make_shared<Array>(*this, parsed->name, parsed->minor, next_id_++, Hold::kNone);
      array->active_ = 1;
      arrays_.emplace(parsed->name, array);
    }
    ArrayRef ref(*this, array);
    std::string version = format::version_string(found[freshest].sb);
    (void)array->store_metadata_version(version);
    std::string added;
    for (size_t i = 0; i < found.size(); ++i) {
      if (!chosen[i]) continue;
      if (auto r = array->store_new_dev(found[i].file); !r)
        md_log("%s: not added to %s: %s", found[i].file.c_str(), name.c_str(), std::strerror(r.error()));
      else
        added += " " + found[i].file;
    }
    if (auto r = array->store_array_state("active"); r) {
      // The members it runs with: a stale one was left out (and logged).
      std::string members;
      for (const auto& m : array->members()) members += " " + m->name();
      md_log("%s: started with%s", name.c_str(), members.c_str());
    } else {
      md_log("%s: cannot start (%s), left out:%s", name.c_str(), std::strerror(r.error()), added.c_str());
      (void)array->store_array_state("clear");
    }
  }
}

void Registry::shutdown() {
  for (const auto& array : arrays()) {
    if (auto ref = get(array)) (*ref)->shutdown();
  }
  misc_wq_.flush();
}

}  // namespace mdfs::core
