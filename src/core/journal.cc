#include "core/journal.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/array.h"
#include "core/log.h"
#include "core/member.h"
#include "raid/raid5_layout.h"

namespace mdfs::core {

namespace {

constexpr uint64_t kPage = format::kR5logPageBytes;

// Reads go to the array, then the journal's pages (array byte offset ->
// 4 KiB) are copied over what they cover. Zero-copy replies are not made
// where a page lies. The array is read-only: writes never get here.
class JournalPages final : public raid::Personality {
 public:
  JournalPages(std::unique_ptr<raid::Personality> inner, std::map<uint64_t, std::vector<std::byte>> pages)
      : inner_(std::move(inner)), pages_(std::move(pages)) {}

  uint64_t array_sectors() const override { return inner_->array_sectors(); }
  int read(uint64_t offset, std::span<std::byte> out) override {
    if (int e = inner_->read(offset, out)) return e;
    auto it = pages_.upper_bound(offset);
    if (it != pages_.begin()) --it;
    for (; it != pages_.end() && it->first < offset + out.size(); ++it) {
      const uint64_t lo = std::max(it->first, offset), hi = std::min(it->first + kPage, offset + out.size());
      if (lo < hi) std::memcpy(out.data() + (lo - offset), it->second.data() + (lo - it->first), hi - lo);
    }
    return 0;
  }
  int write(uint64_t, std::span<const std::byte>) override { return EROFS; }
  bool map_read(uint64_t offset, size_t length, std::vector<raid::Extent>& out) override {
    auto it = pages_.upper_bound(offset);
    if (it != pages_.begin()) --it;
    for (; it != pages_.end() && it->first < offset + length; ++it)
      if (it->first + kPage > offset) return false;
    return inner_->map_read(offset, length, out);
  }
  int sync() override { return inner_->sync(); }
  void fail(int role) override { inner_->fail(role); }
  int degraded() const override { return inner_->degraded(); }
  std::string mdstat_status() const override { return inner_->mdstat_status(); }
  uint64_t sync_sectors() const override { return inner_->sync_sectors(); }
  uint64_t recovery_sectors() const override { return inner_->recovery_sectors(); }
  uint64_t sync_unit() const override { return inner_->sync_unit(); }
  void set_syncing(bool on) override { inner_->set_syncing(on); }
  raid::SyncResult sync_window(raid::SyncKind kind, uint64_t start, uint64_t count) override {
    return inner_->sync_window(kind, start, count);
  }
  int add_disk(int role, raid::Disk* disk) override { return inner_->add_disk(role, disk); }
  void disk_recovered(int role) override { inner_->disk_recovered(role); }

 private:
  std::unique_ptr<raid::Personality> inner_;
  std::map<uint64_t, std::vector<std::byte>> pages_;
};

}  // namespace

Result<format::R5logReplay> read_journal(const Member& journal, const std::array<uint8_t, 16>& uuid,
                                         const raid::Geometry& geometry, std::string* why) {
  auto layout = raid::Raid5Layout::make(geometry.level, geometry.layout, geometry.raid_disks, geometry.chunk_sectors);
  if (!layout) {
    if (why) *why = "a journal on an array that is not raid4, raid5 or raid6";
    return err(EINVAL);
  }
  const uint64_t tail = journal.super ? journal.super->journal_tail : 0;
  const format::ReadAt read = [&journal](uint64_t offset, std::span<std::byte> out) -> Result<void> {
    if (int e = journal.pread_exact(journal.data_start() + offset, out)) return err(e);
    return {};
  };
  const auto stripe_of = [&](uint64_t sector) { return layout->locate(sector).member_sector & ~uint64_t{7}; };
  return format::read_r5log(journal.sectors, tail, uuid, read, stripe_of);
}

std::unique_ptr<raid::Personality> with_journal_pages(std::unique_ptr<raid::Personality> inner,
                                                      std::map<uint64_t, std::vector<std::byte>> pages) {
  std::map<uint64_t, std::vector<std::byte>> by_byte;
  for (auto& [sector, page] : pages) by_byte.emplace(sector * 512, std::move(page));
  return std::make_unique<JournalPages>(std::move(inner), std::move(by_byte));
}

Result<format::R5logReplay> Array::start_journal(Member* journal, const raid::Geometry& g, bool degraded,
                                                 const format::SuperInfo& freshest, std::string& read_only_reason) {
  if (g.level != 4 && g.level != 5 && g.level != 6) {
    md_log("%s: cannot start: a write journal on a %s array", name_.c_str(), level_name().c_str());
    return err(EINVAL);
  }
  if (!journal) {
    md_log("md/raid:%s: journal disk is missing, force array readonly", name_.c_str());
    read_only_reason = "the write journal is missing";
    return err(ENOENT);
  }
  std::string why;
  auto replay = read_journal(*journal, freshest.uuid, g, &why);
  if (!replay) {
    md_log("%s: cannot start: %s: %s", name_.c_str(), journal->name().c_str(),
           why.empty() ? std::strerror(replay.error()) : why.c_str());
    return err(EINVAL);
  }
  if (!replay->data.empty() && degraded) {
    // A missing member would be rebuilt from parity the journal has not
    // brought up to date (the kernel replays it first).
    md_log("%s: cannot start: degraded, and the journal %s holds %llu data-only and %llu data-parity stripes not "
           "yet written to the array, which mdfs does not replay: start it in Linux first",
           name_.c_str(), journal->name().c_str(), static_cast<unsigned long long>(replay->data_only_stripes),
           static_cast<unsigned long long>(replay->data_parity_stripes));
    return err(EINVAL);
  }
  if (!replay->data.empty()) {
    md_log("%s: the journal %s holds %llu data-only and %llu data-parity stripes not yet written to the array: "
           "read from the journal", name_.c_str(), journal->name().c_str(),
           static_cast<unsigned long long>(replay->data_only_stripes),
           static_cast<unsigned long long>(replay->data_parity_stripes));
  }
  if (read_only_reason.empty())
    read_only_reason = journal->name() + ": the write journal is read, and mdfs does not write it";
  return replay;
}

}  // namespace mdfs::core
