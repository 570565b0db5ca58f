// Exit statuses and the one error type the commands throw; main() prints it as one line.
#pragma once

#include <stdexcept>
#include <string>

namespace pagewalk::cli {

enum Exit : int {
  kAllMapped = 0,     // everything answered, everything mapped
  kSomeUnmapped = 1,  // answered, but some address is not mapped
  kBadInput = 2,      // bad usage or a bad input value
  kTargetError = 3,   // the target cannot be opened or read
  kWalksDisagree = 4, // translate --kmod --kmod-walk: the kernel's walk and pagewalk's differ
};

class CliError : public std::runtime_error {
 public:
  CliError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  [[nodiscard]] int code() const { return code_; }

 private:
  int code_;
};

}  // namespace pagewalk::cli
