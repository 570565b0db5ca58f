#include "sources/kdump.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "sources/bytes.hpp"

#if PAGEWALK_HAVE_KDUMPFILE
#include <libkdumpfile/kdumpfile.h>
#endif

namespace pagewalk {
namespace {

constexpr std::string_view kDiskdumpSignature = "KDUMP   ";
constexpr std::string_view kFlatSignature = "makedumpfile";
constexpr size_t kFlatHeaderSize = 4096;

int64_t load_be64(const std::byte* p) { return static_cast<int64_t>(__builtin_bswap64(load<uint64_t>(p))); }

bool starts_with(std::span<const std::byte> bytes, std::string_view sig) {
  return bytes.size() >= sig.size() && std::memcmp(bytes.data(), sig.data(), sig.size()) == 0;
}

}  // namespace

bool is_makedumpfile_flattened(std::span<const std::byte> bytes) {
  return bytes.size() >= kFlatHeaderSize && starts_with(bytes, kFlatSignature);
}
bool is_kdump_compressed(std::span<const std::byte> bytes) {
  return starts_with(bytes, kDiskdumpSignature) || is_makedumpfile_flattened(bytes);
}

tl::expected<void, std::string> unflatten(std::span<const std::byte> bytes, int fd) {
  // After a 4 KiB header: records of {be64 offset, be64 size, data}, ended by offset -1.
  size_t pos = kFlatHeaderSize;
  size_t records = 0;
  while (true) {
    if (bytes.size() - pos < 16) return tl::unexpected(fmt::format("flattened dump ends inside record {} (truncated?)", records));
    const int64_t offset = load_be64(bytes.data() + pos);
    const int64_t size = load_be64(bytes.data() + pos + 8);
    pos += 16;
    if (offset == -1) return {};
    if (offset < 0 || size < 0 || static_cast<uint64_t>(size) > bytes.size() - pos || offset > (int64_t{1} << 50))
      return tl::unexpected(fmt::format("flattened dump record {} is corrupt (offset {}, size {})", records, offset, size));
    size_t done = 0;
    while (done < static_cast<size_t>(size)) {
      const ssize_t n = pwrite(fd, bytes.data() + pos + done, static_cast<size_t>(size) - done, offset + static_cast<int64_t>(done));
      if (n <= 0) return tl::unexpected(fmt::format("cannot rearrange the flattened dump: {}", std::strerror(errno)));
      done += static_cast<size_t>(n);
    }
    pos += static_cast<size_t>(size);
    ++records;
  }
}

#if PAGEWALK_HAVE_KDUMPFILE
namespace {

class KdumpMemory final : public PhysMemory {
 public:
  KdumpMemory(kdump_ctx_t* ctx, int fd, std::vector<PhysRange> ranges) : ctx_(ctx), fd_(fd), ranges_(std::move(ranges)) {}
  ~KdumpMemory() override {
    kdump_free(ctx_);
    if (fd_ >= 0) close(fd_);
  }
  tl::expected<void, ReadError> read(PhysAddr pa, std::span<std::byte> out) override {
    size_t done = 0;
    while (done < out.size()) {
      size_t len = out.size() - done;
      const kdump_status s = kdump_read(ctx_, KDUMP_MACHPHYSADDR, pa.value() + done, out.data() + done, &len);
      if (s != KDUMP_OK || len == 0) return tl::unexpected(ReadError{pa + done, failure(s)});
      done += len;
    }
    return {};
  }
  std::vector<PhysRange> ranges() const override { return ranges_; }

 private:
  // The reason in terms of the dump, with libkdumpfile's own words for the detail.
  std::string failure(kdump_status s) const {
    switch (s) {
      case KDUMP_OK: return "the dump returned no bytes for it";
      case KDUMP_ERR_NODATA: return "not in the dump (filtered out, or never saved)";
      case KDUMP_ERR_CORRUPT: return fmt::format("the dump's data for this page is corrupt ({})", kdump_get_err(ctx_));
      default: return fmt::format("the dump's page cannot be read ({})", kdump_get_err(ctx_));
    }
  }
  kdump_ctx_t* ctx_;
  int fd_;
  std::vector<PhysRange> ranges_;
};

// The diskdump header's fixed fields (makedumpfile's diskdump_mod.h, x86-64 layout).
constexpr size_t kHeaderVersion = 8, kBlockSize = 428, kSubHeaderSize = 432, kBitmapBlocks = 436, kMaxMapnr = 440,
                 kHeaderBytes = 464;
constexpr size_t kSubMaxMapnr64 = 96;
constexpr size_t kUtsMachine = 12 + 4 * 65;  // new_utsname: sysname, nodename, release, version, machine
constexpr size_t kSubNoteOffset = 48, kSubNoteSize = 56;

// libkdumpfile sizes its bitmaps and tables from the header: check the header against the
// file first, so that a corrupt one is an error here and never a multi-gigabyte allocation.
tl::expected<void, std::string> check_header(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return tl::unexpected(std::string(std::strerror(errno)));
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  std::byte h[kHeaderBytes];
  if (pread(fd, h, sizeof h, 0) != static_cast<ssize_t>(sizeof h)) return tl::unexpected(std::string("header is cut short"));
  const int32_t version = load<int32_t>(h + kHeaderVersion);
  const int32_t block = load<int32_t>(h + kBlockSize);
  const int32_t sub_blocks = load<int32_t>(h + kSubHeaderSize);
  const uint32_t bitmap_blocks = load<uint32_t>(h + kBitmapBlocks);
  const uint32_t max_mapnr = load<uint32_t>(h + kMaxMapnr);
  if (version < 1 || version > 64) return tl::unexpected(fmt::format("header version {} is not plausible", version));
  if (block < 512 || block > (1 << 20) || (block & (block - 1)))
    return tl::unexpected(fmt::format("block size {} is not a power of two in 512..1 MiB", block));
  const uint64_t bitmap_bytes = uint64_t{bitmap_blocks} * static_cast<uint64_t>(block);
  if (sub_blocks < 0 || bitmap_bytes == 0 ||
      static_cast<uint64_t>(1 + sub_blocks) * static_cast<uint64_t>(block) + bitmap_bytes > file_size)
    return tl::unexpected(std::string("header describes bitmaps beyond the end of the file (truncated or corrupt)"));
  uint64_t pages = max_mapnr;
  if (version >= 6) {  // 64-bit page count in the sub-header
    std::byte sub[kSubMaxMapnr64 + 8];
    if (pread(fd, sub, sizeof sub, block) != static_cast<ssize_t>(sizeof sub)) return tl::unexpected(std::string("sub-header is cut short"));
    pages = load<uint64_t>(sub + kSubMaxMapnr64);
  }
  // Two bitmaps of one bit per page fill the bitmap blocks.
  if (pages > bitmap_bytes / 2 * 8) return tl::unexpected(fmt::format("header claims {} pages, more than its bitmaps hold", pages));
  // The note area (header version 4 on) must lie in the file: libkdumpfile reads it
  // through a mapping and faults (SIGBUS) on what lies past the end.
  if (version >= 4) {
    std::byte sub[kSubNoteSize + 8];
    if (pread(fd, sub, sizeof sub, block) != static_cast<ssize_t>(sizeof sub)) return tl::unexpected(std::string("sub-header is cut short"));
    const uint64_t off = load<uint64_t>(sub + kSubNoteOffset), size = load<uint64_t>(sub + kSubNoteSize);
    if (size && (off > file_size || size > file_size - off))
      return tl::unexpected(fmt::format("header puts its notes at offset {} ({} bytes), past the end of the {}-byte file "
                                        "(truncated or corrupt)", off, size, file_size));
  }
  return {};
}

// CPU registers and VMCOREINFO come from the ELF notes the sub-header points at.
void read_header_notes(Image& image, int fd) {
  std::byte h[kHeaderBytes];
  if (pread(fd, h, sizeof h, 0) != static_cast<ssize_t>(sizeof h)) return;
  if (load<int32_t>(h + kHeaderVersion) < 4) return;  // notes arrived with header version 4
  const int32_t block = load<int32_t>(h + kBlockSize);
  if (block <= 0 || block > (1 << 20)) return;
  std::byte sub[64];
  if (pread(fd, sub, sizeof sub, block) != static_cast<ssize_t>(sizeof sub)) return;
  const int64_t off = load<int64_t>(sub + kSubNoteOffset);
  const uint64_t size = load<uint64_t>(sub + kSubNoteSize);
  if (off <= 0 || size == 0 || size > (16u << 20)) return;
  std::vector<std::byte> notes(size);
  if (pread(fd, notes.data(), size, off) != static_cast<ssize_t>(size)) return;
  const std::string_view machine(reinterpret_cast<const char*>(h + kUtsMachine), strnlen(reinterpret_cast<const char*>(h + kUtsMachine), 65));
  CoreNotes parsed;
  parse_core_notes(parsed, notes, machine == "x86_64");
  image.take_notes(std::move(parsed));
}

}  // namespace

tl::expected<void, std::string> parse_kdump(Image& image) {
  const auto bytes = image.file.bytes();
  int fd = -1;
  if (is_makedumpfile_flattened(bytes)) {
    fd = memfd_create("kdump-rearranged", MFD_CLOEXEC);
    if (fd < 0) return tl::unexpected(fmt::format("{}: cannot create a memory file: {}", image.path, std::strerror(errno)));
    if (auto r = unflatten(bytes, fd); !r) {
      close(fd);
      return tl::unexpected(fmt::format("{}: {}", image.path, r.error()));
    }
  } else {
    fd = dup(image.file.fd());
    if (fd < 0) return tl::unexpected(fmt::format("{}: {}", image.path, std::strerror(errno)));
  }
  if (auto ok = check_header(fd); !ok) {
    close(fd);
    return tl::unexpected(fmt::format("{}: not a readable kdump-compressed dump: {}", image.path, ok.error()));
  }
  kdump_ctx_t* ctx = kdump_new();
  if (!ctx) {
    close(fd);
    return tl::unexpected(std::string("libkdumpfile: out of memory"));
  }
  if (kdump_open_fd(ctx, fd) != KDUMP_OK) {
    std::string why = kdump_get_err(ctx);
    kdump_free(ctx);
    close(fd);
    return tl::unexpected(fmt::format("{}: not a readable kdump-compressed dump ({})", image.path, why));
  }
  // Which frames the dump holds: libkdumpfile's page bitmap, as runs.
  std::vector<PhysRange> ranges;
  kdump_attr_t attr;
  kdump_num_t page_size = 4096;
  if (kdump_get_attr(ctx, KDUMP_ATTR_PAGE_SIZE, &attr) == KDUMP_OK && attr.type == KDUMP_NUMBER) page_size = attr.val.number;
  if (kdump_get_attr(ctx, KDUMP_ATTR_MEMORY_PAGEMAP, &attr) == KDUMP_OK && attr.type == KDUMP_BITMAP) {
    kdump_addr_t pfn = 0;
    while (kdump_bmp_find_set(attr.val.bitmap, &pfn) == KDUMP_OK) {
      kdump_addr_t end = pfn;
      if (kdump_bmp_find_clear(attr.val.bitmap, &end) != KDUMP_OK || end <= pfn) break;
      ranges.push_back({PhysAddr(pfn * page_size), (end - pfn) * page_size});
      pfn = end;
    }
  }
  const char* format = nullptr;
  kdump_get_string_attr(ctx, KDUMP_ATTR_FILE_FORMAT, &format);
  image.format = fmt::format("kdump-compressed ({}{})", format ? format : "diskdump",
                             is_makedumpfile_flattened(bytes) ? ", flattened" : "");
  read_header_notes(image, fd);
  image.memory = std::make_unique<KdumpMemory>(ctx, fd, std::move(ranges));
  return {};
}
#else
tl::expected<void, std::string> parse_kdump(Image& image) {
  return tl::unexpected(fmt::format("{}: this pagewalk was built without libkdumpfile: kdump-compressed dumps "
                                    "cannot be read (convert with makedumpfile to ELF, or use a dynamic build)",
                                    image.path));
}
#endif

}  // namespace pagewalk
