#include "live/process.hpp"

#include <array>
#include <algorithm>
#include <optional>

#include <fmt/format.h>

namespace pagewalk::live {
namespace {

// A mapping bigger than this is skipped by the reverse map when smaps says nothing of it
// is resident: reading the pagemap of a huge empty reservation costs 8 bytes per page.
constexpr uint64_t kLargeMapping = uint64_t{4} << 30;

// Whether the 2 MiB block starting at entries[0] is one PMD-mapped huge page: every page
// present, frames consecutive from a 2 MiB-aligned frame. (A THP split into PTEs but not
// yet into small folios passes too; kpageflags, when open, adds its THP bit to the test.)
bool is_pmd_block(const uint64_t* entries) {
  const PagemapEntry first{entries[0]};
  if (!first.present()) return false;
  const uint64_t pfn0 = first.pfn().value();
  if (pfn0 == 0 || pfn0 % kPagesPerPmd != 0) return false;
  for (uint64_t i = 1; i < kPagesPerPmd; ++i) {
    const PagemapEntry e{entries[i]};
    if (!e.present() || e.pfn().value() != pfn0 + i) return false;
  }
  return true;
}

// The 2 MiB block around `va` when it lies wholly inside `m`, which may hold PMD THPs.
std::optional<uint64_t> thp_block_page(const Mapping& m, VirtAddr va) {
  if (!m.has_pmd_thp() || m.hugetlb) return std::nullopt;
  const VirtAddr block = va.align_down(kPmdSize);
  if (block < m.start || m.end - block < kPmdSize) return std::nullopt;
  return block.value() >> kPageShift;
}

LiveError exited(int pid) {
  return {LiveError::Kind::Exited, fmt::format("pid {}: the process exited while its pagemap was read", pid)};
}

}  // namespace

std::string_view to_string(LiveStatus s) {
  switch (s) {
    case LiveStatus::Mapped: return "mapped";
    case LiveStatus::NotPresent: return "not-present";
    case LiveStatus::Swapped: return "swap";
    case LiveStatus::NoMapping: return "no-mapping";
  }
  return "?";
}

std::string_view to_string(PageKind k) {
  switch (k) {
    case PageKind::Base: return "base";
    case PageKind::Thp: return "thp";
    case PageKind::Hugetlb: return "hugetlb";
  }
  return "?";
}

tl::expected<LiveProcess, LiveError> LiveProcess::open(int pid, bool smaps) {
  auto pm = Pagemap::open(pid);
  if (!pm) return tl::unexpected(pm.error());
  LiveProcess p(pid, std::move(*pm));
  const std::string what = fmt::format("pid {}", pid);
  auto text = read_whole(fmt::format("/proc/{}/{}", pid, smaps ? "smaps" : "maps"), what);
  if (!text) return tl::unexpected(text.error());
  auto maps = smaps ? parse_smaps(*text) : parse_maps(*text);
  if (!maps) return tl::unexpected(LiveError{LiveError::Kind::Malformed, fmt::format("{}: {}", what, maps.error())});
  p.maps_ = std::move(*maps);
  p.comm_ = comm_of(pid);
  return p;
}

const Mapping& LiveProcess::detailed(const Mapping& m, bool read) const {
  if (m.has_smaps) return m;
  if (!smaps_read_ && read) {
    smaps_read_ = true;
    if (auto text = read_whole(fmt::format("/proc/{}/smaps", pid_), fmt::format("pid {}", pid_)))
      if (auto maps = parse_smaps(*text)) smaps_ = std::move(*maps);
  }
  // The smaps entry that holds m (m may be part of a mapping: map --from/--to).
  auto it = std::upper_bound(smaps_.begin(), smaps_.end(), m.start,
                             [](VirtAddr v, const Mapping& x) { return v < x.start; });
  if (it == smaps_.begin()) return m;
  --it;
  return it->start <= m.start && m.end <= it->end ? *it : m;
}

tl::expected<std::vector<LiveTranslation>, LiveError> translate(const LiveProcess& p, std::span<const VirtAddr> vas,
                                                                const TranslateOptions& o) {
  std::vector<LiveTranslation> out(vas.size());
  // The pages each VA needs: its own, or its whole 2 MiB block.
  std::vector<Run> wanted;
  wanted.reserve(vas.size());
  for (size_t i = 0; i < vas.size(); ++i) {
    out[i].va = vas[i];
    const Mapping* m = find_mapping(p.mappings(), vas[i]);
    out[i].mapping = m;
    if (!m || !m->in_pagemap()) continue;
    if (auto block = thp_block_page(*m, vas[i]))
      wanted.push_back({*block, kPagesPerPmd});
    else
      wanted.push_back({vas[i].value() >> kPageShift, 1});
  }
  std::sort(wanted.begin(), wanted.end(), [](const Run& a, const Run& b) { return a.first < b.first; });
  // Merge into reads: through gaps of up to 64 pages (512 bytes of pagemap), at most 64 Ki
  // entries (512 KiB) per pread.
  constexpr uint64_t kMaxGap = 64, kMaxRead = 64 * 1024;
  std::vector<Run> reads;
  for (const Run& w : wanted) {
    if (!reads.empty()) {
      Run& r = reads.back();
      const uint64_t end = r.first + r.count, wend = w.first + w.count;
      if (w.first <= end + kMaxGap && wend - r.first <= kMaxRead) {
        r.count = std::max(end, wend) - r.first;
        continue;
      }
    }
    reads.push_back(w);
  }
  std::vector<size_t> offset(reads.size());
  size_t total = 0;
  for (size_t i = 0; i < reads.size(); ++i) {
    offset[i] = total;
    total += reads[i].count;
  }
  std::vector<uint64_t> entries(total);
  for (size_t i = 0; i < reads.size(); ++i) {
    auto n = p.pagemap().read(reads[i].first, std::span(entries).subspan(offset[i], reads[i].count));
    if (!n) return tl::unexpected(n.error());
    if (*n < reads[i].count) return tl::unexpected(exited(p.pid()));
  }
  auto entry_at = [&](uint64_t page) -> const uint64_t* {
    auto it = std::upper_bound(reads.begin(), reads.end(), page, [](uint64_t pg, const Run& r) { return pg < r.first; });
    const size_t i = static_cast<size_t>(it - reads.begin()) - 1;
    return &entries[offset[i] + (page - reads[i].first)];
  };

  std::vector<Pfn> frames;
  std::vector<size_t> framed;
  for (LiveTranslation& t : out) {
    if (!t.mapping) continue;
    const Mapping& m = *t.mapping;
    if (!m.in_pagemap()) {
      t.status = LiveStatus::NotPresent;
      continue;
    }
    t.entry = PagemapEntry{*entry_at(t.va.value() >> kPageShift)};
    if (t.entry.present()) {
      t.status = LiveStatus::Mapped;
      t.pfn_hidden = t.entry.pfn().value() == 0 && !o.privileged;
      if (m.hugetlb) {
        t.kind = PageKind::Hugetlb;
        t.page_size = m.kernel_page_size;
      } else if (auto block = thp_block_page(m, t.va); block && is_pmd_block(entry_at(*block))) {
        t.kind = PageKind::Thp;
        t.page_size = kPmdSize;
      }
      if (!t.pfn_hidden) {
        t.pa = t.entry.pfn().to_phys(kPageShift) + t.va.offset_in(kPageSize);
        if (o.kpage) {
          frames.push_back(t.entry.pfn());
          framed.push_back(static_cast<size_t>(&t - out.data()));
        }
      }
    } else {
      t.status = t.entry.swapped() ? LiveStatus::Swapped : LiveStatus::NotPresent;
    }
  }
  if (o.kpage && !frames.empty()) {
    auto info = o.kpage->info(frames);
    if (!info) return tl::unexpected(info.error());
    for (size_t i = 0; i < framed.size(); ++i) {
      LiveTranslation& t = out[framed[i]];
      t.has_kpage = true;
      t.kpage = (*info)[i];
      // The frames say whether the block is a transparent huge page.
      if (t.kind == PageKind::Thp && !((t.kpage.flags >> kKpfThp) & 1)) {
        t.kind = PageKind::Base;
        t.page_size = kPageSize;
      }
    }
  }
  return out;
}

tl::expected<MappingCounts, LiveError> scan_mapping(const LiveProcess& p, const Mapping& m,
                                                    const std::function<void(const PhysRun&)>& on_run,
                                                    bool privileged, const Kpage* kpage, size_t chunk_pages) {
  MappingCounts counts;
  if (!m.in_pagemap()) return counts;
  chunk_pages = std::max<size_t>(chunk_pages, kPagesPerPmd);
  std::vector<uint64_t> own(std::min<uint64_t>(chunk_pages, m.size() >> kPageShift));
  std::vector<uint64_t> block_flags(kPagesPerPmd);
  // Without real PFNs no block can be recognised, so ask smaps up front.
  const Mapping* info = privileged ? &m : &p.detailed(m);
  bool thp = false;
  uint64_t base_size = kPageSize;
  PageKind base_kind = PageKind::Base;
  auto learn = [&] {
    thp = info->has_smaps ? info->has_pmd_thp() && !info->hugetlb : true;
    base_size = info->hugetlb ? info->kernel_page_size : kPageSize;
    base_kind = info->hugetlb ? PageKind::Hugetlb : PageKind::Base;
  };
  learn();
  PhysRun cur;
  bool open = false;
  auto flush = [&] {
    if (!open) return;
    ++counts.runs;
    on_run(cur);
    open = false;
  };
  auto add = [&](uint64_t va, uint64_t pfn, uint64_t pages, uint64_t size, PageKind kind, bool hidden) {
    if (open && cur.page_size == size && cur.pfn_hidden == hidden &&
        cur.va.value() + cur.pages * kPageSize == va && (hidden || cur.pfn.value() + cur.pages == pfn)) {
      cur.pages += pages;
      return;
    }
    flush();
    cur = PhysRun{VirtAddr(va), Pfn(pfn), pages, size, kind, hidden};
    open = true;
  };

  // Chunks end on a 2 MiB boundary when they can, so a THP block never straddles two.
  std::vector<Run> chunks;
  const uint64_t end_page = m.end.value() >> kPageShift;
  for (uint64_t page = m.start.value() >> kPageShift; page < end_page;) {
    uint64_t last = std::min(end_page, page + chunk_pages);
    if (last < end_page && (last & ~(kPagesPerPmd - 1)) > page) last &= ~(kPagesPerPmd - 1);
    chunks.push_back({page, last - page});
    page = last;
  }
  // Several chunks: the next is read on a worker thread while this one is decoded.
  std::optional<PagemapReadAhead> ahead;
  if (chunks.size() > 1) ahead.emplace(p.pagemap(), chunks);
  for (const Run& chunk : chunks) {
    const uint64_t page = chunk.first;
    const size_t n = chunk.count;
    std::span<const uint64_t> buf;
    if (ahead) {
      auto got = ahead->next();
      if (!got) return tl::unexpected(got.error());
      buf = *got;
    } else {
      auto got = p.pagemap().read(page, std::span(own).first(n));
      if (!got) return tl::unexpected(got.error());
      buf = std::span<const uint64_t>(own).first(*got);
    }
    if (buf.size() < n) return tl::unexpected(exited(p.pid()));
    for (size_t i = 0; i < n; ++i) {
      const PagemapEntry e{buf[i]};
      if (!e.present()) {
        if (e.swapped()) ++counts.swapped;
        flush();
        continue;
      }
      const uint64_t va = (page + i) << kPageShift;
      bool pmd_block =
          thp && ((page + i) & (kPagesPerPmd - 1)) == 0 && i + kPagesPerPmd <= n && is_pmd_block(&buf[i]);
      if (pmd_block && !info->has_smaps) {  // a THP, a hugetlb page, or contiguous 4 KiB pages?
        std::optional<PageKind> kind;
        if (kpage && kpage->flags(e.pfn(), block_flags)) {
          // One compound page: a head, then 511 tails (several smaller folios would
          // show more than one head).
          bool one = (block_flags[0] >> kKpfCompoundHead) & 1;
          for (size_t j = 1; one && j < kPagesPerPmd; ++j) one = (block_flags[j] >> kKpfCompoundTail) & 1;
          if (!one)
            kind = PageKind::Base;
          else if ((block_flags[0] >> kKpfThp) & 1)
            kind = PageKind::Thp;
        }
        if (kind) {
          pmd_block = *kind == PageKind::Thp;
        } else {  // hugetlb, or no kpageflags: smaps knows
          info = &p.detailed(m);
          learn();
          pmd_block = thp;
        }
      }
      if (pmd_block) {
        counts.resident += kPagesPerPmd;
        ++counts.huge_pages;
        add(va, e.pfn().value(), kPagesPerPmd, kPmdSize, PageKind::Thp, false);
        i += kPagesPerPmd - 1;
        continue;
      }
      ++counts.resident;
      const uint64_t pfn = e.pfn().value();
      const bool hidden = pfn == 0 && !privileged;
      add(va, pfn, 1, base_size, base_kind, hidden);
      if (hidden) continue;
      // The common case in a tight loop: entries that continue this run exactly (the same
      // flag bits, the next frame), up to where a THP block could start.
      const size_t limit = thp ? std::min(n, i + kPagesPerPmd - ((page + i) & (kPagesPerPmd - 1))) : n;
      size_t j = i + 1;
      while (j < limit && buf[j] == buf[j - 1] + 1) ++j;
      cur.pages += j - i - 1;
      counts.resident += j - i - 1;
      i = j - 1;
    }
  }
  flush();
  if (info->hugetlb) counts.huge_pages = counts.resident / (base_size / kPageSize);
  return counts;
}

ReverseResult reverse_map(Pfn pfn, uint64_t page_offset, const ReverseOptions& o) {
  ReverseResult r;
  const std::vector<int> pids = o.pids.empty() ? list_pids() : o.pids;
  std::vector<uint64_t> buf(8192);
  const uint64_t want = pfn.value();
  for (size_t k = 0; k < pids.size() && !r.stopped_early; ++k) {
    const int pid = pids[k];
    if (o.progress) o.progress(k, pids.size());
    const std::string what = fmt::format("pid {}", pid);
    auto text = read_whole(fmt::format("/proc/{}/maps", pid), what);
    if (!text) {
      r.failures.push_back({pid, text.error()});
      continue;
    }
    auto maps = parse_maps(*text);
    if (!maps) {
      r.failures.push_back({pid, {LiveError::Kind::Malformed, fmt::format("{}: {}", what, maps.error())}});
      continue;
    }
    if (maps->empty()) continue;  // a kernel thread
    // Huge reservations: ask smaps which of them hold anything.
    if (std::any_of(maps->begin(), maps->end(), [](const Mapping& m) { return m.size() > kLargeMapping; })) {
      auto stext = read_whole(fmt::format("/proc/{}/smaps", pid), what);
      if (stext)
        if (auto smaps = parse_smaps(*stext)) maps = std::move(*smaps);
    }
    if (o.before_pagemap) o.before_pagemap(pid);
    auto pm = Pagemap::open(pid);
    if (!pm) {
      LiveError e = pm.error();
      if (e.kind == LiveError::Kind::NoProcess) e = {LiveError::Kind::Exited, fmt::format("{}: exited during the scan", what)};
      r.failures.push_back({pid, e});
      continue;
    }
    const std::string comm = comm_of(pid);
    ++r.processes;
    bool failed = false;
    for (const Mapping& m : *maps) {
      if (failed || r.stopped_early) break;
      if (m.has_smaps && m.rss == 0 && !m.hugetlb) continue;  // hugetlb pages are not in Rss
      const uint64_t first_page = m.start.value() >> kPageShift, last_page = m.end.value() >> kPageShift;
      // Only the present runs, where the kernel can say which they are; else every page.
      std::optional<std::vector<Run>> runs;
      if (o.use_pagemap_scan && m.in_pagemap()) runs = pm->present_runs(first_page, last_page);
      if (runs) ++r.scanned_mappings;
      else runs = std::vector<Run>{{first_page, last_page - first_page}};
      for (const Run& run : *runs) {
        if (failed || r.stopped_early) break;
        uint64_t page = run.first;
        const uint64_t end_page = run.first + run.count;
        while (page < end_page) {
          const size_t n = std::min<uint64_t>(buf.size(), end_page - page);
          auto got = pm->read(page, std::span(buf).first(n));
          if (!got || *got < n) {
            // [vsyscall] lies above the user range pagemap covers: it reads as end of file.
            if (got && !m.in_pagemap()) break;
            r.failures.push_back({pid, got ? exited(pid) : got.error()});
            failed = true;
            break;
          }
          r.pages_read += n;
          for (size_t i = 0; i < n; ++i) {
            const uint64_t e = buf[i];
            if (!(e >> PagemapEntry::kPresent)) continue;
            ++r.resident_pages;
            if ((e & PagemapEntry::kFrameMask) != want) continue;
            r.hits.push_back({pid, comm, VirtAddr(((page + i) << kPageShift) + page_offset), m, PagemapEntry{e}});
            if (o.stop_after && r.hits.size() >= o.stop_after) {
              r.stopped_early = true;
              break;
            }
          }
          if (r.stopped_early) break;
          page += n;
        }
      }
    }
  }
  if (o.progress) o.progress(pids.size(), pids.size());
  return r;
}

tl::expected<void, LiveError> read_process_memory(int pid, VirtAddr va, uint64_t size, const PieceSink& sink) {
  const std::string what = fmt::format("pid {}", pid);
  auto fd = open_read_only(fmt::format("/proc/{}/mem", pid), what);
  if (!fd) return tl::unexpected(fd.error());
  std::array<std::byte, kPageSize> buf;
  MemoryPiece hole;  // consecutive pages the process does not map, when in_hole
  bool in_hole = false;
  auto flush_hole = [&] {
    const bool go_on = !in_hole || sink(hole);
    in_hole = false;
    return go_on;
  };
  uint64_t done = 0;
  while (done < size) {
    const uint64_t at = va.value() + done;
    const uint64_t chunk = std::min<uint64_t>(size - done, kPageSize - (at & (kPageSize - 1)));
    // /proc/PID/mem takes the VA as the file offset; offsets of 2^63 and above are negative
    // as off_t, and the kernel maps no user page there.
    auto n = at >> 63 ? tl::expected<size_t, LiveError>(0)
                      : pread_some(*fd, std::span(buf.data(), chunk), at, what);
    if (!n && n.error().kind != LiveError::Kind::Io) {
      (void)flush_hole();
      return tl::unexpected(n.error());
    }
    if (n && *n == chunk) {
      if (!flush_hole()) return {};
      MemoryPiece p;
      p.addr = at;
      p.size = chunk;
      p.bytes = std::span<const std::byte>(buf.data(), chunk);
      if (!sink(p)) return {};
    } else if (in_hole && hole.addr + hole.size == at) {
      hole.size += chunk;
    } else {
      if (!flush_hole()) return {};
      hole.addr = at;
      hole.size = chunk;
      hole.error = "not mapped in the process (/proc/PID/mem)";
      in_hole = true;
    }
    done += chunk;
  }
  (void)flush_hole();
  return {};
}

std::string region_text(const Mapping& m) {
  return fmt::format("0x{:x}-0x{:x} {} {}", m.start.value(), m.end.value(), m.perms_view(),
                     m.path.empty() ? "[anon]" : m.path);
}

std::string translation_reason(const LiveTranslation& t, int pid) {
  switch (t.status) {
    case LiveStatus::Mapped:
      return t.pfn_hidden ? "present, but the kernel hid the PFN (it shows 0 without CAP_SYS_ADMIN)" : "";
    case LiveStatus::NotPresent:
      if (!t.mapping->in_pagemap()) return fmt::format("in {}, which pagemap does not cover", t.mapping->path);
      return fmt::format("inside {}, but no page is there (never touched, or reclaimed)", region_text(*t.mapping));
    case LiveStatus::Swapped:
      return fmt::format("swapped out: swap type {}, offset 0x{:x}", t.entry.swap_type(), t.entry.swap_offset());
    case LiveStatus::NoMapping:
      return fmt::format("in no mapping of pid {}", pid);
  }
  return "";
}

}  // namespace pagewalk::live
