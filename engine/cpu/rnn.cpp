// RNN, GRU and LSTM (forward / reverse / bidirectional, layout 0 and 1, optional bias,
// sequence_lens, initial states, peepholes, clip, custom activations, linear_before_reset,
// input_forget). Plain per-step loops: these ops are small in the models mhub targets.
#include <cmath>
#include <functional>

#include "engine/cpu/rnn.h"

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"

namespace mhub::engine::cpu {

namespace {

enum class Cell { rnn, gru, lstm };

using Activation = std::function<float(float)>;

Activation make_activation(OpContext& ctx, const std::string& name, float alpha, float beta,
                           bool has_alpha, bool has_beta) {
  if (name == "Tanh") return [](float x) { return std::tanh(x); };
  if (name == "Sigmoid") return [](float x) { return 1.0f / (1.0f + std::exp(-x)); };
  if (name == "Relu") return [](float x) { return x > 0 ? x : 0.0f; };
  if (name == "Affine") return [=](float x) { return (has_alpha ? alpha : 1.0f) * x + (has_beta ? beta : 0.0f); };
  if (name == "LeakyRelu") { float a = has_alpha ? alpha : 0.01f; return [=](float x) { return x < 0 ? a * x : x; }; }
  if (name == "ThresholdedRelu") { float a = has_alpha ? alpha : 1.0f; return [=](float x) { return x > a ? x : 0.0f; }; }
  if (name == "ScaledTanh") { float a = has_alpha ? alpha : 1.0f, b = has_beta ? beta : 1.0f; return [=](float x) { return a * std::tanh(b * x); }; }
  if (name == "HardSigmoid") {
    float a = has_alpha ? alpha : 0.2f, b = has_beta ? beta : 0.5f;
    return [=](float x) { return std::max(0.0f, std::min(1.0f, a * x + b)); };
  }
  if (name == "Elu") { float a = has_alpha ? alpha : 1.0f; return [=](float x) { return x < 0 ? a * std::expm1(x) : x; }; }
  if (name == "Softsign") return [](float x) { return x / (1 + std::fabs(x)); };
  if (name == "Softplus") return [](float x) { return std::log1p(std::exp(x)); };
  fail(ctx, "unknown activation '" + name + "'");
}

void recurrent(OpContext& ctx, Cell cell) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& xt = ctx.input(0);
  const ir::Tensor& wt = ctx.input(1);
  int64_t layout = node.attr_int("layout", 0);
  std::string direction = node.attr_string("direction", "forward");
  int64_t dirs = direction == "bidirectional" ? 2 : 1;
  int64_t gates = cell == Cell::lstm ? 4 : (cell == Cell::gru ? 3 : 1);
  if (xt.dims.size() != 3 || wt.dims.size() != 3) fail(ctx, "X and W must be 3-D");
  int64_t seq = layout ? xt.dims[1] : xt.dims[0], batch = layout ? xt.dims[0] : xt.dims[1];
  int64_t in = xt.dims[2];
  int64_t h = node.attr_int("hidden_size", wt.dims[1] / gates);
  if (wt.dims[0] != dirs || wt.dims[1] != gates * h || wt.dims[2] != in) fail(ctx, "W has the wrong shape");
  float clip = node.attr_float("clip", 0.0f);
  bool has_clip = node.attribute("clip") != nullptr;
  bool linear_before_reset = node.attr_int("linear_before_reset", 0) != 0;
  bool input_forget = node.attr_int("input_forget", 0) != 0;

  std::vector<float> x = input_floats(ctx, 0), w = input_floats(ctx, 1), r = input_floats(ctx, 2);
  std::vector<float> bias(static_cast<size_t>(dirs * 2 * gates * h), 0.0f);
  if (ctx.has_input(3)) bias = input_floats(ctx, 3);
  std::vector<int64_t> lens(static_cast<size_t>(batch), seq);
  if (ctx.has_input(4)) lens = input_ints(ctx, 4);
  // States as [dirs][batch][h].
  auto state_in = [&](size_t index) {
    std::vector<float> s(static_cast<size_t>(dirs * batch * h), 0.0f);
    if (!ctx.has_input(index)) return s;
    std::vector<float> v = input_floats(ctx, index);
    for (int64_t d = 0; d < dirs; ++d)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t k = 0; k < h; ++k)
          s[(d * batch + b) * h + k] = layout ? v[(b * dirs + d) * h + k] : v[(d * batch + b) * h + k];
    return s;
  };
  std::vector<float> hs = state_in(5), cs = state_in(6);
  std::vector<float> peep(static_cast<size_t>(dirs * 3 * h), 0.0f);
  if (cell == Cell::lstm && ctx.has_input(7)) peep = input_floats(ctx, 7);

  // Activations: per direction, `per_dir` functions; alpha/beta lists line up with the names.
  std::vector<std::string> names;
  if (const ir::Attribute* a = node.attribute("activations")) names = a->strings;
  size_t per_dir = cell == Cell::lstm ? 3 : (cell == Cell::gru ? 2 : 1);
  std::vector<std::string> defaults = cell == Cell::lstm ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                    : cell == Cell::gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                         : std::vector<std::string>{"Tanh"};
  std::vector<float> alphas, betas;
  if (const ir::Attribute* a = node.attribute("activation_alpha")) alphas = a->floats;
  if (const ir::Attribute* a = node.attribute("activation_beta")) betas = a->floats;
  std::vector<Activation> acts;
  for (int64_t d = 0; d < dirs; ++d)
    for (size_t i = 0; i < per_dir; ++i) {
      size_t at = d * per_dir + i;
      std::string name = at < names.size() ? names[at] : defaults[i];
      acts.push_back(make_activation(ctx, name, at < alphas.size() ? alphas[at] : 0.0f,
                                     at < betas.size() ? betas[at] : 0.0f, at < alphas.size(),
                                     at < betas.size()));
    }

  std::vector<float> y(static_cast<size_t>(seq * dirs * batch * h), 0.0f);
  std::vector<float> pre(static_cast<size_t>(gates * h)), rec(static_cast<size_t>(gates * h));
  for (int64_t d = 0; d < dirs; ++d) {
    bool reverse = direction == "reverse" || d == 1;
    const float* wd = w.data() + d * gates * h * in;
    const float* rd = r.data() + d * gates * h * h;
    const float* wb = bias.data() + d * 2 * gates * h;
    const float* rb = wb + gates * h;
    const float* pd = peep.data() + d * 3 * h;
    const Activation& f = acts[d * per_dir];
    const Activation& g = acts[d * per_dir + (per_dir > 1 ? 1 : 0)];
    const Activation& hact = acts[d * per_dir + (per_dir > 2 ? 2 : 0)];
    for (int64_t b = 0; b < batch; ++b) {
      float* hb = hs.data() + (d * batch + b) * h;
      float* cb = cs.data() + (d * batch + b) * h;
      int64_t len = std::min<int64_t>(lens[b], seq);
      for (int64_t step = 0; step < len; ++step) {
        int64_t t = reverse ? len - 1 - step : step;
        const float* xv = x.data() + (layout ? (b * seq + t) : (t * batch + b)) * in;
        for (int64_t j = 0; j < gates * h; ++j) {
          double a = wb[j], c = rb[j];
          for (int64_t k = 0; k < in; ++k) a += xv[k] * wd[j * in + k];
          for (int64_t k = 0; k < h; ++k) c += hb[k] * rd[j * h + k];
          pre[j] = static_cast<float>(a);
          rec[j] = static_cast<float>(c);
        }
        auto clipped = [&](float v) { return has_clip ? std::max(-clip, std::min(clip, v)) : v; };
        std::vector<float> hn(static_cast<size_t>(h));
        if (cell == Cell::rnn) {
          for (int64_t k = 0; k < h; ++k) hn[k] = f(clipped(pre[k] + rec[k]));
        } else if (cell == Cell::gru) {
          // Gate order z, r, h.
          std::vector<float> z(h), rg(h);
          for (int64_t k = 0; k < h; ++k) {
            z[k] = f(clipped(pre[k] + rec[k]));
            rg[k] = f(clipped(pre[h + k] + rec[h + k]));
          }
          for (int64_t k = 0; k < h; ++k) {
            float cand;
            if (linear_before_reset) {
              cand = g(clipped(pre[2 * h + k] + rg[k] * rec[2 * h + k]));
            } else {
              double c = rb[2 * h + k];
              for (int64_t q = 0; q < h; ++q) c += rg[q] * hb[q] * rd[(2 * h + k) * h + q];
              cand = g(clipped(pre[2 * h + k] + static_cast<float>(c)));
            }
            hn[k] = (1.0f - z[k]) * cand + z[k] * hb[k];
          }
        } else {
          // Gate order i, o, f, c; peepholes i, o, f.
          for (int64_t k = 0; k < h; ++k) {
            float ig = f(clipped(pre[k] + rec[k] + pd[k] * cb[k]));
            float fg = f(clipped(pre[2 * h + k] + rec[2 * h + k] + pd[2 * h + k] * cb[k]));
            if (input_forget) fg = 1.0f - ig;
            float cand = g(clipped(pre[3 * h + k] + rec[3 * h + k]));
            float c_new = fg * cb[k] + ig * cand;
            float og = f(clipped(pre[h + k] + rec[h + k] + pd[h + k] * c_new));
            cb[k] = c_new;
            hn[k] = og * hact(c_new);
          }
        }
        for (int64_t k = 0; k < h; ++k) hb[k] = hn[k];
        float* yo = y.data() + ((t * dirs + d) * batch + b) * h;
        for (int64_t k = 0; k < h; ++k) yo[k] = hb[k];
      }
    }
  }
  ir::DataType dtype = xt.dtype;
  if (ctx.output_count() > 0 && ctx.output_wanted(0)) {
    std::vector<int64_t> yd = layout ? std::vector<int64_t>{batch, seq, dirs, h} : std::vector<int64_t>{seq, dirs, batch, h};
    std::vector<float> out(y.size());
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t d = 0; d < dirs; ++d)
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t k = 0; k < h; ++k) {
            size_t from = ((t * dirs + d) * batch + b) * h + k;
            size_t to = layout ? ((b * seq + t) * dirs + d) * h + k : from;
            out[to] = y[from];
          }
    output_floats(ctx, 0, dtype, yd, out.data());
  }
  auto state_out = [&](size_t index, const std::vector<float>& s) {
    if (ctx.output_count() <= index || !ctx.output_wanted(index)) return;
    std::vector<int64_t> sd = layout ? std::vector<int64_t>{batch, dirs, h} : std::vector<int64_t>{dirs, batch, h};
    std::vector<float> out(s.size());
    for (int64_t d = 0; d < dirs; ++d)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t k = 0; k < h; ++k)
          out[layout ? (b * dirs + d) * h + k : (d * batch + b) * h + k] = s[(d * batch + b) * h + k];
    output_floats(ctx, index, dtype, sd, out.data());
  };
  state_out(1, hs);
  if (cell == Cell::lstm) state_out(2, cs);
}

void rnn(OpContext& ctx) { recurrent(ctx, Cell::rnn); }
void gru(OpContext& ctx) { recurrent(ctx, Cell::gru); }
void lstm(OpContext& ctx) { recurrent(ctx, Cell::lstm); }

}  // namespace

void recurrent_reference(OpContext& ctx) {
  switch (ctx.node().op) {
    case ir::OpKind::RNN: return rnn(ctx);
    case ir::OpKind::GRU: return gru(ctx);
    case ir::OpKind::LSTM: return lstm(ctx);
    default: fail(ctx, "internal: not a recurrent op");
  }
}

void add_rnn_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::RNN, KernelKind::reference, rnn, nn_float_input});
  table.push_back({ir::OpKind::GRU, KernelKind::reference, gru, nn_float_input});
  table.push_back({ir::OpKind::LSTM, KernelKind::reference, lstm, nn_float_input});
}

}  // namespace mhub::engine::cpu
