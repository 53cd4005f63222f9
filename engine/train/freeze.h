// Choosing which parameters train: `--freeze` takes comma-separated shell globs (* ? [..])
// matched against whole parameter names, e.g. "features.*,bn*.weight".
#pragma once

#include <string>
#include <vector>

namespace mhub::train {

std::vector<std::string> split_globs(const std::string& comma_separated);
bool matches_any(const std::vector<std::string>& globs, const std::string& name);

}  // namespace mhub::train
