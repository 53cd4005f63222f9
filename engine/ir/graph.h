// The internal graph: a faithful, editable image of an ONNX model.
//
// Values are named as in ONNX: a node input/output, graph input/output, initializer or value_info
// entry refers to a value by its name; "" is an absent optional input. Everything a ModelProto
// can say has a place here (fields the IR does not model are kept as serialized bytes in
// `extra_fields`), so import followed by export gives back the same model.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/ir/ops.h"
#include "engine/ir/tensor.h"

namespace mhub::ir {

struct Graph;

// One dimension of a shape: a number, a symbol ("batch"), or unknown.
struct Dim {
  enum class Kind : uint8_t { unknown, value, param };
  Kind kind = Kind::unknown;
  int64_t value = 0;
  std::string param;
  std::string denotation;

  static Dim of(int64_t v) { return Dim{Kind::value, v, {}, {}}; }
  static Dim symbol(std::string name) { return Dim{Kind::param, 0, std::move(name), {}}; }
};

struct Shape {
  std::vector<Dim> dims;
};

// The type of a value (ONNX TypeProto).
struct Type {
  enum class Kind : uint8_t { none, tensor, sequence, map, optional, sparse_tensor, opaque };
  Kind kind = Kind::none;
  int32_t elem_type = 0;          // tensor / sparse_tensor element; map key type
  bool has_elem_type = false;     // elem_type was written in the file
  std::optional<Shape> shape;     // no shape (rank unknown) differs from rank 0
  std::shared_ptr<Type> inner;    // sequence / optional element, map value
  std::string opaque_domain;
  std::string opaque_name;
  std::string denotation;

  static Type tensor(DataType dtype, std::optional<Shape> shape);
  DataType dtype() const { return static_cast<DataType>(elem_type); }
};

struct ValueInfo {
  std::string name;
  std::optional<Type> type;
  std::string doc_string;
  StringPairs metadata_props;
  uint64_t explicit_defaults = 0;
};

struct SparseTensor {
  Tensor values;
  Tensor indices;
  std::vector<int64_t> dims;
  bool has_values = true;
  bool has_indices = true;
};

// Numbers follow ONNX AttributeProto.AttributeType.
enum class AttributeType : int32_t {
  undefined = 0, float_ = 1, int_ = 2, string = 3, tensor = 4, graph = 5, floats = 6, ints = 7,
  strings = 8, tensors = 9, graphs = 10, sparse_tensor = 11, sparse_tensors = 12,
  type_proto = 13, type_protos = 14,
};

struct Attribute {
  std::string name;
  AttributeType type = AttributeType::undefined;
  std::string ref_attr_name;  // inside functions: take the value of the caller's attribute
  std::string doc_string;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::shared_ptr<Tensor> t;
  std::shared_ptr<Graph> g;
  std::shared_ptr<SparseTensor> sparse_tensor;
  std::shared_ptr<Type> tp;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  std::vector<SparseTensor> sparse_tensors;
  std::vector<Type> type_protos;
  std::string extra_fields;
  uint64_t explicit_defaults = 0;  // see onnx_io/leftover_fields.h
};

struct Node {
  OpKind op = OpKind::opaque;  // resolved from (domain, op_type); opaque for custom domains
  std::string op_type;
  std::string domain;
  std::string name;
  std::string overload;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;
  std::string doc_string;
  StringPairs metadata_props;
  std::string extra_fields;
  uint64_t explicit_defaults = 0;  // see onnx_io/leftover_fields.h

  const Attribute* attribute(std::string_view attr_name) const;
  // Typed getters with a default for absent attributes.
  int64_t attr_int(std::string_view attr_name, int64_t fallback) const;
  float attr_float(std::string_view attr_name, float fallback) const;
  std::string attr_string(std::string_view attr_name, std::string fallback) const;
  std::vector<int64_t> attr_ints(std::string_view attr_name) const;
};

struct QuantizationAnnotation {
  std::string tensor_name;
  StringPairs quant_parameter_tensor_names;
};

struct Graph {
  std::string name;
  std::string doc_string;
  std::vector<Node> nodes;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_info;
  std::vector<Tensor> initializers;
  std::vector<SparseTensor> sparse_initializers;
  std::vector<QuantizationAnnotation> quantization_annotation;
  StringPairs metadata_props;
  std::string extra_fields;
  uint64_t explicit_defaults = 0;  // see onnx_io/leftover_fields.h

  // --- queries ---------------------------------------------------------------------------
  const Tensor* initializer(std::string_view value_name) const;
  // value name -> index of the node producing it (values of this graph only)
  std::unordered_map<std::string, size_t> producers() const;
  // Node indices in an order where every node comes after the producers of its inputs. Values
  // not produced here (graph inputs, initializers, outer-scope names) count as available.
  // Throws mhub::Error (format) naming a value on a cycle.
  std::vector<size_t> topological_order() const;
  // Names this graph reads from an enclosing scope (used by If/Loop/Scan bodies).
  std::vector<std::string> outer_scope_names() const;

  // --- edits -----------------------------------------------------------------------------
  // Puts `replacement` where nodes[index] was.
  void replace_node(size_t index, Node replacement);
  // Drops nodes none of whose outputs reach a graph output (or a subgraph's outer-scope use),
  // then initializers and value_info entries nothing refers to. Returns how many nodes went.
  size_t remove_unused();
  // Renames a value everywhere in this graph and in nested subgraphs that read it from here.
  void rename_value(const std::string& from, const std::string& to);
  // Sorts nodes into topological_order().
  void sort_topologically();
};

struct OpsetImport {
  std::string domain;
  int64_t version = 0;
  uint64_t explicit_defaults = 0;
};

struct Function {
  std::string name;
  std::string domain;
  std::string overload;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<std::string> attribute_names;
  std::vector<Attribute> attribute_defaults;
  std::vector<Node> nodes;
  std::string doc_string;
  std::vector<OpsetImport> opset_imports;
  std::vector<ValueInfo> value_info;
  StringPairs metadata_props;
  std::string extra_fields;
  uint64_t explicit_defaults = 0;  // see onnx_io/leftover_fields.h
};

struct Model {
  int64_t ir_version = 0;
  std::vector<OpsetImport> opset_imports;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  Graph graph;
  StringPairs metadata_props;
  std::vector<Function> functions;
  std::string extra_fields;  // training_info, device configurations, fields newer than mhub
  uint64_t explicit_defaults = 0;

  // The opset of the default domain (0 when absent).
  int64_t default_opset() const;
};

// Calls `visit` on `graph` and every subgraph nested in its node attributes, depth first.
void for_each_graph(const Graph& graph, const std::function<void(const Graph&)>& visit);

// One-value attributes, for graph surgery (passes, the autograd) and tests.
Attribute int_attr(const std::string& name, int64_t value);
Attribute ints_attr(const std::string& name, std::vector<int64_t> values);
Attribute float_attr(const std::string& name, float value);
Attribute string_attr(const std::string& name, std::string value);

}  // namespace mhub::ir
