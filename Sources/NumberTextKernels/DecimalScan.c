// Plain JSON decimals without a loop per byte or per digit: `DecimalParser` and the server's
// `RequestParser` are the specification; this finds what their scalar loops find.
//
// The commas, 64 bytes at a time, delimit the elements. Each element's bytes (loaded masked: never
// past it) are classified into bit masks (whitespace, digits, '.', '-', '0'), and its digits are
// moved together and to the right end of 32 bytes (compress, expand: VBMI2), then combined in
// pairs, fours and eights by multiply-add instructions into one integer. Eight elements at a time,
// counting trailing zeros of the masks gives the number's sign, integer digits and fraction
// digits, and checks that nothing else is there. Then, eight at a time, the Eisel–Lemire rounding
// of `DecimalParser.eiselLemire` (read it first: this repeats its steps lane by lane), except its
// rare second product, which is left to the caller.

#include "NumberTextKernels.h"
#include "Internal.h"

#if defined(__x86_64__)

#include <immintrin.h>

#define SET(x) _mm512_set1_epi64((long long)(x))

/// The 128-bit product of a and b, as (high, low) 64-bit halves, from four 32 × 32-bit products.
NK_SCAN_TARGET static inline __m512i multiply_full(__m512i a, __m512i b, __m512i *low) {
    const __m512i low32 = SET(0xFFFFFFFF);
    __m512i ah = _mm512_srli_epi64(a, 32), bh = _mm512_srli_epi64(b, 32);
    __m512i ll = _mm512_mul_epu32(a, b), lh = _mm512_mul_epu32(a, bh);
    __m512i hl = _mm512_mul_epu32(ah, b), hh = _mm512_mul_epu32(ah, bh);
    __m512i middle = _mm512_add_epi64(_mm512_add_epi64(_mm512_srli_epi64(ll, 32), _mm512_and_si512(lh, low32)),
                                      _mm512_and_si512(hl, low32));                  // < 3 · 2^32
    *low = _mm512_or_si512(_mm512_and_si512(ll, low32), _mm512_slli_epi64(middle, 32));
    return _mm512_add_epi64(_mm512_add_epi64(hh, _mm512_srli_epi64(lh, 32)),
                            _mm512_add_epi64(_mm512_srli_epi64(hl, 32), _mm512_srli_epi64(middle, 32)));
}

/// DecimalParser.eiselLemire(m, -fraction digits) for eight elements (q is -19…0 here, and m < 10^19),
/// signed; NaN and NK_INFO_LEFT where the first product leaves it undecided. Returns how many.
NK_SCAN_TARGET static inline size_t round8(const uint64_t *powers_of_five, __mmask8 live, const uint64_t *mantissa,
                                      uint64_t *info, double *value) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i w = _mm512_maskz_loadu_epi64(live, mantissa);
    __m512i in = _mm512_maskz_loadu_epi64(live, info);
    __m512i q = _mm512_sub_epi64(zero, _mm512_and_si512(in, SET(NK_INFO_FRACTION_DIGITS)));
    __m512i lz = _mm512_lzcnt_epi64(w);
    __m512i wn = _mm512_sllv_epi64(w, lz);
    __m512i power = _mm512_mask_i64gather_epi64(zero, live, _mm512_slli_epi64(_mm512_add_epi64(q, SET(27)), 1),
                                                (const void *)powers_of_five, 8);
    __m512i low;
    __m512i high = multiply_full(wn, power, &low);
    __mmask8 undecided = _mm512_cmpeq_epi64_mask(_mm512_and_si512(high, SET(0x1FF)), SET(0x1FF))
        & _mm512_test_epi64_mask(w, w) & live;
    __m512i upper = _mm512_srli_epi64(high, 63);
    __m512i shift = _mm512_add_epi64(upper, SET(9));
    __m512i m = _mm512_srlv_epi64(high, shift);                                    // 54 bits
    __m512i exponent = _mm512_add_epi64(_mm512_srai_epi64(_mm512_mul_epi32(q, SET(217706)), 16),
                                        _mm512_sub_epi64(_mm512_add_epi64(upper, SET(63 + 1023)), lz));
    // Exactly halfway between two doubles (q ≥ -4 here): to even.
    __mmask8 halfway = _mm512_cmple_epu64_mask(low, SET(1)) & _mm512_cmpge_epi64_mask(q, SET(-4))
        & _mm512_cmpeq_epi64_mask(_mm512_and_si512(m, SET(3)), SET(1))
        & _mm512_cmpeq_epi64_mask(_mm512_sllv_epi64(m, shift), high);
    m = _mm512_mask_and_epi64(m, halfway, m, SET(~(uint64_t)1));
    m = _mm512_srli_epi64(_mm512_add_epi64(m, _mm512_and_si512(m, SET(1))), 1);
    __mmask8 carried = _mm512_cmpge_epu64_mask(m, SET((uint64_t)1 << 53));
    m = _mm512_mask_mov_epi64(m, carried, SET((uint64_t)1 << 52));
    exponent = _mm512_mask_add_epi64(exponent, carried, exponent, SET(1));
    __m512i bits = _mm512_or_si512(_mm512_andnot_si512(SET((uint64_t)1 << 52), m), _mm512_slli_epi64(exponent, 52));
    bits = _mm512_maskz_mov_epi64(_mm512_test_epi64_mask(w, w), bits);            // m = 0: zero
    bits = _mm512_mask_mov_epi64(bits, undecided, SET(0x7FF8000000000000ULL));     // NaN
    bits = _mm512_or_si512(bits, _mm512_slli_epi64(_mm512_and_si512(in, SET(NK_INFO_NEGATIVE)), 55));   // bit 8 → 63
    _mm512_mask_storeu_epi64(value, live, bits);
    _mm512_mask_storeu_epi64(info, undecided, _mm512_or_si512(in, SET(NK_INFO_LEFT)));
    return (size_t)__builtin_popcount(undecided);
}

/// The count of trailing zero bits of each lane (x ≠ 0).
NK_SCAN_TARGET static inline __m512i trailing_zeros(__m512i x) {
    __m512i lowest = _mm512_and_si512(x, _mm512_sub_epi64(_mm512_setzero_si512(), x));
    return _mm512_sub_epi64(SET(63), _mm512_lzcnt_epi64(lowest));
}

/// Up to 64 elements per call, in passes, so that the per-element logic runs eight lanes at a time
/// instead of as scalar code:
///   1. the commas delimit the elements; each element's bytes give five bit masks (whitespace,
///      digits, '.', '-', '0'), kept per element, and its digits as one integer;
///   2. eight elements at a time, from those masks: the sign, the integer and fraction digits, and
///      whether the element is anything but `ws* plain-decimal ws*` (the first such ends the run);
///   then `round8`.
NK_SCAN_TARGET static size_t scan_decimals(const uint8_t *p, size_t length, size_t max, const uint64_t *powers_of_five,
                                      double *value, uint64_t *mantissa, uint64_t *info, size_t *consumed, size_t *left) {
    enum { CHUNK = 64 };
    if (max > CHUNK) max = CHUNK;
    const __m512i whitespace = _mm512_broadcast_i32x4(_mm_setr_epi8(' ', -1, -1, -1, -1, -1, -1, -1, -1, '\t', '\n', -1, -1, '\r', -1, -1));
    _Alignas(64) uint64_t space[CHUNK], digit[CHUNK], point[CHUNK], minus[CHUNK], zero_digit[CHUNK], inside[CHUNK];
    _Alignas(64) uint64_t start[CHUNK];   // the elements' offsets
    // Pass 1.
    size_t at = 0, n = 0;           // the current element starts at `at`
    size_t block = 0;               // the commas of p[block..<block + 64] not yet used are in `commas`
    uint64_t commas = 0;
    while (n < max) {
        // The element's end: the next comma. Only this chain (a count of trailing zeros, one bit
        // cleared) runs from element to element.
        while (commas == 0) {
            if (block >= length) goto collected;
            size_t rest = length - block;
            __mmask64 readable = rest >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << rest) - 1);
            commas = _mm512_mask_cmpeq_epi8_mask(readable, _mm512_maskz_loadu_epi8(readable, p + block), _mm512_set1_epi8(','));
            if (commas == 0) block += 64;
        }
        size_t comma = block + (size_t)__builtin_ctzll(commas);
        commas &= commas - 1;
        if (commas == 0) block += 64;
        size_t size = comma - at;
        if (size > 63) break;                                            // long whitespace: the caller's
        __mmask64 in = ((__mmask64)1 << size) - 1;
        __m512i v = _mm512_maskz_loadu_epi8(in, p + at);
        // JSON whitespace, by its low nibble: the byte equals whitespace[its low nibble] (a byte
        // with its top bit set shuffles to 0, and 0 maps to ' ').
        space[n] = _mm512_cmpeq_epi8_mask(_mm512_shuffle_epi8(whitespace, v), v);
        __m512i values = _mm512_sub_epi8(v, _mm512_set1_epi8('0'));
        __mmask64 digits = _mm512_mask_cmplt_epu8_mask(in, values, _mm512_set1_epi8(10));
        digit[n] = digits;
        // All the element's digits (in a valid one: its number's, the point left out), moved
        // together (compress) and then to the right end of 32 bytes (expand), most significant
        // first; combined in pairs, fours and eights. An invalid element's result is dropped.
        __m256i d = _mm512_castsi512_si256(_mm512_maskz_expand_epi8(
            (__mmask64)(uint32_t)(0xFFFFFFFF00000000ull >> __builtin_popcountll(digits)),
            _mm512_maskz_compress_epi8(digits, values)));
        __m256i pairs = _mm256_maddubs_epi16(d, _mm256_set1_epi16(0x010A));              // 10a + b
        __m256i fours = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x00010064));          // 100a + b
        __m256i eights = _mm256_madd_epi16(_mm256_packus_epi32(fours, fours), _mm256_set1_epi32(0x00012710));   // 10⁴a + b
        // 128-bit lane 0: digits 0–15 as two eights (the first is 0: at most 19 digits); lane 1: 16–31.
        uint64_t high = (uint32_t)_mm_extract_epi32(_mm256_castsi256_si128(eights), 1);
        __m128i lane1 = _mm256_extracti128_si256(eights, 1);
        uint64_t middle = (uint32_t)_mm_cvtsi128_si32(lane1), low = (uint32_t)_mm_extract_epi32(lane1, 1);
        mantissa[n] = (high * 100000000u + middle) * 100000000u + low;
        point[n] = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('.'));
        minus[n] = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('-'));
        zero_digit[n] = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('0'));
        inside[n] = in;
        start[n] = at;
        n++;
        at = comma + 1;
    }
collected:;
    // Pass 2. Every shift is by less than 64: positions are at most the element's size ≤ 63. No
    // branch depends on a number's shape (real bodies mix '60', '0.0' and '12.361338544064312').
    size_t count = n;
    for (size_t k = 0; k < n; k += 8) {
        __mmask8 live = n - k >= 8 ? 0xFF : (__mmask8)((1u << (n - k)) - 1);
        const __m512i one = SET(1), zero = _mm512_setzero_si512();
        __m512i sp = _mm512_maskz_load_epi64(live, space + k), dg = _mm512_maskz_load_epi64(live, digit + k);
        __m512i pt = _mm512_maskz_load_epi64(live, point + k), mn = _mm512_maskz_load_epi64(live, minus + k);
        __m512i zd = _mm512_maskz_load_epi64(live, zero_digit + k), in = _mm512_maskz_load_epi64(live, inside + k);
        __m512i first = trailing_zeros(_mm512_andnot_si512(sp, SET(-1)));       // the first non-space byte
        __m512i negative = _mm512_and_si512(_mm512_srlv_epi64(mn, first), one);
        __m512i s = _mm512_add_epi64(first, negative);                          // the first digit
        __m512i int_digits = trailing_zeros(_mm512_andnot_si512(_mm512_srlv_epi64(dg, s), SET(-1)));
        __mmask8 bad = _mm512_cmpeq_epi64_mask(int_digits, zero)                  // no digit; a leading zero
            | (_mm512_cmpgt_epi64_mask(int_digits, one) & _mm512_test_epi64_mask(_mm512_srlv_epi64(zd, s), one));
        __m512i int_end = _mm512_add_epi64(s, int_digits);
        __m512i has_point = _mm512_and_si512(_mm512_srlv_epi64(pt, int_end), one);
        __m512i after = _mm512_add_epi64(int_end, has_point);
        __mmask8 pointed = _mm512_test_epi64_mask(has_point, one);
        __m512i fraction_digits = _mm512_maskz_mov_epi64(pointed,
            trailing_zeros(_mm512_andnot_si512(_mm512_srlv_epi64(dg, after), SET(-1))));
        bad |= pointed & _mm512_cmpeq_epi64_mask(fraction_digits, zero);          // "1." is not JSON
        __m512i end = _mm512_add_epi64(after, fraction_digits);
        // Only whitespace after the number: no exponent, no ']', nothing else.
        bad |= _mm512_test_epi64_mask(_mm512_srlv_epi64(_mm512_andnot_si512(sp, in), end), SET(-1));
        __m512i digits = _mm512_add_epi64(int_digits, fraction_digits);
        bad |= _mm512_cmpgt_epi64_mask(digits, SET(19));
        __m512i at_first = _mm512_add_epi64(_mm512_maskz_load_epi64(live, start + k), first);
        // info without its value bits: fraction digits, sign, length, offset.
        _mm512_mask_storeu_epi64(info + k, live, _mm512_or_si512(
            _mm512_or_si512(fraction_digits, _mm512_slli_epi64(negative, 8)),
            _mm512_or_si512(_mm512_slli_epi64(_mm512_sub_epi64(end, first), NK_INFO_LENGTH_SHIFT),
                            _mm512_slli_epi64(at_first, NK_INFO_START_SHIFT))));
        bad &= live;
        if (bad) { count = k + (size_t)__builtin_ctz(bad); break; }
    }
    *consumed = count < n ? start[count] : at;
    *left = 0;
    for (size_t k = 0; k < count; k += 8) {
        __mmask8 live = count - k >= 8 ? 0xFF : (__mmask8)((1u << (count - k)) - 1);
        *left += round8(powers_of_five, live, mantissa + k, info + k, value + k);
    }
    return count;
}

size_t nk_scan_decimals(const uint8_t *p, size_t length, size_t max, const uint64_t *powers_of_five,
                        double *value, uint64_t *mantissa, uint64_t *info, size_t *consumed, size_t *left) {
    return scan_decimals(p, length, max, powers_of_five, value, mantissa, info, consumed, left);
}

#else  // not x86-64: nk_scan_available() is 0, so this is never called.

size_t nk_scan_decimals(const uint8_t *p, size_t length, size_t max, const uint64_t *powers_of_five,
                        double *value, uint64_t *mantissa, uint64_t *info, size_t *consumed, size_t *left) {
    (void)p; (void)length; (void)max; (void)powers_of_five; (void)value; (void)mantissa; (void)info;
    *consumed = 0;
    *left = 0;
    return 0;
}

#endif
