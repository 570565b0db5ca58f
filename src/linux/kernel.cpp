#include "linux/kernel.hpp"

#include <algorithm>
#include <map>

#include "arch/registry.hpp"
#include "core/enumerate.hpp"
#include "core/table_reader.hpp"
#include "linux/modules.hpp"
#include "linux/tasks.hpp"

#include <fmt/format.h>

namespace pagewalk::linux_kernel {

namespace {

// The physical ranges a kernel's tables map linearly (its direct map): of the leaves in the
// kernel's half of the address space, those that share the one VA - PA distance covering
// the most bytes (the kernel image's mapping and vmalloc's pages have other distances or
// far fewer bytes), merged where they touch.
std::vector<PhysRange> linear_map(PhysMemory& memory, const Paging& paging, const RootSet& roots) {
  const VaRegion& half = paging.mode->regions.back();
  EnumOptions o;
  o.first = VirtAddr(half.first);
  o.last = VirtAddr(half.last);
  o.max_entries = default_max_entries(memory);
  TableReader reader(memory);
  std::map<uint64_t, uint64_t> bytes_at_distance;
  std::vector<Range> leaves;
  (void)enumerate(paging, reader, roots, o, [&](const Range& r) {
    if (r.kind == RangeKind::Mapped) {
      bytes_at_distance[r.start.value() - r.pa.value()] += r.size;
      leaves.push_back(r);
    }
    return true;
  });
  if (bytes_at_distance.empty()) return {};
  const auto best = std::max_element(bytes_at_distance.begin(), bytes_at_distance.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
  std::vector<PhysRange> out;
  for (const Range& r : leaves) {
    if (r.start.value() - r.pa.value() != best->first) continue;
    if (!out.empty() && out.back().start + out.back().size == r.pa) out.back().size += r.size;
    else out.push_back({r.pa, r.size});
  }
  std::sort(out.begin(), out.end(), [](const PhysRange& a, const PhysRange& b) { return a.start < b.start; });
  return out;
}

// A direct map smaller than this is not one (a PTI user PGD maps a few MiB of the kernel).
constexpr uint64_t kMinLinearMap = uint64_t{16} << 20;

// Where a kernel's early pages come from, most likely first, so that a scan at one round
// trip per page finds VMCOREINFO in seconds: the 8 MiB above the default load address
// (CONFIG_PHYSICAL_START, 16 MiB, freed once KASLR moved the kernel elsewhere) and the top
// 64 MiB of RAM (the last pages memblock gave the buddy allocator). The e2e guests (Debian
// 6.1, 512 MiB) kept their copies at 19-20 MiB or 12-16 MiB below the top, boot by boot.
// Then the rest, highest first.
std::vector<PhysRange> scan_order(std::vector<PhysRange> ram) {
  constexpr uint64_t kLoadAddress = uint64_t{16} << 20, kLoadWindow = uint64_t{8} << 20, kTopWindow = uint64_t{64} << 20;
  std::sort(ram.begin(), ram.end(), [](const PhysRange& a, const PhysRange& b) { return a.start < b.start; });
  if (ram.empty()) return ram;
  const uint64_t top = ram.back().start.value() + ram.back().size;
  const std::pair<uint64_t, uint64_t> windows[] = {{kLoadAddress, kLoadAddress + kLoadWindow},
                                                   {top > kTopWindow ? top - kTopWindow : 0, top}};
  std::vector<PhysRange> first, rest;
  for (const PhysRange& r : ram) {
    // Cut r at the windows' edges; each piece goes to `first` (in window order) or `rest`.
    const uint64_t begin = r.start.value(), end = begin + r.size;
    std::vector<uint64_t> cuts{begin, end};
    for (const auto& [lo, hi] : windows)
      for (uint64_t c : {lo, hi})
        if (c > begin && c < end) cuts.push_back(c);
    std::sort(cuts.begin(), cuts.end());
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      const PhysRange piece{PhysAddr(cuts[i]), cuts[i + 1] - cuts[i]};
      const bool in_window = std::any_of(std::begin(windows), std::end(windows), [&](const auto& w) {
        return cuts[i] >= w.first && cuts[i + 1] <= w.second;
      });
      (in_window ? first : rest).push_back(piece);
    }
  }
  // The load-address window before the top one, each piece's higher neighbours first; the
  // rest from the top down.
  std::sort(first.begin(), first.end(), [&](const PhysRange& a, const PhysRange& b) {
    const bool la = a.start.value() < kLoadAddress + kLoadWindow, lb = b.start.value() < kLoadAddress + kLoadWindow;
    return la != lb ? la : a.start > b.start;
  });
  std::reverse(rest.begin(), rest.end());
  first.insert(first.end(), rest.begin(), rest.end());
  return first;
}

std::optional<FoundVmcoreInfo> find_vmcoreinfo_in_linear_map(PhysMemory& memory, std::span<const CpuState> cpus) {
  for (const CpuState& cpu : cpus) {
    const Architecture* a = arch::find_architecture(cpu.arch);
    if (!a) continue;
    auto cp = a->paging_from_cpu(cpu);
    if (!cp || !cp->mode || !has_linux_rules(cp->mode)) continue;
    // The guess whose linear map is largest: a PTI user PGD may map the kernel image's text
    // (pti_clone_kernel_text, without PCID), linear too but no direct map.
    const Paging paging{cp->mode, cp->options};
    std::vector<PhysRange> best;
    uint64_t best_total = 0;
    for (const RootSet& roots : linux_arch_for(cp->mode).kernel_root_guesses(cp->roots)) {
      std::vector<PhysRange> ram = linear_map(memory, paging, roots);
      uint64_t total = 0;
      for (const PhysRange& r : ram) total += r.size;
      if (total > best_total) best = std::move(ram), best_total = total;
    }
    if (best_total >= kMinLinearMap) return find_vmcoreinfo(memory, scan_order(best));
  }
  return std::nullopt;
}

}  // namespace

LinuxKernel::LinuxKernel() = default;
LinuxKernel::~LinuxKernel() = default;

const std::vector<std::string>& LinuxKernel::override_names() {
  static const std::vector<std::string> names = {"kaslr_offset",  "phys_base",    "pgd",          "page_offset_base",
                                                 "vmalloc_base",  "vmemmap_base", "mem_map",
                                                 "kimage_voffset", "phys_offset"};
  return names;
}

namespace {

tl::expected<void, std::string> add_link_symbols(LinuxKernel& k, const VmlinuxSymbols& file, const std::string& name) {
  // The vmlinux must be this kernel's build: VMCOREINFO's BUILD-ID says so; without it, the
  // functions both tables hold must sit at one distance, the KASLR offset.
  const auto running = k.vmcoreinfo ? k.vmcoreinfo->get("BUILD-ID") : std::nullopt;
  if (running && !file.build_id.empty() && *running != file.build_id)
    return tl::unexpected(fmt::format("{}: build ID {}, but the kernel's (VMCOREINFO BUILD-ID) is {}: the vmlinux of "
                                      "another build",
                                      name, file.build_id, *running));
  const uint64_t slide = k.kaslr_offset ? k.kaslr_offset->value : 0;
  if (!k.kaslr_offset) k.warnings.push_back(fmt::format("the KASLR offset is unknown: {}'s addresses are used as they are", name));
  SymbolTable linked = file.table;
  linked.slide(slide);
  for (const char* probe : {"_stext", "start_kernel", "schedule"})
    if (auto ours = k.symbols.find(probe), theirs = linked.find(probe); ours && theirs && *ours != *theirs)
      return tl::unexpected(fmt::format("{}: {} is at 0x{:x} there (KASLR offset applied), at 0x{:x} in {}: the vmlinux "
                                        "of another build",
                                        name, probe, *theirs, *ours, k.symbols_source));
  if (k.symbols.empty()) {
    k.symbols = std::move(linked);
    k.symbols_source = name;
  } else {
    k.symbols.add_missing(linked);
    k.symbols_source += " and " + name;
  }
  return {};
}

}  // namespace

tl::expected<std::unique_ptr<LinuxKernel>, std::string> LinuxKernel::discover(const KernelInputs& in) {
  std::unique_ptr<LinuxKernel> k(new LinuxKernel);
  k->phys_ = in.memory;
  auto override_of = [&](std::string_view name) -> std::optional<Known> {
    auto it = in.overrides.find(name);
    if (it == in.overrides.end()) return std::nullopt;
    return Known{it->second, "--base"};
  };

  // VMCOREINFO: the note when there is one, else the copy the kernel keeps in its memory.
  if (in.vmcoreinfo_note && plausible_vmcoreinfo(*in.vmcoreinfo_note)) {
    k->vmcoreinfo = VmcoreInfo::parse(*in.vmcoreinfo_note);
    k->vmcoreinfo_source = "ELF note";
  } else if (auto found = in.ram_unknown ? find_vmcoreinfo_in_linear_map(*in.memory, in.cpus)
                                         : find_vmcoreinfo(*in.memory)) {
    k->vmcoreinfo = VmcoreInfo::parse(found->text);
    k->vmcoreinfo_source = fmt::format("found in memory at PA 0x{:x}", found->at.value());
  }
  const VmcoreInfo* vi = k->vmcoreinfo ? &*k->vmcoreinfo : nullptr;
  if (vi) k->release = escaped(vi->get("OSRELEASE").value_or(""));  // shown in text and JSON

  std::optional<SymbolTable> file_symbols;
  if (in.symbol_text) {
    // A System.map holds link-time addresses: slid below, once the KASLR offset is known.
    auto t = parse_symbol_text(*in.symbol_text, 0);
    if (!t) return tl::unexpected(fmt::format("{}: {}", in.symbol_text_name, t.error()));
    file_symbols = std::move(*t);
  }
  if (!vi && !file_symbols && in.overrides.empty())
    return tl::unexpected(fmt::format(
        "no VMCOREINFO in the image (no ELF note, no copy found in memory): give --kallsyms FILE "
        "or --system-map FILE, with {}",
        in.machine == "arm64" || linux_arch_of(nullptr, in.cpus).name() == "arm64"
            ? "--base kimage_voffset=VALUE --base phys_offset=VALUE"
            : "--base phys_base=VALUE"));

  // KASLR offset and phys_base.
  k->kaslr_offset = override_of("kaslr_offset");
  if (!k->kaslr_offset && vi && vi->kernel_offset()) k->kaslr_offset = Known{*vi->kernel_offset(), "VMCOREINFO KERNELOFFSET"};
  if (!k->kaslr_offset && file_symbols && !in.symbol_text_is_system_map) {
    // /proc/kallsyms holds runtime addresses: the slide is _text's distance from its link address.
    if (auto text = file_symbols->find("_text"))
      k->kaslr_offset = Known{*text - linux_arch_of(vi, in.cpus).text_link_address(), in.symbol_text_name + " _text"};
  }
  k->phys_base = override_of("phys_base");
  if (!k->phys_base && vi && vi->number("phys_base"))
    k->phys_base = Known{static_cast<uint64_t>(*vi->number("phys_base")), "VMCOREINFO NUMBER(phys_base)"};
  if (!k->phys_base) k->phys_base = in.phys_base_hint;
  // arm64's two offsets (arch/arm64/kernel/crash_core.c writes both).
  k->kimage_voffset = override_of("kimage_voffset");
  if (!k->kimage_voffset && vi && vi->unsigned_number("kimage_voffset"))
    k->kimage_voffset = Known{*vi->unsigned_number("kimage_voffset"), "VMCOREINFO NUMBER(kimage_voffset)"};
  k->phys_offset = override_of("phys_offset");
  if (!k->phys_offset && vi && vi->unsigned_number("PHYS_OFFSET"))
    k->phys_offset = Known{*vi->unsigned_number("PHYS_OFFSET"), "VMCOREINFO NUMBER(PHYS_OFFSET)"};

  if (file_symbols) {
    const uint64_t slide = in.symbol_text_is_system_map && k->kaslr_offset ? k->kaslr_offset->value : 0;
    if (in.symbol_text_is_system_map && !k->kaslr_offset)
      k->warnings.push_back("the KASLR offset is unknown: System.map addresses are used as they are");
    file_symbols->slide(slide);
  }

  // Paging mode: --mode, else what the architecture's rules read from the kernel or CPUs.
  if (!has_linux_rules(in.mode))
    return tl::unexpected(fmt::format("pagewalk has no Linux rules for {} yet: translate with the mode and the roots",
                                      in.mode->name));
  k->arch = in.mode ? &linux_arch_for(in.mode) : &linux_arch_of(vi, in.cpus);
  if (in.mode) {
    k->paging.mode = in.mode;
    k->mode_source = "--mode";
  } else {
    k->paging.mode = k->arch->mode(vi, in.cpus, k->mode_source);
  }
  k->paging.options = in.options;
  k->arch->kernel_options(k->release, k->paging.options);

  // The kernel's PGD: its symbol through the kernel-image mapping.
  k->kernel_pgd_va = override_of("pgd");
  for (std::string_view name : k->arch->pgd_symbols()) {
    if (k->kernel_pgd_va) break;
    if (vi && vi->symbol(name)) k->kernel_pgd_va = Known{*vi->symbol(name), fmt::format("VMCOREINFO SYMBOL({})", name)};
    else if (file_symbols && file_symbols->find(name))
      k->kernel_pgd_va = Known{*file_symbols->find(name), fmt::format("{} {}", in.symbol_text_name, name)};
  }
  if (!k->kernel_pgd_va)
    return tl::unexpected(fmt::format("the kernel's PGD ({}) is unknown: give --base pgd=VA", k->arch->pgd_symbols().front()));
  std::string how;
  auto pgd = k->arch->image_to_phys(*k, VirtAddr(k->kernel_pgd_va->value), how);
  if (!pgd) return tl::unexpected(pgd.error());
  k->kernel_pgd = *pgd;
  k->kernel_pgd_source = fmt::format("{} {}", k->kernel_pgd_va->source, how);

  k->reader_ = std::make_unique<TableReader>(*in.memory);
  k->vm_ = std::make_unique<VirtualMemory>(k->paging, *k->reader_, k->kernel_pgd);

  // The tables must map the PGD's own VA to the PA the formula gave: otherwise the
  // formula's base (phys_base; PAGE_OFFSET on i386) or the mode is wrong, and every later
  // answer would be too.
  if (auto self = k->vm_->to_phys(VirtAddr(k->kernel_pgd_va->value)); !self)
    k->warnings.push_back(fmt::format("the kernel PGD at PA 0x{:x} does not map its own VA 0x{:x} ({}): the base of "
                                      "__pa_symbol (VA {}) or the paging mode is wrong",
                                      k->kernel_pgd.value(), k->kernel_pgd_va->value, self.error().reason, how));
  else if (*self != k->kernel_pgd)
    k->warnings.push_back(fmt::format("the kernel PGD maps its own VA to PA 0x{:x}, not 0x{:x}: the base of "
                                      "__pa_symbol (VA {}) is wrong",
                                      self->value(), k->kernel_pgd.value(), how));

  if (file_symbols) {
    k->symbols = std::move(*file_symbols);
    k->symbols_source = in.symbol_text_name;
  } else if (vi) {
    auto t = read_kallsyms(*k->vm_, *vi);
    if (t) {
      k->symbols = std::move(*t);
      k->symbols_source = "kallsyms in the image";
    } else {
      k->warnings.push_back(fmt::format("no kernel symbols: {}; give --kallsyms FILE or --system-map FILE", t.error()));
    }
  }

  // The randomised region bases are variables of the kernel: read them where they live.
  auto base_from_symbol = [&](const char* name) -> std::optional<Known> {
    if (auto o = override_of(name)) return o;
    auto at = k->symbols.find(name);
    if (!at) return std::nullopt;
    auto v = k->read_word(VirtAddr(*at));
    if (!v) {
      k->warnings.push_back(fmt::format("{} at 0x{:x} is not readable: {}", name, *at, v.error().reason));
      return std::nullopt;
    }
    return Known{*v, fmt::format("read at {} 0x{:x} ({})", name, *at, k->symbols_source)};
  };
  k->page_offset_base = base_from_symbol("page_offset_base");
  k->vmalloc_base = base_from_symbol("vmalloc_base");
  k->vmemmap_base = base_from_symbol("vmemmap_base");
  if (!k->page_offset_base) k->page_offset_base = k->arch->default_page_offset();
  if (!k->kaslr_offset && k->symbols.find("_text"))
    k->kaslr_offset = Known{*k->symbols.find("_text") - k->arch->text_link_address(), "_text in " + k->symbols_source};
  if (in.link_symbols)
    if (auto merged = add_link_symbols(*k, *in.link_symbols, in.link_symbols_name); !merged)
      return tl::unexpected(merged.error());

  // FLATMEM kernels export mem_map; SPARSEMEM_VMEMMAP ones (every x86-64) use vmemmap.
  k->mem_map = override_of("mem_map");
  if (!k->mem_map && vi && vi->symbol("mem_map")) {
    auto v = k->read_word(VirtAddr(*vi->symbol("mem_map")));
    if (v) k->mem_map = Known{*v, "read at VMCOREINFO SYMBOL(mem_map)"};
  }
  if (vi && vi->size("page")) {
    // struct page is 40 to 80 bytes in every configuration (include/linux/mm_types.h); a
    // value far outside that is a corrupt VMCOREINFO, and would divide by zero or scale
    // every pfn <-> struct page answer wrongly.
    const uint64_t size = *vi->size("page");
    if (size >= kMinStructPage && size <= kMaxStructPage) {
      k->struct_page_size = size;
      k->struct_page_size_source = "VMCOREINFO SIZE(page)";
    } else {
      k->struct_page_size = 0;
      k->struct_page_size_source = fmt::format("unknown (VMCOREINFO SIZE(page)={} rejected)", size);
      k->warnings.push_back(fmt::format("VMCOREINFO SIZE(page)={} is not a struct page size ({}..{} bytes): "
                                        "pfn <-> struct page conversions are off",
                                        size, kMinStructPage, kMaxStructPage));
    }
  }
  for (const PhysRange& r : in.memory->ranges()) k->max_pfn = std::max(k->max_pfn, (r.start.value() + r.size) >> 12);
  k->arch->complete(*k, in.cpus);
  return k;
}

tl::expected<uint64_t, VirtReadError> LinuxKernel::read_word(VirtAddr va) { return vm_->word(va); }

bool LinuxKernel::scan_image(const std::function<bool(uint64_t va, std::span<const std::byte> page)>& visit) {
  if (!image_start || !image_end || image_end->value <= image_start->value) return false;
  constexpr uint64_t kPage = 4096;
  std::vector<std::byte> page(kPage);
  for (uint64_t va = image_start->value & ~(kPage - 1); va < image_end->value; va += kPage) {
    if (!vm_->read(VirtAddr(va), page)) continue;  // the init segment, unmapped after boot
    if (visit(va, page)) return true;
  }
  return true;
}

std::optional<uint64_t> LinuxKernel::symbol(std::string_view name) const {
  if (auto v = symbols.find(name)) return v;
  if (vmcoreinfo) return vmcoreinfo->symbol(name);
  return std::nullopt;
}

tl::expected<uint64_t, std::string> LinuxKernel::need(const std::optional<Known>& v, const char* name) const {
  if (v) return v->value;
  return tl::unexpected(fmt::format("{} is unknown ({}): give --kallsyms FILE, --system-map FILE or --base {}=VALUE",
                                    name, symbols.empty() ? "no kernel symbols" : "its symbol is missing", name));
}

tl::expected<const TaskLayout*, std::string> LinuxKernel::types() {
  if (!types_) {
    if (type_loader_) types_ = type_loader_(*this);
    else types_ = tl::unexpected(std::string("the kernel's structure offsets are unknown (no BTF or DWARF given)"));
  }
  if (!*types_) return tl::unexpected(types_->error());
  return &**types_;
}

tl::expected<const ModuleList*, std::string> LinuxKernel::modules() {
  if (!modules_) {
    auto l = types();
    if (!l) {
      modules_ = tl::unexpected(l.error());
    } else if (auto m = list_modules(*this, **l)) {
      modules_ = std::make_unique<ModuleList>(std::move(*m));
    } else {
      modules_ = tl::unexpected(m.error());
    }
  }
  if (!*modules_) return tl::unexpected(modules_->error());
  return modules_->value().get();
}

std::optional<std::string> LinuxKernel::name_of(uint64_t addr) {
  if (const auto at = symbols.at(addr)) return at->offset ? fmt::format("{}+0x{:x}", at->name, at->offset) : std::string(at->name);
  if (!modules_region_) {
    modules_region_.emplace(1, 0);  // empty until the layout says otherwise
    // Where the layout has no module area of its own, modules live in vmalloc (i386:
    // MODULES_VADDR is VMALLOC_START, pgtable_32_areas.h); arm64 KASLR puts them in vmalloc
    // below the image (module_alloc_base, arch/arm64/kernel/kaslr.c), so there both count.
    if (auto regions = layout()) {
      const bool own = std::any_of(regions->begin(), regions->end(),
                                   [](const Region& r) { return r.kind == RegionKind::Modules; });
      const bool also_vmalloc = !own || arch->name() == "arm64";
      for (const Region& r : *regions)
        if (r.kind == RegionKind::Modules || (also_vmalloc && r.kind == RegionKind::Vmalloc)) {
          if (modules_region_->first > modules_region_->second) modules_region_.emplace(r.start, r.last);
          modules_region_->first = std::min(modules_region_->first, r.start);
          modules_region_->second = std::max(modules_region_->second, r.last);
        }
    }
  }
  if (addr < modules_region_->first || addr > modules_region_->second) return std::nullopt;
  auto m = modules();
  if (!m) return std::nullopt;
  if (auto at = (*m)->at(addr)) return describe(*at);
  return std::nullopt;
}

tl::expected<uint64_t, std::string> LinuxKernel::resolve(std::string_view expression) {
  return resolve_symbol_expression(expression, [&](std::string_view name) -> std::optional<uint64_t> {
    if (auto v = symbols.find(name)) return v;
    // The data symbols a kallsyms of text only lacks and the image still shows.
    if (name == "init_task" || name == "modules") {
      auto l = types();
      if (!l) return std::nullopt;
      return name == "init_task" ? find_init_task(*this, **l) : find_module_list(*this, **l);
    }
    auto m = modules();
    return m ? (*m)->find(name) : std::nullopt;
  });
}

}  // namespace pagewalk::linux_kernel
