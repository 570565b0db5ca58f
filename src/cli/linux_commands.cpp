#include "cli/linux_commands.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/errors.hpp"
#include "cli/help.hpp"
#include "cli/io.hpp"
#include "cli/numbers.hpp"
#include "cli/render.hpp"
#include "linux/layout.hpp"
#include "linux/tasks.hpp"
#include "target/kconv.hpp"
#include "arch/registry.hpp"

namespace pagewalk::cli {
namespace {

using linux_kernel::LinuxKernel;
using target::KconvRow;

// A kernel fact and where it came from, or null.
void write_known(JsonWriter& w, std::string_view name, const std::optional<linux_kernel::Known>& k) {
  w.key(name);
  if (k) w.object().key("value").hex(k->value).key("source").str(k->source).end();
  else w.null();
}

// ---- layout ----------------------------------------------------------------------------

int cmd_layout(const LinuxCommandArgs& a) {
  std::unique_ptr<LinuxKernel> k;
  std::unique_ptr<Source> image;
  if (a.target.given()) k = open_kernel(a.target, image);
  auto view = target::layout_view(k.get(), image ? image->name() : std::string_view(),
                                  k ? nullptr : mode_option(a.target.fields.mode));
  if (!view) raise(view.error());
  const std::string& source = view->source;
  const PagingMode* mode = view->mode;
  const std::vector<linux_kernel::Region>& regions = view->regions;
  std::optional<uint64_t> addr;
  if (!a.addr.empty()) addr = target_address(a.addr, "layout ADDR", k.get());
  std::optional<std::string> symbol;
  if (addr && k) symbol = k->name_of(*addr);
  const linux_kernel::Region* hit = addr ? &linux_kernel::classify(regions, *addr) : nullptr;

  if (a.f.delimited()) {
    std::string out;
    DelimitedWriter t(out, a.f.table);
    if (!a.f.no_header) t.header({"start", "end", "region", "name", "note"});
    for (const auto& r : regions) {
      char end[24];
      const char* e = r.last == ~uint64_t{0} ? put(end, "0x10000000000000000") : put_hex(end, r.last + 1);
      t.hex(r.start).str(std::string_view(end, static_cast<size_t>(e - end))).str(linux_kernel::region_id(r.kind));
      t.str(r.name).str(r.note).end();
    }
    fmt::print("{}", out);
    return kAllMapped;
  }
  if (a.f.json) {
    std::string out;
    JsonWriter w(out);
    w.record("layout");
    if (k) {
      write_target(w, *image);
      w.key("release").str(k->release);
    }
    w.key("layout_from").str(source).key("mode").str(mode->name);
    if (k) {
      w.key("bases").object();
      write_known(w, "kaslr_offset", k->kaslr_offset);
      write_known(w, "phys_base", k->phys_base);
      write_known(w, "page_offset_base", k->page_offset_base);
      write_known(w, "vmalloc_base", k->vmalloc_base);
      write_known(w, "vmemmap_base", k->vmemmap_base);
      write_known(w, "kernel_pgd_va", k->kernel_pgd_va);
      write_known(w, "kernel_pgd_pa", linux_kernel::Known{k->kernel_pgd.value(), "kernel_pgd_va through the kernel's tables"});
      w.end();
    }
    w.key("regions").array();
    for (const auto& r : regions) {
      w.object().key("start").hex(r.start).key("end").end_after(r.last);
      w.key("region").str(linux_kernel::region_id(r.kind)).key("name").str(r.name).key("note").str(r.note).end();
    }
    w.end();
    if (hit) {
      w.key("address").object().key("va").hex(*addr).key("region").str(linux_kernel::region_id(hit->kind));
      w.key("name").str(hit->name);
      if (symbol) w.key("symbol").str(*symbol);
      w.end();
    }
    w.end().newline();
    fmt::print("{}", w.sync());
    return kAllMapped;
  }
  std::string out;
  if (!a.f.no_header) out = fmt::format("# {}, {}\n", source, mode->description);
  if (k && !a.f.no_header) {
    auto line = [&](std::string_view name, const std::optional<linux_kernel::Known>& v) {
      out += v ? fmt::format("# {:<19} 0x{:016x}  ({})\n", name, v->value, v->source)
               : fmt::format("# {:<19} unknown\n", name);
    };
    line("KASLR offset", k->kaslr_offset);
    for (const auto& b : k->arch->conversion_bases(*k)) line(b.name, b.base);
    out += fmt::format("# {:<19} 0x{:016x}  at PA 0x{:x}\n", "kernel PGD", k->kernel_pgd_va->value, k->kernel_pgd.value());
  }
  if (!a.f.no_header) out += fmt::format("  {:<18} {:<18} {:>9}  {:<34} {}\n", "start", "last", "size", "region", "note");
  for (const auto& r : regions) {
    const uint64_t size = r.last - r.start + 1;
    out += fmt::format("{} 0x{:016x} 0x{:016x} {:>9}  {:<34} {}\n", hit == &r ? '>' : ' ', r.start, r.last,
                       size == 0 ? "16E" : human_size(size), r.name, r.note);
  }
  if (hit && !a.f.no_header)
    out += fmt::format("0x{:x} is in: {}{}\n", *addr, hit->name, symbol ? fmt::format(" ({})", *symbol) : "");
  fmt::print("{}", out);
  return kAllMapped;
}

// ---- kconv -----------------------------------------------------------------------------

int cmd_kconv(const LinuxCommandArgs& a) {
  if (a.virt.empty() && a.phys.empty() && a.pfn.empty() && a.page.empty())
    throw CliError(kBadInput, "kconv: give --virt VA, --phys PA, --pfn N or --page VA (each may repeat)");
  std::unique_ptr<Source> image;
  auto k = open_kernel(a.target, image);
  const uint64_t size = count_arg(a.size, "--size");

  // Every input is brought to a kernel VA or a PA first, then converted by the kernel's rule
  // and checked against the kernel's page tables.
  std::vector<target::KconvStart> starts;
  for (const auto& v : a.virt) starts.push_back({false, target_address(v, "--virt", k.get())});
  for (const auto& v : a.phys) starts.push_back({true, address_arg(v, "--phys")});
  auto start = [&](tl::expected<target::KconvStart, target::Error> s) {
    if (!s) raise(s.error());
    starts.push_back(*s);
  };
  for (const auto& v : a.pfn) start(target::kconv_pfn(*k, address_arg(v, "--pfn")));
  for (const auto& v : a.page) start(target::kconv_page(*k, address_arg(v, "--page")));
  auto converted = target::kconv(*k, starts, size);
  if (!converted) raise(converted.error());
  const std::vector<KconvRow>& rows = *converted;

  int status = kAllMapped;
  for (const KconvRow& r : rows) if (r.disagree || !r.walk_pa) status = kSomeUnmapped;
  if (a.f.delimited()) {
    std::string out;
    DelimitedWriter t(out, a.f.table);
    auto opt = [&](const std::optional<uint64_t>& v) -> DelimitedWriter& { return v ? t.hex(*v) : t.empty(); };
    if (!a.f.no_header) t.header({"va", "region", "pa", "rule", "walk_pa", "agrees", "pfn", "page", "problem"});
    for (const KconvRow& r : rows) {
      t.hex(r.virt).str(r.region);
      opt(r.phys).str(r.rule);
      opt(r.walk_pa).str(r.agrees() ? "true" : "false");
      opt(r.pfn);
      opt(r.page).str(r.problem).end();
    }
    fmt::print("{}", out);
    return status;
  }
  if (a.f.json) {
    std::string out;
    JsonWriter w(out);
    auto opt = [&](std::string_view name, const std::optional<uint64_t>& v) {
      w.key(name);
      if (v) w.hex(*v);
      else w.null();
    };
    w.record("kconv");
    write_target(w, *image);
    write_known(w, "page_offset_base", k->page_offset_base);
    write_known(w, "phys_base", k->phys_base);
    write_known(w, "vmemmap_base", k->vmemmap_base);
    w.key("struct_page_size").num(k->struct_page_size).key("rows").array();
    for (const KconvRow& r : rows) {
      w.object().key("va").hex(r.virt).key("region").str(r.region);
      opt("pa", r.phys);
      w.key("rule").str(r.rule);
      opt("walk_pa", r.walk_pa);
      w.key("agrees").boolean(r.agrees());
      opt("pfn", r.pfn);
      opt("page", r.page);
      w.key("problem");
      if (r.problem.empty()) w.null();
      else w.str(r.problem);
      w.end();
    }
    w.end().end().newline();
    fmt::print("{}", w.sync());
    return status;
  }
  std::string out;
  if (!a.f.no_header) {
    out = fmt::format("# {}:", image->name());
    for (const auto& b : k->arch->conversion_bases(*k)) out += fmt::format(" {} {},", b.name, b.base ? hex(b.base->value) : "unknown");
    out += fmt::format(" sizeof(struct page) {}\n", k->struct_page_size);
    out += fmt::format("{:<18}  {:<14}  {:<14}  {:<10}  {:<18}  {:<16}  {}\n", "virt", "phys", "page tables", "pfn",
                       "struct page", "region", "rule");
  }
  auto cell = [](const std::optional<uint64_t>& v) { return v ? hex(*v) : std::string("-"); };
  for (const KconvRow& r : rows) {
    out += fmt::format("0x{:016x}  {:<14}  {:<14}  {:<10}  {:<18}  {:<16}  {}\n", r.virt, cell(r.phys),
                       r.walk_pa ? (r.disagree ? cell(r.walk_pa) + " !" : cell(r.walk_pa)) : std::string("unmapped"),
                       cell(r.pfn), cell(r.page), r.region, r.rule);
  }
  fmt::print("{}", out);
  for (const KconvRow& r : rows) {
    if (r.disagree)
      fmt::print(stderr, "pagewalk: warning: 0x{:x}: the formula gives 0x{:x} but the page tables map 0x{:x}\n", r.virt,
                 *r.phys, *r.walk_pa);
    else if (!r.problem.empty())
      fmt::print(stderr, "pagewalk: 0x{:x}: {}\n", r.virt, r.problem);
  }
  return status;
}

// ---- ps --------------------------------------------------------------------------------

int cmd_ps(const LinuxCommandArgs& a) {
  std::unique_ptr<Source> image;
  auto k = open_kernel(a.target, image);
  const linux_kernel::TaskLayout& layout = kernel_task_layout(*k);
  linux_kernel::TaskList list = linux_kernel::list_tasks(*k, layout);
  if (!a.pids.empty()) {
    std::vector<uint64_t> want;
    for (const std::string& p : a.pids) want.push_back(count_arg(p, "--pid"));
    std::erase_if(list.tasks, [&](const linux_kernel::Task& t) {
      return std::find(want.begin(), want.end(), static_cast<uint64_t>(t.pid)) == want.end();
    });
    if (list.tasks.empty())
      throw CliError(kBadInput, fmt::format("ps: no process {} in the task list of {}", fmt::join(a.pids, ", "),
                                                image->name()));
  }
  const std::optional<bool> pti = linux_kernel::pti_enabled(*k, layout);
  auto pgd_pa = [](const linux_kernel::Task& t) -> std::optional<uint64_t> {
    if (!t.pgd) return std::nullopt;
    return t.pgd->value();
  };
  if (a.f.delimited()) {
    std::string out;
    DelimitedWriter tw(out, a.f.table);
    auto opt = [&](std::optional<uint64_t> v) -> DelimitedWriter& { return v ? tw.hex(*v) : tw.empty(); };
    if (!a.f.no_header)
      tw.header({"pid", "tgid", "ppid", "state", "threads", "comm", "task", "mm", "pgd", "pgd_pa", "user_pgd_pa"});
    for (const auto& t : list.tasks) {
      tw.num(static_cast<uint64_t>(t.pid)).num(static_cast<uint64_t>(t.tgid));
      if (t.ppid) tw.num(static_cast<uint64_t>(*t.ppid));
      else tw.empty();
      tw.str(t.state ? std::string(1, *t.state) : "");
      if (t.threads) tw.num(static_cast<uint64_t>(*t.threads));
      else tw.empty();
      tw.str(t.comm).hex(t.task);
      opt(t.mm ? std::optional(t.mm) : std::nullopt);
      opt(t.mm ? std::optional(t.pgd_va) : std::nullopt);
      opt(pgd_pa(t));
      opt(pti && *pti && pgd_pa(t) ? std::optional(*pgd_pa(t) + linux_kernel::kPtiUserPgdOffset) : std::nullopt).end();
    }
    fmt::print("{}", out);
  } else if (a.f.json) {
    std::string out;
    JsonWriter w(out);
    w.record("ps");
    write_target(w, *image);
    w.key("release").str(k->release).key("pti");
    if (pti) w.boolean(*pti);
    else w.null();
    w.key("offsets_from").str(layout.source).key("tasks").array();
    auto opt_hex = [&](std::string_view name, std::optional<uint64_t> v) {
      w.key(name);
      if (v) w.hex(*v);
      else w.null();
    };
    for (const auto& t : list.tasks) {
      w.object().key("pid").num(t.pid).key("tgid").num(t.tgid).key("ppid");
      if (t.ppid) w.num(*t.ppid);
      else w.null();
      w.key("state");
      if (t.state) w.str(std::string_view(&*t.state, 1));
      else w.null();
      w.key("threads");
      if (t.threads) w.num(*t.threads);
      else w.null();
      w.key("comm").str(t.comm).key("task").hex(t.task);
      // A kernel thread has no mm, so no PGD.
      opt_hex("mm", t.mm ? std::optional(t.mm) : std::nullopt);
      opt_hex("pgd", t.mm ? std::optional(t.pgd_va) : std::nullopt);
      opt_hex("pgd_pa", pgd_pa(t));
      if (pti && *pti)
        opt_hex("user_pgd_pa", pgd_pa(t) ? std::optional(*pgd_pa(t) + linux_kernel::kPtiUserPgdOffset) : std::nullopt);
      w.end();
    }
    w.end().key("warnings").strings(list.warnings).end().newline();
    fmt::print("{}", w.sync());
  } else {
    std::string out;
    if (!a.f.no_header) {
      out = fmt::format("# {}: Linux {}, {} processes, offsets from {}{}\n", image->name(), k->release,
                        list.tasks.size(), layout.source,
                        pti ? (*pti ? ", page-table isolation on" : ", no page-table isolation") : "");
      out += fmt::format("{:>7} {:>7} {:>7} {} {:>4}  {:<16} {:<18}  {:<18}  {:<18}  {}\n", "PID", "TGID", "PPID", "S",
                         "THR", "COMM", "TASK", "MM", "PGD", pti && *pti ? "PGD PA (kernel/user)" : "PGD PA");
    }
    for (const auto& t : list.tasks) {
      std::string pa = "-";
      if (auto p = pgd_pa(t)) pa = pti && *pti ? fmt::format("0x{:x}/0x{:x}", *p, *p + linux_kernel::kPtiUserPgdOffset) : hex(*p);
      out += fmt::format("{:>7} {:>7} {:>7} {} {:>4}  {:<16} {:<18}  {:<18}  {:<18}  {}\n", t.pid, t.tgid,
                         t.ppid ? std::to_string(*t.ppid) : "-", t.state.value_or('-'),
                         t.threads ? std::to_string(*t.threads) : "-", t.comm, hex(t.task), t.mm ? hex(t.mm) : "-",
                         t.mm ? hex(t.pgd_va) : "-", t.mm ? pa : "-");
    }
    fmt::print("{}", out);
  }
  for (const std::string& w : list.warnings) fmt::print(stderr, "pagewalk: warning: {}\n", w);
  return list.warnings.empty() ? kAllMapped : kSomeUnmapped;
}

}  // namespace

void LinuxCommands::add_to(CLI::App& app) {
  layout = app.add_subcommand("layout", "the kernel's virtual layout (KASLR bases applied) and the region of ADDR");
  layout->add_option("ADDR", layout_args.addr, "a kernel or user virtual address to place");
  layout_args.target.add_to(*layout, kSourceOptions | kCpuOption | kPagingOptions | kSymbolOptions);
  layout_args.f.add_to(*layout, false, "");
  layout->footer(examples({"pagewalk layout", "pagewalk layout --image dump.elf ffffffffc0000000"}));

  kconv = app.add_subcommand("kconv", "kernel address conversions: virt/phys/pfn/struct page, checked against the tables");
  kconv->add_option("--virt", kconv_args.virt, "a kernel virtual address (direct map, kernel text, vmalloc...)");
  kconv->add_option("--phys", kconv_args.phys, "a physical address");
  kconv->add_option("--pfn", kconv_args.pfn, "a page frame number");
  kconv->add_option("--page", kconv_args.page, "the address of a struct page");
  kconv->add_option("--size", kconv_args.size, "cover this many bytes from each address, one row per page (e.g. 16K as 0x4000)")
      ->capture_default_str();
  kconv_args.target.add_to(*kconv, kSourceOptions | kCpuOption | kPagingOptions | kSymbolOptions);
  kconv_args.f.add_to(*kconv, false, "");
  kconv->footer(examples({"pagewalk kconv --image dump.elf --virt ffff888001000000",
                          "pagewalk kconv --image dump.elf --pfn 1422c5 --size 0x4000 --json"}));

  ps = app.add_subcommand("ps", "processes in an image: pid, comm, task, mm and pgd (offsets from BTF)");
  ps_args.target.add_to(*ps, kSourceOptions | kCpuOption | kPagingOptions | kSymbolOptions | kTypeOptions);
  ps->footer(examples({"pagewalk ps --image dump.elf", "pagewalk ps --kcore --pid 1 --json"}));
  ps->add_option("--pid", ps_args.pids, "only this process (repeat for more)")
      ->allow_extra_args(false);
  ps_args.f.add_to(*ps, false, "");
}

int LinuxCommands::run_chosen() {
  if (*layout) return cmd_layout(layout_args);
  if (*kconv) return cmd_kconv(kconv_args);
  if (*ps) return cmd_ps(ps_args);
  return -1;
}

}  // namespace pagewalk::cli
