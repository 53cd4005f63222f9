// What `mhub sweep --param` describes and the trials drawn from it.
//
// A parameter is `NAME=SPEC`, NAME a `mhub finetune` flag without its dashes (lr, optimizer,
// batch-size, ...). SPEC is a comma-separated list of values (`sgd,adamw`), `log:LOW:HIGH`
// (log-uniform floats), `uniform:LOW:HIGH` (uniform floats) or `int:LOW:HIGH` (uniform integers,
// both ends included). Grid search takes the product of lists; random search draws every
// parameter independently from a seeded generator, so the same seed gives the same trials.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mhub::sweep {

struct ParamSpec {
  enum class Kind { choice, log_uniform, uniform, integer };
  std::string name;  // the finetune flag without "--"
  std::string text;  // the SPEC as given (what the sweep's state file records)
  Kind kind = Kind::choice;
  std::vector<std::string> choices;
  double low = 0, high = 0;
  bool is_log() const { return kind == Kind::log_uniform; }
};

// One trial's settings, in the order the parameters were given: (flag name, value text).
using Settings = std::vector<std::pair<std::string, std::string>>;

// Throws mhub::Error (usage) naming the argument: a NAME that is not a flag name, an empty list,
// bounds that are not numbers or not LOW < HIGH (log: LOW > 0).
ParamSpec parse_param(const std::string& argument);

// Every combination (the first parameter varies slowest); `limit` > 0 keeps the first `limit`.
// Throws mhub::Error (usage) when a parameter is a range rather than a list.
std::vector<Settings> grid_trials(const std::vector<ParamSpec>& params, int limit);

// `count` trials drawn with `seed`.
std::vector<Settings> random_trials(const std::vector<ParamSpec>& params, int count, uint64_t seed);

// Shortest text that reads back as `value` to 4 significant digits ("0.0031", "1e-05").
std::string format_number(double value);

}  // namespace mhub::sweep
