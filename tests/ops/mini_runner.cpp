#include "tests/ops/mini_runner.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "common/error.h"
#include "engine/core/op_context.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"
#include "onnx_io/model_io.h"
#include "onnx_io/onnx_schema.pb.h"
#include "onnx_io/tensor_proto.h"
#include "runner/compare.h"

namespace mhub::test {

using engine::Value;
namespace fs = std::filesystem;

namespace {

using Env = std::unordered_map<std::string, Value>;

class MiniScope : public engine::ExecutionScope {
 public:
  MiniScope(int64_t opset, bool allow_fast) : opset_(opset), allow_fast_(allow_fast), pool_(2) {}

  ir::Tensor allocate(ir::DataType dtype, const std::vector<int64_t>& dims) override {
    if (dtype == ir::DataType::string) {
      ir::Tensor t;
      t.dtype = dtype;
      t.dims = dims;
      t.strings.resize(ir::element_count(dims));
      return t;
    }
    return ir::Tensor::zeros(dtype, dims);
  }

  std::vector<Value> run_subgraph(const ir::Graph& graph, std::vector<Value> inputs) override {
    Env env;
    for (size_t i = 0; i < graph.inputs.size() && i < inputs.size(); ++i)
      env[graph.inputs[i].name] = std::move(inputs[i]);
    return run(graph, env);
  }

  engine::ThreadPool& threads() override { return pool_; }

  std::vector<Value> run(const ir::Graph& graph, Env& env) {
    for (const auto& init : graph.initializers)
      if (!env.count(init.name)) env[init.name] = Value::of(init);
    stack_.push_back(&env);
    for (size_t index : graph.topological_order()) run_node(graph.nodes[index], env);
    stack_.pop_back();
    std::vector<Value> outputs;
    for (const auto& out : graph.outputs) {
      stack_.push_back(&env);
      const Value* v = lookup(out.name);
      stack_.pop_back();
      if (!v) throw_error(ErrorCategory::format, "mini runner: graph output " + out.name + " was not produced");
      outputs.push_back(*v);
    }
    return outputs;
  }

 private:
  const Value* lookup(const std::string& name) const {
    for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) {
      auto found = (*it)->find(name);
      if (found != (*it)->end()) return &found->second;
    }
    return nullptr;
  }

  void run_node(const ir::Node& node, Env& env) {
    if (node.op == ir::OpKind::Constant) {
      const ir::Attribute& a = node.attributes.at(0);
      ir::Tensor t;
      if (a.name == "value") t = *a.t;
      else if (a.name == "value_float") t = ir::Tensor::from_bytes(ir::DataType::float32, {}, &a.f, 4);
      else if (a.name == "value_int") t = ir::Tensor::from_bytes(ir::DataType::int64, {}, &a.i, 8);
      else if (a.name == "value_floats")
        t = ir::Tensor::from_bytes(ir::DataType::float32, {int64_t(a.floats.size())}, a.floats.data(), 4 * a.floats.size());
      else if (a.name == "value_ints")
        t = ir::Tensor::from_bytes(ir::DataType::int64, {int64_t(a.ints.size())}, a.ints.data(), 8 * a.ints.size());
      else if (a.name == "value_string") { t.dtype = ir::DataType::string; t.strings = {a.s}; }
      else if (a.name == "value_strings") { t.dtype = ir::DataType::string; t.dims = {int64_t(a.strings.size())}; t.strings = a.strings; }
      else throw_error(ErrorCategory::unsupported, "mini runner: Constant attribute " + a.name);
      env[node.outputs[0]] = Value::of(std::move(t));
      return;
    }
    std::vector<const Value*> inputs;
    std::vector<ir::DataType> types;
    for (const auto& name : node.inputs) {
      const Value* v = name.empty() ? nullptr : lookup(name);
      if (!name.empty() && !v) throw_error(ErrorCategory::format, "mini runner: value " + name + " is missing");
      inputs.push_back(v);
      types.push_back(v && v->is_tensor() ? v->tensor.dtype : ir::DataType::undefined);
    }
    if (node.op == ir::OpKind::Identity) {
      env[node.outputs[0]] = *inputs[0];
      return;
    }
    const engine::KernelDef* kernel = engine::find_kernel(engine::cpu::cpu_kernel_table(), node, types, allow_fast_);
    if (!kernel) throw_error(ErrorCategory::unsupported, "mini runner: no kernel for " + node.op_type);
    std::vector<Value> outputs(node.outputs.size());
    engine::OpContext ctx(node, opset_, inputs, outputs, *this);
    kernel->run(ctx);
    for (size_t i = 0; i < node.outputs.size(); ++i)
      if (!node.outputs[i].empty()) env[node.outputs[i]] = std::move(outputs[i]);
  }

  int64_t opset_;
  bool allow_fast_;
  engine::ThreadPool pool_;
  std::vector<Env*> stack_;
};

bool has_kernel(const ir::Node& node) {
  if (node.op == ir::OpKind::Constant || node.op == ir::OpKind::Identity) return true;
  for (const auto& row : engine::cpu::cpu_kernel_table())
    if (row.op == node.op) return true;
  return false;
}

// The first op the graph (or a nested subgraph) needs that has no kernel; "" when all do.
std::string missing_op(const ir::Graph& graph) {
  for (const auto& node : graph.nodes) {
    if (!has_kernel(node)) return node.op_type;
    for (const auto& a : node.attributes) {
      if (a.g) if (auto m = missing_op(*a.g); !m.empty()) return m;
      for (const auto& g : a.graphs) if (auto m = missing_op(*g); !m.empty()) return m;
    }
  }
  return {};
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ir::Tensor tensor_of(const onnxpb::TensorProto& proto, const std::string& context) {
  onnxpb::TensorProto copy = proto;
  return onnx_io::tensor_from_proto(copy, context);
}

// Reads a .pb file according to the declared type of the value it holds.
Value read_value(const fs::path& path, const std::optional<ir::Type>& type) {
  using K = ir::Type::Kind;
  K kind = type ? type->kind : K::tensor;
  if (kind == K::optional) {
    onnxpb::OptionalProto proto;
    proto.ParseFromString(read_bytes(path));
    if (proto.has_tensor_value()) return Value::of(tensor_of(proto.tensor_value(), path.string()));
    if (proto.has_sequence_value()) {
      std::vector<ir::Tensor> items;
      for (const auto& t : proto.sequence_value().tensor_values()) items.push_back(tensor_of(t, path.string()));
      ir::DataType elem = type->inner && type->inner->inner ? type->inner->inner->dtype() : ir::DataType::undefined;
      return Value::of_sequence(std::move(items), elem);
    }
    return Value::none();
  }
  if (kind == K::sequence) {
    onnxpb::SequenceProto proto;
    proto.ParseFromString(read_bytes(path));
    std::vector<ir::Tensor> items;
    for (const auto& t : proto.tensor_values()) items.push_back(tensor_of(t, path.string()));
    ir::DataType elem = type->inner ? type->inner->dtype() : ir::DataType::undefined;
    return Value::of_sequence(std::move(items), elem);
  }
  return Value::of(onnx_io::read_tensor_file(path.string()));
}

}  // namespace

std::vector<Value> run_graph_for_test(const ir::Graph& graph, int64_t opset, std::vector<Value> inputs,
                                      bool allow_fast) {
  MiniScope scope(opset, allow_fast);
  return scope.run_subgraph(graph, std::move(inputs));
}

CaseOutcome run_backend_case(const fs::path& case_dir) {
  CaseOutcome outcome;
  try {
    ir::Model model = onnx_io::load_model(case_dir / "model.onnx");
    if (auto m = missing_op(model.graph); !m.empty()) {
      outcome.detail = "no kernel for " + m;
      return outcome;
    }
    int64_t opset = 0;
    for (const auto& imp : model.opset_imports)
      if (imp.domain.empty() || imp.domain == "ai.onnx") opset = imp.version;
    std::vector<std::string> initializer_names;
    for (const auto& t : model.graph.initializers) initializer_names.push_back(t.name);
    for (const auto& set : fs::directory_iterator(case_dir)) {
      if (!set.is_directory()) continue;
      std::vector<Value> inputs;
      for (size_t i = 0; i < model.graph.inputs.size(); ++i) {
        fs::path file = set.path() / ("input_" + std::to_string(i) + ".pb");
        if (!fs::exists(file)) break;
        inputs.push_back(read_value(file, model.graph.inputs[i].type));
      }
      std::vector<Value> actual = run_graph_for_test(model.graph, opset, std::move(inputs));
      for (size_t i = 0; i < model.graph.outputs.size(); ++i) {
        fs::path file = set.path() / ("output_" + std::to_string(i) + ".pb");
        Value expected = read_value(file, model.graph.outputs[i].type);
        if (auto d = runner::compare_values(actual.at(i), expected)) {
          outcome.result = CaseResult::failed;
          outcome.detail = "output " + std::to_string(i) + ": " + *d;
          return outcome;
        }
      }
    }
    outcome.result = CaseResult::passed;
  } catch (const std::exception& e) {
    outcome.result = CaseResult::failed;
    outcome.detail = e.what();
  }
  return outcome;
}

}  // namespace mhub::test
