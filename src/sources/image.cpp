#include "sources/image.hpp"

#include <gelf.h>
#include <libelf.h>

#include <cstring>

#include <fmt/format.h>

#include "sources/bytes.hpp"
#include "sources/kdump.hpp"
#include "sources/segmented_memory.hpp"

namespace pagewalk {
namespace {

constexpr uint32_t kLimeMagic = 0x4C694D45;  // "EMiL" little-endian: LiME's range header


// QEMU's per-CPU "QEMU" note is a QEMUCPUState (target/i386/arch_dump.c): version, size,
// 18 general registers, 10 segment descriptors of 24 bytes, then cr[0..4].
struct QemuCpuStateLayout {
  static constexpr size_t kRip = 8 + 16 * 8;
  static constexpr size_t kRsp = 8 + 6 * 8;
  static constexpr size_t kCr = 8 + 18 * 8 + 10 * 24;
  static constexpr size_t kMinSize = kCr + 5 * 8;
};

void add_qemu_note(Image& image, std::span<const std::byte> desc, bool long_mode) {
  if (desc.size() < QemuCpuStateLayout::kMinSize) return;
  CpuRegisters r;
  r.index = static_cast<unsigned>(image.cpus.size());
  const std::byte* p = desc.data();
  r.rip = load<uint64_t>(p + QemuCpuStateLayout::kRip);
  r.rsp = load<uint64_t>(p + QemuCpuStateLayout::kRsp);
  r.cr0 = load<uint64_t>(p + QemuCpuStateLayout::kCr);
  r.cr2 = load<uint64_t>(p + QemuCpuStateLayout::kCr + 16);
  r.cr3 = load<uint64_t>(p + QemuCpuStateLayout::kCr + 24);
  r.cr4 = load<uint64_t>(p + QemuCpuStateLayout::kCr + 32);
  // QEMU writes an EM_X86_64 core exactly when the CPU is in long mode (EFER.LMA).
  r.long_mode = long_mode;
  r.source = "QEMU note";
  image.cpus.push_back(r);
}

uint32_t align4(uint32_t v) { return (v + 3) & ~uint32_t{3}; }

struct ElfHandle {
  Elf* elf = nullptr;
  ~ElfHandle() {
    if (elf) elf_end(elf);
  }
};

}  // namespace

NoteSummary parse_core_notes(Image& image, std::span<const std::byte> notes, bool long_mode) {
  // Elf64_Nhdr: namesz, descsz, type; name and desc each padded to 4 bytes.
  NoteSummary summary;
  size_t off = 0;
  while (notes.size() - off >= 12) {
    const std::byte* h = notes.data() + off;
    const uint32_t namesz = load<uint32_t>(h), descsz = load<uint32_t>(h + 4), type = load<uint32_t>(h + 8);
    const uint64_t name_at = off + 12, desc_at = name_at + align4(namesz), end = desc_at + uint64_t{align4(descsz)};
    if (namesz > notes.size() || descsz > notes.size() || end > notes.size() + 3 || desc_at + descsz > notes.size()) break;
    const std::string_view name(reinterpret_cast<const char*>(notes.data() + name_at), namesz ? namesz - 1 : 0);
    const std::span<const std::byte> desc = notes.subspan(desc_at, descsz);
    if (name == "QEMU") {
      summary.qemu = true;
      add_qemu_note(image, desc, long_mode);
    } else if (name == "CORE" && type == NT_PRSTATUS) {
      ++image.prstatus_notes;
    } else if (name == "VMCOREINFO") {
      summary.vmcoreinfo = true;
      image.vmcoreinfo.emplace(reinterpret_cast<const char*>(desc.data()), desc.size());
      while (!image.vmcoreinfo->empty() && image.vmcoreinfo->back() == '\0') image.vmcoreinfo->pop_back();
    }
    off = std::min<uint64_t>(end, notes.size());
  }
  return summary;
}

tl::expected<void, std::string> parse_elf_core(Image& image) {
  if (elf_version(EV_CURRENT) == EV_NONE) return tl::unexpected(std::string("libelf is unusable"));
  const auto bytes = image.file.bytes();
  // libelf maps the descriptor itself, read-only (ELF_C_READ_MMAP); elf_memory() could
  // convert data in place, which our read-only mapping forbids.
  ElfHandle h;
  h.elf = elf_begin(image.file.fd(), ELF_C_READ_MMAP, nullptr);
  if (!h.elf || elf_kind(h.elf) != ELF_K_ELF)
    return tl::unexpected(fmt::format("{}: not a valid ELF file ({})", image.path, elf_errmsg(-1)));
  GElf_Ehdr eh;
  if (!gelf_getehdr(h.elf, &eh)) return tl::unexpected(fmt::format("{}: corrupt ELF header", image.path));
  if (eh.e_type != ET_CORE) return tl::unexpected(fmt::format("{}: ELF file is not a core dump", image.path));
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return tl::unexpected(fmt::format("{}: big-endian cores are not supported", image.path));
  image.elf_machine = eh.e_machine;
  size_t nph = 0;
  if (elf_getphdrnum(h.elf, &nph) != 0) return tl::unexpected(fmt::format("{}: corrupt program headers", image.path));

  std::vector<Segment> segments;
  bool qemu = false, kdump = false;
  const bool long_mode = eh.e_machine == EM_X86_64;
  for (size_t i = 0; i < nph; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(h.elf, static_cast<int>(i), &ph))
      return tl::unexpected(fmt::format("{}: corrupt program header {}", image.path, i));
    if (ph.p_type == PT_LOAD) {
      segments.push_back({PhysAddr(ph.p_paddr), ph.p_offset, ph.p_filesz, ph.p_memsz});
    } else if (ph.p_type == PT_NOTE) {
      if (ph.p_offset > bytes.size() || ph.p_filesz > bytes.size() - ph.p_offset)
        return tl::unexpected(fmt::format("{}: note segment {} lies past the end of the file (truncated?)",
                                          image.path, i));
      const NoteSummary notes = parse_core_notes(image, bytes.subspan(ph.p_offset, ph.p_filesz), long_mode);
      qemu = qemu || notes.qemu;
      kdump = kdump || notes.vmcoreinfo;
    }
  }
  if (segments.empty()) return tl::unexpected(fmt::format("{}: ELF core has no memory (no PT_LOAD)", image.path));
  auto mem = SegmentedMemory::create(bytes, std::move(segments));
  if (!mem) return tl::unexpected(fmt::format("{}: {}", image.path, mem.error()));
  image.memory = std::move(*mem);
  image.format = qemu ? "ELF core (QEMU dump-guest-memory)" : kdump ? "ELF core (kdump vmcore)" : "ELF core";
  return {};
}

tl::expected<void, std::string> parse_lime(Image& image) {
  const auto bytes = image.file.bytes();
  constexpr size_t kHeader = 32;  // magic, version, start, end (inclusive), 8 reserved bytes
  std::vector<Segment> segments;
  size_t off = 0;
  while (off < bytes.size()) {
    if (bytes.size() - off < kHeader)
      return tl::unexpected(fmt::format("{}: LiME header at offset 0x{:x} is cut short", image.path, off));
    const std::byte* h = bytes.data() + off;
    if (load<uint32_t>(h) != kLimeMagic)
      return tl::unexpected(fmt::format("{}: bad LiME magic at offset 0x{:x}", image.path, off));
    const uint64_t start = load<uint64_t>(h + 8), end = load<uint64_t>(h + 16);
    if (end < start || end - start == ~uint64_t{0})
      return tl::unexpected(fmt::format("{}: LiME range at offset 0x{:x} ends before it starts", image.path, off));
    const uint64_t size = end - start + 1;
    off += kHeader;
    if (size > bytes.size() - off)
      return tl::unexpected(fmt::format("{}: LiME range 0x{:x}-0x{:x} runs past the end of the file (truncated?)",
                                        image.path, start, end));
    segments.push_back({PhysAddr(start), off, size, size});
    off += size;
  }
  auto mem = SegmentedMemory::create(bytes, std::move(segments));
  if (!mem) return tl::unexpected(fmt::format("{}: {}", image.path, mem.error()));
  image.memory = std::move(*mem);
  image.format = "LiME";
  return {};
}

tl::expected<Image, std::string> open_image(const std::string& path, const ImageOptions& options) {
  auto file = MappedFile::open(path);
  if (!file) return tl::unexpected(file.error());
  Image image{path, "", std::move(*file), nullptr, {}, 0, std::nullopt, 0};
  const auto bytes = image.file.bytes();
  std::string format = options.format;
  if (format == "auto") {
    if (bytes.size() >= 4 && std::memcmp(bytes.data(), ELFMAG, SELFMAG) == 0)
      format = "elf";
    else if (bytes.size() >= 4 && load<uint32_t>(bytes.data()) == kLimeMagic)
      format = "lime";
    else if (is_kdump_compressed(bytes))
      format = "kdump";
    else
      return tl::unexpected(fmt::format("{}: unrecognised image format (not ELF, kdump-compressed or LiME); for a raw memory file "
                                        "give --format raw [--base ADDR]",
                                        path));
  }
  tl::expected<void, std::string> parsed;
  if (format == "elf") {
    parsed = parse_elf_core(image);
  } else if (format == "lime") {
    parsed = parse_lime(image);
  } else if (format == "kdump") {
    parsed = parse_kdump(image);
  } else if (format == "raw") {
    auto mem = SegmentedMemory::create(bytes, {{PhysAddr(options.raw_base), 0, bytes.size(), bytes.size()}});
    if (!mem) return tl::unexpected(fmt::format("{}: {}", path, mem.error()));
    image.memory = std::move(*mem);
    image.format = fmt::format("raw (base 0x{:x})", options.raw_base);
  } else {
    return tl::unexpected(fmt::format("unknown image format '{}' (expected auto, elf, kdump, lime or raw)", format));
  }
  if (!parsed) return tl::unexpected(parsed.error());
  return image;
}

}  // namespace pagewalk
