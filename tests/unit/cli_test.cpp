// The pagewalk binary end to end on files the test writes: outputs, exit statuses, and
// one-line errors for bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/output_format.hpp"

#include "../support/run_pagewalk.hpp"
#include "../support/elf_core_writer.hpp"
#include "cli/demo.hpp"
#include "cli/io.hpp"
#include "cli/numbers.hpp"
#include "cli/render.hpp"

namespace pagewalk {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using Result = testing::CliResult;

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/pagewalk-cli-XXXXXX";
    dir_ = mkdtemp(tmpl);
    // The demo machine, plus a root entry that points at a table the image lacks and one
    // that points back at the root itself, dumped as a QEMU-style ELF core.
    auto m = cli::build_demo_machine();
    m->memory.write_u64(PhysAddr(0x68c8000 + 0x20 * 8), 0x7f000000 | 0x67);
    m->memory.write_u64(PhysAddr(0x68c8000 + 0x21 * 8), 0x68c8000 | 0x67);
    testing::CoreSpec spec;
    spec.cpus = {{0x80050033, 0x68c8000, 0x3006f0, 0, 0}};
    for (const PhysRange& r : m->memory.ranges()) {
      spec.loads.push_back({r.start.value(), r.size, [&m](uint64_t pa, std::vector<uint8_t>& b) {
                              (void)m->memory.read(PhysAddr(pa), {reinterpret_cast<std::byte*>(b.data()), b.size()});
                            }});
    }
    testing::write_file(dir_ + "/demo.elf", testing::build_core(spec));
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  static Result run(const std::string& args, const std::string& input = "") {
    return testing::run_pagewalk(args, input);
  }
  static std::string image() { return " --image " + dir_ + "/demo.elf"; }
  static inline std::string dir_;
};

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

// Every digit value in every position, against printf.
TEST(CliHex, EveryDigitInEveryPosition) {
  std::vector<uint64_t> values = {0, 1, 9, 0xa, 0xf, 0x10, ~uint64_t{0}, uint64_t{1} << 63, 0x80000001422c5867};
  for (unsigned pos = 0; pos < 16; ++pos)
    for (uint64_t d = 0; d < 16; ++d) values.push_back((d << (4 * pos)) | (uint64_t{0x5} << (4 * ((pos + 7) % 16))));
  for (uint64_t v : values) {
    char want[32];
    std::snprintf(want, sizeof want, "0x%llx", static_cast<unsigned long long>(v));
    EXPECT_EQ(pagewalk::cli::hex(v), want);
    std::snprintf(want, sizeof want, "0x%016llx", static_cast<unsigned long long>(v));
    std::string padded = "x";
    pagewalk::cli::append_hex16(padded, v);
    EXPECT_EQ(padded, std::string("x") + want);
  }
}

TEST(CliSizes, LargestUnitWithOneDecimalWhereNeeded) {
  const std::vector<std::pair<uint64_t, std::string>> cases = {
      {0, "0B"},           {512, "512B"},          {4096, "4K"},          {1536, "1.5K"},
      {2u << 20, "2M"},    {11010048, "10.5M"},    {706232 * 1024ull, "689.7M"},
      {1ull << 30, "1G"},  {~0ull, "16.0E"},       {0xffff000000000000ull, "16.0E"},
      {(1ull << 40) - 1, "1024.0G"},  // rounds up within the unit it reached
  };
  for (const auto& [bytes, want] : cases) EXPECT_EQ(human_size(bytes), want) << bytes;
  std::string padded;
  append_size(padded, 1536, 6);
  EXPECT_EQ(padded, "  1.5K");
}

// Any bytes make a valid JSON string; UTF-8 stays as it is, anything else is U+FFFD.
TEST(CliJson, AnyBytesMakeAValidString) {
  const std::string rep = "\xEF\xBF\xBD";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"plain", "plain"},
      {"a\"b\\c\n\t\x01", "a\"b\\c\n\t\x01"},
      {"caf\xC3\xA9", "caf\xC3\xA9"},
      {"\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"},        // U+10FFFF
      {"\xFF", rep},                                        // never in UTF-8
      {"\xC0\xAF", rep + rep},                             // overlong '/'
      {"\xED\xA0\x80", rep + rep + rep},                   // a surrogate
      {"\xF4\x90\x80\x80", rep + rep + rep + rep},         // above U+10FFFF
      {"ok\xC3", "ok" + rep},                               // cut short
  };
  for (const auto& [in, want] : cases) {
    std::string out;
    cli::append_json_string(out, in);
    const auto parsed = nlohmann::json::parse(out, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << out;
    EXPECT_EQ(parsed.get<std::string>(), want) << out;
  }
  // Every one- and two-byte string.
  for (unsigned a = 0; a < 256; ++a)
    for (unsigned b = 0; b < 256; ++b) {
      std::string out;
      cli::append_json_string(out, std::string{static_cast<char>(a), static_cast<char>(b)});
      ASSERT_FALSE(nlohmann::json::parse(out, nullptr, false).is_discarded()) << a << " " << b;
    }
}

TEST_F(Cli, DemoRuns) {
  const Result r = run("demo");
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("0x5614df8812a0 -> 0x65652a0"));
  EXPECT_THAT(r.out, HasSubstr("\"Hello mm paging!\""));
  EXPECT_THAT(r.out, HasSubstr("0x5651b590c2a0 -> 0x1422c52a0"));
  const Result j = run("demo --json");
  EXPECT_EQ(j.code, 0);
  EXPECT_TRUE(nlohmann::json::accept(j.out));
}

TEST_F(Cli, ModesGivesTheKernelsNumbers) {
  const Result r = run("modes --mode x86-64-4level --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["command"], "modes");
  EXPECT_EQ(doc["schema_version"], 3);
  ASSERT_EQ(doc["modes"].size(), 1u);
  const auto& j = doc["modes"][0];
  EXPECT_EQ(j["PGDIR_SHIFT"], 39);
  EXPECT_EQ(j["P4D_SHIFT"], 39);
  EXPECT_EQ(j["PUD_SHIFT"], 30);
  EXPECT_EQ(j["PMD_SHIFT"], 21);
  EXPECT_EQ(j["PAGE_SHIFT"], 12);
  EXPECT_EQ(j["PTRS_PER_P4D"], 1);
  EXPECT_EQ(j["PTRS_PER_PGD"], 512);
  EXPECT_EQ(j["PAGE_MASK"], "0xfffffffffffff000");
  EXPECT_EQ(j["PTE_PFN_MASK"], "0xffffffffff000");
  const Result h = run("modes --mode x86-64-4level");
  EXPECT_THAT(h.out, HasSubstr("P4D_SHIFT"));
  EXPECT_THAT(h.out, HasSubstr("0xfffffffffffff000"));
  // The kernel's own masks on 32-bit: under PAE the signed PAGE_MASK reaches bit 51
  // (__PHYSICAL_MASK_SHIFT 52 since the L1TF fix of 2018, page_32_types.h), without PAE the
  // entry is 32 bits.
  const auto pae = nlohmann::json::parse(run("modes --mode x86-pae --json").out)["modes"][0];
  EXPECT_EQ(pae["PAGE_MASK"], "0xfffff000");
  EXPECT_EQ(pae["PTE_PFN_MASK"], "0xffffffffff000");
  EXPECT_EQ(pae["__PHYSICAL_MASK_SHIFT"], 52);
  const auto two = nlohmann::json::parse(run("modes --mode x86-32 --json").out)["modes"][0];
  EXPECT_EQ(two["PTE_PFN_MASK"], "0xfffff000");
}

TEST_F(Cli, DecodeSplitsTheArticleAddress) {
  const Result r = run("decode 0x5614df8812a0 --json");
  ASSERT_EQ(r.code, 0);
  const auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["results"].size(), 1u);
  const auto& j = doc["results"][0];
  EXPECT_EQ(j["levels"][0]["index"], 0xac);
  EXPECT_EQ(j["levels"][1]["index"], 0x53);
  EXPECT_EQ(j["levels"][2]["index"], 0xfc);
  EXPECT_EQ(j["levels"][3]["index"], 0x81);
  EXPECT_EQ(j["offset"], "0x2a0");
  EXPECT_EQ(j["folded"][0], "p4d");
}

TEST_F(Cli, EntryDecodesTheArticleValues) {
  auto j = nlohmann::json::parse(run("entry 0x80000001422c5867 --json").out);
  EXPECT_EQ(j["pa"], "0x1422c5000");
  EXPECT_EQ(j["pfn"], "0x1422c5");
  EXPECT_THAT(j["flags"].get<std::vector<std::string>>(), ::testing::Contains("NX"));
  j = nlohmann::json::parse(run("entry 0x80000001d83cd163 --level pte --json").out);
  EXPECT_EQ(j["pa"], "0x1d83cd000");
  EXPECT_THAT(j["flags"].get<std::vector<std::string>>(), ::testing::Contains("G"));
  j = nlohmann::json::parse(run("entry 0x07ffffffffdb9602 --json").out);
  EXPECT_EQ(j["kind"], "swap");
  EXPECT_EQ(j["swap"]["offset"], "0x1234");
  // Level names in either case; a reserved-bit verdict names the bits.
  Result r = run("entry --level pml4 0x81");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("reserved bit 7 set"));
  r = run("entry --level PMD --pa-bits 40 0x00ff0000123450e7");
  EXPECT_THAT(r.out, HasSubstr("reserved bits 51..48, 20, 18, 14 set"));
}

TEST(CoreEntry, BitListJoinsRuns) {
  EXPECT_EQ(bit_list(0), "");
  EXPECT_EQ(bit_list(1), "0");
  EXPECT_EQ(bit_list(uint64_t{1} << 63), "63");
  EXPECT_EQ(bit_list(~uint64_t{0}), "63..0");
  EXPECT_EQ(bit_list(0x000fc00000000080), "51..46, 7");
  EXPECT_EQ(bit_list(0x8000000000000005), "63, 2, 0");
}

TEST_F(Cli, TranslateAnImage) {
  const Result r = run("translate 0x5614df8812a0 --jsonl" + image());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "mapped");
  EXPECT_EQ(j["pa"], "0x65652a0");
  EXPECT_EQ(j["page_size"], 4096);
  ASSERT_EQ(j["steps"].size(), 4u);
  EXPECT_EQ(j["steps"][0]["level"], "pgd");
  EXPECT_EQ(j["steps"][0]["index"], 172);
  EXPECT_EQ(j["steps"][3]["raw"], "0x8000000006565067");
  const Result h = run("vtop 0x5614df8812a0" + image());
  EXPECT_THAT(h.out, HasSubstr("0x5614df8812a0 -> 0x65652a0"));
  EXPECT_THAT(h.out, HasSubstr("PML4"));
}

TEST_F(Cli, BatchGoesOnPastBadAddresses) {
  // A table outside the image, a good address, a malformed number, a non-canonical one.
  const Result r =
      run("translate - --jsonl" + image(), "0x100000000000\n0x5614df8812a0\n0xzz\n0x0000800000000000\n");
  EXPECT_EQ(r.code, 2);  // bad input seen
  std::istringstream lines(r.out);
  std::string line;
  std::vector<nlohmann::json> out;
  while (std::getline(lines, line)) out.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0]["status"], "unreadable");
  EXPECT_EQ(out[0]["unreadable_pa"], "0x7f000000");
  EXPECT_EQ(out[1]["pa"], "0x65652a0");
  EXPECT_EQ(out[2]["status"], "non-canonical");
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("0xzz"));
  EXPECT_THAT(out[0]["reason"].get<std::string>(), HasSubstr("cannot be read: not in the image"));
  // Without the bad input, unmapped and non-canonical addresses are answers: status 1.
  EXPECT_EQ(run("translate - --brief" + image(), "0x100000000000\n0x5614df8812a0\n0x800000000000\n").code, 1);
  // A malformed address on the command line ends the command before anything is printed.
  const Result early = run("translate --json 0x5614df8812a0 0xzz" + image());
  EXPECT_EQ(early.code, 2);
  EXPECT_EQ(early.out, "");
  EXPECT_TRUE(one_line(early.err)) << early.err;
}

// read: the article's string at its VA and at its PA, pages that do not read reported in
// place with the rest still read, and the raw bytes with zeros where nothing could be read.
TEST_F(Cli, ReadGivesTheStringAndEveryPageItCan) {
  Result r = run("read --string 5614df8812a0" + image());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "0x5614df8812a0: \"Hello mm paging!\\n\"\n");
  r = run("x --phys 65652a0 -n 17" + image());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0x00000000065652a0  48 65 6c 6c 6f 20 6d 6d  20 70 61 67 69 6e 67 21  |Hello mm paging!|"));
  EXPECT_THAT(r.out, HasSubstr("0x00000000065652b0  0a "));

  // From the heap page into the swapped page and the PROT_NONE one: the first is read,
  // the other two are one unreadable run each, and the status says not everything read.
  r = run("read --json 5614df881ff0 -n 0x1020" + image());
  ASSERT_EQ(r.code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["space"], "virtual");
  EXPECT_EQ(j["size"], 0x1020);
  ASSERT_EQ(j["pieces"].size(), 3u) << r.out;
  EXPECT_EQ(j["pieces"][0]["status"], "read");
  EXPECT_EQ(j["pieces"][0]["pa"], "0x6565ff0");
  EXPECT_EQ(j["pieces"][0]["bytes"].get<std::string>().size(), 32u);
  EXPECT_EQ(j["pieces"][1]["start"], "0x5614df882000");
  EXPECT_EQ(j["pieces"][1]["end"], "0x5614df883000");
  EXPECT_EQ(j["pieces"][1]["status"], "unreadable");
  EXPECT_EQ(j["pieces"][1]["reason"], "swapped out (swap type 0, offset 0x1234)");
  EXPECT_EQ(j["pieces"][2]["end"], "0x5614df883010");
  EXPECT_THAT(j["pieces"][2]["reason"].get<std::string>(), HasSubstr("PROT_NONE"));

  r = run("read --jsonl 5614df881ff0 -n 0x20" + image());  // one line per piece, across a page
  ASSERT_EQ(r.code, 1) << r.err;
  std::istringstream piece_lines(r.out);
  std::vector<nlohmann::json> pieces;
  for (std::string l; std::getline(piece_lines, l);) pieces.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[1]["start"], "0x5614df882000");
  EXPECT_EQ(pieces[1]["status"], "unreadable");
  EXPECT_EQ(pieces[1]["command"], "read");

  r = run("rd 5614df881ff8 -n 0x18" + image());
  ASSERT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("# 0x5614df881ff8 is at PA 0x6565ff8"));
  EXPECT_THAT(r.out, HasSubstr("0x00005614df882000  (16 bytes to 0x5614df882010: swap"));

  r = run("read --words 8 -n 16 5614df8812a0" + image());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0x00005614df8812a0  0x6d6d206f6c6c6548 0x21676e6967617020"));

  const std::string raw = dir_ + "/heap.bin";
  std::filesystem::remove(raw);
  r = run("read 5614df881ff0 -n 0x20 --raw " + raw + image());
  ASSERT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("written as zeros"));
  std::ifstream in(raw, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(bytes.size(), 0x20u);
  EXPECT_EQ(bytes.substr(0x10), std::string(0x10, '\0'));
  // The file is never overwritten.
  r = run("read 5614df8812a0 --raw " + raw + image());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("exists"));
}

// search on an image with no Linux in it: the PAs alone, and why there are no VAs.
TEST_F(Cli, SearchFindsTheStringsPhysicalAddress) {
  Result r = run("search 'Hello mm paging!\\n'" + image());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("PA 0x65652a0 (PFN 0x6565)"));
  EXPECT_THAT(r.out, HasSubstr("1 hit(s)"));
  EXPECT_THAT(r.out, HasSubstr("# no VAs: "));
  r = run("search --json --hex '48 65 6c 6c 6f 20 6d 6d'" + image());
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["hits"].size(), 1u);
  EXPECT_EQ(j["hits"][0]["pa"], "0x65652a0");
  EXPECT_EQ(j["pattern"]["size"], 8);
  r = run("search --jsonl --no-vas --u64 8000000006565067" + image());  // the article's PTE, in its table
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["pa"], "0x5bb3408");  // PTE table 0x5bb3000, index 0x81
  EXPECT_EQ(run("search 'not in this machine'" + image()).code, 1);
  for (const char* bad : {"search", "search a --hex 61", "search --hex 6", "search --hex zz", "search 'a\\q'",
                          "search --u32 100000000", "search --u64 init_task", "search a --pid 1 --no-vas"}) {
    r = run(std::string(bad) + image());
    EXPECT_EQ(r.code, 2) << bad << ": " << r.err;
    EXPECT_TRUE(one_line(r.err)) << bad << ": " << r.err;
  }
}

TEST_F(Cli, ReadRefusesWhatCannotBeRead) {
  for (const char* args : {"read", "read 0 -n 0", "read ffffffffffffffff -n 2", "read 1000 --words 3",
                           "read 1000 --words 8 --string", "read 1000 --raw x --json", "read --phys 1000 --pid self",
                           "read init_task", "read 1000 --words 8 -n 12", "read 1000 --output tsv"}) {
    const Result r = run(std::string(args) + (std::string(args).find("--pid") == std::string::npos ? image() : ""));
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    EXPECT_TRUE(one_line(r.err)) << args << ": " << r.err;
  }
  // The top byte of the space is the last one a read may reach.
  EXPECT_EQ(run("read ffffffffffffffff -n 1" + image()).code, 1);
}

// Ranges are [start, end): contiguous with --holes, and the last ends at 2^64 in full.
TEST_F(Cli, MapRangesTileTheSpaceAndNeverWrap) {
  const Result r = run("map --holes --jsonl" + image());
  ASSERT_LT(r.code, 2) << r.err;
  std::istringstream lines(r.out);
  std::string line, last_end;
  unsigned n = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("start")) continue;
    if (!last_end.empty() && j["kind"] != "non-canonical") {
      EXPECT_EQ(j["start"], last_end) << line;
    }
    last_end = j["end"];
    ++n;
  }
  EXPECT_GT(n, 5u);
  EXPECT_EQ(last_end, "0x10000000000000000");
}

// --no-header leaves the data lines exactly as they are and nothing else.
TEST_F(Cli, NoHeaderKeepsOnlyTheDataLines) {
  for (const std::string& cmd : {"map" + image(), "translate --brief 0x5614df8812a0 0x1000" + image()}) {
    const Result full = run(cmd), bare = run(cmd + " --no-header");
    ASSERT_EQ(full.code, bare.code) << cmd;
    std::istringstream lines(full.out);
    std::string data;
    bool first = true;
    for (std::string line; std::getline(lines, line);) {
      const bool column_header = first && line.rfind("VA", 0) == 0;
      first = false;
      if (line.rfind("#", 0) == 0 || column_header || line.rfind("VA ", 0) == 0) continue;
      data += line + "\n";
    }
    EXPECT_EQ(bare.out, data) << cmd;
    EXPECT_THAT(bare.out, Not(HasSubstr("#"))) << cmd;
    EXPECT_FALSE(bare.out.empty()) << cmd;
  }
}

// One document: the rows of the stream, and a report whose counts agree with them.
TEST_F(Cli, MapDocumentHoldsTheRowsAndAReport) {
  const Result doc = run("map --json" + image()), lines = run("map --jsonl" + image());
  ASSERT_EQ(doc.code, lines.code) << doc.err;
  const auto j = nlohmann::json::parse(doc.out);
  EXPECT_EQ(j["target"]["kind"], "image");
  EXPECT_EQ(j["root"], "0x68c8000");
  std::istringstream in(lines.out);
  size_t n = 0;
  uint64_t mapped = 0;
  for (std::string line; std::getline(in, line); ++n) {
    auto row = nlohmann::json::parse(line);
    ASSERT_LT(n, j["ranges"].size());
    EXPECT_EQ(row["start"], j["ranges"][n]["start"]);
    if (row["kind"] == "mapped")
      mapped += std::stoull(row["end"].get<std::string>(), nullptr, 16) - std::stoull(row["start"].get<std::string>(), nullptr, 16);
  }
  EXPECT_EQ(n, j["ranges"].size());
  EXPECT_EQ(j["report"]["rows"], n);
  EXPECT_EQ(j["report"]["mapped_bytes"], mapped);
  // Merged by attributes, a row says how many physical runs it spans.
  const auto merged = nlohmann::json::parse(run("map --json --by-attributes" + image()).out);
  uint64_t runs = 0;
  for (const auto& r : merged["ranges"])
    if (r["kind"] == "mapped") runs += r["pa_runs"].get<uint64_t>();
  EXPECT_EQ(runs, j["report"]["rows"].get<uint64_t>() - (j["report"]["loops"].get<uint64_t>()));
}

// --output tsv|csv: one row per JSON line, columns named as the JSON members, same values.
TEST_F(Cli, TablesCarryTheJsonMembers) {
  auto split = [](const std::string& line, char sep) {
    std::vector<std::string> f(1);
    for (char c : line) {
      if (c == sep) f.emplace_back();
      else f.back() += c;
    }
    return f;
  };
  auto as_text = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  for (const auto& [cmd, sep] : {std::pair{"map --holes" + image(), '\t'},
                                 std::pair{"translate 0x5614df8812a0 0x1000 0xffff800000000000" + image(), ','}}) {
    const Result lines = run(cmd + " --jsonl"), table = run(cmd + (sep == ',' ? " --output csv" : " --output tsv"));
    ASSERT_EQ(lines.code, table.code) << table.err;
    std::istringstream jl(lines.out), tl(table.out);
    std::string header;
    std::getline(tl, header);
    const auto names = split(header, sep);
    size_t rows = 0;
    for (std::string jline, tline; std::getline(jl, jline) && std::getline(tl, tline); ++rows) {
      const auto j = nlohmann::json::parse(jline);
      const auto cells = split(tline, sep);
      ASSERT_EQ(cells.size(), names.size()) << tline;
      for (size_t i = 0; i < names.size(); ++i) {
        const std::string& n = names[i];
        if (n == "access_kernel" || n == "access_user") {
          const std::string who = n.substr(7);
          EXPECT_EQ(cells[i], j.contains("access") ? as_text(j["access"][who]) : "") << n << " " << jline;
        } else if (n == "flags") {
          std::string joined;
          for (const auto& f : j.value("flags", nlohmann::json::array())) joined += (joined.empty() ? "" : " ") + f.get<std::string>();
          EXPECT_EQ(cells[i], joined);
        } else if (n == "reason" && sep == ',') {
          continue;  // quoted when it holds a comma
        } else {
          EXPECT_EQ(cells[i], j.contains(n) ? as_text(j[n]) : "") << n << " " << jline;
        }
      }
    }
    EXPECT_GT(rows, 2u) << cmd;
    const Result bare = run(cmd + (sep == ',' ? " --output csv" : " --output tsv") + " --no-header");
    EXPECT_EQ(header + "\n" + bare.out, table.out);
  }
}

// A path is a string like any other: quotes, backslashes and bytes that are not UTF-8 in
// the image's name leave every document valid.
TEST_F(Cli, ATargetsNameIsEscaped) {
  const std::string odd = dir_ + "/a\"b\\c\xff.elf";
  std::filesystem::copy_file(dir_ + "/demo.elf", odd, std::filesystem::copy_options::overwrite_existing);
  const std::string quoted = " --image '" + odd + "'";
  for (const std::string& cmd : {"translate --json 0x5614df8812a0" + quoted, "map --json" + quoted, "info --json" + quoted}) {
    const Result r = run(cmd);
    ASSERT_LT(r.code, 2) << cmd << ": " << r.err;
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << cmd << ": " << r.out.substr(0, 300);
    EXPECT_EQ(j["target"]["name"], dir_ + "/a\"b\\c\xef\xbf\xbd.elf") << cmd;
  }
  std::filesystem::remove(odd);
}

TEST(DelimitedWriter, QuotesAndEscapesAsTheFormatsSay) {
  std::string csv, tsv;
  cli::DelimitedWriter c(csv, cli::Table::Csv), t(tsv, cli::Table::Tsv);
  for (cli::DelimitedWriter* w : {&c, &t}) {
    w->str("plain").str("a,\"b\"").str("tab\there\nnext\\").hex(0x1f).num(42).empty();
    w->end();
  }
  EXPECT_EQ(csv, "plain,\"a,\"\"b\"\"\",\"tab\there\nnext\\\",0x1f,42,\n");
  EXPECT_EQ(tsv, "plain\ta,\"b\"\ttab\\there\\nnext\\\\\t0x1f\t42\t\n");
}

TEST_F(Cli, MapEndsOnALoopAndSaysSo) {
  const Result r = run("map --jsonl" + image());
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("points back at table 0x68c8000"));
  EXPECT_THAT(r.out, HasSubstr("\"pa\":\"0x6565000\""));
  const Result pages = run("map --pages --jsonl" + image());
  size_t rows = 0;
  std::istringstream lines(pages.out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j["kind"] == "mapped") ++rows;
  }
  EXPECT_EQ(rows, 7u);  // 4K heap, 2M THP, four 1G direct-map pages, 2M kernel text
}

// Addresses are hex with or without 0x (as /proc/PID/maps and `info tlb` print them);
// 0n marks decimal. Counts are decimal.
TEST_F(Cli, AddressesAreHexAndCountsDecimal) {
  const Result with = run("translate --brief --json 0x5614df8812a0" + image());
  const Result bare = run("translate --brief --json 5614df8812a0" + image());
  const Result dec = run("translate --brief --json 0n94647649571488" + image());
  ASSERT_EQ(with.code, bare.code) << bare.err;
  EXPECT_THAT(with.out, HasSubstr(R"("va":"0x5614df8812a0")"));
  EXPECT_EQ(with.out, bare.out);
  EXPECT_EQ(with.out, dec.out);
  // --base takes one value: the address after it is still the VA.
  const Result based = run("translate --brief --json --base phys_base=0 5614df8812a0" + image());
  EXPECT_EQ(based.out, with.out) << based.err;
  // On stdin too, mixed.
  const Result batch = run("translate --jsonl -" + image(), "5614df8812a0\n0x5614df8812a0\n0n94647649571488\n");
  size_t n = 0;
  for (size_t at = 0; (at = batch.out.find(R"("va":"0x5614df8812a0")", at)) != std::string::npos; ++at) ++n;
  EXPECT_EQ(n, 3u) << batch.out << batch.err;
  // A decimal-looking number that is not hex is refused with the rule, not read as decimal.
  Result r = run("decode 0n12a");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("is not a decimal number"));
  r = run("decode 4198400z");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("addresses are hex; 0n marks decimal"));
}

// Every command's help ends with examples, and every example parses: it may fail on the
// missing dump.elf, never as bad usage.
TEST_F(Cli, EveryHelpEndsWithExamplesThatParse) {
  const Result top = run("--help");
  ASSERT_EQ(top.code, 0);
  std::vector<std::string> commands;
  std::istringstream in(top.out.substr(top.out.find("Subcommands:")));
  for (std::string line; std::getline(in, line);)
    if (line.size() > 2 && line[0] == ' ' && line[2] != ' ') commands.push_back(line.substr(2, line.find_first_of(", ", 2) - 2));
  ASSERT_GE(commands.size(), 10u) << top.out;
  for (const std::string& cmd : commands) {
    const Result help = run("help " + cmd);
    ASSERT_EQ(help.code, 0) << cmd;
    const size_t at = help.out.find("\nExamples:\n");
    ASSERT_NE(at, std::string::npos) << cmd;
    std::istringstream ex(help.out.substr(at + 11));
    unsigned n = 0;
    for (std::string line; std::getline(ex, line);) {
      if (line.empty()) continue;
      ASSERT_TRUE(line.rfind("  pagewalk " + cmd + " ", 0) == 0 || line == "  pagewalk " + cmd) << line;
      ++n;
      if (line.find('<') != std::string::npos) continue;  // needs the shell
      const std::string quick = line.find("--qemu ") != std::string::npos ? " --qemu-timeout 200" : "";
      const Result r = run(line.substr(11) + quick);
      EXPECT_NE(r.code, 2) << line << ": " << r.err;
    }
    EXPECT_GE(n, 2u) << cmd;
  }
}

TEST_F(Cli, BadInputGivesOneLineAndStatus) {
  Result r = run("translate 0x12 --image " + dir_ + "/missing.elf");
  EXPECT_EQ(r.code, 3);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  std::ofstream(dir_ + "/notes.txt") << "not a memory image\n";
  r = run("translate 0x12 --image " + dir_ + "/notes.txt");
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, HasSubstr("unrecognised image format"));
  r = run("decode 12xyz");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  r = run("decode 0x0000800000000000");  // an answer, as in translate
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("in no region of x86-64-4level (lower half 0x0-0x7fffffffffff, upper half"));
  r = run("entry 0x1 --level PML9");
  EXPECT_EQ(r.code, 2);
  r = run("translate 0x1 --mode x86-64-9level" + image());
  EXPECT_EQ(r.code, 2);
  r = run("translate 0x1 --cpu 7" + image());
  EXPECT_EQ(r.code, 2);
  r = run("frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
}

TEST_F(Cli, InfoShowsRegistersAndRanges) {
  const Result r = run("info --json" + image());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["target"]["kind"], "image");
  EXPECT_EQ(j["cpus"][0]["registers"]["cr3"], "0x68c8000");
  EXPECT_EQ(j["cpus"][0]["mode"], "x86-64-4level");
  EXPECT_GT(j["ranges"].size(), 0u);
}

}  // namespace
}  // namespace pagewalk
