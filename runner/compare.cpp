#include "runner/compare.h"

#include <cmath>
#include <cstring>

#include "engine/core/float_types.h"
#include "runner/values.h"

namespace mhub::runner {

namespace {

std::optional<std::string> compare_tensors(const ir::Tensor& actual, const ir::Tensor& expected,
                                           const Tolerance& tolerance) {
  if (actual.dtype != expected.dtype)
    return "element type " + std::string(ir::name_of(actual.dtype)) + ", expected " +
           std::string(ir::name_of(expected.dtype));
  if (actual.dims != expected.dims) {
    engine::Value a = engine::Value::of(actual), e = engine::Value::of(expected);
    return "shape " + describe_value(a) + ", expected " + describe_value(e);
  }
  size_t count = actual.numel();
  if (actual.dtype == ir::DataType::string) {
    for (size_t i = 0; i < count; ++i)
      if (actual.strings[i] != expected.strings[i])
        return "element " + std::to_string(i) + " is \"" + actual.strings[i] + "\", expected \"" +
               expected.strings[i] + "\"";
    return std::nullopt;
  }
  bool is_complex = actual.dtype == ir::DataType::complex64 || actual.dtype == ir::DataType::complex128;
  if (is_complex) {
    // Compare the interleaved real/imaginary parts as plain floats.
    ir::Tensor a = actual, e = expected;
    a.dtype = e.dtype = actual.dtype == ir::DataType::complex64 ? ir::DataType::float32 : ir::DataType::float64;
    a.dims = e.dims = {static_cast<int64_t>(count * 2)};
    return compare_tensors(a, e, tolerance);
  }
  bool exact = !ir::is_float(actual.dtype);
  // Whole-byte integers and bools compare their bytes: int64 values beyond 2^53 differ in
  // double only after rounding.
  const int bits = ir::bits_of(actual.dtype);
  const size_t element_bytes = exact && bits % 8 == 0 ? static_cast<size_t>(bits / 8) : 0;
  size_t mismatches = 0;
  std::string first;
  for (size_t i = 0; i < count; ++i) {
    double a = engine::element_as_double(actual, i);
    double e = engine::element_as_double(expected, i);
    bool ok;
    if (element_bytes) ok = std::memcmp(actual.bytes() + i * element_bytes, expected.bytes() + i * element_bytes, element_bytes) == 0;
    else if (exact) ok = a == e;
    else if (std::isnan(e)) ok = std::isnan(a);
    else if (std::isinf(e)) ok = a == e;
    else ok = std::fabs(a - e) <= tolerance.atol + tolerance.rtol * std::fabs(e);
    if (ok) continue;
    if (mismatches++ == 0) {
      char text[160];
      std::snprintf(text, sizeof text, "element %zu is %.9g, expected %.9g", i, a, e);
      first = text;
    }
  }
  if (!mismatches) return std::nullopt;
  return std::to_string(mismatches) + " of " + std::to_string(count) + " elements differ; " + first;
}

}  // namespace

std::optional<std::string> compare_values(const engine::Value& actual, const engine::Value& expected,
                                          const Tolerance& tolerance) {
  if (actual.kind != expected.kind)
    return "got " + describe_value(actual) + ", expected " + describe_value(expected);
  if (actual.kind == engine::Value::Kind::tensor)
    return compare_tensors(actual.tensor, expected.tensor, tolerance);
  if (actual.kind == engine::Value::Kind::sequence) {
    if (actual.sequence.size() != expected.sequence.size())
      return "sequence of " + std::to_string(actual.sequence.size()) + " tensors, expected " +
             std::to_string(expected.sequence.size());
    for (size_t i = 0; i < actual.sequence.size(); ++i)
      if (auto why = compare_tensors(actual.sequence[i], expected.sequence[i], tolerance))
        return "sequence element " + std::to_string(i) + ": " + *why;
  }
  return std::nullopt;
}

}  // namespace mhub::runner
