/*
 * Random models and workspaces for the C harnesses (kernel_harness.c, roofline.c,
 * kernel_compare.c, batch_profile.c): weights of every element type in the kernels' packed layout (values
 * random, so the layout only matters for where bytes are, not for what they mean), plans and
 * workspaces. Private to Benchmarks/.
 */
#ifndef FFF_HARNESS_MODEL_H
#define FFF_HARNESS_MODEL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "CFFFKernels.h"

/* Each harness uses some of these helpers; the others are not warnings. */
#pragma clang diagnostic ignored "-Wunused-function"

static void *hm_bytes(int64_t n)
{
    void *p;
    if (posix_memalign(&p, 64, (size_t)(n > 0 ? n : 1)) != 0) abort();
    memset(p, 0, (size_t)(n > 0 ? n : 1));
    return p;
}

static uint64_t hm_state = 1;
static void hm_seed(uint64_t s) { hm_state = s * 0x9E3779B97F4A7C15ull + 1; }
static uint64_t hm_next(void)
{ /* splitmix64 */
    uint64_t z = (hm_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float hm_uniform(float scale) { return ((float)(hm_next() >> 40) / 16777216.0f * 2 - 1) * scale; }

static float *hm_floats(int64_t n, float scale)
{
    float *p = hm_bytes(n * 4);
    for (int64_t i = 0; i < n; i++) p[i] = hm_uniform(scale);
    return p;
}

/* The float16 nearest to f (|f| < 65504), subnormals included, by integer rounding. */
static uint16_t hm_half_of(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    const uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    const float a = f < 0 ? -f : f;
    if (a < 0x1p-14f) { /* subnormal or zero: a / 2^-24, rounded to nearest */
        const uint32_t m = (uint32_t)(a * 0x1p24f + 0.5f);
        return (uint16_t)(sign | m);
    }
    const uint32_t e = (bits >> 23) & 0xFF, mant = bits & 0x7FFFFF;
    uint32_t h = ((e - 112) << 10) | (mant >> 13);
    if ((mant & 0x1FFF) > 0x1000 || ((mant & 0x1FFF) == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

/* n random weights of element type t (values of about `scale`), the padding of rows included
 * (the kernels multiply it by zero inputs, or it feeds padded outputs that nobody reads); one in
 * 64 is tiny (a float16 subnormal), so that the special values are exercised. */
static const void *hm_weights(int t, int64_t n, float scale)
{
    if (t == FFF_ELEMENT_FLOAT32) return hm_floats(n, scale);
    if (t == FFF_ELEMENT_INT8_ROW) {
        int8_t *p = hm_bytes(n);
        for (int64_t i = 0; i < n; i++) p[i] = (int8_t)((int)(hm_next() % 255) - 127);
        return p;
    }
    uint16_t *p = hm_bytes(n * 2);
    for (int64_t i = 0; i < n; i++) {
        float f = hm_uniform(scale);
        if (hm_next() % 64 == 0) f *= 0x1p-12f; /* float16 subnormals, tiny bfloat16 */
        uint32_t bits;
        memcpy(&bits, &f, 4);
        p[i] = t == FFF_ELEMENT_BFLOAT16 ? (uint16_t)(bits >> 16) : hm_half_of(f);
    }
    return p;
}

static const float *hm_scales(int t, int64_t n)
{
    if (t != FFF_ELEMENT_INT8_ROW) return NULL;
    float *p = hm_bytes(n * 4);
    for (int64_t i = 0; i < n; i++) p[i] = (0.5f + 0.5f * hm_uniform(1)) * 0.05f / 127;
    return p;
}

static int hm_type_code(const char *name)
{
    if (strcmp(name, "f32") == 0) return FFF_ELEMENT_FLOAT32;
    if (strcmp(name, "f16") == 0) return FFF_ELEMENT_FLOAT16;
    if (strcmp(name, "bf16") == 0) return FFF_ELEMENT_BFLOAT16;
    if (strcmp(name, "i8") == 0) return FFF_ELEMENT_INT8_ROW;
    fprintf(stderr, "unknown type %s (f32, f16, bf16, i8)\n", name);
    exit(2);
}

/* "WEIGHTS/NODES" or one name (i8 alone: int8-row weights, float32 nodes). */
static void hm_type_pair(const char *name, int *wt, int *nt)
{
    char wname[16] = {0}, nname[16] = {0};
    const char *slash = strchr(name, '/');
    if (slash) {
        snprintf(wname, sizeof wname, "%.*s", (int)(slash - name), name);
        snprintf(nname, sizeof nname, "%s", slash + 1);
    } else {
        snprintf(wname, sizeof wname, "%s", name);
        snprintf(nname, sizeof nname, "%s", strcmp(name, "i8") == 0 ? "f32" : name);
    }
    *wt = hm_type_code(wname);
    *nt = hm_type_code(nname);
}

static int64_t hm_stride(int64_t n) { return (n + FFF_ALIGN_FLOATS - 1) / FFF_ALIGN_FLOATS * FFF_ALIGN_FLOATS; }

/* A random plan (activation `act`). Preprocessing: `prep` 0 none, 1 one scale and offset for
 * every input (the paper's MNIST models: p / 255 * 2 - 1; flagged prep_uniform), 2 a scale and
 * an offset per input (near those, each different). */
static void hm_plan(fff_plan *p, int I, int O, int d, int H, int M, int K, int wt, int nt, int act,
                    int prep, uint64_t seed)
{
    hm_seed(seed);
    const int64_t Ip = hm_stride(I), Op = hm_stride(O), L = (int64_t)1 << d, N = L - 1;
    memset(p, 0, sizeof *p);
    p->input_width = I; p->input_stride = Ip; p->output_width = O; p->output_stride = Op;
    p->depth = d; p->leaf_width = H; p->master_width = M; p->activation = act; p->kernel = K;
    p->node_type = nt; p->weight_type = wt;
    fff_mixing_weights(0.4f, &p->mix_leaf, &p->mix_master);
    if (M == 0) { p->mix_leaf = 1; p->mix_master = 0; }
    if (prep) {
        float *scale = hm_bytes(Ip * 4), *offset = hm_bytes(Ip * 4);
        for (int64_t i = 0; i < I; i++) {
            scale[i] = 2.0f / 255;
            offset[i] = -1;
            if (prep == 2) {
                scale[i] *= 1 + hm_uniform(0.25f);
                offset[i] += hm_uniform(0.25f);
            }
        }
        p->scale = scale;
        p->offset = offset;
        p->prep_uniform = prep == 1;
    }
    p->node_w = hm_weights(nt, N * Ip, 0.05f); p->node_b = hm_floats(N, 0.05f);
    p->node_scale = hm_scales(nt, N);
    p->leaf_w1 = hm_weights(wt, L * H * Ip, 0.05f); p->leaf_b1 = hm_floats(L * H, 0.05f);
    p->leaf_w2 = hm_weights(wt, L * H * Op, 0.05f); p->leaf_b2 = hm_floats(L * Op, 0.05f);
    p->leaf_w1_scale = hm_scales(wt, L * H); p->leaf_w2_scale = hm_scales(wt, L * Op);
    if (M) {
        p->master_w1 = hm_weights(wt, M * Ip, 0.05f); p->master_b1 = hm_floats(M, 0.05f);
        p->master_w2 = hm_weights(wt, M * Op, 0.05f); p->master_b2 = hm_floats(Op, 0.05f);
        p->master_w1_scale = hm_scales(wt, M); p->master_w2_scale = hm_scales(wt, Op);
    }
    p->prefetch_weights = fff_plan_prefetch_rule(p); /* as InferenceModel sets it */
}

static void hm_free_plan(fff_plan *p)
{
    free((void *)p->scale); free((void *)p->offset);
    free((void *)p->node_w); free((void *)p->node_b); free((void *)p->node_scale);
    free((void *)p->leaf_w1); free((void *)p->leaf_b1); free((void *)p->leaf_w2); free((void *)p->leaf_b2);
    free((void *)p->leaf_w1_scale); free((void *)p->leaf_w2_scale);
    free((void *)p->master_w1); free((void *)p->master_b1); free((void *)p->master_w2);
    free((void *)p->master_b2); free((void *)p->master_w1_scale); free((void *)p->master_w2_scale);
}

static void hm_workspace(fff_workspace *w, int64_t Ip, int64_t Op, int H, int M, int B)
{
    const int64_t hs = hm_stride(H > M ? H : M);
    w->batch_capacity = B; w->hidden_stride = hs;
    w->x = hm_bytes(Ip * 4); w->hidden = hm_bytes(4 * hs * 4); w->y = hm_bytes(Op * 4);
    w->m = hm_bytes(Op * 4);
    w->batch_x = hm_bytes(B * Ip * 4); w->batch_m = hm_bytes(B * Op * 4);
    w->node = hm_bytes(4 * (int64_t)B); w->perm = hm_bytes(4 * (int64_t)B); w->tmp = hm_bytes(4 * (int64_t)B);
}

static void hm_free_workspace(fff_workspace *w)
{
    free(w->x); free(w->hidden); free(w->y); free(w->m); free(w->batch_x); free(w->batch_m);
    free(w->node); free(w->perm); free(w->tmp);
}

/* Records: raw pixel values 0 ... 255 with preprocessing (which maps them to [-1, 1], so that
 * records spread over the leaves as the Swift benchmarks' do), else values in [-1, 1]. */
static float *hm_records(int64_t count, int I, int prep, uint64_t seed)
{
    hm_seed(seed);
    float *r = hm_floats(count * I, 1.0f);
    if (prep)
        for (int64_t i = 0; i < count * I; i++) r[i] = (r[i] + 1) * 127.5f;
    return r;
}

static double hm_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int hm_compare_doubles(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
