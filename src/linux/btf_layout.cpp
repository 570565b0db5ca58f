#include "linux/btf_layout.hpp"

#include <cstring>

#include <bpf/btf.h>
#include <fmt/format.h>

#include <memory>

#include "linux/kernel.hpp"

namespace pagewalk::linux_kernel {
namespace {

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};

struct MemberAt {
  uint64_t offset;
  int type;  // the member's type, typedefs and qualifiers resolved
};

// The byte offset of `member` in the struct or union `type_id`, looking through anonymous
// struct and union members the way C does.
std::optional<MemberAt> find_one_member(const btf* b, int type_id, std::string_view member, int depth = 0) {
  if (depth > 8) return std::nullopt;
  const btf_type* t = btf__type_by_id(b, static_cast<__u32>(type_id));
  if (!t || !btf_is_composite(t)) return std::nullopt;
  const btf_member* m = btf_members(t);
  for (unsigned i = 0; i < btf_vlen(t); ++i, ++m) {
    const uint32_t bits = btf_member_bit_offset(t, i);
    const char* name = btf__name_by_offset(b, m->name_off);
    const int type = btf__resolve_type(b, m->type);
    if (name && *name) {
      if (member == name) return MemberAt{bits / 8, type};
      continue;
    }
    if (type < 0) continue;
    if (auto inner = find_one_member(b, type, member, depth + 1)) return MemberAt{bits / 8 + inner->offset, inner->type};
  }
  return std::nullopt;
}

// "a.b.c": a member of a member of a member.
std::optional<uint64_t> find_member(const btf* b, int type_id, std::string_view path) {
  uint64_t offset = 0;
  while (true) {
    const size_t dot = path.find('.');
    auto m = find_one_member(b, type_id, path.substr(0, dot));
    if (!m) return std::nullopt;
    offset += m->offset;
    if (dot == std::string_view::npos) return offset;
    if (m->type < 0) return std::nullopt;
    type_id = m->type;
    path.remove_prefix(dot + 1);
  }
}

// Every enumerator of the enum `e` names.
void read_enum(const btf* b, TaskLayout& l, const EnumNames& e) {
  const int id = btf__find_by_name_kind(b, e.type, BTF_KIND_ENUM);
  if (id < 0) return;
  const btf_type* t = btf__type_by_id(b, static_cast<__u32>(id));
  const struct btf_enum* v = btf_enum(t);
  for (unsigned i = 0; i < btf_vlen(t); ++i, ++v)
    if (const char* name = btf__name_by_offset(b, v->name_off)) put_enum_name(l, e, name, v->val);
}

}  // namespace

tl::expected<TaskLayout, std::string> task_layout_from_btf(std::span<const std::byte> data) {
  if (data.size() < 24 || data.size() > (size_t{256} << 20)) return tl::unexpected(std::string("BTF data has an implausible size"));
  // The type section must start and run 4-byte aligned, as the kernel requires of BTF
  // (kernel/bpf/btf.c, "Unaligned type_off"): libbpf takes an unaligned one and its inline
  // accessors then read misaligned btf_type records.
  uint32_t hdr_len, type_off, type_len;
  std::memcpy(&hdr_len, data.data() + 4, 4);
  std::memcpy(&type_off, data.data() + 8, 4);
  std::memcpy(&type_len, data.data() + 12, 4);
  if (uint16_t magic; std::memcpy(&magic, data.data(), 2), magic != 0xeB9F)
    return tl::unexpected(fmt::format("not BTF data (magic 0x{:04x}, not 0xeb9f little-endian)", magic));
  if ((hdr_len | type_off | type_len) & 3)
    return tl::unexpected(fmt::format("corrupt BTF: header {} bytes, types at {} ({} bytes): not 4-byte aligned",
                                      hdr_len, type_off, type_len));
  std::unique_ptr<btf, BtfDeleter> b(btf__new(data.data(), static_cast<__u32>(data.size())));
  if (!b) return tl::unexpected(fmt::format("BTF does not parse ({})", std::strerror(errno)));
  auto struct_id = [&](const char* name) -> tl::expected<int, std::string> {
    const int id = btf__find_by_name_kind(b.get(), name, BTF_KIND_STRUCT);
    if (id < 0) return tl::unexpected(fmt::format("BTF has no struct {}", name));
    return id;
  };
  auto task = struct_id("task_struct");
  if (!task) return tl::unexpected(task.error());
  auto mm = struct_id("mm_struct");
  if (!mm) return tl::unexpected(mm.error());
  TaskLayout l;
  for (const TaskMember& w : kTaskMembers) {
    auto off = find_member(b.get(), std::string_view(w.type) == "mm_struct" ? *mm : *task, w.member);
    if (!off) return tl::unexpected(fmt::format("BTF: {} has no member {}", w.type, w.member));
    l.*w.field = *off;
  }
  for (const OptionalTaskMember& w : kOptionalTaskMembers) {
    if (l.*w.field) continue;
    if (auto id = struct_id(w.type)) l.*w.field = find_member(b.get(), *id, w.member);
  }
  for (const TypeSize& w : kTypeSizes)
    if (auto id = struct_id(w.type))
      if (const __s64 size = btf__resolve_size(b.get(), static_cast<__u32>(*id)); size > 0)
        l.*w.field = static_cast<uint64_t>(size);
  for (const EnumNames& e : kEnumNames) read_enum(b.get(), l, e);
  if (auto zl = struct_id("zonelist"))
    if (auto m = find_one_member(b.get(), *zl, "_zonerefs"); m && m->type >= 0) {
      const btf_type* t = btf__type_by_id(b.get(), static_cast<__u32>(m->type));
      if (t && btf_is_array(t)) set_max_numnodes(l, btf_array(t)->nelems);
    }
  l.source = "BTF";
  return l;
}

void put_enum_name(TaskLayout& l, const EnumNames& e, std::string_view name, int64_t value) {
  if (value < 0 || value >= e.limit || name.rfind("__", 0) == 0 || name == e.count_name) return;
  if (name.rfind(e.prefix, 0) == 0) name.remove_prefix(e.prefix.size());
  std::vector<std::string>& names = l.*e.field;
  const auto at = static_cast<size_t>(value);
  if (names.size() <= at) names.resize(at + 1);
  if (names[at].empty()) names[at] = std::string(name);
}

void set_max_numnodes(TaskLayout& l, uint64_t zonerefs) {
  const size_t zones = l.zone_names.size();
  if (zones && zonerefs > 1 && (zonerefs - 1) % zones == 0) l.max_numnodes = (zonerefs - 1) / zones;
}

namespace {

// The image's .BTF section by its header (include/uapi/linux/btf.h: magic 0xeB9F, version
// 1, a 24-byte header, types then strings): [start, stop), or none.
std::optional<std::pair<uint64_t, uint64_t>> find_btf_in_image(LinuxKernel& kernel) {
  std::optional<std::pair<uint64_t, uint64_t>> found;
  kernel.scan_image([&](uint64_t va, std::span<const std::byte> page) {
    for (size_t at = 0; at + sizeof(btf_header) <= page.size(); at += 4) {
      btf_header h;
      std::memcpy(&h, page.data() + at, sizeof h);
      if (h.magic != BTF_MAGIC || h.version != BTF_VERSION || h.flags != 0 || h.hdr_len != sizeof h ||
          h.type_off != 0 || h.str_off != h.type_len || h.str_len == 0)
        continue;
      found = std::pair{va + at, va + at + h.hdr_len + h.str_off + h.str_len};
      return true;
    }
    return false;
  });
  return found;
}

}  // namespace

tl::expected<std::vector<std::byte>, std::string> read_kernel_btf(LinuxKernel& kernel) {
  auto start = kernel.symbol("__start_BTF");
  auto stop = kernel.symbol("__stop_BTF");
  if (!start || !stop)
    if (auto found = find_btf_in_image(kernel)) start = found->first, stop = found->second;
  if (!start || !stop) {
    // Debian builds its i386 kernels without BTF and with text symbols only in kallsyms: the
    // types and init_task come from the kernel's DWARF.
    if (kernel.paging.mode->word_bits == 32)
      return tl::unexpected(fmt::format(
          "this 32-bit kernel has no BTF (CONFIG_DEBUG_INFO_BTF off) and kallsyms holds no init_task: give --vmlinux "
          "FILE, the kernel's DWARF (/usr/lib/debug/boot/vmlinux-{0} of Debian's linux-image-{0}-dbg): a BTF file "
          "would give the types but not init_task",
          kernel.release.empty() ? std::string("RELEASE") : kernel.release));
    return tl::unexpected(std::string("the kernel's symbols do not locate its BTF (__start_BTF/__stop_BTF; "
                                      "CONFIG_DEBUG_INFO_BTF off?): give --btf FILE"));
  }
  if (*stop <= *start || *stop - *start > (uint64_t{256} << 20))
    return tl::unexpected(fmt::format("__start_BTF 0x{:x} .. __stop_BTF 0x{:x} is not a plausible range", *start, *stop));
  std::vector<std::byte> data(*stop - *start);
  auto r = kernel.memory().read(VirtAddr(*start), data);
  if (!r) return tl::unexpected(fmt::format("the kernel's BTF at 0x{:x} is not readable: {}", r.error().va.value(), r.error().reason));
  return data;
}

}  // namespace pagewalk::linux_kernel
