// ImageDecoder: encoded bytes (uint8 1-D) -> uint8 [H, W, 3] (RGB or BGR) or [H, W, 1]
// (Grayscale). PNG through libpng, JPEG through libjpeg(-turbo), BMP (uncompressed 24/32-bit)
// and binary PNM (P5/P6, maxval 255) parsed here. Grayscale uses the ITU-R 601-2 luma weights
// on the decoded RGB, as the ONNX reference (PIL's convert("L")) does. TIFF, WebP and JPEG 2000
// are not supported: the error says so.
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>
#include <png.h>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"

namespace mhub::engine::cpu {

namespace {

struct Rgb {
  int64_t height = 0, width = 0;
  std::vector<uint8_t> pixels;  // height * width * 3
};

bool decode_png(const uint8_t* data, size_t size, Rgb& out, std::string& error) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, data, size)) {
    error = image.message;
    return false;
  }
  image.format = PNG_FORMAT_RGB;
  out.height = image.height;
  out.width = image.width;
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr)) {
    error = image.message;
    png_image_free(&image);
    return false;
  }
  return true;
}

struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr info) {
  auto* err = reinterpret_cast<JpegError*>(info->err);
  (*info->err->format_message)(info, err->message);
  std::longjmp(err->jump, 1);
}

bool decode_jpeg(const uint8_t* data, size_t size, Rgb& out, std::string& error) {
  jpeg_decompress_struct info;
  JpegError err;
  info.err = jpeg_std_error(&err.manager);
  err.manager.error_exit = jpeg_fail;
  // No C++ objects with destructors may be created between setjmp and longjmp: `out` exists
  // already and is only resized below, before any libjpeg call that can fail.
  if (setjmp(err.jump)) {
    error = err.message;
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, data, static_cast<unsigned long>(size));
  jpeg_read_header(&info, TRUE);
  info.out_color_space = JCS_RGB;
  jpeg_start_decompress(&info);
  out.height = info.output_height;
  out.width = info.output_width;
  out.pixels.resize(static_cast<size_t>(out.height * out.width * 3));
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = out.pixels.data() + static_cast<size_t>(info.output_scanline) * static_cast<size_t>(out.width) * 3;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return true;
}

uint32_t le(const uint8_t* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool decode_bmp(const uint8_t* data, size_t size, Rgb& out, std::string& error) {
  if (size < 54) { error = "truncated BMP header"; return false; }
  uint32_t offset = le(data + 10, 4);
  int32_t width = static_cast<int32_t>(le(data + 18, 4)), height = static_cast<int32_t>(le(data + 22, 4));
  uint32_t bits = le(data + 28, 2), compression = le(data + 30, 4);
  if ((bits != 24 && bits != 32) || (compression != 0 && compression != 3) || width <= 0 || height == 0) {
    error = "only uncompressed 24/32-bit BMP is supported";
    return false;
  }
  bool bottom_up = height > 0;
  int64_t h = bottom_up ? height : -static_cast<int64_t>(height);
  size_t row_bytes = ((static_cast<size_t>(width) * bits / 8) + 3) / 4 * 4;
  if (offset + row_bytes * static_cast<size_t>(h) > size) { error = "truncated BMP pixel data"; return false; }
  out.height = h;
  out.width = width;
  out.pixels.resize(static_cast<size_t>(h * width * 3));
  for (int64_t r = 0; r < h; ++r) {
    const uint8_t* row = data + offset + row_bytes * static_cast<size_t>(bottom_up ? h - 1 - r : r);
    for (int64_t c = 0; c < width; ++c) {
      const uint8_t* px = row + c * (bits / 8);
      uint8_t* o = out.pixels.data() + (r * width + c) * 3;
      o[0] = px[2];
      o[1] = px[1];
      o[2] = px[0];
    }
  }
  return true;
}

bool decode_pnm(const uint8_t* data, size_t size, Rgb& out, std::string& error) {
  size_t at = 2;
  auto number = [&](int64_t& v) {
    while (at < size) {
      if (data[at] == '#') { while (at < size && data[at] != '\n') ++at; }
      else if (std::isspace(data[at])) ++at;
      else break;
    }
    if (at >= size || !std::isdigit(data[at])) return false;
    v = 0;
    while (at < size && std::isdigit(data[at])) v = v * 10 + (data[at++] - '0');
    return true;
  };
  int64_t width, height, maxval;
  if (!number(width) || !number(height) || !number(maxval) || maxval != 255) {
    error = "only binary PNM (P5/P6) with maxval 255 is supported";
    return false;
  }
  ++at;  // one whitespace byte ends the header
  bool color = data[1] == '6';
  size_t needed = static_cast<size_t>(width * height * (color ? 3 : 1));
  if (at + needed > size) { error = "truncated PNM pixel data"; return false; }
  out.height = height;
  out.width = width;
  out.pixels.resize(static_cast<size_t>(width * height * 3));
  for (int64_t i = 0; i < width * height; ++i)
    for (int k = 0; k < 3; ++k) out.pixels[i * 3 + k] = data[at + (color ? i * 3 + k : i)];
  return true;
}

void image_decoder(OpContext& ctx) {
  const ir::Tensor& encoded = ctx.input(0);
  const uint8_t* data = encoded.bytes();
  size_t size = encoded.byte_size();
  std::string format = ctx.node().attr_string("pixel_format", "RGB");
  Rgb rgb;
  std::string error;
  bool ok = false;
  if (size >= 8 && std::memcmp(data, "\x89PNG", 4) == 0) ok = decode_png(data, size, rgb, error);
  else if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8) ok = decode_jpeg(data, size, rgb, error);
  else if (size >= 2 && data[0] == 'B' && data[1] == 'M') ok = decode_bmp(data, size, rgb, error);
  else if (size >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6')) ok = decode_pnm(data, size, rgb, error);
  else error = "the format is not one of PNG, JPEG, BMP, PNM (TIFF, WebP and JPEG 2000 are not supported)";
  if (!ok) throw_error(ErrorCategory::unsupported, ctx.describe() + ": cannot decode the image: " + error);
  int64_t pixels = rgb.height * rgb.width;
  if (format == "Grayscale") {
    ir::Tensor& y = ctx.allocate_output(0, ir::DataType::uint8, {rgb.height, rgb.width, 1});
    uint8_t* o = mutable_bytes(y);
    for (int64_t i = 0; i < pixels; ++i) {
      const uint8_t* p = rgb.pixels.data() + i * 3;
      o[i] = static_cast<uint8_t>((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
    }
    return;
  }
  if (format != "RGB" && format != "BGR")
    throw_error(ErrorCategory::format, ctx.describe() + ": pixel_format must be RGB, BGR or Grayscale");
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::uint8, {rgb.height, rgb.width, 3});
  uint8_t* o = mutable_bytes(y);
  for (int64_t i = 0; i < pixels; ++i)
    for (int k = 0; k < 3; ++k) o[i * 3 + k] = rgb.pixels[i * 3 + (format == "BGR" ? 2 - k : k)];
}

}  // namespace

void add_image_decoder_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::ImageDecoder, KernelKind::reference, image_decoder, nullptr});
}

}  // namespace mhub::engine::cpu
