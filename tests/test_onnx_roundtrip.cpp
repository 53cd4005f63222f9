// Import -> export must give back the model that was read, field by field (initializer bytes
// included), for every model of the ONNX backend test suite and the public benchmark models.
#include <doctest/doctest.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>

#include <fstream>
#include <iostream>

#include "common/atomic_file.h"
#include "onnx_io/model_io.h"
#include "onnx_io/onnx_schema.pb.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace mhub;

namespace {

std::vector<fs::path> suite_models() {
  std::vector<fs::path> models;
  fs::path root = test::backend_tests_dir();
  for (const char* folder : {"node", "pytorch-converted", "pytorch-operator", "simple", "light"}) {
    fs::path dir = root / folder;
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir))
      if (entry.is_regular_file() && entry.path().extension() == ".onnx") models.push_back(entry.path());
  }
  // Public benchmark models written by scripts/make-bench-models.sh, when present.
  if (const char* extra = std::getenv("MHUB_BENCH_MODELS"))
    if (fs::exists(extra))
      for (const auto& entry : fs::directory_iterator(extra))
        if (entry.path().extension() == ".onnx") models.push_back(entry.path());
  std::sort(models.begin(), models.end());
  return models;
}

// Empty when equal, else a description of the first differences.
std::string compare_roundtrip(const fs::path& path) {
  onnxpb::ModelProto original;
  std::string bytes = read_whole_file(path);
  if (!original.ParseFromString(bytes)) return "original does not parse";
  ir::Model model = onnx_io::load_model(path);
  onnxpb::ModelProto exported;
  if (!exported.ParseFromString(onnx_io::serialize_model(model))) return "export does not parse";
  google::protobuf::util::MessageDifferencer differ;
  // Floats are copied bit for bit; only NaN needs telling that it equals itself.
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  differ.set_field_comparator(&comparator);
  std::string report;
  differ.ReportDifferencesToString(&report);
  if (differ.Compare(original, exported)) return {};
  if (report.size() > 600) report.resize(600);
  return report.empty() ? "differs" : report;
}

}  // namespace

TEST_SUITE("roundtrip") {
  TEST_CASE("every backend-suite model round-trips field by field") {
    auto models = suite_models();
    if (models.empty()) {
      MESSAGE("../shared/onnx-backend-tests not found: nothing to round-trip");
      REQUIRE(fs::exists(test::backend_tests_dir()));  // fail: the suite must be there in CI
    }
    size_t passed = 0;
    std::vector<std::string> failures;
    for (const fs::path& path : models) {
      std::string problem;
      try {
        problem = compare_roundtrip(path);
      } catch (const std::exception& error) {
        problem = std::string("threw: ") + error.what();
      }
      if (problem.empty()) ++passed;
      else failures.push_back(path.string() + ": " + problem);
    }
    for (size_t i = 0; i < failures.size() && i < 20; ++i) MESSAGE(failures[i]);
    std::cout << "round-trip: " << passed << " of " << models.size() << " models equal\n";
    CHECK(models.size() >= 1900);
    CHECK(failures.empty());
  }
}
