// TfIdfVectorizer: counts n-grams (with skips) of each row against a pool and writes TF, IDF or
// TF-IDF values at the pool n-grams' output indexes. Elements compare as text (int64/int32
// inputs are matched by their decimal form against pool_int64s).
#include <map>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"

namespace mhub::engine::cpu {

namespace {

void tfidf_vectorizer(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Node& node = ctx.node();
  int64_t min_n = node.attr_int("min_gram_length", 1), max_n = node.attr_int("max_gram_length", 1);
  int64_t max_skip = node.attr_int("max_skip_count", 0);
  std::string mode = node.attr_string("mode", "TF");
  std::vector<int64_t> counts = node.attr_ints("ngram_counts"), indexes = node.attr_ints("ngram_indexes");
  const ir::Attribute* weights_attr = node.attribute("weights");
  std::vector<std::string> pool;
  if (const ir::Attribute* p = node.attribute("pool_strings")) pool = p->strings;
  else for (int64_t v : node.attr_ints("pool_int64s")) pool.push_back(std::to_string(v));
  if (min_n < 1 || max_n < min_n || counts.empty() || mode.empty())
    throw_error(ErrorCategory::format, ctx.describe() + ": invalid gram lengths or missing ngram_counts");
  // n-gram (as element texts) -> ordinal in the pool.
  std::map<std::vector<std::string>, int64_t> grams;
  int64_t ordinal = 0;
  for (size_t len_index = 0; len_index < counts.size(); ++len_index) {
    size_t n = len_index + 1;
    size_t begin = static_cast<size_t>(counts[len_index]);
    size_t end = len_index + 1 < counts.size() ? static_cast<size_t>(counts[len_index + 1]) : pool.size();
    for (size_t at = begin; at + n <= end; at += n)
      grams[std::vector<std::string>(pool.begin() + static_cast<std::ptrdiff_t>(at), pool.begin() + static_cast<std::ptrdiff_t>(at + n))] = ordinal++;
  }
  if (static_cast<int64_t>(indexes.size()) < ordinal)
    throw_error(ErrorCategory::format, ctx.describe() + ": ngram_indexes has fewer entries than the pool has n-grams");
  int64_t width = 0;
  for (int64_t i : indexes) width = std::max(width, i + 1);
  bool batched = x.dims.size() == 2;
  int64_t rows = batched ? x.dims[0] : 1;
  int64_t cols = batched ? x.dims[1] : (x.dims.empty() ? 1 : x.dims[0]);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, batched ? std::vector<int64_t>{rows, width} : std::vector<int64_t>{width});
  float* out = reinterpret_cast<float*>(mutable_bytes(y));
  std::fill(out, out + y.numel(), 0.0f);
  auto text = [&](int64_t r, int64_t c) {
    uint64_t i = static_cast<uint64_t>(r * cols + c);
    return x.dtype == ir::DataType::string ? x.strings[i] : std::to_string(load_int64(x, i));
  };
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int64_t> tf(static_cast<size_t>(ordinal), 0);
    for (int64_t n = min_n; n <= max_n; ++n)
      for (int64_t skip = 0; skip <= (n == 1 ? 0 : max_skip); ++skip)
        for (int64_t start = 0; start + (n - 1) * (skip + 1) < cols; ++start) {
          std::vector<std::string> gram;
          for (int64_t k = 0; k < n; ++k) gram.push_back(text(r, start + k * (skip + 1)));
          auto found = grams.find(gram);
          if (found != grams.end()) ++tf[static_cast<size_t>(found->second)];
        }
    for (int64_t g = 0; g < ordinal; ++g) {
      if (tf[g] == 0) continue;
      double w = weights_attr && g < static_cast<int64_t>(weights_attr->floats.size()) ? weights_attr->floats[g] : 1.0;
      double v = mode == "TF" ? static_cast<double>(tf[g]) : mode == "IDF" ? w : static_cast<double>(tf[g]) * w;
      out[r * width + indexes[g]] = static_cast<float>(v);
    }
  }
}

}  // namespace

void add_text_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::TfIdfVectorizer, KernelKind::reference, tfidf_vectorizer, nullptr});
}

}  // namespace mhub::engine::cpu
