// mhub search TEXT [--json] [--limit N]
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli/catalogue_option.h"
#include "cli/catalogue_view.h"
#include "cli/commands.h"

namespace mhub::cli {

namespace {
struct SearchOptions {
  std::vector<std::string> words;
  size_t limit = 20;
  bool json = false;
};
}  // namespace

void add_search(CLI::App& app) {
  auto options = std::make_shared<SearchOptions>();
  CLI::App* command = app.add_subcommand(
      "search", "Find models by words, best match first. Every word must match the name, an alias, "
                "a tag, the task, the family or the description; matches in the name rank highest.");
  command->add_option("TEXT", options->words, "One or more words, e.g. resnet or 'image classification int8'")
      ->required();
  command->add_option("--limit", options->limit, "Show at most this many results (0 = all)")->capture_default_str();
  command->add_flag("--json", options->json,
                    "Print one JSON object {query, count, results: [{score, matched_field, name, aliases, "
                    "description, task, family, tags, format, opset, source, verify, size}]}");
  command->callback([options] {
    std::string text;
    for (const auto& word : options->words) text += (text.empty() ? "" : " ") + word;
    auto hits = registry::search(effective_catalogue(), text);
    size_t total = hits.size();
    if (options->limit > 0 && hits.size() > options->limit) hits.resize(options->limit);
    if (options->json) {
      nlohmann::json out = {{"query", text}, {"count", total}, {"results", nlohmann::json::array()}};
      for (const auto& hit : hits) {
        nlohmann::json item = {{"score", hit.score}, {"matched_field", hit.matched_field}};
        item.update(entry_summary_json(*hit.entry));
        out["results"].push_back(item);
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    if (hits.empty()) {
      std::cout << "Nothing matches '" << text << "'. Try fewer or shorter words, or 'mhub list' to see all.\n";
      return;
    }
    std::vector<const registry::CatalogueEntry*> entries;
    for (const auto& hit : hits) entries.push_back(hit.entry);
    print_entry_table(entries);
    std::cout << "\n" << total << " match" << (total == 1 ? "" : "es");
    if (total > hits.size()) std::cout << " (first " << hits.size() << " shown; --limit 0 shows all)";
    std::cout << ". 'mhub info NAME' shows one in full.\n";
  });
}

}  // namespace mhub::cli
