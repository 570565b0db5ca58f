// A file's path from the kernel's own structures, as d_path writes it (fs/d_path.c): its
// dentry's names up to the mount's root, then the mount's mountpoint in its parent, up to
// the namespace's root.
#pragma once

#include <cstdint>
#include <string>

#include <tl/expected.hpp>

#include "core/virtual_memory.hpp"
#include "linux/btf_layout.hpp"

namespace pagewalk::linux_kernel {

// The path of (vfsmount, dentry): a struct path.
[[nodiscard]] tl::expected<std::string, std::string> dentry_path(VirtualMemory& vm, const TaskLayout& l,
                                                                 uint64_t vfsmount, uint64_t dentry);
// A struct file's path (f_path).
[[nodiscard]] tl::expected<std::string, std::string> file_path(VirtualMemory& vm, const TaskLayout& l, uint64_t file);
// An inode's path, when nothing says through which mount it was reached (a page cache
// page's mapping->host): its first dentry (i_dentry) through the first mount of its
// filesystem (i_sb->s_mounts).
[[nodiscard]] tl::expected<std::string, std::string> inode_path(VirtualMemory& vm, const TaskLayout& l, uint64_t inode);

}  // namespace pagewalk::linux_kernel
