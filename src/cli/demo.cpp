#include "cli/demo.hpp"

#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "arch/x86/x86_entry.hpp"
#include "cli/errors.hpp"
#include "cli/render.hpp"

namespace pagewalk::cli {
namespace {

// Bits as Linux sets them: _PAGE_TABLE = P|RW|US|A|D (0x67), kernel pages add G (0x163 = P|RW|A|D|G).
constexpr uint64_t kUserData = 0x067;
constexpr uint64_t kKernelTable = 0x063;  // _KERNPG_TABLE: no US
constexpr uint64_t kNX = uint64_t{1} << 63;
constexpr uint64_t kKernelData = 0x163;
constexpr uint64_t kKernelText = 0x161;  // P|A|D|G, read-only, executable

void put(SyntheticMemory& m, uint64_t pa, uint64_t v) { m.write_u64(PhysAddr(pa), v); }

}  // namespace

std::unique_ptr<DemoMachine> build_demo_machine() {
  auto machine = std::make_unique<DemoMachine>();
  SyntheticMemory& mem = machine->memory;
  const PagingMode& mode = kX86_64_4Level;

  // Process 214 of the QEMU article: its PGD at PA 0x68c8000 and the four entries the
  // article read by hand for VA 0x5614df8812a0 (indexes 0xac, 0x53, 0xfc, 0x81).
  put(mem, 0x68c8000 + 0xac * 8, 0x8000000005847067);
  put(mem, 0x5847000 + 0x53 * 8, 0x00000000078c4067);
  put(mem, 0x78c4000 + 0xfc * 8, 0x0000000005bb3067);
  put(mem, 0x5bb3000 + 0x81 * 8, 0x8000000006565067);
  const char hello[] = "Hello mm paging!\n";
  mem.write(PhysAddr(0x65652a0), {reinterpret_cast<const std::byte*>(hello), sizeof hello});

  TableBuilder p214(mem, mode, PhysAddr(0x10000000), PhysAddr(0x68c8000));
  // The next heap page is swapped out (swap type 0, slot 0x1234); the one after is PROT_NONE.
  p214.set_entry(VirtAddr(0x5614df882000), 3, x86::encode_swap(mode, 0, 0x1234) | 0x2 /* soft-dirty */);
  p214.set_entry(VirtAddr(0x5614df883000), 3, x86::encode_protnone(mode, 0x6566000, 0x20 | kNX));
  // A transparent huge page: 2 MiB at VA 0x7f1b6d400000.
  p214.map(VirtAddr(0x7f1b6d400000), PhysAddr(0x40000000), uint64_t{2} << 20, kUserData | kNX);
  // The kernel half: the direct map (page_offset_base 0xffff888000000000) in 1 GiB pages,
  // so the PGD itself is reachable at 0xffff8880068c8000, and kernel text in 2 MiB pages.
  for (uint64_t gib = 0; gib < 4; ++gib)
    p214.map(VirtAddr(0xffff888000000000 + (gib << 30)), PhysAddr(gib << 30), uint64_t{1} << 30, kKernelData | kNX,
             kKernelTable);
  p214.map(VirtAddr(0xffffffff81000000), PhysAddr(0x1000000), uint64_t{2} << 20, kKernelText, kKernelTable);
  machine->spaces.push_back({"pid 214 (QEMU guest, last article)",
                             PhysAddr(0x68c8000),
                             {{VirtAddr(0x5614df8812a0), "malloc'd heap holding \"Hello mm paging!\""},
                              {VirtAddr(0x5614df882000), "heap page swapped out"},
                              {VirtAddr(0x5614df883000), "heap page mprotect'ed PROT_NONE"},
                              {VirtAddr(0x7f1b6d412345), "transparent huge page (2 MiB)"},
                              {VirtAddr(0xffff8880068c8000), "this process's PGD, seen through the direct map"},
                              {VirtAddr(0xffffffff81000000), "kernel text (2 MiB page)"},
                              {VirtAddr(0x0000800000000000), "non-canonical address"},
                              {VirtAddr(0x0000100000000000), "never mapped"}}});

  // pid 384052 of the first article: VA 0x5651b590c2a0 and the values its module printed.
  TableBuilder p384052(mem, mode, PhysAddr(0x20000000), PhysAddr(0x24800000));
  put(mem, 0x24800000 + 172 * 8, 0x8000000107cd4067);
  put(mem, 0x107cd4000 + 326 * 8, 0x0000000101a71067);
  put(mem, 0x101a71000 + 428 * 8, 0x0000000106b88067);
  put(mem, 0x106b88000 + 268 * 8, 0x80000001422c5867);
  machine->spaces.push_back({"pid 384052 (first article)",
                             PhysAddr(0x24800000),
                             {{VirtAddr(0x5651b590c2a0), "the article prints 0x80000001422c5000: NX kept in the PA"}}});

  // The kernel address of the second article: __get_free_page() at 0xffff9f95d83cd000.
  TableBuilder kernel(mem, mode, PhysAddr(0x30000000), PhysAddr(0x1b60a0000));
  put(mem, 0x1b60a0000 + 319 * 8, 0x0000000071001067);
  put(mem, 0x71001000 + 87 * 8, 0x00000001daf88063);
  put(mem, 0x1daf88000 + 193 * 8, 0x00000001d82f5063);
  put(mem, 0x1d82f5000 + 461 * 8, 0x80000001d83cd163);
  machine->spaces.push_back({"kernel, CR3 0x1b60a0000 (second article)",
                             PhysAddr(0x1b60a0000),
                             {{VirtAddr(0xffff9f95d83cd000), "__get_free_page(): pte 0x80000001d83cd163, G set"}}});
  return machine;
}

int run_demo(bool json) {
  auto machine = build_demo_machine();
  TableReader reader(machine->memory);
  Paging paging{&kX86_64_4Level, {}};
  std::string out;
  int status = kAllMapped;
  JsonWriter w(out);
  if (json) {
    w.record("demo");
    write_target(w, "synthetic", "demo", "synthetic (page tables built in memory)");
    w.key("mode").str(paging.mode->name).key("spaces").array();
  }
  for (const DemoSpace& space : machine->spaces) {
    if (json) {
      w.object().key("name").str(space.name).key("root").hex(space.root.value()).key("results").array();
    } else {
      out += fmt::format("=== {}: {} root (CR3) 0x{:x}\n\n", space.name, paging.mode->name, space.root.value());
    }
    for (const DemoAddress& a : space.addresses) {
      const Translation t = walk(paging, reader, space.root, a.va);
      if (!t.mapped()) status = kSomeUnmapped;
      if (json) {
        w.object();
        write_translation(w, paging, t);
        w.end();
      } else {
        out += fmt::format("# {}\n", a.what);
        append_trace(out, paging, t);
        if (t.mapped()) {
          char text[32]{};
          if (machine->memory.read(t.pa, {reinterpret_cast<std::byte*>(text), sizeof text - 1}) &&
              std::strncmp(text, "Hello", 5) == 0) {
            std::string shown(text, strnlen(text, sizeof text - 1));
            while (!shown.empty() && shown.back() == '\n') shown.pop_back();
            out += fmt::format("  memory at PA 0x{:x}: \"{}\"\n", t.pa.value(), shown);
          }
          const Step& leaf = t.last();
          if (leaf.raw >> 63) {
            out += fmt::format("  note: leaf & PAGE_MASK = 0x{:x} keeps NX (bit 63); the frame is bits 12..51: "
                               "0x{:x}\n",
                               leaf.raw & ~uint64_t{0xfff}, (t.pa - t.va.offset_in(t.page_size)).value());
          }
        }
        out += '\n';
      }
    }
    if (json) w.end().end();
  }
  if (json) w.end().end().newline();
  w.sync();
  std::fwrite(out.data(), 1, out.size(), stdout);
  // The demo shows unmapped cases on purpose; it succeeds when it ran.
  return status == kSomeUnmapped ? kAllMapped : status;
}

}  // namespace pagewalk::cli
