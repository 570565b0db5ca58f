// Bad input through the binary, as a user gives it: every case ends in bounded time with
// one line on stderr that names the problem, and the documented exit status (2 bad input,
// 3 a target or output that cannot be used); none crashes, hangs or answers wrongly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "../support/elf_core_writer.hpp"
#include "../support/run_pagewalk.hpp"
#include "arch/x86/x86_modes.hpp"
#include "sources/synthetic.hpp"

namespace pagewalk {
namespace {

using ::testing::HasSubstr;
using testing::CliResult;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kStartKernelMap = 0xffffffff80000000;
constexpr uint64_t kPageOffsetBase = 0xffff888000000000;
constexpr uint64_t kVmemmapBase = 0xffffea0000000000;
constexpr uint64_t kText = 0xffffffff81000000;
constexpr uint64_t kTextPa = 0x400000;
constexpr uint64_t kPgdVa = kText + 0x100000, kPgdPa = kTextPa + 0x100000;

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

class BadInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/pagewalk-bad-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ASSERT_EQ(mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
    // A Linux x86-64 dump (4 MiB of RAM: the direct map and the kernel image) whose
    // VMCOREINFO is corrupt in the ways a hostile sweep found.
    SyntheticMemory ram;
    for (uint64_t pa = 0; pa < 8 * kMiB; pa += 4096) ram.page(PhysAddr(pa));
    TableBuilder t(ram, kX86_64_4Level, PhysAddr(0x600000), PhysAddr(kPgdPa));
    t.map(VirtAddr(kPageOffsetBase), PhysAddr(0), 2 * kMiB, 0x63, 0x63);
    t.map(VirtAddr(kText), PhysAddr(kTextPa), 2 * kMiB, 0x63, 0x63);
    t.map(VirtAddr(0x400000), PhysAddr(0x7f000000), 4096, 0x67);  // a frame the dump does not hold
    testing::CoreSpec spec;
    spec.cpus = {{0x80050033, kPgdPa, 0x3006f0, 0, 0}};
    spec.vmcoreinfo = fmt::format(
        "OSRELEASE=6.1.0-bad\nPAGESIZE=4096\nSYMBOL(init_top_pgt)={:x}\nNUMBER(phys_base)={}\nKERNELOFFSET=0\n"
        "NUMBER(pgtable_l5_enabled)=0\nSIZE(page)=0\nNUMBER(KERNEL_IMAGE_SIZE)=-1\n",
        kPgdVa, static_cast<int64_t>(kTextPa - (kText - kStartKernelMap)));
    spec.loads.push_back({0, 8 * kMiB, [&ram](uint64_t pa, std::vector<uint8_t>& b) {
                            (void)ram.read(PhysAddr(pa), std::as_writable_bytes(std::span(b)));
                          }});
    testing::write_file(dir_ + "/corrupt.elf", testing::build_core(spec));
    spec.vmcoreinfo.replace(spec.vmcoreinfo.find("SIZE(page)=0"), 12, "SIZE(page)=64");
    spec.vmcoreinfo.replace(spec.vmcoreinfo.find("KERNEL_IMAGE_SIZE)=-1"), 21, "KERNEL_IMAGE_SIZE)=1073741824");
    testing::write_file(dir_ + "/linux.elf", testing::build_core(spec));
    // The same memory as an AArch64 core (e_machine 183).
    spec.machine = EM_AARCH64;
    spec.vmcoreinfo.clear();
    testing::write_file(dir_ + "/arm64.elf", testing::build_core(spec));
    const std::string syms = fmt::format("{:016x} T _text\n", kText);
    testing::write_file(dir_ + "/kallsyms", std::vector<uint8_t>(syms.begin(), syms.end()));
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  // Every case runs under a 20 s limit: a hang fails the test instead of the suite.
  static CliResult run(const std::string& args, const std::string& input = "") {
    return testing::run_pagewalk(args, input, "timeout 20 ");
  }
  static std::string image(const char* name, bool kallsyms = true) {
    return fmt::format(" --image {}/{} --base page_offset_base=0x{:x} --base vmemmap_base=0x{:x}{}", dir_, name,
                       kPageOffsetBase, kVmemmapBase, kallsyms ? " --kallsyms " + dir_ + "/kallsyms" : "");
  }
  static std::string linux_image() { return image("linux.elf"); }
  static std::string corrupt_image() { return image("corrupt.elf"); }
  static inline std::string dir_;
};

void expect_error(const CliResult& r, int code, const std::string& words) {
  EXPECT_EQ(r.code, code) << r.err;
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_THAT(r.err, HasSubstr(words));
}

TEST_F(BadInput, FifosAndDevicesAreRefusedBeforeOpenCanBlock) {
  const std::string fifo = dir_ + "/fifo";
  expect_error(run("info --image " + fifo), 3, "is a FIFO (named pipe), not a file");
  expect_error(run("translate --kcore --kcore-file " + fifo + " 0x0"), 3, "is a FIFO");
  expect_error(run("ps" + image("linux.elf", false) + " --kallsyms " + fifo), 3, "--kallsyms " + fifo + " is a FIFO");
  expect_error(run("ps" + image("linux.elf", false) + " --system-map /dev/zero"), 3, "is a character device");
  expect_error(run("ps" + linux_image() + " --btf /dev/urandom"), 3, "is a character device");
  expect_error(run("info --image " + dir_), 3, "is a directory");
}

TEST_F(BadInput, PaBitsOutsideWhatTheModeHoldsAreRefused) {
  for (const char* bits : {"12", "65", "200", "256"})
    expect_error(run(fmt::format("entry 0x8000000012345867 --pa-bits {}", bits)), 2, "--pa-bits");
  expect_error(run("entry 0x12345867 --mode x86-32 --pa-bits 52"), 2, "x86-32's physical address bits");
  // A valid value still gives the frame without NX.
  const CliResult ok = run("entry 0x8000000012345867 --pa-bits 46");
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("frame   0x12345000"));
  expect_error(run("translate 0x1000 --image " + dir_ + "/linux.elf --pa-bits 200"), 2, "--pa-bits 200");
}

TEST_F(BadInput, OptionsThatCannotApplyAreRefused) {
  expect_error(run("info --image " + dir_ + "/linux.elf --format bogus"), 2, "--format");
  expect_error(run("info --image " + dir_ + "/linux.elf --cpu 999"), 2, "holds registers of CPUs 0..0");
  expect_error(run("translate 0x1000 --image " + dir_ + "/linux.elf --mode bogus"), 2, "unknown paging mode 'bogus'");
  // Options a command does not use are not offered: the message names who takes them.
  expect_error(run("info --image " + dir_ + "/linux.elf --mode x86-32"), 2,
               "info: --mode does not apply here; it is an option of translate, map");
  expect_error(run("ps --image " + dir_ + "/linux.elf --cr3 0x1000"), 2, "ps: --cr3 does not apply here");
  expect_error(run("kconv --image " + dir_ + "/linux.elf --kernel --pfn 1"), 2, "kconv: --kernel does not apply here");
}

TEST_F(BadInput, CommandsAreNamedWhenMisspelt) {
  expect_error(run("transalte 0x1000"), 2, "no command 'transalte'; did you mean 'translate'?");
  expect_error(run("vm"), 2, "for that use: pagewalk map --pid P");
  expect_error(run("zq 0x1000"), 2, "the commands are demo, translate");
  expect_error(run("rd 0x1000"), 2, "read: give a target");  // crash's name is an alias
  const CliResult help = run("help translate");
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("Usage: pagewalk translate"));
}

TEST_F(BadInput, ACorruptVmcoreinfoGivesNoCrashAndNoWrongAnswer) {
  // SIZE(page)=0: no SIGFPE; conversions through struct page say why they cannot answer.
  CliResult r = run("kconv" + corrupt_image() + " --page 0xffffea0000000040");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("SIZE(page)=0 rejected"));
  r = run("kconv" + corrupt_image() + " --pfn 1 --json");
  EXPECT_LT(r.code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("is not a struct page size"));
  EXPECT_THAT(r.out, HasSubstr("\"page\":null"));  // no struct page address made up from a zero size
  // KERNEL_IMAGE_SIZE=-1: the kernel text region keeps its default size.
  r = run("layout 0xffffffff81000000" + corrupt_image());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1G  kernel text"));
  EXPECT_THAT(r.out, HasSubstr("is in: kernel text"));
}

TEST_F(BadInput, KconvNumbersThatWouldWrapAreRefused) {
  expect_error(run("kconv" + linux_image() + " --pfn 0x10000000000001"), 2, "above the largest frame number");
  expect_error(run("kconv" + linux_image() + " --virt 0xffffffffffffffff --size 2"), 2,
               "runs past the end of the address space");
}

TEST_F(BadInput, AnotherArchitecturesCoreNeedsAMode) {
  expect_error(run("translate --image " + dir_ + "/arm64.elf --cr3 0x500000 0x0"), 2, "give --tcr X --ttbr0 A --ttbr1 B");
  expect_error(run("ps --image " + dir_ + "/arm64.elf"), 3, "--base kimage_voffset=VALUE --base phys_offset=VALUE");
  const CliResult forced = run("translate --image " + dir_ + "/arm64.elf --mode x86-64-4level --cr3 0x500000 0x0");
  EXPECT_LT(forced.code, 2) << forced.err;
}

TEST_F(BadInput, ElfHeadersSayWhatIsWrong) {
  std::vector<uint8_t> core = testing::build_core({});
  std::vector<uint8_t> exec = core;
  exec[16] = ET_EXEC;
  testing::write_file(dir_ + "/exec.elf", exec);
  expect_error(run("info --image " + dir_ + "/exec.elf"), 3, "not a core dump (ET_CORE)");
  std::vector<uint8_t> big = core;
  big[EI_DATA] = ELFDATA2MSB;
  testing::write_file(dir_ + "/big.elf", big);
  expect_error(run("info --image " + dir_ + "/big.elf"), 3, "big-endian");
  for (const char* f : {"/exec.elf", "/big.elf"}) EXPECT_THAT(run("info --image " + dir_ + f).err, ::testing::Not(HasSubstr("no error")));
}

// A leaf whose frame the image does not hold is still the walk's answer, with the hint.
TEST_F(BadInput, AFrameOutsideTheImageIsFlagged) {
  CliResult r = run("translate --image " + dir_ + "/linux.elf 0x400123");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0x400123 -> 0x7f000123"));
  EXPECT_THAT(r.out, HasSubstr("note: PA 0x7f000123 is not in the target's memory"));
  r = run("translate --jsonl --image " + dir_ + "/linux.elf 0x400123 0xffff888000001000");
  EXPECT_EQ(r.code, 0) << r.err;
  const size_t nl = r.out.find('\n');
  EXPECT_THAT(r.out.substr(0, nl), HasSubstr(R"("frame_in_source":false)"));
  EXPECT_THAT(r.out.substr(nl), ::testing::Not(HasSubstr("frame_in_source")));
}

TEST_F(BadInput, OutputThatCannotBeWrittenIsAnError) {
  expect_error(run("demo >/dev/full"), 3, "cannot write the output");
  expect_error(run("modes --json >/dev/full"), 3, "cannot write the output");
}

TEST_F(BadInput, StdinClosedOrFloodedIsBounded) {
  // Closed stdin: no file opened later is taken for it.
  const CliResult closed = testing::run_pagewalk("translate --image " + dir_ + "/linux.elf -", "",
                                                 "timeout 20 sh -c 'exec <&-; exec \"$0\" \"$@\"' ");
  expect_error(closed, 2, "standard input is closed");
  EXPECT_TRUE(closed.out.empty()) << closed.out;
  // A 3 MB line: one short error, the run goes on with the next line.
  const CliResult flood = run("translate --brief --image " + dir_ + "/linux.elf -", std::string(3000000, '1') + "\n0x0\n");
  EXPECT_EQ(flood.code, 2);
  EXPECT_TRUE(one_line(flood.err)) << flood.err.size();
  EXPECT_LT(flood.err.size(), 200u);
  EXPECT_THAT(flood.out, HasSubstr("0x0000000000000000"));
}

}  // namespace
}  // namespace pagewalk
