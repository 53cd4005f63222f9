// String ops: StringNormalizer, StringConcat, StringSplit, RegexFullMatch.
// Case changes are ASCII-only (bytes >= 0x80 pass through unchanged: UTF-8 stays valid).
// RegexFullMatch uses std::regex (ECMAScript grammar), which agrees with RE2 on the common
// syntax (classes, groups, quantifiers, alternation); RE2-only syntax is rejected as an error.
#include <cctype>
#include <regex>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

const ir::Tensor& string_input(OpContext& ctx, size_t index) {
  const ir::Tensor& t = ctx.input(index);
  if (t.dtype != ir::DataType::string)
    throw_error(ErrorCategory::format, ctx.describe() + ": input " + std::to_string(index) + " must be a string tensor");
  return t;
}

std::string ascii_case(std::string s, bool upper) {
  for (char& c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x80) c = static_cast<char>(upper ? std::toupper(u) : std::tolower(u));
  }
  return s;
}

void string_normalizer(OpContext& ctx) {
  const ir::Tensor& x = string_input(ctx, 0);
  std::string action = ctx.node().attr_string("case_change_action", "NONE");
  bool case_sensitive = ctx.node().attr_int("is_case_sensitive", 0) != 0;
  const ir::Attribute* stop_attr = ctx.node().attribute("stopwords");
  std::vector<std::string> stopwords = stop_attr ? stop_attr->strings : std::vector<std::string>{};
  if (!case_sensitive)
    for (auto& w : stopwords) w = ascii_case(w, false);
  bool two_dim = x.dims.size() == 2;
  if (!(x.dims.size() == 1 || (two_dim && x.dims[0] == 1)))
    throw_error(ErrorCategory::format, ctx.describe() + ": input must be [C] or [1, C]");
  std::vector<std::string> kept;
  for (const auto& s : x.strings) {
    std::string key = case_sensitive ? s : ascii_case(s, false);
    if (std::find(stopwords.begin(), stopwords.end(), key) != stopwords.end()) continue;
    if (action == "LOWER") kept.push_back(ascii_case(s, false));
    else if (action == "UPPER") kept.push_back(ascii_case(s, true));
    else kept.push_back(s);
  }
  if (kept.empty()) kept.push_back("");  // the op never returns an empty tensor
  int64_t count = static_cast<int64_t>(kept.size());
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::string, two_dim ? std::vector<int64_t>{1, count} : std::vector<int64_t>{count});
  y.strings = std::move(kept);
}

void string_concat(OpContext& ctx) {
  const ir::Tensor& a = string_input(ctx, 0);
  const ir::Tensor& b = string_input(ctx, 1);
  auto dims = ops::broadcast_shapes(ctx.node(), {a.dims, b.dims});
  ir::Tensor& y = size_strings(ctx.allocate_output(0, ir::DataType::string, dims));
  const std::vector<size_t> map_a = broadcast_offsets(a.dims, dims);
  const std::vector<size_t> map_b = broadcast_offsets(b.dims, dims);
  for (uint64_t i = 0; i < y.strings.size(); ++i) y.strings[i] = a.strings[map_a[i]] + b.strings[map_b[i]];
}

// Splits like Python's str.split: with a delimiter every occurrence cuts (empty pieces kept);
// without one, runs of whitespace cut and leading/trailing whitespace is dropped.
std::vector<std::string> split_one(const std::string& s, const std::string& delimiter, int64_t maxsplit) {
  std::vector<std::string> parts;
  if (!delimiter.empty()) {
    size_t start = 0;
    while (true) {
      size_t at = s.find(delimiter, start);
      if (at == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit)) break;
      parts.push_back(s.substr(start, at - start));
      start = at + delimiter.size();
    }
    parts.push_back(s.substr(start));
    return parts;
  }
  size_t i = 0, n = s.size();
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (i < n) {
    while (i < n && space(s[i])) ++i;
    if (i >= n) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) {
      size_t end = n;
      while (end > i && space(s[end - 1])) --end;
      parts.push_back(s.substr(i, end - i));
      break;
    }
    size_t j = i;
    while (j < n && !space(s[j])) ++j;
    parts.push_back(s.substr(i, j - i));
    i = j;
  }
  return parts;
}

void string_split(OpContext& ctx) {
  const ir::Tensor& x = string_input(ctx, 0);
  std::string delimiter = ctx.node().attr_string("delimiter", "");
  const ir::Attribute* max_attr = ctx.node().attribute("maxsplit");
  int64_t maxsplit = max_attr ? max_attr->i : -1;
  std::vector<std::vector<std::string>> pieces;
  size_t widest = 0;
  for (const auto& s : x.strings) {
    pieces.push_back(split_one(s, delimiter, maxsplit));
    widest = std::max(widest, pieces.back().size());
  }
  std::vector<int64_t> dims = x.dims;
  dims.push_back(static_cast<int64_t>(widest));
  ir::Tensor& y = size_strings(ctx.allocate_output(0, ir::DataType::string, dims));
  for (size_t i = 0; i < pieces.size(); ++i)
    for (size_t k = 0; k < pieces[i].size(); ++k) y.strings[i * widest + k] = pieces[i][k];
  ir::Tensor& z = ctx.allocate_output(1, ir::DataType::int64, x.dims);
  for (size_t i = 0; i < pieces.size(); ++i) store_int64(z, i, static_cast<int64_t>(pieces[i].size()));
}

void regex_full_match(OpContext& ctx) {
  const ir::Tensor& x = string_input(ctx, 0);
  std::string pattern = ctx.node().attr_string("pattern", "");
  std::regex re;
  try {
    re = std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw_error(ErrorCategory::format, ctx.describe() + ": pattern '" + pattern + "' is not a valid regular expression (" + e.what() + ")");
  }
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::boolean, x.dims);
  for (size_t i = 0; i < x.strings.size(); ++i) mutable_bytes(y)[i] = std::regex_match(x.strings[i], re) ? 1 : 0;
}

}  // namespace

void add_string_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  auto ref = KernelKind::reference;
  table.push_back({O::StringNormalizer, ref, string_normalizer, nullptr});
  table.push_back({O::StringConcat, ref, string_concat, nullptr});
  table.push_back({O::StringSplit, ref, string_split, nullptr});
  table.push_back({O::RegexFullMatch, ref, regex_full_match, nullptr});
}

}  // namespace mhub::engine::cpu
