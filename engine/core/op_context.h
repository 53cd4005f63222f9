// What a kernel sees while it runs one node: its inputs, a way to allocate its outputs, the
// thread pool, and (for If/Loop/Scan) a way to run a subgraph.
//
// Contract for kernels:
// - Read inputs with input(i) / value(i); optional inputs past the end or named "" are absent
//   (has_input(i) == false).
// - Produce every output either with allocate_output(i, dtype, dims) (uninitialised bytes from
//   the session's buffer pool; write all of them) or with set_output(i, value) (to pass an
//   existing tensor through without copying, or to produce sequences / optionals).
// - Throw mhub::Error (unsupported / format) with the node named for anything they cannot do;
//   never print.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/core/collectives.h"
#include "engine/core/thread_pool.h"
#include "engine/core/value.h"
#include "engine/ir/graph.h"

namespace mhub::engine {

// Implemented by the session: where outputs come from and how subgraphs run.
class ExecutionScope {
 public:
  virtual ~ExecutionScope() = default;
  // A tensor with uninitialised owned storage of the right size (from the buffer pool).
  virtual ir::Tensor allocate(ir::DataType dtype, const std::vector<int64_t>& dims) = 0;
  // Runs `graph` (a node attribute) with its formal inputs bound to `inputs`, in order; names it
  // reads from the enclosing scopes resolve to the values visible at the calling node. Returns
  // its outputs in order.
  virtual std::vector<Value> run_subgraph(const ir::Graph& graph, std::vector<Value> inputs) = 0;
  virtual ThreadPool& threads() = 0;
  // The session's collectives (SessionOptions::collectives); nullptr: this process is alone.
  virtual Collectives* collectives() { return nullptr; }
};

class OpContext {
 public:
  OpContext(const ir::Node& node, int64_t opset, std::vector<const Value*> inputs,
            std::vector<Value>& outputs, ExecutionScope& scope);

  const ir::Node& node() const { return node_; }
  int64_t opset() const { return opset_; }  // of the node's domain, as imported by the model

  size_t input_count() const { return inputs_.size(); }
  bool has_input(size_t index) const;
  const Value& value(size_t index) const;        // throws if absent
  const ir::Tensor& input(size_t index) const;   // throws if absent or not a tensor

  size_t output_count() const { return outputs_.size(); }
  ir::Tensor& allocate_output(size_t index, ir::DataType dtype, const std::vector<int64_t>& dims);
  void set_output(size_t index, Value value);
  // Whether the graph uses this output at all (kernels may skip optional outputs nobody reads).
  bool output_wanted(size_t index) const;

  // Whether input `index` is a constant of the session: an initializer whose bytes stay the same
  // for the session's whole life (not one of SessionOptions::mutable_initializers). Only then may
  // a kernel cache what it derives from the bytes (prepacked weights) keyed by the address; any
  // other input (computed values from the buffer pool, caller feeds, parameters a trainer updates
  // in place) can hold different bytes at the same address in the next run. False when the
  // caller did not say (set_constant_inputs not called).
  bool input_is_constant(size_t index) const;
  // Set by the session: one flag per node input (kept alive by the session's plan).
  void set_constant_inputs(const std::vector<bool>* flags) { constant_inputs_ = flags; }

  ThreadPool& threads() { return scope_.threads(); }
  // nullptr when the session has no collectives: a world of this one process.
  Collectives* collectives() { return scope_.collectives(); }
  ExecutionScope& scope() { return scope_; }

  // "Conv 'conv1'" — for error messages.
  std::string describe() const;

 private:
  const ir::Node& node_;
  int64_t opset_;
  std::vector<const Value*> inputs_;
  std::vector<Value>& outputs_;
  ExecutionScope& scope_;
  const std::vector<bool>* constant_inputs_ = nullptr;
};

}  // namespace mhub::engine
