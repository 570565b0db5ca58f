#include "linux/vmas.hpp"

#include "linux/paths.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_set>

#include <fmt/format.h>

namespace pagewalk::linux_kernel {
namespace {

// include/linux/maple_tree.h and lib/maple_tree.c (Linux 6.1): a node is 256 bytes of
// unsigned longs (parent, pivots, slots); an encoded node pointer keeps the node type in
// bits 3..6 (mt_mk_node), and the root's is besides an XArray internal entry (low bits 10,
// mte_mk_root). Slots per node: MAPLE_RANGE64_SLOTS 16 and MAPLE_ARANGE64_SLOTS 10 on
// 64-bit, 32 and 21 on 32-bit.
constexpr uint64_t kMapleNodeMask = 0xff, kMapleNodeSize = 256;
enum MapleType : unsigned { kMapleDense = 0, kMapleLeaf64 = 1, kMapleRange64 = 2, kMapleArange64 = 3 };
struct MapleSlots {
  unsigned range64, arange64;
};
constexpr MapleSlots kMapleSlots64{16, 10}, kMapleSlots32{32, 21};
constexpr unsigned kMapleHeightMax = 31;
// An XArray internal entry (xa_is_internal): a node when above 4096 (xa_is_node), a
// reserved value such as XA_ZERO_ENTRY below.
bool is_internal(uint64_t e) { return (e & 3) == 2; }
bool is_node(uint64_t e) { return is_internal(e) && e > 4096; }

// MAJOR/MINOR of the kernel's dev_t (include/linux/kdev_t.h: MINORBITS 20).
constexpr unsigned kMinorBits = 20;

// The vsyscall page's mode (arch/x86/entry/vsyscall/vsyscall_64.c: EMULATE, XONLY, NONE).
constexpr uint32_t kVsyscallNone = 2;

class VmaReader {
 public:
  VmaReader(LinuxKernel& k, const TaskLayout& l, size_t max_vmas)
      : k_(k), vm_(k.memory()), l_(l), max_(max_vmas), word_bytes_(k.paging.mode->word_bits / 8) {}

  tl::expected<uint64_t, std::string> u64(uint64_t va, const char* what) { return read_ulong(vm_, va, what); }

  void walk_maple(uint64_t entry, uint64_t min, uint64_t max, unsigned depth) {
    if (out_.size() >= max_) return;
    if (depth > kMapleHeightMax) {
      warn("the maple tree is deeper than any the kernel builds: the rest is skipped");
      return;
    }
    const uint64_t node = entry & ~kMapleNodeMask;
    const unsigned type = (entry >> 3) & 0xf;
    if (!seen_nodes_.insert(node).second) {
      warn(fmt::format("maple node 0x{:x} is reached twice (a loop): skipped", node));
      return;
    }
    if (type != kMapleLeaf64 && type != kMapleRange64 && type != kMapleArange64) {
      warn(fmt::format("maple node 0x{:x} has type {}, which an mm's tree never holds: skipped", node, type));
      return;
    }
    std::array<std::byte, kMapleNodeSize> bytes{};
    if (auto r = vm_.read(VirtAddr(node), bytes); !r) {
      warn(fmt::format("maple node 0x{:x} cannot be read: {}", node, r.error().reason));
      return;
    }
    auto w = [&](unsigned i) -> uint64_t {  // the node's i-th unsigned long
      if (word_bytes_ == 4) {
        uint32_t v;
        std::memcpy(&v, bytes.data() + 4 * i, 4);
        return v;
      }
      uint64_t v;
      std::memcpy(&v, bytes.data() + 8 * i, 8);
      return v;
    };
    const MapleSlots counts = word_bytes_ == 4 ? kMapleSlots32 : kMapleSlots64;
    const bool arange = type == kMapleArange64;
    const unsigned slots = arange ? counts.arange64 : counts.range64;
    const unsigned slot0 = 1 + (slots - 1);  // after the parent and the pivots, in words
    uint64_t lo = min;
    for (unsigned i = 0; i < slots; ++i) {
      uint64_t pivot = i + 1 < slots ? w(1 + i) : max;
      if (i > 0 && pivot == 0) break;  // the pivots end where the data does
      if (pivot > max || pivot < lo) pivot = max;  // corrupt: clamp to the node's own range
      const uint64_t slot = w(slot0 + i);
      if (slot) {
        if (type == kMapleLeaf64) {
          if (!is_internal(slot)) add_vma(slot);
        } else {
          walk_maple(slot, lo, pivot, depth + 1);  // a child: mt_mk_node's node | type << 3 | 4
        }
      }
      if (pivot >= max) break;
      lo = pivot + 1;
    }
  }

  void walk_list(uint64_t first) {
    std::unordered_set<uint64_t> seen;
    for (uint64_t v = first; v && out_.size() < max_;) {
      if (!seen.insert(v).second) {
        warn(fmt::format("the VMA list loops at 0x{:x}", v));
        return;
      }
      add_vma(v);
      auto next = u64(v + *l_.vma_next, "vm_next");
      if (!next) {
        warn(next.error());
        return;
      }
      v = *next;
    }
  }

  void add_vma(uint64_t v) {
    if (!seen_vmas_.insert(v).second) return;
    auto start = u64(v + *l_.vma_start, "vm_start"), end = u64(v + *l_.vma_end, "vm_end");
    auto flags = u64(v + *l_.vma_flags, "vm_flags"), pgoff = u64(v + *l_.vma_pgoff, "vm_pgoff");
    auto file = u64(v + *l_.vma_file, "vm_file");
    if (!start || !end || !flags || !pgoff || !file) {
      warn(fmt::format("vm_area_struct 0x{:x} cannot be read", v));
      return;
    }
    if (*start >= *end || (*start & 0xfff) || (*end & 0xfff)) {
      warn(fmt::format("vm_area_struct 0x{:x} has no plausible range (0x{:x}-0x{:x}): skipped", v, *start, *end));
      return;
    }
    Vma m;
    m.vma = v;
    m.start = *start;
    m.end = *end;
    m.flags = *flags;
    if (*file) {
      m.offset = *pgoff << 12;
      file_facts(*file, m);
    } else {
      m.name = anonymous_name(v, m);
    }
    out_.push_back(std::move(m));
  }

  // The device, inode and path of a mapped file (show_map_vma's file branch, d_path).
  void file_facts(uint64_t file, Vma& m) {
    if (l_.file_inode && l_.inode_ino && l_.inode_sb && l_.sb_dev)
      if (auto inode = u64(file + *l_.file_inode, "f_inode"); inode && *inode) {
        if (auto ino = u64(*inode + *l_.inode_ino, "i_ino")) m.inode = *ino;
        if (auto sb = u64(*inode + *l_.inode_sb, "i_sb"); sb && *sb)
          if (auto dev = vm_.value<uint32_t>(VirtAddr(*sb + *l_.sb_dev))) {
            m.major = *dev >> kMinorBits;
            m.minor = *dev & ((1u << kMinorBits) - 1);
          }
      }
    auto path = file_path(vm_, l_, file);
    m.name = path ? *path : fmt::format("(path unknown: {})", path.error());
  }

  // show_map_vma's names for a VMA without a file, in its order.
  std::string anonymous_name(uint64_t v, const Vma& m) {
    // vm_ops->name: special mappings ([vdso], [vvar], [uprobes]) name themselves through
    // vm_private_data, a struct vm_special_mapping whose first member is the name.
    if (l_.vma_ops && l_.vma_private)
      if (auto ops = u64(v + *l_.vma_ops, "vm_ops"); ops && *ops && (!special_ops_ || *ops == *special_ops_))
        if (auto sm = u64(v + *l_.vma_private, "vm_private_data"); sm && *sm)
          if (auto name_ptr = u64(*sm, "vm_special_mapping.name"); name_ptr && *name_ptr)
            if (auto name = vm_.c_string(VirtAddr(*name_ptr), 32)) {
              // Without the symbol (a kallsyms of text only), the ops in the image's own
              // data whose name is bracketed, as every special mapping's is ("[vdso]"),
              // are taken for special_mapping_vmops.
              if (!special_ops_) {
                const bool in_image = k_.image_start && k_.image_end && *ops >= k_.image_start->value &&
                                      *ops < k_.image_end->value;
                if (!in_image || name->size() < 3 || name->front() != '[' || name->back() != ']') return fallback(v, m);
                special_ops_ = *ops;
              }
              return escaped(*name);
            }
    return fallback(v, m);
  }

  // The names of what is no special mapping: the heap, the stack, a named anonymous VMA.
  std::string fallback(uint64_t v, const Vma& m) {
    if (brk_ && start_brk_ && m.start <= *brk_ && m.end >= *start_brk_) return "[heap]";
    if (start_stack_ && m.start <= *start_stack_ && m.end >= *start_stack_) return "[stack]";
    if (l_.vma_anon_name && l_.anon_vma_name_name)
      if (auto an = u64(v + *l_.vma_anon_name, "anon_name"); an && *an)
        if (auto name = vm_.c_string(VirtAddr(*an + *l_.anon_vma_name_name), 80)) return "[anon:" + escaped(*name) + "]";
    return "";
  }

  void set_mm(uint64_t mm) {
    auto opt = [&](const std::optional<uint64_t>& off) -> std::optional<uint64_t> {
      if (!off) return std::nullopt;
      auto v = vm_.word(VirtAddr(mm + *off));
      return v ? std::optional<uint64_t>(*v) : std::nullopt;
    };
    brk_ = opt(l_.mm_brk);
    start_brk_ = opt(l_.mm_start_brk);
    start_stack_ = opt(l_.mm_start_stack);
    special_ops_ = k_.symbol("special_mapping_vmops");
  }

  // The gate VMA (x86-64's vsyscall page) that maps appends after the mm's own.
  void add_gate() {
    const auto gate = k_.symbol("gate_vma"), mode = k_.symbol("vsyscall_mode");
    if (!gate || !mode) return;
    auto m = vm_.value<uint32_t>(VirtAddr(*mode));
    auto start = u64(*gate + *l_.vma_start, "gate_vma.vm_start"), end = u64(*gate + *l_.vma_end, "gate_vma.vm_end");
    auto flags = u64(*gate + *l_.vma_flags, "gate_vma.vm_flags");
    if (!m || *m == kVsyscallNone || !start || !end || !flags || *start >= *end) return;
    Vma g;
    g.start = *start;
    g.end = *end;
    g.flags = *flags;
    g.name = "[vsyscall]";
    out_.push_back(std::move(g));
  }

  // ULONG_MAX, the maple tree's last index.
  [[nodiscard]] uint64_t ulong_max() const { return word_bytes_ == 4 ? 0xffffffffu : ~uint64_t{0}; }

  void warn(std::string w) {
    if (warnings_.size() < 32) warnings_.push_back(std::move(w));
  }

  std::vector<Vma> out_;
  std::vector<std::string> warnings_;

 private:
  LinuxKernel& k_;
  VirtualMemory& vm_;
  const TaskLayout& l_;
  size_t max_;
  unsigned word_bytes_;
  std::unordered_set<uint64_t> seen_nodes_, seen_vmas_;
  std::optional<uint64_t> brk_, start_brk_, start_stack_, special_ops_;
};

}  // namespace

std::string Vma::perms() const {
  std::string p = "----";
  if (flags & kVmRead) p[0] = 'r';
  if (flags & kVmWrite) p[1] = 'w';
  if (flags & kVmExec) p[2] = 'x';
  p[3] = (flags & kVmMayShare) ? 's' : 'p';
  return p;
}

tl::expected<VmaList, std::string> list_vmas(LinuxKernel& kernel, const TaskLayout& l, const Task& task,
                                             size_t max_vmas) {
  if (!task.mm) return tl::unexpected(fmt::format("pid {} ({}) is a kernel thread: it has no mm and no VMAs", task.pid, task.comm));
  const bool maple = l.mm_mt && l.mt_root;
  if (!maple && !(l.mm_mmap && l.vma_next))
    return tl::unexpected(std::string("the kernel's types have neither mm_struct.mm_mt (6.1+) nor mm_struct.mmap"));
  if (!l.vma_start || !l.vma_end || !l.vma_flags || !l.vma_pgoff || !l.vma_file)
    return tl::unexpected(std::string("the kernel's types lack vm_area_struct's vm_start/vm_end/vm_flags/vm_pgoff/vm_file"));
  VmaReader r(kernel, l, max_vmas);
  r.set_mm(task.mm);
  VmaList out;
  if (maple) {
    out.source = "the maple tree mm->mm_mt";
    auto root = r.u64(task.mm + *l.mm_mt + *l.mt_root, "mm_mt.ma_root");
    if (!root) return tl::unexpected(root.error());
    if (is_node(*root)) r.walk_maple(*root, 0, r.ulong_max(), 0);
    else if (*root && !is_internal(*root)) r.add_vma(*root);  // a tree of one entry keeps it in the root
  } else {
    out.source = "the list mm->mmap";
    auto first = r.u64(task.mm + *l.mm_mmap, "mm->mmap");
    if (!first) return tl::unexpected(first.error());
    r.walk_list(*first);
  }
  std::sort(r.out_.begin(), r.out_.end(), [](const Vma& a, const Vma& b) { return a.start < b.start; });
  for (size_t i = 1; i < r.out_.size(); ++i)
    if (r.out_[i].start < r.out_[i - 1].end)
      r.warn(fmt::format("VMAs 0x{:x}-0x{:x} and 0x{:x}-0x{:x} overlap: the tree is inconsistent", r.out_[i - 1].start,
                         r.out_[i - 1].end, r.out_[i].start, r.out_[i].end));
  if (r.out_.size() >= max_vmas) r.warn(fmt::format("stopped after {} VMAs", max_vmas));
  r.add_gate();
  out.vmas = std::move(r.out_);
  out.warnings = std::move(r.warnings_);
  return out;
}

}  // namespace pagewalk::linux_kernel
