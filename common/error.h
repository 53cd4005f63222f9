// The one error type of mhub's libraries.
//
// Contract: library code reports failure by throwing mhub::Error and never prints or exits;
// cli/ catches it, prints the message and maps the category to an exit code. A message names
// the file / entry / field concerned and, where there is one, the next step for the user.
#pragma once

#include <stdexcept>
#include <string>

namespace mhub {

enum class ErrorCategory {
  usage,        // the caller asked for something that makes no sense (bad flag, bad name)
  io,           // the file system said no (missing file, permission, disk full)
  format,       // a file's bytes are not what its format says they must be
  network,      // a transfer failed (connection, TLS, HTTP status)
  integrity,    // bytes arrived but their checksum or size is wrong
  unsupported,  // well-formed input that mhub does not handle (yet)
  internal,     // a bug in mhub
  not_found,    // the server has no such repository, revision or file (HTTP 404): retrying will not help
};

const char* category_name(ErrorCategory category);

// Exit codes used by cli/: 0 ok, 1 internal, 2 usage, 3 io, 4 format, 5 network, 6 integrity,
// 7 unsupported, 8 not_found.
int exit_code_for(ErrorCategory category);

class Error : public std::runtime_error {
 public:
  Error(ErrorCategory category, const std::string& message)
      : std::runtime_error(message), category_(category) {}
  ErrorCategory category() const { return category_; }

 private:
  ErrorCategory category_;
};

[[noreturn]] void throw_error(ErrorCategory category, const std::string& message);

}  // namespace mhub
