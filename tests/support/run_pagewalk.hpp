// Runs the pagewalk binary as a user would: arguments, standard input, and what comes back
// on stdout, stderr and the exit status. One helper for every CLI test.
//
// With PAGEWALK_JSON_DIR set (the test suite sets it), the JSON every run writes (--json,
// --jsonl) is kept there, and one test at the end checks all of it against the schema
// (tests/schema/validate.py): every document the suite produces, on every target it uses.
#pragma once

#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace pagewalk::testing {

struct CliResult {
  int code;
  std::string out, err;
};

// Answers (status 0 or 1) of runs asked for JSON, one file each, named by process and count.
inline void keep_json_output(const std::string& args, int code, const std::string& out) {
  const char* dir = std::getenv("PAGEWALK_JSON_DIR");
  if (!dir || code > 1 || out.empty()) return;
  if (args.find("--json") == std::string::npos) return;
  static std::atomic<unsigned> n{0};
  const std::string name = std::string(dir) + "/" + std::to_string(getpid()) + "-" + std::to_string(n++) + ".json";
  std::ofstream f(name);
  f << "# " << args.substr(0, 200) << "\n" << out;
}

// `prefix` goes before the binary on the shell line (e.g. "setpriv --bounding-set=... ").
inline CliResult run_pagewalk(const std::string& args, const std::string& input = "", const std::string& prefix = "") {
  char tmpl[] = "/tmp/pagewalk-run-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string in = dir + "/stdin", err = dir + "/stderr";
  std::ofstream(in) << input;
  const std::string cmd = prefix + std::string(PAGEWALK_BINARY) + " " + args + " <" + in + " 2>" + err;
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  std::stringstream e;
  e << std::ifstream(err).rdbuf();
  std::filesystem::remove_all(dir);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  keep_json_output(args, code, out);
  return {code, out, e.str()};
}

}  // namespace pagewalk::testing
