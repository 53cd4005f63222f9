#include "engine/core/passes/channels_last.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "engine/core/passes/channel_shuffle.h"
#include "engine/core/passes/graph_match.h"
#include "engine/ir/ops.h"

namespace mhub::engine::passes {

namespace {

using ir::OpKind;

constexpr const char* kLayoutIn = "mhub_layout_in";
constexpr const char* kLayoutOut = "mhub_layout_out";

// How a node relates to the layout of its activation inputs and output.
enum class Role {
  other,       // reads and writes plain NCHW
  boundary,    // Conv / ConvTranspose: reads one layout, writes either
  preserving,  // writes its activation inputs' layout (pooling, BN, per-element, Add..., Concat)
  sink,        // GlobalAveragePool: reads either, writes [N,C,1,1] (plain)
};

// Pure per-element ops of one tensor: y[i] depends on x[i] only (Clip's bounds are scalars), so
// every kernel of theirs is layout-agnostic.
bool per_element(OpKind op) {
  switch (op) {
    case OpKind::Relu: case OpKind::LeakyRelu: case OpKind::Clip: case OpKind::Sigmoid: case OpKind::Tanh:
    case OpKind::HardSigmoid: case OpKind::HardSwish: case OpKind::Elu: case OpKind::Selu: case OpKind::Celu:
    case OpKind::Softplus: case OpKind::Softsign: case OpKind::Mish: case OpKind::Gelu: case OpKind::Erf:
    case OpKind::Exp: case OpKind::Log: case OpKind::Abs: case OpKind::Neg: case OpKind::Sqrt:
    case OpKind::Reciprocal: case OpKind::Floor: case OpKind::Ceil: case OpKind::Round: case OpKind::Sign:
    case OpKind::Sin: case OpKind::Cos: case OpKind::ThresholdedRelu: case OpKind::Shrink: case OpKind::Identity:
      return true;
    default:
      return false;
  }
}

bool binary_arith(OpKind op) { return op == OpKind::Add || op == OpKind::Sub || op == OpKind::Mul || op == OpKind::Div; }

Role role_of(const ir::Node& node) {
  if (node.outputs.empty()) return Role::other;
  if ((node.op == OpKind::ChannelShuffle || node.op == OpKind::SqueezeExcitation || node.op == OpKind::ConcatBatchNorm) &&
      node.domain == ir::kInternalDomain)
    return Role::preserving;
  if (!node.domain.empty()) return Role::other;
  switch (node.op) {
    case OpKind::Conv: case OpKind::ConvTranspose: return Role::boundary;
    case OpKind::GlobalAveragePool: return Role::sink;
    case OpKind::MaxPool: case OpKind::AveragePool: case OpKind::BatchNormalization: case OpKind::Concat:
    case OpKind::Resize: case OpKind::Upsample: case OpKind::Slice:
      return Role::preserving;
    default:
      return per_element(node.op) || binary_arith(node.op) ? Role::preserving : Role::other;
  }
}

// What the pass knows of a value at load: element type and rank (-1: unknown).
struct Info {
  ir::DataType dtype = ir::DataType::undefined;
  int64_t rank = -1;
};

class Facts {
 public:
  explicit Facts(const ir::Graph& graph) : graph_(graph), index_(graph) {
    auto from_type = [&](const ir::ValueInfo& v) {
      if (!v.type || v.type->kind != ir::Type::Kind::tensor) return;
      Info& info = info_[v.name];
      if (v.type->has_elem_type) info.dtype = v.type->dtype();
      if (v.type->shape) info.rank = static_cast<int64_t>(v.type->shape->dims.size());
    };
    for (const ir::ValueInfo& v : graph.inputs) from_type(v);
    for (const ir::ValueInfo& v : graph.value_info) from_type(v);
    for (const ir::ValueInfo& v : graph.outputs) from_type(v);
    for (const ir::Tensor& t : graph.initializers) info_[t.name] = {t.dtype, static_cast<int64_t>(t.dims.size())};
    for (const ir::Tensor& t : graph.initializers) constant_.insert(t.name);
    for (const ir::ValueInfo& v : graph.inputs) constant_.erase(v.name);
    for (const ir::Node& node : graph.nodes) propagate(node);
  }

  // role_of, except that a Pad adding nothing (constant mode, constant pads all 0) is a copy,
  // as layout-agnostic as a per-element op (old exports put one before every AveragePool).
  Role role(const ir::Node& node) const {
    return zero_pad(node) ? Role::preserving : role_of(node);
  }
  bool zero_pad(const ir::Node& node) const { return node.domain.empty() && pad_adds_nothing(index_, node); }

  const ir::Graph& graph() const { return graph_; }

  Info of(const std::string& name) const {
    auto it = info_.find(name);
    return it == info_.end() ? Info{} : it->second;
  }
  bool float4d(const std::string& name) const {
    Info i = of(name);
    return i.dtype == ir::DataType::float32 && i.rank == 4;
  }
  // A constant whose bytes read the same in NCHW and NHWC order: padded to rank 4, a channel
  // size of 1 or a spatial size of 1.
  bool layout_neutral_constant(const std::string& name) const {
    if (!constant_.count(name)) return false;
    const ir::Tensor* t = graph_.initializer(name);
    if (!t || t->dtype != ir::DataType::float32 || t->dims.size() > 4) return false;
    std::vector<int64_t> d(4 - t->dims.size(), 1);
    d.insert(d.end(), t->dims.begin(), t->dims.end());
    return d[1] == 1 || d[2] * d[3] == 1;
  }

 private:
  void propagate(const ir::Node& node) {
    if (node.outputs.empty() || node.inputs.empty() || info_.count(node.outputs[0])) return;
    Info out;
    const Info x = of(node.inputs[0]);
    switch (role(node)) {
      case Role::boundary: {
        // X, W and Y share one element type and rank (ONNX's type constraint; a model that
        // breaks it fails in the kernels either way).
        const Info w = node.inputs.size() > 1 ? of(node.inputs[1]) : Info{};
        out.dtype = w.dtype != ir::DataType::undefined ? w.dtype : x.dtype;
        out.rank = w.rank >= 0 ? w.rank : x.rank;
        if (x.dtype == ir::DataType::undefined || x.rank < 0) info_[node.inputs[0]] = out;
        break;
      }
      case Role::sink: out = x; break;
      case Role::preserving:
        out = x;
        if (binary_arith(node.op)) {
          for (const std::string& in : node.inputs) {
            const Info o = of(in);
            if (o.dtype != out.dtype) out.dtype = ir::DataType::undefined;
            out.rank = o.rank < 0 || out.rank < 0 ? -1 : std::max(out.rank, o.rank);
          }
        }
        if (node.op == OpKind::MaxPool || node.op == OpKind::AveragePool) {
          const size_t k = node.attr_ints("kernel_shape").size();
          if (k) out.rank = static_cast<int64_t>(k) + 2;
        }
        break;
      case Role::other:
        // Ops whose output keeps input 0's element type and rank.
        if (node.op != OpKind::Pad && node.op != OpKind::Dropout) return;
        out = x;
        break;
    }
    info_[node.outputs[0]] = out;
  }

  const ir::Graph& graph_;
  const GraphIndex index_;
  std::unordered_map<std::string, Info> info_;
  std::unordered_set<std::string> constant_;
};

// The node's inputs read in its input layout (mhub_layout_in).
std::vector<size_t> activation_inputs(const ir::Node& node, const Facts& facts) {
  std::vector<size_t> acts;
  switch (facts.role(node)) {
    case Role::boundary: case Role::sink: acts.push_back(0); break;
    case Role::preserving:
      if (node.op == OpKind::Concat || binary_arith(node.op) || node.op == OpKind::ConcatBatchNorm) {
        // ConcatBatchNorm: its parts, not the four BatchNormalization parameters after them.
        const size_t parts = node.op == OpKind::ConcatBatchNorm ? node.inputs.size() - std::min<size_t>(4, node.inputs.size())
                                                                : node.inputs.size();
        for (size_t i = 0; i < parts; ++i)
          if (!facts.layout_neutral_constant(node.inputs[i])) acts.push_back(i);
      } else {
        acts.push_back(0);
      }
      break;
    case Role::other: break;
  }
  return acts;
}

// The inputs stored in the node's output layout: a preserving node's activation inputs, a
// Conv's fused residual (input 3), which oneDNN's sum post-op adds into the output's bytes.
std::vector<size_t> output_layout_inputs(const ir::Node& node, const Facts& facts) {
  switch (facts.role(node)) {
    case Role::preserving: return activation_inputs(node, facts);
    case Role::boundary:
      if (node.op == OpKind::Conv && node.inputs.size() > 3 && !node.inputs[3].empty()) return {3};
      return {};
    default: return {};
  }
}

void set_mark(ir::Node& node, const char* name) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::string;
  a.s = "nhwc";
  node.attributes.push_back(a);
}

void clear_marks(ir::Node& node) {
  std::erase_if(node.attributes, [](const ir::Attribute& a) { return a.name == kLayoutIn || a.name == kLayoutOut; });
}

// Whether the node may read its activation inputs (and, unless a sink, write its output)
// channels-last at all.
bool capable(const ir::Node& node, const Facts& facts, const ChannelsLastQuery& query) {
  const Role role = facts.role(node);
  if (role == Role::other || node.outputs.empty() || node.outputs[0].empty()) return false;
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty()) return false;  // MaxPool's Indices, training BN's statistics
  const std::vector<size_t> acts = activation_inputs(node, facts);
  if (acts.empty()) return false;
  for (size_t i : acts)
    if (i >= node.inputs.size() || !facts.float4d(node.inputs[i])) return false;
  for (size_t i : output_layout_inputs(node, facts))
    if (!facts.float4d(node.inputs[i])) return false;
  if (role != Role::sink && !facts.float4d(node.outputs[0])) return false;
  if (node.op == OpKind::Concat || node.op == OpKind::ConcatBatchNorm) {
    const int64_t axis = node.attr_int("axis", 0);
    if (axis != 1 && axis != -3) return false;
  }
  if (binary_arith(node.op) && node.inputs.size() != 2) return false;
  if (node.op == OpKind::ChannelShuffle && !channel_shuffle_output_is_4d(facts.graph(), node)) return false;
  if (per_element(node.op) || facts.zero_pad(node)) return true;
  ir::Node marked = node;
  clear_marks(marked);
  set_mark(marked, kLayoutIn);
  if (role != Role::sink) set_mark(marked, kLayoutOut);
  std::vector<ir::DataType> types;
  for (const std::string& in : node.inputs) types.push_back(in.empty() ? ir::DataType::undefined : facts.of(in).dtype);
  return query && query(marked, types);
}

// Union-find over value names.
class Groups {
 public:
  std::string find(const std::string& v) {
    auto it = parent_.find(v);
    if (it == parent_.end()) return parent_.emplace(v, v).first->first;
    if (it->second == v) return v;
    std::string root = find(it->second);
    parent_[v] = root;
    return root;
  }
  void join(const std::string& a, const std::string& b) {
    std::string ra = find(a), rb = find(b);
    if (ra != rb) parent_[ra] = rb;
  }

 private:
  std::unordered_map<std::string, std::string> parent_;
};

}  // namespace

size_t assign_channels_last(ir::Graph& graph, const ChannelsLastQuery& kernel_reads_channels_last) {
  for (ir::Node& node : graph.nodes) clear_marks(node);
  const Facts facts(graph);
  std::vector<bool> able(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) able[i] = capable(graph.nodes[i], facts, kernel_reads_channels_last);

  Groups groups;
  std::unordered_set<std::string> plain;  // values that must stay NCHW
  for (const ir::ValueInfo& v : graph.inputs) plain.insert(v.name);
  for (const ir::ValueInfo& v : graph.outputs) plain.insert(v.name);
  for (const ir::Tensor& t : graph.initializers) plain.insert(t.name);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const ir::Node& node = graph.nodes[n];
    for (const ir::Attribute& attr : node.attributes) {
      if (attr.g)
        for (const std::string& name : attr.g->outer_scope_names()) plain.insert(name);
      for (const auto& g : attr.graphs)
        for (const std::string& name : g->outer_scope_names()) plain.insert(name);
    }
    std::vector<size_t> acts, tied;  // read in the input layout; stored in the output layout
    if (able[n]) {
      acts = activation_inputs(node, facts);
      tied = output_layout_inputs(node, facts);
    }
    auto listed = [&](size_t i) {
      return std::find(acts.begin(), acts.end(), i) != acts.end() || std::find(tied.begin(), tied.end(), i) != tied.end();
    };
    // Shape and Size read only the dims, which stay NCHW: either layout will do.
    const bool dims_only = node.domain.empty() && (node.op == OpKind::Shape || node.op == OpKind::Size);
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (!node.inputs[i].empty() && !listed(i) && !dims_only) plain.insert(node.inputs[i]);
    for (size_t i = 1; i < acts.size(); ++i) groups.join(node.inputs[acts[i]], node.inputs[acts[0]]);
    const Role role = facts.role(node);
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const std::string& out = node.outputs[o];
      if (out.empty()) continue;
      if (!able[n] || o > 0 || role == Role::sink) plain.insert(out);
      else
        for (size_t i : tied) groups.join(out, node.inputs[i]);
    }
  }
  std::unordered_set<std::string> plain_roots;
  for (const std::string& v : plain) plain_roots.insert(groups.find(v));
  auto channels_last = [&](const std::string& v) { return !v.empty() && !plain_roots.count(groups.find(v)); };

  size_t values = 0;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!able[n]) continue;
    ir::Node& node = graph.nodes[n];
    const std::vector<size_t> acts = activation_inputs(node, facts);
    if (channels_last(node.inputs[acts[0]])) set_mark(node, kLayoutIn);
    if (facts.role(node) != Role::sink && channels_last(node.outputs[0])) {
      set_mark(node, kLayoutOut);
      ++values;
    }
  }
  return values;
}

std::vector<std::string> channels_last_values(const ir::Graph& graph) {
  std::vector<std::string> names;
  for (const ir::Node& node : graph.nodes)
    if (node.attr_string(kLayoutOut, "") == "nhwc") names.push_back(node.outputs[0]);
  return names;
}

}  // namespace mhub::engine::passes
