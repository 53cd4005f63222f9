// The one place where names that come from outside (servers, catalogues, model files, flags)
// become file-system paths.
//
// Contract: every path component mhub did not choose itself (repo ids, revisions, commits, etags,
// file names inside a repo, external-data locations) passes check_path_grammar before any
// file-system call uses it; every path mhub writes or deletes passes check_inside against the
// folder it belongs to (the cache root, the output model's folder). Both throw mhub::Error with
// the caller's category and a message naming what was refused and why; the value is printed with
// control characters escaped.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"

namespace mhub {

enum class PathGrammar {
  // One component of [A-Za-z0-9._+-], 1-255 bytes, not starting with '.' (so never "." or "..").
  // Commits, etags, one half of a repo id.
  name,
  // Components of the `name` grammar joined by '/': branch and tag names, "refs/pr/1".
  ref,
  // A relative file path: '/'-separated, non-empty components other than "." and "..", no '\\',
  // no control characters, at most 4096 bytes. File names inside a repo, external-data locations.
  relative_path,
};

// Why `value` does not fit `grammar`; empty when it fits.
std::string path_grammar_problem(std::string_view value, PathGrammar grammar);

// Throws Error(category, "<what> '<value>' <problem>") unless `value` fits `grammar`.
void check_path_grammar(std::string_view value, PathGrammar grammar, const std::string& what,
                        ErrorCategory category);

// What check_inside does with a symlink as the last component of `path`.
enum class LastComponent {
  keep,    // not followed: removing or replacing (rename over) a symlink acts on the link itself
  follow,  // followed: reading a file reads what the link points to, so that must lie inside
};

// `path` with '..' and the symlinks of its existing folders resolved, when that lies inside
// `root` (resolved likewise, and not `root` itself); throws Error(category) naming both
// otherwise. Neither needs to exist.
std::filesystem::path check_inside(const std::filesystem::path& root, const std::filesystem::path& path,
                                   const std::string& what, ErrorCategory category,
                                   LastComponent last = LastComponent::keep);

}  // namespace mhub
