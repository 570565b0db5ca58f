#include "sources/gdb_remote.hpp"

#include "arch/arm64/arm64_arch.hpp"
#include "arch/x86/x86_arch.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace pagewalk::gdb {
namespace {

using Clock = std::chrono::steady_clock;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<uint64_t> parse_hex(std::string_view s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    const int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

// A short, printable form of a packet for error messages.
std::string shown(std::string_view data) {
  std::string out;
  for (char c : data.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '.';
  if (data.size() > 40) out += "...";
  return out;
}

std::string seconds(std::chrono::milliseconds ms) {
  return ms.count() % 1000 ? fmt::format("{} ms", ms.count()) : fmt::format("{} s", ms.count() / 1000);
}

// A stop reply ("T05thread:01;", "S05"): QEMU sends one unasked when attaching halts a
// running VM. None of the requests this client makes has a reply of that shape.
bool is_stop_reply(std::string_view p) {
  return p.size() >= 3 && (p[0] == 'T' || p[0] == 'S') && hex_digit(p[1]) >= 0 && hex_digit(p[2]) >= 0;
}

}  // namespace

// ---- packets -------------------------------------------------------------------------

std::string encode_packet(std::string_view data) {
  std::string out = "$";
  uint8_t sum = 0;
  auto put = [&](char c) {
    out += c;
    sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
  };
  for (char c : data) {
    if (c == '$' || c == '#' || c == '}' || c == '*') {
      put('}');
      put(static_cast<char>(c ^ 0x20));
    } else {
      put(c);
    }
  }
  out += fmt::format("#{:02x}", sum);
  return out;
}

Decoded decode_packet(std::string_view in, size_t max_payload) {
  Decoded d;
  size_t start = 0;
  while (start < in.size() && in[start] != '$' && in[start] != '%') {
    if (in[start] == '+') return {Decoded::Kind::Ack, start + 1, {}, {}, false};
    if (in[start] == '-') return {Decoded::Kind::Nak, start + 1, {}, {}, false};
    ++start;  // noise between packets is skipped, as the protocol allows
  }
  d.consumed = start;  // NeedMore: the skipped noise can go
  if (start == in.size()) return d;

  auto error = [&](size_t consumed, std::string message) {
    return Decoded{Decoded::Kind::Error, consumed, {}, std::move(message), false};
  };
  // Escapes and repeat counts take two raw bytes for at least one decoded byte, so a
  // packet within the bound never has more than twice as many raw bytes.
  const size_t raw_limit = 2 * max_payload + 8;
  std::string out;
  uint8_t sum = 0;
  size_t j = start + 1;
  while (true) {
    if (j - start > raw_limit) return error(j, fmt::format("reply larger than {} bytes", max_payload));
    if (j >= in.size()) return d;
    const char c = in[j];
    if (c == '#') break;
    if (c == '$') return error(j, "a new packet started inside a packet (truncated reply)");
    sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
    if (c == '}' || c == '*') {
      if (j + 1 >= in.size()) return d;
      const char n = in[j + 1];
      sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(n));
      if (c == '}') {
        out += static_cast<char>(n ^ 0x20);
      } else {
        // Run-length encoding: '*' then a printable count character c, repeating the
        // previous character c - 29 more times; '#' and '$' are never counts.
        if (out.empty()) return error(j + 2, "run-length marker '*' with nothing before it");
        if (n < ' ' || n > '~' || n == '#' || n == '$')
          return error(j + 2, fmt::format("bad run-length count byte 0x{:02x}", static_cast<uint8_t>(n)));
        out.append(static_cast<size_t>(n - 29), out.back());
      }
      j += 2;
    } else {
      out += c;
      ++j;
    }
    if (out.size() > max_payload) return error(j, fmt::format("reply larger than {} bytes", max_payload));
  }
  if (j + 2 >= in.size()) return d;
  const int hi = hex_digit(in[j + 1]), lo = hex_digit(in[j + 2]);
  const size_t end = j + 3;
  if (hi < 0 || lo < 0) return error(end, fmt::format("malformed checksum '{}'", shown(in.substr(j, 3))));
  const auto want = static_cast<uint8_t>(hi << 4 | lo);
  if (want != sum) {
    Decoded bad = error(end, fmt::format("bad checksum in reply (sent 0x{:02x}, data sums to 0x{:02x})", want, sum));
    bad.bad_checksum = true;
    return bad;
  }
  return {in[start] == '$' ? Decoded::Kind::Packet : Decoded::Kind::Notification, end, std::move(out), {}, false};
}

std::optional<std::string> error_reply(std::string_view reply) {
  if (reply.size() == 3 && reply[0] == 'E' && hex_digit(reply[1]) >= 0 && hex_digit(reply[2]) >= 0)
    return std::string(reply);
  if (reply.size() >= 2 && reply[0] == 'E' && reply[1] == '.') return fmt::format("error: {}", shown(reply.substr(2)));
  return std::nullopt;
}

tl::expected<Endpoint, std::string> parse_endpoint(std::string_view text) {
  Endpoint e;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return tl::unexpected(fmt::format("'{}' is not HOST:PORT ([IPv6]:PORT for IPv6)", text));
    e.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon)
      return tl::unexpected(fmt::format("'{}' is not HOST:PORT ([IPv6]:PORT for IPv6)", text));
    e.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (e.host.empty() || port.empty() || ec != std::errc() || p != port.data() + port.size() || value == 0 ||
      value > 65535)
    return tl::unexpected(fmt::format("'{}' is not HOST:PORT with a port in 1..65535", text));
  e.port = std::string(port);
  return e;
}

// ---- connection ----------------------------------------------------------------------

Connection::Connection(int fd, std::string endpoint, const Options& options)
    : fd_(fd), endpoint_(std::move(endpoint)), options_(options) {}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

tl::expected<std::unique_ptr<Connection>, std::string> Connection::open(const std::string& endpoint,
                                                                        const Options& options) {
  auto ep = parse_endpoint(endpoint);
  if (!ep) return tl::unexpected(ep.error());
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = getaddrinfo(ep->host.c_str(), ep->port.c_str(), &hints, &res); rc != 0)
    return tl::unexpected(fmt::format("{}: cannot resolve host: {}", endpoint, gai_strerror(rc)));
  std::string last = "no address";
  const auto deadline = Clock::now() + options.connect_timeout;
  int fd = -1;
  for (addrinfo* a = res; a && fd < 0; a = a->ai_next) {
    const int s = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (s < 0) {
      last = std::strerror(errno);
      continue;
    }
    if (::connect(s, a->ai_addr, a->ai_addrlen) == 0) {
      fd = s;
      break;
    }
    if (errno != EINPROGRESS) {
      last = std::strerror(errno);
      ::close(s);
      continue;
    }
    pollfd p{s, POLLOUT, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const int n = poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (n == 0) {
      last = fmt::format("no answer within {}", seconds(options.connect_timeout));
      ::close(s);
      continue;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (n < 0 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      last = std::strerror(n < 0 ? errno : err);
      ::close(s);
      continue;
    }
    fd = s;
  }
  freeaddrinfo(res);
  if (fd < 0) return tl::unexpected(fmt::format("{}: cannot connect: {}", endpoint, last));
  const int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return std::unique_ptr<Connection>(new Connection(fd, endpoint, options));
}

std::string Connection::fail(std::string message) {
  if (broken_.empty()) broken_ = fmt::format("{}: {}", endpoint_, message);
  return broken_;
}

tl::expected<void, std::string> Connection::send_raw(std::string_view bytes, Clock::time_point deadline) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) == 0)
        return tl::unexpected(fail(fmt::format("cannot send within {}", seconds(options_.request_timeout))));
      continue;
    }
    return tl::unexpected(fail(fmt::format("connection lost while sending ({})", std::strerror(errno))));
  }
  return {};
}

// A stub that acks each packet ('+') and then writes its reply separately, without
// TCP_NODELAY (QEMU's gdbstub up to 7.2 at least, which offers no QStartNoAckMode), holds
// the reply back under Nagle's rule until the '+' is acknowledged; a delayed ACK (40 ms
// on Linux) would then stall the request. Acknowledging at once rules that out. The option
// is not sticky (tcp(7), TCP_QUICKACK): it is set again before each wait.
void Connection::quick_ack() {
#ifdef TCP_QUICKACK
  const int one = 1;
  (void)setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#endif
}

tl::expected<Decoded, std::string> Connection::next(Clock::time_point deadline) {
  while (true) {
    Decoded d = decode_packet(inbuf_, options_.max_reply);
    inbuf_.erase(0, d.consumed);
    if (d.kind != Decoded::Kind::NeedMore) return d;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    quick_ack();
    pollfd p{fd_, POLLIN, 0};
    const int n = left.count() > 0 ? poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return tl::unexpected(std::string("timeout"));
    if (n < 0) return tl::unexpected(fail(fmt::format("poll failed ({})", std::strerror(errno))));
    char buf[16384];
    const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
    if (got == 0) return tl::unexpected(std::string("closed"));
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return tl::unexpected(fail(fmt::format("connection lost ({})", std::strerror(errno))));
    }
    inbuf_.append(buf, static_cast<size_t>(got));
  }
}

void Connection::send_only(std::string_view data) {
  if (!broken()) {
    ++packets_sent_;
    (void)send_raw(encode_packet(data), Clock::now() + options_.request_timeout);
  }
}

tl::expected<std::string, std::string> Connection::request(std::string_view data) {
  if (broken()) return tl::unexpected(broken_);
  const std::string packet = encode_packet(data);
  const auto deadline = Clock::now() + options_.request_timeout;
  ++packets_sent_;
  if (auto s = send_raw(packet, deadline); !s) return tl::unexpected(s.error());
  unsigned naks = 0, bad = 0;
  while (true) {
    auto d = next(deadline);
    if (!d) {
      if (d.error() == "timeout")
        return tl::unexpected(
            fail(fmt::format("no reply to '{}' within {}", shown(data), seconds(options_.request_timeout))));
      if (d.error() == "closed")
        return tl::unexpected(fail(fmt::format("the stub closed the connection while '{}' was outstanding{}",
                                               shown(data), inbuf_.empty() ? "" : " (in the middle of a reply)")));
      return tl::unexpected(d.error());
    }
    switch (d->kind) {
      case Decoded::Kind::Ack:
      case Decoded::Kind::Notification:
      case Decoded::Kind::NeedMore:
        continue;
      case Decoded::Kind::Nak:
        if (no_ack_) continue;
        if (++naks > options_.retransmits)
          return tl::unexpected(fail(fmt::format("the stub rejected '{}' {} times", shown(data), naks)));
        ++packets_sent_;
        if (auto s = send_raw(packet, deadline); !s) return tl::unexpected(s.error());
        continue;
      case Decoded::Kind::Error:
        // With acks on, a bad checksum asks for the reply again ('-'); without, or after
        // the retries, the stream cannot be trusted any more.
        if (d->bad_checksum && !no_ack_ && ++bad <= options_.retransmits) {
          if (auto s = send_raw("-", deadline); !s) return tl::unexpected(s.error());
          continue;
        }
        return tl::unexpected(fail(fmt::format("{} (request '{}')", d->error, shown(data))));
      case Decoded::Kind::Packet:
        if (!no_ack_) {
          if (auto s = send_raw("+", deadline); !s) return tl::unexpected(s.error());
        }
        if (is_stop_reply(d->payload)) {
          if (stop_notices_.size() < 16) stop_notices_.push_back(d->payload);
          continue;
        }
        return std::move(d->payload);
    }
  }
}

// ---- target description ----------------------------------------------------------------

const RegisterInfo* TargetDescription::find(std::string_view name) const {
  for (const RegisterInfo& r : registers)
    if (r.name == name) return &r;
  return nullptr;
}

namespace {

std::optional<std::string> attribute(std::string_view tag, std::string_view name) {
  size_t pos = 0;
  while ((pos = tag.find(name, pos)) != std::string_view::npos) {
    const bool starts = pos > 0 && (tag[pos - 1] == ' ' || tag[pos - 1] == '\t' || tag[pos - 1] == '\n' ||
                                    tag[pos - 1] == '\r');
    size_t eq = pos + name.size();
    while (eq < tag.size() && tag[eq] == ' ') ++eq;
    if (starts && eq < tag.size() && tag[eq] == '=') {
      size_t q = eq + 1;
      while (q < tag.size() && tag[q] == ' ') ++q;
      if (q < tag.size() && (tag[q] == '"' || tag[q] == '\'')) {
        const size_t end = tag.find(tag[q], q + 1);
        if (end == std::string_view::npos) return std::nullopt;
        return std::string(tag.substr(q + 1, end - q - 1));
      }
      return std::nullopt;
    }
    pos += name.size();
  }
  return std::nullopt;
}

struct XmlWalk {
  const XmlFetcher& fetch;
  TargetDescription desc;
  unsigned next_number = 0;
  unsigned files = 0;
  size_t bytes = 0;

  tl::expected<void, std::string> file(const std::string& annex, unsigned depth) {
    if (depth > 8) return tl::unexpected(fmt::format("target description: includes nested too deep at {}", annex));
    if (++files > 32) return tl::unexpected(std::string("target description: more than 32 files"));
    auto text = fetch(annex);
    if (!text) return tl::unexpected(text.error());
    bytes += text->size();
    if (bytes > (1u << 20)) return tl::unexpected(std::string("target description: larger than 1 MiB"));
    const std::string& x = *text;
    size_t i = 0;
    while ((i = x.find('<', i)) != std::string::npos) {
      if (x.compare(i, 4, "<!--") == 0) {
        const size_t end = x.find("-->", i + 4);
        if (end == std::string::npos) return tl::unexpected(fmt::format("{}: unterminated comment", annex));
        i = end + 3;
        continue;
      }
      const size_t close = x.find('>', i);
      if (close == std::string::npos) return tl::unexpected(fmt::format("{}: unterminated tag", annex));
      const std::string_view tag(x.data() + i + 1, close - i - 1);
      size_t name_end = 0;
      while (name_end < tag.size() && tag[name_end] != ' ' && tag[name_end] != '/' && tag[name_end] != '\t' &&
             tag[name_end] != '\n' && tag[name_end] != '\r')
        ++name_end;
      const std::string_view element = tag.substr(0, name_end);
      if (element == "architecture") {
        const size_t end = x.find("</architecture>", close);
        if (end == std::string::npos) return tl::unexpected(fmt::format("{}: unterminated <architecture>", annex));
        desc.architecture = x.substr(close + 1, end - close - 1);
      } else if (element == "xi:include") {
        auto href = attribute(tag, "href");
        if (!href || href->empty() || href->find_first_of(":/") != std::string::npos)
          return tl::unexpected(fmt::format("{}: <xi:include> without a plain href", annex));
        if (auto r = file(*href, depth + 1); !r) return r;
      } else if (element == "reg") {
        auto name = attribute(tag, "name");
        auto bits = attribute(tag, "bitsize");
        if (!name || !bits) return tl::unexpected(fmt::format("{}: <reg> without name or bitsize", annex));
        unsigned bitsize = 0;
        auto [p, ec] = std::from_chars(bits->data(), bits->data() + bits->size(), bitsize);
        if (ec != std::errc() || p != bits->data() + bits->size() || bitsize == 0 || bitsize > 4096 || bitsize % 8)
          return tl::unexpected(fmt::format("{}: register {} has bitsize '{}'", annex, *name, *bits));
        if (auto num = attribute(tag, "regnum")) {
          unsigned n = 0;
          auto [q, ec2] = std::from_chars(num->data(), num->data() + num->size(), n);
          if (ec2 != std::errc() || q != num->data() + num->size() || n > 65535)
            return tl::unexpected(fmt::format("{}: register {} has regnum '{}'", annex, *name, *num));
          next_number = n;
        }
        if (desc.registers.size() >= 4096) return tl::unexpected(std::string("target description: too many registers"));
        desc.registers.push_back({*name, next_number++, bitsize, 0});
      }
      i = close + 1;
    }
    return {};
  }
};

}  // namespace

tl::expected<TargetDescription, std::string> parse_target_description(const std::string& root_annex,
                                                                     const XmlFetcher& fetch) {
  XmlWalk w{fetch, {}, 0, 0, 0};
  if (auto r = w.file(root_annex, 0); !r) return tl::unexpected(r.error());
  // The `g` packet holds the registers in number order, each bitsize/8 bytes.
  std::vector<RegisterInfo*> order;
  for (RegisterInfo& r : w.desc.registers) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->number < b->number; });
  unsigned offset = 0;
  for (RegisterInfo* r : order) {
    r->offset = offset;
    offset += r->bits / 8;
  }
  return std::move(w.desc);
}

// ---- the QEMU guest ----------------------------------------------------------------------

tl::expected<std::unique_ptr<QemuGdbstub>, std::string> QemuGdbstub::open(const std::string& endpoint,
                                                                          const Options& options) {
  auto conn = Connection::open(endpoint, options);
  if (!conn) return tl::unexpected(conn.error());
  std::unique_ptr<QemuGdbstub> stub(new QemuGdbstub(std::move(*conn)));
  if (auto r = stub->handshake(); !r) return tl::unexpected(r.error());  // the destructor tidies up
  return stub;
}

QemuGdbstub::~QemuGdbstub() { close(); }

tl::expected<std::string, std::string> QemuGdbstub::fetch_xml(const std::string& annex) {
  std::string text;
  // Each reply is 'm' (more follows) or 'l' (last) and the data; ask for what fits a packet.
  const size_t chunk = std::max<size_t>(packet_size_ - 16, 64);
  while (true) {
    auto r = conn_->request(fmt::format("qXfer:features:read:{}:{:x},{:x}", annex, text.size(), chunk));
    if (!r) return tl::unexpected(r.error());
    if (auto e = error_reply(*r))
      return tl::unexpected(fmt::format("{}: the stub cannot give {} ({})", endpoint(), annex, *e));
    if (r->empty() || ((*r)[0] != 'm' && (*r)[0] != 'l'))
      return tl::unexpected(fmt::format("{}: malformed reply '{}' reading {}", endpoint(), shown(*r), annex));
    text.append(*r, 1);
    if ((*r)[0] == 'l') return text;
    if (r->size() == 1)
      return tl::unexpected(fmt::format("{}: the stub sent an empty 'm' chunk reading {}", endpoint(), annex));
    if (text.size() > (1u << 20)) return tl::unexpected(fmt::format("{}: {} is larger than 1 MiB", endpoint(), annex));
  }
}

tl::expected<void, std::string> QemuGdbstub::handshake() {
  auto sup = conn_->request("qSupported:multiprocess+;xmlRegisters=i386");
  if (!sup) return tl::unexpected(sup.error());
  // QEMU stops a running VM when a debugger connects and says so with a stop reply sent
  // before anything else (gdbstub's chardev "opened" event calls vm_stop); an already
  // stopped VM sends none. That tells close() whether to resume.
  halted_on_attach_ = !conn_->stop_notices().empty();
  bool xml = false, no_ack = false;
  std::string_view rest = *sup;
  while (!rest.empty()) {
    const size_t semi = rest.find(';');
    const std::string_view f = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    if (f.starts_with("PacketSize=")) {
      auto v = parse_hex(f.substr(11));
      if (!v || *v < 64)
        return tl::unexpected(fmt::format("{}: malformed qSupported reply ('{}')", endpoint(), shown(f)));
      // Honour the stub's size, within our own bound on replies.
      packet_size_ = static_cast<size_t>(std::min<uint64_t>(*v, 1u << 16));
    } else if (f == "qXfer:features:read+") {
      xml = true;
    } else if (f == "QStartNoAckMode+") {
      no_ack = true;
    } else if (f == "multiprocess+") {
      multiprocess_ = true;
    }
  }
  if (no_ack) {
    auto r = conn_->request("QStartNoAckMode");
    if (!r) return tl::unexpected(r.error());
    if (*r == "OK") conn_->set_no_ack(true);
  }
  if (!xml)
    return tl::unexpected(fmt::format("{}: the stub gives no target description (qXfer:features:read), so the "
                                      "control registers cannot be found",
                                      endpoint()));
  auto desc = parse_target_description("target.xml", [this](const std::string& annex) { return fetch_xml(annex); });
  if (!desc) return tl::unexpected(desc.error().starts_with(endpoint()) ? desc.error()
                                                                        : fmt::format("{}: {}", endpoint(), desc.error()));
  desc_ = std::move(*desc);
  if (auto r = read_registers(); !r) return r;

  auto mode = conn_->request("Qqemu.PhyMemMode:1");
  if (!mode) return tl::unexpected(mode.error());
  if (*mode != "OK")
    return tl::unexpected(fmt::format("{}: the stub has no physical-memory mode (Qqemu.PhyMemMode:1 answered '{}'); "
                                      "only QEMU's gdbstub is supported",
                                      endpoint(), shown(*mode)));
  phymem_on_ = true;
  auto check = conn_->request("qqemu.PhyMemMode");
  if (!check) return tl::unexpected(check.error());
  if (*check != "1")
    return tl::unexpected(fmt::format("{}: the stub did not switch to physical-memory mode (qqemu.PhyMemMode "
                                      "answered '{}')",
                                      endpoint(), shown(*check)));
  cache_.resize(kCachedPages);
  return {};
}

tl::expected<void, std::string> QemuGdbstub::read_registers() {
  // The registers that say how each vCPU pages, by the stub's names and by CpuState's: x86's
  // control registers (gdb-xml/i386-64bit.xml), or AArch64's system registers (QEMU's
  // generated system-registers.xml, upper-case cpreg names).
  struct Wanted {
    const char* stub_name;
    const char* name;
    bool required;
  };
  using R = x86::CpuRegisterNames;
  using A = arm64::RegisterNames;
  const bool aarch64 = desc_.architecture == "aarch64";
  const bool x86_64 = desc_.architecture == "i386:x86-64";
  const std::vector<Wanted> wanted =
      aarch64 ? std::vector<Wanted>{{"TTBR0_EL1", A::kTtbr0, true}, {"TTBR1_EL1", A::kTtbr1, true},
                                    {"TCR_EL1", A::kTcr, true},     {"SCTLR_EL1", A::kSctlr, false},
                                    {"MAIR_EL1", A::kMair, false},  {"pc", "pc", false},
                                    {"sp", "sp", false}}
              : std::vector<Wanted>{{"cr0", R::kCr0, true},   {"cr2", R::kCr2, false},
                                    {"cr3", R::kCr3, true},   {"cr4", R::kCr4, true},
                                    {"efer", R::kEfer, false}, {x86_64 ? "rip" : "eip", R::kRip, false},
                                    {x86_64 ? "rsp" : "esp", R::kRsp, false}};
  std::vector<std::pair<const RegisterInfo*, const char*>> regs;
  for (const Wanted& w : wanted) {
    const RegisterInfo* reg = desc_.find(w.stub_name);
    if (!reg && w.required)
      return tl::unexpected(fmt::format(
          "{}: the target description ({}) names no {} register{}", endpoint(),
          desc_.architecture.empty() ? "no architecture" : desc_.architecture, w.stub_name,
          aarch64 ? " (QEMU 5.2 or later exposes AArch64's system registers)" : " (cr0/cr3/cr4 are needed)"));
    if (reg) regs.emplace_back(reg, w.name);
  }
  const bool has_efer = !aarch64 && desc_.find("efer");

  // Threads are vCPUs: "m01,02" lists, then "l"; multiprocess ids look like "p01.02".
  std::vector<std::string> threads;
  for (std::string q = "qfThreadInfo";; q = "qsThreadInfo") {
    auto r = conn_->request(q);
    if (!r) return tl::unexpected(r.error());
    if (r->empty() || (*r)[0] == 'l') break;
    if ((*r)[0] != 'm') return tl::unexpected(fmt::format("{}: malformed reply '{}' to {}", endpoint(), shown(*r), q));
    std::string_view list = std::string_view(*r).substr(1);
    while (!list.empty()) {
      const size_t comma = list.find(',');
      threads.emplace_back(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
    if (threads.size() > 4096) return tl::unexpected(fmt::format("{}: more than 4096 threads", endpoint()));
  }
  if (threads.empty()) threads.emplace_back();  // a stub without thread support: one CPU
  // One expression: GCC 12 at -O3 warns falsely (-Wrestrict) on assigning a literal here.
  const size_t dot = threads[0].find('.');
  pid_ = !threads[0].empty() && threads[0][0] == 'p'
             ? threads[0].substr(1, dot == std::string::npos ? std::string::npos : dot - 1)
             : std::string(1, '1');

  for (size_t i = 0; i < threads.size(); ++i) {
    const std::string& t = threads[i];
    if (!t.empty()) {
      auto r = conn_->request("Hg" + t);
      if (!r) return tl::unexpected(r.error());
      if (*r != "OK")
        return tl::unexpected(fmt::format("{}: cannot select thread {} (Hg answered '{}')", endpoint(), t, shown(*r)));
    }
    std::optional<std::string> all;  // the `g` reply, fetched when `p` is not supported
    auto value = [&](const RegisterInfo& reg) -> tl::expected<uint64_t, std::string> {
      const size_t bytes = reg.bits / 8;
      auto r = conn_->request(fmt::format("p{:x}", reg.number));
      if (!r) return tl::unexpected(r.error());
      std::string hex = *r;
      if (hex.empty()) {
        if (!all) {
          auto g = conn_->request("g");
          if (!g) return tl::unexpected(g.error());
          all = *g;
        }
        if (all->size() < 2 * (reg.offset + bytes))
          return tl::unexpected(fmt::format("{}: the stub reads neither register {} ('p') nor all registers ('g')",
                                            endpoint(), reg.name));
        hex = all->substr(2 * reg.offset, 2 * bytes);
      }
      if (auto e = error_reply(hex))
        return tl::unexpected(fmt::format("{}: cannot read register {} of thread {} ({})", endpoint(), reg.name, t, *e));
      if (hex.size() != 2 * bytes || (bytes > 8 && hex.find_first_not_of('0', 16) != std::string::npos))
        return tl::unexpected(fmt::format("{}: malformed value '{}' for register {}", endpoint(), shown(hex), reg.name));
      // Target byte order: little-endian on x86.
      uint64_t v = 0;
      for (size_t b = std::min<size_t>(bytes, 8); b-- > 0;) {
        const int hi = hex_digit(hex[2 * b]), lo = hex_digit(hex[2 * b + 1]);
        if (hi < 0 || lo < 0)
          return tl::unexpected(
              fmt::format("{}: register {} is unavailable or malformed ('{}')", endpoint(), reg.name, shown(hex)));
        v = v << 8 | static_cast<uint64_t>(hi << 4 | lo);
      }
      return v;
    };
    CpuState c;
    c.index = static_cast<unsigned>(i);
    c.arch = aarch64 ? arm64::kArchitecture.name() : x86::architecture().name();
    for (const auto& [reg, name] : regs) {
      auto v = value(*reg);
      if (!v) return tl::unexpected(v.error());
      c.set(name, *v);
    }
    // EFER.LMA says whether the vCPU is in long mode; a 32-bit description without EFER is not.
    if (!aarch64 && !has_efer) c.set(R::kLongMode, 0);
    c.source = t.empty() ? "gdbstub" : fmt::format("gdbstub thread {}", t);
    cpus_.push_back(std::move(c));
  }
  return {};
}

std::optional<std::string> QemuGdbstub::transport_error() const {
  if (conn_->broken()) return conn_->broken_reason();
  return std::nullopt;
}

void QemuGdbstub::close() {
  if (closed_) return;
  closed_ = true;
  if (conn_->broken()) return;
  if (phymem_on_) (void)conn_->request("Qqemu.PhyMemMode:0");
  // Detaching resumes the VM (QEMU's handle_detach continues it), so only when attaching
  // was what stopped it.
  if (halted_on_attach_) (void)conn_->request(multiprocess_ ? "D;" + pid_ : "D");
}

std::vector<PhysRange> QemuGdbstub::ranges() const { return {{PhysAddr(0), uint64_t{1} << 52}}; }

tl::expected<void, ReadError> QemuGdbstub::read_uncached(PhysAddr pa, std::span<std::byte> out) {
  // GDB itself asks for PacketSize/2 bytes per `m`: the hex reply then fills one packet.
  const size_t chunk = std::max<size_t>(std::min(packet_size_, size_t{1} << 15) / 2, 16);
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t at = pa.value() + done;
    const size_t want = std::min(chunk, out.size() - done);
    auto r = conn_->request(fmt::format("m{:x},{:x}", at, want));
    if (!r) return tl::unexpected(ReadError{PhysAddr(at), r.error()});
    if (auto e = error_reply(*r))
      return tl::unexpected(ReadError{PhysAddr(at), fmt::format("the gdbstub cannot read it ({})", *e)});
    // A shorter reply is a partial read; an empty one means nothing could be read.
    if (r->empty() || r->size() % 2 || r->size() > 2 * want)
      return tl::unexpected(ReadError{PhysAddr(at), fmt::format("malformed memory reply '{}'", shown(*r))});
    for (size_t i = 0; i < r->size(); i += 2) {
      const int hi = hex_digit((*r)[i]), lo = hex_digit((*r)[i + 1]);
      if (hi < 0 || lo < 0)
        return tl::unexpected(ReadError{PhysAddr(at), fmt::format("malformed memory reply '{}'", shown(*r))});
      out[done + i / 2] = static_cast<std::byte>(hi << 4 | lo);
    }
    done += r->size() / 2;
  }
  return {};
}

tl::expected<const std::byte*, ReadError> QemuGdbstub::page(uint64_t frame) {
  CachedPage& slot = cache_[frame % cache_.size()];
  if (slot.frame == frame) return slot.data.get();
  if (!slot.data) slot.data = std::make_unique<std::byte[]>(kPage);
  slot.frame.reset();
  if (auto r = read_uncached(PhysAddr(frame * kPage), {slot.data.get(), kPage}); !r) return tl::unexpected(r.error());
  slot.frame = frame;
  return slot.data.get();
}

// One `m` packet for the bytes alone, instead of the two a whole page takes.
tl::expected<void, ReadError> QemuGdbstub::peek(PhysAddr pa, std::span<std::byte> out) {
  if (cache_.empty()) return tl::unexpected(ReadError{pa, "the gdbstub connection is not open"});
  return read_uncached(pa, out);
}

tl::expected<void, ReadError> QemuGdbstub::read(PhysAddr pa, std::span<std::byte> out) {
  if (cache_.empty()) return tl::unexpected(ReadError{pa, "the gdbstub connection is not open"});
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t at = pa.value() + done;
    const uint64_t off = at % kPage;
    const size_t n = std::min<size_t>(out.size() - done, kPage - off);
    auto p = page(at / kPage);
    if (p) {
      std::memcpy(out.data() + done, *p + off, n);
    } else {
      if (conn_->broken()) return tl::unexpected(p.error());
      // Part of the page may still be readable: ask for exactly the bytes wanted.
      if (auto r = read_uncached(PhysAddr(at), out.subspan(done, n)); !r) return r;
    }
    done += n;
  }
  return {};
}

}  // namespace pagewalk::gdb
