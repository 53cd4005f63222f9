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

namespace mhub::test {

using engine::Value;
namespace fs = std::filesystem;

namespace {

using Env = std::unordered_map<std::string, Value>;

class MiniScope : public engine::ExecutionScope {
 public:
  explicit MiniScope(int64_t opset) : opset_(opset), pool_(2) {}

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
    const engine::KernelDef* kernel = engine::find_kernel(engine::cpu::cpu_kernel_table(), node, types);
    if (!kernel) throw_error(ErrorCategory::unsupported, "mini runner: no kernel for " + node.op_type);
    std::vector<Value> outputs(node.outputs.size());
    engine::OpContext ctx(node, opset_, inputs, outputs, *this);
    kernel->run(ctx);
    for (size_t i = 0; i < node.outputs.size(); ++i)
      if (!node.outputs[i].empty()) env[node.outputs[i]] = std::move(outputs[i]);
  }

  int64_t opset_;
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

bool is_exact(ir::DataType d) { return !ir::is_float(d); }

std::string compare_tensors(const ir::Tensor& e, const ir::Tensor& a) {
  if (e.dtype != a.dtype)
    return "dtype " + std::string(ir::name_of(a.dtype)) + " != expected " + std::string(ir::name_of(e.dtype));
  if (e.dims != a.dims) {
    std::string s = "shape [";
    for (auto d : a.dims) s += std::to_string(d) + ",";
    s += "] != expected [";
    for (auto d : e.dims) s += std::to_string(d) + ",";
    return s + "]";
  }
  uint64_t n = e.numel();
  if (e.dtype == ir::DataType::string) {
    for (uint64_t i = 0; i < n; ++i)
      if (e.strings[i] != a.strings[i]) return "string " + std::to_string(i) + ": '" + a.strings[i] + "' != '" + e.strings[i] + "'";
    return {};
  }
  int bits = ir::bits_of(e.dtype);
  bool plain = e.dtype == ir::DataType::float32 || e.dtype == ir::DataType::float64 ||
               e.dtype == ir::DataType::float16 || e.dtype == ir::DataType::bfloat16;
  if (bits < 8 || (ir::is_float(e.dtype) && !plain) || e.dtype == ir::DataType::complex64 ||
      e.dtype == ir::DataType::complex128) {
    // Packed or exotic types: compare bytes (NaN payloads aside, the suite's values are exact).
    if (std::memcmp(e.bytes(), a.bytes(), e.byte_size()) != 0 && e.dtype != ir::DataType::complex64)
      return "bytes differ";
    if (e.dtype == ir::DataType::complex64) {
      const float* x = e.data<float>();
      const float* y = a.data<float>();
      for (uint64_t i = 0; i < 2 * n; ++i)
        if (std::fabs(x[i] - y[i]) > 1e-7 + 1e-3 * std::fabs(x[i]))
          return "complex element " + std::to_string(i / 2) + " differs";
    }
    return {};
  }
  for (uint64_t i = 0; i < n; ++i) {
    if (is_exact(e.dtype)) {
      if (engine::cpu::load_int64(e, i) != engine::cpu::load_int64(a, i))
        return "element " + std::to_string(i) + ": " + std::to_string(engine::cpu::load_int64(a, i)) +
               " != expected " + std::to_string(engine::cpu::load_int64(e, i));
      continue;
    }
    double x = engine::cpu::load_as_double(e, i), y = engine::cpu::load_as_double(a, i);
    if (std::isnan(x) && std::isnan(y)) continue;
    if (std::isinf(x) && x == y) continue;
    if (!(std::fabs(x - y) <= 1e-7 + 1e-3 * std::fabs(x)))
      {
        char text[160];
        std::snprintf(text, sizeof text, "element %llu: %.9g != expected %.9g", static_cast<unsigned long long>(i), y, x);
        return text;
      }
  }
  return {};
}

}  // namespace

std::string compare_values(const Value& expected, const Value& actual) {
  if (expected.kind != actual.kind) return "value kind differs";
  if (expected.kind == Value::Kind::tensor) return compare_tensors(expected.tensor, actual.tensor);
  if (expected.kind == Value::Kind::sequence) {
    if (expected.sequence.size() != actual.sequence.size())
      return "sequence length " + std::to_string(actual.sequence.size()) + " != expected " +
             std::to_string(expected.sequence.size());
    for (size_t i = 0; i < expected.sequence.size(); ++i)
      if (auto d = compare_tensors(expected.sequence[i], actual.sequence[i]); !d.empty())
        return "sequence item " + std::to_string(i) + ": " + d;
  }
  return {};
}

std::vector<Value> run_graph_for_test(const ir::Graph& graph, int64_t opset, std::vector<Value> inputs) {
  MiniScope scope(opset);
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
        if (auto d = compare_values(expected, actual.at(i)); !d.empty()) {
          outcome.result = CaseResult::failed;
          outcome.detail = "output " + std::to_string(i) + ": " + d;
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
