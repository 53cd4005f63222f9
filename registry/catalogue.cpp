// Layering catalogues, the built-in catalogue, and resolving "name[@revision]" to an entry.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

#include "common/error.h"
#include "common/printable.h"
#include "common/safe_path.h"
#include "registry/catalogue.h"
#include "registry/catalogue_detail.h"

namespace mhub::registry {

// Generated at build time from the repo's models.json (registry/embed_catalogue.cmake).
extern const char* const kBuiltinCatalogueChunks[];
extern const size_t kBuiltinCatalogueChunkCount;

const char* source_kind_name(SourceKind kind) {
  switch (kind) {
    case SourceKind::hf: return "hf";
    case SourceKind::url: return "url";
    case SourceKind::bundled: return "bundled";
  }
  return "?";
}

const char* verification_name(Verification v) { return v == Verification::sha256 ? "sha256" : "hub-etag"; }

std::string to_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  // One row of the classic dynamic-programming table at a time.
  std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitute});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

void check_unique_names(const std::vector<CatalogueEntry>& entries) {
  struct Owner {
    const CatalogueEntry* entry;
    std::string field;
  };
  std::map<std::string, Owner> owners;  // lower-cased name or alias -> who has it
  for (const auto& entry : entries) {
    std::vector<std::pair<std::string, std::string>> claims = {{"name", entry.name}};
    for (size_t i = 0; i < entry.aliases.size(); ++i)
      claims.push_back({"aliases[" + std::to_string(i) + "]", entry.aliases[i]});
    for (const auto& [field, text] : claims) {
      auto [it, inserted] = owners.insert({to_lower(text), Owner{&entry, field}});
      if (inserted) continue;
      const Owner& earlier = it->second;
      if (earlier.entry == &entry && field != "name") continue;  // alias repeating own name: harmless
      std::string what = earlier.field == "name" ? "the name" : "an alias";
      std::string from = earlier.entry->origin == entry.origin ? "" : " (from " + earlier.entry->origin + ")";
      std::string whom = earlier.entry->name == entry.name ? "an earlier entry" : "entry '" + earlier.entry->name + "'";
      throw Error(ErrorCategory::format,
                  entry.origin + ": entry '" + entry.name + "': field '" + field + "': '" + text + "' is already " +
                      what + " of " + whom + from + "; names and aliases must be unique (ignoring case)");
    }
  }
}

Catalogue merge(const std::vector<Catalogue>& layers) {
  Catalogue merged;
  std::map<std::string, size_t> position;  // name -> index in merged.entries
  for (const auto& layer : layers) {
    merged.origins.insert(merged.origins.end(), layer.origins.begin(), layer.origins.end());
    for (const auto& [from, to] : layer.repo_overrides) merged.repo_overrides[from] = to;
    for (const auto& entry : layer.entries) {
      auto it = position.find(entry.name);
      if (it != position.end()) {
        merged.entries[it->second] = entry;
      } else {
        position[entry.name] = merged.entries.size();
        merged.entries.push_back(entry);
      }
    }
  }
  for (auto& entry : merged.entries) {
    if (entry.source.kind != SourceKind::hf) continue;
    auto it = merged.repo_overrides.find(entry.source.repo);
    if (it == merged.repo_overrides.end()) continue;
    entry.source.repo = it->second.repo;
    if (!it->second.endpoint.empty()) entry.source.endpoint = it->second.endpoint;
  }
  check_unique_names(merged.entries);
  for (const auto& entry : merged.entries) {
    if (entry.parent.empty() || position.count(entry.parent)) continue;
    throw Error(ErrorCategory::format, entry.origin + ": entry '" + entry.name + "': field 'parent': no entry named '" +
                                           entry.parent + "'; add it to a catalogue or fix the name");
  }
  return merged;
}

const Catalogue& builtin_catalogue() {
  // Parsed once; the text is part of the binary, so a failure here is a build bug (tests parse
  // the same models.json).
  static const Catalogue catalogue = [] {
    std::string text;
    for (size_t i = 0; i < kBuiltinCatalogueChunkCount; ++i) text += kBuiltinCatalogueChunks[i];
    std::filesystem::path root = MHUB_SOURCE_DIR;
    if (const char* env = std::getenv("MHUB_BUNDLED_ROOT"); env && *env) root = env;
    return merge({parse_catalogue(text, "models.json", root)});
  }();
  return catalogue;
}

Catalogue load_effective_catalogue(const std::vector<std::filesystem::path>& extra_files) {
  std::vector<Catalogue> layers = {builtin_catalogue()};
  if (const char* env = std::getenv("MHUB_CATALOGUE"); env && *env) {
    std::string list = env;
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(':', start);
      if (end == std::string::npos) end = list.size();
      if (end > start) layers.push_back(load_catalogue(list.substr(start, end - start)));
      start = end + 1;
    }
  }
  for (const auto& file : extra_files) layers.push_back(load_catalogue(file));
  if (layers.size() == 1) return layers[0];
  return merge(layers);
}

std::pair<std::string, std::string> split_revision(std::string_view request) {
  size_t at = request.find('@');
  if (at == std::string_view::npos) return {std::string(request), ""};
  std::string name(request.substr(0, at)), revision(request.substr(at + 1));
  if (name.empty() || revision.empty())
    throw Error(ErrorCategory::usage, "'" + std::string(request) + "': expected NAME or NAME@REVISION (a branch, tag or commit)");
  if (std::string problem = path_grammar_problem(revision, PathGrammar::ref); !problem.empty())
    throw Error(ErrorCategory::usage, "'" + printable(request) + "': revision '" + printable(revision) + "' " + problem +
                                          "; use a branch, tag or commit");
  return {name, revision};
}

const CatalogueEntry* find_entry(const Catalogue& catalogue, std::string_view name_or_alias) {
  for (const auto& entry : catalogue.entries)
    if (entry.name == name_or_alias) return &entry;
  for (const auto& entry : catalogue.entries)
    for (const auto& alias : entry.aliases)
      if (alias == name_or_alias) return &entry;
  // Names are unique ignoring case (check_unique_names), so this finds at most one.
  std::string lower = to_lower(name_or_alias);
  for (const auto& entry : catalogue.entries) {
    if (to_lower(entry.name) == lower) return &entry;
    for (const auto& alias : entry.aliases)
      if (to_lower(alias) == lower) return &entry;
  }
  return nullptr;
}

std::vector<std::string> closest_names(const Catalogue& catalogue, std::string_view name, size_t how_many) {
  std::string wanted = to_lower(name);
  std::vector<std::pair<size_t, std::string>> scored;
  auto consider = [&](const std::string& candidate) {
    std::string lower = to_lower(candidate);
    size_t score = edit_distance(wanted, lower);
    // "resnet" should suggest "resnet50-v1-7" even though many letters differ.
    if (!wanted.empty() && lower.find(wanted) != std::string::npos) score = std::min<size_t>(score, 1);
    size_t limit = std::max<size_t>(2, wanted.size() / 3);
    if (score <= limit) scored.push_back({score, candidate});
  };
  for (const auto& entry : catalogue.entries) {
    consider(entry.name);
    for (const auto& alias : entry.aliases) consider(alias);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> names;
  for (size_t i = 0; i < scored.size() && names.size() < how_many; ++i) names.push_back(scored[i].second);
  return names;
}

ResolvedModel resolve(const Catalogue& catalogue, std::string_view request) {
  auto [name, revision] = split_revision(request);
  const CatalogueEntry* entry = find_entry(catalogue, name);
  if (!entry) {
    std::string message = "unknown model '" + name + "'";
    std::vector<std::string> close = closest_names(catalogue, name, 5);
    if (!close.empty()) {
      message += "; did you mean: ";
      for (size_t i = 0; i < close.size(); ++i) message += (i ? ", " : "") + close[i];
      message += "?";
    }
    message += " Try: mhub search " + name;
    throw Error(ErrorCategory::usage, message);
  }
  ResolvedModel resolved;
  resolved.entry = entry;
  resolved.source = entry->source;
  resolved.files = entry->files;
  resolved.verify = entry->verify;
  if (!revision.empty() && revision != entry->source.revision) {
    if (entry->source.kind != SourceKind::hf)
      throw Error(ErrorCategory::usage, "'" + entry->name + "' comes from a " + source_kind_name(entry->source.kind) +
                                            " source, which has no revisions; drop '@" + revision + "'");
    // The catalogue's checksums describe its own revision; another revision's files can only
    // be checked against what the hub reports for them.
    resolved.source.revision = revision;
    for (auto& file : resolved.files) file.sha256.clear(), file.size = -1;
    resolved.verify = Verification::hub_etag;
    resolved.revision_overridden = true;
  }
  return resolved;
}

}  // namespace mhub::registry
