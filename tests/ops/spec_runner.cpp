// How specs run and compare: see spec_runner.h.
#include "tests/ops/spec_runner.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "engine/core/backend.h"
#include "engine/core/float_types.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/ir/ops.h"
#include "engine/devices.h"
#include "tests/test_device.h"

namespace mhub::test {

// ---- op_spec.h helpers that need bodies.

ir::Tensor f16(std::vector<int64_t> dims, const std::vector<float>& values) {
  std::vector<uint16_t> half;
  for (float v : values) half.push_back(engine::float_to_half(v));
  return tensor_of(ir::DataType::float16, std::move(dims), half);
}

ir::Tensor bf16(std::vector<int64_t> dims, const std::vector<float>& values) {
  std::vector<uint16_t> bits;
  for (float v : values) bits.push_back(engine::float_to_bfloat16(v));
  return tensor_of(ir::DataType::bfloat16, std::move(dims), bits);
}

ir::Tensor strings(std::vector<int64_t> dims, std::vector<std::string> values) {
  ir::Tensor t = ir::Tensor::zeros(ir::DataType::string, std::move(dims));
  t.strings = std::move(values);
  return t;
}

std::vector<float> Random::values(size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen_);
  return v;
}

ir::Tensor Random::uniform(std::vector<int64_t> dims, float lo, float hi) {
  const size_t n = ir::element_count(dims);
  return f32(std::move(dims), values(n, lo, hi));
}

ir::Tensor Random::specials(std::vector<int64_t> dims, float lo, float hi) {
  const size_t n = ir::element_count(dims);
  std::vector<float> v = values(n, lo, hi);
  const float special[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity()};
  for (size_t i = 0; i < 3 && i < n; ++i) v[i] = special[i];
  return f32(std::move(dims), v);
}

const ir::Tensor& grid_size_specials() {
  static const ir::Tensor tensor = [] {
    std::vector<float> v(1000003);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 2654435761u) % 4000u) / 1000.0f - 2.0f;
    v[0] = std::numeric_limits<float>::quiet_NaN();
    v[1] = std::numeric_limits<float>::infinity();
    v[2] = -std::numeric_limits<float>::infinity();
    return f32({static_cast<int64_t>(v.size())}, v);
  }();
  return tensor;
}

// ---- Running.

ir::Model spec_model(const OpSpec& spec) {
  ir::Model model;
  model.ir_version = 9;
  model.opset_imports = {{"", spec.opset, 0}};
  if (!spec.domain.empty()) model.opset_imports.push_back({spec.domain, 1, 0});
  model.graph.name = "op_spec";
  ir::Node node;
  node.op_type = spec.op;
  node.domain = spec.domain;
  node.op = ir::lookup_op(spec.domain, spec.op);
  node.name = "under_test";
  node.attributes = spec.attributes;
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const Operand& in = spec.inputs[i];
    if (in.tensor.dtype == ir::DataType::undefined) {
      node.inputs.push_back("");
      continue;
    }
    const std::string name = "in" + std::to_string(i);
    node.inputs.push_back(name);
    if (in.initializer) {
      ir::Tensor t = in.tensor;
      t.name = name;
      model.graph.initializers.push_back(std::move(t));
    } else {
      model.graph.inputs.push_back({name, ir::Type::tensor(in.tensor.dtype, std::nullopt), {}, {}, 0});
    }
  }
  for (size_t k = 0; k < spec.outputs; ++k) {
    const std::string name = "out" + std::to_string(k);
    node.outputs.push_back(name);
    model.graph.outputs.push_back({name, std::nullopt, {}, {}, 0});
  }
  model.graph.nodes.push_back(std::move(node));
  return model;
}

namespace {

// "nhwc->nhwc", "nchw->nchw", ...: the layout marks of a planned node, as --profile prints them.
std::string layout_of(const ir::Node& node) {
  const std::string in = node.attr_string("mhub_layout_in", ""), out = node.attr_string("mhub_layout_out", "");
  const std::string storage = node.attr_string("mhub_storage_out", "") == "bf16" ? ", bf16 out" : "";
  return (in.empty() ? "nchw" : in) + "->" + (out.empty() ? "nchw" : out) + storage;
}

// Runs `model` (a spec's, its inputs fed from the spec's tensors) in a verbose session.
SpecRun run_model(const OpSpec& spec, const ir::Model& model, const engine::Backend* preferred, bool allow_fast,
                  const std::string& compute_precision = "fp32") {
  SpecRun result;
  std::vector<std::pair<std::string, engine::Value>> feeds;
  for (size_t i = 0; i < spec.inputs.size(); ++i)
    if (spec.inputs[i].tensor.dtype != ir::DataType::undefined && !spec.inputs[i].initializer)
      feeds.emplace_back("in" + std::to_string(i), engine::Value::of(spec.inputs[i].tensor));
  try {
    engine::SessionOptions options;
    options.threads = spec.threads;
    options.allow_fast = allow_fast;
    options.fold_constants = false;  // a node of initializers only still runs on its backend
    options.preferred_backend = preferred;
    options.verbose = true;
    options.compute_precision = compute_precision;
    engine::Session session(model, engine::host_backend(), options);
    for (const std::string& line : session.log())
      if (line.find("'under_test'") != std::string::npos) result.placement = line;
    result.outputs = session.run(feeds);
    result.stats = session.stats();
    for (const engine::Session::NodeTime& time : session.node_times())
      if (time.name == "under_test" && time.node) result.layout = layout_of(*time.node);
  } catch (const Error& error) {
    result.threw = true;
    result.error = error.what();
  }
  return result;
}

}  // namespace

SpecRun run_spec(const OpSpec& spec, const engine::Backend* preferred, bool allow_fast) {
  return run_model(spec, spec_model(spec), preferred, allow_fast);
}

namespace {

bool floating(ir::DataType t) {
  return t == ir::DataType::float32 || t == ir::DataType::float64 || t == ir::DataType::float16 ||
         t == ir::DataType::bfloat16;
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

}  // namespace

std::string compare_tensors(const OpSpec& spec, const ir::Tensor& want, const ir::Tensor& got, NonFinite policy) {
  if (got.dtype != want.dtype)
    return std::string("dtype ") + std::string(ir::name_of(got.dtype)) + ", want " + std::string(ir::name_of(want.dtype));
  if (got.dims != want.dims) return "dims " + dims_text(got.dims) + ", want " + dims_text(want.dims);
  if (want.dtype == ir::DataType::string) {
    for (size_t i = 0; i < want.strings.size(); ++i)
      if (i >= got.strings.size() || got.strings[i] != want.strings[i])
        return "string element " + std::to_string(i) + ": '" + (i < got.strings.size() ? got.strings[i] : "") + "', want '" +
               want.strings[i] + "'";
    return {};
  }
  if (!floating(want.dtype)) {  // integers, bools, packed and 8-bit float types: the same bytes
    const uint64_t bytes = want.byte_size();
    if (bytes && std::memcmp(got.bytes(), want.bytes(), bytes) != 0) {
      for (uint64_t i = 0; i < bytes; ++i)
        if (got.bytes()[i] != want.bytes()[i]) return "byte " + std::to_string(i) + " differs (exact dtype)";
    }
    return {};
  }
  std::ostringstream out;
  size_t bad = 0;
  for (uint64_t i = 0; i < want.numel(); ++i) {
    const double w = engine::element_as_double(want, i), g = engine::element_as_double(got, i);
    bool same;
    if (policy == NonFinite::superset && !std::isfinite(w)) same = !std::isfinite(g);
    else if (policy == NonFinite::superset && !std::isfinite(g)) same = true;
    else if (std::isnan(w) || std::isnan(g)) same = std::isnan(w) && std::isnan(g);
    else if (std::isinf(w) || std::isinf(g)) same = g == w;
    else same = std::fabs(g - w) <= spec.atol + spec.rtol * std::fabs(w);
    if (!same && bad++ < 4) out << (bad > 1 ? "; " : "") << "element " << i << ": " << g << ", want " << w;
  }
  if (bad > 4) out << "; " << bad << " elements differ";
  return out.str();
}

SpecRun run_reference(const OpSpec& spec, std::vector<std::string>& failures) {
  SpecRun ref = run_spec(spec, nullptr, false);
  const std::string who = spec.name + " (" + spec.op + ", reference)";
  if (!spec.error.empty()) {
    if (!ref.threw) failures.push_back(who + ": expected an error containing '" + spec.error + "', it ran");
    else if (ref.error.find(spec.error) == std::string::npos)
      failures.push_back(who + ": error '" + ref.error + "' does not contain '" + spec.error + "'");
    return ref;
  }
  if (ref.threw) {
    failures.push_back(who + ": threw " + ref.error);
    return ref;
  }
  if (ref.outputs.size() != spec.outputs) failures.push_back(who + ": " + std::to_string(ref.outputs.size()) + " outputs");
  for (size_t k = 0; k < spec.expect.size() && k < ref.outputs.size(); ++k) {
    if (spec.expect[k].dtype == ir::DataType::undefined) continue;
    if (!ref.outputs[k].is_tensor()) {
      failures.push_back(who + ": output " + std::to_string(k) + " is not a tensor");
      continue;
    }
    const std::string diff = compare_tensors(spec, spec.expect[k], ref.outputs[k].tensor, NonFinite::same);
    if (!diff.empty()) failures.push_back(who + ": output " + std::to_string(k) + " vs the expected values: " + diff);
  }
  return ref;
}

namespace {

// Compares a finished run with the reference run (what check_against_reference does after the
// placement check); failures name `who`.
void compare_with_reference(const OpSpec& spec, const SpecRun& reference, const SpecRun& got, const std::string& who,
                            std::vector<std::string>& failures) {
  if (!spec.error.empty() || reference.threw) {
    if (!got.threw) failures.push_back(who + ": ran, the reference threw '" + reference.error + "'");
    else if (!spec.error.empty() && got.error.find(spec.error) == std::string::npos)
      failures.push_back(who + ": error '" + got.error + "' does not contain '" + spec.error + "'");
    return;
  }
  if (got.threw) {
    failures.push_back(who + ": threw " + got.error);
    return;
  }
  if (got.outputs.size() != reference.outputs.size()) {
    failures.push_back(who + ": " + std::to_string(got.outputs.size()) + " outputs, the reference " +
                       std::to_string(reference.outputs.size()));
    return;
  }
  for (size_t k = 0; k < reference.outputs.size(); ++k) {
    const engine::Value& want = reference.outputs[k];
    const engine::Value& have = got.outputs[k];
    std::string diff;
    if (have.kind != want.kind) diff = "another kind of value";
    else if (want.is_tensor()) diff = compare_tensors(spec, want.tensor, have.tensor, spec.nonfinite);
    else if (want.kind == engine::Value::Kind::sequence) {
      if (have.sequence.size() != want.sequence.size()) diff = "sequence length differs";
      for (size_t j = 0; diff.empty() && j < want.sequence.size(); ++j)
        diff = compare_tensors(spec, want.sequence[j], have.sequence[j], spec.nonfinite);
    }
    if (!diff.empty()) failures.push_back(who + ": output " + std::to_string(k) + ": " + diff);
  }
}

}  // namespace

SpecRun check_against_reference(const OpSpec& spec, const SpecRun& reference, const engine::Backend* preferred,
                             bool allow_fast, std::string_view target, std::vector<std::string>& failures) {
  const std::string who = spec.name + " (" + spec.op + ", " + std::string(target) + ")";
  SpecRun got = run_spec(spec, preferred, allow_fast);
  if (preferred) {
    ir::Model model = spec_model(spec);
    if (preferred->has_op(model.graph.nodes[0]) && got.placement.rfind(std::string(preferred->name()) + "  ", 0) != 0 &&
        got.placement.rfind(preferred->device().name(), 0) != 0)
      failures.push_back(who + ": placed as '" + got.placement + "'");
  }
  compare_with_reference(spec, reference, got, who, failures);
  return got;
}

// ---- Channels-last.

namespace {

bool wraps_every_input(const OpSpec& spec) {
  if (spec.domain == ir::kInternalDomain) return spec.op == "ConcatBatchNorm";  // its parts (the parameters are 1-D)
  return spec.domain.empty() && (spec.op == "Concat" || spec.op == "Add" || spec.op == "Sub" || spec.op == "Mul" || spec.op == "Div");
}

// A float32 [N, C, H, W] tensor with elements: what an identity Conv can pass on.
bool float4d(const ir::Tensor& t) { return t.dtype == ir::DataType::float32 && t.dims.size() == 4 && t.numel() > 0; }

// The weights of an identity Conv over `c` channels, added once: depthwise [c, 1, 1, 1] ones,
// or `dense` [c, c, 1, 1], the identity matrix.
std::string identity_weights(ir::Graph& graph, int64_t c, bool dense) {
  const std::string name = std::string(dense ? "identity_matrix_" : "identity_weights_") + std::to_string(c);
  if (!graph.initializer(name)) {
    std::vector<float> w(static_cast<size_t>(dense ? c * c : c), dense ? 0.0f : 1.0f);
    for (int64_t k = 0; dense && k < c; ++k) w[static_cast<size_t>(k * c + k)] = 1.0f;
    ir::Tensor t = f32({c, dense ? c : 1, 1, 1}, w);
    t.name = name;
    graph.initializers.push_back(std::move(t));
  }
  return name;
}

// y = 1 * x per channel: one product per element (depthwise), so exact, NaN and Inf included;
// the dense form adds zero products (0 * NaN would spread a NaN over the pixel's channels).
ir::Node identity_conv(ir::Graph& graph, const std::string& name, const std::string& x, const std::string& y, int64_t c,
                       bool dense) {
  ir::Node node;
  node.op_type = "Conv";
  node.op = ir::OpKind::Conv;
  node.name = name;
  if (!dense) node.attributes = {int_attr("group", c)};
  node.inputs = {x, identity_weights(graph, c, dense)};
  node.outputs = {y};
  return node;
}

}  // namespace

std::vector<size_t> channels_last_inputs(const OpSpec& spec) {
  std::vector<size_t> wrapped;
  if (!(spec.backends & cpu_fast) || !spec.error.empty()) return wrapped;
  const bool conv = spec.domain.empty() && spec.op == "Conv";
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const Operand& in = spec.inputs[i];
    if (in.initializer || !float4d(in.tensor)) continue;
    if (i == 0 || wraps_every_input(spec) || (conv && i == 3)) wrapped.push_back(i);
  }
  return wrapped;
}

ir::Model channels_last_model(const OpSpec& spec, const std::vector<engine::Value>& reference_outputs, bool dense) {
  ir::Model model = spec_model(spec);
  ir::Graph& graph = model.graph;
  ir::Node node = std::move(graph.nodes[0]);
  graph.nodes.clear();
  for (size_t i : channels_last_inputs(spec)) {
    const int64_t c = spec.inputs[i].tensor.dims[1];
    const std::string x = "channels_last_in" + std::to_string(i), kept = "kept_in" + std::to_string(i);
    graph.nodes.push_back(identity_conv(graph, "to_channels_last_" + std::to_string(i), node.inputs[i], x, c, dense));
    graph.nodes.push_back(identity_conv(graph, "keep_" + std::to_string(i), x, kept, c, dense));
    graph.outputs.push_back({kept, std::nullopt, {}, {}, 0});
    node.inputs[i] = x;
  }
  std::vector<ir::Node> after;
  for (size_t k = 0; k < node.outputs.size() && k < reference_outputs.size(); ++k) {
    const engine::Value& out = reference_outputs[k];
    if (!out.is_tensor() || !float4d(out.tensor)) continue;
    const std::string y = "channels_last_out" + std::to_string(k);
    after.push_back(identity_conv(graph, "from_channels_last_" + std::to_string(k), y, node.outputs[k], out.tensor.dims[1], dense));
    node.outputs[k] = y;
  }
  graph.nodes.push_back(std::move(node));
  for (ir::Node& n : after) graph.nodes.push_back(std::move(n));
  return model;
}

SpecRun run_spec_channels_last(const OpSpec& spec, const SpecRun& reference, bool bf16_storage) {
  SpecRun run = run_model(spec, channels_last_model(spec, reference.outputs, bf16_storage), nullptr, true,
                          bf16_storage ? "bf16" : "fp32");
  if (run.outputs.size() > spec.outputs) run.outputs.resize(spec.outputs);  // the kept inputs
  return run;
}

bool ran_channels_last(const SpecRun& run) { return run.layout.rfind("nhwc->", 0) == 0; }

bool bf16_storage_candidate(const OpSpec& spec) {
  if (spec.domain != "" || spec.op != "Conv" || channels_last_inputs(spec).empty()) return false;
  bool hint = false;
  for (const ir::Attribute& a : spec.attributes) {
    if (a.name == "mhub_storage_out") return false;  // written by hand: its own spec
    hint |= a.name == "mhub_compute" && a.s == "bf16";
  }
  return hint;
}

bool cpu_has_fast_kernel(const OpSpec& spec) {
  const ir::OpKind op = ir::lookup_op(spec.domain, spec.op);
  for (const engine::KernelDef& def : engine::cpu::cpu_kernel_table())
    if (def.op == op && def.kind == engine::KernelKind::fast) return true;
  return false;
}

std::vector<std::string> run_specs_on_cpu_and_test_device(const std::vector<OpSpec>& specs) {
  std::vector<std::string> failures;
  const TestDevice device(TestDevice::Kernels::mirror_cpu);
  for (const OpSpec& spec : specs) {
    if (!(spec.backends & (cpu_fast | test_device))) continue;  // a GPU-only size
    const SpecRun reference = run_reference(spec, failures);
    if ((spec.backends & cpu_fast) && cpu_has_fast_kernel(spec))
      check_against_reference(spec, reference, nullptr, true, "cpu fast", failures);
    if (!reference.threw && !channels_last_inputs(spec).empty()) {
      // Compared whatever the pass chose: between identity Convs the result must not change.
      const SpecRun run = run_spec_channels_last(spec, reference);
      compare_with_reference(spec, reference, run, spec.name + " (" + spec.op + ", cpu channels-last model, " +
                                                       (run.layout.empty() ? "node not planned" : run.layout) + ")",
                             failures);
      if (bf16_storage_candidate(spec)) {
        const SpecRun stored = run_spec_channels_last(spec, reference, true);
        compare_with_reference(spec, reference, stored, spec.name + " (" + spec.op + ", cpu bf16 channels-last model, " +
                                                            (stored.layout.empty() ? "node not planned" : stored.layout) + ")",
                               failures);
      }
    }
    if (spec.backends & test_device) {
      const SpecRun run = check_against_reference(spec, reference, &device, true, "test device", failures);
      // The device ran the node: the inputs with bytes went there, the outputs with bytes came back.
      bool input_bytes = false, output_bytes = false;
      for (const Operand& in : spec.inputs) input_bytes |= in.tensor.storage && in.tensor.byte_size() > 0;
      for (const engine::Value& out : run.outputs) output_bytes |= out.is_tensor() && out.tensor.byte_size() > 0;
      if (!run.threw && input_bytes && run.stats.copies_to_device == 0)
        failures.push_back(spec.name + " (" + spec.op + ", test device): no input was copied to the device");
      if (!run.threw && output_bytes && run.stats.copies_to_host == 0)
        failures.push_back(spec.name + " (" + spec.op + ", test device): no output was copied back");
    }
  }
  return failures;
}

// ---- Coverage.

Coverage coverage_of(std::string backend, std::span<const engine::KernelDef> table, bool only_fast, uint32_t bit,
                     const std::vector<OpSpec>& specs) {
  std::set<ir::OpKind> ops, with_spec;
  for (const engine::KernelDef& def : table)
    if (!only_fast || def.kind == engine::KernelKind::fast) ops.insert(def.op);
  for (const OpSpec& spec : specs)
    if (bit == 0 || (spec.backends & bit)) with_spec.insert(ir::lookup_op(spec.domain, spec.op));
  Coverage c;
  c.backend = std::move(backend);
  for (ir::OpKind op : ops)
    (with_spec.count(op) ? c.covered : c.uncovered).push_back(std::string(ir::op_name(op)));
  std::sort(c.covered.begin(), c.covered.end());
  std::sort(c.uncovered.begin(), c.uncovered.end());
  return c;
}

Coverage channels_last_coverage(const std::vector<OpSpec>& specs, std::vector<std::string>* ran) {
  std::set<ir::OpKind> ops, with_spec;
  for (const engine::KernelDef& def : engine::cpu::cpu_kernel_table())
    if (def.channels_last) ops.insert(def.op);
  for (const OpSpec& spec : specs) {
    if (channels_last_inputs(spec).empty()) continue;
    const SpecRun reference = run_spec(spec, nullptr, false);
    if (reference.threw || !ran_channels_last(run_spec_channels_last(spec, reference))) continue;
    with_spec.insert(ir::lookup_op(spec.domain, spec.op));
    if (ran) ran->push_back(spec.name + " (" + spec.op + ")");
  }
  Coverage c;
  c.backend = "cpu_channels_last";
  for (ir::OpKind op : ops)
    (with_spec.count(op) ? c.covered : c.uncovered).push_back(std::string(ir::op_name(op)));
  std::sort(c.covered.begin(), c.covered.end());
  std::sort(c.uncovered.begin(), c.uncovered.end());
  return c;
}

std::string coverage_report(const std::vector<Coverage>& coverages) {
  std::ostringstream out;
  for (const Coverage& c : coverages) {
    out << c.backend << ": " << c.covered.size() << " of " << c.covered.size() + c.uncovered.size()
        << " ops with a kernel have a spec";
    if (!c.uncovered.empty()) {
      out << "; without one:";
      for (const std::string& op : c.uncovered) out << " " << op;
    }
    out << "\n";
  }
  return out.str();
}

namespace {

nlohmann::json read_floor(const std::string& floor_file) {
  std::ifstream in(floor_file);
  if (!in) throw_error(ErrorCategory::io, floor_file + ": cannot be read");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw_error(ErrorCategory::format, floor_file + ": " + e.what());
  }
}

}  // namespace

int coverage_floor(const std::string& floor_file, const std::string& key) {
  const nlohmann::json floor = read_floor(floor_file);
  return floor.contains(key) && floor[key].is_number_integer() ? floor[key].get<int>() : 0;
}

std::vector<std::string> check_coverage_floor(const std::vector<Coverage>& coverages, const std::string& floor_file,
                                              std::vector<std::string>* raise_notes) {
  const nlohmann::json floor = read_floor(floor_file);
  std::vector<std::string> failures;
  for (const Coverage& c : coverages) {
    if (!floor.contains(c.backend) || !floor[c.backend].is_number_integer()) {
      failures.push_back(floor_file + ": no floor for '" + c.backend + "'");
      continue;
    }
    const int want = floor[c.backend].get<int>(), have = static_cast<int>(c.covered.size());
    if (have < want)
      failures.push_back(c.backend + ": " + std::to_string(have) + " ops with a spec, below the floor of " +
                         std::to_string(want) + " (" + floor_file + ")");
    else if (have > want && raise_notes)
      raise_notes->push_back(c.backend + ": " + std::to_string(have) + " ops with a spec, above the floor of " +
                             std::to_string(want) + ": raise it in " + floor_file);
  }
  return failures;
}

}  // namespace mhub::test
