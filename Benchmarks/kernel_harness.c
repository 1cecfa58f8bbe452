/*
 * A direct C harness for the inference kernels (no Swift), for quick A/B experiments on layouts
 * and loop structure, per kernel path and element type. Weights are random and not packed
 * (timing does not depend on the values).
 *
 *   S=../Sources/CFFFKernels
 *   clang -O2 -I$S/include -I$S kernel_harness.c $S/kernels*.c -lm -o /tmp/kernel_harness
 *   /tmp/kernel_harness I O DEPTH LEAF MASTER KERNEL [BATCH [TYPES ...]]
 *   /tmp/kernel_harness 784 10 4 8 8 2                  # float32, avx512
 *   /tmp/kernel_harness 784 10 4 8 8 2 64 all           # every type pair, interleaved
 *   /tmp/kernel_harness 784 10 4 8 8 1 64 f32 f16/f16   # avx2: these two pairs
 *
 * KERNEL: 0 portable, 1 avx2, 2 avx512. A type pair is WEIGHTS/NODES (or one name for both;
 * i8 alone means int8-row weights with float32 nodes) from f32, f16, bf16, i8; `all` is
 * f32 f16/f16 bf16/bf16 i8/f32 i8/i8. The pairs are timed in turn within each of 15 runs of
 * 20,000 records (1000 distinct, cycled), so that they see the same machine load; prints the
 * median and the best run of single calls, one batched call per 1000 and the descent alone
 * (fff_leaf_one), in µs per record, and each pair's ratio to the first one (median over median).
 * HARNESS_RECORDS=N cycles N distinct records instead of 1000 (N=1: one record, whose path and
 * input stay in L1, for the compute-bound cost). HARNESS_PREP=1 gives the model per-feature
 * preprocessing (x = raw * scale + offset) and passes raw records, as the Swift benchmarks do;
 * by default records are passed as preprocessed (a copy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "CFFFKernels.h"

static void *bytes(int64_t n)
{
    void *p;
    if (posix_memalign(&p, 64, (size_t)(n > 0 ? n : 1)) != 0) abort();
    return p;
}

static float uniform(float scale) { return ((float)rand() / (float)RAND_MAX * 2 - 1) * scale; }

static float *floats(int64_t n, float scale)
{
    float *p = bytes(n * 4);
    for (int64_t i = 0; i < n; i++) p[i] = uniform(scale);
    return p;
}

/* The float16 nearest to f (|f| < 65504), subnormals included, by integer rounding. */
static uint16_t half_of(float f)
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

/* n random weights of element type t (values of about `scale`). */
static const void *weights(int t, int64_t n, float scale)
{
    if (t == FFF_ELEMENT_FLOAT32) return floats(n, scale);
    if (t == FFF_ELEMENT_INT8_ROW) {
        int8_t *p = bytes(n);
        for (int64_t i = 0; i < n; i++) p[i] = (int8_t)(rand() % 255 - 127);
        return p;
    }
    uint16_t *p = bytes(n * 2);
    for (int64_t i = 0; i < n; i++) {
        float f = uniform(scale);
        uint32_t bits;
        memcpy(&bits, &f, 4);
        if (t == FFF_ELEMENT_BFLOAT16) {
            p[i] = (uint16_t)(bits >> 16);
        } else {
            p[i] = half_of(f);
        }
    }
    return p;
}

static const float *scales(int t, int64_t n)
{
    if (t != FFF_ELEMENT_INT8_ROW) return NULL;
    float *p = floats(n, 0);
    for (int64_t i = 0; i < n; i++) p[i] = 0.05f / 127;
    return p;
}

static int type_code(const char *name)
{
    if (strcmp(name, "f32") == 0) return FFF_ELEMENT_FLOAT32;
    if (strcmp(name, "f16") == 0) return FFF_ELEMENT_FLOAT16;
    if (strcmp(name, "bf16") == 0) return FFF_ELEMENT_BFLOAT16;
    if (strcmp(name, "i8") == 0) return FFF_ELEMENT_INT8_ROW;
    fprintf(stderr, "unknown type %s (f32, f16, bf16, i8)\n", name);
    exit(2);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int compare(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define RUNS 15
#define MAX_PAIRS 16

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s I O DEPTH LEAF MASTER KERNEL [BATCH [TYPES ...]]\n", argv[0]);
        return 2;
    }
    const int I = atoi(argv[1]), O = atoi(argv[2]), d = atoi(argv[3]), H = atoi(argv[4]);
    const int M = atoi(argv[5]), K = atoi(argv[6]), B = argc > 7 ? atoi(argv[7]) : 64;
    if (!fff_kernel_supported(K)) {
        fprintf(stderr, "kernel %d not supported\n", K);
        return 2;
    }
    const char *all[] = {"f32", "f16/f16", "bf16/bf16", "i8/f32", "i8/i8"};
    const char *names[MAX_PAIRS];
    int count = 0;
    for (int a = 8; a < argc && count < MAX_PAIRS; a++) {
        if (strcmp(argv[a], "all") == 0)
            for (int i = 0; i < 5; i++) names[count++] = all[i];
        else
            names[count++] = argv[a];
    }
    if (count == 0) names[count++] = "f32";

    const int64_t Ip = (I + 15) / 16 * 16, Op = (O + 15) / 16 * 16, L = (int64_t)1 << d, N = L - 1;
    fff_plan plans[MAX_PAIRS];
    for (int k = 0; k < count; k++) {
        char wname[16] = {0}, nname[16] = {0};
        const char *slash = strchr(names[k], '/');
        if (slash) {
            snprintf(wname, sizeof wname, "%.*s", (int)(slash - names[k]), names[k]);
            snprintf(nname, sizeof nname, "%s", slash + 1);
        } else {
            snprintf(wname, sizeof wname, "%s", names[k]);
            snprintf(nname, sizeof nname, "%s", strcmp(names[k], "i8") == 0 ? "f32" : names[k]);
        }
        const int wt = type_code(wname), nt = type_code(nname);
        if (wt == FFF_ELEMENT_FLOAT32 && nt != FFF_ELEMENT_FLOAT32) {
            fprintf(stderr, "%s: compact nodes need compact weights\n", names[k]);
            return 2;
        }
        srand(1);
        fff_plan *p = &plans[k];
        memset(p, 0, sizeof *p);
        p->input_width = I; p->input_stride = Ip; p->output_width = O; p->output_stride = Op;
        p->depth = d; p->leaf_width = H; p->master_width = M; p->activation = 1; p->kernel = K;
        p->node_type = nt; p->weight_type = wt;
        p->mix_leaf = 0.6f; p->mix_master = 0.4f;
        if (getenv("HARNESS_PREP") && atoi(getenv("HARNESS_PREP"))) {
            float *scale = floats(Ip, 0), *offset = floats(Ip, 0);
            for (int64_t i = 0; i < I; i++) { scale[i] = 2.0f / 255; offset[i] = -1; }
            p->scale = scale;
            p->offset = offset;
        }
        p->node_w = weights(nt, N * Ip, 0.05f); p->node_b = floats(N, 0.05f);
        p->node_scale = scales(nt, N);
        p->leaf_w1 = weights(wt, L * H * Ip, 0.05f); p->leaf_b1 = floats(L * H, 0.05f);
        p->leaf_w2 = weights(wt, L * H * Op, 0.05f); p->leaf_b2 = floats(L * Op, 0.05f);
        p->leaf_w1_scale = scales(wt, L * H); p->leaf_w2_scale = scales(wt, L * Op);
        if (M) {
            p->master_w1 = weights(wt, M * Ip, 0.05f); p->master_b1 = floats(M, 0.05f);
            p->master_w2 = weights(wt, M * Op, 0.05f); p->master_b2 = floats(Op, 0.05f);
            p->master_w1_scale = scales(wt, M); p->master_w2_scale = scales(wt, Op);
        }
    }
    const int64_t hs = ((H > M ? H : M) + 15) / 16 * 16;
    fff_workspace w;
    w.batch_capacity = B; w.hidden_stride = hs;
    w.x = floats(Ip, 0); w.hidden = floats(4 * hs, 0); w.y = floats(Op, 0); w.m = floats(Op, 0);
    w.batch_x = floats(B * Ip, 0); w.batch_m = floats(B * Op, 0);
    w.node = malloc(4 * (size_t)B); w.perm = malloc(4 * (size_t)B); w.tmp = malloc(4 * (size_t)B);

    const int R = getenv("HARNESS_RECORDS") ? atoi(getenv("HARNESS_RECORDS")) : 1000;
    const int pre = !(getenv("HARNESS_PREP") && atoi(getenv("HARNESS_PREP")));
    const int reps = R < 20000 ? 20000 / R : 1;
    srand(2);
    float *rec = floats((int64_t)R * I, 1.0f), *out = floats((int64_t)R * O, 0);
    if (!pre) /* raw pixel values 0 ... 255, which the preprocessing maps to [-1, 1] */
        for (int64_t i = 0; i < (int64_t)R * I; i++) rec[i] = (rec[i] + 1) * 127.5f;
    int32_t *leaves = malloc(4 * (size_t)R);
    static double times[MAX_PAIRS][3][RUNS];
    volatile int32_t sink = 0;
    for (int run = 0; run < RUNS; run++) {
        for (int k = 0; k < count; k++) {
            const fff_plan *p = &plans[k];
            const double t0 = now();
            for (int it = 0; it < reps; it++)
                for (int r = 0; r < R; r++) fff_predict_one(p, &w, rec + (int64_t)r * I, pre, out + (int64_t)r * O);
            const double t1 = now();
            for (int it = 0; it < reps; it++) fff_predict_batch(p, &w, rec, R, pre, out, leaves);
            const double t2 = now();
            for (int it = 0; it < reps; it++)
                for (int r = 0; r < R; r++) sink += fff_leaf_one(p, &w, rec + (int64_t)r * I, pre);
            const double t3 = now();
            const double t[3] = {t1 - t0, t2 - t1, t3 - t2};
            for (int i = 0; i < 3; i++) times[k][i][run] = t[i] / (reps * R) * 1e6;
        }
    }
    double median[MAX_PAIRS][3];
    for (int k = 0; k < count; k++) {
        for (int i = 0; i < 3; i++) qsort(times[k][i], RUNS, sizeof(double), compare);
        for (int i = 0; i < 3; i++) median[k][i] = times[k][i][RUNS / 2];
        printf("%-10s single %.3f (%.3f) us  batch %.3f (%.3f) us  descent only %.3f (%.3f) us",
               names[k], median[k][0], times[k][0][0], median[k][1], times[k][1][0], median[k][2],
               times[k][2][0]);
        if (k > 0)
            printf("  vs %s: %.2fx / %.2fx / %.2fx", names[0], median[0][0] / median[k][0],
                   median[0][1] / median[k][1], median[0][2] / median[k][2]);
        printf("\n");
    }
    return 0;
}
