// A client for the GDB remote serial protocol, as far as reading a QEMU guest needs it:
// framing ($data#cs, acks, run-length encoding, escapes), the target description
// (qXfer:features:read), per-vCPU control registers (Hg, p/g) and physical memory
// (QEMU's Qqemu.PhyMemMode, then m addr,len). Protocol reference: the GDB manual,
// "Remote Protocol" (Overview, Packets, General Query Packets, Target Descriptions).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/phys_memory.hpp"
#include "sources/image.hpp"
#include "sources/source.hpp"

namespace pagewalk::gdb {

// ---- packets -------------------------------------------------------------------------

// "$" data "#" two hex digits, with '$', '#', '}' and '*' in data escaped.
[[nodiscard]] std::string encode_packet(std::string_view data);

// The outcome of looking at the start of a receive buffer.
struct Decoded {
  enum class Kind {
    NeedMore,  // no complete packet yet
    Ack,       // '+'
    Nak,       // '-': the other side wants the last packet again
    Packet,    // a complete packet with a good checksum; payload holds its decoded data
    Notification,  // a complete '%' notification (not used by QEMU); skipped
    Error,     // a framing error, a bad checksum or a packet above the size bound
  };
  Kind kind = Kind::NeedMore;
  size_t consumed = 0;  // bytes of the buffer this result accounts for
  std::string payload;  // Packet: run-length and escapes decoded
  std::string error;    // Error: what was wrong
  bool bad_checksum = false;
};

// Decodes the first item of `in`. Bytes before a '$' other than acks (stray bytes, '%'
// notifications) are skipped. `max_payload` bounds the decoded size of one packet.
[[nodiscard]] Decoded decode_packet(std::string_view in, size_t max_payload);

// "E NN" error replies ("E14", "E.message" from newer stubs), or nullopt.
[[nodiscard]] std::optional<std::string> error_reply(std::string_view reply);

// ---- connection ----------------------------------------------------------------------

struct Options {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{10000};
  // No reply, decoded, may be larger than this; a stub that sends more is rejected.
  size_t max_reply = 1 << 16;
  unsigned retransmits = 2;  // after a bad checksum or a NAK, before giving up
};

// One TCP connection to a stub. Every failure is a one-line message naming the endpoint.
class Connection {
 public:
  // host:port; host may be a name, an IPv4 address or [IPv6].
  [[nodiscard]] static tl::expected<std::unique_ptr<Connection>, std::string> open(const std::string& endpoint,
                                                                                   const Options& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends one packet and returns the reply's payload. Stop replies that arrive while no
  // request is outstanding (QEMU sends one when attaching halts a running VM) are kept
  // aside (stop_notices()) rather than taken for the reply.
  [[nodiscard]] tl::expected<std::string, std::string> request(std::string_view data);
  // Sends one packet without waiting for a reply (used for the final detach).
  void send_only(std::string_view data);
  // Turns off acks if the stub agreed to QStartNoAckMode.
  void set_no_ack(bool no_ack) { no_ack_ = no_ack; }

  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }
  [[nodiscard]] const std::vector<std::string>& stop_notices() const { return stop_notices_; }
  [[nodiscard]] bool broken() const { return !broken_.empty(); }
  [[nodiscard]] const std::string& broken_reason() const { return broken_; }
  // How many packets were sent (for tests and measurements).
  [[nodiscard]] uint64_t packets_sent() const { return packets_sent_; }

 private:
  Connection(int fd, std::string endpoint, const Options& options);
  tl::expected<void, std::string> send_raw(std::string_view bytes, std::chrono::steady_clock::time_point deadline);
  // The next decoded item from the socket, waiting until the deadline.
  tl::expected<Decoded, std::string> next(std::chrono::steady_clock::time_point deadline);
  void quick_ack();
  std::string fail(std::string message);

  int fd_;
  std::string endpoint_;
  Options options_;
  std::string inbuf_;
  bool no_ack_ = false;
  std::string broken_;
  std::vector<std::string> stop_notices_;
  uint64_t packets_sent_ = 0;
};

// ---- target description ----------------------------------------------------------------

struct RegisterInfo {
  std::string name;
  unsigned number = 0;  // the number `p` takes
  unsigned bits = 0;
  unsigned offset = 0;  // byte offset in the `g` reply
};

struct TargetDescription {
  std::string architecture;  // "i386:x86-64", "i386"
  std::vector<RegisterInfo> registers;
  [[nodiscard]] const RegisterInfo* find(std::string_view name) const;
};

// Fetches one annex of the description ("target.xml", "i386-64bit.xml").
using XmlFetcher = std::function<tl::expected<std::string, std::string>(const std::string& annex)>;

// Parses target.xml, fetching its includes through `fetch`. Registers are numbered in
// document order, includes expanded where they stand; a regnum attribute sets the number
// (the GDB manual, "Target Description Format"). Comments are skipped: QEMU's
// i386-64bit.xml comments out the cs/ss/ds/es_base registers, which then take no number.
[[nodiscard]] tl::expected<TargetDescription, std::string> parse_target_description(const std::string& root_annex,
                                                                                   const XmlFetcher& fetch);

// HOST:PORT (or [IPv6]:PORT) split into its parts, or a message saying what is wrong.
struct Endpoint {
  std::string host, port;
};
[[nodiscard]] tl::expected<Endpoint, std::string> parse_endpoint(std::string_view text);

// ---- the QEMU guest as a memory source ---------------------------------------------------

// QEMU's gdbstub in physical-memory mode. Attaching halts the guest (QEMU stops a running
// VM when a debugger connects); close() gives the run state back: it restores virtual
// memory mode and detaches (which resumes the VM) only if the VM was running before.
class QemuGdbstub final : public PhysMemory, public Source {
 public:
  [[nodiscard]] static tl::expected<std::unique_ptr<QemuGdbstub>, std::string> open(const std::string& endpoint,
                                                                                    const Options& options = {});
  ~QemuGdbstub() override;

  tl::expected<void, ReadError> read(PhysAddr pa, std::span<std::byte> out) override;
  tl::expected<void, ReadError> peek(PhysAddr pa, std::span<std::byte> out) override;
  // The stub does not say where RAM is: the whole physical address space is offered and
  // what cannot be read fails per read.
  [[nodiscard]] std::vector<PhysRange> ranges() const override;

  // As a Source: its vCPUs' registers and its physical memory.
  [[nodiscard]] std::string_view name() const override { return conn_->endpoint(); }
  [[nodiscard]] std::string_view format() const override { return "QEMU gdbstub (physical-memory mode)"; }
  [[nodiscard]] std::string_view kind() const override { return "qemu"; }
  [[nodiscard]] PhysMemory& memory() override { return *this; }
  [[nodiscard]] std::span<const CpuState> cpus() const override { return cpus_; }
  [[nodiscard]] bool scannable() const override { return false; }
  [[nodiscard]] std::optional<std::string> health() const override { return transport_error(); }

  [[nodiscard]] const std::string& endpoint() const { return conn_->endpoint(); }
  [[nodiscard]] const TargetDescription& description() const { return desc_; }
  [[nodiscard]] size_t packet_size() const { return packet_size_; }
  [[nodiscard]] bool halted_on_attach() const { return halted_on_attach_; }
  // A transport failure (timeout, disconnect, protocol error) during reads: every later
  // read fails, and the caller should report this once.
  [[nodiscard]] std::optional<std::string> transport_error() const;
  [[nodiscard]] uint64_t packets_sent() const { return conn_->packets_sent(); }
  // Restores the stub's memory mode and the VM's run state; called by the destructor.
  void close();

 private:
  explicit QemuGdbstub(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {}
  tl::expected<void, std::string> handshake();
  tl::expected<std::string, std::string> fetch_xml(const std::string& annex);
  tl::expected<void, std::string> read_registers();
  tl::expected<const std::byte*, ReadError> page(uint64_t frame);
  // One run of `m` packets for [pa, pa + out.size()), chunked to the packet size.
  tl::expected<void, ReadError> read_uncached(PhysAddr pa, std::span<std::byte> out);

  static constexpr uint64_t kPage = 4096;
  static constexpr size_t kCachedPages = 64;

  std::unique_ptr<Connection> conn_;
  size_t packet_size_ = 4096;
  bool multiprocess_ = false;
  bool halted_on_attach_ = false;
  bool phymem_on_ = false;
  bool closed_ = false;
  std::string pid_;  // the process part of thread ids ("1" from "p01.01") in multiprocess mode
  TargetDescription desc_;
  std::vector<CpuState> cpus_;
  // Read-ahead: whole pages, each fetched with as few `m` packets as the packet size allows.
  struct CachedPage {
    std::optional<uint64_t> frame;
    std::unique_ptr<std::byte[]> data;
  };
  std::vector<CachedPage> cache_;
};

}  // namespace pagewalk::gdb
