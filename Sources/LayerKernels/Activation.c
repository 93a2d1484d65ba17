// The sigmoid and tanh activations sixteen (AVX-512) or eight (AVX2) Floats at a time, bit for bit
// what glibc 2.36 gives.
//
// `Activation.apply` (AutoencoderCore) is the specification and the fallback: it calls glibc's
// `expf` (sigmoid = 1 / (1 + expf(-x))) and `tanhf`. One call each costs 1.5 and 11 ns here,
// 0.4 µs of a 4.3 µs single-sample /reconstruct. Training and serving both go through
// `Activation.apply`, so matching glibc exactly (rather than approximating) keeps trained models,
// their scores and every existing result unchanged, whichever path runs.
//
// What is repeated, and where it comes from (the constants are read from glibc 2.36's libm):
//   - expf: glibc's `__expf_fma` (ARM optimized-routines' e_expf.c as glibc builds it with FMA;
//     glibc picks it on every CPU with FMA and AVX2, so on every CPU these kernels run on): double arithmetic, a 32-entry
//     table of 2^(i/32), a cubic; the compiler fused z·InvLn2N + Shift, z·InvLn2N - kd and the
//     cubic's three multiply-adds, and so do we.
//   - tanhf: Sun's s_tanhf.c with its s_expm1f.c (five-term polynomial), float arithmetic,
//     no fused operations. Every branch of the scalar code is computed in every lane and the
//     right one chosen by masks.
// Both widths checked against glibc on all 2^32 bit patterns (`ae-bench activation-check`; the
// AVX2 one on a Zen 2 CPU, the AVX-512 one on a Skylake-SP).

#include "LayerKernels.h"

/// AVX-512 F and DQ (Skylake-SP and later).
#define NK_MATH_TARGET __attribute__((target("avx512f,avx512dq")))

#if defined(__x86_64__)

#include <immintrin.h>

#pragma clang fp contract(off)   // a fused operation only where glibc's build has one (explicit below)

// MARK: expf (glibc __expf_fma)

/// 2^(i/32) as bits, minus i << 47 (so adding ki << 47 puts the exponent in): __exp2f_data.tab.
static const uint64_t exp2_table[32] __attribute__((aligned(64))) = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};

NK_MATH_TARGET static inline __m512d bits_pd(uint64_t b) { return _mm512_castsi512_pd(_mm512_set1_epi64((long long)b)); }

/// expf of eight floats widened to double, before the special cases (glibc's main path).
NK_MATH_TARGET static inline __m512d expf_main(__m512d xd, __m512i t0, __m512i t1, __m512i t2, __m512i t3) {
    const __m512d inv_ln2_n = bits_pd(0x40471547652b82fe);   // 32 / ln 2
    const __m512d shift = bits_pd(0x4338000000000000);       // 0x1.8p52: rounds z to an integer
    __m512d kd = _mm512_fmadd_pd(inv_ln2_n, xd, shift);
    __m512i ki = _mm512_castpd_si512(kd);
    kd = _mm512_sub_pd(kd, shift);
    __m512d r = _mm512_fmsub_pd(inv_ln2_n, xd, kd);
    // T[ki % 32]: two 16-entry permutes, chosen by bit 4.
    __m512i low = _mm512_permutex2var_epi64(t0, ki, t1);
    __m512i high = _mm512_permutex2var_epi64(t2, ki, t3);
    __mmask8 upper = _mm512_test_epi64_mask(ki, _mm512_set1_epi64(16));
    __m512i t = _mm512_mask_blend_epi64(upper, low, high);
    t = _mm512_add_epi64(t, _mm512_slli_epi64(ki, 47));
    __m512d s = _mm512_castsi512_pd(t);
    __m512d z = _mm512_fmadd_pd(r, bits_pd(0x3ebc6af84b912394), bits_pd(0x3f2ebfce50fac4f3));   // C0 r + C1
    __m512d r2 = _mm512_mul_pd(r, r);
    __m512d y = _mm512_fmadd_pd(r, bits_pd(0x3f962e42ff0c52d6), _mm512_set1_pd(1.0));          // C2 r + 1
    y = _mm512_fmadd_pd(z, r2, y);
    return _mm512_mul_pd(y, s);
}

/// expf of sixteen floats, special cases included.
NK_MATH_TARGET static inline __m512 expf16(__m512 x, __m512i t0, __m512i t1, __m512i t2, __m512i t3) {
    __m512d lo = expf_main(_mm512_cvtps_pd(_mm512_castps512_ps256(x)), t0, t1, t2, t3);
    __m512d hi = expf_main(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))), t0, t1, t2, t3);
    __m512 y = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
    // glibc's slow path, for |x| >= 88 or NaN: overflow to +inf, underflow to +0, NaN as x + x.
    __mmask16 over = _mm512_cmp_ps_mask(x, _mm512_set1_ps(0x1.62e42ep6f), _CMP_GT_OQ);
    __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-0x1.9fe368p6f), _CMP_LT_OQ);
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    y = _mm512_mask_mov_ps(y, over, _mm512_set1_ps(__builtin_inff()));
    y = _mm512_mask_mov_ps(y, under, _mm512_setzero_ps());
    return _mm512_mask_add_ps(y, nan, x, x);
}

NK_MATH_TARGET static void sigmoid_avx512(float *p, size_t n) {
    const __m512i t0 = _mm512_load_si512(exp2_table), t1 = _mm512_load_si512(exp2_table + 8);
    const __m512i t2 = _mm512_load_si512(exp2_table + 16), t3 = _mm512_load_si512(exp2_table + 24);
    const __m512 one = _mm512_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(m, p + i);
        __m512 e = expf16(_mm512_xor_ps(x, _mm512_set1_ps(-0.0f)), t0, t1, t2, t3);   // expf(-x)
        _mm512_mask_storeu_ps(p + i, m, _mm512_div_ps(one, _mm512_add_ps(one, e)));
    }
}

// MARK: tanhf (Sun s_tanhf.c, s_expm1f.c)

NK_MATH_TARGET static inline __m512 bits_ps(uint32_t b) { return _mm512_castsi512_ps(_mm512_set1_epi32((int)b)); }
NK_MATH_TARGET static inline __m512 add_exponent(__m512 y, __m512i k) {   // SET_FLOAT_WORD(y, word(y) + (k << 23))
    return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(y), _mm512_slli_epi32(k, 23)));
}

/// expm1f of sixteen floats in (-27 ln 2, 88.72): every argument tanhf gives it.
NK_MATH_TARGET static inline __m512 expm1f16(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
    const __m512 ln2_hi = bits_ps(0x3f317180), ln2_lo = bits_ps(0x3717f7d1);
    __m512i hx = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff));
    __mmask16 negative = _mm512_movepi32_mask(_mm512_castps_si512(x));
    __mmask16 reduced = _mm512_cmpgt_epi32_mask(hx, _mm512_set1_epi32(0x3eb17218));    // |x| > ln2 / 2
    __mmask16 near = reduced & _mm512_cmplt_epi32_mask(hx, _mm512_set1_epi32(0x3F851592));   // and < 1.5 ln2
    __mmask16 tiny = _mm512_cmplt_epi32_mask(hx, _mm512_set1_epi32(0x33000000));      // |x| < 2^-25: x
    // Argument reduction: x = k ln2 + (hi - lo), and c the rounding error of hi - lo.
    __m512 kf = _mm512_add_ps(_mm512_mul_ps(bits_ps(0x3fb8aa3b), x),
                              _mm512_mask_mov_ps(half, negative, _mm512_set1_ps(-0.5f)));
    __m512i k = _mm512_cvttps_epi32(kf);
    __m512 t = _mm512_cvtepi32_ps(k);
    __m512 hi = _mm512_sub_ps(x, _mm512_mul_ps(t, ln2_hi));
    __m512 lo = _mm512_mul_ps(t, ln2_lo);
    // |x| < 1.5 ln2: k = ±1 with hi = x ∓ ln2_hi, lo = ±ln2_lo.
    hi = _mm512_mask_mov_ps(hi, near & ~negative, _mm512_sub_ps(x, ln2_hi));
    hi = _mm512_mask_mov_ps(hi, near & negative, _mm512_add_ps(x, ln2_hi));
    lo = _mm512_mask_mov_ps(lo, near, _mm512_mask_mov_ps(ln2_lo, negative, bits_ps(0xb717f7d1)));
    k = _mm512_mask_mov_epi32(k, near, _mm512_mask_mov_epi32(_mm512_set1_epi32(1), negative, _mm512_set1_epi32(-1)));
    k = _mm512_maskz_mov_epi32(reduced, k);
    __m512 xr = _mm512_mask_mov_ps(x, reduced, _mm512_sub_ps(hi, lo));
    __m512 c = _mm512_maskz_mov_ps(reduced, _mm512_sub_ps(_mm512_sub_ps(hi, xr), lo));
    // x is now in the primary range.
    __m512 hfx = _mm512_mul_ps(xr, half);
    __m512 hxs = _mm512_mul_ps(xr, hfx);
    __m512 r1 = _mm512_mul_ps(bits_ps(0xb457edbb), hxs);                      // Q5
    r1 = _mm512_mul_ps(_mm512_add_ps(r1, bits_ps(0x36867e54)), hxs);        // Q4
    r1 = _mm512_mul_ps(_mm512_sub_ps(r1, bits_ps(0x38a670cd)), hxs);        // -Q3
    r1 = _mm512_mul_ps(_mm512_add_ps(r1, bits_ps(0x3ad00d01)), hxs);        // Q2
    r1 = _mm512_mul_ps(_mm512_sub_ps(r1, bits_ps(0x3d088889)), hxs);        // -Q1
    r1 = _mm512_add_ps(r1, one);
    __m512 tt = _mm512_sub_ps(_mm512_set1_ps(3.0f), _mm512_mul_ps(hfx, r1));
    __m512 e = _mm512_div_ps(_mm512_sub_ps(r1, tt), _mm512_sub_ps(_mm512_set1_ps(6.0f), _mm512_mul_ps(tt, xr)));
    e = _mm512_mul_ps(e, hxs);
    // k == 0
    __m512 y = _mm512_sub_ps(xr, _mm512_sub_ps(_mm512_mul_ps(e, xr), hxs));
    // k != 0
    e = _mm512_sub_ps(_mm512_sub_ps(_mm512_mul_ps(_mm512_sub_ps(e, c), xr), c), hxs);
    __m512 xe = _mm512_sub_ps(xr, e);
    __m512 minus1 = _mm512_sub_ps(_mm512_mul_ps(xe, half), half);                                   // k == -1
    __m512 plus1 = _mm512_mask_mov_ps(_mm512_add_ps(_mm512_add_ps(xe, xe), one),                    // k == 1
                                      _mm512_cmp_ps_mask(xr, _mm512_set1_ps(-0.25f), _CMP_LT_OQ),
                                      _mm512_mul_ps(_mm512_sub_ps(e, _mm512_add_ps(xr, half)), _mm512_set1_ps(-2.0f)));
    __m512 ex = _mm512_sub_ps(e, xr);
    __m512 far = _mm512_sub_ps(add_exponent(_mm512_sub_ps(one, ex), k), one);                       // k <= -2 or k > 56
    __m512i k_shifted = _mm512_srlv_epi32(_mm512_set1_epi32(0x1000000), _mm512_max_epi32(k, _mm512_setzero_si512()));
    __m512 t_small = _mm512_castsi512_ps(_mm512_sub_epi32(_mm512_set1_epi32(0x3f800000), k_shifted));
    __m512 small = add_exponent(_mm512_sub_ps(t_small, ex), k);                                     // 2 <= k <= 22
    __m512 t_large = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_sub_epi32(_mm512_set1_epi32(0x7f), k), 23));
    __m512 large = add_exponent(_mm512_add_ps(_mm512_sub_ps(xr, _mm512_add_ps(e, t_large)), one), k);   // 23 <= k <= 56
    __mmask16 k_small = _mm512_cmpge_epi32_mask(k, _mm512_set1_epi32(2)) & _mm512_cmple_epi32_mask(k, _mm512_set1_epi32(22));
    __mmask16 k_large = _mm512_cmpge_epi32_mask(k, _mm512_set1_epi32(23)) & _mm512_cmple_epi32_mask(k, _mm512_set1_epi32(56));
    __mmask16 k_far = _mm512_cmple_epi32_mask(k, _mm512_set1_epi32(-2)) | _mm512_cmpgt_epi32_mask(k, _mm512_set1_epi32(56));
    y = _mm512_mask_mov_ps(y, _mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(-1)), minus1);
    y = _mm512_mask_mov_ps(y, _mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(1)), plus1);
    y = _mm512_mask_mov_ps(y, k_far, far);
    y = _mm512_mask_mov_ps(y, k_small, small);
    y = _mm512_mask_mov_ps(y, k_large, large);
    return _mm512_mask_mov_ps(y, tiny, x);
}

NK_MATH_TARGET static void tanh_avx512(float *p, size_t n) {
    const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(m, p + i);
        __m512i ix = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff));
        __m512 ax = _mm512_castsi512_ps(ix);
        __mmask16 big = _mm512_cmpge_epi32_mask(ix, _mm512_set1_epi32(0x3f800000));   // |x| >= 1
        // |x| >= 1: 1 - 2 / (expm1f(2|x|) + 2); else -t / (t + 2) with t = expm1f(-2|x|).
        __m512 t = expm1f16(_mm512_mask_mov_ps(_mm512_mul_ps(ax, _mm512_set1_ps(-2.0f)), big, _mm512_add_ps(ax, ax)));
        __m512 t2 = _mm512_add_ps(t, two);
        __m512 z = _mm512_mask_mov_ps(_mm512_div_ps(_mm512_xor_ps(t, _mm512_set1_ps(-0.0f)), t2), big,
                                      _mm512_sub_ps(one, _mm512_div_ps(two, t2)));
        z = _mm512_mask_mov_ps(z, _mm512_cmpge_epi32_mask(ix, _mm512_set1_epi32(0x41b00000)), one);   // |x| >= 22: 1 - tiny
        z = _mm512_xor_ps(z, _mm512_and_ps(x, _mm512_set1_ps(-0.0f)));                                // x < 0: -z
        // |x| < 2^-55: x (1 + x); NaN and ±inf: 1/x ± 1.
        z = _mm512_mask_mov_ps(z, _mm512_cmplt_epi32_mask(ix, _mm512_set1_epi32(0x24000000)),
                               _mm512_mul_ps(x, _mm512_add_ps(one, x)));
        __m512 reciprocal = _mm512_div_ps(one, x);
        z = _mm512_mask_mov_ps(z, _mm512_cmpge_epi32_mask(ix, _mm512_set1_epi32(0x7f800000)),
                               _mm512_mask_sub_ps(_mm512_add_ps(reciprocal, one), _mm512_movepi32_mask(_mm512_castps_si512(x)),
                                                  reciprocal, one));
        _mm512_mask_storeu_ps(p + i, m, z);
    }
}

// MARK: AVX2 and FMA: the same arithmetic, eight floats (four doubles) at a time

/// AVX2 with FMA (Haswell, Zen and later): glibc picks `__expf_fma` on these CPUs too.
#define NK_AVX2_TARGET __attribute__((target("avx2,fma")))

NK_AVX2_TARGET static inline __m256d bits4_pd(uint64_t b) { return _mm256_castsi256_pd(_mm256_set1_epi64x((long long)b)); }
NK_AVX2_TARGET static inline __m256 bits8_ps(uint32_t b) { return _mm256_castsi256_ps(_mm256_set1_epi32((int)b)); }
NK_AVX2_TARGET static inline __m256i i32(int v) { return _mm256_set1_epi32(v); }
/// Lanes where a < b (signed 32-bit), as a mask of all ones.
NK_AVX2_TARGET static inline __m256i lt32(__m256i a, __m256i b) { return _mm256_cmpgt_epi32(b, a); }
NK_AVX2_TARGET static inline __m256 as_ps(__m256i m) { return _mm256_castsi256_ps(m); }

/// expf_main on four doubles: the table entry by a gather.
NK_AVX2_TARGET static inline __m256d expf_main4(__m256d xd) {
    const __m256d inv_ln2_n = bits4_pd(0x40471547652b82fe), shift = bits4_pd(0x4338000000000000);
    __m256d kd = _mm256_fmadd_pd(inv_ln2_n, xd, shift);
    __m256i ki = _mm256_castpd_si256(kd);
    kd = _mm256_sub_pd(kd, shift);
    __m256d r = _mm256_fmsub_pd(inv_ln2_n, xd, kd);
    __m256i t = _mm256_i64gather_epi64((const long long *)exp2_table, _mm256_and_si256(ki, _mm256_set1_epi64x(31)), 8);
    t = _mm256_add_epi64(t, _mm256_slli_epi64(ki, 47));
    __m256d s = _mm256_castsi256_pd(t);
    __m256d z = _mm256_fmadd_pd(r, bits4_pd(0x3ebc6af84b912394), bits4_pd(0x3f2ebfce50fac4f3));
    __m256d r2 = _mm256_mul_pd(r, r);
    __m256d y = _mm256_fmadd_pd(r, bits4_pd(0x3f962e42ff0c52d6), _mm256_set1_pd(1.0));
    y = _mm256_fmadd_pd(z, r2, y);
    return _mm256_mul_pd(y, s);
}

NK_AVX2_TARGET static inline __m256 expf8(__m256 x) {
    __m128 lo = _mm256_cvtpd_ps(expf_main4(_mm256_cvtps_pd(_mm256_castps256_ps128(x))));
    __m128 hi = _mm256_cvtpd_ps(expf_main4(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))));
    __m256 y = _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
    y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(x, _mm256_set1_ps(0x1.62e42ep6f), _CMP_GT_OQ));
    y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(-0x1.9fe368p6f), _CMP_LT_OQ));
    return _mm256_blendv_ps(y, _mm256_add_ps(x, x), _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

NK_AVX2_TARGET static inline __m256 add_exponent8(__m256 y, __m256i k) {
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(y), _mm256_slli_epi32(k, 23)));
}

/// expm1f16, lane for lane.
NK_AVX2_TARGET static inline __m256 expm1f8(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    const __m256 ln2_hi = bits8_ps(0x3f317180), ln2_lo = bits8_ps(0x3717f7d1);
    __m256i hx = _mm256_and_si256(_mm256_castps_si256(x), i32(0x7fffffff));
    __m256i negative = _mm256_srai_epi32(_mm256_castps_si256(x), 31);
    __m256i reduced = _mm256_cmpgt_epi32(hx, i32(0x3eb17218));
    __m256i near = _mm256_and_si256(reduced, lt32(hx, i32(0x3F851592)));
    __m256i tiny = lt32(hx, i32(0x33000000));
    __m256 kf = _mm256_add_ps(_mm256_mul_ps(bits8_ps(0x3fb8aa3b), x), _mm256_blendv_ps(half, _mm256_set1_ps(-0.5f), as_ps(negative)));
    __m256i k = _mm256_cvttps_epi32(kf);
    __m256 t = _mm256_cvtepi32_ps(k);
    __m256 hi = _mm256_sub_ps(x, _mm256_mul_ps(t, ln2_hi));
    __m256 lo = _mm256_mul_ps(t, ln2_lo);
    hi = _mm256_blendv_ps(hi, _mm256_sub_ps(x, ln2_hi), as_ps(_mm256_andnot_si256(negative, near)));
    hi = _mm256_blendv_ps(hi, _mm256_add_ps(x, ln2_hi), as_ps(_mm256_and_si256(near, negative)));
    lo = _mm256_blendv_ps(lo, _mm256_blendv_ps(ln2_lo, bits8_ps(0xb717f7d1), as_ps(negative)), as_ps(near));
    k = _mm256_blendv_epi8(k, _mm256_blendv_epi8(i32(1), i32(-1), negative), near);
    k = _mm256_and_si256(k, reduced);
    __m256 xr = _mm256_blendv_ps(x, _mm256_sub_ps(hi, lo), as_ps(reduced));
    __m256 c = _mm256_and_ps(_mm256_sub_ps(_mm256_sub_ps(hi, xr), lo), as_ps(reduced));
    __m256 hfx = _mm256_mul_ps(xr, half);
    __m256 hxs = _mm256_mul_ps(xr, hfx);
    __m256 r1 = _mm256_mul_ps(bits8_ps(0xb457edbb), hxs);
    r1 = _mm256_mul_ps(_mm256_add_ps(r1, bits8_ps(0x36867e54)), hxs);
    r1 = _mm256_mul_ps(_mm256_sub_ps(r1, bits8_ps(0x38a670cd)), hxs);
    r1 = _mm256_mul_ps(_mm256_add_ps(r1, bits8_ps(0x3ad00d01)), hxs);
    r1 = _mm256_mul_ps(_mm256_sub_ps(r1, bits8_ps(0x3d088889)), hxs);
    r1 = _mm256_add_ps(r1, one);
    __m256 tt = _mm256_sub_ps(_mm256_set1_ps(3.0f), _mm256_mul_ps(hfx, r1));
    __m256 e = _mm256_div_ps(_mm256_sub_ps(r1, tt), _mm256_sub_ps(_mm256_set1_ps(6.0f), _mm256_mul_ps(tt, xr)));
    e = _mm256_mul_ps(e, hxs);
    __m256 y = _mm256_sub_ps(xr, _mm256_sub_ps(_mm256_mul_ps(e, xr), hxs));
    e = _mm256_sub_ps(_mm256_sub_ps(_mm256_mul_ps(_mm256_sub_ps(e, c), xr), c), hxs);
    __m256 xe = _mm256_sub_ps(xr, e);
    __m256 minus1 = _mm256_sub_ps(_mm256_mul_ps(xe, half), half);
    __m256 plus1 = _mm256_blendv_ps(_mm256_add_ps(_mm256_add_ps(xe, xe), one),
                                    _mm256_mul_ps(_mm256_sub_ps(e, _mm256_add_ps(xr, half)), _mm256_set1_ps(-2.0f)),
                                    _mm256_cmp_ps(xr, _mm256_set1_ps(-0.25f), _CMP_LT_OQ));
    __m256 ex = _mm256_sub_ps(e, xr);
    __m256 far = _mm256_sub_ps(add_exponent8(_mm256_sub_ps(one, ex), k), one);
    __m256i k_shifted = _mm256_srlv_epi32(i32(0x1000000), _mm256_max_epi32(k, _mm256_setzero_si256()));
    __m256 t_small = _mm256_castsi256_ps(_mm256_sub_epi32(i32(0x3f800000), k_shifted));
    __m256 small = add_exponent8(_mm256_sub_ps(t_small, ex), k);
    __m256 t_large = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_sub_epi32(i32(0x7f), k), 23));
    __m256 large = add_exponent8(_mm256_add_ps(_mm256_sub_ps(xr, _mm256_add_ps(e, t_large)), one), k);
    __m256i k_small = _mm256_and_si256(_mm256_cmpgt_epi32(k, i32(1)), lt32(k, i32(23)));
    __m256i k_large = _mm256_and_si256(_mm256_cmpgt_epi32(k, i32(22)), lt32(k, i32(57)));
    __m256i k_far = _mm256_or_si256(lt32(k, i32(-1)), _mm256_cmpgt_epi32(k, i32(56)));
    y = _mm256_blendv_ps(y, minus1, as_ps(_mm256_cmpeq_epi32(k, i32(-1))));
    y = _mm256_blendv_ps(y, plus1, as_ps(_mm256_cmpeq_epi32(k, i32(1))));
    y = _mm256_blendv_ps(y, far, as_ps(k_far));
    y = _mm256_blendv_ps(y, small, as_ps(k_small));
    y = _mm256_blendv_ps(y, large, as_ps(k_large));
    return _mm256_blendv_ps(y, x, as_ps(tiny));
}

NK_AVX2_TARGET static inline __m256 sigmoid8(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, expf8(_mm256_xor_ps(x, _mm256_set1_ps(-0.0f)))));
}

NK_AVX2_TARGET static inline __m256 tanh8(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    __m256i ix = _mm256_and_si256(_mm256_castps_si256(x), i32(0x7fffffff));
    __m256 ax = _mm256_castsi256_ps(ix);
    __m256 big = as_ps(_mm256_cmpgt_epi32(ix, i32(0x3f7fffff)));   // |x| >= 1
    __m256 t = expm1f8(_mm256_blendv_ps(_mm256_mul_ps(ax, _mm256_set1_ps(-2.0f)), _mm256_add_ps(ax, ax), big));
    __m256 t2 = _mm256_add_ps(t, two);
    __m256 z = _mm256_blendv_ps(_mm256_div_ps(_mm256_xor_ps(t, _mm256_set1_ps(-0.0f)), t2), _mm256_sub_ps(one, _mm256_div_ps(two, t2)), big);
    z = _mm256_blendv_ps(z, one, as_ps(_mm256_cmpgt_epi32(ix, i32(0x41afffff))));   // |x| >= 22
    z = _mm256_xor_ps(z, _mm256_and_ps(x, _mm256_set1_ps(-0.0f)));
    z = _mm256_blendv_ps(z, _mm256_mul_ps(x, _mm256_add_ps(one, x)), as_ps(lt32(ix, i32(0x24000000))));
    __m256 reciprocal = _mm256_div_ps(one, x);
    __m256 infinite = _mm256_blendv_ps(_mm256_add_ps(reciprocal, one), _mm256_sub_ps(reciprocal, one), x);   // by x's sign bit
    return _mm256_blendv_ps(z, infinite, as_ps(_mm256_cmpgt_epi32(ix, i32(0x7f7fffff))));   // NaN, ±inf
}

/// Eight at a time; the last few through a zero-padded copy (AVX2 has no masked arithmetic).
#define NK_AVX2_LOOP(name, f)                                                                \
    NK_AVX2_TARGET static void name(float *p, size_t n) {                                  \
        size_t i = 0;                                                                        \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(p + i, f(_mm256_loadu_ps(p + i)));       \
        if (i < n) {                                                                         \
            float tail[8] = {0};                                                             \
            for (size_t j = 0; j < n - i; j++) tail[j] = p[i + j];                           \
            _mm256_storeu_ps(tail, f(_mm256_loadu_ps(tail)));                                \
            for (size_t j = 0; j < n - i; j++) p[i + j] = tail[j];                           \
        }                                                                                    \
    }
NK_AVX2_LOOP(sigmoid_avx2, sigmoid8)
NK_AVX2_LOOP(tanh_avx2, tanh8)

// MARK: The entry points

void nk_sigmoid(float *p, size_t n) {
    if (nk_activation_level() == 2) sigmoid_avx512(p, n); else sigmoid_avx2(p, n);
}

void nk_tanh(float *p, size_t n) {
    if (nk_activation_level() == 2) tanh_avx512(p, n); else tanh_avx2(p, n);
}

#else

void nk_sigmoid(float *p, size_t n) { (void)p; (void)n; }
void nk_tanh(float *p, size_t n) { (void)p; (void)n; }

#endif
