// A Dense layer's product, y = x · W + b, one row at a time in a fixed order.
//
// Why not BLAS: OpenBLAS's sgemm and sgemv add a row's products in an order that depends on
// the kernel the CPU gets, on the batch's row count (blocks against tails) and on threads. On a
// Zen CPU, 1 row in 7 of a 150-row batch came out different from the same row alone, so a
// sample's score would depend on what was sent with it. Here every output is
// b[j] + x[0]·W[0][j] + x[1]·W[1][j] + … added left to right, never fused (contract off), so a
// row gives the same bits alone or in any batch, on any x86-64 CPU and with any vector width.
#include "LayerKernels.h"

#include <stdatomic.h>
#include <string.h>

#pragma clang fp contract(off)

enum { BLOCK = 32 };   // outputs kept in registers at once: 4 AVX2 or 2 AVX-512 registers

/// One block of `n` (≤ BLOCK) outputs for `R` rows at once: each weight loaded once serves every
/// row, and R × BLOCK independent sums keep the adders busy (one row's BLOCK sums wait on the
/// add latency). Each output is still added in input order, so the bits do not change with R.
static inline __attribute__((always_inline))
void block(const float *restrict w, const float *restrict b, const float *restrict x, float *restrict y,
           size_t inputs, size_t outputs, size_t j0, size_t n, size_t R) {
    float acc[4][BLOCK];
    for (size_t r = 0; r < R; r++) memcpy(acc[r], b + j0, n * sizeof(float));
    for (size_t i = 0; i < inputs; i++) {
        const float *wi = w + i * outputs + j0;
        for (size_t r = 0; r < R; r++) {
            const float xi = x[r * inputs + i];
            for (size_t j = 0; j < n; j++) acc[r][j] = acc[r][j] + xi * wi[j];
        }
    }
    for (size_t r = 0; r < R; r++) memcpy(y + r * outputs + j0, acc[r], n * sizeof(float));
}

/// One block of `n` outputs for every row: pairs of rows, then the last one. The block's weights
/// (at most inputs × BLOCK floats) are read from the cache for each pair after the first.
static inline __attribute__((always_inline))
void block_rows(const float *restrict w, const float *restrict b, const float *restrict x, float *restrict y,
                size_t rows, size_t inputs, size_t outputs, size_t j0, size_t n) {
    size_t r = 0;
    for (; r + 2 <= rows; r += 2) block(w, b, x + r * inputs, y + r * outputs, inputs, outputs, j0, n, 2);
    if (r < rows) block(w, b, x + r * inputs, y + r * outputs, inputs, outputs, j0, n, 1);
}

/// The product; compiled once per instruction set below, each giving the same bits. Blocks of
/// BLOCK outputs, then of 16 and 8 (all of constant width, so each is unrolled into whole
/// vectors), then the last few; each block over every row before the next block, so a batch
/// reads the layer's weights from memory once rather than once per pair of rows.
static inline __attribute__((always_inline))
void dense(const float *restrict w, const float *restrict b, const float *restrict x, float *restrict y,
           size_t rows, size_t inputs, size_t outputs) {
    size_t j0 = 0;
    for (; j0 + BLOCK <= outputs; j0 += BLOCK) block_rows(w, b, x, y, rows, inputs, outputs, j0, BLOCK);
    if (j0 + 16 <= outputs) { block_rows(w, b, x, y, rows, inputs, outputs, j0, 16); j0 += 16; }
    if (j0 + 8 <= outputs) { block_rows(w, b, x, y, rows, inputs, outputs, j0, 8); j0 += 8; }
    switch (outputs - j0) {   // the last few, also at a constant width, so their sums stay in registers
    case 7: block_rows(w, b, x, y, rows, inputs, outputs, j0, 7); break;
    case 6: block_rows(w, b, x, y, rows, inputs, outputs, j0, 6); break;
    case 5: block_rows(w, b, x, y, rows, inputs, outputs, j0, 5); break;
    case 4: block_rows(w, b, x, y, rows, inputs, outputs, j0, 4); break;
    case 3: block_rows(w, b, x, y, rows, inputs, outputs, j0, 3); break;
    case 2: block_rows(w, b, x, y, rows, inputs, outputs, j0, 2); break;
    case 1: block_rows(w, b, x, y, rows, inputs, outputs, j0, 1); break;
    }
}

static void dense_baseline(const float *w, const float *b, const float *x, float *y, size_t rows, size_t inputs, size_t outputs) {
    dense(w, b, x, y, rows, inputs, outputs);
}

#if defined(__x86_64__)
// Chosen at the first call rather than by an ifunc (target_clones): an ifunc resolver runs while
// the program is being loaded, before a sanitizer's runtime, and crashed under ThreadSanitizer.
__attribute__((target("avx2")))
static void dense_avx2(const float *w, const float *b, const float *x, float *y, size_t rows, size_t inputs, size_t outputs) {
    dense(w, b, x, y, rows, inputs, outputs);
}

/// AVX-512, four rows or more: blocks of 16 outputs (one register a row) over four rows at
/// once, the last block ending at the last output (it computes again, to the same bits, outputs
/// the block before it wrote). On a Zen 4 core the six products of the 115-64-32-16 network took
/// about 430 ns a row this way in passes of 64 rows, against 570 ns with `dense`'s 32 outputs
/// over two rows (a C harness, weights in the cache), and the whole pass 590 against 700 ns
/// (`ae-bench pass --rows 64`). Fewer than four rows were slower this way (one row: 1,330
/// against 1,120 ns in the harness), so they still take `dense`. The AVX2 kernel keeps `dense`:
/// this blocking, tried there on Zen 2, was no faster.
static inline __attribute__((always_inline))
void dense_quads(const float *restrict w, const float *restrict b, const float *restrict x, float *restrict y,
                 size_t rows, size_t inputs, size_t outputs) {
    size_t j0 = 0;
    for (; j0 + 16 <= outputs; j0 += 16)
        for (size_t r = 0; r < rows; r += 4) block(w, b, x + r * inputs, y + r * outputs, inputs, outputs, j0, 16, 4);
    if (j0 < outputs)
        for (size_t r = 0; r < rows; r += 4) block(w, b, x + r * inputs, y + r * outputs, inputs, outputs, outputs - 16, 16, 4);
}

__attribute__((target("avx512f")))
static void dense_avx512(const float *w, const float *b, const float *x, float *y, size_t rows, size_t inputs, size_t outputs) {
    size_t quads = outputs >= 16 ? rows / 4 * 4 : 0;
    if (quads > 0) dense_quads(w, b, x, y, quads, inputs, outputs);
    if (quads < rows) dense(w, b, x + quads * inputs, y + quads * outputs, rows - quads, inputs, outputs);
}
#endif

typedef void (*dense_function)(const float *, const float *, const float *, float *, size_t, size_t, size_t);

static dense_function choose(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return dense_avx512;
    if (__builtin_cpu_supports("avx2")) return dense_avx2;
#endif
    return dense_baseline;
}

void nk_dense(const float *w, const float *b, const float *x, float *y, size_t rows, size_t inputs, size_t outputs) {
    static _Atomic(dense_function) chosen = NULL;   // a race only chooses the same function twice
    dense_function f = chosen;
    if (f == NULL) chosen = f = choose();
    f(w, b, x, y, rows, inputs, outputs);
}
