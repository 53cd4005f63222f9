// What `mhub inspect` reports about a model: header, ports, op histogram, parameters,
// external data files. Pure data; cli/ renders it as text or JSON.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/ir/graph.h"

namespace mhub::onnx_io {

struct PortSummary {
  std::string name;
  std::string dtype;              // "float", "seq(float)", ...
  std::vector<std::string> dims;  // "1", "batch", "?"; empty with has_shape=false: rank unknown
  bool has_shape = false;
};

struct ModelSummary {
  int64_t ir_version = 0;
  std::vector<ir::OpsetImport> opsets;
  std::string producer;  // "pytorch 1.13.1"
  std::string graph_name;
  ir::StringPairs metadata;  // the model's metadata_props, in file order
  std::vector<PortSummary> inputs;   // graph inputs that are not initializers
  std::vector<PortSummary> outputs;
  std::map<std::string, int64_t> op_histogram;  // "Conv" or "domain:Op" -> count, subgraphs included
  int64_t node_count = 0;
  int64_t parameter_count = 0;  // elements in initializers (subgraphs included)
  int64_t parameter_bytes = 0;
  int64_t initializer_count = 0;
  std::map<std::string, int64_t> external_files;  // location -> bytes referenced
  int64_t function_count = 0;
};

ModelSummary summarize(const ir::Model& model);
std::string type_text(const ir::Type& type);
nlohmann::json to_json(const ModelSummary& summary);

}  // namespace mhub::onnx_io
