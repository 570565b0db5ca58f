#include <cstddef>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixtures/kernel_types.hpp"
#include "linux/btf_layout.hpp"

using pagewalk::linux_kernel::task_layout_from_dwarf;
using testing::HasSubstr;

TEST(LinuxDwarf, OffsetsOfAnObjectWithDebugInfo) {
  auto l = task_layout_from_dwarf(KERNEL_TYPES_OBJECT);
  ASSERT_TRUE(l) << l.error();
  EXPECT_EQ(l->task_tasks, offsetof(task_struct, tasks));
  EXPECT_EQ(l->task_pid, offsetof(task_struct, pid));
  EXPECT_EQ(l->task_tgid, offsetof(task_struct, tgid));
  EXPECT_EQ(l->task_comm, offsetof(task_struct, comm));
  EXPECT_EQ(l->task_mm, offsetof(task_struct, mm));
  EXPECT_EQ(l->mm_pgd, offsetof(mm_struct, pgd));  // found inside the anonymous union
  ASSERT_TRUE(l->cpu_capability);
  EXPECT_EQ(*l->cpu_capability, offsetof(cpuinfo_x86, x86_capability));
}

TEST(LinuxDwarf, FilesWithoutTheTypesAreRefused) {
  auto missing = task_layout_from_dwarf("/nonexistent/vmlinux");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error(), HasSubstr("cannot open"));
  // A real ELF file whose DWARF (if any) has no task_struct: the test's own fixtures dir.
  auto not_elf = task_layout_from_dwarf(PAGEWALK_FIXTURES "/kernel_types.hpp");
  ASSERT_FALSE(not_elf);
  EXPECT_THAT(not_elf.error(), HasSubstr("DWARF"));
}
