// A Dense layer's product, y = x · W + b, one row at a time in a fixed order.
//
// Why not BLAS: OpenBLAS's sgemm and sgemv add a row's products in an order that depends on
// the kernel the CPU gets, on the batch's row count (blocks against tails) and on threads. On a
// Zen CPU, 1 row in 7 of a 150-row batch came out different from the same row alone, so a
// sample's score would depend on what was sent with it. Here every output is
// b[j] + x[0]·W[0][j] + x[1]·W[1][j] + … added left to right, never fused (contract off), so a
// row gives the same bits alone or in any batch, on any x86-64 CPU and with any vector width.
#include "NumberKernels.h"

#include <string.h>

#pragma clang fp contract(off)

enum { BLOCK = 32 };   // outputs kept in registers at once: 4 AVX2 or 2 AVX-512 registers

#if defined(__x86_64__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

CLONES
void nk_dense(const float *restrict w, const float *restrict b, const float *restrict x, float *restrict y,
              size_t rows, size_t inputs, size_t outputs) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * inputs;
        float *yr = y + r * outputs;
        size_t j0 = 0;
        for (; j0 + BLOCK <= outputs; j0 += BLOCK) {
            float acc[BLOCK];
            memcpy(acc, b + j0, sizeof acc);
            for (size_t i = 0; i < inputs; i++) {
                const float xi = xr[i];
                const float *wi = w + i * outputs + j0;
                for (size_t j = 0; j < BLOCK; j++) acc[j] = acc[j] + xi * wi[j];
            }
            memcpy(yr + j0, acc, sizeof acc);
        }
        if (j0 < outputs) {
            const size_t n = outputs - j0;
            float acc[BLOCK];
            memcpy(acc, b + j0, n * sizeof(float));
            for (size_t i = 0; i < inputs; i++) {
                const float xi = xr[i];
                const float *wi = w + i * outputs + j0;
                for (size_t j = 0; j < n; j++) acc[j] = acc[j] + xi * wi[j];
            }
            memcpy(yr + j0, acc, n * sizeof(float));
        }
    }
}
