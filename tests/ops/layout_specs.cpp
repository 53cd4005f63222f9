// Op specs: layout ops (engine/cpu/layout.cpp).
#include "tests/ops/op_spec.h"

namespace mhub::test {

namespace {

std::vector<float> iota(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return v;
}

// SpaceToDepth by its definition: out[n][(by * bs + bx) * C + c][y][x] = in[n][c][y * bs + by][x * bs + bx].
std::vector<float> space_to_depth(const std::vector<float>& in, int64_t c, int64_t h, int64_t w, int64_t bs) {
  std::vector<float> out(in.size());
  const int64_t oh = h / bs, ow = w / bs;
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t by = 0; by < bs; ++by)
      for (int64_t bx = 0; bx < bs; ++bx)
        for (int64_t y = 0; y < oh; ++y)
          for (int64_t x = 0; x < ow; ++x)
            out[(((by * bs + bx) * c + ch) * oh + y) * ow + x] = in[(ch * h + y * bs + by) * w + x * bs + bx];
  return out;
}

// Reshape(Transpose(Reshape(in, split), [0, 2, 1, 3, 4])) by its definition (split is 5-D).
std::vector<float> shuffle_by_definition(const std::vector<float>& in, const std::vector<int64_t>& s) {
  std::vector<float> out;
  for (int64_t a = 0; a < s[0]; ++a)
    for (int64_t j = 0; j < s[2]; ++j)
      for (int64_t i = 0; i < s[1]; ++i)
        for (int64_t h = 0; h < s[3]; ++h)
          for (int64_t w = 0; w < s[4]; ++w) out.push_back(in[(((a * s[1] + i) * s[2] + j) * s[3] + h) * s[4] + w]);
  return out;
}

}  // namespace

std::vector<OpSpec> layout_specs() {
  std::vector<OpSpec> specs;
  Random rng(5);
  // Transpose: the 2-D tiled path and the general path, against the definition.
  const auto data = iota(7 * 37);
  std::vector<float> t(data.size());
  for (int r = 0; r < 7; ++r)
    for (int c = 0; c < 37; ++c) t[c * 7 + r] = data[r * 37 + c];
  specs.push_back({.name = "Transpose 2-D tiled", .op = "Transpose", .inputs = {{f32({7, 37}, data)}}, .rtol = 0, .atol = 0,
                   .expect = {f32({37, 7}, t)}});
  const auto cube = iota(24);
  std::vector<float> p(24);
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) p[k * 6 + i * 3 + j] = cube[i * 12 + j * 4 + k];  // out[k][i][j] = in[i][j][k]
  specs.push_back({.name = "Transpose general perm", .op = "Transpose", .attributes = {ints_attr("perm", {2, 0, 1})},
                   .inputs = {{f32({2, 3, 4}, cube)}}, .rtol = 0, .atol = 0, .expect = {f32({4, 2, 3}, p)}});
  specs.push_back({.name = "Slice negative step, clamped end", .op = "Slice",
                   .inputs = {{f32({10}, iota(10))}, {i64({1}, {-1})}, {i64({1}, {-100})}, {i64({1}, {0})}, {i64({1}, {-3})}},
                   .expect = {f32({4}, {9, 6, 3, 0})}});
  // ONNX clamps a negative step's start into [0, dim - 1]: a start before the first element still
  // reads element 0 (numpy's clamp to -1 would give nothing), as ORT and the Slice gradient do.
  specs.push_back({.name = "Slice negative step, start before the axis", .op = "Slice",
                   .inputs = {{f32({5}, iota(5))}, {i64({1}, {-100})}, {i64({1}, {-200})}, {i64({1}, {0})}, {i64({1}, {-1})}},
                   .expect = {f32({1}, {0})}});
  // The internal ChannelShuffle (passes/channel_shuffle.h): a shuffle of 3 groups (the fast path,
  // S1 with 0 and -1 entries), shapes that are no channel shuffle (the general path on both kernels),
  // integers (reference only) and a first shape that is not 5-D.
  const std::string internal(ir::kInternalDomain);
  const auto planes = iota(2 * 6 * 3 * 5);
  specs.push_back({.name = "ChannelShuffle 3 groups", .op = "ChannelShuffle",
                   .inputs = {{f32({2, 6, 3, 5}, planes)}, {init(i64({5}, {0, 3, -1, 3, 5}))}, {init(i64({4}, {2, -1, 3, 5}))}},
                   .domain = internal, .rtol = 0, .atol = 0, .expect = {f32({2, 6, 3, 5}, shuffle_by_definition(planes, {2, 3, 2, 3, 5}))},
                   .backends = cpu_fast | test_device, .threads = 2});
  specs.push_back({.name = "ChannelShuffle of other shapes", .op = "ChannelShuffle",
                   .inputs = {{f32({2, 6, 3, 5}, planes)}, {init(i64({5}, {2, 3, 2, 5, 3}))}, {init(i64({2}, {-1, 10}))}},
                   .domain = internal, .rtol = 0, .atol = 0, .expect = {f32({18, 10}, shuffle_by_definition(planes, {2, 3, 2, 5, 3}))},
                   .backends = cpu_fast | test_device});
  specs.push_back({.name = "ChannelShuffle int64", .op = "ChannelShuffle",
                   .inputs = {{i64({1, 4, 1, 1}, {10, 11, 12, 13})}, {init(i64({5}, {1, 2, 2, 1, 1}))}, {init(i64({4}, {1, 4, 1, 1}))}},
                   .domain = internal, .expect = {i64({1, 4, 1, 1}, {10, 12, 11, 13})}, .backends = cpu_fast | test_device});
  specs.push_back({.name = "ChannelShuffle first shape not 5-D", .op = "ChannelShuffle",
                   .inputs = {{f32({1, 4, 1, 1}, {1, 2, 3, 4})}, {init(i64({4}, {1, 2, 2, 1}))}, {init(i64({4}, {1, 4, 1, 1}))}},
                   .domain = internal, .error = "needs 5", .backends = cpu_fast | test_device});
  specs.push_back({.name = "Concat axis 1", .op = "Concat", .attributes = {int_attr("axis", 1)},
                   .inputs = {{f32({2, 1}, {1, 2})}, {f32({2, 2}, {3, 4, 5, 6})}}, .expect = {f32({2, 3}, {1, 3, 4, 2, 5, 6})}});
  // Concat over the channels and Slice of 4-D float32 values: the spec runner's channels-last
  // runs take the channels-last kernels (layout_channels_last.cpp) here; channel counts off the
  // vector widths, NaN / Inf.
  {
    Random cl(31);
    specs.push_back({.name = "Concat channels 3 + 1 + 13, N 2", .op = "Concat", .attributes = {int_attr("axis", 1)},
                     .inputs = {{cl.specials({2, 3, 5, 7})}, {cl.uniform({2, 1, 5, 7})}, {cl.specials({2, 13, 5, 7})}}, .rtol = 0,
                     .atol = 0, .threads = 2});
    // An inception block's four parts (widths multiples of 8 and not), pixels split between the
    // two threads mid-image.
    specs.push_back({.name = "Concat channels 16 + 32 + 8 + 27, N 2, threaded", .op = "Concat", .attributes = {int_attr("axis", 1)},
                     .inputs = {{cl.specials({2, 16, 15, 15})}, {cl.uniform({2, 32, 15, 15})}, {cl.specials({2, 8, 15, 15})},
                                {cl.uniform({2, 27, 15, 15})}},
                     .rtol = 0, .atol = 0, .threads = 2});
    specs.push_back({.name = "Concat axis -3, channels 17 + 9", .op = "Concat", .attributes = {int_attr("axis", -3)},
                     .inputs = {{cl.uniform({1, 17, 3, 4})}, {cl.uniform({1, 9, 3, 4})}}, .rtol = 0, .atol = 0});
    specs.push_back({.name = "Slice of channels and rows, steps 2 and 3", .op = "Slice",
                     .inputs = {{cl.specials({2, 13, 7, 6})}, init(i64({2}, {1, 1})), init(i64({2}, {12, 7})), init(i64({2}, {1, 2})),
                                init(i64({2}, {2, 3}))},
                     .rtol = 0, .atol = 0, .threads = 2});
    specs.push_back({.name = "Slice of columns, negative step", .op = "Slice",
                     .inputs = {{cl.uniform({1, 5, 4, 9})}, init(i64({1}, {-2})), init(i64({1}, {0})), init(i64({1}, {3})), init(i64({1}, {-2}))},
                     .rtol = 0, .atol = 0});
  }
  specs.push_back({.name = "Split num_outputs uneven", .op = "Split", .attributes = {int_attr("num_outputs", 3)},
                   .inputs = {{f32({7}, iota(7))}}, .outputs = 3, .opset = 18,
                   .expect = {f32({3}, {0, 1, 2}), f32({3}, {3, 4, 5}), f32({1}, {6})}});
  specs.push_back({.name = "Pad reflect", .op = "Pad", .attributes = {string_attr("mode", "reflect")},
                   .inputs = {{f32({3}, {1, 2, 3})}, {i64({2}, {2, 2})}}, .expect = {f32({7}, {3, 2, 1, 2, 3, 2, 1})}});
  specs.push_back({.name = "Pad edge", .op = "Pad", .attributes = {string_attr("mode", "edge")},
                   .inputs = {{f32({3}, {1, 2, 3})}, {i64({2}, {1, 0})}}, .expect = {f32({4}, {1, 1, 2, 3})}});
  specs.push_back({.name = "Pad constant integers", .op = "Pad", .inputs = {{i64({2}, {5, 6})}, {i64({2}, {0, 1})}, {i64({}, {-1})}},
                   .expect = {i64({3}, {5, 6, -1})}});
  specs.push_back({.name = "Tile", .op = "Tile", .inputs = {{f32({2}, {1, 2})}, {i64({1}, {3})}}, .expect = {f32({6}, {1, 2, 1, 2, 1, 2})}});
  specs.push_back({.name = "Trilu lower", .op = "Trilu", .attributes = {int_attr("upper", 0)},
                   .inputs = {{f32({2, 3}, {1, 2, 3, 4, 5, 6})}}, .expect = {f32({2, 3}, {1, 0, 0, 4, 5, 0})}});
  const auto image = iota(1 * 2 * 4 * 6);
  const auto packed = space_to_depth(image, 2, 4, 6, 2);
  specs.push_back({.name = "SpaceToDepth", .op = "SpaceToDepth", .attributes = {int_attr("blocksize", 2)},
                   .inputs = {{f32({1, 2, 4, 6}, image)}}, .rtol = 0, .atol = 0, .expect = {f32({1, 8, 2, 3}, packed)}});
  specs.push_back({.name = "DepthToSpace inverts SpaceToDepth", .op = "DepthToSpace", .attributes = {int_attr("blocksize", 2)},
                   .inputs = {{f32({1, 8, 2, 3}, packed)}}, .rtol = 0, .atol = 0, .expect = {f32({1, 2, 4, 6}, image)}});

  // The CUDA backend's Transpose and Concat (exact), NaN/Inf included.
  specs.push_back({.name = "Transpose 4-D", .op = "Transpose", .attributes = {ints_attr("perm", {0, 2, 1, 3})},
                   .inputs = {{rng.specials({2, 3, 5, 7})}}, .rtol = 0, .atol = 0});
  specs.push_back({.name = "Transpose default perm", .op = "Transpose", .inputs = {{rng.uniform({3, 1, 4, 9})}}, .rtol = 0, .atol = 0});
  for (int64_t axis : {0, 1, -1})
    specs.push_back({.name = "Concat of three", .op = "Concat", .attributes = {int_attr("axis", axis)},
                     .inputs = {{rng.specials({3, 4, 5})}, {rng.uniform({3, 4, 5})}, {rng.uniform({3, 4, 5})}}, .rtol = 0, .atol = 0});
  specs.push_back({.name = "Concat unequal", .op = "Concat", .attributes = {int_attr("axis", 1)},
                   .inputs = {{rng.uniform({2, 1, 7})}, {rng.uniform({2, 6, 7})}}, .rtol = 0, .atol = 0});
  specs.push_back({.name = "Concat with an empty input", .op = "Concat", .attributes = {int_attr("axis", 0)},
                   .inputs = {{rng.uniform({0, 3})}, {rng.uniform({2, 3})}}, .rtol = 0, .atol = 0});

  // Backward rules.
  specs.push_back({.name = "Transpose gradient", .op = "Transpose", .attributes = {ints_attr("perm", {0, 2, 1})},
                   .inputs = {{rng.uniform({2, 3, 4})}}, .grad = 1});
  specs.push_back({.name = "Split gradient, every output", .op = "Split", .attributes = {int_attr("axis", 2)},
                   .inputs = {{rng.uniform({2, 3, 8})}, init(i64({3}, {2, 2, 4}))}, .outputs = 3, .opset = 17, .grad = 1});
  specs.push_back({.name = "Concat gradient", .op = "Concat", .attributes = {int_attr("axis", 1)},
                   .inputs = {{rng.uniform({2, 4})}, {rng.uniform({2, 2})}}, .grad = 3});
  specs.push_back({.name = "Tile gradient", .op = "Tile", .inputs = {{rng.uniform({3, 8})}, init(i64({2}, {2, 3}))}, .grad = 1});
  const std::pair<const char*, std::vector<std::vector<int64_t>>> slices[] = {
      {"Slice gradient, negative start", {{-5}, {5}, {1}}},
      {"Slice gradient, step -2", {{6}, {-100}, {1}, {-2}}},
      {"Slice gradient, step 3", {{1}, {8}, {1}, {3}}},
      {"Slice gradient, two axes, negative step", {{2, 0}, {-5, 8}, {0, 1}, {-2, 3}}},
      {"Slice gradient, unit and non-unit steps", {{0, 1}, {3, 8}, {0, 1}, {1, 3}}},
  };
  for (const auto& [name, operands] : slices) {
    OpSpec s{.name = name, .op = "Slice", .inputs = {{rng.uniform({3, 8})}}, .opset = 17, .grad = 1};
    for (const auto& v : operands) s.inputs.push_back(init(i64({static_cast<int64_t>(v.size())}, v)));
    specs.push_back(std::move(s));
  }
  specs.push_back({.name = "Pad gradient, constant", .op = "Pad", .inputs = {{rng.uniform({2, 4})}, init(i64({4}, {0, 1, 1, 2}))},
                   .opset = 17, .grad = 1});
  specs.push_back({.name = "Pad gradient, reflect", .op = "Pad", .attributes = {string_attr("mode", "reflect")},
                   .inputs = {{rng.uniform({3, 8})}, init(i64({4}, {0, 2, 0, 3}))}, .opset = 17, .grad = 1});
  specs.push_back({.name = "Pad gradient, edge", .op = "Pad", .attributes = {string_attr("mode", "edge")},
                   .inputs = {{rng.uniform({3, 8})}, init(i64({4}, {0, 1, 0, 4}))}, .opset = 17, .grad = 1});
  specs.push_back({.name = "Pad gradient, wrap", .op = "Pad", .attributes = {string_attr("mode", "wrap")},
                   .inputs = {{rng.uniform({3, 8})}, init(i64({4}, {0, 3, 0, 2}))}, .opset = 19, .grad = 1});
  specs.push_back({.name = "Pad gradient, negative pads", .op = "Pad", .inputs = {{rng.uniform({3, 8})}, init(i64({4}, {0, -1, 0, 6}))},
                   .opset = 17, .grad = 1});
  specs.push_back({.name = "Pad gradient, axes input", .op = "Pad", .attributes = {string_attr("mode", "reflect")},
                   .inputs = {{rng.uniform({3, 8})}, init(i64({2}, {1, 2})), {absent()}, init(i64({1}, {1}))}, .opset = 20, .grad = 1});

  // layout_fast's Transpose and Pad against the reference: merged axes, gathered rows, every
  // element width, threaded rows, each pad mode on outer and inner axes, crops, empty axes.
  Random fast_rng(21);
  auto u8 = [](std::vector<int64_t> dims) {
    std::vector<uint8_t> v(static_cast<size_t>(ir::element_count(dims)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i * 37 + 11);
    return tensor_of(ir::DataType::uint8, std::move(dims), v);
  };
  auto long_ints = [](std::vector<int64_t> dims) {
    std::vector<int64_t> v(static_cast<size_t>(ir::element_count(dims)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i) * 1000003 - 7;
    return tensor_of(ir::DataType::int64, std::move(dims), v);
  };
  specs.push_back({.name = "Transpose fast window partition 6-D", .op = "Transpose", .attributes = {ints_attr("perm", {0, 1, 3, 2, 4, 5})},
                   .inputs = {{fast_rng.uniform({2, 4, 7, 4, 7, 24})}}, .rtol = 0, .atol = 0, .threads = 2});
  specs.push_back({.name = "Transpose fast heads [B,S,H,D] -> [B,H,D,S]", .op = "Transpose", .attributes = {ints_attr("perm", {0, 2, 3, 1})},
                   .inputs = {{fast_rng.uniform({2, 33, 3, 16})}}, .rtol = 0, .atol = 0, .threads = 2});
  specs.push_back({.name = "Transpose fast uint8 with size-1 axes", .op = "Transpose", .attributes = {ints_attr("perm", {3, 1, 0, 2})},
                   .inputs = {{u8({5, 1, 9, 4})}}, .rtol = 0, .atol = 0, .threads = 2});
  specs.push_back({.name = "Transpose fast int64 identity perm", .op = "Transpose", .attributes = {ints_attr("perm", {0, 1, 2})},
                   .inputs = {{long_ints({3, 4, 5})}}, .threads = 2});
  specs.push_back({.name = "Transpose fast float16", .op = "Transpose", .inputs = {{f16({6, 5, 3}, fast_rng.values(90))}}, .threads = 2});
  specs.push_back({.name = "Transpose fast empty axis", .op = "Transpose", .attributes = {ints_attr("perm", {1, 0})},
                   .inputs = {{f32({0, 3}, {})}}, .threads = 2});
  specs.push_back({.name = "Slice fast roll piece [B,H,W,C] axis 1", .op = "Slice",
                   .inputs = {{fast_rng.uniform({2, 14, 14, 24})}, {i64({1}, {3})}, {i64({1}, {14})}, {i64({1}, {1})}},
                   .rtol = 0, .atol = 0, .threads = 2});
  specs.push_back({.name = "Slice fast negative steps on two axes", .op = "Slice",
                   .inputs = {{fast_rng.uniform({5, 6, 7})}, {i64({2}, {-1, 5})}, {i64({2}, {-100, 0})}, {i64({2}, {2, 0})},
                              {i64({2}, {-2, -3})}},
                   .rtol = 0, .atol = 0, .threads = 2});
  specs.push_back({.name = "Slice fast int64 inner columns", .op = "Slice",
                   .inputs = {{long_ints({4, 9})}, {i64({1}, {2})}, {i64({1}, {7})}, {i64({1}, {-1})}}, .threads = 2});
  specs.push_back({.name = "Slice fast uint8 empty result", .op = "Slice",
                   .inputs = {{u8({3, 4})}, {i64({1}, {-100})}, {i64({1}, {-200})}, {i64({1}, {1})}, {i64({1}, {-1})}}});
  specs.push_back({.name = "Pad fast constant 4-D, value input, threaded", .op = "Pad",
                   .inputs = {{fast_rng.uniform({2, 30, 31, 8})}, {i64({8}, {0, 1, 2, 0, 0, 3, 1, 5})}, {f32({}, {0.5f})}},
                   .rtol = 0, .atol = 0, .threads = 2});
  specs.push_back({.name = "Pad fast zero pads (a copy)", .op = "Pad", .inputs = {{fast_rng.uniform({1, 14, 14, 96})}, {i64({8}, {0, 0, 0, 0, 0, 0, 0, 0})}},
                   .rtol = 0, .atol = 0, .threads = 2});
  for (const char* mode : {"reflect", "edge", "wrap"})
    specs.push_back({.name = std::string("Pad fast ") + mode + " outer and inner axes", .op = "Pad", .attributes = {string_attr("mode", mode)},
                     .inputs = {{fast_rng.uniform({3, 5, 6})}, {i64({6}, {1, 2, 3, 2, 1, 4})}}, .opset = 19, .rtol = 0, .atol = 0,
                     .threads = 2});
  specs.push_back({.name = "Pad fast negative pads crop", .op = "Pad", .inputs = {{long_ints({4, 9})}, {i64({4}, {-1, 2, 1, -3})}}, .threads = 2});
  specs.push_back({.name = "Pad fast uint8 axes input", .op = "Pad", .attributes = {string_attr("mode", "edge")},
                   .inputs = {{u8({3, 4, 5})}, {i64({2}, {2, 3})}, {absent()}, {i64({1}, {-2})}}, .opset = 18});
  specs.push_back({.name = "Pad fast empty input axis", .op = "Pad", .inputs = {{f32({2, 0}, {})}, {i64({4}, {0, 1, 1, 2})}}});
  specs.push_back({.name = "Pad fast scalar", .op = "Pad", .inputs = {{f32({}, {3.5f})}, {i64({0}, {})}}});
  return specs;
}

}  // namespace mhub::test
