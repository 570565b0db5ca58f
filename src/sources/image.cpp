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


struct ElfHandle {
  Elf* elf = nullptr;
  ~ElfHandle() {
    if (elf) elf_end(elf);
  }
};

}  // namespace

void Image::take_notes(CoreNotes&& notes) {
  cpus = std::move(notes.cpus);
  prstatus_notes = notes.prstatus;
  vmcoreinfo = std::move(notes.vmcoreinfo);
  problems.insert(problems.end(), notes.problems.begin(), notes.problems.end());
}

std::string ImageSource::machine() const {
  switch (image_.elf_machine) {
    case EM_NONE: return "";  // not an ELF core, or no machine given
    case EM_X86_64:
    case EM_386: return "x86";
    case EM_AARCH64: return "arm64";
    default: return fmt::format("ELF machine {}", image_.elf_machine);
  }
}

tl::expected<void, std::string> parse_elf_core(Image& image) {
  if (elf_version(EV_CURRENT) == EV_NONE) return tl::unexpected(std::string("libelf is unusable"));
  const auto bytes = image.file.bytes();
  // libelf maps the descriptor itself, read-only (ELF_C_READ_MMAP); elf_memory() could
  // convert data in place, which our read-only mapping forbids.
  ElfHandle h;
  h.elf = elf_begin(image.file.fd(), ELF_C_READ_MMAP, nullptr);
  if (!h.elf) return tl::unexpected(fmt::format("{}: libelf cannot read it ({})", image.path, elf_errmsg(-1)));
  if (elf_kind(h.elf) != ELF_K_ELF) return tl::unexpected(fmt::format("{}: not an ELF file (no ELF magic)", image.path));
  // Byte order first: a big-endian header's other fields would read as nonsense.
  if (bytes.size() > EI_DATA && static_cast<unsigned char>(bytes[EI_DATA]) != ELFDATA2LSB)
    return tl::unexpected(fmt::format("{}: a big-endian ELF file (EI_DATA {}): only little-endian cores are read",
                                      image.path, static_cast<unsigned>(static_cast<unsigned char>(bytes[EI_DATA]))));
  GElf_Ehdr eh;
  if (!gelf_getehdr(h.elf, &eh))
    return tl::unexpected(fmt::format("{}: corrupt ELF header ({})", image.path, elf_errmsg(-1)));
  if (eh.e_type != ET_CORE)
    return tl::unexpected(fmt::format("{}: an ELF file of type {}, not a core dump (ET_CORE)", image.path, eh.e_type));
  image.elf_machine = eh.e_machine;
  size_t nph = 0;
  if (elf_getphdrnum(h.elf, &nph) != 0)
    return tl::unexpected(fmt::format("{}: corrupt program headers ({})", image.path, elf_errmsg(-1)));

  std::vector<Segment> segments;
  CoreNotes notes;
  const bool long_mode = eh.e_machine == EM_X86_64;
  for (size_t i = 0; i < nph; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(h.elf, static_cast<int>(i), &ph))
      return tl::unexpected(fmt::format("{}: program header {} of {} cannot be read ({}; truncated?)", image.path, i,
                                        nph, elf_errmsg(-1)));
    if (ph.p_type == PT_LOAD) {
      segments.push_back({PhysAddr(ph.p_paddr), ph.p_offset, ph.p_filesz, ph.p_memsz});
    } else if (ph.p_type == PT_NOTE) {
      if (ph.p_offset > bytes.size() || ph.p_filesz > bytes.size() - ph.p_offset)
        return tl::unexpected(fmt::format("{}: note segment {} lies past the end of the file (truncated?)",
                                          image.path, i));
      parse_core_notes(notes, bytes.subspan(ph.p_offset, ph.p_filesz), long_mode);
    }
  }
  if (segments.empty()) return tl::unexpected(fmt::format("{}: ELF core has no memory (no PT_LOAD)", image.path));
  auto mem = SegmentedMemory::create(bytes, std::move(segments), Backing::FileMapping);
  if (!mem) return tl::unexpected(fmt::format("{}: {}", image.path, mem.error()));
  image.memory = std::move(*mem);
  image.format = notes.qemu ? "ELF core (QEMU dump-guest-memory)" : notes.vmcoreinfo ? "ELF core (kdump vmcore)" : "ELF core";
  image.take_notes(std::move(notes));
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
  auto mem = SegmentedMemory::create(bytes, std::move(segments), Backing::FileMapping);
  if (!mem) return tl::unexpected(fmt::format("{}: {}", image.path, mem.error()));
  image.memory = std::move(*mem);
  image.format = "LiME";
  return {};
}

tl::expected<Image, std::string> open_image(const std::string& path, const ImageOptions& options) {
  auto file = MappedFile::open(path);
  if (!file) return tl::unexpected(file.error());
  Image image{path, "", std::move(*file), nullptr, {}, 0, std::nullopt, 0, {}};
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
    auto mem = SegmentedMemory::create(bytes, {{PhysAddr(options.raw_base), 0, bytes.size(), bytes.size()}},
                                       Backing::FileMapping);
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
