// The rules of SECURITY.md at library level: the path grammar and check_inside (common/safe_path),
// escaping for the terminal (common/printable), byte counts that cannot wrap (ir::storage_bytes),
// the allocation limit, and the pickle machine's nesting limit. The same cases through the mhub
// binary: tests/hostile/hostile.py.
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <string>

#include "common/allocation_limit.h"
#include "common/error.h"
#include "common/printable.h"
#include "common/safe_path.h"
#include "engine/ir/dtype.h"
#include "engine/ir/storage.h"
#include "onnx_io/pth/pickle_vm.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace mhub;

namespace {

std::string refusal(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("safe_path") {

TEST_CASE("names, refs and relative paths fit their grammar or are refused with the reason") {
  for (const char* good : {"main", "v1.0", "a" "0123456789abcdef0123456789abcdef01234567", "x_y-z+1"})
    CHECK(path_grammar_problem(good, PathGrammar::name).empty());
  for (const char* bad : {"", ".", "..", ".hidden", "a/b", "a b", "a\\b", "\x1b[2J", "../../x"})
    CHECK_FALSE(path_grammar_problem(bad, PathGrammar::name).empty());
  CHECK(path_grammar_problem(std::string(256, 'a'), PathGrammar::name) == "is longer than 255 bytes");

  CHECK(path_grammar_problem("refs/pr/1", PathGrammar::ref).empty());
  for (const char* bad : {"../refs", "refs/../x", "/etc", "refs//x", "refs/", "a/.b"})
    CHECK_FALSE(path_grammar_problem(bad, PathGrammar::ref).empty());

  for (const char* good : {"model.onnx", "onnx/model q.onnx", "a/b/c.bin", "caf\xc3\xa9.bin"})
    CHECK(path_grammar_problem(good, PathGrammar::relative_path).empty());
  for (const char* bad : {"", "/abs", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a\nb", "a/"})
    CHECK_FALSE(path_grammar_problem(bad, PathGrammar::relative_path).empty());

  std::string message = refusal([] { check_path_grammar("../x\x1b", PathGrammar::ref, "revision", ErrorCategory::usage); });
  CHECK(message == "revision '../x\\x1b' has a part that starts with '.'");
}

TEST_CASE("check_inside resolves '..' and symlinked folders, but not the last component") {
  fs::path root = test::scratch_dir("safe_path") / "root";
  fs::path outside = root.parent_path() / "outside";
  fs::create_directories(root / "sub");
  fs::create_directories(outside);
  CHECK(check_inside(root, root / "sub" / "new.bin", "file", ErrorCategory::io) ==
        fs::weakly_canonical(root) / "sub" / "new.bin");
  CHECK(refusal([&] { check_inside(root, root / "sub" / ".." / ".." / "outside" / "x", "file", ErrorCategory::io); })
            .find("resolves outside") != std::string::npos);
  CHECK_FALSE(refusal([&] { check_inside(root, root, "file", ErrorCategory::io); }).empty());
  fs::create_directory_symlink(outside, root / "link");
  CHECK_FALSE(refusal([&] { check_inside(root, root / "link" / "x", "file", ErrorCategory::io); }).empty());
  // The link itself lies inside: removing it removes the link, not what it points to.
  CHECK(refusal([&] { check_inside(root, root / "link", "file", ErrorCategory::io); }).empty());
  // Reading follows it, so what it points to must lie inside.
  CHECK(refusal([&] { check_inside(root, root / "link", "file", ErrorCategory::io, LastComponent::follow); })
            .find("resolves outside") != std::string::npos);
}

TEST_CASE("printable escapes control characters and invalid bytes, keeps UTF-8") {
  CHECK(printable("w\x1b]0;x\x07") == "w\\x1b]0;x\\x07");
  CHECK(printable("a\\b\n") == "a\\\\b\\n");
  CHECK(printable("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(printable("\xc2\x9b") == "\\xc2\\x9b");  // C1 CSI: a terminal would act on it
  CHECK(printable("\xff\xc3") == "\\xff\\xc3");
  CHECK(terminal_safe("line 1\nline\x1b[2J 2") == "line 1\nline\\x1b[2J 2");
}

TEST_CASE("byte counts from element counts cannot wrap") {
  CHECK(ir::storage_bytes(ir::DataType::float32, 3) == 12);
  CHECK(ir::storage_bytes(ir::DataType::int4, 3) == 2);
  CHECK(ir::storage_bytes(ir::DataType::complex128, uint64_t{1} << 58) == uint64_t{1} << 62);
  CHECK(refusal([] { ir::storage_bytes(ir::DataType::float32, uint64_t{1} << 62); }).find("2^62 bytes") !=
        std::string::npos);
  CHECK_FALSE(refusal([] { ir::storage_bytes(ir::DataType::complex128, (uint64_t{1} << 58) + 1); }).empty());
}

TEST_CASE("an allocation above the limit is an unsupported error, not bad_alloc") {
  set_allocation_limit(1 << 20);
  try {
    ir::Storage::zeros(2 << 20);
    FAIL("allocated past the limit");
  } catch (const Error& error) {
    CHECK(error.category() == ErrorCategory::unsupported);
    CHECK(std::string(error.what()).find("more than the memory limit of 1048576 bytes") != std::string::npos);
  }
  CHECK(ir::Storage::zeros(1 << 20)->size() == 1 << 20);
  set_allocation_limit(0);
  CHECK(allocation_limit() > (1 << 20));
}

TEST_CASE("the pickle machine refuses deep nesting and frees deep values without recursion") {
  std::string deep = "\x80\x02)" + std::string(200000, '\x85') + ".";
  auto run = [](const std::string& bytes, const onnx_io::pth::PickleLimits& limits) {
    return onnx_io::pth::run_pickle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "deep.pkl", limits);
  };
  CHECK(refusal([&] { run(deep, {}); }).find("nested deeper than 1000 levels") != std::string::npos);
  onnx_io::pth::PickleLimits unlimited;
  unlimited.max_depth = 1u << 30;
  auto value = run(deep, unlimited);  // built, then freed at the end of scope: must not overflow the stack
  CHECK(value->depth == 200000);
}

}  // TEST_SUITE
