// consumer IMAGE VA...: opens a memory image with the library and prints each VA's PA, as
// the README's "Use it from C++" shows.
#include <cstdio>
#include <cstdlib>

#include <pagewalk/core/table_reader.hpp>
#include <pagewalk/core/walk.hpp>
#include <pagewalk/target/target.hpp>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: consumer IMAGE VA...\n");
    return 2;
  }
  pagewalk::target::TargetSpec spec;
  spec.image = argv[1];
  auto t = pagewalk::target::open_target(spec);
  if (!t) {
    std::fprintf(stderr, "consumer: %s\n", t.error().message.c_str());
    return 3;
  }
  pagewalk::TableReader reader(t->memory());
  const pagewalk::Walker walker(t->paging);
  for (int i = 2; i < argc; ++i) {
    const uint64_t va = std::strtoull(argv[i], nullptr, 16);
    const pagewalk::Translation tr = walker.walk(reader, t->roots, pagewalk::VirtAddr(va));
    if (tr.mapped())
      std::printf("0x%llx -> 0x%llx\n", static_cast<unsigned long long>(va),
                  static_cast<unsigned long long>(tr.pa.value()));
    else
      std::printf("0x%llx: %s\n", static_cast<unsigned long long>(va), std::string(to_string(tr.status)).c_str());
  }
  return 0;
}
