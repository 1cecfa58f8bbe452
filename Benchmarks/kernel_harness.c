/*
 * A direct C harness for the inference kernels (no Swift), for quick A/B experiments on layouts
 * and loop structure. Weights are random and not packed (timing does not depend on the values).
 *
 *   S=../Sources/CFFFKernels
 *   clang -O2 -I$S/include -I$S kernel_harness.c $S/kernels*.c -lm -o /tmp/kernel_harness
 *   /tmp/kernel_harness I O DEPTH LEAF MASTER KERNEL [BATCH]   # KERNEL: 0 portable, 1 avx2, 2 avx512
 *   /tmp/kernel_harness 784 10 4 8 8 2
 *
 * Prints the best of 15 runs of 20,000 records (1000 distinct, cycled): single calls, one batched
 * call per 1000, and the descent alone (fff_leaf_one), in µs per record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "CFFFKernels.h"

static float *floats(int64_t n, float scale)
{
    float *p;
    if (posix_memalign((void **)&p, 64, (size_t)(n > 0 ? n : 1) * 4) != 0) abort();
    for (int64_t i = 0; i < n; i++) p[i] = ((float)rand() / (float)RAND_MAX * 2 - 1) * scale;
    return p;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s I O DEPTH LEAF MASTER KERNEL [BATCH]\n", argv[0]);
        return 2;
    }
    const int I = atoi(argv[1]), O = atoi(argv[2]), d = atoi(argv[3]), H = atoi(argv[4]);
    const int M = atoi(argv[5]), K = atoi(argv[6]), B = argc > 7 ? atoi(argv[7]) : 64;
    if (!fff_kernel_supported(K)) {
        fprintf(stderr, "kernel %d not supported\n", K);
        return 2;
    }
    const int64_t Ip = (I + 15) / 16 * 16, Op = (O + 15) / 16 * 16, L = (int64_t)1 << d, N = L - 1;
    fff_plan p;
    memset(&p, 0, sizeof p);
    p.input_width = I; p.input_stride = Ip; p.output_width = O; p.output_stride = Op;
    p.depth = d; p.leaf_width = H; p.master_width = M; p.activation = 1; p.kernel = K;
    p.mix_leaf = 0.6f; p.mix_master = 0.4f;
    p.node_w = floats(N * Ip, 0.05f); p.node_b = floats(N, 0.05f);
    p.leaf_w1 = floats(L * H * Ip, 0.05f); p.leaf_b1 = floats(L * H, 0.05f);
    p.leaf_w2 = floats(L * H * Op, 0.05f); p.leaf_b2 = floats(L * Op, 0.05f);
    if (M) {
        p.master_w1 = floats(M * Ip, 0.05f); p.master_b1 = floats(M, 0.05f);
        p.master_w2 = floats(M * Op, 0.05f); p.master_b2 = floats(Op, 0.05f);
    }
    const int64_t hs = ((H > M ? H : M) + 15) / 16 * 16;
    fff_workspace w;
    w.batch_capacity = B; w.hidden_stride = hs;
    w.x = floats(Ip, 0); w.hidden = floats(4 * hs, 0); w.y = floats(Op, 0); w.m = floats(Op, 0);
    w.batch_x = floats(B * Ip, 0); w.batch_m = floats(B * Op, 0);
    w.node = malloc(4 * (size_t)B); w.perm = malloc(4 * (size_t)B); w.tmp = malloc(4 * (size_t)B);

    const int R = 1000, reps = 20;
    float *rec = floats((int64_t)R * I, 1.0f), *out = floats((int64_t)R * O, 0);
    int32_t *leaves = malloc(4 * (size_t)R);
    double best[3] = {1e9, 1e9, 1e9};
    volatile int32_t sink = 0;
    for (int run = 0; run < 15; run++) {
        const double t0 = now();
        for (int it = 0; it < reps; it++)
            for (int r = 0; r < R; r++) fff_predict_one(&p, &w, rec + (int64_t)r * I, 1, out + (int64_t)r * O);
        const double t1 = now();
        for (int it = 0; it < reps; it++) fff_predict_batch(&p, &w, rec, R, 1, out, leaves);
        const double t2 = now();
        for (int it = 0; it < reps; it++)
            for (int r = 0; r < R; r++) sink += fff_leaf_one(&p, &w, rec + (int64_t)r * I, 1);
        const double t3 = now();
        const double t[3] = {t1 - t0, t2 - t1, t3 - t2};
        for (int i = 0; i < 3; i++)
            if (t[i] / (reps * R) * 1e6 < best[i]) best[i] = t[i] / (reps * R) * 1e6;
    }
    printf("single %.3f us  batch %.3f us  descent only %.3f us\n", best[0], best[1], best[2]);
    return 0;
}
