// Holds N MiB of anonymous memory resident (every page written), prints its pid and waits
// until stdin closes: the target process of the live-pagemap benchmarks.
// Usage: live_resident MIB [thp]
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: live_resident MIB [thp]\n");
    return 2;
  }
  const size_t bytes = std::strtoull(argv[1], nullptr, 10) << 20;
  const bool thp = argc > 2 && std::strcmp(argv[2], "thp") == 0;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  madvise(p, bytes, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  for (size_t off = 0; off < bytes; off += 4096) static_cast<char*>(p)[off] = 1;
  std::printf("%d\n", static_cast<int>(getpid()));
  std::fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {
  }
  return 0;
}
