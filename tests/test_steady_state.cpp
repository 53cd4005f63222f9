// Steady-state runs: what a Session::run allocates once every buffer exists, counted by
// replacing the global operator new of this test executable (a counter that only counts while a
// test opens a window; everything else goes to malloc as before), and the thread pool's contract
// (chunks, inline small loops, nested calls, no allocation per call).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <set>
#include <thread>

#include "engine/core/session.h"
#include "engine/core/thread_pool.h"
#include "engine/cpu/bf16_support.h"
#include "engine/devices.h"
#include "engine/ir/ops.h"
#include "test_skip.h"

using namespace mhub;

namespace steady_state {

std::atomic<bool> counting{false};
std::atomic<size_t> allocations{0}, large_allocations{0}, large_bytes{0};
constexpr size_t kLarge = 4096;  // tensor-sized: a dims vector or a name is far smaller

void* counted(size_t size, size_t align) {
  if (counting.load(std::memory_order_relaxed)) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (size >= kLarge) {
      large_allocations.fetch_add(1, std::memory_order_relaxed);
      large_bytes.fetch_add(size, std::memory_order_relaxed);
    }
  }
  if (size == 0) size = 1;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) p = std::malloc(size);
  else if (posix_memalign(&p, align, size) != 0) p = nullptr;
  return p;
}

struct Window {
  size_t count = 0, large = 0, bytes = 0;
};
// Counts the allocations of every thread while `f` runs.
template <typename F>
Window count_allocations(F f) {
  allocations = 0;
  large_allocations = 0;
  large_bytes = 0;
  counting = true;
  f();
  counting = false;
  return {allocations.load(), large_allocations.load(), large_bytes.load()};
}

}  // namespace steady_state

// GCC pairs the malloc inside these with the free below when it inlines them, and warns.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(size_t size) {
  if (void* p = steady_state::counted(size, 0)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return ::operator new(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return steady_state::counted(size, 0); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return steady_state::counted(size, 0); }
void* operator new(size_t size, std::align_val_t align) {
  if (void* p = steady_state::counted(size, static_cast<size_t>(align))) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size, std::align_val_t align) { return ::operator new(size, align); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }

namespace steady_state {

ir::Node node(const std::string& type, std::vector<std::string> in, const std::string& out,
              std::vector<ir::Attribute> attrs = {}) {
  ir::Node n;
  n.op_type = type;
  n.op = ir::lookup_op("", type);
  n.name = out;
  n.inputs = std::move(in);
  n.outputs = {out};
  n.attributes = std::move(attrs);
  return n;
}

ir::Tensor random_tensor(const std::string& name, std::vector<int64_t> dims, uint32_t seed) {
  size_t n = 1;
  for (int64_t d : dims) n *= static_cast<size_t>(d);
  std::vector<float> v(n);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  for (float& x : v) x = dist(gen);
  return ir::Tensor::from_bytes(ir::DataType::float32, dims, v.data(), n * sizeof(float), name);
}

ir::ValueInfo float_port(const std::string& name) {
  ir::ValueInfo info;
  info.name = name;
  info.type = ir::Type::tensor(ir::DataType::float32, std::nullopt);
  return info;
}

// An opset-17 model `name` with float32 input x and output y, nodes and weights to be added.
ir::Model x_to_y_model(const std::string& name) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17, 0}};
  model.graph.name = name;
  model.graph.inputs = {float_port("x")};
  model.graph.outputs = {float_port("y")};
  return model;
}

// A small mobile-style CNN: Conv + BatchNormalization + HardSwish spelled out, a depthwise Conv,
// a squeeze-excitation (GlobalAveragePool, Conv, Relu, Conv, HardSigmoid, Mul), a residual Add,
// MaxPool, GlobalAveragePool, Flatten, Gemm, Softmax.
ir::Model small_cnn() {
  ir::Model model = x_to_y_model("small_cnn");
  auto& init = model.graph.initializers;
  init.push_back(random_tensor("w1", {16, 3, 3, 3}, 1));
  for (const char* p : {"scale", "bias", "mean"}) init.push_back(random_tensor(p, {16}, 2));
  std::vector<float> ones(16, 1.0f);
  init.push_back(ir::Tensor::from_bytes(ir::DataType::float32, {16}, ones.data(), 64, "var"));
  init.push_back(random_tensor("wd", {16, 1, 3, 3}, 3));
  init.push_back(random_tensor("ws1", {4, 16, 1, 1}, 4));
  init.push_back(random_tensor("ws2", {16, 4, 1, 1}, 5));
  init.push_back(random_tensor("wp", {16, 16, 1, 1}, 6));
  init.push_back(random_tensor("wf", {16, 10}, 7));
  init.push_back(random_tensor("bf", {10}, 8));
  for (auto [name, value] : {std::pair{"three", 3.0f}, {"zero", 0.0f}, {"six", 6.0f}})
    init.push_back(ir::Tensor::from_bytes(ir::DataType::float32, {}, &value, 4, name));
  std::vector<ir::Attribute> pad1 = {ir::ints_attr("pads", {1, 1, 1, 1})};
  model.graph.nodes = {
      node("Conv", {"x", "w1"}, "c1", {ir::ints_attr("pads", {1, 1, 1, 1}), ir::ints_attr("strides", {2, 2})}),
      node("BatchNormalization", {"c1", "scale", "bias", "mean", "var"}, "n1"),
      node("Add", {"n1", "three"}, "a1"), node("Clip", {"a1", "zero", "six"}, "k1"),
      node("Mul", {"n1", "k1"}, "m1"), node("Div", {"m1", "six"}, "h1"),
      node("Conv", {"h1", "wd"}, "d1", {ir::ints_attr("pads", {1, 1, 1, 1}), ir::int_attr("group", 16)}),
      node("GlobalAveragePool", {"d1"}, "g1"), node("Conv", {"g1", "ws1"}, "s1"), node("Relu", {"s1"}, "r1"),
      node("Conv", {"r1", "ws2"}, "s2"), node("HardSigmoid", {"s2"}, "e1"), node("Mul", {"d1", "e1"}, "se"),
      node("Conv", {"se", "wp"}, "p1"), node("Add", {"p1", "h1"}, "res"),
      node("MaxPool", {"res"}, "mp", {ir::ints_attr("kernel_shape", {2, 2}), ir::ints_attr("strides", {2, 2})}),
      node("GlobalAveragePool", {"mp"}, "g2"), node("Flatten", {"g2"}, "f"), node("Gemm", {"f", "wf", "bf"}, "o"),
      node("Softmax", {"o"}, "y")};
  return model;
}

// y = x · w1 · w2 · w3 for x [8, 64] fed and weights [64, 64]: three MatMuls by a weight, which a
// session with the bf16 compute hint runs on matmul_dnnl_bf16 where the CPU has bfloat16 units,
// rounding each A to bfloat16 on every run.
ir::Model matmul_chain() {
  ir::Model model = x_to_y_model("matmul_chain");
  for (uint32_t i = 1; i <= 3; ++i) model.graph.initializers.push_back(random_tensor("w" + std::to_string(i), {64, 64}, i));
  model.graph.nodes = {node("MatMul", {"x", "w1"}, "h1"), node("MatMul", {"h1", "w2"}, "h2"), node("MatMul", {"h2", "w3"}, "y")};
  return model;
}

}  // namespace steady_state

using namespace steady_state;

TEST_SUITE("engine_core") {
  TEST_CASE("a steady-state run of a small CNN allocates no tensor-sized memory") {
    engine::SessionOptions options;
    options.threads = 2;
    engine::Session session(small_cnn(), engine::host_backend(), options);
    ir::Tensor x = random_tensor("x", {1, 3, 33, 31}, 9);
    auto feed = [&] { return std::vector<std::pair<std::string, engine::Value>>{{"x", engine::Value::of(x)}}; };
    std::vector<engine::Value> first = session.run(feed());
    session.run(feed());
    const auto created = session.stats().bytes_created;
    std::vector<std::pair<std::string, engine::Value>> inputs = feed();
    std::vector<engine::Value> held;
    Window w = count_allocations([&] { held = session.run(inputs); });
    MESSAGE("steady-state run: " << w.count << " allocations, " << w.large << " of them >= " << kLarge
                                 << " bytes (" << w.bytes << " bytes), " << session.stats().nodes << " nodes");
    CHECK(session.stats().bytes_created == created);
    CHECK(w.large == 0);
    // The caller's outputs stay intact: the next run writes other buffers.
    std::vector<float> kept(held[0].tensor.data<float>(), held[0].tensor.data<float>() + held[0].tensor.numel());
    CHECK(held[0].tensor.bytes() != first[0].tensor.bytes());
    session.run(feed());
    CHECK(std::memcmp(kept.data(), held[0].tensor.bytes(), kept.size() * sizeof(float)) == 0);
  }

  TEST_CASE("BatchNormalization's cached coefficients let go of the parameters of a session that is gone") {
    // x -> BatchNormalization -> y, new parameter buffers per model: the fast kernel caches each
    // model's coefficients and holds its buffers, which must not outlive the sessions for long.
    std::weak_ptr<ir::Storage> first_scale;
    ir::Tensor x = random_tensor("x", {1, 16, 4, 4}, 9);
    for (uint32_t i = 0; i < 100; ++i) {
      ir::Model model = x_to_y_model("bn");
      auto& init = model.graph.initializers;
      for (const char* p : {"scale", "bias", "mean"}) init.push_back(random_tensor(p, {16}, 10 + i));
      std::vector<float> ones(16, 1.0f);
      init.push_back(ir::Tensor::from_bytes(ir::DataType::float32, {16}, ones.data(), 64, "var"));
      model.graph.nodes = {node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, "y")};
      if (i == 0) first_scale = init[0].storage;
      engine::Session session(std::move(model), engine::host_backend());
      session.run({{"x", engine::Value::of(x)}});
      if (i == 0) REQUIRE(!first_scale.expired());  // the session holds it
    }
    CHECK(first_scale.expired());
  }

  TEST_CASE("a steady-state run of bf16-hinted MatMuls builds no oneDNN objects: it allocates about what fp32 does") {
    if (!engine::cpu::cpu_has_bf16_units()) MHUB_SKIP("this CPU has no bfloat16 units: the hinted MatMuls run in float32");
    ir::Tensor x = random_tensor("x", {8, 64}, 9);
    std::vector<std::pair<std::string, engine::Value>> inputs{{"x", engine::Value::of(x)}};
    auto steady_run = [&](const char* precision) {
      engine::SessionOptions options;
      options.threads = 1;
      options.compute_precision = precision;
      engine::Session session(matmul_chain(), engine::host_backend(), options);
      session.run(inputs);
      session.run(inputs);
      return count_allocations([&] { session.run(inputs); });
    };
    const Window fp32 = steady_run("fp32"), bf16 = steady_run("bf16");
    MESSAGE("steady-state run of 3 MatMuls: " << fp32.count << " allocations in fp32, " << bf16.count << " hinted bf16");
    CHECK(bf16.large == 0);
    // A hinted MatMul makes one oneDNN call more than the fp32 one (the rounding of A), and
    // oneDNN's C++ API copies each call's arguments into a vector: about one allocation per
    // MatMul. Building the rounding's reorder, memory objects or stream, or the product's memory
    // objects, would add several per MatMul (each is a shared handle).
    CHECK(bf16.count <= fp32.count + 2 * 3);
  }

  TEST_CASE("the thread pool covers a range once, runs small loops inline and allocates nothing per call") {
    engine::ThreadPool pool(3);
    for (size_t count : {1u, 7u, 1000u, 1001u}) {
      std::vector<std::atomic<int>> hits(count);
      pool.parallel_for(count, 10, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) hits[i]++;
      });
      for (size_t i = 0; i < count; ++i) CHECK(hits[i] == 1);
    }
    // A loop smaller than two chunks never leaves the calling thread.
    std::thread::id caller = std::this_thread::get_id();
    bool inline_only = true;
    pool.parallel_for(10, 10, [&](size_t, size_t) { inline_only = inline_only && std::this_thread::get_id() == caller; });
    CHECK(inline_only);
    // The work threshold: chunks of at least kMinParallelElements elements, so a loop over no
    // more than that stays on the caller whatever its item size; a larger one is split.
    CHECK(engine::chunk_for_elements(0) == engine::kMinParallelElements);
    CHECK(engine::chunk_for_elements(64) == engine::kMinParallelElements / 64);
    CHECK(engine::chunk_for_elements(engine::kMinParallelElements * 3) == 1);
    size_t calls = 0;
    pool.parallel_for(engine::kMinParallelElements / 64, engine::chunk_for_elements(64),
                      [&](size_t, size_t) { ++calls; });
    CHECK(calls == 1);
    std::atomic<size_t> chunks{0};
    pool.parallel_for(3 * engine::kMinParallelElements / 64, engine::chunk_for_elements(64), [&](size_t, size_t) { ++chunks; });
    CHECK(chunks == 3);
    // Nested calls run inline instead of waiting for the busy pool.
    std::atomic<size_t> inner{0};
    pool.parallel_for(4, 1, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) pool.parallel_for(100, 1, [&](size_t ib, size_t ie) { inner += ie - ib; });
    });
    CHECK(inner == 400);
    // A body capturing many references (std::function would copy it to the heap) costs nothing.
    double a = 1, b = 2, c = 3, d = 4;
    std::vector<double> out(4096);
    Window w = count_allocations([&] {
      for (int k = 0; k < 50; ++k)
        pool.parallel_for(out.size(), 64, [&](size_t lo, size_t hi) {
          for (size_t i = lo; i < hi; ++i) out[i] = a * static_cast<double>(i) + b * c - d;
        });
    });
    CHECK(w.count == 0);
    CHECK(out[10] == 12.0);
  }
}
