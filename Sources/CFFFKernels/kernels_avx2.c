/* The AVX2+FMA kernel path: 8-lane vectors, fused multiply-adds. Compiled through a target
 * attribute on every function of this file; called only when the CPU supports AVX2 and FMA. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "include/CFFFKernels.h"

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define VW 8
#define FFF_SUFFIX avx2
#define FMA_V(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#define FMA_S(a, b, c) __builtin_fmaf((a), (b), (c))
#define TILE_RB 4
#define TILE_CB 2
#define NODE_CB 2
#include "driver.h"
#pragma clang attribute pop
#endif
