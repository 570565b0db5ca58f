// Reading /proc: read-only file descriptors, whole small files, the process list, and
// the errors a live target can give. Nothing here writes anywhere.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace pagewalk::live {

struct LiveError {
  enum class Kind : uint8_t {
    NoProcess,   // no such pid (never existed, or exited before we opened it)
    Exited,      // the process went away while we were reading it
    Permission,  // the kernel refused (ptrace access check, or not root)
    Io,          // any other read error
    Malformed,   // a /proc file we could not parse
  };
  Kind kind;
  std::string message;
};

// A read-only file descriptor that closes itself.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Opens `path` O_RDONLY; `what` names the target in the error ("pid 42").
[[nodiscard]] tl::expected<Fd, LiveError> open_read_only(const std::string& path, std::string_view what);

// One pread of up to out.size() bytes at `offset`, retried on EINTR; returns the bytes read
// (fewer at end of file, 0 once a process's mm is gone).
[[nodiscard]] tl::expected<size_t, LiveError> pread_some(const Fd& fd, std::span<std::byte> out, uint64_t offset,
                                                         std::string_view what);

// The whole of a small /proc file (maps, smaps, status, comm).
[[nodiscard]] tl::expected<std::string, LiveError> read_whole(const std::string& path, std::string_view what);

// "self" or a decimal pid; self is this process.
[[nodiscard]] tl::expected<int, std::string> parse_pid(std::string_view text);

// Every numeric entry of /proc, ascending.
[[nodiscard]] std::vector<int> list_pids();

// The process's name from /proc/PID/comm ("" if it cannot be read).
[[nodiscard]] std::string comm_of(int pid);

// Whether this process has CAP_SYS_ADMIN in its effective set (/proc/self/status CapEff,
// bit 21 in include/uapi/linux/capability.h). Without it, pagemap shows every PFN as 0
// (fs/proc/task_mmu.c: pm->show_pfn).
[[nodiscard]] bool has_cap_sys_admin();

}  // namespace pagewalk::live
