#include "hub/hf_protocol.h"

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace mhub::hub {

std::string resolve_url(const std::string& endpoint, const std::string& repo, const std::string& revision,
                        const std::string& path) {
  // A revision such as "refs/pr/1" is one path segment on the wire, so its '/' is encoded.
  return endpoint + "/" + repo + "/resolve/" + url_encode(revision, false) + "/" + url_encode(path, true);
}

std::string normalize_etag(const std::string& value) {
  std::string etag = value;
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

bool is_commit_hash(const std::string& revision) {
  if (revision.size() != 40) return false;
  for (char c : revision)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

void check_repo_id(const std::string& repo) {
  bool ok = !repo.empty() && repo.size() <= 200 && repo.find("..") == std::string::npos && repo.front() != '/' &&
            repo.back() != '/';
  int slashes = 0;
  for (char c : repo) {
    if (c == '/') ++slashes;
    else if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') ok = false;
  }
  if (!ok || slashes > 1)
    throw_error(ErrorCategory::usage, "'" + repo + "' is not a Hugging Face repo id; write it as ORG/NAME, e.g. "
                                               "timm/resnet50.a1_in1k");
}

namespace {

// Turns a failed Hub answer into an error that says what happened and what to do. `path` is
// the file asked for (empty for the repo listing).
[[noreturn]] void throw_hub_error(const HttpConfig& config, const HttpResponse& response, const std::string& repo,
                                  const std::string& revision, const std::string& path) {
  std::string code = response.header("x-error-code");
  std::string server_message = response.header("x-error-message");
  std::string detail = server_message.empty() ? "" : " (server: " + server_message + ")";
  std::string where = mask_secrets(response.url, config);
  std::string what = path.empty() ? "the file list of '" + repo + "' at revision '" + revision + "'"
                                  : "'" + path + "' in '" + repo + "' at revision '" + revision + "'";
  if (code == "RepoNotFound")
    throw_error(ErrorCategory::not_found,
                "repository '" + repo + "' not found at " + config.endpoint + " (asked for " + what + ")" + detail +
                    (config.token.empty() ? "; check the name, or set HF_TOKEN if it is private"
                                          : "; check the name, or whether the token has access to it"));
  if (code == "RevisionNotFound")
    throw_error(ErrorCategory::not_found, "revision '" + revision + "' not found in '" + repo + "' (asked for " + what +
                                              ")" + detail + "; use a branch, tag or commit hash that exists");
  if (code == "GatedRepo")
    throw_error(ErrorCategory::network, "'" + repo + "' is gated" + detail + "; accept its terms on the Hub" +
                                            (config.token.empty() ? ", then set HF_TOKEN" : " with the token's account"));
  if (response.status == 404)
    throw_error(ErrorCategory::not_found, "not found: " + what + " (HTTP 404 from " + where + ")" + detail +
                                              "; check the repo, revision and file name");
  if (response.status == 401 || response.status == 403)
    throw_error(ErrorCategory::network,
                "HTTP " + std::to_string(response.status) + " for " + what + " from " + where + detail +
                    (config.token.empty() ? "; the server wants a token: set HF_TOKEN (or $HF_HOME/token) to one with access"
                                          : "; the token given (HF_TOKEN or $HF_HOME/token) lacks access to '" + repo + "'"));
  throw_error(ErrorCategory::network,
              "HTTP " + std::to_string(response.status) + " for " + where + detail + "; try again later");
}

uint64_t parse_size(const std::string& text, const std::string& url) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    throw_error(ErrorCategory::format, url + ": the server sent no usable file size (X-Linked-Size / "
                                             "Content-Length: '" + text + "')");
  return std::stoull(text);
}

}  // namespace

FileMetadata fetch_file_metadata(const HttpConfig& config, const std::string& repo, const std::string& revision,
                                 const std::string& path) {
  std::string url = resolve_url(config.endpoint, repo, revision, path);
  HttpResponse response = http_request(config, "HEAD", url, RedirectRule::stop_at_absolute);
  FileMetadata metadata;
  metadata.commit = response.header("x-repo-commit");
  if (response.status == 404 && response.header("x-error-code") == "EntryNotFound") {
    metadata.exists = false;
    return metadata;
  }
  bool redirect = response.status >= 300 && response.status < 400;
  if (!(response.status >= 200 && response.status < 300) && !redirect)
    throw_hub_error(config, response, repo, revision, path);
  std::string linked_etag = response.header("x-linked-etag");
  metadata.etag = normalize_etag(linked_etag.empty() ? response.header("etag") : linked_etag);
  std::string linked_size = response.header("x-linked-size");
  std::string where = mask_secrets(response.url, config);
  metadata.size = parse_size(linked_size.empty() ? response.header("content-length") : linked_size, where);
  metadata.download_url = redirect ? resolve_location(response.url, response.header("location")) : response.url;
  if (metadata.commit.empty())
    throw_error(ErrorCategory::format, where + ": no X-Repo-Commit header; is " + config.endpoint +
                                           " a Hugging Face hub? (set --endpoint / HF_ENDPOINT)");
  if (metadata.etag.empty())
    throw_error(ErrorCategory::format, where + ": no ETag or X-Linked-Etag header; cannot verify the file");
  return metadata;
}

RepoListing parse_repo_listing(const std::string& json_text, const std::string& source) {
  nlohmann::json json = nlohmann::json::parse(json_text, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    throw_error(ErrorCategory::format, source + ": the repo listing is not a JSON object");
  RepoListing listing;
  if (!json.contains("sha") || !json["sha"].is_string())
    throw_error(ErrorCategory::format, source + ": field 'sha' missing or not a string");
  listing.commit = json["sha"].get<std::string>();
  if (!json.contains("siblings") || !json["siblings"].is_array())
    throw_error(ErrorCategory::format, source + ": field 'siblings' missing or not an array");
  for (size_t i = 0; i < json["siblings"].size(); ++i) {
    const auto& sibling = json["siblings"][i];
    if (!sibling.is_object() || !sibling.contains("rfilename") || !sibling["rfilename"].is_string())
      throw_error(ErrorCategory::format,
                  source + ": field 'siblings[" + std::to_string(i) + "].rfilename' missing or not a string");
    listing.files.push_back(sibling["rfilename"].get<std::string>());
  }
  return listing;
}

RepoListing fetch_repo_listing(const HttpConfig& config, const std::string& repo, const std::string& revision) {
  std::string url = config.endpoint + "/api/models/" + repo + "/revision/" + url_encode(revision, false);
  HttpResponse response = http_request(config, "GET", url, RedirectRule::follow);
  if (response.status != 200) throw_hub_error(config, response, repo, revision, "");
  return parse_repo_listing(response.body, mask_secrets(url, config));
}

}  // namespace mhub::hub
