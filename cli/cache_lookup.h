// Is a catalogue file already on this machine? Looks in the Hugging Face cache layout
// (HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub):
//   models--ORG--NAME/snapshots/<commit>/<path>, with refs/<branch> naming the commit.
// MERGE NOTE: this is a stand-in until hub/ (the hub helper's cache API) is merged; replace the
// body of cached_file_path with hub's own lookup then. Nothing else in cli/ looks at the cache.
#pragma once

#include <filesystem>
#include <optional>

#include "registry/catalogue.h"

namespace mhub::cli {

// Where the file lies when it is present (and, when the catalogue knows its size, complete);
// nullopt otherwise. Bundled files are "present" at entry.base_dir / path. URL sources: nullopt
// (their cache layout belongs to hub/).
std::optional<std::filesystem::path> cached_file_path(const registry::CatalogueEntry& entry,
                                                      const registry::SourceSpec& source,
                                                      const registry::FileSpec& file);

// The Hugging Face hub cache folder the lookup uses.
std::filesystem::path hf_hub_cache_dir();

}  // namespace mhub::cli
