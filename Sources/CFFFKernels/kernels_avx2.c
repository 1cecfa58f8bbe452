/* The AVX2+FMA kernel path: 8-lane vectors, fused multiply-adds. Compiled through a target
 * attribute on every function of this file; called only when the CPU supports AVX2, FMA and
 * F16C (VCVTPH2PS widens 8 float16 weights at a time; bfloat16 is zero-extended and shifted,
 * int8 sign-extended and converted). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "include/CFFFKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define VW 8
#ifndef FFF_SUFFIX
#define FFF_SUFFIX avx2
#endif
#define FMA_V(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#define FMA_S(a, b, c) __builtin_fmaf((a), (b), (c))
#define CVT_F16(p) ((vf)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p))))
#define CVT_BF16(p) \
    ((vf)_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p))), 16))
#define CVT_I8(p) \
    ((vf)_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(p)))))
#define CVT_U8(p) \
    ((vf)_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(p)))))
#ifndef TILE_RB
#define TILE_RB 4
#endif
#ifndef INTERLEAVE_MASTER
#define INTERLEAVE_MASTER 0
#endif
#ifndef TILE_CB
#define TILE_CB 2
#endif
#ifndef NODE_CB
#define NODE_CB 2
#endif
#include "driver.h"
#pragma clang attribute pop
#endif
