#include "cli/output_format.hpp"

#include "cli/io.hpp"
#include "cli/numbers.hpp"

namespace pagewalk::cli {

void OutputFormat::add_to(CLI::App& app, bool lines, std::string_view per_line_what) {
  auto* json_flag = app.add_flag("--json", json, "one JSON document");
  CLI::Option* jsonl_flag = nullptr;
  if (lines) jsonl_flag = app.add_flag("--jsonl", jsonl, "one JSON object per " + std::string(per_line_what));
  const std::string formats = lines ? "text, json, jsonl, tsv or csv" : "text, json, tsv or csv";
  auto* output = app.add_option_function<std::string>(
      "--output",
      [this, lines, formats](const std::string& v) {
        if (v == "json") json = true;
        else if (v == "jsonl" && lines) jsonl = true;
        else if (v == "tsv") table = Table::Tsv;
        else if (v == "csv") table = Table::Csv;
        else if (v != "text") throw CLI::ValidationError("--output", "'" + v + "' is not a format: " + formats);
      },
      "output format: " + formats + " (tables: one row per line, columns named as the JSON members)");
  output->type_name("FORMAT");
  // One format per run: --json with --jsonl or --output csv has no single meaning.
  json_flag->excludes(output);
  if (jsonl_flag) {
    jsonl_flag->excludes(output);
    jsonl_flag->excludes(json_flag);
  }
  app.add_flag("--no-header", no_header, "text without the '#' lines and the column header; tables without the header row");
}

void DelimitedWriter::separate() {
  if (!first_) out_ += sep_;
  first_ = false;
}

void DelimitedWriter::header(std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) str(n);
  end();
}

DelimitedWriter& DelimitedWriter::str(std::string_view s) {
  separate();
  if (csv_) {
    if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
      out_ += s;
      return *this;
    }
    out_ += '"';
    for (char c : s) {
      if (c == '"') out_ += '"';
      out_ += c;
    }
    out_ += '"';
    return *this;
  }
  for (char c : s) {
    switch (c) {
      case '\t': out_ += "\\t"; break;
      case '\n': out_ += "\\n"; break;
      case '\r': out_ += "\\r"; break;
      case '\\': out_ += "\\\\"; break;
      default: out_ += c;
    }
  }
  return *this;
}

DelimitedWriter& DelimitedWriter::hex(uint64_t v) {
  separate();
  append_hex(out_, v);
  return *this;
}

DelimitedWriter& DelimitedWriter::num(uint64_t v) {
  separate();
  append_dec(out_, v);
  return *this;
}

DelimitedWriter& DelimitedWriter::empty() {
  separate();
  return *this;
}

void DelimitedWriter::end() {
  out_ += '\n';
  first_ = true;
}

}  // namespace pagewalk::cli
