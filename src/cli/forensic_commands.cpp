#include "cli/forensic_commands.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/errors.hpp"
#include "cli/help.hpp"
#include "cli/io.hpp"
#include "cli/numbers.hpp"
#include "cli/render.hpp"
#include "core/search.hpp"
#include "core/virtual_memory.hpp"
#include "cli/live_commands.hpp"
#include "linux/layout.hpp"
#include "linux/reverse_map.hpp"
#include "linux/tasks.hpp"
#include "linux/struct_page.hpp"
#include "linux/modules.hpp"
#include "linux/vmas.hpp"
#include "live/kpage.hpp"
#include "live/process.hpp"
#include "target/forensics.hpp"

namespace pagewalk::cli {
namespace {

constexpr uint64_t kDefaultReadBytes = 64;
constexpr uint64_t kMaxStringBytes = 4096;

// A byte of memory as C writes it in a string literal (x/s): printable ASCII as itself,
// the usual escapes, everything else as \xNN.
void append_c_char(std::string& out, unsigned char c) {
  switch (c) {
    case '\n': out += "\\n"; return;
    case '\t': out += "\\t"; return;
    case '\r': out += "\\r"; return;
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    default: break;
  }
  if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
  else fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
}

// Bytes as two lowercase hex digits each (JSON's "bytes").
std::string hex_bytes(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[c >> 4];
    out[2 * i + 1] = kDigits[c & 0xf];
  }
  return out;
}

// Where the bytes come from, said once at the top of the text form.
struct ReadPlace {
  std::string description;
  bool virtual_space = true;
};

// Writes the pieces of a read in the chosen form as they arrive.
class ReadPrinter {
 public:
  ReadPrinter(const ReadArgs& a, Output& out, int raw_fd) : a_(a), out_(out), raw_fd_(raw_fd), w_(out.buf()) {}

  void begin(const ReadPlace& place, uint64_t addr, uint64_t size, const std::function<void(JsonWriter&)>& head) {
    addr_ = addr;
    virtual_space_ = place.virtual_space;
    if (a_.f.json) {
      w_.record("read");
      head(w_);
      w_.key("space").str(place.virtual_space ? "virtual" : "physical").key("address").hex(addr).key("size").num(size);
      w_.key("pieces").array();
    } else if (a_.f.human() && !a_.f.no_header && raw_fd_ < 0 && !a_.string) {
      fmt::format_to(std::back_inserter(out_.buf()), "# {}\n", place.description);
    }
  }

  bool piece(const MemoryPiece& p) {
    if (!p.read()) unread_ = true;
    if (a_.f.any_json()) return json_piece(p);
    if (raw_fd_ >= 0) return raw_piece(p);
    if (a_.string) return string_piece(p);
    text_piece(p);
    out_.maybe_flush();
    return true;
  }

  // Ends the output; returns the exit status.
  int finish() {
    if (a_.string && !a_.f.any_json()) {
      std::string& o = out_.buf();
      fmt::format_to(std::back_inserter(o), "0x{:x}: \"", addr_);
      for (const unsigned char c : text_) append_c_char(o, c);
      o += '"';
      if (!terminated_) o += unread_ ? fmt::format("  (cut: {})", string_error_) : std::string("  (no NUL within the length)");
      o += '\n';
    } else if (!line_.empty()) {
      flush_line();
    }
    if (a_.f.json) {
      w_.end();
      if (a_.string) w_.key("string").str(text_).key("terminated").boolean(terminated_);
      w_.end().newline();
    }
    w_.sync();
    out_.flush();
    return unread_ && !(a_.string && terminated_) ? kSomeUnmapped : kAllMapped;
  }

 private:
  bool json_piece(const MemoryPiece& p) {
    std::string_view bytes(reinterpret_cast<const char*>(p.bytes.data()), p.bytes.size());
    bool go_on = true;
    if (a_.string && p.read()) {
      const size_t nul = bytes.find('\0');
      if (nul != std::string_view::npos) bytes = bytes.substr(0, nul + 1), terminated_ = true, go_on = false;
      text_.append(bytes.substr(0, terminated_ ? bytes.size() - 1 : bytes.size()));
    }
    if (a_.f.jsonl) w_.record("read");
    else w_.object();
    const uint64_t size = p.read() ? bytes.size() : p.size;
    w_.key("start").hex(p.addr).key("end").range_end(p.addr, size);
    if (p.pa) w_.key("pa").hex(p.pa->value());
    w_.key("status").str(p.read() ? "read" : "unreadable");
    if (p.read()) {
      w_.key("bytes").str(hex_bytes(bytes));
    } else {
      w_.key("reason").str(p.error);
    }
    w_.end();
    if (a_.f.jsonl) w_.newline();
    flush_when_full(out_, w_);
    return go_on && (p.read() || !a_.string);
  }

  bool raw_piece(const MemoryPiece& p) {
    // Unreadable pages are written as zeros, so that file offsets stay address offsets;
    // each such run is named on stderr.
    static const std::array<std::byte, 4096> zeros{};
    if (!p.read())
      fmt::print(stderr, "pagewalk: 0x{:x}..0x{:x} ({} bytes) written as zeros: {}\n", p.addr, p.addr + p.size, p.size,
                 p.error);
    uint64_t left = p.size;
    const std::byte* src = p.read() ? p.bytes.data() : zeros.data();
    while (left) {
      const size_t n = std::min<uint64_t>(left, p.read() ? left : zeros.size());
      const ssize_t wrote = ::write(raw_fd_, src, n);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) throw CliError(kTargetError, fmt::format("cannot write the bytes: {}", std::strerror(errno ? errno : EIO)));
      left -= static_cast<uint64_t>(wrote);
      if (p.read()) src += wrote;
    }
    return true;
  }

  bool string_piece(const MemoryPiece& p) {
    if (!p.read()) {
      string_error_ = fmt::format("0x{:x}: {}", p.addr, p.error);
      return false;
    }
    const std::string_view bytes(reinterpret_cast<const char*>(p.bytes.data()), p.bytes.size());
    const size_t nul = bytes.find('\0');
    text_.append(bytes.substr(0, nul));
    if (nul != std::string_view::npos) terminated_ = true;
    return !terminated_;
  }

  // Hexdump or words, 16 bytes a line from the first address; a line is cut where a run
  // of unreadable bytes begins, and the run gets a line of its own.
  void text_piece(const MemoryPiece& p) {
    if (!p.read()) {
      if (!line_.empty()) flush_line();
      fmt::format_to(std::back_inserter(out_.buf()), "0x{:016x}  ({} bytes to 0x{:x}: {})\n", p.addr, p.size,
                     p.addr + p.size, p.error);
      return;
    }
    // A page that is not where the one before it ended is named with its frame.
    if (p.pa && (!last_pa_end_ || *last_pa_end_ != p.pa->value()) && virtual_space_ && !a_.f.no_header) {
      if (!line_.empty() && line_start_ + line_.size() != p.addr) flush_line();
      notes_.push_back(fmt::format("# 0x{:x} is at PA 0x{:x}", p.addr, p.pa->value()));
    }
    if (p.pa) last_pa_end_ = p.pa->value() + p.size;
    for (size_t i = 0; i < p.bytes.size(); ++i) {
      if (line_.empty()) line_start_ = p.addr + i;
      line_.push_back(static_cast<unsigned char>(p.bytes[i]));
      if (line_.size() == 16) flush_line();
    }
  }

  void flush_line() {
    std::string& o = out_.buf();
    for (const std::string& n : notes_) o += n, o += '\n';
    notes_.clear();
    fmt::format_to(std::back_inserter(o), "0x{:016x} ", line_start_);
    if (a_.words) {
      for (size_t i = 0; i + a_.words <= line_.size(); i += a_.words) {
        uint64_t v = 0;
        for (unsigned b = a_.words; b-- > 0;) v = (v << 8) | line_[i + b];  // little-endian (x86, arm64 Linux)
        fmt::format_to(std::back_inserter(o), " 0x{:0{}x}", v, a_.words * 2);
      }
    } else {
      for (size_t i = 0; i < 16; ++i) {
        if (i == 8) o += ' ';
        if (i < line_.size()) fmt::format_to(std::back_inserter(o), " {:02x}", line_[i]);
        else o += "   ";
      }
      o += "  |";
      for (const unsigned char c : line_) o += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.';
      o += '|';
    }
    o += '\n';
    line_.clear();
  }

  const ReadArgs& a_;
  Output& out_;
  int raw_fd_;
  JsonWriter w_;
  uint64_t addr_ = 0;
  bool unread_ = false, terminated_ = false, virtual_space_ = true;
  std::string text_, string_error_;
  std::vector<unsigned char> line_;
  uint64_t line_start_ = 0;
  std::optional<uint64_t> last_pa_end_;
  std::vector<std::string> notes_;
};

int cmd_read(const ReadArgs& a) {
  if (a.addr.empty()) throw CliError(kBadInput, "read: give an address (a VA, or a PA with --phys)");
  if (a.words && a.string) throw CliError(kBadInput, "read: --words and --string are two forms; give one");
  if (a.f.delimited()) throw CliError(kBadInput, "read: bytes have no table form; give --json, --jsonl or --raw FILE");
  if (!a.raw.empty() && (a.words || a.string || !a.f.human()))
    throw CliError(kBadInput, "read: --raw writes the bytes themselves; it takes no other form (--words, --string, JSON)");
  if (a.words && a.words != 1 && a.words != 2 && a.words != 4 && a.words != 8)
    throw CliError(kBadInput, fmt::format("read: --words {} is no word size (1, 2, 4 or 8)", a.words));
  if (a.phys && a.target.live())
    throw CliError(kBadInput, "read --phys needs physical memory: give --image, --qemu or --kcore");
  precheck_address(a.addr, a.phys ? "PA" : "VA");
  const uint64_t size = a.length.empty() ? (a.string ? kMaxStringBytes : kDefaultReadBytes)
                                         : count_arg(a.length, "--length");
  if (size == 0) throw CliError(kBadInput, "read: --length 0 reads nothing");
  if (a.words && size % a.words)
    throw CliError(kBadInput, fmt::format("read: --length {} is not a whole number of {}-byte words", size, a.words));

  int raw_fd = -1;
  auto close_raw = [&] {
    if (raw_fd > STDERR_FILENO) ::close(raw_fd);
  };
  auto open_raw = [&] {
    if (a.raw.empty()) return;
    if (a.raw == "-") {
      if (isatty(STDOUT_FILENO)) throw CliError(kBadInput, "read --raw -: stdout is a terminal; redirect it or name a file");
      raw_fd = STDOUT_FILENO;
      return;
    }
    // A new file only: nothing the user already has is overwritten.
    raw_fd = ::open(a.raw.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (raw_fd < 0)
      throw CliError(errno == EEXIST ? kBadInput : kTargetError,
                     fmt::format("--raw {}: {}{}", a.raw, std::strerror(errno),
                                 errno == EEXIST ? " (read writes new files only)" : ""));
  };

  Output out;
  auto check_span = [&](uint64_t addr) {
    if (size - 1 > ~uint64_t{0} - addr)
      throw CliError(kBadInput, fmt::format("read: 0x{:x} + {} bytes runs past the end of the address space", addr, size));
  };

  if (a.target.live()) {
    auto pid = live::parse_pid(a.target.pid);
    if (!pid) throw CliError(kBadInput, pid.error());
    const uint64_t va = target_address(a.addr, "VA", nullptr);
    check_span(va);
    open_raw();
    ReadPrinter p(a, out, raw_fd);
    p.begin({fmt::format("pid {} ({}) through /proc/{}/mem", *pid, live::comm_of(*pid), *pid), true}, va, size,
            [&](JsonWriter& w) {
              write_target(w, "live", fmt::format("/proc/{}/mem", *pid), "Linux /proc/PID/mem");
              write_process(w, *pid, live::comm_of(*pid));
            });
    auto r = live::read_process_memory(*pid, VirtAddr(va), size, [&](const MemoryPiece& piece) { return p.piece(piece); });
    const int rc = p.finish();
    close_raw();
    if (!r) throw CliError(kTargetError, r.error().message);
    return rc;
  }
  if (!a.target.given())
    throw CliError(kBadInput, "read: give a target (--image, --qemu, --kcore, or --pid for a live process)");

  if (a.phys) {
    std::unique_ptr<Source> source = open_source(a.target);
    const uint64_t pa = target_address(a.addr, "PA", nullptr);
    check_span(pa);
    open_raw();
    ReadPrinter p(a, out, raw_fd);
    p.begin({fmt::format("{}: physical memory", source->name()), false}, pa, size,
            [&](JsonWriter& w) { write_target(w, *source); });
    read_physical_pieces(source->memory(), PhysAddr(pa), size, [&](const MemoryPiece& piece) { return p.piece(piece); });
    const int rc = p.finish();
    close_raw();
    check_source(*source);
    return rc;
  }

  Target t = open_target(a.target);
  const uint64_t va = target_address(a.addr, "VA", t.kernel.get());
  check_span(va);
  open_raw();
  TableReader reader(t.memory());
  VirtualMemory vm(t.paging, reader, t.views.front().roots);
  ReadPrinter p(a, out, raw_fd);
  p.begin({t.description, true}, va, size, [&](JsonWriter& w) {
    write_target(w, *t.source);
    if (t.process) write_process(w, t.process->pid, t.process->comm);
    w.key("mode").str(t.paging.mode->name).key("root").hex(t.roots[0].value());
  });
  read_virtual_pieces(vm, VirtAddr(va), size, [&](const MemoryPiece& piece) { return p.piece(piece); });
  const int rc = p.finish();
  close_raw();
  check_source(*t.source);
  return rc;
}

// The physical addresses a ptov asks about: PA, --pfn N, or one per stdin line with "-".
std::vector<PhysAddr> ptov_queries(const PtovArgs& a) {
  if (a.pa.empty() == a.pfn.empty()) throw CliError(kBadInput, "ptov: give a physical address, --pfn N or - (one of them)");
  std::vector<PhysAddr> pas;
  if (!a.pfn.empty()) {
    const uint64_t pfn = address_arg(a.pfn, "--pfn");
    if (pfn > (~uint64_t{0} >> 12)) throw CliError(kBadInput, fmt::format("--pfn 0x{:x} is above the largest frame", pfn));
    pas.push_back(PhysAddr(pfn << 12));
  } else if (a.pa == "-") {
    require_stdin();
    bool bad = false;
    for_each_stdin_line([&](std::string_view line) {
      auto v = parse_address(line);
      if (!v) {
        fmt::print(stderr, "pagewalk: {}\n", v.error());
        bad = true;
        return;
      }
      pas.push_back(PhysAddr(*v));
    });
    if (bad) throw CliError(kBadInput, "ptov: some physical addresses on stdin are malformed (named above); nothing scanned");
  } else {
    pas.push_back(PhysAddr(address_arg(a.pa, "PA")));
  }
  return pas;
}

// The mappers of each asked PA, in every output form: ptov's queries and search's hits.
// Without a kernel (`k` null: a search of memory no Linux knowledge covers), the PAs alone.
class MapperPrinter {
 public:
  // `bare_lines`: a PA nothing maps still gets its --jsonl line and table row (search's
  // hits are answers of their own; ptov's lines are mappers).
  MapperPrinter(const OutputFormat& f, Output& out, JsonWriter& w, const char* command, linux_kernel::LinuxKernel* k,
                bool bare_lines = false)
      : f_(f), out_(out), w_(w), command_(command), k_(k), bare_lines_(bare_lines), table_(out.buf(), f.table) {
    if (k_) regions_ = k_->layout();
  }

  void table_header() {
    if (f_.delimited() && !f_.no_header)
      table_.header({"pa", "pfn", "space", "pid", "comm", "va", "page_size", "level", "entry", "region"});
  }

  // The answers for pas[i], with r's mappers (sorted by query) when there is a kernel.
  void print(std::span<const PhysAddr> pas, const linux_kernel::ReverseMapResult* r) {
    std::vector<size_t> found(pas.size(), 0);
    if (r)
      for (const auto& m : r->mappers) ++found[m.query];
    size_t next = 0;
    std::string& o = out_.buf();
    for (size_t qi = 0; qi < pas.size(); ++qi) {
      const uint64_t pa = pas[qi].value();
      if (f_.json) w_.object().key("pa").hex(pa).key("pfn").hex(pa >> 12).key("mappers").array();
      const bool bare = !r || (bare_lines_ && found[qi] == 0);
      if (f_.jsonl && bare) w_.record(command_).key("pa").hex(pa).key("pfn").hex(pa >> 12).end().newline();
      if (f_.delimited() && bare) table_.hex(pa).hex(pa >> 12).end();
      if (f_.human())
        fmt::format_to(std::back_inserter(o), "{}PA 0x{:x} (PFN 0x{:x}){}\n", qi && r ? "\n" : "", pa, pa >> 12,
                       r ? fmt::format(": {} mapping(s)", found[qi]) : "");
      for (; r && next < r->mappers.size() && r->mappers[next].query == qi; ++next) {
        const auto& m = r->mappers[next];
        if (f_.any_json()) {
          if (f_.jsonl) w_.record(command_).key("pa").hex(pa).key("pfn").hex(pa >> 12);
          else w_.object();
          write_mapper(m);
          w_.end();
          if (f_.jsonl) w_.newline();
        } else if (f_.delimited()) {
          table_.hex(pa).hex(pa >> 12).str(m.pid ? "process" : "kernel");
          if (m.pid) table_.num(static_cast<uint64_t>(*m.pid)).str(m.comm);
          else table_.empty().empty();
          table_.hex(m.va.value()).num(m.page_size).str(level_name(m)).hex(m.raw).str(region_id_of(m)).end();
        } else {
          const std::string who = m.pid ? fmt::format("{:<8} {:<16}", *m.pid, m.comm) : fmt::format("{:<25}", "kernel");
          const auto sym = symbol_of(m);
          fmt::format_to(std::back_inserter(o), "  {} 0x{:016x} {:>5}  {:<4} {:<12} {}{}\n", who, m.va.value(),
                         human_size(m.page_size), level_name(m), access_string(m.access), region_name_of(m),
                         sym ? fmt::format(" ({})", *sym) : "");
        }
      }
      if (f_.json) w_.end().end();
      if (f_.any_json()) flush_when_full(out_, w_);
      else out_.maybe_flush();  // the JSON writer flushes its own room
    }
  }

 private:
  [[nodiscard]] std::string_view level_name(const linux_kernel::FrameMapper& m) const {
    return k_->paging.mode->region_tree(m.region).levels[m.level].linux_name;
  }
  [[nodiscard]] const linux_kernel::Region* region_of(const linux_kernel::FrameMapper& m) const {
    if (m.pid || !regions_) return nullptr;
    return &linux_kernel::classify(*regions_, m.va.value());
  }
  [[nodiscard]] std::string_view region_id_of(const linux_kernel::FrameMapper& m) const {
    const auto* r = region_of(m);
    return r ? linux_kernel::region_id(r->kind) : std::string_view();
  }
  [[nodiscard]] std::string_view region_name_of(const linux_kernel::FrameMapper& m) const {
    const auto* r = region_of(m);
    return r ? std::string_view(r->name) : std::string_view();
  }
  [[nodiscard]] std::optional<std::string> symbol_of(const linux_kernel::FrameMapper& m) const {
    return m.pid ? std::nullopt : k_->name_of(m.va.value());
  }
  void write_mapper(const linux_kernel::FrameMapper& m) {
    if (m.pid) w_.key("pid").num(*m.pid).key("comm").str(m.comm);
    w_.key("space").str(m.pid ? "process" : "kernel").key("va").hex(m.va.value());
    w_.key("page_size").num(m.page_size).key("level").str(level_name(m)).key("entry").hex(m.raw).key("access");
    write_access(w_, m.access);
    if (const auto* r = region_of(m)) w_.key("region").str(linux_kernel::region_id(r->kind));
    if (auto sym = symbol_of(m)) w_.key("symbol").str(*sym);
  }

  const OutputFormat& f_;
  Output& out_;
  JsonWriter& w_;
  const char* command_;
  linux_kernel::LinuxKernel* k_;
  bool bare_lines_;
  DelimitedWriter table_;
  tl::expected<std::vector<linux_kernel::Region>, std::string> regions_ = tl::unexpected(std::string());
};

// The kernel's task list (its warnings on stderr), with --pid checked against it.
linux_kernel::TaskList kernel_tasks(linux_kernel::LinuxKernel& k, const linux_kernel::TaskLayout& tl,
                                    std::optional<int32_t> only) {
  auto tasks = target::task_list(k, tl, only);
  if (!tasks) raise(tasks.error());
  for (const std::string& w : tasks->warnings) fmt::print(stderr, "pagewalk: warning: {}\n", w);
  return std::move(*tasks);
}

// The reverse map's options for --pid, with progress on a terminal.
linux_kernel::ReverseMapOptions reverse_map_options(std::optional<int32_t> only) {
  linux_kernel::ReverseMapOptions ro;
  ro.pid = only;
  if (isatty(STDERR_FILENO))
    ro.progress = [](size_t done, size_t total) { fmt::print(stderr, "\r  {}/{} address spaces ", done, total); };
  return ro;
}

// Clears the progress line reverse_map_options' progress wrote.
void end_progress(const linux_kernel::ReverseMapOptions& ro) {
  if (ro.progress) fmt::print(stderr, "\r\033[K");
}


// ---- search ----------------------------------------------------------------------------

// A string argument's bytes: C's escapes \n \t \r \0 \\ and \xNN, everything else as given.
std::string unescape_pattern(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char c = text[++i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case '\\': out += '\\'; break;
      case 'x': {
        const unsigned hi = i + 1 < text.size() ? kHexDigitValue[static_cast<unsigned char>(text[i + 1])] : 16;
        const unsigned lo = i + 2 < text.size() ? kHexDigitValue[static_cast<unsigned char>(text[i + 2])] : 16;
        if (hi > 15 || lo > 15) throw CliError(kBadInput, "search: \\x needs two hex digits");
        out += static_cast<char>(hi << 4 | lo);
        i += 2;
        break;
      }
      default: throw CliError(kBadInput, fmt::format("search: unknown escape \\{} (known: \\n \\t \\r \\0 \\\\ \\xNN)", c));
    }
  }
  return out;
}

std::string hex_pattern(const std::string& text) {
  std::string digits;
  for (const char c : text)
    if (c != ' ' && c != ':') digits += c;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) digits.erase(0, 2);
  if (digits.empty() || digits.size() % 2)
    throw CliError(kBadInput, fmt::format("search --hex '{}': give whole bytes as hex pairs (\"48 65 6c\")", shown_input(text)));
  std::string out;
  for (size_t i = 0; i < digits.size(); i += 2) {
    const unsigned hi = kHexDigitValue[static_cast<unsigned char>(digits[i])];
    const unsigned lo = kHexDigitValue[static_cast<unsigned char>(digits[i + 1])];
    if (hi > 15 || lo > 15) throw CliError(kBadInput, fmt::format("search --hex '{}': not hex", shown_input(text)));
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

int cmd_search(const SearchArgs& a) {
  const int given = !a.text.empty() + !a.hex.empty() + !a.u64.empty() + !a.u32.empty();
  if (given != 1) throw CliError(kBadInput, "search: give one pattern: TEXT, --hex BYTES, --u64 VALUE or --u32 VALUE");
  if (!a.target.given())
    throw CliError(kBadInput, "search looks in physical memory: give --image, --qemu or --kcore");
  if (!a.u64.empty()) precheck_address(a.u64, "--u64");
  if (!a.u32.empty()) precheck_address(a.u32, "--u32");
  if (a.no_vas && !a.pid.empty()) throw CliError(kBadInput, "search: --pid filters by the VAs that --no-vas leaves out");
  std::optional<int32_t> only;
  if (!a.pid.empty()) only = static_cast<int32_t>(count_arg(a.pid, "--pid"));

  std::unique_ptr<Source> source = open_source(a.target);
  // The kernel, for the VAs of each hit (and symbols as values); without it, PAs alone.
  std::unique_ptr<linux_kernel::LinuxKernel> k;
  std::string no_kernel;
  if (!a.no_vas) {
    std::vector<std::string> notes;
    auto kk = target::open_linux(*source, a.target.spec(), notes);
    print_notes(notes);
    if (kk) k = std::move(*kk);
    else no_kernel = kk.error().message;
    if (!k && only) raise(kk.error());
  }
  std::string pattern = !a.text.empty() ? unescape_pattern(a.text) : !a.hex.empty() ? hex_pattern(a.hex) : std::string();
  if (!a.u64.empty() || !a.u32.empty()) {
    const bool wide = !a.u64.empty();
    const uint64_t v = target_address(wide ? a.u64 : a.u32, wide ? "--u64" : "--u32", k.get());
    if (!wide && v > 0xffffffffu) throw CliError(kBadInput, fmt::format("--u32 0x{:x} does not fit in 32 bits", v));
    for (unsigned i = 0; i < (wide ? 8u : 4u); ++i) pattern += static_cast<char>(v >> (8 * i) & 0xff);  // little-endian
  }
  if (auto ok = target::check_search_pattern(std::as_bytes(std::span(pattern.data(), pattern.size()))); !ok)
    raise(ok.error());

  std::vector<PhysAddr> hits;
  SearchOptions so;
  so.max_hits = a.max_hits;
  const bool progress = isatty(STDERR_FILENO);
  if (progress)
    so.progress = [](uint64_t done, uint64_t total) {
      fmt::print(stderr, "\r  {} of {} searched ", human_size(done), human_size(total));
    };
  const SearchReport rep = search_physical(source->memory(), std::as_bytes(std::span(pattern.data(), pattern.size())),
                                           [&](PhysAddr pa) {
                                             hits.push_back(pa);
                                             return true;
                                           },
                                           so);
  if (progress) fmt::print(stderr, "\r\033[K");
  std::optional<linux_kernel::ReverseMapResult> r;
  if (k) {
    const linux_kernel::TaskList tasks = kernel_tasks(*k, kernel_task_layout(*k), only);
    const linux_kernel::ReverseMapOptions ro = reverse_map_options(only);
    r = target::hit_mappers(*k, tasks.tasks, hits, ro);
    end_progress(ro);
  }
  check_source(*source);
  uint64_t unreadable = 0;
  for (const PhysRange& u : rep.unreadable) unreadable += u.size;

  Output out;
  JsonWriter w(out.buf());
  MapperPrinter printer(a.f, out, w, "search", k.get(), true);
  std::string shown_pattern;
  for (const unsigned char c : pattern) append_c_char(shown_pattern, c);
  if (a.f.json) {
    w.record("search");
    write_target(w, *source);
    w.key("pattern").object().key("bytes").str(hex_bytes(pattern)).key("size").num(pattern.size()).end();
    w.key("hits").array();
  }
  printer.table_header();
  if (a.f.human() && !a.f.no_header) {
    fmt::format_to(std::back_inserter(out.buf()), "# {}: {} of physical memory searched for \"{}\" ({} bytes): {} hit(s){}\n",
                   source->name(), human_size(rep.bytes_scanned), shown_pattern, pattern.size(), hits.size(),
                   rep.truncated ? fmt::format(", stopped at --max-hits {}", a.max_hits) : "");
    if (unreadable) fmt::format_to(std::back_inserter(out.buf()), "# {} could not be read\n", human_size(unreadable));
    if (!k && !a.no_vas) fmt::format_to(std::back_inserter(out.buf()), "# no VAs: {}\n", no_kernel);
  }
  printer.print(hits, r ? &*r : nullptr);
  if (a.f.json) {
    w.end().key("bytes_scanned").num(rep.bytes_scanned).key("unreadable_bytes").num(unreadable);
    w.key("truncated").boolean(rep.truncated);
    if (r) w.key("address_spaces").num(r->address_spaces);
    w.key("warnings").strings(r ? r->warnings : std::vector<std::string>{}).end().newline();
  }
  w.sync();
  out.flush();
  if (r)
    for (const std::string& warn : r->warnings) fmt::print(stderr, "pagewalk: warning: {}\n", warn);
  return hits.empty() ? kSomeUnmapped : kAllMapped;
}

// ---- maps ------------------------------------------------------------------------------

// One VMA as /proc/PID/maps writes it (show_vma_header_prefix: the name padded to column 73
// on 64-bit kernels).
void append_maps_line(std::string& o, const linux_kernel::Vma& v) {
  const size_t from = o.size();
  fmt::format_to(std::back_inserter(o), "{:08x}-{:08x} {} {:08x} {:02x}:{:02x} {} ", v.start, v.end, v.perms(), v.offset,
                 v.major, v.minor, v.inode);
  if (!v.name.empty()) {
    if (o.size() - from < 73) o.append(73 - (o.size() - from), ' ');
    o += v.name;
  } else {
    o.pop_back();  // maps ends an anonymous line at the inode, with its one space
    o += ' ';
  }
  o += '\n';
}

int cmd_maps(const MapsArgs& a) {
  if (!a.target.given())
    throw CliError(kBadInput, "maps reads the kernel's VMAs: give --image, --qemu or --kcore (a live process's are in /proc/PID/maps)");
  std::optional<int32_t> only;
  if (!a.pid.empty()) only = static_cast<int32_t>(count_arg(a.pid, "--pid"));
  std::unique_ptr<Source> source;
  auto k = open_kernel(a.target, source);
  const linux_kernel::TaskLayout& tl = kernel_task_layout(*k);
  const linux_kernel::TaskList tasks = kernel_tasks(*k, tl, only);
  auto maps = target::process_maps(*k, tl, tasks, only);
  if (!maps) raise(maps.error());
  const std::vector<std::string>& warnings = maps->warnings;
  Output out;
  std::string& o = out.buf();
  JsonWriter w(o);
  DelimitedWriter table(o, a.f.table);
  if (a.f.json) {
    w.record("maps");
    write_target(w, *source);
    w.key("processes").array();
  }
  if (a.f.delimited() && !a.f.no_header)
    table.header({"pid", "comm", "start", "end", "perms", "offset", "dev", "inode", "path"});
  size_t shown = 0;
  for (const target::ProcessVmas& pv : maps->processes) {
    const linux_kernel::Task& t = *pv.task;
    const linux_kernel::VmaList* list = &pv.list;
    if (a.f.json) {
      w.object();
      write_process(w, t.pid, t.comm);
      w.key("vmas_from").str(list->source).key("vmas").array();
    }
    if (a.f.human() && !a.f.no_header)
      fmt::format_to(std::back_inserter(o), "{}# pid {} ({}): {} VMAs from {}\n", shown ? "\n" : "", t.pid, t.comm,
                     list->vmas.size(), list->source);
    ++shown;
    for (const linux_kernel::Vma& v : list->vmas) {
      const std::string dev = fmt::format("{:02x}:{:02x}", v.major, v.minor);
      if (a.f.any_json()) {
        if (a.f.jsonl) w.record("maps").key("pid").num(t.pid).key("comm").str(t.comm);
        else w.object();
        w.key("start").hex(v.start).key("end").hex(v.end).key("perms").str(v.perms()).key("offset").hex(v.offset);
        w.key("dev").str(dev).key("inode").num(v.inode).key("path").str(v.name);
        if (v.vma) w.key("vma").hex(v.vma);
        w.end();
        if (a.f.jsonl) w.newline();
        flush_when_full(out, w);
      } else if (a.f.delimited()) {
        table.num(static_cast<uint64_t>(t.pid)).str(t.comm).hex(v.start).hex(v.end).str(v.perms()).hex(v.offset);
        table.str(dev).num(v.inode).str(v.name).end();
        out.maybe_flush();
      } else {
        append_maps_line(o, v);
        out.maybe_flush();
      }
    }
    if (a.f.json) w.end().end();
  }
  if (a.f.json) w.end().key("warnings").strings(warnings).end().newline();
  w.sync();
  out.flush();
  if (!a.f.json)
    for (const std::string& wn : warnings) fmt::print(stderr, "pagewalk: warning: {}\n", wn);
  check_source(*source);
  return warnings.empty() ? kAllMapped : kSomeUnmapped;
}

// ---- modules ---------------------------------------------------------------------------

// What a listing of the kernel's objects writes with: the output buffer, the JSON and table
// writers, and with --json the document opened as {"command", "target", "release", LIST: [.
struct KernelListing {
  Output out;
  JsonWriter w{out.buf()};
  DelimitedWriter table;
  KernelListing(const OutputFormat& f, const char* command, const Source& source, std::string_view release,
                const char* list)
      : table(out.buf(), f.table) {
    if (!f.json) return;
    w.record(command);
    write_target(w, source);
    w.key("release").str(release).key(list).array();
  }
};

int cmd_modules(const ModulesArgs& a) {
  if (!a.target.given()) throw CliError(kBadInput, "modules reads the kernel's module list: give --image, --qemu or --kcore");
  std::unique_ptr<Source> source;
  auto k = open_kernel(a.target, source);
  (void)kernel_task_layout(*k);  // the types' own error first
  auto list = k->modules();
  if (!list) throw CliError(kTargetError, list.error());
  const linux_kernel::ModuleList& ml = **list;
  KernelListing listing(a.f, "modules", *source, k->release, "modules");
  Output& out = listing.out;
  std::string& o = out.buf();
  JsonWriter& w = listing.w;
  DelimitedWriter& table = listing.table;
  if (a.f.delimited() && !a.f.no_header) {
    if (a.symbols) table.header({"module", "addr", "type", "name"});
    else table.header({"name", "base", "size", "state", "symbols", "module"});
  }
  if (a.f.human() && !a.f.no_header) {
    fmt::format_to(std::back_inserter(o), "# {}: Linux {}, {} module{} from the kernel's list\n", source->name(), k->release,
                   ml.modules.size(), ml.modules.size() == 1 ? "" : "s");
    if (!a.symbols) fmt::format_to(std::back_inserter(o), "{:<24} {:<18} {:>9} {:<9} {:>7}  {}\n", "name", "base", "size",
                                   "state", "symbols", "struct module");
  }
  for (const linux_kernel::KernelModule& m : ml.modules) {
    if (a.f.any_json()) {
      if (a.f.jsonl) w.record("modules");
      else w.object();
      w.key("name").str(m.name).key("module").hex(m.module).key("base").hex(m.base).key("size").num(m.size);
      w.key("state").str(m.state).key("areas").array();
      for (const auto& ar : m.areas) w.object().key("kind").str(ar.kind).key("base").hex(ar.base).key("size").num(ar.size).end();
      w.end().key("symbol_count").num(m.symbols.size());
      if (a.symbols) {
        w.key("symbols").array();
        for (const auto& sym : m.symbols)
          w.object().key("addr").hex(sym.addr).key("type").str(std::string_view(&sym.type, 1)).key("name").str(sym.name).end();
        w.end();
      }
      w.end();
      if (a.f.jsonl) w.newline();
      flush_when_full(out, w);
    } else if (a.f.delimited()) {
      if (a.symbols) {
        for (const auto& sym : m.symbols) table.str(m.name).hex(sym.addr).str(std::string_view(&sym.type, 1)).str(sym.name).end();
      } else {
        table.str(m.name).hex(m.base).num(m.size).str(m.state).num(m.symbols.size()).hex(m.module).end();
      }
      out.maybe_flush();
    } else if (a.symbols) {
      // /proc/kallsyms' module lines (kernel/kallsyms.c, s_show: "%px %c %s\t[%s]").
      for (const auto& sym : m.symbols) fmt::format_to(std::back_inserter(o), "{:016x} {} {}\t[{}]\n", sym.addr, sym.type, sym.name, m.name);
      out.maybe_flush();
    } else {
      fmt::format_to(std::back_inserter(o), "{:<24} 0x{:016x} {:>9} {:<9} {:>7}  0x{:x}\n", m.name, m.base, m.size, m.state,
                     m.symbols.size(), m.module);
    }
  }
  if (a.f.json) w.end().key("warnings").strings(ml.warnings).end().newline();
  w.sync();
  out.flush();
  if (!a.f.json)
    for (const std::string& wn : ml.warnings) fmt::print(stderr, "pagewalk: warning: {}\n", wn);
  check_source(*source);
  return ml.warnings.empty() ? kAllMapped : kSomeUnmapped;
}

// ---- page ------------------------------------------------------------------------------

int cmd_page(const PageArgs& a) {
  if (a.pfn.empty() && a.phys.empty() && a.page.empty())
    throw CliError(kBadInput, "page: give --pfn N, --phys PA or --page VA (each may repeat)");
  if (!a.target.given()) throw CliError(kBadInput, "page reads the kernel's struct page: give --image, --qemu or --kcore");
  for (const auto& v : a.page) precheck_address(v, "--page");
  std::unique_ptr<Source> source;
  auto k = open_kernel(a.target, source);
  const linux_kernel::TaskLayout& tl = kernel_task_layout(*k);
  std::vector<Pfn> frames;
  for (const auto& v : a.pfn) frames.push_back(Pfn(address_arg(v, "--pfn")));
  for (const auto& v : a.phys) frames.push_back(Pfn(address_arg(v, "--phys") >> 12));
  for (const auto& v : a.page) {
    auto pfn = k->page_to_pfn(VirtAddr(target_address(v, "--page", k.get())));
    if (!pfn) throw CliError(kBadInput, fmt::format("--page {}: {}", v, pfn.error()));
    frames.push_back(*pfn);
  }
  for (const Pfn f : frames)  // every frame's number checked before any is read
    if (auto ok = target::check_frame(*k, f); !ok) raise(ok.error());
  KernelListing listing(a.f, "page", *source, k->release, "pages");
  Output& out = listing.out;
  std::string& o = out.buf();
  JsonWriter& w = listing.w;
  DelimitedWriter& table = listing.table;
  if (a.f.delimited() && !a.f.no_header)
    table.header({"pfn", "pa", "page", "flags", "refcount", "mapcount", "mapping", "mapping_kind", "index", "head", "order",
                  "kpageflags", "file"});
  int status = kAllMapped;
  for (const Pfn f : frames) {
    auto p = target::page_of(*k, tl, f);
    if (!p) {
      fmt::print(stderr, "pagewalk: {}\n", p.error().message);
      status = kSomeUnmapped;
      continue;
    }
    const uint64_t kpf = live::kpageflags_word(p->kpageflags);
    if (a.f.any_json()) {
      if (a.f.jsonl) w.record("page");
      else w.object();
      w.key("pfn").hex(f.value()).key("pa").hex(f.value() << 12).key("page").hex(p->page);
      w.key("flags").object().key("raw").hex(p->flags).key("flags").strings(p->flag_names).end();
      w.key("refcount").signed_num(p->refcount).key("mapcount").signed_num(p->mapcount);
      w.key("mapping").hex(p->mapping).key("mapping_kind").str(p->mapping_kind).key("index").hex(p->index);
      if (p->file) w.key("file").str(*p->file);
      w.key("private").hex(p->private_data);
      if (p->head) w.key("head").hex(*p->head);
      if (p->order) w.key("order").num(*p->order);
      if (p->node) w.key("node").num(*p->node);
      if (!p->zone.empty()) w.key("zone").str(p->zone);
      if (p->section) w.key("section").num(*p->section);
      w.key("kpageflags").object().key("raw").hex(kpf).key("flags").strings(p->kpageflags).end();
      w.end();
      if (a.f.jsonl) w.newline();
    } else if (a.f.delimited()) {
      table.hex(f.value()).hex(f.value() << 12).hex(p->page).str(fmt::format("{}", fmt::join(p->flag_names, " ")));
      table.str(std::to_string(p->refcount)).str(std::to_string(p->mapcount)).hex(p->mapping).str(p->mapping_kind);
      table.hex(p->index);
      if (p->head) table.hex(*p->head);
      else table.empty();
      if (p->order) table.num(*p->order);
      else table.empty();
      table.str(fmt::format("{}", fmt::join(p->kpageflags, " "))).str(p->file.value_or("")).end();
    } else {
      fmt::format_to(std::back_inserter(o), "PFN 0x{:x} (PA 0x{:x}): struct page 0x{:x}\n", f.value(), f.value() << 12, p->page);
      fmt::format_to(std::back_inserter(o), "  flags       0x{:016x}  {}\n", p->flags, fmt::join(p->flag_names, " "));
      fmt::format_to(std::back_inserter(o), "  refcount    {}\n  mapcount    {} (_mapcount {})\n", p->refcount,
                     p->mapcount + 1, p->mapcount);
      fmt::format_to(std::back_inserter(o), "  mapping     0x{:x} ({})  index 0x{:x}  private 0x{:x}\n", p->mapping,
                     p->mapping_kind, p->index, p->private_data);
      if (p->file) fmt::format_to(std::back_inserter(o), "  file        {}\n", *p->file);
      if (p->node || !p->zone.empty() || p->section)
        fmt::format_to(std::back_inserter(o), "  node {}  zone {}  section {}\n", p->node ? std::to_string(*p->node) : "?",
                       p->zone.empty() ? "?" : p->zone, p->section ? std::to_string(*p->section) : "?");
      if (p->head || p->order)
        fmt::format_to(std::back_inserter(o), "  compound    {}{}\n",
                       p->head ? fmt::format("tail of 0x{:x}", *p->head) : std::string("head"),
                       p->order ? fmt::format(", order {} ({})", *p->order, human_size(uint64_t{4096} << *p->order)) : "");
      fmt::format_to(std::back_inserter(o), "  kpageflags  0x{:x}  {}\n", kpf, fmt::join(p->kpageflags, " "));
    }
  }
  if (a.f.json) w.end().end().newline();
  w.sync();
  out.flush();
  check_source(*source);
  return status;
}
}  // namespace

int image_ptov(const PtovArgs& a) {
  if (a.all) throw CliError(kBadInput, "ptov --all is for live processes (kpagecount); an image's scan is always whole");
  const std::vector<PhysAddr> pas = ptov_queries(a);
  std::optional<int32_t> only;
  if (!a.pid.empty()) only = static_cast<int32_t>(count_arg(a.pid, "--pid"));
  std::unique_ptr<Source> source;
  auto k = open_kernel(a.target, source);
  const linux_kernel::TaskList tasks = kernel_tasks(*k, kernel_task_layout(*k), only);
  const linux_kernel::ReverseMapOptions ro = reverse_map_options(only);
  const linux_kernel::ReverseMapResult r = linux_kernel::reverse_map(*k, tasks.tasks, pas, ro);
  end_progress(ro);
  check_source(*source);

  Output out;
  JsonWriter w(out.buf());
  MapperPrinter printer(a.format, out, w, "ptov", k.get());
  if (a.format.json) {
    w.record("ptov");
    write_target(w, *source);
    w.key("release").str(k->release).key("queries").array();
  }
  printer.table_header();
  if (a.format.human() && !a.format.no_header)
    fmt::format_to(std::back_inserter(out.buf()), "# {}: Linux {}, {} address spaces walked ({} leaf entries)\n",
                   source->name(), k->release, r.address_spaces, r.leaves);
  printer.print(pas, &r);
  if (a.format.json) {
    w.end().key("address_spaces").num(r.address_spaces).key("leaves").num(r.leaves);
    w.key("warnings").strings(r.warnings).end().newline();
  }
  w.sync();
  out.flush();
  for (const std::string& warn : r.warnings) fmt::print(stderr, "pagewalk: warning: {}\n", warn);
  std::vector<bool> found(pas.size(), false);
  for (const auto& m : r.mappers) found[m.query] = true;
  return std::find(found.begin(), found.end(), false) == found.end() ? kAllMapped : kSomeUnmapped;
}

void ForensicCommands::add_to(CLI::App& app) {
  read = app.add_subcommand("read", "bytes at a virtual or physical address: hexdump, words, a C string, or raw");
  read->alias("rd");
  read->alias("x");
  read->add_option("ADDR", read_args.addr, "a VA (hex, or a kernel symbol such as init_task+0x40), or a PA with --phys");
  read->add_option("-n,--length", read_args.length, "bytes to read (default 64; with --string at most 4096)");
  read->add_flag("--phys", read_args.phys, "ADDR is a physical address");
  read->add_option("--words", read_args.words, "words of 1, 2, 4 or 8 bytes instead of a hexdump");
  read->add_flag("-s,--string", read_args.string, "a NUL-terminated string, as x/s prints it");
  read->add_option("--raw", read_args.raw, "write the bytes to this new file (- for stdout); unreadable pages as zeros");
  read_args.target.add_to(*read);
  read_args.f.add_to(*read, true, "piece");
  read->footer(examples({"pagewalk read --image dump.elf --pid 117 --string 5651b590c2a0",
                         "pagewalk read --image dump.elf --kernel init_task --words 8 -n 64",
                         "pagewalk read --image dump.elf --phys 1422c52a0 -n 0x1000 --raw page.bin",
                         "pagewalk read --pid self 7ffd4a3c1000"}));

  maps = app.add_subcommand("maps", "a process's VMAs from the kernel's own structures, as /proc/PID/maps shows them");
  maps->add_option("--pid", maps_args.pid, "one process (default: every process with an address space)");
  maps_args.target.add_to(*maps, kSourceOptions | kCpuOption | kPagingOptions | kSymbolOptions | kTypeOptions);
  maps_args.f.add_to(*maps, true, "VMA");
  maps->footer(examples({"pagewalk maps --image dump.elf --pid 117", "pagewalk maps --kcore --jsonl"}));

  page = app.add_subcommand("page", "a frame's struct page decoded: flags by name, counts, mapping, compound, kpageflags");
  page->add_option("--pfn", page_args.pfn, "a page frame number (repeat for more)")->allow_extra_args(false);
  page->add_option("--phys", page_args.phys, "a physical address in the frame")->allow_extra_args(false);
  page->add_option("--page", page_args.page, "the struct page's address")->allow_extra_args(false);
  page_args.target.add_to(*page, kSourceOptions | kCpuOption | kPagingOptions | kSymbolOptions | kTypeOptions);
  page_args.f.add_to(*page, true, "page");
  page->footer(examples({"pagewalk page --image dump.elf --pfn fdcc", "pagewalk page --image dump.elf --phys 2c00000 --json"}));

  modules = app.add_subcommand("modules", "the loaded kernel modules from the kernel's own list: base, size, state, symbols");
  modules->alias("lsmod");
  modules->add_flag("--symbols", modules_args.symbols, "each module's symbols, as /proc/kallsyms lists them");
  modules_args.target.add_to(*modules, kSourceOptions | kCpuOption | kPagingOptions | kSymbolOptions | kTypeOptions);
  modules_args.f.add_to(*modules, true, "module");
  modules->footer(examples({"pagewalk modules --image dump.elf", "pagewalk modules --image dump.elf --symbols --jsonl"}));

  search = app.add_subcommand("search", "find bytes in physical memory, and every (pid, VA) and kernel VA of each hit");
  search->add_option("TEXT", search_args.text, "a string to find (C escapes \\n \\t \\xNN understood)");
  search->add_option("--hex", search_args.hex, "bytes to find, as hex pairs (\"48 65 6c 6c 6f\")");
  search->add_option("--u64", search_args.u64, "an 8-byte little-endian value (hex, or a kernel symbol: pointers to it)");
  search->add_option("--u32", search_args.u32, "a 4-byte little-endian value");
  search->add_option("--pid", search_args.pid, "only the hits this process maps");
  search->add_option("--max-hits", search_args.max_hits, "stop after this many hits (0: no limit)")->capture_default_str();
  search->add_flag("--no-vas", search_args.no_vas, "physical addresses only (no pass over the page tables)");
  search_args.target.add_to(*search, kSourceOptions | kCpuOption | kPagingOptions | kSymbolOptions | kTypeOptions);
  search_args.f.add_to(*search, true, "hit or mapper");
  search->footer(examples({"pagewalk search --image dump.elf \"Hello mm paging!\"",
                           "pagewalk search --image dump.elf --u64 init_task --jsonl",
                           "pagewalk search --image dump.elf --hex '7f 45 4c 46' --no-vas --max-hits 0"}));
}

int ForensicCommands::run_chosen() {
  if (*read) return cmd_read(read_args);
  if (*search) return cmd_search(search_args);
  if (*maps) return cmd_maps(maps_args);
  if (*page) return cmd_page(page_args);
  if (*modules) return cmd_modules(modules_args);
  return -1;
}

}  // namespace pagewalk::cli
