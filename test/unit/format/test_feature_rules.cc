// The feature table (format/feature_rules.h): every bit md_p.h defines has
// a rule, the verdict on a superblock is its most restrictive bit, and
// mdfs(8)'s table says the same as the code.
#include <linux/raid/md_p.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "fixtures.h"
#include "format/feature_rules.h"

using namespace mdfs::format;

namespace {

SuperInfo v1_with(uint32_t features, uint8_t devflags = 0) {
  Superblock1 sb;
  sb.feature_map = features;
  sb.devflags = devflags;
  SuperInfo i = super_info(sb, 2);
  return i;
}

}  // namespace

TEST_CASE("every v1 feature bit the kernel knows has a rule") {
  std::set<uint32_t> ruled;
  for (const auto& r : feature_rules())
    if (r.field == "feature_map") ruled.insert(r.mask);
  int bits = 0;
  for (uint32_t bit = 1; bit != 0; bit <<= 1) {
    if (!(MD_FEATURE_ALL & bit)) continue;
    ++bits;
    INFO("feature bit 0x" << std::hex << bit);
    CHECK(ruled.count(bit) == 1);
  }
  CHECK(bits == 13);
  CHECK(ruled.size() == 13);
}

TEST_CASE("a superblock's verdict is its most restrictive feature, with the bit named") {
  CHECK(judge(v1_with(0)).support == Support::kKept);
  CHECK(judge(v1_with(0)).reason.empty());
  CHECK(judge(v1_with(MD_FEATURE_BITMAP_OFFSET | MD_FEATURE_RECOVERY_OFFSET)).support == Support::kKept);

  const Verdict ppl = judge(v1_with(MD_FEATURE_PPL));
  CHECK(ppl.support == Support::kReadOnly);
  CHECK(ppl.reason.find("MD_FEATURE_PPL") != std::string::npos);
  CHECK(ppl.reason.find("0x400") != std::string::npos);

  const Verdict journal = judge(v1_with(MD_FEATURE_JOURNAL));
  CHECK(journal.support == Support::kReadOnly);
  CHECK(journal.reason.find("MD_FEATURE_JOURNAL") != std::string::npos);
  // The kernel's super_1_validate refuses PPL with a journal or a bitmap.
  CHECK(judge(v1_with(MD_FEATURE_PPL | MD_FEATURE_JOURNAL)).support == Support::kRefused);
  CHECK(judge(v1_with(MD_FEATURE_PPL | MD_FEATURE_BITMAP_OFFSET)).support == Support::kRefused);
  CHECK(judge(v1_with(MD_FEATURE_PPL | MD_FEATURE_MULTIPLE_PPLS)).support == Support::kRefused);

  CHECK(judge(v1_with(MD_FEATURE_CLUSTERED)).support == Support::kRefused);
  // A bad block log with entries: read, avoided and written, as the kernel.
  CHECK(judge(v1_with(MD_FEATURE_BAD_BLOCKS)).support == Support::kKept);
  CHECK(judge(v1_with(0, WriteMostly1 | FailFast1)).support == Support::kKept);
  // Device flags the kernel does not know are ignored, as the kernel does.
  CHECK(judge(v1_with(0, 0x80)).support == Support::kKept);
}

TEST_CASE("0.90: a reshape (0.91) is kept; a clustered array and a journal disk are refused") {
  Superblock0 sb;
  sb.raid_disks = 2;
  CHECK(judge(super_info(sb, 1 << 20)).support == Support::kKept);
  sb.minor_version = 91;
  CHECK(judge(super_info(sb, 1 << 20)).support == Support::kKept);
  sb.minor_version = 90;
  sb.state = 1u << MD_SB_CLUSTERED;
  CHECK(judge(super_info(sb, 1 << 20)).support == Support::kRefused);
  sb.state = 0;
  sb.disks[1].state = 1u << MD_DISK_JOURNAL;
  CHECK(judge(super_info(sb, 1 << 20)).support == Support::kRefused);
  sb.disks[1].state = (1u << MD_DISK_WRITEMOSTLY) | (1u << MD_DISK_FAILFAST) | (1u << MD_DISK_ACTIVE);
  CHECK(judge(super_info(sb, 1 << 20)).support == Support::kKept);
}

TEST_CASE("every kernel-made fixture member is kept by the rules") {
  int members = 0;
  for (const auto& name : fixture::cases()) {
    const auto m = fixture::manifest(name);
    for (int n = 0; n < m.members; ++n) {
      auto found = examine(fixture::member(name, n).size, fixture::member(name, n).reader());
      REQUIRE(found);
      REQUIRE(!found->found.empty());
      INFO(name << " member " << n);
      CHECK(judge(found->found.front()).support == Support::kKept);
      ++members;
    }
  }
  CHECK(members >= 60);
}

TEST_CASE("mdfs(8)'s table of superblock features says what the code does") {
  const char* root = std::getenv("MDFS_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  std::ifstream in(std::string(root) + "/man/mdfs.8");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string page = ss.str();
  int rows = 0;
  std::regex row(R"(^\.It (\S+) Ta (\S+) Ta )", std::regex::multiline);
  for (auto it = std::sregex_iterator(page.begin(), page.end(), row); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    if (name == "Sy") continue;
    ++rows;
    bool found = false;
    for (const auto& r : feature_rules()) {
      if (r.name != name) continue;
      found = true;
      INFO(name);
      CHECK((*it)[2] == std::string(to_string(r.support)));
    }
    INFO(name);
    CHECK(found);
  }
  CHECK(rows == static_cast<int>(feature_rules().size()));
}
