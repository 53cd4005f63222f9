#include "engine/core/passes/static_facts.h"

#include <algorithm>
#include <cstring>

#include "engine/ops/conv_geometry.h"
#include "engine/ops/slice_axis.h"

namespace mhub::engine::passes {
namespace {

using ir::OpKind;

bool tracks_elements(ir::DataType type) { return type == ir::DataType::int64 || type == ir::DataType::int32; }

StaticFacts unknown() { return {}; }

StaticFacts with_dims(std::vector<KnownInt> dims, std::optional<ir::DataType> dtype = std::nullopt) {
  StaticFacts facts;
  facts.rank_known = true;
  facts.dims = std::move(dims);
  facts.dtype = dtype;
  return facts;
}

// A 1-D integer value of known elements, or nothing.
std::optional<std::vector<int64_t>> known_ints(const StaticFacts& facts) {
  if (!facts.has_elements || facts.dims.size() > 1) return std::nullopt;
  std::vector<int64_t> values;
  for (const KnownInt& e : facts.elements) {
    if (!e) return std::nullopt;
    values.push_back(*e);
  }
  return values;
}

std::optional<int64_t> known_axis(int64_t axis, size_t rank) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) return std::nullopt;
  return axis < 0 ? axis + r : axis;
}

// numpy broadcast of partially known shapes: an axis is known when every operand's dim is, or
// when some operand has a known dim > 1 there (the others must then be 1 or equal it; if they
// are not the node fails at run time, so no folded value ever depends on the claim). Zero-sized
// axes are known only when every dim is.
StaticFacts broadcast(std::span<const StaticFacts> inputs, std::optional<ir::DataType> dtype) {
  size_t rank = 0;
  for (const StaticFacts& in : inputs) {
    if (!in.rank_known) return unknown();
    rank = std::max(rank, in.dims.size());
  }
  std::vector<KnownInt> out(rank);
  for (size_t axis = 0; axis < rank; ++axis) {
    bool all_known = true, zero = false;
    int64_t big = 1;
    for (const StaticFacts& in : inputs) {
      const size_t offset = rank - in.dims.size();
      if (axis < offset) continue;
      const KnownInt& d = in.dims[axis - offset];
      if (!d) {
        all_known = false;
      } else if (*d == 0) {
        zero = true;
      } else if (*d > 1) {
        if (big > 1 && big != *d) return unknown();
        big = *d;
      }
    }
    if (zero) {
      if (!all_known || big > 1) return unknown();
      out[axis] = 0;
    } else if (big > 1 || all_known) {
      out[axis] = big;
    }
  }
  return with_dims(std::move(out), dtype);
}

// Elementwise integer arithmetic on partially known elements (same element count, or one scalar).
StaticFacts arithmetic(const ir::Node& node, std::span<const StaticFacts> in) {
  StaticFacts out = broadcast(in.subspan(0, 2), in[0].dtype);
  const StaticFacts& a = in[0];
  const StaticFacts& b = in[1];
  if (!out.rank_known || !a.has_elements || !b.has_elements || !a.dtype || a.dtype != b.dtype) return out;
  const size_t n = std::max(a.elements.size(), b.elements.size());
  const bool shapes_fit = (a.elements.size() == n || a.elements.size() == 1) &&
                          (b.elements.size() == n || b.elements.size() == 1) && out.dims.size() <= 1;
  if (!shapes_fit) return out;
  out.has_elements = true;
  for (size_t i = 0; i < n; ++i) {
    const KnownInt& x = a.elements[a.elements.size() == 1 ? 0 : i];
    const KnownInt& y = b.elements[b.elements.size() == 1 ? 0 : i];
    KnownInt r;
    if (x && y) {
      const int64_t p = *x, q = *y;
      switch (node.op) {
        case OpKind::Add: r = p + q; break;
        case OpKind::Sub: r = p - q; break;
        case OpKind::Mul: r = p * q; break;
        // Truncating and flooring division and remainders agree on non-negative operands.
        case OpKind::Div: if (p >= 0 && q > 0) r = p / q; break;
        case OpKind::Mod: if (p >= 0 && q > 0 && node.attr_int("fmod", 0) == 0) r = p % q; break;
        default: break;
      }
      // int32 results that would wrap are left unknown.
      if (r && *a.dtype == ir::DataType::int32 && (*r > INT32_MAX || *r < INT32_MIN)) r.reset();
      if (r && (p > (int64_t{1} << 31) || q > (int64_t{1} << 31) || p < -(int64_t{1} << 31) ||
                q < -(int64_t{1} << 31)))
        r.reset();  // keep clear of int64 overflow
    }
    out.elements.push_back(r);
  }
  return out;
}

StaticFacts same_shape(const StaticFacts& in, std::optional<ir::DataType> dtype) {
  if (!in.rank_known) return unknown();
  return with_dims(in.dims, dtype);
}

// Slice's element count on one axis of known size `dim` (ops::slice_axis, the kernels' rule).
std::optional<int64_t> slice_length(int64_t dim, int64_t start, int64_t end, int64_t step) {
  constexpr int64_t kLimit = int64_t{1} << 40;  // larger steps, dims: left to the kernel
  if (step == 0 || step > kLimit || step < -kLimit || dim > kLimit) return std::nullopt;
  return ops::slice_axis(dim, start, end, step).count;
}

StaticFacts slice(std::span<const StaticFacts> in) {
  const StaticFacts& data = in[0];
  if (!data.rank_known || in.size() < 3) return unknown();
  auto starts = known_ints(in[1]);
  auto ends = known_ints(in[2]);
  if (!starts || !ends || starts->size() != ends->size()) return unknown();
  std::vector<int64_t> axes(starts->size()), steps(starts->size(), 1);
  for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int64_t>(i);
  if (in.size() > 3 && in[3].rank_known) {
    auto given = known_ints(in[3]);
    if (!given || given->size() != axes.size()) return unknown();
    axes = *given;
  }
  if (in.size() > 4 && in[4].rank_known) {
    auto given = known_ints(in[4]);
    if (!given || given->size() != axes.size()) return unknown();
    steps = *given;
  }
  StaticFacts out = with_dims(data.dims, data.dtype);
  std::vector<std::optional<std::pair<int64_t, int64_t>>> ranges(data.dims.size());  // (start, step)
  for (size_t i = 0; i < axes.size(); ++i) {
    auto axis = known_axis(axes[i], data.dims.size());
    if (!axis) return unknown();
    const KnownInt& dim = data.dims[*axis];
    out.dims[*axis] = dim ? slice_length(*dim, (*starts)[i], (*ends)[i], steps[i]) : std::nullopt;
    if (dim && out.dims[*axis] && *out.dims[*axis] > 0) {
      int64_t start = (*starts)[i] < 0 ? (*starts)[i] + *dim : (*starts)[i];
      start = steps[i] > 0 ? std::clamp<int64_t>(start, 0, *dim) : std::clamp<int64_t>(start, -1, *dim - 1);
      ranges[*axis] = std::make_pair(start, steps[i]);
    }
  }
  // Elements of a 1-D value (a sliced shape).
  if (data.has_elements && data.dims.size() == 1 && ranges[0] && out.dims[0]) {
    out.has_elements = true;
    for (int64_t i = 0; i < *out.dims[0]; ++i)
      out.elements.push_back(data.elements[static_cast<size_t>(ranges[0]->first + i * ranges[0]->second)]);
  } else if (data.has_elements && data.dims.size() == 1 && !ranges[0] && out.dims[0] == data.dims[0]) {
    out.has_elements = true;  // the axis was not sliced
    out.elements = data.elements;
  }
  return out;
}

StaticFacts gather(const ir::Node& node, std::span<const StaticFacts> in) {
  const StaticFacts& data = in[0];
  const StaticFacts& indices = in[1];
  if (!data.rank_known || !indices.rank_known || data.dims.empty()) return unknown();
  auto axis = known_axis(node.attr_int("axis", 0), data.dims.size());
  if (!axis) return unknown();
  std::vector<KnownInt> dims(data.dims.begin(), data.dims.begin() + *axis);
  dims.insert(dims.end(), indices.dims.begin(), indices.dims.end());
  dims.insert(dims.end(), data.dims.begin() + *axis + 1, data.dims.end());
  StaticFacts out = with_dims(std::move(dims), data.dtype);
  // Picking elements of a shape: Gather(Shape(x), i).
  auto picks = known_ints(indices);
  if (data.has_elements && data.dims.size() == 1 && data.dims[0] && picks) {
    const int64_t n = *data.dims[0];
    std::vector<KnownInt> elements;
    for (int64_t i : *picks) {
      if (i < -n || i >= n) return out;
      elements.push_back(data.elements[static_cast<size_t>(i < 0 ? i + n : i)]);
    }
    out.has_elements = true;
    out.elements = std::move(elements);
  }
  return out;
}

StaticFacts concat(const ir::Node& node, std::span<const StaticFacts> in) {
  if (in.empty() || !in[0].rank_known) return unknown();
  const size_t rank = in[0].dims.size();
  auto axis = known_axis(node.attr_int("axis", 0), rank);
  if (!axis) return unknown();
  std::vector<KnownInt> dims(rank);
  KnownInt total = 0;
  bool elements = rank == 1;
  for (const StaticFacts& part : in) {
    if (!part.rank_known || part.dims.size() != rank) return unknown();
    for (size_t a = 0; a < rank; ++a) {
      if (static_cast<int64_t>(a) == *axis) continue;
      if (!dims[a]) dims[a] = part.dims[a];
    }
    total = total && part.dims[*axis] ? KnownInt(*total + *part.dims[*axis]) : std::nullopt;
    elements = elements && part.has_elements;
  }
  dims[*axis] = total;
  StaticFacts out = with_dims(std::move(dims), in[0].dtype);
  if (elements) {
    out.has_elements = true;
    for (const StaticFacts& part : in) out.elements.insert(out.elements.end(), part.elements.begin(), part.elements.end());
  }
  return out;
}

std::optional<std::vector<int64_t>> axes_of(const ir::Node& node, std::span<const StaticFacts> in, int64_t opset) {
  if (opset < 13) {
    if (!node.attribute("axes")) return std::nullopt;
    return node.attr_ints("axes");
  }
  if (in.size() < 2 || !in[1].rank_known) return std::nullopt;
  return known_ints(in[1]);
}

StaticFacts unsqueeze(const ir::Node& node, std::span<const StaticFacts> in, int64_t opset) {
  const StaticFacts& data = in[0];
  auto axes = axes_of(node, in, opset);
  if (!data.rank_known || !axes) return unknown();
  const size_t rank = data.dims.size() + axes->size();
  std::vector<bool> inserted(rank, false);
  for (int64_t a : *axes) {
    auto axis = known_axis(a, rank);
    if (!axis || inserted[*axis]) return unknown();
    inserted[*axis] = true;
  }
  std::vector<KnownInt> dims;
  size_t next = 0;
  for (size_t a = 0; a < rank; ++a) dims.push_back(inserted[a] ? KnownInt(1) : data.dims[next++]);
  StaticFacts out = with_dims(std::move(dims), data.dtype);
  if (data.has_elements && out.dims.size() <= 1) {
    out.has_elements = true;
    out.elements = data.elements;
  }
  return out;
}

StaticFacts squeeze(const ir::Node& node, std::span<const StaticFacts> in, int64_t opset) {
  const StaticFacts& data = in[0];
  if (!data.rank_known) return unknown();
  auto axes = axes_of(node, in, opset);
  const bool has_axes = opset < 13 ? node.attribute("axes") != nullptr : in.size() > 1 && in[1].rank_known;
  if (has_axes && !axes) return unknown();
  std::vector<bool> removed(data.dims.size(), false);
  if (has_axes) {
    for (int64_t a : *axes) {
      auto axis = known_axis(a, data.dims.size());
      if (!axis) return unknown();
      removed[*axis] = true;
    }
  } else {
    for (size_t a = 0; a < data.dims.size(); ++a) {
      if (!data.dims[a]) return unknown();  // which axes go depends on run-time dims
      removed[a] = *data.dims[a] == 1;
    }
  }
  std::vector<KnownInt> dims;
  for (size_t a = 0; a < data.dims.size(); ++a)
    if (!removed[a]) dims.push_back(data.dims[a]);
  StaticFacts out = with_dims(std::move(dims), data.dtype);
  if (data.has_elements && out.dims.size() <= 1) {
    out.has_elements = true;
    out.elements = data.elements;
  }
  return out;
}

StaticFacts reshape(const ir::Node& node, std::span<const StaticFacts> in) {
  const StaticFacts& data = in[0];
  const StaticFacts& target = in[1];
  if (!target.has_elements || target.dims.size() != 1) return unknown();
  const bool allow_zero = node.attr_int("allowzero", 0) != 0;
  std::vector<KnownInt> dims;
  int inferred = -1;
  for (size_t i = 0; i < target.elements.size(); ++i) {
    const KnownInt& e = target.elements[i];
    if (!e) {
      dims.push_back(std::nullopt);
    } else if (*e == 0 && !allow_zero) {
      dims.push_back(data.rank_known && i < data.dims.size() ? data.dims[i] : std::nullopt);
    } else if (*e == -1) {
      if (inferred >= 0) return unknown();
      inferred = static_cast<int>(i);
      dims.push_back(std::nullopt);
    } else if (*e < 0) {
      return unknown();
    } else {
      dims.push_back(*e);
    }
  }
  if (inferred >= 0 && data.rank_known) {
    // -1 is known when the input's element count and every other output dim are.
    int64_t total = 1, rest = 1;
    bool known = true;
    for (const KnownInt& d : data.dims) known = known && d && !__builtin_mul_overflow(total, *d, &total);
    for (size_t i = 0; i < dims.size(); ++i)
      if (static_cast<int>(i) != inferred)
        known = known && dims[i] && !__builtin_mul_overflow(rest, *dims[i], &rest);
    if (known && rest > 0 && total % rest == 0) dims[static_cast<size_t>(inferred)] = total / rest;
  }
  StaticFacts out = with_dims(std::move(dims), data.dtype);
  if (data.has_elements && out.dims.size() <= 1) {
    out.has_elements = true;
    out.elements = data.elements;
  }
  return out;
}

StaticFacts transpose(const ir::Node& node, const StaticFacts& data) {
  if (!data.rank_known) return unknown();
  std::vector<int64_t> perm = node.attr_ints("perm");
  const size_t rank = data.dims.size();
  if (!node.attribute("perm")) {
    perm.clear();
    for (size_t i = rank; i-- > 0;) perm.push_back(static_cast<int64_t>(i));
  }
  if (perm.size() != rank) return unknown();
  std::vector<KnownInt> dims;
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank)) return unknown();
    dims.push_back(data.dims[static_cast<size_t>(p)]);
  }
  return with_dims(std::move(dims), data.dtype);
}

StaticFacts matmul(const StaticFacts& a, const StaticFacts& b) {
  if (!a.rank_known || !b.rank_known || a.dims.size() < 2 || b.dims.size() < 2) return unknown();
  StaticFacts batch_a = with_dims({a.dims.begin(), a.dims.end() - 2});
  StaticFacts batch_b = with_dims({b.dims.begin(), b.dims.end() - 2});
  const StaticFacts both[] = {batch_a, batch_b};
  StaticFacts out = broadcast(both, a.dtype);
  if (!out.rank_known) return unknown();
  out.dims.push_back(a.dims[a.dims.size() - 2]);
  out.dims.push_back(b.dims.back());
  return out;
}

StaticFacts gemm(const ir::Node& node, const StaticFacts& a, const StaticFacts& b) {
  if (!a.rank_known || !b.rank_known || a.dims.size() != 2 || b.dims.size() != 2) return unknown();
  const KnownInt m = node.attr_int("transA", 0) ? a.dims[1] : a.dims[0];
  const KnownInt n = node.attr_int("transB", 0) ? b.dims[0] : b.dims[1];
  return with_dims({m, n}, a.dtype);
}

StaticFacts pad(const ir::Node& node, std::span<const StaticFacts> in, int64_t opset) {
  const StaticFacts& data = in[0];
  if (!data.rank_known) return unknown();
  const size_t rank = data.dims.size();
  std::vector<int64_t> pads;
  if (opset < 11) {
    pads = node.attr_ints("pads");
  } else {
    if (in.size() < 2) return unknown();
    auto given = known_ints(in[1]);
    if (!given) return unknown();
    pads = *given;
  }
  std::vector<int64_t> axes;
  if (opset >= 18 && in.size() > 3 && in[3].rank_known) {  // the axes input came with opset 18
    auto given = known_ints(in[3]);
    if (!given) return unknown();
    for (int64_t a : *given) {
      auto axis = known_axis(a, rank);
      if (!axis) return unknown();
      axes.push_back(*axis);
    }
  } else {
    for (size_t a = 0; a < rank; ++a) axes.push_back(static_cast<int64_t>(a));
  }
  if (pads.size() != 2 * axes.size()) return unknown();
  StaticFacts out = with_dims(data.dims, data.dtype);
  for (size_t i = 0; i < axes.size(); ++i) {
    KnownInt& d = out.dims[static_cast<size_t>(axes[i])];
    if (!d) continue;
    int64_t size = 0;
    const bool fits = !__builtin_add_overflow(*d, pads[i], &size) &&
                      !__builtin_add_overflow(size, pads[i + axes.size()], &size);
    d = fits && size >= 0 ? KnownInt(size) : std::nullopt;
  }
  return out;
}

StaticFacts conv(const ir::Node& node, const StaticFacts& x, const StaticFacts& w) {
  if (!x.rank_known || !w.rank_known || x.dims.size() < 3 || w.dims.size() != x.dims.size()) return unknown();
  std::vector<int64_t> spatial, kernel;
  for (size_t a = 2; a < x.dims.size(); ++a) {
    if (!x.dims[a] || !w.dims[a]) return with_dims(std::vector<KnownInt>(x.dims.size()), x.dtype);
    spatial.push_back(*x.dims[a]);
    kernel.push_back(*w.dims[a]);
  }
  ops::ConvGeometry geometry;
  try {
    geometry = ops::conv_geometry(node, spatial, kernel, false);
  } catch (const std::exception&) {
    return unknown();  // the kernel reports it at run time
  }
  std::vector<KnownInt> dims{x.dims[0], w.dims[0]};
  for (int64_t d : geometry.out) dims.push_back(d > 0 ? KnownInt(d) : std::nullopt);
  return with_dims(std::move(dims), x.dtype);
}

// MaxPool / AveragePool / LpPool: N and C pass through, the spatial dims follow the pooling
// geometry (kernel_shape, strides, pads or auto_pad, dilations, ceil_mode) where they are known.
StaticFacts pool(const ir::Node& node, const StaticFacts& x) {
  const std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  if (!x.rank_known || x.dims.size() < 3 || kernel.size() != x.dims.size() - 2) return unknown();
  std::vector<KnownInt> dims{x.dims[0], x.dims[1]};
  std::vector<int64_t> spatial;
  for (size_t a = 2; a < x.dims.size(); ++a) {
    if (!x.dims[a]) {
      dims.resize(x.dims.size());
      return with_dims(std::move(dims), x.dtype);
    }
    spatial.push_back(*x.dims[a]);
  }
  ops::ConvGeometry geometry;
  try {
    geometry = ops::conv_geometry(node, spatial, kernel, node.attr_int("ceil_mode", 0) != 0);
  } catch (const std::exception&) {
    return unknown();  // the kernel reports it at run time
  }
  for (int64_t d : geometry.out) dims.push_back(d > 0 ? KnownInt(d) : std::nullopt);
  return with_dims(std::move(dims), x.dtype);
}

StaticFacts shape_of(const ir::Node& node, const StaticFacts& data) {
  if (!data.rank_known) return unknown();
  const int64_t rank = static_cast<int64_t>(data.dims.size());
  int64_t start = node.attr_int("start", 0), end = node.attr_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  StaticFacts out = with_dims({std::max<int64_t>(end - start, 0)}, ir::DataType::int64);
  out.has_elements = true;
  for (int64_t a = start; a < end; ++a) out.elements.push_back(data.dims[static_cast<size_t>(a)]);
  return out;
}

StaticFacts expand(std::span<const StaticFacts> in) {
  const StaticFacts& target = in[1];
  if (!target.has_elements || target.dims.size() != 1) return unknown();
  StaticFacts as_shape = with_dims(target.elements);
  const StaticFacts both[] = {in[0], as_shape};
  return broadcast(both, in[0].dtype);
}

StaticFacts elements_as_dims(const StaticFacts& shape, std::optional<ir::DataType> dtype) {
  if (!shape.has_elements || shape.dims.size() != 1) return unknown();
  for (const KnownInt& e : shape.elements)
    if (e && *e < 0) return unknown();
  return with_dims(shape.elements, dtype);
}

StaticFacts flatten(const ir::Node& node, const StaticFacts& data) {
  if (!data.rank_known) return unknown();
  const int64_t rank = static_cast<int64_t>(data.dims.size());
  int64_t axis = node.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) return unknown();
  auto product = [&](int64_t begin, int64_t end) -> KnownInt {
    int64_t p = 1;
    for (int64_t a = begin; a < end; ++a) {
      if (!data.dims[static_cast<size_t>(a)]) return std::nullopt;
      p *= *data.dims[static_cast<size_t>(a)];
    }
    return p;
  };
  return with_dims({product(0, axis), product(axis, rank)}, data.dtype);
}

std::optional<ir::DataType> cast_target(const ir::Node& node) {
  const int64_t to = node.attr_int("to", 0);
  if (!ir::is_known(static_cast<int32_t>(to))) return std::nullopt;
  return static_cast<ir::DataType>(to);
}

bool is_unary_same_shape(OpKind op) {
  switch (op) {
    case OpKind::Identity: case OpKind::Relu: case OpKind::Sigmoid: case OpKind::Tanh:
    case OpKind::Erf: case OpKind::Gelu: case OpKind::Sqrt: case OpKind::Exp: case OpKind::Log:
    case OpKind::Neg: case OpKind::Abs: case OpKind::Not: case OpKind::Reciprocal:
    case OpKind::Softmax: case OpKind::LogSoftmax: case OpKind::LeakyRelu: case OpKind::HardSigmoid:
    case OpKind::HardSwish: case OpKind::Elu: case OpKind::Softplus: case OpKind::Floor:
    case OpKind::Ceil: case OpKind::Round: case OpKind::Sign: case OpKind::Clip:
    case OpKind::LayerNormalization: case OpKind::BatchNormalization:
    case OpKind::InstanceNormalization: case OpKind::Dropout:
      return true;
    default:
      return false;
  }
}

bool is_broadcasting(OpKind op) {
  switch (op) {
    case OpKind::Add: case OpKind::Sub: case OpKind::Mul: case OpKind::Div: case OpKind::Pow:
    case OpKind::Mod: case OpKind::Equal: case OpKind::Less: case OpKind::Greater:
    case OpKind::LessOrEqual: case OpKind::GreaterOrEqual: case OpKind::And: case OpKind::Or:
    case OpKind::Xor: case OpKind::Where: case OpKind::Max: case OpKind::Min:
      return true;
    default:
      return false;
  }
}

bool is_comparison(OpKind op) {
  return op == OpKind::Equal || op == OpKind::Less || op == OpKind::Greater || op == OpKind::LessOrEqual ||
         op == OpKind::GreaterOrEqual || op == OpKind::And || op == OpKind::Or || op == OpKind::Xor;
}

// The first output's facts; the others (Dropout's mask, LayerNormalization's statistics) stay unknown.
StaticFacts first_output(const ir::Node& node, std::span<const StaticFacts> in, int64_t opset) {
  const OpKind op = node.op;
  if (in.empty() || (!node.domain.empty() && node.domain != "ai.onnx")) return unknown();
  const std::optional<ir::DataType> dtype = in[0].dtype;
  if (is_unary_same_shape(op)) {
    // Dropout in training mode (a second input given) still keeps the shape.
    return same_shape(in[0], op == OpKind::Not ? std::optional(ir::DataType::boolean) : dtype);
  }
  if (op == OpKind::Add || op == OpKind::Sub || op == OpKind::Mul || op == OpKind::Div || op == OpKind::Mod) {
    if (in.size() != 2) return unknown();
    return arithmetic(node, in);
  }
  if (is_broadcasting(op)) {
    if (op == OpKind::Where) {
      if (in.size() != 3) return unknown();
      return broadcast(in, in[1].dtype);
    }
    return broadcast(in, is_comparison(op) ? std::optional(ir::DataType::boolean) : dtype);
  }
  switch (op) {
    case OpKind::Cast: {
      auto to = cast_target(node);
      StaticFacts out = same_shape(in[0], to);
      // Integer to integer of the tracked kinds keeps the elements (int64 -> int32 when they fit).
      if (to && tracks_elements(*to) && in[0].has_elements && dtype && tracks_elements(*dtype)) {
        out.has_elements = true;
        for (const KnownInt& e : in[0].elements)
          out.elements.push_back(e && (*to == ir::DataType::int64 || (*e >= INT32_MIN && *e <= INT32_MAX)) ? e : std::nullopt);
      }
      return out;
    }
    case OpKind::Shape: return shape_of(node, in[0]);
    case OpKind::Gather: return in.size() == 2 ? gather(node, in) : unknown();
    case OpKind::Slice: return slice(in);
    case OpKind::Concat: return concat(node, in);
    case OpKind::Unsqueeze: return unsqueeze(node, in, opset);
    case OpKind::Squeeze: return squeeze(node, in, opset);
    case OpKind::Reshape: return in.size() == 2 ? reshape(node, in) : unknown();
    case OpKind::Transpose: return transpose(node, in[0]);
    case OpKind::MatMul: return in.size() >= 2 ? matmul(in[0], in[1]) : unknown();
    case OpKind::Gemm: return in.size() >= 2 ? gemm(node, in[0], in[1]) : unknown();
    case OpKind::Pad: return pad(node, in, opset);
    case OpKind::Conv: return in.size() >= 2 ? conv(node, in[0], in[1]) : unknown();
    case OpKind::MaxPool: case OpKind::AveragePool: case OpKind::LpPool: return pool(node, in[0]);
    case OpKind::Expand: return in.size() == 2 ? expand(in) : unknown();
    case OpKind::ConstantOfShape: {
      std::optional<ir::DataType> type = ir::DataType::float32;
      if (const ir::Attribute* value = node.attribute("value"); value && value->t) type = value->t->dtype;
      return elements_as_dims(in[0], type);
    }
    case OpKind::Flatten: return flatten(node, in[0]);
    case OpKind::GlobalAveragePool:
    case OpKind::GlobalMaxPool: {
      if (!in[0].rank_known || in[0].dims.size() < 2) return unknown();
      std::vector<KnownInt> dims(in[0].dims.begin(), in[0].dims.begin() + 2);
      dims.resize(in[0].dims.size(), 1);
      return with_dims(std::move(dims), dtype);
    }
    default:
      return unknown();
  }
}

}  // namespace

StaticFacts StaticFacts::of_tensor(const ir::Tensor& tensor) {
  StaticFacts facts = with_dims({tensor.dims.begin(), tensor.dims.end()}, tensor.dtype);
  if (tracks_elements(tensor.dtype) && tensor.dims.size() <= 1 && tensor.numel() <= kMaxTrackedElements &&
      (tensor.bytes() || tensor.numel() == 0)) {
    facts.has_elements = true;
    for (uint64_t i = 0; i < tensor.numel(); ++i) {
      if (tensor.dtype == ir::DataType::int64) {
        int64_t v;
        std::memcpy(&v, tensor.bytes() + i * 8, 8);
        facts.elements.push_back(v);
      } else {
        int32_t v;
        std::memcpy(&v, tensor.bytes() + i * 4, 4);
        facts.elements.push_back(v);
      }
    }
  }
  return facts;
}

StaticFacts StaticFacts::of_type(const ir::Type& type) {
  if (type.kind != ir::Type::Kind::tensor) return unknown();
  StaticFacts facts;
  if (type.has_elem_type) facts.dtype = type.dtype();
  if (!type.shape) return facts;
  facts.rank_known = true;
  for (const ir::Dim& d : type.shape->dims)
    facts.dims.push_back(d.kind == ir::Dim::Kind::value && d.value >= 0 ? KnownInt(d.value) : std::nullopt);
  return facts;
}

bool StaticFacts::shape_known() const {
  return rank_known && std::all_of(dims.begin(), dims.end(), [](const KnownInt& d) { return d.has_value(); });
}

bool StaticFacts::fully_known() const {
  if (!shape_known() || !has_elements || !dtype || !tracks_elements(*dtype) || dims.size() > 1) return false;
  const int64_t count = dims.empty() ? 1 : *dims[0];
  return static_cast<int64_t>(elements.size()) == count &&
         std::all_of(elements.begin(), elements.end(), [](const KnownInt& e) { return e.has_value(); });
}

ir::Tensor StaticFacts::to_tensor() const {
  std::vector<int64_t> shape;
  for (const KnownInt& d : dims) shape.push_back(*d);
  if (*dtype == ir::DataType::int64) {
    std::vector<int64_t> values;
    for (const KnownInt& e : elements) values.push_back(*e);
    return ir::Tensor::from_bytes(ir::DataType::int64, shape, values.data(), values.size() * 8);
  }
  std::vector<int32_t> values;
  for (const KnownInt& e : elements) values.push_back(static_cast<int32_t>(*e));
  return ir::Tensor::from_bytes(ir::DataType::int32, shape, values.data(), values.size() * 4);
}

std::vector<StaticFacts> infer_static_facts(const ir::Node& node, std::span<const StaticFacts> inputs,
                                            int64_t opset) {
  std::vector<StaticFacts> out(node.outputs.size());
  if (out.empty()) return out;
  out[0] = first_output(node, inputs, opset);
  return out;
}

}  // namespace mhub::engine::passes
