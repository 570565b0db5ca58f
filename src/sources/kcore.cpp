#include "sources/kcore.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "sources/input_file.hpp"

#include "sources/core_notes.hpp"

namespace pagewalk {
namespace {

constexpr uint64_t kNoPhysical = ~uint64_t{0};  // p_paddr of vmalloc, module and vmemmap segments
constexpr uint64_t kMaxNotes = 16u << 20;
constexpr size_t kMaxHeaders = 1u << 16;

// pread until `out` is full; false with errno set (or 0 at end of file).
bool pread_all(int fd, std::span<std::byte> out, uint64_t offset) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = 0;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string read_error_text(const char* what) {
  return errno ? fmt::format("{}: {}", what, std::strerror(errno)) : fmt::format("{}: the file ends early", what);
}

// Physical runs from the segments that carry a physical address. The kernel image's segment
// covers RAM that a direct-map segment covers too (the same bytes): keep each byte once.
std::vector<KcoreMemory::Run> physical_runs(const std::vector<KcoreSegment>& segments) {
  std::vector<KcoreMemory::Run> runs;
  for (const KcoreSegment& s : segments)
    if (s.paddr && s.size && s.size <= ~*s.paddr) runs.push_back({PhysAddr(*s.paddr), s.offset, s.size});  // no wrap
  std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
    return a.pa.value() != b.pa.value() ? a.pa.value() < b.pa.value() : a.size > b.size;
  });
  std::vector<KcoreMemory::Run> out;
  for (KcoreMemory::Run r : runs) {
    if (!out.empty()) {
      const uint64_t covered = out.back().pa.value() + out.back().size;
      if (r.pa.value() + r.size <= covered) continue;
      if (r.pa.value() < covered) {
        const uint64_t skip = covered - r.pa.value();
        r.pa = PhysAddr(covered);
        r.offset += skip;
        r.size -= skip;
      }
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace

KcoreMemory::~KcoreMemory() {
  if (fd_ >= 0) close(fd_);
}

tl::expected<void, ReadError> KcoreMemory::read(PhysAddr pa, std::span<std::byte> out) {
  uint64_t at = pa.value();
  size_t done = 0;
  while (done < out.size()) {
    auto it = std::upper_bound(runs_.begin(), runs_.end(), at, [](uint64_t a, const Run& r) { return a < r.pa.value(); });
    if (it == runs_.begin() || at - std::prev(it)->pa.value() >= std::prev(it)->size)
      return tl::unexpected(ReadError{PhysAddr(at), "outside the physical memory /proc/kcore exposes"});
    const Run& r = *std::prev(it);
    const uint64_t into = at - r.pa.value();
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size() - done, r.size - into));
    if (!pread_all(fd_, out.subspan(done, n), r.offset + into))
      return tl::unexpected(ReadError{PhysAddr(at), read_error_text("read")});
    done += n;
    at += n;
  }
  return {};
}

std::vector<PhysRange> KcoreMemory::ranges() const {
  std::vector<PhysRange> out;
  for (const Run& r : runs_) {
    if (!out.empty() && out.back().start.value() + out.back().size == r.pa.value())
      out.back().size += r.size;
    else
      out.push_back({r.pa, r.size});
  }
  return out;
}

tl::expected<Kcore, std::string> open_kcore(const std::string& path) {
  errno = 0;
  auto opened = open_input(path, kCharacterDevice);
  if (!opened)
    return tl::unexpected(opened.error() + (errno == EACCES || errno == EPERM ? " (reading the kernel's memory needs root)"
                                            : errno == ENOENT ? " (a kernel without CONFIG_PROC_KCORE, or /proc not mounted)"
                                                              : ""));
  const int fd = *opened;
  // Owned by the memory object once it exists; until then closed on every error.
  struct Closer {
    int fd;
    bool owned = true;
    ~Closer() {
      if (owned) close(fd);
    }
  } guard{fd};
  auto fail = [&](std::string what) { return tl::unexpected(fmt::format("{}: {}", path, what)); };

  Elf64_Ehdr eh;
  if (!pread_all(fd, std::as_writable_bytes(std::span(&eh, 1)), 0))
    // Containers often mask /proc/kcore with an empty file.
    return fail(read_error_text("ELF header") + (errno == 0 ? " (an empty file: is /proc/kcore masked, as in a container?)" : ""));
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return fail("not an ELF file (is it /proc/kcore?)");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return fail("not a 64-bit little-endian ELF core");
  if (eh.e_type != ET_CORE) return fail("ELF file is not a core");
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) return fail(fmt::format("program header size {} is not {}", eh.e_phentsize, sizeof(Elf64_Phdr)));
  size_t phnum = eh.e_phnum;
  if (phnum == PN_XNUM) {
    // More headers than e_phnum holds: the count is in section header 0's sh_info.
    Elf64_Shdr sh0;
    if (!eh.e_shoff || !pread_all(fd, std::as_writable_bytes(std::span(&sh0, 1)), eh.e_shoff))
      return fail("e_phnum is PN_XNUM but section header 0 cannot be read");
    phnum = sh0.sh_info;
  }
  if (phnum == 0 || phnum > kMaxHeaders) return fail(fmt::format("{} program headers", phnum));
  std::vector<Elf64_Phdr> phdrs(phnum);
  if (!pread_all(fd, std::as_writable_bytes(std::span(phdrs)), eh.e_phoff)) return fail(read_error_text("program headers"));

  // /proc/kcore reports the size of the address range it covers; a copy its real size. A
  // note must lie inside either before anything is allocated for it.
  struct stat st {};
  const uint64_t file_size = fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<uint64_t>(st.st_size) : ~uint64_t{0};

  Kcore k;
  k.path = path;
  CoreNotes notes;
  for (const Elf64_Phdr& ph : phdrs) {
    if (ph.p_type == PT_NOTE) {
      if (ph.p_filesz > kMaxNotes) return fail(fmt::format("note segment of {} bytes", ph.p_filesz));
      if (ph.p_offset > file_size || ph.p_filesz > file_size - ph.p_offset)
        return fail("the note segment lies past the end of the file (truncated?)");
      std::vector<std::byte> bytes(ph.p_filesz);
      if (!pread_all(fd, bytes, ph.p_offset)) return fail(read_error_text("notes"));
      parse_core_notes(notes, bytes, eh.e_machine == EM_X86_64);
    } else if (ph.p_type == PT_LOAD) {
      KcoreSegment s{ph.p_vaddr, std::nullopt, ph.p_offset, ph.p_filesz};
      if (ph.p_paddr != kNoPhysical) s.paddr = ph.p_paddr;
      k.segments.push_back(s);
    }
  }
  const size_t with_pa = std::count_if(k.segments.begin(), k.segments.end(), [](const KcoreSegment& s) { return s.paddr.has_value(); });
  const size_t zero_pa = std::count_if(k.segments.begin(), k.segments.end(), [](const KcoreSegment& s) { return s.paddr == 0u; });
  if (with_pa == 0) return fail("no segment gives a physical address: nothing to walk page tables in");
  if (zero_pa == k.segments.size() && zero_pa > 1)
    return fail("every segment's physical address is 0: this kernel's /proc/kcore does not give physical addresses");
  k.vmcoreinfo = std::move(notes.vmcoreinfo);
  k.memory = std::make_unique<KcoreMemory>(fd, physical_runs(k.segments));
  guard.owned = false;
  return k;
}

}  // namespace pagewalk
