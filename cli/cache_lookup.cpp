#include "cli/cache_lookup.h"

#include "hub/cache.h"
#include "hub/model_pull.h"

namespace mhub::cli {

namespace fs = std::filesystem;

fs::path hf_hub_cache_dir() { return hub::default_cache_dir(); }

std::optional<fs::path> cached_file_path(const registry::CatalogueEntry& entry, const registry::SourceSpec& source,
                                         const registry::FileSpec& file) {
  return hub::cached_model_file(hub::HubCache(hf_hub_cache_dir()), entry, source, file);
}

}  // namespace mhub::cli
