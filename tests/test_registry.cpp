// The catalogue: the shipped models.json, every malformed-catalogue case, layering, resolving,
// glob/search, and the JSON that `mhub list/search/info --json` print.
#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <random>

#include "common/atomic_file.h"
#include "common/error.h"
#include "registry/catalogue.h"
#include "test_support.h"
#include "tests/test_paths.h"

namespace fs = std::filesystem;
using namespace mhub;
using nlohmann::json;

namespace {

fs::path source_models_json() { return fs::path(mhub::test::source_dir()) / "models.json"; }

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  REQUIRE(EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) == 1);
  std::string hex;
  char pair[3];
  for (unsigned int i = 0; i < length; ++i) std::snprintf(pair, sizeof pair, "%02x", digest[i]), hex += pair;
  return hex;
}

// A valid one-entry catalogue, as JSON, for the malformed cases to break one field at a time.
json minimal_catalogue() {
  return json::parse(R"({
    "schema_version": 1,
    "models": [{
      "name": "tiny",
      "aliases": ["tiny-alias"],
      "format": "onnx",
      "source": {"kind": "hf", "repo": "org/tiny", "path": "model.onnx"},
      "files": [{"path": "model.onnx",
                 "sha256": "0000000000000000000000000000000000000000000000000000000000000000",
                 "size": 10}]
    }]
  })");
}

// The message of the format error that parsing `text` as `origin` throws.
std::string parse_error(const std::string& text, const std::string& origin = "user.json") {
  try {
    registry::parse_catalogue(text, origin, ".");
  } catch (const Error& error) {
    CHECK(error.category() == ErrorCategory::format);
    return error.what();
  }
  FAIL("parsing did not fail: " << text.substr(0, 200));
  return "";
}

std::string write_catalogue(const fs::path& dir, const std::string& name, const json& document) {
  fs::path path = dir / name;
  write_file_atomically(path, document.dump(1));
  return path.string();
}

// Runs the mhub binary, returning stdout and the exit status.
// `environment` is prepended to the command line ("NAME=value ...").
std::pair<std::string, int> run_mhub(const std::string& arguments, const std::string& environment = "") {
  std::string command = environment + " " + std::string(mhub::test::binary_dir()) + "/cli/mhub " + arguments + " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, got);
  int status = ::pclose(pipe);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

}  // namespace

TEST_SUITE("registry") {

TEST_CASE("models.json validates and the embedded copy equals it") {
  registry::Catalogue on_disk = registry::merge({registry::load_catalogue(source_models_json())});
  const registry::Catalogue& builtin = registry::builtin_catalogue();
  REQUIRE(on_disk.entries.size() == builtin.entries.size());
  for (size_t i = 0; i < on_disk.entries.size(); ++i)
    CHECK(registry::to_json(on_disk.entries[i]) == registry::to_json(builtin.entries[i]));
  // Every entry survives a round trip through its JSON form.
  for (const auto& entry : builtin.entries) {
    json document = {{"schema_version", 1}, {"models", {registry::to_json(entry)}}};
    auto again = registry::parse_catalogue(document.dump(), "roundtrip", ".");
    CHECK(registry::to_json(again.entries.at(0)) == registry::to_json(entry));
  }
}

TEST_CASE("models.json holds all 184 zoo entries with the manifest's sha256 and sizes") {
  json manifest = json::parse(read_whole_file(test::shared_dir() / "catalogues" / "onnx-model-zoo-manifest.json"));
  REQUIRE(manifest.size() == 184);
  const registry::Catalogue& catalogue = registry::builtin_catalogue();
  size_t zoo_entries = 0;
  for (const auto& entry : catalogue.entries)
    if (entry.source.repo == "onnxmodelzoo/legacy_models") ++zoo_entries;
  CHECK(zoo_entries == 184);
  for (const auto& item : manifest) {
    std::string path = item["model_path"];
    std::string stem = fs::path(path).stem().string();
    for (char& c : stem) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const registry::CatalogueEntry* entry = registry::find_entry(catalogue, stem);
    REQUIRE_MESSAGE(entry != nullptr, stem);
    CHECK(entry->source.kind == registry::SourceKind::hf);
    CHECK(entry->source.path == path);
    CHECK(entry->verify == registry::Verification::sha256);
    CHECK(entry->opset == item["opset_version"].get<int64_t>());
    REQUIRE(entry->files.size() == 2);
    CHECK(entry->files[0].path == path);
    CHECK(entry->files[0].sha256 == item["metadata"]["model_sha"].get<std::string>());
    CHECK(entry->files[0].size == item["metadata"]["model_bytes"].get<int64_t>());
    CHECK(entry->files[1].sha256 == item["metadata"]["model_with_data_sha"].get<std::string>());
    CHECK(entry->files[1].size == item["metadata"]["model_with_data_bytes"].get<int64_t>());
    CHECK(entry->files[1].optional);
    size_t inputs = item["metadata"].contains("io_ports") ? item["metadata"]["io_ports"]["inputs"].size() : 0;
    CHECK(entry->inputs.size() == inputs);
  }
}

TEST_CASE("the bundled fashion-cnn entry matches its file") {
  const registry::CatalogueEntry* entry = registry::find_entry(registry::builtin_catalogue(), "fashion-cnn");
  REQUIRE(entry != nullptr);
  CHECK(entry->source.kind == registry::SourceKind::bundled);
  REQUIRE(entry->files.size() == 1);
  std::string bytes = read_whole_file(entry->base_dir / entry->files[0].path);
  CHECK(entry->files[0].sha256 == sha256_hex(bytes));
  CHECK(entry->files[0].size == int64_t(bytes.size()));
  const auto& pre = entry->preprocessing;
  CHECK(pre.input_size == std::vector<int64_t>{1, 28, 28});
  CHECK(pre.mean == std::vector<double>{0.2860});
  CHECK(pre.std == std::vector<double>{0.3530});
  CHECK(pre.label_names.size() == 10);
  CHECK(pre.label_names[9] == "Ankle boot");
}

TEST_CASE("well-known Hugging Face checkpoints are verified by the hub's etag") {
  const registry::Catalogue& catalogue = registry::builtin_catalogue();
  for (const char* name : {"timm/resnet50.a1_in1k", "timm/mobilenetv3_large_100.ra_in1k",
                           "timm/vit_base_patch16_224.augreg2_in21k_ft_in1k"}) {
    const registry::CatalogueEntry* entry = registry::find_entry(catalogue, name);
    REQUIRE_MESSAGE(entry != nullptr, name);
    CHECK(entry->verify == registry::Verification::hub_etag);
    CHECK(entry->format == "safetensors");
    CHECK(entry->files[0].sha256.empty());
    CHECK(entry->preprocessing.input_size == std::vector<int64_t>{3, 224, 224});
    CHECK(entry->preprocessing.mean.size() == 3);
    CHECK(entry->preprocessing.crop_pct > 0);
  }
}

TEST_CASE("malformed: not JSON") {
  std::string message = parse_error("{\"schema_version\": 1,\n \"models\": [", "broken.json");
  CHECK(message.find("broken.json: not valid JSON near line 2") != std::string::npos);
}

TEST_CASE("malformed: a key repeated in one object") {
  std::string text = minimal_catalogue().dump();
  size_t at = text.find("\"size\":10");
  REQUIRE(at != std::string::npos);
  text.insert(at, "\"size\":11,");
  CHECK(parse_error(text) == "user.json: key 'size' appears twice in one object; each key may appear once");
}

TEST_CASE("malformed: wrong type") {
  json document = minimal_catalogue();
  document["models"][0]["files"][0]["size"] = "ten";
  CHECK(parse_error(document.dump()) ==
        "user.json: entry 'tiny': field 'files[0].size': expected an integer, got a string");
  document = minimal_catalogue();
  document["models"] = json::object();
  CHECK(parse_error(document.dump()) == "user.json: field 'models': expected an array, got an object");
}

TEST_CASE("malformed: missing name") {
  json document = minimal_catalogue();
  document["models"].push_back(document["models"][0]);
  document["models"][1].erase("name");
  CHECK(parse_error(document.dump()) ==
        "user.json: entry #2: field 'name': missing; every entry needs a unique name");
}

TEST_CASE("malformed: duplicate name") {
  json document = minimal_catalogue();
  document["models"].push_back(document["models"][0]);
  document["models"][1]["aliases"] = json::array();
  CHECK(parse_error(document.dump()) ==
        "user.json: entry 'tiny': field 'name': 'tiny' is already the name of an earlier entry; names "
        "and aliases must be unique (ignoring case)");
}

TEST_CASE("malformed: duplicate alias") {
  json document = minimal_catalogue();
  json second = document["models"][0];
  second["name"] = "other";
  second["aliases"] = {"TINY-alias"};
  document["models"].push_back(second);
  CHECK(parse_error(document.dump()) ==
        "user.json: entry 'other': field 'aliases[0]': 'TINY-alias' is already an alias of entry 'tiny'; "
        "names and aliases must be unique (ignoring case)");
}

TEST_CASE("malformed: bad sha256") {
  json document = minimal_catalogue();
  document["models"][0]["files"][0]["sha256"] = "abc123";
  CHECK(parse_error(document.dump()) ==
        "user.json: entry 'tiny': field 'files[0].sha256': expected 64 hex digits, got 'abc123'");
}

TEST_CASE("malformed: bad source kind") {
  json document = minimal_catalogue();
  document["models"][0]["source"]["kind"] = "ftp";
  CHECK(parse_error(document.dump()) ==
        "user.json: entry 'tiny': field 'source.kind': 'ftp' is not one of 'hf', 'url', 'bundled'");
}

TEST_CASE("malformed: unknown field typo") {
  json document = minimal_catalogue();
  document["models"][0]["licence"] = "mit";
  CHECK(parse_error(document.dump()) ==
        "user.json: entry 'tiny': field 'licence': unknown field (did you mean 'license'?)");
  document = minimal_catalogue();
  document["models"][0]["source"]["revison"] = "v1";
  CHECK(parse_error(document.dump()) ==
        "user.json: entry 'tiny': field 'source.revison': unknown field (did you mean 'source.revision'?)");
}

TEST_CASE("malformed: other field rules") {
  auto broken = [](const std::function<void(json&)>& edit) {
    json document = minimal_catalogue();
    edit(document["models"][0]);
    return parse_error(document.dump());
  };
  CHECK(broken([](json& e) { e["files"][0]["path"] = "../escape.onnx"; }).find("field 'files[0].path'") != std::string::npos);
  CHECK(broken([](json& e) { e["files"][0]["path"] = "other.onnx"; }).find("files[0] must be the main file 'model.onnx'") != std::string::npos);
  CHECK(broken([](json& e) { e["source"]["repo"] = "no-slash"; }).find("field 'source.repo'") != std::string::npos);
  CHECK(broken([](json& e) { e["name"] = "bad name"; }).find("entry #1: field 'name'") != std::string::npos);
  CHECK(broken([](json& e) { e["files"][0].erase("sha256"); e["verify"] = "sha256"; })
            .find("field 'files[0].sha256': missing") != std::string::npos);
  CHECK(broken([](json& e) { e["source"] = {{"kind", "url"}, {"url", "https://x.org/m.onnx"}}; e.erase("files"); })
            .find("field 'verify': 'hub-etag' works only for a 'hf' source") != std::string::npos);
  CHECK(broken([](json& e) { e["preprocessing"] = {{"mean", {0.5}}, {"std", {0.5, 0.5}}}; })
            .find("field 'preprocessing.std'") != std::string::npos);
  CHECK(broken([](json& e) { e["format"] = "tflite"; }).find("field 'format'") != std::string::npos);
  CHECK(parse_error(R"({"schema_version": 2, "models": []})").find("field 'schema_version'") != std::string::npos);
  CHECK(parse_error("[]").find("user.json: expected an object") != std::string::npos);
}

TEST_CASE("a catalogue file that cannot be read is an io error naming it") {
  try {
    registry::load_catalogue("/nonexistent/catalogue.json");
    FAIL("no error");
  } catch (const Error& error) {
    CHECK(error.category() == ErrorCategory::io);
    CHECK(std::string(error.what()).find("/nonexistent/catalogue.json") != std::string::npos);
  }
}

TEST_CASE("layering: a user catalogue overrides and adds entries, and may redirect repos") {
  fs::path dir = test::scratch_dir("registry-layering");
  json user = {{"schema_version", 1},
               {"repo_overrides", {{"onnxmodelzoo/legacy_models", {{"repo", "mirror/zoo"}, {"endpoint", "https://hub.example.org"}}}}},
               {"models", json::array()}};
  json replaced = registry::to_json(*registry::find_entry(registry::builtin_catalogue(), "fashion-cnn"));
  replaced["description"] = "my own fashion model";
  user["models"].push_back(replaced);
  json added = minimal_catalogue()["models"][0];
  added["parent"] = "fashion-cnn";
  user["models"].push_back(added);
  std::string file = write_catalogue(dir, "user.json", user);

  registry::Catalogue merged = registry::load_effective_catalogue({file});
  CHECK(merged.entries.size() == registry::builtin_catalogue().entries.size() + 1);
  CHECK(registry::find_entry(merged, "fashion-cnn")->description == "my own fashion model");
  CHECK(registry::find_entry(merged, "fashion-cnn")->origin == file);
  CHECK(registry::find_entry(merged, "tiny-alias")->name == "tiny");
  const registry::CatalogueEntry* zoo = registry::find_entry(merged, "mnist-8");
  REQUIRE(zoo != nullptr);
  CHECK(zoo->source.repo == "mirror/zoo");
  CHECK(zoo->source.endpoint == "https://hub.example.org");

  // A later layer's alias may not take a name that another entry already has.
  json clash = minimal_catalogue();
  clash["models"][0]["aliases"] = {"fashion-cnn"};
  std::string clash_file = write_catalogue(dir, "clash.json", clash);
  try {
    registry::load_effective_catalogue({clash_file});
    FAIL("no error");
  } catch (const Error& error) {
    CHECK(std::string(error.what()) == clash_file + ": entry 'tiny': field 'aliases[0]': 'fashion-cnn' is already the "
                                                    "name of entry 'fashion-cnn' (from models.json); names and aliases "
                                                    "must be unique (ignoring case)");
  }
  // Parents must exist once the layers are merged.
  json orphan = minimal_catalogue();
  orphan["models"][0]["parent"] = "no-such-model";
  std::string orphan_file = write_catalogue(dir, "orphan.json", orphan);
  CHECK_THROWS_WITH(registry::load_effective_catalogue({orphan_file}),
                    (orphan_file + ": entry 'tiny': field 'parent': no entry named 'no-such-model'; add it to a "
                                   "catalogue or fix the name").c_str());

  // MHUB_CATALOGUE layers before --catalogue files.
  json env_layer = minimal_catalogue();
  env_layer["models"][0]["description"] = "from env";
  std::string env_file = write_catalogue(dir, "env.json", env_layer);
  ::setenv("MHUB_CATALOGUE", env_file.c_str(), 1);
  CHECK(registry::find_entry(registry::load_effective_catalogue({}), "tiny")->description == "from env");
  CHECK(registry::find_entry(registry::load_effective_catalogue({file}), "tiny")->description.empty());
  ::unsetenv("MHUB_CATALOGUE");
}

TEST_CASE("resolve: names, aliases, case, revisions, and unknown names") {
  const registry::Catalogue& catalogue = registry::builtin_catalogue();
  CHECK(registry::resolve(catalogue, "fashion-cnn").entry->name == "fashion-cnn");
  CHECK(registry::resolve(catalogue, "Fashion-MNIST").entry->name == "fashion-cnn");
  CHECK(registry::resolve(catalogue, "resnet50.a1_in1k").entry->name == "timm/resnet50.a1_in1k");

  auto pinned = registry::resolve(catalogue, "mnist-8");
  CHECK_FALSE(pinned.revision_overridden);
  CHECK(pinned.source.revision == "main");
  CHECK(pinned.files[0].sha256.size() == 64);

  auto other = registry::resolve(catalogue, "mnist-8@refs/pr/1");
  CHECK(other.revision_overridden);
  CHECK(other.source.revision == "refs/pr/1");
  CHECK(other.files[0].sha256.empty());
  CHECK(other.files[0].size == -1);
  CHECK(other.verify == registry::Verification::hub_etag);
  CHECK_FALSE(registry::resolve(catalogue, "mnist-8@main").revision_overridden);

  CHECK_THROWS_AS(registry::resolve(catalogue, "fashion-cnn@v2"), Error);
  CHECK_THROWS_AS(registry::resolve(catalogue, "mnist-8@"), Error);
  CHECK_THROWS_AS(registry::resolve(catalogue, "mnist-8@a b"), Error);
  try {
    registry::resolve(catalogue, "mnist-9");
    FAIL("no error");
  } catch (const Error& error) {
    std::string message = error.what();
    CHECK(error.category() == ErrorCategory::usage);
    CHECK(message.find("unknown model 'mnist-9'; did you mean: ") == 0);
    CHECK(message.find("mnist-8") != std::string::npos);
    CHECK(message.find("mhub search mnist-9") != std::string::npos);
  }
}

TEST_CASE("glob matching") {
  CHECK(registry::glob_match("resnet*", "resnet50-v1-7"));
  CHECK(registry::glob_match("*V1-?", "resnet50-v1-7"));
  CHECK(registry::glob_match("mnist-[0-9]", "mnist-8"));
  CHECK_FALSE(registry::glob_match("mnist-[!8]", "mnist-8"));
  CHECK(registry::glob_match("*", ""));
  CHECK_FALSE(registry::glob_match("resnet", "resnet50"));
  CHECK(registry::glob_match("a*b*c", "axxbyyc"));
  CHECK_FALSE(registry::glob_match("a*b*c", "axxbyy"));
  CHECK(registry::glob_match("[x", "[x"));

  const registry::Catalogue& catalogue = registry::builtin_catalogue();
  auto mnist = registry::list_entries(catalogue, "mnist-*", "");
  CHECK(mnist.size() == 5);
  for (size_t i = 1; i < mnist.size(); ++i) CHECK(mnist[i - 1]->name < mnist[i]->name);
  CHECK(registry::list_entries(catalogue, "", "bundled").size() == 1);
  CHECK(registry::list_entries(catalogue, "", "").size() == catalogue.entries.size());
}

TEST_CASE("search ranks name over alias over tag over task") {
  const registry::Catalogue& catalogue = registry::builtin_catalogue();
  auto hits = registry::search(catalogue, "fashion-cnn");
  REQUIRE_FALSE(hits.empty());
  CHECK(hits[0].entry->name == "fashion-cnn");
  CHECK(hits[0].matched_field == "name");

  hits = registry::search(catalogue, "vgg");
  REQUIRE_FALSE(hits.empty());
  CHECK(hits[0].entry->name.find("vgg") == 0);

  hits = registry::search(catalogue, "style transfer");  // only in tags
  REQUIRE(hits.size() == 10);
  CHECK(hits[0].matched_field == "tag");

  hits = registry::search(catalogue, "imagenet vit");  // every word must match
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].entry->name == "timm/vit_base_patch16_224.augreg2_in21k_ft_in1k");
  CHECK(registry::search(catalogue, "nosuchword").empty());
}

TEST_CASE("mhub list/search/info --json print the documented keys") {
  auto [list_out, list_rc] = run_mhub("list 'mnist-*' --json");
  REQUIRE(list_rc == 0);
  json list = json::parse(list_out);
  CHECK(list["count"] == 5);
  REQUIRE(list["models"].size() == 5);
  for (const char* key : {"name", "aliases", "description", "task", "family", "tags", "format", "opset", "source",
                          "verify", "size"})
    CHECK_MESSAGE(list["models"][0].contains(key), key);

  auto [search_out, search_rc] = run_mhub("search fashion --json");
  REQUIRE(search_rc == 0);
  json search = json::parse(search_out);
  CHECK(search["query"] == "fashion");
  REQUIRE(search["results"].size() >= 1);
  CHECK(search["results"][0]["name"] == "fashion-cnn");
  CHECK(search["results"][0].contains("score"));
  CHECK(search["results"][0].contains("matched_field"));

  fs::path dir = test::scratch_dir("registry-cli");
  json user = minimal_catalogue();
  std::string file = write_catalogue(dir, "user.json", user);
  auto [info_out, info_rc] = run_mhub("info tiny-alias --json --catalogue " + file);
  REQUIRE(info_rc == 0);
  json info = json::parse(info_out);
  CHECK(info["name"] == "tiny");
  CHECK(info["origin"] == file);
  CHECK(info["revision"] == "main");
  CHECK(info["revision_overridden"] == false);
  REQUIRE(info["files"].size() == 1);
  CHECK(info["files"][0]["cached"] == false);
  CHECK(info["files"][0]["sha256"].get<std::string>().size() == 64);

  auto [bundled_out, bundled_rc] = run_mhub("info fashion-cnn --json");
  REQUIRE(bundled_rc == 0);
  CHECK(json::parse(bundled_out)["files"][0]["cached"] == true);

  // A fake Hugging Face cache holding the file makes it "cached".
  fs::path snapshot = dir / "hf" / "models--org--tiny" / "snapshots" / "abc123";
  fs::create_directories(snapshot);
  fs::create_directories(dir / "hf" / "models--org--tiny" / "refs");
  write_file_atomically(dir / "hf" / "models--org--tiny" / "refs" / "main", "abc123");
  write_file_atomically(snapshot / "model.onnx", "0123456789");
  auto [cached_out, cached_rc] = run_mhub("--catalogue " + file + " info tiny --json", "HF_HUB_CACHE=" + (dir / "hf").string());
  REQUIRE(cached_rc == 0);
  json cached = json::parse(cached_out);
  CHECK(cached["files"][0]["cached"] == true);
  CHECK(cached["files"][0]["cache_path"] == (snapshot / "model.onnx").string());
}

TEST_CASE("mhub exit codes: unknown name, unreadable or malformed catalogue") {
  auto [out, rc] = run_mhub("info resnt50");
  CHECK(rc == 2);
  CHECK(out.empty());
  auto [missing_out, missing_rc] = run_mhub("list --catalogue /nonexistent/user.json");
  CHECK(missing_rc == 3);  // io
  fs::path dir = test::scratch_dir("registry-cli-bad");
  json bad = minimal_catalogue();
  bad["models"][0]["sha"] = "x";
  auto [bad_out, bad_rc] = run_mhub("list --catalogue " + write_catalogue(dir, "bad.json", bad));
  CHECK(bad_rc == 4);  // format
}

}  // TEST_SUITE

TEST_SUITE("registry") {

TEST_CASE("the example entries in docs/CATALOGUE.md parse") {
  std::string doc = read_whole_file(fs::path(mhub::test::source_dir()) / "docs" / "CATALOGUE.md");
  // The first ```json block after "### Example entry" is one entry; the next is a whole file.
  size_t example = doc.find("### Example entry");
  REQUIRE(example != std::string::npos);
  size_t start = doc.find("```json\n", example) + 8;
  std::string entry = doc.substr(start, doc.find("```", start) - start);
  auto parsed = registry::parse_catalogue("{\"schema_version\": 1, \"models\": [" + entry + "]}", "doc", ".");
  CHECK(registry::to_json(parsed.entries.at(0)) ==
        registry::to_json(*registry::find_entry(registry::builtin_catalogue(), "fashion-cnn")));
  start = doc.find("```json\n", start) + 8;
  std::string file = doc.substr(start, doc.find("```", start) - start);
  auto layered = registry::merge({registry::builtin_catalogue(), registry::parse_catalogue(file, "doc", ".")});
  CHECK(registry::find_entry(layered, "my-org/fashion-cnn-ft")->parent == "fashion-cnn");
}

TEST_CASE("scripts/make_catalogue.py reproduces models.json") {
  if (!fs::exists("/usr/bin/python3")) {
    FAIL("/usr/bin/python3 is missing; scripts/install-deps.sh installs it");
    return;
  }
  fs::path out = test::scratch_dir("registry-generator") / "models.json";
  std::string command = "/usr/bin/python3 " + (fs::path(mhub::test::source_dir()) / "scripts" / "make_catalogue.py").string() +
                        " --zoo " + (test::shared_dir() / "catalogues" / "onnx-model-zoo-manifest.json").string() +
                        " --out " + out.string() + " >/dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  CHECK(read_whole_file(out) == read_whole_file(source_models_json()));
}

TEST_CASE("damaged catalogues never crash: they parse or throw mhub::Error") {
  // Cuts and byte flips of a real entry exercise every parser branch with wrong input.
  json document = {{"schema_version", 1}, {"models", json::array()}};
  for (const char* name : {"fashion-cnn", "resnet50", "timm/resnet50.a1_in1k"})
    document["models"].push_back(registry::to_json(*registry::find_entry(registry::builtin_catalogue(), name)));
  std::string text = document.dump();
  std::mt19937 random(12345);
  size_t errors = 0, parsed = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string damaged = text;
    if (round % 3 == 0) {
      damaged.resize(random() % text.size());
    } else {
      for (int flips = 0; flips < 1 + round % 4; ++flips)
        damaged[random() % damaged.size()] = "{}[]\",:0a-9@ /.\\"[random() % 17];
    }
    try {
      registry::merge({registry::parse_catalogue(damaged, "damaged.json", ".")});
      ++parsed;
    } catch (const Error& error) {
      CHECK(std::string(error.what()).rfind("damaged.json: ", 0) == 0);
      ++errors;
    }
  }
  CHECK(errors > 1000);
  MESSAGE("damaged catalogues: " << errors << " rejected, " << parsed << " still valid");
}

}  // TEST_SUITE
