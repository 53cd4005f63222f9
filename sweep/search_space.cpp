#include "sweep/search_space.h"

#include <cmath>
#include <cstdio>

#include "common/error.h"
#include "engine/train/rng.h"

namespace mhub::sweep {
namespace {

double parse_bound(const std::string& text, const std::string& argument) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(value))
    throw Error(ErrorCategory::usage, "--param " + argument + ": '" + text + "' is not a number");
  return value;
}

bool valid_flag_name(const std::string& name) {
  if (name.empty() || !std::islower(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

}  // namespace

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

ParamSpec parse_param(const std::string& argument) {
  const size_t eq = argument.find('=');
  if (eq == std::string::npos)
    throw Error(ErrorCategory::usage, "--param " + argument + ": expected NAME=SPEC, e.g. lr=log:1e-4:1e-1 or optimizer=sgd,adamw");
  ParamSpec spec;
  spec.name = argument.substr(0, eq);
  spec.text = argument.substr(eq + 1);
  if (!valid_flag_name(spec.name))
    throw Error(ErrorCategory::usage, "--param " + argument + ": '" + spec.name + "' is not a finetune flag name (lower-case letters, digits, '-')");
  const std::string& body = spec.text;
  for (const auto& [prefix, kind] : {std::pair{"log:", ParamSpec::Kind::log_uniform}, std::pair{"uniform:", ParamSpec::Kind::uniform},
                                     std::pair{"int:", ParamSpec::Kind::integer}}) {
    const std::string p = prefix;
    if (body.rfind(p, 0) != 0) continue;
    const std::string range = body.substr(p.size());
    const size_t colon = range.find(':');
    if (colon == std::string::npos)
      throw Error(ErrorCategory::usage, "--param " + argument + ": expected " + p + "LOW:HIGH");
    spec.kind = kind;
    spec.low = parse_bound(range.substr(0, colon), argument);
    spec.high = parse_bound(range.substr(colon + 1), argument);
    if (!(spec.low < spec.high)) throw Error(ErrorCategory::usage, "--param " + argument + ": LOW must be below HIGH");
    if (kind == ParamSpec::Kind::log_uniform && spec.low <= 0)
      throw Error(ErrorCategory::usage, "--param " + argument + ": a log range needs LOW > 0");
    if (kind == ParamSpec::Kind::integer && (spec.low != std::floor(spec.low) || spec.high != std::floor(spec.high)))
      throw Error(ErrorCategory::usage, "--param " + argument + ": int bounds must be whole numbers");
    return spec;
  }
  size_t start = 0;
  while (start <= body.size()) {
    const size_t comma = body.find(',', start);
    const std::string value = body.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (value.empty()) throw Error(ErrorCategory::usage, "--param " + argument + ": empty value in the list");
    spec.choices.push_back(value);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return spec;
}

std::vector<Settings> grid_trials(const std::vector<ParamSpec>& params, int limit) {
  for (const auto& p : params)
    if (p.kind != ParamSpec::Kind::choice)
      throw Error(ErrorCategory::usage, "--method grid: --param " + p.name + "=" + p.text + " is a range; grid search needs lists (a,b,c)");
  std::vector<Settings> trials{Settings{}};
  for (const auto& p : params) {
    std::vector<Settings> next;
    for (const auto& partial : trials)
      for (const auto& value : p.choices) {
        Settings s = partial;
        s.emplace_back(p.name, value);
        next.push_back(std::move(s));
      }
    trials = std::move(next);
  }
  if (limit > 0 && static_cast<size_t>(limit) < trials.size()) trials.resize(static_cast<size_t>(limit));
  return trials;
}

std::vector<Settings> random_trials(const std::vector<ParamSpec>& params, int count, uint64_t seed) {
  std::vector<Settings> trials;
  for (int t = 0; t < count; ++t) {
    train::Rng rng = train::Rng::derived(seed, 0x5eedULL, static_cast<uint64_t>(t));
    Settings s;
    for (const auto& p : params) {
      std::string value;
      const double u = rng.uniform();
      switch (p.kind) {
        case ParamSpec::Kind::choice: value = p.choices[rng.below(p.choices.size())]; break;
        case ParamSpec::Kind::log_uniform: value = format_number(std::exp(std::log(p.low) + u * (std::log(p.high) - std::log(p.low)))); break;
        case ParamSpec::Kind::uniform: value = format_number(p.low + u * (p.high - p.low)); break;
        case ParamSpec::Kind::integer:
          value = std::to_string(static_cast<int64_t>(p.low) + static_cast<int64_t>(rng.below(static_cast<uint64_t>(p.high - p.low) + 1)));
          break;
      }
      s.emplace_back(p.name, value);
    }
    trials.push_back(std::move(s));
  }
  return trials;
}

}  // namespace mhub::sweep
