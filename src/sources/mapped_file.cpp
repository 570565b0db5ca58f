#include "sources/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "sources/input_file.hpp"

namespace pagewalk {

tl::expected<MappedFile, std::string> MappedFile::open(const std::string& path) {
  MappedFile f;
  f.path_ = path;
  auto fd = open_input(path, kBlockDevice);
  if (!fd) return tl::unexpected(fd.error());
  f.fd_ = *fd;
  struct stat st {};
  if (fstat(f.fd_, &st) != 0) return tl::unexpected(fmt::format("cannot stat {}: {}", path, std::strerror(errno)));
  if (st.st_size == 0) return tl::unexpected(fmt::format("{} is empty", path));
  f.size_ = static_cast<size_t>(st.st_size);
  void* p = mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, f.fd_, 0);
  if (p == MAP_FAILED) return tl::unexpected(fmt::format("cannot map {}: {}", path, std::strerror(errno)));
  f.data_ = static_cast<const std::byte*>(p);
  return f;
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), fd_(std::exchange(o.fd_, -1)),
      path_(std::move(o.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    this->~MappedFile();
    new (this) MappedFile(std::move(o));
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_) munmap(const_cast<std::byte*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace pagewalk
