#ifndef NUMBER_TEXT_KERNELS_H
#define NUMBER_TEXT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Bytes of room `nk_write_list` needs per value: each value's text is moved as one 16-byte store.
#define NK_BYTES_PER_VALUE 16

// AVX-512 kernels for number text: the scalar Swift code in NumberText (`FloatText`,
// `DecimalParser`) is their specification, their fallback and the owner of their tables. With
// AE_NUMBER_KERNELS=off in the environment, the `*_available` functions answer 0 and the fallback
// runs everywhere.

/// 1 if this CPU and OS run `nk_write_list` (AVX-512 F, BW, DQ, VL and CD: Skylake-SP and later),
/// 0 if not. Checked once; call it only when this is 1.
int nk_write_available(void);

/// 1 if this CPU and OS run `nk_scan_decimals` (those and VBMI2: Ice Lake and later), 0 if not.
int nk_scan_available(void);

/// Writes the shortest round-trip text of x[0], x[1], … (exactly `FloatText.write`'s text, which
/// is Swift's `Float.description`), each followed by a comma, and stops at n or before the first
/// value it leaves to the caller: a subnormal or a non-finite value. `out` must have
/// NK_BYTES_PER_VALUE × n writable bytes. `powers_of_ten` is `FloatText.powersOfTen` (g(k) for k
/// in -45…31). Returns the bytes written; `*done` is the number of values written.
size_t nk_write_list(const float *x, size_t n, const uint64_t *powers_of_ten, uint8_t *out, size_t *done);

/// Bit layout of `nk_scan_decimals`' `info`.
#define NK_INFO_FRACTION_DIGITS 0xFF          /* digits after the point: the value is m × 10^-this */
#define NK_INFO_NEGATIVE 0x100
#define NK_INFO_LEFT 0x200                    /* its rounding was left to the caller: `value` is NaN */
#define NK_INFO_LENGTH_SHIFT 16               /* 16 bits: the number's length in bytes */
#define NK_INFO_START_SHIFT 32                /* 32 bits: its offset from p */

/// Reads the leading elements of a JSON array's remainder at p[0..<length], as long as each is
/// `whitespace* number whitespace* ,` where the number is a plain decimal of RFC 8259's grammar
/// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`, no exponent) with at most 19 digits, and the element (before
/// its comma) is at most 63 bytes. It stops before the first element that is anything else (the
/// last one, before `]`, always is), or after `max` elements (at most 64 per call).
/// For element i: `value[i]` is the number correctly rounded to a double, by the Eisel–Lemire
/// algorithm as `DecimalParser.eiselLemire` does it (`powers_of_five`: its table, 5^-27…5^27 as
/// two words each), or NaN where it needs more than one product (about 1 in 500: then
/// `info[i]` has NK_INFO_LEFT, and the caller rounds it). `mantissa[i]` holds all its digits as
/// one integer, `info[i]` the rest (NK_INFO_*). Returns the number of elements read; `*consumed`
/// is the bytes they took (up to and including the last comma), `*left` how many have
/// NK_INFO_LEFT. `value`, `mantissa` and `info` need room for min(max, 64) entries (past the
/// elements read, their contents are unspecified). Reads only p[0..<length].
size_t nk_scan_decimals(const uint8_t *p, size_t length, size_t max, const uint64_t *powers_of_five,
                        double *value, uint64_t *mantissa, uint64_t *info, size_t *consumed, size_t *left);

#endif
