// The GDB remote protocol client: packet decoding, the target description, and the whole
// --qemu target against an in-process fake stub serving synthetic page tables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "arch/x86/x86_arch.hpp"
#include "arch/x86/x86_entry.hpp"
#include "../support/run_pagewalk.hpp"
#include "../support/fake_gdbstub.hpp"
#include "cli/demo.hpp"
#include "cli/render.hpp"
#include "cli/target.hpp"
#include "sources/gdb_remote.hpp"

namespace pagewalk {
namespace {

using ::testing::HasSubstr;
using gdb::Decoded;
using testing::Fault;
using testing::FakeCpu;
using testing::FakeGdbstub;
using Kind = Decoded::Kind;

// ---- packets -----------------------------------------------------------------------------

TEST(GdbPacket, EncodesWithChecksumAndEscapes) {
  EXPECT_EQ(gdb::encode_packet("OK"), "$OK#9a");
  EXPECT_EQ(gdb::encode_packet(""), "$#00");
  // '#' is 0x23: escaped as '}' then 0x03.
  const std::string e = gdb::encode_packet("a#b");
  EXPECT_EQ(e.substr(0, 5), std::string("$a}\x03") + "b");
  const Decoded d = gdb::decode_packet(e, 100);
  ASSERT_EQ(d.kind, Kind::Packet) << d.error;
  EXPECT_EQ(d.payload, "a#b");
}

TEST(GdbPacket, DecodesAcksNoiseAndPartialInput) {
  EXPECT_EQ(gdb::decode_packet("+$OK#9a", 100).kind, Kind::Ack);
  EXPECT_EQ(gdb::decode_packet("-", 100).kind, Kind::Nak);
  const Decoded noise = gdb::decode_packet("xyz$OK#9a", 100);
  EXPECT_EQ(noise.kind, Kind::Packet);
  EXPECT_EQ(noise.consumed, 9u);
  for (std::string_view part : {"", "$", "$OK", "$OK#", "$OK#9", "$O}"}) {
    const Decoded d = gdb::decode_packet(part, 100);
    EXPECT_EQ(d.kind, Kind::NeedMore) << part;
  }
  const Decoded n = gdb::decode_packet("%Stop:T05#00$OK#9a", 100);
  EXPECT_NE(n.kind, Kind::Packet);  // a notification (or its checksum error), never the reply
}

TEST(GdbPacket, DecodesRunLengthEncoding) {
  // "0* " is '0' and ' ' - 29 = 3 more: four zeros. '"' (34) gives 5 more.
  auto packet = [](std::string body) {
    uint8_t sum = 0;
    for (char c : body) sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
    return fmt::format("${}#{:02x}", body, sum);
  };
  Decoded d = gdb::decode_packet(packet("0* "), 100);
  ASSERT_EQ(d.kind, Kind::Packet) << d.error;
  EXPECT_EQ(d.payload, "0000");
  d = gdb::decode_packet(packet("a0*\"1f*!"), 100);
  ASSERT_EQ(d.kind, Kind::Packet) << d.error;
  EXPECT_EQ(d.payload, "a000000" "1ffff" "f");
  // A repeat of an escaped byte repeats the decoded byte.
  d = gdb::decode_packet(packet("}]* "), 100);
  ASSERT_EQ(d.kind, Kind::Packet) << d.error;
  EXPECT_EQ(d.payload, "}}}}");
  EXPECT_EQ(gdb::decode_packet(packet("* "), 100).kind, Kind::Error);   // nothing to repeat
  EXPECT_EQ(gdb::decode_packet(packet("0*\x05"), 100).kind, Kind::Error);  // count not printable
  // Expansion counts against the bound.
  const Decoded big = gdb::decode_packet(packet(std::string(20, 'x') + std::string("0*~0*~0*~")), 100);
  EXPECT_EQ(big.kind, Kind::Error);
  EXPECT_THAT(big.error, HasSubstr("larger than 100"));
}

TEST(GdbPacket, DecodesEscapes) {
  auto packet = [](std::string body) {
    uint8_t sum = 0;
    for (char c : body) sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
    return fmt::format("${}#{:02x}", body, sum);
  };
  // '}' then c ^ 0x20: 0x03 -> '#', 0x04 -> '$', 0x0a -> '*', 0x5d -> '}'.
  const Decoded d = gdb::decode_packet(packet("a}\x03}\x04}\x0a}\x5d" "b"), 100);
  ASSERT_EQ(d.kind, Kind::Packet) << d.error;
  EXPECT_EQ(d.payload, "a#$*}b");
}

TEST(GdbPacket, RejectsBadChecksumsAndOversizedPackets) {
  const Decoded bad = gdb::decode_packet("$OK#9b", 100);
  EXPECT_EQ(bad.kind, Kind::Error);
  EXPECT_TRUE(bad.bad_checksum);
  EXPECT_THAT(bad.error, HasSubstr("bad checksum"));
  EXPECT_EQ(bad.consumed, 6u);
  EXPECT_EQ(gdb::decode_packet("$OK#zz", 100).kind, Kind::Error);
  EXPECT_EQ(gdb::decode_packet("$O$OK#9a", 100).kind, Kind::Error);
  // Too big is noticed before the end arrives.
  const Decoded big = gdb::decode_packet("$" + std::string(1000, 'a'), 100);
  EXPECT_EQ(big.kind, Kind::Error);
  EXPECT_THAT(big.error, HasSubstr("larger than 100 bytes"));
}

TEST(GdbPacket, RecognisesErrorReplies) {
  EXPECT_EQ(gdb::error_reply("E01").value_or(""), "E01");
  EXPECT_TRUE(gdb::error_reply("E.no such memory").has_value());
  EXPECT_FALSE(gdb::error_reply("OK").has_value());
  EXPECT_FALSE(gdb::error_reply("e0").has_value());
  EXPECT_FALSE(gdb::error_reply("E0123").has_value());  // hex data, not an error
}

TEST(GdbEndpoint, ParsesHostAndPort) {
  auto e = gdb::parse_endpoint("127.0.0.1:1234");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, "1234");
  e = gdb::parse_endpoint("[::1]:99");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  for (const char* bad : {"", "host", ":1", "host:", "host:0", "host:65536", "host:12x", "a:b:c", "[::1]"})
    EXPECT_FALSE(gdb::parse_endpoint(bad)) << bad;
}

// ---- target description ---------------------------------------------------------------------

TEST(GdbTargetDescription, NumbersRegistersLikeQemu) {
  auto desc = gdb::parse_target_description("target.xml", [](const std::string& annex)
                                                -> tl::expected<std::string, std::string> {
    if (annex == "target.xml") return FakeGdbstub::target_xml();
    if (annex == "i386-64bit.xml") return FakeGdbstub::regs_xml();
    return tl::unexpected("no " + annex);
  });
  ASSERT_TRUE(desc) << desc.error();
  EXPECT_EQ(desc->architecture, "i386:x86-64");
  // QEMU 7.2: cs_base..es_base are commented out, so cr0 is 27 and efer 32.
  ASSERT_NE(desc->find("cr0"), nullptr);
  EXPECT_EQ(desc->find("cr0")->number, FakeGdbstub::kCr0);
  EXPECT_EQ(desc->find("cr3")->number, FakeGdbstub::kCr3);
  EXPECT_EQ(desc->find("cr4")->number, FakeGdbstub::kCr4);
  EXPECT_EQ(desc->find("efer")->number, FakeGdbstub::kEfer);
  EXPECT_EQ(desc->find("ss_base"), nullptr);
  // g offsets: 17 64-bit registers, eflags and six segments of 4 bytes, three bases.
  EXPECT_EQ(desc->find("cr0")->offset, 17 * 8 + 7 * 4 + 3 * 8u);
}

TEST(GdbTargetDescription, RejectsBrokenDescriptions) {
  auto parse = [](std::string text) {
    return gdb::parse_target_description("t", [text](const std::string&) -> tl::expected<std::string, std::string> {
      return text;
    });
  };
  EXPECT_FALSE(parse("<target><!-- never closed"));
  EXPECT_FALSE(parse("<reg name=\"x\"/>"));
  EXPECT_FALSE(parse("<reg name=\"x\" bitsize=\"12\"/>"));
  EXPECT_FALSE(parse("<xi:include href=\"t\"/>"));  // includes itself until too deep
  EXPECT_FALSE(parse("<reg name=\"x\" bitsize=\"64\" regnum=\"-1\"/>"));
  EXPECT_TRUE(parse("<target><reg name=\"x\" bitsize=\"64\" regnum=\"7\"/></target>"));
}

// ---- against the fake stub ---------------------------------------------------------------------

class GdbStub : public ::testing::Test {
 protected:
  void SetUp() override {
    machine_ = cli::build_demo_machine();
    FakeCpu a, b;
    a.cr3 = machine_->spaces[0].root.value();
    b.cr3 = machine_->spaces[1].root.value();
    fake_ = std::make_unique<FakeGdbstub>(machine_->memory, std::vector<FakeCpu>{a, b});
  }
  static gdb::Options fast() {
    gdb::Options o;
    o.connect_timeout = o.request_timeout = std::chrono::milliseconds(300);
    return o;
  }
  std::unique_ptr<cli::DemoMachine> machine_;
  std::unique_ptr<FakeGdbstub> fake_;
};

TEST_F(GdbStub, ReadsRegistersOfEveryVcpuAndRestoresTheStub) {
  fake_->start();
  {
    auto stub = gdb::QemuGdbstub::open(fake_->endpoint(), fast());
    ASSERT_TRUE(stub) << stub.error();
    const auto& cpus = (*stub)->cpus();
    ASSERT_EQ(cpus.size(), 2u);
    EXPECT_EQ(cpus[0].get_or("cr3", ~uint64_t{0}), machine_->spaces[0].root.value());
    EXPECT_EQ(cpus[1].get_or("cr3", ~uint64_t{0}), machine_->spaces[1].root.value());
    EXPECT_EQ(cpus[0].get_or("cr0", ~uint64_t{0}), 0x80050033u);
    EXPECT_EQ(cpus[0].get_or("cr4", ~uint64_t{0}), 0x3006f0u);
    ASSERT_TRUE(cpus[0].get("efer").has_value());
    EXPECT_EQ(*cpus[0].get("efer"), 0xd01u);
    EXPECT_TRUE(x86::long_mode(cpus[0]));  // from EFER.LMA
    EXPECT_EQ(cpus[0].get_or("rsp", ~uint64_t{0}), 0x7777u);
    EXPECT_EQ(cpus[1].source, "gdbstub thread p01.02");
    EXPECT_TRUE(fake_->phymem_mode());
    EXPECT_FALSE((*stub)->halted_on_attach());
  }
  EXPECT_FALSE(fake_->phymem_mode());  // restored on close
  EXPECT_EQ(fake_->count("D"), 0u);    // the VM was stopped already: no detach, it stays stopped
  EXPECT_EQ(fake_->count("Hgp01.02"), 1u);
}

TEST_F(GdbStub, ResumesOnlyAVmThatAttachingHalted) {
  fake_->running = true;
  fake_->start();
  {
    auto stub = gdb::QemuGdbstub::open(fake_->endpoint(), fast());
    ASSERT_TRUE(stub) << stub.error();
    EXPECT_TRUE((*stub)->halted_on_attach());
  }
  EXPECT_EQ(fake_->count("D;01"), 1u);
}

TEST_F(GdbStub, FallsBackToGWithoutP) {
  fake_->support_p = false;
  fake_->start();
  auto stub = gdb::QemuGdbstub::open(fake_->endpoint(), fast());
  ASSERT_TRUE(stub) << stub.error();
  EXPECT_EQ((*stub)->cpus()[1].get_or("cr3", ~uint64_t{0}), machine_->spaces[1].root.value());
  EXPECT_EQ(*(*stub)->cpus()[0].get("efer"), 0xd01u);
}

TEST_F(GdbStub, OneTablePageCostsOnePageOfMPackets) {
  fake_->rle = true;  // memory replies full of zeros compress well; decoding must undo it
  fake_->start();
  auto stub = gdb::QemuGdbstub::open(fake_->endpoint(), fast());
  ASSERT_TRUE(stub) << stub.error();
  TableReader reader(**stub);
  Paging paging{x86::mode_from_registers(0x80050033, 0x3006f0, true), {}};
  const cli::DemoSpace& s = machine_->spaces[0];
  const size_t before = fake_->count("m");
  const Translation t = walk(paging, reader, s.root, s.addresses[0].va);
  ASSERT_TRUE(t.mapped());
  // Four tables of 4 KiB, PacketSize 0x1000: two `m` packets of 2 KiB per table.
  EXPECT_EQ(fake_->count("m") - before, 4u * 2u);
  // The same tables again cost nothing, even through a fresh table cache.
  TableReader again(**stub);
  EXPECT_EQ(walk(paging, again, s.root, s.addresses[0].va).pa, t.pa);
  EXPECT_EQ(fake_->count("m") - before, 8u);
}

TEST_F(GdbStub, UnreadableMemoryIsAReadErrorNotAFailure) {
  fake_->faults = {{"m", Fault::Kind::Error01}};
  fake_->start();
  auto stub = gdb::QemuGdbstub::open(fake_->endpoint(), fast());
  ASSERT_TRUE(stub) << stub.error();
  std::byte b[8];
  auto r = (*stub)->read(PhysAddr(0x1000), b);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().reason, HasSubstr("E01"));
  EXPECT_FALSE((*stub)->transport_error());
}

struct FaultCase {
  Fault fault;
  const char* message;
};

TEST_F(GdbStub, TransportFaultsGiveClearErrorsFast) {
  const FaultCase cases[] = {
      {{"qSupported", Fault::Kind::BadChecksum}, "bad checksum"},
      {{"qXfer", Fault::Kind::Oversized}, "larger than"},
      {{"qfThreadInfo", Fault::Kind::Silent}, "no reply to 'qfThreadInfo' within 300 ms"},
      {{"p1d", Fault::Kind::DisconnectMidPacket}, "closed the connection"},
      {{"p1b", Fault::Kind::Error01}, "cannot read register cr0 of thread p01.01 (E01)"},
      {{"Qqemu.PhyMemMode:1", Fault::Kind::Empty}, "no physical-memory mode"},
      {{"qXfer", Fault::Kind::Error01}, "cannot give target.xml (E01)"},
  };
  for (const FaultCase& c : cases) {
    FakeGdbstub fake(machine_->memory, {FakeCpu{}});
    fake.faults = {c.fault};
    fake.start();
    // Only the silent stub needs the short timeout; the others must fail on their own,
    // long before a timeout a loaded (sanitizer) machine could run into.
    gdb::Options options = fast();
    if (c.fault.kind != Fault::Kind::Silent) options.request_timeout = std::chrono::seconds(10);
    const auto t0 = std::chrono::steady_clock::now();
    auto stub = gdb::QemuGdbstub::open(fake.endpoint(), options);
    const auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(stub) << c.message;
    EXPECT_THAT(stub.error(), HasSubstr(c.message));
    EXPECT_THAT(stub.error(), HasSubstr(fake.endpoint()));
    EXPECT_EQ(stub.error().find('\n'), std::string::npos);
    EXPECT_LT(took, std::chrono::seconds(2)) << c.message;
    if (c.fault.kind == Fault::Kind::Empty) {
      EXPECT_FALSE(fake.phymem_mode());
    }
  }
}

TEST_F(GdbStub, BadChecksumIsRetriedBeforeGivingUp) {
  fake_->faults = {{"qSupported", Fault::Kind::BadChecksum}};
  fake_->start();
  auto stub = gdb::QemuGdbstub::open(fake_->endpoint(), fast());
  ASSERT_FALSE(stub);
  EXPECT_EQ(fake_->count("qSupported"), 1u);  // the stub resent its reply after each '-'
}

TEST_F(GdbStub, NoAckModeWhenOffered) {
  fake_->no_ack_mode = true;
  fake_->start();
  auto stub = gdb::QemuGdbstub::open(fake_->endpoint(), fast());
  ASSERT_TRUE(stub) << stub.error();
  EXPECT_EQ(fake_->count("QStartNoAckMode"), 1u);
  std::byte b[8];
  EXPECT_TRUE((*stub)->read(machine_->spaces[0].root, b));
}

TEST(GdbConnect, RefusedAndUnresolvable) {
  // A port that was free a moment ago: bind, read the number, close.
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  auto r = gdb::QemuGdbstub::open(fmt::format("127.0.0.1:{}", ntohs(a.sin_port)));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error(), HasSubstr("cannot connect"));
  EXPECT_THAT(r.error(), HasSubstr("refused"));
}

// ---- the CLI over the fake stub -----------------------------------------------------------------

using CliRun = testing::CliResult;

CliRun run_cli(const std::string& args) { return testing::run_pagewalk(args); }

TEST_F(GdbStub, TranslateThroughTheStubEqualsTheSyntheticWalk) {
  fake_->start();
  for (unsigned cpu = 0; cpu < 2; ++cpu) {
    const cli::DemoSpace& s = machine_->spaces[cpu];
    // What the walk over the same tables in memory gives, rendered the same way.
    Paging paging{x86::mode_from_registers(0x80050033, 0x3006f0, true), {}};
    paging.options.pa_bits = 0;
    TableReader reader(machine_->memory);
    std::string args = fmt::format("translate --qemu {} --cpu {} --jsonl", fake_->endpoint(), cpu);
    std::string want;
    int want_code = 0;
    std::vector<VirtAddr> vas;
    for (const cli::DemoAddress& a : s.addresses) vas.push_back(a.va);
    vas.push_back(VirtAddr(0x0000700000000000));  // nothing there
    for (VirtAddr va : vas) {
      const Translation t = walk(paging, reader, s.root, va);
      if (!t.mapped()) want_code = 1;  // a VA in no region is an answer too
      {
        cli::JsonWriter w(want);
        w.record("translate");
        cli::write_translation(w, paging, t);
        w.end().newline();
      }
      args += fmt::format(" 0x{:x}", va.value());
    }
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.code, want_code) << r.err;
    EXPECT_THAT(r.out, HasSubstr("\"mapped\""));
    EXPECT_EQ(r.out, want);
  }
  // The fake serves one connection at a time; both runs restored physical-memory mode.
  EXPECT_FALSE(fake_->phymem_mode());
  EXPECT_EQ(fake_->count("Qqemu.PhyMemMode:0"), 2u);
}

TEST_F(GdbStub, InfoShowsEveryVcpu) {
  fake_->start();
  const CliRun r = run_cli(fmt::format("info --qemu {} --json", fake_->endpoint()));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["target"]["kind"], "qemu");
  EXPECT_EQ(j["target"]["name"], fake_->endpoint());
  ASSERT_EQ(j["cpus"].size(), 2u);
  EXPECT_EQ(j["cpus"][1]["registers"]["cr3"], fmt::format("0x{:x}", machine_->spaces[1].root.value()));
  EXPECT_EQ(j["cpus"][0]["registers"]["efer"], "0xd01");
  EXPECT_EQ(j["cpus"][0]["mode"], "x86-64-4level");
  EXPECT_TRUE(j["vmcoreinfo"].is_null());
  const CliRun h = run_cli(fmt::format("info --qemu {}", fake_->endpoint()));
  EXPECT_THAT(h.out, HasSubstr("EFER 0xd01  mode x86-64-4level"));
  EXPECT_THAT(h.out, HasSubstr("cpu 1"));
}

TEST_F(GdbStub, MapThroughTheStub) {
  fake_->start();
  const CliRun viaimg = run_cli(fmt::format("map --qemu {} --jsonl", fake_->endpoint()));
  ASSERT_EQ(viaimg.code, 0) << viaimg.err;
  EXPECT_THAT(viaimg.out, HasSubstr("\"start\""));
}

TEST_F(GdbStub, CliErrorsAreOneLineWithExitStatus3) {
  fake_->faults = {{"qSupported", Fault::Kind::Silent}};
  fake_->start();
  const auto t0 = std::chrono::steady_clock::now();
  const CliRun r = run_cli(fmt::format("translate 0x1000 --qemu {} --qemu-timeout 200", fake_->endpoint()));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, HasSubstr("no reply to 'qSupported"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_EQ(run_cli("info --qemu localhost").code, 2);
  EXPECT_EQ(run_cli(fmt::format("info --qemu {} --image x", fake_->endpoint())).code, 2);
}

TEST_F(GdbStub, ADisconnectDuringAWalkEndsWithExitStatus3) {
  fake_->faults = {{"m", Fault::Kind::DisconnectMidPacket}};
  fake_->start();
  const CliRun r = run_cli(fmt::format("translate --qemu {} --jsonl 0x{:x}", fake_->endpoint(),
                                    machine_->spaces[0].addresses[0].va.value()));
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, HasSubstr("closed the connection"));
  EXPECT_THAT(r.out, HasSubstr("\"unreadable\""));  // the address still got its record
}

}  // namespace
}  // namespace pagewalk
