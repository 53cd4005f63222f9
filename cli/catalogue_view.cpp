#include "cli/catalogue_view.h"

#include <algorithm>
#include <iostream>

#include "cli/format.h"

namespace mhub::cli {

std::string source_text(const registry::SourceSpec& source) {
  switch (source.kind) {
    case registry::SourceKind::hf: return "hf:" + source.repo + "@" + source.revision;
    case registry::SourceKind::url: return "url:" + source.url;
    case registry::SourceKind::bundled: return "bundled:" + source.path;
  }
  return "?";
}

int64_t required_bytes(const registry::CatalogueEntry& entry) {
  int64_t total = 0;
  for (const auto& file : entry.files) {
    if (file.optional) continue;
    if (file.size < 0) return -1;
    total += file.size;
  }
  return total;
}

nlohmann::json entry_summary_json(const registry::CatalogueEntry& entry) {
  nlohmann::json full = registry::to_json(entry);
  int64_t bytes = required_bytes(entry);
  return {
      {"name", entry.name},
      {"aliases", entry.aliases},
      {"description", entry.description},
      {"task", entry.task},
      {"family", entry.family},
      {"tags", entry.tags},
      {"format", entry.format},
      {"opset", entry.opset > 0 ? nlohmann::json(entry.opset) : nlohmann::json(nullptr)},
      {"source", full["source"]},
      {"verify", registry::verification_name(entry.verify)},
      {"size", bytes >= 0 ? nlohmann::json(bytes) : nlohmann::json(nullptr)},
  };
}

void print_entry_table(const std::vector<const registry::CatalogueEntry*>& entries) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "FORMAT", "TASK", "SIZE", "SOURCE"}};
  for (const auto* entry : entries) {
    int64_t bytes = required_bytes(*entry);
    std::string format = entry->format + (entry->opset > 0 ? " " + std::to_string(entry->opset) : "");
    rows.push_back({entry->name, format, entry->task.empty() ? "-" : entry->task,
                    bytes >= 0 ? human_bytes(uint64_t(bytes)) : "?", source_text(entry->source)});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

}  // namespace mhub::cli
