// Einsum: reference kernel that walks every combination of the equation's labels (output labels
// outer, summed labels inner). Supports explicit ("ij,jk->ik") and implicit ("ij,jk") forms,
// repeated labels in one operand (diagonals) and "..." with broadcasting. Accumulates in double.
#include <algorithm>
#include <cctype>
#include <map>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"

namespace mhub::engine::cpu {

namespace {

constexpr int kEllipsisBase = 100;  // label ids >= this stand for the ellipsis' dims

// Label ids of one operand term; the ellipsis expands to `ellipsis_rank` ids, right-aligned
// against `max_ellipsis` so broadcasting lines them up across operands.
// rank < 0: the output term, whose rank is not known in advance.
std::vector<int> parse_term(const std::string& term, int64_t rank, int& ellipsis_rank, const std::string& who) {
  std::vector<int> ids;
  size_t letters = 0;
  for (char c : term) if (std::isalpha(static_cast<unsigned char>(c))) ++letters;
  bool has_ellipsis = term.find("...") != std::string::npos;
  ellipsis_rank = has_ellipsis ? static_cast<int>(rank) - static_cast<int>(letters) : 0;
  if (rank >= 0 && (ellipsis_rank < 0 || (!has_ellipsis && static_cast<int64_t>(letters) != rank)))
    throw_error(ErrorCategory::format, who + ": term '" + term + "' does not match its operand's rank " + std::to_string(rank));
  for (size_t i = 0; i < term.size(); ++i) {
    char c = term[i];
    if (c == '.') {
      if (term.compare(i, 3, "...") != 0) throw_error(ErrorCategory::format, who + ": stray '.' in the equation");
      ids.push_back(-1);  // placeholder, expanded by the caller
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      ids.push_back(c);
    } else if (c != ' ') {
      throw_error(ErrorCategory::format, who + ": unexpected character '" + std::string(1, c) + "' in the equation");
    }
  }
  return ids;
}

std::vector<int> expand(const std::vector<int>& ids, int ellipsis_rank, int max_ellipsis) {
  std::vector<int> out;
  for (int id : ids) {
    if (id != -1) { out.push_back(id); continue; }
    for (int k = 0; k < ellipsis_rank; ++k) out.push_back(kEllipsisBase + (max_ellipsis - ellipsis_rank) + k);
  }
  return out;
}

void einsum(OpContext& ctx) {
  std::string equation = ctx.node().attr_string("equation", "");
  std::string lhs = equation, rhs;
  bool explicit_out = false;
  if (size_t arrow = equation.find("->"); arrow != std::string::npos) {
    lhs = equation.substr(0, arrow);
    rhs = equation.substr(arrow + 2);
    explicit_out = true;
  }
  std::vector<std::string> terms;
  size_t start = 0;
  while (true) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ctx.input_count())
    throw_error(ErrorCategory::format, ctx.describe() + ": the equation names " + std::to_string(terms.size()) + " operands");
  std::vector<std::vector<int>> raw(terms.size());
  std::vector<int> ellipsis_ranks(terms.size());
  int max_ellipsis = 0;
  for (size_t t = 0; t < terms.size(); ++t) {
    raw[t] = parse_term(terms[t], static_cast<int64_t>(ctx.input(t).dims.size()), ellipsis_ranks[t], ctx.describe());
    max_ellipsis = std::max(max_ellipsis, ellipsis_ranks[t]);
  }
  std::map<int, int64_t> sizes;
  std::map<int, int> occurrences;
  std::vector<std::vector<int>> operand_ids(terms.size());
  for (size_t t = 0; t < terms.size(); ++t) {
    operand_ids[t] = expand(raw[t], ellipsis_ranks[t], max_ellipsis);
    const auto& dims = ctx.input(t).dims;
    for (size_t d = 0; d < dims.size(); ++d) {
      int id = operand_ids[t][d];
      ++occurrences[id];
      auto found = sizes.find(id);
      if (found == sizes.end() || found->second == 1) sizes[id] = dims[d];
      else if (dims[d] != found->second && !(id >= kEllipsisBase && dims[d] == 1))
        throw_error(ErrorCategory::format, ctx.describe() + ": a label has two different sizes");
    }
  }
  std::vector<int> out_ids;
  if (explicit_out) {
    int dummy = 0;
    out_ids = expand(parse_term(rhs, -1, dummy, ctx.describe() + " (output)"), max_ellipsis, max_ellipsis);
  } else {
    for (int k = 0; k < max_ellipsis; ++k) out_ids.push_back(kEllipsisBase + k);
    for (const auto& [id, n] : occurrences)
      if (id < kEllipsisBase && n == 1) out_ids.push_back(id);
  }
  std::vector<int> summed;
  for (const auto& [id, size] : sizes)
    if (std::find(out_ids.begin(), out_ids.end(), id) == out_ids.end()) summed.push_back(id);
  std::vector<int64_t> out_dims;
  for (int id : out_ids) {
    if (!sizes.count(id)) throw_error(ErrorCategory::format, ctx.describe() + ": output label missing from the inputs");
    out_dims.push_back(sizes[id]);
  }
  const ir::Tensor& first = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, first.dtype, out_dims);
  std::map<int, int64_t> value;
  uint64_t out_count = y.numel(), sum_count = 1;
  for (int id : summed) sum_count *= static_cast<uint64_t>(sizes[id]);
  auto operand_index = [&](size_t t) {
    const auto& dims = ctx.input(t).dims;
    uint64_t index = 0;
    for (size_t d = 0; d < dims.size(); ++d)
      index = index * static_cast<uint64_t>(dims[d]) + static_cast<uint64_t>(dims[d] == 1 ? 0 : value[operand_ids[t][d]]);
    return index;
  };
  for (uint64_t o = 0; o < out_count; ++o) {
    uint64_t rest = o;
    for (size_t k = out_ids.size(); k-- > 0;) {
      value[out_ids[k]] = static_cast<int64_t>(rest % static_cast<uint64_t>(out_dims[k]));
      rest /= static_cast<uint64_t>(out_dims[k]);
    }
    double acc = 0.0;
    for (uint64_t s = 0; s < sum_count; ++s) {
      uint64_t r = s;
      for (size_t k = summed.size(); k-- > 0;) {
        value[summed[k]] = static_cast<int64_t>(r % static_cast<uint64_t>(sizes[summed[k]]));
        r /= static_cast<uint64_t>(sizes[summed[k]]);
      }
      double term = 1.0;
      for (size_t t = 0; t < terms.size(); ++t) term *= load_as_double(ctx.input(t), operand_index(t));
      acc += term;
    }
    store_from_double(y, o, acc);
  }
}

}  // namespace

void add_einsum_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Einsum, KernelKind::reference, einsum, nullptr});
}

}  // namespace mhub::engine::cpu
