// A thin, exception-safe wrapper over libjpeg-turbo's decoder: libjpeg reports errors by
// calling error_exit, which by default ends the process; here it longjmps back and the
// function returns an error code with libjpeg's message, so Swift never sees a jump.
#ifndef DIGITS_CJPEG_H
#define DIGITS_CJPEG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int width;              // as declared in the frame header
    int height;
    int components;         // 1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK
    int color_space;        // libjpeg's J_COLOR_SPACE of the file
    int progressive;
    int adobe_marker;       // an Adobe APP14 marker was seen (CMYK stored inverted)
    int output_width;       // after DCT scaling (decode only)
    int output_height;
    int truncated;          // the data ended before the image did (libjpeg filled it in)
    int warnings;           // other corrupt-data warnings
    char message[200];      // libjpeg's text for the error, when the result is nonzero
} digits_jpeg_info;

/// Reads the header only. Returns 0, or -1 with info->message set.
int digits_jpeg_read_header(const uint8_t *data, size_t size, digits_jpeg_info *info);

/// Decodes to 8-bit gray, scaled by 1/scale_denominator (1, 2, 4 or 8) in the DCT, into
/// `output`, which must hold output_capacity bytes (a NULL output reads the header only); info->output_width × output_height are
/// set. Refuses (returns -2) when the scaled image would not fit or the declared size exceeds
/// max_pixels. CMYK and YCCK files are converted to gray here. Returns 0 or a negative code
/// with info->message set.
int digits_jpeg_decode_gray(const uint8_t *data, size_t size, int scale_denominator, size_t max_pixels,
                            uint8_t *output, size_t output_capacity, digits_jpeg_info *info);

#endif
