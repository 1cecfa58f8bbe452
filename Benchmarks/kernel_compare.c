/*
 * Old kernels against new ones, in one process: the kernels of another revision are compiled
 * with their exported names suffixed `_old` (scripts/kernel_compare.sh does it) and linked next
 * to the current ones.
 *
 *   kernel_compare check [MODELS]     random models (shapes, activations, preprocessing none,
 *                                     scalar or per input, every type pair, every supported
 *                                     path): the outputs and leaves of old and new, one at a
 *                                     time and batched (random chunk sizes), must be bitwise
 *                                     identical; exits 1 otherwise
 *   kernel_compare time I O D H M KERNEL TYPES...
 *                                     old and new interleaved in each of 15 rounds; prints the
 *                                     medians and the median of the per-round ratios old / new
 *
 * Both take the packed layout of the current revision for the new kernels and of the old one for
 * the old kernels; they are the same unless `layout_for_old` below converts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness_model.h"

#define DECLARE_OLD(s)                                                                            \
    int32_t fff_predict_one_##s##_old(const fff_plan *, const fff_workspace *, const float *, int, \
                                      float *);                                                   \
    int32_t fff_leaf_one_##s##_old(const fff_plan *, const fff_workspace *, const float *, int);   \
    void fff_predict_batch_##s##_old(const fff_plan *, const fff_workspace *, const float *,       \
                                     int64_t, int, float *, int32_t *);
DECLARE_OLD(portable)
#if defined(__x86_64__)
DECLARE_OLD(avx2)
DECLARE_OLD(avx512)
#endif

static int32_t old_one(const fff_plan *p, const fff_workspace *w, const float *raw, int pre, float *out)
{
    switch (p->kernel) {
#if defined(__x86_64__)
    case 2: return fff_predict_one_avx512_old(p, w, raw, pre, out);
    case 1: return fff_predict_one_avx2_old(p, w, raw, pre, out);
#endif
    default: return fff_predict_one_portable_old(p, w, raw, pre, out);
    }
}

static void old_batch(const fff_plan *p, const fff_workspace *w, const float *raw, int64_t n, int pre,
                      float *out, int32_t *leaves)
{
    switch (p->kernel) {
#if defined(__x86_64__)
    case 2: fff_predict_batch_avx512_old(p, w, raw, n, pre, out, leaves); return;
    case 1: fff_predict_batch_avx2_old(p, w, raw, n, pre, out, leaves); return;
#endif
    default: fff_predict_batch_portable_old(p, w, raw, n, pre, out, leaves); return;
    }
}

static const int pairs[][2] = {{0, 0}, {1, 0}, {1, 1}, {1, 2}, {1, 3}, {2, 0}, {2, 1}, {2, 2}, {2, 3},
                               {3, 0}, {3, 1}, {3, 2}, {3, 3}}; /* {weights, nodes} */

static int check(int models)
{
    int failures = 0, compared = 0;
    for (int m = 0; m < models; m++) {
        hm_seed(1000 + (uint64_t)m);
        const int I = 1 + (int)(hm_next() % (m % 4 == 0 ? 900 : 200));
        const int O = 1 + (int)(hm_next() % (m % 8 == 0 ? 300 : 40));
        const int d = (int)(hm_next() % 6);
        const int H = 1 + (int)(hm_next() % 20);
        const int M = (hm_next() % 3 == 0) ? 0 : 1 + (int)(hm_next() % 20);
        const int act = (int)(hm_next() % 7), prep = (int)(hm_next() % 3);
        const int count = 1 + (int)(hm_next() % 150), B = 1 + (int)(hm_next() % 130);
        const int pair = (int)(hm_next() % (sizeof pairs / sizeof pairs[0]));
        const int wt = pairs[pair][0], nt = pairs[pair][1];
        const uint64_t seed = hm_next();
        for (int K = 0; K <= 2; K++) {
            if (!fff_kernel_supported(K)) continue;
            fff_plan p;
            hm_plan(&p, I, O, d, H, M, K, wt, nt, act, prep, seed);
            p.prefetch_weights = m % 2; /* too small for the rule: forced, to cover the path */
            const int64_t Ip = hm_stride(I), Op = hm_stride(O);
            fff_workspace w;
            hm_workspace(&w, Ip, Op, H, M, B);
            float *rec = hm_records(count, I, prep, seed + 1);
            const size_t obytes = (size_t)count * O * 4;
            float *o1 = hm_bytes((int64_t)obytes), *o2 = hm_bytes((int64_t)obytes);
            float *o3 = hm_bytes((int64_t)obytes), *o4 = hm_bytes((int64_t)obytes);
            int32_t *l1 = hm_bytes(count * 4), *l2 = hm_bytes(count * 4), *l3 = hm_bytes(count * 4);
            int32_t *l4 = hm_bytes(count * 4);
            /* records passed as already preprocessed (the model's preprocessing skipped) in one
             * model of three */
            const int pre = m % 3 == 1;
            for (int r = 0; r < count; r++) {
                l1[r] = fff_predict_one(&p, &w, rec + (int64_t)r * I, pre, o1 + (int64_t)r * O);
                l3[r] = old_one(&p, &w, rec + (int64_t)r * I, pre, o3 + (int64_t)r * O);
            }
            fff_predict_batch(&p, &w, rec, count, pre, o2, l2);
            old_batch(&p, &w, rec, count, pre, o4, l4);
            const int bad = memcmp(o1, o3, obytes) || memcmp(o2, o4, obytes) || memcmp(o1, o2, obytes)
                || memcmp(l1, l2, (size_t)count * 4) || memcmp(l1, l3, (size_t)count * 4)
                || memcmp(l1, l4, (size_t)count * 4);
            compared++;
            if (bad) {
                failures++;
                int which = memcmp(o1, o3, obytes) ? 1 : memcmp(o2, o4, obytes) ? 2 : 3;
                printf("DIFFERENT (%s): model %d path %d I=%d O=%d d=%d H=%d M=%d act=%d prep=%d types w%d/n%d count=%d B=%d\n",
                       which == 1 ? "single old/new" : which == 2 ? "batch old/new" : "single/batch or leaves",
                       m, K, I, O, d, H, M, act, prep, wt, nt, count, B);
            }
            free(rec); free(o1); free(o2); free(o3); free(o4); free(l1); free(l2); free(l3); free(l4);
            hm_free_workspace(&w);
            hm_free_plan(&p);
        }
    }
    printf("%d model/path combinations compared, %d different\n", compared, failures);
    return failures ? 1 : 0;
}

#define RUNS 15

static int timing(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: kernel_compare time I O D H M KERNEL [TYPES...]\n");
        return 2;
    }
    const int I = atoi(argv[2]), O = atoi(argv[3]), d = atoi(argv[4]), H = atoi(argv[5]);
    const int M = atoi(argv[6]), K = atoi(argv[7]);
    const int B = getenv("BATCH") ? atoi(getenv("BATCH")) : 64;
    const int R = 1000;
    for (int a = 8; a < argc || a == 8; a++) {
        const char *name = a < argc ? argv[a] : "f32";
        int wt, nt;
        hm_type_pair(name, &wt, &nt);
        fff_plan p;
        hm_plan(&p, I, O, d, H, M, K, wt, nt, 1, 1, 7);
        fff_workspace w;
        hm_workspace(&w, hm_stride(I), hm_stride(O), H, M, B);
        float *rec = hm_records(R, I, 1, 11), *out = hm_bytes((int64_t)R * O * 4);
        int32_t *leaves = hm_bytes(R * 4);
        const int reps = (I >= 768 && O >= 768) ? 5 : 20;
        double t[4][RUNS], ratio[2][RUNS];
        for (int run = 0; run < RUNS; run++) {
            double t0 = hm_now();
            for (int it = 0; it < reps; it++)
                for (int r = 0; r < R; r++) old_one(&p, &w, rec + (int64_t)r * I, 0, out + (int64_t)r * O);
            double t1 = hm_now();
            for (int it = 0; it < reps; it++)
                for (int r = 0; r < R; r++) fff_predict_one(&p, &w, rec + (int64_t)r * I, 0, out + (int64_t)r * O);
            double t2 = hm_now();
            for (int it = 0; it < reps; it++) old_batch(&p, &w, rec, R, 0, out, leaves);
            double t3 = hm_now();
            for (int it = 0; it < reps; it++) fff_predict_batch(&p, &w, rec, R, 0, out, leaves);
            double t4 = hm_now();
            const double n = (double)reps * R / 1e6;
            t[0][run] = (t1 - t0) / n; t[1][run] = (t2 - t1) / n; t[2][run] = (t3 - t2) / n; t[3][run] = (t4 - t3) / n;
            ratio[0][run] = t[0][run] / t[1][run];
            ratio[1][run] = t[2][run] / t[3][run];
        }
        for (int i = 0; i < 4; i++) qsort(t[i], RUNS, sizeof(double), hm_compare_doubles);
        for (int i = 0; i < 2; i++) qsort(ratio[i], RUNS, sizeof(double), hm_compare_doubles);
        printf("%-9s single old %.3f (%.3f) new %.3f (%.3f) us: %.3fx | batch old %.3f (%.3f) new %.3f (%.3f) us: %.3fx\n",
               name, t[0][RUNS / 2], t[0][0], t[1][RUNS / 2], t[1][0], ratio[0][RUNS / 2], t[2][RUNS / 2], t[2][0],
               t[3][RUNS / 2], t[3][0], ratio[1][RUNS / 2]);
        hm_free_plan(&p);
        hm_free_workspace(&w);
        free(rec); free(out); free(leaves);
        if (a >= argc) break;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0) return check(argc > 2 ? atoi(argv[2]) : 200);
    if (argc >= 2 && strcmp(argv[1], "time") == 0) return timing(argc, argv);
    fprintf(stderr, "usage: kernel_compare check [MODELS] | time I O D H M KERNEL [TYPES...]\n");
    return 2;
}
