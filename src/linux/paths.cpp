#include "linux/paths.hpp"

#include <vector>

#include <fmt/format.h>

#include "linux/tasks.hpp"

namespace pagewalk::linux_kernel {
namespace {

// A path deeper than this is a loop in the dentries (PATH_MAX is 4096 bytes).
constexpr unsigned kMaxDepth = 4096;


}  // namespace

tl::expected<std::string, std::string> dentry_path(VirtualMemory& vm, const TaskLayout& l, uint64_t vfsmount,
                                                   uint64_t dentry) {
  if (!l.dentry_parent || !l.dentry_name || !l.dentry_len || !l.mount_mnt || !l.mount_parent || !l.mount_mountpoint ||
      !l.vfsmount_root)
    return tl::unexpected(std::string("the kernel's types lack the dentry and mount members"));
  uint64_t mount = vfsmount - *l.mount_mnt;  // container_of(mnt, struct mount, mnt)
  uint64_t d = dentry;
  std::vector<std::string> parts;
  for (unsigned steps = 0; steps < kMaxDepth; ++steps) {
    auto root = read_ulong(vm, mount + *l.mount_mnt + *l.vfsmount_root, "mnt_root");
    auto parent = read_ulong(vm, d + *l.dentry_parent, "d_parent");
    if (!root) return tl::unexpected(root.error());
    if (!parent) return tl::unexpected(parent.error());
    if (d == *root || d == *parent) {
      auto up = read_ulong(vm, mount + *l.mount_parent, "mnt_parent");
      if (!up) return tl::unexpected(up.error());
      if (d != *root || *up == mount) {  // the namespace's root (or a dentry cut loose from it)
        std::string path;
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) path += '/' + *it;
        return path.empty() ? std::string("/") : path;
      }
      auto point = read_ulong(vm, mount + *l.mount_mountpoint, "mnt_mountpoint");
      if (!point) return tl::unexpected(point.error());
      d = *point;
      mount = *up;
      continue;
    }
    auto len = vm.value<uint32_t>(VirtAddr(d + *l.dentry_len));
    auto name = read_ulong(vm, d + *l.dentry_name, "d_name.name");
    if (!len || !name || *len == 0 || *len > 255) return tl::unexpected(fmt::format("dentry 0x{:x} has no readable name", d));
    std::string text(*len, '\0');
    if (!vm.read(VirtAddr(*name), std::as_writable_bytes(std::span(text.data(), text.size()))))
      return tl::unexpected(fmt::format("dentry 0x{:x}'s name cannot be read", d));
    parts.push_back(escaped(text));
    d = *parent;
  }
  return tl::unexpected(fmt::format("the path is deeper than {} dentries (a loop)", kMaxDepth));
}

tl::expected<std::string, std::string> file_path(VirtualMemory& vm, const TaskLayout& l, uint64_t file) {
  if (!l.file_mnt || !l.file_dentry) return tl::unexpected(std::string("the kernel's types lack struct file's f_path"));
  auto mnt = read_ulong(vm, file + *l.file_mnt, "f_path.mnt");
  if (!mnt) return tl::unexpected(mnt.error());
  auto dentry = read_ulong(vm, file + *l.file_dentry, "f_path.dentry");
  if (!dentry) return tl::unexpected(dentry.error());
  return dentry_path(vm, l, *mnt, *dentry);
}

tl::expected<std::string, std::string> inode_path(VirtualMemory& vm, const TaskLayout& l, uint64_t inode) {
  if (!l.inode_dentry || !l.dentry_alias || !l.inode_sb || !l.sb_mounts || !l.mount_instance)
    return tl::unexpected(std::string("the kernel's types lack i_dentry, d_u.d_alias, s_mounts or mnt_instance"));
  auto first = read_ulong(vm, inode + *l.inode_dentry, "i_dentry");
  if (!first) return tl::unexpected(first.error());
  if (!*first) return tl::unexpected(std::string("the inode has no dentry (deleted, or never looked up)"));
  auto sb = read_ulong(vm, inode + *l.inode_sb, "i_sb");
  if (!sb) return tl::unexpected(sb.error());
  auto mount_link = read_ulong(vm, *sb + *l.sb_mounts, "s_mounts");
  if (!mount_link) return tl::unexpected(mount_link.error());
  if (*mount_link == *sb + *l.sb_mounts) return tl::unexpected(std::string("the inode's filesystem is not mounted"));
  // container_of(i_dentry.first, struct dentry, d_u.d_alias); of the mount, mnt_instance.
  const uint64_t mount = *mount_link - *l.mount_instance;
  return dentry_path(vm, l, mount + *l.mount_mnt, *first - *l.dentry_alias);
}

}  // namespace pagewalk::linux_kernel
