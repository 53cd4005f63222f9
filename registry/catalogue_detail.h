// Helpers shared by the registry's .cpp files; not part of the public API.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "registry/catalogue.h"

namespace mhub::registry {

std::string to_lower(std::string_view text);
// Levenshtein distance (insert, delete, substitute each cost 1), case-sensitive.
size_t edit_distance(std::string_view a, std::string_view b);
// Names and aliases must be unique, ignoring case, across all entries. Throws format naming the
// later entry's file, entry and field, and the earlier entry it clashes with.
void check_unique_names(const std::vector<CatalogueEntry>& entries);

}  // namespace mhub::registry
