#ifndef FEATURE_KERNELS_H
#define FEATURE_KERNELS_H

#include <stddef.h>

// The traffic extractor's arithmetic in C: the decay factors of a stream's five windows at once.

/// y[i] = exp2(a[i] * s) for i in 0..<5, bit for bit as glibc 2.36's `exp2` (with AVX2 where the
/// CPU has it; glibc's `exp2` itself otherwise, or with AE_NUMBER_KERNELS=off).
void fk_exp2_scaled5(const double *a, double s, double *y);

/// 1 if `fk_exp2_scaled5` runs vectorised here (AVX2, and AE_NUMBER_KERNELS is not "off"), 0 if not.
int fk_available(void);

#endif
