/* Run-time dispatch between the kernel paths, CPU detection and FFF_KERNEL. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "activation.h"
#include "include/CFFFKernels.h"

#define DECLARE_PATH(s)                                                                          \
    int32_t fff_predict_one_##s(const fff_plan *, const fff_workspace *, const float *, int,    \
                                float *);                                                        \
    int32_t fff_leaf_one_##s(const fff_plan *, const fff_workspace *, const float *, int);     \
    void fff_predict_batch_##s(const fff_plan *, const fff_workspace *, const float *, int64_t, \
                               int, float *, int32_t *);

DECLARE_PATH(portable)
#if defined(__x86_64__)
DECLARE_PATH(avx2)
DECLARE_PATH(avx512)
#endif

int fff_kernel_supported(int kernel)
{
    switch (kernel) {
    case FFF_KERNEL_PORTABLE:
        return 1;
#if defined(__x86_64__)
    case FFF_KERNEL_AVX2:
        __builtin_cpu_init();
        /* F16C widens float16 weights (VCVTPH2PS); every AVX2 CPU but a few early VIA ones
         * has it, but it is a separate CPUID bit. */
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
            && __builtin_cpu_supports("f16c");
    case FFF_KERNEL_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2")
            && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#endif
    default:
        return 0;
    }
}

int fff_kernel_lanes(int kernel)
{
    switch (kernel) {
    case FFF_KERNEL_AVX512: return 16;
    case FFF_KERNEL_AVX2: return 8;
    default: return 4;
    }
}

#if defined(__x86_64__)
#include <time.h>

#include <immintrin.h>

/* Multiply-add throughput probes: 12 (AVX2) or 24 (AVX-512) independent FMA chains, enough to
 * fill two pipelined FMA units. (Intrinsics: with vector extensions clang spilled the AVX-512
 * chains to the stack.) */
__attribute__((target("avx2,fma"), noinline)) static float fff_probe_avx2(int64_t iters, float mf, float cf)
{
    __m256 a[12];
    for (int j = 0; j < 12; j++) a[j] = _mm256_set1_ps((float)j);
    const __m256 m = _mm256_set1_ps(mf), c = _mm256_set1_ps(cf);
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < 12; j++) a[j] = _mm256_fmadd_ps(a[j], m, c);
    __m256 s = a[0];
    for (int j = 1; j < 12; j++) s = _mm256_add_ps(s, a[j]);
    return _mm256_cvtss_f32(s);
}

__attribute__((target("avx512f,fma"), noinline)) static float fff_probe_avx512(int64_t iters, float mf, float cf)
{
    __m512 a[24];
    for (int j = 0; j < 24; j++) a[j] = _mm512_set1_ps((float)j);
    const __m512 m = _mm512_set1_ps(mf), c = _mm512_set1_ps(cf);
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < 24; j++) a[j] = _mm512_fmadd_ps(a[j], m, c);
    __m512 s = a[0];
    for (int j = 1; j < 24; j++) s = _mm512_add_ps(s, a[j]);
    return _mm512_reduce_add_ps(s);
}

static double fff_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Whether 512-bit multiply-adds run at least 1.25 times as many lanes per second as 256-bit
 * ones on this core: true where the core has two 512-bit FMA pipes (measured 1.9x on an Intel
 * Xeon, family 6 model 207, by Benchmarks/roofline.c), false where AVX-512 runs at the AVX2
 * rate (one 512-bit FMA unit, or 512-bit operations split in two halves). After about 0.2 ms
 * of AVX-512 work (Intel cores run their first 512-bit instructions at a reduced rate for some
 * tens of µs), the best of 7 interleaved probes of the same lane count (about 2 to 4 µs each),
 * so that a preempted probe does not decide. */
static int fff_avx512_doubles_fma_rate(void)
{
    volatile float m = 0.999999f, c = 1e-7f, sink = 0;
    double best2 = 1e9, best512 = 1e9;
    sink += fff_probe_avx2(2000, m, c);
    const double start = fff_seconds();
    while (fff_seconds() - start < 2e-4) sink += fff_probe_avx512(500, m, c);
    for (int run = 0; run < 7; run++) {
        const double t0 = fff_seconds();
        sink += fff_probe_avx2(2000, m, c); /* 12 * 8 * 2000 lanes */
        const double t1 = fff_seconds();
        sink += fff_probe_avx512(500, m, c); /* 24 * 16 * 500 lanes: the same count */
        const double t2 = fff_seconds();
        if (t1 - t0 < best2) best2 = t1 - t0;
        if (t2 - t1 < best512) best512 = t2 - t1;
    }
    (void)sink;
    if (getenv("FFF_KERNEL_DEBUG"))
        fprintf(stderr, "fff_kernel_best: multiply-add lanes per ns avx2 %.1f, avx512 %.1f\n",
                96.0 * 2000 / (best2 * 1e9), 384.0 * 500 / (best512 * 1e9));
    return best512 * 1.25 <= best2;
}
#endif

/* The rule (BENCHMARKS.md, "Kernel path selection"): AVX-512 where it doubles the multiply-add
 * rate of AVX2 (there the avx512 kernels measured 1.2x to 1.4x faster than avx2 one record at
 * a time and batched, on Intel and AMD alike), else AVX2 (same multiply-add rate with half the
 * lanes per instruction: the avx512 path has no arithmetic advantage left and may lower the
 * clock), else portable. Decided once per process. */
int fff_kernel_best(void)
{
    static int chosen = -1;
    int k = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (k >= 0) return k;
    k = FFF_KERNEL_PORTABLE;
#if defined(__x86_64__)
    if (fff_kernel_supported(FFF_KERNEL_AVX512) && fff_avx512_doubles_fma_rate()) k = FFF_KERNEL_AVX512;
    else if (fff_kernel_supported(FFF_KERNEL_AVX2)) k = FFF_KERNEL_AVX2;
#endif
    __atomic_store_n(&chosen, k, __ATOMIC_RELEASE);
    return k;
}

int fff_kernel_from_environment(void)
{
    const char *value = getenv("FFF_KERNEL");
    if (value == NULL || value[0] == '\0') return -1;
    if (strcmp(value, "portable") == 0) return FFF_KERNEL_PORTABLE;
    if (strcmp(value, "avx2") == 0) return FFF_KERNEL_AVX2;
    if (strcmp(value, "avx512") == 0) return FFF_KERNEL_AVX512;
    return -2;
}

int32_t fff_predict_one(const fff_plan *plan, const fff_workspace *ws, const float *raw,
                        int preprocessed, float *out)
{
    switch (plan->kernel) {
#if defined(__x86_64__)
    case FFF_KERNEL_AVX512: return fff_predict_one_avx512(plan, ws, raw, preprocessed, out);
    case FFF_KERNEL_AVX2: return fff_predict_one_avx2(plan, ws, raw, preprocessed, out);
#endif
    default: return fff_predict_one_portable(plan, ws, raw, preprocessed, out);
    }
}

int32_t fff_leaf_one(const fff_plan *plan, const fff_workspace *ws, const float *raw,
                     int preprocessed)
{
    switch (plan->kernel) {
#if defined(__x86_64__)
    case FFF_KERNEL_AVX512: return fff_leaf_one_avx512(plan, ws, raw, preprocessed);
    case FFF_KERNEL_AVX2: return fff_leaf_one_avx2(plan, ws, raw, preprocessed);
#endif
    default: return fff_leaf_one_portable(plan, ws, raw, preprocessed);
    }
}

void fff_predict_batch(const fff_plan *plan, const fff_workspace *ws, const float *raw,
                       int64_t count, int preprocessed, float *out, int32_t *leaves)
{
    switch (plan->kernel) {
#if defined(__x86_64__)
    case FFF_KERNEL_AVX512:
        fff_predict_batch_avx512(plan, ws, raw, count, preprocessed, out, leaves);
        return;
    case FFF_KERNEL_AVX2:
        fff_predict_batch_avx2(plan, ws, raw, count, preprocessed, out, leaves);
        return;
#endif
    default:
        fff_predict_batch_portable(plan, ws, raw, count, preprocessed, out, leaves);
        return;
    }
}

float fff_activation(int32_t code, float value) { return fff_activation_apply(code, value); }

void fff_mixing_weights(float k, float *leaf_share, float *master_share)
{
    const double s = 1.0 / (1.0 + exp(-(double)k));
    *leaf_share = (float)s;
    *master_share = (float)(1.0 - s);
}
