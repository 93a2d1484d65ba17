#ifndef LAYER_KERNELS_H
#define LAYER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

// The network's own arithmetic in C: the dense layers' product in a fixed order, and AVX-512 or
// AVX2 activations. The scalar Swift code in AutoencoderCore (`Activation.applyScalar`) is the
// activations' specification and fallback. With AE_NUMBER_KERNELS=off in the environment,
// `nk_activation_available` answers 0 and the fallback runs everywhere.

/// 1 if this CPU and OS run `nk_sigmoid` and `nk_tanh` (AVX-512 F and DQ, or AVX2 and FMA), 0 if not.
int nk_activation_available(void);

/// 2: the activations run sixteen at a time (AVX-512 F and DQ); 1: eight (AVX2 and FMA); 0: not.
int nk_activation_level(void);

/// p[i] = 1 / (1 + expf(-p[i])) for i in 0..<n, bit for bit as with glibc 2.36's `expf` on a
/// CPU with FMA (`__expf_fma`: `Activation.apply`'s sigmoid).
void nk_sigmoid(float *p, size_t n);

/// p[i] = tanhf(p[i]) for i in 0..<n, bit for bit as glibc 2.36's `tanhf`.
void nk_tanh(float *p, size_t n);

/// y = x · W + b for `rows` rows: W is `inputs × outputs` row-major (Keras's kernel layout), x is
/// `rows × inputs`, y is `rows × outputs`. Each output is b[j] plus the products x[i]·W[i][j]
/// added in order of i, never fused, so a row's result does not depend on the batch around it
/// or on the CPU. Every x86-64 CPU runs it (vectorised where the CPU allows).
void nk_dense(const float *w, const float *b, const float *x, float *y, size_t rows, size_t inputs, size_t outputs);

/// out = (float)(x · scale + min), column by column, for the rows of `columns` values in the
/// `count` values at x (a whole number of rows; scale and min: one per column): each product, sum and rounding to float
/// exactly rounded and never fused, so every CPU gives the same bits. Every x86-64 CPU runs it.
void nk_scale(const double *x, const double *scale, const double *min, float *out, size_t count, size_t columns);

#endif
