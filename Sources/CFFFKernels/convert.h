/* Widening of compact weights to float32 with 4-lane C vector extensions, for the portable path.
 * Private header. Every conversion is exact. */
#ifndef FFF_CONVERT_H
#define FFF_CONVERT_H

#include <stdint.h>
#include <string.h>

typedef float fff_vf4 __attribute__((vector_size(16)));
typedef uint32_t fff_vu4 __attribute__((vector_size(16)));
typedef int32_t fff_vi4 __attribute__((vector_size(16)));
typedef uint16_t fff_vh4 __attribute__((vector_size(8)));
typedef int8_t fff_vb4 __attribute__((vector_size(4)));

/* Four IEEE binary16 patterns (finite: the reader rejects infinities and NaNs) to float32.
 * On arm64 the hardware converts (FCVTL). Elsewhere (x86-64 without F16C: SSE2 only), with
 * integer operations: normal halves have their exponent rebased by integer addition
 * (15 -> 127: + 112 << 23 on the shifted pattern); subnormal halves (exponent 0) are
 * mantissa * 2^-24, an integer below 1024 converted exactly and scaled by a power of two into
 * the normal float32 range (no subnormal float is ever an operand). */
#if defined(__aarch64__)
typedef _Float16 fff_vhf4 __attribute__((vector_size(8)));
static inline __attribute__((always_inline)) fff_vf4 fff_f16x4(const uint16_t *p)
{
    fff_vhf4 h;
    memcpy(&h, p, sizeof h);
    return __builtin_convertvector(h, fff_vf4);
}
#else
static inline __attribute__((always_inline)) fff_vf4 fff_f16x4(const uint16_t *p)
{
    fff_vh4 h;
    memcpy(&h, p, sizeof h);
    const fff_vu4 v = __builtin_convertvector(h, fff_vu4);
    const fff_vu4 sign = (v & 0x8000u) << 16;
    const fff_vu4 magnitude = v & 0x7FFFu;
    const fff_vu4 normal = (magnitude << 13) + (112u << 23);
    const fff_vf4 tiny = __builtin_convertvector((fff_vi4)magnitude, fff_vf4) * 0x1p-24f;
    fff_vu4 tinyBits;
    memcpy(&tinyBits, &tiny, sizeof tinyBits);
    const fff_vu4 isSubnormal = (fff_vu4)(magnitude < 0x400u);
    const fff_vu4 bits = ((tinyBits & isSubnormal) | (normal & ~isSubnormal)) | sign;
    fff_vf4 out;
    memcpy(&out, &bits, sizeof out);
    return out;
}
#endif

/* Four bfloat16 patterns: the upper halves of float32 patterns. */
static inline __attribute__((always_inline)) fff_vf4 fff_bf16x4(const uint16_t *p)
{
    fff_vh4 h;
    memcpy(&h, p, sizeof h);
    const fff_vu4 bits = __builtin_convertvector(h, fff_vu4) << 16;
    fff_vf4 out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

/* Four int8 values. */
static inline __attribute__((always_inline)) fff_vf4 fff_i8x4(const int8_t *p)
{
    fff_vb4 b;
    memcpy(&b, p, sizeof b);
    return __builtin_convertvector(b, fff_vf4);
}

typedef uint8_t fff_vub4 __attribute__((vector_size(4)));

static inline __attribute__((always_inline)) fff_vf4 fff_u8x4(const uint8_t *p)
{
    fff_vub4 b;
    memcpy(&b, p, sizeof b);
    return __builtin_convertvector(b, fff_vf4);
}

#endif
