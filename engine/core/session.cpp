#include "engine/core/session.h"
#include "engine/core/passes/activation_patterns.h"
#include "engine/core/passes/channels_last.h"
#include "engine/core/passes/compute_precision.h"
#include "engine/core/passes/nn_fusion.h"
#include "engine/core/passes/static_facts.h"
#include "engine/core/passes/transformer_fusion.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "engine/core/backend.h"
#include "engine/core/buffer_pool.h"
#include "engine/core/inline_functions.h"
#include "engine/core/input_dims.h"
#include "engine/core/op_context.h"
#include "engine/core/thread_pool.h"

namespace mhub::engine {

namespace {

constexpr size_t kNever = static_cast<size_t>(-1);

std::string node_label(const ir::Node& node) {
  std::string domain = node.domain.empty() ? "ai.onnx" : node.domain;
  return node.op_type + " (domain " + domain + ", node '" + node.name + "')";
}

// Names a node reads from the enclosing scopes through its subgraph attributes.
std::vector<std::string> subgraph_reads(const ir::Node& node) {
  std::vector<std::string> names;
  for (const ir::Attribute& attr : node.attributes) {
    if (attr.g)
      for (std::string& name : attr.g->outer_scope_names()) names.push_back(std::move(name));
    for (const auto& sub : attr.graphs)
      if (sub)
        for (std::string& name : sub->outer_scope_names()) names.push_back(std::move(name));
  }
  return names;
}

bool has_subgraph(const ir::Node& node) {
  for (const ir::Attribute& attr : node.attributes)
    if (attr.g || !attr.graphs.empty()) return true;
  return false;
}

// Ops whose result differs from run to run, or that talk to other processes (every rank must
// call a collective in every run): never folded at load time.
bool is_nondeterministic(ir::OpKind op) {
  switch (op) {
    case ir::OpKind::AllReduce:
    case ir::OpKind::RandomNormal:
    case ir::OpKind::RandomNormalLike:
    case ir::OpKind::RandomUniform:
    case ir::OpKind::RandomUniformLike:
    case ir::OpKind::Multinomial:
    case ir::OpKind::Bernoulli:
    case ir::OpKind::Dropout:
      return true;
    default:
      return false;
  }
}

// The model's ai.onnx opset (0 when it imports none).
int64_t import_for_default(const ir::Model& model) {
  for (const ir::OpsetImport& opset : model.opset_imports)
    if (opset.domain.empty() || opset.domain == "ai.onnx") return opset.version;
  return 0;
}

// "12.3 ms", for the verbose log.
std::string milliseconds_since(std::chrono::steady_clock::time_point start) {
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", ms);
  return text;
}

std::string type_list(const std::vector<ir::DataType>& types) {
  std::string text;
  for (size_t i = 0; i < types.size(); ++i)
    text += (i ? ", " : "") + std::string(types[i] == ir::DataType::undefined
                                              ? std::string_view("-")
                                              : ir::name_of(types[i]));
  return text;
}

}  // namespace

// One node ready to run: where its inputs and outputs live in the frame, which values die after
// it, and the kernel chosen for the input types seen last time.
struct Step {
  const ir::Node* node = nullptr;
  int64_t opset = 0;
  const Backend* backend = nullptr;
  std::vector<int> inputs;   // slot per node input, -1 for ""
  std::vector<int> outputs;  // slot per node output, -1 for ""
  std::vector<int> release_after;
  std::vector<bool> constant_inputs;  // per input: an initializer with fixed bytes
  mutable std::vector<ir::DataType> cached_types;
  mutable const KernelDef* cached_kernel = nullptr;
  // Where cached_kernel runs: `backend`, or the host backend when `backend` has no kernel for
  // the types.
  mutable const Backend* cached_backend = nullptr;
  mutable double seconds = 0;  // kernel time, collected with SessionOptions::verbose
  mutable uint64_t calls = 0;
};

// A graph (main or subgraph) planned once: every value name gets a slot of the frame.
struct Plan {
  const ir::Graph* graph = nullptr;
  std::unordered_map<std::string, int> slot_of;
  size_t slot_count = 0;
  std::vector<int> input_slots;
  std::vector<int> output_slots;
  std::vector<std::pair<int, Value>> constants;       // initializers, bound without copying
  std::vector<std::pair<int, std::string>> outer;     // read from the enclosing scopes
  std::vector<Step> steps;
  std::vector<bool> constant_slot;  // an initializer with fixed bytes
  // Copies of constants on the device that needs them, made on first use and kept for the
  // session's life, so weights cross to the device once. Tensor constants use
  // Session::Impl::shared_mirrors (one copy for every plan); this map takes the rest (a constant
  // whose bytes a constant of other dims or type mirrored first).
  mutable std::unordered_map<int, Value> constant_mirrors;
  // The slot vectors of the last finished run, every value dropped: the next run of this graph
  // takes them instead of allocating two vectors of slot_count Values (empty while a run of the
  // graph is in progress, so a nested or failed run allocates its own).
  mutable std::vector<Value> spare_slots, spare_mirrors;
};

// The values of one running graph; `parent` is the frame of the node that runs the subgraph.
struct Frame {
  const Plan* plan = nullptr;
  std::vector<Value> slots;
  // Per slot: its value moved to the other device (host <-> preferred backend), made when a
  // node on that side reads it and dropped with the slot, so several consumers share one copy.
  std::vector<Value> mirrors;
  const Frame* parent = nullptr;
};

struct Session::Impl {
  SessionOptions options;
  ir::Model model;  // the session's own rewritten copy (tensor bytes shared with the caller's)
  // Shape specialisation (session.h): the model after constant folding, before the other
  // passes (fusions, layout), the inputs whose dims a
  // feed fills, and the plans built so far (a null model: its build failed, the generic runs).
  ir::Model source;
  std::vector<size_t> specializable;  // empty: no specialisation
  struct Specialized {
    InputSignature signature;
    std::unique_ptr<ir::Model> model;
  };
  std::vector<Specialized> specialized;
  // Signatures fed fewer than options.specialize_after_runs times, with their run counts; the
  // most recently fed last (at most Session::kMaxRememberedSignatures).
  std::vector<std::pair<InputSignature, int>> remembered;
  const ir::Model* last_model = nullptr;  // the model whose plan the last run used
  // Device copies of constants keyed by their bytes, so every plan that binds an initializer
  // (generic, specialised, subgraphs) shares one copy.
  std::unordered_map<const uint8_t*, Value> shared_mirrors;
  ThreadPool threads;
  std::vector<const Backend*> backends;  // the preferred one first, the host backend last
  std::vector<std::unique_ptr<BufferPool>> pools;  // parallel to backends
  const Backend* host = nullptr;  // runs what the preferred backend lacks; host memory
  bool cpu_placement_only = false;  // while folding constants: host values only
  size_t copies_to_device = 0;
  size_t copies_to_host = 0;
  std::unordered_map<const ir::Graph*, std::unique_ptr<Plan>> plans;
  std::vector<PortInfo> inputs;
  std::vector<PortInfo> outputs;
  std::unordered_set<std::string> inputs_with_default;
  std::vector<std::string> log;
  std::unordered_set<std::string> mutable_names;  // options.mutable_initializers

  Impl(SessionOptions opts)
      : options(opts), threads(opts.threads),
        mutable_names(opts.mutable_initializers.begin(), opts.mutable_initializers.end()) {}

  const Backend* place(const ir::Node& node) const {
    if (cpu_placement_only) return host->has_op(node) ? host : nullptr;
    for (const Backend* backend : backends)
      if (backend->has_op(node)) return backend;
    return nullptr;
  }

  BufferPool& pool_of(const Backend* backend) {
    for (size_t i = 0; i < backends.size(); ++i)
      if (backends[i] == backend) return *pools[i];
    return *pools.back();
  }
  const Backend& backend_of(const ir::Device& device) const {
    for (const Backend* backend : backends)
      if (backend->device() == device) return *backend;
    throw_error(ErrorCategory::internal, "a value lives on " + device.name() +
                                             ", which no backend of this session owns");
  }
  Value moved_to(const Value& value, const ir::Device& device);
  const Value& on_device(const Plan& plan, Frame& frame, int slot, const ir::Device& device);

  const Plan& plan_for(const ir::Graph& graph);
  Plan build_plan(const ir::Graph& graph);
  // `hooks`: the caller's observers, for the main graph only (nullptr: none).
  std::vector<Value> run_graph(const Plan& plan, std::vector<Value> inputs, const Frame* parent,
                               const std::vector<std::pair<int, Value>>* named_inputs,
                               const RunHooks* hooks = nullptr);
  void run_step(const Step& step, Frame& frame, ExecutionScope& scope);
  // The load-time passes on `m` (the session's model or a specialised copy), their notes in the
  // log behind `note_prefix`; `fold`: constant folding first (the constructor folds before it
  // keeps `source`).
  void optimize(ir::Model& m, const std::string& note_prefix, bool fold = true);
  // `keep_outputs`: graph outputs stay made by their nodes (a specialised plan: RunHooks::
  // output_ready reports the same outputs in every plan).
  void fold_constants(ir::Model& m, const std::string& note_prefix, bool keep_outputs = false);
  std::vector<ir::Tensor> fold_node(const ir::Graph& graph, const ir::Node& node, uint64_t input_bytes);
  void check_supported();
  // The model whose plan runs these feeds (`fed(name)`: the value fed for an input, or
  // nullptr): a specialised one (built now if the signature has come often enough and the
  // bound allows) or the generic one.
  template <class Lookup>
  const ir::Model& model_for(Lookup fed);
  // Builds the plan for `signature` (the bound checked by the caller); the generic model if a
  // pass fails on it.
  const ir::Model& specialize(const InputSignature& signature);
};

namespace {

class FrameScope final : public ExecutionScope {
 public:
  FrameScope(Session::Impl& session, Frame& frame) : session_(session), frame_(frame) {}
  // Outputs go to the memory of the backend whose kernel runs now.
  ir::Tensor allocate(ir::DataType dtype, const std::vector<int64_t>& dims) override {
    return session_.pool_of(running_).allocate(dtype, dims);
  }
  void set_running(const Backend* backend) { running_ = backend; }
  std::vector<Value> run_subgraph(const ir::Graph& graph, std::vector<Value> inputs) override {
    return session_.run_graph(session_.plan_for(graph), std::move(inputs), &frame_, nullptr);
  }
  ThreadPool& threads() override { return session_.threads; }
  Collectives* collectives() override { return session_.options.collectives; }

 private:
  Session::Impl& session_;
  Frame& frame_;
  const Backend* running_ = nullptr;
};

}  // namespace

Plan Session::Impl::build_plan(const ir::Graph& graph) {
  Plan plan;
  plan.graph = &graph;
  auto slot = [&](const std::string& name) -> int {
    if (name.empty()) return -1;
    auto [it, added] = plan.slot_of.emplace(name, static_cast<int>(plan.slot_count));
    if (added) ++plan.slot_count;
    return it->second;
  };
  std::unordered_set<int> defined, constant_slots;
  // Slots are numbered as names appear; constant_slot is sized once all are known.
  for (const ir::Tensor& init : graph.initializers) {
    int s = slot(init.name);
    defined.insert(s);
    if (!mutable_names.count(init.name)) constant_slots.insert(s);
    Value value = Value::of(init);
    value.tensor.name.clear();
    plan.constants.emplace_back(s, std::move(value));
  }
  for (const ir::ValueInfo& input : graph.inputs) {
    int s = slot(input.name);
    plan.input_slots.push_back(s);
    defined.insert(s);
    constant_slots.erase(s);  // the caller may feed another tensor in its place
  }
  std::vector<size_t> last_use;
  auto note_use = [&](int s, size_t step) {
    if (s < 0) return;
    if (last_use.size() <= static_cast<size_t>(s)) last_use.resize(s + 1, 0);
    if (last_use[s] != kNever) last_use[s] = std::max(last_use[s], step);
  };
  for (size_t index : graph.topological_order()) {
    const ir::Node& node = graph.nodes[index];
    Step step;
    step.node = &node;
    step.opset = node_opset(node, model.opset_imports);
    step.backend = place(node);
    if (!step.backend)
      throw_error(ErrorCategory::unsupported, "no backend runs " + node_label(node));
    size_t position = plan.steps.size();
    for (const std::string& input : node.inputs) {
      int s = slot(input);
      step.inputs.push_back(s);
      step.constant_inputs.push_back(s >= 0 && constant_slots.count(s) > 0);
      note_use(s, position);
    }
    for (const std::string& name : subgraph_reads(node)) note_use(slot(name), position);
    for (const std::string& output : node.outputs) {
      int s = slot(output);
      step.outputs.push_back(s);
      if (s >= 0) {
        defined.insert(s);
        note_use(s, position);  // an output nobody reads dies right away
      }
    }
    plan.steps.push_back(std::move(step));
  }
  for (const ir::ValueInfo& output : graph.outputs) {
    int s = slot(output.name);
    plan.output_slots.push_back(s);
    if (last_use.size() <= static_cast<size_t>(s)) last_use.resize(s + 1, 0);
    last_use[s] = kNever;
  }
  for (const auto& [name, s] : plan.slot_of)
    if (!defined.count(s)) plan.outer.emplace_back(s, name);
  plan.constant_slot.assign(plan.slot_count, false);
  for (int s : constant_slots) plan.constant_slot[s] = true;
  last_use.resize(plan.slot_count, 0);
  for (size_t s = 0; s < plan.slot_count; ++s) {
    if (last_use[s] == kNever || plan.steps.empty()) continue;
    plan.steps[std::min(last_use[s], plan.steps.size() - 1)].release_after.push_back(static_cast<int>(s));
  }
  return plan;
}

const Plan& Session::Impl::plan_for(const ir::Graph& graph) {
  auto it = plans.find(&graph);
  if (it != plans.end()) return *it->second;
  auto plan = std::make_unique<Plan>(build_plan(graph));
  const Plan& ref = *plan;
  plans.emplace(&graph, std::move(plan));
  return ref;
}

Value Session::Impl::moved_to(const Value& value, const ir::Device& device) {
  auto move_tensor = [&](const ir::Tensor& tensor) -> ir::Tensor {
    // Tensors without bytes (strings, empty ones) have nothing to move.
    if (!tensor.storage || tensor.storage->device() == device) return tensor;
    ir::Tensor host = tensor;
    if (!tensor.storage->on_host()) {
      host = backend_of(tensor.storage->device()).copy_to_host(tensor);
      ++copies_to_host;
    }
    if (device.is_host()) return host;
    ++copies_to_device;
    return backend_of(device).copy_from_host(host);
  };
  if (value.is_tensor()) return Value::of(move_tensor(value.tensor));
  if (value.kind == Value::Kind::sequence) {
    Value moved = value;
    for (ir::Tensor& item : moved.sequence) item = move_tensor(item);
    return moved;
  }
  return value;
}

namespace {

bool lives_on(const Value& value, const ir::Device& device) {
  if (value.is_tensor()) return !value.tensor.storage || value.tensor.storage->device() == device;
  if (value.kind == Value::Kind::sequence)
    for (const ir::Tensor& item : value.sequence)
      if (item.storage && item.storage->device() != device) return false;
  return true;
}

}  // namespace

// The slot's value as seen from `device`: itself, or its copy there (made now if needed).
const Value& Session::Impl::on_device(const Plan& plan, Frame& frame, int slot,
                                      const ir::Device& device) {
  const Value& value = frame.slots[slot];
  if (lives_on(value, device)) return value;
  if (plan.constant_slot[slot]) {
    if (value.is_tensor()) {
      Value& shared = shared_mirrors[value.tensor.bytes()];
      if (shared.kind == Value::Kind::absent) shared = moved_to(value, device);
      if (shared.is_tensor() && shared.tensor.dtype == value.tensor.dtype &&
          shared.tensor.dims == value.tensor.dims && lives_on(shared, device))
        return shared;
    }
    Value& mirror = plan.constant_mirrors[slot];
    if (mirror.kind == Value::Kind::absent || !lives_on(mirror, device)) mirror = moved_to(value, device);
    return mirror;
  }
  Value& mirror = frame.mirrors[slot];
  if (mirror.kind == Value::Kind::absent || !lives_on(mirror, device)) mirror = moved_to(value, device);
  return mirror;
}

void Session::Impl::run_step(const Step& step, Frame& frame, ExecutionScope& scope) {
  const ir::Node& node = *step.node;
  std::vector<ir::DataType> types(step.inputs.size(), ir::DataType::undefined);
  for (size_t i = 0; i < step.inputs.size(); ++i) {
    if (step.inputs[i] < 0) continue;
    const Value& value = frame.slots[step.inputs[i]];
    if (value.is_tensor()) types[i] = value.tensor.dtype;
    else if (value.kind == Value::Kind::sequence) types[i] = value.sequence_elem;
  }
  if (!step.cached_kernel || step.cached_types != types) {
    step.cached_backend = step.backend;
    step.cached_kernel = step.backend->find_kernel(node, types, options.allow_fast);
    if (!step.cached_kernel && step.backend != host) {
      // The preferred backend has the op but not for these types: the host backend runs it.
      step.cached_backend = host;
      step.cached_kernel = host->find_kernel(node, types, options.allow_fast);
    }
    step.cached_types = types;
    if (!step.cached_kernel)
      throw_error(ErrorCategory::unsupported, "no kernel for " + node_label(node) +
                                                  " with input types (" + type_list(types) + ")");
  }
  const Backend* backend = step.cached_backend;
  const ir::Device device = backend->device();
  std::vector<const Value*> inputs(step.inputs.size(), nullptr);
  for (size_t i = 0; i < step.inputs.size(); ++i) {
    if (step.inputs[i] < 0) continue;
    bool on_host = device.is_host() || (i < 32 && (step.cached_kernel->host_inputs >> i) & 1u);
    inputs[i] = &on_device(*frame.plan, frame, step.inputs[i], on_host ? ir::Device{} : device);
  }
  static_cast<FrameScope&>(scope).set_running(backend);
  std::vector<Value> outputs(step.outputs.size());
  OpContext context(node, step.opset, std::move(inputs), outputs, scope);
  context.set_constant_inputs(&step.constant_inputs);
  try {
    if (options.verbose) {
      auto start = std::chrono::steady_clock::now();
      step.cached_kernel->run(context);
      backend->synchronize();  // device kernels return before they finish
      step.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++step.calls;
    } else {
      step.cached_kernel->run(context);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& error) {
    throw_error(ErrorCategory::internal, context.describe() + ": " + error.what());
  }
  for (size_t i = 0; i < step.outputs.size(); ++i) {
    if (step.outputs[i] < 0) continue;
    if (outputs[i].kind == Value::Kind::absent)
      throw_error(ErrorCategory::internal,
                  context.describe() + ": the kernel did not produce output " + std::to_string(i));
    frame.slots[step.outputs[i]] = std::move(outputs[i]);
  }
  for (int s : step.release_after) {
    frame.slots[s] = Value{};
    frame.mirrors[s] = Value{};
  }
}

std::vector<Value> Session::Impl::run_graph(const Plan& plan, std::vector<Value> inputs,
                                            const Frame* parent,
                                            const std::vector<std::pair<int, Value>>* named_inputs,
                                            const RunHooks* hooks) {
  Frame frame;
  frame.plan = &plan;
  frame.parent = parent;
  frame.slots = std::move(plan.spare_slots);
  frame.mirrors = std::move(plan.spare_mirrors);
  frame.slots.resize(plan.slot_count);
  frame.mirrors.resize(plan.slot_count);
  for (const auto& [s, value] : plan.constants) frame.slots[s] = value;
  for (const auto& [s, name] : plan.outer) {
    for (const Frame* scope = parent; scope; scope = scope->parent) {
      auto it = scope->plan->slot_of.find(name);
      if (it == scope->plan->slot_of.end()) continue;
      frame.slots[s] = scope->slots[it->second];
      break;
    }
  }
  for (size_t i = 0; i < inputs.size() && i < plan.input_slots.size(); ++i)
    frame.slots[plan.input_slots[i]] = std::move(inputs[i]);
  if (named_inputs)
    for (const auto& [s, value] : *named_inputs) frame.slots[s] = value;
  FrameScope scope(*this, frame);
  if (hooks && (hooks->output_ready || hooks->node_done)) {
    // Graph outputs by slot, so each step finds the ones it produced.
    std::vector<std::vector<size_t>> outputs_in_slot(plan.slot_count);
    if (hooks->output_ready)
      for (size_t i = 0; i < plan.output_slots.size(); ++i) outputs_in_slot[plan.output_slots[i]].push_back(i);
    for (const Step& step : plan.steps) {
      run_step(step, frame, scope);
      for (int s : step.outputs)
        if (s >= 0)
          for (size_t index : outputs_in_slot[s])
            // The host copy is the frame's mirror, which the results below hand back too.
            hooks->output_ready(index, on_device(plan, frame, s, ir::Device{}));
      if (hooks->node_done) hooks->node_done();
    }
  } else {
    for (const Step& step : plan.steps) run_step(step, frame, scope);
  }
  // Callers (the user, control-flow kernels on the CPU) get host values.
  std::vector<Value> results;
  results.reserve(plan.output_slots.size());
  for (int s : plan.output_slots) results.push_back(on_device(plan, frame, s, ir::Device{}));
  for (Value& value : frame.slots) value = Value{};
  for (Value& value : frame.mirrors) value = Value{};
  plan.spare_slots = std::move(frame.slots);
  plan.spare_mirrors = std::move(frame.mirrors);
  return results;
}

// Whether a folded result is worth keeping: at most 1 MiB, or at most kFoldGrowth times the
// bytes of the node's inputs (a transposed or dequantized weight folds; a large
// ConstantOfShape / Expand / Range made from a few numbers stays a run-time node, so loading
// does not hold a huge constant the run would build only briefly).
constexpr uint64_t kFoldAlwaysBytes = uint64_t{1} << 20;
constexpr uint64_t kFoldGrowth = 4;
bool fold_fits(uint64_t output_bytes, uint64_t input_bytes) {
  return output_bytes <= kFoldAlwaysBytes || output_bytes / kFoldGrowth <= input_bytes;
}

// Runs every node whose inputs are all initializers once, now, and keeps its outputs as new
// initializers; later runs skip it. Nodes whose outputs are known from static shapes alone
// (passes/static_facts.h: Shape of a value with known dims, arithmetic on such dims) become
// initializers too, so whole subgraphs built from shapes and constants fold.
void Session::Impl::fold_constants(ir::Model& m, const std::string& note_prefix, bool keep_outputs) {
  ir::Graph& graph = m.graph;
  std::unordered_set<std::string> kept_outputs;
  if (keep_outputs)
    for (const ir::ValueInfo& output : graph.outputs) kept_outputs.insert(output.name);
  std::unordered_map<std::string, passes::StaticFacts> facts;
  std::unordered_map<std::string, uint64_t> constant;  // name -> bytes
  for (const ir::Tensor& init : graph.initializers)
    if (!mutable_names.count(init.name)) {  // mutable ones change per run
      constant[init.name] = init.byte_size();
      facts[init.name] = passes::StaticFacts::of_tensor(init);
    }
  for (const ir::ValueInfo& input : graph.inputs) {
    constant.erase(input.name);  // caller may override; run() holds feeds to the declared dims
    passes::StaticFacts declared = input.type ? passes::StaticFacts::of_type(*input.type) : passes::StaticFacts{};
    // An input with an initializer default runs with that initializer when not fed, unchecked:
    // its declared dims count only when the initializer has them.
    if (const ir::Tensor* init = graph.initializer(input.name); init && declared.rank_known) {
      bool agrees = declared.dims.size() == init->dims.size();
      for (size_t a = 0; agrees && a < init->dims.size(); ++a)
        agrees = !declared.dims[a] || *declared.dims[a] == init->dims[a];
      if (!agrees) declared = passes::StaticFacts{};
    }
    facts[input.name] = std::move(declared);
  }
  for (const std::string& name : mutable_names) facts.erase(name);
  const int64_t opset = import_for_default(m);

  std::vector<size_t> order = graph.topological_order();
  std::vector<bool> folded(graph.nodes.size(), false);
  size_t folded_count = 0, folded_from_shapes = 0;
  std::vector<passes::StaticFacts> input_facts;
  for (size_t index : order) {
    const ir::Node& node = graph.nodes[index];
    if (node.op == ir::OpKind::opaque || has_subgraph(node) || node.outputs.empty()) continue;
    bool all_constant = true;
    uint64_t input_bytes = 0;
    input_facts.clear();
    for (const std::string& input : node.inputs) {
      if (input.empty()) {
        input_facts.emplace_back();
        continue;
      }
      auto bytes = constant.find(input);
      if (bytes == constant.end()) all_constant = false;
      else input_bytes += bytes->second;
      auto known = facts.find(input);
      input_facts.push_back(known == facts.end() ? passes::StaticFacts{} : known->second);
    }
    std::vector<passes::StaticFacts> output_facts = passes::infer_static_facts(node, input_facts, opset);
    auto record = [&] {
      for (size_t o = 0; o < node.outputs.size(); ++o)
        if (!node.outputs[o].empty()) facts[node.outputs[o]] = output_facts[o];
    };
    bool makes_kept_output = false;
    for (const std::string& output : node.outputs) makes_kept_output |= kept_outputs.count(output) > 0;
    if (is_nondeterministic(node.op) || makes_kept_output) {
      record();
      continue;
    }
    // Known from shapes alone? That is cheaper than running the node's kernel, and the shape
    // arithmetic a specialised plan folds is mostly that.
    bool known = true;
    for (size_t o = 0; o < node.outputs.size(); ++o)
      if (!node.outputs[o].empty() && !output_facts[o].fully_known()) known = false;
    std::vector<ir::Tensor> results;
    if (known) {
      for (size_t o = 0; o < node.outputs.size(); ++o)
        if (!node.outputs[o].empty()) results.push_back(output_facts[o].to_tensor());
      ++folded_from_shapes;
    } else if (all_constant && host->has_op(node)) {
      results = fold_node(graph, node, input_bytes);
    }
    if (results.empty()) {
      record();
      continue;
    }
    size_t r = 0;
    for (const std::string& output : node.outputs) {
      if (output.empty()) continue;
      ir::Tensor& tensor = results[r++];
      tensor.name = output;
      facts[output] = passes::StaticFacts::of_tensor(tensor);
      constant[output] = tensor.byte_size();
      graph.initializers.push_back(std::move(tensor));
    }
    folded[index] = true;
    ++folded_count;
  }
  if (!folded_count) return;
  std::vector<ir::Node> kept;
  for (size_t index = 0; index < graph.nodes.size(); ++index)
    if (!folded[index]) kept.push_back(std::move(graph.nodes[index]));
  graph.nodes = std::move(kept);
  if (options.verbose)
    log.push_back(note_prefix + "fold: " + std::to_string(folded_count) + " constant nodes computed at load (" +
                  std::to_string(folded_from_shapes) + " from static shapes)");
}

// Runs one node whose inputs are all initializers with the host's kernels; its outputs (owned
// copies), or none when it fails, yields a non-tensor or grows past fold_fits.
std::vector<ir::Tensor> Session::Impl::fold_node(const ir::Graph& graph, const ir::Node& node,
                                                 uint64_t input_bytes) {
  // A one-node plan over the current initializers.
  ir::Graph single;
  single.name = "fold";
  single.nodes.push_back(node);
  for (const std::string& input : node.inputs)
    if (!input.empty())
      if (const ir::Tensor* init = graph.initializer(input)) single.initializers.push_back(*init);
  for (const std::string& output : node.outputs)
    if (!output.empty()) single.outputs.push_back({output, std::nullopt, {}, {}, 0});
  std::vector<Value> values;
  cpu_placement_only = true;  // folded results become host initializers
  try {
    Plan plan = build_plan(single);
    values = run_graph(plan, {}, nullptr, nullptr);
  } catch (const Error&) {
    cpu_placement_only = false;
    return {};  // leave it to run time, where the error names the inputs the user gave
  }
  cpu_placement_only = false;
  uint64_t output_bytes = 0;
  for (const Value& value : values) {
    if (!value.is_tensor()) return {};
    output_bytes += value.tensor.byte_size();
  }
  if (!fold_fits(output_bytes, input_bytes)) return {};
  std::vector<ir::Tensor> results;
  for (const Value& value : values) {
    const ir::Tensor& tensor = value.tensor;
    // Copy out of the pool so the folded constant holds exactly its own bytes.
    ir::Tensor owned = tensor.dtype == ir::DataType::string
                           ? tensor
                           : ir::Tensor::from_bytes(tensor.dtype, tensor.dims, tensor.bytes(),
                                                    tensor.byte_size());
    if (tensor.dtype == ir::DataType::string) owned.strings = tensor.strings;
    results.push_back(std::move(owned));
  }
  return results;
}

void Session::Impl::optimize(ir::Model& m, const std::string& note_prefix, bool fold) {
  if (fold && options.fold_constants) fold_constants(m, note_prefix, /*keep_outputs=*/true);
  if (options.fuse) {
    // A rewrite must not move work to another backend: the one that would run the pattern's
    // first node has to run the fused node too.
    const passes::CanReplace same_backend = [&](const ir::Node& original, const ir::Node& fused) {
      const Backend* backend = place(original);
      return backend && backend->has_op(fused);
    };
    size_t fused = passes::canonicalize_activations(m.graph, import_for_default(m), same_backend);
    fused += passes::fuse_transformer_patterns(m.graph, import_for_default(m), same_backend);
    fused += fuse_nn_patterns(m.graph, backends.size() == 1);
    if (options.verbose && fused) log.push_back(note_prefix + "fuse: " + std::to_string(fused) + " nodes fused away");
  }
  // The precision hint goes on the fused nodes, before the layout pass asks which kernels they get.
  if (options.compute_precision == "bf16") {
    size_t hinted = passes::hint_bf16_compute(m.graph);
    if (options.verbose) log.push_back(note_prefix + "precision: " + std::to_string(hinted) + " nodes may compute in bfloat16");
  } else if (options.compute_precision != "fp32") {
    throw_error(ErrorCategory::usage, "compute precision '" + options.compute_precision + "': expected fp32 or bf16");
  }
  if (options.fuse && backends.size() == 1) {  // no device kernel reads channels-last values
    const passes::ChannelsLastQuery honours = [&](const ir::Node& node, std::span<const ir::DataType> types) {
      const KernelDef* kernel = host->find_kernel(node, types, options.allow_fast);
      return kernel && kernel->channels_last;
    };
    size_t nhwc = passes::assign_channels_last(m.graph, honours);
    if (options.verbose && nhwc) log.push_back(note_prefix + "layout: " + std::to_string(nhwc) + " values kept channels-last");
  }
  if (options.compute_precision == "bf16" && backends.size() == 1) {  // after the layout: it keeps the marks
    const passes::Bf16ReadQuery reads_bf16 = [&](const ir::Node& node, std::span<const ir::DataType> types) {
      const KernelDef* kernel = host->find_kernel(node, types, options.allow_fast);
      return kernel && kernel->kind == KernelKind::fast;  // never a slower kernel; none under --reference
    };
    size_t stored = passes::store_bf16_activations(m.graph, reads_bf16);
    if (options.verbose && stored) log.push_back(note_prefix + "precision: " + std::to_string(stored) + " values stored as bfloat16");
  }
  size_t removed = m.graph.remove_unused();
  if (options.verbose && removed) log.push_back(note_prefix + "dead: " + std::to_string(removed) + " unused nodes removed");

}

void Session::Impl::check_supported() {
  std::vector<std::string> missing;
  ir::for_each_graph(model.graph, [&](const ir::Graph& graph) {
    for (const ir::Node& node : graph.nodes)
      if (!place(node)) missing.push_back(node_label(node));
  });
  if (missing.empty()) return;
  std::string text = "the model uses " + std::to_string(missing.size()) +
                     " node(s) no backend implements: ";
  for (size_t i = 0; i < missing.size() && i < 20; ++i) text += (i ? "; " : "") + missing[i];
  if (missing.size() > 20) text += "; ...";
  throw_error(ErrorCategory::unsupported, text);
}

Session::Session(const ir::Model& model, const Backend& host, SessionOptions options)
    : impl_(std::make_unique<Impl>(options)) {
  Impl& s = *impl_;
  // Constant folding, control-flow subgraphs and the values handed back all assume host memory.
  if (!host.device().is_host())
    throw_error(ErrorCategory::internal, "a session's host backend must keep its tensors in host "
                                         "memory, but '" + std::string(host.name()) + "' does not");
  s.host = &host;
  if (options.preferred_backend && options.preferred_backend != s.host)
    s.backends.push_back(options.preferred_backend);
  s.backends.push_back(s.host);
  for (const Backend* backend : s.backends) s.pools.push_back(std::make_unique<BufferPool>(backend));
  s.model = model;  // tensors share their storage with the caller's model
  clone_subgraphs(s.model.graph);
  inline_functions(s.model.graph, s.model.functions, s.model.opset_imports,
                   [&](const ir::Node& node) { return s.place(node) != nullptr; });
  s.check_supported();

  std::unordered_set<std::string> initializer_names;
  for (const ir::Tensor& init : s.model.graph.initializers) initializer_names.insert(init.name);
  for (const ir::ValueInfo& input : s.model.graph.inputs) {
    s.inputs.push_back({input.name, input.type.value_or(ir::Type{})});
    if (initializer_names.count(input.name)) s.inputs_with_default.insert(input.name);
  }
  std::stable_partition(s.inputs.begin(), s.inputs.end(), [&](const PortInfo& port) {
    return !s.inputs_with_default.count(port.name);
  });
  for (const ir::ValueInfo& output : s.model.graph.outputs)
    s.outputs.push_back({output.name, output.type.value_or(ir::Type{})});

  const auto start = std::chrono::steady_clock::now();
  if (options.fold_constants) s.fold_constants(s.model, "");
  if (options.specialize_shapes && options.fold_constants && !options.collectives) {
    s.specializable = specializable_inputs(s.model.graph);
    if (!s.specializable.empty()) {
      // Specialised plans start from the folded graph: what the generic fold computed (weights
      // transposed or dequantized at load, dims-only shape arithmetic) holds for any dims and
      // is shared, so their fold only computes what the fed dims make constant.
      s.source = s.model;
      clone_subgraphs(s.source.graph);  // the passes below rewrite the session's subgraphs in place
    }
  }
  s.optimize(s.model, "", /*fold=*/false);
  s.last_model = &s.model;
  // Plan every graph now so malformed subgraphs fail at load, not halfway through a run.
  ir::for_each_graph(s.model.graph, [&](const ir::Graph& graph) { s.plan_for(graph); });
  if (options.verbose)
    s.log.push_back("plan: " + std::to_string(s.model.graph.nodes.size()) + " nodes, passes and planning " +
                    milliseconds_since(start));
  if (options.verbose)
    for (const Step& step : s.plan_for(s.model.graph).steps)
      s.log.push_back(std::string(step.backend->name()) + "  " + node_label(*step.node));
}

Session::~Session() = default;

const std::vector<PortInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<PortInfo>& Session::outputs() const { return impl_->outputs; }
bool Session::input_has_default(const std::string& name) const {
  return impl_->inputs_with_default.count(name) > 0;
}
const std::vector<std::string>& Session::log() const { return impl_->log; }

std::vector<Session::NodeTime> Session::node_times() const {
  std::vector<NodeTime> times;
  if (!impl_->options.verbose) return times;
  for (const Step& step : impl_->plan_for(impl_->last_model->graph).steps)
    times.push_back({step.node->op_type, step.node->name, step.seconds * 1000.0, step.calls, step.node,
                     step.cached_kernel && step.cached_kernel->kind == KernelKind::fast});
  return times;
}

Session::Stats Session::stats() const {
  Stats stats;
  for (const auto& pool : impl_->pools) {
    stats.buffers += pool->buffer_count();
    stats.bytes_created += pool->bytes_created();
    stats.bytes_held += pool->bytes_held();
  }
  stats.nodes = impl_->last_model->graph.nodes.size();
  stats.generic_nodes = impl_->model.graph.nodes.size();
  for (const Impl::Specialized& plan : impl_->specialized) stats.specialized_plans += plan.model != nullptr;
  stats.remembered_signatures = impl_->remembered.size();
  stats.copies_to_device = impl_->copies_to_device;
  stats.copies_to_host = impl_->copies_to_host;
  return stats;
}

namespace {

void check_input(const PortInfo& port, const Value& value) {
  if (port.type.kind != ir::Type::Kind::tensor || !value.is_tensor()) return;
  const ir::Tensor& tensor = value.tensor;
  if (port.type.has_elem_type && port.type.dtype() != tensor.dtype)
    throw_error(ErrorCategory::usage,
                "input '" + port.name + "' must be " + std::string(ir::name_of(port.type.dtype())) +
                    " but a " + std::string(ir::name_of(tensor.dtype)) +
                    " tensor was given; convert the input file to the model's type");
  if (!port.type.shape) return;
  const auto& dims = port.type.shape->dims;
  auto shape_text = [&] {
    std::string text = "[";
    for (size_t i = 0; i < dims.size(); ++i)
      text += (i ? "," : "") + (dims[i].kind == ir::Dim::Kind::value ? std::to_string(dims[i].value)
                                : dims[i].kind == ir::Dim::Kind::param ? dims[i].param
                                                                        : std::string("?"));
    return text + "]";
  };
  std::string given = "[";
  for (size_t i = 0; i < tensor.dims.size(); ++i) given += (i ? "," : "") + std::to_string(tensor.dims[i]);
  given += "]";
  bool ok = dims.size() == tensor.dims.size();
  for (size_t i = 0; ok && i < dims.size(); ++i)
    if (dims[i].kind == ir::Dim::Kind::value && dims[i].value != tensor.dims[i]) ok = false;
  if (!ok)
    throw_error(ErrorCategory::usage, "input '" + port.name + "' must have shape " + shape_text() +
                                          " but has " + given);
}

}  // namespace

namespace {

// Whether `fed` feeds exactly `signature`, compared in place: no InputSignature is built, so a
// run whose signature already has a plan (every steady-state run) allocates nothing here.
template <class Lookup>
bool feeds(const ir::Graph& graph, std::span<const size_t> specializable, const InputSignature& signature,
           Lookup fed) {
  for (size_t i = 0; i < specializable.size(); ++i) {
    const Value* value = fed(graph.inputs[specializable[i]].name);
    const bool is_fed = value && value->is_tensor();
    if (is_fed != signature[i].fed) return false;
    if (is_fed && (value->tensor.dtype != signature[i].dtype || value->tensor.dims != signature[i].dims))
      return false;
  }
  return true;
}

}  // namespace

template <class Lookup>
const ir::Model& Session::Impl::model_for(Lookup fed) {
  // Cheap check first: a signature that has a plan (or whose build failed) is found without
  // building its InputSignature.
  for (const Specialized& plan : specialized)
    if (feeds(source.graph, specializable, plan.signature, fed)) return plan.model ? *plan.model : model;
  // With every plan built no other signature can get one: counting or remembering it would be
  // work (and allocations) on every run for nothing, e.g. a decoder fed a new past length each step.
  if (specialized.size() >= Session::kMaxSpecializedPlans) return model;
  InputSignature signature = input_signature(source.graph, specializable, fed);
  if (!fills_open_dims(signature)) return model;
  const int after_runs = std::max(options.specialize_after_runs, 1);
  int runs = 1;
  auto known = std::find_if(remembered.begin(), remembered.end(),
                            [&](const auto& entry) { return entry.first == signature; });
  if (known != remembered.end()) {
    runs = known->second + 1;
    remembered.erase(known);
  }
  if (runs >= after_runs) {
    const ir::Model& chosen = specialize(signature);
    // That was the last plan the bound allows: no remembered signature can get one now.
    if (specialized.size() >= Session::kMaxSpecializedPlans) remembered.clear();
    return chosen;
  }
  // Not yet: remember it as the most recently fed, forgetting the least recently fed past the bound.
  if (remembered.size() >= Session::kMaxRememberedSignatures) remembered.erase(remembered.begin());
  remembered.emplace_back(std::move(signature), runs);
  return model;
}

const ir::Model& Session::Impl::specialize(const InputSignature& signature) {
  const std::string dims = signature_text(source.graph, specializable, signature);
  const auto start = std::chrono::steady_clock::now();
  auto built = std::make_unique<ir::Model>(source);
  clone_subgraphs(built->graph);
  make_inputs_concrete(built->graph, specializable, signature);
  try {
    optimize(*built, "plan for " + dims + ": ");
    ir::for_each_graph(built->graph, [&](const ir::Graph& graph) { plan_for(graph); });
  } catch (const Error& error) {
    // The generic plan handles these dims (the constructor built it from the same model); a
    // pass that cannot cope with them must not fail the run. Not retried.
    ir::for_each_graph(built->graph, [&](const ir::Graph& graph) { plans.erase(&graph); });
    if (options.verbose) log.push_back("plan for " + dims + ": not specialised (" + error.what() + ")");
    specialized.push_back({signature, nullptr});
    return model;
  }
  if (options.verbose)
    log.push_back("plan for " + dims + ": " + std::to_string(built->graph.nodes.size()) +
                  " nodes (generic plan: " + std::to_string(model.graph.nodes.size()) + "), built in " +
                  milliseconds_since(start));
  specialized.push_back({signature, std::move(built)});
  return *specialized.back().model;
}

std::vector<Value> Session::run(const std::vector<std::pair<std::string, Value>>& inputs) {
  return run(inputs, RunHooks{});
}

std::vector<Value> Session::run(const std::vector<std::pair<std::string, Value>>& inputs,
                                const RunHooks& hooks) {
  Impl& s = *impl_;
  std::unordered_set<std::string> given;
  for (const auto& input : inputs) {
    // Named references, not structured bindings: clang before 16 cannot capture those.
    const std::string& name = input.first;
    const Value& value = input.second;
    auto port = std::find_if(s.inputs.begin(), s.inputs.end(),
                             [&](const PortInfo& p) { return p.name == name; });
    if (port == s.inputs.end()) {
      std::string known;
      for (const PortInfo& p : s.inputs) known += (known.empty() ? "" : ", ") + p.name;
      throw_error(ErrorCategory::usage, "the model has no input '" + name + "' (inputs: " + known + ")");
    }
    if (!given.insert(name).second)
      throw_error(ErrorCategory::usage, "input '" + name + "' is given twice");
    check_input(*port, value);
  }
  for (const PortInfo& port : s.inputs)
    if (!given.count(port.name) && !s.inputs_with_default.count(port.name))
      throw_error(ErrorCategory::usage, "input '" + port.name + "' is missing; give a value for it");
  const ir::Model* model = &s.model;
  if (!s.specializable.empty()) {
    auto fed = [&](const std::string& name) -> const Value* {
      for (const auto& input : inputs)
        if (input.first == name) return &input.second;
      return nullptr;
    };
    model = &s.model_for(fed);
  }
  const Plan& plan = s.plan_for(model->graph);
  s.last_model = model;
  std::vector<std::pair<int, Value>> named;
  named.reserve(inputs.size());
  for (const auto& input : inputs) named.emplace_back(plan.slot_of.at(input.first), input.second);
  std::vector<Value> outputs = s.run_graph(plan, {}, nullptr, &named, &hooks);
  for (auto& pool : s.pools) pool->end_run();
  return outputs;
}

std::vector<std::string> unsupported_ops(const ir::Model& model, const Backend& backend) {
  std::vector<std::string> ops;
  std::unordered_set<std::string> seen;
  ir::for_each_graph(model.graph, [&](const ir::Graph& graph) {
    for (const ir::Node& node : graph.nodes) {
      if (backend.has_op(node)) continue;
      bool is_function = std::any_of(model.functions.begin(), model.functions.end(),
                                     [&](const ir::Function& fn) {
                                       return fn.name == node.op_type && fn.domain == node.domain;
                                     });
      if (is_function) continue;
      std::string label = node.domain.empty() || node.domain == "ai.onnx"
                              ? node.op_type
                              : node.domain + "." + node.op_type;
      if (seen.insert(label).second) ops.push_back(label);
    }
  });
  return ops;
}

}  // namespace mhub::engine
