// An in-process gdbstub on 127.0.0.1 that behaves like QEMU's (target description with the
// control registers, threads as vCPUs, Qqemu.PhyMemMode, m reads) over a SyntheticMemory,
// with faults to inject: bad checksums, oversized replies, silence, a disconnect in the
// middle of a reply, E01 errors. A thread serves one connection at a time.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "sources/gdb_remote.hpp"
#include "sources/synthetic.hpp"

namespace pagewalk::testing {

struct FakeCpu {
  uint64_t cr0 = 0x80050033, cr3 = 0, cr4 = 0x3006f0, efer = 0xd01, rip = 0xffffffff81000000;
};

struct Fault {
  enum class Kind { BadChecksum, Oversized, Silent, DisconnectMidPacket, Error01, Empty };
  std::string prefix;  // requests starting with this get the fault
  Kind kind;
};

class FakeGdbstub {
 public:
  // Register numbers as QEMU 7.2's i386-64bit.xml gives them.
  static constexpr unsigned kCr0 = 27, kCr2 = 28, kCr3 = 29, kCr4 = 30, kEfer = 32, kRip = 16, kRsp = 7;

  FakeGdbstub(const SyntheticMemory& mem, std::vector<FakeCpu> cpus) : mem_(mem), cpus_(std::move(cpus)) {
    listen_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listen_, 4) != 0)
      throw std::runtime_error("fake gdbstub: cannot listen");
    socklen_t len = sizeof a;
    getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~FakeGdbstub() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(listen_);
  }

  // Behaviour, set before start().
  size_t packet_size = 0x1000;
  bool running = false;       // send a stop reply on connect, as QEMU does when it halts a running VM
  bool rle = false;           // run-length encode replies
  bool no_ack_mode = false;   // offer QStartNoAckMode
  bool support_p = true;      // answer `p` (else only `g`)
  bool phymem = true;         // support Qqemu.PhyMemMode
  std::vector<Fault> faults;

  void start() { thread_ = std::thread([this] { serve(); }); }
  [[nodiscard]] std::string endpoint() const { return fmt::format("127.0.0.1:{}", port_); }

  [[nodiscard]] std::vector<std::string> log() const {
    std::lock_guard g(mu_);
    return log_;
  }
  [[nodiscard]] size_t count(const std::string& prefix) const {
    size_t n = 0;
    for (const std::string& s : log())
      if (s.starts_with(prefix)) ++n;
    return n;
  }
  [[nodiscard]] bool phymem_mode() const { return phymem_mode_; }

  // The description split in two files like QEMU's, with a comment hiding registers.
  static std::string target_xml() {
    return R"(<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target>)"
           R"(<architecture>i386:x86-64</architecture><xi:include href="i386-64bit.xml"/></target>)";
  }
  static std::string regs_xml() {
    std::string x = "<?xml version=\"1.0\"?>\n<!-- special characters to escape: # $ * } -->\n"
                    "<feature name=\"org.gnu.gdb.i386.core\">\n";
    const char* gprs[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
    for (int i = 0; i < 16; ++i)
      x += fmt::format("  <reg name=\"{}\" bitsize=\"64\" type=\"int64\"{}/>\n", gprs[i], i == 0 ? " regnum=\"0\"" : "");
    x += "  <reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n  <reg name=\"eflags\" bitsize=\"32\"/>\n";
    for (const char* s : {"cs", "ss", "ds", "es", "fs", "gs"}) x += fmt::format("  <reg name=\"{}\" bitsize=\"32\"/>\n", s);
    x += "  <!--reg name=\"cs_base\" bitsize=\"64\"/>\n  <reg name=\"ss_base\" bitsize=\"64\"/-->\n";
    for (const char* s : {"fs_base", "gs_base", "k_gs_base"}) x += fmt::format("  <reg name=\"{}\" bitsize=\"64\"/>\n", s);
    for (const char* s : {"cr0", "cr2", "cr3", "cr4", "cr8", "efer"})
      x += fmt::format("  <reg name='{}' bitsize='64' type='int64'/>\n", s);
    x += "  <reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n</feature>\n";
    return x;
  }

 private:
  static std::string encode(std::string_view data, bool rle) {
    std::string body;
    for (size_t i = 0; i < data.size();) {
      const char c = data[i];
      if (c == '$' || c == '#' || c == '}' || c == '*') {
        body += '}';
        body += static_cast<char>(c ^ 0x20);
        ++i;
        continue;
      }
      size_t run = 1;
      while (i + run < data.size() && data[i + run] == c && run < 98) ++run;
      body += c;
      size_t extra = run - 1;
      if (rle && extra >= 3) {
        if (extra == 6 || extra == 7) extra = 5;  // counts '#' and '$' are not allowed
        body += '*';
        body += static_cast<char>(extra + 29);
        i += extra + 1;
      } else {
        ++i;
      }
    }
    uint8_t sum = 0;
    for (char c : body) sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
    return fmt::format("${}#{:02x}", body, sum);
  }

  static std::string le_hex(uint64_t v, unsigned bytes) {
    std::string s;
    for (unsigned i = 0; i < bytes; ++i) s += fmt::format("{:02x}", i < 8 ? (v >> (8 * i)) & 0xff : 0);
    return s;
  }

  std::string reg(unsigned cpu, unsigned n) const {
    const FakeCpu& c = cpus_[cpu];
    switch (n) {
      case kCr0: return le_hex(c.cr0, 8);
      case kCr2: return le_hex(0, 8);
      case kCr3: return le_hex(c.cr3, 8);
      case kCr4: return le_hex(c.cr4, 8);
      case kEfer: return le_hex(c.efer, 8);
      case kRip: return le_hex(c.rip, 8);
      default: break;
    }
    if (n == 17 || (n >= 18 && n <= 23)) return le_hex(0, 4);
    if (n < 33) return le_hex(0x1111 * n, 8);
    if (n == 33) return le_hex(0, 10);
    return "E14";
  }

  std::string answer(const std::string& q) {
    if (q.starts_with("qSupported"))
      return fmt::format("PacketSize={:x};qXfer:features:read+;multiprocess+{}", packet_size,
                         no_ack_mode ? ";QStartNoAckMode+" : "");
    if (q == "QStartNoAckMode") {
      acks_ = false;
      return "OK";
    }
    if (q.starts_with("qXfer:features:read:")) {
      const std::string rest = q.substr(20);
      const size_t colon = rest.find(':'), comma = rest.find(',');
      const std::string annex = rest.substr(0, colon);
      const size_t off = std::stoul(rest.substr(colon + 1, comma - colon - 1), nullptr, 16);
      const size_t len = std::stoul(rest.substr(comma + 1), nullptr, 16);
      std::string text;
      if (annex == "target.xml") text = target_xml();
      else if (annex == "i386-64bit.xml") text = regs_xml();
      else return "E00";
      if (off >= text.size()) return "l";
      const std::string part = text.substr(off, len);
      return (off + part.size() >= text.size() ? "l" : "m") + part;
    }
    if (q == "qfThreadInfo") {
      std::string r = "m";
      for (size_t i = 0; i < cpus_.size(); ++i) r += fmt::format("{}p01.{:02x}", i ? "," : "", i + 1);
      return r;
    }
    if (q == "qsThreadInfo") return "l";
    if (q.starts_with("Hg")) {
      const size_t dot = q.find('.');
      const unsigned t = static_cast<unsigned>(std::stoul(q.substr(dot + 1), nullptr, 16));
      if (t == 0 || t > cpus_.size()) return "E22";
      cpu_ = t - 1;
      return "OK";
    }
    if (q.starts_with("p")) {
      if (!support_p) return "";
      return reg(cpu_, static_cast<unsigned>(std::stoul(q.substr(1), nullptr, 16)));
    }
    if (q == "g") {
      std::string r;
      for (unsigned n = 0; n <= 33; ++n) r += reg(cpu_, n);
      return r;
    }
    if (q.starts_with("Qqemu.PhyMemMode:")) {
      if (!phymem) return "";
      phymem_mode_ = q.back() == '1';
      return "OK";
    }
    if (q == "qqemu.PhyMemMode") return phymem ? (phymem_mode_ ? "1" : "0") : "";
    if (q.starts_with("m")) {
      const size_t comma = q.find(',');
      const uint64_t addr = std::stoull(q.substr(1, comma - 1), nullptr, 16);
      const size_t len = std::stoul(q.substr(comma + 1), nullptr, 16);
      if (!phymem_mode_) return "E14";  // this fake only knows physical memory
      if (len > packet_size / 2) return "E22";  // as QEMU: at most half its buffer
      std::string r;
      for (size_t i = 0; i < len; ++i) {
        std::byte b{};
        if (!const_cast<SyntheticMemory&>(mem_).read(PhysAddr(addr + i), {&b, 1})) return r.empty() ? "E14" : r;
        r += fmt::format("{:02x}", static_cast<unsigned>(b));
      }
      return r;
    }
    if (q == "D" || q.starts_with("D;")) return "OK";
    return "";
  }

  bool send_all(int fd, std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  void session(int fd) {
    acks_ = true;
    std::string in, last;
    if (running) send_all(fd, encode("T02thread:p01.01;", false));
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buf[8192];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
      while (true) {
        gdb::Decoded d = gdb::decode_packet(in, 1 << 20);
        in.erase(0, d.consumed);
        if (d.kind == gdb::Decoded::Kind::NeedMore) break;
        if (d.kind == gdb::Decoded::Kind::Nak) {
          send_all(fd, last);
          continue;
        }
        if (d.kind != gdb::Decoded::Kind::Packet) continue;
        if (acks_) send_all(fd, "+");
        {
          std::lock_guard g(mu_);
          log_.push_back(d.payload);
        }
        const Fault* fault = nullptr;
        for (const Fault& f : faults)
          if (d.payload.starts_with(f.prefix)) fault = &f;
        const bool answers = !fault || fault->kind == Fault::Kind::BadChecksum ||
                             fault->kind == Fault::Kind::DisconnectMidPacket;
        const std::string reply = answers ? answer(d.payload) : std::string();
        if (!fault) {
          last = encode(reply, rle);
        } else {
          switch (fault->kind) {
            case Fault::Kind::BadChecksum: {
              last = encode(reply, false);
              char& c = last[last.size() - 1];
              c = c == '0' ? '1' : '0';
              break;
            }
            case Fault::Kind::Oversized: last = encode(std::string(100000, 'a'), false); break;
            case Fault::Kind::Silent: continue;
            case Fault::Kind::DisconnectMidPacket:
              send_all(fd, "$" + reply.substr(0, reply.size() / 2));
              return;
            case Fault::Kind::Error01: last = encode("E01", false); break;
            case Fault::Kind::Empty: last = encode("", false); break;
          }
        }
        send_all(fd, last);
      }
    }
  }

  void serve() {
    while (!stop_) {
      pollfd p{listen_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      session(fd);
      ::close(fd);
    }
  }

  const SyntheticMemory& mem_;
  std::vector<FakeCpu> cpus_;
  int listen_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> log_;
  std::atomic<bool> phymem_mode_{false};
  bool acks_ = true;
  unsigned cpu_ = 0;
};

}  // namespace pagewalk::testing
