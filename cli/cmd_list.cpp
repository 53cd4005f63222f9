// mhub list [GLOB] [--tag T] [--json]
#include <iostream>
#include <memory>

#include "cli/catalogue_option.h"
#include "cli/catalogue_view.h"
#include "cli/commands.h"

namespace mhub::cli {

namespace {
struct ListOptions {
  std::string glob;
  std::string tag;
  bool json = false;
};
}  // namespace

void add_list(CLI::App& app) {
  auto options = std::make_shared<ListOptions>();
  CLI::App* command = app.add_subcommand(
      "list", "List the catalogue's models (built-in models.json plus --catalogue files), sorted by name.");
  command->add_option("GLOB", options->glob,
                      "Only names or aliases matching this shell pattern (* ? [a-z]), case-insensitive; "
                      "quote it so the shell leaves it alone, e.g. 'resnet*'");
  command->add_option("--tag", options->tag, "Only models carrying this tag (case-insensitive), e.g. vision");
  command->add_flag("--json", options->json,
                    "Print one JSON object {count, models: [{name, aliases, description, task, family, tags, "
                    "format, opset, source, verify, size}]}");
  command->callback([options] {
    const registry::Catalogue& catalogue = effective_catalogue();
    auto entries = registry::list_entries(catalogue, options->glob, options->tag);
    if (options->json) {
      nlohmann::json out = {{"count", entries.size()}, {"models", nlohmann::json::array()}};
      for (const auto* entry : entries) out["models"].push_back(entry_summary_json(*entry));
      std::cout << out.dump(2) << "\n";
      return;
    }
    if (entries.empty()) {
      std::cout << "No models match. Try 'mhub list' without a pattern, or 'mhub search WORDS'.\n";
      return;
    }
    print_entry_table(entries);
    std::cout << "\n" << entries.size() << " model" << (entries.size() == 1 ? "" : "s")
              << ". 'mhub info NAME' shows one in full; 'mhub search WORDS' finds by name, tag or task.\n";
  });
}

}  // namespace mhub::cli
