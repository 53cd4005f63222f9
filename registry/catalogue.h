// The model catalogue: what mhub knows about models by name (models.json, docs/CATALOGUE.md).
//
// A catalogue is a list of entries. Each entry says where a model's files come from (a Hugging
// Face repo + revision, a URL, or a file bundled in the mhub repo), which files make it up (with
// sha256 and size when known), and what a user needs to run it (format, opset, io ports,
// preprocessing, labels). The shipped catalogue is embedded in the binary; users layer their own
// files on top (`--catalogue FILE`, env MHUB_CATALOGUE), later layers replacing entries of the
// same name.
//
// Contracts:
// - Parsing validates everything; a bad catalogue throws mhub::Error(format) whose message names
//   the file, the entry and the field, e.g.
//   "models.json: entry 'resnet50': field 'files[0].sha256': expected 64 hex digits".
// - Lookups that fail throw mhub::Error(usage) with the closest names and a hint to `mhub search`.
// - Depends on common/ only. Never prints, never touches the network.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mhub::registry {

// Where an entry's files come from.
enum class SourceKind {
  hf,       // a Hugging Face repo: repo + revision; file paths are paths inside the repo
  url,      // a plain HTTP(S) URL: `url` is the main file; other files' paths resolve against
            // the URL's folder (everything up to and including its last '/')
  bundled,  // a file in the mhub checkout: paths relative to the catalogue's base folder
};
const char* source_kind_name(SourceKind kind);  // "hf", "url", "bundled"

struct SourceSpec {
  SourceKind kind = SourceKind::hf;
  std::string repo;      // hf: "org/name" (after repo_overrides are applied)
  std::string revision;  // hf: branch, tag or commit; "main" when the catalogue gives none
  std::string endpoint;  // hf: base URL of the hub ("https://huggingface.co"); empty = hub's default
                         //     (HF_ENDPOINT or huggingface.co). Set by repo_overrides or the entry.
  std::string path;      // hf/bundled: the main file (the model itself), also listed in `files`
  std::string url;       // url: the main file's URL
};

// How the files' bytes are checked after download.
enum class Verification {
  sha256,   // every required file has sha256 (and usually size) in the catalogue
  hub_etag, // no sha256 in the catalogue: the hub's X-Linked-Etag (the LFS sha256) is checked at
            // pull time; used for well-known HF checkpoints that change with their repo
};
const char* verification_name(Verification v);  // "sha256", "hub-etag"

struct FileSpec {
  std::string path;    // relative to the source root (see SourceKind); never absolute, no ".."
  std::string sha256;  // 64 lowercase hex digits, or empty when unknown
  int64_t size = -1;   // bytes, -1 when unknown
  bool lfs = false;    // stored through Git LFS on the hub (X-Linked-Etag is its sha256)
  bool optional = false;  // not pulled by default (e.g. the zoo's model+test-data .tar.gz)
};

// One dimension of a port's shape: a fixed size, a symbolic name, or unknown.
struct Dim {
  int64_t value = -1;  // >= 0 for a fixed size
  std::string symbol;  // non-empty for a named (dynamic) dimension
  bool known() const { return value >= 0 || !symbol.empty(); }
};

// As the ONNX model zoo manifest writes them: type like "tensor(float)", may be empty for
// extra ports that the manifest lists without a type.
struct IoPort {
  std::string name;
  std::string type;
  std::vector<Dim> shape;
  bool has_shape = false;  // false: the manifest gave no shape at all
};

// Like timm's pretrained config. Empty/zero fields mean "not stated".
struct Preprocessing {
  std::vector<int64_t> input_size;  // e.g. {3, 224, 224} (C, H, W) or {1, 28, 28}
  std::vector<int64_t> test_input_size;  // timm: a larger size that evaluates better, if any
  double test_crop_pct = 0;              // crop_pct to use with test_input_size
  std::vector<double> mean;         // per channel, applied after scaling pixels to [0, 1]
  std::vector<double> std;          // per channel
  double crop_pct = 0;              // e.g. 0.875: resize to size / crop_pct, then crop
  std::string crop_mode;            // "center", "squash", "border"
  std::string interpolation;        // "bilinear", "bicubic", "nearest"
  int64_t num_classes = 0;
  std::string label_set;            // a named label list, e.g. "imagenet-1k"
  std::vector<std::string> label_names;  // inline label names (index = class id)
  bool present = false;             // the entry had a "preprocessing" object
};

struct CatalogueEntry {
  std::string name;                  // unique across the catalogue; no '@', spaces or glob chars
  std::vector<std::string> aliases;  // also unique across names and aliases
  std::string description;
  std::vector<std::string> tags;
  std::string task;                  // e.g. "image-classification"
  std::string family;                // e.g. "resnet"
  SourceSpec source;
  std::vector<FileSpec> files;       // files[0] is the main file (== source.path / url's file)
  Verification verify = Verification::sha256;
  std::string format;                // "onnx", "safetensors", "pytorch", "tar.gz"
  int64_t opset = 0;                 // 0 = unknown / not ONNX
  std::string onnx_version;          // ONNX release the model was exported with, if known
  std::vector<IoPort> inputs;
  std::vector<IoPort> outputs;
  std::map<std::string, std::vector<IoPort>> extra_ports;  // e.g. "features" (zoo manifest)
  Preprocessing preprocessing;
  std::string license;
  std::string homepage;
  std::string parent;                // name of the entry this one was fine-tuned from

  // Where the entry came from, for messages and to resolve bundled paths.
  std::string origin;                // catalogue file name as given ("models.json" when embedded)
  std::filesystem::path base_dir;    // folder that bundled paths are relative to
};

// A repo override from a catalogue's top level: entries whose source.repo == `from` use `repo`
// (and `endpoint` when non-empty) instead. Lets a mirror replace e.g. onnxmodelzoo/legacy_models.
struct RepoOverride {
  std::string repo;
  std::string endpoint;
};

struct Catalogue {
  std::vector<CatalogueEntry> entries;              // in file order (merge keeps first position)
  std::map<std::string, RepoOverride> repo_overrides;  // key: the repo id entries name
  std::vector<std::string> origins;                 // files this catalogue was built from
};

// Parse catalogue JSON. `origin` names the file in messages; `base_dir` is where bundled paths
// start. Throws mhub::Error(format) naming origin, entry and field.
Catalogue parse_catalogue(std::string_view json_text, const std::string& origin,
                          const std::filesystem::path& base_dir);
// Read and parse a file (base_dir = the file's folder). Throws io if unreadable.
Catalogue load_catalogue(const std::filesystem::path& path);
// The catalogue compiled into the binary from the repo's models.json. Bundled paths resolve
// against the source checkout mhub was built from (MHUB_SOURCE_DIR), or MHUB_BUNDLED_ROOT.
const Catalogue& builtin_catalogue();

// Layers later catalogues on earlier ones: an entry whose name equals an earlier entry's replaces
// it (in place); new entries are appended. Repo overrides accumulate (later wins) and are applied
// to every entry's source. Then checks the result: names and aliases unique, parents exist.
// Throws format naming the later file and entry on a clash.
Catalogue merge(const std::vector<Catalogue>& layers);

// builtin + each file of env MHUB_CATALOGUE (':'-separated) + each of `extra_files`, merged.
Catalogue load_effective_catalogue(const std::vector<std::filesystem::path>& extra_files);

// A request "name[@revision]" resolved against a catalogue.
struct ResolvedModel {
  const CatalogueEntry* entry = nullptr;  // points into the catalogue passed to resolve()
  SourceSpec source;                      // entry's source, revision replaced by @revision if given
  std::vector<FileSpec> files;            // entry's files; if @revision differs from the
                                          // catalogue's, sha256/size are cleared (they were
                                          // pinned to the catalogue's revision)
  Verification verify = Verification::sha256;  // hub_etag when sha256s were cleared
  bool revision_overridden = false;
};

// Split "name@rev" (rev may be empty => no override). Throws usage on "@" with nothing after.
std::pair<std::string, std::string> split_revision(std::string_view request);

// Find by exact name, then alias, then case-insensitive name/alias. Throws usage for unknown
// names ("unknown model 'resnt50'; did you mean: resnet50, ...? Try: mhub search resnt50") and
// for @revision on a non-hf source.
ResolvedModel resolve(const Catalogue& catalogue, std::string_view request);
const CatalogueEntry* find_entry(const Catalogue& catalogue, std::string_view name_or_alias);

// Shell-style glob: '*' any run, '?' one char, [abc] / [a-z] / [!a] classes. Case-insensitive.
bool glob_match(std::string_view pattern, std::string_view text);

// Entries matching the glob (against name and aliases; empty = all) and carrying tag `tag`
// (case-insensitive; empty = any), sorted by name.
std::vector<const CatalogueEntry*> list_entries(const Catalogue& catalogue, std::string_view glob,
                                                std::string_view tag);

struct SearchHit {
  const CatalogueEntry* entry = nullptr;
  double score = 0;          // higher = better
  std::string matched_field; // "name", "alias", "tag", "task", "family", "description"
};
// Ranked search of every word of `text` in name, aliases, tags, task, family, description.
// Per word: exact name > exact alias > name prefix > name substring > alias substring > tag >
// family > task > description; scores add up over the words.
// Every word must match somewhere. Best first; ties: shorter name first, then by name.
std::vector<SearchHit> search(const Catalogue& catalogue, std::string_view text);

// Closest names/aliases by edit distance (for "did you mean").
std::vector<std::string> closest_names(const Catalogue& catalogue, std::string_view name,
                                       size_t how_many);

// JSON form of an entry in the catalogue schema (the same keys parse_catalogue reads).
nlohmann::json to_json(const CatalogueEntry& entry);
nlohmann::json file_json(const FileSpec& file);  // {"path", "sha256"?, "size"?, "lfs"?, "optional"?}

}  // namespace mhub::registry
