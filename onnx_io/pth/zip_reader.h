// Read-only access to the zip container of a PyTorch checkpoint (torch.save since 1.6).
//
// minizip parses the central directory (ZIP64 included) and tells where each record's data
// starts; the file itself is mapped, so a stored (uncompressed) record is returned as a view of
// the mapping — no copy. PyTorch writes records stored and 64-byte aligned; compressed records
// (a checkpoint re-zipped by hand) are inflated into owned memory instead.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/ir/storage.h"

namespace mhub::onnx_io::pth {

struct ZipEntry {
  std::string name;
  uint64_t data_offset = 0;        // where the record's (possibly compressed) bytes start
  uint64_t compressed_size = 0;
  uint64_t size = 0;               // uncompressed
  bool stored = true;              // compression method 0
};

class ZipArchive {
 public:
  // Throws mhub::Error (format) naming the file when it is not a readable zip archive, and
  // (unsupported) for encrypted records.
  static ZipArchive open(const std::filesystem::path& path);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;
  // The record's bytes: a view of the mapping when stored; a compressed record is inflated to
  // exactly its recorded size or rejected (format).
  std::shared_ptr<ir::Storage> read(const ZipEntry& entry) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::shared_ptr<const ir::MappedFile> file_;
  std::vector<ZipEntry> entries_;
};

}  // namespace mhub::onnx_io::pth
