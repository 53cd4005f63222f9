#include "cli/format.h"

#include <unistd.h>

#include <cstdio>

#include "common/error.h"
#include "common/printable.h"

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

uint64_t parse_byte_size(const std::string& text, const std::string& flag) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::string suffix = text.substr(digits);
  uint64_t scale = suffix.empty() ? 1
                   : suffix == "K" || suffix == "KiB" ? uint64_t{1} << 10
                   : suffix == "M" || suffix == "MiB" ? uint64_t{1} << 20
                   : suffix == "G" || suffix == "GiB" ? uint64_t{1} << 30
                                                      : 0;
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  uint64_t value = 0;
  bool ok = digits > 0 && digits <= 19 && scale != 0;
  if (ok) value = std::stoull(text.substr(0, digits));
  if (!ok || value > kLimit / scale)
    throw Error(ErrorCategory::usage, flag + " takes a size in bytes (e.g. 1024, 4K, 1M, 2G) up to 2^62, not '" +
                                          printable(text) + "'");
  return value * scale;
}

}  // namespace mhub::cli
