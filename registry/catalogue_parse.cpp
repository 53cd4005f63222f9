// Reading catalogue JSON into CatalogueEntry values, validating every field on the way.
// Each error names the file, the entry and the field (docs/CATALOGUE.md lists the schema).
#include <algorithm>
#include <cctype>
#include <set>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/printable.h"
#include "common/safe_path.h"
#include "registry/catalogue.h"
#include "registry/catalogue_detail.h"

namespace mhub::registry {

namespace {

using nlohmann::json;

// Says where in the catalogue we are, so that every message can name file, entry and field.
struct Where {
  const std::string& origin;
  std::string entry;  // "entry 'resnet50'" or "entry #3" before the name is known

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    std::string message = origin + ": ";
    if (!entry.empty()) message += entry + ": ";
    if (!field.empty()) message += "field '" + field + "': ";
    throw Error(ErrorCategory::format, message + problem);
  }
};

const char* json_type_name(const json& value) {
  if (value.is_null()) return "null";
  if (value.is_boolean()) return "a boolean";
  if (value.is_number_integer() || value.is_number_unsigned()) return "an integer";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "an array";
  return "an object";
}

// Rejects keys the schema does not know, suggesting the nearest known one (typos like 'licence').
void reject_unknown_keys(const Where& where, const std::string& prefix, const json& object,
                         const std::vector<std::string>& known) {
  for (auto item = object.begin(); item != object.end(); ++item) {
    if (std::find(known.begin(), known.end(), item.key()) != known.end()) continue;
    std::string best;
    size_t best_distance = 3;  // suggest only close spellings
    for (const auto& candidate : known) {
      size_t distance = edit_distance(item.key(), candidate);
      if (distance < best_distance) best_distance = distance, best = candidate;
    }
    std::string problem = "unknown field";
    if (!best.empty()) problem += " (did you mean '" + prefix + best + "'?)";
    else problem += "; see docs/CATALOGUE.md for the fields an entry may have";
    where.fail(prefix + item.key(), problem);
  }
}

void expect_object(const Where& where, const std::string& field, const json& value) {
  if (!value.is_object()) where.fail(field, std::string("expected an object, got ") + json_type_name(value));
}

std::string get_string(const Where& where, const std::string& field, const json& value) {
  if (!value.is_string()) where.fail(field, std::string("expected a string, got ") + json_type_name(value));
  return value.get<std::string>();
}

int64_t get_integer(const Where& where, const std::string& field, const json& value, int64_t minimum) {
  if (!value.is_number_integer() && !value.is_number_unsigned())
    where.fail(field, std::string("expected an integer, got ") + json_type_name(value));
  if (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX))
    where.fail(field, "integer too large");
  int64_t number = value.get<int64_t>();
  if (number < minimum) where.fail(field, "expected at least " + std::to_string(minimum) + ", got " + std::to_string(number));
  return number;
}

double get_number(const Where& where, const std::string& field, const json& value) {
  if (!value.is_number()) where.fail(field, std::string("expected a number, got ") + json_type_name(value));
  return value.get<double>();
}

bool get_bool(const Where& where, const std::string& field, const json& value) {
  if (!value.is_boolean()) where.fail(field, std::string("expected true or false, got ") + json_type_name(value));
  return value.get<bool>();
}

const json& get_array(const Where& where, const std::string& field, const json& value) {
  if (!value.is_array()) where.fail(field, std::string("expected an array, got ") + json_type_name(value));
  return value;
}

std::vector<std::string> get_string_list(const Where& where, const std::string& field, const json& value) {
  std::vector<std::string> strings;
  const json& array = get_array(where, field, value);
  for (size_t i = 0; i < array.size(); ++i) {
    std::string item = get_string(where, field + "[" + std::to_string(i) + "]", array[i]);
    if (item.empty()) where.fail(field + "[" + std::to_string(i) + "]", "must not be empty");
    strings.push_back(item);
  }
  return strings;
}

std::string get_choice(const Where& where, const std::string& field, const json& value,
                       const std::vector<std::string>& choices) {
  std::string text = get_string(where, field, value);
  if (std::find(choices.begin(), choices.end(), text) != choices.end()) return text;
  std::string list;
  for (const auto& choice : choices) list += (list.empty() ? "" : ", ") + ("'" + choice + "'");
  where.fail(field, "'" + text + "' is not one of " + list);
}

// Names end up in file names, URLs and shell commands: keep them to a safe alphabet, and free of
// '@' (the revision separator) and glob characters (list patterns).
void check_model_name(const Where& where, const std::string& field, const std::string& name) {
  if (name.empty()) where.fail(field, "must not be empty");
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/' || c == '+';
    if (!ok) where.fail(field, "'" + name + "' has '" + std::string(1, c) + "'; names may use letters, digits and . _ - / +");
  }
  if (name.front() == '/' || name.back() == '/' || name.front() == '-' || name.find("//") != std::string::npos)
    where.fail(field, "'" + name + "' must not start with '/' or '-', end with '/', or contain '//'");
}

// A file path inside a repo, URL folder or checkout: relative and unable to climb out.
void check_relative_path(const Where& where, const std::string& field, const std::string& path) {
  if (path.empty()) where.fail(field, "must not be empty");
  if (std::string problem = path_grammar_problem(path, PathGrammar::relative_path); !problem.empty())
    where.fail(field, "'" + printable(path) + "' " + problem);
}

void check_repo_id(const Where& where, const std::string& field, const std::string& repo) {
  size_t slash = repo.find('/');
  bool ok = slash != std::string::npos && slash > 0 && slash + 1 < repo.size() && repo.find('/', slash + 1) == std::string::npos;
  for (char c : repo)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/')) ok = false;
  if (!ok) where.fail(field, "'" + repo + "' is not a Hugging Face repo id like 'org/name'");
}

void check_http_url(const Where& where, const std::string& field, const std::string& url) {
  bool ok = (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0) && url.size() > 8;
  for (char c : url)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) ok = false;
  if (!ok) where.fail(field, "'" + url + "' is not an http:// or https:// URL");
}

// The last path segment of a URL, without query or fragment: the main file's name.
std::string url_file_name(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  return path.substr(path.rfind('/') + 1);
}

SourceSpec read_source(const Where& where, const json& value) {
  expect_object(where, "source", value);
  reject_unknown_keys(where, "source.", value, {"kind", "repo", "revision", "endpoint", "path", "url"});
  if (!value.contains("kind")) where.fail("source.kind", "missing; one of 'hf', 'url', 'bundled'");
  SourceSpec source;
  std::string kind = get_choice(where, "source.kind", value["kind"], {"hf", "url", "bundled"});
  source.kind = kind == "hf" ? SourceKind::hf : kind == "url" ? SourceKind::url : SourceKind::bundled;
  auto optional_string = [&](const char* key) {
    return value.contains(key) ? get_string(where, std::string("source.") + key, value[key]) : std::string();
  };
  source.repo = optional_string("repo");
  source.revision = optional_string("revision");
  source.endpoint = optional_string("endpoint");
  source.path = optional_string("path");
  source.url = optional_string("url");
  auto forbid = [&](const char* key, const std::string& text) {
    if (!text.empty()) where.fail(std::string("source.") + key, "not used by a '" + kind + "' source; remove it");
  };
  switch (source.kind) {
    case SourceKind::hf:
      if (source.repo.empty()) where.fail("source.repo", "missing; a 'hf' source needs the repo id ('org/name')");
      check_repo_id(where, "source.repo", source.repo);
      if (source.revision.empty()) source.revision = "main";
      if (std::string problem = path_grammar_problem(source.revision, PathGrammar::ref); !problem.empty())
        where.fail("source.revision", "'" + printable(source.revision) + "' " + problem +
                                          "; use a branch, tag or commit hash");
      if (source.path.empty()) where.fail("source.path", "missing; the main file's path inside the repo");
      check_relative_path(where, "source.path", source.path);
      if (!source.endpoint.empty()) check_http_url(where, "source.endpoint", source.endpoint);
      forbid("url", source.url);
      break;
    case SourceKind::url:
      if (source.url.empty()) where.fail("source.url", "missing; a 'url' source needs the main file's URL");
      check_http_url(where, "source.url", source.url);
      if (url_file_name(source.url).empty()) where.fail("source.url", "'" + source.url + "' does not end in a file name");
      forbid("repo", source.repo), forbid("revision", source.revision), forbid("endpoint", source.endpoint);
      forbid("path", source.path);
      break;
    case SourceKind::bundled:
      if (source.path.empty()) where.fail("source.path", "missing; the file's path relative to the catalogue's folder");
      check_relative_path(where, "source.path", source.path);
      forbid("repo", source.repo), forbid("revision", source.revision), forbid("endpoint", source.endpoint);
      forbid("url", source.url);
      break;
  }
  return source;
}

FileSpec read_file(const Where& where, const std::string& field, const json& value) {
  expect_object(where, field, value);
  reject_unknown_keys(where, field + ".", value, {"path", "sha256", "size", "lfs", "optional"});
  FileSpec file;
  if (!value.contains("path")) where.fail(field + ".path", "missing");
  file.path = get_string(where, field + ".path", value["path"]);
  check_relative_path(where, field + ".path", file.path);
  if (value.contains("sha256")) {
    file.sha256 = get_string(where, field + ".sha256", value["sha256"]);
    bool hex = file.sha256.size() == 64;
    for (char c : file.sha256)
      if (!std::isxdigit(static_cast<unsigned char>(c))) hex = false;
    if (!hex) where.fail(field + ".sha256", "expected 64 hex digits, got '" + file.sha256 + "'");
    std::transform(file.sha256.begin(), file.sha256.end(), file.sha256.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  if (value.contains("size")) file.size = get_integer(where, field + ".size", value["size"], 0);
  if (value.contains("lfs")) file.lfs = get_bool(where, field + ".lfs", value["lfs"]);
  if (value.contains("optional")) file.optional = get_bool(where, field + ".optional", value["optional"]);
  return file;
}

IoPort read_port(const Where& where, const std::string& field, const json& value) {
  expect_object(where, field, value);
  reject_unknown_keys(where, field + ".", value, {"name", "type", "shape"});
  IoPort port;
  if (!value.contains("name")) where.fail(field + ".name", "missing");
  port.name = get_string(where, field + ".name", value["name"]);
  if (value.contains("type")) port.type = get_string(where, field + ".type", value["type"]);
  if (value.contains("shape")) {
    port.has_shape = true;
    const json& shape = get_array(where, field + ".shape", value["shape"]);
    for (size_t i = 0; i < shape.size(); ++i) {
      std::string dim_field = field + ".shape[" + std::to_string(i) + "]";
      Dim dim;
      if (shape[i].is_string()) {
        dim.symbol = shape[i].get<std::string>();
        if (dim.symbol.empty()) where.fail(dim_field, "a symbolic dimension needs a name (use null for unknown)");
      } else if (!shape[i].is_null()) {
        dim.value = get_integer(where, dim_field, shape[i], 0);
      }
      port.shape.push_back(dim);
    }
  }
  return port;
}

std::vector<IoPort> read_ports(const Where& where, const std::string& field, const json& value) {
  std::vector<IoPort> ports;
  const json& array = get_array(where, field, value);
  for (size_t i = 0; i < array.size(); ++i)
    ports.push_back(read_port(where, field + "[" + std::to_string(i) + "]", array[i]));
  return ports;
}

std::vector<double> read_numbers(const Where& where, const std::string& field, const json& value) {
  std::vector<double> numbers;
  const json& array = get_array(where, field, value);
  for (size_t i = 0; i < array.size(); ++i)
    numbers.push_back(get_number(where, field + "[" + std::to_string(i) + "]", array[i]));
  return numbers;
}

Preprocessing read_preprocessing(const Where& where, const json& value) {
  expect_object(where, "preprocessing", value);
  reject_unknown_keys(where, "preprocessing.", value,
                      {"input_size", "test_input_size", "mean", "std", "crop_pct", "test_crop_pct",
                       "crop_mode", "interpolation", "num_classes", "label_set", "label_names"});
  Preprocessing pre;
  pre.present = true;
  auto read_size = [&](const char* key, std::vector<int64_t>& size) {
    if (!value.contains(key)) return;
    std::string field = std::string("preprocessing.") + key;
    const json& array = get_array(where, field, value[key]);
    if (array.empty()) where.fail(field, "must not be empty (e.g. [3, 224, 224])");
    for (size_t i = 0; i < array.size(); ++i)
      size.push_back(get_integer(where, field + "[" + std::to_string(i) + "]", array[i], 1));
  };
  read_size("input_size", pre.input_size);
  read_size("test_input_size", pre.test_input_size);
  if (value.contains("mean")) pre.mean = read_numbers(where, "preprocessing.mean", value["mean"]);
  if (value.contains("std")) pre.std = read_numbers(where, "preprocessing.std", value["std"]);
  if (pre.mean.size() != pre.std.size())
    where.fail("preprocessing.std", "has " + std::to_string(pre.std.size()) + " values but mean has " + std::to_string(pre.mean.size()));
  for (size_t i = 0; i < pre.std.size(); ++i)
    if (!(pre.std[i] > 0)) where.fail("preprocessing.std[" + std::to_string(i) + "]", "must be greater than 0");
  if (!pre.mean.empty() && !pre.input_size.empty() && pre.input_size.size() == 3 && int64_t(pre.mean.size()) != pre.input_size[0])
    where.fail("preprocessing.mean", "has " + std::to_string(pre.mean.size()) + " values but input_size has " +
                                         std::to_string(pre.input_size[0]) + " channels");
  if (value.contains("crop_pct")) {
    pre.crop_pct = get_number(where, "preprocessing.crop_pct", value["crop_pct"]);
    if (!(pre.crop_pct > 0 && pre.crop_pct <= 1)) where.fail("preprocessing.crop_pct", "must be in (0, 1]");
  }
  if (value.contains("test_crop_pct")) {
    pre.test_crop_pct = get_number(where, "preprocessing.test_crop_pct", value["test_crop_pct"]);
    if (!(pre.test_crop_pct > 0 && pre.test_crop_pct <= 1)) where.fail("preprocessing.test_crop_pct", "must be in (0, 1]");
  }
  if (value.contains("crop_mode"))
    pre.crop_mode = get_choice(where, "preprocessing.crop_mode", value["crop_mode"], {"center", "squash", "border"});
  if (value.contains("interpolation"))
    pre.interpolation = get_choice(where, "preprocessing.interpolation", value["interpolation"],
                                   {"bilinear", "bicubic", "nearest", "box", "hamming", "lanczos"});
  if (value.contains("num_classes")) pre.num_classes = get_integer(where, "preprocessing.num_classes", value["num_classes"], 1);
  if (value.contains("label_set")) pre.label_set = get_string(where, "preprocessing.label_set", value["label_set"]);
  if (value.contains("label_names")) {
    pre.label_names = get_string_list(where, "preprocessing.label_names", value["label_names"]);
    if (pre.num_classes && int64_t(pre.label_names.size()) != pre.num_classes)
      where.fail("preprocessing.label_names", "has " + std::to_string(pre.label_names.size()) +
                                                  " names but num_classes is " + std::to_string(pre.num_classes));
  }
  return pre;
}

const std::vector<std::string> kEntryKeys = {
    "name", "aliases", "description", "tags", "task", "family", "source", "files", "verify",
    "format", "opset", "onnx_version", "inputs", "outputs", "extra_ports", "preprocessing",
    "license", "homepage", "parent"};

CatalogueEntry read_entry(const std::string& origin, size_t index, const json& value,
                          const std::filesystem::path& base_dir) {
  Where where{origin, "entry #" + std::to_string(index + 1)};
  expect_object(where, "", value);
  if (!value.contains("name")) where.fail("name", "missing; every entry needs a unique name");
  CatalogueEntry entry;
  entry.name = get_string(where, "name", value["name"]);
  check_model_name(where, "name", entry.name);
  where.entry = "entry '" + entry.name + "'";
  reject_unknown_keys(where, "", value, kEntryKeys);
  entry.origin = origin;
  entry.base_dir = base_dir;

  auto optional_string = [&](const char* key) {
    return value.contains(key) ? get_string(where, key, value[key]) : std::string();
  };
  if (value.contains("aliases")) {
    entry.aliases = get_string_list(where, "aliases", value["aliases"]);
    for (size_t i = 0; i < entry.aliases.size(); ++i)
      check_model_name(where, "aliases[" + std::to_string(i) + "]", entry.aliases[i]);
  }
  if (value.contains("tags")) entry.tags = get_string_list(where, "tags", value["tags"]);
  entry.description = optional_string("description");
  entry.task = optional_string("task");
  entry.family = optional_string("family");
  entry.onnx_version = optional_string("onnx_version");
  entry.license = optional_string("license");
  entry.homepage = optional_string("homepage");
  if (!entry.homepage.empty()) check_http_url(where, "homepage", entry.homepage);
  entry.parent = optional_string("parent");
  if (!entry.parent.empty()) check_model_name(where, "parent", entry.parent);
  if (entry.parent == entry.name && !entry.parent.empty()) where.fail("parent", "an entry cannot be its own parent");

  if (!value.contains("format")) where.fail("format", "missing; one of 'onnx', 'safetensors', 'pytorch', 'tar.gz'");
  entry.format = get_choice(where, "format", value["format"], {"onnx", "safetensors", "pytorch", "tar.gz"});
  if (value.contains("opset")) entry.opset = get_integer(where, "opset", value["opset"], 1);

  if (!value.contains("source")) where.fail("source", "missing; where the files come from (kind hf, url or bundled)");
  entry.source = read_source(where, value["source"]);
  std::string main_file = entry.source.kind == SourceKind::url ? url_file_name(entry.source.url) : entry.source.path;

  if (value.contains("files")) {
    const json& files = get_array(where, "files", value["files"]);
    for (size_t i = 0; i < files.size(); ++i)
      entry.files.push_back(read_file(where, "files[" + std::to_string(i) + "]", files[i]));
    if (entry.files.empty() || entry.files[0].path != main_file)
      where.fail("files", "files[0] must be the main file '" + main_file + "'");
    std::set<std::string> seen;
    for (size_t i = 0; i < entry.files.size(); ++i)
      if (!seen.insert(entry.files[i].path).second)
        where.fail("files[" + std::to_string(i) + "].path", "'" + entry.files[i].path + "' is listed twice");
    if (entry.files[0].optional) where.fail("files[0].optional", "the main file cannot be optional");
  } else {
    FileSpec main;
    main.path = main_file;
    entry.files.push_back(main);
  }

  // Without a sha256 in the catalogue only the hub's own checksum (X-Linked-Etag) can vouch for
  // the bytes, and only a 'hf' source has one.
  bool every_required_has_sha = true;
  for (const auto& file : entry.files)
    if (!file.optional && file.sha256.empty()) every_required_has_sha = false;
  if (value.contains("verify")) {
    std::string verify = get_choice(where, "verify", value["verify"], {"sha256", "hub-etag"});
    entry.verify = verify == "sha256" ? Verification::sha256 : Verification::hub_etag;
  } else {
    entry.verify = every_required_has_sha ? Verification::sha256 : Verification::hub_etag;
  }
  if (entry.verify == Verification::sha256) {
    for (size_t i = 0; i < entry.files.size(); ++i)
      if (!entry.files[i].optional && entry.files[i].sha256.empty())
        where.fail("files[" + std::to_string(i) + "].sha256",
                   "missing; verify 'sha256' needs every required file's sha256 (or use verify 'hub-etag' for a hf source)");
  } else if (entry.source.kind != SourceKind::hf) {
    where.fail("verify", "'hub-etag' works only for a 'hf' source; give every file's sha256 instead");
  }

  if (value.contains("inputs")) entry.inputs = read_ports(where, "inputs", value["inputs"]);
  if (value.contains("outputs")) entry.outputs = read_ports(where, "outputs", value["outputs"]);
  if (value.contains("extra_ports")) {
    expect_object(where, "extra_ports", value["extra_ports"]);
    for (auto item = value["extra_ports"].begin(); item != value["extra_ports"].end(); ++item)
      entry.extra_ports[item.key()] = read_ports(where, "extra_ports." + item.key(), item.value());
  }
  if (value.contains("preprocessing")) entry.preprocessing = read_preprocessing(where, value["preprocessing"]);
  return entry;
}

// nlohmann reports a byte offset; people want line and column.
std::string line_and_column(std::string_view text, size_t byte) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') ++line, column = 1;
    else ++column;
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

Catalogue parse_catalogue(std::string_view json_text, const std::string& origin,
                          const std::filesystem::path& base_dir) {
  json document;
  // nlohmann keeps the last of repeated keys silently; in a catalogue a second "sha256" would
  // quietly replace the first, so repeated keys are rejected while parsing.
  std::vector<std::set<std::string>> keys_per_object;
  std::string repeated_key;
  auto track_keys = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys_per_object.emplace_back();
    else if (event == json::parse_event_t::object_end && !keys_per_object.empty()) keys_per_object.pop_back();
    else if (event == json::parse_event_t::key && !keys_per_object.empty() && repeated_key.empty() &&
             !keys_per_object.back().insert(parsed.get<std::string>()).second)
      repeated_key = parsed.get<std::string>();
    return true;
  };
  try {
    document = json::parse(json_text.begin(), json_text.end(), track_keys);
  } catch (const json::parse_error& error) {
    throw Error(ErrorCategory::format, origin + ": not valid JSON near " + line_and_column(json_text, error.byte) +
                                           " (" + error.what() + "); fix the file or leave it out");
  } catch (const json::exception& error) {  // e.g. a number too large for any C++ type
    throw Error(ErrorCategory::format, origin + ": not valid JSON (" + error.what() + "); fix the file or leave it out");
  }
  if (!repeated_key.empty())
    throw Error(ErrorCategory::format, origin + ": key '" + repeated_key +
                                           "' appears twice in one object; each key may appear once");
  Where where{origin, ""};
  expect_object(where, "", document);
  reject_unknown_keys(where, "", document, {"schema_version", "description", "repo_overrides", "models"});
  if (!document.contains("schema_version")) where.fail("schema_version", "missing; this mhub reads schema_version 1");
  int64_t version = get_integer(where, "schema_version", document["schema_version"], 1);
  if (version != 1) where.fail("schema_version", std::to_string(version) + " is newer than this mhub reads (1); update mhub");
  if (!document.contains("models")) where.fail("models", "missing; the list of entries");

  Catalogue catalogue;
  catalogue.origins.push_back(origin);
  if (document.contains("repo_overrides")) {
    const json& overrides = document["repo_overrides"];
    expect_object(where, "repo_overrides", overrides);
    for (auto item = overrides.begin(); item != overrides.end(); ++item) {
      std::string field = "repo_overrides." + item.key();
      check_repo_id(where, field, item.key());
      expect_object(where, field, item.value());
      reject_unknown_keys(where, field + ".", item.value(), {"repo", "endpoint"});
      RepoOverride override;
      if (item.value().contains("repo")) {
        override.repo = get_string(where, field + ".repo", item.value()["repo"]);
        check_repo_id(where, field + ".repo", override.repo);
      }
      if (item.value().contains("endpoint")) {
        override.endpoint = get_string(where, field + ".endpoint", item.value()["endpoint"]);
        check_http_url(where, field + ".endpoint", override.endpoint);
      }
      if (override.repo.empty()) override.repo = item.key();
      catalogue.repo_overrides[item.key()] = override;
    }
  }
  const json& models = get_array(where, "models", document["models"]);
  for (size_t i = 0; i < models.size(); ++i) catalogue.entries.push_back(read_entry(origin, i, models[i], base_dir));
  check_unique_names(catalogue.entries);
  return catalogue;
}

Catalogue load_catalogue(const std::filesystem::path& path) {
  std::string text = read_whole_file(path);
  std::filesystem::path base = path.parent_path();
  if (base.empty()) base = ".";
  return parse_catalogue(text, path.string(), std::filesystem::absolute(base));
}

}  // namespace mhub::registry
