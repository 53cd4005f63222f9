#include "common/safe_path.h"

#include "common/printable.h"

namespace fs = std::filesystem;

namespace mhub {

namespace {

std::string name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > 255) return "is longer than 255 bytes";
  if (name.front() == '.') return "starts with '.'";
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '+';
    if (!ok) return "has a character other than letters, digits and . _ - +";
  }
  return "";
}

std::string relative_path_problem(std::string_view path) {
  if (path.empty()) return "is empty";
  if (path.size() > 4096) return "is longer than 4096 bytes";
  if (path.front() == '/') return "is an absolute path";
  for (char c : path) {
    if (c == '\\') return "has a '\\' (write folders with '/')";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "has a control character";
  }
  return "";
}

}  // namespace

std::string path_grammar_problem(std::string_view value, PathGrammar grammar) {
  if (grammar == PathGrammar::name) return name_problem(value);
  if (grammar == PathGrammar::relative_path) {
    std::string problem = relative_path_problem(value);
    if (!problem.empty()) return problem;
  } else if (value.empty()) {
    return "is empty";
  }
  size_t begin = 0;
  for (;;) {
    size_t end = value.find('/', begin);
    std::string_view part = value.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
    if (grammar == PathGrammar::ref) {
      std::string problem = name_problem(part);
      if (!problem.empty()) return "has a part that " + problem;
    } else if (part.empty() || part == "." || part == "..") {
      return "has an empty, '.' or '..' part (it must stay inside its folder)";
    }
    if (end == std::string_view::npos) return "";
    begin = end + 1;
  }
}

void check_path_grammar(std::string_view value, PathGrammar grammar, const std::string& what,
                        ErrorCategory category) {
  std::string problem = path_grammar_problem(value, grammar);
  if (!problem.empty()) throw_error(category, what + " '" + printable(value) + "' " + problem);
}

fs::path check_inside(const fs::path& root, const fs::path& path, const std::string& what, ErrorCategory category,
                      LastComponent last) {
  std::error_code error;
  fs::path resolved_root = fs::weakly_canonical(fs::absolute(root, error), error);
  fs::path absolute = fs::absolute(path, error).lexically_normal();
  fs::path name = absolute.filename();
  bool whole = last == LastComponent::follow || name.empty() || name == "." || name == "..";
  fs::path resolved = whole ? fs::weakly_canonical(absolute, error)
                            : fs::weakly_canonical(absolute.parent_path(), error) / name;
  if (error) throw_error(category, what + " '" + printable(path.string()) + "': cannot resolve: " + error.message());
  fs::path inside = resolved.lexically_relative(resolved_root);
  bool ok = !inside.empty() && inside != "." && inside.begin()->string() != ".." && inside.is_relative();
  if (!ok)
    throw_error(category, what + " '" + printable(path.string()) + "' resolves outside " +
                              printable(resolved_root.string()) + "; refused");
  return resolved;
}

}  // namespace mhub
