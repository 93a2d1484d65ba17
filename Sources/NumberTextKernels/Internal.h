#ifndef NUMBER_TEXT_KERNELS_INTERNAL_H
#define NUMBER_TEXT_KERNELS_INTERNAL_H

/// The formatter's target: Skylake-SP and later.
#define NK_WRITE_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512cd")))
/// The parser's: it also compresses and expands bytes (VBMI2: Ice Lake and later).
#define NK_SCAN_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx512vbmi2")))

/// Fills FloatFormat.c's layout table (once, from the availability check).
void nk_build_format_layouts(void);

#endif
