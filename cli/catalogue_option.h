// The global `--catalogue FILE` option (repeatable) and the catalogue every command sees:
// built-in models.json, then env MHUB_CATALOGUE (':'-separated files), then each --catalogue
// file, later layers replacing entries of the same name (registry::load_effective_catalogue).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "registry/catalogue.h"

namespace mhub::cli {

// Adds --catalogue to `app` and lets every subcommand already added accept it too.
void add_catalogue_option(CLI::App& app);
// The files given with --catalogue, in order (empty before parsing).
const std::vector<std::string>& catalogue_files();
// Loads and merges the layers once per process; throws mhub::Error naming file/entry/field.
const registry::Catalogue& effective_catalogue();

}  // namespace mhub::cli
