/*
 * fastfeedforward.h: the C API of the FastFeedforward runtime (spec/FORMAT.md, format 1.1).
 *
 * Load a `.fff` model (every check of the spec, errors by the spec's codes), make one workspace
 * per thread, and run records through the model: outputs, predicted class, leaf, one record at a
 * time or many contiguous records at once. Implemented by the Swift runtime (the `fastfeedforward_c`
 * library product: libfastfeedforward_c.so); this header is its whole reference.
 *
 *     fff_error error;
 *     fff_model *model;
 *     if (fff_model_load_path("mnist.fff", &model, &error) != FFF_OK) {
 *         fprintf(stderr, "%s\n", error.message);            // "io-error: ..." and the like
 *         return 1;
 *     }
 *     fff_workspace *workspace;
 *     fff_workspace_create(model, 0, &workspace, &error);    // one per thread
 *     fff_classification result;
 *     fff_classify(model, workspace, pixels, 784, FFF_INPUT_RAW, &result, &error);
 *     printf("%s %g leaf %d\n", fff_model_label(model, result.index, NULL), result.score, result.leaf);
 *     fff_workspace_free(workspace);
 *     fff_model_free(model);
 *
 * Conventions, for every function below unless it says otherwise:
 *
 * - Status. Fallible functions return an `fff_status`: FFF_OK (0) on success, otherwise the spec's
 *   error code (1 ... 20, spec/FORMAT.md §17) for a problem of a model file, or one of this API's
 *   own codes (100 and above) for a bad argument. They never abort the process on a bad argument:
 *   NULL pointers, widths that are not the model's, counts whose sizes overflow, unknown flags and a
 *   workspace too small for the model are all reported. (Pointers that are not NULL must be valid:
 *   a freed handle, or a buffer shorter than the width passed with it, cannot be detected.)
 * - Errors. The last parameter, `fff_error *error`, may be NULL. When it is not, the function
 *   writes the outcome there: on failure the code, the message and the place in the file; on
 *   success code FFF_OK and an empty message. The struct belongs to the caller (stack or heap), so
 *   errors are thread-safe: nothing is kept in global or thread-local state.
 * - Ownership. Handles come from fff_model_load_* and fff_workspace_create and are released by
 *   fff_model_free and fff_workspace_free (both accept NULL). Strings returned by the model
 *   getters are owned by the model: valid, unchanged, until fff_model_free. fff_version and
 *   fff_status_name return static strings. No function keeps a pointer to a caller's buffer after
 *   it returns.
 * - Threading (the same rules as the Swift API). A model is immutable once loaded: any number of
 *   threads may use one model at the same time, for inference and for every getter. A workspace
 *   is the scratch memory of one thread: never use one workspace in two calls at the same time;
 *   give each thread its own (it may move from one thread to another between calls, with the
 *   synchronisation that hands it over). fff_model_free and fff_workspace_free must not run
 *   while another call uses the same handle.
 * - Memory. Loading allocates the model, creating a workspace allocates the workspace; inference
 *   calls allocate nothing once both exist (their cost is the arithmetic, see each function).
 * - Strings are UTF-8. Labels and metadata values may contain the byte 0 (the spec allows U+0000):
 *   they are NUL-terminated for convenience, and their exact length is returned when asked for.
 */
#ifndef FASTFEEDFORWARD_H
#define FASTFEEDFORWARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes. It changes whenever a function's signature or a struct's layout
 * changes; new functions and new status codes do not change it. Compare it with fff_abi_version()
 * at run time to catch a program built against another library than the one it loads. */
#define FFF_ABI_VERSION 1

/* The release this header comes with (fff_version() returns the library's). */
#define FFF_VERSION "1.1.0"

/* A loaded model: immutable, shareable across threads. Opaque. */
typedef struct fff_model_handle fff_model;

/* The scratch memory of inference, for one thread at a time. Opaque. */
typedef struct fff_workspace_handle fff_workspace;

/* Outcome of a call. 1 ... 20 are the error codes of spec/FORMAT.md §17, by their numbers there
 * (fff_status_name gives the spec's name, e.g. "checksum-mismatch"); a file reports the same code
 * in every conforming implementation. 100 and above are this API's own. */
typedef enum fff_status {
    FFF_OK = 0,
    FFF_ERR_BAD_MAGIC = 1,                 /* bad-magic: not an FFF file */
    FFF_ERR_UNSUPPORTED_VERSION = 2,       /* unsupported-version: major version not implemented */
    FFF_ERR_TRUNCATED = 3,                 /* truncated: the file ends before a structure it declares */
    FFF_ERR_TRAILING_BYTES = 4,            /* trailing-bytes: bytes after the declared file length */
    FFF_ERR_CHECKSUM_MISMATCH = 5,         /* checksum-mismatch: a CRC-32 does not match */
    FFF_ERR_RESERVED_NONZERO = 6,          /* reserved-nonzero: a reserved field, bit or padding byte is set */
    FFF_ERR_BAD_LAYOUT = 7,                /* bad-layout: a section's offset or stored length breaks §3.3 */
    FFF_ERR_UNKNOWN_CRITICAL_SECTION = 8,  /* unknown-critical-section */
    FFF_ERR_DUPLICATE_SECTION = 9,         /* duplicate-section */
    FFF_ERR_MISSING_SECTION = 10,          /* missing-section: a required section is absent, or MODL is not first */
    FFF_ERR_UNEXPECTED_SECTION = 11,       /* unexpected-section: a known section the model does not allow */
    FFF_ERR_UNKNOWN_CODEC = 12,            /* unknown-codec */
    FFF_ERR_UNKNOWN_FILTER = 13,           /* unknown-filter */
    FFF_ERR_DECOMPRESSION_FAILED = 14,     /* decompression-failed: a zstd frame is corrupt or its size disagrees */
    FFF_ERR_SHAPE_MISMATCH = 15,           /* shape-mismatch: a payload length disagrees with its shape */
    FFF_ERR_LIMIT_EXCEEDED = 16,           /* limit-exceeded: a size beyond §15 or the reader's budget */
    FFF_ERR_INVALID_VALUE = 17,            /* invalid-value: a field outside its valid range */
    FFF_ERR_UNSUPPORTED_FEATURE = 18,      /* unsupported-feature: a reserved code this reader does not implement */
    FFF_ERR_NON_FINITE_PARAMETER = 19,     /* non-finite-parameter: a NaN or infinity among the parameters */
    FFF_ERR_IO_ERROR = 20,                 /* io-error: the file could not be read (missing, unreadable, changed) */

    FFF_ERR_INVALID_ARGUMENT = 100,        /* invalid-argument: a NULL pointer, a width that is not the
                                              model's, a size that overflows, an unknown flag bit */
    FFF_ERR_WORKSPACE_MISMATCH = 101,      /* workspace-mismatch: the workspace was sized for a smaller
                                              model than the one it is used with */
    FFF_ERR_KERNEL_UNAVAILABLE = 102       /* kernel-unavailable: the environment variable FFF_KERNEL
                                              names an unknown kernel or one this CPU cannot run */
} fff_status;

/* Capacity of fff_error.message, terminating NUL included. */
#define FFF_ERROR_MESSAGE_CAPACITY 512

/* What went wrong, written by a failing call into a struct the caller owns. */
typedef struct fff_error {
    /* FFF_OK after a successful call, otherwise the status the call returned. */
    fff_status code;
    /* The four-character type of the section concerned ("LFW1"), or "" when none. */
    char section[8];
    /* Byte offset in the file of the offending field or structure, or -1 when not known. */
    int64_t offset;
    /* "<spec code name>: <what is wrong and what was expected> (section S, offset N)", UTF-8,
     * NUL-terminated; cut at a character boundary when longer than the buffer. "" on success. */
    char message[FFF_ERROR_MESSAGE_CAPACITY];
} fff_error;

/* Flags of the inference calls. */
/* The records are raw features (pixels 0 ... 255 for MNIST): the model's preprocessing
 * x = raw * scale + offset (spec §8) is applied first. The usual case. */
#define FFF_INPUT_RAW 0u
/* The records are already preprocessed (x itself): the model's preprocessing is skipped. For a
 * model without preprocessing both forms give the same results. */
#define FFF_INPUT_PREPROCESSED 1u

/* The predicted class of one record. */
typedef struct fff_classification {
    /* The smallest index of the greatest output (spec §14.2); a NaN output counts as the
     * greatest, as numpy's argmax has it. 0 ... output width - 1. */
    int32_t index;
    /* The output at index. */
    float score;
    /* The leaf the record descended to, 0 ... 2^depth - 1. */
    int32_t leaf;
} fff_classification;

/* ---------------------------------------------------------------------------------------------
 * Versions and names
 * ------------------------------------------------------------------------------------------- */

/* The release of the library, e.g. "1.1.0" (the release of fffrun and the Python tools that
 * ship with it). Static string. Thread-safe. O(1). */
const char *fff_version(void);

/* The ABI of the library: FFF_ABI_VERSION of the header it was built with. A program should
 * refuse to run when it differs from its own FFF_ABI_VERSION. Thread-safe. O(1). */
uint32_t fff_abi_version(void);

/* The name of a status: "ok", the spec's code names ("bad-magic" ... "io-error"),
 * "invalid-argument", "workspace-mismatch", "kernel-unavailable"; "unknown" for any other value.
 * Static string. Thread-safe. O(1). */
const char *fff_status_name(fff_status status);

/* ---------------------------------------------------------------------------------------------
 * Models
 * ------------------------------------------------------------------------------------------- */

/* Reads, validates and compiles the model in the file at `path` (UTF-8).
 *
 * Every check of spec/FORMAT.md runs, in its §16 order, so the error is the one every conforming
 * reader reports. The file is read piece by piece, never whole: loading peaks at the decoded
 * weights plus about 1 MiB. The weights are then packed for the kernel path this CPU runs best
 * (AVX-512, AVX2 or portable; the environment variable FFF_KERNEL=portable|avx2|avx512 forces
 * one: it is read at every load, but the process keeps the kernel its first load picked),
 * compact weights (float16, bfloat16, int8-row) staying compact.
 *
 * On success *model receives a new model, which the caller frees with fff_model_free; on failure
 * *model is set to NULL (when `model` is not NULL).
 * Errors: FFF_ERR_IO_ERROR when the file cannot be opened or read; the spec's code (1 ... 19) for
 * the first problem of the file; FFF_ERR_INVALID_ARGUMENT when `path` or `model` is NULL or `path`
 * is not valid UTF-8; FFF_ERR_KERNEL_UNAVAILABLE for a bad FFF_KERNEL.
 * Thread-safe (loads may run concurrently). Complexity: O(file size + number of parameters). */
fff_status fff_model_load_path(const char *path, fff_model **model, fff_error *error);

/* As fff_model_load_path, from the `length` bytes of a whole file at `bytes` (any alignment).
 * The bytes are only read during the call: the model keeps its own copy of what it needs.
 * `bytes` may be NULL when `length` is 0 (an empty file: FFF_ERR_TRUNCATED).
 * Errors: the spec's code (1 ... 19); FFF_ERR_INVALID_ARGUMENT when `model` is NULL, or `bytes` is
 * NULL with a nonzero length; FFF_ERR_KERNEL_UNAVAILABLE for a bad FFF_KERNEL.
 * Thread-safe. Complexity: O(length + number of parameters). */
fff_status fff_model_load_bytes(const void *bytes, size_t length, fff_model **model, fff_error *error);

/* Frees a model and every string its getters returned. NULL is ignored. Workspaces made for it
 * stay valid (they hold no reference to it) and must be freed on their own.
 * Must not run while another call uses the model. O(1) plus the deallocation. */
void fff_model_free(fff_model *model);

/* The model's shape (spec §7). Each returns 0 for a NULL model. Thread-safe. O(1). */
size_t fff_model_input_width(const fff_model *model);   /* I: features per record */
size_t fff_model_output_width(const fff_model *model);  /* O: outputs (classes) per record */
size_t fff_model_depth(const fff_model *model);         /* d: 2^d leaves, 2^d - 1 nodes; 0 = one leaf */
size_t fff_model_leaf_count(const fff_model *model);    /* 2^d */
size_t fff_model_leaf_width(const fff_model *model);    /* H: hidden units of every leaf */
size_t fff_model_master_width(const fff_model *model);  /* M: hidden units of the master leaf; 0 without one */

/* The hidden activation by its spec name: "identity", "relu", "gelu", "gelu-tanh", "silu",
 * "sigmoid" or "tanh". Owned by the model; NULL for a NULL model. Thread-safe. O(1). */
const char *fff_model_activation(const fff_model *model);

/* How the leaf and master-leaf weights (LFW1, LFW2, MSW1, MSW2) are stored, by the spec's name:
 * "float32", "float16", "bfloat16" or "int8-row" (format 1.1, spec §7.2). The runtime computes
 * in float32 whatever the type. Owned by the model; NULL for a NULL model. Thread-safe. O(1). */
const char *fff_model_weight_type(const fff_model *model);

/* How the node weights (NODW) are stored: "float32", "float16", "bfloat16" or "int8-row"
 * ("float32" at depth 0). Owned by the model; NULL for a NULL model. Thread-safe. O(1). */
const char *fff_model_node_type(const fff_model *model);

/* The compute kernel the model runs: "avx512", "avx2" or "portable" (chosen at load). Owned by
 * the model; NULL for a NULL model. Thread-safe. O(1). */
const char *fff_model_kernel(const fff_model *model);

/* Bytes of packed parameters the model holds (weights in their element types, row scales,
 * biases, preprocessing, padding). 0 for a NULL model. Thread-safe. O(1). */
size_t fff_model_packed_bytes(const fff_model *model);

/* 1 when the model declares preprocessing (applied to FFF_INPUT_RAW records), else 0 (also for
 * a NULL model). Thread-safe. O(1). */
int fff_model_has_preprocessing(const fff_model *model);

/* The preprocessing of input `feature` (x = raw * scale + offset, spec §8): writes *scale and
 * *offset; scale 1 and offset 0 when the model has none.
 * Errors: FFF_ERR_INVALID_ARGUMENT when a pointer is NULL or feature >= input width.
 * Thread-safe. O(1). */
fff_status fff_model_preprocessing(const fff_model *model, size_t feature, float *scale, float *offset,
                                   fff_error *error);

/* The number of class labels: the output width when the model names its classes, else 0
 * (also for a NULL model). Thread-safe. O(1). */
size_t fff_model_label_count(const fff_model *model);

/* Label `index` (the name of output `index`), UTF-8, NUL-terminated, owned by the model (valid
 * until fff_model_free). When `length` is not NULL it receives the label's length in bytes (a
 * label may contain the byte 0). NULL (and *length 0) when the model is NULL, has no labels, or
 * index >= fff_model_label_count. Thread-safe. O(1). */
const char *fff_model_label(const fff_model *model, size_t index, size_t *length);

/* The number of metadata pairs (spec §13), in file order; 0 for a NULL model. Thread-safe. O(1). */
size_t fff_model_metadata_count(const fff_model *model);

/* Key of metadata pair `index` (printable ASCII), NUL-terminated, owned by the model; its length
 * in *length when `length` is not NULL. NULL (and *length 0) when the model is NULL or index >=
 * fff_model_metadata_count. Keys may repeat. Thread-safe. O(1). */
const char *fff_model_metadata_key(const fff_model *model, size_t index, size_t *length);

/* Value of metadata pair `index` (UTF-8, may be empty, may contain the byte 0), NUL-terminated,
 * owned by the model; its length in bytes in *length when `length` is not NULL. NULL (and
 * *length 0) when the model is NULL or index >= fff_model_metadata_count. Thread-safe. O(1). */
const char *fff_model_metadata_value(const fff_model *model, size_t index, size_t *length);

/* Value of the first metadata pair whose key is `key` (compared byte for byte), as
 * fff_model_metadata_value; NULL (and *length 0) when there is none or an argument is NULL.
 * Thread-safe. O(number of pairs x key length). */
const char *fff_model_metadata_find(const fff_model *model, const char *key, size_t *length);

/* ---------------------------------------------------------------------------------------------
 * Workspaces
 * ------------------------------------------------------------------------------------------- */

/* Makes a workspace sized for `model`: all the scratch memory inference needs, so that inference
 * calls allocate nothing. One per thread (see Threading above); it serves any model it fits
 * (fff_workspace_fits), not only this one, and holds no reference to the model.
 *
 * `batch_capacity`: records per chunk of the batch calls (records of a chunk that reach the same
 * node or leaf are evaluated together); 0 picks the default: 64, fewer for wide records, so that
 * a chunk's inputs and outputs take about 512 KiB at most. At most 65536.
 * On success *workspace receives a new workspace, freed with fff_workspace_free; on failure
 * *workspace is set to NULL (when `workspace` is not NULL).
 * Errors: FFF_ERR_INVALID_ARGUMENT when `model` or `workspace` is NULL, or the capacity is above
 * 65536 or would need more than 4 GiB.
 * Thread-safe. Complexity: O((I + O) x batch capacity + H + M) to allocate and zero it. */
fff_status fff_workspace_create(const fff_model *model, size_t batch_capacity, fff_workspace **workspace,
                                fff_error *error);

/* Frees a workspace. NULL is ignored. Must not run while another call uses it. O(1). */
void fff_workspace_free(fff_workspace *workspace);

/* The workspace's records per chunk of batch calls; 0 for NULL. O(1). */
size_t fff_workspace_batch_capacity(const fff_workspace *workspace);

/* 1 when the workspace is large enough for `model` (inference calls with both succeed), else 0
 * (also when either is NULL). O(1). */
int fff_workspace_fits(const fff_workspace *workspace, const fff_model *model);

/* ---------------------------------------------------------------------------------------------
 * Inference
 *
 * Every call takes the model, a workspace that fits it (used by this thread only during the call),
 * the record(s) as float32 values, and the widths the caller assumes: `input_width` values per
 * record and `output_width` outputs per record must be the model's (a mismatch is reported, not
 * run). `flags` is FFF_INPUT_RAW or FFF_INPUT_PREPROCESSED. Results are deterministic for a model
 * on a machine: the batch calls give bitwise the results of the one-record calls. Outputs must not
 * overlap the records. No call allocates.
 *
 * Errors of every inference call: FFF_ERR_INVALID_ARGUMENT when a required pointer is NULL, a
 * width differs from the model's, count x width overflows, or `flags` has an unknown bit;
 * FFF_ERR_WORKSPACE_MISMATCH when the workspace was sized for a smaller model. On an error nothing
 * is written to the outputs.
 * ------------------------------------------------------------------------------------------- */

/* Evaluates one record (`input_width` floats at `record`) and writes its `output_width` outputs
 * (spec §14) to `output`. When `leaf` is not NULL it receives the leaf the record reached.
 * Thread-safe with distinct workspaces. Complexity: O(d·I + (H + M)·(I + O)); no allocation. */
fff_status fff_predict(const fff_model *model, fff_workspace *workspace,
                       const float *record, size_t input_width, uint32_t flags,
                       float *output, size_t output_width, int32_t *leaf, fff_error *error);

/* The predicted class of one record: argmax of its outputs, that output, and the leaf, in
 * *result. The outputs are computed in the workspace.
 * Thread-safe with distinct workspaces. Complexity: as fff_predict plus O(O); no allocation. */
fff_status fff_classify(const fff_model *model, fff_workspace *workspace,
                        const float *record, size_t input_width, uint32_t flags,
                        fff_classification *result, fff_error *error);

/* The leaf (0 ... 2^d - 1) one record descends to, in *leaf, without evaluating any leaf.
 * Thread-safe with distinct workspaces. Complexity: O(d·I); no allocation. */
fff_status fff_leaf(const fff_model *model, fff_workspace *workspace,
                    const float *record, size_t input_width, uint32_t flags,
                    int32_t *leaf, fff_error *error);

/* fff_predict on `count` records stored contiguously, row-major: record r's feature i is
 * records[r * input_width + i], its output o goes to outputs[r * output_width + o], and, when
 * `leaves` is not NULL, its leaf to leaves[r]. Faster per record than one call each (records of a
 * chunk that share a node or a leaf are evaluated together); bitwise the same results.
 * `records` and `outputs` may be NULL when count is 0.
 * Thread-safe with distinct workspaces. Complexity: O(count · (d·I + (H + M)·(I + O)));
 * no allocation. */
fff_status fff_batch_predict(const fff_model *model, fff_workspace *workspace,
                             const float *records, size_t count, size_t input_width, uint32_t flags,
                             float *outputs, size_t output_width, int32_t *leaves, fff_error *error);

/* fff_classify on `count` contiguous records (as fff_batch_predict lays them out), results[r] for
 * record r. Runs the batch kernels, chunk by chunk, through the workspace's own output buffer.
 * `records` and `results` may be NULL when count is 0.
 * Thread-safe with distinct workspaces. Complexity: as fff_batch_predict plus O(count · O);
 * no allocation. */
fff_status fff_batch_classify(const fff_model *model, fff_workspace *workspace,
                              const float *records, size_t count, size_t input_width, uint32_t flags,
                              fff_classification *results, fff_error *error);

/* fff_leaf on `count` contiguous records: leaves[r] for record r. `records` and `leaves` may be
 * NULL when count is 0.
 * Thread-safe with distinct workspaces. Complexity: O(count · d · I); no allocation. */
fff_status fff_batch_leaf(const fff_model *model, fff_workspace *workspace,
                          const float *records, size_t count, size_t input_width, uint32_t flags,
                          int32_t *leaves, fff_error *error);

#ifdef __cplusplus
}
#endif

#endif /* FASTFEEDFORWARD_H */
