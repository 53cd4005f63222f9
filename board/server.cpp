#include "board/server.h"

#include <httplib.h>

#include "board/assets.h"
#include "board/model_view.h"
#include "board/run_index.h"
#include "board/safe_path.h"
#include "common/error.h"

namespace mhub::board {
namespace fs = std::filesystem;
namespace {

void send_json(httplib::Response& res, const nlohmann::json& body) {
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

}  // namespace

struct BoardServer::Impl {
  BoardOptions options;
  httplib::Server server;
  int port = 0;

  // The Host header a browser sends for this server: loopback names with the bound port.
  bool host_header_ok(const httplib::Request& req) const {
    if (!is_loopback(options.host)) return true;  // bound to a public address on purpose
    const std::string host = req.get_header_value("Host");
    const std::string suffix = ":" + std::to_string(port);
    for (const char* name : {"127.0.0.1", "localhost", "[::1]"})
      if (host == std::string(name) + suffix || host == name) return true;
    return false;
  }

  void routes() {
    server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
      if (!host_header_ok(req)) {
        send_error(res, 403, "unexpected Host header");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (req.path.find("..") != std::string::npos || req.path.find('\\') != std::string::npos) {
        send_error(res, 403, "path refused");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      const Asset* page = find_asset("index.html");
      res.set_content(page->body, page->mime);
    });
    server.Get(R"(/assets/([A-Za-z0-9_][A-Za-z0-9._-]*))", [](const httplib::Request& req, httplib::Response& res) {
      const Asset* asset = find_asset(req.matches[1].str());
      if (!asset) return send_error(res, 404, "no such asset");
      res.set_content(asset->body, asset->mime);
    });
    server.Get("/api/runs", [this](const httplib::Request&, httplib::Response& res) { send_json(res, list_runs(options.logdir)); });
    server.Get("/api/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      const auto metrics = run_metrics(options.logdir, req.get_param_value("run"));
      if (!metrics) return send_error(res, 404, "no such run");
      send_json(res, *metrics);
    });
    server.Get("/api/models", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, list_models(options.logdir, options.cache));
    });
    server.Get("/api/model", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string root = req.get_param_value("root");
      const fs::path* base = root == "logdir" ? &options.logdir : root == "cache" ? &options.cache : nullptr;
      const std::string relative = req.get_param_value("path");
      const auto file = base && relative.ends_with(".onnx") ? resolve_under(*base, relative) : std::nullopt;
      if (!file || !fs::is_regular_file(*file)) return send_error(res, 404, "no such model");
      try {
        nlohmann::json view = describe_model(*file);
        view["root"] = root;
        view["path"] = relative;
        send_json(res, view);
      } catch (const Error& e) {
        send_error(res, 422, e.what());
      }
    });
    server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
      std::string message = "internal error";
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        message = e.what();
      } catch (...) {
      }
      send_error(res, 500, message);
    });
  }
};

BoardServer::BoardServer(BoardOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->routes();
}

BoardServer::~BoardServer() = default;

int BoardServer::bind() {
  Impl& s = *impl_;
  if (s.options.port == 0) {
    s.port = s.server.bind_to_any_port(s.options.host);
  } else {
    s.port = s.server.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1;
  }
  if (s.port <= 0)
    throw Error(ErrorCategory::io, "cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) +
                                       " (in use? try another --port, or --port 0 for any free one)");
  return s.port;
}

void BoardServer::serve() { impl_->server.listen_after_bind(); }
void BoardServer::stop() { impl_->server.stop(); }

}  // namespace mhub::board
