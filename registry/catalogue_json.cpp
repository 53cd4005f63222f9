// An entry back to the catalogue schema's JSON (what `mhub info --json` prints). Fields that
// were not stated are left out, so the output parses back into an equal entry.
#include "registry/catalogue.h"

namespace mhub::registry {

namespace {

using nlohmann::json;

json port_json(const IoPort& port) {
  json out = {{"name", port.name}};
  if (!port.type.empty()) out["type"] = port.type;
  if (port.has_shape) {
    json shape = json::array();
    for (const auto& dim : port.shape) {
      if (dim.value >= 0) shape.push_back(dim.value);
      else if (!dim.symbol.empty()) shape.push_back(dim.symbol);
      else shape.push_back(nullptr);
    }
    out["shape"] = shape;
  }
  return out;
}

json ports_json(const std::vector<IoPort>& ports) {
  json out = json::array();
  for (const auto& port : ports) out.push_back(port_json(port));
  return out;
}

json source_json(const SourceSpec& source) {
  json out = {{"kind", source_kind_name(source.kind)}};
  if (!source.repo.empty()) out["repo"] = source.repo;
  if (!source.revision.empty()) out["revision"] = source.revision;
  if (!source.endpoint.empty()) out["endpoint"] = source.endpoint;
  if (!source.path.empty()) out["path"] = source.path;
  if (!source.url.empty()) out["url"] = source.url;
  return out;
}

json preprocessing_json(const Preprocessing& pre) {
  json out = json::object();
  if (!pre.input_size.empty()) out["input_size"] = pre.input_size;
  if (!pre.test_input_size.empty()) out["test_input_size"] = pre.test_input_size;
  if (!pre.mean.empty()) out["mean"] = pre.mean;
  if (!pre.std.empty()) out["std"] = pre.std;
  if (pre.crop_pct > 0) out["crop_pct"] = pre.crop_pct;
  if (pre.test_crop_pct > 0) out["test_crop_pct"] = pre.test_crop_pct;
  if (!pre.crop_mode.empty()) out["crop_mode"] = pre.crop_mode;
  if (!pre.interpolation.empty()) out["interpolation"] = pre.interpolation;
  if (pre.num_classes > 0) out["num_classes"] = pre.num_classes;
  if (!pre.label_set.empty()) out["label_set"] = pre.label_set;
  if (!pre.label_names.empty()) out["label_names"] = pre.label_names;
  return out;
}

}  // namespace

nlohmann::json file_json(const FileSpec& file) {
  json out = {{"path", file.path}};
  if (!file.sha256.empty()) out["sha256"] = file.sha256;
  if (file.size >= 0) out["size"] = file.size;
  if (file.lfs) out["lfs"] = true;
  if (file.optional) out["optional"] = true;
  return out;
}

nlohmann::json to_json(const CatalogueEntry& entry) {
  json out = {{"name", entry.name}};
  if (!entry.aliases.empty()) out["aliases"] = entry.aliases;
  if (!entry.description.empty()) out["description"] = entry.description;
  if (!entry.tags.empty()) out["tags"] = entry.tags;
  if (!entry.task.empty()) out["task"] = entry.task;
  if (!entry.family.empty()) out["family"] = entry.family;
  out["source"] = source_json(entry.source);
  out["files"] = json::array();
  for (const auto& file : entry.files) out["files"].push_back(file_json(file));
  out["verify"] = verification_name(entry.verify);
  out["format"] = entry.format;
  if (entry.opset > 0) out["opset"] = entry.opset;
  if (!entry.onnx_version.empty()) out["onnx_version"] = entry.onnx_version;
  if (!entry.inputs.empty()) out["inputs"] = ports_json(entry.inputs);
  if (!entry.outputs.empty()) out["outputs"] = ports_json(entry.outputs);
  if (!entry.extra_ports.empty()) {
    out["extra_ports"] = json::object();
    for (const auto& [kind, ports] : entry.extra_ports) out["extra_ports"][kind] = ports_json(ports);
  }
  if (entry.preprocessing.present) out["preprocessing"] = preprocessing_json(entry.preprocessing);
  if (!entry.license.empty()) out["license"] = entry.license;
  if (!entry.homepage.empty()) out["homepage"] = entry.homepage;
  if (!entry.parent.empty()) out["parent"] = entry.parent;
  return out;
}

}  // namespace mhub::registry
