// The one op -> family map (engine/ir/ops.def, internal_ops.def, op_families.def) kept true:
// every registration table row names a function defined in a file of its family, every kernel
// and rule a table registers belongs to the row's family, each CUDA family has its three files,
// and docs/ARCHITECTURE.md's op table is the one the map generates. Also: the layer table of
// docs/ARCHITECTURE.md is the one engine/layering.cmake enforces.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "common/error.h"
#include "engine/autograd/rules.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/ir/ops.h"
#include "tests/test_paths.h"

using namespace mhub;

namespace {

std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(mhub::test::source_dir()) + "/" + relative);
  REQUIRE_MESSAGE(in.good(), "cannot read " << relative);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The (family, function) rows of a registration table's source.
std::vector<std::pair<std::string, std::string>> table_rows(const std::string& table_file) {
  const std::string text = read_source(table_file);
  std::vector<std::pair<std::string, std::string>> rows;
  static const std::regex row(R"(\{F::(\w+), (?:\w+::)?(add_\w+)\})");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), row); it != std::sregex_iterator(); ++it)
    rows.emplace_back((*it)[1].str(), (*it)[2].str());
  return rows;
}

// The file under one of `folders` that defines `function` (relative path), or "" when none does.
std::string defining_file(const std::string& function, const std::vector<std::string>& folders) {
  static const std::map<std::string, std::string> sources = [] {
    std::map<std::string, std::string> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(mhub::test::source_dir()) + "/engine"))
      if (entry.path().extension() == ".cpp") {
        const std::string relative = std::filesystem::relative(entry.path(), mhub::test::source_dir()).string();
        files[relative] = read_source(relative);
      }
    return files;
  }();
  std::string found;
  for (const auto& source : sources) {
    // Plain locals: clang 14 (the sanitizer build) cannot capture a structured binding.
    const std::string& relative = source.first;
    const std::string& text = source.second;
    for (const char* parameters : {"(std::vector<KernelDef>& table) {", "(std::map<std::string, Rule>& rules) {"})
      if (std::any_of(folders.begin(), folders.end(), [&](const std::string& f) { return relative.rfind(f, 0) == 0; }) &&
          text.find("\nvoid " + function + parameters) != std::string::npos) {
        CHECK_MESSAGE(found.empty(), function << " is defined in " << found << " and " << relative);
        found = relative;
      }
  }
  return found;
}

// The op table of docs/ARCHITECTURE.md as the map generates it: one row per family.
std::string generated_op_table() {
  std::map<ir::OpFamily, std::vector<std::string>> ops;
  for (int i = 0; i < static_cast<int>(ir::OpKind::opaque); ++i) {
    const auto op = static_cast<ir::OpKind>(i);
    ops[ir::op_family(op)].push_back(std::string(ir::op_name(op)) + (ir::is_internal_op(op) ? "*" : ""));
  }
  std::string table = "| family | ops (* internal, engine/ir/internal_ops.def) |\n| --- | --- |\n";
  for (int f = 0; f < ir::kFamilyCount; ++f) {
    const auto family = static_cast<ir::OpFamily>(f);
    table += "| `" + std::string(ir::family_name(family)) + "` |";
    for (size_t k = 0; k < ops[family].size(); ++k) table += (k ? ", " : " ") + ops[family][k];
    table += " |\n";
  }
  return table;
}

// docs/ARCHITECTURE.md's text between `begin` and `end` (markers required).
std::string doc_section(const std::string& begin, const std::string& end) {
  const std::string doc = read_source("docs/ARCHITECTURE.md");
  const size_t a = doc.find(begin), b = doc.find(end);
  REQUIRE_MESSAGE(a != std::string::npos, "ARCHITECTURE.md lacks " << begin);
  REQUIRE_MESSAGE(b != std::string::npos, "ARCHITECTURE.md lacks " << end);
  return doc.substr(a + begin.size(), b - a - begin.size());
}

// The layer table as engine/layering.cmake defines it: one row per `set(allowed_<folder> "...")`.
std::string layer_table_from_check() {
  const std::string text = read_source("engine/layering.cmake");
  static const std::regex row(R"re(\nset\(allowed_(\w+) "([^"]*)"\))re");
  std::string table = "| folder | may include from engine/ |\n| --- | --- |\n";
  int rows = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), row); it != std::sregex_iterator(); ++it, ++rows) {
    std::string allowed = (*it)[2].str(), cell;
    allowed = std::regex_replace(allowed, std::regex(R"(\\\\)"), "");  // "devices\\.h" -> "devices.h"
    std::stringstream parts(allowed);
    for (std::string part; std::getline(parts, part, '|');) cell += (cell.empty() ? "`" : ", `") + part + "`";
    table += "| `" + (*it)[1].str() + "` | " + cell + " |\n";
  }
  CHECK(rows >= 5);
  return table + "| any other (`train`, ...) | anything but `cpu` and `cuda` |\n";
}

}  // namespace

TEST_SUITE("engine_core") {

TEST_CASE("every op has a family, and family names resolve both ways") {
  for (int i = 0; i < static_cast<int>(ir::OpKind::opaque); ++i) {
    const auto op = static_cast<ir::OpKind>(i);
    INFO(ir::op_name(op));
    REQUIRE(ir::op_family(op) != ir::OpFamily::none);
    CHECK(ir::lookup_family(ir::family_name(ir::op_family(op))) == ir::op_family(op));
  }
  CHECK(ir::op_family(ir::OpKind::opaque) == ir::OpFamily::none);
  CHECK(ir::lookup_family("no_such_family") == ir::OpFamily::none);
  CHECK(ir::op_family(ir::OpKind::Relu) == ir::OpFamily::elementwise);
  CHECK(ir::op_family(ir::OpKind::FusedAttention) == ir::OpFamily::attention);
}

TEST_CASE("the CPU kernel table and the rule table register each op from its family") {
  // Building a table checks every row's op against the registering family (throws otherwise).
  CHECK_NOTHROW(engine::cpu::cpu_kernel_table());
  CHECK_NOTHROW(autograd::rule_names());
  for (const engine::FamilyKernels& row : engine::cpu::cpu_kernel_registrations()) {
    std::vector<engine::KernelDef> rows;
    row.add(rows);
    CHECK(!rows.empty());
    for (const engine::KernelDef& def : rows) CHECK(ir::op_family(def.op) == row.family);
  }
  // A function that registers an op of another family is refused.
  const engine::FamilyKernels wrong[] = {{ir::OpFamily::binary, engine::cpu::add_elementwise_kernels}};
  CHECK_THROWS_AS(engine::build_kernel_table(wrong), Error);
}

TEST_CASE("each registration table row names a function defined in a file of its family") {
  struct Table {
    const char* file;
    std::vector<std::string> folders;  // where its functions live
    std::string (*expected)(const std::string& family, const std::string& file);
  };
  // engine/cpu/<family>.cpp or <family>_<variant>.cpp; engine/cuda/<family>_ops.cpp (the shape
  // family's view kernels are the device-neutral ones of engine/core/view_kernels.cpp); engine/autograd/rules_<family>.cpp.
  const Table tables[] = {
      {"engine/cpu/cpu_kernels.cpp", {"engine/cpu/"},
       [](const std::string& family, const std::string& file) {
         const std::string stem = std::filesystem::path(file).stem().string();
         return stem == family || stem.rfind(family + "_", 0) == 0 ? file : "engine/cpu/" + family + "[_*].cpp";
       }},
      {"engine/cuda/cuda_kernels.cpp", {"engine/cuda/", "engine/core/"},
       [](const std::string& family, const std::string&) {
         return family == "shape" ? std::string("engine/core/view_kernels.cpp") : "engine/cuda/" + family + "_ops.cpp";
       }},
      {"engine/autograd/rule_table.cpp", {"engine/autograd/"},
       [](const std::string& family, const std::string&) { return "engine/autograd/rules_" + family + ".cpp"; }},
  };
  for (const Table& table : tables) {
    const auto rows = table_rows(table.file);
    CHECK_MESSAGE(rows.size() >= 10, table.file);
    for (const auto& row : rows) {
      const auto& family = row.first;
      const auto& function = row.second;
      INFO(table.file << ": " << family << " / " << function);
      CHECK(ir::lookup_family(family) != ir::OpFamily::none);
      const std::string file = defining_file(function, table.folders);
      REQUIRE(!file.empty());
      CHECK(file == table.expected(family, file));
      if (std::string(table.file) == "engine/cpu/cpu_kernels.cpp") CHECK(file.rfind("engine/cpu/", 0) == 0);
    }
  }
}

TEST_CASE("docs/ARCHITECTURE.md's op -> family table is the generated one") {
  const std::string table = doc_section("<!-- op-families:begin (generated: tests/test_op_families.cpp) -->\n",
                                        "<!-- op-families:end -->");
  CHECK_MESSAGE(table == generated_op_table(), "replace the table in docs/ARCHITECTURE.md with:\n" << generated_op_table());
}

TEST_CASE("each CUDA kernel table row's family has its host, device and launcher files") {
  // engine/cuda/<family>_ops.cpp registers and launches, <family>.cu holds the device code and
  // <family>.cuh the launchers the host side calls (the shape family is engine/core's views).
  const auto rows = table_rows("engine/cuda/cuda_kernels.cpp");
  CHECK(rows.size() >= 10);
  for (const auto& row : rows) {
    const std::string& family = row.first;  // a plain local: clang 14 cannot capture a structured binding
    if (family == "shape") continue;
    for (const std::string& file : {family + "_ops.cpp", family + ".cu", family + ".cuh"})
      CHECK_MESSAGE(std::filesystem::exists(std::string(mhub::test::source_dir()) + "/engine/cuda/" + file), "engine/cuda/" << file);
  }
}

TEST_CASE("docs/ARCHITECTURE.md's layer table is the one engine/layering.cmake enforces") {
  const std::string table = doc_section("<!-- layers:begin (checked: tests/test_op_families.cpp against engine/layering.cmake) -->\n",
                                        "<!-- layers:end -->");
  CHECK_MESSAGE(table == layer_table_from_check(), "replace the table in docs/ARCHITECTURE.md with:\n" << layer_table_from_check());
}

}  // TEST_SUITE
