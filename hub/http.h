// HTTP for hub/: thin, checked wrappers over libcurl.
//
// Contracts:
// - Every curl call goes through CURL_CHECK / CURLM_CHECK: a failing setopt or multi call is a bug
//   and throws mhub::Error(internal) naming the source file and line.
// - Transfers that fail (connection, TLS, HTTP status) throw mhub::Error(network) whose message
//   names the URL and never contains the token (see mask_secrets).
// - In offline mode no request is ever made: http_request throws before touching the network.
// - Proxies come from the environment (libcurl reads http_proxy / https_proxy / no_proxy itself).
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <map>
#include <string>

namespace mhub::hub {

void curl_check(CURLcode code, const char* call, const char* file, int line);
void curlm_check(CURLMcode code, const char* call, const char* file, int line);
#define CURL_CHECK(call) ::mhub::hub::curl_check((call), #call, __FILE__, __LINE__)
#define CURLM_CHECK(call) ::mhub::hub::curlm_check((call), #call, __FILE__, __LINE__)

struct HttpConfig {
  std::string endpoint = "https://huggingface.co";  // no trailing slash
  std::string token;          // sent as "Authorization: Bearer" only to the endpoint's host
  std::string cacert;         // PEM CA bundle; empty: SSL_CERT_FILE, else the system store
  long connect_timeout_s = 10;
  long stall_timeout_s = 20;  // a transfer that receives nothing for this long is cut and retried
  int max_attempts = 5;       // per request / per chunk, counting the first
  double backoff_initial_s = 0.25;  // doubled per attempt, capped at backoff_max_s
  double backoff_max_s = 8;
  double retry_after_max_s = 60;    // a server's Retry-After beyond this is clamped
  bool offline = false;
  std::string user_agent = "mhub/0.1";
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string body;
  std::string url;  // the URL that produced this response (after redirects that were followed)

  std::string header(const std::string& lower_name) const;
};

// How http_request treats 3xx answers.
// - stop_at_absolute (the Hub's resolve HEAD, as huggingface_hub's follow_relative_redirects):
//   a relative Location (a renamed repo on the same Hub) is followed; the response of an
//   absolute one (the CDN, or the same host as a mirror writes it) is returned itself: it carries
//   the file's metadata, its Location the download URL.
// - follow: every redirect is followed; the token goes only to the endpoint's host (dropped for
//   another host, and not sent again after the chain left it once).
enum class RedirectRule { stop_at_absolute, follow };

// One request with retries (408/429/5xx and connection errors, honouring Retry-After) and the
// redirect rule above. Returns any final response, also 4xx: the caller maps statuses.
HttpResponse http_request(const HttpConfig& config, const std::string& method, const std::string& url,
                          RedirectRule rule);

// "scheme://host:port" of a URL, lower-cased; empty when the URL has no host.
std::string origin_of(const std::string& url);
// Resolves a Location header against the URL it came from (absolute, //host, /path or relative).
std::string resolve_location(const std::string& base, const std::string& location);
// True when a Location names no scheme and no host ("/path" or "path"): it stays on the server.
bool is_relative_location(const std::string& location);
// The text with the token replaced by "***" (tokens never reach messages or logs).
std::string mask_secrets(std::string text, const HttpConfig& config);
// Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); negative if unparsable.
double parse_retry_after(const std::string& value);
// Percent-encodes one path segment (keeps unreserved characters, and '/' when keep_slash).
std::string url_encode(const std::string& text, bool keep_slash);
// The backoff before attempt `attempt` (1-based count of failures so far).
double backoff_seconds(const HttpConfig& config, int failures);
// True for statuses worth retrying: 408, 429 and 5xx.
bool is_retryable_status(long status);

// Sets what every easy handle shares: TLS (CA bundle), timeouts, user agent, proxy from env.
void apply_common_options(CURL* easy, const HttpConfig& config);

// Process-wide curl_global_init, done once.
void ensure_curl_initialized();

}  // namespace mhub::hub
