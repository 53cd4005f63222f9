#include "hub/http.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <thread>

#include "common/error.h"

namespace mhub::hub {

void curl_check(CURLcode code, const char* call, const char* file, int line) {
  if (code == CURLE_OK) return;
  throw_error(ErrorCategory::internal, std::string(file) + ":" + std::to_string(line) + ": " + call +
                                           " failed: " + curl_easy_strerror(code));
}

void curlm_check(CURLMcode code, const char* call, const char* file, int line) {
  if (code == CURLM_OK) return;
  throw_error(ErrorCategory::internal, std::string(file) + ":" + std::to_string(line) + ": " + call +
                                           " failed: " + curl_multi_strerror(code));
}

void ensure_curl_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { CURL_CHECK(curl_global_init(CURL_GLOBAL_DEFAULT)); });
}

std::string HttpResponse::header(const std::string& lower_name) const {
  auto found = headers.find(lower_name);
  return found == headers.end() ? std::string() : found->second;
}

std::string origin_of(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "";
  size_t host_end = url.find_first_of("/?#", scheme_end + 3);
  std::string origin = url.substr(0, host_end);
  std::transform(origin.begin(), origin.end(), origin.begin(), [](unsigned char c) { return std::tolower(c); });
  return origin;
}

std::string resolve_location(const std::string& base, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  if (location.rfind("//", 0) == 0) return base.substr(0, base.find("://") + 1) + location;
  if (!location.empty() && location[0] == '/') return origin_of(base) + location;
  // Relative to the base's folder.
  std::string without_query = base.substr(0, base.find_first_of("?#"));
  return without_query.substr(0, without_query.rfind('/') + 1) + location;
}

bool is_relative_location(const std::string& location) {
  // A scheme is letters, digits, '+', '-', '.' before the first ':', and no '/' comes first.
  size_t colon = location.find(':');
  size_t slash = location.find('/');
  bool has_scheme = colon != std::string::npos && (slash == std::string::npos || colon < slash);
  return !has_scheme && location.rfind("//", 0) != 0;
}

std::string mask_secrets(std::string text, const HttpConfig& config) {
  if (config.token.empty()) return text;
  for (size_t at = text.find(config.token); at != std::string::npos; at = text.find(config.token, at))
    text.replace(at, config.token.size(), "***");
  return text;
}

double parse_retry_after(const std::string& value) {
  if (value.empty()) return -1;
  char* end = nullptr;
  double seconds = std::strtod(value.c_str(), &end);
  if (end != value.c_str() && *end == '\0') return seconds < 0 ? -1 : seconds;
  std::tm when{};
  if (strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &when) == nullptr) return -1;
  double delta = std::difftime(timegm(&when), std::time(nullptr));
  return delta < 0 ? 0 : delta;
}

std::string url_encode(const std::string& text, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

double backoff_seconds(const HttpConfig& config, int failures) {
  double wait = config.backoff_initial_s;
  for (int i = 1; i < failures && wait < config.backoff_max_s; ++i) wait *= 2;
  return std::min(wait, config.backoff_max_s);
}

bool is_retryable_status(long status) { return status == 408 || status == 429 || status >= 500; }

void apply_common_options(CURL* easy, const HttpConfig& config) {
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_USERAGENT, config.user_agent.c_str()));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, config.connect_timeout_s));
  // Stall detection: below 1 byte/s for stall_timeout_s seconds aborts the transfer.
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, config.stall_timeout_s));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https"));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
  std::string cacert = config.cacert;
  if (cacert.empty())
    if (const char* env = std::getenv("SSL_CERT_FILE")) cacert = env;
  if (!cacert.empty()) CURL_CHECK(curl_easy_setopt(easy, CURLOPT_CAINFO, cacert.c_str()));
}

namespace {

size_t collect_body(char* data, size_t size, size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

size_t collect_header(char* data, size_t size, size_t count, void* target) {
  auto* response = static_cast<HttpResponse*>(target);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) response->headers.clear();  // a new response (after 100 Continue)
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t begin = line.find_first_not_of(" \t", colon + 1);
    size_t end = line.find_last_not_of(" \t\r\n");
    response->headers[name] = begin == std::string::npos || end < begin ? "" : line.substr(begin, end - begin + 1);
  }
  return size * count;
}

// One attempt, no redirects followed. Returns the curl result; `response` holds what came.
CURLcode perform_once(const HttpConfig& config, const std::string& method, const std::string& url,
                      bool send_token, HttpResponse& response, std::string& curl_message) {
  CURL* easy = curl_easy_init();
  if (!easy) throw_error(ErrorCategory::internal, __FILE__ ": curl_easy_init returned null");
  struct Cleanup {
    CURL* easy;
    curl_slist* headers = nullptr;
    ~Cleanup() {
      curl_slist_free_all(headers);
      curl_easy_cleanup(easy);
    }
  } cleanup{easy};
  char error_buffer[CURL_ERROR_SIZE] = {0};
  apply_common_options(easy, config);
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_URL, url.c_str()));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L));
  if (method == "HEAD") CURL_CHECK(curl_easy_setopt(easy, CURLOPT_NOBODY, 1L));
  else if (method != "GET") throw_error(ErrorCategory::internal, __FILE__ ": unsupported method " + method);
  // Sizes and etags must describe the stored bytes, not a compressed transfer.
  cleanup.headers = curl_slist_append(cleanup.headers, "Accept-Encoding: identity");
  std::string authorization = "Authorization: Bearer " + config.token;
  if (send_token && !config.token.empty())
    cleanup.headers = curl_slist_append(cleanup.headers, authorization.c_str());
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_HTTPHEADER, cleanup.headers));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, collect_header));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_HEADERDATA, &response));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect_body));
  CURL_CHECK(curl_easy_setopt(easy, CURLOPT_WRITEDATA, &response.body));
  CURLcode result = curl_easy_perform(easy);
  CURL_CHECK(curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status));
  response.url = url;
  curl_message = error_buffer[0] ? error_buffer : curl_easy_strerror(result);
  return result;
}

bool is_permanent_curl_failure(CURLcode code) {
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_HOST:
      return true;
    default:
      return false;
  }
}

}  // namespace

HttpResponse http_request(const HttpConfig& config, const std::string& method, const std::string& start_url,
                          RedirectRule rule) {
  if (config.offline)
    throw_error(ErrorCategory::network, "offline mode (--offline or HF_HUB_OFFLINE=1): refusing to fetch " +
                                            mask_secrets(start_url, config));
  ensure_curl_initialized();
  const std::string token_origin = origin_of(config.endpoint);
  std::string url = start_url;
  bool token_allowed = origin_of(url) == token_origin;
  int failures = 0;
  for (int redirects = 0; redirects <= 10;) {
    HttpResponse response;
    std::string curl_message;
    CURLcode result = perform_once(config, method, url, token_allowed, response, curl_message);
    bool retry = false;
    double wait = -1;
    std::string problem;
    if (result != CURLE_OK) {
      problem = curl_message;
      if (is_permanent_curl_failure(result))
        throw_error(ErrorCategory::network, mask_secrets(method + " " + url + ": " + problem, config) +
                                                (result == CURLE_PEER_FAILED_VERIFICATION
                                                     ? "; pass the server's CA with --cacert FILE or SSL_CERT_FILE"
                                                     : ""));
      retry = true;
    } else if (is_retryable_status(response.status)) {
      problem = "HTTP " + std::to_string(response.status);
      retry = true;
      wait = parse_retry_after(response.header("retry-after"));
    }
    if (retry) {
      ++failures;
      if (failures >= config.max_attempts)
        throw_error(ErrorCategory::network, mask_secrets(method + " " + url + ": " + problem + " (gave up after " +
                                                             std::to_string(failures) + " attempts)",
                                                         config) +
                                                "; check the connection or try again later");
      if (wait < 0) wait = backoff_seconds(config, failures);
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(wait, config.retry_after_max_s)));
      continue;
    }
    bool is_redirect = response.status == 301 || response.status == 302 || response.status == 303 ||
                       response.status == 307 || response.status == 308;
    std::string location = response.header("location");
    if (!is_redirect || location.empty()) return response;
    if (rule == RedirectRule::stop_at_absolute && !is_relative_location(location)) return response;
    std::string next = resolve_location(url, location);
    // Never carry the token to another host, nor back after it left once.
    token_allowed = token_allowed && origin_of(next) == token_origin;
    url = next;
    ++redirects;
  }
  throw_error(ErrorCategory::network, mask_secrets(method + " " + start_url, config) + ": more than 10 redirects");
}

}  // namespace mhub::hub
