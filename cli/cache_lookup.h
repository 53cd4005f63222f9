// Is a catalogue file already on this machine? Asks hub/ (hub::cached_model_file), which knows
// the cache layout (HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub) and where
// url and bundled sources live in it. Nothing else in cli/ looks at the cache.
#pragma once

#include <filesystem>
#include <optional>

#include "registry/catalogue.h"

namespace mhub::cli {

// Where the file lies when it is present (and, when the catalogue knows its size, complete);
// nullopt otherwise. Bundled files are "present" at entry.base_dir / path.
std::optional<std::filesystem::path> cached_file_path(const registry::CatalogueEntry& entry,
                                                      const registry::SourceSpec& source,
                                                      const registry::FileSpec& file);

// The Hugging Face hub cache folder the lookup uses.
std::filesystem::path hf_hub_cache_dir();

}  // namespace mhub::cli
