// Attention (opset 23: grouped heads, 3-D or 4-D inputs, past key/value, boolean or additive
// mask, causal mask, softcap, qk output modes) and RotaryEmbedding (opset 23).
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"

namespace mhub::engine::cpu {

namespace {

// A [B, heads, S, D] view of a 3-D ([B, S, heads*D]) or 4-D tensor, copied into 4-D order.
std::vector<float> as_bhsd(OpContext& ctx, size_t index, int64_t heads_attr, int64_t& b,
                           int64_t& heads, int64_t& s, int64_t& d) {
  const ir::Tensor& t = ctx.input(index);
  std::vector<float> v = input_floats(ctx, index);
  if (t.dims.size() == 4) {
    b = t.dims[0]; heads = t.dims[1]; s = t.dims[2]; d = t.dims[3];
    return v;
  }
  if (t.dims.size() != 3 || heads_attr <= 0) fail(ctx, "3-D inputs need q_num_heads/kv_num_heads");
  b = t.dims[0]; s = t.dims[1]; heads = heads_attr; d = t.dims[2] / heads;
  std::vector<float> out(v.size());
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t si = 0; si < s; ++si)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t k = 0; k < d; ++k)
          out[((bi * heads + h) * s + si) * d + k] = v[((bi * s + si) * heads + h) * d + k];
  return out;
}

// Concatenates past [B, H, P, D] and current [B, H, S, D] along the sequence axis.
std::vector<float> concat_seq(const std::vector<float>& past, int64_t p, const std::vector<float>& cur,
                              int64_t s, int64_t bh, int64_t d) {
  std::vector<float> out(static_cast<size_t>(bh * (p + s) * d));
  for (int64_t i = 0; i < bh; ++i) {
    if (p) std::memcpy(out.data() + i * (p + s) * d, past.data() + i * p * d, p * d * sizeof(float));
    if (s) std::memcpy(out.data() + (i * (p + s) + p) * d, cur.data() + i * s * d, s * d * sizeof(float));
  }
  return out;
}

void attention(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& q_t = ctx.input(0);
  int64_t b, qh, sq, dh, b2, kvh, skv, dk, b3, vh, sv, dv;
  std::vector<float> q = as_bhsd(ctx, 0, node.attr_int("q_num_heads", 0), b, qh, sq, dh);
  std::vector<float> k = as_bhsd(ctx, 1, node.attr_int("kv_num_heads", 0), b2, kvh, skv, dk);
  std::vector<float> v = as_bhsd(ctx, 2, node.attr_int("kv_num_heads", 0), b3, vh, sv, dv);
  if (dk != dh || kvh != vh || skv != sv || b2 != b || b3 != b) fail(ctx, "Q, K and V shapes do not agree");
  if (kvh <= 0 || qh % kvh) fail(ctx, "q heads must be a multiple of kv heads");
  int64_t past = 0;
  if (ctx.has_input(4) && ctx.has_input(5)) {
    const ir::Tensor& pk = ctx.input(4);
    past = pk.dims.size() == 4 ? pk.dims[2] : 0;
    k = concat_seq(input_floats(ctx, 4), past, k, skv, b * kvh, dk);
    v = concat_seq(input_floats(ctx, 5), past, v, skv, b * kvh, dv);
  }
  int64_t total = past + skv;
  float scale = node.attr_float("scale", 1.0f / std::sqrt(static_cast<float>(dh)));
  bool causal = node.attr_int("is_causal", 0) != 0;
  float softcap = node.attr_float("softcap", 0.0f);
  int64_t qk_mode = node.attr_int("qk_matmul_output_mode", 0);
  // Mask broadcast to [B, qh, sq, total] (right-aligned numpy broadcasting).
  std::vector<float> mask;
  std::vector<int64_t> mdims;
  bool bool_mask = false;
  if (ctx.has_input(3)) {
    const ir::Tensor& m = ctx.input(3);
    bool_mask = m.dtype == ir::DataType::boolean;
    mask = input_floats(ctx, 3);
    mdims = m.dims;
    while (mdims.size() < 4) mdims.insert(mdims.begin(), 1);
  }
  auto mask_at = [&](int64_t bi, int64_t h, int64_t i, int64_t j) -> float {
    if (mask.empty()) return 0.0f;
    // A mask shorter than the total sequence is padded with "masked out".
    if (j >= mdims[3] && mdims[3] != 1) return -std::numeric_limits<float>::infinity();
    int64_t idx = ((((mdims[0] == 1 ? 0 : bi) * mdims[1] + (mdims[1] == 1 ? 0 : h)) * mdims[2] +
                    (mdims[2] == 1 ? 0 : i)) * mdims[3]) + (mdims[3] == 1 ? 0 : j);
    float m = mask[idx];
    if (bool_mask) return m != 0.0f ? 0.0f : -std::numeric_limits<float>::infinity();
    return m;
  };
  std::vector<int64_t> nonpad;
  if (ctx.input_count() > 6 && ctx.has_input(6)) nonpad = input_ints(ctx, 6);
  // Causal masking is aligned bottom-right: query i sees keys j <= i + offset.
  auto causal_offset = [&](int64_t bi) -> int64_t {
    if (past == 0 && !nonpad.empty()) return nonpad[bi] - sq;
    return past;
  };
  std::vector<float> y(static_cast<size_t>(b * qh * sq * dv));
  std::vector<float> qk_out(static_cast<size_t>(b * qh * sq * total));
  int64_t group = qh / kvh;
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t h = 0; h < qh; ++h) {
      int64_t kvi = bi * kvh + h / group;
      for (int64_t i = 0; i < sq; ++i) {
        const float* qr = q.data() + ((bi * qh + h) * sq + i) * dh;
        float* row = qk_out.data() + ((bi * qh + h) * sq + i) * total;
        std::vector<float> stage(total);
        for (int64_t j = 0; j < total; ++j) {
          const float* kr = k.data() + (kvi * total + j) * dk;
          double acc = 0;
          for (int64_t c = 0; c < dh; ++c) acc += qr[c] * kr[c];
          float s = static_cast<float>(acc) * scale;
          // Softcap comes before the mask so masked (-inf) positions stay at zero weight.
          if (softcap > 0) s = softcap * std::tanh(s / softcap);
          if (qk_mode == 0 || (qk_mode == 1 && softcap > 0)) row[j] = s;
          s += mask_at(bi, h, i, j);
          if (causal && j > i + causal_offset(bi)) s = -std::numeric_limits<float>::infinity();
          if (!nonpad.empty() && j >= nonpad[bi]) s = -std::numeric_limits<float>::infinity();
          if (qk_mode == 2 || (qk_mode == 1 && softcap <= 0)) row[j] = s;
          stage[j] = s;
        }
        float mx = -std::numeric_limits<float>::infinity();
        for (float s : stage) mx = std::max(mx, s);
        double sum = 0;
        for (float& s : stage) { s = std::isinf(mx) && mx < 0 ? 0.0f : std::exp(s - mx); sum += s; }
        for (float& s : stage) s = sum > 0 ? static_cast<float>(s / sum) : 0.0f;
        if (qk_mode == 3) std::memcpy(row, stage.data(), total * sizeof(float));
        float* yr = y.data() + ((bi * qh + h) * sq + i) * dv;
        for (int64_t c = 0; c < dv; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < total; ++j) acc += stage[j] * v[(kvi * total + j) * dv + c];
          yr[c] = static_cast<float>(acc);
        }
      }
    }
  ir::DataType dtype = q_t.dtype;
  if (q_t.dims.size() == 3) {
    std::vector<float> y3(y.size());
    for (int64_t bi = 0; bi < b; ++bi)
      for (int64_t h = 0; h < qh; ++h)
        for (int64_t i = 0; i < sq; ++i)
          for (int64_t c = 0; c < dv; ++c)
            y3[((bi * sq + i) * qh + h) * dv + c] = y[((bi * qh + h) * sq + i) * dv + c];
    output_floats(ctx, 0, dtype, {b, sq, qh * dv}, y3.data());
  } else {
    output_floats(ctx, 0, dtype, {b, qh, sq, dv}, y.data());
  }
  if (ctx.output_count() > 1 && ctx.output_wanted(1)) output_floats(ctx, 1, dtype, {b, kvh, total, dk}, k.data());
  if (ctx.output_count() > 2 && ctx.output_wanted(2)) output_floats(ctx, 2, dtype, {b, kvh, total, dv}, v.data());
  if (ctx.output_count() > 3 && ctx.output_wanted(3)) output_floats(ctx, 3, dtype, {b, qh, sq, total}, qk_out.data());
}

void rotary_embedding(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  bool interleaved = node.attr_int("interleaved", 0) != 0;
  int64_t heads_attr = node.attr_int("num_heads", 0);
  std::vector<float> xv = input_floats(ctx, 0), cosv = input_floats(ctx, 1), sinv = input_floats(ctx, 2);
  int64_t b, heads, s, d;
  bool four_d = x.dims.size() == 4;
  if (four_d) { b = x.dims[0]; heads = x.dims[1]; s = x.dims[2]; d = x.dims[3]; }
  else if (x.dims.size() == 3 && heads_attr > 0) { b = x.dims[0]; s = x.dims[1]; heads = heads_attr; d = x.dims[2] / heads; }
  else fail(ctx, "X must be 4-D, or 3-D with num_heads");
  int64_t rd = node.attr_int("rotary_embedding_dim", 0);
  if (rd == 0) rd = d;
  int64_t half = rd / 2;
  std::vector<int64_t> pos;
  if (ctx.has_input(3)) pos = input_ints(ctx, 3);
  std::vector<float> out = xv;
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t si = 0; si < s; ++si) {
        int64_t base = four_d ? ((bi * heads + h) * s + si) * d : ((bi * s + si) * heads + h) * d;
        int64_t cache_row = pos.empty() ? bi * s + si : pos[bi * s + si];
        const float* c = cosv.data() + cache_row * half;
        const float* sn = sinv.data() + cache_row * half;
        for (int64_t i = 0; i < half; ++i) {
          int64_t i1 = interleaved ? 2 * i : i, i2 = interleaved ? 2 * i + 1 : i + half;
          float a = xv[base + i1], bb = xv[base + i2];
          out[base + i1] = a * c[i] - bb * sn[i];
          out[base + i2] = bb * c[i] + a * sn[i];
        }
      }
  output_floats(ctx, 0, x.dtype, x.dims, out.data());
}

}  // namespace

void add_attention_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Attention, KernelKind::reference, attention, nn_float_input});
  table.push_back({ir::OpKind::RotaryEmbedding, KernelKind::reference, rotary_embedding, nn_float_input});
}

}  // namespace mhub::engine::cpu
