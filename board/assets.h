// The board's web page, scripts and styles, compiled into the binary from board/assets
// (embed_assets.cmake), and served from memory: `mhub board` reads no data files of its own.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mhub::board {

struct EmbeddedFile {
  const char* name;
  const char* const* chunks;
  size_t chunk_count;
};
extern const EmbeddedFile kEmbeddedFiles[];
extern const size_t kEmbeddedFileCount;

struct Asset {
  std::string body;
  std::string mime;  // from the extension: text/html, text/javascript, text/css, text/plain
};

// The asset named `name` (a file name in board/assets), or nullptr.
const Asset* find_asset(std::string_view name);

}  // namespace mhub::board
