#include "cli/commands.hpp"

int main(int argc, char** argv) { return pagewalk::cli::run(argc, argv); }
