// The x86 paging modes as a GoogleTest type list, for suites stamped out once per mode.
#pragma once

#include <gtest/gtest.h>

#include "arch/x86/x86_modes.hpp"

namespace pagewalk::test {

template <const PagingMode* M>
struct ModeParam {
  static const PagingMode& mode() { return *M; }
};

using X86Modes = ::testing::Types<ModeParam<&kX86_64_4Level>, ModeParam<&kX86_64_5Level>, ModeParam<&kX86Pae>,
                                  ModeParam<&kX86_32>>;

}  // namespace pagewalk::test
