/*
 * The roofline of the inference kernels on the machine at hand: measures, in one process and
 * interleaved, the core's own limits
 *   - fp32 multiply-add peak of each kernel path (portable: 4-lane multiply then add, unfused, as
 *     that path computes; avx2: 8-lane FMA; avx512: 16-lane FMA), in multiply-adds per ns,
 *   - read bandwidth from L1 (a 16 KiB buffer) and from L2 (half the L2 size), in GB/s,
 * and the kernels on the paper's MNIST shape (784 -> 10, depth 4, leaf 8, master 8) and the
 * 768 -> 768 shapes, one record at a time and batched, and prints each result as a fraction of
 * its bound:
 *   batched:  compute bound = multiply-adds per record / the path's peak;
 *   single:   L2 bound = bytes of weights the record's path reads / L2 read bandwidth
 *             (node rows of its d nodes, its leaf's two matrices and the master leaf's).
 * Trees whose weights exceed the L2 (the 768 -> 768 ones) read them from L3 or memory: their
 * bounds use the bandwidth of reading a buffer the size of all their weights, measured in the
 * same rounds, and the batched bound is the larger of the compute bound and the weights each
 * chunk must read (distinct node rows and leaves of its records) at that bandwidth.
 * "fraction" is bound / measured time (1.0 = at the bound); "x bound" is its inverse.
 * Each of RUNS rounds measures the peaks, the bandwidths and every case in turn, each as the
 * best of 3 timings (so that a timing interrupted by another process does not count); a ratio
 * is computed within each round and the median over rounds is printed, so that machine load
 * (other processes on the same cores) moves bound and measurement together.
 *
 *   sh Benchmarks/scripts/roofline.sh                    # build and run (1 to 2 minutes)
 *   sh Benchmarks/scripts/roofline.sh 5 paper            # 5 rounds, the paper's shape only
 *   S=../Sources/CFFFKernels
 *   clang -O2 -I$S/include -I$S roofline.c $S/kernels*.c -lm -o /tmp/roofline
 *   /tmp/roofline [RUNS [SHAPES]]      SHAPES: paper | all (default all)
 *
 * Types: every path runs float32 and float16/float16 on the paper's shape (issue 12's
 * comparison); the 768 -> 768 shapes run on the default path (fff_kernel_best) in float32.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness_model.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define MAX_RUNS 31

/* ---- peaks ------------------------------------------------------------------------------- */

typedef float v4f __attribute__((vector_size(16)));

/* Portable: a*m + c unfused (the portable path's FMA_V), 12 independent chains of 4 lanes. */
#pragma clang fp contract(off)
static __attribute__((noinline)) float peak_portable_loop(int64_t iters, float m, float c)
{
    v4f a[12];
    for (int j = 0; j < 12; j++) a[j] = (v4f){0} + (float)j;
    const v4f mv = (v4f){0} + m, cv = (v4f){0} + c;
    for (int64_t i = 0; i < iters; i++) {
        for (int j = 0; j < 12; j++) a[j] = a[j] * mv + cv;
    }
    v4f s = a[0];
    for (int j = 1; j < 12; j++) s += a[j];
    return s[0] + s[1] + s[2] + s[3];
}
#define PEAK_PORTABLE_MADDS (12 * 4)

#if defined(__x86_64__)
__attribute__((target("avx2,fma"), noinline)) static float peak_avx2_loop(int64_t iters, float m, float c)
{
    __m256 a[12];
    for (int j = 0; j < 12; j++) a[j] = _mm256_set1_ps((float)j);
    const __m256 mv = _mm256_set1_ps(m), cv = _mm256_set1_ps(c);
    for (int64_t i = 0; i < iters; i++) {
        for (int j = 0; j < 12; j++) a[j] = _mm256_fmadd_ps(a[j], mv, cv);
    }
    __m256 s = a[0];
    for (int j = 1; j < 12; j++) s = _mm256_add_ps(s, a[j]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}
#define PEAK_AVX2_MADDS (12 * 8)

__attribute__((target("avx512f,fma"), noinline)) static float peak_avx512_loop(int64_t iters, float m, float c)
{
    __m512 a[24];
    for (int j = 0; j < 24; j++) a[j] = _mm512_set1_ps((float)j);
    const __m512 mv = _mm512_set1_ps(m), cv = _mm512_set1_ps(c);
    for (int64_t i = 0; i < iters; i++) {
        for (int j = 0; j < 24; j++) a[j] = _mm512_fmadd_ps(a[j], mv, cv);
    }
    __m512 s = a[0];
    for (int j = 1; j < 24; j++) s = _mm512_add_ps(s, a[j]);
    return _mm512_reduce_add_ps(s);
}
#define PEAK_AVX512_MADDS (24 * 16)
#endif

static volatile float sink_f;

/* Multiply-adds per ns of path k (one timing of about 5 ms). */
static double peak(int k)
{
    const int64_t iters = 200000;
    const double t0 = hm_now();
    float r = 0;
    int64_t madds = 0;
    switch (k) {
#if defined(__x86_64__)
    case FFF_KERNEL_AVX512: r = peak_avx512_loop(iters, 0.999999f, 1e-7f); madds = PEAK_AVX512_MADDS; break;
    case FFF_KERNEL_AVX2: r = peak_avx2_loop(iters, 0.999999f, 1e-7f); madds = PEAK_AVX2_MADDS; break;
#endif
    default: r = peak_portable_loop(iters, 0.999999f, 1e-7f); madds = PEAK_PORTABLE_MADDS; break;
    }
    const double t1 = hm_now();
    sink_f = r;
    return (double)(madds * iters) / ((t1 - t0) * 1e9);
}

/* ---- read bandwidth ---------------------------------------------------------------------- */

/* Sums `bytes` of `buf` `reps` times with the widest loads available; GB/s. */
#if defined(__x86_64__)
__attribute__((target("avx512f"), noinline)) static float read_avx512(const float *buf, int64_t n, int64_t reps)
{
    __m512 a[8];
    for (int j = 0; j < 8; j++) a[j] = _mm512_setzero_ps();
    for (int64_t r = 0; r < reps; r++) {
        for (int64_t i = 0; i < n; i += 128)
            for (int j = 0; j < 8; j++) a[j] = _mm512_add_ps(a[j], _mm512_load_ps(buf + i + 16 * j));
    }
    for (int j = 1; j < 8; j++) a[0] = _mm512_add_ps(a[0], a[j]);
    return _mm512_reduce_add_ps(a[0]);
}
__attribute__((target("avx2"), noinline)) static float read_avx2(const float *buf, int64_t n, int64_t reps)
{
    __m256 a[8];
    for (int j = 0; j < 8; j++) a[j] = _mm256_setzero_ps();
    for (int64_t r = 0; r < reps; r++) {
        for (int64_t i = 0; i < n; i += 64)
            for (int j = 0; j < 8; j++) a[j] = _mm256_add_ps(a[j], _mm256_load_ps(buf + i + 8 * j));
    }
    for (int j = 1; j < 8; j++) a[0] = _mm256_add_ps(a[0], a[j]);
    float out[8];
    _mm256_storeu_ps(out, a[0]);
    return out[0];
}
#endif
static __attribute__((noinline)) float read_portable(const float *buf, int64_t n, int64_t reps)
{
    v4f a[8] = {{0}};
    for (int64_t r = 0; r < reps; r++) {
        for (int64_t i = 0; i < n; i += 32)
            for (int j = 0; j < 8; j++) a[j] += *(const v4f *)(buf + i + 4 * j);
    }
    for (int j = 1; j < 8; j++) a[0] += a[j];
    return a[0][0];
}

static double bandwidth(const float *buf, int64_t bytes, int widest)
{
    const int64_t n = bytes / 4, reps = (int64_t)(64.0 * 1024 * 1024 / (double)bytes) + 1;
    float r;
    const double t0 = hm_now();
    switch (widest) {
#if defined(__x86_64__)
    case FFF_KERNEL_AVX512: r = read_avx512(buf, n, reps); break;
    case FFF_KERNEL_AVX2: r = read_avx2(buf, n, reps); break;
#endif
    default: r = read_portable(buf, n, reps); break;
    }
    const double t1 = hm_now();
    sink_f = r;
    return (double)bytes * (double)reps / ((t1 - t0) * 1e9);
}

/* ---- cases --------------------------------------------------------------------------------- */

typedef struct {
    const char *shape;
    int I, O, d, H, M, K, wt, nt;
    fff_plan plan;
    fff_workspace ws;
    float *rec, *out;
    int32_t *leaves;
    int R;                       /* distinct records, cycled */
    int prep;                    /* hm_plan's: 1 one scale and offset, 2 one per input */
    double madds, weight_bytes;  /* per record */
    double model_bytes;          /* every weight of the model */
    double chunk_bytes;          /* per record, batched: the distinct weights each chunk reads */
    float *mbuf;                 /* a buffer of model_bytes when they exceed the L2, else NULL */
    double bwm[MAX_RUNS];        /* GB/s reading mbuf (the bandwidth its weights come at) */
    double single[MAX_RUNS], batch[MAX_RUNS]; /* µs per record */
    double single_frac[MAX_RUNS], batch_frac[MAX_RUNS];
} Case;

static const char *path_name(int k) { return k == 2 ? "avx512" : k == 1 ? "avx2" : "portable"; }
static const char *type_name(int t) { return t == 1 ? "f16" : t == 2 ? "bf16" : t == 3 ? "i8" : "f32"; }
static int type_size(int t) { return t == 1 || t == 2 ? 2 : t == 3 ? 1 : 4; }

static void case_init_prep(Case *c, const char *shape, int I, int O, int d, int H, int M, int K, int wt,
                          int nt, int prep)
{
    memset(c, 0, sizeof *c);
    c->shape = shape; c->I = I; c->O = O; c->d = d; c->H = H; c->M = M; c->K = K; c->wt = wt; c->nt = nt;
    c->prep = prep;
    hm_plan(&c->plan, I, O, d, H, M, K, wt, nt, 1, prep, 7);
    const int64_t Ip = hm_stride(I), Op = hm_stride(O);
    hm_workspace(&c->ws, Ip, Op, H, M, 64);
    c->R = 1000;
    c->rec = hm_records(c->R, I, 1, 11); /* 1000 records: a later R = 64 uses the first 64 */
    c->out = hm_bytes((int64_t)c->R * O * 4);
    c->leaves = hm_bytes((int64_t)c->R * 4);
    c->madds = (double)d * I + (double)(H + M) * (I + O);
    /* What one record's path reads: d node rows, its leaf's hidden panel and output rows, and
     * the master leaf's; each at its padded stride and element size; int8-row scales and the
     * biases are a few hundred bytes and left out. */
    c->weight_bytes = (double)d * Ip * type_size(nt) + (double)(H + M) * (Ip + Op) * type_size(wt);
    const int64_t L = (int64_t)1 << d, N = L - 1;
    const double row = (double)Ip * type_size(nt), leaf = (double)H * (Ip + Op) * type_size(wt);
    const double master = (double)M * (Ip + Op) * type_size(wt);
    c->model_bytes = (double)N * row + (double)L * leaf + master;
    /* Batched, each chunk of 64 records reads at least the distinct node rows and leaves on its
     * records' paths (counted from their leaves) and the master leaf once. */
    char *seen = hm_bytes(2 * L);
    double total = 0;
    for (int64_t start = 0; start < c->R; start += 64) {
        memset(seen, 0, (size_t)(2 * L));
        int64_t rows = 0, leaves = 0;
        for (int64_t r = start; r < start + 64 && r < c->R; r++) {
            int64_t i = N + fff_leaf_one(&c->plan, &c->ws, c->rec + r * I, 0); /* heap index */
            if (!seen[i]) { seen[i] = 1; leaves++; }
            while (i > 0) {
                i = (i - 1) / 2;
                if (seen[i]) break; /* and so are its ancestors */
                seen[i] = 1;
                rows++;
            }
        }
        total += (double)rows * row + (double)leaves * leaf + master;
    }
    free(seen);
    c->chunk_bytes = total / c->R;
}

/* The preprocessing of the paper's MNIST models: one scale and offset for every input. */
static void case_init(Case *c, const char *shape, int I, int O, int d, int H, int M, int K, int wt, int nt)
{
    case_init_prep(c, shape, I, O, d, H, M, K, wt, nt, 1);
}

/* The batched bound, µs per record: the multiply-adds at the path's peak (per ns) or, for a
 * tree beyond the L2, the weights its chunks must read at `bw` GB/s, whichever is longer. */
static double batch_bound(const Case *c, double peak, double bw)
{
    const double compute = c->madds / (peak * 1e3);
    const double memory = c->mbuf ? c->chunk_bytes / (bw * 1e3) : 0;
    return compute > memory ? compute : memory;
}

/* One round of a case: µs per record, single and batched, each the best of 3 timings of one
 * pass over the case's records (20 passes when they are only 64), as the peaks are best of 3:
 * a timing that another process interrupted does not count. */
static void case_run(Case *c, int run)
{
    const int I = c->I, O = c->O, R = c->R;
    const int passes = R < 1000 ? 1000 / R : 1;
    double single = 1e9, batch = 1e9;
    for (int t = 0; t < 3; t++) {
        const double t0 = hm_now();
        for (int it = 0; it < passes; it++)
            for (int r = 0; r < R; r++)
                fff_predict_one(&c->plan, &c->ws, c->rec + (int64_t)r * I, 0, c->out + (int64_t)r * O);
        const double t1 = hm_now();
        for (int it = 0; it < passes; it++) fff_predict_batch(&c->plan, &c->ws, c->rec, R, 0, c->out, c->leaves);
        const double t2 = hm_now();
        if (t1 - t0 < single) single = t1 - t0;
        if (t2 - t1 < batch) batch = t2 - t1;
    }
    c->single[run] = single / ((double)passes * R) * 1e6;
    c->batch[run] = batch / ((double)passes * R) * 1e6;
}

static double median(double *v, int n)
{
    double tmp[MAX_RUNS];
    memcpy(tmp, v, (size_t)n * sizeof(double));
    qsort(tmp, (size_t)n, sizeof(double), hm_compare_doubles);
    return n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
}

static void cpu_name(char *out, size_t size)
{
    snprintf(out, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    char model[256] = "", family[32] = "", modelno[32] = "", stepping[32] = "";
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t') value++;
        value[strcspn(value, "\n")] = 0;
        if (!model[0] && strncmp(line, "model name", 10) == 0) snprintf(model, sizeof model, "%s", value);
        else if (!family[0] && strncmp(line, "cpu family", 10) == 0) snprintf(family, sizeof family, "%s", value);
        else if (!modelno[0] && strncmp(line, "model\t", 6) == 0) snprintf(modelno, sizeof modelno, "%s", value);
        else if (!stepping[0] && strncmp(line, "stepping", 8) == 0) snprintf(stepping, sizeof stepping, "%s", value);
    }
    fclose(f);
    snprintf(out, size, "%s (family %s, model %s, stepping %s)", model, family, modelno, stepping);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 11;
    if (runs < 1) runs = 1;
    if (runs > MAX_RUNS) runs = MAX_RUNS;
    const int all_shapes = !(argc > 2 && strcmp(argv[2], "paper") == 0);
    const int best = fff_kernel_best();

    char cpu[400];
    cpu_name(cpu, sizeof cpu);
    long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
    if (l2 <= 0) l2 = 1 << 20;
    if (l1 <= 0) l1 = 32 << 10;
    const int64_t l1_bytes = 16 << 10, l2_bytes = l2 / 2;
    printf("CPU: %s\n", cpu);
    printf("online CPUs: %ld; L1d %ld KiB, L2 %ld KiB per core (sysconf); load average at start: ",
           sysconf(_SC_NPROCESSORS_ONLN), l1 >> 10, l2 >> 10);
    {
        double la[3];
        if (getloadavg(la, 3) == 3) printf("%.2f %.2f %.2f\n", la[0], la[1], la[2]);
        else printf("?\n");
    }
    printf("default kernel path (fff_kernel_best): %s; FFF_KERNEL is not read by this program\n\n", path_name(best));

    int paths[3], npaths = 0;
    for (int k = 0; k <= 2; k++)
        if (fff_kernel_supported(k)) paths[npaths++] = k;

    Case *cases = calloc(64, sizeof(Case));
    int ncases = 0;
    for (int i = 0; i < npaths; i++) {
        case_init(&cases[ncases++], "784-10 d4 l8 m8", 784, 10, 4, 8, 8, paths[i], 0, 0);
        case_init(&cases[ncases++], "784-10 d4 l8 m8", 784, 10, 4, 8, 8, paths[i], 1, 1);
    }
    /* The same on the default path with 64 distinct records (256 KB: they stay in L2), to tell
     * the kernels' own rate from that of streaming the records in from L3 or memory. */
    case_init(&cases[ncases], "784-10 (64 rec)", 784, 10, 4, 8, 8, best, 0, 0);
    cases[ncases++].R = 64;
    /* With a scale and an offset per input (standardized features), which the record reads
     * beside its weights (2 * 4 bytes per input, not counted in the bound). */
    case_init_prep(&cases[ncases++], "784-10 (prep[i])", 784, 10, 4, 8, 8, best, 0, 0, 2);
    if (all_shapes) {
        const int depths[2] = {8, 12}, leaves[3] = {1, 4, 8};
        static char names[6][32];
        int n = 0;
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 3; b++, n++) {
                snprintf(names[n], sizeof names[n], "768-768 d%d l%d", depths[a], leaves[b]);
                case_init(&cases[ncases++], names[n], 768, 768, depths[a], leaves[b], 0, best, 0, 0);
            }
    }

    /* Trees whose weights exceed the L2 read them from L3 or memory: their bounds use the
     * bandwidth of reading a buffer of the same size, measured in the same rounds. */
    for (int c = 0; c < ncases; c++)
        if (cases[c].model_bytes > (double)l2)
            cases[c].mbuf = hm_floats((int64_t)(cases[c].model_bytes / 4) / 128 * 128 + 128, 1e-3f);
    float *buf1 = hm_floats(l1_bytes / 4, 1e-3f), *buf2 = hm_floats(l2_bytes / 4, 1e-3f);
    static double pk[3][MAX_RUNS], bw1[MAX_RUNS], bw2[MAX_RUNS];
    for (int i = 0; i < npaths; i++) peak(paths[i]); /* wake the wide units */
    for (int run = 0; run < runs; run++) {
        for (int i = 0; i < npaths; i++) {
            double b = 0;
            for (int t = 0; t < 3; t++) { const double v = peak(paths[i]); if (v > b) b = v; }
            pk[paths[i]][run] = b;
        }
        double b1 = 0, b2 = 0;
        for (int t = 0; t < 3; t++) {
            const double v1 = bandwidth(buf1, l1_bytes, best), v2 = bandwidth(buf2, l2_bytes, best);
            if (v1 > b1) b1 = v1;
            if (v2 > b2) b2 = v2;
        }
        bw1[run] = b1; bw2[run] = b2;
        for (int c = 0; c < ncases; c++) {
            Case *k = &cases[c];
            k->bwm[run] = bw2[run];
            if (k->mbuf) {
                double b = 0;
                const int64_t bytes = (int64_t)(k->model_bytes / 4) / 128 * 128 * 4 + 512;
                for (int t = 0; t < 3; t++) { const double v = bandwidth(k->mbuf, bytes, best); if (v > b) b = v; }
                k->bwm[run] = b;
            }
            case_run(k, run);
            k->batch_frac[run] = batch_bound(k, pk[k->K][run], k->bwm[run]) / k->batch[run];
            k->single_frac[run] = k->weight_bytes / (k->bwm[run] * 1e3) / k->single[run];
        }
    }

    printf("Machine limits (median of %d rounds; each round the best of 3 timings):\n", runs);
    for (int i = 0; i < npaths; i++)
        printf("  fp32 multiply-add peak, %-8s %7.1f per ns\n", path_name(paths[i]), median(pk[paths[i]], runs));
    printf("  read bandwidth, L1 (16 KiB)   %7.1f GB/s\n", median(bw1, runs));
    printf("  read bandwidth, L2 (%ld KiB) %7.1f GB/s\n\n", (long)(l2_bytes >> 10), median(bw2, runs));

    printf("%-16s %-8s %-7s %9s %9s %-11s| %8s %9s %9s %8s | %8s %9s %9s %8s\n", "shape", "path", "types",
           "madds", "wt bytes", " weights", "single", "rd bound", "fraction", "x bound", "batch", "bound",
           "fraction", "x bound");
    for (int c = 0; c < ncases; c++) {
        Case *k = &cases[c];
        char types[16], from[32];
        snprintf(types, sizeof types, "%s/%s", type_name(k->wt), type_name(k->nt));
        const double bw = median(k->bwm, runs);
        if (k->mbuf) snprintf(from, sizeof from, " %.0fMB %.0f", k->model_bytes / 1e6, bw);
        else snprintf(from, sizeof from, " in L2");
        const double sf = median(k->single_frac, runs), bf = median(k->batch_frac, runs);
        const double s = median(k->single, runs), b = median(k->batch, runs);
        printf("%-16s %-8s %-7s %9.0f %9.0f %-11s| %8.3f %9.3f %9.2f %8.2f | %8.3f %9.3f %9.2f %8.2f\n", k->shape,
               path_name(k->K), types, k->madds, k->weight_bytes, from, s, k->weight_bytes / (bw * 1e3),
               sf, 1 / sf, b, batch_bound(k, median(pk[k->K], runs), bw), bf, 1 / bf);
    }
    printf("\n(times in µs per record, best of 3 per round, median over rounds; fraction = bound / time,\n"
           " computed per round, median printed; x bound = its inverse. wt bytes: the weights one\n"
           " record's path reads. weights: where the model's weights live: in L2, or (all of them\n"
           " larger than the L2) their size and the GB/s of reading a buffer of that size, from L3 or\n"
           " memory. Single: rd bound = wt bytes at the L2 bandwidth, or at that one. Batch: the\n"
           " compute bound at the path's multiply-add peak or, beyond the L2, the weights each chunk\n"
           " of 64 records must read (the distinct node rows and leaves on its records' paths, and the\n"
           " master) at that bandwidth, whichever is longer. Records: 1000 distinct ones cycled (3 MB\n"
           " for 784 inputs: read from L3), or 64.\n"
           " Preprocessing: one scale and offset for all inputs (the paper's models), or (prep[i])\n"
           " one per input, whose 8 bytes per input are read beside the weights but not counted.)\n");
    for (int i = 0; i < npaths; i++) {
        /* float16 against float32 on the same path, per round */
        Case *f32 = NULL, *f16 = NULL;
        for (int c = 0; c < ncases; c++)
            if (cases[c].K == paths[i] && cases[c].I == 784 && cases[c].R == 1000 && cases[c].prep == 1) {
                if (cases[c].wt == 0) f32 = &cases[c];
                else f16 = &cases[c];
            }
        if (!f32 || !f16) continue;
        double rs[MAX_RUNS], rb[MAX_RUNS];
        for (int r = 0; r < runs; r++) { rs[r] = f32->single[r] / f16->single[r]; rb[r] = f32->batch[r] / f16->batch[r]; }
        printf("%s: float16/float16 against float32 on 784-10 d4 l8 m8: %.2fx single, %.2fx batched\n",
               path_name(paths[i]), median(rs, runs), median(rb, runs));
    }
    {
        /* The kernel path rule (fff_kernel_best) against this machine: each path's speed on the
         * paper's shape in float32 relative to the chosen one (median of per-round ratios), one
         * record at a time and batched. A path more than 3 % faster than the chosen one breaks
         * the rule; within 3 % is the noise of these runs. */
        const Case *chosen = NULL;
        for (int c = 0; c < ncases; c++)
            if (cases[c].K == best && cases[c].I == 784 && cases[c].R == 1000 && cases[c].prep == 1 && cases[c].wt == 0)
                chosen = &cases[c];
        int broken = 0;
        printf("kernel paths on 784-10 d4 l8 m8 float32, speed relative to %s (fff_kernel_best):", path_name(best));
        for (int c = 0; chosen && c < ncases; c++) {
            const Case *k = &cases[c];
            if (k == chosen || k->I != 784 || k->R != 1000 || k->prep != 1 || k->wt != 0) continue;
            double rs[MAX_RUNS], rb[MAX_RUNS];
            for (int r = 0; r < runs; r++) { rs[r] = chosen->single[r] / k->single[r]; rb[r] = chosen->batch[r] / k->batch[r]; }
            const double s1 = median(rs, runs), b1 = median(rb, runs);
            printf(" %s %.2fx single, %.2fx batched;", path_name(k->K), s1, b1);
            if (s1 > 1.03 || b1 > 1.03) broken = 1;
        }
        printf("%s\n", broken ? "  <-- a path faster by more than 3 %: the rule does not hold on this machine"
                              : " the rule holds (no other path more than 3 % faster)");
    }
    return 0;
}
