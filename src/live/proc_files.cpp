#include "live/proc_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace pagewalk::live {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

LiveError error_from_errno(int err, const std::string& path, std::string_view what) {
  using K = LiveError::Kind;
  switch (err) {
    case ENOENT:
    case ESRCH:
      return {K::NoProcess, fmt::format("{}: no such process ({} does not exist)", what, path)};
    case EACCES:
    case EPERM:
      // Never claim a missing privilege the process has: root is refused too when the target
      // is beyond its ptrace reach (ptrace_may_access: another user namespace, Yama, an LSM).
      return {K::Permission,
              fmt::format("{}: permission denied reading {} ({})", what, path,
                          geteuid() == 0 ? "root is refused too: the process is beyond ptrace's reach from here, as in "
                                           "another user namespace, or Yama ptrace_scope or a security module forbids it"
                                         : "needs root or ptrace access")};
    default:
      return {K::Io, fmt::format("{}: cannot read {}: {}", what, path, std::strerror(err))};
  }
}

}  // namespace

tl::expected<Fd, LiveError> open_read_only(const std::string& path, std::string_view what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(error_from_errno(errno, path, what));
  return Fd(fd);
}

tl::expected<size_t, LiveError> pread_some(const Fd& fd, std::span<std::byte> out, uint64_t offset,
                                           std::string_view what) {
  while (true) {
    const ssize_t n = ::pread(fd.get(), out.data(), out.size(), static_cast<off_t>(offset));
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    const int err = errno;
    if (err == ESRCH) return tl::unexpected(LiveError{LiveError::Kind::Exited, fmt::format("{}: the process exited", what)});
    return tl::unexpected(error_from_errno(err, fmt::format("offset 0x{:x}", offset), what));
  }
}

tl::expected<std::string, LiveError> read_whole(const std::string& path, std::string_view what) {
  auto fd = open_read_only(path, what);
  if (!fd) return tl::unexpected(fd.error());
  std::string text;
  size_t used = 0;
  text.resize(1 << 16);
  while (true) {
    if (used == text.size()) text.resize(text.size() * 2);
    const ssize_t n = ::read(fd->get(), text.data() + used, text.size() - used);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      if (err == ESRCH) return tl::unexpected(LiveError{LiveError::Kind::Exited, fmt::format("{}: the process exited", what)});
      return tl::unexpected(error_from_errno(err, path, what));
    }
    used += static_cast<size_t>(n);
  }
  text.resize(used);
  return text;
}

tl::expected<int, std::string> parse_pid(std::string_view text) {
  if (text == "self") return static_cast<int>(::getpid());
  int pid = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), pid, 10);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || pid <= 0)
    return tl::unexpected(fmt::format("'{}' is not a pid (a positive decimal number, or self)", text));
  return pid;
}

std::vector<int> list_pids() {
  std::vector<int> pids;
  DIR* d = ::opendir("/proc");
  if (!d) return pids;
  while (const dirent* e = ::readdir(d)) {
    int pid = 0;
    const char* end = e->d_name + std::strlen(e->d_name);
    const auto [p, ec] = std::from_chars(e->d_name, end, pid, 10);
    if (ec == std::errc() && p == end && pid > 0) pids.push_back(pid);
  }
  ::closedir(d);
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::string comm_of(int pid) {
  auto text = read_whole(fmt::format("/proc/{}/comm", pid), "comm");
  if (!text) return "";
  while (!text->empty() && text->back() == '\n') text->pop_back();
  return *text;
}

bool has_cap_sys_admin() {
  auto status = read_whole("/proc/self/status", "self");
  if (!status) return false;
  const size_t at = status->find("\nCapEff:");
  if (at == std::string::npos) return false;
  size_t i = at + 8;
  while (i < status->size() && ((*status)[i] == ' ' || (*status)[i] == '\t')) ++i;
  uint64_t caps = 0;
  const auto [p, ec] = std::from_chars(status->data() + i, status->data() + status->size(), caps, 16);
  (void)p;
  constexpr unsigned kCapSysAdmin = 21;
  return ec == std::errc() && ((caps >> kCapSysAdmin) & 1);
}

}  // namespace pagewalk::live
