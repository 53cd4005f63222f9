#include "engine/train/freeze.h"

#include <fnmatch.h>

namespace mhub::train {

std::vector<std::string> split_globs(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string glob = text.substr(start, comma - start);
    while (!glob.empty() && glob.front() == ' ') glob.erase(glob.begin());
    while (!glob.empty() && glob.back() == ' ') glob.pop_back();
    if (!glob.empty()) out.push_back(glob);
    start = comma + 1;
  }
  return out;
}

bool matches_any(const std::vector<std::string>& globs, const std::string& name) {
  for (const auto& glob : globs)
    if (fnmatch(glob.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

}  // namespace mhub::train
