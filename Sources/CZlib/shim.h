#include <zlib.h>

// zlib's init macros pass sizeof(z_stream), which Swift cannot call as macros.
static inline int dg_inflate_init(z_streamp stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}
static inline int dg_deflate_init(z_streamp stream, int level) {
    return deflateInit(stream, level);
}
