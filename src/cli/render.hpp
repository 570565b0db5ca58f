// Rendering for people (aligned tables, the per-level trace) and for programs (JSON through
// JsonWriter: schema in docs/schema/pagewalk.schema.json, prose in docs/json-schema.md).
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "core/enumerate.hpp"
#include "core/walk.hpp"
#include "sources/source.hpp"
#include "target/describe.hpp"
#include "cli/json_writer.hpp"
#include "cli/output_format.hpp"

namespace pagewalk::cli {

// "rw- user" (the kernel's rights are the same), "r-- kernel" (no user access), or both
// when they differ: "user r-x, kernel rwx".
[[nodiscard]] std::string access_string(Access a);
// access_view(a) appended to out (the batch paths' form).
void append_access(std::string& out, Access a);
// The JSON form: {"kernel":"rw-","user":"---"}.
void write_access(JsonWriter& w, Access a);
// "target":{"kind","name","format"}: what the command read.
void write_target(JsonWriter& w, std::string_view kind, std::string_view name, std::string_view format);
inline void write_target(JsonWriter& w, const Source& s) { write_target(w, s.kind(), s.name(), s.format()); }
// "process":{"pid","comm"}: whose address space was walked.
void write_process(JsonWriter& w, int pid, std::string_view comm);

using target::SourceNotes;

[[nodiscard]] std::string reason(const Paging& paging, const Translation& t, const SourceNotes& notes = {});
[[nodiscard]] std::string join_flags(const Paging& paging, unsigned level, uint64_t raw);

// The full per-level trace of one translation.
void append_trace(std::string& out, const Paging& paging, const Translation& t, const SourceNotes& notes = {});
// One aligned line: VA, status, PA, page size, access.
void append_brief(std::string& out, const Paging& paging, const Translation& t, const SourceNotes& notes = {});
void append_brief_header(std::string& out);
// A translation's members, written into the object the caller has open (a stream line, or
// an element of "results"). Without steps: the one-line answer (--brief --jsonl).
void write_translation(JsonWriter& w, const Paging& paging, const Translation& t, const SourceNotes& notes = {},
                       bool with_steps = true);

// A translation as a table row (--output tsv|csv), and that table's column names.
void table_translation_header(DelimitedWriter& t);
void table_translation(DelimitedWriter& t, const Paging& paging, const Translation& tr, const SourceNotes& notes = {});

// Map rows.
void append_range_header(std::string& out);
void append_range(std::string& out, const Paging& paging, const Range& r);
// A map row's members, into the object the caller has open.
void write_range(JsonWriter& w, const Paging& paging, const Range& r);
void table_range_header(DelimitedWriter& t);
void table_range(DelimitedWriter& t, const Paging& paging, const Range& r);

}  // namespace pagewalk::cli
