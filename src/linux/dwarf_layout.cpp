// Structure offsets from a vmlinux's DWARF (a debug build or linux-image-*-dbg), through
// elfutils' libdw: the fallback for kernels built without BTF.
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "sources/input_file.hpp"

#include "linux/btf_layout.hpp"

namespace pagewalk::linux_kernel {
namespace {

// Follows typedefs and qualifiers to the type a member really has.
bool resolve_type(Dwarf_Die* die, Dwarf_Die* out) {
  Dwarf_Attribute a;
  Dwarf_Die cur = *die;
  for (int depth = 0; depth < 16; ++depth) {
    if (!dwarf_attr_integrate(&cur, DW_AT_type, &a) || !dwarf_formref_die(&a, out)) return false;
    const int tag = dwarf_tag(out);
    if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type) return true;
    cur = *out;
  }
  return false;
}

std::optional<uint64_t> one_member_offset(Dwarf_Die* composite, std::string_view name, Dwarf_Die* type_out,
                                          int depth = 0) {
  if (depth > 8) return std::nullopt;
  Dwarf_Die m;
  if (dwarf_child(composite, &m) != 0) return std::nullopt;
  do {
    if (dwarf_tag(&m) != DW_TAG_member) continue;
    Dwarf_Word off = 0;
    Dwarf_Attribute a;
    if (dwarf_attr_integrate(&m, DW_AT_data_member_location, &a)) dwarf_formudata(&a, &off);
    const char* n = dwarf_diename(&m);
    if (n && *n) {
      if (name != n) continue;
      if (type_out && !resolve_type(&m, type_out)) return std::nullopt;
      return off;
    }
    Dwarf_Die t;  // an anonymous struct or union: look inside, as C does
    if (resolve_type(&m, &t) && (dwarf_tag(&t) == DW_TAG_structure_type || dwarf_tag(&t) == DW_TAG_union_type))
      if (auto inner = one_member_offset(&t, name, type_out, depth + 1)) return off + *inner;
  } while (dwarf_siblingof(&m, &m) == 0);
  return std::nullopt;
}

// Every enumerator of an enumeration type `e` names.
void read_enum(Dwarf_Die* type, TaskLayout& l, const EnumNames& e) {
  Dwarf_Die v;
  if (dwarf_child(type, &v) != 0) return;
  do {
    Dwarf_Attribute a;
    Dwarf_Sword value = 0;
    const char* name = dwarf_diename(&v);
    if (dwarf_tag(&v) == DW_TAG_enumerator && name && dwarf_attr(&v, DW_AT_const_value, &a) &&
        dwarf_formsdata(&a, &value) == 0)
      put_enum_name(l, e, name, value);
  } while (dwarf_siblingof(&v, &v) == 0);
}

// "a.b.c": a member of a member of a member.
std::optional<uint64_t> member_offset(Dwarf_Die* composite, std::string_view path) {
  uint64_t offset = 0;
  Dwarf_Die cur = *composite;
  while (true) {
    const size_t dot = path.find('.');
    Dwarf_Die type;
    auto off = one_member_offset(&cur, path.substr(0, dot), dot == std::string_view::npos ? nullptr : &type);
    if (!off) return std::nullopt;
    offset += *off;
    if (dot == std::string_view::npos) return offset;
    cur = type;
    path.remove_prefix(dot + 1);
  }
}

}  // namespace

tl::expected<TaskLayout, std::string> task_layout_from_dwarf(const std::string& path) {
  auto opened = open_input(path);
  if (!opened) return tl::unexpected(opened.error());
  const int fd = *opened;
  Dwarf* dw = dwarf_begin(fd, DWARF_C_READ);
  if (!dw) {
    close(fd);
    return tl::unexpected(fmt::format("{}: no DWARF debug information ({})", path, dwarf_errmsg(-1)));
  }
  // The first complete definition of each structure we need, from the top level of any CU.
  std::map<std::string, Dwarf_Die, std::less<>> found;
  std::vector<const char*> wanted;
  auto want = [&](const char* type) {
    if (std::none_of(wanted.begin(), wanted.end(), [&](const char* w) { return std::strcmp(w, type) == 0; }))
      wanted.push_back(type);
  };
  for (const TaskMember& w : kTaskMembers) want(w.type);
  for (const OptionalTaskMember& w : kOptionalTaskMembers) want(w.type);
  for (const TypeSize& w : kTypeSizes) want(w.type);
  want("zonelist");
  // The enums, likewise: their first definition with enumerators.
  std::map<std::string, Dwarf_Die, std::less<>> enums;
  const size_t wanted_enums = std::size(kEnumNames);
  Dwarf_Off off = 0, next = 0;
  size_t header = 0;
  while ((found.size() < wanted.size() || enums.size() < wanted_enums) &&
         dwarf_nextcu(dw, off, &next, &header, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu, die;
    if (dwarf_offdie(dw, off + header, &cu) && dwarf_child(&cu, &die) == 0) {
      do {
        const int tag = dwarf_tag(&die);
        if ((tag != DW_TAG_structure_type && tag != DW_TAG_enumeration_type) || dwarf_hasattr(&die, DW_AT_declaration))
          continue;
        const char* n = dwarf_diename(&die);
        if (!n) continue;
        if (tag == DW_TAG_enumeration_type) {
          for (const EnumNames& e : kEnumNames)
            if (std::strcmp(n, e.type) == 0 && !enums.count(e.type)) enums.emplace(e.type, die);
          continue;
        }
        for (const char* w : wanted)
          if (std::strcmp(n, w) == 0 && !found.count(w)) found.emplace(w, die);
      } while (dwarf_siblingof(&die, &die) == 0);
    }
    off = next;
  }
  auto finish = [&](tl::expected<TaskLayout, std::string> r) {
    dwarf_end(dw);
    close(fd);
    return r;
  };
  if (!found.count("task_struct") || !found.count("mm_struct"))
    return finish(tl::unexpected(fmt::format("{}: its DWARF defines no struct task_struct / mm_struct", path)));
  TaskLayout l;
  for (const TaskMember& w : kTaskMembers) {
    auto v = member_offset(&found.at(w.type), w.member);
    if (!v) return finish(tl::unexpected(fmt::format("{}: DWARF: {} has no member {}", path, w.type, w.member)));
    l.*w.field = *v;
  }
  for (const OptionalTaskMember& w : kOptionalTaskMembers)
    if (!(l.*w.field) && found.count(w.type)) l.*w.field = member_offset(&found.at(w.type), w.member);
  for (const TypeSize& w : kTypeSizes)
    if (found.count(w.type))
      if (const int size = dwarf_bytesize(&found.at(w.type)); size > 0) l.*w.field = static_cast<uint64_t>(size);
  for (const EnumNames& e : kEnumNames)
    if (auto it = enums.find(e.type); it != enums.end()) read_enum(&it->second, l, e);
  if (auto zl = found.find("zonelist"); zl != found.end()) {
    Dwarf_Die array, element;
    Dwarf_Word total = 0, each = 0;
    if (one_member_offset(&zl->second, "_zonerefs", &array) && dwarf_tag(&array) == DW_TAG_array_type &&
        resolve_type(&array, &element) && dwarf_aggregate_size(&array, &total) == 0 &&
        dwarf_aggregate_size(&element, &each) == 0 && each > 0)
      set_max_numnodes(l, total / each);
  }
  l.source = path + " (DWARF)";
  return finish(l);
}

}  // namespace pagewalk::linux_kernel
