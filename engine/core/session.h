// A Session runs one ONNX model on its host backend (the CPU), or on a preferred backend (CUDA)
// with the host backend taking the nodes that backend lacks. The core knows backends only
// through the Backend interface: whoever builds a session hands it the host backend
// (engine/devices.h host_backend(), the CPU).
//
// Construction copies the model's graph structure (tensor bytes are shared, never copied:
// initializers are bound by reference to their storage), inlines calls to model-local functions,
// runs the load-time passes (constant folding, dead-node removal), picks a backend for every
// node and plans each graph once: node order, value slots, and the step after which each value
// is last used. Nodes that no backend can run are all listed in one error (unsupported) here,
// before anything runs.
//
// Shape specialisation: exported models often declare symbolic input dims (a batch "N", a
// sequence length), and everything the graph computes from such a dim (Shape -> Gather ->
// Concat -> Reshape chains, attention masks) stays run-time work in that generic plan. When a
// run feeds inputs whose dims fill declared symbolic or unknown dims, run() uses a plan built
// for exactly those input dims (and element types): the same pipeline as the constructor,
// started from the model with those input types made concrete, so constant folding turns the
// shape arithmetic into constants and the fusions see constant shapes. A signature's plan is
// built in the run that feeds it for the SessionOptions::specialize_after_runs-th time (default
// 2: the first run of a signature runs the generic plan and the signature is remembered, so a
// session run once, or fed new dims every run like a decoder's growing past, builds no plan it
// never reuses); at most kMaxRememberedSignatures signatures are remembered, the least recently
// fed forgotten first. Up to kMaxSpecializedPlans plans are built, first come first served
// (they are kept for the session's life); other signatures run the generic plan. A model whose
// inputs are all concrete never builds one. A specialised plan leaves graph outputs to the
// nodes that make them, so RunHooks::output_ready reports the same outputs in every plan. Initializer bytes stay shared by every plan (a
// constant crosses to the preferred backend once, whichever plan reads it); folded constants
// belong to their plan. Sessions with collectives stay generic (every rank must run the same
// collectives in the same order, whatever dims it is fed), and so does
// SessionOptions::specialize_shapes = false or fold_constants = false.
//
// run() executes the plan. Output tensors come from a buffer pool: a buffer is reused as soon
// as nothing holds its storage any more (values are dropped right after their last use), so a
// second run with the same shapes allocates no tensor memory. Values returned to the caller keep
// their buffers until the caller drops them.
//
// A Session is not thread-safe: one run() at a time (kernels parallelise inside a node).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/value.h"
#include "engine/ir/graph.h"

namespace mhub::engine {

class Backend;
class Collectives;

struct SessionOptions {
  int threads = 0;          // <= 0: all cores
  bool verbose = false;     // collect a per-node placement / timing log (Session::log())
  bool allow_fast = true;   // false: reference kernels only (to check fast kernels)
  bool fold_constants = true;
  bool fuse = true;         // load-time fusions: passes/transformer_fusion.h, passes/nn_fusion.h
  // Initializers whose bytes the caller changes in place between runs (a trainer's parameters
  // and running statistics). They are never folded into constants, and kernels see them as
  // non-constant inputs (OpContext::input_is_constant), so nothing derived from their bytes is
  // cached. Every other initializer must keep its bytes for the session's life.
  std::vector<std::string> mutable_initializers;
  // The backend nodes run on when it has their op (e.g. CUDA, from engine/devices.h); the rest
  // run on the CPU, and values cross between the two only where a node needs them on the other
  // side (constants once per session, everything else once per run and consumer device).
  // nullptr: everything on the host backend. Must outlive the session.
  const Backend* preferred_backend = nullptr;
  // "fp32": every op computes in its data's type. "bf16": Conv, ConvTranspose, MatMul and Gemm on
  // float32 data may compute in bfloat16 with float32 accumulation and float32 outputs
  // (passes/compute_precision.h), where the backend has bfloat16 units; inputs, outputs and every
  // other op stay float32. Anything else: the constructor throws mhub::Error (usage).
  std::string compute_precision = "fp32";
  // Build plans specialised to the dims of the inputs fed (see the top of this file); false:
  // every run uses the generic plan (tests of that plan; callers feeding a new shape every run).
  bool specialize_shapes = true;
  // The run of a signature (the dims and element types fed to the inputs with open dims) that
  // builds its plan: 2 builds it when the signature comes back, 1 in its first run (a caller
  // that runs each signature once and wants the specialised plan). Values below 1 count as 1.
  int specialize_after_runs = 2;
  // What the collective ops (AllReduce) reduce across: the ranks of a data-parallel run
  // (engine/core/collectives.h). nullptr: this process alone. Must outlive the session.
  Collectives* collectives = nullptr;
};

// Observers of one run (Session::run's second form). Unset members cost nothing.
struct RunHooks {
  // Called on the thread that called run(), right after the node of the main graph that
  // produces graph output `index` (its position in outputs()) has run, with that output's host
  // value: the same tensor run() returns, whose bytes no later node changes. So a caller can
  // start using an output (e.g. send a gradient) while the rest of the graph still runs. Outputs
  // that no node produces (initializers, inputs) get no call. Called once per output and run;
  // an exception thrown here ends the run and propagates from run().
  std::function<void(size_t index, const Value& value)> output_ready;
  // Called on the same thread after every node of the main graph has run (nodes the session
  // fused run as one; after output_ready for its outputs), e.g. so that communication started from output_ready moves on between
  // nodes. An exception thrown here ends the run and propagates from run().
  std::function<void()> node_done;
};

// Name and declared type of a graph input or output (type.kind none when the file has none).
struct PortInfo {
  std::string name;
  ir::Type type;
};

class Session {
 public:
  // At most this many plans specialised to input dims (first come, first served), besides the
  // generic one.
  static constexpr size_t kMaxSpecializedPlans = 4;
  // At most this many signatures seen but not yet specialised are remembered (their run counts
  // toward SessionOptions::specialize_after_runs); the least recently fed is forgotten first.
  static constexpr size_t kMaxRememberedSignatures = 16;

  // `host`: the backend whose memory is the host's (device() is the default ir::Device), which
  // runs every node the preferred backend lacks, folds constants at load and holds the values
  // run() returns: the CPU backend (engine/devices.h host_backend()). Must outlive the session.
  // Throws mhub::Error: unsupported (ops no backend implements: every such node is named, with
  // its op, domain and node name), format (a malformed graph: cycles, functions that do not
  // match their calls), internal (`host` is not in host memory).
  Session(const ir::Model& model, const Backend& host, SessionOptions options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Inputs the caller must or may feed (graph inputs that are not initializers come first, in
  // graph order; inputs with an initializer default are listed too, marked by has_default).
  const std::vector<PortInfo>& inputs() const;
  const std::vector<PortInfo>& outputs() const;
  bool input_has_default(const std::string& name) const;

  // Feeds named inputs and returns the graph outputs in graph order. Inputs with an initializer
  // may be left out. Throws mhub::Error: usage (unknown / missing input, wrong element type or
  // a dimension that contradicts the declared shape), or what a kernel throws.
  std::vector<Value> run(const std::vector<std::pair<std::string, Value>>& inputs);
  // The same, calling `hooks` as the run goes.
  std::vector<Value> run(const std::vector<std::pair<std::string, Value>>& inputs, const RunHooks& hooks);

  // Buffer pool counters: a steady-state run leaves bytes_created unchanged.
  struct Stats {
    size_t buffers = 0;
    size_t bytes_created = 0;
    size_t bytes_held = 0;  // buffers the pool keeps now
    // Nodes of the main graph left after the load-time passes, in the plan the last run used
    // (the generic plan before the first run).
    size_t nodes = 0;
    size_t generic_nodes = 0;      // the same for the generic plan
    size_t specialized_plans = 0;  // plans built for input dims so far (<= kMaxSpecializedPlans)
    size_t remembered_signatures = 0;  // seen, no plan yet (<= kMaxRememberedSignatures)
    size_t copies_to_device = 0;  // tensors moved between host and the preferred backend so far
    size_t copies_to_host = 0;
  };
  Stats stats() const;

  // With verbose: time spent in each node of the main graph of the plan the last run used (the
  // generic plan before the first run), over all runs of that plan so far (kernel time only),
  // in plan order. Empty without verbose.
  struct NodeTime {
    std::string op;
    std::string name;
    double ms = 0;
    uint64_t calls = 0;
    const ir::Node* node = nullptr;  // the planned node (fused attributes included), while the session lives
    bool fast = false;               // the last run took a fast kernel
  };
  std::vector<NodeTime> node_times() const;

  // With verbose: one line per node of the generic plan, "backend op 'name'", plus load-time
  // pass notes; a specialised plan adds its pass notes and node count when it is built.
  const std::vector<std::string>& log() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Names of ops a model uses that `backend` has no kernel for (empty: all supported). Used by
// `mhub conformance` to report "unsupported op X" without building a session.
std::vector<std::string> unsupported_ops(const ir::Model& model, const Backend& backend);

}  // namespace mhub::engine
