#include "sources/kmod.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "kmod/pagewalk_ioctl.h"
#include "sources/core_notes.hpp"

namespace pagewalk {
namespace {

constexpr const char* kLevelNames[PAGEWALK_LEVELS] = {"pgd", "p4d", "pud", "pmd", "pte"};

template <typename T>
T request() {
  T r{};
  r.hdr.size = sizeof(T);
  r.hdr.version = PAGEWALK_ABI_VERSION;
  return r;
}

// The module's errno for a request, in words (kmod/pagewalk_ioctl.h lists them).
std::string request_error(int err, const std::string& what) {
  switch (err) {
    case EPERM: return fmt::format("{}: the pagewalk module answers only CAP_SYS_ADMIN (run as root)", what);
    case EACCES: return fmt::format("{}: the kernel is locked down against raw memory access", what);
    case EPROTO:
      return fmt::format("{}: the loaded pagewalk module speaks another protocol version than this pagewalk ({}): "
                         "rebuild it (make kmod) and reload it",
                         what, PAGEWALK_ABI_VERSION);
    case EINVAL: return fmt::format("{}: the module refused the request as malformed (a module of another version?)", what);
    case ENOTTY: return fmt::format("{}: not a pagewalk device, or a module of another version", what);
    default: return fmt::format("{}: {}", what, std::strerror(err));
  }
}

std::string c_string(const char* s, size_t n) { return std::string(s, strnlen(s, n)); }

}  // namespace

tl::expected<std::unique_ptr<KmodDevice>, std::string> KmodDevice::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT && path == kKmodDevice)
      return tl::unexpected(fmt::format("{} does not exist: the pagewalk module is not loaded (build it with "
                                        "`make kmod`, load it with `insmod kmod/pagewalk.ko`)",
                                        path));
    // The device is root's (0600); root itself is refused only under lockdown.
    if (err == EACCES && geteuid() == 0)
      return tl::unexpected(fmt::format("cannot open {}: the kernel is locked down against raw memory access "
                                        "(see /sys/kernel/security/lockdown)",
                                        path));
    if (err == EACCES || err == EPERM)
      return tl::unexpected(fmt::format("cannot open {}: {} (the pagewalk module answers only root)", path,
                                        std::strerror(err)));
    return tl::unexpected(fmt::format("cannot open {}: {}", path, std::strerror(err)));
  }
  return std::unique_ptr<KmodDevice>(new KmodDevice(fd, path));
}

KmodDevice::~KmodDevice() { ::close(fd_); }

tl::expected<KmodInfo, std::string> KmodDevice::info() const {
  auto r = request<pagewalk_info>();
  if (ioctl(fd_, PAGEWALK_IOC_INFO, &r) != 0) return tl::unexpected(request_error(errno, path_));
  KmodInfo i;
  i.abi = r.hdr.version;
  switch (r.arch) {
    case PAGEWALK_ARCH_X86_64:
    case PAGEWALK_ARCH_X86_32: i.arch = "x86"; break;
    case PAGEWALK_ARCH_ARM64: i.arch = "arm64 (AArch64)"; break;
    default: i.arch = fmt::format("architecture {} of the module", r.arch); break;
  }
  i.page_shift = r.page_shift;
  i.levels = r.levels;
  i.pti = (r.flags & PAGEWALK_INFO_PTI) != 0;
  i.vmcoreinfo_pa = r.vmcoreinfo_pa;
  i.vmcoreinfo_size = r.vmcoreinfo_size;
  i.kernel_pgd = r.kernel_pgd_pa;
  i.page_offset = r.page_offset;
  for (unsigned n = 0; n < std::min<unsigned>(r.nregisters, PAGEWALK_MAX_REGISTERS); ++n)
    i.registers.emplace_back(c_string(r.register_names[n], sizeof r.register_names[n]), r.registers[n]);
  i.release = c_string(r.release, sizeof r.release);
  return i;
}

tl::expected<std::vector<PhysRange>, std::string> KmodDevice::ram() const {
  auto r = std::make_unique<pagewalk_ram>(request<pagewalk_ram>());
  if (ioctl(fd_, PAGEWALK_IOC_RAM, r.get()) != 0) return tl::unexpected(request_error(errno, path_));
  std::vector<PhysRange> out;
  for (unsigned n = 0; n < std::min<unsigned>(r->count, PAGEWALK_MAX_RAM_RANGES); ++n)
    if (r->ranges[n].end >= r->ranges[n].start)
      out.push_back({PhysAddr(r->ranges[n].start), r->ranges[n].end - r->ranges[n].start + 1});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.start.value() < b.start.value(); });
  return out;
}

tl::expected<void, int> KmodDevice::read(uint64_t pa, std::span<std::byte> out) const {
  auto r = request<pagewalk_read>();
  r.pa = pa;
  r.length = out.size();
  r.buffer = reinterpret_cast<uintptr_t>(out.data());
  if (ioctl(fd_, PAGEWALK_IOC_READ, &r) != 0) return tl::unexpected(errno);
  return {};
}

tl::expected<KmodRoots, std::string> KmodDevice::roots(int32_t pid) const {
  auto r = request<pagewalk_roots>();
  r.pid = pid;
  if (ioctl(fd_, PAGEWALK_IOC_ROOTS, &r) != 0) {
    const int err = errno;
    if (err == ESRCH) return tl::unexpected(fmt::format("no process {} in the running kernel", pid));
    if (err == ENODATA) return tl::unexpected(fmt::format("pid {} is a kernel thread: it has no mm; use --kernel", pid));
    return tl::unexpected(request_error(err, path_));
  }
  KmodRoots out{pid, c_string(r.comm, sizeof r.comm), PhysAddr(r.pgd_pa), std::nullopt};
  if (r.user_pgd_pa) out.user_pgd = PhysAddr(r.user_pgd_pa);
  return out;
}

tl::expected<KmodWalk, std::string> KmodDevice::walk(int32_t pid, uint64_t va) const {
  auto r = request<pagewalk_walk>();
  r.pid = pid;
  r.va = va;
  if (ioctl(fd_, PAGEWALK_IOC_WALK, &r) != 0) {
    const int err = errno;
    if (err == ESRCH) return tl::unexpected(fmt::format("no process {} in the running kernel", pid));
    if (err == ENODATA) return tl::unexpected(fmt::format("pid {} is a kernel thread: it has no mm; use --kernel", pid));
    if (err == ERANGE) return tl::unexpected(fmt::format("0x{:x} is outside the kernel's address space", va));
    if (err == ENOENT) return tl::unexpected(std::string("the module does not know the kernel's PGD (no VMCOREINFO)"));
    return tl::unexpected(request_error(err, path_));
  }
  KmodWalk w;
  w.pid = pid;
  w.va = va;
  w.root = PhysAddr(r.root_pa);
  for (unsigned n = 0; n < PAGEWALK_LEVELS; ++n) {
    const pagewalk_level& l = r.level[n];
    if (!(l.flags & PAGEWALK_LEVEL_VISITED)) break;
    w.levels.push_back({kLevelNames[n], l.table_pa, l.entry_pa, l.value, l.index,
                        (l.flags & PAGEWALK_LEVEL_FOLDED) != 0, (l.flags & PAGEWALK_LEVEL_LEAF) != 0});
  }
  w.mapped = (r.flags & PAGEWALK_WALK_MAPPED) != 0;
  w.in_vma = (r.flags & PAGEWALK_WALK_IN_VMA) != 0;
  w.locked = (r.flags & PAGEWALK_WALK_LOCKED) != 0;
  w.pa = r.pa;
  w.page_size = r.page_size;
  return w;
}

std::string kmod_read_error(uint64_t pa, int err) {
  switch (err) {
    case ENXIO: return fmt::format("PA 0x{:x} is not System RAM (the module reads RAM only)", pa);
    case EIO: return fmt::format("PA 0x{:x}: the kernel cannot read this RAM page (not in its direct map)", pa);
    default: return request_error(err, fmt::format("PA 0x{:x}", pa));
  }
}

// The module reads 8-byte-aligned, whole entries (never torn); a read of any other shape
// is widened to that, page by page, through a small buffer.
tl::expected<void, ReadError> KmodMemory::read(PhysAddr pa, std::span<std::byte> out) {
  constexpr uint64_t kChunk = PAGEWALK_MAX_READ;
  uint64_t at = pa.value();
  size_t done = 0;
  std::array<std::byte, 4096 + 16> bounce;
  while (done < out.size()) {
    const uint64_t left = out.size() - done;
    if (at % 8 == 0 && left >= 8) {
      const uint64_t n = std::min<uint64_t>(left & ~uint64_t{7}, kChunk);
      if (auto r = device_.read(at, out.subspan(done, n)); !r) return tl::unexpected(ReadError{PhysAddr(at), kmod_read_error(at, r.error())});
      done += n;
      at += n;
      continue;
    }
    // A ragged head or tail: read the aligned words around it.
    const uint64_t start = at & ~uint64_t{7};
    const uint64_t end = std::min<uint64_t>((at + left + 7) & ~uint64_t{7}, start + 4096);
    if (auto r = device_.read(start, std::span(bounce).first(end - start)); !r)
      return tl::unexpected(ReadError{PhysAddr(at), kmod_read_error(start, r.error())});
    const uint64_t n = std::min<uint64_t>(left, end - at);
    std::memcpy(out.data() + done, bounce.data() + (at - start), n);
    done += n;
    at += n;
  }
  return {};
}

tl::expected<std::unique_ptr<KmodSource>, std::string> KmodSource::open(const std::string& path) {
  auto dev = KmodDevice::open(path);
  if (!dev) return tl::unexpected(dev.error());
  auto info = (*dev)->info();
  if (!info) return tl::unexpected(info.error());
  auto ram = (*dev)->ram();
  if (!ram) return tl::unexpected(ram.error());
  std::unique_ptr<KmodSource> s(new KmodSource());
  s->device_ = std::move(*dev);
  s->info_ = std::move(*info);
  s->memory_ = std::make_unique<KmodMemory>(*s->device_, std::move(*ram));
  CpuState cpu;
  cpu.arch = s->info_.arch;
  cpu.source = "the CPU that answered the pagewalk module";
  cpu.registers = s->info_.registers;
  if (!cpu.registers.empty()) s->cpus_.push_back(std::move(cpu));
  // VMCOREINFO: the kernel's own note, where the module says it is.
  if (s->info_.vmcoreinfo_pa && s->info_.vmcoreinfo_size && s->info_.vmcoreinfo_size <= (1u << 20)) {
    std::vector<std::byte> note(s->info_.vmcoreinfo_size);
    if (s->memory_->read(PhysAddr(s->info_.vmcoreinfo_pa), note)) {
      CoreNotes notes;
      parse_core_notes(notes, note, true);
      s->vmcoreinfo_ = std::move(notes.vmcoreinfo);
    }
  }
  return s;
}

}  // namespace pagewalk
