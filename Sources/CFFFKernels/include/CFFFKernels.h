#ifndef CFFFKERNELS_H
#define CFFFKERNELS_H

/*
 * The compute kernels of the FFF inference runtime (spec/FORMAT.md §14).
 *
 * Three implementations of the same arithmetic live side by side: AVX-512F, AVX2+FMA+F16C and a
 * portable one (plain C vector extensions, no ISA assumptions). The AVX ones are compiled with
 * per-function `target` attributes, so the package needs no compiler flags; the caller chooses
 * one per plan after asking `fff_kernel_supported`. Nothing here allocates memory: the caller
 * owns every buffer (see `fff_plan` and `fff_workspace`).
 *
 * Weights may be stored in a compact element type (format 1.1: float16, bfloat16, int8 with one
 * float32 scale per row). The kernels read them in that type and widen each vector of weights to
 * float32 as they load it; all arithmetic is float32 (inputs and activations are never
 * narrowed), and an int8-row sum is multiplied by its row's scale once, after the sum.
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

/* Element types of weights: the codes of MODL bytes 25 and 26 (format 1.1). */
#define FFF_ELEMENT_FLOAT32 0
#define FFF_ELEMENT_FLOAT16 1  /* IEEE binary16, widened exactly */
#define FFF_ELEMENT_BFLOAT16 2 /* the upper 16 bits of a binary32 */
#define FFF_ELEMENT_INT8_ROW 3 /* int8, value = scale[row] * q */

/* Rows of every repacked matrix are padded to a multiple of this many floats and start on a
 * 64-byte boundary. */
#define FFF_ALIGN_FLOATS 16

/* Hidden weight matrices are stored in panels of this many rows (see fff_plan). */
#define FFF_PANEL_ROWS 8

/*
 * A model repacked for the kernels. Node weights are row-major, rows of `input_stride` elements;
 * output weights row-major, rows of `output_stride` elements; every row zero-padded past the true
 * width. Elements are of `node_type` (node weights) or `weight_type` (the four leaf and master
 * weight tensors), so a row takes `input_stride` times 4, 2 or 1 bytes; each tensor starts on a
 * 64-byte boundary, and so does every float32 row.
 *
 * Hidden weights (leaf and master) are stored in *panels*: the W hidden units of a layer are cut
 * into groups of FFF_PANEL_ROWS units (the last group holds the remaining R <= 8), and a group of
 * R units occupies R * input_stride floats in which, with V = fff_kernel_lanes(kernel), the V
 * weights of unit r for inputs kb*V ..< kb*V + V are at offset (kb * R + r) * V. Group g starts
 * at g * FFF_PANEL_ROWS * input_stride. A pass computing all the units of a group then reads its
 * memory strictly in order. The lane count depends on the kernel path, so a plan is packed for
 * one path. (Offsets are in elements, whatever their type.)
 *
 * bfloat16 weights are moreover stored in pairs, so that one load yields two vectors by integer
 * shift and mask: in a panel, at every input block, the blocks of rows 2i and 2i + 1 (the V
 * elements of each, 2V in all) are interleaved, element j of row 2i at 2j and of row 2i + 1 at
 * 2j + 1 (the last row of a panel with an odd number of rows is left as is); in a node row, input
 * blocks 2i and 2i + 1 are interleaved the same way (the last block of an odd count is left as
 * is). Output weights are not paired.
 *
 * int8-row tensors (spec 1.1: one float32 scale per row, a row being the weights feeding one
 * unit) come with their scales: node_scale[n], leaf_w1_scale[leaf * H + unit],
 * leaf_w2_scale[leaf * output_stride + o] (zero past O), master_w1_scale[unit],
 * master_w2_scale[o]. A unit's value is scale * (sum of q * input) + bias. The scale pointers are
 * NULL for the other types. Valid type pairs: both float32, or weight_type compact with any
 * node_type.
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
    int32_t node_type;     /* FFF_ELEMENT_* of node_w */
    int32_t weight_type;   /* FFF_ELEMENT_* of leaf_w1, leaf_w2, master_w1, master_w2 */
    float mix_leaf;        /* s = 1 / (1 + exp(-k)) */
    float mix_master;      /* 1 - s */
    const float *scale;    /* [input_stride], or NULL: no preprocessing */
    const float *offset;   /* [input_stride], or NULL */
    const void *node_w;    /* [N][input_stride] */
    const float *node_b;   /* [N] */
    const void *leaf_w1;   /* [L] x (H units in panels): from the file's [L][I][H] */
    const float *leaf_b1;  /* [L][H] */
    const void *leaf_w2;   /* [L][H][output_stride] */
    const float *leaf_b2;  /* [L][output_stride] */
    const void *master_w1; /* M units in panels, from [I][M]; NULL when M = 0 */
    const float *master_b1; /* [M] */
    const void *master_w2; /* [M][output_stride] */
    const float *master_b2; /* [output_stride] */
    const float *node_scale;      /* [N], int8-row nodes only, else NULL */
    const float *leaf_w1_scale;   /* [L][H], int8-row weights only, else NULL */
    const float *leaf_w2_scale;   /* [L][output_stride] */
    const float *master_w1_scale; /* [M] */
    const float *master_w2_scale; /* [output_stride] */
    /* 1 when scale[i] and offset[i] are the same for every i < input_width (a scalar PREP,
     * spec §8, or equal values): the kernels then read scale[0] and offset[0] only. 0 otherwise
     * (always correct). Last in the struct so that the layout of the fields above is unchanged. */
    int32_t prep_uniform;
    /* 1 when the batched path should prefetch each next group's node row and leaf into L2
     * while it computes the current group: fff_plan_prefetch_rule() says when (weights far
     * larger than the L2). 0 never prefetches (always correct). */
    int32_t prefetch_weights;
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

/* 1 when this CPU (and OS) can run `kernel`, else 0. Portable is always supported; avx2 needs
 * AVX2, FMA and F16C, avx512 AVX-512F (and F16C). */
int fff_kernel_supported(int kernel);

/* The vector width in floats of a kernel path (4, 8 or 16): the V of the panel layout. */
int fff_kernel_lanes(int kernel);

/* The fastest supported path by the benchmarks' rule (see kernels.c): avx512 where supported,
 * else avx2, else portable. Deterministic: the same CPU always gets the same path. */
int fff_kernel_best(void);

/* What plan.prefetch_weights should be for a plan whose shape and types are set: 1 when all
 * its weights (node rows, leaves, master, as packed) exceed 32 times this core's L2 (sysconf;
 * 1 MiB when unknown), that is when they come from memory rather than from a cache. Measured
 * on a Zen 4 with 1 MiB of L2 and 32 MB of L3 (BENCHMARKS.md, "Prefetching the next group's
 * weights"): batched 768 -> 768 depth-12 trees of 38 to 214 MB 1.15x to 1.31x faster; trees in
 * L3 (2.4 to 13 MB) gained nothing clear (0.94x to 1.12x from run to run), and the paper's
 * 0.5 MB tree, in L2, lost (0.89x). */
int fff_plan_prefetch_rule(const fff_plan *plan);

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

/*
 * `fff_predict_batch` for records of unsigned bytes (`raw[r * input_width + i]`, 0 ... 255, as
 * IDX and raw u8 files hold them): each byte is widened to float32 (exactly) as the record is
 * copied in, so the results are bitwise those of `fff_predict_batch` on the same values given as
 * floats, without a float copy of the records. Same cost; no allocation.
 */
void fff_predict_batch_u8(const fff_plan *plan, const fff_workspace *ws, const uint8_t *raw,
                          int64_t count, int preprocessed, float *out, int32_t *leaves);

/* The mixing weights of a master leaf: *leaf_share = s = 1 / (1 + exp(-k)) and
 * *master_share = 1 - s, both computed in double and rounded once. */
void fff_mixing_weights(float k, float *leaf_share, float *master_share);

/* Element conversions of the portable path, exposed for tests: `count` float16 / bfloat16 bit
 * patterns to float32 (exact; the same code the portable kernels run). */
void fff_float16_to_float32(const uint16_t *source, float *destination, int64_t count);
void fff_bfloat16_to_float32(const uint16_t *source, float *destination, int64_t count);

/* The activation of spec §7.1 with this code applied to one float32 value (PyTorch's definition).
 * Exposed for tests. */
float fff_activation(int32_t code, float value);

#ifdef __cplusplus
}
#endif

#endif
