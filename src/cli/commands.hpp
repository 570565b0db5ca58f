#pragma once

namespace pagewalk::cli {

// Parses the command line, runs one command, and returns the exit status.
int run(int argc, char** argv);

}  // namespace pagewalk::cli
