#ifndef DEEPGEN_CKERNELS_H
#define DEEPGEN_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

// Hot loops that Swift compiles for the baseline x86-64 (SSE2) only: written in C so that the
// compiler builds one clone per instruction set (AVX-512, AVX2, baseline) and the loader picks
// the clone this CPU runs. Contraction into FMA is off, so every clone rounds alike and a seed
// gives the same numbers on every machine.

/// Adam's update of `count` values (the parameters, gradients and moments of one slice).
/// New values go to the `out` arrays, which may be the inputs themselves.
void dg_adam_update(size_t count, const float *parameter, const float *gradient,
                    const float *first_moment, const float *second_moment,
                    float *parameter_out, float *first_moment_out, float *second_moment_out,
                    float step_size, float beta1, float beta2, float inverse_root_correction2,
                    float epsilon, float decay, float l2);

/// out[i] = x[i] * scale.
void dg_scale(size_t count, const float *x, float scale, float *out);

/// The counter-based generator's uniforms (RandomGenerator in the engine): the 64-bit hash of
/// (seed, start + j) gives u1[j] in (0, 1] from its top 24 bits and u2[j] in [0, 1) from the
/// next 24, for j < count.
void dg_uniform_pairs(uint64_t seed, uint64_t start, size_t count, float *u1, float *u2);

/// The columns matrix of a convolution through a table of input offsets: for each channel c and
/// tap t, row (c * taps + t) of `col` (rows `row_stride` apart) gets x[c * plane + index[t][p]],
/// or 0 where the index is negative (the padding), for p < count.
void dg_im2col(const float *x, size_t channels, size_t plane, const int32_t *index, size_t taps, size_t count,
               float *col, size_t row_stride);

/// The adjoint of the columns matrix of any convolution, as one add per entry: row
/// (c * taps + t) of `col` (rows `row_stride` apart) holds, for the output rows first_row ..<
/// first_row + rows (out_w wide each), what tap t read at input row oh * stride_h + row_shift[t]
/// and column ow * stride_w + col_shift[t]; each entry that meets the height x width input is
/// added back onto it. Within a tap no two outputs meet one input pixel, so a row's adds are
/// independent; a gather over the input pixels would cost stride_h * stride_w times the adds,
/// most of them of nothing.
void dg_col2im_strided(const float *col, size_t channels, size_t height, size_t width, size_t out_w,
                       const int32_t *row_shift, const int32_t *col_shift, size_t taps, size_t first_row, size_t rows,
                       size_t stride_h, size_t stride_w, float *x, size_t row_stride);

/// The columns matrix of a unit-stride convolution, row by row: for each channel c and tap t,
/// whose input lies row_shift[t] rows and col_shift[t] columns from the output position, row
/// (c * taps + t) of `col` (rows `row_stride` apart) holds, for the output rows first_row ..<
/// first_row + rows (out_w wide each), x[c][oh + row_shift[t]][ow + col_shift[t]], or 0 outside
/// the height x width input.
void dg_im2col_unit(const float *x, size_t channels, size_t height, size_t width, size_t out_w,
                    const int32_t *row_shift, const int32_t *col_shift, size_t taps, size_t first_row, size_t rows,
                    float *col, size_t row_stride);

/// The adjoint of dg_im2col_unit: adds every entry of `col` that meets the input back onto it.
/// `col` is scratch: entries that meet nothing may be zeroed on the way.
void dg_col2im_unit(float *col, size_t channels, size_t height, size_t width, size_t out_w,
                    const int32_t *row_shift, const int32_t *col_shift, size_t taps, size_t first_row, size_t rows,
                    float *x, size_t row_stride);

/// Winograd F(2x2, 3x3) on one image, the input transform: each of `channels` height x width
/// planes is cut into tiles_h x tiles_w overlapping 4x4 tiles (tile (th, tw) starts at row
/// 2th - pad_top, column 2tw - pad_left; zero outside the image), and entry k of Bᵀ d B goes to
/// v[(k * channels + c) * T + th * tiles_w + tw], T = tiles_h * tiles_w. `scratch` holds
/// 10 * (tiles_w + 1) floats.
void dg_winograd_input(const float *x, size_t channels, size_t height, size_t width, long pad_top, long pad_left,
                       size_t tiles_h, size_t tiles_w, float *v, float *scratch);

/// The output transform: each 2x2 tile Aᵀ m A of the 16 products m (laid out as
/// dg_winograd_input's v) plus the channel's bias (or none) is written into the out_h x out_w
/// planes of y; tile rows and columns past the edge are dropped. `scratch` holds 4 * tiles_w floats.
void dg_winograd_output(const float *m, size_t channels, size_t tiles_h, size_t tiles_w, size_t out_h, size_t out_w,
                        const float *bias, float *y, float *scratch);

/// The adjoint of dg_winograd_output (without the bias): A g Aᵀ of each 2x2 tile g of dy (zero
/// past the edge) into dm, laid out as dg_winograd_input's v. `scratch` holds 6 * (tiles_w + 1) floats.
void dg_winograd_output_adjoint(const float *dy, size_t channels, size_t tiles_h, size_t tiles_w, size_t out_h,
                                size_t out_w, float *dm, float *scratch);

/// Toom-Cook matrix `kind` (Bᵀ, Aᵀ, A, G and Gᵀ of F(4x4, 3x3), then of F(4x4, 2x2), then of
/// F(3x3, 5x5): kinds 0 to 14), row-major, its size in *rows and *cols; null past the last kind.
const float *dg_tile_matrix(int kind, size_t *rows, size_t *cols);

/// A tile transform across channels: out = M · D · Mᵀ for every group of 16 channels, M being
/// matrix `kind` (rows x cols), D the cols x cols tile at src (entry (i, j) of channel c at
/// src[i * src_row + j * src_col + c]) and out the rows x rows tile written the same way at dst.
/// `channels` is a multiple of 16; `scratch` holds 16 * rows * cols floats.
void dg_tile_transform(int kind, const float *src, long src_row, long src_col, float *dst, long dst_row,
                       long dst_col, size_t channels, float *scratch);

/// out[j * out_stride + i] = x[i * x_stride + j] for i < rows, j < cols, 8 x 8 blocks at a time
/// in registers: planes [channels][positions] to positions laid channels last, and back.
void dg_transpose(const float *x, size_t rows, size_t cols, size_t x_stride, float *out, size_t out_stride);

/// Sets (1) or clears (0) flush-to-zero and denormals-are-zero for the calling thread; returns
/// whether they were set before. No effect off x86-64.
int dg_flush_subnormals(int on);

#endif
