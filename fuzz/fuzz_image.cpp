// Any bytes as an image file: the ELF (libelf), LiME, kdump, /proc/kcore and VMCOREINFO
// parsers must return an error or a readable image, never crash or hang.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "linux/vmcoreinfo.hpp"
#include "sources/image.hpp"
#include "sources/kcore.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("image", 0);
  if (fd < 0) return 0;
  if (size && write(fd, data, size) != static_cast<ssize_t>(size)) {
    close(fd);
    return 0;
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  auto image = pagewalk::open_image(path, {});
  if (image) {
    for (const pagewalk::PhysRange& r : image->memory->ranges()) {
      std::byte buf[64];
      (void)image->memory->read(r.start, {buf, sizeof buf});
      (void)image->memory->view(r.start);
    }
    if (image->vmcoreinfo) {
      auto vi = pagewalk::linux_kernel::VmcoreInfo::parse(*image->vmcoreinfo);
      (void)vi.symbol("init_top_pgt");
      (void)vi.number("pgtable_l5_enabled");
    }
  }
  // The same bytes as a copy of /proc/kcore (pread, not mmap; its own header checks).
  if (auto kcore = pagewalk::open_kcore(path)) {
    for (const pagewalk::PhysRange& r : kcore->memory->ranges()) {
      std::byte buf[64];
      (void)kcore->memory->read(r.start, {buf, sizeof buf});
      (void)kcore->memory->read(r.start + (r.size > 8 ? r.size - 8 : 0), {buf, sizeof buf});  // runs off the end
    }
  }
  close(fd);
  return 0;
}
