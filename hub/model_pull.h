// `mhub pull NAME[@REV]`: a catalogue entry's files into the cache.
//
// Cache repo ids: hf sources use their Hub repo; url sources use "mhub-url/<entry name>" and
// bundled ones "mhub-bundled/<entry name>", with the same layout (blobs named by sha256, a
// snapshot named by a commit-like id derived from the files' sha256s, refs/main naming it).
// Checks: a catalogue sha256 is compared with the Hub's X-Linked-Etag before any byte is
// fetched, and with the computed sha256 after; url sources need a sha256 for every file.
// A warm pull whose files all have catalogue sha256s already in the cache makes no request.
#pragma once

#include <filesystem>
#include <optional>

#include "hub/cache.h"
#include "hub/pull.h"
#include "registry/catalogue.h"

namespace mhub::hub {

// `endpoint_forced`: options.http.endpoint came from --endpoint and beats the source's endpoint.
PullResult pull_model(const PullOptions& options, const registry::ResolvedModel& model, bool endpoint_forced);

// The cache repo id a source's files live under (see above).
std::string cache_repo_for(const registry::CatalogueEntry& entry, const registry::SourceSpec& source);

// Where a catalogue file is in the cache (complete and, when the catalogue knows it, with the
// right sha256 name; a plain file copied into snapshots/, as huggingface_hub writes without
// symlink support, with the right size), if it is; bundled files are where the catalogue says.
// No network.
std::optional<std::filesystem::path> cached_model_file(const HubCache& cache, const registry::CatalogueEntry& entry,
                                                       const registry::SourceSpec& source,
                                                       const registry::FileSpec& file);

}  // namespace mhub::hub
