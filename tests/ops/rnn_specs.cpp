// Op specs: RNN, GRU and LSTM (engine/cpu/rnn.cpp reference loops, rnn_dnnl.cpp oneDNN): odd
// hidden sizes, every direction, both layouts, initial states, batch 1 and 3, seq 1 and 7,
// linear_before_reset 0 and 1, weights as constants (baked plans) and as fed inputs, and cases
// that must fall back to the reference (clip, peepholes, unequal sequence_lens).
#include <string>

#include "tests/ops/op_spec.h"

namespace mhub::test {

namespace {

struct RecurrentShape {
  int64_t seq, batch, input, hidden;
};

int64_t gates_of(const std::string& op) { return op == "LSTM" ? 4 : op == "GRU" ? 3 : 1; }

// X, W, R, B, sequence_lens, initial_h, initial_c for `op`; `states` adds initial_h (and
// initial_c for LSTM), `constant` makes W, R and B initializers.
std::vector<Operand> recurrent_inputs(Random& rng, const std::string& op, RecurrentShape s, int64_t dirs, bool batch_first, bool states,
                                      bool constant) {
  const int64_t rows = gates_of(op) * s.hidden;
  auto weight = [&](ir::Tensor t) { return constant ? init(std::move(t)) : Operand{std::move(t)}; };
  const std::vector<int64_t> x_dims = batch_first ? std::vector<int64_t>{s.batch, s.seq, s.input} : std::vector<int64_t>{s.seq, s.batch, s.input};
  const std::vector<int64_t> state = batch_first ? std::vector<int64_t>{s.batch, dirs, s.hidden} : std::vector<int64_t>{dirs, s.batch, s.hidden};
  std::vector<Operand> in = {{rng.uniform(x_dims)}, weight(rng.uniform({dirs, rows, s.input}, -0.6f, 0.6f)),
                             weight(rng.uniform({dirs, rows, s.hidden}, -0.6f, 0.6f)), weight(rng.uniform({dirs, 2 * rows}, -0.5f, 0.5f))};
  if (states) {
    in.push_back({absent()});
    in.push_back({rng.uniform(state)});
    if (op == "LSTM") in.push_back({rng.uniform(state)});
  }
  return in;
}

OpSpec recurrent_spec(std::string name, const std::string& op, std::vector<Operand> inputs, std::vector<ir::Attribute> attributes,
                      int64_t hidden) {
  attributes.push_back(int_attr("hidden_size", hidden));
  return {.name = std::move(name), .op = op, .attributes = std::move(attributes), .inputs = std::move(inputs),
          .outputs = op == "LSTM" ? size_t{3} : size_t{2}, .opset = 14, .rtol = 1e-4, .atol = 1e-5,
          .backends = cpu_fast | test_device, .threads = 2};
}

}  // namespace

std::vector<OpSpec> rnn_specs() {
  std::vector<OpSpec> specs;
  Random rng(21);
  const RecurrentShape seq7{7, 3, 6, 5}, seq1{1, 1, 4, 9};
  for (const std::string op : {"LSTM", "GRU", "RNN"})
    for (const std::string direction : {"forward", "reverse", "bidirectional"}) {
      const int64_t dirs = direction == "bidirectional" ? 2 : 1;
      for (int64_t layout : {0, 1}) {
        const std::string where = op + " " + direction + " layout " + std::to_string(layout);
        specs.push_back(recurrent_spec(where + " seq 7 batch 3, initial states, constant weights", op,
                                       recurrent_inputs(rng, op, seq7, dirs, layout == 1, true, true),
                                       {string_attr("direction", direction), int_attr("layout", layout)}, seq7.hidden));
        specs.push_back(recurrent_spec(where + " seq 1 batch 1, fed weights", op, recurrent_inputs(rng, op, seq1, dirs, layout == 1, false, false),
                                       {string_attr("direction", direction), int_attr("layout", layout)}, seq1.hidden));
      }
    }
  for (const std::string direction : {"forward", "bidirectional"}) {
    const int64_t dirs = direction == "bidirectional" ? 2 : 1;
    specs.push_back(recurrent_spec("GRU linear_before_reset " + direction, "GRU", recurrent_inputs(rng, "GRU", seq7, dirs, false, true, true),
                                   {string_attr("direction", direction), int_attr("linear_before_reset", 1)}, seq7.hidden));
    specs.push_back(recurrent_spec("GRU linear_before_reset " + direction + " layout 1, fed weights", "GRU",
                                   recurrent_inputs(rng, "GRU", seq1, dirs, true, true, false),
                                   {string_attr("direction", direction), int_attr("linear_before_reset", 1), int_attr("layout", 1)},
                                   seq1.hidden));
  }
  for (const std::string act : {"Relu", "Sigmoid"})
    specs.push_back(recurrent_spec("RNN bidirectional " + act, "RNN", recurrent_inputs(rng, "RNN", seq7, 2, false, true, true),
                                   {string_attr("direction", "bidirectional"), strings_attr("activations", {act, act})}, seq7.hidden));

  // Steps of 2^20 multiply-adds and more run on the session's threads (batch 4 x 4*256 x 256).
  specs.push_back(recurrent_spec("LSTM bidirectional hidden 256 batch 4, threaded steps", "LSTM",
                                 recurrent_inputs(rng, "LSTM", {3, 4, 8, 256}, 2, false, true, true), {string_attr("direction", "bidirectional")},
                                 256));
  // Optional inputs and outputs: no bias, initial_h alone (initial_c zeros), only Y wanted.
  {
    std::vector<Operand> in = recurrent_inputs(rng, "LSTM", seq7, 1, false, true, true);
    in[3] = {absent()};
    in[6] = {absent()};
    specs.push_back(recurrent_spec("LSTM without bias, initial_h only", "LSTM", std::move(in), {}, seq7.hidden));
    OpSpec y_only = recurrent_spec("LSTM bidirectional, Y only", "LSTM", recurrent_inputs(rng, "LSTM", seq7, 2, false, false, true),
                                   {string_attr("direction", "bidirectional")}, seq7.hidden);
    y_only.outputs = 1;
    specs.push_back(std::move(y_only));
  }
  // sequence_lens: all full length (oneDNN) and unequal (the reference's masking).
  for (bool unequal : {false, true}) {
    std::vector<Operand> in = recurrent_inputs(rng, "GRU", seq7, 2, false, true, true);
    in[4] = {i32({3}, unequal ? std::vector<int32_t>{7, 2, 5} : std::vector<int32_t>{7, 7, 7})};
    specs.push_back(recurrent_spec(std::string("GRU bidirectional sequence_lens ") + (unequal ? "unequal" : "full"), "GRU", std::move(in),
                                   {string_attr("direction", "bidirectional")}, seq7.hidden));
  }
  // What oneDNN cannot do: clip, peepholes, other activations (the reference runs them).
  specs.push_back(recurrent_spec("LSTM clip falls back", "LSTM", recurrent_inputs(rng, "LSTM", seq7, 1, false, true, true),
                                 {float_attr("clip", 0.3f)}, seq7.hidden));
  {
    std::vector<Operand> in = recurrent_inputs(rng, "LSTM", seq7, 1, false, true, true);
    in.push_back(init(rng.uniform({1, 3 * seq7.hidden})));
    specs.push_back(recurrent_spec("LSTM peepholes fall back", "LSTM", std::move(in), {}, seq7.hidden));
  }
  specs.push_back(recurrent_spec("GRU HardSigmoid gate falls back", "GRU", recurrent_inputs(rng, "GRU", seq7, 1, false, false, true),
                                 {strings_attr("activations", {"HardSigmoid", "Tanh"})}, seq7.hidden));
  return specs;
}

}  // namespace mhub::test
