#include "arch/arm64/arm64_modes.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "arch/arm64/arm64_arch.hpp"

namespace pagewalk::arm64 {
namespace {

// Linux's names for its levels, bottom up (arch/arm64/include/asm/pgtable-hwdef.h: with
// CONFIG_PGTABLE_LEVELS = n, the top is the pgd and the levels between fold from p4d down).
constexpr std::array<std::string_view, 5> kLinuxNames[] = {
    {}, {}, {"pgd", "pte"}, {"pgd", "pmd", "pte"}, {"pgd", "pud", "pmd", "pte"}, };
constexpr std::array<std::string_view, 5> kLinuxNames5 = {"pgd", "p4d", "pud", "pmd", "pte"};
constexpr std::string_view kHwNames[] = {"L-1", "L0", "L1", "L2", "L3"};

// Whether a block descriptor may sit at `number` (Arm ARM D8.3, the descriptor formats):
// 4 KiB: levels 1 and 2, and 0 with 52-bit OAs; 16 KiB: level 2, and 1 with 52-bit OAs;
// 64 KiB: level 2, and 1 with FEAT_LPA.
bool block_allowed(unsigned shift, int number, bool oa52) {
  if (shift == 12) return number == 1 || number == 2 || (oa52 && number == 0);
  return number == 2 || (oa52 && number == 1);
}

struct ModeStore {
  std::deque<std::string> names, descriptions;
  std::deque<std::vector<LevelDesc>> levels;
  std::deque<std::array<VaRegion, 2>> regions;
  std::deque<PagingMode> modes;
  std::vector<const PagingMode*> list;

  ModeStore() {
    for (const unsigned shift : {12u, 14u, 16u}) {
      for (unsigned va = 36; va <= 52; ++va) {
        const unsigned per_level = shift - 3, resolved = va - shift;
        const unsigned count = (resolved + per_level - 1) / per_level;
        const bool oa52 = va > 48;  // FEAT_LVA or FEAT_LPA2: 52-bit VAs come with 52-bit OAs
        std::vector<LevelDesc>& lv = levels.emplace_back();
        for (unsigned i = 0; i < count; ++i) {
          const int number = 4 - static_cast<int>(count) + static_cast<int>(i);
          const unsigned below = count - 1 - i;
          const unsigned bits = i == 0 ? resolved - below * per_level : per_level;
          const std::string_view linux_name = count == 5 ? kLinuxNames5[i] : kLinuxNames[count][i];
          lv.push_back({linux_name, kHwNames[number + 1], static_cast<uint8_t>(shift + below * per_level),
                        static_cast<uint8_t>(bits), i + 1 < count && block_allowed(shift, number, oa52)});
        }
        const uint64_t size = uint64_t{1} << va;
        // TTBR0 translates from 0 up, TTBR1 down from the top (D8.2.x, "VA ranges"): the
        // addresses between fault before any walk.
        regions.push_back({VaRegion{"TTBR0", 0, size - 1, 0}, VaRegion{"TTBR1", ~uint64_t{0} - (size - 1), ~uint64_t{0}, 1}});
        const unsigned kib = 1u << (shift - 10);
        names.push_back("arm64-" + std::to_string(kib) + "k-" + std::to_string(va));
        descriptions.push_back("AArch64 " + std::to_string(kib) + " KiB granule, " + std::to_string(va) + "-bit VA, " +
                               std::to_string(count) + " levels from " + std::string(kHwNames[5 - count]) +
                               (oa52 ? ", 52-bit OA" : ", 48-bit OA"));
        const uint32_t granule = shift == 12 ? kGranule4K : shift == 14 ? kGranule16K : kGranule64K;
        const uint32_t traits = granule | (oa52 ? uint32_t{kOa52} : 0u);
        modes.push_back(PagingMode{names.back(), descriptions.back(), &kArchitecture, 8, static_cast<uint8_t>(va),
                                   static_cast<uint8_t>(oa52 ? 52 : 48), 64, traits, lv, regions.back()});
        list.push_back(&modes.back());
      }
    }
  }
};

const ModeStore& store() {
  static const ModeStore s;
  return s;
}

}  // namespace

unsigned granule_shift(const PagingMode& mode) {
  return (mode.arch_traits & kGranule4K) ? 12 : (mode.arch_traits & kGranule16K) ? 14 : 16;
}

bool lpa2_format(const PagingMode& mode, uint32_t cpu_flags) {
  return granule_shift(mode) != 16 && ((mode.arch_traits & kOa52) || (cpu_flags & kDs));
}

int level_number(const PagingMode& mode, unsigned level) {
  return 4 - static_cast<int>(mode.level_count()) + static_cast<int>(level);
}

std::span<const PagingMode* const> all_modes() { return store().list; }

const PagingMode* mode_named(std::string_view name) {
  for (const PagingMode* m : all_modes())
    if (m->name == name) return m;
  return nullptr;
}

namespace {

// The split modes made so far: made on first use, kept for the program's life (a Paging
// points at its mode).
struct SplitStore {
  std::mutex lock;
  std::deque<std::string> texts;
  std::deque<std::array<VaRegion, 2>> regions;
  std::map<std::pair<const PagingMode*, const PagingMode*>, PagingMode> modes;
};

// "4 KiB granule, 48-bit VA, 4 levels from L0" of a mode's description (it starts
// "AArch64 " and ends with the OA size).
std::string_view shape_of(const PagingMode& m) {
  std::string_view d = m.description;
  d.remove_prefix(d.find(' ') + 1);
  return d.substr(0, d.rfind(", "));
}

}  // namespace

const PagingMode& split_mode(const PagingMode& low, const PagingMode& high) {
  if (&low == &high) return low;
  static SplitStore store;
  const std::lock_guard<std::mutex> hold(store.lock);
  const auto key = std::make_pair(&low, &high);
  if (auto it = store.modes.find(key); it != store.modes.end()) return it->second;
  const std::string_view high_name = std::string_view(high.name).substr(std::string_view("arm64-").size());
  const std::string& name = store.texts.emplace_back(std::string(low.name) + "/" + std::string(high_name));
  const std::string& description = store.texts.emplace_back(
      "AArch64 TTBR0: " + std::string(shape_of(low)) + "; TTBR1: " + std::string(shape_of(high)));
  // Region i is region i of the tree its root names (PagingMode::trees); the mode's own
  // levels, size and traits are TTBR1's, the kernel's half.
  const auto& regions = store.regions.emplace_back(std::array<VaRegion, 2>{low.regions[0], high.regions[1]});
  PagingMode m = high;
  m.name = name;
  m.description = description;
  m.default_pa_bits = std::max(low.default_pa_bits, high.default_pa_bits);
  m.regions = regions;
  m.trees = {&low, &high};
  return store.modes.emplace(key, m).first->second;
}

}  // namespace pagewalk::arm64
