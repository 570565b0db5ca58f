// Help text shared by the commands.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace pagewalk::cli {

// The closing lines of a command's --help: two or three commands to copy.
[[nodiscard]] inline std::string examples(std::initializer_list<std::string_view> lines) {
  std::string out = "\nExamples:\n";
  for (std::string_view l : lines) {
    out += "  ";
    out += l;
    out += '\n';
  }
  return out;
}

}  // namespace pagewalk::cli
