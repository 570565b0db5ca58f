// Writes small ELF core files shaped like QEMU's dump-guest-memory output (PT_NOTE with
// per-CPU "QEMU" notes and optional VMCOREINFO, then PT_LOADs), for tests, benchmarks and
// fuzzer seeds. Not part of the library: pagewalk only ever reads images.
#pragma once

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace pagewalk::testing {

struct CoreCpu {
  uint64_t cr0 = 0x80050033, cr3 = 0, cr4 = 0x3006f0;  // a Linux x86-64 guest's usual CR0/CR4
  uint64_t rip = 0, rsp = 0;
};

struct CoreLoad {
  uint64_t pa = 0;  // p_paddr (/proc/kcore: ~0 for segments with no physical address)
  uint64_t size = 0;
  // Fills the segment's bytes; by default they are zero.
  std::function<void(uint64_t pa, std::vector<uint8_t>& bytes)> fill;
  uint64_t mem_size = 0;  // 0: same as size
  uint64_t vaddr = 0;     // p_vaddr (QEMU writes 0; /proc/kcore the kernel VA)
};

struct CoreSpec {
  uint16_t machine = EM_X86_64;
  std::vector<CoreCpu> cpus;
  std::string vmcoreinfo;  // empty: no note
  std::vector<CoreLoad> loads;
};

inline void append_note(std::vector<uint8_t>& out, const std::string& name, uint32_t type,
                        const std::vector<uint8_t>& desc) {
  auto pad4 = [&] { out.resize((out.size() + 3) & ~size_t{3}); };
  Elf64_Nhdr nh{static_cast<Elf64_Word>(name.size() + 1), static_cast<Elf64_Word>(desc.size()), type};
  const auto* p = reinterpret_cast<const uint8_t*>(&nh);
  out.insert(out.end(), p, p + sizeof nh);
  out.insert(out.end(), name.begin(), name.end());
  out.push_back(0);
  pad4();
  out.insert(out.end(), desc.begin(), desc.end());
  pad4();
}

// QEMUCPUState (QEMU target/i386/arch_dump.c) with the fields we read filled in.
inline std::vector<uint8_t> qemu_cpu_state(const CoreCpu& c) {
  std::vector<uint8_t> d(8 + 18 * 8 + 10 * 24 + 5 * 8 + 8, 0);
  auto put32 = [&](size_t off, uint32_t v) { std::memcpy(d.data() + off, &v, 4); };
  auto put64 = [&](size_t off, uint64_t v) { std::memcpy(d.data() + off, &v, 8); };
  put32(0, 1);
  put32(4, static_cast<uint32_t>(d.size()));
  put64(8 + 6 * 8, c.rsp);
  put64(8 + 16 * 8, c.rip);
  const size_t cr = 8 + 18 * 8 + 10 * 24;
  put64(cr, c.cr0);
  put64(cr + 24, c.cr3);
  put64(cr + 32, c.cr4);
  return d;
}

// The ELF header of a little-endian 64-bit core with nph program headers after it.
inline Elf64_Ehdr core_header(uint16_t machine, size_t nph) {
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_CORE;
  eh.e_machine = machine;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = static_cast<Elf64_Half>(nph);
  return eh;
}

inline std::vector<uint8_t> build_core(const CoreSpec& spec) {
  std::vector<uint8_t> notes;
  for (const CoreCpu& c : spec.cpus) append_note(notes, "QEMU", 0, qemu_cpu_state(c));
  if (!spec.vmcoreinfo.empty())
    append_note(notes, "VMCOREINFO", 0, std::vector<uint8_t>(spec.vmcoreinfo.begin(), spec.vmcoreinfo.end()));

  const size_t nph = 1 + spec.loads.size();
  const size_t notes_off = sizeof(Elf64_Ehdr) + nph * sizeof(Elf64_Phdr);
  size_t data_off = (notes_off + notes.size() + 4095) & ~size_t{4095};
  std::vector<Elf64_Phdr> ph(nph);
  ph[0] = Elf64_Phdr{PT_NOTE, 0, notes_off, 0, 0, notes.size(), notes.size(), 4};
  size_t end = data_off;
  for (size_t i = 0; i < spec.loads.size(); ++i) {
    const CoreLoad& l = spec.loads[i];
    ph[i + 1] = Elf64_Phdr{PT_LOAD, PF_R | PF_W | PF_X, end, l.vaddr, l.pa, l.size, l.mem_size ? l.mem_size : l.size, 0};
    end += l.size;
  }
  std::vector<uint8_t> out(end, 0);
  const Elf64_Ehdr eh = core_header(spec.machine, nph);
  std::memcpy(out.data(), &eh, sizeof eh);
  std::memcpy(out.data() + sizeof eh, ph.data(), nph * sizeof(Elf64_Phdr));
  if (!notes.empty()) std::memcpy(out.data() + notes_off, notes.data(), notes.size());
  for (size_t i = 0; i < spec.loads.size(); ++i) {
    const CoreLoad& l = spec.loads[i];
    if (!l.fill) continue;
    std::vector<uint8_t> bytes(l.size, 0);
    l.fill(l.pa, bytes);
    std::memcpy(out.data() + ph[i + 1].p_offset, bytes.data(), bytes.size());
  }
  return out;
}

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace pagewalk::testing
