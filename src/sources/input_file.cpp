#include "sources/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace pagewalk {
namespace {

const char* kind_of(mode_t m) {
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISBLK(m)) return "a block device";
  return "not a regular file";
}

}  // namespace

tl::expected<int, std::string> open_input(const std::string& path, unsigned also_allowed) {
  // O_NONBLOCK: a FIFO opens at once instead of waiting for a writer; for regular files it
  // changes nothing, and it is cleared below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    const int e = errno;
    std::string message = fmt::format("{}: cannot open: {}", path, std::strerror(e));
    errno = e;  // for callers that add a hint by errno
    return tl::unexpected(std::move(message));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return tl::unexpected(fmt::format("{}: cannot stat: {}", path, std::strerror(e)));
  }
  if (!S_ISREG(st.st_mode) && !((also_allowed & kBlockDevice) && S_ISBLK(st.st_mode)) &&
      !((also_allowed & kCharacterDevice) && S_ISCHR(st.st_mode))) {
    ::close(fd);
    return tl::unexpected(fmt::format("{} is {}, not a file", path, kind_of(st.st_mode)));
  }
  if (const int flags = fcntl(fd, F_GETFL); flags >= 0) (void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

tl::expected<std::string, std::string> read_input(const std::string& path, size_t max_bytes, const char* what) {
  auto fd = open_input(path);
  if (!fd) return tl::unexpected(fmt::format("{} {}", what, fd.error()));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(*fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(*fd);
      return tl::unexpected(fmt::format("{} {}: cannot read: {}", what, path, std::strerror(e)));
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(*fd);
      return tl::unexpected(fmt::format("{} {}: larger than {} MiB, more than any such file holds", what, path,
                                        max_bytes >> 20));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(*fd);
  return out;
}

}  // namespace pagewalk
