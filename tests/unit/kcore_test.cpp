// /proc/kcore as a source: a kcore-shaped ELF written by the test (a direct-map segment, the
// kernel image's segment over the same RAM, a vmalloc segment with no physical address, the
// VMCOREINFO note) read by the library and by `pagewalk --kcore`. The expected physical
// addresses are the ones the test mapped, not anything pagewalk computed.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "arch/x86/x86_entry.hpp"
#include "sources/kcore.hpp"
#include "sources/synthetic.hpp"
#include "../support/elf_core_writer.hpp"
#include "../support/run_pagewalk.hpp"

namespace pagewalk {
namespace {

using nlohmann::json;
using testing::run_pagewalk;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kStartKernelMap = 0xffffffff80000000;
constexpr uint64_t kPageOffsetBase = 0xffff888000000000;
constexpr uint64_t kText = 0xffffffffab000000;      // _text, KASLR-slid
constexpr uint64_t kTextPa = 0x400000;              // where the kernel image sits in RAM
constexpr uint64_t kPhysBase = kTextPa - (kText - kStartKernelMap);  // "negative": wraps
constexpr uint64_t kPgdVa = kText + 0x100000;       // init_top_pgt
constexpr uint64_t kPgdPa = kTextPa + 0x100000;
constexpr uint64_t kVmallocSeg = 0xffffc90000000000;
constexpr uint64_t kVmallocVa = kVmallocSeg + 0x123000;
constexpr uint64_t kVmallocPa = 0x345000;
constexpr uint64_t kRam = 8 * kMiB;

struct KcoreFile {
  std::string path;
  ~KcoreFile() { std::filesystem::remove(path); }
};

// 8 MiB of RAM: the direct map and the kernel image in 2 MiB pages, one vmalloc page.
std::unique_ptr<SyntheticMemory> build_ram() {
  auto owned = std::make_unique<SyntheticMemory>();
  SyntheticMemory& mem = *owned;
  for (uint64_t pa = 0; pa < kRam; pa += 4096) mem.page(PhysAddr(pa));
  TableBuilder t(mem, kX86_64_4Level, PhysAddr(0x600000), PhysAddr(kPgdPa));
  for (uint64_t o = 0; o < kRam; o += 2 * kMiB) t.map(VirtAddr(kPageOffsetBase + o), PhysAddr(o), 2 * kMiB, 0x63, 0x63);
  t.map(VirtAddr(kText), PhysAddr(kTextPa), 2 * kMiB, 0x63, 0x63);
  t.map(VirtAddr(kVmallocVa), PhysAddr(kVmallocPa), 4096, 0x63, 0x63);
  return owned;
}

std::string vmcoreinfo_text() {
  return fmt::format("OSRELEASE=6.1.0-kcore-test\nPAGESIZE=4096\nSYMBOL(init_top_pgt)={:x}\nNUMBER(phys_base)={}\n"
                     "KERNELOFFSET={:x}\nNUMBER(pgtable_l5_enabled)=0\n",
                     kPgdVa, static_cast<int64_t>(kPhysBase), kText - 0xffffffff81000000);
}

KcoreFile write_kcore(const std::string& name, bool with_vmcoreinfo, bool zero_paddrs = false) {
  std::shared_ptr<SyntheticMemory> ram = build_ram();
  auto copy = [ram](uint64_t pa, std::vector<uint8_t>& b) {
    (void)ram->read(PhysAddr(pa), std::as_writable_bytes(std::span(b)));
  };
  testing::CoreSpec spec;
  if (with_vmcoreinfo) spec.vmcoreinfo = vmcoreinfo_text();
  // The kernel lists the text first, then vmalloc, then RAM (fs/proc/kcore.c's list order).
  spec.loads.push_back({zero_paddrs ? 0 : kTextPa, 2 * kMiB, copy, 0, kText});
  spec.loads.push_back({~uint64_t{0}, kMiB, [](uint64_t, std::vector<uint8_t>& b) { std::fill(b.begin(), b.end(), 0xaa); }, 0,
                        kVmallocSeg});
  spec.loads.push_back({0, kRam, copy, 0, kPageOffsetBase});
  if (zero_paddrs) spec.loads[1].pa = 0;
  KcoreFile f{(std::filesystem::temp_directory_path() / fmt::format("pagewalk-kcore-{}-{}", name, getpid())).string()};
  testing::write_file(f.path, testing::build_core(spec));
  return f;
}

TEST(Kcore, SegmentsNotesAndPhysicalReads) {
  const KcoreFile f = write_kcore("lib", true);
  auto k = open_kcore(f.path);
  ASSERT_TRUE(k) << k.error();
  ASSERT_EQ(k->segments.size(), 3u);
  EXPECT_EQ(k->segments[0].vaddr, kText);
  EXPECT_EQ(k->segments[0].paddr, kTextPa);
  EXPECT_FALSE(k->segments[1].paddr);  // vmalloc: no physical address
  ASSERT_TRUE(k->vmcoreinfo);
  EXPECT_NE(k->vmcoreinfo->find("OSRELEASE=6.1.0-kcore-test"), std::string::npos);
  // The text segment lies inside RAM: one range, and each byte read once.
  const auto ranges = k->memory->ranges();
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].start.value(), 0u);
  EXPECT_EQ(ranges[0].size, kRam);
  // What the builder wrote: the PGD's direct-map entry at index 273 (0xffff888...).
  auto ram = build_ram();
  uint64_t want = 0, got = 0;
  ASSERT_TRUE(ram->read(PhysAddr(kPgdPa + 273 * 8), std::as_writable_bytes(std::span(&want, 1))));
  ASSERT_TRUE(k->memory->read(PhysAddr(kPgdPa + 273 * 8), std::as_writable_bytes(std::span(&got, 1))));
  EXPECT_NE(want, 0u);
  EXPECT_EQ(got, want);
  // A read that runs off the end of RAM fails at the first missing byte.
  std::vector<std::byte> buf(16);
  auto r = k->memory->read(PhysAddr(kRam - 8), buf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().addr.value(), kRam);
}

json translate_json(const std::string& args) {
  auto r = run_pagewalk("translate --json " + args);
  EXPECT_EQ(r.code, 0) << r.err;
  return json::parse(r.out);
}

TEST(KcoreCli, KernelAddressesThroughTheKernelsTables) {
  const KcoreFile f = write_kcore("cli", true);
  const std::string target = "--kcore --kcore-file " + f.path;
  const std::vector<std::pair<uint64_t, uint64_t>> cases = {
      {kPageOffsetBase + 0x345678, 0x345678},          // direct map
      {kText + 0x1234, kTextPa + 0x1234},              // kernel text
      {kVmallocVa + 0x2a0, kVmallocPa + 0x2a0},        // vmalloc: walked, never read from the 0xaa segment
  };
  std::string vas;
  for (const auto& [va, pa] : cases) vas += fmt::format(" 0x{:x}", va);
  // No --pid: the kernel's own tables; --kernel says the same.
  for (const std::string& extra : {std::string(), std::string(" --kernel")}) {
    const json j = translate_json(target + extra + vas);
    const json& results = j["results"];
    ASSERT_EQ(results.size(), cases.size()) << j.dump();
    for (size_t i = 0; i < cases.size(); ++i) {
      EXPECT_EQ(results[i]["status"], "mapped") << results[i].dump();
      EXPECT_EQ(results[i]["pa"], fmt::format("0x{:x}", cases[i].second)) << results[i].dump();
      EXPECT_EQ(results[i]["steps"][0]["table"], fmt::format("0x{:x}", kPgdPa));
    }
    EXPECT_EQ(results[2]["steps"].size(), 4u);
  }
}

TEST(KcoreCli, InfoListsSegmentsAndTheNote) {
  const KcoreFile f = write_kcore("info", true);
  auto r = run_pagewalk("info --json --kcore --kcore-file " + f.path);
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["target"]["kind"], "kcore");
  EXPECT_EQ(j["target"]["name"], f.path);
  ASSERT_EQ(j["segments"].size(), 3u);
  EXPECT_TRUE(j["segments"][1]["pa"].is_null());
  EXPECT_EQ(j["memory_bytes"], kRam);
  EXPECT_EQ(j["vmcoreinfo"]["OSRELEASE"], "6.1.0-kcore-test");
  EXPECT_EQ(j["vmcoreinfo_source"], "ELF note");
  auto h = run_pagewalk("info --kcore --kcore-file " + f.path);
  ASSERT_EQ(h.code, 0) << h.err;
  EXPECT_NE(h.out.find("no physical address"), std::string::npos) << h.out;
}

TEST(KcoreCli, WithoutVmcoreinfoPhysBaseComesFromTheTextSegment) {
  const KcoreFile f = write_kcore("novmci", false);
  const std::string syms = f.path + ".kallsyms";
  testing::write_file(syms, [] {
    const std::string t = fmt::format("{:016x} T _text\n{:016x} D init_top_pgt\n", kText, kPgdVa);
    return std::vector<uint8_t>(t.begin(), t.end());
  }());
  auto r = run_pagewalk(fmt::format("layout --json --kcore --kcore-file {} --kallsyms {}", f.path, syms));
  std::filesystem::remove(syms);
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["bases"]["phys_base"]["value"], fmt::format("0x{:x}", kPhysBase)) << j["bases"].dump();
  EXPECT_NE(j["bases"]["phys_base"]["source"].get<std::string>().find("text segment"), std::string::npos);
  EXPECT_EQ(j["bases"]["kaslr_offset"]["value"], fmt::format("0x{:x}", kText - 0xffffffff81000000));
}

TEST(KcoreCli, BadInputIsOneLineAndTheRightStatus) {
  auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  auto missing = run_pagewalk("translate --kcore --kcore-file /nonexistent/kcore 0xffff888000000000");
  EXPECT_EQ(missing.code, 3);
  EXPECT_EQ(lines(missing.err), 1) << missing.err;
  EXPECT_NE(missing.err.find("/nonexistent/kcore"), std::string::npos);

  auto masked = run_pagewalk("ps --kcore --kcore-file /dev/null");  // how containers mask it
  EXPECT_EQ(masked.code, 3);
  EXPECT_NE(masked.err.find("masked"), std::string::npos) << masked.err;

  const std::string junk = (std::filesystem::temp_directory_path() / fmt::format("pagewalk-junk-{}", getpid())).string();
  testing::write_file(junk, std::vector<uint8_t>(4096, 0x5a));
  auto notelf = run_pagewalk("translate --kcore --kcore-file " + junk + " 0xffff888000000000");
  std::filesystem::remove(junk);
  EXPECT_EQ(notelf.code, 3);
  EXPECT_NE(notelf.err.find("not an ELF"), std::string::npos) << notelf.err;

  const KcoreFile zeros = write_kcore("zeros", true, true);
  auto old = run_pagewalk("translate --kcore --kcore-file " + zeros.path + " 0xffff888000000000");
  EXPECT_EQ(old.code, 3);
  EXPECT_NE(old.err.find("physical address"), std::string::npos) << old.err;
  EXPECT_EQ(lines(old.err), 1) << old.err;

  const KcoreFile f = write_kcore("both", true);
  auto both = run_pagewalk("translate --kcore --kcore-file " + f.path + " --image " + f.path + " 0x1000");
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("one of --image, --qemu, --kcore and --kmod"), std::string::npos) << both.err;
}

}  // namespace
}  // namespace pagewalk
