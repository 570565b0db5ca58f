// The Linux layer on machines built in memory: VMCOREINFO text and its in-memory copies,
// symbol files, the kernel's compressed kallsyms tables, the x86-64 layout, kernel
// discovery and its address conversions, BTF member offsets, and the task list.
// Data is written by VA through the same mappings the tables hold, so a reader that
// computes a wrong address hits a page nobody wrote and fails.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bpf/btf.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "arch/x86/x86_entry.hpp"
#include "core/virtual_memory.hpp"
#include "linux/btf_layout.hpp"
#include "linux/kernel.hpp"
#include "linux/layout.hpp"
#include "linux/modules.hpp"
#include "linux/symbols.hpp"
#include "linux/tasks.hpp"
#include "linux/vmas.hpp"
#include "linux/vmcoreinfo.hpp"
#include "sources/image.hpp"
#include "sources/synthetic.hpp"

namespace pagewalk::linux_kernel {
namespace {

constexpr uint64_t kKiB = 1024, kMiB = kKiB * 1024, kTiB = kMiB * kMiB;

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

bool any_contains(const std::vector<std::string>& v, std::string_view what) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& s) { return s.find(what) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

// A 4-level x86-64 machine: tables from TableBuilder, and writes by VA that land where the
// mappings made with map() put them.
class Machine {
 public:
  explicit Machine(std::optional<PhysAddr> root = std::nullopt) : tables(mem, kX86_64_4Level, PhysAddr(0x7000000), root) {}

  void map(uint64_t va, uint64_t pa, uint64_t size, uint64_t page = 4096) {
    for (uint64_t o = 0; o < size; o += page) tables.map(VirtAddr(va + o), PhysAddr(pa + o), page, 0x63, 0x63);
    spans_.push_back({va, pa, size});
  }
  [[nodiscard]] PhysAddr pa_of(uint64_t va) const {
    for (const Span& s : spans_)
      if (va - s.va < s.size) return PhysAddr(s.pa + (va - s.va));
    throw std::logic_error(fmt::format("test machine: 0x{:x} is not mapped", va));
  }
  void write(uint64_t va, std::span<const std::byte> data) {
    for (size_t i = 0; i < data.size();) {
      const uint64_t at = va + i;
      const size_t n = std::min<size_t>(data.size() - i, 4096 - at % 4096);
      mem.write(pa_of(at), data.subspan(i, n));
      i += n;
    }
  }
  template <typename T>
  void put(uint64_t va, T v) {
    write(va, std::as_bytes(std::span(&v, 1)));
  }

  SyntheticMemory mem;
  TableBuilder tables;

 private:
  struct Span {
    uint64_t va, pa, size;
  };
  std::vector<Span> spans_;
};

// ---------------------------------------------------------------------------------------
// VMCOREINFO text

// Shaped like a Debian 6.1 guest's /sys/kernel/vmcoreinfo, with lines the parser must skip.
constexpr std::string_view kVmcoreinfo =
    "OSRELEASE=6.1.0-18-amd64\n"
    "BUILD-ID=9a1b6f3ce4d2a7f0c1e25b8d3f64a0e7c9d1b2a3\n"
    "PAGESIZE=4096\n"
    "SYMBOL(init_uts_ns)=ffffffff9f613a40\n"
    "OFFSET(uts_namespace.name)=0\n"
    "SYMBOL(_stext)=ffffffff9e000000\n"
    "SYMBOL(mem_section)=ffff8c9d7ffd2000\n"
    "LENGTH(mem_section)=2048\n"
    "SIZE(mem_section)=16\n"
    "SIZE(page)=64\n"
    "SIZE(pglist_data)=174208\n"
    "OFFSET(page._refcount)=52\n"
    "OFFSET(pglist_data.node_start_pfn)=173296\n"
    "this line has no equals sign\n"
    "=orphan value\n"
    "SYMBOL(not_hex)=xyz\n"
    "NUMBER(not_decimal)=12abc\n"
    "NUMBER(SECTION_SIZE_BITS)=27\n"
    "NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-129\n"
    "\n"
    "KERNELOFFSET=1d000000\n"
    "NUMBER(phys_base)=-23068672\n"
    "SYMBOL(init_top_pgt)=ffffffff9f60a000\n"
    "NUMBER(pgtable_l5_enabled)=0\n"
    "CRASHTIME=1700000000";  // the last line has no newline

TEST(LinuxVmcoreInfo, ParsesEveryKindOfEntry) {
  const VmcoreInfo vi = VmcoreInfo::parse(kVmcoreinfo);
  EXPECT_EQ(vi.get("OSRELEASE"), "6.1.0-18-amd64");
  EXPECT_EQ(vi.get("PAGESIZE"), "4096");
  EXPECT_EQ(vi.get("CRASHTIME"), "1700000000");
  // SYMBOL: hex without 0x.
  EXPECT_EQ(vi.symbol("init_top_pgt"), 0xffffffff9f60a000u);
  EXPECT_EQ(vi.symbol("_stext"), 0xffffffff9e000000u);
  EXPECT_EQ(vi.symbol("mem_section"), 0xffff8c9d7ffd2000u);
  // NUMBER: signed decimal.
  EXPECT_EQ(vi.number("phys_base"), -23068672);
  EXPECT_EQ(static_cast<uint64_t>(*vi.number("phys_base")), 0xfffffffffea00000u);
  EXPECT_EQ(vi.number("PAGE_OFFLINE_MAPCOUNT_VALUE"), -129);
  EXPECT_EQ(vi.number("SECTION_SIZE_BITS"), 27);
  EXPECT_EQ(vi.number("pgtable_l5_enabled"), 0);
  // SIZE and OFFSET: unsigned decimal (hex would read 174208 as 0x174208).
  EXPECT_EQ(vi.size("page"), 64u);
  EXPECT_EQ(vi.size("pglist_data"), 174208u);
  EXPECT_EQ(vi.size("mem_section"), 16u);
  EXPECT_EQ(vi.offset("page._refcount"), 52u);
  EXPECT_EQ(vi.offset("pglist_data.node_start_pfn"), 173296u);
  EXPECT_EQ(vi.offset("uts_namespace.name"), 0u);
  EXPECT_EQ(vi.get("LENGTH(mem_section)"), "2048");
  // KERNELOFFSET: hex.
  EXPECT_EQ(vi.kernel_offset(), 0x1d000000u);

  // Kinds do not mix, and absent names are absent.
  EXPECT_FALSE(vi.symbol("page"));
  EXPECT_FALSE(vi.number("init_top_pgt"));
  EXPECT_FALSE(vi.symbol("swapper_pg_dir"));
  // Values that do not parse are kept as text but give no number.
  EXPECT_EQ(vi.get("SYMBOL(not_hex)"), "xyz");
  EXPECT_FALSE(vi.symbol("not_hex"));
  EXPECT_FALSE(vi.number("not_decimal"));
  // Lines without a key are dropped.
  EXPECT_EQ(vi.entries().size(), 22u);
  EXPECT_FALSE(vi.get(""));
  for (const auto& [k, v] : vi.entries()) EXPECT_EQ(k.find(' '), std::string::npos) << k;
}

TEST(LinuxVmcoreInfo, PlausibleRejectsFormatStringsAndIncompleteTexts) {
  EXPECT_TRUE(plausible_vmcoreinfo(kVmcoreinfo));
  EXPECT_TRUE(plausible_vmcoreinfo("OSRELEASE=5.10.0\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffffffff8220a000\n"));
  // The format strings in the kernel's .rodata that build the text.
  EXPECT_FALSE(plausible_vmcoreinfo("OSRELEASE=%s\n"));
  EXPECT_FALSE(plausible_vmcoreinfo("OSRELEASE=%s\nPAGESIZE=%ld\nSYMBOL(init_top_pgt)=ffffffff9f60a000\n"));
  EXPECT_FALSE(plausible_vmcoreinfo("OSRELEASE=6.1.0\nSYMBOL(init_top_pgt)=ffffffff9f60a000\n"));  // no PAGESIZE
  EXPECT_FALSE(plausible_vmcoreinfo("OSRELEASE=6.1.0\nPAGESIZE=4096\nSYMBOL(_stext)=ffffffff9e000000\n"));  // no PGD
  EXPECT_FALSE(plausible_vmcoreinfo("OSRELEASE=6.1.0\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=nothex\n"));
  EXPECT_FALSE(plausible_vmcoreinfo("PAGESIZE=4096\nOSRELEASE=6.1.0\nSYMBOL(init_top_pgt)=ffffffff9f60a000\n"));
  EXPECT_FALSE(plausible_vmcoreinfo(""));
}

// Physical memory for the scanner: an empty range, then a range with the format strings and
// a real text `before` bytes ahead of the 4 MiB scan-chunk boundary, then a second real text.
struct ScanMachine {
  static constexpr uint64_t kEmpty = 0x10000, kRange = 0x1000000, kRangeSize = 4 * kMiB + 64 * kKiB, kLater = 0x3000000;
  static constexpr std::string_view kText =
      "OSRELEASE=6.1.0-18-amd64\nPAGESIZE=4096\nSYMBOL(init_uts_ns)=ffffffff9f613a40\n"
      "SYMBOL(init_top_pgt)=ffffffff9f60a000\nNUMBER(phys_base)=-23068672\nKERNELOFFSET=1d000000\n"
      "NUMBER(pgtable_l5_enabled)=0\nSIZE(page)=64\n";
  SyntheticMemory mem;

  explicit ScanMachine(uint64_t before) : before_(before) {
    for (uint64_t pa = kEmpty; pa < kEmpty + 64 * kKiB; pa += 4096) mem.page(PhysAddr(pa));
    mem.write(PhysAddr(kEmpty + 0x100), bytes_of("OSRELEASE without the equals sign"));
    for (uint64_t pa = kRange; pa < kRange + kRangeSize; pa += 4096) mem.page(PhysAddr(pa));
    using namespace std::string_view_literals;
    mem.write(PhysAddr(kRange + 0x2000), bytes_of("OSRELEASE=%s\n\0BUILD-ID=%20phN\n\0PAGESIZE=%ld\n\0"sv));
    mem.write(PhysAddr(at()), bytes_of(kText));  // followed by zeros: the NUL ends it
    mem.write(PhysAddr(kLater), bytes_of("OSRELEASE=9.9.9\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=ffffffff82a0a000\n"));
  }
  [[nodiscard]] uint64_t at() const { return kRange + 4 * kMiB - before_; }

 private:
  uint64_t before_ = 0;
};

TEST(LinuxVmcoreInfo, FoundWholeAcrossTheScanChunkBoundary) {
  // Text crossing the boundary; the key itself crossing it; the key ending one byte past
  // it; the text starting exactly at it.
  for (uint64_t before : {uint64_t{200}, uint64_t{4}, uint64_t{9}, uint64_t{1}, uint64_t{0}}) {
    ScanMachine m(before);
    ASSERT_EQ(m.mem.ranges().size(), 3u);
    auto found = find_vmcoreinfo_anywhere(m.mem);
    ASSERT_TRUE(found) << "text " << before << " bytes before the boundary";
    EXPECT_EQ(found->at.value(), m.at()) << before;
    EXPECT_EQ(found->text, ScanMachine::kText) << before;
  }
}

TEST(LinuxVmcoreInfo, CopiesWhereTheKernelPutsThemAreFoundFirst) {
  // The page-aligned copy (vmcoreinfo_data) wins over an earlier unaligned one.
  ScanMachine m(200);
  auto found = find_vmcoreinfo(m.mem);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->at.value(), ScanMachine::kLater);
  // The exported note buffer: text 24 bytes into a page, after the ELF note header.
  SyntheticMemory mem;
  for (uint64_t pa = 0; pa < 64 * kKiB; pa += 4096) mem.page(PhysAddr(pa));
  const std::string_view text = "OSRELEASE=6.1.0\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffffffff8220a000\n";
  mem.write(PhysAddr(0x7000 + 24), bytes_of(text));
  found = find_vmcoreinfo(mem);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->at.value(), 0x7018u);
  EXPECT_EQ(found->text, text);
}

TEST(LinuxVmcoreInfo, FoundInALaterRangeAndNotInFormatStrings) {
  SyntheticMemory mem;
  for (uint64_t pa = 0; pa < 64 * kKiB; pa += 4096) mem.page(PhysAddr(pa));
  mem.write(PhysAddr(0x3000), bytes_of(std::string_view("OSRELEASE=%s\n\0PAGESIZE=%ld\n\0", 28)));
  EXPECT_FALSE(find_vmcoreinfo(mem));
  const std::string_view text = "OSRELEASE=6.1.0\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffffffff8220a000\n";
  mem.write(PhysAddr(0x5000000 + 0xff0), bytes_of(text));  // crosses a page boundary
  auto found = find_vmcoreinfo(mem);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->at.value(), 0x5000ff0u);
  EXPECT_EQ(found->text, text);
}

// Resident KiB of this process's mapping that holds `p` (/proc/self/smaps), or -1.
long resident_kib_of_mapping(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = lo <= at && at < hi;
    } else if (inside && line.rfind("Rss:", 0) == 0) {
      return std::stol(line.substr(4));
    }
  }
  return -1;
}

TEST(LinuxVmcoreInfo, AScanOverAMappedDumpGivesItsPagesBack) {
  // 192 MiB of a sparse raw file with no VMCOREINFO: both passes read all of it. Without
  // PhysMemory::release the mapping ends the scan with every page resident.
  const std::string path = testing::TempDir() + "pagewalk-scan-rss.raw";
  constexpr uint64_t kSize = 192 * kMiB;
  {
    std::ofstream f(path, std::ios::binary);
    f.seekp(static_cast<std::streamoff>(kSize - 1));
    f.put('\0');
  }
  auto image = open_image(path, ImageOptions{"raw", 0});
  ASSERT_TRUE(image) << image.error();
  EXPECT_FALSE(find_vmcoreinfo(*image->memory));
  const long rss = resident_kib_of_mapping(image->file.bytes().data());
  ASSERT_GE(rss, 0);
  EXPECT_LT(static_cast<uint64_t>(rss), kSize / kKiB / 2) << "KiB resident after the scan";
  // Pages given back read as before.
  std::array<std::byte, 8> word{};
  EXPECT_TRUE(image->memory->read(PhysAddr(kSize - 8), word));
  std::remove(path.c_str());
}

// ---------------------------------------------------------------------------------------
// Symbol files

TEST(LinuxSymbols, ProcKallsymsText) {
  const std::string text =
      "ffffffff9e000000 T _text\n"
      "ffffffff9e000000 T startup_64\n"
      "ffffffff9e001000 T _stext\n"
      "ffffffff9e05a1e0 t cleanup\n"
      "ffffffff9e06b2f0 t cleanup\n"  // a second static of the same name: the first is kept
      "ffffffff9fa14940 D init_task\n"
      "ffffffffc0a01000 t foo\t[e1000]\n"
      "ffffffffc0a02000 T init_task\t[evil]\n"  // a module symbol never shadows the kernel's
      "ffffffffc0a03000 t bar\t[e1000]\n";
  auto t = parse_symbol_text(text, 0);
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->size(), 5u);
  EXPECT_EQ(t->find("_text"), 0xffffffff9e000000u);
  EXPECT_EQ(t->find("startup_64"), 0xffffffff9e000000u);
  EXPECT_EQ(t->find("_stext"), 0xffffffff9e001000u);
  EXPECT_EQ(t->find("cleanup"), 0xffffffff9e05a1e0u);
  EXPECT_EQ(t->find("init_task"), 0xffffffff9fa14940u);
  EXPECT_FALSE(t->find("foo"));
  EXPECT_FALSE(t->find("bar"));
  EXPECT_FALSE(t->find("init_tas"));
  EXPECT_FALSE(t->find("init_task\t[evil]"));
}

TEST(LinuxSymbols, ExpressionsAndAddressesToNames) {
  const std::string text =
      "0000000000000000 A fixed_percpu_data\n"  // a per-CPU offset: never the name of an address
      "ffffffff9e000000 T _text\n"
      "ffffffff9e000000 T startup_64\n"
      "ffffffff9e001000 T _stext\n"
      "ffffffff9fa14940 D init_task\n"
      "ffffffffa0000000 B _end\n";
  auto t = parse_symbol_text(text, 0);
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->resolve("init_task"), 0xffffffff9fa14940u);
  EXPECT_EQ(t->resolve("init_task+0x40"), 0xffffffff9fa14980u);
  EXPECT_EQ(t->resolve("init_task+40"), 0xffffffff9fa14980u);  // offsets are hex, as addresses
  EXPECT_EQ(t->resolve("init_task+0n64"), 0xffffffff9fa14980u);
  EXPECT_EQ(t->resolve("_stext-0x1000"), 0xffffffff9e000000u);
  EXPECT_THAT(t->resolve("init_tasks").error(), ::testing::HasSubstr("no kernel symbol 'init_tasks'"));
  EXPECT_THAT(t->resolve("init_task+").error(), ::testing::HasSubstr("not a number"));
  EXPECT_THAT(t->resolve("init_task+0xzz").error(), ::testing::HasSubstr("not a number"));

  auto at = t->at(0xffffffff9fa14980);
  ASSERT_TRUE(at);
  EXPECT_EQ(at->name, "init_task");
  EXPECT_EQ(at->offset, 0x40u);
  at = t->at(0xffffffff9e000000);  // aliases: the first name in order
  ASSERT_TRUE(at);
  EXPECT_EQ(at->name, "_text");
  EXPECT_EQ(at->offset, 0u);
  EXPECT_FALSE(t->at(0xffffffff9dffffff));  // below _text
  EXPECT_FALSE(t->at(0xffffffffa0000000));  // at _end and above
  EXPECT_FALSE(t->at(0x10));                // user space, near the per-CPU symbol
  EXPECT_FALSE(SymbolTable().at(0xffffffff9e000000));

  EXPECT_TRUE(looks_like_symbol("init_task"));
  EXPECT_TRUE(looks_like_symbol("init_task+0x40"));
  EXPECT_TRUE(looks_like_symbol("__per_cpu_start"));
  EXPECT_FALSE(looks_like_symbol("ffffffff81000000"));
  EXPECT_FALSE(looks_like_symbol("cafe"));  // numbers win
  EXPECT_FALSE(looks_like_symbol("0x1000"));
  EXPECT_FALSE(looks_like_symbol(""));
  EXPECT_FALSE(looks_like_symbol("z\x13\xf2"));  // bytes no identifier holds: a malformed number
  EXPECT_FALSE(looks_like_symbol("zz zz"));
}

TEST(LinuxSymbols, SystemMapWithASlide) {
  const std::string text = "ffffffff81000000 T _text\nffffffff82a14940 D init_task\nffffffff82a0a000 D init_top_pgt\n";
  auto t = parse_symbol_text(text, 0x1d000000);
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->find("_text"), 0xffffffff9e000000u);
  EXPECT_EQ(t->find("init_task"), 0xffffffff9fa14940u);
  EXPECT_EQ(t->find("init_top_pgt"), 0xffffffff9fa0a000u);
}

TEST(LinuxSymbols, MalformedAndEmptyTextsAreErrors) {
  auto bad = parse_symbol_text("ffffffff81000000 T _text\n\nnot-an-address T x\n", 0);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("line 3"), std::string::npos) << bad.error();
  for (std::string_view line : {"ffffffff81000000 _text", "ffffffff81000000 TT _text", "ffffffff81000000", "T _text"}) {
    auto r = parse_symbol_text(fmt::format("ffffffff81000000 T _text\n{}\n", line), 0);
    ASSERT_FALSE(r) << line;
    EXPECT_NE(r.error().find("line 2"), std::string::npos) << line << ": " << r.error();
  }
  EXPECT_FALSE(parse_symbol_text("", 0));
  EXPECT_FALSE(parse_symbol_text("\n\n", 0));
  EXPECT_FALSE(parse_symbol_text("ffffffffc0a01000 t foo\t[e1000]\n", 0));  // modules only
}

// ---------------------------------------------------------------------------------------
// The kernel's own kallsyms tables (scripts/kallsyms.c output, read by kernel/kallsyms.c)

struct Sym {
  char type;
  std::string name;
  uint64_t addr;
};

const std::vector<std::string>& kallsyms_tokens() {
  static const std::vector<std::string> tokens = [] {
    // A few multi-character tokens (one of them takes the type letter along), then single
    // characters so that every name can be spelt.
    std::vector<std::string> v = {"Dinit", "task", "_text", "_st", "queues", "run"};
    for (char c : std::string_view("abcdefghijklmnopqrstuvwxyz_0123456789TDtRN")) v.emplace_back(1, c);
    return v;
  }();
  return tokens;
}

std::vector<uint8_t> compress(const std::string& s) {
  const auto& tokens = kallsyms_tokens();
  std::vector<uint8_t> out;
  for (size_t i = 0; i < s.size();) {
    size_t best = tokens.size();
    for (size_t t = 0; t < tokens.size(); ++t)
      if (s.compare(i, tokens[t].size(), tokens[t]) == 0 && (best == tokens.size() || tokens[t].size() > tokens[best].size()))
        best = t;
    if (best == tokens.size()) throw std::logic_error("no token spells " + s);
    out.push_back(static_cast<uint8_t>(best));
    i += tokens[best].size();
  }
  return out;
}

template <typename T>
void append(std::vector<uint8_t>& out, T v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}
void align(std::vector<uint8_t>& out, size_t to) { out.resize((out.size() + to - 1) / to * to); }

struct KallsymsBlob {
  std::vector<uint8_t> bytes;
  std::map<std::string, uint64_t> at;  // label -> offset into bytes
};

KallsymsBlob build_kallsyms(const std::vector<Sym>& syms, uint64_t relative_base, bool absolute_percpu) {
  KallsymsBlob k;
  auto& b = k.bytes;
  k.at["kallsyms_num_syms"] = b.size();
  append(b, static_cast<uint32_t>(syms.size()));
  align(b, 8);
  k.at["kallsyms_names"] = b.size();
  for (const Sym& s : syms) {
    const auto c = compress(std::string(1, s.type) + s.name);
    if (c.size() < 0x80) {
      b.push_back(static_cast<uint8_t>(c.size()));
    } else {  // ULEB128
      b.push_back(static_cast<uint8_t>((c.size() & 0x7f) | 0x80));
      b.push_back(static_cast<uint8_t>(c.size() >> 7));
    }
    b.insert(b.end(), c.begin(), c.end());
  }
  align(b, 8);
  k.at["kallsyms_markers"] = b.size();
  append(b, uint32_t{0});
  align(b, 8);
  k.at["kallsyms_token_table"] = b.size();
  std::vector<uint16_t> index(256, 0);
  for (size_t t = 0; t < kallsyms_tokens().size(); ++t) {
    index[t] = static_cast<uint16_t>(b.size() - k.at["kallsyms_token_table"]);
    b.insert(b.end(), kallsyms_tokens()[t].begin(), kallsyms_tokens()[t].end());
    b.push_back(0);
  }
  align(b, 8);
  k.at["kallsyms_token_index"] = b.size();
  for (uint16_t v : index) append(b, v);
  align(b, 8);
  k.at["kallsyms_offsets"] = b.size();
  for (const Sym& s : syms) {
    int32_t off = 0;
    if (!absolute_percpu)
      off = static_cast<int32_t>(static_cast<uint32_t>(s.addr - relative_base));
    else if (s.addr < relative_base)
      off = static_cast<int32_t>(s.addr);  // per-CPU: absolute, non-negative
    else
      off = static_cast<int32_t>(static_cast<int64_t>(relative_base - 1 - s.addr));  // negative
    append(b, off);
  }
  align(b, 8);
  k.at["kallsyms_relative_base"] = b.size();
  append(b, relative_base);
  return k;
}

constexpr uint64_t kRodata = 0xffffffff82000e00;  // the tables cross into a second page
constexpr uint64_t kTextBase = 0xffffffff81000000;

class LinuxKallsyms : public ::testing::Test {
 protected:
  Machine m;
  TableReader reader{m.mem};
  Paging paging{&kX86_64_4Level, {}};
  KallsymsBlob blob;

  const std::string long_name = "_RNv" + [] {
    std::string s;
    for (int i = 0; i < 50; ++i) s += "xyz";
    return s;
  }();

  void SetUp() override {
    // Two pages of .rodata, physically apart and in reverse order.
    m.map(0xffffffff82000000, 0x5000000, 4096);
    m.map(0xffffffff82001000, 0x3000000, 4096);
  }

  std::vector<Sym> symbols() const {
    return {{'D', "runqueues", 0x2fa40},  // per-CPU
            {'T', "_text", kTextBase},
            {'T', "_stext", kTextBase + 0x1000},
            {'t', long_name, kTextBase + 0x5a1e0},
            {'D', "init_task", kTextBase + 0x1a14940}};
  }

  void install(const std::vector<Sym>& syms, bool absolute_percpu) {
    blob = build_kallsyms(syms, kTextBase, absolute_percpu);
    ASSERT_LT(kRodata % 4096 + blob.bytes.size(), 8192u);
    ASSERT_GT(kRodata % 4096 + blob.bytes.size(), 4096u);
    m.write(kRodata, std::as_bytes(std::span(blob.bytes)));
  }

  VmcoreInfo info(std::optional<uint64_t> stext, const char* skip = nullptr) const {
    std::string text = "OSRELEASE=6.1.0\nPAGESIZE=4096\n";
    for (const auto& [label, off] : blob.at)
      if (label != "kallsyms_markers" && (!skip || label != skip)) text += fmt::format("SYMBOL({})={:x}\n", label, kRodata + off);
    if (stext) text += fmt::format("SYMBOL(_stext)={:x}\n", *stext);
    return VmcoreInfo::parse(text);
  }

  tl::expected<SymbolTable, std::string> read(const VmcoreInfo& vi) {
    VirtualMemory vm(paging, reader, m.tables.root());
    return read_kallsyms(vm, vi);
  }
};

TEST_F(LinuxKallsyms, AbsolutePercpuEncodingDecodesEveryName) {
  install(symbols(), true);
  ASSERT_GE(compress("t" + long_name).size(), 128u);  // needs the two-byte length
  auto t = read(info(kTextBase + 0x1000));
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->size(), 5u);
  for (const Sym& s : symbols()) EXPECT_EQ(t->find(s.name), s.addr) << s.name;
  // The type letter is not part of the name, even when a token carries it ("Dinit").
  EXPECT_FALSE(t->find("Dinit_task"));
  EXPECT_FALSE(t->find("Tstext"));
}

TEST_F(LinuxKallsyms, RelativeEncodingIsChosenWhenItMatchesStext) {
  std::vector<Sym> syms = symbols();
  syms[0].addr = kTextBase + 0x90000000;  // an offset with bit 31 set: unsigned from the base
  install(syms, false);
  auto t = read(info(kTextBase + 0x1000));
  ASSERT_TRUE(t) << t.error();
  for (const Sym& s : syms) EXPECT_EQ(t->find(s.name), s.addr) << s.name;
}

TEST_F(LinuxKallsyms, StextThatDisagreesIsAnError) {
  install(symbols(), true);
  auto t = read(info(kTextBase + 0x2000));
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().find("_stext"), std::string::npos) << t.error();
  EXPECT_NE(t.error().find("disagrees"), std::string::npos) << t.error();
}

TEST_F(LinuxKallsyms, NoAnchorIsAnError) {
  install(symbols(), true);
  auto t = read(info(std::nullopt));
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().find("none of the symbols"), std::string::npos) << t.error();
}

TEST_F(LinuxKallsyms, MissingVmcoreinfoSymbolsAreAnError) {
  install(symbols(), true);
  for (const char* skip : {"kallsyms_names", "kallsyms_num_syms", "kallsyms_token_table", "kallsyms_token_index",
                           "kallsyms_offsets", "kallsyms_relative_base"}) {
    auto t = read(info(kTextBase + 0x1000, skip));
    ASSERT_FALSE(t) << skip;
    EXPECT_NE(t.error().find("VMCOREINFO"), std::string::npos) << skip << ": " << t.error();
  }
}

TEST_F(LinuxKallsyms, UnmappedTablesAreAnError) {
  install(symbols(), true);
  VmcoreInfo vi = info(kTextBase + 0x1000);
  // The same tables, but VMCOREINFO places them one page higher, where nothing is mapped.
  std::string text = "OSRELEASE=6.1.0\nPAGESIZE=4096\nSYMBOL(_stext)=ffffffff81001000\n";
  for (const auto& [label, off] : blob.at) text += fmt::format("SYMBOL({})={:x}\n", label, kRodata + 0x2000 + off);
  auto t = read(VmcoreInfo::parse(text));
  ASSERT_FALSE(t);
  EXPECT_TRUE(read(vi));
}

// ---------------------------------------------------------------------------------------
// The x86-64 layout

void expect_covers_everything(const std::vector<Region>& l) {
  ASSERT_FALSE(l.empty());
  EXPECT_EQ(l.front().start, 0u);
  EXPECT_EQ(l.back().last, ~uint64_t{0});
  for (size_t i = 0; i < l.size(); ++i) {
    EXPECT_LE(l[i].start, l[i].last) << l[i].name;
    if (i) {
      EXPECT_EQ(l[i].start, l[i - 1].last + 1) << l[i - 1].name << " then " << l[i].name;
    }
  }
}

std::string_view kind_at(const std::vector<Region>& l, uint64_t va) { return region_id(classify(l, va).kind); }

TEST(LinuxLayout, FourLevelDefaults) {
  const auto l = x86_64_layout({});
  expect_covers_everything(l);
  EXPECT_EQ(kind_at(l, 0), "user");
  EXPECT_EQ(kind_at(l, 0x00007fffffffffff), "user");
  EXPECT_EQ(kind_at(l, 0x0000800000000000), "non_canonical");
  EXPECT_EQ(kind_at(l, 0xffff7fffffffffff), "non_canonical");
  EXPECT_EQ(kind_at(l, 0xffff800000000000), "guard_hole");
  EXPECT_EQ(kind_at(l, 0xffff880000000000), "ldt_remap");
  EXPECT_EQ(kind_at(l, 0xffff888000000000), "direct_map");
  EXPECT_EQ(classify(l, 0xffff888000000000).start, 0xffff888000000000u);
  EXPECT_EQ(classify(l, 0xffff888000000000).last, 0xffffc87fffffffffu);  // 64 TB
  EXPECT_EQ(kind_at(l, 0xffffc88000000000), "unused");
  EXPECT_EQ(kind_at(l, 0xffffc90000000000), "vmalloc");
  EXPECT_EQ(classify(l, 0xffffc90000000000).last, 0xffffe8ffffffffffu);  // 32 TB
  EXPECT_EQ(kind_at(l, 0xffffe90000000000), "unused");
  EXPECT_EQ(kind_at(l, 0xffffea0000000000), "vmemmap");
  EXPECT_EQ(classify(l, 0xffffea0000000000).last, 0xffffeaffffffffffu);  // 1 TB
  EXPECT_EQ(kind_at(l, 0xffffec0000000000), "kasan_shadow");
  EXPECT_EQ(kind_at(l, 0xfffffe0000000000), "cpu_entry_area");
  EXPECT_EQ(kind_at(l, 0xfffffe8000000000), "unused");
  EXPECT_EQ(kind_at(l, 0xffffff0000000000), "espfix");
  EXPECT_EQ(kind_at(l, 0xffffffef00000000), "efi");
  EXPECT_EQ(kind_at(l, 0xffffffff7fffffff), "unused");
  EXPECT_EQ(kind_at(l, 0xffffffff80000000), "kernel_text");
  EXPECT_EQ(kind_at(l, 0xffffffff81000000), "kernel_text");
  EXPECT_EQ(kind_at(l, 0xffffffffbfffffff), "kernel_text");
  EXPECT_EQ(kind_at(l, 0xffffffffc0000000), "modules");
  EXPECT_EQ(kind_at(l, 0xfffffffffeffffff), "modules");
  EXPECT_EQ(kind_at(l, 0xffffffffff000000), "fixmap");
  EXPECT_EQ(kind_at(l, 0xffffffffff600000), "vsyscall");
  EXPECT_EQ(kind_at(l, 0xffffffffff601000), "unused");
  EXPECT_EQ(kind_at(l, ~uint64_t{0}), "unused");
}

TEST(LinuxLayout, FiveLevelDefaults) {
  LayoutParams p;
  p.five_level = true;
  const auto l = x86_64_layout(p);
  expect_covers_everything(l);
  EXPECT_EQ(kind_at(l, 0x0000800000000000), "user");
  EXPECT_EQ(kind_at(l, 0x00ffffffffffffff), "user");
  EXPECT_EQ(kind_at(l, 0x0100000000000000), "non_canonical");
  EXPECT_EQ(kind_at(l, 0xff00000000000000), "guard_hole");
  EXPECT_EQ(kind_at(l, 0xff10000000000000), "ldt_remap");
  EXPECT_EQ(kind_at(l, 0xff11000000000000), "direct_map");
  EXPECT_EQ(classify(l, 0xff11000000000000).last, 0xff90ffffffffffffu);  // 32 PB
  EXPECT_EQ(kind_at(l, 0xff91000000000000), "unused");
  EXPECT_EQ(kind_at(l, 0xffa0000000000000), "vmalloc");
  EXPECT_EQ(classify(l, 0xffa0000000000000).last, 0xffd1ffffffffffffu);  // 12.5 PB
  EXPECT_EQ(kind_at(l, 0xffd4000000000000), "vmemmap");
  EXPECT_EQ(classify(l, 0xffd4000000000000).last, 0xffd5ffffffffffffu);  // 0.5 PB
  EXPECT_EQ(kind_at(l, 0xffdf000000000000), "kasan_shadow");
  // 4-level addresses in the top half mean other things under 5-level paging.
  EXPECT_EQ(kind_at(l, 0xffff888000000000), "kasan_shadow");
  EXPECT_EQ(kind_at(l, 0xfffffe0000000000), "cpu_entry_area");
  EXPECT_EQ(kind_at(l, 0xffffffff81000000), "kernel_text");
  EXPECT_EQ(kind_at(l, 0xffffffffc0000000), "modules");
  EXPECT_EQ(kind_at(l, 0xffffffffff600000), "vsyscall");
}

TEST(LinuxLayout, KaslrBasesFromADebianGuest) {
  LayoutParams p;
  p.page_offset_base = 0xffff8c9c40000000;
  p.vmalloc_base = 0xffffd01040000000;
  p.vmemmap_base = 0xfffff2b040000000;
  p.max_pfn = 0x100000;  // 4 GiB of RAM
  p.kaslr_offset = 0x1d000000;
  const auto l = x86_64_layout(p);
  expect_covers_everything(l);
  const Region& direct = classify(l, 0xffff8c9c40000000);
  EXPECT_EQ(direct.kind, RegionKind::DirectMap);
  EXPECT_EQ(direct.start, 0xffff8c9c40000000u);
  EXPECT_EQ(direct.last, 0xffff8c9c40000000u + 11 * kTiB - 1);  // 1 TiB (rounded up) + 10 TiB padding
  EXPECT_EQ(kind_at(l, 0xffff8c9c40000000 - 1), "unused");
  EXPECT_EQ(kind_at(l, 0xffff8c9c40000000 + 11 * kTiB), "unused");
  EXPECT_EQ(kind_at(l, 0xffff888000000000), "unused");  // the default base means nothing now
  const Region& vmalloc = classify(l, 0xffffd01040000000);
  EXPECT_EQ(vmalloc.kind, RegionKind::Vmalloc);
  EXPECT_EQ(vmalloc.start, 0xffffd01040000000u);
  EXPECT_EQ(vmalloc.last, 0xffffd01040000000u + 32 * kTiB - 1);
  const Region& vmemmap = classify(l, 0xfffff2b040000000);
  EXPECT_EQ(vmemmap.kind, RegionKind::Vmemmap);
  EXPECT_EQ(vmemmap.start, 0xfffff2b040000000u);
  EXPECT_EQ(vmemmap.last, 0xfffff2b040000000u + kTiB - 1);  // 11 TiB / 4 KiB * 64 bytes, rounded up to 1 TiB
  EXPECT_EQ(kind_at(l, 0xfffffe0000000000), "cpu_entry_area");
  EXPECT_EQ(kind_at(l, 0xffffffff9e000000), "kernel_text");
  EXPECT_EQ(kind_at(l, 0xffffffffc0000000), "modules");
  for (const Region& r : l) EXPECT_NE(r.kind, RegionKind::KasanShadow);
}

TEST(LinuxLayout, OverlappingBasesStillGiveOneRegionPerAddress) {
  LayoutParams p;
  p.page_offset_base = 0xffff8c9c40000000;
  p.vmalloc_base = 0xffff8c9c40000000 + kTiB;  // inside the direct map: a wrong value
  p.vmemmap_base = 0xffffffff80000000;         // on top of the kernel text
  p.max_pfn = 0x100000;
  for (bool five : {false, true}) {
    p.five_level = five;
    const auto l = x86_64_layout(p);
    expect_covers_everything(l);
  }
}

// ---------------------------------------------------------------------------------------
// A kernel in memory: discovery and conversions

constexpr uint64_t kKaslr = 0x1c000000;
constexpr uint64_t kText = 0xffffffff81000000 + kKaslr;  // _text
constexpr uint64_t kPgdVa = kText + 0x1a0a000;           // init_top_pgt
constexpr uint64_t kInitTask = kText + 0x1a14940;
constexpr uint64_t kPageOffsetBase = 0xffff8c9c40000000;
constexpr uint64_t kVmemmapBase = 0xfffff2b040000000;
constexpr uint64_t kVmcoreinfoPa = 0x234560;
constexpr uint64_t kPhysBase = 0x2200000;
constexpr uint64_t kNegativePhysBase = ~uint64_t{0x1600000} + 1;  // -0x1600000

constexpr uint64_t text_pa(uint64_t va, uint64_t phys_base) { return va - kStartKernelMap + phys_base; }

// 32 MiB of kernel image from _text and the first 8 MiB of RAM in the direct map, both in
// 2 MiB pages; the PGD's root table is init_top_pgt itself; VMCOREINFO lies in RAM with no
// note pointing at it.
struct KernelMachine {
  explicit KernelMachine(uint64_t pb, std::string_view page_size_line = "SIZE(page)=64\n")
      : phys_base(pb), m(PhysAddr(text_pa(kPgdVa, pb))) {
    m.map(kText, text_pa(kText, pb), 32 * kMiB, 2 * kMiB);
    m.map(kPageOffsetBase, 0, 8 * kMiB, 2 * kMiB);
    const std::string vi = fmt::format(
        "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nSYMBOL(init_top_pgt)={:x}\nNUMBER(phys_base)={}\nKERNELOFFSET={:x}\n"
        "NUMBER(pgtable_l5_enabled)=0\n{}",
        kPgdVa, static_cast<int64_t>(pb), kKaslr, page_size_line);
    m.mem.write(PhysAddr(kVmcoreinfoPa), bytes_of(vi + '\0'));
  }
  KernelInputs inputs() {
    KernelInputs in;
    in.memory = &m.mem;
    in.overrides = {{"page_offset_base", kPageOffsetBase}, {"vmemmap_base", kVmemmapBase}};
    return in;
  }
  uint64_t phys_base;
  Machine m;
};

// A corrupt SIZE(page) must neither divide by zero nor scale answers: it is rejected with a
// warning, and pfn <-> struct page conversions say why they cannot answer.
TEST(LinuxKernel, ACorruptStructPageSizeIsRejected) {
  for (const char* line : {"SIZE(page)=0\n", "SIZE(page)=1\n", "SIZE(page)=100000\n"}) {
    KernelMachine km(kPhysBase, line);
    auto k = LinuxKernel::discover(km.inputs());
    ASSERT_TRUE(k) << k.error();
    EXPECT_EQ((*k)->struct_page_size, 0u) << line;
    EXPECT_TRUE(any_contains((*k)->warnings, "is not a struct page size")) << joined((*k)->warnings);
    auto page = (*k)->pfn_to_page(Pfn(0x1234));
    ASSERT_FALSE(page);
    EXPECT_NE(page.error().find("rejected"), std::string::npos) << page.error();
    auto pfn = (*k)->page_to_pfn(VirtAddr(kVmemmapBase + 0x40));
    ASSERT_FALSE(pfn);
    EXPECT_NE(pfn.error().find("rejected"), std::string::npos) << pfn.error();
  }
}

TEST(LinuxKernel, DiscoversTheKernelAndConvertsAddresses) {
  KernelMachine km(kPhysBase);
  auto k = LinuxKernel::discover(km.inputs());
  ASSERT_TRUE(k) << k.error();
  LinuxKernel& kernel = **k;
  EXPECT_NE(kernel.vmcoreinfo_source.find(fmt::format("0x{:x}", kVmcoreinfoPa)), std::string::npos)
      << kernel.vmcoreinfo_source;
  EXPECT_EQ(kernel.release, "6.1.0-test");
  ASSERT_TRUE(kernel.kaslr_offset);
  EXPECT_EQ(kernel.kaslr_offset->value, kKaslr);
  ASSERT_TRUE(kernel.phys_base);
  EXPECT_EQ(kernel.phys_base->value, kPhysBase);
  EXPECT_EQ(kernel.paging.mode, &kX86_64_4Level);
  EXPECT_EQ(kernel.kernel_pgd.value(), text_pa(kPgdVa, kPhysBase));
  EXPECT_EQ(kernel.kernel_pgd, km.m.tables.root());
  EXPECT_EQ(kernel.page_offset_base->source, "--base");
  EXPECT_NE(kernel.struct_page_size_source.find("SIZE(page)"), std::string::npos);
  // No kallsyms in this kernel: said so, and nothing else is wrong.
  EXPECT_TRUE(kernel.symbols.empty());
  EXPECT_TRUE(any_contains(kernel.warnings, "no kernel symbols")) << joined(kernel.warnings);
  EXPECT_FALSE(any_contains(kernel.warnings, "PGD")) << joined(kernel.warnings);

  // Kernel text: the formula and the kernel's own tables agree.
  for (uint64_t va : {kText, kText + 0x123456, kPgdVa + 0x18}) {
    auto pa = kernel.virt_to_phys(VirtAddr(va));
    ASSERT_TRUE(pa) << pa.error();
    EXPECT_EQ(pa->value(), va - 0xffffffff80000000 + kPhysBase);
    auto walked = kernel.memory().to_phys(VirtAddr(va));
    ASSERT_TRUE(walked) << walked.error().reason;
    EXPECT_EQ(*walked, *pa);
  }
  // Direct map.
  auto pa = kernel.virt_to_phys(VirtAddr(kPageOffsetBase + 0x345678));
  ASSERT_TRUE(pa) << pa.error();
  EXPECT_EQ(pa->value(), 0x345678u);
  EXPECT_EQ(*kernel.memory().to_phys(VirtAddr(kPageOffsetBase + 0x345678)), *pa);
  EXPECT_FALSE(kernel.virt_to_phys(VirtAddr(kPageOffsetBase - 0x1000)));
  auto va = kernel.phys_to_virt(PhysAddr(0x345678));
  ASSERT_TRUE(va) << va.error();
  EXPECT_EQ(va->value(), kPageOffsetBase + 0x345678);

  // struct page.
  auto page = kernel.pfn_to_page(Pfn(0x1234));
  ASSERT_TRUE(page) << page.error();
  EXPECT_EQ(page->value(), kVmemmapBase + 0x1234 * 64);
  auto pfn = kernel.page_to_pfn(*page);
  ASSERT_TRUE(pfn) << pfn.error();
  EXPECT_EQ(pfn->value(), 0x1234u);
  EXPECT_FALSE(kernel.page_to_pfn(*page + 8));                  // inside a struct page
  EXPECT_FALSE(kernel.page_to_pfn(VirtAddr(kVmemmapBase - 64)));  // below the array
}

// A source that cannot say where RAM is (a gdbstub): the copy of VMCOREINFO is looked for
// only in what the CPU's tables map linearly, from the top down; without a CPU's tables, or
// with tables that map no direct map, nothing is read.
TEST(LinuxKernel, WithoutARamMapVmcoreinfoIsFoundThroughTheDirectMap) {
  Machine m(PhysAddr(text_pa(kPgdVa, kPhysBase)));
  m.map(kText, text_pa(kText, kPhysBase), 32 * kMiB, 2 * kMiB);  // the kernel image: a linear map too, smaller
  m.map(kPageOffsetBase, 0, 64 * kMiB, 2 * kMiB);
  const uint64_t at = 60 * kMiB;
  const std::string vi = fmt::format(
      "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nSYMBOL(init_top_pgt)={:x}\nNUMBER(phys_base)={}\nKERNELOFFSET={:x}\n"
      "NUMBER(pgtable_l5_enabled)=0\n",
      kPgdVa, kPhysBase, kKaslr);
  m.mem.write(PhysAddr(at), bytes_of(vi + '\0'));
  m.mem.write(PhysAddr(0x1000), bytes_of("OSRELEASE=decoy\n"));  // below: never reached
  CpuState cpu;
  cpu.arch = "x86";
  cpu.registers = {{"cr0", 0x80050033}, {"cr3", m.tables.root().value()}, {"cr4", 0x6f0}, {"efer", 0xd01}};
  KernelInputs in;
  in.memory = &m.mem;
  in.ram_unknown = true;
  in.overrides = {{"pgd", kPgdVa}};
  in.cpus = {cpu};
  auto k = LinuxKernel::discover(in);
  ASSERT_TRUE(k) << k.error();
  EXPECT_EQ((*k)->vmcoreinfo_source, fmt::format("found in memory at PA 0x{:x}", at));
  EXPECT_FALSE(any_contains((*k)->warnings, "PGD")) << joined((*k)->warnings);
  EXPECT_EQ((*k)->release, "6.1.0-test");
  // Under PTI, stopped in user mode: CR3 is the user PGD, 4 KiB above the kernel's, which
  // maps the kernel image's text (linear, but not the direct map).
  TableBuilder user(m.mem, kX86_64_4Level, PhysAddr(0x7800000), m.tables.root() + 0x1000);
  for (uint64_t o = 0; o < 32 * kMiB; o += 2 * kMiB)
    user.map(VirtAddr(kText + o), PhysAddr(text_pa(kText, kPhysBase) + o), 2 * kMiB, 0x61, 0x63);
  in.cpus[0].set("cr3", m.tables.root().value() + 0x1000);
  k = LinuxKernel::discover(in);
  ASSERT_TRUE(k) << k.error();
  EXPECT_EQ((*k)->vmcoreinfo_source, fmt::format("found in memory at PA 0x{:x}", at));
  in.cpus.clear();  // no tables to find RAM with: no scan of a whole address space
  in.overrides.clear();
  auto none = LinuxKernel::discover(in);
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error(), ::testing::HasSubstr("no VMCOREINFO"));
}

TEST(LinuxKernel, NegativePhysBaseWrapsAround) {
  KernelMachine km(kNegativePhysBase);
  auto k = LinuxKernel::discover(km.inputs());
  ASSERT_TRUE(k) << k.error();
  LinuxKernel& kernel = **k;
  EXPECT_EQ(kernel.phys_base->value, kNegativePhysBase);
  // init_top_pgt at _text + 0x1a0a000, and _text 6 MiB below where the link address puts it.
  EXPECT_EQ(kernel.kernel_pgd.value(), kKaslr + 0x1000000 - 0x1600000 + 0x1a0a000);
  EXPECT_FALSE(any_contains(kernel.warnings, "PGD")) << joined(kernel.warnings);
  for (uint64_t v : {kText, kText + 0x1fffff8, kInitTask}) {
    auto pa = kernel.virt_to_phys(VirtAddr(v));
    ASSERT_TRUE(pa) << pa.error();
    EXPECT_EQ(pa->value(), v - 0xffffffff80000000 - 0x1600000);
    EXPECT_EQ(*kernel.memory().to_phys(VirtAddr(v)), *pa);
  }
  // The first 16 MiB of the text mapping lie below PA 0 with this phys_base.
  auto low = kernel.virt_to_phys(VirtAddr(0xffffffff80000000 + 0x100000));
  ASSERT_TRUE(low);
  EXPECT_EQ(low->value(), 0xfffffffffeb00000u);
}

TEST(LinuxKernel, NoVmcoreinfoAndNoFallbackIsAnError) {
  SyntheticMemory mem;
  for (uint64_t pa = 0; pa < 0x10000; pa += 4096) mem.page(PhysAddr(pa));
  mem.write(PhysAddr(0x1000), bytes_of("OSRELEASE=%s\n"));
  KernelInputs in;
  in.memory = &mem;
  auto k = LinuxKernel::discover(in);
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().find("--kallsyms"), std::string::npos) << k.error();
  EXPECT_NE(k.error().find("--system-map"), std::string::npos) << k.error();
}

TEST(LinuxKernel, WrongPhysBaseOverrideIsCaught) {
  KernelMachine km(kPhysBase);
  KernelInputs in = km.inputs();
  in.overrides["phys_base"] = kPhysBase + 0x200000;
  auto k = LinuxKernel::discover(in);
  ASSERT_TRUE(k) << k.error();
  EXPECT_EQ((*k)->phys_base->source, "--base");
  EXPECT_EQ((*k)->kernel_pgd.value(), text_pa(kPgdVa, kPhysBase) + 0x200000);
  EXPECT_TRUE(any_contains((*k)->warnings, "does not map its own VA")) << joined((*k)->warnings);
}

// ---------------------------------------------------------------------------------------
// BTF

std::vector<std::byte> raw_btf(btf* b) {
  __u32 size = 0;
  const auto* p = static_cast<const std::byte*>(btf__raw_data(b, &size));
  std::vector<std::byte> out(p, p + size);
  btf__free(b);
  return out;
}

// task_struct with pid/tgid inside an anonymous struct, mm_struct with pgd two anonymous
// levels down (a union holding a struct), as 6.1+ has it.
std::vector<std::byte> small_btf(bool with_pgd) {
  btf* b = btf__new_empty();
  const int int_id = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  const int char_id = btf__add_int(b, "char", 1, BTF_INT_CHAR);
  const int ptr_id = btf__add_ptr(b, 0);
  const int comm_id = btf__add_array(b, int_id, char_id, 16);
  const int list_id = btf__add_struct(b, "list_head", 16);
  btf__add_field(b, "next", ptr_id, 0, 0);
  btf__add_field(b, "prev", ptr_id, 64, 0);
  const int ids_id = btf__add_struct(b, nullptr, 8);
  btf__add_field(b, "pid", int_id, 0, 0);
  btf__add_field(b, "tgid", int_id, 32, 0);
  const int task_id = btf__add_struct(b, "task_struct", 0x800);
  btf__add_field(b, "__state", int_id, 0, 0);
  btf__add_field(b, "tasks", list_id, 0x3a0 * 8, 0);
  btf__add_field(b, "mm", ptr_id, 0x3f0 * 8, 0);
  btf__add_field(b, nullptr, ids_id, 0x4a0 * 8, 0);
  btf__add_field(b, "comm", comm_id, 0x6e8 * 8, 0);
  const int inner_id = btf__add_struct(b, nullptr, 0x100);
  btf__add_field(b, "mm_count", int_id, 0, 0);
  if (with_pgd) btf__add_field(b, "pgd", ptr_id, 0x48 * 8, 0);
  const int union_id = btf__add_union(b, nullptr, 0x100);
  btf__add_field(b, nullptr, inner_id, 0, 0);
  btf__add_field(b, "padding", int_id, 0, 0);
  const int mm_id = btf__add_struct(b, "mm_struct", 0x140);
  btf__add_field(b, "flags", int_id, 0, 0);
  btf__add_field(b, nullptr, union_id, 0x10 * 8, 0);
  EXPECT_GT(task_id, 0);
  EXPECT_GT(mm_id, 0);
  return raw_btf(b);
}

TEST(LinuxBtf, MembersInsideAnonymousStructsAndUnions) {
  auto l = task_layout_from_btf(small_btf(true));
  ASSERT_TRUE(l) << l.error();
  EXPECT_EQ(l->task_tasks, 0x3a0u);
  EXPECT_EQ(l->task_mm, 0x3f0u);
  EXPECT_EQ(l->task_pid, 0x4a0u);
  EXPECT_EQ(l->task_tgid, 0x4a4u);
  EXPECT_EQ(l->task_comm, 0x6e8u);
  EXPECT_EQ(l->mm_pgd, 0x58u);
  EXPECT_FALSE(l->cpu_capability);  // no cpuinfo_x86 in this BTF
  EXPECT_EQ(l->source, "BTF");
}

TEST(LinuxBtf, MissingMemberOrStructIsAnError) {
  auto l = task_layout_from_btf(small_btf(false));
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().find("pgd"), std::string::npos) << l.error();

  btf* b = btf__new_empty();
  btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  auto none = task_layout_from_btf(raw_btf(b));
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().find("task_struct"), std::string::npos) << none.error();
}

TEST(LinuxBtf, GarbageAndTruncatedDataAreErrors) {
  EXPECT_FALSE(task_layout_from_btf(std::vector<std::byte>(4096, std::byte{0x5a})));
  EXPECT_FALSE(task_layout_from_btf(std::vector<std::byte>(8, std::byte{0})));
  EXPECT_FALSE(task_layout_from_btf({}));
  const auto good = small_btf(true);
  for (size_t keep : {good.size() - 1, good.size() / 2, size_t{24}})
    EXPECT_FALSE(task_layout_from_btf(std::span(good.data(), keep))) << keep << " of " << good.size() << " bytes";
}

TEST(LinuxBtf, ThisMachinesKernel) {
  std::ifstream f("/sys/kernel/btf/vmlinux", std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (!f.good() && !f.eof()) GTEST_SKIP() << "this machine's kernel BTF is not readable";
  if (chars.empty()) GTEST_SKIP() << "this machine's kernel exports no BTF (CONFIG_DEBUG_INFO_BTF off)";
  std::vector<std::byte> data(chars.size());
  std::memcpy(data.data(), chars.data(), chars.size());

  auto l = task_layout_from_btf(data);
  ASSERT_TRUE(l) << l.error();
  EXPECT_GT(l->task_tasks, 0u);
  EXPECT_GT(l->task_mm, 0u);
  EXPECT_GT(l->task_pid, 0u);
  EXPECT_GT(l->task_comm, 0u);
  EXPECT_GT(l->mm_pgd, 0u);  // mm_mt, mmap_base and more come first
  EXPECT_EQ(l->task_tgid, l->task_pid + 4);  // pid_t pid; pid_t tgid;
  EXPECT_EQ(l->task_tasks % 8, 0u);
  EXPECT_EQ(l->task_mm % 8, 0u);
  EXPECT_EQ(l->mm_pgd % 8, 0u);
  EXPECT_EQ(l->comm_size, 16u);
  EXPECT_LT(l->task_tasks, l->task_pid);
  // What ps shows besides: every kernel since 5.14 has them all.
  EXPECT_TRUE(l->task_real_parent && l->task_state && l->task_exit_state && l->task_signal && l->signal_nr_threads);
  EXPECT_LT(l->task_state.value_or(~uint64_t{0}), l->task_tasks);  // __state comes first in task_struct
  EXPECT_LT(l->task_pid, l->task_comm);
#if defined(__x86_64__)
  EXPECT_TRUE(l->cpu_capability);
#endif
  // What maps and page read: VMAs, paths, struct page and the kernel's own flag names.
  EXPECT_TRUE(l->vma_start && l->vma_end && l->vma_flags && l->vma_pgoff && l->vma_file);
  EXPECT_EQ(l->vma_end.value_or(0), l->vma_start.value_or(0) + 8);  // unsigned long vm_start, vm_end
  EXPECT_TRUE(l->file_dentry && l->file_mnt && l->dentry_name && l->dentry_parent && l->mount_mnt);
  EXPECT_EQ(l->file_dentry.value_or(0), l->file_mnt.value_or(0) + 8);  // struct path { mnt; dentry; }
  EXPECT_EQ(l->page_flags, 0u);
  ASSERT_GT(l->page_flag_names.size(), 20u);
  EXPECT_EQ(l->page_flag_names[0], "locked");  // PG_locked = 0 on every kernel

  EXPECT_FALSE(task_layout_from_btf(std::span(data.data(), data.size() / 2)));
  std::vector<std::byte> scrambled = data;
  for (size_t i = 24; i < scrambled.size(); i += 7) scrambled[i] = std::byte{0xff};
  EXPECT_FALSE(task_layout_from_btf(scrambled));
}

// ---------------------------------------------------------------------------------------
// The task list

constexpr uint64_t kTaskA = kPageOffsetBase + 0x300000, kTaskB = kPageOffsetBase + 0x308000;
constexpr uint64_t kMmA = kPageOffsetBase + 0x310000, kMmB = kPageOffsetBase + 0x311000;

TaskLayout test_task_layout() {
  TaskLayout l;
  l.task_tasks = 0x100;
  l.task_pid = 0x200;
  l.task_tgid = 0x204;
  l.task_comm = 0x300;
  l.task_mm = 0x310;
  l.mm_pgd = 0x50;
  return l;
}

class LinuxTasks : public ::testing::Test {
 protected:
  KernelMachine km{kPhysBase};
  TaskLayout layout = test_task_layout();

  void SetUp() override {
    write_task(kInitTask, 0, 0, "swapper/0", 0, kTaskA, kTaskB);
    write_task(kTaskA, 1, 1, "systemd", kMmA, kTaskB, kInitTask);
    write_task(kTaskB, 42, 40, "kworker/u8:0-ev", kMmB, kInitTask, kTaskA);  // 15 chars, the most comm holds
    km.m.put<uint64_t>(kMmA + 0x50, kPageOffsetBase + 0x400000);
    km.m.put<uint64_t>(kMmB + 0x50, kPageOffsetBase + 0x402000);
  }

  void write_task(uint64_t task, int32_t pid, int32_t tgid, std::string_view comm, uint64_t mm, uint64_t next,
                  uint64_t prev) {
    km.m.put<uint64_t>(task + 0x100, next + 0x100);
    km.m.put<uint64_t>(task + 0x108, prev + 0x100);
    km.m.put<int32_t>(task + 0x200, pid);
    km.m.put<int32_t>(task + 0x204, tgid);
    std::array<char, 16> c{};
    std::copy(comm.begin(), comm.end(), c.begin());
    km.m.write(task + 0x300, std::as_bytes(std::span(c)));
    km.m.put<uint64_t>(task + 0x310, mm);
  }
  void set_next(uint64_t task, uint64_t next_list_head) { km.m.put<uint64_t>(task + 0x100, next_list_head); }

  std::unique_ptr<LinuxKernel> kernel() {
    KernelInputs in = km.inputs();
    in.symbol_text = fmt::format("{:016x} T _text\n{:016x} D init_task\n", kText, kInitTask);
    in.symbol_text_name = "kallsyms";
    auto k = LinuxKernel::discover(in);
    EXPECT_TRUE(k) << k.error();
    return k ? std::move(*k) : nullptr;
  }
};

// Comms are bytes the image holds: shown as one printable line whatever they are.
TEST_F(LinuxTasks, CommsAreEscaped) {
  write_task(kTaskB, 42, 40, "a\nb\x01\xff\\z", kMmB, kInitTask, kTaskA);
  auto k = kernel();
  ASSERT_TRUE(k);
  const TaskList list = list_tasks(*k, layout);
  ASSERT_EQ(list.tasks.size(), 3u);
  EXPECT_EQ(list.tasks[2].comm, "a\\x0ab\\x01\\xff\\x5cz");
  EXPECT_EQ(escaped("plain/0:1-x"), "plain/0:1-x");
}

TEST_F(LinuxTasks, FollowsTheRing) {
  auto k = kernel();
  ASSERT_TRUE(k);
  EXPECT_EQ(k->symbol("init_task"), kInitTask);
  const TaskList list = list_tasks(*k, layout);
  EXPECT_TRUE(list.warnings.empty()) << joined(list.warnings);
  ASSERT_EQ(list.tasks.size(), 3u);
  const Task& init = list.tasks[0];
  EXPECT_EQ(init.task, kInitTask);
  EXPECT_EQ(init.pid, 0);
  EXPECT_EQ(init.comm, "swapper/0");
  EXPECT_EQ(init.mm, 0u);
  EXPECT_FALSE(init.pgd);
  const Task& a = list.tasks[1];
  EXPECT_EQ(a.task, kTaskA);
  EXPECT_EQ(a.pid, 1);
  EXPECT_EQ(a.tgid, 1);
  EXPECT_EQ(a.comm, "systemd");
  EXPECT_EQ(a.mm, kMmA);
  EXPECT_EQ(a.pgd_va, kPageOffsetBase + 0x400000);
  EXPECT_EQ(a.pgd, PhysAddr(0x400000));
  const Task& b = list.tasks[2];
  EXPECT_EQ(b.task, kTaskB);
  EXPECT_EQ(b.pid, 42);
  EXPECT_EQ(b.tgid, 40);
  EXPECT_EQ(b.comm, "kworker/u8:0-ev");
  EXPECT_EQ(b.pgd, PhysAddr(0x402000));
}

// Without the members in the kernel's types, parent, state and threads are unknown; with
// them, read as the kernel keeps them.
TEST_F(LinuxTasks, ParentStateAndThreadsWhenTheTypesHaveThem) {
  auto k = kernel();
  ASSERT_TRUE(k);
  TaskList list = list_tasks(*k, layout);
  ASSERT_EQ(list.tasks.size(), 3u);
  EXPECT_FALSE(list.tasks[1].ppid);
  EXPECT_FALSE(list.tasks[1].state);
  EXPECT_FALSE(list.tasks[1].threads);
  TaskLayout rich = layout;
  rich.task_real_parent = 0x320;
  rich.task_state = 0x328;
  rich.task_exit_state = 0x32c;
  rich.task_signal = 0x338;
  rich.signal_nr_threads = 0x10;
  const uint64_t signal_b = kPageOffsetBase + 0x312000;
  km.m.put<uint64_t>(kInitTask + 0x320, kInitTask);  // the idle task is its own parent
  km.m.put<uint64_t>(kTaskA + 0x320, kInitTask);
  km.m.put<uint64_t>(kTaskB + 0x320, kTaskA);
  km.m.put<uint32_t>(kTaskA + 0x328, 1);       // TASK_INTERRUPTIBLE
  km.m.put<uint32_t>(kTaskB + 0x328, 0);       // running...
  km.m.put<uint32_t>(kTaskB + 0x32c, 0x20);    // ...but EXIT_ZOMBIE
  km.m.put<uint64_t>(kTaskB + 0x338, signal_b);
  km.m.put<int32_t>(signal_b + 0x10, 7);
  list = list_tasks(*k, rich);
  EXPECT_EQ(list.tasks[0].ppid, 0);
  EXPECT_EQ(list.tasks[1].ppid, 0);
  EXPECT_EQ(list.tasks[2].ppid, 1);
  EXPECT_EQ(list.tasks[1].state, 'S');
  EXPECT_EQ(list.tasks[2].state, 'Z');
  EXPECT_FALSE(list.tasks[1].threads);  // a null signal pointer reads as unknown
  EXPECT_EQ(list.tasks[2].threads, 7);
}

// The letters of fs/proc/array.c for task_state_index() of include/linux/sched.h.
TEST(TaskState, LettersAsProcShowsThem) {
  EXPECT_EQ(task_state_letter(0, 0), 'R');
  EXPECT_EQ(task_state_letter(0x1, 0), 'S');
  EXPECT_EQ(task_state_letter(0x2, 0), 'D');
  EXPECT_EQ(task_state_letter(0x4, 0), 'T');
  EXPECT_EQ(task_state_letter(0x8, 0), 't');
  EXPECT_EQ(task_state_letter(0, 0x10), 'X');
  EXPECT_EQ(task_state_letter(0, 0x20), 'Z');
  EXPECT_EQ(task_state_letter(0x40, 0), 'P');
  EXPECT_EQ(task_state_letter(0x402, 0), 'I');   // TASK_IDLE
  EXPECT_EQ(task_state_letter(0x1000, 0), 'D');  // TASK_RTLOCK_WAIT
  EXPECT_EQ(task_state_letter(0x102, 0), 'D');   // TASK_KILLABLE: TASK_WAKEKILL | TASK_UNINTERRUPTIBLE
}

TEST_F(LinuxTasks, ALoopThatMissesInitTaskStops) {
  set_next(kTaskB, kTaskA + 0x100);
  auto k = kernel();
  ASSERT_TRUE(k);
  const TaskList list = list_tasks(*k, layout);
  ASSERT_EQ(list.tasks.size(), 3u);
  EXPECT_EQ(list.tasks[2].pid, 42);
  EXPECT_TRUE(any_contains(list.warnings, "loops")) << joined(list.warnings);
}

TEST_F(LinuxTasks, APointerIntoUnmappedMemoryStops) {
  set_next(kTaskB, 0xffffc90000123100);  // vmalloc space: nothing mapped there
  auto k = kernel();
  ASSERT_TRUE(k);
  const TaskList list = list_tasks(*k, layout);
  ASSERT_EQ(list.tasks.size(), 3u);
  EXPECT_TRUE(any_contains(list.warnings, "breaks")) << joined(list.warnings);
}

TEST_F(LinuxTasks, AnUnreadableMmIsReported) {
  km.m.put<uint64_t>(kTaskB + 0x310, 0xffffc90000200000);
  auto k = kernel();
  ASSERT_TRUE(k);
  const TaskList list = list_tasks(*k, layout);
  EXPECT_EQ(list.tasks.size(), 2u);
  EXPECT_TRUE(any_contains(list.warnings, "mm_struct")) << joined(list.warnings);
}

TEST_F(LinuxTasks, TheTaskLimit) {
  auto k = kernel();
  ASSERT_TRUE(k);
  const TaskList cut = list_tasks(*k, layout, 2);
  EXPECT_EQ(cut.tasks.size(), 2u);
  EXPECT_TRUE(any_contains(cut.warnings, "stopped after 2")) << joined(cut.warnings);
  // A ring exactly as long as the limit is complete: nothing was left out.
  const TaskList exact = list_tasks(*k, layout, 3);
  EXPECT_EQ(exact.tasks.size(), 3u);
  EXPECT_TRUE(exact.warnings.empty()) << joined(exact.warnings);
}

TEST_F(LinuxTasks, WithoutInitTaskThereIsNoList) {
  KernelInputs in = km.inputs();
  auto k = LinuxKernel::discover(in);
  ASSERT_TRUE(k) << k.error();
  const TaskList list = list_tasks(**k, layout);
  EXPECT_TRUE(list.tasks.empty());
  EXPECT_TRUE(any_contains(list.warnings, "init_task")) << joined(list.warnings);
}


// ---------------------------------------------------------------------------------------
// VMAs: a maple tree built by hand as Linux 6.1 lays it out (lib/maple_tree.c), and the
// faults a corrupt image can hold.

class LinuxVmas : public LinuxTasks {
 protected:
  static constexpr uint64_t kRoot = kPageOffsetBase + 0x320000, kLeafA = kRoot + 0x100, kLeafB = kRoot + 0x200;
  static constexpr uint64_t kVma1 = kPageOffsetBase + 0x330000, kVma2 = kVma1 + 0x100, kVma3 = kVma1 + 0x200;
  static constexpr uint64_t kMax = ~uint64_t{0};
  static constexpr uint64_t enode(uint64_t node, uint64_t type) { return node | type << 3 | 4; }

  void SetUp() override {
    LinuxTasks::SetUp();
    layout.mm_mt = 0x0;
    layout.mt_root = 0x8;
    layout.mm_start_brk = 0x60;
    layout.mm_brk = 0x68;
    layout.mm_start_stack = 0x70;
    layout.vma_start = 0x0;
    layout.vma_end = 0x8;
    layout.vma_next = 0x10;
    layout.vma_flags = 0x20;
    layout.vma_pgoff = 0x28;
    layout.vma_file = 0x30;
    km.m.put<uint64_t>(kMmA + 0x60, 0x1000000);
    km.m.put<uint64_t>(kMmA + 0x68, 0x1021000);
    km.m.put<uint64_t>(kMmA + 0x70, 0x7ffd0020000);
    vma(kVma1, 0x400000, 0x401000, 0x5);
    vma(kVma2, 0x1000000, 0x1021000, 0x3);
    vma(kVma3, 0x7ffd0000000, 0x7ffd0021000, 0x3);
    // The root: maple_arange_64 (pivots at word 1, slots at word 10) over two leaves.
    km.m.put<uint64_t>(kMmA + 0x8, enode(kRoot, 3) | 2);
    node(kRoot, {0x1020fff, kMax}, {enode(kLeafA, 1), enode(kLeafB, 1)}, 10);
    // maple_leaf_64: pivots at word 1, slots at word 16; NULL slots are the gaps.
    node(kLeafA, {0x3fffff, 0x400fff, 0xffffff, 0x1020fff}, {0, kVma1, 0, kVma2}, 16);
    node(kLeafB, {0x7ffd0000000 - 1, 0x7ffd0021000 - 1, kMax}, {0, kVma3, 0}, 16);
  }
  void vma(uint64_t at, uint64_t start, uint64_t end, uint64_t flags) {
    km.m.put<uint64_t>(at + 0x0, start);
    km.m.put<uint64_t>(at + 0x8, end);
    km.m.put<uint64_t>(at + 0x20, flags);
  }
  void node(uint64_t at, std::vector<uint64_t> pivots, std::vector<uint64_t> slots, unsigned slot_word) {
    for (size_t i = 0; i < pivots.size(); ++i) km.m.put<uint64_t>(at + 8 * (1 + i), pivots[i]);
    for (size_t i = 0; i < slots.size(); ++i) km.m.put<uint64_t>(at + 8 * (slot_word + i), slots[i]);
  }
  Task task_a() {
    Task t;
    t.pid = 1;
    t.comm = "init";
    t.mm = kMmA;
    return t;
  }
};

TEST_F(LinuxVmas, MapleTreeGivesTheVmasWithMapsNames) {
  auto k = kernel();
  ASSERT_TRUE(k);
  auto list = list_vmas(*k, layout, task_a());
  ASSERT_TRUE(list) << list.error();
  EXPECT_TRUE(list->warnings.empty()) << joined(list->warnings);
  ASSERT_EQ(list->vmas.size(), 3u);
  EXPECT_EQ(list->vmas[0].start, 0x400000u);
  EXPECT_EQ(list->vmas[0].perms(), "r-xp");
  EXPECT_EQ(list->vmas[0].name, "");
  EXPECT_EQ(list->vmas[1].name, "[heap]");
  EXPECT_EQ(list->vmas[1].perms(), "rw-p");
  EXPECT_EQ(list->vmas[2].name, "[stack]");
  EXPECT_EQ(list->vmas[2].end, 0x7ffd0021000u);
  EXPECT_EQ(list->vmas[2].vma, kVma3);
}

TEST_F(LinuxVmas, ALoopAVmaOutsideMemoryAndAKernelThreadAreSaid) {
  auto k = kernel();
  ASSERT_TRUE(k);
  // The second leaf slot points back at the root: skipped once, said, no hang.
  node(kRoot, {0x1020fff, kMax}, {enode(kLeafA, 1), enode(kRoot, 3)}, 10);
  // A VMA pointer past the direct map: said, the others still listed.
  node(kLeafA, {0x3fffff, 0x400fff, 0xffffff, 0x1020fff}, {0, kPageOffsetBase + 0x7000000, 0, kVma2}, 16);
  auto list = list_vmas(*k, layout, task_a());
  ASSERT_TRUE(list) << list.error();
  ASSERT_EQ(list->vmas.size(), 1u);
  EXPECT_EQ(list->vmas[0].name, "[heap]");
  EXPECT_TRUE(any_contains(list->warnings, "reached twice")) << joined(list->warnings);
  EXPECT_TRUE(any_contains(list->warnings, "cannot be read")) << joined(list->warnings);
  // A VMA whose range is upside down is skipped.
  node(kLeafA, {0x3fffff, 0x400fff, 0xffffff, 0x1020fff}, {0, kVma1, 0, kVma2}, 16);
  vma(kVma1, 0x401000, 0x400000, 0x5);
  list = list_vmas(*k, layout, task_a());
  ASSERT_TRUE(list);
  EXPECT_TRUE(any_contains(list->warnings, "no plausible range")) << joined(list->warnings);

  Task kthread = task_a();
  kthread.mm = 0;
  EXPECT_FALSE(list_vmas(*k, layout, kthread));
  TaskLayout bare = test_task_layout();
  auto none = list_vmas(*k, bare, task_a());
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error(), ::testing::HasSubstr("mm_mt"));
}

TEST_F(LinuxVmas, AnOldKernelsListThatLoopsEnds) {
  auto k = kernel();
  ASSERT_TRUE(k);
  layout.mm_mt.reset();
  layout.mm_mmap = 0x78;
  km.m.put<uint64_t>(kMmA + 0x78, kVma1);
  km.m.put<uint64_t>(kVma1 + 0x10, kVma2);
  km.m.put<uint64_t>(kVma2 + 0x10, kVma1);  // back to the first
  auto list = list_vmas(*k, layout, task_a());
  ASSERT_TRUE(list) << list.error();
  EXPECT_EQ(list->vmas.size(), 2u);
  EXPECT_TRUE(any_contains(list->warnings, "loops")) << joined(list->warnings);
  EXPECT_EQ(list->source, "the list mm->mmap");
}

// ---------------------------------------------------------------------------------------
// Loaded modules

// Two modules laid out as 6.1 has them (core_layout, init_layout, mod_kallsyms), their code
// in the modules region, the list head a kernel variable.
class LinuxModules : public ::testing::Test {
 protected:
  static constexpr uint64_t kModulesHead = kText + 0x100000;
  static constexpr uint64_t kModA = kPageOffsetBase + 0x500000, kModB = kPageOffsetBase + 0x502000;
  static constexpr uint64_t kCode = 0xffffffffc0100000;  // the modules region (x86-64: above the image)
  KernelMachine km{kPhysBase};
  TaskLayout layout = module_layout();

  static TaskLayout module_layout() {
    TaskLayout l = test_task_layout();
    l.module_state = 0x0;
    l.module_list = 0x8;
    l.module_name = 0x18;
    l.module_core_base = 0x100;
    l.module_core_size = 0x108;
    l.module_init_base = 0x150;
    l.module_init_size = 0x158;
    l.module_kallsyms = 0x200;
    l.kallsyms_symtab = 0x0;
    l.kallsyms_num_symtab = 0x8;
    l.kallsyms_strtab = 0x10;
    l.kallsyms_typetab = 0x18;
    return l;
  }

  struct Sym {
    const char* name;
    uint64_t addr;
    char type;
    uint16_t shndx = 1;
  };

  // A module with a core area, its symbols (the null symbol first, as the kernel keeps it)
  // and its list links.
  void write_module(uint64_t mod, const char* name, uint32_t state, uint64_t core, uint32_t size, uint64_t next,
                    const std::vector<Sym>& syms) {
    km.m.put<uint32_t>(mod + 0x0, state);
    km.m.put<uint64_t>(mod + 0x8, next);
    std::array<char, 56> n{};
    std::memcpy(n.data(), name, std::strlen(name));
    km.m.write(mod + 0x18, std::as_bytes(std::span(n)));
    km.m.put<uint64_t>(mod + 0x100, core);
    km.m.put<uint32_t>(mod + 0x108, size);
    const uint64_t ks = mod + 0x400, symtab = mod + 0x500, strtab = mod + 0x1000;
    km.m.put<uint64_t>(mod + 0x200, ks);
    std::string strings(1, '\0');
    std::vector<uint8_t> table(24, 0);
    std::string types = "?";
    for (const Sym& sy : syms) {
      std::array<uint8_t, 24> e{};
      const auto at = static_cast<uint32_t>(strings.size());
      std::memcpy(e.data(), &at, 4);
      std::memcpy(e.data() + 6, &sy.shndx, 2);
      std::memcpy(e.data() + 8, &sy.addr, 8);
      table.insert(table.end(), e.begin(), e.end());
      strings += sy.name;
      strings += '\0';
      types += sy.type;
    }
    km.m.write(symtab, std::as_bytes(std::span(table)));
    km.m.write(strtab, bytes_of(strings));
    km.m.write(strtab + strings.size(), bytes_of(types));
    km.m.put<uint64_t>(ks + 0x0, symtab);
    km.m.put<uint32_t>(ks + 0x8, static_cast<uint32_t>(syms.size() + 1));
    km.m.put<uint64_t>(ks + 0x10, strtab);
    km.m.put<uint64_t>(ks + 0x18, strtab + strings.size());
  }

  void SetUp() override {
    km.m.map(kCode, 0x600000, 2 * kMiB, 2 * kMiB);
    // The newest module first, as load_module adds them.
    km.m.put<uint64_t>(kModulesHead, kModB + 0x8);
    write_module(kModB, "qemu_fw_cfg", 0, kCode + 0x10000, 0x5000, kModA + 0x8,
                 {{"fw_cfg_showrev", kCode + 0x10020, 't'},
                  {"fw_cfg_sysfs_attr_show", kCode + 0x10000, 't'},
                  {"fw_cfg_undefined", 0, 'U', 0},  // SHN_UNDEF: never a name
                  {"$x", kCode + 0x10040, 't'},     // a mapping symbol: listed, never a name
                  {".LC5", kCode + 0x14000, 'r'},   // a local label, the same
                  {".LC6", kCode + 0x14010, 'r'},
                  {"__this_module", kCode + 0x14000, 'd'},
                  {"alias_b", kCode + 0x14000, 'd'}});
    write_module(kModA, "crc32c_generic", 1, kCode + 0x20000, 0x2000, kModulesHead, {{"crc32c_cra_init", kCode + 0x20100, 't'}});
  }

  std::unique_ptr<LinuxKernel> kernel() {
    KernelInputs in = km.inputs();
    in.symbol_text = fmt::format("{:016x} T _text\n{:016x} D modules\n{:016x} B _end\n", kText, kModulesHead, kText + 0x2000000);
    in.symbol_text_name = "kallsyms";
    auto k = LinuxKernel::discover(in);
    EXPECT_TRUE(k) << k.error();
    if (k) (*k)->set_type_loader([this](LinuxKernel&) -> tl::expected<TaskLayout, std::string> { return layout; });
    return k ? std::move(*k) : nullptr;
  }
};

TEST_F(LinuxModules, ListedAsProcModulesShowsThem) {
  auto k = kernel();
  ASSERT_TRUE(k);
  auto list = list_modules(*k, layout);
  ASSERT_TRUE(list) << list.error();
  EXPECT_TRUE(list->warnings.empty()) << joined(list->warnings);
  ASSERT_EQ(list->modules.size(), 2u);
  const KernelModule& b = list->modules[0];
  EXPECT_EQ(b.name, "qemu_fw_cfg");
  EXPECT_EQ(b.module, kModB);
  EXPECT_EQ(b.state, "Live");
  EXPECT_EQ(b.base, kCode + 0x10000);
  EXPECT_EQ(b.size, 0x5000u);
  ASSERT_EQ(b.areas.size(), 1u);  // init_layout is empty once the module's init ran
  EXPECT_EQ(b.areas[0].kind, "core");
  // Defined, named symbols by address (labels too, as /proc/kallsyms lists them); no
  // undefined symbol.
  ASSERT_EQ(b.symbols.size(), 7u);
  EXPECT_EQ(b.symbols[0].name, "fw_cfg_sysfs_attr_show");
  EXPECT_EQ(b.symbols[1].name, "fw_cfg_showrev");
  EXPECT_EQ(b.symbols[1].type, 't');
  EXPECT_EQ(b.symbols[2].name, "$x");
  EXPECT_TRUE(b.symbols[2].label);
  EXPECT_EQ(b.symbols[3].name, ".LC5");
  EXPECT_EQ(b.symbols[4].type, 'd');
  EXPECT_EQ(list->modules[1].name, "crc32c_generic");
  EXPECT_EQ(list->modules[1].state, "Loading");

  auto at = list->at(kCode + 0x10024);
  ASSERT_TRUE(at);
  EXPECT_EQ(describe(*at), "fw_cfg_showrev+0x4 [qemu_fw_cfg]");
  EXPECT_EQ(describe(*list->at(kCode + 0x10000)), "fw_cfg_sysfs_attr_show [qemu_fw_cfg]");
  EXPECT_EQ(describe(*list->at(kCode + 0x14008)), "__this_module+0x8 [qemu_fw_cfg]");  // aliases: the first by name
  EXPECT_EQ(describe(*list->at(kCode + 0x14018)), "__this_module+0x18 [qemu_fw_cfg]");  // labels are no names
  EXPECT_EQ(describe(*list->at(kCode + 0x10044)), "fw_cfg_showrev+0x24 [qemu_fw_cfg]");
  EXPECT_EQ(describe(*list->at(kCode + 0x20010)), "[crc32c_generic]+0x10");           // before its first symbol
  EXPECT_FALSE(list->at(kCode + 0x15000));                                            // past the core area
  EXPECT_EQ(list->find("crc32c_cra_init"), kCode + 0x20100);
  EXPECT_EQ(list->find("qemu_fw_cfg:alias_b"), kCode + 0x14000);
  EXPECT_FALSE(list->find("crc32c_generic:alias_b"));
  EXPECT_FALSE(list->find("fw_cfg_undefined"));
}

// The kernel reads its modules when an address in the modules region needs a name, and a
// module's symbol is an address wherever one is asked for.
TEST_F(LinuxModules, TheKernelNamesAndResolvesModuleAddresses) {
  auto k = kernel();
  ASSERT_TRUE(k);
  EXPECT_EQ(k->name_of(kCode + 0x10021), "fw_cfg_showrev+0x1 [qemu_fw_cfg]");
  EXPECT_EQ(k->name_of(kModulesHead + 8), "modules+0x8");
  EXPECT_FALSE(k->name_of(kPageOffsetBase + 0x500000));  // the direct map is nobody's symbol
  EXPECT_FALSE(k->name_of(kCode + 0x40000));
  EXPECT_EQ(k->resolve("qemu_fw_cfg:fw_cfg_showrev+0x10"), kCode + 0x10030);
  EXPECT_EQ(k->resolve("crc32c_cra_init-0x100"), kCode + 0x20000);
  EXPECT_EQ(k->resolve("modules"), kModulesHead);
  auto none = k->resolve("no_such_symbol");
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error(), ::testing::HasSubstr("no_such_symbol"));
}

// 6.4+: mem[] of struct module_memory, one per enum mod_mem_type; /proc/modules shows
// mem[MOD_TEXT].base and the sum of the sizes.
TEST_F(LinuxModules, TheMemoryArrayOfNewerKernels) {
  auto k = kernel();
  ASSERT_TRUE(k);
  TaskLayout l = layout;
  l.module_core_base.reset();
  l.module_core_size.reset();
  l.module_mem = 0x100;
  l.module_memory_base = 0x0;
  l.module_memory_size = 0x8;
  l.module_memory_stride = 0x50;
  l.module_mem_names = {"TEXT", "DATA", "RODATA"};
  km.m.put<uint64_t>(kModB + 0x100 + 0x50, kCode + 0x30000);  // DATA
  km.m.put<uint32_t>(kModB + 0x100 + 0x58, 0x1000);
  km.m.put<uint64_t>(kModB + 0x100 + 0xa0, 0);  // RODATA: none
  km.m.put<uint32_t>(kModB + 0x100 + 0xa8, 0);
  auto list = list_modules(*k, l);
  ASSERT_TRUE(list) << list.error();
  const KernelModule& b = list->modules[0];
  ASSERT_EQ(b.areas.size(), 2u);
  EXPECT_EQ(b.areas[0].kind, "TEXT");
  EXPECT_EQ(b.areas[1].kind, "DATA");
  EXPECT_EQ(b.base, kCode + 0x10000);
  EXPECT_EQ(b.size, 0x6000u);
  EXPECT_EQ(describe(*list->at(kCode + 0x30010)), "[qemu_fw_cfg]+0x10");  // no symbol in the DATA area
}

TEST_F(LinuxModules, ALoopABadModuleAndMissingTypesAreSaid) {
  auto k = kernel();
  ASSERT_TRUE(k);
  km.m.put<uint64_t>(kModA + 0x8, kModB + 0x8);  // back to the first
  auto list = list_modules(*k, layout);
  ASSERT_TRUE(list) << list.error();
  EXPECT_EQ(list->modules.size(), 2u);
  EXPECT_TRUE(any_contains(list->warnings, "loops")) << joined(list->warnings);

  km.m.put<uint64_t>(kModA + 0x8, 0xffff888000000000 + 0x10000000);  // outside memory
  list = list_modules(*k, layout);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->modules.size(), 2u);
  EXPECT_TRUE(any_contains(list->warnings, "does not read")) << joined(list->warnings);

  km.m.put<uint64_t>(kModA + 0x8, kModulesHead);
  km.m.put<uint32_t>(kModA + 0x408, 0x7fffffff);  // num_symtab
  km.m.put<uint32_t>(kModB + 0x108, 0xffffffff);  // a 4 GiB core area
  list = list_modules(*k, layout);
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->modules.empty());
  EXPECT_TRUE(any_contains(list->warnings, "not plausible")) << joined(list->warnings);
  km.m.put<uint32_t>(kModB + 0x108, 0x5000);
  list = list_modules(*k, layout);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->modules.size(), 2u);
  EXPECT_TRUE(list->modules[1].symbols.empty());
  EXPECT_TRUE(any_contains(list->warnings, "symbols is not plausible")) << joined(list->warnings);

  TaskLayout bare = test_task_layout();
  auto none = list_modules(*k, bare);
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error(), ::testing::HasSubstr("struct module"));
}

}  // namespace
}  // namespace pagewalk::linux_kernel
