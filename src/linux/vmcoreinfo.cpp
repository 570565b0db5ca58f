#include "linux/vmcoreinfo.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

namespace pagewalk::linux_kernel {
namespace {

// SYMBOL and KERNELOFFSET are printed in hex without 0x; NUMBER in signed decimal; SIZE,
// OFFSET and LENGTH in unsigned decimal (kernel/crash_core.c: VMCOREINFO_SYMBOL uses %lx,
// VMCOREINFO_NUMBER %ld, VMCOREINFO_SIZE/OFFSET/LENGTH %lu). arm64 writes its addresses
// as NUMBER(NAME)=0x%lx (arch/arm64/kernel/crash_core.c).
template <typename T>
std::optional<T> parse_int(std::string_view s, int base) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string keyed(std::string_view kind, std::string_view name) {
  std::string k(kind);
  k += '(';
  k += name;
  k += ')';
  return k;
}

}  // namespace

VmcoreInfo VmcoreInfo::parse(std::string_view text) {
  VmcoreInfo info;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    info.entries_.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return info;
}

std::optional<std::string> VmcoreInfo::get(std::string_view key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

namespace {

// Every typed accessor: the value of KIND(name) as an integer in `base`.
template <typename T>
std::optional<T> typed(const VmcoreInfo& vi, std::string_view kind, std::string_view name, int base) {
  auto v = vi.get(keyed(kind, name));
  return v ? parse_int<T>(*v, base) : std::nullopt;
}

}  // namespace

std::optional<uint64_t> VmcoreInfo::symbol(std::string_view name) const { return typed<uint64_t>(*this, "SYMBOL", name, 16); }
std::optional<int64_t> VmcoreInfo::number(std::string_view name) const {
  auto v = get(keyed("NUMBER", name));
  if (!v) return std::nullopt;
  if (v->starts_with("0x")) {
    auto u = parse_int<uint64_t>(std::string_view(*v).substr(2), 16);
    return u ? std::optional<int64_t>(static_cast<int64_t>(*u)) : std::nullopt;
  }
  return parse_int<int64_t>(*v, 10);
}
std::optional<uint64_t> VmcoreInfo::unsigned_number(std::string_view name) const {
  auto n = number(name);
  return n ? std::optional<uint64_t>(static_cast<uint64_t>(*n)) : std::nullopt;
}
std::optional<uint64_t> VmcoreInfo::size(std::string_view name) const { return typed<uint64_t>(*this, "SIZE", name, 10); }
std::optional<uint64_t> VmcoreInfo::offset(std::string_view name) const { return typed<uint64_t>(*this, "OFFSET", name, 10); }
std::optional<uint64_t> VmcoreInfo::kernel_offset() const {
  auto v = get("KERNELOFFSET");
  return v ? parse_int<uint64_t>(*v, 16) : std::nullopt;
}

bool plausible_vmcoreinfo(std::string_view text) {
  if (!text.starts_with("OSRELEASE=") || text.find('%') != std::string_view::npos) return false;
  const VmcoreInfo info = VmcoreInfo::parse(text);
  return info.get("PAGESIZE") && (info.symbol("swapper_pg_dir") || info.symbol("init_top_pgt"));
}

namespace {

constexpr std::string_view kKey = "OSRELEASE=";
constexpr size_t kMaxText = 4096;  // VMCOREINFO_BYTES: one page

// The text at pa, of at most `available` bytes (the rest of its physical range).
std::optional<FoundVmcoreInfo> text_at(PhysMemory& memory, PhysAddr pa, uint64_t available) {
  std::string buf(static_cast<size_t>(std::min<uint64_t>(kMaxText, available)), '\0');
  if (!memory.read(pa, std::as_writable_bytes(std::span(buf.data(), buf.size())))) return std::nullopt;
  buf.resize(strnlen(buf.data(), buf.size()));
  if (!plausible_vmcoreinfo(buf)) return std::nullopt;
  return FoundVmcoreInfo{pa, buf};
}

}  // namespace

// A range that fails its reads for this many bytes in a row is given up (a kdump's filtered
// stretches are far smaller than a range's worth of nothing).
constexpr uint64_t kGiveUpAfter = uint64_t{256} << 20;
// Scanned memory is handed back in steps of this size (PhysMemory::release).
constexpr uint64_t kReleaseStep = uint64_t{64} << 20;

std::optional<FoundVmcoreInfo> find_vmcoreinfo(PhysMemory& memory, std::span<const PhysRange> where) {
  // Fast pass, over `where` in its order (by default the highest range first), each range
  // from its top down. The kernel allocates the note buffer it exports (vmcoreinfo_note) page-aligned,
  // so its text starts 24 bytes into a page (12-byte note header, "VMCOREINFO\0" padded to
  // 12); vmcoreinfo_data starts a page. Checking two offsets per page is cheap. Both are
  // pages the buddy allocator handed out early in boot, and it hands out the last pages
  // freed into it first, the top of memory (mm/page_alloc.c, memblock_free_all): so the
  // scan runs from the top down.
  std::vector<PhysRange> backed;
  if (where.empty()) {
    backed = memory.backed_ranges();
    std::reverse(backed.begin(), backed.end());
    where = backed;
  }
  for (const PhysRange& r : where) {
    const uint64_t first = (4096 - r.start.offset_in(4096)) % 4096;  // the first whole page
    if (r.size < first + 4096) continue;
    uint64_t unreadable = 0;       // bytes in a row that could not be read
    uint64_t released = r.size;    // [released, size) is handed back
    for (uint64_t off = first + (r.size - first) / 4096 * 4096 - 4096;; off -= 4096) {
      if (unreadable > kGiveUpAfter) break;
      if (released - (off + 4096) >= kReleaseStep) {
        memory.release({r.start + (off + 4096), released - (off + 4096)});
        released = off + 4096;
      }
      // Both offsets in one read: the first 34 bytes of the page.
      char head[24 + kKey.size()];
      if (!memory.peek(r.start + off, std::as_writable_bytes(std::span(head)))) {
        unreadable += 4096;
      } else {
        unreadable = 0;
        for (uint64_t at : {uint64_t{24}, uint64_t{0}})
          if (std::string_view(head + at, kKey.size()) == kKey)
            if (auto found = text_at(memory, r.start + (off + at), r.size - (off + at))) return found;
      }
      if (off == first) break;
    }
    memory.release({r.start, released});
  }
  return find_vmcoreinfo_anywhere(memory, where);
}

std::optional<FoundVmcoreInfo> find_vmcoreinfo_anywhere(PhysMemory& memory, std::span<const PhysRange> where) {
  static constexpr size_t kChunk = size_t{4} << 20;
  const std::vector<PhysRange> ranges = where.empty() ? memory.backed_ranges()
                                                      : std::vector<PhysRange>(where.begin(), where.end());
  uint64_t largest = 0;
  for (const PhysRange& r : ranges) largest = std::max(largest, r.size);
  // No bigger than the largest range: a small memory should not pay for a 4 MiB buffer.
  std::vector<std::byte> buf(static_cast<size_t>(std::min<uint64_t>(largest, kChunk + kMaxText)));
  for (const PhysRange& r : ranges) {
    uint64_t unreadable = 0;
    for (uint64_t off = 0; off < r.size && unreadable <= kGiveUpAfter; off += kChunk) {
      const size_t len = static_cast<size_t>(std::min<uint64_t>(r.size - off, kChunk + kMaxText));
      if (!memory.read(r.start + off, std::span(buf.data(), len))) {
        unreadable += kChunk;
        continue;
      }
      unreadable = 0;
      memory.release({r.start + off, len});  // the copy in buf is what is scanned
      const char* base = reinterpret_cast<const char*>(buf.data());
      const size_t scan_end = std::min(len, kChunk);  // the tail overlaps the next chunk
      const char* p = base;
      while (p < base + scan_end) {
        // A match may start anywhere before scan_end and run into the overlap.
        const size_t window = std::min(static_cast<size_t>(base + scan_end - p) + kKey.size() - 1,
                                       static_cast<size_t>(base + len - p));
        p = static_cast<const char*>(memmem(p, window, kKey.data(), kKey.size()));
        if (!p) break;
        const size_t avail = static_cast<size_t>(base + len - p);
        const size_t n = strnlen(p, std::min(avail, kMaxText));
        std::string_view text(p, n);
        if (plausible_vmcoreinfo(text))
          return FoundVmcoreInfo{r.start + (off + static_cast<uint64_t>(p - base)), std::string(text)};
        ++p;
      }
    }
  }
  return std::nullopt;
}

}  // namespace pagewalk::linux_kernel
