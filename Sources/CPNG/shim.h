// libpng's simplified API (png_image_*) for Swift. Its helpers are function-like macros,
// which Swift cannot import, so the few we need are wrapped here.
#ifndef DIGITS_CPNG_SHIM_H
#define DIGITS_CPNG_SHIM_H

#include <png.h>

static inline int digits_png_image_failed(const png_image *image) {
    return PNG_IMAGE_FAILED(*image);
}

/// Bytes per pixel of a png_image format (component count × component size).
static inline unsigned int digits_png_image_pixel_size(png_uint_32 format) {
    return PNG_IMAGE_PIXEL_SIZE(format);
}

/// The png_image formats digits asks for, as constants Swift can see (several are macro
/// expressions combining flags, which Swift does not import).
static const png_uint_32 digits_png_format_gray = PNG_FORMAT_GRAY;
static const png_uint_32 digits_png_format_ga = PNG_FORMAT_GA;
static const png_uint_32 digits_png_format_rgb = PNG_FORMAT_RGB;
static const png_uint_32 digits_png_format_rgba = PNG_FORMAT_RGBA;
static const png_uint_32 digits_png_format_linear_y = PNG_FORMAT_LINEAR_Y;
static const png_uint_32 digits_png_format_linear_y_alpha = PNG_FORMAT_LINEAR_Y_ALPHA;

#endif
