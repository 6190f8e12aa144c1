// See CJPEG.h. libjpeg-turbo's own API (jpeglib.h), with a setjmp error manager as its
// example.c shows.
#include "CJPEG.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    digits_jpeg_info *info;
} error_manager;

static void on_error(j_common_ptr cinfo) {
    error_manager *manager = (error_manager *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, manager->info->message);
    longjmp(manager->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level) {
    error_manager *manager = (error_manager *)cinfo->err;
    if (level >= 0) return;  // trace messages
    // Warnings: premature end of data is a truncated file; the rest are corrupt data that
    // libjpeg worked around.
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) manager->info->truncated = 1;
    else manager->info->warnings += 1;
    cinfo->err->num_warnings++;
}

static void fill_header(struct jpeg_decompress_struct *cinfo, digits_jpeg_info *info) {
    info->width = (int)cinfo->image_width;
    info->height = (int)cinfo->image_height;
    info->components = cinfo->num_components;
    info->color_space = (int)cinfo->jpeg_color_space;
    info->progressive = cinfo->progressive_mode ? 1 : 0;
    info->adobe_marker = cinfo->saw_Adobe_marker ? 1 : 0;
}

int digits_jpeg_read_header(const uint8_t *data, size_t size, digits_jpeg_info *info) {
    // The decoder with no room for pixels stops after the header.
    return digits_jpeg_decode_gray(data, size, 1, (size_t)-1, NULL, 0, info);
}

int digits_jpeg_decode_gray(const uint8_t *data, size_t size, int scale_denominator, size_t max_pixels,
                            uint8_t *output, size_t output_capacity, digits_jpeg_info *info) {
    memset(info, 0, sizeof *info);
    struct jpeg_decompress_struct cinfo;
    error_manager manager;
    JSAMPARRAY row = NULL;
    cinfo.err = jpeg_std_error(&manager.base);
    manager.base.error_exit = on_error;
    manager.base.emit_message = on_message;
    manager.info = info;
    if (setjmp(manager.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    // Bounds libjpeg's own allocations (a progressive file keeps every coefficient).
    cinfo.mem->max_memory_to_use = 1024L * 1024L * 1024L;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    fill_header(&cinfo, info);
    if (output == NULL) {
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    if ((size_t)cinfo.image_width * (size_t)cinfo.image_height > max_pixels) {
        snprintf(info->message, sizeof info->message, "the header declares %u×%u pixels, more than the limit of %zu",
                 cinfo.image_width, cinfo.image_height, max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return -2;
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_GRAYSCALE;
    cinfo.scale_num = 1;
    cinfo.scale_denom = (unsigned)(scale_denominator >= 1 ? scale_denominator : 1);
    cinfo.dct_method = JDCT_ISLOW;
    jpeg_calc_output_dimensions(&cinfo);
    info->output_width = (int)cinfo.output_width;
    info->output_height = (int)cinfo.output_height;
    if ((size_t)cinfo.output_width * (size_t)cinfo.output_height > output_capacity) {
        snprintf(info->message, sizeof info->message, "the decoded image (%u×%u) does not fit the buffer",
                 cinfo.output_width, cinfo.output_height);
        jpeg_destroy_decompress(&cinfo);
        return -2;
    }
    jpeg_start_decompress(&cinfo);
    int channels = cinfo.output_components;
    row = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE, cinfo.output_width * (JDIMENSION)channels, 1);
    while (cinfo.output_scanline < cinfo.output_height) {
        JDIMENSION y = cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, row, 1);
        uint8_t *destination = output + (size_t)y * cinfo.output_width;
        if (!cmyk) {
            memcpy(destination, row[0], cinfo.output_width);
            continue;
        }
        for (JDIMENSION x = 0; x < cinfo.output_width; x++) {
            const JSAMPLE *p = row[0] + (size_t)x * 4;
            // Adobe writes CMYK inverted (255 = no ink). Each of R, G, B is (1 − C)(1 − K)…;
            // gray is their luminance.
            int c = p[0], m = p[1], yy = p[2], k = p[3];
            if (!cinfo.saw_Adobe_marker) { c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k; }
            int r = c * k / 255, g = m * k / 255, b = yy * k / 255;
            destination[x] = (uint8_t)((299 * r + 587 * g + 114 * b + 500) / 1000);
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}
