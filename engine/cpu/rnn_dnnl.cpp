// Fast float32 RNN, GRU and LSTM (ONNX semantics, inference) on oneDNN's RNN primitives:
// vanilla_rnn_forward, gru_forward, lbr_gru_forward (linear_before_reset = 1, what PyTorch
// exports) and lstm_forward; forward, reverse and bidirectional, layout 0 and 1, initial_h /
// initial_c, outputs Y, Y_h and Y_c. A bidirectional node with steps too small for a team runs
// its two directions as two unidirectional primitives side by side, one per thread
// (recurrent_directions_apart).
//
// ONNX and oneDNN order the gates differently (LSTM: ONNX i,o,f,c, oneDNN i,f,c~,o; GRU: z,r,h
// and u,r,o, the same order) and ONNX keeps two biases per gate (Wb, Rb) where oneDNN adds one,
// except lbr_gru's 4th bias (the candidate's Rb, applied inside the reset product). W, R and B are
// rearranged into oneDNN's plain ldgoi / ldgo and reordered into the primitive's layout: once per
// plan when they are session constants (the plan is keyed by their addresses and holds W's
// storage, as conv_dnnl.cpp's baked plans do), else on every run.
//
// What oneDNN cannot do stays on the reference kernel (rnn.cpp): supports() refuses peepholes,
// clip, input_forget, activations other than the defaults (RNN: Tanh, Relu or Sigmoid, the same
// for both directions) and types other than float32; sequence_lens with a length other than the
// sequence's is seen only at run time, where the kernel hands the node to the reference.
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/dnnl_common.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/rnn.h"

namespace mhub::engine::cpu {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

int64_t gate_count(ir::OpKind op) { return op == ir::OpKind::LSTM ? 4 : op == ir::OpKind::GRU ? 3 : 1; }

// The ONNX gate that feeds oneDNN's gate `g` (LSTM i,f,c~,o from i,o,f,c; GRU and RNN agree).
int64_t onnx_gate(ir::OpKind op, int64_t g) {
  static constexpr int64_t kLstm[4] = {0, 2, 3, 1};
  return op == ir::OpKind::LSTM ? kLstm[g] : g;
}

std::vector<std::string> default_activations(ir::OpKind op) {
  if (op == ir::OpKind::LSTM) return {"Sigmoid", "Tanh", "Tanh"};
  if (op == ir::OpKind::GRU) return {"Sigmoid", "Tanh"};
  return {"Tanh"};
}

int64_t direction_count(const ir::Node& node) { return node.attr_string("direction", "forward") == "bidirectional" ? 2 : 1; }

// Activation `i` of direction `d`, read as the reference reads it (missing names: the defaults).
std::string activation_name(const ir::Node& node, int64_t d, size_t i) {
  const std::vector<std::string> defaults = default_activations(node.op);
  const ir::Attribute* names = node.attribute("activations");
  const size_t at = static_cast<size_t>(d) * defaults.size() + i;
  return names && at < names->strings.size() ? names->strings[at] : defaults[i];
}

bool rnn_dnnl_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  auto is_f32 = [&](size_t i) { return i < types.size() && types[i] == ir::DataType::float32; };
  auto absent = [&](size_t i) { return i >= types.size() || types[i] == ir::DataType::undefined; };
  if (!is_f32(0) || !is_f32(1) || !is_f32(2)) return false;
  for (size_t i : {3, 5, 6})
    if (!absent(i) && !is_f32(i)) return false;
  if (node.op == ir::OpKind::LSTM && !absent(7)) return false;  // peepholes
  if (node.attribute("clip") != nullptr || node.attr_int("input_forget", 0) != 0) return false;
  const int64_t layout = node.attr_int("layout", 0);
  const std::string direction = node.attr_string("direction", "forward");
  if ((layout != 0 && layout != 1) || (direction != "forward" && direction != "reverse" && direction != "bidirectional"))
    return false;
  const std::vector<std::string> defaults = default_activations(node.op);
  for (int64_t d = 0; d < direction_count(node); ++d)
    for (size_t i = 0; i < defaults.size(); ++i) {
      const std::string name = activation_name(node, d, i);
      if (node.op != ir::OpKind::RNN) {
        if (name != defaults[i]) return false;
      } else if ((name != "Tanh" && name != "Relu" && name != "Sigmoid") || name != activation_name(node, 0, i)) {
        return false;
      }
    }
  return true;
}

// Multiply-adds of one recurrent step (batch x gates*hidden x hidden) from which the RNN runs
// on the session's threads rather than one.
constexpr int64_t kThreadedStepMacs = int64_t{1} << 20;

struct Geometry {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1, gates = 1;
  bool batch_first = false;  // layout = 1: X [batch, seq, input], Y [batch, seq, dirs, hidden]
  bool lbr = false;          // GRU with linear_before_reset = 1
};

Geometry geometry_of(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& w = ctx.input(1);
  const ir::Tensor& r = ctx.input(2);
  Geometry g;
  g.batch_first = node.attr_int("layout", 0) == 1;
  g.dirs = direction_count(node);
  g.gates = gate_count(node.op);
  g.lbr = node.op == ir::OpKind::GRU && node.attr_int("linear_before_reset", 0) != 0;
  if (x.dims.size() != 3 || w.dims.size() != 3 || r.dims.size() != 3) fail(ctx, "X, W and R must be 3-D");
  g.seq = g.batch_first ? x.dims[1] : x.dims[0];
  g.batch = g.batch_first ? x.dims[0] : x.dims[1];
  g.input = x.dims[2];
  g.hidden = node.attr_int("hidden_size", w.dims[1] / g.gates);
  const int64_t rows = g.gates * g.hidden;
  if (w.dims != std::vector<int64_t>{g.dirs, rows, g.input}) fail(ctx, "W has the wrong shape");
  if (r.dims != std::vector<int64_t>{g.dirs, rows, g.hidden}) fail(ctx, "R must be [num_directions, gates * hidden_size, hidden_size]");
  if (ctx.has_input(3) && ctx.input(3).dims != std::vector<int64_t>{g.dirs, 2 * rows})
    fail(ctx, "B must be [num_directions, 2 * gates * hidden_size]");
  const std::vector<int64_t> state = g.batch_first ? std::vector<int64_t>{g.batch, g.dirs, g.hidden}
                                                   : std::vector<int64_t>{g.dirs, g.batch, g.hidden};
  for (size_t i : {5, 6})
    if (ctx.has_input(i) && ctx.input(i).dims != state) fail(ctx, "initial states must be " + std::string(g.batch_first ? "[batch, num_directions, hidden_size]" : "[num_directions, batch, hidden_size]"));
  return g;
}

// ONNX's W [dirs, G*H, K] (or R, K = H) as oneDNN's plain ldgoi {1, dirs, K, G, H}: per
// (direction, gate) a block of H rows of K, gates in oneDNN's order.
std::vector<float> weights_ldgoi(ir::OpKind op, const float* w, const Geometry& g, int64_t k) {
  std::vector<float> out(static_cast<size_t>(g.dirs * g.gates * g.hidden * k));
  const int64_t block = g.hidden * k;
  for (int64_t d = 0; d < g.dirs; ++d)
    for (int64_t gate = 0; gate < g.gates; ++gate)
      std::memcpy(out.data() + (d * g.gates + gate) * block, w + (d * g.gates + onnx_gate(op, gate)) * block, block * sizeof(float));
  return out;
}

// ONNX's B [dirs, 2*G*H] (Wb then Rb; absent: zeros) as oneDNN's ldgo {1, dirs, G', H}: Wb + Rb
// per gate, except lbr_gru's candidate gate, whose Wb stays gate 2 and Rb becomes gate 3.
std::vector<float> bias_ldgo(ir::OpKind op, const float* b, const Geometry& g) {
  const int64_t out_gates = g.lbr ? g.gates + 1 : g.gates, h = g.hidden;
  std::vector<float> out(static_cast<size_t>(g.dirs * out_gates * h), 0.0f);
  if (!b) return out;
  for (int64_t d = 0; d < g.dirs; ++d) {
    const float* wb = b + d * 2 * g.gates * h;
    const float* rb = wb + g.gates * h;
    float* o = out.data() + d * out_gates * h;
    for (int64_t gate = 0; gate < g.gates; ++gate) {
      const int64_t from = onnx_gate(op, gate) * h;
      const bool split = g.lbr && gate == 2;
      for (int64_t k = 0; k < h; ++k) o[gate * h + k] = wb[from + k] + (split ? 0.0f : rb[from + k]);
    }
    if (g.lbr)
      for (int64_t k = 0; k < h; ++k) o[3 * h + k] = rb[2 * h + k];
  }
  return out;
}

struct RnnPlan {
  std::shared_ptr<const ir::Storage> weight_owner;  // baked plans: W's storage (the key's address)
  dnnl::primitive rnn;
  memory::desc src_layer_md, dst_layer_md, state_md, w_layer_plain, w_iter_plain, w_layer_md, w_iter_md, bias_md, scratch_md;
  memory w_layer, w_iter, bias;  // baked plans only
  bool baked = false;
};

// W, R and B rearranged into oneDNN's plain ldgoi / ldgo (weights_ldgoi, bias_ldgo).
struct RnnWeights {
  std::vector<float> w_layer, w_iter, bias;
};

// The node's W, R and B from direction `first` on, as many directions as g.dirs (0 and the node's
// own count, or one direction of a bidirectional node run alone), rearranged.
RnnWeights rearranged_weights(OpContext& ctx, const Geometry& g, int64_t first) {
  const ir::OpKind op = ctx.node().op;
  const int64_t rows = g.gates * g.hidden;
  return {weights_ldgoi(op, ctx.input(1).data<float>() + first * rows * g.input, g, g.input),
          weights_ldgoi(op, ctx.input(2).data<float>() + first * rows * g.hidden, g, g.hidden),
          bias_ldgo(op, ctx.has_input(3) ? ctx.input(3).data<float>() + first * 2 * rows : nullptr, g)};
}

// The primitive's weight arguments: the plan's baked ones, or `fed` (this run's rearranged bytes,
// which the caller keeps alive until the stream is done) in the primitive's layout.
void bind_weights(std::unordered_map<int, memory>& args, const RnnPlan& plan, RnnWeights& fed, dnnl::stream& stream) {
  if (plan.baked) {
    args[DNNL_ARG_WEIGHTS_LAYER] = plan.w_layer;
    args[DNNL_ARG_WEIGHTS_ITER] = plan.w_iter;
    args[DNNL_ARG_BIAS] = plan.bias;
    return;
  }
  args[DNNL_ARG_WEIGHTS_LAYER] = dnnl_in_layout(stream, plan.w_layer_plain, plan.w_layer_md, fed.w_layer.data());
  args[DNNL_ARG_WEIGHTS_ITER] = dnnl_in_layout(stream, plan.w_iter_plain, plan.w_iter_md, fed.w_iter.data());
  args[DNNL_ARG_BIAS] = memory(plan.bias_md, dnnl_cpu_engine(), fed.bias.data());
}

// (W's address or nullptr when not baked, attributes + which inputs + baked R/B addresses, X and W dims).
using PlanKey = std::tuple<const void*, std::string, std::vector<int64_t>>;

std::mutex cache_mutex;
std::map<PlanKey, std::shared_ptr<RnnPlan>> cache;

dnnl::rnn_direction dnnl_direction(const ir::Node& node) {
  const std::string direction = node.attr_string("direction", "forward");
  if (direction == "bidirectional") return dnnl::rnn_direction::bidirectional_concat;
  return direction == "reverse" ? dnnl::rnn_direction::unidirectional_right2left : dnnl::rnn_direction::unidirectional_left2right;
}

dnnl::algorithm rnn_activation(const ir::Node& node) {
  const std::string name = activation_name(node, 0, 0);
  return name == "Relu" ? dnnl::algorithm::eltwise_relu : name == "Sigmoid" ? dnnl::algorithm::eltwise_logistic : dnnl::algorithm::eltwise_tanh;
}

// `alone` -1: the node as it is; 0 or 1: that direction of a bidirectional node as a
// unidirectional primitive (g.dirs is then 1: W, R and B are that direction's slices).
std::shared_ptr<RnnPlan> build_plan(OpContext& ctx, const Geometry& g, bool bake, bool with_initial, int alone) {
  const ir::Node& node = ctx.node();
  dnnl::engine& engine = dnnl_cpu_engine();
  auto plan = std::make_shared<RnnPlan>();
  const Tag seq_tag = g.batch_first ? Tag::ntc : Tag::tnc;
  plan->src_layer_md = memory::desc({g.seq, g.batch, g.input}, kF32, seq_tag);
  plan->dst_layer_md = memory::desc({g.seq, g.batch, g.dirs * g.hidden}, kF32, seq_tag);
  plan->state_md = memory::desc({1, g.dirs, g.batch, g.hidden}, kF32, Tag::ldnc);
  plan->w_layer_plain = memory::desc({1, g.dirs, g.input, g.gates, g.hidden}, kF32, Tag::ldgoi);
  plan->w_iter_plain = memory::desc({1, g.dirs, g.hidden, g.gates, g.hidden}, kF32, Tag::ldgoi);
  plan->bias_md = memory::desc({1, g.dirs, g.lbr ? g.gates + 1 : g.gates, g.hidden}, kF32, Tag::ldgo);
  const memory::desc w_layer_any({1, g.dirs, g.input, g.gates, g.hidden}, kF32, Tag::any);
  const memory::desc w_iter_any({1, g.dirs, g.hidden, g.gates, g.hidden}, kF32, Tag::any);
  const memory::desc src_iter = with_initial ? plan->state_md : memory::desc();
  // Plans are shared by sessions on other threads: each run brings its own scratchpad.
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto kind = dnnl::prop_kind::forward_inference;
  const dnnl::rnn_direction direction = alone < 0    ? dnnl_direction(node)
                                         : alone == 0 ? dnnl::rnn_direction::unidirectional_left2right
                                                      : dnnl::rnn_direction::unidirectional_right2left;
  auto finish = [&](const auto& pd, auto primitive_tag) {
    using Primitive = decltype(primitive_tag);
    plan->rnn = Primitive(pd);
    plan->w_layer_md = pd.weights_layer_desc();
    plan->w_iter_md = pd.weights_iter_desc();
    plan->scratch_md = pd.scratchpad_desc();
  };
  if (node.op == ir::OpKind::LSTM) {
    dnnl::lstm_forward::desc desc(kind, direction, plan->src_layer_md, src_iter, src_iter, w_layer_any, w_iter_any, plan->bias_md,
                                  plan->dst_layer_md, plan->state_md, plan->state_md);
    finish(dnnl::lstm_forward::primitive_desc(desc, attr, engine), dnnl::lstm_forward());
  } else if (node.op == ir::OpKind::GRU && g.lbr) {
    dnnl::lbr_gru_forward::desc desc(kind, direction, plan->src_layer_md, src_iter, w_layer_any, w_iter_any, plan->bias_md,
                                     plan->dst_layer_md, plan->state_md);
    finish(dnnl::lbr_gru_forward::primitive_desc(desc, attr, engine), dnnl::lbr_gru_forward());
  } else if (node.op == ir::OpKind::GRU) {
    dnnl::gru_forward::desc desc(kind, direction, plan->src_layer_md, src_iter, w_layer_any, w_iter_any, plan->bias_md,
                                 plan->dst_layer_md, plan->state_md);
    finish(dnnl::gru_forward::primitive_desc(desc, attr, engine), dnnl::gru_forward());
  } else {
    dnnl::vanilla_rnn_forward::desc desc(kind, rnn_activation(node), direction, plan->src_layer_md, src_iter, w_layer_any, w_iter_any,
                                         plan->bias_md, plan->dst_layer_md, plan->state_md);
    finish(dnnl::vanilla_rnn_forward::primitive_desc(desc, attr, engine), dnnl::vanilla_rnn_forward());
  }
  if (!bake) return plan;
  plan->baked = true;
  plan->weight_owner = ctx.input(1).storage;
  dnnl::stream stream(engine);
  RnnWeights w = rearranged_weights(ctx, g, std::max(alone, 0));
  plan->w_layer = memory(plan->w_layer_md, engine);
  plan->w_iter = memory(plan->w_iter_md, engine);
  memory w_layer_user(plan->w_layer_plain, engine, w.w_layer.data());
  memory w_iter_user(plan->w_iter_plain, engine, w.w_iter.data());
  dnnl::reorder(w_layer_user, plan->w_layer).execute(stream, w_layer_user, plan->w_layer);
  dnnl::reorder(w_iter_user, plan->w_iter).execute(stream, w_iter_user, plan->w_iter);
  plan->bias = memory(plan->bias_md, engine);
  std::memcpy(plan->bias.get_data_handle(), w.bias.data(), w.bias.size() * sizeof(float));
  stream.wait();
  return plan;
}

// A primitive's scratchpad is sized for the team it was created for: the thread count is part of the key.
std::shared_ptr<RnnPlan> plan_for(OpContext& ctx, const Geometry& g, bool with_initial, int threads, int alone = -1) {
  const ir::Tensor& w = ctx.input(1);
  const bool has_bias = ctx.has_input(3);
  // Only bytes that stay fixed for the session's life may be baked into a cached plan.
  const bool bake = w.storage && ctx.input_is_constant(1) && ctx.input_is_constant(2) && (!has_bias || ctx.input_is_constant(3));
  std::string sig = dnnl_attribute_signature(ctx.node());
  sig += ";threads=" + std::to_string(threads);
  if (with_initial) sig += ";initial";
  if (alone >= 0) sig += ";alone=" + std::to_string(alone);
  if (bake) {
    sig += ";R@" + std::to_string(reinterpret_cast<uintptr_t>(ctx.input(2).data<float>()));
    if (has_bias) sig += ";B@" + std::to_string(reinterpret_cast<uintptr_t>(ctx.input(3).data<float>()));
  }
  std::vector<int64_t> dims = ctx.input(0).dims;
  dims.insert(dims.end(), w.dims.begin(), w.dims.end());
  PlanKey key{bake ? static_cast<const void*>(w.data<float>()) : nullptr, sig, dims};
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  std::shared_ptr<RnnPlan> plan = build_plan(ctx, g, bake, with_initial, alone);
  std::lock_guard<std::mutex> lock(cache_mutex);
  // Baked plans whose weights only the cache still holds belong to models that are gone.
  for (auto it = cache.begin(); it != cache.end();)
    it = it->second->weight_owner && it->second->weight_owner.use_count() == 1 ? cache.erase(it) : std::next(it);
  if (cache.size() > 1024) cache.clear();  // bounded: models are re-planned after a flush
  cache[key] = plan;
  return plan;
}

// An ONNX state tensor ([dirs, batch, hidden], or [batch, dirs, hidden] for layout 1) in the
// dims of oneDNN's ldnc {1, dirs, batch, hidden}.
memory::desc onnx_state_desc(const Geometry& g) {
  const memory::dims dims{1, g.dirs, g.batch, g.hidden};
  if (!g.batch_first) return memory::desc(dims, kF32, Tag::ldnc);
  return memory::desc(dims, kF32, memory::dims{g.dirs * g.batch * g.hidden, g.hidden, g.dirs * g.hidden, 1});
}

// A bidirectional node whose steps are too small for a team (kThreadedStepMacs): its two
// directions are independent chains, so each runs as a unidirectional primitive on a thread of
// its own (inside the pool's region oneDNN runs each primitive on its calling thread), where
// the node as one primitive leaves the second thread idle. Each direction's Y, Y_h and Y_c are
// written by oneDNN to its own buffers and copied into their slices of the ONNX outputs.
void recurrent_directions_apart(OpContext& ctx, const Geometry& g, bool with_initial) {
  const ir::Node& node = ctx.node();
  const bool lstm = node.op == ir::OpKind::LSTM;
  Geometry one = g;
  one.dirs = 1;
  set_dnnl_threads(1);
  const std::shared_ptr<RnnPlan> plans[2] = {plan_for(ctx, one, with_initial, 1, 0), plan_for(ctx, one, with_initial, 1, 1)};
  auto wanted = [&](size_t index) { return ctx.output_count() > index && ctx.output_wanted(index); };

  // Every buffer is taken before the threads start (the scope is not shared across threads).
  const int64_t h = g.hidden, n = g.batch, t_count = g.seq;
  const std::vector<int64_t> y_dims = g.batch_first ? std::vector<int64_t>{n, t_count, 2, h} : std::vector<int64_t>{t_count, 2, n, h};
  const std::vector<int64_t> state_dims = g.batch_first ? std::vector<int64_t>{n, 2, h} : std::vector<int64_t>{2, n, h};
  float* y = wanted(0) ? mutable_floats(ctx.allocate_output(0, ir::DataType::float32, y_dims)) : nullptr;
  float* y_h = wanted(1) ? mutable_floats(ctx.allocate_output(1, ir::DataType::float32, state_dims)) : nullptr;
  float* y_c = lstm && wanted(2) ? mutable_floats(ctx.allocate_output(2, ir::DataType::float32, state_dims)) : nullptr;
  // Per direction: its Y [seq, batch, hidden] (tnc, or ntc for layout 1), then h and c states
  // in, h and c states out ([batch, hidden] each).
  const int64_t y_floats = t_count * n * h, state_floats = n * h;
  ir::Tensor work = ctx.scope().allocate(ir::DataType::float32, {2, y_floats + 4 * state_floats});
  float* work_floats = mutable_floats(work);

  // Fed (not constant) weights: each direction's slices rearranged here, on the calling thread.
  RnnWeights fed[2];
  if (!plans[0]->baked)
    for (int64_t d = 0; d < 2; ++d) fed[d] = rearranged_weights(ctx, one, d);

  // Row `row` (batch entry) of direction d in an ONNX state tensor ([dirs, batch, hidden], or
  // [batch, dirs, hidden] for layout 1).
  auto state_row = [&](int64_t d, int64_t row) { return g.batch_first ? (row * 2 + d) * h : (d * n + row) * h; };
  const float* x = ctx.input(0).data<float>();
  const float* initial_h = ctx.has_input(5) ? ctx.input(5).data<float>() : nullptr;
  const float* initial_c = lstm && ctx.has_input(6) ? ctx.input(6).data<float>() : nullptr;

  auto run_direction = [&](int64_t d) {
    const RnnPlan& plan = *plans[d];
    dnnl::engine& engine = dnnl_cpu_engine();
    dnnl::stream stream(engine);
    float* y_d = work_floats + d * (y_floats + 4 * state_floats);
    float* h_in = y_d + y_floats;
    float* c_in = h_in + state_floats;
    float* h_out = c_in + state_floats;
    float* c_out = h_out + state_floats;
    std::unordered_map<int, memory> args;
    args[DNNL_ARG_SRC_LAYER] = memory(plan.src_layer_md, engine, const_cast<float*>(x));
    bind_weights(args, plan, fed[d], stream);
    if (with_initial) {
      auto initial = [&](const float* from, float* to) {
        if (!from) {
          std::memset(to, 0, state_floats * sizeof(float));
        } else {
          for (int64_t row = 0; row < n; ++row) std::memcpy(to + row * h, from + state_row(d, row), h * sizeof(float));
        }
        return memory(plan.state_md, engine, to);
      };
      args[DNNL_ARG_SRC_ITER] = initial(initial_h, h_in);
      if (lstm) args[DNNL_ARG_SRC_ITER_C] = initial(initial_c, c_in);
    }
    args[DNNL_ARG_DST_LAYER] = memory(plan.dst_layer_md, engine, y_d);
    args[DNNL_ARG_DST_ITER] = memory(plan.state_md, engine, h_out);
    if (lstm) args[DNNL_ARG_DST_ITER_C] = memory(plan.state_md, engine, c_out);
    args[DNNL_ARG_SCRATCHPAD] = memory(plan.scratch_md, engine);
    plan.rnn.execute(stream, args);
    stream.wait();
    if (y) {
      // y_d is [seq, batch, hidden] (layout 0) or [batch, seq, hidden] (layout 1): its rows go to
      // Y [seq, 2, batch, hidden] or [batch, seq, 2, hidden] at direction d.
      for (int64_t a = 0; a < (g.batch_first ? n : t_count); ++a)
        for (int64_t b = 0; b < (g.batch_first ? t_count : n); ++b) {
          const int64_t to = g.batch_first ? ((a * t_count + b) * 2 + d) * h : ((a * 2 + d) * n + b) * h;
          std::memcpy(y + to, y_d + (a * (g.batch_first ? t_count : n) + b) * h, h * sizeof(float));
        }
    }
    for (auto [out, from] : {std::pair<float*, const float*>{y_h, h_out}, std::pair<float*, const float*>{y_c, c_out}})
      if (out)
        for (int64_t row = 0; row < n; ++row) std::memcpy(out + state_row(d, row), from + row * h, h * sizeof(float));
  };
  ctx.threads().parallel_for(2, 1, [&](size_t begin, size_t end) {
    for (size_t d = begin; d < end; ++d) run_direction(static_cast<int64_t>(d));
  });
}

void recurrent_fast(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const Geometry g = geometry_of(ctx);
  if (g.seq == 0 || g.batch == 0 || g.input == 0 || g.hidden == 0) return recurrent_reference(ctx);
  if (ctx.has_input(4)) {
    const std::vector<int64_t> lens = input_ints(ctx, 4);
    if (static_cast<int64_t>(lens.size()) != g.batch) fail(ctx, "sequence_lens must have one length per batch entry");
    for (int64_t len : lens)
      if (len != g.seq) return recurrent_reference(ctx);  // oneDNN runs every sequence to the end
  }
  const bool lstm = node.op == ir::OpKind::LSTM;
  const bool with_initial = ctx.has_input(5) || (lstm && ctx.has_input(6));
  // The recurrence is a chain of small GEMMs, one per step, each ended by a barrier of oneDNN's
  // OpenMP team: below kThreadedStepMacs per step the barriers cost more than a second thread
  // gains (audio_crnn's LSTM/GRU, hidden 128, batch 1 to 8, ran several times faster on one).
  const int threads = g.batch * g.gates * g.hidden * g.hidden >= kThreadedStepMacs ? static_cast<int>(ctx.threads().size()) : 1;
  if (threads == 1 && g.dirs == 2 && ctx.threads().size() >= 2) return recurrent_directions_apart(ctx, g, with_initial);
  set_dnnl_threads(threads);
  std::shared_ptr<RnnPlan> plan = plan_for(ctx, g, with_initial, threads);

  dnnl::engine& engine = dnnl_cpu_engine();
  dnnl::stream stream(engine);
  auto wanted = [&](size_t index) { return ctx.output_count() > index && ctx.output_wanted(index); };
  std::unordered_map<int, memory> args;
  args[DNNL_ARG_SRC_LAYER] = memory(plan->src_layer_md, engine, const_cast<float*>(ctx.input(0).data<float>()));

  // Weights: the plan's, or this run's bytes rearranged (kept alive until the stream is done).
  RnnWeights fed;
  if (!plan->baked) fed = rearranged_weights(ctx, g, 0);
  bind_weights(args, *plan, fed, stream);

  // Initial states: the ONNX tensors (reordered from layout 1), zeros for an absent one.
  const memory::desc state_onnx = onnx_state_desc(g);
  if (with_initial) {
    auto initial = [&](size_t index) {
      if (ctx.has_input(index)) return dnnl_in_layout(stream, state_onnx, plan->state_md, ctx.input(index).data<float>());
      memory zeros(plan->state_md, engine);
      std::memset(zeros.get_data_handle(), 0, plan->state_md.get_size());
      return zeros;
    };
    args[DNNL_ARG_SRC_ITER] = initial(5);
    if (lstm) args[DNNL_ARG_SRC_ITER_C] = initial(6);
  }

  // Y: oneDNN writes [seq, batch, dirs * hidden] (tnc, or ntc for layout 1). That is ONNX's Y
  // for layout 1 or one direction; layout 0 with two directions ([seq, dirs, batch, hidden]) is
  // written to a scratch tensor and reordered.
  const std::vector<int64_t> y_dims = g.batch_first ? std::vector<int64_t>{g.batch, g.seq, g.dirs, g.hidden}
                                                    : std::vector<int64_t>{g.seq, g.dirs, g.batch, g.hidden};
  const bool y_direct = g.batch_first || g.dirs == 1;
  ir::Tensor y = wanted(0) ? ctx.allocate_output(0, ir::DataType::float32, y_dims) : ctx.scope().allocate(ir::DataType::float32, y_dims);
  ir::Tensor y_concat = y_direct ? y : ctx.scope().allocate(ir::DataType::float32, {g.seq, g.batch, g.dirs * g.hidden});
  args[DNNL_ARG_DST_LAYER] = memory(plan->dst_layer_md, engine, mutable_floats(y_concat));

  // Y_h / Y_c: written in place for layout 0, else through oneDNN's ldnc and reordered.
  const std::vector<int64_t> state_dims = g.batch_first ? std::vector<int64_t>{g.batch, g.dirs, g.hidden}
                                                        : std::vector<int64_t>{g.dirs, g.batch, g.hidden};
  std::vector<std::pair<memory, memory>> state_copies;  // (oneDNN's state, the output it goes to)
  auto final_state = [&](size_t index) {
    if (!wanted(index)) return memory(plan->state_md, engine);
    memory out(state_onnx, engine, mutable_floats(ctx.allocate_output(index, ir::DataType::float32, state_dims)));
    if (!g.batch_first) return out;
    memory staged(plan->state_md, engine);
    state_copies.emplace_back(staged, out);
    return staged;
  };
  args[DNNL_ARG_DST_ITER] = final_state(1);
  if (lstm) args[DNNL_ARG_DST_ITER_C] = final_state(2);
  args[DNNL_ARG_SCRATCHPAD] = memory(plan->scratch_md, engine);

  plan->rnn.execute(stream, args);
  if (!y_direct && wanted(0)) {
    // [seq, batch, dirs, hidden] -> [seq, dirs, batch, hidden], both seen as {seq, batch, dirs, hidden}.
    const memory::dims dims{g.seq, g.batch, g.dirs, g.hidden};
    const memory::dim h = g.hidden, n = g.batch, d = g.dirs;
    memory from(memory::desc(dims, kF32, memory::dims{n * d * h, d * h, h, 1}), engine, mutable_floats(y_concat));
    memory to(memory::desc(dims, kF32, memory::dims{d * n * h, h, n * h, 1}), engine, mutable_floats(y));
    dnnl::reorder(from, to).execute(stream, from, to);
  }
  for (auto& [staged, out] : state_copies) dnnl::reorder(staged, out).execute(stream, staged, out);
  stream.wait();
}

}  // namespace

void add_rnn_dnnl_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::RNN, KernelKind::fast, recurrent_fast, rnn_dnnl_supports});
  table.push_back({ir::OpKind::GRU, KernelKind::fast, recurrent_fast, rnn_dnnl_supports});
  table.push_back({ir::OpKind::LSTM, KernelKind::fast, recurrent_fast, rnn_dnnl_supports});
}

}  // namespace mhub::engine::cpu
