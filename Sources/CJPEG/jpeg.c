#include "CJPEG.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>

#if defined(__linux__) && __has_include(<jpeglib.h>)
#include <jpeglib.h>

// libjpeg reports errors through a callback that must not return: it jumps back to the caller
// with the formatted message instead of calling exit().
struct failure {
    struct jpeg_error_mgr manager;
    jmp_buf back;
    char *message;
    size_t message_size;
};

static void fail(j_common_ptr info) {
    struct failure *f = (struct failure *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    snprintf(f->message, f->message_size, "%s", text);
    longjmp(f->back, 1);
}

// Warnings (corrupt but decodable data) are errors here: a damaged file is refused, not guessed.
static void warn(j_common_ptr info, int level) {
    if (level < 0) fail(info);
}

int dg_jpeg_available(void) { return 1; }

int dg_jpeg_decode(const uint8_t *data, size_t size, uint8_t **pixels, int *width, int *height, int *channels,
                   char *message, size_t message_size) {
    struct jpeg_decompress_struct info;
    struct failure f;
    uint8_t *volatile out = NULL;
    info.err = jpeg_std_error(&f.manager);
    f.manager.error_exit = fail;
    f.manager.emit_message = warn;
    f.message = message;
    f.message_size = message_size;
    if (setjmp(f.back)) {
        jpeg_destroy_decompress(&info);
        free(out);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    // Grey stays grey; every other colour space (YCbCr, CMYK...) becomes RGB.
    info.out_color_space = info.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&info);
    size_t row = (size_t)info.output_width * (size_t)info.output_components;
    out = malloc(row * info.output_height);
    if (!out) {
        snprintf(message, message_size, "out of memory for a %ux%u image", info.output_width, info.output_height);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW line = out + row * info.output_scanline;
        jpeg_read_scanlines(&info, &line, 1);
    }
    jpeg_finish_decompress(&info);
    *pixels = out;
    *width = (int)info.output_width;
    *height = (int)info.output_height;
    *channels = info.output_components;
    jpeg_destroy_decompress(&info);
    return 0;
}

int dg_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality, uint8_t **data, size_t *size,
                   char *message, size_t message_size) {
    struct jpeg_compress_struct info;
    struct failure f;
    unsigned char *buffer = NULL;
    unsigned long length = 0;
    info.err = jpeg_std_error(&f.manager);
    f.manager.error_exit = fail;
    f.message = message;
    f.message_size = message_size;
    if (setjmp(f.back)) {
        jpeg_destroy_compress(&info);
        free(buffer);
        return -1;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &buffer, &length);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = channels;
    info.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    size_t row = (size_t)width * (size_t)channels;
    while (info.next_scanline < info.image_height) {
        JSAMPROW line = (JSAMPROW)(pixels + row * info.next_scanline);
        jpeg_write_scanlines(&info, &line, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    *data = buffer;
    *size = length;
    return 0;
}

#else

int dg_jpeg_available(void) { return 0; }

int dg_jpeg_decode(const uint8_t *data, size_t size, uint8_t **pixels, int *width, int *height, int *channels,
                   char *message, size_t message_size) {
    snprintf(message, message_size, "this build has no JPEG support (install libjpeg and rebuild)");
    return -1;
}

int dg_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality, uint8_t **data, size_t *size,
                   char *message, size_t message_size) {
    snprintf(message, message_size, "this build has no JPEG support (install libjpeg and rebuild)");
    return -1;
}

#endif

void dg_jpeg_free(void *buffer) { free(buffer); }
