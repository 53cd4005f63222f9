// mhub board --logdir DIR [--port 6006] [--host 127.0.0.1]
#include <cstdio>
#include <filesystem>
#include <memory>

#include "board/server.h"
#include "cli/commands.h"
#include "common/error.h"
#include "hub/cache.h"

namespace mhub::cli {

void add_board(CLI::App& app) {
  struct BoardCli {
    std::string logdir, host = "127.0.0.1";
    int port = 6006;
  };
  auto cli = std::make_shared<BoardCli>();
  CLI::App* command = app.add_subcommand(
      "board",
      "A local web page of training runs and models: the runs under --logdir (finetune --logdir folders and sweeps) in a "
      "sortable table, their loss / accuracy / learning-rate curves overlaid and updated while they train, each "
      "sweep's metric against its parameters, and a page for every .onnx under --logdir or in the model cache.");
  command->add_option("--logdir", cli->logdir, "The folder whose runs and sweeps to show")->required();
  command->add_option("--port", cli->port, "TCP port (0: any free one; the address is printed)")->capture_default_str()->check(CLI::Range(0, 65535));
  command->add_option("--host", cli->host, "Address to listen on; other than 127.0.0.1 exposes your runs to the network")->capture_default_str();
  command->callback([cli] {
    std::error_code ec;
    if (!std::filesystem::is_directory(cli->logdir, ec))
      throw Error(ErrorCategory::io, cli->logdir + ": not a folder (--logdir names the folder holding your runs)");
    board::BoardOptions options;
    options.logdir = std::filesystem::weakly_canonical(std::filesystem::absolute(cli->logdir));
    options.cache = hub::default_cache_dir();
    options.host = cli->host;
    options.port = cli->port;
    board::BoardServer server(options);
    const int port = server.bind();
    const bool v6 = cli->host.find(':') != std::string::npos;
    std::printf("mhub board: http://%s%s%s:%d/ (runs under %s; Ctrl-C stops it)\n", v6 ? "[" : "", cli->host.c_str(), v6 ? "]" : "", port,
                options.logdir.c_str());
    std::fflush(stdout);
    server.serve();
  });
}

}  // namespace mhub::cli
