#include "CKernels.h"

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
void dg_adam_update(size_t count, const float *restrict parameter, const float *restrict gradient,
                    const float *first_moment, const float *second_moment,
                    float *parameter_out, float *first_moment_out, float *second_moment_out,
                    float step_size, float beta1, float beta2, float inverse_root_correction2,
                    float epsilon, float decay, float l2) {
    // Each iteration reads and writes index i only, so exact aliasing (in place) is safe.
#pragma clang loop vectorize(assume_safety)
    for (size_t i = 0; i < count; i++) {
        float p = parameter[i];
        float grad = gradient[i] + p * l2;
        float m = first_moment[i] * beta1 + grad * (1 - beta1);
        float v = second_moment[i] * beta2 + grad * grad * (1 - beta2);
        float denominator = DG_SQRT(v) * inverse_root_correction2 + epsilon;
        first_moment_out[i] = m;
        second_moment_out[i] = v;
        parameter_out[i] = p * decay - step_size * m / denominator;
    }
}

DG_CLONES
void dg_scale(size_t count, const float *x, float scale, float *out) {
#pragma clang loop vectorize(assume_safety)
    for (size_t i = 0; i < count; i++) out[i] = x[i] * scale;
}
