#include "arch/registry.hpp"

#include "arch/arm64/arm64_arch.hpp"
#include "arch/x86/x86_arch.hpp"

namespace pagewalk::arch {
namespace {

// To add an architecture: its object here (see the README's "Adding an architecture").
constexpr const Architecture* kArchitectures[] = {&x86::kArchitecture, &arm64::kArchitecture};

}  // namespace

std::span<const Architecture* const> all_architectures() { return kArchitectures; }

const Architecture* find_architecture(std::string_view name) {
  for (const Architecture* a : kArchitectures)
    if (a->name() == name) return a;
  return nullptr;
}

const std::vector<const PagingMode*>& all_modes() {
  static const std::vector<const PagingMode*> modes = [] {
    std::vector<const PagingMode*> v;
    for (const Architecture* a : kArchitectures)
      for (const PagingMode* m : a->modes()) v.push_back(m);
    return v;
  }();
  return modes;
}

const PagingMode* find_mode(std::string_view name) {
  for (const PagingMode* m : all_modes())
    if (m->name == name) return m;
  return nullptr;
}

std::string mode_names() {
  std::string s;
  for (const Architecture* a : kArchitectures) s += (s.empty() ? "" : ", ") + a->mode_names();
  return s;
}

}  // namespace pagewalk::arch
