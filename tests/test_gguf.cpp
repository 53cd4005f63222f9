// GGUF v3 writer (read back by mhub's bounded reader).
#include <doctest/doctest.h>

#include <cstring>

#include "common/error.h"
#include "onnx_io/gguf.h"
#include "onnx_io/pth/checkpoint.h"
#include "tests/format_test_support.h"

using namespace mhub;
using mhub::test::format_fixture;
using mhub::test::same_tensor;

namespace {

template <typename T>
T read_at(const std::string& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

onnx_io::WeightsMap parse(const std::string& bytes) {
  auto owner = std::make_shared<std::string>(bytes);
  return onnx_io::parse_gguf(owner, reinterpret_cast<const uint8_t*>(owner->data()), owner->size(), "w.gguf");
}

}  // namespace

TEST_SUITE("formats") {

TEST_CASE("GGUF v3: header fields, metadata, tensor order, alignment, data round trip") {
  auto checkpoint = onnx_io::pth::read_checkpoint(format_fixture("mixed.pth"));  // f16, bf16, i64, f32
  onnx_io::GgufOptions options;
  options.architecture = "mixed-test";
  options.name = "mixed";
  std::string bytes = onnx_io::serialize_gguf(checkpoint.weights, options);
  CHECK(bytes.compare(0, 4, "GGUF") == 0);
  CHECK(read_at<uint32_t>(bytes, 4) == 3);
  CHECK(read_at<uint64_t>(bytes, 8) == checkpoint.weights.size());
  CHECK(read_at<uint64_t>(bytes, 16) == 3);  // architecture, alignment, name
  CHECK(read_at<uint64_t>(bytes, 24) == std::strlen("general.architecture"));
  CHECK(bytes.size() % 32 == 0);

  auto back = parse(bytes);
  REQUIRE(back.size() == checkpoint.weights.size());
  for (size_t i = 0; i < back.size(); ++i) {
    INFO(checkpoint.weights.tensors()[i].name);
    CHECK(back.tensors()[i].name == checkpoint.weights.tensors()[i].name);  // order kept
    CHECK(same_tensor(back.tensors()[i], checkpoint.weights.tensors()[i]));
    auto address = reinterpret_cast<uintptr_t>(back.tensors()[i].bytes()) -
                   reinterpret_cast<uintptr_t>(back.tensors()[0].bytes());
    CHECK(address % 32 == 0);
  }
  REQUIRE(back.metadata.size() == 3);
  CHECK(back.metadata[0] == ir::StringPairs::value_type{"general.architecture", "mixed-test"});
  CHECK(back.metadata[1] == ir::StringPairs::value_type{"general.alignment", "32"});
}

TEST_CASE("GGUF: ggml dims are innermost first") {
  onnx_io::WeightsMap weights;
  weights.add(ir::Tensor::zeros(ir::DataType::float32, {2, 3, 5}, "w"), "test");
  std::string bytes = onnx_io::serialize_gguf(weights);
  size_t info = bytes.find(std::string("\x01\0\0\0\0\0\0\0w", 9));  // name "w" (length 1)
  REQUIRE(info != std::string::npos);
  CHECK(read_at<uint32_t>(bytes, info + 9) == 3);
  CHECK(read_at<uint64_t>(bytes, info + 13) == 5);
  CHECK(read_at<uint64_t>(bytes, info + 29) == 2);
  CHECK(parse(bytes).tensors()[0].dims == std::vector<int64_t>{2, 3, 5});
}

TEST_CASE("GGUF: unsigned and bool tensors are widened and come back as they were; uint64 is refused") {
  onnx_io::WeightsMap weights;
  const uint8_t bytes[] = {0, 7, 200, 255};
  weights.add(ir::Tensor::from_bytes(ir::DataType::uint8, {4}, bytes, 4, "u8"), "test");
  const uint8_t flags[] = {1, 0, 1};
  weights.add(ir::Tensor::from_bytes(ir::DataType::boolean, {3}, flags, 3, "mask"), "test");
  const uint32_t big[] = {4000000000u, 1};
  weights.add(ir::Tensor::from_bytes(ir::DataType::uint32, {2}, big, 8, "u32"), "test");
  weights.metadata = {{"format", "onnx"}};
  auto back = parse(onnx_io::serialize_gguf(weights));
  REQUIRE(back.size() == 3);
  for (size_t i = 0; i < 3; ++i) CHECK(same_tensor(back.tensors()[i], weights.tensors()[i]));
  bool namespaced = false;
  for (const auto& [key, value] : back.metadata) namespaced |= key == "mhub.format" && value == "onnx";
  CHECK(namespaced);  // GGUF keys are namespaced: a bare key gets "mhub."
  onnx_io::WeightsMap huge;
  huge.add(ir::Tensor::zeros(ir::DataType::uint64, {2}, "u"), "test");
  CHECK_THROWS_WITH_AS(onnx_io::serialize_gguf(huge), doctest::Contains("cannot hold"), Error);
}

TEST_CASE("GGUF: unsupported dtypes and malformed files are errors") {
  onnx_io::WeightsMap good;
  good.add(ir::Tensor::zeros(ir::DataType::float32, {64}, "w"), "test");
  std::string bytes = onnx_io::serialize_gguf(good);
  CHECK_THROWS_WITH_AS(parse(bytes.substr(0, bytes.size() - 64)), doctest::Contains("past the end"), Error);
  CHECK_THROWS_WITH_AS(parse("GGUF"), doctest::Contains("runs past the end"), Error);
  CHECK_THROWS_WITH_AS(parse("NOPE1234"), doctest::Contains("no GGUF magic"), Error);
}

}  // TEST_SUITE
