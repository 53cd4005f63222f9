#include "common/error.h"

namespace mhub {

const char* category_name(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::usage: return "usage";
    case ErrorCategory::io: return "io";
    case ErrorCategory::format: return "format";
    case ErrorCategory::network: return "network";
    case ErrorCategory::integrity: return "integrity";
    case ErrorCategory::unsupported: return "unsupported";
    case ErrorCategory::internal: return "internal";
    case ErrorCategory::not_found: return "not_found";
  }
  return "internal";
}

int exit_code_for(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::internal: return 1;
    case ErrorCategory::usage: return 2;
    case ErrorCategory::io: return 3;
    case ErrorCategory::format: return 4;
    case ErrorCategory::network: return 5;
    case ErrorCategory::integrity: return 6;
    case ErrorCategory::unsupported: return 7;
    case ErrorCategory::not_found: return 8;
  }
  return 1;
}

void throw_error(ErrorCategory category, const std::string& message) {
  throw Error(category, message);
}

}  // namespace mhub
