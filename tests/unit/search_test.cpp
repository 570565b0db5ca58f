// Searching physical memory: matches across chunk boundaries, overlapping matches, the hit
// limit, and pages the source cannot give (never matched, reported).
#include <gtest/gtest.h>

#include <cstring>
#include <string_view>

#include "core/search.hpp"
#include "sources/synthetic.hpp"

namespace pagewalk {
namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::vector<uint64_t> hits(PhysMemory& m, std::string_view pattern, const SearchOptions& o = {},
                           SearchReport* report = nullptr) {
  std::vector<uint64_t> out;
  const SearchReport r = search_physical(m, bytes(pattern), [&](PhysAddr pa) {
    out.push_back(pa.value());
    return true;
  }, o);
  if (report) *report = r;
  return out;
}

TEST(CoreSearch, MatchesAcrossChunksAndOverlapping) {
  SyntheticMemory m;
  constexpr uint64_t kTop = (uint64_t{8} << 20) + 8192;  // past the first 8 MiB chunk
  for (uint64_t pa = 0; pa < kTop; pa += 4096) (void)m.page(PhysAddr(pa));
  m.write(PhysAddr((uint64_t{8} << 20) - 3), bytes("needle"));  // straddles the chunk edge
  m.write(PhysAddr(0x1ffe), bytes("needle"));                    // straddles a page edge
  m.write(PhysAddr(0x5000), bytes("aaaa"));
  SearchReport rep;
  EXPECT_EQ(hits(m, "needle", {}, &rep), (std::vector<uint64_t>{0x1ffe, (uint64_t{8} << 20) - 3}));
  EXPECT_EQ(rep.bytes_scanned, kTop);
  EXPECT_TRUE(rep.unreadable.empty());
  EXPECT_FALSE(rep.truncated);
  EXPECT_EQ(hits(m, "aaa"), (std::vector<uint64_t>{0x5000, 0x5001}));
  SearchOptions one;
  one.max_hits = 1;
  EXPECT_EQ(hits(m, "needle", one, &rep), (std::vector<uint64_t>{0x1ffe}));
  EXPECT_TRUE(rep.truncated);
  EXPECT_TRUE(hits(m, "").empty());
  EXPECT_TRUE(hits(m, "not there").empty());
}

// Claims three pages and cannot give the middle one (a kdump's filtered page).
class HoledMemory final : public PhysMemory {
 public:
  HoledMemory() {
    for (uint64_t pa : {0x0, 0x1000, 0x2000}) std::memset(inner.page(PhysAddr(pa)), 0xff, 4096);
    inner.write(PhysAddr(0x0ffe), bytes("abcd"));  // runs into the missing page
    inner.write(PhysAddr(0x2100), bytes("abcd"));
  }
  tl::expected<void, ReadError> read(PhysAddr pa, std::span<std::byte> out) override {
    if (pa.value() < 0x2000 && pa.value() + out.size() > 0x1000) return tl::unexpected(ReadError{PhysAddr(0x1000), "filtered"});
    return inner.read(pa, out);
  }
  std::vector<PhysRange> ranges() const override { return {{PhysAddr(0), 0x3000}}; }
  SyntheticMemory inner;
};

TEST(CoreSearch, PagesThatCannotBeReadNeverMatch) {
  HoledMemory m;
  SearchReport rep;
  EXPECT_EQ(hits(m, "abcd", {}, &rep), (std::vector<uint64_t>{0x2100}));
  ASSERT_EQ(rep.unreadable.size(), 1u);
  EXPECT_EQ(rep.unreadable[0].start.value(), 0x1000u);
  EXPECT_EQ(rep.unreadable[0].size, 0x1000u);
  EXPECT_TRUE(hits(m, std::string_view("\0\0\0\0", 4)).empty());  // the hole reads as nothing, not zeros
  EXPECT_EQ(hits(m, "ab"), (std::vector<uint64_t>{0x0ffe, 0x2100}));  // wholly in readable bytes
}

}  // namespace
}  // namespace pagewalk
