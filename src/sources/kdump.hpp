// kdump-compressed dumps (makedumpfile's diskdump format, and QEMU's kdump-zlib/-lzo/-snappy
// output, which QEMU writes in makedumpfile's "flattened" stream form). Pages are read
// through libkdumpfile; the flattened form is first rearranged into an anonymous in-memory
// file, as `makedumpfile -R` would.
#pragma once

#include <span>
#include <string>

#include "sources/image.hpp"

namespace pagewalk {

[[nodiscard]] bool is_kdump_compressed(std::span<const std::byte> bytes);
[[nodiscard]] bool is_makedumpfile_flattened(std::span<const std::byte> bytes);

// Rearranges a flattened stream into a regular file written to `fd`; exposed for the fuzzer.
[[nodiscard]] tl::expected<void, std::string> unflatten(std::span<const std::byte> bytes, int fd);

[[nodiscard]] tl::expected<void, std::string> parse_kdump(Image& image);

}  // namespace pagewalk
