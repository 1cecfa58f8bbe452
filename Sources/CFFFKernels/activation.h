/* The activations of spec/FORMAT.md §7.1, in float32, exactly as PyTorch's CPU kernels write them.
 * Included by every kernel path so that all paths apply the same scalar code. Private header. */
#ifndef FFF_ACTIVATION_H
#define FFF_ACTIVATION_H

#include <math.h>
#include <stdint.h>

#pragma clang fp contract(off)

static inline __attribute__((always_inline)) float fff_activation_apply(int32_t code, float v)
{
    switch (code) {
    case 1: /* relu: max(x, 0); NaN stays NaN as in torch.relu */
        return v < 0.0f ? 0.0f : v;
    case 2: /* gelu, approximate='none': x * 0.5 * (1 + erf(x * M_SQRT1_2)) */
        return v * 0.5f * (1.0f + erff(v * 0.70710678118654752440f));
    case 3: { /* gelu, approximate='tanh' */
        const float beta = 0.79788456080286535588f; /* sqrt(2 / pi) */
        const float kappa = 0.044715f;
        float cube = v * v * v;
        float inner = beta * (v + kappa * cube);
        return 0.5f * v * (1.0f + tanhf(inner));
    }
    case 4: /* silu: x / (1 + exp(-x)) */
        return v / (1.0f + expf(-v));
    case 5: /* sigmoid */
        return 1.0f / (1.0f + expf(-v));
    case 6:
        return tanhf(v);
    default: /* 0, identity */
        return v;
    }
}

#endif
