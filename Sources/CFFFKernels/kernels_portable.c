/* The portable kernel path: plain C vector extensions of 4 lanes, no FMA, no ISA assumptions
 * (SSE2 on x86-64, NEON on arm64). The reference every other path is tested against. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "include/CFFFKernels.h"

#define VW 4
#define FFF_SUFFIX portable
#define FMA_V(a, b, c) ((a) * (b) + (c))
#define FMA_S(a, b, c) ((a) * (b) + (c))
#define TILE_RB 4
#define TILE_CB 2
#define NODE_CB 2
#include "driver.h"
