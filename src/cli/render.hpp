// Rendering for people (aligned tables, the per-level trace) and for programs (JSON).
// JSON for the hot paths is written by hand into a buffer: schema in docs/json-schema.md.
#pragma once

#include <string>

#include "core/enumerate.hpp"
#include "core/walk.hpp"

namespace pagewalk::cli {

inline constexpr int kSchemaVersion = 2;

// "0x" and 16 hex digits: the batch paths format millions of these.

// "rw- user" (the kernel's rights are the same), "r-- kernel" (no user access), or both
// when they differ: "user r-x, kernel rwx".
[[nodiscard]] std::string access_string(Access a);
[[nodiscard]] std::string_view access_view(Access a);
// The JSON form: {"kernel":"rw-","user":"---"}.
void append_access_json(std::string& out, Access a);
[[nodiscard]] std::string reason(const Paging& paging, const Translation& t);
[[nodiscard]] std::string join_flags(const Paging& paging, unsigned level, uint64_t raw);

// The full per-level trace of one translation.
void append_trace(std::string& out, const Paging& paging, const Translation& t);
// One aligned line: VA, status, PA, page size, access.
void append_brief(std::string& out, const Paging& paging, const Translation& t);
void append_brief_header(std::string& out);
// One JSON object, no trailing newline.
void append_translation_json(std::string& out, const Paging& paging, const Translation& t);

// Map rows.
void append_range_header(std::string& out);
void append_range(std::string& out, const Paging& paging, const Range& r);
void append_range_json(std::string& out, const Paging& paging, const Range& r);

}  // namespace pagewalk::cli
