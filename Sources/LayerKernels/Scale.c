// The min-max scaling of rows into the network's Float inputs: out = Float(x · scale + min),
// sklearn's `X *= scale_; X += min_` in float64, then rounded to float32.
//
// In C so that it can be compiled for AVX-512 and AVX2 as well: Swift builds for the baseline
// x86-64 (SSE2, two doubles at a time), and `ae detect` scales 115 features for each packet
// (1.5–2.2% of its time). Multiply, add and convert are each exactly rounded, never fused
// (contract off), so every width gives the same bits.
#include "LayerKernels.h"

#include <stdatomic.h>

#pragma clang fp contract(off)

static inline __attribute__((always_inline))
void scale(const double *restrict x, const double *restrict s, const double *restrict m, float *restrict out,
           size_t count, size_t columns) {
    // Rows counted down by subtraction: dividing `count` was a 64-bit division (about 40 cycles
    // on Zen 2) in each one-row call.
    for (size_t left = count; left >= columns; left -= columns, x += columns, out += columns)
        for (size_t j = 0; j < columns; j++) {
            double v = x[j] * s[j];   // sklearn: X *= self.scale_
            v = v + m[j];             //          X += self.min_
            out[j] = (float)v;
        }
}

static void scale_baseline(const double *x, const double *s, const double *m, float *out, size_t count, size_t columns) {
    scale(x, s, m, out, count, columns);
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
static void scale_avx2(const double *x, const double *s, const double *m, float *out, size_t count, size_t columns) {
    scale(x, s, m, out, count, columns);
}

__attribute__((target("avx512f")))
static void scale_avx512(const double *x, const double *s, const double *m, float *out, size_t count, size_t columns) {
    scale(x, s, m, out, count, columns);
}
#endif

typedef void (*scale_function)(const double *, const double *, const double *, float *, size_t, size_t);

static scale_function choose(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return scale_avx512;
    if (__builtin_cpu_supports("avx2")) return scale_avx2;
#endif
    return scale_baseline;
}

void nk_scale(const double *x, const double *scale, const double *min, float *out, size_t count, size_t columns) {
    static _Atomic(scale_function) chosen = NULL;   // a race only chooses the same function twice
    scale_function f = chosen;
    if (f == NULL) chosen = f = choose();
    f(x, scale, min, out, count, columns);
}
