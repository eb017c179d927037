#include "CKernels.h"
#include <float.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#pragma clang fp contract(off)

// sqrtf may set errno, which keeps the loop scalar; the element-wise builtin does not.
#if defined(__clang__)
#define DG_SQRT(x) __builtin_elementwise_sqrt(x)
#else
#define DG_SQRT(x) __builtin_sqrtf(x)
#endif

#if defined(__x86_64__) && defined(__ELF__)
#define DG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DG_CLONES
#endif

DG_CLONES
void dg_adam_update(size_t count, const float *parameter, const float *restrict gradient,
                    const float *first_moment, const float *second_moment,
                    float *parameter_out, float *first_moment_out, float *second_moment_out,
                    float step_size, float beta1, float beta2, float inverse_root_correction2,
                    float epsilon, float decay, float l2) {
#if defined(__x86_64__)
    // Subnormal gradients and their squares too would take assists: flushed to zero here
    // (FTZ and DAZ for this loop only; the caller's floating-point state is restored).
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);
#endif
    // Each iteration reads and writes index i only, so exact aliasing (in place) is safe.
#pragma clang loop vectorize(assume_safety)
    for (size_t i = 0; i < count; i++) {
        float p = parameter[i];
        float grad = gradient[i] + p * l2;
        float m = first_moment[i] * beta1 + grad * (1 - beta1);
        float v = second_moment[i] * beta2 + grad * grad * (1 - beta2);
        float denominator = DG_SQRT(v) * inverse_root_correction2 + epsilon;
        // A moment whose gradients have stopped (a dead unit's weights) decays geometrically
        // into the subnormal range, where every operation on it costs a microcode assist on
        // x86: stored as zero instead, its share of the step being below 1e-30 anyway.
        first_moment_out[i] = __builtin_fabsf(m) < FLT_MIN ? 0.0f : m;
        second_moment_out[i] = v < FLT_MIN ? 0.0f : v;
        parameter_out[i] = p * decay - step_size * m / denominator;
    }
#if defined(__x86_64__)
    _mm_setcsr(csr);
#endif
}

DG_CLONES
void dg_scale(size_t count, const float *x, float scale, float *out) {
#pragma clang loop vectorize(assume_safety)
    for (size_t i = 0; i < count; i++) out[i] = x[i] * scale;
}

// SplitMix64's finaliser, as RandomGenerator.mix.
static inline uint64_t dg_mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

DG_CLONES
void dg_uniform_pairs(uint64_t seed, uint64_t start, size_t count, float *restrict u1, float *restrict u2) {
    uint64_t key = dg_mix(seed);
    for (size_t j = 0; j < count; j++) {
        uint64_t v = dg_mix(key ^ ((start + j) * 0xD1B54A32D192ED03ull));
        // Both parts are below 2^25, so the 32-bit conversions (which vectorise) are exact.
        u1[j] = (float)(int32_t)((v >> 40) + 1) * 0x1p-24f;
        u2[j] = (float)(int32_t)((v >> 16) & 0xFFFFFF) * 0x1p-24f;
    }
}

int dg_flush_subnormals(int on) {
#if defined(__x86_64__)
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(on ? (csr | 0x8040) : (csr & ~0x8040u));
    return (csr & 0x8040) == 0x8040;
#else
    (void)on;
    return 0;
#endif
}

DG_CLONES
void dg_im2col(const float *x, size_t channels, size_t plane, const int32_t *index, size_t taps, size_t count,
               float *col, size_t row_stride) {
    for (size_t c = 0; c < channels; c++) {
        const float *src = x + c * plane;
        for (size_t t = 0; t < taps; t++) {
            const int32_t *offsets = index + t * count;
            float *dst = col + (c * taps + t) * row_stride;
#pragma clang loop vectorize(assume_safety)
            for (size_t p = 0; p < count; p++) {
                int32_t k = offsets[p];
                dst[p] = k >= 0 ? src[k] : 0.0f;
            }
        }
    }
}

DG_CLONES
void dg_col2im_strided(const float *col, size_t channels, size_t height, size_t width, size_t out_w,
                       const int32_t *row_shift, const int32_t *col_shift, size_t taps, size_t first_row, size_t rows,
                       size_t stride_h, size_t stride_w, float *x, size_t row_stride) {
    const long sw = (long)stride_w, w = (long)width;
    for (size_t c = 0; c < channels; c++) {
        float *plane = x + c * height * width;
        for (size_t t = 0; t < taps; t++) {
            const float *src = col + (c * taps + t) * row_stride;
            // The outputs ow whose input column ow * sw + cs lies in [0, width).
            long cs = col_shift[t];
            long lo = cs < 0 ? (-cs + sw - 1) / sw : 0;
            long hi = w - cs > 0 ? (w - cs + sw - 1) / sw : 0;
            if (hi > (long)out_w) hi = (long)out_w;
            if (lo > hi) lo = hi;
            for (size_t r = 0; r < rows; r++) {
                long ih = (long)((first_row + r) * stride_h) + row_shift[t];
                if (ih < 0 || ih >= (long)height) continue;
                float *d = plane + ih * w + cs;
                const float *s = src + r * out_w;
                for (long ow = lo; ow < hi; ow++) d[ow * sw] += s[ow];
            }
        }
    }
}

// The output columns [lo, hi) of a row whose input lies `shift` columns away fall inside a
// row `width` wide.
static inline void dg_inside(long shift, size_t width, size_t out_w, size_t *lo, size_t *hi) {
    long l = shift < 0 ? -shift : 0, h = (long)width - shift;
    if (l > (long)out_w) l = (long)out_w;
    if (h > (long)out_w) h = (long)out_w;
    if (h < l) h = l;
    *lo = (size_t)l; *hi = (size_t)h;
}

// The output rows [ra, rb) of a block of `rows` from `first_row` whose input row, `rs` away, lies
// inside the image.
static inline void dg_rows_inside(long rs, size_t first_row, size_t rows, size_t height, size_t *ra, size_t *rb) {
    long a = -rs - (long)first_row, b = (long)height - rs - (long)first_row;
    if (a < 0) a = 0;
    if (a > (long)rows) a = (long)rows;
    if (b > (long)rows) b = (long)rows;
    if (b < a) b = a;
    *ra = (size_t)a; *rb = (size_t)b;
}

// When output rows are as wide as the input's, the (channel, tap) row of the columns matrix is
// the channel's plane shifted by rs * width + cs: output j reads plane[j + shift]. Over the rows
// that meet the image that is one contiguous run, [from, to) clipped to the plane, whatever the
// row length (a 7-wide row costs no bookkeeping); the entries that wrapped into the neighbouring
// row are the ones outside [lo, hi) of each row.
static inline void dg_shifted_run(long rs, long cs, size_t first_row, size_t rows, size_t height, size_t width,
                                  size_t *ra, size_t *rb, size_t *lo, size_t *hi, long *shift, long *from, long *to) {
    dg_rows_inside(rs, first_row, rows, height, ra, rb);
    dg_inside(cs, width, width, lo, hi);
    long w = (long)width, plane = (long)(height * width);
    *shift = ((long)first_row + rs) * w + cs;
    *from = (long)*ra * w; *to = (long)*rb * w;
    if (*from + *shift < 0) *from = -*shift;
    if (*to + *shift > plane) *to = plane - *shift;
    if (*to < *from) *to = *from;
}

// Zeroes the entries of rows [ra, rb) (each `width` long) outside [lo, hi): the ones a shifted
// run wrapped into the neighbouring row.
static inline void dg_zero_wrapped(float *d, size_t ra, size_t rb, size_t width, size_t lo, size_t hi) {
    for (size_t r = ra; r < rb; r++) {
        for (size_t ow = 0; ow < lo; ow++) d[r * width + ow] = 0.0f;
        for (size_t ow = hi; ow < width; ow++) d[r * width + ow] = 0.0f;
    }
}

DG_CLONES
void dg_im2col_unit(const float *x, size_t channels, size_t height, size_t width, size_t out_w,
                    const int32_t *row_shift, const int32_t *col_shift, size_t taps, size_t first_row, size_t rows,
                    float *col, size_t row_stride) {
    if (out_w == width) {
        for (size_t c = 0; c < channels; c++) {
            const float *plane = x + c * height * width;
            for (size_t t = 0; t < taps; t++) {
                float *d = col + (c * taps + t) * row_stride;
                size_t ra, rb, lo, hi;
                long shift, from, to, end = (long)(rows * width);
                dg_shifted_run(row_shift[t], col_shift[t], first_row, rows, height, width, &ra, &rb, &lo, &hi, &shift, &from, &to);
                for (long j = 0; j < from; j++) d[j] = 0.0f;
#pragma clang loop vectorize(assume_safety)
                for (long j = from; j < to; j++) d[j] = plane[j + shift];
                for (long j = to; j < end; j++) d[j] = 0.0f;
                dg_zero_wrapped(d, ra, rb, width, lo, hi);
            }
        }
        return;
    }
    for (size_t c = 0; c < channels; c++) {
        const float *plane = x + c * height * width;
        for (size_t t = 0; t < taps; t++) {
            float *dst = col + (c * taps + t) * row_stride;
            size_t lo, hi;
            dg_inside(col_shift[t], width, out_w, &lo, &hi);
            for (size_t r = 0; r < rows; r++) {
                long ih = (long)(first_row + r) + row_shift[t];
                float *d = dst + r * out_w;
                if (ih < 0 || ih >= (long)height) {
                    for (size_t ow = 0; ow < out_w; ow++) d[ow] = 0.0f;
                    continue;
                }
                const float *src = plane + (size_t)ih * width + col_shift[t];
                for (size_t ow = 0; ow < lo; ow++) d[ow] = 0.0f;
#pragma clang loop vectorize(assume_safety)
                for (size_t ow = lo; ow < hi; ow++) d[ow] = src[ow];
                for (size_t ow = hi; ow < out_w; ow++) d[ow] = 0.0f;
            }
        }
    }
}

DG_CLONES
void dg_col2im_unit(float *col, size_t channels, size_t height, size_t width, size_t out_w,
                    const int32_t *row_shift, const int32_t *col_shift, size_t taps, size_t first_row, size_t rows,
                    float *x, size_t row_stride) {
    if (out_w == width) {
        // The wrapped entries of `col` (scratch) are zeroed first, so that one contiguous add over
        // the run puts each entry back where it came from: adding +0 leaves every sum as it was.
        for (size_t c = 0; c < channels; c++) {
            float *plane = x + c * height * width;
            for (size_t t = 0; t < taps; t++) {
                float *s = col + (c * taps + t) * row_stride;
                size_t ra, rb, lo, hi;
                long shift, from, to;
                dg_shifted_run(row_shift[t], col_shift[t], first_row, rows, height, width, &ra, &rb, &lo, &hi, &shift, &from, &to);
                dg_zero_wrapped(s, ra, rb, width, lo, hi);
#pragma clang loop vectorize(assume_safety)
                for (long j = from; j < to; j++) plane[j + shift] += s[j];
            }
        }
        return;
    }
    for (size_t c = 0; c < channels; c++) {
        float *plane = x + c * height * width;
        for (size_t t = 0; t < taps; t++) {
            const float *src = col + (c * taps + t) * row_stride;
            size_t lo, hi;
            dg_inside(col_shift[t], width, out_w, &lo, &hi);
            for (size_t r = 0; r < rows; r++) {
                long ih = (long)(first_row + r) + row_shift[t];
                if (ih < 0 || ih >= (long)height) continue;
                float *d = plane + (size_t)ih * width + col_shift[t];
                const float *s = src + r * out_w;
#pragma clang loop vectorize(assume_safety)
                for (size_t ow = lo; ow < hi; ow++) d[ow] += s[ow];
            }
        }
    }
}
