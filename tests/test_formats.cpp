// safetensors and PyTorch checkpoints against the fixtures of scripts/make_format_fixtures.py.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"
#include "onnx_io/pth/checkpoint.h"
#include "onnx_io/pth/zip_reader.h"
#include "onnx_io/safetensors.h"
#include "tests/format_test_support.h"

using namespace mhub;
using mhub::test::format_fixture;
using mhub::test::same_tensor;

namespace {

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

void check_same_weights(const onnx_io::WeightsMap& actual, const onnx_io::WeightsMap& expected) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& want = expected.tensors()[i];
    const ir::Tensor* got = actual.find(want.name);
    INFO("tensor " << want.name);
    REQUIRE(got != nullptr);
    CHECK(same_tensor(*got, want));
  }
}

}  // namespace

TEST_SUITE("formats") {

TEST_CASE("pth state dicts equal their safetensors twins tensor by tensor") {
  for (const char* name : {"cnn", "transformer", "mixed"}) {
    INFO("fixture " << name);
    auto checkpoint = onnx_io::pth::read_checkpoint(format_fixture(std::string(name) + ".pth"));
    auto twin = onnx_io::read_safetensors(format_fixture(std::string(name) + ".safetensors"));
    check_same_weights(checkpoint.weights, twin);
    // .pth -> safetensors bytes -> read back: still equal to the twin.
    std::string bytes = onnx_io::serialize_safetensors(checkpoint.weights);
    auto owner = std::make_shared<std::string>(bytes);
    auto round = onnx_io::parse_safetensors(owner, reinterpret_cast<const uint8_t*>(owner->data()),
                                            owner->size(), "memory");
    check_same_weights(round, twin);
  }
}

TEST_CASE("contiguous pth tensors view the mapped file and tied weights share bytes") {
  auto checkpoint = onnx_io::pth::read_checkpoint(format_fixture("transformer.pth"));
  const ir::Tensor* embed = checkpoint.weights.find("embed.weight");
  const ir::Tensor* head = checkpoint.weights.find("head.weight");
  REQUIRE(embed);
  REQUIRE(head);
  CHECK(embed->storage->is_view());
  CHECK(embed->bytes() == head->bytes());
}

TEST_CASE("a transposed view in a pth is gathered into row-major order") {
  auto checkpoint = onnx_io::pth::read_checkpoint(format_fixture("cnn.pth"));
  const ir::Tensor* mix = checkpoint.weights.find("mix");
  REQUIRE(mix);
  REQUIRE(mix->dims == std::vector<int64_t>{4, 5});
  // mix = arange(20).reshape(5, 4).t()  =>  mix[i][j] = 4 * j + i
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 5; ++j) CHECK(mix->data<float>()[i * 5 + j] == float(4 * j + i));
  auto mixed = onnx_io::pth::read_checkpoint(format_fixture("mixed.pth"));
  const ir::Tensor* view = mixed.weights.find("offset_view");  // arange(10)[3:7]
  REQUIRE(view);
  CHECK(view->data<float>()[0] == 3.0f);
  CHECK(view->data<float>()[3] == 6.0f);
}

TEST_CASE("pth zip container: ZIP64 directory, 64-byte aligned stored records, deflated records") {
  // torch.save always writes a ZIP64 end of central directory record.
  CHECK(read_whole_file(format_fixture("cnn.pth")).find(std::string("PK\x06\x06", 4)) != std::string::npos);
  auto archive = onnx_io::pth::ZipArchive::open(format_fixture("cnn.pth"));
  size_t data_records = 0;
  for (const auto& entry : archive.entries())
    if (entry.name.find("/data/") != std::string::npos) {
      ++data_records;
      CHECK(entry.stored);
      CHECK(entry.data_offset % 64 == 0);
    }
  CHECK(data_records == 11);
  auto deflated = onnx_io::pth::ZipArchive::open(format_fixture("cnn_deflated.pth"));
  CHECK_FALSE(deflated.entries().front().stored);
  auto inflated = onnx_io::pth::read_checkpoint(format_fixture("cnn_deflated.pth"));
  check_same_weights(inflated.weights, onnx_io::read_safetensors(format_fixture("cnn.safetensors")));
}

TEST_CASE("nested training checkpoints: model by default, ema by key") {
  auto model = onnx_io::pth::read_checkpoint(format_fixture("cnn_nested.pth"));
  CHECK(model.key_used == "model");
  CHECK(model.weights.find("module.fc.weight") != nullptr);
  auto ema = onnx_io::pth::read_checkpoint(format_fixture("cnn_nested.pth"), {"ema"});
  CHECK(ema.key_used == "ema");
  CHECK(ema.weights.size() == model.weights.size());
  CHECK(error_of([] { onnx_io::pth::read_checkpoint(format_fixture("cnn_nested.pth"), {"nothing"}); })
            .find("no dict at key 'nothing'") != std::string::npos);
}

TEST_CASE("files that are not state-dict checkpoints say what they are") {
  auto message = [](const char* file) {
    return error_of([&] { onnx_io::pth::read_checkpoint(format_fixture(file)); });
  };
  CHECK(message("torchscript.pt").find("TorchScript archive") != std::string::npos);
  CHECK(message("legacy.pth").find("legacy (pre-1.6)") != std::string::npos);
  CHECK(message("lfs_pointer.pth").find("Git LFS pointer") != std::string::npos);
  CHECK(message("html_page.pth").find("HTML page") != std::string::npos);
  CHECK(message("cnn.onnx").find("not a PyTorch checkpoint") != std::string::npos);
}

TEST_CASE("safetensors metadata and header order survive a round trip") {
  auto twin = onnx_io::read_safetensors(format_fixture("cnn.safetensors"));
  REQUIRE(twin.metadata.size() == 1);
  CHECK(twin.metadata[0] == ir::StringPairs::value_type{"format", "pt"});
  CHECK(twin.tensors().front().name == "mix");
  std::string bytes = onnx_io::serialize_safetensors(twin);
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | static_cast<uint8_t>(bytes[i]);
  CHECK((8 + header_length) % 8 == 0);  // padded so the data buffer starts 8-aligned
  CHECK(bytes.size() == 8 + header_length + twin.total_bytes());
}

TEST_CASE("the safetensors writer stores each tensor at a multiple of its element size, as the reference writer") {
  // Mixed dtypes with odd element counts: written in insertion order, the F32/I64/F64 tensors
  // after the 3-byte U8 and 6-byte F16 ones would start misaligned.
  auto make = [](ir::DataType dtype, int64_t count, const std::string& name) {
    ir::Tensor tensor = ir::Tensor::zeros(dtype, {count}, name);
    for (uint64_t i = 0; i < tensor.byte_size(); ++i) tensor.storage->mutable_data()[i] = static_cast<uint8_t>(i * 7 + name.size());
    return tensor;
  };
  std::vector<ir::Tensor> tensors = {make(ir::DataType::uint8, 3, "u8"),     make(ir::DataType::float16, 3, "half"),
                                     make(ir::DataType::float32, 5, "w.b"),  make(ir::DataType::int64, 1, "steps"),
                                     make(ir::DataType::bfloat16, 1, "bf"),  make(ir::DataType::float64, 3, "d"),
                                     make(ir::DataType::int32, 3, "ids"),    make(ir::DataType::float32, 1, "w.a"),
                                     make(ir::DataType::boolean, 1, "flag")};
  onnx_io::WeightsMap forward, backward;
  for (const auto& tensor : tensors) forward.add(tensor, "test");
  for (auto it = tensors.rbegin(); it != tensors.rend(); ++it) backward.add(*it, "test");
  std::string bytes = onnx_io::serialize_safetensors(forward);
  CHECK(bytes == onnx_io::serialize_safetensors(backward));  // the layout depends on names and dtypes only

  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | static_cast<uint8_t>(bytes[i]);
  auto header = nlohmann::ordered_json::parse(bytes.substr(8, header_length));
  std::vector<std::string> stored;
  uint64_t previous_end = 0;
  for (const auto& item : header.items()) {
    const std::string name = item.key();  // a plain variable: clang 14's INFO lambda cannot capture a binding
    const auto& info = item.value();
    INFO("tensor " << name);
    stored.push_back(name);
    uint64_t begin = info["data_offsets"][0].get<uint64_t>();
    const ir::Tensor* tensor = forward.find(name);
    REQUIRE(tensor);
    uint64_t element_bytes = std::max(1, ir::bits_of(tensor->dtype) / 8);
    CHECK(begin == previous_end);                           // header lists them in file order
    CHECK((8 + header_length + begin) % element_bytes == 0);  // aligned in the file, not just the buffer
    previous_end = info["data_offsets"][1].get<uint64_t>();
  }
  CHECK(stored == std::vector<std::string>{"d", "steps", "ids", "w.a", "w.b", "bf", "half", "flag", "u8"});
  auto owner = std::make_shared<std::string>(bytes);
  auto round = onnx_io::parse_safetensors(owner, reinterpret_cast<const uint8_t*>(owner->data()), owner->size(), "memory");
  check_same_weights(round, forward);
}

}  // TEST_SUITE

#include "onnx_io/model_io.h"
#include "onnx_io/safetensors_external.h"
#include "tests/test_support.h"

TEST_SUITE("formats") {

TEST_CASE("ONNX external data inside a safetensors file: both readers see the same weights") {
  ir::Model model = onnx_io::load_model(format_fixture("transformer.onnx"));
  auto dir = mhub::test::scratch_dir("external_safetensors");
  size_t moved = onnx_io::save_model_with_safetensors_data(model, dir / "model.onnx", "weights.safetensors", 64);
  size_t expected = 0;
  for (const auto& tensor : model.graph.initializers) expected += tensor.byte_size() >= 64;
  CHECK(moved == expected);
  CHECK(moved > 0);
  ir::Model reloaded = onnx_io::load_model(dir / "model.onnx");
  auto weights = onnx_io::read_safetensors(dir / "weights.safetensors");
  CHECK(weights.size() == moved);
  for (const auto& tensor : reloaded.graph.initializers) {
    INFO(tensor.name);
    const ir::Tensor* original = model.graph.initializer(tensor.name);
    REQUIRE(original);
    CHECK(same_tensor(tensor, *original));
    if (tensor.byte_size() >= 64) {
      CHECK(tensor.encoding == ir::TensorEncoding::external);
      REQUIRE(weights.find(tensor.name));
      CHECK(same_tensor(*weights.find(tensor.name), *original));
    }
  }
  CHECK_THROWS_AS(onnx_io::save_model_with_safetensors_data(model, dir / "m.onnx", "../x.safetensors", 0), Error);
}

}  // TEST_SUITE
