// Where `mhub run` / `mhub bench` get a model from. Today: a path to an .onnx file. The
// registry/hub helper plugs catalogue names in here (resolve a name, download, return the path).
#pragma once

#include <filesystem>
#include <string>

namespace mhub::cli {

// Throws mhub::Error: io (no such file), usage (looks like a catalogue name: not wired yet).
std::filesystem::path resolve_model(const std::string& name_or_path);

}  // namespace mhub::cli
