#ifndef CJPEG_H
#define CJPEG_H
#include <stddef.h>
#include <stdint.h>

/// Decodes a baseline or progressive JPEG held in memory with libjpeg(-turbo) into 8-bit pixels,
/// grey (1 channel) or RGB (3), row-major. Returns 0 and a buffer to release with
/// dg_jpeg_free, or -1 with the library's message in `message`: a damaged file never ends the
/// process (libjpeg's default error handler would call exit).
int dg_jpeg_decode(const uint8_t *data, size_t size, uint8_t **pixels, int *width, int *height, int *channels,
                   char *message, size_t message_size);

/// Encodes 8-bit grey or RGB pixels as a baseline JPEG of the given quality (1-100), for tests
/// and exports. Returns 0 and a buffer to release with dg_jpeg_free, or -1 with a message.
int dg_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality, uint8_t **data, size_t *size,
                   char *message, size_t message_size);

void dg_jpeg_free(void *buffer);

/// 1 when this build can read and write JPEG (libjpeg was found), 0 otherwise.
int dg_jpeg_available(void);
#endif
