// Writes the benchmark machine as a QEMU-style ELF core of a given size (sparse: only the
// table pages hold data) and a file of random VAs, one per line, for the CLI benchmarks.
// Usage: make_bench_image IMAGE MIB VAS_FILE COUNT
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../tests/support/elf_core_writer.hpp"
#include "bench_machine.hpp"

using namespace pagewalk;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s IMAGE MIB VAS_FILE COUNT\n", argv[0]);
    return 2;
  }
  const uint64_t mem_size = std::strtoull(argv[2], nullptr, 0) << 20;
  bench::Machine m;
  bench::build(m);
  std::vector<uint8_t> notes;
  testing::append_note(notes, "QEMU", 0, testing::qemu_cpu_state({0x80050033, m.root.value(), 0x6f0, 0, 0}));
  const size_t notes_off = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
  const size_t data_off = (notes_off + notes.size() + 4095) & ~size_t{4095};
  const Elf64_Ehdr eh = testing::core_header(EM_X86_64, 2);
  Elf64_Phdr ph[2] = {{PT_NOTE, 0, notes_off, 0, 0, notes.size(), notes.size(), 4},
                      {PT_LOAD, PF_R | PF_W | PF_X, data_off, 0, 0, mem_size, mem_size, 0}};
  const int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(data_off + mem_size)) != 0) return 1;
  bool ok = pwrite(fd, &eh, sizeof eh, 0) == sizeof eh && pwrite(fd, ph, sizeof ph, sizeof eh) == sizeof ph &&
            pwrite(fd, notes.data(), notes.size(), static_cast<off_t>(notes_off)) == static_cast<ssize_t>(notes.size());
  for (const PhysRange& r : m.mem.ranges()) {
    std::vector<std::byte> buf(r.size);
    (void)m.mem.read(r.start, buf);
    ok = ok && pwrite(fd, buf.data(), buf.size(), static_cast<off_t>(data_off + r.start.value())) ==
                   static_cast<ssize_t>(buf.size());
  }
  close(fd);
  FILE* v = std::fopen(argv[3], "w");
  if (!v) return 1;
  for (uint64_t va : bench::random_vas(std::strtoull(argv[4], nullptr, 0), 7)) std::fprintf(v, "0x%lx\n", va);
  std::fclose(v);
  return ok ? 0 : 1;
}
