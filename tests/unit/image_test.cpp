// The image readers on files the tests write: ELF cores shaped like QEMU's, LiME, raw.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "arch/x86/x86_arch.hpp"
#include "../support/elf_core_writer.hpp"
#include "linux/vmcoreinfo.hpp"
#include "sources/image.hpp"

namespace pagewalk {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pagewalk-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<uint8_t> pattern_core() {
  testing::CoreSpec spec;
  spec.cpus = {{0x80050033, 0x68c8000, 0x3006f0, 0xffffffff81000000, 0x7ffe0000},
               {0x80050033, 0x1000, 0x3016f0, 0, 0}};
  spec.vmcoreinfo = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=ffffffff82a0a000\nKERNELOFFSET=1000000\n";
  auto fill = [](uint64_t pa, std::vector<uint8_t>& b) {
    for (size_t i = 0; i < b.size(); i += 8) {
      const uint64_t v = pa + i;
      std::memcpy(b.data() + i, &v, 8);
    }
  };
  spec.loads = {{0x0, 0x10000, fill}, {0x100000, 0x3000, fill, 0x5000}};
  return testing::build_core(spec);
}

TEST(Image, QemuElfCore) {
  TempDir d;
  testing::write_file(d.file("dump.elf"), pattern_core());
  auto img = open_image(d.file("dump.elf"), {});
  ASSERT_TRUE(img) << img.error();
  EXPECT_EQ(img->format, "ELF core (QEMU dump-guest-memory)");
  ASSERT_EQ(img->cpus.size(), 2u);
  EXPECT_EQ(img->cpus[0].get_or("cr3", ~uint64_t{0}), 0x68c8000u);
  EXPECT_EQ(img->cpus[0].get_or("cr4", ~uint64_t{0}), 0x3006f0u);
  EXPECT_EQ(img->cpus[0].get_or("rip", ~uint64_t{0}), 0xffffffff81000000u);
  EXPECT_EQ(img->cpus[0].get_or("rsp", ~uint64_t{0}), 0x7ffe0000u);
  EXPECT_TRUE(x86::long_mode(img->cpus[0]));
  EXPECT_EQ(img->cpus[1].get_or("cr4", ~uint64_t{0}), 0x3016f0u);
  ASSERT_TRUE(img->vmcoreinfo);
  const auto vi = linux_kernel::VmcoreInfo::parse(*img->vmcoreinfo);
  EXPECT_EQ(vi.get("OSRELEASE"), "6.1.0-test");
  EXPECT_EQ(vi.symbol("init_top_pgt"), 0xffffffff82a0a000u);
  EXPECT_EQ(vi.kernel_offset(), 0x1000000u);

  uint64_t v = 0;
  ASSERT_TRUE(img->memory->read(PhysAddr(0x8008), {reinterpret_cast<std::byte*>(&v), 8}));
  EXPECT_EQ(v, 0x8008u);
  ASSERT_TRUE(img->memory->read(PhysAddr(0x102ff8), {reinterpret_cast<std::byte*>(&v), 8}));
  EXPECT_EQ(v, 0x102ff8u);
  // Past p_filesz but inside p_memsz reads as zero; past p_memsz fails, naming the address.
  ASSERT_TRUE(img->memory->read(PhysAddr(0x104000), {reinterpret_cast<std::byte*>(&v), 8}));
  EXPECT_EQ(v, 0u);
  auto bad = img->memory->read(PhysAddr(0x200000), {reinterpret_cast<std::byte*>(&v), 8});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().addr.value(), 0x200000u);
  const auto ranges = img->memory->ranges();
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[1].size, 0x5000u);
}

TEST(Image, TruncatedElfIsAnError) {
  TempDir d;
  auto bytes = pattern_core();
  bytes.resize(bytes.size() - 0x100);
  testing::write_file(d.file("cut.elf"), bytes);
  auto img = open_image(d.file("cut.elf"), {});
  ASSERT_FALSE(img);
  EXPECT_NE(img.error().find("truncated"), std::string::npos) << img.error();
  bytes.resize(40);  // not even a whole ELF header
  testing::write_file(d.file("stub.elf"), bytes);
  EXPECT_FALSE(open_image(d.file("stub.elf"), {}));
}

TEST(Image, CorruptElfIsAnError) {
  TempDir d;
  auto bytes = pattern_core();
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  eh.e_phoff = 0xfffffff0;  // program headers past the end
  std::memcpy(bytes.data(), &eh, sizeof eh);
  testing::write_file(d.file("bad.elf"), bytes);
  EXPECT_FALSE(open_image(d.file("bad.elf"), {}));
  eh.e_phoff = sizeof eh;
  eh.e_type = ET_EXEC;
  std::memcpy(bytes.data(), &eh, sizeof eh);
  testing::write_file(d.file("exec.elf"), bytes);
  auto img = open_image(d.file("exec.elf"), {});
  ASSERT_FALSE(img);
  EXPECT_NE(img.error().find("not a core"), std::string::npos);
}

TEST(Image, Lime) {
  TempDir d;
  std::vector<uint8_t> f;
  auto range = [&](uint64_t start, uint64_t size, uint8_t fillbyte) {
    uint32_t magic = 0x4C694D45, version = 1;
    uint64_t end = start + size - 1, reserved = 0;
    auto put = [&](const void* p, size_t n) { f.insert(f.end(), (const uint8_t*)p, (const uint8_t*)p + n); };
    put(&magic, 4);
    put(&version, 4);
    put(&start, 8);
    put(&end, 8);
    put(&reserved, 8);
    f.insert(f.end(), size, fillbyte);
  };
  range(0x1000, 0x2000, 0xaa);
  range(0x100000, 0x1000, 0xbb);
  testing::write_file(d.file("mem.lime"), f);
  auto img = open_image(d.file("mem.lime"), {});
  ASSERT_TRUE(img) << img.error();
  EXPECT_EQ(img->format, "LiME");
  uint8_t b = 0;
  ASSERT_TRUE(img->memory->read(PhysAddr(0x100fff), {reinterpret_cast<std::byte*>(&b), 1}));
  EXPECT_EQ(b, 0xbb);
  EXPECT_FALSE(img->memory->read(PhysAddr(0x3000), {reinterpret_cast<std::byte*>(&b), 1}));
  f.resize(f.size() - 1);
  testing::write_file(d.file("cut.lime"), f);
  EXPECT_FALSE(open_image(d.file("cut.lime"), {}));
}

TEST(Image, RawNeedsFormatAndTakesABase) {
  TempDir d;
  std::vector<uint8_t> f(0x3000, 0x5a);
  testing::write_file(d.file("mem.raw"), f);
  auto unknown = open_image(d.file("mem.raw"), {});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("--format raw"), std::string::npos);
  auto img = open_image(d.file("mem.raw"), {"raw", 0x80000000});
  ASSERT_TRUE(img) << img.error();
  uint8_t b = 0;
  EXPECT_TRUE(img->memory->read(PhysAddr(0x80002fff), {reinterpret_cast<std::byte*>(&b), 1}));
  EXPECT_FALSE(img->memory->read(PhysAddr(0x7fffffff), {reinterpret_cast<std::byte*>(&b), 1}));
}

TEST(Image, MissingAndEmptyFiles) {
  TempDir d;
  EXPECT_FALSE(open_image(d.file("nope"), {}));
  testing::write_file(d.file("empty"), {});
  auto e = open_image(d.file("empty"), {});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("empty"), std::string::npos);
}

// A diskdump header whose fields would make libkdumpfile allocate gigabytes: refused before.
TEST(Image, CorruptKdumpHeaderIsAnError) {
  TempDir d;
  std::vector<uint8_t> bytes(8192, 0);
  std::memcpy(bytes.data(), "KDUMP   ", 8);
  auto put32 = [&](size_t at, uint32_t v) { std::memcpy(bytes.data() + at, &v, 4); };
  put32(8, 6);             // header_version
  put32(428, 4096);        // block_size
  put32(432, 1);           // sub_hdr_size (blocks)
  put32(436, 0x00ffffff);  // bitmap_blocks: 64 GiB of bitmaps in an 8 KiB file
  testing::write_file(d.file("bad.kdump"), bytes);
  auto img = open_image(d.file("bad.kdump"), {});
  ASSERT_FALSE(img);
  EXPECT_NE(img.error().find("beyond the end of the file"), std::string::npos) << img.error();

  put32(8, 0x60000145);  // an implausible version, as the fuzzer found it
  testing::write_file(d.file("bad2.kdump"), bytes);
  img = open_image(d.file("bad2.kdump"), {});
  ASSERT_FALSE(img);
  EXPECT_NE(img.error().find("version"), std::string::npos) << img.error();

  // A flattened stream whose record runs past the end.
  std::vector<uint8_t> flat(4096 + 16, 0);
  std::memcpy(flat.data(), "makedumpfile", 12);
  flat[4096 + 15] = 0x7f;  // size 0x7f bytes of data that are not there
  testing::write_file(d.file("flat.kdump"), flat);
  img = open_image(d.file("flat.kdump"), {});
  ASSERT_FALSE(img);
  EXPECT_NE(img.error().find("corrupt"), std::string::npos) << img.error();
}

}  // namespace
}  // namespace pagewalk
