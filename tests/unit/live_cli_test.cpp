// The pagewalk binary on live processes: translate and map --pid against this test
// process (whose pagemap the test reads itself), ptov, and bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../support/run_pagewalk.hpp"

namespace pagewalk {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

using Result = testing::CliResult;

Result run(const std::string& args, const std::string& input = "", const std::string& prefix = "") {
  return testing::run_pagewalk(args, input, prefix);
}

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

uint64_t own_pagemap(const void* va) {
  const int fd = ::open("/proc/self/pagemap", O_RDONLY);
  uint64_t e = 0;
  EXPECT_EQ(::pread(fd, &e, sizeof e, static_cast<off_t>(reinterpret_cast<uintptr_t>(va) / 4096 * 8)), 8);
  ::close(fd);
  return e;
}
constexpr uint64_t kPfnMask = (uint64_t{1} << 55) - 1;

std::string hex(const void* p) { return fmt::format("0x{:x}", reinterpret_cast<uintptr_t>(p)); }
std::string me() { return std::to_string(getpid()); }
bool privileged() { return geteuid() == 0; }

// jsonl lines -> objects
std::vector<json> lines(const std::string& out) {
  std::vector<json> v;
  std::istringstream in(out);
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) v.push_back(json::parse(l));
  return v;
}

TEST(LiveCli, TranslatesThisProcessLikeItsPagemap) {
  std::vector<char> heap(16384, 1);
  volatile char on_stack = 1;
  char* pop = static_cast<char*>(mmap(nullptr, 8 * 4096, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0));
  ASSERT_NE(pop, MAP_FAILED);
  char* untouched = static_cast<char*>(mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(untouched, MAP_FAILED);
  const std::vector<const void*> present = {heap.data() + 5000, const_cast<const char*>(&on_stack), pop + 3 * 4096 + 7};
  std::string args = "translate --jsonl --pid " + me();
  for (const void* p : present) args += " " + hex(p);
  args += " " + hex(untouched);
  const Result r = run(args);
  EXPECT_EQ(r.code, 1) << r.err;  // the untouched page is not mapped
  const auto v = lines(r.out);
  ASSERT_EQ(v.size(), 4u) << r.out;
  for (size_t i = 0; i < present.size(); ++i) {
    const uint64_t e = own_pagemap(present[i]);
    EXPECT_EQ(v[i]["va"], hex(present[i]));
    EXPECT_EQ(v[i]["status"], "mapped");
    EXPECT_EQ(v[i]["pid"], getpid());
    EXPECT_EQ(v[i]["page_size"], 4096);
    EXPECT_EQ(v[i]["pagemap"]["raw"], fmt::format("0x{:x}", e));
    if (privileged()) {
      EXPECT_EQ(v[i]["pfn"], fmt::format("0x{:x}", e & kPfnMask));
      EXPECT_EQ(v[i]["pa"], fmt::format("0x{:x}", ((e & kPfnMask) << 12) | (reinterpret_cast<uintptr_t>(present[i]) & 0xfff)));
      EXPECT_GE(v[i]["kpagecount"].get<int>(), 1);
      EXPECT_THAT(v[i]["kpageflags"]["flags"].dump(), HasSubstr("\"ANON\""));
    }
  }
  EXPECT_EQ(v[1]["region"]["path"], "[stack]");
  EXPECT_EQ(v[3]["status"], "not-present");
  EXPECT_EQ(v[3]["region"]["perms"], "r--p");

  // The human trace says the same.
  const Result h = run("translate --pid " + me() + " " + hex(present[2]));
  EXPECT_EQ(h.code, 0) << h.err;
  if (privileged()) {
    EXPECT_THAT(h.out, HasSubstr(fmt::format("-> 0x{:x}  (4K page)", ((own_pagemap(present[2]) & kPfnMask) << 12) | 7)));
  }
  munmap(pop, 8 * 4096);
  munmap(untouched, 4096);
}

TEST(LiveCli, BatchFromStdinKeepsInputOrderAndReportsBadLines) {
  std::vector<char> heap(4 * 4096, 1);
  const char* a = heap.data() + 3 * 4096;
  const char* b = heap.data();
  const std::string input = hex(a) + "\nnot-a-number\n" + hex(b) + "\n0x10\n";
  const Result r = run("translate --pid " + me() + " -", input);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("not-a-number"));
  std::istringstream out(r.out);
  std::string header, l1, l2, l3;
  std::getline(out, header);
  std::getline(out, l1);
  std::getline(out, l2);
  std::getline(out, l3);
  EXPECT_THAT(header, HasSubstr("STATUS"));
  EXPECT_THAT(l1, HasSubstr(fmt::format("{:#018x}", reinterpret_cast<uintptr_t>(a))));
  EXPECT_THAT(l1, HasSubstr("mapped"));
  EXPECT_THAT(l2, HasSubstr(fmt::format("{:#018x}", reinterpret_cast<uintptr_t>(b))));
  EXPECT_THAT(l3, HasSubstr("no-mapping"));
}

// read through /proc/PID/mem: this process's bytes, and an unmapped page in place.
TEST(LiveCli, ReadsThisProcesssMemory) {
  static char text[] = "Hello mm paging!\n";
  const auto va = reinterpret_cast<uintptr_t>(text);
  Result r = run(fmt::format("read --pid {} --string {:x}", me(), va));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, fmt::format("0x{:x}: \"Hello mm paging!\\n\"\n", va));
  // Page 0 is never mapped: the first 4 KiB are reported as one run, the rest is read.
  r = run(fmt::format("read --pid {} --json 0 -n 0x1000", me()));
  ASSERT_EQ(r.code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["pieces"].size(), 1u);
  EXPECT_EQ(j["pieces"][0]["status"], "unreadable");
  EXPECT_EQ(j["process"]["pid"], getpid());
}

TEST(LiveCli, SelfIsThePagewalkProcess) {
  const Result r = run("translate --pid self --json 0x1000");
  EXPECT_EQ(r.code, 1) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["command"], "translate");
  EXPECT_EQ(j["process"]["comm"], "pagewalk");
  EXPECT_NE(j["process"]["pid"], getpid());
  EXPECT_EQ(j["target"]["kind"], "live");
  EXPECT_EQ(j["results"][0]["status"], "no-mapping");
  EXPECT_THAT(j["results"][0]["reason"].get<std::string>(), HasSubstr("in no mapping"));
}

TEST(LiveCli, BadInput) {
  // A pid that existed and is gone.
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  Result r = run("translate --pid " + std::to_string(child) + " 0x1000");
  EXPECT_EQ(r.code, 3);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("no such process"));
  r = run("map --pid " + std::to_string(child));
  EXPECT_EQ(r.code, 3);
  EXPECT_TRUE(one_line(r.err)) << r.err;

  r = run("translate --pid abc 0x1000");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err));
  EXPECT_THAT(r.err, HasSubstr("'abc' is not a pid"));

  r = run("translate --pid " + me() + " 0xzz");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("0xzz"));

  r = run("translate --pid " + me() + " 0x8");  // in no mapping
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("0x8: no-mapping: in no mapping of pid " + me()));

  // With --image, --pid names a process inside the dump: the image must open first.
  r = run("translate --pid " + me() + " --image /nonexistent.elf 0x1000");
  EXPECT_EQ(r.code, 3);
  EXPECT_TRUE(one_line(r.err));
  EXPECT_THAT(r.err, HasSubstr("/nonexistent.elf"));

  r = run("ptov");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err));
  r = run("ptov --pfn nope");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err));
}

TEST(LiveCli, MapCountsThisProcesssPages) {
  const size_t n = 40;
  char* p = static_cast<char*>(mmap(nullptr, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  for (size_t i = 0; i < n; i += 2) p[i * 4096] = 1;  // 20 pages
  const Result r = run("map --json --pid " + me());
  EXPECT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  bool found = false;
  for (const json& m : j["mappings"]) {
    const uint64_t start = std::stoull(m["region"]["start"].get<std::string>(), nullptr, 16);
    if (start > reinterpret_cast<uintptr_t>(p) ||
        std::stoull(m["region"]["end"].get<std::string>(), nullptr, 16) <= reinterpret_cast<uintptr_t>(p))
      continue;
    found = true;
    // Only this test's own pages: the kernel may have merged the mapping with a neighbour
    // whose residency changes under us.
    const uint64_t lo = reinterpret_cast<uintptr_t>(p), hi = lo + n * 4096;
    uint64_t expected = 0;
    for (uint64_t va = lo; va < hi; va += 4096) expected += own_pagemap(reinterpret_cast<const void*>(va)) >> 63;
    EXPECT_EQ(expected, n / 2);
    uint64_t in_runs = 0;
    for (const json& run : j["ranges"]) {  // the runs, each naming its mapping
      if (run["mapping"] != m["region"]["start"]) continue;
      const uint64_t a = std::stoull(run["start"].get<std::string>(), nullptr, 16);
      const uint64_t b = std::stoull(run["end"].get<std::string>(), nullptr, 16);
      if (b > lo && a < hi) in_runs += (std::min(b, hi) - std::max(a, lo)) / 4096;
    }
    EXPECT_EQ(in_runs, expected);
    EXPECT_GE(m["resident_bytes"].get<uint64_t>(), expected * 4096);
  }
  EXPECT_TRUE(found);
  munmap(p, n * 4096);
}

// --from/--to cut the listing to a window: the runs inside it are pagemap's present pages
// there, and nothing outside is listed. Options that need page tables are refused.
TEST(LiveCli, MapWindowIsPagemapsPagesInIt) {
  const size_t n = 64;
  char* p = static_cast<char*>(mmap(nullptr, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  for (size_t i = 0; i < n; i += 3) p[i * 4096] = 1;
  const uint64_t lo = reinterpret_cast<uintptr_t>(p) + 8 * 4096, hi = lo + 32 * 4096;
  const Result r = run(fmt::format("map --jsonl --pid {} --from {:x} --to {:x}", me(), lo, hi));
  EXPECT_EQ(r.code, 0) << r.err;
  uint64_t in_runs = 0, expected = 0;
  for (const json& row : lines(r.out)) {
    if (row["kind"] == "mapping") {
      EXPECT_GE(std::stoull(row["region"]["start"].get<std::string>(), nullptr, 16), lo);
      EXPECT_LE(std::stoull(row["region"]["end"].get<std::string>(), nullptr, 16), hi);
      continue;
    }
    const uint64_t a = std::stoull(row["start"].get<std::string>(), nullptr, 16);
    const uint64_t b = std::stoull(row["end"].get<std::string>(), nullptr, 16);
    EXPECT_TRUE(a >= lo && b <= hi) << row.dump();
    in_runs += (b - a) / 4096;
  }
  for (uint64_t va = lo; va < hi; va += 4096) expected += own_pagemap(reinterpret_cast<const void*>(va)) >> 63;
  EXPECT_EQ(in_runs, expected);
  EXPECT_GT(expected, 5u);
  // The same runs as a table: one row each, inside the window.
  const Result csv = run(fmt::format("map --output csv --pid {} --from {:x} --to {:x}", me(), lo, hi));
  EXPECT_EQ(csv.code, 0) << csv.err;
  std::istringstream rows(csv.out);
  std::string header;
  std::getline(rows, header);
  EXPECT_EQ(header, "pid,start,end,pa,pfn,page_size,pages,page_kind,mapping,perms,path");
  size_t n_rows = 0;
  for (std::string row; std::getline(rows, row); ++n_rows)
    EXPECT_EQ(row.rfind(me() + ",0x", 0), 0u) << row;
  const std::vector<json> records = lines(r.out);
  EXPECT_EQ(n_rows, static_cast<size_t>(std::count_if(records.begin(), records.end(),
                                                      [](const json& x) { return x["kind"] == "mapped"; })));
  const Result pages = run("map --pages --pid " + me());
  EXPECT_EQ(pages.code, 2);
  EXPECT_THAT(pages.err, HasSubstr("--pages needs page tables: give --kcore"));
  munmap(p, n * 4096);
}

TEST(LiveCli, PtovFindsThisProcesssFrame) {
  if (!privileged()) GTEST_SKIP() << "ptov needs CAP_SYS_ADMIN";
  std::vector<char> buf(3 * 4096, 5);
  const char* va = buf.data() + 4096 + 0x123 - (reinterpret_cast<uintptr_t>(buf.data()) & 0xfff);
  const uint64_t pfn = own_pagemap(va) & kPfnMask;
  const uint64_t pa = (pfn << 12) | 0x123;
  const Result r = run(fmt::format("ptov --jsonl 0x{:x}", pa));
  EXPECT_EQ(r.code, 0) << r.err;
  bool found = false;
  for (const json& h : lines(r.out))
    if (h["pid"] == getpid() && h["va"] == hex(va)) found = true;
  EXPECT_TRUE(found) << r.out;
  // One document: the same mapper, and the kernel's count of mappers.
  const Result d = run(fmt::format("ptov --json --pfn {:x} --pid {}", pfn, getpid()));
  EXPECT_EQ(d.code, 0) << d.err;
  const json doc = json::parse(d.out);
  ASSERT_EQ(doc["mappers"].size(), 1u) << d.out;
  EXPECT_EQ(doc["mappers"][0]["va"], fmt::format("0x{:x}", reinterpret_cast<uintptr_t>(va) & ~uintptr_t{0xfff}));
  EXPECT_EQ(doc["pfn"], fmt::format("0x{:x}", pfn));
  EXPECT_EQ(doc["mappers"][0]["pagemap"]["raw"], fmt::format("0x{:x}", own_pagemap(va)));
  // By PFN, in this process only, human output.
  const Result h = run(fmt::format("ptov --pfn {:x} --pid {}", pfn, getpid()));
  EXPECT_EQ(h.code, 0) << h.err;
  EXPECT_THAT(h.out, HasSubstr(fmt::format("{:#018x}", reinterpret_cast<uintptr_t>(va) & ~uintptr_t{0xfff})));
}

TEST(LiveCli, WithoutCapSysAdminThePfnIsHiddenAndSaidSo) {
  if (!privileged()) GTEST_SKIP() << "needs root to drop CAP_SYS_ADMIN from a child";
  if (std::system("command -v setpriv >/dev/null 2>&1") != 0) GTEST_SKIP() << "setpriv (util-linux) is not installed";
  std::vector<char> heap(4096 * 2, 1);
  const std::string prefix = "setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin ";
  const Result r = run("translate --jsonl --pid " + me() + " " + hex(heap.data()), "", prefix);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("CAP_SYS_ADMIN"));
  const json j = json::parse(r.out);
  EXPECT_EQ(j["status"], "mapped");
  EXPECT_EQ(j["pfn_hidden"], true);
  EXPECT_FALSE(j.contains("pa"));
  const Result p = run("ptov --pfn 0x1234", "", prefix);
  EXPECT_EQ(p.code, 3);
  EXPECT_TRUE(one_line(p.err));
}

}  // namespace
}  // namespace pagewalk
