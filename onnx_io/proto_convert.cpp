#include "onnx_io/proto_convert.h"

#include "common/error.h"
#include "onnx_io/leftover_fields.h"
#include "onnx_io/tensor_proto.h"

namespace mhub::onnx_io {

namespace {

// Field numbers the IR keeps only as serialized bytes (see leftover_fields.h).
constexpr int kNodeDeviceConfigurations = 10;
constexpr int kModelTrainingInfo = 20;
constexpr int kModelConfiguration = 26;

template <typename Entries>
ir::StringPairs pairs_from(const Entries& entries) {
  ir::StringPairs pairs;
  pairs.reserve(entries.size());
  for (const auto& entry : entries) pairs.emplace_back(entry.key(), entry.value());
  return pairs;
}

template <typename Entries>
void pairs_to(const ir::StringPairs& pairs, Entries* entries) {
  for (const auto& [key, value] : pairs) {
    auto* entry = entries->Add();
    entry->set_key(key);
    entry->set_value(value);
  }
}

class Reader {
 public:
  Reader(std::string source, const TensorVisitor& on_tensor)
      : source_(std::move(source)), on_tensor_(on_tensor) {}

  ir::Tensor tensor(onnxpb::TensorProto& proto) {
    ir::Tensor result = tensor_from_proto(proto, source_);
    if (on_tensor_) on_tensor_(result);
    return result;
  }

  ir::SparseTensor sparse(onnxpb::SparseTensorProto& proto) {
    ir::SparseTensor result;
    result.has_values = proto.has_values();
    result.has_indices = proto.has_indices();
    if (result.has_values) result.values = tensor(*proto.mutable_values());
    if (result.has_indices) result.indices = tensor(*proto.mutable_indices());
    result.dims.assign(proto.dims().begin(), proto.dims().end());
    return result;
  }

  ir::ValueInfo value_info(onnxpb::ValueInfoProto& proto) {
    ir::ValueInfo info;
    info.explicit_defaults = explicit_default_fields(proto);
    info.name = proto.name();
    if (proto.has_type()) info.type = type_from_proto(proto.type());
    info.doc_string = proto.doc_string();
    info.metadata_props = pairs_from(proto.metadata_props());
    return info;
  }

  ir::Attribute attribute(onnxpb::AttributeProto& proto) {
    ir::Attribute attr;
    attr.explicit_defaults = explicit_default_fields(proto);
    attr.name = proto.name();
    attr.type = static_cast<ir::AttributeType>(proto.type());
    attr.ref_attr_name = proto.ref_attr_name();
    attr.doc_string = proto.doc_string();
    attr.f = proto.f();
    attr.i = proto.i();
    attr.s = proto.s();
    if (proto.has_t()) attr.t = std::make_shared<ir::Tensor>(tensor(*proto.mutable_t()));
    if (proto.has_g()) attr.g = std::make_shared<ir::Graph>(graph(*proto.mutable_g()));
    if (proto.has_sparse_tensor())
      attr.sparse_tensor = std::make_shared<ir::SparseTensor>(sparse(*proto.mutable_sparse_tensor()));
    if (proto.has_tp()) attr.tp = std::make_shared<ir::Type>(type_from_proto(proto.tp()));
    attr.floats.assign(proto.floats().begin(), proto.floats().end());
    attr.ints.assign(proto.ints().begin(), proto.ints().end());
    attr.strings.assign(proto.strings().begin(), proto.strings().end());
    for (auto& item : *proto.mutable_tensors()) attr.tensors.push_back(tensor(item));
    for (auto& item : *proto.mutable_graphs())
      attr.graphs.push_back(std::make_shared<ir::Graph>(graph(item)));
    for (auto& item : *proto.mutable_sparse_tensors()) attr.sparse_tensors.push_back(sparse(item));
    for (const auto& item : proto.type_protos()) attr.type_protos.push_back(type_from_proto(item));
    attr.extra_fields = take_leftover_fields(proto, {});
    return attr;
  }

  ir::Node node(onnxpb::NodeProto& proto) {
    ir::Node result;
    result.explicit_defaults = explicit_default_fields(proto);
    result.op_type = proto.op_type();
    result.domain = proto.domain();
    result.op = ir::lookup_op(result.domain, result.op_type);
    result.name = proto.name();
    result.overload = proto.overload();
    result.inputs.assign(proto.input().begin(), proto.input().end());
    result.outputs.assign(proto.output().begin(), proto.output().end());
    for (auto& item : *proto.mutable_attribute()) result.attributes.push_back(attribute(item));
    result.doc_string = proto.doc_string();
    result.metadata_props = pairs_from(proto.metadata_props());
    result.extra_fields = take_leftover_fields(proto, {kNodeDeviceConfigurations});
    return result;
  }

  ir::Graph graph(onnxpb::GraphProto& proto) {
    ir::Graph result;
    result.explicit_defaults = explicit_default_fields(proto);
    result.name = proto.name();
    result.doc_string = proto.doc_string();
    result.nodes.reserve(proto.node_size());
    for (auto& item : *proto.mutable_node()) result.nodes.push_back(node(item));
    for (auto& item : *proto.mutable_input()) result.inputs.push_back(value_info(item));
    for (auto& item : *proto.mutable_output()) result.outputs.push_back(value_info(item));
    // The ONNX checker requires these names; an unnamed graph port cannot be fed or read.
    for (const auto* ports : {&result.inputs, &result.outputs})
      for (size_t i = 0; i < ports->size(); ++i)
        if ((*ports)[i].name.empty())
          throw_error(ErrorCategory::format, source_ + ": graph '" + result.name + "' " +
                                                 (ports == &result.inputs ? "input " : "output ") + std::to_string(i) +
                                                 " has no name; every graph input and output needs one");
    for (auto& item : *proto.mutable_value_info()) result.value_info.push_back(value_info(item));
    result.initializers.reserve(proto.initializer_size());
    for (auto& item : *proto.mutable_initializer()) result.initializers.push_back(tensor(item));
    for (auto& item : *proto.mutable_sparse_initializer())
      result.sparse_initializers.push_back(sparse(item));
    for (const auto& item : proto.quantization_annotation())
      result.quantization_annotation.push_back(
          {item.tensor_name(), pairs_from(item.quant_parameter_tensor_names())});
    result.metadata_props = pairs_from(proto.metadata_props());
    result.extra_fields = take_leftover_fields(proto, {});
    return result;
  }

  ir::Function function(onnxpb::FunctionProto& proto) {
    ir::Function result;
    result.explicit_defaults = explicit_default_fields(proto);
    result.name = proto.name();
    result.domain = proto.domain();
    result.overload = proto.overload();
    result.inputs.assign(proto.input().begin(), proto.input().end());
    result.outputs.assign(proto.output().begin(), proto.output().end());
    result.attribute_names.assign(proto.attribute().begin(), proto.attribute().end());
    for (auto& item : *proto.mutable_attribute_proto())
      result.attribute_defaults.push_back(attribute(item));
    for (auto& item : *proto.mutable_node()) result.nodes.push_back(node(item));
    result.doc_string = proto.doc_string();
    for (const auto& item : proto.opset_import())
      result.opset_imports.push_back({item.domain(), item.version(), explicit_default_fields(item)});
    for (auto& item : *proto.mutable_value_info()) result.value_info.push_back(value_info(item));
    result.metadata_props = pairs_from(proto.metadata_props());
    result.extra_fields = take_leftover_fields(proto, {});
    return result;
  }

 private:
  std::string source_;
  const TensorVisitor& on_tensor_;
};

void opset_to(const ir::OpsetImport& opset, onnxpb::OperatorSetIdProto& proto) {
  if (!opset.domain.empty()) proto.set_domain(opset.domain);
  if (opset.version != 0) proto.set_version(opset.version);
  restore_explicit_defaults(proto, opset.explicit_defaults);
}

class Writer {
 public:
  explicit Writer(const TensorWriter& write_tensor) : write_tensor_(write_tensor) {}

  void tensor(const ir::Tensor& value, onnxpb::TensorProto& proto, bool is_initializer = false) {
    write_tensor_(value, proto, is_initializer);
  }

  void sparse(const ir::SparseTensor& value, onnxpb::SparseTensorProto& proto) {
    if (value.has_values) tensor(value.values, *proto.mutable_values());
    if (value.has_indices) tensor(value.indices, *proto.mutable_indices());
    for (int64_t dim : value.dims) proto.add_dims(dim);
  }

  void value_info(const ir::ValueInfo& info, onnxpb::ValueInfoProto& proto) {
    proto.set_name(info.name);
    if (info.type) type_to_proto(*info.type, *proto.mutable_type());
    if (!info.doc_string.empty()) proto.set_doc_string(info.doc_string);
    pairs_to(info.metadata_props, proto.mutable_metadata_props());
    restore_explicit_defaults(proto, info.explicit_defaults);
  }

  void attribute(const ir::Attribute& attr, onnxpb::AttributeProto& proto) {
    using T = ir::AttributeType;
    proto.set_name(attr.name);
    if (!attr.ref_attr_name.empty()) proto.set_ref_attr_name(attr.ref_attr_name);
    if (!attr.doc_string.empty()) proto.set_doc_string(attr.doc_string);
    if (attr.type != T::undefined)
      proto.set_type(static_cast<onnxpb::AttributeProto::AttributeType>(attr.type));
    // The field that matches the type is written even when it holds the default value.
    if (attr.f != 0 || attr.type == T::float_) proto.set_f(attr.f);
    if (attr.i != 0 || attr.type == T::int_) proto.set_i(attr.i);
    if (!attr.s.empty() || attr.type == T::string) proto.set_s(attr.s);
    if (attr.t) tensor(*attr.t, *proto.mutable_t());
    if (attr.g) graph(*attr.g, *proto.mutable_g());
    if (attr.sparse_tensor) sparse(*attr.sparse_tensor, *proto.mutable_sparse_tensor());
    if (attr.tp) type_to_proto(*attr.tp, *proto.mutable_tp());
    for (float value : attr.floats) proto.add_floats(value);
    for (int64_t value : attr.ints) proto.add_ints(value);
    for (const std::string& value : attr.strings) proto.add_strings(value);
    for (const ir::Tensor& value : attr.tensors) tensor(value, *proto.add_tensors());
    for (const auto& value : attr.graphs) graph(*value, *proto.add_graphs());
    for (const auto& value : attr.sparse_tensors) sparse(value, *proto.add_sparse_tensors());
    for (const auto& value : attr.type_protos) type_to_proto(value, *proto.add_type_protos());
    restore_leftover_fields(proto, attr.extra_fields);
    restore_explicit_defaults(proto, attr.explicit_defaults);
  }

  void node(const ir::Node& value, onnxpb::NodeProto& proto) {
    for (const std::string& name : value.inputs) proto.add_input(name);
    for (const std::string& name : value.outputs) proto.add_output(name);
    if (!value.name.empty()) proto.set_name(value.name);
    proto.set_op_type(value.op_type);
    if (!value.domain.empty()) proto.set_domain(value.domain);
    if (!value.overload.empty()) proto.set_overload(value.overload);
    for (const ir::Attribute& attr : value.attributes) attribute(attr, *proto.add_attribute());
    if (!value.doc_string.empty()) proto.set_doc_string(value.doc_string);
    pairs_to(value.metadata_props, proto.mutable_metadata_props());
    restore_leftover_fields(proto, value.extra_fields);
    restore_explicit_defaults(proto, value.explicit_defaults);
  }

  void graph(const ir::Graph& value, onnxpb::GraphProto& proto) {
    for (const ir::Node& item : value.nodes) node(item, *proto.add_node());
    if (!value.name.empty()) proto.set_name(value.name);
    for (const ir::Tensor& item : value.initializers) tensor(item, *proto.add_initializer(), true);
    for (const auto& item : value.sparse_initializers) sparse(item, *proto.add_sparse_initializer());
    if (!value.doc_string.empty()) proto.set_doc_string(value.doc_string);
    for (const auto& item : value.inputs) value_info(item, *proto.add_input());
    for (const auto& item : value.outputs) value_info(item, *proto.add_output());
    for (const auto& item : value.value_info) value_info(item, *proto.add_value_info());
    for (const auto& item : value.quantization_annotation) {
      auto* out = proto.add_quantization_annotation();
      out->set_tensor_name(item.tensor_name);
      pairs_to(item.quant_parameter_tensor_names, out->mutable_quant_parameter_tensor_names());
    }
    pairs_to(value.metadata_props, proto.mutable_metadata_props());
    restore_leftover_fields(proto, value.extra_fields);
    restore_explicit_defaults(proto, value.explicit_defaults);
  }

  void function(const ir::Function& value, onnxpb::FunctionProto& proto) {
    proto.set_name(value.name);
    for (const auto& name : value.inputs) proto.add_input(name);
    for (const auto& name : value.outputs) proto.add_output(name);
    for (const auto& name : value.attribute_names) proto.add_attribute(name);
    for (const auto& attr : value.attribute_defaults) attribute(attr, *proto.add_attribute_proto());
    for (const auto& item : value.nodes) node(item, *proto.add_node());
    if (!value.doc_string.empty()) proto.set_doc_string(value.doc_string);
    for (const auto& opset : value.opset_imports) opset_to(opset, *proto.add_opset_import());
    if (!value.domain.empty()) proto.set_domain(value.domain);
    if (!value.overload.empty()) proto.set_overload(value.overload);
    for (const auto& item : value.value_info) value_info(item, *proto.add_value_info());
    pairs_to(value.metadata_props, proto.mutable_metadata_props());
    restore_leftover_fields(proto, value.extra_fields);
    restore_explicit_defaults(proto, value.explicit_defaults);
  }

 private:
  const TensorWriter& write_tensor_;
};

ir::Shape shape_from_proto(const onnxpb::TensorShapeProto& proto) {
  ir::Shape shape;
  shape.dims.reserve(proto.dim_size());
  for (const auto& dim : proto.dim()) {
    ir::Dim result;
    if (dim.has_dim_value()) {
      result.kind = ir::Dim::Kind::value;
      result.value = dim.dim_value();
    } else if (dim.has_dim_param()) {
      result.kind = ir::Dim::Kind::param;
      result.param = dim.dim_param();
    }
    result.denotation = dim.denotation();
    shape.dims.push_back(std::move(result));
  }
  return shape;
}

void shape_to_proto(const ir::Shape& shape, onnxpb::TensorShapeProto& proto) {
  for (const ir::Dim& dim : shape.dims) {
    auto* out = proto.add_dim();
    if (dim.kind == ir::Dim::Kind::value) out->set_dim_value(dim.value);
    if (dim.kind == ir::Dim::Kind::param) out->set_dim_param(dim.param);
    if (!dim.denotation.empty()) out->set_denotation(dim.denotation);
  }
}

}  // namespace

ir::Type type_from_proto(const onnxpb::TypeProto& proto) {
  using K = ir::Type::Kind;
  ir::Type type;
  type.denotation = proto.denotation();
  switch (proto.value_case()) {
    case onnxpb::TypeProto::kTensorType:
      type.kind = K::tensor;
      type.has_elem_type = proto.tensor_type().has_elem_type();
      type.elem_type = proto.tensor_type().elem_type();
      if (proto.tensor_type().has_shape()) type.shape = shape_from_proto(proto.tensor_type().shape());
      break;
    case onnxpb::TypeProto::kSparseTensorType:
      type.kind = K::sparse_tensor;
      type.has_elem_type = proto.sparse_tensor_type().has_elem_type();
      type.elem_type = proto.sparse_tensor_type().elem_type();
      if (proto.sparse_tensor_type().has_shape())
        type.shape = shape_from_proto(proto.sparse_tensor_type().shape());
      break;
    case onnxpb::TypeProto::kSequenceType:
      type.kind = K::sequence;
      if (proto.sequence_type().has_elem_type())
        type.inner = std::make_shared<ir::Type>(type_from_proto(proto.sequence_type().elem_type()));
      break;
    case onnxpb::TypeProto::kOptionalType:
      type.kind = K::optional;
      if (proto.optional_type().has_elem_type())
        type.inner = std::make_shared<ir::Type>(type_from_proto(proto.optional_type().elem_type()));
      break;
    case onnxpb::TypeProto::kMapType:
      type.kind = K::map;
      type.has_elem_type = proto.map_type().has_key_type();
      type.elem_type = proto.map_type().key_type();
      if (proto.map_type().has_value_type())
        type.inner = std::make_shared<ir::Type>(type_from_proto(proto.map_type().value_type()));
      break;
    case onnxpb::TypeProto::kOpaqueType:
      type.kind = K::opaque;
      type.opaque_domain = proto.opaque_type().domain();
      type.opaque_name = proto.opaque_type().name();
      break;
    case onnxpb::TypeProto::VALUE_NOT_SET:
      break;
  }
  return type;
}

void type_to_proto(const ir::Type& type, onnxpb::TypeProto& proto) {
  using K = ir::Type::Kind;
  switch (type.kind) {
    case K::tensor: {
      auto* out = proto.mutable_tensor_type();
      if (type.has_elem_type) out->set_elem_type(type.elem_type);
      if (type.shape) shape_to_proto(*type.shape, *out->mutable_shape());
      break;
    }
    case K::sparse_tensor: {
      auto* out = proto.mutable_sparse_tensor_type();
      if (type.has_elem_type) out->set_elem_type(type.elem_type);
      if (type.shape) shape_to_proto(*type.shape, *out->mutable_shape());
      break;
    }
    case K::sequence: {
      auto* out = proto.mutable_sequence_type();
      if (type.inner) type_to_proto(*type.inner, *out->mutable_elem_type());
      break;
    }
    case K::optional: {
      auto* out = proto.mutable_optional_type();
      if (type.inner) type_to_proto(*type.inner, *out->mutable_elem_type());
      break;
    }
    case K::map: {
      auto* out = proto.mutable_map_type();
      if (type.has_elem_type) out->set_key_type(type.elem_type);
      if (type.inner) type_to_proto(*type.inner, *out->mutable_value_type());
      break;
    }
    case K::opaque: {
      auto* out = proto.mutable_opaque_type();
      if (!type.opaque_domain.empty()) out->set_domain(type.opaque_domain);
      if (!type.opaque_name.empty()) out->set_name(type.opaque_name);
      break;
    }
    case K::none:
      break;
  }
  if (!type.denotation.empty()) proto.set_denotation(type.denotation);
}

ir::Model model_from_proto(onnxpb::ModelProto& proto, const std::string& source,
                           const TensorVisitor& on_tensor) {
  Reader reader(source, on_tensor);
  ir::Model model;
  model.explicit_defaults = explicit_default_fields(proto);
  model.ir_version = proto.ir_version();
  for (const auto& item : proto.opset_import())
    model.opset_imports.push_back({item.domain(), item.version(), explicit_default_fields(item)});
  model.producer_name = proto.producer_name();
  model.producer_version = proto.producer_version();
  model.domain = proto.domain();
  model.model_version = proto.model_version();
  model.doc_string = proto.doc_string();
  if (proto.has_graph()) model.graph = reader.graph(*proto.mutable_graph());
  model.metadata_props = pairs_from(proto.metadata_props());
  for (auto& item : *proto.mutable_functions()) model.functions.push_back(reader.function(item));
  model.extra_fields = take_leftover_fields(proto, {kModelTrainingInfo, kModelConfiguration});
  return model;
}

void model_to_proto(const ir::Model& model, onnxpb::ModelProto& proto, const TensorWriter& write) {
  Writer writer(write);
  proto.set_ir_version(model.ir_version);
  for (const auto& opset : model.opset_imports) opset_to(opset, *proto.add_opset_import());
  if (!model.producer_name.empty()) proto.set_producer_name(model.producer_name);
  if (!model.producer_version.empty()) proto.set_producer_version(model.producer_version);
  if (!model.domain.empty()) proto.set_domain(model.domain);
  if (model.model_version != 0) proto.set_model_version(model.model_version);
  if (!model.doc_string.empty()) proto.set_doc_string(model.doc_string);
  writer.graph(model.graph, *proto.mutable_graph());
  pairs_to(model.metadata_props, proto.mutable_metadata_props());
  for (const auto& function : model.functions) writer.function(function, *proto.add_functions());
  restore_leftover_fields(proto, model.extra_fields);
  restore_explicit_defaults(proto, model.explicit_defaults);
}

}  // namespace mhub::onnx_io
