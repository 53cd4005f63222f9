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

SpecRun run_spec(const OpSpec& spec, const engine::Backend* preferred, bool allow_fast) {
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
    engine::Session session(spec_model(spec), engine::host_backend(), options);
    for (const std::string& line : session.log())
      if (line.find("'under_test'") != std::string::npos) result.placement = line;
    result.outputs = session.run(feeds);
    result.stats = session.stats();
  } catch (const Error& error) {
    result.threw = true;
    result.error = error.what();
  }
  return result;
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
  if (!spec.error.empty() || reference.threw) {
    if (!got.threw) failures.push_back(who + ": ran, the reference threw '" + reference.error + "'");
    else if (!spec.error.empty() && got.error.find(spec.error) == std::string::npos)
      failures.push_back(who + ": error '" + got.error + "' does not contain '" + spec.error + "'");
    return got;
  }
  if (got.threw) {
    failures.push_back(who + ": threw " + got.error);
    return got;
  }
  if (got.outputs.size() != reference.outputs.size()) {
    failures.push_back(who + ": " + std::to_string(got.outputs.size()) + " outputs, the reference " +
                       std::to_string(reference.outputs.size()));
    return got;
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
  return got;
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
