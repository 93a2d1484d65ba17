#ifndef NUMBER_KERNELS_INTERNAL_H
#define NUMBER_KERNELS_INTERNAL_H

/// The functions' common target: every x86 CPU with VBMI (Ice Lake and later) has the rest.
#define NK_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx512vbmi")))

/// Fills FloatFormat.c's layout table (once, from nk_available).
void nk_build_format_layouts(void);

#endif
