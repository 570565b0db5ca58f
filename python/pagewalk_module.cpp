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
#include "linux/tasks.hpp"
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
    VirtualMemory vm(t_.paging, reader_, view(pgd).roots[0]);
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
    const PagingMode& m = *t_.paging.mode;
    auto rows = std::make_shared<py::list>();
    auto r = target::map_target(t_, reader_, o, [&](const target::MapRow& row) {
      const Range& g = row.range;
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

 private:
  static void check_length(size_t n) {
    if (n == 0 || n > (size_t{256} << 20)) throw BadInput(fmt::format("a read of {} bytes: give 1 to 256 MiB", n));
  }

  PyTranslation describe(const Translation& tr, const RootView& v) {
    const Paging& p = t_.paging;
    const PagingMode& m = *p.mode;
    PyTranslation o;
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
      o.frame_in_source = held_.contains(tr.pa);
    } else {
      o.reason = target::translation_reason(
          p, tr, tr.status == Status::Unreadable ? read_failure(t_.memory(), tr.unreadable) : std::string());
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
    return o;
  }

  target::Target t_;
  TableReader reader_;
  Walker walker_;
  RangeSet held_;  // the physical ranges the source holds
};

target::TargetSpec spec_of(const std::optional<std::string>& image, const std::optional<std::string>& qemu, bool kcore,
                           bool kmod, const std::optional<int32_t>& pid, bool kernel, const std::optional<uint64_t>& cr3,
                           const std::optional<unsigned>& cpu, const std::string& mode, unsigned pa_bits, bool no_nx,
                           const std::optional<std::string>& pti, const std::string& format, const py::object& base,
                           const std::optional<std::string>& kallsyms, const std::optional<std::string>& system_map,
                           const std::optional<std::string>& btf, const std::optional<std::string>& vmlinux) {
  target::TargetSpec s;
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
      .def("ps", &PyTarget::ps, "The kernel's task list, as `pagewalk ps --json` gives it (numbers as ints).");

  m.def(
      "open",
      [](const std::optional<std::string>& image, const std::optional<std::string>& qemu, bool kcore, bool kmod,
         const std::optional<int32_t>& pid, bool kernel, const std::optional<uint64_t>& cr3,
         const std::optional<unsigned>& cpu, const std::string& mode, unsigned pa_bits, bool no_nx,
         const std::optional<std::string>& pti, const std::string& format, const py::object& base,
         const std::optional<std::string>& kallsyms, const std::optional<std::string>& system_map,
         const std::optional<std::string>& btf, const std::optional<std::string>& vmlinux) {
        const target::TargetSpec s = spec_of(image, qemu, kcore, kmod, pid, kernel, cr3, cpu, mode, pa_bits, no_nx,
                                             pti, format, base, kallsyms, system_map, btf, vmlinux);
        auto t = target::open_target(s);
        if (!t) raise(t.error());
        return std::make_unique<PyTarget>(std::move(*t));
      },
      py::kw_only(), py::arg("image") = py::none(), py::arg("qemu") = py::none(), py::arg("kcore") = false,
      py::arg("kmod") = false, py::arg("pid") = py::none(), py::arg("kernel") = false, py::arg("cr3") = py::none(),
      py::arg("cpu") = py::none(), py::arg("mode") = "", py::arg("pa_bits") = 0, py::arg("no_nx") = false,
      py::arg("pti") = py::none(), py::arg("format") = "auto", py::arg("base") = py::none(),
      py::arg("kallsyms") = py::none(), py::arg("system_map") = py::none(), py::arg("btf") = py::none(),
      py::arg("vmlinux") = py::none(),
      "Open a target as the CLI's TARGET options do: image= (ELF, kdump, LiME, raw with base=ADDR), "
      "qemu='HOST:PORT', kcore=True or kmod=True; then pid=, kernel=True, cr3= or cpu= for the root; "
      "kallsyms=, system_map=, btf=, vmlinux= and base={name: value} for what the image does not say.");

  m.def("modes", [] {
    std::vector<std::string> names;
    for (const PagingMode* pm : arch::all_modes()) names.emplace_back(pm->name);
    return names;
  }, "The paging modes pagewalk knows, by name.");
}
