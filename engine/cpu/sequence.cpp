// Sequence ops: SequenceConstruct/Empty/At/Insert/Erase/Length, SplitToSequence,
// ConcatFromSequence, SequenceMap (optionals: optional.cpp). Sequences hold shared tensors: inserting or reading an
// element copies no bytes.
#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"
#include "engine/cpu/tensor_pieces.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

const Value& sequence_input(OpContext& ctx, size_t index) {
  const Value& v = ctx.value(index);
  if (v.kind != Value::Kind::sequence)
    throw_error(ErrorCategory::format, ctx.describe() + ": input " + std::to_string(index) + " must be a sequence");
  return v;
}

// Position from a scalar tensor, negative counting from the back; `size` allowed when inserting.
size_t position(OpContext& ctx, size_t input, size_t size, bool allow_end) {
  int64_t p = load_int64(ctx.input(input), 0);
  int64_t n = static_cast<int64_t>(size);
  if (p < 0) p += n;
  if (p < 0 || p > n || (p == n && !allow_end))
    throw_error(ErrorCategory::format, ctx.describe() + ": position " + std::to_string(load_int64(ctx.input(input), 0)) +
                                            " is out of range for a sequence of " + std::to_string(size));
  return static_cast<size_t>(p);
}

void sequence_empty(OpContext& ctx) {
  auto dtype = static_cast<ir::DataType>(ctx.node().attr_int("dtype", 1));
  ctx.set_output(0, Value::of_sequence({}, dtype));
}

void sequence_construct(OpContext& ctx) {
  std::vector<ir::Tensor> items;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    items.push_back(ctx.input(i));
    if (items.back().dtype != items.front().dtype)
      throw_error(ErrorCategory::format, ctx.describe() + ": all inputs must share one element type");
  }
  ir::DataType elem = items.empty() ? ir::DataType::undefined : items.front().dtype;
  ctx.set_output(0, Value::of_sequence(std::move(items), elem));
}

void sequence_at(OpContext& ctx) {
  const Value& s = sequence_input(ctx, 0);
  ctx.set_output(0, Value::of(s.sequence[position(ctx, 1, s.sequence.size(), false)]));
}

void sequence_insert(OpContext& ctx) {
  const Value& s = sequence_input(ctx, 0);
  std::vector<ir::Tensor> items = s.sequence;
  size_t at = ctx.has_input(2) ? position(ctx, 2, items.size(), true) : items.size();
  items.insert(items.begin() + static_cast<std::ptrdiff_t>(at), ctx.input(1));
  ctx.set_output(0, Value::of_sequence(std::move(items), ctx.input(1).dtype));
}

void sequence_erase(OpContext& ctx) {
  const Value& s = sequence_input(ctx, 0);
  std::vector<ir::Tensor> items = s.sequence;
  if (items.empty()) throw_error(ErrorCategory::format, ctx.describe() + ": cannot erase from an empty sequence");
  size_t at = ctx.has_input(1) ? position(ctx, 1, items.size(), false) : items.size() - 1;
  items.erase(items.begin() + static_cast<std::ptrdiff_t>(at));
  ctx.set_output(0, Value::of_sequence(std::move(items), s.sequence_elem));
}

void sequence_length(OpContext& ctx) {
  const Value& s = sequence_input(ctx, 0);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::int64, {});
  store_int64(y, 0, static_cast<int64_t>(s.sequence.size()));
}

void split_to_sequence(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  size_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", 0), x.dims.size());
  int64_t total = x.dims[axis];
  std::vector<int64_t> lengths;
  bool squeeze = false;
  if (ctx.has_input(1)) {
    const ir::Tensor& split = ctx.input(1);
    if (split.dims.empty()) {
      int64_t chunk = load_int64(split, 0);
      if (chunk <= 0) throw_error(ErrorCategory::format, ctx.describe() + ": split must be positive");
      for (int64_t at = 0; at < total; at += chunk) lengths.push_back(std::min(chunk, total - at));
    } else {
      int64_t sum = 0;
      for (uint64_t i = 0; i < split.numel(); ++i) {
        lengths.push_back(load_int64(split, i));
        sum += lengths.back();
      }
      if (sum != total) throw_error(ErrorCategory::format, ctx.describe() + ": split lengths must add up to the axis size");
    }
  } else {
    lengths.assign(static_cast<size_t>(total), 1);
    squeeze = ctx.node().attr_int("keepdims", 1) == 0;
  }
  std::vector<ir::Tensor> items;
  int64_t at = 0;
  for (int64_t len : lengths) {
    items.push_back(squeeze ? take_axis(x, axis, at, ctx.scope()) : slice_axis(x, axis, at, len, ctx.scope()));
    at += len;
  }
  ctx.set_output(0, Value::of_sequence(std::move(items), x.dtype));
}

void concat_from_sequence(OpContext& ctx) {
  const Value& s = sequence_input(ctx, 0);
  if (s.sequence.empty()) throw_error(ErrorCategory::format, ctx.describe() + ": the sequence is empty");
  bool new_axis = ctx.node().attr_int("new_axis", 0) != 0;
  size_t rank = s.sequence[0].dims.size() + (new_axis ? 1 : 0);
  size_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", 0), rank);
  ctx.set_output(0, Value::of(concat_axis(s.sequence, axis, new_axis, ctx.scope(), ctx.describe())));
}

// Runs the body once per position; sequence inputs give their i-th element, tensors go as is.
void sequence_map(OpContext& ctx) {
  const ir::Attribute* body = ctx.node().attribute("body");
  if (!body || !body->g) throw_error(ErrorCategory::format, ctx.describe() + ": missing body graph");
  size_t count = sequence_input(ctx, 0).sequence.size();
  std::vector<std::vector<ir::Tensor>> results(ctx.output_count());
  for (size_t i = 0; i < count; ++i) {
    std::vector<Value> args;
    for (size_t k = 0; k < ctx.input_count(); ++k) {
      const Value& v = ctx.value(k);
      if (v.kind == Value::Kind::sequence) {
        if (v.sequence.size() != count)
          throw_error(ErrorCategory::format, ctx.describe() + ": input sequences differ in length");
        args.push_back(Value::of(v.sequence[i]));
      } else {
        args.push_back(v);
      }
    }
    std::vector<Value> outs = ctx.scope().run_subgraph(*body->g, std::move(args));
    for (size_t o = 0; o < results.size() && o < outs.size(); ++o) results[o].push_back(outs[o].tensor);
  }
  for (size_t o = 0; o < results.size(); ++o) {
    ir::DataType elem = results[o].empty() ? ir::DataType::undefined : results[o][0].dtype;
    if (results[o].empty() && o < body->g->outputs.size() && body->g->outputs[o].type)
      elem = body->g->outputs[o].type->dtype();
    ctx.set_output(o, Value::of_sequence(std::move(results[o]), elem));
  }
}

}  // namespace

void add_sequence_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  auto ref = KernelKind::reference;
  table.push_back({O::SequenceEmpty, ref, sequence_empty, nullptr});
  table.push_back({O::SequenceConstruct, ref, sequence_construct, nullptr});
  table.push_back({O::SequenceAt, ref, sequence_at, nullptr});
  table.push_back({O::SequenceInsert, ref, sequence_insert, nullptr});
  table.push_back({O::SequenceErase, ref, sequence_erase, nullptr});
  table.push_back({O::SequenceLength, ref, sequence_length, nullptr});
  table.push_back({O::SplitToSequence, ref, split_to_sequence, nullptr});
  table.push_back({O::ConcatFromSequence, ref, concat_from_sequence, nullptr});
  table.push_back({O::SequenceMap, ref, sequence_map, nullptr});
}

}  // namespace mhub::engine::cpu
