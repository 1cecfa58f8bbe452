/* Run-time dispatch between the kernel paths, CPU detection and FFF_KERNEL. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"
#include "include/CFFFKernels.h"

#define DECLARE_PATH(s)                                                                          \
    int32_t fff_predict_one_##s(const fff_plan *, const fff_workspace *, const float *, int,    \
                                float *);                                                        \
    int32_t fff_leaf_one_##s(const fff_plan *, const fff_workspace *, const float *, int);     \
    void fff_predict_batch_##s(const fff_plan *, const fff_workspace *, const float *, int64_t, \
                               int, float *, int32_t *);                                        \
    void fff_predict_batch_u8_##s(const fff_plan *, const fff_workspace *, const uint8_t *,     \
                                  int64_t, int, float *, int32_t *);

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

static int64_t element_bytes(int32_t type)
{
    switch (type) {
    case FFF_ELEMENT_FLOAT16:
    case FFF_ELEMENT_BFLOAT16: return 2;
    case FFF_ELEMENT_INT8_ROW: return 1;
    default: return 4;
    }
}

int fff_plan_prefetch_rule(const fff_plan *p)
{
    const int64_t leaves = (int64_t)1 << p->depth, nodes = leaves - 1;
    const int64_t I = p->input_stride, O = p->output_stride;
    const double bytes = (double)nodes * I * element_bytes(p->node_type)
        + (double)(leaves * p->leaf_width + p->master_width) * (I + O) * element_bytes(p->weight_type);
    long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (l2 <= 0) l2 = 1 << 20;
    return bytes > 32.0 * (double)l2;
}

int fff_kernel_lanes(int kernel)
{
    switch (kernel) {
    case FFF_KERNEL_AVX512: return 16;
    case FFF_KERNEL_AVX2: return 8;
    default: return 4;
    }
}

/* The rule (BENCHMARKS.md, "Kernel path selection"): the avx512 path where the CPU has AVX-512F,
 * else avx2, else portable. Justified by the benchmarks, not by width: on every CPU measured
 * (AMD Zen 5 and Intel Xeon family 6 model 207) the avx512 kernels were the fastest one record
 * at a time and batched, in every element type but float16 one at a time on the Intel (where
 * avx2 and avx512 are within 10 %), and Benchmarks/roofline.c prints the comparison on any new
 * machine. A measurement at load (a multiply-add probe of each path) was tried and dropped: with
 * the other vCPU busy it picked avx2 in one run of three on the Intel, and a path that changes
 * from run to run changes the outputs' last bits from run to run. Deterministic by design. */
int fff_kernel_best(void)
{
    if (fff_kernel_supported(FFF_KERNEL_AVX512)) return FFF_KERNEL_AVX512;
    if (fff_kernel_supported(FFF_KERNEL_AVX2)) return FFF_KERNEL_AVX2;
    return FFF_KERNEL_PORTABLE;
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

void fff_predict_batch_u8(const fff_plan *plan, const fff_workspace *ws, const uint8_t *raw,
                          int64_t count, int preprocessed, float *out, int32_t *leaves)
{
    switch (plan->kernel) {
#if defined(__x86_64__)
    case FFF_KERNEL_AVX512:
        fff_predict_batch_u8_avx512(plan, ws, raw, count, preprocessed, out, leaves);
        return;
    case FFF_KERNEL_AVX2:
        fff_predict_batch_u8_avx2(plan, ws, raw, count, preprocessed, out, leaves);
        return;
#endif
    default:
        fff_predict_batch_u8_portable(plan, ws, raw, count, preprocessed, out, leaves);
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
