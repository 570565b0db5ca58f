// A vmlinux's own symbol table (.symtab) and GNU build ID, through elfutils' libelf: the
// data symbols (init_task, modules, ...) that a kallsyms without CONFIG_KALLSYMS_ALL lacks.
#include <elf.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <fmt/format.h>

#include "linux/symbols.hpp"
#include "sources/input_file.hpp"

namespace pagewalk::linux_kernel {
namespace {

std::string hex_of(const unsigned char* p, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += fmt::format("{:02x}", p[i]);
  return out;
}

// NT_GNU_BUILD_ID in any note section: what the kernel's VMCOREINFO BUILD-ID repeats
// (kernel/crash_core.c, VMCOREINFO_BUILD_ID).
std::string build_id_of(Elf* elf) {
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    GElf_Nhdr nh;
    size_t off = 0, name_off = 0, desc_off = 0;
    while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
      const auto* base = static_cast<const unsigned char*>(data->d_buf);
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
          std::string_view(reinterpret_cast<const char*>(base + name_off), 3) == "GNU")
        return hex_of(base + desc_off, nh.n_descsz);
    }
  }
  return {};
}

}  // namespace

tl::expected<VmlinuxSymbols, std::string> vmlinux_symbols(const std::string& path) {
  auto opened = open_input(path);
  if (!opened) return tl::unexpected(opened.error());
  const int fd = *opened;
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  auto finish = [&](tl::expected<VmlinuxSymbols, std::string> r) {
    if (elf) elf_end(elf);
    close(fd);
    return r;
  };
  if (!elf || elf_kind(elf) != ELF_K_ELF)
    return finish(tl::unexpected(fmt::format("{}: not an ELF file (a vmlinux, not a vmlinuz)", path)));
  VmlinuxSymbols out;
  out.build_id = build_id_of(elf);
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || sh.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    const size_t count = sh.sh_size / sh.sh_entsize;
    for (size_t i = 1; i < count; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
      const unsigned type = GELF_ST_TYPE(sym.st_info);
      // Functions, objects and the linker's markers (_text, _end: NOTYPE); no sections,
      // files or absolute values (the per-CPU offsets and the like).
      if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS || sym.st_value == 0) continue;
      if (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) continue;
      const char* name = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (name && *name) out.table.add(name, sym.st_value);
    }
  }
  if (out.table.empty()) return finish(tl::unexpected(fmt::format("{}: no symbol table (.symtab): a stripped vmlinux", path)));
  out.table.seal();
  return finish(std::move(out));
}

}  // namespace pagewalk::linux_kernel
