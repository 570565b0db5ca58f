// Opening what the user names as input: read-only, without blocking on a FIFO (open(2) of a
// named pipe waits for a writer), and only the kinds of file a reader can take; and reading
// small inputs whole with a bound, so that /dev/zero or a huge file is an error, not an
// allocation that never ends.
#pragma once

#include <cstddef>
#include <string>

#include <tl/expected.hpp>

namespace pagewalk {

// The kinds of file an input may be besides a regular file.
enum InputKind : unsigned {
  kRegularFile = 0,
  kBlockDevice = 1,      // a disk holding a raw image
  kCharacterDevice = 2,  // /dev/null bind-mounted over /proc/kcore (a container's mask)
};

// A read-only descriptor of a regular file (or of the other kinds allowed). Errors name
// the path and what it is instead ("is a FIFO (named pipe), not a file").
[[nodiscard]] tl::expected<int, std::string> open_input(const std::string& path, unsigned also_allowed = kRegularFile);

// The whole file, at most max_bytes of it (files in /proc and /sys report a size of 0 and
// are read to their end). `what` names the input in errors: "--kallsyms".
[[nodiscard]] tl::expected<std::string, std::string> read_input(const std::string& path, size_t max_bytes,
                                                                const char* what);

}  // namespace pagewalk
