// The mount's namespace: dev/, sys/ and proc/, computed from the Registry.
// Every name resolves to an Entry saying what it shows; the FUSE adapter
// turns Entries into inodes and requests into the calls below.
#pragma once

#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/registry.h"
#include "mdfs/result.h"
#include "sysfs/attributes.h"

namespace mdfs::sysfs {

enum class NodeType { kDir, kFile, kSymlink, kDevice };

enum class DirKind {
  kNone, kRoot, kDev, kSys, kSysBlock, kSysModule, kMdMod, kParameters, kProc,
  kBlockArray, kMd, kBitmap, kMember,
};

struct Entry {
  NodeType type = NodeType::kDir;
  DirKind dir = DirKind::kNone;
  const Attribute* attr = nullptr;             // kFile
  std::shared_ptr<core::Array> array;          // anything under dev/<name> or sys/block/<name>
  std::shared_ptr<core::Member> member;        // dev-<member>/ and what is in it
  std::string link;                            // kSymlink's target

  mode_t mode() const;  // type and permission bits
  // The same node: what an inode number stands for. A new incarnation of
  // an array's name is a different node.
  bool same_node(const Entry& other) const;
};

class Namespace {
 public:
  explicit Namespace(core::Registry& registry) : registry_(registry) {}

  core::Registry& registry() const { return registry_; }
  Entry root() const;
  Result<Entry> lookup(const Entry& dir, std::string_view name) const;
  std::vector<std::pair<std::string, Entry>> list(const Entry& dir) const;
  // Whether the node is still there (its array not deleted, its attribute shown).
  bool alive(const Entry& entry) const;

  // An attribute's text (the kernel's show), or its store; each holds a
  // reference on the array for its length, as md_attr_show/md_attr_store.
  Result<std::string> read(const Entry& file) const;
  // `memory`: what earlier writes of the same open file stored, for the
  // attributes that take an open file's writes as one value.
  Result<void> write(const Entry& file, std::string_view text, StoreMemory* memory = nullptr) const;

  // What a poll() on an attribute file waits for: the (array id, path) that
  // Registry::sysfs_notify names it by ((0, "mdstat") for proc/mdstat);
  // nullopt for what is not an attribute.
  struct PollKey {
    uint64_t array_id = 0;
    std::string path;
    auto operator<=>(const PollKey&) const = default;
  };
  std::optional<PollKey> poll_key(const Entry& file) const;
  // proc/mdstat polls as mdstat_poll, other attributes as kernfs.
  static bool is_mdstat(const Entry& file);

 private:
  Target target_of(const Entry& e, StoreMemory* memory = nullptr) const;
  core::Registry& registry_;
};

}  // namespace mdfs::sysfs
