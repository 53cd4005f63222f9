// Listing by glob and tag, and ranked text search over the catalogue.
#include <algorithm>
#include <cctype>
#include <sstream>

#include "registry/catalogue.h"
#include "registry/catalogue_detail.h"

namespace mhub::registry {

namespace {

char fold(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Matches one character against the class starting at pattern[at] ('['). Sets `next` to the
// index after the closing ']'. A '[' without a closing ']' is a literal '['.
bool match_class(std::string_view pattern, size_t at, char c, size_t& next) {
  size_t i = at + 1;
  bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  size_t first = i;
  bool found = false;
  while (i < pattern.size() && (pattern[i] != ']' || i == first)) {
    char low = fold(pattern[i]), high = low;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      high = fold(pattern[i + 2]);
      i += 2;
    }
    if (fold(c) >= low && fold(c) <= high) found = true;
    ++i;
  }
  if (i >= pattern.size()) {  // unterminated: literal '['
    next = at + 1;
    return c == '[';
  }
  next = i + 1;
  return found != negate;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  // Greedy matching with one remembered '*' to fall back to: linear in practice, no recursion.
  size_t p = 0, t = 0, star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
      continue;
    }
    if (p < pattern.size()) {
      size_t next = p + 1;
      bool ok = pattern[p] == '?' ? true
                : pattern[p] == '[' ? match_class(pattern, p, text[t], next)
                                    : fold(pattern[p]) == fold(text[t]);
      if (ok) {
        p = next;
        ++t;
        continue;
      }
    }
    if (star == std::string_view::npos) return false;
    p = star + 1;
    t = ++star_text;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<const CatalogueEntry*> list_entries(const Catalogue& catalogue, std::string_view glob, std::string_view tag) {
  std::vector<const CatalogueEntry*> found;
  std::string wanted_tag = to_lower(tag);
  for (const auto& entry : catalogue.entries) {
    if (!glob.empty()) {
      bool match = glob_match(glob, entry.name);
      for (const auto& alias : entry.aliases) match = match || glob_match(glob, alias);
      if (!match) continue;
    }
    if (!wanted_tag.empty()) {
      bool has = false;
      for (const auto& t : entry.tags) has = has || to_lower(t) == wanted_tag;
      if (!has) continue;
    }
    found.push_back(&entry);
  }
  std::sort(found.begin(), found.end(), [](auto* a, auto* b) { return a->name < b->name; });
  return found;
}

std::vector<SearchHit> search(const Catalogue& catalogue, std::string_view text) {
  std::vector<std::string> words;
  std::istringstream stream{std::string(text)};
  for (std::string word; stream >> word;) words.push_back(to_lower(word));
  std::vector<SearchHit> hits;
  if (words.empty()) return hits;
  std::string whole = to_lower(text);

  for (const auto& entry : catalogue.entries) {
    std::string name = to_lower(entry.name);
    SearchHit hit{&entry, 0, ""};
    double best_single = 0;
    bool every_word = true;
    for (const auto& word : words) {
      // The best field this word hits; weights encode the documented order of importance.
      double score = 0;
      std::string field;
      auto offer = [&](double candidate, const char* which) {
        if (candidate > score) score = candidate, field = which;
      };
      if (name == word) offer(100, "name");
      else if (name.rfind(word, 0) == 0) offer(60, "name");
      else if (name.find(word) != std::string::npos) offer(40, "name");
      for (const auto& alias : entry.aliases) {
        std::string lower = to_lower(alias);
        if (lower == word) offer(90, "alias");
        else if (lower.find(word) != std::string::npos) offer(35, "alias");
      }
      for (const auto& tag : entry.tags) {
        std::string lower = to_lower(tag);
        if (lower == word) offer(30, "tag");
        else if (lower.find(word) != std::string::npos) offer(20, "tag");
      }
      std::string task = to_lower(entry.task), family = to_lower(entry.family);
      if (task == word) offer(18, "task");
      else if (!task.empty() && task.find(word) != std::string::npos) offer(15, "task");
      if (family == word) offer(25, "family");
      else if (!family.empty() && family.find(word) != std::string::npos) offer(12, "family");
      if (to_lower(entry.description).find(word) != std::string::npos) offer(5, "description");
      if (score == 0) {
        every_word = false;
        break;
      }
      hit.score += score;
      if (score > best_single) best_single = score, hit.matched_field = field;
    }
    if (!every_word) continue;
    if (words.size() > 1 && name == whole) hit.score += 100;  // "a b" typed as a name with spaces
    hits.push_back(hit);
  }
  std::sort(hits.begin(), hits.end(), [](const SearchHit& a, const SearchHit& b) {
    if (a.score != b.score) return a.score > b.score;
    // Among equals the shorter name is the more general model ("resnet50" before "resnet50-int8").
    if (a.entry->name.size() != b.entry->name.size()) return a.entry->name.size() < b.entry->name.size();
    return a.entry->name < b.entry->name;
  });
  return hits;
}

}  // namespace mhub::registry
