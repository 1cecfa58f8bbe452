#ifndef CFFFKERNELS_H
#define CFFFKERNELS_H

/*
 * The compute kernels of the FFF inference runtime (spec/FORMAT.md §14).
 *
 * Three implementations of the same arithmetic live side by side: AVX-512F, AVX2+FMA and a
 * portable one (plain C vector extensions, no ISA assumptions). The AVX ones are compiled with
 * per-function `target` attributes, so the package needs no compiler flags; the caller chooses
 * one per plan after asking `fff_kernel_supported`. Nothing here allocates memory: the caller
 * owns every buffer (see `fff_plan` and `fff_workspace`).
 *
 * Within one kernel path the results of `fff_predict_one` and `fff_predict_batch` are bitwise
 * identical for the same record: every dot product is summed in the same order in both.
 */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Kernel paths. The numbers are stable; FFF_KERNEL=portable|avx2|avx512 names them. */
#define FFF_KERNEL_PORTABLE 0
#define FFF_KERNEL_AVX2 1
#define FFF_KERNEL_AVX512 2

/* Rows of every repacked matrix are padded to a multiple of this many floats and start on a
 * 64-byte boundary. */
#define FFF_ALIGN_FLOATS 16

/* Hidden weight matrices are stored in panels of this many rows (see fff_plan). */
#define FFF_PANEL_ROWS 8

/*
 * A model repacked for the kernels. Node weights are row-major, rows of `input_stride` floats;
 * output weights row-major, rows of `output_stride` floats; every row 64-byte aligned and
 * zero-padded past the true width.
 *
 * Hidden weights (leaf and master) are stored in *panels*: the W hidden units of a layer are cut
 * into groups of FFF_PANEL_ROWS units (the last group holds the remaining R <= 8), and a group of
 * R units occupies R * input_stride floats in which, with V = fff_kernel_lanes(kernel), the V
 * weights of unit r for inputs kb*V ..< kb*V + V are at offset (kb * R + r) * V. Group g starts
 * at g * FFF_PANEL_ROWS * input_stride. A pass computing all the units of a group then reads its
 * memory strictly in order. The lane count depends on the kernel path, so a plan is packed for
 * one path.
 */
typedef struct fff_plan {
    int64_t input_width;   /* I */
    int64_t input_stride;  /* I rounded up to FFF_ALIGN_FLOATS */
    int64_t output_width;  /* O */
    int64_t output_stride; /* O rounded up to FFF_ALIGN_FLOATS */
    int64_t depth;         /* d; 2^d leaves, 2^d - 1 nodes */
    int64_t leaf_width;    /* H */
    int64_t master_width;  /* M, 0 without a master leaf */
    int32_t activation;    /* spec §7.1 code, 0 ... 6 */
    int32_t kernel;        /* FFF_KERNEL_* */
    float mix_leaf;        /* s = 1 / (1 + exp(-k)) */
    float mix_master;      /* 1 - s */
    const float *scale;    /* [input_stride], or NULL: no preprocessing */
    const float *offset;   /* [input_stride], or NULL */
    const float *node_w;   /* [N][input_stride] */
    const float *node_b;   /* [N] */
    const float *leaf_w1;  /* [L] x (H units in panels): from the file's [L][I][H] */
    const float *leaf_b1;  /* [L][H] */
    const float *leaf_w2;  /* [L][H][output_stride] */
    const float *leaf_b2;  /* [L][output_stride] */
    const float *master_w1; /* M units in panels, from [I][M]; NULL when M = 0 */
    const float *master_b1; /* [M] */
    const float *master_w2; /* [M][output_stride] */
    const float *master_b2; /* [output_stride] */
} fff_plan;

/*
 * Scratch memory for one thread. Every pointer is 64-byte aligned. The kernels write the zero
 * padding of `x` and `batch_x` themselves, so the buffers need no initialization.
 */
typedef struct fff_workspace {
    int64_t batch_capacity; /* records per batch chunk, >= 1 */
    int64_t hidden_stride;  /* >= max(H, M) rounded up to FFF_ALIGN_FLOATS */
    float *x;               /* [input_stride] */
    float *hidden;          /* [4][hidden_stride] */
    float *y;               /* [output_stride] */
    float *m;               /* [output_stride] */
    float *batch_x;         /* [batch_capacity][input_stride] */
    float *batch_m;         /* [batch_capacity][output_stride] */
    int32_t *node;          /* [batch_capacity] */
    int32_t *perm;          /* [batch_capacity] */
    int32_t *tmp;           /* [batch_capacity] */
} fff_workspace;

/* 1 when this CPU (and OS) can run `kernel`, else 0. Portable is always supported. */
int fff_kernel_supported(int kernel);

/* The vector width in floats of a kernel path (4, 8 or 16): the V of the panel layout. */
int fff_kernel_lanes(int kernel);

/* The fastest supported path. */
int fff_kernel_best(void);

/* The path FFF_KERNEL asks for: FFF_KERNEL_* , -1 when the variable is unset or empty, -2 when
 * it holds anything but `portable`, `avx2` or `avx512`. */
int fff_kernel_from_environment(void);

/*
 * One record: preprocess (unless `preprocessed`), descend, evaluate the leaf and the master leaf,
 * mix, and write `output_width` floats to `out`. Returns the leaf index.
 * `raw` has `input_width` floats (any alignment); `out` has `output_width` (any alignment).
 * Cost: O(d*I + (H+M)*(I+O)); no allocation.
 */
int32_t fff_predict_one(const fff_plan *plan, const fff_workspace *ws, const float *raw,
                        int preprocessed, float *out);

/* The leaf index only: preprocessing and descent, O(d*I). */
int32_t fff_leaf_one(const fff_plan *plan, const fff_workspace *ws, const float *raw,
                     int preprocessed);

/*
 * `count` records stored contiguously (`raw[r * input_width + i]`); outputs likewise
 * (`out[r * output_width + o]`); `leaves` (may be NULL) receives each record's leaf index.
 * Records are processed in chunks of `ws->batch_capacity`: within a chunk the records that share
 * a node or a leaf are evaluated together so that each weight load feeds several records.
 * Results are bitwise identical to `fff_predict_one` on the same path.
 */
void fff_predict_batch(const fff_plan *plan, const fff_workspace *ws, const float *raw,
                       int64_t count, int preprocessed, float *out, int32_t *leaves);

/* The mixing weights of a master leaf: *leaf_share = s = 1 / (1 + exp(-k)) and
 * *master_share = 1 - s, both computed in double and rounded once. */
void fff_mixing_weights(float k, float *leaf_share, float *master_share);

/* The activation of spec §7.1 with this code applied to one float32 value (PyTorch's definition).
 * Exposed for tests. */
float fff_activation(int32_t code, float value);

#ifdef __cplusplus
}
#endif

#endif
