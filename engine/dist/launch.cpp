#include "engine/dist/launch.h"

#include <cerrno>
#include <cstdlib>

#include "common/error.h"

namespace mhub::dist {
namespace {

constexpr long kMaxRanks = 1L << 20;

// The variable as an integer in [low, high]; `fallback` when unset. Environment values are
// untrusted text: anything but a plain decimal in range is an error naming the variable.
int integer_variable(const std::function<const char*(const char*)>& lookup, const char* name, long low, long high, int fallback) {
  const char* text = lookup(name);
  if (!text) return fallback;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < low || value > high)
    throw Error(ErrorCategory::usage, std::string("environment variable ") + name + "='" + std::string(text).substr(0, 32) +
                                          "' is not an integer in [" + std::to_string(low) + ", " + std::to_string(high) +
                                          "]; the launcher (mpirun, srun) sets it");
  return static_cast<int>(value);
}

}  // namespace

Launch detect_launch(const std::function<const char*(const char*)>& given) {
  const std::function<const char*(const char*)> lookup = given ? given : [](const char* name) -> const char* { return std::getenv(name); };
  struct Scheme {
    const char* launcher;
    const char* rank;
    const char* size;
    const char* local_rank;
  };
  // Open MPI first: under srun + Open MPI both sets exist and agree; Open MPI's are MPI's own.
  const Scheme schemes[] = {{"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
                            {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
                            {"pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"}};
  for (const auto& s : schemes) {
    if (!lookup(s.rank) || !lookup(s.size)) continue;
    Launch launch;
    launch.launcher = s.launcher;
    launch.size = integer_variable(lookup, s.size, 1, kMaxRanks, 1);
    launch.rank = integer_variable(lookup, s.rank, 0, launch.size - 1, 0);
    launch.local_rank = integer_variable(lookup, s.local_rank, 0, launch.size - 1, 0);
    return launch;
  }
  return {};
}

}  // namespace mhub::dist
