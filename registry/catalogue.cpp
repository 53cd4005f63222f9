// Skeleton: the API compiles; bodies are filled in by the following commits.
#include "registry/catalogue.h"

#include "common/error.h"

namespace mhub::registry {

namespace {
[[noreturn]] void not_yet(const char* what) {
  throw Error(ErrorCategory::unsupported, std::string("registry: ") + what + " is not implemented yet");
}
}  // namespace

const char* source_kind_name(SourceKind kind) {
  switch (kind) {
    case SourceKind::hf: return "hf";
    case SourceKind::url: return "url";
    case SourceKind::bundled: return "bundled";
  }
  return "?";
}
const char* verification_name(Verification v) { return v == Verification::sha256 ? "sha256" : "hub-etag"; }

Catalogue parse_catalogue(std::string_view, const std::string&, const std::filesystem::path&) { not_yet("parse_catalogue"); }
Catalogue load_catalogue(const std::filesystem::path&) { not_yet("load_catalogue"); }
const Catalogue& builtin_catalogue() { not_yet("builtin_catalogue"); }
Catalogue merge(const std::vector<Catalogue>&) { not_yet("merge"); }
Catalogue load_effective_catalogue(const std::vector<std::filesystem::path>&) { not_yet("load_effective_catalogue"); }
std::pair<std::string, std::string> split_revision(std::string_view) { not_yet("split_revision"); }
ResolvedModel resolve(const Catalogue&, std::string_view) { not_yet("resolve"); }
const CatalogueEntry* find_entry(const Catalogue&, std::string_view) { not_yet("find_entry"); }
bool glob_match(std::string_view, std::string_view) { not_yet("glob_match"); }
std::vector<const CatalogueEntry*> list_entries(const Catalogue&, std::string_view, std::string_view) { not_yet("list_entries"); }
std::vector<SearchHit> search(const Catalogue&, std::string_view) { not_yet("search"); }
std::vector<std::string> closest_names(const Catalogue&, std::string_view, size_t) { not_yet("closest_names"); }
nlohmann::json to_json(const CatalogueEntry&) { not_yet("to_json"); }

}  // namespace mhub::registry
