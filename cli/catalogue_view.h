// How list/search/info show catalogue entries: one-line summaries and their JSON form.
// JSON keys of a summary (documented in docs/CATALOGUE.md, "Command output"):
//   name, aliases, description, task, family, tags, format, opset (null if unknown),
//   source {kind, repo, revision, endpoint, path, url}, verify, size (bytes of the required
//   files, null when any is unknown)
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "registry/catalogue.h"

namespace mhub::cli {

nlohmann::json entry_summary_json(const registry::CatalogueEntry& entry);
// "hf:org/name@main", "url:https://...", "bundled:models/x.onnx"
std::string source_text(const registry::SourceSpec& source);
// Total bytes of the non-optional files; -1 when any size is unknown.
int64_t required_bytes(const registry::CatalogueEntry& entry);
// Prints rows of NAME FORMAT TASK SIZE SOURCE, columns padded to the widest cell.
void print_entry_table(const std::vector<const registry::CatalogueEntry*>& entries);

}  // namespace mhub::cli
