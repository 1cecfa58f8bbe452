/* The AVX-512F kernel path: 16-lane vectors, fused multiply-adds. Compiled through a target
 * attribute on every function of this file; called only when the CPU supports AVX-512F (and
 * F16C, which every AVX-512F CPU has).
 *
 * Compact weights are widened as they are loaded: float16 by VCVTPH2PS (16 halves, 32 bytes, to
 * 16 floats: part of AVX-512F), bfloat16 by zero-extending each 16-bit pattern to 32 bits and
 * shifting it into the upper half, int8 by sign extension and VCVTDQ2PS. The AVX512-BF16,
 * AVX512-FP16 and VNNI instructions are not used: they multiply in bfloat16, float16 or int8,
 * which would narrow the inputs, and the format requires float32 arithmetic. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "include/CFFFKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma,f16c"))), apply_to = function)
#define VW 16
#ifndef FFF_SUFFIX
#define FFF_SUFFIX avx512
#endif
#define FMA_V(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#define FMA_S(a, b, c) __builtin_fmaf((a), (b), (c))
#define CVT_F16(p) ((vf)_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(p))))
#define CVT_BF16(p) \
    ((vf)_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(p))), 16))
#define CVT_I8(p) \
    ((vf)_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p)))))
#define CVT_U8(p) \
    ((vf)_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p)))))
#ifndef TILE_RB
#define TILE_RB 4
#endif
#ifndef INTERLEAVE_MASTER
#define INTERLEAVE_MASTER 1
#endif
#ifndef TILE_CB
#define TILE_CB 4
#endif
#ifndef ROOT_CB
#define ROOT_CB 2
#endif
#ifndef FUSE_ROOT_TYPES
#define FUSE_ROOT_TYPES 5 /* float32 and bfloat16 weights (measured slower for float16, int8-row) */
#endif
#ifndef NODE_CB
#define NODE_CB 4
#endif
#ifndef SPREAD_MASTER
/* 784 -> 10 d4 l8 m8 batched, against the fused root pass (kernel_compare.sh time): float32
 * 1.08x to 1.16x, bfloat16 1.08x to 1.11x, float16 and int8-row 1.13x. On avx2 (16 registers,
 * 2 records per pass) it measured 1.01x, so that path keeps the fused root pass. */
#define SPREAD_MASTER 1
#endif
#include "driver.h"
#pragma clang attribute pop
#endif
