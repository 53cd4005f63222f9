// Which files `mhub board` may serve: a request names a file by a root ("logdir" or "cache")
// and a path relative to it. The path must match a strict grammar (segments of letters, digits
// and . _ - + = @, none empty, none starting with '.', so no "..", no absolute paths, no
// backslashes or percent signs) and, once every symlink is resolved, still lie inside the
// resolved root. Anything else is refused before the file system is touched beyond that check.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace mhub::board {

bool valid_relative_path(std::string_view relative);

// The resolved file or folder when `relative` is valid, exists and lies under `root`; else none.
std::optional<std::filesystem::path> resolve_under(const std::filesystem::path& root, std::string_view relative);

// `path` relative to `root` with '/' separators (path must lie under root).
std::string relative_text(const std::filesystem::path& root, const std::filesystem::path& path);

}  // namespace mhub::board
