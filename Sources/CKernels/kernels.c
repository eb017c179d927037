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

// Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016): y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A for each 4x4 input tile d and 2x2
// output tile, with
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  Aᵀ = [1 1 1 0; 0 1 -1 -1].
// A tile row's columns 2tw .. 2tw + 3 are the even and odd entries tw and tw + 1 of the row:
// de-interleaved first, every formula below runs along the tiles with unit stride.

// One input row read at columns first_col ..< first_col + 2 * count + 2 (zero outside the
// image, and everywhere when row is null), split into its even (e[0 ... count]) and odd
// (o[0 ... count]) entries. The row is first copied into `line` (2 * count + 2 floats) with its
// zeros, so the split runs without a test per entry.
static inline void dg_split_row(const float *row, long first_col, size_t width, size_t count, float *line,
                                float *e, float *o) {
    long n = 2 * (long)count + 2, lo = first_col < 0 ? -first_col : 0, hi = (long)width - first_col;
    if (hi > n) hi = n;
    if (!row || hi < lo) hi = lo = 0;
    for (long j = 0; j < lo; j++) line[j] = 0.0f;
    for (long j = lo; j < hi; j++) line[j] = row[first_col + j];
    for (long j = hi; j < n; j++) line[j] = 0.0f;
#pragma clang loop vectorize(assume_safety)
    for (size_t k = 0; k <= count; k++) {
        e[k] = line[2 * k];
        o[k] = line[2 * k + 1];
    }
}

DG_CLONES
void dg_winograd_input(const float *x, size_t channels, size_t height, size_t width, long pad_top, long pad_left,
                       size_t tiles_h, size_t tiles_w, float *v, float *scratch) {
    const size_t tiles = tiles_h * tiles_w, n = tiles_w + 1;
    float *e[4], *o[4], *line = scratch + 8 * n;
    for (int a = 0; a < 4; a++) { e[a] = scratch + 2 * a * n; o[a] = e[a] + n; }
    for (size_t c = 0; c < channels; c++) {
        const float *plane = x + c * height * width;
        for (size_t th = 0; th < tiles_h; th++) {
            for (int a = 0; a < 4; a++) {
                long r = 2 * (long)th - pad_top + a;
                dg_split_row(r >= 0 && r < (long)height ? plane + r * (long)width : 0, -pad_left, width, tiles_w, line,
                             e[a], o[a]);
            }
            float *dst = v + c * tiles + th * tiles_w;
            const size_t plane_stride = channels * tiles;
#pragma clang loop vectorize(assume_safety) vectorize_predicate(enable)
            for (size_t tw = 0; tw < tiles_w; tw++) {
                // Bᵀ d: rows 0 - 2, 1 + 2, 2 - 1, 1 - 3, for the four columns e0 o0 e1 o1.
                float r[4][4];
                float col[4][4] = {{e[0][tw], o[0][tw], e[0][tw + 1], o[0][tw + 1]},
                                   {e[1][tw], o[1][tw], e[1][tw + 1], o[1][tw + 1]},
                                   {e[2][tw], o[2][tw], e[2][tw + 1], o[2][tw + 1]},
                                   {e[3][tw], o[3][tw], e[3][tw + 1], o[3][tw + 1]}};
                for (int b = 0; b < 4; b++) {
                    r[0][b] = col[0][b] - col[2][b];
                    r[1][b] = col[1][b] + col[2][b];
                    r[2][b] = col[2][b] - col[1][b];
                    r[3][b] = col[1][b] - col[3][b];
                }
                // (Bᵀ d) B: the same combination of columns.
                for (int a = 0; a < 4; a++) {
                    dst[(4 * a + 0) * plane_stride + tw] = r[a][0] - r[a][2];
                    dst[(4 * a + 1) * plane_stride + tw] = r[a][1] + r[a][2];
                    dst[(4 * a + 2) * plane_stride + tw] = r[a][2] - r[a][1];
                    dst[(4 * a + 3) * plane_stride + tw] = r[a][1] - r[a][3];
                }
            }
        }
    }
}

DG_CLONES
void dg_winograd_output(const float *m, size_t channels, size_t tiles_h, size_t tiles_w, size_t out_h, size_t out_w,
                        const float *bias, float *y, float *scratch) {
    const size_t tiles = tiles_h * tiles_w, plane_stride = channels * tiles;
    float *row[2] = {scratch, scratch + 2 * tiles_w};
    for (size_t c = 0; c < channels; c++) {
        float add = bias ? bias[c] : 0.0f;
        float *out = y + c * out_h * out_w;
        for (size_t th = 0; th < tiles_h; th++) {
            const float *src = m + c * tiles + th * tiles_w;
#pragma clang loop vectorize(assume_safety) vectorize_predicate(enable)
            for (size_t tw = 0; tw < tiles_w; tw++) {
                float t[4][4], s[2][4];
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) t[a][b] = src[(4 * a + b) * plane_stride + tw];
                // Aᵀ m: rows 0 + 1 + 2 and 1 - 2 - 3; then the same over columns.
                for (int b = 0; b < 4; b++) {
                    s[0][b] = t[0][b] + t[1][b] + t[2][b];
                    s[1][b] = t[1][b] - t[2][b] - t[3][b];
                }
                for (int r = 0; r < 2; r++) {
                    row[r][2 * tw] = s[r][0] + s[r][1] + s[r][2] + add;
                    row[r][2 * tw + 1] = s[r][1] - s[r][2] - s[r][3] + add;
                }
            }
            for (size_t r = 0; r < 2 && 2 * th + r < out_h; r++) {
                float *d = out + (2 * th + r) * out_w;
                for (size_t j = 0; j < out_w; j++) d[j] = row[r][j];
            }
        }
    }
}

DG_CLONES
void dg_winograd_output_adjoint(const float *dy, size_t channels, size_t tiles_h, size_t tiles_w, size_t out_h,
                                size_t out_w, float *dm, float *scratch) {
    const size_t tiles = tiles_h * tiles_w, plane_stride = channels * tiles, n = tiles_w + 1;
    float *e[2] = {scratch, scratch + 2 * n}, *o[2] = {scratch + n, scratch + 3 * n}, *line = scratch + 4 * n;
    for (size_t c = 0; c < channels; c++) {
        const float *plane = dy + c * out_h * out_w;
        for (size_t th = 0; th < tiles_h; th++) {
            for (size_t r = 0; r < 2; r++) {
                size_t row = 2 * th + r;
                dg_split_row(row < out_h ? plane + row * out_w : 0, 0, out_w, tiles_w, line, e[r], o[r]);
            }
            float *dst = dm + c * tiles + th * tiles_w;
#pragma clang loop vectorize(assume_safety) vectorize_predicate(enable)
            for (size_t tw = 0; tw < tiles_w; tw++) {
                // A g Aᵀ with A = Aᵀᵀ: columns g0, g0 + g1, g0 - g1, -g1; then the same over rows.
                float h[2][4];
                for (int r = 0; r < 2; r++) {
                    float g0 = e[r][tw], g1 = o[r][tw];
                    h[r][0] = g0; h[r][1] = g0 + g1; h[r][2] = g0 - g1; h[r][3] = -g1;
                }
                for (int b = 0; b < 4; b++) {
                    dst[(0 + b) * plane_stride + tw] = h[0][b];
                    dst[(4 + b) * plane_stride + tw] = h[0][b] + h[1][b];
                    dst[(8 + b) * plane_stride + tw] = h[0][b] - h[1][b];
                    dst[(12 + b) * plane_stride + tw] = -h[1][b];
                }
            }
        }
    }
}

// The Toom-Cook matrices of the transforms WinogradChannelsLast uses, F(4x4, 3x3), F(4x4, 2x2)
// and F(3x3, 5x5): Bᵀ, Aᵀ, A, G and Gᵀ of each, rounded to float from ToomCook's derivation in
// double (a test requires the same numbers). As constants, the transform's unrolled loops fold
// them: no products by 0 or 1, no tests of coefficients, no broadcasts of ±1.
static const float dg_f4x3_bt[36] = { // 6 x 6
    1, -1.5, -2, 1.5, 1, 0,
    0, -1, 0.5, 2.5, 1, 0,
    0, 1, -2.5, 0.5, 1, 0,
    0, -2, -1, 2, 1, 0,
    0, 0.5, -1, -0.5, 1, 0,
    0, 1, -1.5, -2, 1.5, 1,
};
static const float dg_f4x3_at[24] = { // 4 x 6
    1, 1, 1, 1, 1, 0,
    0, 1, -1, 0.5, -2, 0,
    0, 1, 1, 0.25, 4, 0,
    0, 1, -1, 0.125, -8, 1,
};
static const float dg_f4x3_a[24] = { // 6 x 4
    1, 0, 0, 0,
    1, 1, 1, 1,
    1, -1, 1, -1,
    1, 0.5, 0.25, 0.125,
    1, -2, 4, -8,
    0, 0, 0, 1,
};
static const float dg_f4x3_g[18] = { // 6 x 3
    1, 0, 0,
    0x1.555556p-2, 0x1.555556p-2, 0x1.555556p-2,
    -0x1.555556p-2, 0x1.555556p-2, -0x1.555556p-2,
    -0x1.111112p+0, -0x1.111112p-1, -0x1.111112p-2,
    0x1.111112p-4, -0x1.111112p-3, 0x1.111112p-2,
    0, 0, 1,
};
static const float dg_f4x3_gt[18] = { // 3 x 6
    1, 0x1.555556p-2, -0x1.555556p-2, -0x1.111112p+0, 0x1.111112p-4, 0,
    0, 0x1.555556p-2, 0x1.555556p-2, -0x1.111112p-1, -0x1.111112p-3, 0,
    0, 0x1.555556p-2, -0x1.555556p-2, -0x1.111112p-2, 0x1.111112p-2, 1,
};
static const float dg_f4x2_bt[25] = { // 5 x 5
    0.5, -1, -0.5, 1, 0,
    0, -0.5, 0.5, 1, 0,
    0, 0.5, -1.5, 1, 0,
    0, -1, 0, 1, 0,
    0, 0.5, -1, -0.5, 1,
};
static const float dg_f4x2_at[20] = { // 4 x 5
    1, 1, 1, 1, 0,
    0, 1, -1, 0.5, 0,
    0, 1, 1, 0.25, 0,
    0, 1, -1, 0.125, 1,
};
static const float dg_f4x2_a[20] = { // 5 x 4
    1, 0, 0, 0,
    1, 1, 1, 1,
    1, -1, 1, -1,
    1, 0.5, 0.25, 0.125,
    0, 0, 0, 1,
};
static const float dg_f4x2_g[10] = { // 5 x 2
    2, 0,
    1, 1,
    -0x1.555556p-2, 0x1.555556p-2,
    -0x1.555556p+1, -0x1.555556p+0,
    0, 1,
};
static const float dg_f4x2_gt[10] = { // 2 x 5
    2, 1, -0x1.555556p-2, -0x1.555556p+1, 0,
    0, 1, 0x1.555556p-2, -0x1.555556p+0, 1,
};
static const float dg_f3x5_bt[49] = { // 7 x 7
    -2, 4, 2.5, -5, -0.5, 1, 0,
    0, 2, -2, -4.5, 0.5, 1, 0,
    0, -2, 6, -3.5, -1.5, 1, 0,
    0, 4, 0, -5, 0, 1, 0,
    0, -1, 2.5, 0, -2.5, 1, 0,
    0, 1, -1.5, -2, 1.5, 1, 0,
    0, -2, 4, 2.5, -5, -0.5, 1,
};
static const float dg_f3x5_at[21] = { // 3 x 7
    1, 1, 1, 1, 1, 1, 0,
    0, 1, -1, 0.5, -2, 2, 0,
    0, 1, 1, 0.25, 4, 4, 1,
};
static const float dg_f3x5_a[21] = { // 7 x 3
    1, 0, 0,
    1, 1, 1,
    1, -1, 1,
    1, 0.5, 0.25,
    1, -2, 4,
    1, 2, 4,
    0, 0, 1,
};
static const float dg_f3x5_g[35] = { // 7 x 5
    -0.5, 0, 0, 0, 0,
    -0x1.555556p-2, -0x1.555556p-2, -0x1.555556p-2, -0x1.555556p-2, -0x1.555556p-2,
    0x1.c71c72p-4, -0x1.c71c72p-4, 0x1.c71c72p-4, -0x1.c71c72p-4, 0x1.c71c72p-4,
    0x1.6c16c2p-1, 0x1.6c16c2p-2, 0x1.6c16c2p-3, 0x1.6c16c2p-4, 0x1.6c16c2p-5,
    -0x1.111112p-6, 0x1.111112p-5, -0x1.111112p-4, 0x1.111112p-3, -0x1.111112p-2,
    0x1.c71c72p-6, 0x1.c71c72p-5, 0x1.c71c72p-4, 0x1.c71c72p-3, 0x1.c71c72p-2,
    0, 0, 0, 0, 1,
};
static const float dg_f3x5_gt[35] = { // 5 x 7
    -0.5, -0x1.555556p-2, 0x1.c71c72p-4, 0x1.6c16c2p-1, -0x1.111112p-6, 0x1.c71c72p-6, 0,
    0, -0x1.555556p-2, -0x1.c71c72p-4, 0x1.6c16c2p-2, 0x1.111112p-5, 0x1.c71c72p-5, 0,
    0, -0x1.555556p-2, 0x1.c71c72p-4, 0x1.6c16c2p-3, -0x1.111112p-4, 0x1.c71c72p-4, 0,
    0, -0x1.555556p-2, -0x1.c71c72p-4, 0x1.6c16c2p-4, 0x1.111112p-3, 0x1.c71c72p-3, 0,
    0, -0x1.555556p-2, 0x1.c71c72p-4, 0x1.6c16c2p-5, -0x1.111112p-2, 0x1.c71c72p-2, 1,
};

// Each matrix as a kind: X(kind, table, rows, columns).
#define DG_TOOM_COOK_MATRICES(X) \
    X(0, dg_f4x3_bt, 6, 6) \
    X(1, dg_f4x3_at, 4, 6) \
    X(2, dg_f4x3_a, 6, 4) \
    X(3, dg_f4x3_g, 6, 3) \
    X(4, dg_f4x3_gt, 3, 6) \
    X(5, dg_f4x2_bt, 5, 5) \
    X(6, dg_f4x2_at, 4, 5) \
    X(7, dg_f4x2_a, 5, 4) \
    X(8, dg_f4x2_g, 5, 2) \
    X(9, dg_f4x2_gt, 2, 5) \
    X(10, dg_f3x5_bt, 7, 7) \
    X(11, dg_f3x5_at, 3, 7) \
    X(12, dg_f3x5_a, 7, 3) \
    X(13, dg_f3x5_g, 7, 5) \
    X(14, dg_f3x5_gt, 5, 7)

const float *dg_tile_matrix(int kind, size_t *rows, size_t *cols) {
    switch (kind) {
#define DG_TILE_MATRIX(k, table, r, c)                                                                             \
    case k: *rows = r; *cols = c; return table;
        DG_TOOM_COOK_MATRICES(DG_TILE_MATRIX)
    default: return 0;
    }
}

// out = M · D · Mᵀ for a constant M (rows x cols), unrolled whole so that M's entries are
// folded into the code.
static inline __attribute__((always_inline)) void dg_tile_transform_body(
    const float *src, long src_row, long src_col, const float *matrix, const size_t rows, const size_t cols,
    float *dst, long dst_row, long dst_col, size_t channels, float *scratch) {
    for (size_t c0 = 0; c0 < channels; c0 += 16) {
        // M · D, one 16-channel vector per entry, into scratch[p][j].
        _Pragma("clang loop unroll(full)") for (size_t p = 0; p < rows; p++) {
            _Pragma("clang loop unroll(full)") for (size_t j = 0; j < cols; j++) {
                float acc[16] = {0};
                _Pragma("clang loop unroll(full)") for (size_t i = 0; i < cols; i++) {
                    float k = matrix[p * cols + i];
                    if (k == 0.0f) continue;
                    const float *d = src + (long)i * src_row + (long)j * src_col + c0;
#pragma clang loop vectorize(assume_safety)
                    for (int l = 0; l < 16; l++) acc[l] += k * d[l];
                }
                float *t = scratch + (p * cols + j) * 16;
                for (int l = 0; l < 16; l++) t[l] = acc[l];
            }
        }
        // (M · D) · Mᵀ.
        _Pragma("clang loop unroll(full)") for (size_t p = 0; p < rows; p++) {
            _Pragma("clang loop unroll(full)") for (size_t q = 0; q < rows; q++) {
                float acc[16] = {0};
                _Pragma("clang loop unroll(full)") for (size_t j = 0; j < cols; j++) {
                    float k = matrix[q * cols + j];
                    if (k == 0.0f) continue;
                    const float *t = scratch + (p * cols + j) * 16;
#pragma clang loop vectorize(assume_safety)
                    for (int l = 0; l < 16; l++) acc[l] += k * t[l];
                }
                float *o = dst + (long)p * dst_row + (long)q * dst_col + c0;
                for (int l = 0; l < 16; l++) o[l] = acc[l];
            }
        }
    }
}

DG_CLONES
void dg_tile_transform(int kind, const float *src, long src_row, long src_col, float *dst, long dst_row,
                       long dst_col, size_t channels, float *scratch) {
    switch (kind) {
#define DG_TILE_TRANSFORM(k, table, r, c)                                                                          \
    case k: return dg_tile_transform_body(src, src_row, src_col, table, r, c, dst, dst_row, dst_col, channels, scratch);
        DG_TOOM_COOK_MATRICES(DG_TILE_TRANSFORM)
    }
}

typedef float dg_v8 __attribute__((ext_vector_type(8)));

// One 8 x 8 block in registers: rows loaded whole, pairs interleaved, then pairs of pairs, then
// halves (the unpack / shuffle / lane-swap steps of the usual SIMD transpose).
static inline __attribute__((always_inline)) void dg_transpose8x8(const float *x, size_t x_stride, float *out,
                                                                 size_t out_stride) {
    dg_v8 r[8], t[8], u[8];
    for (int k = 0; k < 8; k++) __builtin_memcpy(&r[k], x + k * x_stride, sizeof(dg_v8));
    for (int k = 0; k < 8; k += 2) {
        t[k] = __builtin_shufflevector(r[k], r[k + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[k + 1] = __builtin_shufflevector(r[k], r[k + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = __builtin_shufflevector(t[k], t[k + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[k + 1] = __builtin_shufflevector(t[k], t[k + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[k + 2] = __builtin_shufflevector(t[k + 1], t[k + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[k + 3] = __builtin_shufflevector(t[k + 1], t[k + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int k = 0; k < 4; k++) {
        dg_v8 low = __builtin_shufflevector(u[k], u[k + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        dg_v8 high = __builtin_shufflevector(u[k], u[k + 4], 4, 5, 6, 7, 12, 13, 14, 15);
        __builtin_memcpy(out + k * out_stride, &low, sizeof(dg_v8));
        __builtin_memcpy(out + (k + 4) * out_stride, &high, sizeof(dg_v8));
    }
}

DG_CLONES
void dg_transpose(const float *x, size_t rows, size_t cols, size_t x_stride, float *out, size_t out_stride) {
    size_t i0 = 0;
    for (; i0 + 8 <= rows; i0 += 8) {
        size_t j0 = 0;
        for (; j0 + 8 <= cols; j0 += 8) dg_transpose8x8(x + i0 * x_stride + j0, x_stride, out + j0 * out_stride + i0, out_stride);
        for (size_t j = j0; j < cols; j++) {
            for (size_t i = i0; i < i0 + 8; i++) out[j * out_stride + i] = x[i * x_stride + j];
        }
    }
    for (size_t i = i0; i < rows; i++) {
        for (size_t j = 0; j < cols; j++) out[j * out_stride + i] = x[i * x_stride + j];
    }
}
