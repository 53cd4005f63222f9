// Bad input gets a clear error naming the file and the problem, never a crash, and nothing is
// written where a good file stood. Also the external-data and opset tools on good input.
#include <doctest/doctest.h>

#include <fstream>
#include <random>

#include "common/atomic_file.h"
#include "common/error.h"
#include "model_builder.h"
#include "onnx_io/model_io.h"
#include "onnx_io/onnx_schema.pb.h"
#include "onnx_io/onnx_tools.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace mhub;

namespace {

// The error thrown by load_model(path), or a failed check when none is thrown.
Error load_error(const fs::path& path) {
  try {
    onnx_io::load_model(path);
  } catch (const Error& error) {
    return error;
  }
  FAIL("loading " << path << " did not fail");
  return Error(ErrorCategory::internal, "unreachable");
}

// Writes `model` with one external tensor, then lets `edit` change its external entries.
fs::path external_model(const fs::path& dir, const std::function<void(onnxpb::TensorProto&)>& edit) {
  ir::Model model = test::chain_of_adds(1, 256);
  onnx_io::SaveOptions options;
  options.external_threshold = 16;
  onnx_io::save_model(model, dir / "m.onnx", options);
  onnxpb::ModelProto proto;
  REQUIRE(proto.ParseFromString(read_whole_file(dir / "m.onnx")));
  edit(*proto.mutable_graph()->mutable_initializer(0));
  write_file_atomically(dir / "m.onnx", proto.SerializeAsString());
  return dir / "m.onnx";
}

void set_entry(onnxpb::TensorProto& tensor, const std::string& key, const std::string& value) {
  for (auto& entry : *tensor.mutable_external_data())
    if (entry.key() == key) {
      entry.set_value(value);
      return;
    }
  auto* entry = tensor.add_external_data();
  entry->set_key(key);
  entry->set_value(value);
}

}  // namespace

TEST_SUITE("malformed") {
  TEST_CASE("truncated models are refused with the file named") {
    fs::path dir = test::scratch_dir("truncated");
    fs::path source = test::backend_tests_dir() / "node" / "test_conv_with_strides_padding" / "model.onnx";
    REQUIRE(fs::exists(source));
    std::string bytes = read_whole_file(source);
    int refused = 0;
    for (size_t cut : {size_t{1}, size_t{7}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 1}) {
      fs::path path = dir / ("cut" + std::to_string(cut) + ".onnx");
      write_file_atomically(path, bytes.substr(0, cut));
      try {
        onnx_io::load_model(path);
      } catch (const Error& error) {
        CHECK(std::string(error.what()).find(path.string()) != std::string::npos);
        CHECK(error.category() == ErrorCategory::format);
        ++refused;
      }
    }
    CHECK(refused == 5);
  }

  TEST_CASE("random bytes and empty files are not models") {
    fs::path dir = test::scratch_dir("random");
    std::mt19937 rng(7);
    for (int round = 0; round < 50; ++round) {
      std::string junk(1 + rng() % 4096, '\0');
      for (char& c : junk) c = static_cast<char>(rng());
      fs::path path = dir / "junk.onnx";
      write_file_atomically(path, junk);
      CHECK_THROWS_AS(onnx_io::load_model(path), Error);
    }
    write_file_atomically(dir / "empty.onnx", "");
    Error error = load_error(dir / "empty.onnx");
    CHECK(std::string(error.what()).find("not an ONNX model") != std::string::npos);
    CHECK(load_error(dir / "absent.onnx").category() == ErrorCategory::io);
  }

  TEST_CASE("raw_data of the wrong length and bad dims are refused") {
    fs::path dir = test::scratch_dir("bad_tensor");
    ir::Model model = test::chain_of_adds(1, 8);
    onnx_io::save_model(model, dir / "ok.onnx");
    onnxpb::ModelProto proto;
    REQUIRE(proto.ParseFromString(read_whole_file(dir / "ok.onnx")));
    auto* tensor = proto.mutable_graph()->mutable_initializer(0);
    tensor->set_raw_data(tensor->raw_data().substr(0, 30));
    write_file_atomically(dir / "short.onnx", proto.SerializeAsString());
    Error error = load_error(dir / "short.onnx");
    CHECK(std::string(error.what()).find("raw_data has 30 bytes") != std::string::npos);
    CHECK(std::string(error.what()).find("'w0'") != std::string::npos);

    tensor->set_dims(0, -8);
    write_file_atomically(dir / "negative.onnx", proto.SerializeAsString());
    CHECK(std::string(load_error(dir / "negative.onnx").what()).find("negative") != std::string::npos);

    tensor->set_dims(0, 8);
    tensor->set_data_type(99);
    write_file_atomically(dir / "dtype.onnx", proto.SerializeAsString());
    CHECK(std::string(load_error(dir / "dtype.onnx").what()).find("unknown data_type 99") != std::string::npos);
  }

  TEST_CASE("external data: missing file, escaping location, wrong length, range past the end") {
    fs::path dir = test::scratch_dir("external_bad");
    auto message_of = [&](const std::function<void(onnxpb::TensorProto&)>& edit) {
      fs::remove_all(dir);
      fs::create_directories(dir);
      return std::string(load_error(external_model(dir, edit)).what());
    };
    CHECK(message_of([](auto& t) { set_entry(t, "location", "gone.bin"); }).find("missing") != std::string::npos);
    CHECK(message_of([](auto& t) { set_entry(t, "location", "../m.onnx.data"); }).find("has an empty, '.' or '..' part") != std::string::npos);
    CHECK(message_of([](auto& t) { set_entry(t, "location", "/etc/passwd"); }).find("is an absolute path") != std::string::npos);
    CHECK(message_of([](auto& t) { set_entry(t, "length", "12"); }).find("length 12") != std::string::npos);
    CHECK(message_of([](auto& t) { set_entry(t, "offset", "512"); }).find("past the end") != std::string::npos);
    CHECK(message_of([](auto& t) { set_entry(t, "offset", "-5"); }).find("not a non-negative integer") != std::string::npos);
    // a symlink inside the folder that points outside it
    fs::path outside = test::scratch_dir("external_outside");
    std::string message = message_of([&](auto& t) {
      fs::copy_file(dir / "m.onnx.data", outside / "data.bin");
      fs::create_symlink(outside / "data.bin", dir / "link.bin");
      set_entry(t, "location", "link.bin");
    });
    CHECK(message.find("resolves outside") != std::string::npos);
  }

  TEST_CASE("a failed write leaves the old file in place") {
    fs::path dir = test::scratch_dir("atomic");
    write_file_atomically(dir / "model.onnx", "good bytes");
    {
      AtomicFile file(dir / "model.onnx");
      file.write("half of a new mod");
      // destroyed without commit(), as when an exception unwinds a save
    }
    CHECK(read_whole_file(dir / "model.onnx") == "good bytes");
    size_t files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++files;
    CHECK(files == 1);  // no temporary left behind
    CHECK_THROWS_AS(write_file_atomically(dir / "no-such-folder" / "x.onnx", "x"), Error);
  }
}

TEST_SUITE("onnx_io") {
  TEST_CASE("external data is written aligned and read back as a view, bytes equal") {
    fs::path dir = test::scratch_dir("external_ok");
    ir::Model model = test::chain_of_adds(3, 1000);
    onnx_io::SaveOptions options;
    options.external_threshold = 1024;
    onnx_io::save_model(model, dir / "chain.onnx", options);
    REQUIRE(fs::exists(dir / "chain.onnx.data"));
    CHECK(fs::file_size(dir / "chain.onnx") < 2000);
    ir::Model loaded = onnx_io::load_model(dir / "chain.onnx");
    REQUIRE(loaded.graph.initializers.size() == 3);
    for (size_t k = 0; k < 3; ++k) {
      const ir::Tensor& before = model.graph.initializers[k];
      const ir::Tensor& after = loaded.graph.initializers[k];
      CHECK(after.encoding == ir::TensorEncoding::external);
      CHECK(after.storage->is_view());  // mapped, not copied
      CHECK(reinterpret_cast<uintptr_t>(after.bytes()) % 64 == 0);
      CHECK(std::memcmp(before.bytes(), after.bytes(), before.byte_size()) == 0);
    }
    // and back inline
    onnx_io::save_model(loaded, dir / "inline.onnx");
    ir::Model inlined = onnx_io::load_model(dir / "inline.onnx");
    CHECK(inlined.graph.initializers[2].encoding == ir::TensorEncoding::raw);
    CHECK(std::memcmp(inlined.graph.initializers[2].bytes(), model.graph.initializers[2].bytes(), 4000) == 0);
  }

  TEST_CASE("checker and shape inference run through libonnx") {
    fs::path model = test::backend_tests_dir() / "node" / "test_relu" / "model.onnx";
    REQUIRE(fs::exists(model));
    fs::path dir = test::scratch_dir("checker");
    ir::Model relu = onnx_io::load_model(model);
    relu.opset_imports = {{"", 14}};
    relu.ir_version = 7;
    onnx_io::save_model(relu, dir / "relu.onnx");
    onnx_io::CheckReport report = onnx_io::check_model_file(dir / "relu.onnx");
    CHECK(report.checker_ran);
    CHECK(report.checker_passed);
    CHECK(report.shapes_passed);

    ir::Model broken = relu;
    broken.graph.nodes[0].inputs = {"nowhere"};
    onnx_io::save_model(broken, dir / "broken.onnx");
    report = onnx_io::check_model_file(dir / "broken.onnx");
    CHECK_FALSE(report.checker_passed);
    CHECK(report.checker_message.find("nowhere") != std::string::npos);
  }

  TEST_CASE("opset conversion, and a clear error where no adapter exists") {
    fs::path dir = test::scratch_dir("opset");
    ir::Model relu = onnx_io::load_model(test::backend_tests_dir() / "node" / "test_relu" / "model.onnx");
    relu.opset_imports = {{"", 12}};
    relu.ir_version = 7;
    ir::Model up = onnx_io::convert_opset(relu, 14, dir);
    CHECK(up.default_opset() == 14);
    CHECK(up.graph.nodes.at(0).op_type == "Relu");
    CHECK_THROWS_WITH_AS(onnx_io::convert_opset(up, 12, dir),
                         doctest::Contains("No Adapter From Version 14 for Relu"), Error);
    ir::Model too_far = relu;
    too_far.opset_imports = {{"", 21}};
    CHECK_THROWS_WITH_AS(onnx_io::convert_opset(too_far, 12, dir),
                         doctest::Contains("opsets 1 to 17"), Error);
  }
}

TEST_SUITE("slow_external") {
  TEST_CASE("a model over 2 GiB round-trips through external data") {
    fs::path dir = test::scratch_dir("big");
    constexpr int64_t kLength = 180LL * 1024 * 1024;  // 720 MiB per tensor, 3 of them
    ir::Model model = test::chain_of_adds(3, kLength);
    CHECK_THROWS_WITH_AS(onnx_io::save_model(model, dir / "inline.onnx"),
                         doctest::Contains("2 GiB"), Error);
    CHECK_FALSE(fs::exists(dir / "inline.onnx"));
    onnx_io::SaveOptions options;
    options.external_threshold = 1024;
    onnx_io::save_model(model, dir / "big.onnx", options);
    CHECK(fs::file_size(dir / "big.onnx.data") > (uint64_t{2} << 30));
    ir::Model loaded = onnx_io::load_model(dir / "big.onnx");
    for (size_t k = 0; k < 3; ++k) {
      const ir::Tensor& after = loaded.graph.initializers[k];
      REQUIRE(after.byte_size() == static_cast<uint64_t>(kLength) * 4);
      CHECK(std::memcmp(model.graph.initializers[k].bytes(), after.bytes(), after.byte_size()) == 0);
    }
    fs::remove_all(dir);
  }
}
