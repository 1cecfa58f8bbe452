/* The portable kernel path: plain C vector extensions of 4 lanes, no FMA, no ISA assumptions
 * (SSE2 on x86-64, NEON on arm64). The reference every other path is tested against.
 *
 * Compact weights are widened with integer operations only (no float16 hardware, and no
 * arithmetic on subnormal floats, so a flush-to-zero mode cannot change a weight): see
 * convert.h. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "include/CFFFKernels.h"
#include "convert.h"

#define VW 4
#ifndef FFF_SUFFIX
#define FFF_SUFFIX portable
#endif
#define FMA_V(a, b, c) ((a) * (b) + (c))
#define FMA_S(a, b, c) ((a) * (b) + (c))
#define CVT_F16(p) fff_f16x4((const uint16_t *)(p))
#define CVT_BF16(p) fff_bf16x4((const uint16_t *)(p))
#define CVT_I8(p) fff_i8x4((const int8_t *)(p))
#define CVT_U8(p) fff_u8x4((const uint8_t *)(p))
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

void fff_float16_to_float32(const uint16_t *source, float *destination, int64_t count)
{
    int64_t i = 0;
    for (; i + 4 <= count; i += 4) {
        const fff_vf4 v = fff_f16x4(source + i);
        memcpy(destination + i, &v, sizeof v);
    }
    for (; i < count; i++) {
        uint16_t h[4] = {source[i], 0, 0, 0};
        const fff_vf4 v = fff_f16x4(h);
        destination[i] = v[0];
    }
}

void fff_bfloat16_to_float32(const uint16_t *source, float *destination, int64_t count)
{
    for (int64_t i = 0; i < count; i++) {
        const uint32_t bits = (uint32_t)source[i] << 16;
        memcpy(destination + i, &bits, 4);
    }
}
