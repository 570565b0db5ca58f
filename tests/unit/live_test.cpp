// The live-process target (src/live) against the kernel's own files read independently
// here: this test process's pagemap and smaps, children it spawns and kills.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "live/process.hpp"

namespace pagewalk::live {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fixture(const std::string& name) { return slurp(std::string(PAGEWALK_FIXTURES) + "/live/" + name); }

// The test's own reading of /proc/self/pagemap: one pread per page, nothing shared with
// the library.
uint64_t own_pagemap(const void* va) {
  const int fd = ::open("/proc/self/pagemap", O_RDONLY);
  EXPECT_GE(fd, 0);
  uint64_t e = 0;
  const off_t off = static_cast<off_t>(reinterpret_cast<uintptr_t>(va) / 4096 * 8);
  EXPECT_EQ(::pread(fd, &e, sizeof e, off), static_cast<ssize_t>(sizeof e));
  ::close(fd);
  return e;
}

// AnonHugePages of the smaps block that starts at `start`, in kB, read by hand.
long own_anon_huge_kb(const void* start) {
  std::istringstream in(slurp("/proc/self/smaps"));
  char head[32];
  std::snprintf(head, sizeof head, "%lx-", static_cast<unsigned long>(reinterpret_cast<uintptr_t>(start)));
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < 17)
      inside = line.rfind(head, 0) == 0;
    if (inside && line.rfind("AnonHugePages:", 0) == 0) return std::stol(line.substr(14));
  }
  return -1;
}

VirtAddr va_of(const void* p) { return VirtAddr(reinterpret_cast<uintptr_t>(p)); }

// Translations point into their process's mappings, so the process stays with them.
struct SelfTranslation {
  std::optional<LiveProcess> process;
  std::vector<LiveTranslation> results;
  size_t size() const { return results.size(); }
  const LiveTranslation& operator[](size_t i) const { return results[i]; }
};

SelfTranslation translate_self(std::vector<VirtAddr> vas, const Kpage* kpage = nullptr) {
  SelfTranslation out;
  auto p = LiveProcess::open(getpid());
  EXPECT_TRUE(p) << p.error().message;
  if (!p) return out;
  out.process = std::move(*p);
  TranslateOptions o;
  o.kpage = kpage;
  o.privileged = has_cap_sys_admin();
  auto r = translate(*out.process, vas, o);
  EXPECT_TRUE(r) << r.error().message;
  if (r) out.results = std::move(*r);
  return out;
}

// What the library says must be what the kernel says.
void expect_agrees(const LiveTranslation& t, const void* va) {
  const uint64_t raw = own_pagemap(va);
  EXPECT_EQ(t.entry.raw, raw) << "VA " << va;
  ASSERT_TRUE(raw >> 63) << "the test expected VA " << va << " to be present";
  EXPECT_EQ(t.status, LiveStatus::Mapped);
  if (has_cap_sys_admin()) {
    EXPECT_EQ(t.pa.value(), ((raw & ((uint64_t{1} << 55) - 1)) << 12) | (reinterpret_cast<uintptr_t>(va) & 0xfff));
  }
}

// ---- decoders and parsers ----------------------------------------------------------------

TEST(PagemapEntry, DecodesPresentEntries) {
  // present, exclusive, soft-dirty, PFN 0x1a2b3c
  const PagemapEntry e{(uint64_t{1} << 63) | (uint64_t{1} << 56) | (uint64_t{1} << 55) | 0x1a2b3c};
  EXPECT_TRUE(e.present());
  EXPECT_FALSE(e.swapped());
  EXPECT_TRUE(e.exclusive());
  EXPECT_TRUE(e.soft_dirty());
  EXPECT_FALSE(e.file_shared());
  EXPECT_FALSE(e.uffd_wp());
  EXPECT_EQ(e.pfn(), Pfn(0x1a2b3c));
  EXPECT_THAT(pagemap_flag_names(e), ::testing::ElementsAre("PRESENT", "SOFT_DIRTY", "EXCLUSIVE"));
}

TEST(PagemapEntry, DecodesSwapEntries) {
  // swapped, file/shared, uffd-wp; type 3 in bits 0..4, offset 0x12345 in bits 5..54
  const PagemapEntry e{(uint64_t{1} << 62) | (uint64_t{1} << 61) | (uint64_t{1} << 57) | (0x12345ull << 5) | 3};
  EXPECT_FALSE(e.present());
  EXPECT_TRUE(e.swapped());
  EXPECT_EQ(e.swap_type(), 3u);
  EXPECT_EQ(e.swap_offset(), 0x12345u);
  EXPECT_TRUE(e.uffd_wp());
  EXPECT_TRUE(e.file_shared());
  EXPECT_THAT(pagemap_flag_names(e), ::testing::ElementsAre("SWAPPED", "UFFD_WP", "FILE_SHARED"));
  // The largest offset: all 50 bits.
  const PagemapEntry top{(uint64_t{1} << 62) | (((uint64_t{1} << 50) - 1) << 5) | 31};
  EXPECT_EQ(top.swap_offset(), (uint64_t{1} << 50) - 1);
  EXPECT_EQ(top.swap_type(), 31u);
  EXPECT_FALSE(PagemapEntry{0}.present());
  EXPECT_TRUE(pagemap_flag_names(PagemapEntry{0}).empty());
}

TEST(Kpageflags, NamesFollowTheKernelHeader) {
  EXPECT_THAT(kpageflag_names((1u << 0) | (1u << 12) | (1u << 22) | (1u << 26)),
              ::testing::ElementsAre("LOCKED", "ANON", "THP", "PGTABLE"));
  EXPECT_THAT(kpageflag_names((1u << 15) | (1u << 16) | (1u << 24)),
              ::testing::ElementsAre("COMPOUND_HEAD", "COMPOUND_TAIL", "ZERO_PAGE"));
  // The kernel-internal bits kpageflags sets too; a bit the kernel names nowhere.
  EXPECT_THAT(kpageflag_names((uint64_t{1} << 33) | (uint64_t{1} << 34) | (uint64_t{1} << 40)),
              ::testing::ElementsAre("MLOCKED", "MAPPEDTODISK", "SOFTDIRTY"));
  EXPECT_THAT(kpageflag_names(uint64_t{1} << 28), ::testing::ElementsAre("BIT28"));
  // Every KPF_ the installed kernel header defines, by its own number.
  std::ifstream header("/usr/include/linux/kernel-page-flags.h");
  if (!header) GTEST_SKIP() << "no linux/kernel-page-flags.h (linux-libc-dev)";
  unsigned seen = 0;
  for (std::string line; std::getline(header, line);) {
    char name[64];
    unsigned bit = 0;
    if (std::sscanf(line.c_str(), "#define KPF_%63s %u", name, &bit) != 2) continue;
    ASSERT_LT(bit, kKpageFlagNames.size()) << name;
    EXPECT_EQ(kKpageFlagNames[bit], name) << bit;
    ++seen;
  }
  EXPECT_GE(seen, 26u);
}

TEST(CoalesceRuns, JoinsNearKeysAndCapsLength) {
  const std::vector<uint64_t> keys = {1, 2, 3, 10, 100, 101, 1000};
  const auto runs = coalesce_runs(keys, 8, 1 << 20);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].first, 1u);
  EXPECT_EQ(runs[0].count, 10u);  // 1..10: the gap 4..9 is read through
  EXPECT_EQ(runs[1].first, 100u);
  EXPECT_EQ(runs[1].count, 2u);
  EXPECT_EQ(runs[2].first, 1000u);
  const auto capped = coalesce_runs(keys, 8, 4);
  EXPECT_EQ(capped.size(), 4u);  // 1..3, 10, 100..101, 1000
}

TEST(MapsParser, ReadsEveryField) {
  auto maps = parse_maps(fixture("maps.txt"));
  ASSERT_TRUE(maps) << maps.error();
  ASSERT_EQ(maps->size(), 8u);
  const Mapping& text = (*maps)[1];
  EXPECT_EQ(text.start, VirtAddr(0x55d0c0a02000));
  EXPECT_EQ(text.end, VirtAddr(0x55d0c0a07000));
  EXPECT_EQ(text.perms_view(), "r-xp");
  EXPECT_EQ(text.offset, 0x2000u);
  EXPECT_EQ(text.dev, "fd:01");
  EXPECT_EQ(text.inode, 1835023u);
  EXPECT_EQ(text.path, "/usr/bin/cat");
  EXPECT_EQ((*maps)[3].path, "");  // anonymous, with a trailing space
  EXPECT_EQ((*maps)[4].path, "/dev/hugepages/buf (deleted)");
  EXPECT_EQ((*maps)[4].perms_view(), "rw-s");
  EXPECT_EQ((*maps)[5].path, "/tmp/a file with spaces.bin");
  EXPECT_EQ((*maps)[7].path, "[vsyscall]");
  EXPECT_FALSE((*maps)[7].in_pagemap());
  EXPECT_EQ((*maps)[7].start, VirtAddr(0xffffffffff600000));
  EXPECT_FALSE((*maps)[0].has_smaps);

  EXPECT_EQ(find_mapping(*maps, VirtAddr(0x55d0c0a2a000)), &(*maps)[2]);
  EXPECT_EQ(find_mapping(*maps, VirtAddr(0x55d0c0a4afff)), &(*maps)[2]);
  EXPECT_EQ(find_mapping(*maps, VirtAddr(0x55d0c0a4b000)), nullptr);
  EXPECT_EQ(find_mapping(*maps, VirtAddr(0x1000)), nullptr);
}

TEST(MapsParser, RejectsWhatIsNotAMapping) {
  EXPECT_FALSE(parse_maps("55d0c0a00000 r--p 00000000 fd:01 1 /x\n"));
  EXPECT_FALSE(parse_maps("5000-4000 r--p 00000000 fd:01 1 /x\n"));  // end below start
  EXPECT_FALSE(parse_maps("4000-5000 r--p 00000000 fd:01 x1 /x\n"));
  EXPECT_FALSE(parse_maps("4000-5000 rw 00000000 fd:01 1\n"));
  auto bad = parse_maps("4000-5000 r--p 00000000 fd:01 1 /x\nhello world\n");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error(), ::testing::HasSubstr("line 2"));
  auto empty = parse_maps("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(SmapsParser, ReadsSizesAndHugePageFields) {
  auto maps = parse_smaps(fixture("smaps.txt"));
  ASSERT_TRUE(maps) << maps.error();
  ASSERT_EQ(maps->size(), 4u);
  const Mapping& heap = (*maps)[0];
  EXPECT_TRUE(heap.has_smaps);
  EXPECT_EQ(heap.path, "[heap]");
  EXPECT_EQ(heap.rss, 16u * 1024);
  EXPECT_EQ(heap.swap, 8u * 1024);
  EXPECT_FALSE(heap.has_pmd_thp());
  EXPECT_FALSE(heap.hugetlb);
  const Mapping& thp = (*maps)[1];
  EXPECT_EQ(thp.anon_huge, 4096u * 1024);
  EXPECT_TRUE(thp.has_pmd_thp());
  EXPECT_FALSE(thp.hugetlb);
  const Mapping& huge = (*maps)[2];
  EXPECT_TRUE(huge.hugetlb);
  EXPECT_EQ(huge.kernel_page_size, 2048u * 1024);
  EXPECT_EQ(huge.mmu_page_size, 2048u * 1024);
  const Mapping& file = (*maps)[3];
  EXPECT_EQ(file.file_pmd_mapped, 2048u * 1024);
  EXPECT_TRUE(file.has_pmd_thp());
}

TEST(SmapsParser, RejectsBrokenFields) {
  EXPECT_FALSE(parse_smaps("Rss: 4 kB\n"));  // a field before any mapping
  EXPECT_FALSE(parse_smaps("4000-5000 r--p 00000000 fd:01 1 /x\nRss: many kB\n"));
  EXPECT_FALSE(parse_smaps("4000-5000 r--p 00000000 fd:01 1 /x\nRss: 4 MB\n"));
  EXPECT_FALSE(parse_smaps("4000-5000 r--p 00000000 fd:01 1 /x\nno colon here\n"));
  // Fields the parser does not know are skipped.
  auto ok = parse_smaps("4000-5000 r--p 00000000 fd:01 1 /x\nSomethingNew:   7 kB\nRss: 4 kB\n");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ((*ok)[0].rss, 4096u);
}

TEST(ParsePid, AcceptsSelfAndNumbers) {
  EXPECT_EQ(parse_pid("self").value(), getpid());
  EXPECT_EQ(parse_pid("42").value(), 42);
  EXPECT_FALSE(parse_pid("0"));
  EXPECT_FALSE(parse_pid("-3"));
  EXPECT_FALSE(parse_pid("12x"));
  EXPECT_FALSE(parse_pid(""));
}

// ---- this process against its own pagemap -----------------------------------------------

TEST(LiveSelf, HeapStackAndPopulatedPagesAgreeWithPagemap) {
  std::vector<char> heap(64 * 1024, 1);  // touched
  volatile char stack_byte = 7;
  const size_t n = 64;
  char* populated = static_cast<char*>(mmap(nullptr, n * 4096, PROT_READ | PROT_WRITE,
                                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0));
  ASSERT_NE(populated, MAP_FAILED);
  // Input order shuffled: the library sorts for its reads and answers in input order.
  std::vector<const void*> where = {heap.data() + 123, heap.data() + 40000, const_cast<const char*>(&stack_byte)};
  for (size_t i = 0; i < n; ++i) where.push_back(populated + i * 4096 + (i * 8) % 4096);
  std::shuffle(where.begin() + 3, where.end(), std::mt19937(7));
  std::vector<VirtAddr> vas;
  for (const void* w : where) vas.push_back(va_of(w));

  const auto r = translate_self(vas);
  ASSERT_EQ(r.size(), where.size());
  for (size_t i = 0; i < where.size(); ++i) {
    EXPECT_EQ(r[i].va, vas[i]);
    expect_agrees(r[i], where[i]);
    EXPECT_EQ(r[i].page_size, 4096u);
    ASSERT_NE(r[i].mapping, nullptr);
    EXPECT_TRUE(r[i].mapping->contains(vas[i]));
  }
  EXPECT_EQ(r[2].mapping->path, "[stack]");
  EXPECT_EQ(r[2].mapping->perms_view(), "rw-p");
  munmap(populated, n * 4096);
}

TEST(LiveSelf, UntouchedPageIsNotPresent) {
  char* p = static_cast<char*>(mmap(nullptr, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  p[0] = 1;  // the first page only
  const auto r = translate_self({va_of(p), va_of(p + 2 * 4096 + 5)});
  ASSERT_EQ(r.size(), 2u);
  expect_agrees(r[0], p);
  EXPECT_EQ(own_pagemap(p + 2 * 4096) >> 63, 0u);
  EXPECT_EQ(r[1].status, LiveStatus::NotPresent);
  EXPECT_FALSE(r[1].entry.present());
  ASSERT_NE(r[1].mapping, nullptr);
  munmap(p, 4 * 4096);
}

TEST(LiveSelf, AddressInNoMapping) {
  // Reserve and release a range: nothing is mapped there afterwards, unless another thread
  // (a sanitizer's allocator) maps the hole first; then try another hole.
  bool seen = false;
  for (int attempt = 0; attempt < 20 && !seen; ++attempt) {
    void* p = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    munmap(p, 4096);
    const auto r = translate_self({va_of(p), VirtAddr(0x1000)});
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[1].status, LiveStatus::NoMapping);
    if (r[0].status != LiveStatus::NoMapping) continue;
    EXPECT_EQ(r[0].mapping, nullptr);
    seen = true;
  }
  EXPECT_TRUE(seen) << "every released page was mapped again before it was looked up";
}

TEST(LiveSelf, FrameFlagsAndCountFromKpage) {
  if (!has_cap_sys_admin()) GTEST_SKIP() << "kpageflags and real PFNs need CAP_SYS_ADMIN";
  auto kpage = Kpage::open();
  ASSERT_TRUE(kpage) << kpage.error().message;
  std::vector<char> buf(8192, 1);
  const auto r = translate_self({va_of(buf.data())}, &*kpage);
  ASSERT_EQ(r.size(), 1u);
  ASSERT_TRUE(r[0].has_kpage);
  EXPECT_TRUE((r[0].kpage.flags >> 12) & 1) << "a heap page is anonymous (KPF_ANON)";
  EXPECT_GE(r[0].kpage.count, 1u);
}

TEST(LiveSelf, TransparentHugePageIsReportedAs2M) {
  const std::string enabled = slurp("/sys/kernel/mm/transparent_hugepage/enabled");
  if (enabled.empty()) GTEST_SKIP() << "this kernel has no transparent huge pages";
  if (enabled.find("[never]") != std::string::npos)
    GTEST_SKIP() << "transparent huge pages are disabled here (/sys/kernel/mm/transparent_hugepage/enabled = never)";
  const size_t kHuge = 2u << 20;
  char* raw = static_cast<char*>(mmap(nullptr, 2 * kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(raw, MAP_FAILED);
  char* huge = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(raw) + kHuge - 1) & ~(kHuge - 1));
  ASSERT_EQ(madvise(huge, kHuge, MADV_HUGEPAGE), 0);
  std::memset(huge, 1, kHuge);
  const long anon_huge = own_anon_huge_kb(huge);
  const auto r = translate_self({va_of(huge + 12345), va_of(huge + kHuge - 1)});
  ASSERT_EQ(r.size(), 2u);
  expect_agrees(r[0], huge + 12345);
  expect_agrees(r[1], huge + kHuge - 1);
  if (anon_huge >= 2048) {
    EXPECT_EQ(r[0].kind, PageKind::Thp);
    EXPECT_EQ(r[0].page_size, kHuge);
    EXPECT_EQ(r[1].page_size, kHuge);
    // One 2 MiB frame: page 3 and page 511 of the block, from a 512-aligned first frame.
    EXPECT_EQ(r[0].entry.pfn().value() + (511 - 12345 / 4096), r[1].entry.pfn().value());
    EXPECT_EQ((r[0].entry.pfn().value() - 12345 / 4096) % 512, 0u);
  } else {
    // The kernel gave 4 KiB pages (no free 2 MiB block): that must be what we say too.
    EXPECT_EQ(r[0].page_size, 4096u);
    munmap(raw, 2 * kHuge);
    GTEST_SKIP() << "the kernel did not grant a THP for the madvised region (AnonHugePages " << anon_huge
                 << " kB); checked that 4K is reported";
  }
  munmap(raw, 2 * kHuge);
}

TEST(LiveSelf, MapScanCountsWhatPagemapShows) {
  const size_t n = 3000;  // several 512-page chunks: read ahead on the worker thread
  char* p = static_cast<char*>(mmap(nullptr, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  for (size_t i = 0; i < n; i += 3) p[i * 4096] = 1;  // every third page
  auto proc = LiveProcess::open(getpid());
  ASSERT_TRUE(proc);
  const Mapping* m = find_mapping(proc->mappings(), va_of(p));
  ASSERT_NE(m, nullptr);
  uint64_t pages_in_runs = 0, expected_resident = 0;
  for (VirtAddr v = m->start; v < m->end; v = v + 4096)
    expected_resident += own_pagemap(reinterpret_cast<const void*>(v.value())) >> 63;
  std::vector<PhysRun> runs;
  auto counts = scan_mapping(*proc, *m, [&](const PhysRun& r) { runs.push_back(r); }, has_cap_sys_admin(), nullptr, 512);
  ASSERT_TRUE(counts) << counts.error().message;
  for (const PhysRun& r : runs) {
    pages_in_runs += r.pages;
    // Every page of a run is present, at the frame the run says.
    for (uint64_t i = 0; i < r.pages; ++i) {
      const uint64_t e = own_pagemap(reinterpret_cast<const void*>(r.va.value() + i * 4096));
      ASSERT_TRUE(e >> 63);
      if (has_cap_sys_admin()) {
        EXPECT_EQ(e & ((uint64_t{1} << 55) - 1), r.pfn.value() + i);
      }
    }
  }
  EXPECT_EQ(counts->resident, expected_resident);
  EXPECT_EQ(pages_in_runs, counts->resident);
  EXPECT_GE(counts->resident, 1000u);
  EXPECT_EQ(counts->runs, runs.size());
  munmap(p, n * 4096);
}

// ---- read-ahead -----------------------------------------------------------------------

std::vector<live::Run> chunks_of(const void* p, size_t pages, size_t per_chunk) {
  std::vector<live::Run> chunks;
  const uint64_t first = reinterpret_cast<uintptr_t>(p) >> 12;
  for (size_t at = 0; at < pages; at += per_chunk) chunks.push_back({first + at, std::min(per_chunk, pages - at)});
  return chunks;
}

TEST(PagemapReadAhead, GivesWhatDirectReadsGive) {
  const size_t n = 1024;
  char* p = static_cast<char*>(mmap(nullptr, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  for (size_t i = 0; i < n; i += 2) p[i * 4096] = 1;
  auto pm = Pagemap::open(getpid());
  ASSERT_TRUE(pm) << pm.error().message;
  const auto chunks = chunks_of(p, n, 61);  // uneven: the last chunk is short
  // Depths and reader counts where readers wait for slots, and where they outnumber them.
  for (const auto& [depth, readers] : {std::pair<size_t, unsigned>{2, 1}, {3, 1}, {8, 1}, {2, 2}, {3, 2}, {8, 3}, {2, 4}}) {
    SCOPED_TRACE(::testing::Message() << "depth " << depth << ", readers " << readers);
    PagemapReadAhead ahead(*pm, chunks, depth, readers);
    for (const live::Run& c : chunks) {
      auto got = ahead.next();
      ASSERT_TRUE(got) << got.error().message;
      std::vector<uint64_t> want(c.count);
      ASSERT_EQ(*pm->read(c.first, want), c.count);
      ASSERT_EQ(got->size(), c.count);
      EXPECT_TRUE(std::equal(got->begin(), got->end(), want.begin())) << "chunk at page 0x" << std::hex << c.first;
    }
    auto past = ahead.next();  // past the end: empty, not an error
    ASSERT_TRUE(past);
    EXPECT_TRUE(past->empty());
  }
  munmap(p, n * 4096);
}

TEST(PagemapReadAhead, StoppingEarlyEndsTheReaders) {
  const size_t n = 4096;
  char* p = static_cast<char*>(mmap(nullptr, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  auto pm = Pagemap::open(getpid());
  ASSERT_TRUE(pm);
  for (const unsigned readers : {1u, 2u, 3u}) {
    {
      PagemapReadAhead ahead(*pm, chunks_of(p, n, 16), 3, readers);  // readers fill the slots and wait
      ASSERT_TRUE(ahead.next());
    }  // must not hang
    { PagemapReadAhead unused(*pm, chunks_of(p, n, 16), 3, readers); }
  }
  munmap(p, n * 4096);
}

// ---- reverse map, and processes that go away ---------------------------------------------

pid_t spawn_sleeper() {
  const pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  return pid;
}

void kill_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// PAGEMAP_SCAN's present runs against the present bits of the pages' own pagemap entries.
TEST(PagemapScan, PresentRunsArePagemapsPresentPages) {
  constexpr size_t kPages = 64;
  auto* base = static_cast<char*>(mmap(nullptr, kPages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(base, MAP_FAILED);
  for (size_t i : {0, 1, 2, 7, 30, 31, 63}) base[i * 4096] = 1;
  auto pm = Pagemap::open(getpid());
  ASSERT_TRUE(pm);
  const uint64_t first = reinterpret_cast<uintptr_t>(base) >> 12;
  auto runs = pm->present_runs(first, first + kPages);
  if (!runs) {
    munmap(base, kPages * 4096);
    GTEST_SKIP() << "this kernel has no PAGEMAP_SCAN (Linux 6.7+)";
  }
  std::vector<uint64_t> entries(kPages);
  ASSERT_EQ(pm->read(first, entries).value_or(0), kPages);
  std::vector<bool> in_run(kPages, false);
  for (const live::Run& r : *runs)
    for (uint64_t p = r.first; p < r.first + r.count; ++p) {
      ASSERT_TRUE(p >= first && p < first + kPages);
      in_run[p - first] = true;
    }
  for (size_t i = 0; i < kPages; ++i) EXPECT_EQ(in_run[i], PagemapEntry{entries[i]}.present()) << "page " << i;
  EXPECT_EQ(runs->size(), 4u);  // 0-2, 7, 30-31, 63
  munmap(base, kPages * 4096);
}

TEST(ReverseMap, FindsThisProcesssFrame) {
  if (!has_cap_sys_admin()) GTEST_SKIP() << "pagemap shows PFN 0 without CAP_SYS_ADMIN";
  std::vector<char> page(4096 * 2, 3);
  char* va = page.data() + 4096 - (reinterpret_cast<uintptr_t>(page.data()) & 4095) + 100;  // in the second page
  const uint64_t pfn = own_pagemap(va) & ((uint64_t{1} << 55) - 1);
  ASSERT_NE(pfn, 0u);
  // The same answer whether the kernel says which runs are present or every entry is read.
  for (const bool scan : {true, false}) {
    ReverseOptions o;
    o.pids = {getpid()};
    o.use_pagemap_scan = scan;
    const ReverseResult r = reverse_map(Pfn(pfn), 100, o);
    ASSERT_EQ(r.hits.size(), 1u) << scan;
    EXPECT_EQ(r.hits[0].pid, getpid());
    EXPECT_EQ(r.hits[0].va, va_of(va));
    EXPECT_TRUE(r.failures.empty());
    EXPECT_EQ(r.processes, 1u);
    if (!scan) {
      EXPECT_EQ(r.scanned_mappings, 0u);
    }
  }
}

TEST(ReverseMap, ProcessExitingMidScanIsReportedAndTheRestCompletes) {
  if (!has_cap_sys_admin()) GTEST_SKIP() << "pagemap shows PFN 0 without CAP_SYS_ADMIN";
  std::vector<char> page(4096 * 2, 3);
  char* va = page.data() + 4096 - (reinterpret_cast<uintptr_t>(page.data()) & 4095);
  const uint64_t pfn = own_pagemap(va) & ((uint64_t{1} << 55) - 1);
  const pid_t gone = spawn_sleeper();  // exits before the scan starts
  ASSERT_GT(gone, 0);
  kill_and_reap(gone);
  const pid_t racer = spawn_sleeper();  // exits after its maps are read, before its pagemap
  ASSERT_GT(racer, 0);
  ReverseOptions o;
  o.pids = {gone, racer, getpid()};
  o.before_pagemap = [&](int pid) {
    if (pid == racer) kill_and_reap(racer);
  };
  const ReverseResult r = reverse_map(Pfn(pfn), 0, o);
  ASSERT_EQ(r.failures.size(), 2u);
  EXPECT_EQ(r.failures[0].pid, gone);
  EXPECT_EQ(r.failures[0].error.kind, LiveError::Kind::NoProcess);
  EXPECT_EQ(r.failures[1].pid, racer);
  EXPECT_EQ(r.failures[1].error.kind, LiveError::Kind::Exited);
  EXPECT_THAT(r.failures[1].error.message, ::testing::HasSubstr(std::to_string(racer)));
  ASSERT_EQ(r.hits.size(), 1u);
  EXPECT_EQ(r.hits[0].pid, getpid());
  EXPECT_EQ(r.hits[0].va, va_of(va));
}

TEST(LiveProcessExit, ScanOfAProcessThatExitedAfterOpenFails) {
  const pid_t child = spawn_sleeper();
  ASSERT_GT(child, 0);
  auto p = LiveProcess::open(child);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_FALSE(p->mappings().empty());
  kill_and_reap(child);
  const Mapping* any = nullptr;
  for (const Mapping& m : p->mappings())
    if (m.in_pagemap()) any = &m;
  ASSERT_NE(any, nullptr);
  auto counts = scan_mapping(*p, *any, [](const PhysRun&) {}, true);
  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().kind, LiveError::Kind::Exited);
  auto t = translate(*p, std::vector<VirtAddr>{any->start}, {});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, LiveError::Kind::Exited);
}

TEST(LiveProcessExit, ReadAheadOfAProcessThatExitedEndsShortOrInError) {
  const pid_t child = spawn_sleeper();
  ASSERT_GT(child, 0);
  auto pm = Pagemap::open(child);
  ASSERT_TRUE(pm) << pm.error().message;
  kill_and_reap(child);
  static char probe[4096 * 64];
  PagemapReadAhead ahead(*pm, chunks_of(probe, 64, 8), 3);
  auto got = ahead.next();
  EXPECT_TRUE(!got || got->size() < 8);
}

TEST(LiveProcessExit, NonexistentPid) {
  const pid_t child = spawn_sleeper();
  ASSERT_GT(child, 0);
  kill_and_reap(child);
  auto p = LiveProcess::open(child);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, LiveError::Kind::NoProcess);
  EXPECT_THAT(p.error().message, ::testing::HasSubstr("no such process"));
}

}  // namespace
}  // namespace pagewalk::live
