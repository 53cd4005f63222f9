#include "board/safe_path.h"

namespace mhub::board {
namespace fs = std::filesystem;

bool valid_relative_path(std::string_view relative) {
  if (relative.empty() || relative.size() > 1024) return false;
  size_t segments = 0;
  size_t start = 0;
  while (start <= relative.size()) {
    size_t end = relative.find('/', start);
    if (end == std::string_view::npos) end = relative.size();
    const std::string_view segment = relative.substr(start, end - start);
    if (segment.empty() || segment.front() == '.' || ++segments > 32) return false;
    for (char c : segment) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
                      c == '+' || c == '=' || c == '@';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

std::optional<fs::path> resolve_under(const fs::path& root, std::string_view relative) {
  if (!valid_relative_path(relative)) return std::nullopt;
  std::error_code ec;
  const fs::path base = fs::canonical(root, ec);
  if (ec) return std::nullopt;
  const fs::path resolved = fs::canonical(base / fs::path(std::string(relative)), ec);
  if (ec) return std::nullopt;
  // Lexically under the resolved root: every component of base is a prefix of resolved's.
  auto b = base.begin();
  auto r = resolved.begin();
  for (; b != base.end(); ++b, ++r)
    if (r == resolved.end() || *b != *r) return std::nullopt;
  if (r == resolved.end()) return std::nullopt;  // the root itself is not a file to serve
  return resolved;
}

std::string relative_text(const fs::path& root, const fs::path& path) { return path.lexically_relative(root).generic_string(); }

}  // namespace mhub::board
