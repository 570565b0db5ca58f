// The baseline for `map --pid`: a bare loop of 8,192-entry preads over /proc/PID/pagemap,
// covering every mapping in /proc/PID/maps, counting present pages. Prints
// "pages present seconds".
// Usage: pagemap_raw PID [repeats]
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string pid = argv[1];
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 1;
  double best = 1e30;
  uint64_t pages = 0, present = 0;
  std::vector<uint64_t> buf(8192);
  for (int rep = 0; rep < repeats; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    std::ifstream maps("/proc/" + pid + "/maps");
    std::string line;
    while (std::getline(maps, line)) {
      const uint64_t start = std::strtoull(line.c_str(), nullptr, 16);
      const uint64_t end = std::strtoull(line.c_str() + line.find('-') + 1, nullptr, 16);
      if (line.find("[vsyscall]") == std::string::npos) ranges.emplace_back(start >> 12, end >> 12);
    }
    const int fd = open(("/proc/" + pid + "/pagemap").c_str(), O_RDONLY);
    if (fd < 0) return 1;
    pages = present = 0;
    for (const auto& [first, last] : ranges) {
      for (uint64_t pg = first; pg < last;) {
        const size_t n = std::min<uint64_t>(buf.size(), last - pg);
        const ssize_t got = pread(fd, buf.data(), n * 8, static_cast<off_t>(pg * 8));
        if (got <= 0) return 1;
        const size_t entries = static_cast<size_t>(got) / 8;
        for (size_t i = 0; i < entries; ++i) present += buf[i] >> 63;
        pages += entries;
        pg += entries;
      }
    }
    close(fd);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s < best) best = s;
  }
  std::printf("%" PRIu64 " %" PRIu64 " %.6f\n", pages, present, best);
  return 0;
}
