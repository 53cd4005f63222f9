// Small helpers for what cli/ prints.
#pragma once

#include <cstdint>
#include <string>

namespace mhub::cli {

// 1536 -> "1.5 KiB"
std::string human_bytes(uint64_t bytes);
// 25557032 -> "25.6 M"
std::string human_count(uint64_t count);
// "1024", "4K"/"4KiB", "1M"/"1MiB", "2G"/"2GiB" -> bytes. Throws mhub::Error (usage) naming
// `flag` for anything else, including sizes past 2^62 bytes.
uint64_t parse_byte_size(const std::string& text, const std::string& flag);
// True when stdout is a terminal (progress bars and colour only then).
bool stdout_is_terminal();

}  // namespace mhub::cli
