// Small helpers for what cli/ prints.
#pragma once

#include <cstdint>
#include <string>

namespace mhub::cli {

// 1536 -> "1.5 KiB"
std::string human_bytes(uint64_t bytes);
// 25557032 -> "25.6 M"
std::string human_count(uint64_t count);
// True when stdout is a terminal (progress bars and colour only then).
bool stdout_is_terminal();

}  // namespace mhub::cli
