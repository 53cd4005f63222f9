#include "board/model_view.h"

#include <set>

#include "onnx_io/model_io.h"
#include "onnx_io/summary.h"

namespace mhub::board {

nlohmann::json describe_model(const std::filesystem::path& path) {
  const ir::Model model = onnx_io::load_model(path);
  nlohmann::json view = onnx_io::to_json(onnx_io::summarize(model));
  std::set<std::string> weights;
  for (const auto& t : model.graph.initializers) weights.insert(t.name);
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& node : model.graph.nodes) {
    if (nodes.size() >= kMaxDrawnNodes) break;
    nlohmann::json inputs = nlohmann::json::array();
    for (const auto& in : node.inputs)
      if (!in.empty() && !weights.count(in)) inputs.push_back(in);  // weights are not drawn as edges
    nodes.push_back({{"name", node.name}, {"op", node.op_type}, {"inputs", inputs}, {"outputs", node.outputs}});
  }
  view["graph_nodes"] = nodes;
  view["truncated"] = model.graph.nodes.size() > kMaxDrawnNodes;
  view["file_bytes"] = std::filesystem::file_size(path);
  return view;
}

}  // namespace mhub::board
