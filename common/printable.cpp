#include "common/printable.h"

namespace mhub {

namespace {

// Length of the valid UTF-8 sequence starting at text[i] (2-4 bytes, no overlong forms, no
// surrogates, at most U+10FFFF), or 0. C1 controls (U+0080-U+009F) count as invalid: terminals
// act on them.
size_t utf8_sequence_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
  if (length == 0 || lead > 0xf4 || i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k)
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  uint32_t code = lead & (0xff >> (length + 1));
  for (size_t k = 1; k < length; ++k) code = (code << 6) | (byte(i + k) & 0x3f);
  bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  if (overlong || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff || (code >= 0x80 && code < 0xa0)) return 0;
  return length;
}

}  // namespace

namespace {

std::string escape(std::string_view text, bool message) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      if (c == '\\' && !message) out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (message && (c == '\n' || c == '\t')) {
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\n') {
      out += "\\n", ++i;
    } else if (c == '\t') {
      out += "\\t", ++i;
    } else if (c == '\r') {
      out += "\\r", ++i;
    } else if (size_t length = c >= 0x80 ? utf8_sequence_length(text, i) : 0) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string printable(std::string_view text) { return escape(text, false); }

std::string terminal_safe(std::string_view message) { return escape(message, true); }

}  // namespace mhub
