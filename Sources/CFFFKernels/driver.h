/*
 * The inference driver, written once and compiled once per kernel path. Private header: each
 * kernels_<path>.c defines, before including it,
 *   VW            lanes per vector (16, 8 or 4)
 *   FFF_SUFFIX    the path's name, appended to every exported function
 *   FMA_V(a,b,c)  a*b+c on vectors; FMA_S the same on floats (fused or not, but consistently)
 *   TILE_RB       hidden units per pass when several records are evaluated together (<= 4);
 *                 one record takes a whole panel (FFF_PANEL_ROWS units) per pass
 *   TILE_CB       records per pass over a panel (1 ... 4)
 *   NODE_CB       records per pass over a node's weights (1 ... 4)
 *   INTERLEAVE_MASTER  1: a record's node dot products alternate with their master panel slice
 *                 block group by block group (needs registers for both: AVX-512's 32); 0: each
 *                 slice after its node's dot product
 *   SPREAD_MASTER 1: batched, the master's first panel is computed a pair of units at a time
 *                 inside the node levels' passes (node_master; 24 accumulators: AVX-512 only),
 *                 SPREAD_CB2 records per pass with 2 units, SPREAD_CB4 with 4
 *   FUSE_ROOT_TYPES  batched, without the spread (depth 1 or SPREAD_MASTER 0): bit WT set fuses
 *                 the root with the master's first panel for weight type WT (node_master)
 *   CVT_F16(p), CVT_BF16(p), CVT_I8(p)
 *                 VW weights of that element type at p (any alignment) widened to a vector of
 *                 floats (exactly: every float16, bfloat16 and int8 value is a float32)
 *
 * Every kernel that reads weights takes their element type T (FFF_ELEMENT_*) as a compile-time
 * constant: the functions are instantiated once per type, and the exported entry points pick the
 * instantiation from the plan. A compact weight vector is widened as it is loaded and then used
 * exactly like a float32 one, so the summation orders below hold for every type; an int8-row
 * sum (a node score's dot product, a hidden unit's sum, an output's accumulated vector) is then
 * multiplied by the row's scale, before the bias is added.
 *
 * Summation orders (these make single and batched results bitwise identical):
 *   node score   four interleaved vector accumulators over blocks of VW inputs (in each whole
 *                group of four blocks, block j goes to accumulator j mod 4; the last n mod 4
 *                blocks go to accumulator 0), then (a0+a1)+(a2+a3), then a fixed pairwise
 *                horizontal sum, then + bias;
 *   hidden unit  one vector accumulator over the inputs in order, horizontal sum, + bias, act;
 *   output       four vector accumulators over the hidden units (unit b to b mod 4, tail to 0),
 *                (a0+a1)+(a2+a3), + bias.
 * Inputs are padded with zeros to `input_stride`, so every loop runs over whole vectors.
 */

#include <stdint.h>
#include <string.h>

#include "activation.h"

#pragma clang fp contract(off)

#define FFF_CAT2(a, b) a##_##b
#define FFF_CAT(a, b) FFF_CAT2(a, b)
#define FN(name) FFF_CAT(name, FFF_SUFFIX)
#define INL static inline __attribute__((always_inline))

#if FFF_PANEL_ROWS != 8
#error "the tile instantiations below assume panels of 8 rows"
#endif

typedef float FN(vf) __attribute__((vector_size(VW * 4)));
typedef float FN(vfu) __attribute__((vector_size(VW * 4), aligned(4)));
#define vf FN(vf)
#define vfu FN(vfu)

typedef float FN(v8) __attribute__((vector_size(32)));
typedef float FN(v4) __attribute__((vector_size(16)));

#define VLOAD(p) (*(const vf *)(p))
#define VLOADU(p) ((vf)(*(const vfu *)(p)))
#define VSTORE(p, v) (*(vf *)(p) = (v))

INL vf FN(vzero)(void) { vf z = {0}; return z; }

/* VW weights of type T starting at element `i` of `w`. Float32 rows are 64-byte aligned (VW
 * floats at a multiple of VW); compact ones are read unaligned. */
INL vf FN(wload)(const int T, const void *w, int64_t i)
{
    switch (T) {
    case FFF_ELEMENT_FLOAT16: return CVT_F16((const uint16_t *)w + i);
    case FFF_ELEMENT_BFLOAT16: return CVT_BF16((const uint16_t *)w + i);
    case FFF_ELEMENT_INT8_ROW: return CVT_I8((const int8_t *)w + i);
    default: return VLOAD((const float *)w + i);
    }
}

/* bfloat16 pairs: where the kernel consumes two weight vectors together (two rows of a panel at
 * the same input block, or two consecutive blocks of a node row), the packer stores them
 * interleaved, 32-bit word j holding the first vector's element j in its low half and the
 * second's in its high half (see fff_plan). One load of 2 VW elements then gives both vectors
 * by a shift and a mask, integer operations that leave the shuffle unit (which zero-extension
 * and float16 conversion occupy, one vector per cycle) free: bfloat16 weights then cost what
 * float32 weights cost to compute with, at half the bytes. */
typedef uint32_t FN(vu) __attribute__((vector_size(VW * 4)));
INL void FN(bf16_pair)(const void *w, int64_t i, vf *first, vf *second)
{
    FN(vu) v;
    memcpy(&v, (const uint16_t *)w + i, sizeof v);
    const FN(vu) lo = v << 16, hi = v & 0xFFFF0000u;
    memcpy(first, &lo, sizeof lo);
    memcpy(second, &hi, sizeof hi);
}

/* `w` advanced by `i` elements of type T. */
INL const void *FN(wat)(const int T, const void *w, int64_t i)
{
    switch (T) {
    case FFF_ELEMENT_FLOAT16:
    case FFF_ELEMENT_BFLOAT16: return (const uint16_t *)w + i;
    case FFF_ELEMENT_INT8_ROW: return (const int8_t *)w + i;
    default: return (const float *)w + i;
    }
}

/* Every line of elements first ..< first + count of `w` (type T) fetched into L2 (prefetcht1),
 * for a weight block the batched path reads next when the weights live beyond the caches
 * (plan.prefetch_weights): a whole node row or leaf, since the hardware prefetcher only starts
 * after the first misses and stops at page boundaries. */
INL void FN(prefetch_l2)(const int T, const void *w, int64_t first, int64_t count)
{
    const char *end = (const char *)FN(wat)(T, w, first + count);
    for (const char *a = (const char *)FN(wat)(T, w, first); a < end; a += 64) __builtin_prefetch(a, 0, 2);
}

#define FOR_EACH_TYPE(X) X(0) X(1) X(2) X(3)
INL vf FN(vsplat)(float s) { return FN(vzero)() + s; }

INL float FN(hsum4)(FN(v4) v)
{
    FN(v4) a = v + __builtin_shufflevector(v, v, 2, 3, 0, 1);
    return a[0] + a[1];
}

#if VW >= 8
INL float FN(hsum8)(FN(v8) v)
{
    FN(v4) lo = __builtin_shufflevector(v, v, 0, 1, 2, 3);
    FN(v4) hi = __builtin_shufflevector(v, v, 4, 5, 6, 7);
    return FN(hsum4)(lo + hi);
}
#endif

INL float FN(hsum)(vf v)
{
#if VW == 16
    FN(v8) lo = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
    FN(v8) hi = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    return FN(hsum8)(lo + hi);
#elif VW == 8
    return FN(hsum8)(v);
#else
    return FN(hsum4)(v);
#endif
}

/* ---- preprocessing: x[0 ..< I] = raw * scale + offset (or raw); x[I ..< stride] stays zero -- */

/* `raw` holds float32 values, or (`bytes` 1) unsigned bytes, each widened to float32 (exact) as
 * it is loaded, so the result is bitwise that of the bytes given as floats. Callers pass
 * `bytes` as a constant, which the inlining folds away. */
INL void FN(prep_any)(const fff_plan *p, const void *raw, int bytes, int preprocessed, float *x)
{
    const float *f = (const float *)raw;
    const uint8_t *b = (const uint8_t *)raw;
#define PREP_LOAD(i) (bytes ? CVT_U8(b + (i)) : VLOADU(f + (i)))
#define PREP_VALUE(i) (bytes ? (float)b[i] : f[i])
    const int64_t width = p->input_width;
    /* The padding is rewritten every time, so that a workspace shared between models of
     * different widths never leaves another record's values where weights are zero. */
    for (int64_t i = width; i < p->input_stride; i++) x[i] = 0.0f;
    int64_t i = 0;
    if (preprocessed || p->scale == NULL) {
        /* A vector loop rather than memcpy: measured 0.443 -> 0.394 µs per record in float32 on
         * 784 -> 10 d4 l8 m8 without preprocessing (AVX-512). */
        for (; i + VW <= width; i += VW) VSTORE(x + i, PREP_LOAD(i));
        for (; i < width; i++) x[i] = PREP_VALUE(i);
        return;
    }
    const float *scale = p->scale, *offset = p->offset;
    if (p->prep_uniform) {
        /* One scale and offset in registers instead of two arrays streamed beside the record:
         * the single path reads every weight once per record, which evicts those arrays from
         * L1, so they came from L2 each time (6 KB for 784 inputs). Same values, same result. */
        const float s = scale[0], o = offset[0];
        const vf sv = FN(vsplat)(s), ov = FN(vsplat)(o);
        for (; i + VW <= width; i += VW) VSTORE(x + i, FMA_V(PREP_LOAD(i), sv, ov));
        for (; i < width; i++) x[i] = FMA_S(PREP_VALUE(i), s, o);
        return;
    }
    for (; i + VW <= width; i += VW)
        VSTORE(x + i, FMA_V(PREP_LOAD(i), VLOAD(scale + i), VLOAD(offset + i)));
    for (; i < width; i++)
        x[i] = FMA_S(PREP_VALUE(i), scale[i], offset[i]);
#undef PREP_LOAD
#undef PREP_VALUE
}

INL void FN(prep)(const fff_plan *p, const float *raw, int preprocessed, float *x)
{
    FN(prep_any)(p, raw, 0, preprocessed, x);
}

/* ---- node scores: C records against one weight row, four accumulators per record ---------- */

INL void FN(node_dots)(const int T, const int C, const void *w, const float *const *xs, int64_t n,
                       float *dots)
{
    vf a0[4], a1[4], a2[4], a3[4];
    for (int c = 0; c < C; c++) a0[c] = a1[c] = a2[c] = a3[c] = FN(vzero)();
    int64_t k = 0;
    for (; k + 4 * VW <= n; k += 4 * VW) {
        vf w0, w1, w2, w3;
        if (T == FFF_ELEMENT_BFLOAT16) {
            FN(bf16_pair)(w, k, &w0, &w1);
            FN(bf16_pair)(w, k + 2 * VW, &w2, &w3);
        } else {
            w0 = FN(wload)(T, w, k), w1 = FN(wload)(T, w, k + VW);
            w2 = FN(wload)(T, w, k + 2 * VW), w3 = FN(wload)(T, w, k + 3 * VW);
        }
        for (int c = 0; c < C; c++) {
            const float *x = xs[c] + k;
            a0[c] = FMA_V(w0, VLOAD(x), a0[c]);
            a1[c] = FMA_V(w1, VLOAD(x + VW), a1[c]);
            a2[c] = FMA_V(w2, VLOAD(x + 2 * VW), a2[c]);
            a3[c] = FMA_V(w3, VLOAD(x + 3 * VW), a3[c]);
        }
    }
    if (T == FFF_ELEMENT_BFLOAT16) {
        for (; k + 2 * VW <= n; k += 2 * VW) {
            vf wa, wb;
            FN(bf16_pair)(w, k, &wa, &wb);
            for (int c = 0; c < C; c++) a0[c] = FMA_V(wa, VLOAD(xs[c] + k), a0[c]);
            for (int c = 0; c < C; c++) a0[c] = FMA_V(wb, VLOAD(xs[c] + k + VW), a0[c]);
        }
    }
    for (; k < n; k += VW) {
        const vf wv = FN(wload)(T, w, k);
        for (int c = 0; c < C; c++) a0[c] = FMA_V(wv, VLOAD(xs[c] + k), a0[c]);
    }
    for (int c = 0; c < C; c++) dots[c] = FN(hsum)((a0[c] + a1[c]) + (a2[c] + a3[c]));
}

#define DEF_NODE(T, C)                                                                             \
    __attribute__((unused)) static void FN(node_dots_##T##_##C)(const void *w, const float *const *xs, int64_t n, float *d) \
    {                                                                                              \
        FN(node_dots)(T, C, w, xs, n, d);                                                          \
    }
#define DEF_NODES(T) DEF_NODE(T, 1) DEF_NODE(T, 2) DEF_NODE(T, 3) DEF_NODE(T, 4)
FOR_EACH_TYPE(DEF_NODES)

/* One record's dot product with node row `w` of type T (a compile-time constant). */
INL float FN(node_dot)(const int T, const void *w, const float *x, int64_t n)
{
    float dot;
    switch (T) {
    case 1: FN(node_dots_1_1)(w, &x, n, &dot); break;
    case 2: FN(node_dots_2_1)(w, &x, n, &dot); break;
    case 3: FN(node_dots_3_1)(w, &x, n, &dot); break;
    default: FN(node_dots_0_1)(w, &x, n, &dot); break;
    }
    return dot;
}

#define CASE_NODE(T, C) \
    case (T) * 16 + (C): FN(node_dots_##T##_##C)(w, xs, n, d); return;
#if NODE_CB >= 4
#define CASE_NODES(T) CASE_NODE(T, 1) CASE_NODE(T, 2) CASE_NODE(T, 3) CASE_NODE(T, 4)
#elif NODE_CB >= 3
#define CASE_NODES(T) CASE_NODE(T, 1) CASE_NODE(T, 2) CASE_NODE(T, 3)
#elif NODE_CB >= 2
#define CASE_NODES(T) CASE_NODE(T, 1) CASE_NODE(T, 2)
#else
#define CASE_NODES(T) CASE_NODE(T, 1)
#endif

static void FN(node_dots_any)(int T, int C, const void *w, const float *const *xs, int64_t n, float *d)
{
    switch (T * 16 + C) {
    FOR_EACH_TYPE(CASE_NODES)
    default: __builtin_unreachable();
    }
}

/* ---- hidden units: R weight rows x C records, one accumulator per pair ----------------------
 * Hidden weights are stored in panels (see fff_plan): within a panel, input block kb of row r
 * (VW floats) is at w + kb * kstride + r * VW, so a pass over a panel reads memory in order. */

INL void FN(tile)(const int T, const int R, const int C, const void *w, int64_t kstride,
                  const float *const *xs, int64_t n, float *sums)
{
    vf acc[32];
    const float *xp[4];
    for (int i = 0; i < R * C; i++) acc[i] = FN(vzero)();
    for (int c = 0; c < C; c++) xp[c] = xs[c];
    int64_t wi = 0;
    for (int64_t k = 0; k < n; k += VW, wi += kstride) {
        vf xv[4];
        for (int c = 0; c < C; c++) xv[c] = VLOAD(xp[c] + k);
        for (int r = 0; r < R; r++) {
            if (T == FFF_ELEMENT_BFLOAT16 && r + 1 < R) { /* rows r, r + 1 interleaved */
                vf wa, wb;
                FN(bf16_pair)(w, wi + r * VW, &wa, &wb);
                for (int c = 0; c < C; c++) acc[c * R + r] = FMA_V(wa, xv[c], acc[c * R + r]);
                for (int c = 0; c < C; c++) acc[c * R + r + 1] = FMA_V(wb, xv[c], acc[c * R + r + 1]);
                r++;
                continue;
            }
            const vf wv = FN(wload)(T, w, wi + r * VW);
            for (int c = 0; c < C; c++) acc[c * R + r] = FMA_V(wv, xv[c], acc[c * R + r]);
        }
    }
    for (int i = 0; i < R * C; i++) sums[i] = FN(hsum)(acc[i]);
}

#define DEF_TILE(T, R, C)                                                                          \
    __attribute__((unused)) static void FN(tile_##T##_##R##x##C)(const void *w, int64_t ws, const float *const *xs,       \
                                         int64_t n, float *sums)                                   \
    {                                                                                              \
        FN(tile)(T, R, C, w, ws, xs, n, sums);                                                     \
    }
#define CASE_TILE(T, R, C) \
    case ((T) * 4 + (C)) * 16 + (R): FN(tile_##T##_##R##x##C)(w, ws, xs, n, sums); return;

#define DEF_TILES_1(T) DEF_TILE(T, 1, 1) DEF_TILE(T, 2, 1) DEF_TILE(T, 3, 1) DEF_TILE(T, 4, 1) \
                       DEF_TILE(T, 5, 1) DEF_TILE(T, 6, 1) DEF_TILE(T, 7, 1) DEF_TILE(T, 8, 1)
#define CASE_TILES_1(T) CASE_TILE(T, 1, 1) CASE_TILE(T, 2, 1) CASE_TILE(T, 3, 1) CASE_TILE(T, 4, 1) \
                        CASE_TILE(T, 5, 1) CASE_TILE(T, 6, 1) CASE_TILE(T, 7, 1) CASE_TILE(T, 8, 1)
#if TILE_RB > 4
#define DEF_TILES_C(T, C) DEF_TILE(T, 1, C) DEF_TILE(T, 2, C) DEF_TILE(T, 3, C) DEF_TILE(T, 4, C) \
                          DEF_TILE(T, 5, C) DEF_TILE(T, 6, C) DEF_TILE(T, 7, C) DEF_TILE(T, 8, C)
#define CASE_TILES_C(T, C) CASE_TILE(T, 1, C) CASE_TILE(T, 2, C) CASE_TILE(T, 3, C) CASE_TILE(T, 4, C) \
                           CASE_TILE(T, 5, C) CASE_TILE(T, 6, C) CASE_TILE(T, 7, C) CASE_TILE(T, 8, C)
#else
#define DEF_TILES_C(T, C) DEF_TILE(T, 1, C) DEF_TILE(T, 2, C) DEF_TILE(T, 3, C) DEF_TILE(T, 4, C)
#define CASE_TILES_C(T, C) CASE_TILE(T, 1, C) CASE_TILE(T, 2, C) CASE_TILE(T, 3, C) CASE_TILE(T, 4, C)
#endif
#if TILE_CB >= 4
#define DEF_TILES(T) DEF_TILES_1(T) DEF_TILES_C(T, 2) DEF_TILES_C(T, 3) DEF_TILES_C(T, 4)
#define CASE_TILES(T) CASE_TILES_1(T) CASE_TILES_C(T, 2) CASE_TILES_C(T, 3) CASE_TILES_C(T, 4)
#elif TILE_CB >= 3
#define DEF_TILES(T) DEF_TILES_1(T) DEF_TILES_C(T, 2) DEF_TILES_C(T, 3)
#define CASE_TILES(T) CASE_TILES_1(T) CASE_TILES_C(T, 2) CASE_TILES_C(T, 3)
#elif TILE_CB >= 2
#define DEF_TILES(T) DEF_TILES_1(T) DEF_TILES_C(T, 2)
#define CASE_TILES(T) CASE_TILES_1(T) CASE_TILES_C(T, 2)
#else
#define DEF_TILES(T) DEF_TILES_1(T)
#define CASE_TILES(T) CASE_TILES_1(T)
#endif
FOR_EACH_TYPE(DEF_TILES)

static void FN(tile_any)(int T, int R, int C, const void *w, int64_t ws, const float *const *xs,
                         int64_t n, float *sums)
{
    switch ((T * 4 + C) * 16 + R) {
    FOR_EACH_TYPE(CASE_TILES)
    default: __builtin_unreachable();
    }
}

/* h[c * hstride + j] = act(bias[j] + dot(row j, xs[c])) for j < width, c < C; the rows are
 * stored as panels of FFF_PANEL_ROWS (the last one may be shorter) of `stride` inputs each, of
 * element type T. With `scale` (int8-row), the dot product is multiplied by scale[j] first. */
INL void FN(hidden)(const int T, const void *panels, const float *scale, const float *bias,
                    int64_t width, int64_t stride, int32_t act, const float *const *xs, int C,
                    float *h, int64_t hstride)
{
    float sums[32];
    for (int64_t p0 = 0; p0 < width; p0 += FFF_PANEL_ROWS) {
        const int64_t rows = (width - p0) < FFF_PANEL_ROWS ? (width - p0) : FFF_PANEL_ROWS;
        const void *panel = FN(wat)(T, panels, p0 * stride);
        const int64_t block = (C == 1) ? FFF_PANEL_ROWS : TILE_RB;
        for (int64_t r0 = 0; r0 < rows; r0 += block) {
            const int R = (int)((rows - r0) < block ? (rows - r0) : block);
            FN(tile_any)(T, R, C, FN(wat)(T, panel, r0 * VW), rows * VW, xs, stride, sums);
            for (int c = 0; c < C; c++)
                for (int r = 0; r < R; r++) {
                    const int64_t j = p0 + r0 + r;
                    float sum = sums[c * R + r];
                    if (T == FFF_ELEMENT_INT8_ROW) sum = sum * scale[j];
                    h[c * hstride + j] = fff_activation_apply(act, sum + bias[j]);
                }
        }
    }
}

/* y[0 ..< ostride] = bias + sum_b h[b] * w2[b]; w2 rows of `ostride` elements of type T; with
 * `scale` (int8-row, one per output), the accumulated sum is multiplied by scale first. */
INL void FN(output)(const int T, const float *h, int64_t width, const void *w2, const float *scale,
                    const float *bias, int64_t ostride, float *y)
{
    for (int64_t o = 0; o < ostride; o += VW) {
        vf a0 = FN(vzero)(), a1 = a0, a2 = a0, a3 = a0;
        int64_t b = 0;
        for (; b + 4 <= width; b += 4) {
            a0 = FMA_V(FN(vsplat)(h[b]), FN(wload)(T, w2, o + b * ostride), a0);
            a1 = FMA_V(FN(vsplat)(h[b + 1]), FN(wload)(T, w2, o + (b + 1) * ostride), a1);
            a2 = FMA_V(FN(vsplat)(h[b + 2]), FN(wload)(T, w2, o + (b + 2) * ostride), a2);
            a3 = FMA_V(FN(vsplat)(h[b + 3]), FN(wload)(T, w2, o + (b + 3) * ostride), a3);
        }
        for (; b < width; b++) a0 = FMA_V(FN(vsplat)(h[b]), FN(wload)(T, w2, o + b * ostride), a0);
        vf sum = (a0 + a1) + (a2 + a3);
        if (T == FFF_ELEMENT_INT8_ROW) sum = sum * VLOAD(scale + o);
        VSTORE(y + o, sum + VLOAD(bias + o));
    }
}

#define DEF_LAYER(T)                                                                               \
    static void FN(hidden_##T)(const void *panels, const float *scale, const float *bias,          \
                               int64_t width, int64_t stride, int32_t act, const float *const *xs, \
                               int C, float *h, int64_t hstride)                                   \
    {                                                                                              \
        FN(hidden)(T, panels, scale, bias, width, stride, act, xs, C, h, hstride);                 \
    }                                                                                              \
    static void FN(output_##T)(const float *h, int64_t width, const void *w2, const float *scale,  \
                               const float *bias, int64_t ostride, float *y)                       \
    {                                                                                              \
        FN(output)(T, h, width, w2, scale, bias, ostride, y);                                      \
    }
FOR_EACH_TYPE(DEF_LAYER)

/* The instantiation for type T (a compile-time constant or not). */
static inline void FN(hidden_t)(int T, const void *panels, const float *scale, const float *bias,
                                int64_t width, int64_t stride, int32_t act, const float *const *xs,
                                int C, float *h, int64_t hstride)
{
    switch (T) {
    case 1: FN(hidden_1)(panels, scale, bias, width, stride, act, xs, C, h, hstride); return;
    case 2: FN(hidden_2)(panels, scale, bias, width, stride, act, xs, C, h, hstride); return;
    case 3: FN(hidden_3)(panels, scale, bias, width, stride, act, xs, C, h, hstride); return;
    default: FN(hidden_0)(panels, scale, bias, width, stride, act, xs, C, h, hstride); return;
    }
}

static inline void FN(output_t)(int T, const float *h, int64_t width, const void *w2,
                                const float *scale, const float *bias, int64_t ostride, float *y)
{
    switch (T) {
    case 1: FN(output_1)(h, width, w2, scale, bias, ostride, y); return;
    case 2: FN(output_2)(h, width, w2, scale, bias, ostride, y); return;
    case 3: FN(output_3)(h, width, w2, scale, bias, ostride, y); return;
    default: FN(output_0)(h, width, w2, scale, bias, ostride, y); return;
    }
}

/* out = s*y + (1-s)*m, or y without a master leaf. */
INL void FN(mix)(const fff_plan *p, const float *y, const float *m, float *out)
{
    const int64_t width = p->output_width;
    if (m == NULL) {
        memcpy(out, y, (size_t)width * sizeof(float));
        return;
    }
    const float s = p->mix_leaf, t = p->mix_master;
    for (int64_t o = 0; o < width; o++) out[o] = s * y[o] + t * m[o];
}

/* The node score of node n: dot (times the row's scale for int8-row) + bias; the child it
 * sends the record to. */
INL int64_t FN(child)(const int NT, const fff_plan *p, int64_t n, float dot)
{
    if (NT == FFF_ELEMENT_INT8_ROW) dot = dot * p->node_scale[n];
    const float score = dot + p->node_b[n];
    return (score >= 0.0f) ? 2 * n + 2 : 2 * n + 1; /* NaN goes left */
}

INL int64_t FN(descend)(const int NT, const fff_plan *p, const float *x)
{
    const int64_t stride = p->input_stride;
    int64_t n = 0;
    for (int64_t t = 0; t < p->depth; t++)
        n = FN(child)(NT, p, n, FN(node_dot)(NT, FN(wat)(NT, p->node_w, n * stride), x, stride));
    return n - (((int64_t)1 << p->depth) - 1);
}

/* The descent fused with the first master panel (8 units, when M >= 8): that panel is consumed
 * in slices between node levels, so its multiply-adds, which do not depend on the descent, fill
 * the time the descent's dependent chain of dot products leaves idle (measured 9 % faster per
 * record on 784 -> 10, depth 4, leaf 8, master 8). Each unit's sum runs over the inputs in
 * order, as in `tile`, so the results are those of `hidden` bit for bit. */
INL void FN(panel_slice)(const int WT, const void *w, const float *x, int64_t from, int64_t to,
                         vf *acc)
{
    for (int64_t kb = from; kb < to; kb++) {
        const vf xv = VLOAD(x + kb * VW);
        if (WT == FFF_ELEMENT_BFLOAT16) {
            for (int r = 0; r < FFF_PANEL_ROWS; r += 2) {
                vf wa, wb;
                FN(bf16_pair)(w, (kb * FFF_PANEL_ROWS + r) * VW, &wa, &wb);
                acc[r] = FMA_V(wa, xv, acc[r]);
                acc[r + 1] = FMA_V(wb, xv, acc[r + 1]);
            }
            continue;
        }
        for (int r = 0; r < FFF_PANEL_ROWS; r++)
            acc[r] = FMA_V(FN(wload)(WT, w, (kb * FFF_PANEL_ROWS + r) * VW), xv, acc[r]);
    }
}

#if INTERLEAVE_MASTER
/* One node's dot product (as node_dots with C = 1: four accumulators, block j of each whole
 * group of four to accumulator j mod 4, the tail to accumulator 0) with the master panel's
 * blocks kb0 ..< kb1 spread between its groups of four blocks, so that the independent panel
 * work is interleaved with the node's instead of queued behind it. Measured on 784 -> 10 d4 l8
 * m8 with preprocessing (kernel_harness, HARNESS_PREP=1): float32 0.44 -> 0.41 µs per record,
 * float16 0.35 -> 0.32, bfloat16 0.29 -> 0.27, int8-row 0.33 -> 0.29. AVX-512 only: with 16
 * registers (AVX2, SSE) it made every type slower. (Preprocessing the record block by block
 * inside the first node's dot product was tried too: slower once the model has
 * preprocessing.) */
INL float FN(node_dot_slice)(const int NT, const int WT, const void *w, const float *x, int64_t n,
                             const void *mw, int64_t kb0, int64_t kb1, vf *macc)
{
    vf a0 = FN(vzero)(), a1 = a0, a2 = a0, a3 = a0;
    const int64_t groups = n / (4 * VW);
    int64_t k = 0, kb = kb0, g = 0;
    for (; k + 4 * VW <= n; k += 4 * VW) {
        vf w0, w1, w2, w3;
        if (NT == FFF_ELEMENT_BFLOAT16) {
            FN(bf16_pair)(w, k, &w0, &w1);
            FN(bf16_pair)(w, k + 2 * VW, &w2, &w3);
        } else {
            w0 = FN(wload)(NT, w, k), w1 = FN(wload)(NT, w, k + VW);
            w2 = FN(wload)(NT, w, k + 2 * VW), w3 = FN(wload)(NT, w, k + 3 * VW);
        }
        a0 = FMA_V(w0, VLOAD(x + k), a0);
        a1 = FMA_V(w1, VLOAD(x + k + VW), a1);
        a2 = FMA_V(w2, VLOAD(x + k + 2 * VW), a2);
        a3 = FMA_V(w3, VLOAD(x + k + 3 * VW), a3);
        g++;
        const int64_t until = kb0 + (kb1 - kb0) * g / groups;
        FN(panel_slice)(WT, mw, x, kb, until, macc);
        kb = until;
    }
    if (NT == FFF_ELEMENT_BFLOAT16) {
        for (; k + 2 * VW <= n; k += 2 * VW) {
            vf wa, wb;
            FN(bf16_pair)(w, k, &wa, &wb);
            a0 = FMA_V(wa, VLOAD(x + k), a0);
            a0 = FMA_V(wb, VLOAD(x + k + VW), a0);
        }
    }
    for (; k < n; k += VW) a0 = FMA_V(FN(wload)(NT, w, k), VLOAD(x + k), a0);
    FN(panel_slice)(WT, mw, x, kb, kb1, macc);
    return FN(hsum)((a0 + a1) + (a2 + a3));
}
#endif

INL int64_t FN(descend_master)(const int NT, const int WT, const fff_plan *p, const float *x,
                               float *msums)
{
    const int64_t stride = p->input_stride;
    const int64_t blocks = stride / VW;
    const int64_t depth = p->depth;
    const int64_t slice = (blocks + depth) / (depth + 1);
    vf acc[FFF_PANEL_ROWS];
    for (int r = 0; r < FFF_PANEL_ROWS; r++) acc[r] = FN(vzero)();
    int64_t kb = 0, n = 0;
    for (int64_t t = 0; t < depth; t++) {
        const int64_t end = kb + slice < blocks ? kb + slice : blocks;
#if INTERLEAVE_MASTER
        const float dot = FN(node_dot_slice)(NT, WT, FN(wat)(NT, p->node_w, n * stride), x, stride,
                                             p->master_w1, kb, end, acc);
#else
        const float dot = FN(node_dot)(NT, FN(wat)(NT, p->node_w, n * stride), x, stride);
        FN(panel_slice)(WT, p->master_w1, x, kb, end, acc);
#endif
        kb = end;
        n = FN(child)(NT, p, n, dot);
    }
    FN(panel_slice)(WT, p->master_w1, x, kb, blocks, acc);
    for (int r = 0; r < FFF_PANEL_ROWS; r++) msums[r] = FN(hsum)(acc[r]);
    return n - (((int64_t)1 << depth) - 1);
}

/* One record, for node type NT and weight type WT (compile-time constants). */
INL int32_t FN(predict_one)(const int NT, const int WT, const fff_plan *p, const fff_workspace *ws,
                            const float *raw, int pre, float *out)
{
    const float *x = ws->x;
    const int64_t I = p->input_stride, O = p->output_stride, H = p->leaf_width;
    const int64_t M = p->master_width;
    FN(prep)(p, raw, pre, ws->x);
    const float *m = NULL;
    int64_t leaf;
    if (M >= FFF_PANEL_ROWS) {
        float sums[FFF_PANEL_ROWS];
        leaf = FN(descend_master)(NT, WT, p, x, sums);
        for (int r = 0; r < FFF_PANEL_ROWS; r++) {
            float sum = sums[r];
            if (WT == FFF_ELEMENT_INT8_ROW) sum = sum * p->master_w1_scale[r];
            ws->hidden[r] = fff_activation_apply(p->activation, sum + p->master_b1[r]);
        }
        if (M > FFF_PANEL_ROWS)
            FN(hidden_t)(WT, FN(wat)(WT, p->master_w1, FFF_PANEL_ROWS * I),
                         p->master_w1_scale ? p->master_w1_scale + FFF_PANEL_ROWS : NULL,
                         p->master_b1 + FFF_PANEL_ROWS, M - FFF_PANEL_ROWS, I, p->activation, &x,
                         1, ws->hidden + FFF_PANEL_ROWS, 0);
    } else {
        leaf = FN(descend)(NT, p, x);
        if (M > 0)
            FN(hidden_t)(WT, p->master_w1, p->master_w1_scale, p->master_b1, M, I, p->activation,
                         &x, 1, ws->hidden, 0);
    }
    if (M > 0) {
        FN(output_t)(WT, ws->hidden, M, p->master_w2, p->master_w2_scale, p->master_b2, O, ws->m);
        m = ws->m;
    }
    FN(hidden_t)(WT, FN(wat)(WT, p->leaf_w1, leaf * H * I),
                 p->leaf_w1_scale ? p->leaf_w1_scale + leaf * H : NULL, p->leaf_b1 + leaf * H, H,
                 I, p->activation, &x, 1, ws->hidden, 0);
    FN(output_t)(WT, ws->hidden, H, FN(wat)(WT, p->leaf_w2, leaf * H * O),
                 p->leaf_w2_scale ? p->leaf_w2_scale + leaf * O : NULL, p->leaf_b2 + leaf * O, O,
                 ws->y);
    FN(mix)(p, ws->y, m, out);
    return (int32_t)leaf;
}

/* The type pairs a plan may have: (float32, float32), or a compact weight type with any node
 * type. Code NT * 4 + WT. */
#define TYPE_PAIRS(X) X(0, 0) X(0, 1) X(1, 1) X(2, 1) X(3, 1) X(0, 2) X(1, 2) X(2, 2) X(3, 2) \
                      X(0, 3) X(1, 3) X(2, 3) X(3, 3)

#define DEF_ONE(NT, WT)                                                                            \
    static int32_t FN(predict_one_##NT##_##WT)(const fff_plan *p, const fff_workspace *ws,          \
                                               const float *raw, int pre, float *out)              \
    {                                                                                              \
        return FN(predict_one)(NT, WT, p, ws, raw, pre, out);                                      \
    }
TYPE_PAIRS(DEF_ONE)
#define CASE_ONE(NT, WT) \
    case (NT) * 4 + (WT): return FN(predict_one_##NT##_##WT)(p, ws, raw, pre, out);

#ifndef ROOT_CB
#define ROOT_CB 1
#endif
#ifndef SPREAD_MASTER
#define SPREAD_MASTER 0
#endif
#ifndef SPREAD_CB2
#define SPREAD_CB2 4
#endif
#ifndef SPREAD_CB4
#define SPREAD_CB4 3
#endif
#ifndef FUSE_ROOT_TYPES /* bit WT set: fuse the root with the master for weight type WT */
#define FUSE_ROOT_TYPES 1
#endif
/* ---- batched: node scores together with master units ---------------------------------------
 * Every record of a batch passes a node at each level and the master leaf, and neither depends
 * on the other: one pass over C records' inputs computes a node's score and U units of the
 * master's first panel (rows u0 ..< u0 + U), so each input vector loaded from the chunk (which
 * lives in L2) feeds 1 + U multiply-adds. Two ways to use it:
 *   - fused: the root with all 8 units, ROOT_CB records per pass (U = 8); the pass
 *     then keeps the whole 25 KB panel (at 784 inputs) beside its records;
 *   - spread (SPREAD_MASTER, depth >= 2): the panel dealt out over the node levels a pair or
 *     two of units at a time (see spread_units), so each level's loads feed 3 or 5
 *     multiply-adds instead of 1, and only the slice of the panel that a level uses (U rows,
 *     3 KB per unit at 784 inputs) has to stay in L1 beside the node row and the records.
 * Summation orders are those of node_dots (four accumulators, block j of each whole group of
 * four to accumulator j mod 4, the tail to accumulator 0) and of tile (one accumulator per unit
 * over the inputs in order), so the results are bitwise those of separate passes and of
 * predict_one. Sums go to dots[c] and msums[c * FFF_PANEL_ROWS + r]. */
INL void FN(node_master)(const int NT, const int WT, const int C, const int U, const void *nw,
                         const void *mw, int64_t u0, const float *const *xs, int64_t n,
                         float *dots, float *msums)
{
    vf a[4][4], m[4][FFF_PANEL_ROWS];
    for (int c = 0; c < C; c++) {
        for (int j = 0; j < 4; j++) a[c][j] = FN(vzero)();
        for (int r = 0; r < U; r++) m[c][r] = FN(vzero)();
    }
    const int64_t blocks = n / VW;
    int64_t kb = 0;
#define NM_MASTER(KB)                                                                              \
    for (int r = 0; r < U; r++) {                                                                  \
        if (WT == FFF_ELEMENT_BFLOAT16) {                                                          \
            vf wa, wb;                                                                             \
            FN(bf16_pair)(mw, ((KB) * FFF_PANEL_ROWS + u0 + r) * VW, &wa, &wb);                    \
            for (int c = 0; c < C; c++) m[c][r] = FMA_V(wa, xv[c], m[c][r]);                       \
            for (int c = 0; c < C; c++) m[c][r + 1] = FMA_V(wb, xv[c], m[c][r + 1]);               \
            r++;                                                                                   \
            continue;                                                                              \
        }                                                                                          \
        const vf wv = FN(wload)(WT, mw, ((KB) * FFF_PANEL_ROWS + u0 + r) * VW);                    \
        for (int c = 0; c < C; c++) m[c][r] = FMA_V(wv, xv[c], m[c][r]);                           \
    }
    vf xv[4];
    for (; kb + 4 <= blocks; kb += 4) {
        vf w[4];
        if (NT == FFF_ELEMENT_BFLOAT16) {
            FN(bf16_pair)(nw, kb * VW, &w[0], &w[1]);
            FN(bf16_pair)(nw, (kb + 2) * VW, &w[2], &w[3]);
        }
        for (int j = 0; j < 4; j++) {
            if (NT != FFF_ELEMENT_BFLOAT16) w[j] = FN(wload)(NT, nw, (kb + j) * VW);
            for (int c = 0; c < C; c++) xv[c] = VLOAD(xs[c] + (kb + j) * VW);
            for (int c = 0; c < C; c++) a[c][j] = FMA_V(w[j], xv[c], a[c][j]);
            NM_MASTER(kb + j)
        }
    }
    if (NT == FFF_ELEMENT_BFLOAT16) {
        for (; kb + 2 <= blocks; kb += 2) {
            vf wa, wb;
            FN(bf16_pair)(nw, kb * VW, &wa, &wb);
            for (int c = 0; c < C; c++) xv[c] = VLOAD(xs[c] + kb * VW);
            for (int c = 0; c < C; c++) a[c][0] = FMA_V(wa, xv[c], a[c][0]);
            NM_MASTER(kb)
            for (int c = 0; c < C; c++) xv[c] = VLOAD(xs[c] + (kb + 1) * VW);
            for (int c = 0; c < C; c++) a[c][0] = FMA_V(wb, xv[c], a[c][0]);
            NM_MASTER(kb + 1)
        }
    }
    for (; kb < blocks; kb++) {
        const vf wv = FN(wload)(NT, nw, kb * VW);
        for (int c = 0; c < C; c++) xv[c] = VLOAD(xs[c] + kb * VW);
        for (int c = 0; c < C; c++) a[c][0] = FMA_V(wv, xv[c], a[c][0]);
        NM_MASTER(kb)
    }
#undef NM_MASTER
    for (int c = 0; c < C; c++) {
        dots[c] = FN(hsum)((a[c][0] + a[c][1]) + (a[c][2] + a[c][3]));
        for (int r = 0; r < U; r++) msums[c * FFF_PANEL_ROWS + r] = FN(hsum)(m[c][r]);
    }
}

/* C records (1 ... 4 with U = 2, 1 ... 3 with U = 4, 1 ... ROOT_CB with U = 8) and U master
 * units (2, 4 or 8; a level without units calls node_dots). */
#define DEF_NM(NT, WT)                                                                             \
    static void FN(node_master_##NT##_##WT)(int C, int U, const void *nw, const void *mw,          \
                                            int64_t u0, const float *const *xs, int64_t n,         \
                                            float *dots, float *msums)                             \
    {                                                                                              \
        switch (U * 8 + C) {                                                                       \
        case 2 * 8 + 1: FN(node_master)(NT, WT, 1, 2, nw, mw, u0, xs, n, dots, msums); return;     \
        case 2 * 8 + 2: FN(node_master)(NT, WT, 2, 2, nw, mw, u0, xs, n, dots, msums); return;     \
        case 2 * 8 + 3: FN(node_master)(NT, WT, 3, 2, nw, mw, u0, xs, n, dots, msums); return;     \
        case 2 * 8 + 4: FN(node_master)(NT, WT, 4, 2, nw, mw, u0, xs, n, dots, msums); return;     \
        case 4 * 8 + 1: FN(node_master)(NT, WT, 1, 4, nw, mw, u0, xs, n, dots, msums); return;     \
        case 4 * 8 + 2: FN(node_master)(NT, WT, 2, 4, nw, mw, u0, xs, n, dots, msums); return;     \
        case 4 * 8 + 3: FN(node_master)(NT, WT, 3, 4, nw, mw, u0, xs, n, dots, msums); return;     \
        case 8 * 8 + 1: FN(node_master)(NT, WT, 1, 8, nw, mw, u0, xs, n, dots, msums); return;     \
        case 8 * 8 + 2:                                                                            \
            FN(node_master)(NT, WT, ROOT_CB >= 2 ? 2 : 1, 8, nw, mw, u0, xs, n, dots, msums); return; \
        default: __builtin_unreachable();                                                          \
        }                                                                                          \
    }
TYPE_PAIRS(DEF_NM)
#define CASE_NM(NT, WT) \
    case (NT) * 4 + (WT): FN(node_master_##NT##_##WT)(C, U, nw, mw, u0, xs, n, dots, msums); return;
static void FN(node_master_any)(int NT, int WT, int C, int U, const void *nw, const void *mw,
                                int64_t u0, const float *const *xs, int64_t n, float *dots,
                                float *msums)
{
    switch (NT * 4 + WT) {
    TYPE_PAIRS(CASE_NM)
    default: __builtin_unreachable();
    }
}

/* The master units of the first panel that level t (of `depth`) computes: the 4 pairs of units
 * dealt out over the levels, the earlier levels taking the extra ones. */
INL void FN(spread_units)(int64_t t, int64_t depth, int *u0, int *units)
{
    const int64_t pairs = 4;
    const int64_t from = pairs * t / depth, to = pairs * (t + 1) / depth;
    *u0 = (int)(2 * from);
    *units = (int)(2 * (to - from));
}

/* ---- exported entry points ------------------------------------------------------------------ */

int32_t FN(fff_leaf_one)(const fff_plan *p, const fff_workspace *ws, const float *raw, int pre)
{
    FN(prep)(p, raw, pre, ws->x);
    switch (p->node_type) {
    case 1: return (int32_t)FN(descend)(1, p, ws->x);
    case 2: return (int32_t)FN(descend)(2, p, ws->x);
    case 3: return (int32_t)FN(descend)(3, p, ws->x);
    default: return (int32_t)FN(descend)(0, p, ws->x);
    }
}

int32_t FN(fff_predict_one)(const fff_plan *p, const fff_workspace *ws, const float *raw, int pre,
                            float *out)
{
    switch (p->node_type * 4 + p->weight_type) {
    TYPE_PAIRS(CASE_ONE)
    default: __builtin_unreachable();
    }
}

/* The master leaf for C records whose first panel's activations are in ws->hidden (row c at
 * c * hidden_stride): the units of its other panels, if any, then its output, into batch_m row
 * rows[c]. */
INL void FN(master_rest)(const fff_plan *p, const fff_workspace *ws, const float *const *xs, int C,
                         const int32_t *rows)
{
    const int64_t I = p->input_stride, O = p->output_stride, M = p->master_width;
    const int64_t hs = ws->hidden_stride;
    const int WT = p->weight_type;
    if (M > FFF_PANEL_ROWS)
        FN(hidden_t)(WT, FN(wat)(WT, p->master_w1, FFF_PANEL_ROWS * I),
                     p->master_w1_scale ? p->master_w1_scale + FFF_PANEL_ROWS : NULL,
                     p->master_b1 + FFF_PANEL_ROWS, M - FFF_PANEL_ROWS, I, p->activation, xs, C,
                     ws->hidden + FFF_PANEL_ROWS, hs);
    for (int c = 0; c < C; c++)
        FN(output_t)(WT, ws->hidden + c * hs, M, p->master_w2, p->master_w2_scale, p->master_b2, O,
                     ws->batch_m + (int64_t)rows[c] * O);
}

/* Records perm[i ..< j] of a chunk, sorted by leaf: with `master` (units spread over the levels,
 * their activations in batch_m), the master's output first (and the units of its other panels);
 * then the leaves, records grouped by leaf, TILE_CB per pass over the leaf's rows, and the mix. */
INL void FN(finish)(const fff_plan *p, const fff_workspace *ws, int i, int j, int master,
                    int64_t start, float *out, int32_t *leaves)
{
    const int64_t I = p->input_stride, O = p->output_stride, H = p->leaf_width;
    const int64_t owidth = p->output_width, hs = ws->hidden_stride;
    const int64_t nodes = ((int64_t)1 << p->depth) - 1;
    const int WT = p->weight_type;
    const int32_t *node = ws->node, *perm = ws->perm;
    const float *xs[4];
    if (master) {
        for (int g = i; g < j; g += TILE_CB) {
            const int C = (j - g) < TILE_CB ? (j - g) : TILE_CB;
            for (int c = 0; c < C; c++) {
                xs[c] = ws->batch_x + (int64_t)perm[g + c] * I;
                memcpy(ws->hidden + c * hs, ws->batch_m + (int64_t)perm[g + c] * O,
                       FFF_PANEL_ROWS * sizeof(float));
            }
            FN(master_rest)(p, ws, xs, C, perm + g);
        }
    }
    while (i < j) {
        const int32_t n = node[perm[i]];
        int e = i + 1;
        while (e < j && node[perm[e]] == n) e++;
        const int64_t leaf = n - nodes;
        if (p->prefetch_weights && e < j) {
            const int64_t next = node[perm[e]] - nodes;
            FN(prefetch_l2)(WT, p->leaf_w1, next * H * I, H * I);
            FN(prefetch_l2)(WT, p->leaf_w2, next * H * O, H * O);
        }
        const void *w1 = FN(wat)(WT, p->leaf_w1, leaf * H * I);
        const void *w2 = FN(wat)(WT, p->leaf_w2, leaf * H * O);
        const float *b1 = p->leaf_b1 + leaf * H, *b2 = p->leaf_b2 + leaf * O;
        const float *s1 = p->leaf_w1_scale ? p->leaf_w1_scale + leaf * H : NULL;
        const float *s2 = p->leaf_w2_scale ? p->leaf_w2_scale + leaf * O : NULL;
        for (int g = i; g < e; g += TILE_CB) {
            const int C = (e - g) < TILE_CB ? (e - g) : TILE_CB;
            for (int c = 0; c < C; c++) xs[c] = ws->batch_x + (int64_t)perm[g + c] * I;
            FN(hidden_t)(WT, w1, s1, b1, H, I, p->activation, xs, C, ws->hidden, hs);
            for (int c = 0; c < C; c++) {
                const int r = perm[g + c];
                FN(output_t)(WT, ws->hidden + c * hs, H, w2, s2, b2, O, ws->y);
                const float *m = p->master_width > 0 ? ws->batch_m + (int64_t)r * O : NULL;
                FN(mix)(p, ws->y, m, out + (start + r) * owidth);
                if (leaves) leaves[start + r] = (int32_t)leaf;
            }
        }
        i = e;
    }
}

/* The batched path for records of float32 (`bytes` 0) or of unsigned bytes (`bytes` 1). */
INL void FN(predict_batch_any)(const fff_plan *p, const fff_workspace *ws, const void *raw,
                               int bytes, int64_t count, int pre, float *out, int32_t *leaves)
{
    const int64_t I = p->input_stride, O = p->output_stride;
    const int64_t width = p->input_width;
    const int64_t hs = ws->hidden_stride;
    const int NT = p->node_type, WT = p->weight_type;
    int32_t *node = ws->node, *perm = ws->perm, *tmp = ws->tmp;
    const float *xs[4];

    for (int64_t start = 0; start < count; start += ws->batch_capacity) {
        const int64_t left = count - start;
        const int nb = (int)(left < ws->batch_capacity ? left : ws->batch_capacity);
        for (int r = 0; r < nb; r++) {
            const int64_t at = (start + r) * width * (bytes ? 1 : (int64_t)sizeof(float));
            FN(prep_any)(p, (const uint8_t *)raw + at, bytes, pre, ws->batch_x + r * I);
            node[r] = 0;
            perm[r] = r;
        }

        /* The root node and the master leaf together (see node_master), ROOT_CB records per
         * pass, when there are both and the master has a whole first panel; the master's other
         * units, if any, as below. Preprocessing inside this pass (each input block computed from
         * the raw record as it is first used) was measured slower: 650 against 600 cycles per
         * record for the two, in float32. */
        const int spread = SPREAD_MASTER && p->depth >= 2 && p->master_width >= FFF_PANEL_ROWS;
        const int fused = !spread && p->depth >= 1 && p->master_width >= FFF_PANEL_ROWS &&
                          ((FUSE_ROOT_TYPES >> WT) & 1);

        if (fused) {
            const float bias = p->node_b[0];
            const float scale = NT == FFF_ELEMENT_INT8_ROW ? p->node_scale[0] : 1.0f;
            for (int g = 0; g < nb; g += ROOT_CB) {
                const int C = (nb - g) < ROOT_CB ? (nb - g) : ROOT_CB;
                float dots[4], msums[4 * FFF_PANEL_ROWS];
                for (int c = 0; c < C; c++) xs[c] = ws->batch_x + (int64_t)(g + c) * I;
                FN(node_master_any)(NT, WT, C, FFF_PANEL_ROWS, p->node_w, p->master_w1, 0, xs, I, dots, msums);
                for (int c = 0; c < C; c++) {
                    float dot = dots[c];
                    if (NT == FFF_ELEMENT_INT8_ROW) dot = dot * scale;
                    const float score = dot + bias;
                    node[g + c] = (score >= 0.0f) ? 2 : 1;
                    float *h = ws->hidden + c * hs;
                    for (int r = 0; r < FFF_PANEL_ROWS; r++) {
                        float sum = msums[c * FFF_PANEL_ROWS + r];
                        if (WT == FFF_ELEMENT_INT8_ROW) sum = sum * p->master_w1_scale[r];
                        h[r] = fff_activation_apply(p->activation, sum + p->master_b1[r]);
                    }
                }
                const int32_t rows[4] = {g, g + 1, g + 2, g + 3};
                FN(master_rest)(p, ws, xs, C, rows);
            }
            int lo = 0, nt = 0;
            for (int g = 0; g < nb; g++) {
                if (node[perm[g]] == 1) perm[lo++] = perm[g];
                else tmp[nt++] = perm[g];
            }
            for (int g = 0; g < nt; g++) perm[lo + g] = tmp[g];
        }

        /* Descent, level by level. `perm` lists the records sorted by current node; each group
         * sharing a node is scored NODE_CB records per pass, then split stably into its left and
         * right children, which keeps `perm` sorted by node. */
        for (int64_t t = fused ? 1 : 0; t < p->depth; t++) {
            int i = 0;
            while (i < nb) {
                const int32_t n = node[perm[i]];
                int j = i + 1;
                while (j < nb && node[perm[j]] == n) j++;
                if (p->prefetch_weights && j < nb)
                    FN(prefetch_l2)(NT, p->node_w, (int64_t)node[perm[j]] * I, I);
                const void *w = FN(wat)(NT, p->node_w, (int64_t)n * I);
                const float bias = p->node_b[n];
                const float scale = NT == FFF_ELEMENT_INT8_ROW ? p->node_scale[n] : 1.0f;
                int u0 = 0, U = 0;
                if (spread) FN(spread_units)(t, p->depth, &u0, &U);
                const int CB = U == 0 ? NODE_CB : U <= 2 ? SPREAD_CB2 : SPREAD_CB4;
                for (int g = i; g < j; g += CB) {
                    const int C = (j - g) < CB ? (j - g) : CB;
                    float dots[4], msums[4 * FFF_PANEL_ROWS];
                    for (int c = 0; c < C; c++) xs[c] = ws->batch_x + (int64_t)perm[g + c] * I;
                    if (U > 0) FN(node_master_any)(NT, WT, C, U, w, p->master_w1, u0, xs, I, dots, msums);
                    else FN(node_dots_any)(NT, C, w, xs, I, dots);
                    for (int c = 0; c < C; c++) {
                        float dot = dots[c];
                        if (NT == FFF_ELEMENT_INT8_ROW) dot = dot * scale;
                        const float score = dot + bias;
                        node[perm[g + c]] = (score >= 0.0f) ? 2 * n + 2 : 2 * n + 1;
                        /* the units' activations wait in the record's row of batch_m
                         * (output_stride >= FFF_ALIGN_FLOATS > their indices) */
                        float *h = ws->batch_m + (int64_t)perm[g + c] * O;
                        for (int r = 0; r < U; r++) {
                            float sum = msums[c * FFF_PANEL_ROWS + r];
                            if (WT == FFF_ELEMENT_INT8_ROW) sum = sum * p->master_w1_scale[u0 + r];
                            h[u0 + r] = fff_activation_apply(p->activation, sum + p->master_b1[u0 + r]);
                        }
                    }
                }
                int lo = i;
                int nt = 0;
                for (int g = i; g < j; g++) {
                    if (node[perm[g]] == 2 * n + 1) perm[lo++] = perm[g];
                    else tmp[nt++] = perm[g];
                }
                for (int g = 0; g < nt; g++) perm[lo + g] = tmp[g];
                i = j;
            }
        }

        /* The master leaf, every record, TILE_CB records per pass (unless fused above). */
        if (p->master_width > 0 && !fused && !spread) {
            const int64_t M = p->master_width;
            for (int g = 0; g < nb; g += TILE_CB) {
                const int C = (nb - g) < TILE_CB ? (nb - g) : TILE_CB;
                for (int c = 0; c < C; c++) xs[c] = ws->batch_x + (int64_t)(g + c) * I;
                FN(hidden_t)(WT, p->master_w1, p->master_w1_scale, p->master_b1, M, I,
                             p->activation, xs, C, ws->hidden, hs);
                for (int c = 0; c < C; c++)
                    FN(output_t)(WT, ws->hidden + c * hs, M, p->master_w2, p->master_w2_scale,
                                 p->master_b2, O, ws->batch_m + (int64_t)(g + c) * O);
            }
        }

        FN(finish)(p, ws, 0, nb, spread, start, out, leaves);
    }
}

#undef vf
#undef vfu

void FN(fff_predict_batch)(const fff_plan *p, const fff_workspace *ws, const float *raw,
                           int64_t count, int pre, float *out, int32_t *leaves)
{
    FN(predict_batch_any)(p, ws, raw, 0, count, pre, out, leaves);
}

void FN(fff_predict_batch_u8)(const fff_plan *p, const fff_workspace *ws, const uint8_t *raw,
                              int64_t count, int pre, float *out, int32_t *leaves)
{
    FN(predict_batch_any)(p, ws, raw, 1, count, pre, out, leaves);
}
