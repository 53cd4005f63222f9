#include "board/assets.h"

#include <map>

namespace mhub::board {
namespace {

std::string mime_of(std::string_view name) {
  auto ends = [&](std::string_view suffix) { return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  return "text/plain; charset=utf-8";
}

}  // namespace

const Asset* find_asset(std::string_view name) {
  // Joined once, on first use; read-only afterwards (safe from the server's threads).
  static const std::map<std::string, Asset, std::less<>> assets = [] {
    std::map<std::string, Asset, std::less<>> table;
    for (size_t i = 0; i < kEmbeddedFileCount; ++i) {
      Asset asset;
      for (size_t c = 0; c < kEmbeddedFiles[i].chunk_count; ++c) asset.body += kEmbeddedFiles[i].chunks[c];
      asset.mime = mime_of(kEmbeddedFiles[i].name);
      table.emplace(kEmbeddedFiles[i].name, std::move(asset));
    }
    return table;
  }();
  const auto it = assets.find(name);
  return it == assets.end() ? nullptr : &it->second;
}

}  // namespace mhub::board
