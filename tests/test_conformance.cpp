// ctest conformance.backend_suite: runs the ONNX backend suite folders and fails when a folder's
// pass count drops below the committed floor (tests/conformance_floor.json; it only goes up).
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "runner/conformance.h"
#include "test_support.h"
#include "tests/test_paths.h"

TEST_SUITE("conformance") {
  TEST_CASE("backend suite pass counts stay at or above the floor") {
    auto floor_path = std::filesystem::path(mhub::test::source_dir()) / "tests" / "conformance_floor.json";
    nlohmann::json floor = nlohmann::json::parse(mhub::read_whole_file(floor_path));
    mhub::runner::ConformanceOptions options;  // all cores, one engine thread per case
    for (const auto& entry : floor.items()) {
      // Plain names, not a structured binding: doctest's macros capture them in lambdas.
      const std::string folder = entry.key();
      const auto& minimum = entry.value();
      if (folder.front() == '_') continue;
      auto dir = mhub::test::backend_tests_dir() / folder;
      REQUIRE_MESSAGE(std::filesystem::is_directory(dir), dir.string() << " is missing");
      auto result = mhub::runner::run_conformance_dir(dir.string(), options);
      MESSAGE(folder << ": " << result.passed << " passed, " << result.failed << " failed, "
                     << result.skipped << " skipped (floor " << minimum.get<int>() << ")");
      CHECK_MESSAGE(result.passed >= minimum.get<size_t>(),
                    folder << " fell below its floor: fix the regression (mhub conformance "
                           << dir.string() << ")");
    }
  }
}
