// Text from files and servers printed to a terminal: control characters (escape sequences
// included) and invalid bytes become visible escapes, so a tensor name or a metadata value can
// never move the cursor, recolour or retitle the user's terminal.
#pragma once

#include <string>
#include <string_view>

namespace mhub {

// Bytes 0x20-0x7e and valid UTF-8 sequences above 0x7f stay as they are; '\\' becomes "\\\\";
// '\n', '\t', '\r' become "\\n", "\\t", "\\r"; every other byte becomes "\\xHH".
std::string printable(std::string_view text);
// For whole messages (cli/ prints every error through it): '\n' and '\t' and '\\' stay as they
// are (messages span lines), every other control character or invalid byte is escaped as above.
std::string terminal_safe(std::string_view message);

}  // namespace mhub
