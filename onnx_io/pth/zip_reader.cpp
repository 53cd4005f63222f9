#include "onnx_io/pth/zip_reader.h"

#include <minizip/unzip.h>

#include "common/error.h"
#include "common/allocation_limit.h"

namespace mhub::onnx_io::pth {

namespace {

struct UnzipCloser {
  void operator()(void* handle) const { unzClose(handle); }
};
using UnzipHandle = std::unique_ptr<void, UnzipCloser>;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw Error(ErrorCategory::format, path.string() + ": broken zip container: " + what);
}

}  // namespace

ZipArchive ZipArchive::open(const std::filesystem::path& path) {
  ZipArchive archive;
  archive.path_ = path;
  archive.file_ = ir::MappedFile::open(path);
  UnzipHandle zip(unzOpen64(path.c_str()));
  if (!zip) fail(path, "no readable central directory (truncated or not a zip file)");
  unz_global_info64 global{};
  if (unzGetGlobalInfo64(zip.get(), &global) != UNZ_OK) fail(path, "unreadable central directory");
  if (global.number_entry > archive.file_->size() / 46)  // a central entry is >= 46 bytes
    fail(path, "central directory claims " + std::to_string(global.number_entry) + " records");
  int status = unzGoToFirstFile(zip.get());
  while (status == UNZ_OK) {
    unz_file_info64 info{};
    char name[4096];
    if (unzGetCurrentFileInfo64(zip.get(), &info, name, sizeof(name), nullptr, 0, nullptr, 0) != UNZ_OK)
      fail(path, "unreadable central directory entry");
    if (info.size_filename >= sizeof(name)) fail(path, "a record name is longer than 4095 bytes");
    ZipEntry entry;
    entry.name.assign(name, info.size_filename);
    if (info.flag & 1)
      throw Error(ErrorCategory::unsupported, path.string() + ": record '" + entry.name + "' is encrypted");
    if (info.compression_method != 0 && info.compression_method != Z_DEFLATED)
      throw Error(ErrorCategory::unsupported, path.string() + ": record '" + entry.name +
                                                  "' uses compression method " +
                                                  std::to_string(info.compression_method));
    entry.stored = info.compression_method == 0;
    entry.size = info.uncompressed_size;
    entry.compressed_size = info.compressed_size;
    // Opening the record makes minizip read its local header, after which it knows where the
    // data begins.
    if (unzOpenCurrentFile(zip.get()) != UNZ_OK) fail(path, "record '" + entry.name + "' has a bad local header");
    entry.data_offset = unzGetCurrentFileZStreamPos64(zip.get());
    unzCloseCurrentFile(zip.get());
    uint64_t file_size = archive.file_->size();
    if (entry.data_offset > file_size || entry.compressed_size > file_size - entry.data_offset)
      fail(path, "record '" + entry.name + "' runs past the end of the file (truncated download?)");
    if (entry.stored && entry.size != entry.compressed_size)
      fail(path, "stored record '" + entry.name + "' has different sizes in its header");
    archive.entries_.push_back(std::move(entry));
    status = unzGoToNextFile(zip.get());
  }
  if (status != UNZ_END_OF_LIST_OF_FILE) fail(path, "central directory ends early");
  return archive;
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  for (const auto& entry : entries_)
    if (entry.name == name) return &entry;
  return nullptr;
}

std::shared_ptr<ir::Storage> ZipArchive::read(const ZipEntry& entry) const {
  if (entry.stored)
    return ir::Storage::view(file_, file_->data() + entry.data_offset, entry.size);
  // Inflate with bounds: deflate cannot expand more than 1032:1, so a record claiming more is
  // lying; the buffer grows with what the stream actually produces (never to the claimed size up
  // front) and the stream must produce exactly the recorded size.
  constexpr uint64_t kDeflateMaxRatio = 1032;
  if (entry.size > entry.compressed_size * kDeflateMaxRatio + 1024)
    fail(path_, "compressed record '" + entry.name + "' claims " + std::to_string(entry.size) + " bytes from " +
                    std::to_string(entry.compressed_size) + " compressed (deflate expands at most 1032:1)");
  check_allocation(entry.size, path_.string() + ": record '" + entry.name + "'");
  std::string out;
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) throw Error(ErrorCategory::internal, "zlib init failed");
  const uint8_t* in = file_->data() + entry.data_offset;
  uint64_t in_left = entry.compressed_size;
  int result = Z_OK;
  while (result == Z_OK) {
    constexpr uint64_t kStep = uint64_t{1} << 20;
    if (stream.avail_in == 0 && in_left > 0) {
      stream.next_in = const_cast<Bytef*>(in);
      stream.avail_in = static_cast<uInt>(std::min<uint64_t>(in_left, UINT32_MAX));
      in += stream.avail_in;
      in_left -= stream.avail_in;
    }
    uint64_t produced = out.size();
    // One byte beyond the recorded size, so a stream that runs longer is noticed.
    uint64_t room = std::min<uint64_t>(kStep, entry.size + 1 - produced);
    if (room == 0) break;
    out.resize(produced + room);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    stream.avail_out = static_cast<uInt>(room);
    result = inflate(&stream, Z_NO_FLUSH);
    out.resize(produced + room - stream.avail_out);
    if (result == Z_BUF_ERROR && stream.avail_in == 0 && in_left == 0) break;  // input exhausted
    if (result == Z_BUF_ERROR) result = Z_OK;
  }
  inflateEnd(&stream);
  if (result != Z_STREAM_END || out.size() != entry.size)
    fail(path_, "compressed record '" + entry.name + "' does not inflate to its recorded size");
  return ir::Storage::take(std::move(out));
}

}  // namespace mhub::onnx_io::pth
