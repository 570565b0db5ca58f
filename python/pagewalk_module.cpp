// `import pagewalk`: the library's targets, walks and kernel views for Python (pybind11).
// Nothing here decides an answer: targets are opened by target::open_target, walks are the
// core's, words are target::translation_reason and the architectures' flag names, so a
// script and the CLI cannot disagree. Errors are the CLI's one-line messages, raised as
// pagewalk.BadInput (ValueError) or pagewalk.TargetError (OSError).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "arch/registry.hpp"
#include "core/architecture.hpp"
#include "core/table_reader.hpp"
#include "core/virtual_memory.hpp"
#include "core/walk.hpp"
#include "linux/layout.hpp"
#include "linux/linux_arch.hpp"
#include "linux/modules.hpp"
#include "linux/tasks.hpp"
#include "live/kpage.hpp"
#include "live/process.hpp"
#include "live/proc_files.hpp"
#include "target/forensics.hpp"
#include "target/kconv.hpp"
#include "target/describe.hpp"
#include "target/map.hpp"
#include "target/target.hpp"

namespace py = pybind11;

namespace pagewalk::python {
namespace {

using target::RootView;

struct BadInput : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct TargetError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void raise(const target::Error& e) {
  if (e.kind == target::Error::Kind::BadInput) throw BadInput(e.message);
  throw TargetError(e.message);
}

py::object int_or_none(const std::optional<uint64_t>& v) { return v ? py::cast(*v) : py::none(); }

py::dict access_dict(Access a) {
  py::dict d;
  d["kernel"] = std::string(Access::rwx(a.kernel()));
  d["user"] = std::string(Access::rwx(a.user()));
  return d;
}

// The exclusive end of [start, last] as a Python int: 2^64 in full at the top of the space.
py::object end_after(uint64_t last) { return py::int_(last) + py::int_(1); }

py::list regions_list(const std::vector<linux_kernel::Region>& regions) {
  py::list out;
  for (const auto& r : regions) {
    py::dict d;
    d["start"] = r.start;
    d["end"] = end_after(r.last);
    d["region"] = std::string(linux_kernel::region_id(r.kind));
    d["name"] = r.name;
    d["note"] = r.note;
    out.append(d);
  }
  return out;
}

// One VA's indices, as decode's JSON result gives it.
py::dict decode_dict(const PagingMode& space, uint64_t va) {
  py::dict d;
  d["va"] = va;
  const VaRegion* region = space.region_of(VirtAddr(va));
  if (!region) {
    Translation nt;
    nt.va = VirtAddr(va);
    nt.status = Status::NoRegion;
    d["status"] = std::string(to_string(nt.status));
    d["reason"] = target::translation_reason(Paging{&space, {}}, nt);
    return d;
  }
  const PagingMode& m = space.tree(region->root);  // a split mode's VA is its tree's
  py::list levels;
  for (unsigned l = 0; l < m.level_count(); ++l) {
    const LevelDesc& ld = m.levels[l];
    py::dict x;
    x["level"] = std::string(ld.linux_name);
    x["hw_level"] = std::string(ld.hw_name);
    x["bits"] = fmt::format("{}:{}", ld.shift + ld.index_bits - 1, ld.shift);
    x["index"] = m.index(VirtAddr(va), l);
    levels.append(x);
  }
  d["levels"] = levels;
  py::list folded;
  for (const auto& v : m.linux_levels())
    if (v.folded) folded.append(std::string(v.name));
  d["folded"] = folded;
  d["offset"] = m.page_offset(VirtAddr(va));
  return d;
}

const PagingMode& mode_named(const std::string& name) {
  auto m = target::mode_by_name(name);
  if (!m) raise(m.error());
  return *m ? **m : *arch::all_modes().front();
}

// The kernel's view of a mode, as one entry of `pagewalk modes --json`.
py::dict mode_dict(const PagingMode& m) {
  const linux_kernel::KernelMasks km = linux_kernel::kernel_masks(m);
  const auto lv = m.linux_levels();
  py::dict d;
  d["mode"] = std::string(m.name);
  d["description"] = std::string(m.description);
  d["va_bits"] = m.va_bits;
  d["entry_bytes"] = m.entry_bytes;
  d["max_pa_bits"] = m.default_pa_bits;
  for (unsigned i = 0; i < 5; ++i) {
    d[py::str(std::string(linux_kernel::kLevelShiftNames[i]))] = lv[i].shift;
    d[py::str(std::string(linux_kernel::kPtrsPerNames[i]))] = lv[i].ptrs_per;
  }
  py::list levels;
  for (const LevelDesc& l : m.levels) {
    py::dict x;
    x["level"] = std::string(l.linux_name);
    x["hw_level"] = std::string(l.hw_name);
    x["shift"] = l.shift;
    x["index_bits"] = l.index_bits;
    x["large_pages"] = l.can_be_leaf;
    levels.append(x);
  }
  d["levels"] = levels;
  py::list folded;
  for (const auto& v : lv)
    if (v.folded) folded.append(std::string(v.name));
  d["folded"] = folded;
  d["PAGE_SIZE"] = uint64_t{1} << m.page_shift();
  d["PAGE_MASK"] = km.page_mask;
  d["PMD_MASK"] = km.pmd_mask;
  d["PUD_MASK"] = km.pud_mask;
  d["PGDIR_MASK"] = km.pgdir_mask;
  d["PTE_PFN_MASK"] = km.pte_pfn_mask;
  d["__PHYSICAL_MASK_SHIFT"] = km.physical_mask_shift;
  return d;
}

// One page-table entry decoded, as `pagewalk entry --json` gives it.
py::dict entry_dict(uint64_t raw, const std::optional<std::string>& level_name, const std::string& mode_name,
                    unsigned pa_bits, bool no_nx) {
  const PagingMode& m = mode_named(mode_name);
  if (m.entry_bytes == 4 && raw > 0xffffffffull)
    throw BadInput(fmt::format("0x{:x} does not fit in a 32-bit {} entry", raw, m.name));
  unsigned level = m.level_count() - 1;
  if (level_name) {
    auto l = m.level_named(*level_name);
    if (!l)
      throw BadInput(fmt::format("level '{}' does not exist in {} (levels: {})", *level_name, m.name, m.level_names()));
    level = *l;
  }
  if (auto ok = target::check_pa_bits(pa_bits, &m); !ok) raise(ok.error());
  const Paging p{&m, target::user_decode_options({}, pa_bits, no_nx)};
  const EntryDecode e = p.decode(level, raw);
  const LevelDesc& l = m.levels[level];
  py::dict d;
  d["raw"] = raw;
  d["mode"] = std::string(m.name);
  d["level"] = std::string(l.linux_name);
  d["hw_level"] = std::string(l.hw_name);
  d["kind"] = std::string(to_string(e.kind));
  if (e.kind == EntryKind::Table) d["table"] = e.addr;
  if (e.kind == EntryKind::Leaf || e.kind == EntryKind::ProtNone) {
    d["pa"] = e.addr;
    d["pfn"] = e.addr >> m.page_shift();
    d["page_size"] = m.span(level);
  }
  if (e.kind == EntryKind::Reserved) d["reserved_bits"] = e.reserved;
  py::list flags;
  for (const auto& f : m.arch->flag_names(m, level, raw, p.options)) flags.append(std::string(f));
  d["flags"] = flags;
  if (e.kind == EntryKind::Leaf || e.kind == EntryKind::Table) d["access"] = access_dict(e.access);
  py::dict fields;
  for (const EntryField& f : m.arch->entry_fields(m, level, raw, p.options)) fields[py::str(std::string(f.name))] = f.value;
  d["fields"] = fields;
  if (e.kind == EntryKind::Swap) {
    py::dict sw;
    sw["type"] = e.swap_type;
    sw["offset"] = e.swap_offset;
    sw["kind"] = std::string(m.arch->swap_kind(e.swap_type));
    d["swap"] = sw;
  }
  return d;
}

py::object known_dict(const std::optional<linux_kernel::Known>& k) {
  if (!k) return py::none();
  py::dict d;
  d["value"] = k->value;
  d["source"] = k->source;
  return d;
}

// One level of a walk, as translate's JSON `steps` gives it.
struct PyStep {
  std::string level, hw_level;
  uint64_t table = 0, entry_pa = 0;
  unsigned index = 0;
  std::optional<uint64_t> raw;  // none for the entry that could not be read
  std::vector<std::string> flags;
};

// One translated address, as translate's JSON result gives it (numbers as ints).
struct PyTranslation {
  uint64_t va = 0;
  std::string status;
  std::optional<uint64_t> pa, pfn, page_size;
  std::optional<std::string> access_kernel, access_user, reason, symbol, pgd;
  std::optional<int> pid;
  std::optional<unsigned> swap_type;
  std::optional<uint64_t> swap_offset, unreadable_pa;
  std::optional<std::string> swap_kind;
  bool frame_in_source = true;  // false: a mapped frame the source holds no bytes of
  std::vector<PyStep> steps;
  // What str() renders on demand as the CLI's per-level trace (a loop of translate() calls
  // should not pay for text it never prints).
  Translation walked;
  Paging paging;
  target::SourceNotes notes;

  [[nodiscard]] std::string trace() const {
    std::string out;
    target::append_translation_trace(out, paging, walked, notes);
    return out;
  }

  [[nodiscard]] bool mapped() const { return status == "mapped"; }

  // The same members as the CLI's JSON T, ints for hex strings.
  [[nodiscard]] py::dict to_dict() const {
    py::dict d;
    if (pid) d["pid"] = *pid;
    if (pgd) d["pgd"] = *pgd;
    d["va"] = va;
    d["status"] = status;
    if (pa) {
      d["pa"] = *pa;
      d["pfn"] = *pfn;
      d["page_size"] = *page_size;
    }
    if (access_kernel) {
      py::dict a;
      a["kernel"] = *access_kernel;
      a["user"] = *access_user;
      d["access"] = a;
      if (!frame_in_source) d["frame_in_source"] = false;
    }
    if (swap_type) {
      py::dict s;
      s["type"] = *swap_type;
      s["offset"] = *swap_offset;
      s["kind"] = *swap_kind;
      d["swap"] = s;
    }
    if (unreadable_pa) d["unreadable_pa"] = *unreadable_pa;
    if (reason) d["reason"] = *reason;
    py::list st;
    for (const PyStep& s : steps) {
      py::dict x;
      x["level"] = s.level;
      x["hw_level"] = s.hw_level;
      x["table"] = s.table;
      x["index"] = s.index;
      x["entry_pa"] = s.entry_pa;
      if (s.raw) {
        x["raw"] = *s.raw;
        x["flags"] = s.flags;
      }
      st.append(x);
    }
    d["steps"] = st;
    if (symbol) d["symbol"] = *symbol;
    return d;
  }
};

// A contiguous array of numbers that Python reads through the buffer protocol
// (memoryview, numpy.frombuffer), with len() and indexing.
template <typename T>
struct NumberArray {
  std::vector<T> v;
};

template <typename T>
void bind_array(py::module_& m, const char* name, const char* doc) {
  py::class_<NumberArray<T>>(m, name, py::buffer_protocol(), doc)
      .def_buffer([](NumberArray<T>& a) {
        return py::buffer_info(a.v.data(), sizeof(T), py::format_descriptor<T>::format(), 1, {a.v.size()},
                               {sizeof(T)});
      })
      .def("__len__", [](const NumberArray<T>& a) { return a.v.size(); })
      .def("__getitem__", [](const NumberArray<T>& a, py::ssize_t i) {
        const auto n = static_cast<py::ssize_t>(a.v.size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) throw py::index_error("index out of range");
        return a.v[static_cast<size_t>(i)];
      })
      .def("tolist", [](const NumberArray<T>& a) { return py::cast(a.v); });
}

// translate_many's answer: one entry per VA, in order.
struct Batch {
  NumberArray<uint64_t> va, pa, page_size;
  NumberArray<uint8_t> status;  // a Status code; Batch.status_names names them
};

class PyTarget {
 public:
  explicit PyTarget(target::Target t)
      : t_(std::move(t)), reader_(t_.memory()), walker_(t_.paging), held_(t_.memory().ranges()) {}

  [[nodiscard]] const target::Target& target() const { return t_; }

  const RootView& view(const std::optional<std::string>& pgd) const {
    if (!pgd) return t_.views.front();
    for (const RootView& v : t_.views)
      if (v.label == *pgd) return v;
    throw BadInput(t_.views.size() > 1 ? fmt::format("pgd '{}': give \"kernel\" or \"user\"", *pgd)
                                       : "pgd: the target has one PGD (no page-table isolation pair)");
  }

  PyTranslation translate(uint64_t va, const std::optional<std::string>& pgd) {
    const RootView& v = view(pgd);
    const Translation tr = walker_.walk(reader_, v.roots, VirtAddr(va));
    return describe(tr, v);
  }

  std::vector<PyTranslation> translate_all(uint64_t va) {
    std::vector<PyTranslation> out;
    for (const RootView& v : t_.views) out.push_back(describe(walker_.walk(reader_, v.roots, VirtAddr(va)), v));
    return out;
  }

  Batch translate_many(const py::object& vas, const std::optional<std::string>& pgd) {
    const RootView& v = view(pgd);
    Batch b;
    auto one = [&](uint64_t va) {
      const Translation tr = walker_.walk(reader_, v.roots, VirtAddr(va));
      const bool frame = tr.status == Status::Mapped || tr.status == Status::ProtNone;
      b.va.v.push_back(va);
      b.pa.v.push_back(frame ? tr.pa.value() : 0);
      b.page_size.v.push_back(frame ? tr.page_size : 0);
      b.status.v.push_back(static_cast<uint8_t>(tr.status));
    };
    if (py::isinstance<py::buffer>(vas) && !py::isinstance<py::str>(vas) && !py::isinstance<py::bytes>(vas)) {
      // The buffer path: an array of unsigned 64-bit integers, read in place.
      const py::buffer_info in = py::reinterpret_borrow<py::buffer>(vas).request();
      if (in.ndim != 1 || in.itemsize != 8 || (in.format != "Q" && in.format != "L" && in.format != "K" &&
                                               in.format != "<Q" && in.format != "=Q"))
        throw BadInput(fmt::format("translate_many: a buffer of unsigned 64-bit integers is needed, not format '{}' "
                                   "of {} bytes in {} dimension(s)",
                                   in.format, in.itemsize, in.ndim));
      const auto* p = static_cast<const uint8_t*>(in.ptr);
      const auto n = static_cast<size_t>(in.shape[0]);
      b.va.v.reserve(n), b.pa.v.reserve(n), b.page_size.v.reserve(n), b.status.v.reserve(n);
      {
        py::gil_scoped_release unlocked;
        for (size_t i = 0; i < n; ++i) {
          uint64_t va;
          std::memcpy(&va, p + static_cast<py::ssize_t>(i) * in.strides[0], 8);
          one(va);
        }
      }
      return b;
    }
    for (const py::handle h : vas) one(h.cast<uint64_t>());
    return b;
  }

  py::bytes read(uint64_t va, size_t n, const std::optional<std::string>& pgd) {
    check_length(n);
    VirtualMemory vm(t_.paging, reader_, view(pgd).roots);
    std::string out(n, '\0');
    auto r = vm.read(VirtAddr(va), std::as_writable_bytes(std::span(out.data(), n)));
    if (!r) throw TargetError(fmt::format("0x{:x}: {}", r.error().va.value(), r.error().reason));
    return py::bytes(out);
  }

  py::bytes read_phys(uint64_t pa, size_t n) {
    check_length(n);
    std::string out(n, '\0');
    auto r = t_.memory().read(PhysAddr(pa), std::as_writable_bytes(std::span(out.data(), n)));
    if (!r) throw TargetError(fmt::format("PA 0x{:x}: {}", r.error().addr.value(), r.error().reason));
    return py::bytes(out);
  }

  // The rows of `pagewalk map --jsonl` with these options, as dicts (ints for hex strings),
  // collected and returned as an iterator.
  py::iterator map(bool pages, bool holes, const std::optional<uint64_t>& from, const std::optional<uint64_t>& to,
                   bool by_attributes, bool with_kernel, uint64_t max_entries) {
    target::MapOptions o;
    o.from = from;
    o.to = to;
    if (to && *to <= from.value_or(0)) throw BadInput("map: the window is empty (to must lie above from)");
    o.pages = pages;
    o.holes = holes;
    o.by_attributes = by_attributes;
    o.with_kernel = with_kernel;
    o.max_entries = max_entries;
    auto rows = std::make_shared<py::list>();
    auto r = target::map_target(t_, reader_, o, [&](const target::MapRow& row) {
      const Range& g = row.range;
      const PagingMode& m = t_.paging.mode->region_tree(g.region);  // a split mode's range is its tree's
      py::dict d;
      if (t_.process) d["pid"] = t_.process->pid;
      if (!row.view->label.empty()) d["pgd"] = row.view->label;
      d["start"] = g.start.value();
      // The exclusive end as a Python int: 2^64 in full at the top of the space.
      d["end"] = py::int_(g.start.value()) + py::int_(g.size);
      d["kind"] = std::string(to_string(g.kind));
      if (g.kind == RangeKind::Mapped) {
        d["pa"] = g.pa.value();
        d["pfn"] = g.pa.value() >> m.page_shift();
        d["page_size"] = g.page_size(m);
        d["pages"] = g.pages;
        d["pa_runs"] = g.pa_runs;
        d["level"] = std::string(m.levels[g.level].linux_name);
        py::dict a;
        a["kernel"] = std::string(Access::rwx(g.access.kernel()));
        a["user"] = std::string(Access::rwx(g.access.user()));
        d["access"] = a;
        py::list flags;
        for (const auto& f : m.arch->flag_names(m, g.level, g.raw, t_.paging.options)) flags.append(std::string(f));
        d["flags"] = flags;
        if (!t_.task && t_.kernel)
          if (auto sym = t_.kernel->name_of(g.start.value())) d["symbol"] = *sym;
      } else if (g.kind == RangeKind::Loop) {
        d["level"] = std::string(m.levels[g.level].linux_name);
        d["raw"] = g.raw;
        d["table"] = g.pa.value();
      }
      if (const linux_kernel::Vma* v = row.vma) {
        py::dict reg;
        reg["start"] = v->start;
        reg["end"] = v->end;
        reg["perms"] = v->perms();
        reg["offset"] = v->offset;
        reg["path"] = v->name;
        d["region"] = reg;
      }
      rows->append(d);
      return true;
    });
    if (!r) raise(r.error());
    return py::iter(*rows);
  }

  py::list ps() {
    if (!t_.kernel) throw BadInput("ps reads the kernel's task list: open the target with kernel=True or pid=");
    auto types = t_.kernel->types();
    if (!types) throw TargetError(types.error());
    const linux_kernel::TaskList list = linux_kernel::list_tasks(*t_.kernel, **types);
    const std::optional<bool> pti = linux_kernel::pti_enabled(*t_.kernel, **types);
    py::list out;
    for (const linux_kernel::Task& k : list.tasks) {
      py::dict d;
      d["pid"] = k.pid;
      d["tgid"] = k.tgid;
      d["ppid"] = k.ppid ? py::cast(*k.ppid) : py::none();
      d["state"] = k.state ? py::cast(std::string(1, *k.state)) : py::none();
      d["threads"] = k.threads ? py::cast(*k.threads) : py::none();
      d["comm"] = k.comm;
      d["task"] = k.task;
      d["mm"] = k.mm ? py::cast(k.mm) : py::none();
      d["pgd"] = k.mm ? py::cast(k.pgd_va) : py::none();
      d["pgd_pa"] = k.pgd ? py::cast(k.pgd->value()) : py::none();
      // As ps --json: only under page-table isolation, the user half of the pair.
      if (pti && *pti)
        d["user_pgd_pa"] = k.pgd ? py::cast(k.pgd->value() + linux_kernel::kPtiUserPgdOffset) : py::none();
      out.append(d);
    }
    return out;
  }

  // The kernel's layout (its KASLR bases and regions), as `pagewalk layout --json` gives it;
  // with `addr` the region (and symbol) it falls in.
  py::dict layout(const py::object& addr) {
    linux_kernel::LinuxKernel& k = kernel("layout");
    auto view = target::layout_view(&k, t_.name(), nullptr);
    if (!view) raise(view.error());
    py::dict d;
    d["release"] = k.release;
    d["layout_from"] = view->source;
    d["mode"] = std::string(view->mode->name);
    py::dict bases;
    bases["kaslr_offset"] = known_dict(k.kaslr_offset);
    bases["phys_base"] = known_dict(k.phys_base);
    bases["page_offset_base"] = known_dict(k.page_offset_base);
    bases["vmalloc_base"] = known_dict(k.vmalloc_base);
    bases["vmemmap_base"] = known_dict(k.vmemmap_base);
    bases["kernel_pgd_va"] = known_dict(k.kernel_pgd_va);
    bases["kernel_pgd_pa"] = known_dict(linux_kernel::Known{k.kernel_pgd.value(), "kernel_pgd_va through the kernel's tables"});
    d["bases"] = bases;
    d["regions"] = regions_list(view->regions);
    if (!addr.is_none()) {
      const uint64_t va = address(addr, "layout addr");
      const linux_kernel::Region& hit = linux_kernel::classify(view->regions, va);
      py::dict a;
      a["va"] = va;
      a["region"] = std::string(linux_kernel::region_id(hit.kind));
      a["name"] = hit.name;
      if (auto sym = k.name_of(va)) a["symbol"] = *sym;
      d["address"] = a;
    }
    return d;
  }

  // The kernel's conversions of each start, checked against its tables, as `pagewalk kconv
  // --json` gives them.
  py::dict kconv(const std::vector<py::object>& virt, const std::vector<uint64_t>& phys,
                 const std::vector<uint64_t>& pfn, const std::vector<py::object>& page, uint64_t size) {
    linux_kernel::LinuxKernel& k = kernel("kconv");
    if (virt.empty() && phys.empty() && pfn.empty() && page.empty())
      throw BadInput("kconv: give virt=, phys=, pfn= or page= (each a list)");
    std::vector<target::KconvStart> starts;
    for (const auto& v : virt) starts.push_back({false, address(v, "virt")});
    for (const uint64_t v : phys) starts.push_back({true, v});
    auto start = [&](tl::expected<target::KconvStart, target::Error> st) {
      if (!st) raise(st.error());
      starts.push_back(*st);
    };
    for (const uint64_t v : pfn) start(target::kconv_pfn(k, v));
    for (const auto& v : page) start(target::kconv_page(k, address(v, "page")));
    auto rows = target::kconv(k, starts, size);
    if (!rows) raise(rows.error());
    py::dict d;
    d["page_offset_base"] = known_dict(k.page_offset_base);
    d["phys_base"] = known_dict(k.phys_base);
    d["vmemmap_base"] = known_dict(k.vmemmap_base);
    d["struct_page_size"] = k.struct_page_size;
    py::list out;
    for (const target::KconvRow& r : *rows) {
      py::dict x;
      x["va"] = r.virt;
      x["region"] = r.region;
      x["pa"] = int_or_none(r.phys);
      x["rule"] = r.rule;
      x["walk_pa"] = int_or_none(r.walk_pa);
      x["agrees"] = r.agrees();
      x["pfn"] = int_or_none(r.pfn);
      x["page"] = int_or_none(r.page);
      x["problem"] = r.problem.empty() ? py::none() : py::cast(r.problem);
      out.append(x);
    }
    d["rows"] = out;
    return d;
  }

  // The VMAs of one process or of every one, as `pagewalk maps --json` gives them.
  py::dict maps(const std::optional<int32_t>& pid) {
    linux_kernel::LinuxKernel& k = kernel("maps");
    const linux_kernel::TaskLayout& tl = types();
    auto tasks = target::task_list(k, tl, pid);
    if (!tasks) raise(tasks.error());
    auto maps = target::process_maps(k, tl, *tasks, pid);
    if (!maps) raise(maps.error());
    py::list processes;
    for (const target::ProcessVmas& pv : maps->processes) {
      py::dict proc;
      py::dict who;
      who["pid"] = pv.task->pid;
      who["comm"] = pv.task->comm;
      proc["process"] = who;
      proc["vmas_from"] = pv.list.source;
      py::list vmas;
      for (const linux_kernel::Vma& v : pv.list.vmas) {
        py::dict x;
        x["start"] = v.start;
        x["end"] = v.end;
        x["perms"] = v.perms();
        x["offset"] = v.offset;
        x["dev"] = fmt::format("{:02x}:{:02x}", v.major, v.minor);
        x["inode"] = v.inode;
        x["path"] = v.name;
        if (v.vma) x["vma"] = v.vma;
        vmas.append(x);
      }
      proc["vmas"] = vmas;
      processes.append(proc);
    }
    py::dict d;
    d["processes"] = processes;
    d["warnings"] = maps->warnings;
    return d;
  }

  // Every (pid, VA) and kernel VA that maps each PA, as `pagewalk ptov --json` gives them.
  py::dict ptov(const py::object& pas_given, const std::optional<int32_t>& pid) {
    linux_kernel::LinuxKernel& k = kernel("ptov");
    std::vector<PhysAddr> pas;
    if (py::isinstance<py::int_>(pas_given)) pas.push_back(PhysAddr(pas_given.cast<uint64_t>()));
    else
      for (const py::handle h : pas_given) pas.push_back(PhysAddr(h.cast<uint64_t>()));
    auto tasks = target::task_list(k, types(), pid);
    if (!tasks) raise(tasks.error());
    linux_kernel::ReverseMapOptions ro;
    ro.pid = pid;
    const linux_kernel::ReverseMapResult r = linux_kernel::reverse_map(k, tasks->tasks, pas, ro);
    if (auto e = t_.source->health()) throw TargetError(*e);
    py::dict d;
    d["release"] = k.release;
    d["queries"] = queries(&k, pas, &r);
    d["address_spaces"] = r.address_spaces;
    d["leaves"] = r.leaves;
    d["warnings"] = r.warnings;
    return d;
  }

  // Physical memory searched for bytes, each hit with its mappers when the target has the
  // kernel, as `pagewalk search --json` gives it.
  py::dict search(const py::object& pattern_given, uint64_t max_hits, const std::optional<int32_t>& pid, bool vas) {
    std::string pattern = py::isinstance<py::str>(pattern_given) ? pattern_given.cast<std::string>()
                                                                  : std::string(pattern_given.cast<py::bytes>());
    const auto bytes = std::as_bytes(std::span(pattern.data(), pattern.size()));
    if (auto ok = target::check_search_pattern(bytes); !ok) raise(ok.error());
    if (!vas && pid) throw BadInput("search: pid filters by the VAs that vas=False leaves out");
    linux_kernel::LinuxKernel* k = vas ? t_.kernel.get() : nullptr;
    if (pid && !k) throw BadInput("search: pid needs the kernel: open the target with kernel=True");
    std::vector<PhysAddr> hits;
    SearchOptions so;
    so.max_hits = max_hits;
    const SearchReport rep = search_physical(t_.memory(), bytes, [&](PhysAddr pa) {
      hits.push_back(pa);
      return true;
    }, so);
    std::optional<linux_kernel::ReverseMapResult> r;
    if (k) {
      auto tasks = target::task_list(*k, types(), pid);
      if (!tasks) raise(tasks.error());
      linux_kernel::ReverseMapOptions ro;
      ro.pid = pid;
      r = target::hit_mappers(*k, tasks->tasks, hits, ro);
    }
    if (auto e = t_.source->health()) throw TargetError(*e);
    uint64_t unreadable = 0;
    for (const PhysRange& u : rep.unreadable) unreadable += u.size;
    py::dict d;
    py::dict pat;
    pat["bytes"] = py::bytes(pattern).attr("hex")();
    pat["size"] = pattern.size();
    d["pattern"] = pat;
    d["hits"] = queries(k, hits, r ? &*r : nullptr);
    d["bytes_scanned"] = rep.bytes_scanned;
    d["unreadable_bytes"] = unreadable;
    d["truncated"] = rep.truncated;
    if (r) d["address_spaces"] = r->address_spaces;
    d["warnings"] = r ? r->warnings : std::vector<std::string>{};
    return d;
  }

  // A frame's struct page decoded, as one entry of `pagewalk page --json`.
  py::dict page(const std::optional<uint64_t>& pfn, const std::optional<uint64_t>& phys, const py::object& page_va) {
    linux_kernel::LinuxKernel& k = kernel("page");
    if (pfn.has_value() + phys.has_value() + !page_va.is_none() != 1)
      throw BadInput("page: give one of pfn=, phys= or page=");
    Pfn f(pfn ? *pfn : phys ? *phys >> 12 : 0);
    if (!page_va.is_none()) {
      auto from = k.page_to_pfn(VirtAddr(address(page_va, "page")));
      if (!from) throw BadInput(fmt::format("page: {}", from.error()));
      f = *from;
    }
    auto p = target::page_of(k, types(), f);
    if (!p) raise(p.error());
    py::dict d;
    d["pfn"] = f.value();
    d["pa"] = f.value() << 12;
    d["page"] = p->page;
    py::dict flags;
    flags["raw"] = p->flags;
    flags["flags"] = p->flag_names;
    d["flags"] = flags;
    d["refcount"] = p->refcount;
    d["mapcount"] = p->mapcount;
    d["mapping"] = p->mapping;
    d["mapping_kind"] = p->mapping_kind;
    d["index"] = p->index;
    if (p->file) d["file"] = *p->file;
    d["private"] = p->private_data;
    if (p->head) d["head"] = *p->head;
    if (p->order) d["order"] = *p->order;
    if (p->node) d["node"] = *p->node;
    if (!p->zone.empty()) d["zone"] = p->zone;
    if (p->section) d["section"] = *p->section;
    py::dict kpf;
    kpf["raw"] = live::kpageflags_word(p->kpageflags);
    kpf["flags"] = p->kpageflags;
    d["kpageflags"] = kpf;
    return d;
  }

  // The loaded modules from the kernel's list, as `pagewalk modules --json` gives them.
  py::dict modules(bool symbols) {
    linux_kernel::LinuxKernel& k = kernel("modules");
    (void)types();  // the types' own error first, as the CLI
    auto list = k.modules();
    if (!list) throw TargetError(list.error());
    py::list out;
    for (const linux_kernel::KernelModule& m : (*list)->modules) {
      py::dict x;
      x["name"] = m.name;
      x["module"] = m.module;
      x["base"] = m.base;
      x["size"] = m.size;
      x["state"] = m.state;
      py::list areas;
      for (const auto& ar : m.areas) {
        py::dict a;
        a["kind"] = ar.kind;
        a["base"] = ar.base;
        a["size"] = ar.size;
        areas.append(a);
      }
      x["areas"] = areas;
      x["symbol_count"] = m.symbols.size();
      if (symbols) {
        py::list syms;
        for (const auto& sym : m.symbols) {
          py::dict y;
          y["addr"] = sym.addr;
          y["type"] = std::string(1, sym.type);
          y["name"] = sym.name;
          syms.append(y);
        }
        x["symbols"] = syms;
      }
      out.append(x);
    }
    py::dict d;
    d["release"] = k.release;
    d["modules"] = out;
    d["warnings"] = (*list)->warnings;
    return d;
  }

  // A VA's index at every level of the target's mode, as `pagewalk decode --json` gives it.
  py::dict decode(uint64_t va) const { return decode_dict(*t_.paging.mode, va); }

 private:
  linux_kernel::LinuxKernel& kernel(const char* what) {
    if (!t_.kernel)
      throw BadInput(fmt::format("{} reads the kernel: open the target with kernel=True or pid=", what));
    return *t_.kernel;
  }

  const linux_kernel::TaskLayout& types() {
    auto types = kernel("this").types();
    if (!types) throw TargetError(types.error());
    return **types;
  }

  // An address given as an int, or as a kernel symbol ("init_task", "_text+0x40").
  uint64_t address(const py::object& given, const char* what) {
    if (!py::isinstance<py::str>(given)) return given.cast<uint64_t>();
    const std::string text = given.cast<std::string>();
    if (!t_.kernel || t_.kernel->symbols.empty())
      throw BadInput(fmt::format("{}: '{}' is a name, and this target has no kernel symbols", what, text));
    auto v = t_.kernel->resolve(text);
    if (!v) throw BadInput(fmt::format("{}: {} ({})", what, v.error(), t_.kernel->symbols_source));
    return *v;
  }

  // ptov's queries and search's hits: each PA with its mappers (none without a reverse map).
  py::list queries(linux_kernel::LinuxKernel* k, std::span<const PhysAddr> pas,
                   const linux_kernel::ReverseMapResult* r) {
    std::optional<std::vector<linux_kernel::Region>> regions;
    if (k)
      if (auto l = k->layout()) regions = std::move(*l);
    py::list out;
    size_t next = 0;
    for (size_t qi = 0; qi < pas.size(); ++qi) {
      py::dict q;
      q["pa"] = pas[qi].value();
      q["pfn"] = pas[qi].value() >> 12;
      py::list mappers;
      for (; r && next < r->mappers.size() && r->mappers[next].query == qi; ++next) {
        const linux_kernel::FrameMapper& fm = r->mappers[next];
        py::dict x;
        if (fm.pid) {
          x["pid"] = *fm.pid;
          x["comm"] = fm.comm;
        }
        x["space"] = fm.pid ? "process" : "kernel";
        x["va"] = fm.va.value();
        x["page_size"] = fm.page_size;
        x["level"] = std::string(k->paging.mode->region_tree(fm.region).levels[fm.level].linux_name);
        x["entry"] = fm.raw;
        x["access"] = access_dict(fm.access);
        if (!fm.pid && regions) x["region"] = std::string(linux_kernel::region_id(linux_kernel::classify(*regions, fm.va.value()).kind));
        if (!fm.pid)
          if (auto sym = k->name_of(fm.va.value())) x["symbol"] = *sym;
        mappers.append(x);
      }
      q["mappers"] = mappers;
      out.append(q);
    }
    return out;
  }

  static void check_length(size_t n) {
    if (n == 0 || n > (size_t{256} << 20)) throw BadInput(fmt::format("a read of {} bytes: give 1 to 256 MiB", n));
  }

  PyTranslation describe(const Translation& tr, const RootView& v) {
    const Paging p = t_.paging.for_region(tr.region);  // a split mode's trace is its tree's
    const PagingMode& m = *p.mode;
    PyTranslation o;
    const target::SourceNotes notes = target::SourceNotes::of(t_.memory(), held_, tr);
    if (t_.process) o.pid = t_.process->pid;
    if (!v.label.empty()) o.pgd = v.label;
    o.va = tr.va.value();
    o.status = std::string(to_string(tr.status));
    if (tr.status == Status::Mapped || tr.status == Status::ProtNone) {
      o.pa = tr.pa.value();
      o.pfn = tr.pa.value() >> m.page_shift();
      o.page_size = tr.page_size;
    }
    if (tr.status == Status::Mapped) {
      o.access_kernel = std::string(Access::rwx(tr.access.kernel()));
      o.access_user = std::string(Access::rwx(tr.access.user()));
      o.frame_in_source = notes.frame_held;
    } else {
      o.reason = target::translation_reason(t_.paging, tr, notes.unreadable_why);
    }
    if (tr.status == Status::Swap) {
      o.swap_type = tr.swap_type;
      o.swap_offset = tr.swap_offset;
      o.swap_kind = std::string(m.arch->swap_kind(tr.swap_type));
    }
    if (tr.status == Status::Unreadable) o.unreadable_pa = tr.unreadable.value();
    for (unsigned i = 0; i < tr.nsteps; ++i) {
      const Step& s = tr.steps[i];
      const LevelDesc& l = m.levels[s.level];
      PyStep x{std::string(l.linux_name), std::string(l.hw_name), s.table.value(), s.entry_addr.value(), s.index, {}, {}};
      if (i + 1 < tr.nsteps || tr.status != Status::Unreadable) {
        x.raw = s.raw;
        for (const auto& f : m.arch->flag_names(m, s.level, s.raw, p.options)) x.flags.emplace_back(f);
      }
      o.steps.push_back(std::move(x));
    }
    if (t_.kernel)
      if (auto sym = t_.kernel->name_of(tr.va.value())) o.symbol = *sym;
    o.walked = tr;
    o.paging = t_.paging;
    o.notes = notes;
    return o;
  }

  target::Target t_;
  TableReader reader_;
  Walker walker_;
  RangeSet held_;  // the physical ranges the source holds
};

// A live process through /proc: its pagemap, smaps and (with CAP_SYS_ADMIN) kpageflags and
// kpagecount, as `pagewalk translate --pid N` reads them.
class PyLive {
 public:
  explicit PyLive(const py::object& pid_given) {
    const std::string text = py::isinstance<py::str>(pid_given) ? pid_given.cast<std::string>()
                                                                : std::to_string(pid_given.cast<int64_t>());
    auto pid = live::parse_pid(text);
    if (!pid) throw BadInput(fmt::format("--pid: {}", pid.error()));
    auto p = live::LiveProcess::open(*pid, true);
    if (!p) throw TargetError(p.error().message);
    process_.emplace(std::move(*p));
    options_.privileged = live::has_cap_sys_admin();
    if (auto k = live::Kpage::open()) kpage_.emplace(std::move(*k));
    options_.kpage = kpage_ ? &*kpage_ : nullptr;
  }

  [[nodiscard]] int pid() const { return process_->pid(); }
  [[nodiscard]] const std::string& comm() const { return process_->comm(); }
  [[nodiscard]] bool privileged() const { return options_.privileged; }

  py::dict translate(uint64_t va) { return translate_many({va})[0].cast<py::dict>(); }

  py::list translate_many(const std::vector<uint64_t>& vas) {
    std::vector<VirtAddr> batch(vas.begin(), vas.end());
    auto results = live::translate(*process_, batch, options_);
    if (!results) throw TargetError(results.error().message);
    py::list out;
    for (const live::LiveTranslation& t : *results) out.append(result(t));
    return out;
  }

  [[nodiscard]] py::list mappings() const {
    py::list out;
    for (const live::Mapping& m : process_->mappings()) out.append(region(m));
    return out;
  }

 private:
  static py::dict region(const live::Mapping& m) {
    py::dict r;
    r["start"] = m.start.value();
    r["end"] = m.end.value();
    r["perms"] = std::string(m.perms_view());
    r["offset"] = m.offset;
    r["path"] = m.path;
    return r;
  }

  // One result of `pagewalk translate --pid N --json`.
  [[nodiscard]] py::dict result(const live::LiveTranslation& t) const {
    using live::LiveStatus;
    py::dict d;
    d["pid"] = pid();
    d["va"] = t.va.value();
    d["status"] = std::string(live::to_string(t.status));
    if (t.status == LiveStatus::Mapped) {
      if (!t.pfn_hidden) {
        d["pa"] = t.pa.value();
        d["pfn"] = t.entry.pfn().value();
      }
      d["page_size"] = t.page_size;
      d["page_kind"] = std::string(live::to_string(t.kind));
      d["pfn_hidden"] = t.pfn_hidden;
    }
    if (t.status == LiveStatus::Swapped) {
      py::dict sw;
      sw["type"] = t.entry.swap_type();
      sw["offset"] = t.entry.swap_offset();
      d["swap"] = sw;
    }
    if (t.mapping && t.mapping->in_pagemap()) {
      py::dict pm;
      pm["raw"] = t.entry.raw;
      py::list flags;
      for (const auto& f : live::pagemap_flag_names(t.entry)) flags.append(std::string(f));
      pm["flags"] = flags;
      d["pagemap"] = pm;
    }
    if (t.has_kpage) {
      py::dict kf;
      kf["raw"] = t.kpage.flags;
      kf["flags"] = live::kpageflag_names(t.kpage.flags);
      d["kpageflags"] = kf;
      d["kpagecount"] = t.kpage.count;
    }
    if (t.mapping) d["region"] = region(*t.mapping);
    if (t.status != LiveStatus::Mapped || t.pfn_hidden) d["reason"] = live::translation_reason(t, pid());
    return d;
  }

  std::optional<live::LiveProcess> process_;
  std::optional<live::Kpage> kpage_;
  live::TranslateOptions options_;
};

target::TargetSpec spec_of(const std::optional<std::string>& image, const std::optional<std::string>& qemu, bool kcore,
                           bool kmod, const std::optional<int32_t>& pid, bool kernel, const std::optional<uint64_t>& cr3,
                           const std::optional<unsigned>& cpu, const std::string& mode, unsigned pa_bits, bool no_nx,
                           const std::optional<std::string>& pti, const std::string& format, const py::object& base,
                           const std::optional<std::string>& kallsyms, const std::optional<std::string>& system_map,
                           const std::optional<std::string>& btf, const std::optional<std::string>& vmlinux,
                           const std::optional<uint64_t>& tcr = {}, const std::optional<uint64_t>& ttbr0 = {},
                           const std::optional<uint64_t>& ttbr1 = {}, const std::optional<uint64_t>& mair = {}) {
  target::TargetSpec s;
  s.tcr = tcr;
  s.ttbr0 = ttbr0;
  s.ttbr1 = ttbr1;
  s.mair = mair;
  s.image = image.value_or("");
  s.qemu = qemu.value_or("");
  s.kcore = kcore;
  s.kmod = kmod;
  s.pid = pid;
  s.kernel = kernel;
  s.root = cr3;
  s.cpu = cpu;
  s.mode = mode;
  s.pa_bits = pa_bits;
  s.no_nx = no_nx;
  s.pti = pti.value_or("");
  s.format = format;
  s.kallsyms = kallsyms.value_or("");
  s.system_map = system_map.value_or("");
  s.btf = btf.value_or("");
  s.vmlinux = vmlinux.value_or("");
  if (py::isinstance<py::int_>(base)) {
    s.raw_base = base.cast<uint64_t>();
  } else if (py::isinstance<py::dict>(base)) {
    const auto& known = linux_kernel::LinuxKernel::override_names();
    for (const auto& [k, v] : base.cast<py::dict>()) {
      const std::string name = py::str(k);
      if (std::find(known.begin(), known.end(), name) == known.end())
        throw BadInput(fmt::format("base: unknown name '{}'", name));
      s.kernel_facts[name] = v.cast<uint64_t>();
    }
  } else if (!base.is_none()) {
    throw BadInput("base: give a raw image's first physical address, or a dict of kernel facts");
  }
  if (auto ok = target::check_pa_bits(s.pa_bits, nullptr); !ok) raise(ok.error());
  if (!s.has_source() && !s.kernel) throw BadInput("no target: give image=, qemu=, kcore=True or kmod=True");
  return s;
}

}  // namespace
}  // namespace pagewalk::python

PYBIND11_MODULE(pagewalk, m) {
  using namespace pagewalk;
  using namespace pagewalk::python;
  m.doc() = "pagewalk: virtual to physical addresses, every page-table level shown, over memory images, "
            "QEMU guests and the running kernel.";
  py::register_exception<TargetError>(m, "TargetError", PyExc_OSError);
  py::register_exception<BadInput>(m, "BadInput", PyExc_ValueError);

  py::class_<PyStep>(m, "Step", "One level of a walk: the table, the entry's index and address, its raw value and flags.")
      .def_readonly("level", &PyStep::level, "the kernel's name: pgd, p4d, pud, pmd, pte")
      .def_readonly("hw_level", &PyStep::hw_level, "the manual's name: PML5, PML4, PDPT, PD, PT")
      .def_readonly("table", &PyStep::table)
      .def_readonly("index", &PyStep::index)
      .def_readonly("entry_pa", &PyStep::entry_pa)
      .def_readonly("raw", &PyStep::raw, "None for an entry that could not be read")
      .def_readonly("flags", &PyStep::flags);

  py::class_<PyTranslation>(m, "Translation", "One virtual address through a target's tables.")
      .def_readonly("va", &PyTranslation::va)
      .def_readonly("status", &PyTranslation::status,
                    "mapped, not-present, swap, prot-none, non-canonical, unreadable or reserved")
      .def_readonly("pa", &PyTranslation::pa)
      .def_readonly("pfn", &PyTranslation::pfn)
      .def_readonly("page_size", &PyTranslation::page_size)
      .def_readonly("reason", &PyTranslation::reason, "why it is not mapped, in the CLI's words")
      .def_readonly("symbol", &PyTranslation::symbol)
      .def_readonly("steps", &PyTranslation::steps)
      .def_readonly("frame_in_source", &PyTranslation::frame_in_source,
                    "False when the source holds no bytes of the mapped frame (a dump that left it out)")
      .def_property_readonly("mapped", &PyTranslation::mapped)
      .def_property_readonly("access",
                             [](const PyTranslation& t) -> py::object {
                               if (!t.access_kernel) return py::none();
                               py::dict a;
                               a["kernel"] = *t.access_kernel;
                               a["user"] = *t.access_user;
                               return a;
                             })
      .def("to_dict", &PyTranslation::to_dict, "the members of translate's JSON result, numbers as ints")
      .def("__str__", &PyTranslation::trace,
           "the per-level trace `pagewalk translate` prints for it")
      .def("__repr__", [](const PyTranslation& t) {
        if (t.pa)
          return fmt::format("<Translation 0x{:x} {} pa=0x{:x} page_size=0x{:x}>", t.va, t.status, *t.pa, *t.page_size);
        return fmt::format("<Translation 0x{:x} {}: {}>", t.va, t.status, t.reason.value_or(""));
      });

  bind_array<uint64_t>(m, "U64Array", "64-bit results of translate_many (buffer protocol, len, indexing)");
  bind_array<uint8_t>(m, "U8Array", "status codes of translate_many (buffer protocol, len, indexing)");
  py::class_<Batch>(m, "Batch", "translate_many's answer: arrays with one entry per VA, in order")
      .def_readonly("va", &Batch::va)
      .def_readonly("pa", &Batch::pa, "the PA (0 where there is no frame)")
      .def_readonly("page_size", &Batch::page_size)
      .def_readonly("status", &Batch::status, "status codes; status_names[code] is the status")
      .def_property_readonly_static("status_names", [](const py::object&) {
        std::vector<std::string> names;
        for (unsigned s = 0; s <= static_cast<unsigned>(Status::Reserved); ++s)
          names.emplace_back(to_string(static_cast<Status>(s)));
        return names;
      })
      .def("__len__", [](const Batch& b) { return b.va.v.size(); });

  py::class_<PyTarget>(m, "Target", "An opened target: memory, paging mode, roots and, when asked, the kernel.")
      .def_property_readonly("description", [](const PyTarget& t) { return t.target().description; })
      .def_property_readonly("mode", [](const PyTarget& t) { return std::string(t.target().paging.mode->name); })
      .def_property_readonly("root", [](const PyTarget& t) { return t.target().roots[0].value(); })
      .def_property_readonly("pgds",
                             [](const PyTarget& t) {
                               std::vector<std::string> v;
                               for (const auto& r : t.target().views) v.push_back(r.label);
                               return v;
                             },
                             "the PGDs walked: [''] or ['kernel', 'user'] under page-table isolation")
      .def_property_readonly("notes", [](const PyTarget& t) { return t.target().notes; })
      .def("translate", &PyTarget::translate, py::arg("va"), py::arg("pgd") = py::none(),
           "Translate one VA; under page-table isolation pgd='kernel' (the default) or 'user'.")
      .def("translate_all", &PyTarget::translate_all, py::arg("va"),
           "Translate one VA through every PGD the target walks (both halves of a PTI pair).")
      .def("translate_many", &PyTarget::translate_many, py::arg("vas"), py::arg("pgd") = py::none(),
           "Translate many VAs: a buffer of uint64 (array.array('Q'), numpy) is read in place; any other "
           "iterable of ints is read one by one. Returns a Batch of arrays.")
      .def("read", &PyTarget::read, py::arg("va"), py::arg("n"), py::arg("pgd") = py::none(),
           "n bytes at a virtual address, through the target's tables.")
      .def("read_phys", &PyTarget::read_phys, py::arg("pa"), py::arg("n"), "n bytes of physical memory.")
      .def("map", &PyTarget::map, py::kw_only(), py::arg("pages") = false, py::arg("holes") = false,
           py::arg("from_") = py::none(), py::arg("to") = py::none(), py::arg("by_attributes") = false,
           py::arg("with_kernel") = false, py::arg("max_entries") = 0,
           "The mapped ranges, as `pagewalk map --jsonl` gives them: an iterator of dicts (start, end, kind, pa, "
           "pfn, page_size, pages, pa_runs, level, access, flags; a process's rows with their VMA as region). "
           "pages=True: one row per leaf; holes=True: holes and gaps too; from_/to: the window [from_, to).")
      .def("ps", &PyTarget::ps, "The kernel's task list, as `pagewalk ps --json` gives it (numbers as ints).")
      .def("layout", &PyTarget::layout, py::arg("addr") = py::none(),
           "The kernel's virtual layout as `pagewalk layout --json` gives it: release, layout_from, mode, bases "
           "(each {value, source} or None), regions [{start, end, region, name, note}]; with addr (an int or a "
           "symbol) the region it is in.")
      .def("kconv", &PyTarget::kconv, py::kw_only(), py::arg("virt") = std::vector<py::object>{},
           py::arg("phys") = std::vector<uint64_t>{}, py::arg("pfn") = std::vector<uint64_t>{},
           py::arg("page") = std::vector<py::object>{}, py::arg("size") = 1,
           "The kernel's conversions (__pa, __va, pfn_to_page, page_to_pfn) of each start, one row per page of "
           "size bytes, each checked against the kernel's tables, as `pagewalk kconv --json` gives them. virt and "
           "page take ints or symbols.")
      .def("decode", &PyTarget::decode, py::arg("va"),
           "A VA's index at every level of the target's mode, as one result of `pagewalk decode --json`.")
      .def("maps", &PyTarget::maps, py::arg("pid") = py::none(),
           "A process's VMAs from the kernel's own structures (every process's without pid), as `pagewalk maps "
           "--json` gives them: processes [{process, vmas_from, vmas [{start, end, perms, offset, dev, inode, "
           "path, vma}]}], warnings.")
      .def("ptov", &PyTarget::ptov, py::arg("pa"), py::arg("pid") = py::none(),
           "Every (pid, VA) and kernel VA whose tables map a PA (an int, or a sequence of them), as `pagewalk "
           "ptov --json` gives them: queries [{pa, pfn, mappers}], address_spaces, leaves, warnings.")
      .def("search", &PyTarget::search, py::arg("pattern"), py::kw_only(), py::arg("max_hits") = 1000,
           py::arg("pid") = py::none(), py::arg("vas") = true,
           "Physical memory searched for a pattern (bytes, or a str as its UTF-8), as `pagewalk search --json` "
           "gives it: hits [{pa, pfn, mappers}], bytes_scanned, unreadable_bytes, truncated, warnings. Hits carry "
           "their mappers when the target was opened with the kernel (kernel=True or pid=) and vas is true.")
      .def("page", &PyTarget::page, py::kw_only(), py::arg("pfn") = py::none(), py::arg("phys") = py::none(),
           py::arg("page") = py::none(),
           "A frame's struct page decoded (one of pfn=, phys= or page=, the struct page's VA or a symbol), as "
           "one entry of `pagewalk page --json`.")
      .def("modules", &PyTarget::modules, py::arg("symbols") = false,
           "The loaded modules from the kernel's list, as `pagewalk modules --json` gives them.");

  m.def(
      "open",
      [](const std::optional<std::string>& image, const std::optional<std::string>& qemu, bool kcore, bool kmod,
         const std::optional<int32_t>& pid, bool kernel, const std::optional<uint64_t>& cr3,
         const std::optional<unsigned>& cpu, const std::string& mode, unsigned pa_bits, bool no_nx,
         const std::optional<std::string>& pti, const std::string& format, const py::object& base,
         const std::optional<std::string>& kallsyms, const std::optional<std::string>& system_map,
         const std::optional<std::string>& btf, const std::optional<std::string>& vmlinux,
         const std::optional<uint64_t>& tcr, const std::optional<uint64_t>& ttbr0, const std::optional<uint64_t>& ttbr1,
         const std::optional<uint64_t>& mair) {
        const target::TargetSpec s = spec_of(image, qemu, kcore, kmod, pid, kernel, cr3, cpu, mode, pa_bits, no_nx,
                                             pti, format, base, kallsyms, system_map, btf, vmlinux, tcr, ttbr0, ttbr1,
                                             mair);
        auto t = target::open_target(s);
        if (!t) raise(t.error());
        return std::make_unique<PyTarget>(std::move(*t));
      },
      py::kw_only(), py::arg("image") = py::none(), py::arg("qemu") = py::none(), py::arg("kcore") = false,
      py::arg("kmod") = false, py::arg("pid") = py::none(), py::arg("kernel") = false, py::arg("cr3") = py::none(),
      py::arg("cpu") = py::none(), py::arg("mode") = "", py::arg("pa_bits") = 0, py::arg("no_nx") = false,
      py::arg("pti") = py::none(), py::arg("format") = "auto", py::arg("base") = py::none(),
      py::arg("kallsyms") = py::none(), py::arg("system_map") = py::none(), py::arg("btf") = py::none(),
      py::arg("vmlinux") = py::none(), py::arg("tcr") = py::none(), py::arg("ttbr0") = py::none(),
      py::arg("ttbr1") = py::none(), py::arg("mair") = py::none(),
      "Open a target as the CLI's TARGET options do: image= (ELF, kdump, LiME, raw with base=ADDR), "
      "qemu='HOST:PORT', kcore=True or kmod=True; then pid=, kernel=True, cr3= or cpu= for the root (AArch64: "
      "tcr=, ttbr0=, ttbr1= and mair=, the registers); "
      "kallsyms=, system_map=, btf=, vmlinux= and base={name: value} for what the image does not say.");

  py::class_<PyLive>(m, "LiveProcess",
                     "A live process through /proc/PID/pagemap and smaps (and /proc/kpageflags, kpagecount with "
                     "CAP_SYS_ADMIN), as `pagewalk translate --pid N` reads it.")
      .def_property_readonly("pid", &PyLive::pid)
      .def_property_readonly("comm", &PyLive::comm)
      .def_property_readonly("privileged", &PyLive::privileged,
                             "CAP_SYS_ADMIN: without it the kernel shows every PFN as 0 (pfn_hidden)")
      .def("translate", &PyLive::translate, py::arg("va"),
           "One VA, as a result of `pagewalk translate --pid N --json` (ints for the hex strings).")
      .def("translate_many", &PyLive::translate_many, py::arg("vas"),
           "Many VAs in one pass of sorted pagemap reads; results in input order.")
      .def("mappings", &PyLive::mappings, "The process's mappings from smaps: start, end, perms, offset, path.");

  m.def("live", [](const py::object& pid) { return std::make_unique<PyLive>(pid); }, py::arg("pid") = "self",
        "A live process (a pid, or \"self\" for this one) through /proc, as `pagewalk translate --pid` reads it.");

  m.def("layout", [](const std::string& mode) {
    auto view = target::layout_view(nullptr, {}, mode.empty() ? nullptr : &mode_named(mode));
    if (!view) raise(view.error());
    py::dict d;
    d["layout_from"] = view->source;
    d["mode"] = std::string(view->mode->name);
    d["regions"] = regions_list(view->regions);
    return d;
  }, py::arg("mode") = "", "A mode's fixed Linux layout with no image, as `pagewalk layout --json [--mode M]` gives it.");
  m.def("decode", [](uint64_t va, const std::string& mode) { return decode_dict(mode_named(mode), va); }, py::arg("va"),
        py::arg("mode") = "", "A VA's index at every level of a mode, as one result of `pagewalk decode --json`.");
  m.def("entry", &entry_dict, py::arg("raw"), py::kw_only(), py::arg("level") = py::none(), py::arg("mode") = "",
        py::arg("pa_bits") = 0, py::arg("no_nx") = false,
        "A page-table entry's value decoded at a level (default: the last) of a mode, as `pagewalk entry --json` "
        "gives it.");
  m.def("mode", [](const std::string& name) { return mode_dict(mode_named(name)); }, py::arg("name"),
        "The kernel's view of a mode (shifts, PTRS_PER_*, masks, folded levels), as one entry of `pagewalk modes "
        "--json`.");

  m.def("modes", [] {
    std::vector<std::string> names;
    for (const PagingMode* pm : arch::all_modes()) names.emplace_back(pm->name);
    return names;
  }, "The paging modes pagewalk knows, by name.");
}
