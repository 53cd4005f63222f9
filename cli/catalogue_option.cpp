#include "cli/catalogue_option.h"

#include <memory>

namespace mhub::cli {

namespace {
std::vector<std::string>& files_storage() {
  static std::vector<std::string> files;
  return files;
}
}  // namespace

void add_catalogue_option(CLI::App& app) {
  app.add_option("--catalogue", files_storage(),
                 "A catalogue JSON file layered over the built-in one (repeatable; later files "
                 "replace entries of the same name). Env MHUB_CATALOGUE adds files too "
                 "(':'-separated), before these. Schema: docs/CATALOGUE.md")
      ->type_name("FILE")
      ->allow_extra_args(false);  // one file per --catalogue, so a following GLOB or NAME stays positional
  // Let `mhub list --catalogue my.json` work as well as `mhub --catalogue my.json list`.
  for (CLI::App* command : app.get_subcommands({})) command->fallthrough();
}

const std::vector<std::string>& catalogue_files() { return files_storage(); }

const registry::Catalogue& effective_catalogue() {
  static std::unique_ptr<registry::Catalogue> catalogue;
  if (!catalogue) {
    std::vector<std::filesystem::path> files(files_storage().begin(), files_storage().end());
    catalogue = std::make_unique<registry::Catalogue>(registry::load_effective_catalogue(files));
  }
  return *catalogue;
}

}  // namespace mhub::cli
