// mhub info NAME[@REVISION] [--json]
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/cache_lookup.h"
#include "cli/catalogue_option.h"
#include "cli/catalogue_view.h"
#include "cli/commands.h"
#include "cli/format.h"

namespace mhub::cli {

namespace {

struct InfoOptions {
  std::string name;
  bool json = false;
};

std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

template <typename Number>
std::string number_list(const std::vector<Number>& numbers) {
  std::ostringstream text;
  text << "[";
  for (size_t i = 0; i < numbers.size(); ++i) text << (i ? ", " : "") << numbers[i];
  return text.str() + "]";
}

std::string port_text(const registry::IoPort& port) {
  std::string text = port.name + (port.type.empty() ? "" : "  " + port.type);
  if (!port.has_shape) return text;
  std::vector<std::string> dims;
  for (const auto& dim : port.shape)
    dims.push_back(dim.value >= 0 ? std::to_string(dim.value) : dim.symbol.empty() ? "?" : dim.symbol);
  return text + " [" + join(dims, ",") + "]";
}

void row(const std::string& key, const std::string& value) {
  if (value.empty()) return;
  std::string padded = key;
  padded.resize(13, ' ');
  std::cout << "  " << padded << value << "\n";
}

std::string preprocessing_text(const registry::Preprocessing& pre) {
  std::vector<std::string> parts;
  if (!pre.input_size.empty()) {
    std::vector<std::string> dims;
    for (auto d : pre.input_size) dims.push_back(std::to_string(d));
    parts.push_back("input " + join(dims, "x"));
  }
  if (!pre.mean.empty()) parts.push_back("mean " + number_list(pre.mean) + " std " + number_list(pre.std));
  if (pre.crop_pct > 0) {
    std::ostringstream crop;
    crop << "crop " << pre.crop_pct << (pre.crop_mode.empty() ? "" : " " + pre.crop_mode);
    parts.push_back(crop.str());
  }
  if (!pre.interpolation.empty()) parts.push_back(pre.interpolation);
  if (!pre.test_input_size.empty()) {
    std::vector<std::string> dims;
    for (auto d : pre.test_input_size) dims.push_back(std::to_string(d));
    std::ostringstream test;
    test << "test input " << join(dims, "x");
    if (pre.test_crop_pct > 0) test << " crop " << pre.test_crop_pct;
    parts.push_back(test.str());
  }
  return join(parts);
}

std::string labels_text(const registry::Preprocessing& pre) {
  std::string text;
  if (pre.num_classes > 0) text = std::to_string(pre.num_classes) + " classes";
  if (!pre.label_set.empty()) text += (text.empty() ? "" : ", ") + std::string("label set ") + pre.label_set;
  if (!pre.label_names.empty()) text += (text.empty() ? "" : ": ") + join(pre.label_names);
  return text;
}

void print_card(const registry::ResolvedModel& resolved) {
  const registry::CatalogueEntry& entry = *resolved.entry;
  std::cout << entry.name;
  if (!entry.aliases.empty()) std::cout << "  (also: " << join(entry.aliases) << ")";
  std::cout << "\n";
  if (!entry.description.empty()) std::cout << "  " << entry.description << "\n";
  row("task", entry.task);
  row("family", entry.family);
  row("tags", join(entry.tags));
  std::string format = entry.format;
  if (entry.opset > 0) format += ", opset " + std::to_string(entry.opset);
  if (!entry.onnx_version.empty()) format += " (ONNX " + entry.onnx_version + ")";
  row("format", format);
  row("source", source_text(resolved.source) + (resolved.source.endpoint.empty() ? "" : " via " + resolved.source.endpoint));
  row("verify", resolved.verify == registry::Verification::sha256
                    ? "sha256 from the catalogue"
                    : "hub-etag (the hub's X-Linked-Etag is checked at pull time)");
  row("license", entry.license);
  row("homepage", entry.homepage);
  row("parent", entry.parent);
  for (const auto& port : entry.inputs) row("input", port_text(port));
  for (const auto& port : entry.outputs) row("output", port_text(port));
  for (const auto& [kind, ports] : entry.extra_ports)
    for (const auto& port : ports) row(kind, port_text(port));
  row("preprocess", preprocessing_text(entry.preprocessing));
  row("labels", labels_text(entry.preprocessing));
  std::cout << "  files\n";
  bool all_cached = true;
  for (const auto& file : resolved.files) {
    auto cached = cached_file_path(entry, resolved.source, file);
    if (!file.optional && !cached) all_cached = false;
    std::cout << "    " << file.path << (file.optional ? " (optional)" : "") << "  "
              << (file.size >= 0 ? human_bytes(uint64_t(file.size)) : "size ?") << "  "
              << (file.sha256.empty() ? "no sha256" : "sha256 " + file.sha256.substr(0, 12) + "...") << "  "
              << (cached ? "cached: " + cached->string() : "not cached") << "\n";
  }
  row("catalogue", entry.origin);
  if (!all_cached && entry.source.kind != registry::SourceKind::bundled)
    std::cout << "\nFetch it with: mhub pull " << entry.name
              << (resolved.revision_overridden ? "@" + resolved.source.revision : "") << "\n";
}

}  // namespace

void add_info(CLI::App& app) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* command = app.add_subcommand(
      "info", "Show everything the catalogue says about one model: source, files with sizes and "
              "sha256, whether each is in the local cache, io ports, preprocessing, labels, license.");
  command->add_option("NAME", options->name,
                      "A model name or alias, optionally with @REVISION (a branch, tag or commit of its "
                      "Hugging Face repo), e.g. resnet50 or timm/resnet50.a1_in1k@main")
      ->required();
  command->add_flag("--json", options->json,
                    "Print the entry as one JSON object in the catalogue schema, plus requested, revision, "
                    "revision_overridden, origin, size, and per file cached (bool) and cache_path");
  command->callback([options] {
    const registry::Catalogue& catalogue = effective_catalogue();
    registry::ResolvedModel resolved = registry::resolve(catalogue, options->name);
    if (!options->json) {
      print_card(resolved);
      return;
    }
    const registry::CatalogueEntry& entry = *resolved.entry;
    nlohmann::json out = registry::to_json(entry);
    out["source"] = registry::to_json(entry)["source"];
    out["source"]["revision"] = resolved.source.revision;
    out["files"] = nlohmann::json::array();
    for (const auto& file : resolved.files) {
      nlohmann::json item = registry::file_json(file);
      auto cached = cached_file_path(entry, resolved.source, file);
      item["cached"] = cached.has_value();
      item["cache_path"] = cached ? nlohmann::json(cached->string()) : nlohmann::json(nullptr);
      out["files"].push_back(item);
    }
    out["verify"] = registry::verification_name(resolved.verify);
    out["requested"] = options->name;
    out["revision"] = resolved.source.kind == registry::SourceKind::hf ? nlohmann::json(resolved.source.revision)
                                                                       : nlohmann::json(nullptr);
    out["revision_overridden"] = resolved.revision_overridden;
    out["origin"] = entry.origin;
    int64_t bytes = required_bytes(entry);
    out["size"] = bytes >= 0 && !resolved.revision_overridden ? nlohmann::json(bytes) : nlohmann::json(nullptr);
    std::cout << out.dump(2) << "\n";
  });
}

}  // namespace mhub::cli
