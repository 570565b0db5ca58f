// Runs the pagewalk binary as a user would: arguments, standard input, and what comes back
// on stdout, stderr and the exit status. One helper for every CLI test.
#pragma once

#include <stdlib.h>
#include <sys/wait.h>

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
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128, out, e.str()};
}

}  // namespace pagewalk::testing
