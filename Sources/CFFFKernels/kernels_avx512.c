/* The AVX-512F kernel path: 16-lane vectors, fused multiply-adds. Compiled through a target
 * attribute on every function of this file; called only when the CPU supports AVX-512F. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "include/CFFFKernels.h"

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#define VW 16
#define FFF_SUFFIX avx512
#define FMA_V(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#define FMA_S(a, b, c) __builtin_fmaf((a), (b), (c))
#define TILE_RB 4
#define TILE_CB 4
#define NODE_CB 4
#include "driver.h"
#pragma clang attribute pop
#endif
