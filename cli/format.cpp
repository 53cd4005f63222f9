#include "cli/format.h"

#include <unistd.h>

#include <cstdio>

namespace mhub::cli {

std::string human_bytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string human_count(uint64_t count) {
  char text[32];
  if (count >= 1000000000) std::snprintf(text, sizeof text, "%.2f G", count / 1e9);
  else if (count >= 1000000) std::snprintf(text, sizeof text, "%.1f M", count / 1e6);
  else if (count >= 1000) std::snprintf(text, sizeof text, "%.1f k", count / 1e3);
  else std::snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(count));
  return text;
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

}  // namespace mhub::cli
