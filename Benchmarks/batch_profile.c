/*
 * One batched shape, timed alone, for `perf record` and for chunk-size experiments: 784 -> 10,
 * depth 4, leaf 8, master 8, float32, the best kernel path, 1000 records with preprocessing
 * (3 MB: read from L3), as roofline.c's main row.
 *
 *   S=Sources/CFFFKernels
 *   clang -O2 -g -I$S/include -I$S -IBenchmarks Benchmarks/batch_profile.c $S/kernels*.c -lm -o /tmp/batch_profile
 *   /tmp/batch_profile [ROUNDS [RECORDS [CHUNK [single]]]]     # defaults 20, 1000, 64
 *   perf record -e cpu-clock /tmp/batch_profile 15 && perf report --sort sym
 *
 * Each round calls fff_predict_batch (with `single`: fff_predict_one per record) until 100,000
 * records are done; prints the best round in µs per record.
 */
#include <stdio.h>
#include <stdlib.h>

#include "harness_model.h"

int main(int argc, char **argv)
{
    const int rounds = argc > 1 ? atoi(argv[1]) : 20;
    const int records = argc > 2 ? atoi(argv[2]) : 1000;
    const int chunk = argc > 3 ? atoi(argv[3]) : 64;
    const int single = argc > 4 && argv[4][0] == 's';
    if (rounds < 1 || records < 1 || records > 100000 || chunk < 1) {
        fprintf(stderr, "usage: batch_profile [ROUNDS >= 1 [RECORDS 1...100000 [CHUNK >= 1 [single]]]]\n");
        return 2;
    }
    fff_plan plan;
    fff_workspace ws;
    hm_plan(&plan, 784, 10, 4, 8, 8, fff_kernel_best(), 0, 0, 1, 1, 7);
    hm_workspace(&ws, hm_stride(784), hm_stride(10), 8, 8, chunk);
    float *rec = hm_records(records, 784, 1, 11);
    float *out = hm_bytes((int64_t)records * 10 * 4);
    int32_t *leaves = hm_bytes((int64_t)records * 4);
    const int calls = 100000 / records;
    double best = 1e9;
    for (int r = 0; r < rounds; r++) {
        const double t0 = hm_now();
        if (single)
            for (int i = 0; i < calls; i++)
                for (int j = 0; j < records; j++)
                    fff_predict_one(&plan, &ws, rec + (int64_t)j * 784, 0, out + (int64_t)j * 10);
        else
            for (int i = 0; i < calls; i++) fff_predict_batch(&plan, &ws, rec, records, 0, out, leaves);
        const double t = (hm_now() - t0) / ((double)calls * records);
        if (t < best) best = t;
    }
    printf("%s %.3f us per record (784-10 d4 l8 m8 float32, kernel %d, %d records, chunks of %d)\n",
           single ? "single" : "batch", best * 1e6, plan.kernel, records, chunk);
    hm_free_plan(&plan);
    hm_free_workspace(&ws);
    free(rec); free(out); free(leaves);
    return 0;
}
