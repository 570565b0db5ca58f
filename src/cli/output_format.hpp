// How a command prints: text for people (aligned, with '#' context lines), JSON (one
// document, or one object per line), or a delimited table (TSV, CSV) for spreadsheets and
// awk. Every listing command takes the same options, registered here.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace pagewalk::cli {

enum class Table : uint8_t { None, Tsv, Csv };

struct OutputFormat {
  bool json = false, jsonl = false, brief = false;
  bool no_header = false;  // text: no '#' lines, no column header; tables: no header row
  Table table = Table::None;

  [[nodiscard]] bool any_json() const { return json || jsonl; }
  [[nodiscard]] bool delimited() const { return table != Table::None; }
  // Text for people: neither JSON nor a table.
  [[nodiscard]] bool human() const { return !any_json() && !delimited(); }

  // --json, --jsonl (when `lines`), --output FORMAT and --no-header; one format at most.
  void add_to(CLI::App& app, bool lines, std::string_view per_line_what);
};

// Rows of a TSV or CSV table. Columns are named as the JSON members are; a missing value is
// an empty field. CSV quotes a field holding a comma, a quote or a line break (RFC 4180);
// TSV escapes tab, line breaks and backslash as \t \n \r \\ (fields never hold a tab).
class DelimitedWriter {
 public:
  DelimitedWriter(std::string& out, Table kind) : out_(out), sep_(kind == Table::Csv ? ',' : '\t'), csv_(kind == Table::Csv) {}
  void header(std::initializer_list<std::string_view> names);
  DelimitedWriter& str(std::string_view s);
  DelimitedWriter& hex(uint64_t v);
  DelimitedWriter& num(uint64_t v);
  DelimitedWriter& empty();
  // The end of a row.
  void end();

 private:
  void separate();
  std::string& out_;
  char sep_;
  bool csv_;
  bool first_ = true;
};

}  // namespace pagewalk::cli
