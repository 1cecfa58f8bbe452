/*
 * The C API (fastfeedforward.h, libfastfeedforward_c.so) from a C program's seat. Run by
 * Tests/CAPI/run.sh, which builds the library, prepares the data (Tests/CAPI/prepare.py) and
 * compiles this file with -std=c11 -Wall -Wextra -Werror.
 *
 *   capi_test DATA-DIR [--only NAME,...] [--mnist DIR | --no-mnist REASON]
 *
 * DATA-DIR holds what prepare.py writes. --mnist DIR holds the three converted paper checkpoints
 * and the decompressed MNIST test set (run.sh makes them); --no-mnist says why they are absent.
 * Prints one line per test and a closing "capi: N passed, F failed, S skipped"; exits 1 on any
 * failure.
 */
#define _POSIX_C_SOURCE 200809L

#include "fastfeedforward.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

/* ------------------------------------------------------------------------------------------ */
/* A small test harness                                                                       */
/* ------------------------------------------------------------------------------------------ */

static int failures; /* of the running test */
static int passed_count, failed_count, skipped_count;
static const char *only; /* run only the tests of these names, a comma-separated list */
static const char *data_dir;

#define CHECK(condition, ...)                                                        \
    do {                                                                             \
        if (!(condition)) {                                                          \
            failures++;                                                              \
            if (failures <= 20) {                                                    \
                fprintf(stderr, "    FAIL %s:%d: %s: ", __FILE__, __LINE__, #condition); \
                fprintf(stderr, __VA_ARGS__);                                        \
                fputc('\n', stderr);                                                 \
            }                                                                        \
        }                                                                            \
    } while (0)

static int selected(const char *name)
{
    if (only == NULL) return 1;
    size_t length = strlen(name);
    for (const char *at = only; *at; at++) {
        if ((at == only || at[-1] == ',') && strncmp(at, name, length) == 0 && (at[length] == ',' || at[length] == 0)) return 1;
    }
    return 0;
}

static void run(const char *name, void (*test)(void))
{
    if (!selected(name)) return;
    failures = 0;
    test();
    if (failures == 0) {
        passed_count++;
        printf("ok      %s\n", name);
    } else {
        failed_count++;
        printf("FAILED  %s (%d failed checks)\n", name, failures);
    }
    fflush(stdout);
}

static void skip(const char *name, const char *reason)
{
    if (!selected(name)) return;
    skipped_count++;
    printf("skipped %s: %s\n", name, reason);
    fflush(stdout);
}

static void note(const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    printf("        ");
    vprintf(format, arguments);
    printf("\n");
    va_end(arguments);
}

static char *path_in(const char *dir, const char *name)
{
    size_t length = strlen(dir) + strlen(name) + 2;
    char *path = malloc(length);
    if (path == NULL) abort();
    snprintf(path, length, "%s/%s", dir, name);
    return path;
}

static void *read_file(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) return NULL;
    size_t capacity = 1 << 16, used = 0;
    unsigned char *bytes = malloc(capacity);
    if (bytes == NULL) abort();
    size_t got;
    while ((got = fread(bytes + used, 1, capacity - used, file)) > 0) {
        used += got;
        if (used == capacity) {
            capacity *= 2;
            bytes = realloc(bytes, capacity);
            if (bytes == NULL) abort();
        }
    }
    fclose(file);
    *length = used;
    return bytes;
}

/* Reads the next whitespace-separated token (at most 255 bytes). */
static int token(FILE *file, char *buffer)
{
    return fscanf(file, "%255s", buffer) == 1;
}

/* Reads the next token and checks that it is `word`. */
static int expect_word(FILE *file, const char *word)
{
    char buffer[256];
    return token(file, buffer) && strcmp(buffer, word) == 0;
}

static double number(FILE *file)
{
    char buffer[256];
    if (!token(file, buffer)) return NAN;
    return strtod(buffer, NULL);
}

static long integer(FILE *file)
{
    char buffer[256];
    if (!token(file, buffer)) return -1;
    return strtol(buffer, NULL, 10);
}

static int same_bits(float a, float b)
{
    uint32_t x, y;
    memcpy(&x, &a, 4);
    memcpy(&y, &b, 4);
    return x == y;
}

/* Loads a model by path, failing the test (and returning NULL) if it does not load. */
static fff_model *load(const char *path)
{
    fff_model *model = NULL;
    fff_error error;
    fff_status status = fff_model_load_path(path, &model, &error);
    CHECK(status == FFF_OK && model != NULL, "%s: %s", path, error.message);
    return model;
}

static fff_workspace *workspace_for(const fff_model *model, size_t capacity)
{
    fff_workspace *workspace = NULL;
    fff_error error;
    fff_status status = fff_workspace_create(model, capacity, &workspace, &error);
    CHECK(status == FFF_OK && workspace != NULL, "fff_workspace_create: %s", error.message);
    return workspace;
}

/* ------------------------------------------------------------------------------------------ */
/* Versions and names                                                                         */
/* ------------------------------------------------------------------------------------------ */

static const char *const spec_codes[] = {
    "bad-magic", "unsupported-version", "truncated", "trailing-bytes", "checksum-mismatch",
    "reserved-nonzero", "bad-layout", "unknown-critical-section", "duplicate-section",
    "missing-section", "unexpected-section", "unknown-codec", "unknown-filter",
    "decompression-failed", "shape-mismatch", "limit-exceeded", "invalid-value",
    "unsupported-feature", "non-finite-parameter", "io-error",
};

static void test_versions(void)
{
    char *path = path_in(data_dir, "version.txt");
    FILE *file = fopen(path, "r");
    char release[256] = "";
    CHECK(file != NULL && token(file, release), "cannot read %s", path);
    if (file) fclose(file);
    free(path);
    CHECK(fff_version() != NULL && strcmp(fff_version(), release) == 0,
          "fff_version() is %s; pyfff.__version__ is %s", fff_version(), release);
    CHECK(strcmp(fff_version(), FFF_VERSION) == 0, "fff_version() %s, FFF_VERSION %s", fff_version(), FFF_VERSION);
    CHECK(fff_abi_version() == FFF_ABI_VERSION, "fff_abi_version() %u, FFF_ABI_VERSION %d",
          (unsigned)fff_abi_version(), FFF_ABI_VERSION);

    CHECK(strcmp(fff_status_name(FFF_OK), "ok") == 0, "%s", fff_status_name(FFF_OK));
    for (int code = 1; code <= 20; code++) {
        CHECK(strcmp(fff_status_name((fff_status)code), spec_codes[code - 1]) == 0,
              "status %d is %s, the spec says %s", code, fff_status_name((fff_status)code), spec_codes[code - 1]);
    }
    CHECK(FFF_ERR_BAD_MAGIC == 1 && FFF_ERR_SHAPE_MISMATCH == 15 && FFF_ERR_IO_ERROR == 20, "enum numbers");
    CHECK(strcmp(fff_status_name(FFF_ERR_INVALID_ARGUMENT), "invalid-argument") == 0, "invalid-argument");
    CHECK(strcmp(fff_status_name(FFF_ERR_WORKSPACE_MISMATCH), "workspace-mismatch") == 0, "workspace-mismatch");
    CHECK(strcmp(fff_status_name(FFF_ERR_KERNEL_UNAVAILABLE), "kernel-unavailable") == 0, "kernel-unavailable");
    CHECK(strcmp(fff_status_name((fff_status)21), "unknown") == 0, "21");
    CHECK(strcmp(fff_status_name((fff_status)99), "unknown") == 0, "99");
    CHECK(strcmp(fff_status_name((fff_status)-1), "unknown") == 0, "-1");
}

/* ------------------------------------------------------------------------------------------ */
/* Golden answers: the float64 reference on every golden model and on the demo                */
/* ------------------------------------------------------------------------------------------ */

typedef struct golden {
    size_t count, in, out;
    int exact;
    float *inputs;    /* count x in */
    double *outputs;  /* count x out */
    int *leaves, *argmax, *near_tie, *check_argmax;
} golden;

static int read_golden(const char *path, golden *g)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) return 0;
    memset(g, 0, sizeof *g);
    g->count = (size_t)integer(file);
    g->in = (size_t)integer(file);
    g->out = (size_t)integer(file);
    g->exact = (int)integer(file);
    g->inputs = calloc(g->count * g->in, sizeof(float));
    g->outputs = calloc(g->count * g->out, sizeof(double));
    g->leaves = calloc(g->count, sizeof(int));
    g->argmax = calloc(g->count, sizeof(int));
    g->near_tie = calloc(g->count, sizeof(int));
    g->check_argmax = calloc(g->count, sizeof(int));
    for (size_t r = 0; r < g->count; r++) {
        g->leaves[r] = (int)integer(file);
        g->argmax[r] = (int)integer(file);
        g->near_tie[r] = (int)integer(file);
        g->check_argmax[r] = (int)integer(file);
        for (size_t i = 0; i < g->in; i++) g->inputs[r * g->in + i] = (float)number(file);
        for (size_t o = 0; o < g->out; o++) g->outputs[r * g->out + o] = number(file);
    }
    int ok = !ferror(file);
    fclose(file);
    return ok;
}

static void free_golden(golden *g)
{
    free(g->inputs);
    free(g->outputs);
    free(g->leaves);
    free(g->argmax);
    free(g->near_tie);
    free(g->check_argmax);
}

/* §14.3: |out - ref| <= atol + rtol |ref|, rtol 1e-4, atol 1e-4 (1 + max |ref|); NaN only with NaN. */
static int outputs_agree(const float *got, const double *reference, size_t count)
{
    double top = 0;
    for (size_t o = 0; o < count; o++) {
        if (!isnan(reference[o]) && fabs(reference[o]) > top) top = fabs(reference[o]);
    }
    double atol = 1e-4 * (1 + top);
    for (size_t o = 0; o < count; o++) {
        if (isnan(reference[o]) || isnan(got[o])) {
            if (isnan(reference[o]) != isnan(got[o])) return 0;
            continue;
        }
        if (!(fabs((double)got[o] - reference[o]) <= atol + 1e-4 * fabs(reference[o]))) return 0;
    }
    return 1;
}

typedef struct golden_totals {
    size_t files, records, other_side, compact;
} golden_totals;

/* Every inference call of the API on one golden model: single calls against the reference, the
 * batch calls against the single ones (bitwise), preprocessed input, loading from bytes. */
static void check_golden(const char *name, const char *model_path, const char *data_path, golden_totals *totals)
{
    golden g;
    if (!read_golden(data_path, &g)) {
        CHECK(0, "%s: cannot read %s", name, data_path);
        return;
    }
    fff_model *model = load(model_path);
    if (model == NULL) {
        free_golden(&g);
        return;
    }
    CHECK(fff_model_input_width(model) == g.in && fff_model_output_width(model) == g.out,
          "%s: model is %zu -> %zu, golden %zu -> %zu", name, fff_model_input_width(model),
          fff_model_output_width(model), g.in, g.out);
    if (strcmp(fff_model_weight_type(model), "float32") != 0) totals->compact++;
    fff_workspace *workspace = workspace_for(model, 5); /* small chunks: batches span several */
    fff_workspace *other = workspace_for(model, 0);
    size_t n = g.count, I = g.in, O = g.out;
    float *single = calloc(n * O, sizeof(float));
    int32_t *single_leaves = calloc(n, sizeof(int32_t));
    fff_classification *classes = calloc(n, sizeof *classes);
    fff_error error;

    for (size_t r = 0; r < n; r++) {
        const float *record = g.inputs + r * I;
        int excused = g.near_tie[r] && !g.exact;
        int32_t leaf = -1;
        fff_status status = fff_predict(model, workspace, record, I, FFF_INPUT_RAW, single + r * O, O, &leaf, &error);
        CHECK(status == FFF_OK && error.code == FFF_OK && error.message[0] == 0, "%s: fff_predict: %s", name, error.message);
        single_leaves[r] = leaf;
        if (leaf == g.leaves[r] || !excused) {
            CHECK(leaf == g.leaves[r], "%s record %zu: leaf %d, reference %d", name, r, leaf, g.leaves[r]);
            CHECK(outputs_agree(single + r * O, g.outputs + r * O, O), "%s record %zu: outputs disagree", name, r);
        } else {
            totals->other_side++;
        }

        fff_classification c;
        status = fff_classify(model, workspace, record, I, FFF_INPUT_RAW, &c, &error);
        CHECK(status == FFF_OK, "%s: fff_classify: %s", name, error.message);
        classes[r] = c;
        CHECK(c.leaf == leaf, "%s record %zu: classify leaf %d, predict leaf %d", name, r, c.leaf, leaf);
        CHECK(c.index >= 0 && (size_t)c.index < O && same_bits(c.score, single[r * O + c.index]),
              "%s record %zu: score is not output %d", name, r, c.index);
        for (size_t o = 0; o < O; o++) {
            CHECK(!(single[r * O + o] > c.score) && (o >= (size_t)c.index || single[r * O + o] < c.score),
                  "%s record %zu: %d is not the first argmax", name, r, c.index);
        }
        if (!excused && g.check_argmax[r]) {
            CHECK(c.index == g.argmax[r], "%s record %zu: class %d, reference %d", name, r, c.index, g.argmax[r]);
        }

        int32_t only_leaf = -1;
        status = fff_leaf(model, workspace, record, I, FFF_INPUT_RAW, &only_leaf, &error);
        CHECK(status == FFF_OK && only_leaf == leaf, "%s record %zu: fff_leaf %d, predict %d", name, r, only_leaf, leaf);

        /* Already preprocessed records (x = raw * scale + offset, computed here): same model. */
        float x[4096];
        if (I <= 4096) {
            for (size_t i = 0; i < I; i++) {
                float scale, offset;
                CHECK(fff_model_preprocessing(model, i, &scale, &offset, NULL) == FFF_OK, "preprocessing");
                x[i] = (float)((double)record[i] * scale + offset);
            }
            float out[256];
            int32_t x_leaf = -1;
            if (O <= 256) {
                status = fff_predict(model, other, x, I, FFF_INPUT_PREPROCESSED, out, O, &x_leaf, NULL);
                CHECK(status == FFF_OK, "%s: preprocessed fff_predict", name);
                if (x_leaf == g.leaves[r] || !excused) {
                    CHECK(x_leaf == g.leaves[r] && outputs_agree(out, g.outputs + r * O, O),
                          "%s record %zu: preprocessed input disagrees", name, r);
                }
                if (!fff_model_has_preprocessing(model)) {
                    /* Without preprocessing both forms are the same computation. */
                    CHECK(memcmp(out, single + r * O, O * sizeof(float)) == 0, "%s record %zu: raw and preprocessed differ", name, r);
                }
            }
        }
    }

    /* Batches, through both workspaces (chunks of 5 and the default): bitwise the single calls. */
    fff_workspace *workspaces[2] = {workspace, other};
    float *outputs = malloc(n * O * sizeof(float));
    int32_t *leaves = malloc(n * sizeof(int32_t));
    fff_classification *results = malloc(n * sizeof *results);
    for (int w = 0; w < 2; w++) {
        memset(outputs, 0xff, n * O * sizeof(float));
        fff_status status = fff_batch_predict(model, workspaces[w], g.inputs, n, I, FFF_INPUT_RAW, outputs, O, leaves, &error);
        CHECK(status == FFF_OK, "%s: fff_batch_predict: %s", name, error.message);
        CHECK(memcmp(outputs, single, n * O * sizeof(float)) == 0, "%s: batch outputs differ from single ones", name);
        CHECK(memcmp(leaves, single_leaves, n * sizeof(int32_t)) == 0, "%s: batch leaves differ", name);
        status = fff_batch_predict(model, workspaces[w], g.inputs, n, I, FFF_INPUT_RAW, outputs, O, NULL, &error);
        CHECK(status == FFF_OK && memcmp(outputs, single, n * O * sizeof(float)) == 0, "%s: batch without leaves", name);

        status = fff_batch_classify(model, workspaces[w], g.inputs, n, I, FFF_INPUT_RAW, results, &error);
        CHECK(status == FFF_OK, "%s: fff_batch_classify: %s", name, error.message);
        for (size_t r = 0; r < n; r++) {
            CHECK(results[r].index == classes[r].index && same_bits(results[r].score, classes[r].score) &&
                      results[r].leaf == classes[r].leaf,
                  "%s record %zu: batch class (%d, %g, %d), single (%d, %g, %d)", name, r, results[r].index,
                  (double)results[r].score, results[r].leaf, classes[r].index, (double)classes[r].score, classes[r].leaf);
        }
        memset(leaves, 0xff, n * sizeof(int32_t));
        status = fff_batch_leaf(model, workspaces[w], g.inputs, n, I, FFF_INPUT_RAW, leaves, &error);
        CHECK(status == FFF_OK && memcmp(leaves, single_leaves, n * sizeof(int32_t)) == 0, "%s: fff_batch_leaf", name);
    }
    /* Part of a batch, and an empty one. */
    if (n > 3) {
        fff_status status = fff_batch_predict(model, workspace, g.inputs + I, 3, I, FFF_INPUT_RAW, outputs, O, leaves, NULL);
        CHECK(status == FFF_OK && memcmp(outputs, single + O, 3 * O * sizeof(float)) == 0, "%s: batch of 3", name);
    }
    CHECK(fff_batch_predict(model, workspace, NULL, 0, I, FFF_INPUT_RAW, NULL, O, NULL, &error) == FFF_OK, "empty batch");
    CHECK(fff_batch_classify(model, workspace, NULL, 0, I, FFF_INPUT_RAW, NULL, &error) == FFF_OK, "empty batch");
    CHECK(fff_batch_leaf(model, workspace, NULL, 0, I, FFF_INPUT_RAW, NULL, &error) == FFF_OK, "empty batch");

    /* The same file from memory: the same model, so bitwise the same answers. */
    size_t length = 0;
    void *bytes = read_file(model_path, &length);
    CHECK(bytes != NULL, "cannot read %s", model_path);
    fff_model *from_bytes = NULL;
    fff_status status = fff_model_load_bytes(bytes, length, &from_bytes, &error);
    CHECK(status == FFF_OK, "%s: fff_model_load_bytes: %s", name, error.message);
    free(bytes); /* the model keeps its own copy */
    if (from_bytes) {
        status = fff_batch_predict(from_bytes, workspace, g.inputs, n, I, FFF_INPUT_RAW, outputs, O, leaves, NULL);
        CHECK(status == FFF_OK && memcmp(outputs, single, n * O * sizeof(float)) == 0, "%s: from bytes differs", name);
        fff_model_free(from_bytes);
    }

    totals->files++;
    totals->records += n;
    free(outputs);
    free(leaves);
    free(results);
    free(single);
    free(single_leaves);
    free(classes);
    fff_workspace_free(workspace);
    fff_workspace_free(other);
    fff_model_free(model);
    free_golden(&g);
}

/* Which golden models a test takes. */
typedef enum golden_kind { GOLDEN_DEMO, GOLDEN_FLOAT32, GOLDEN_COMPACT } golden_kind;

/* Runs check_golden on the golden.txt entries of one kind: the demo, or the other models by
 * their element types (compact: float16, bfloat16 or int8-row weights or nodes). */
static void golden_group(golden_kind kind)
{
    char *index_path = path_in(data_dir, "golden.txt");
    FILE *index = fopen(index_path, "r");
    CHECK(index != NULL, "cannot read %s", index_path);
    free(index_path);
    if (index == NULL) return;
    golden_totals totals = {0, 0, 0, 0};
    char name[256], model_path[4096], data[4096];
    while (fscanf(index, "%255s %4095s %4095s", name, model_path, data) == 3) {
        golden_kind this_kind = GOLDEN_DEMO;
        if (strncmp(name, "demo_", 5) != 0) {
            fff_model *model = load(model_path);
            if (model == NULL) continue;
            int compact = strcmp(fff_model_weight_type(model), "float32") != 0 ||
                          strcmp(fff_model_node_type(model), "float32") != 0;
            this_kind = compact ? GOLDEN_COMPACT : GOLDEN_FLOAT32;
            fff_model_free(model);
        }
        if (this_kind == kind) check_golden(name, model_path, data, &totals);
    }
    fclose(index);
    CHECK(totals.files > 0, "no golden files matched");
    note("%zu model(s), %zu records (%zu with compact weights); %zu near-tie record(s) took the other child",
         totals.files, totals.records, totals.compact, totals.other_side);
}

static void test_demo(void) { golden_group(GOLDEN_DEMO); }
static void test_golden_float32(void) { golden_group(GOLDEN_FLOAT32); }
static void test_golden_compact(void) { golden_group(GOLDEN_COMPACT); }

/* ------------------------------------------------------------------------------------------ */
/* Conformance corpus: every valid file loads, every invalid one gives the spec's code         */
/* ------------------------------------------------------------------------------------------ */

static void test_conformance_invalid(void)
{
    char *list = path_in(data_dir, "invalid.txt");
    FILE *file = fopen(list, "r");
    CHECK(file != NULL, "cannot read %s", list);
    free(list);
    if (file == NULL) return;
    char path[4096], code[256];
    size_t count = 0;
    while (fscanf(file, "%4095s %255s", path, code) == 2) {
        count++;
        fff_error error;
        fff_model *model = (fff_model *)&error; /* must be set to NULL */
        fff_status status = fff_model_load_path(path, &model, &error);
        CHECK(status != FFF_OK && strcmp(fff_status_name(status), code) == 0,
              "%s: got %s (%s), expected %s", path, fff_status_name(status), error.message, code);
        CHECK(error.code == status && model == NULL, "%s: error.code %d, status %d", path, error.code, status);
        CHECK(strncmp(error.message, code, strlen(code)) == 0 && error.message[strlen(code)] == ':',
              "%s: message '%s' does not start with '%s:'", path, error.message, code);
        CHECK(strlen(error.section) <= 4, "%s: section '%s'", path, error.section);
        CHECK(error.offset >= -1, "%s: offset %lld", path, (long long)error.offset);

        size_t length = 0;
        void *bytes = read_file(path, &length);
        CHECK(bytes != NULL, "cannot read %s", path);
        fff_error from_bytes;
        status = fff_model_load_bytes(length ? bytes : NULL, length, &model, &from_bytes);
        CHECK(strcmp(fff_status_name(status), code) == 0 && model == NULL,
              "%s from bytes: got %s (%s), expected %s", path, fff_status_name(status), from_bytes.message, code);
        CHECK(strcmp(from_bytes.message, error.message) == 0 && from_bytes.offset == error.offset &&
                  strcmp(from_bytes.section, error.section) == 0,
              "%s: from bytes '%s', from the path '%s'", path, from_bytes.message, error.message);
        CHECK(fff_model_load_path(path, &model, NULL) == status, "%s: without an error struct", path);
        free(bytes);
    }
    fclose(file);
    CHECK(count > 100, "only %zu invalid files", count);
    note("%zu invalid files: each gives the manifest's code, by path and from bytes", count);
}

static char *hex_to_text(const char *hex, size_t *length)
{
    if (strcmp(hex, "-") == 0) hex = "";
    size_t n = strlen(hex) / 2;
    char *text = malloc(n + 1);
    if (text == NULL) abort();
    for (size_t i = 0; i < n; i++) {
        unsigned value = 0;
        sscanf(hex + 2 * i, "%2x", &value);
        text[i] = (char)value;
    }
    text[n] = 0;
    *length = n;
    return text;
}

/* A string returned by the API against the expected bytes (which may contain NULs). */
static void check_text(const char *what, const char *got, size_t got_length, const char *hex)
{
    size_t length;
    char *expected = hex_to_text(hex, &length);
    CHECK(got != NULL && got_length == length && memcmp(got, expected, length) == 0 && got[length] == 0,
          "%s: '%s' (%zu bytes), expected '%s' (%zu bytes)", what, got ? got : "(null)", got_length, expected, length);
    free(expected);
}

/* Shape, names, preprocessing, labels and metadata of every model, against tools/pyfff. */
static void test_model_info(void)
{
    char *list = path_in(data_dir, "info.txt");
    FILE *file = fopen(list, "r");
    CHECK(file != NULL, "cannot read %s", list);
    free(list);
    if (file == NULL) return;
    static char hex[1 << 16];
    char word[256], path[4096];
    size_t models = 0, labelled = 0, with_metadata = 0;
    while (fscanf(file, "%255s %4095s", word, path) == 2) {
        fff_model *model = load(path);
        models++;
        CHECK(expect_word(file, "shape"), "%s: no shape line", path);
        size_t I = (size_t)integer(file), O = (size_t)integer(file), d = (size_t)integer(file);
        size_t H = (size_t)integer(file), M = (size_t)integer(file);
        char activation[64], weights[64], nodes[64];
        CHECK(expect_word(file, "names") && fscanf(file, "%63s %63s %63s", activation, weights, nodes) == 3,
              "%s: no names line", path);
        if (model) {
            CHECK(fff_model_input_width(model) == I && fff_model_output_width(model) == O &&
                      fff_model_depth(model) == d && fff_model_leaf_count(model) == ((size_t)1 << d) &&
                      fff_model_leaf_width(model) == H && fff_model_master_width(model) == M,
                  "%s: shape", path);
            CHECK(strcmp(fff_model_activation(model), activation) == 0, "%s: activation %s, expected %s", path,
                  fff_model_activation(model), activation);
            CHECK(strcmp(fff_model_weight_type(model), weights) == 0 && strcmp(fff_model_node_type(model), nodes) == 0,
                  "%s: types %s/%s, expected %s/%s", path, fff_model_weight_type(model), fff_model_node_type(model),
                  weights, nodes);
            const char *kernel = fff_model_kernel(model), *forced = getenv("FFF_KERNEL");
            CHECK(kernel && (!strcmp(kernel, "avx512") || !strcmp(kernel, "avx2") || !strcmp(kernel, "portable")),
                  "kernel %s", kernel ? kernel : "(null)");
            CHECK(kernel && (forced == NULL || forced[0] == 0 || strcmp(kernel, forced) == 0),
                  "kernel %s, FFF_KERNEL=%s", kernel ? kernel : "(null)", forced);
            CHECK(fff_model_packed_bytes(model) > 0, "packed bytes");
        }
        CHECK(expect_word(file, "prep"), "%s: no prep line", path);
        size_t prep = (size_t)integer(file);
        if (model) CHECK(fff_model_has_preprocessing(model) == (prep > 0), "%s: has_preprocessing", path);
        for (size_t i = 0; i < I; i++) {
            float want_scale = 1, want_offset = 0, scale = -7, offset = -7;
            if (prep) {
                want_scale = (float)number(file);
                want_offset = (float)number(file);
            }
            if (model) {
                fff_status status = fff_model_preprocessing(model, i, &scale, &offset, NULL);
                CHECK(status == FFF_OK && same_bits(scale, want_scale) && same_bits(offset, want_offset),
                      "%s feature %zu: (%g, %g), expected (%g, %g)", path, i, (double)scale, (double)offset,
                      (double)want_scale, (double)want_offset);
            }
        }
        CHECK(expect_word(file, "labels"), "%s: no labels line", path);
        size_t labels = (size_t)integer(file);
        if (labels) labelled++;
        if (model) CHECK(fff_model_label_count(model) == labels, "%s: %zu labels, expected %zu", path,
                         fff_model_label_count(model), labels);
        for (size_t i = 0; i < labels; i++) {
            CHECK(fscanf(file, "%65535s", hex) == 1, "format");
            size_t length = 99;
            const char *label = model ? fff_model_label(model, i, &length) : NULL;
            if (model) check_text("label", label, length, hex);
        }
        if (model) {
            size_t length = 99;
            CHECK(fff_model_label(model, labels, &length) == NULL && length == 0, "label past the end");
            CHECK(fff_model_label(model, (size_t)-1, NULL) == NULL, "label -1");
        }
        CHECK(expect_word(file, "meta"), "%s: no meta line", path);
        size_t pairs = (size_t)integer(file);
        if (pairs) with_metadata++;
        if (model) CHECK(fff_model_metadata_count(model) == pairs, "%s: %zu pairs, expected %zu", path,
                         fff_model_metadata_count(model), pairs);
        for (size_t i = 0; i < pairs; i++) {
            char key_hex[1024];
            CHECK(fscanf(file, "%1023s %65535s", key_hex, hex) == 2, "format");
            if (model == NULL) continue;
            size_t key_length = 99, value_length = 99;
            const char *key = fff_model_metadata_key(model, i, &key_length);
            const char *value = fff_model_metadata_value(model, i, &value_length);
            check_text("metadata key", key, key_length, key_hex);
            check_text("metadata value", value, value_length, hex);
            /* find gives the first pair with the key. */
            size_t first = 0;
            while (first < i && strcmp(fff_model_metadata_key(model, first, NULL), key) != 0) first++;
            size_t found_length = 99, first_length = 98;
            const char *found = fff_model_metadata_find(model, key, &found_length);
            CHECK(found == fff_model_metadata_value(model, first, &first_length) && found_length == first_length,
                  "%s: metadata_find(%s)", path, key);
        }
        if (model) {
            size_t length = 99;
            CHECK(fff_model_metadata_key(model, pairs, &length) == NULL && length == 0, "key past the end");
            CHECK(fff_model_metadata_value(model, pairs, NULL) == NULL, "value past the end");
            CHECK(fff_model_metadata_find(model, "no such key, surely", &length) == NULL && length == 0, "missing key");
            CHECK(fff_model_metadata_find(model, NULL, NULL) == NULL, "NULL key");
        }
        fff_model_free(model);
    }
    fclose(file);
    CHECK(models > 30 && labelled > 0 && with_metadata > 0, "%zu models", models);
    note("%zu models (%zu with labels, %zu with metadata) match tools/pyfff", models, labelled, with_metadata);
}

static void test_conformance_valid(void)
{
    char *list = path_in(data_dir, "valid.txt");
    FILE *file = fopen(list, "r");
    CHECK(file != NULL, "cannot read %s", list);
    free(list);
    if (file == NULL) return;
    char path[4096];
    size_t count = 0;
    while (fscanf(file, "%4095s", path) == 1) {
        count++;
        fff_model *model = load(path);
        size_t length = 0;
        void *bytes = read_file(path, &length);
        fff_model *copy = NULL;
        fff_error error;
        CHECK(fff_model_load_bytes(bytes, length, &copy, &error) == FFF_OK && copy != NULL &&
                  error.code == FFF_OK && error.message[0] == 0 && error.offset == -1 && error.section[0] == 0,
              "%s from bytes: %s", path, error.message);
        free(bytes);
        fff_model_free(copy);
        fff_model_free(model);
    }
    fclose(file);
    CHECK(count >= 20, "only %zu valid files", count);
    note("%zu valid files load, by path and from bytes", count);
}

/* ------------------------------------------------------------------------------------------ */
/* Bad arguments: every one reported, none fatal                                               */
/* ------------------------------------------------------------------------------------------ */

/* A file of the repository's fixtures directory (DATA-DIR/fixtures.txt names it). */
static char *fixture(const char *relative)
{
    static char fixtures[4096];
    if (fixtures[0] == 0) {
        char *path = path_in(data_dir, "fixtures.txt");
        FILE *file = fopen(path, "r");
        free(path);
        if (file == NULL || fscanf(file, "%4095s", fixtures) != 1) {
            fprintf(stderr, "capi_test: cannot read DATA-DIR/fixtures.txt\n");
            exit(1);
        }
        fclose(file);
    }
    return path_in(fixtures, relative);
}

static void expect_status(fff_status got, fff_status expected, const fff_error *error, const char *what)
{
    CHECK(got == expected && error->code == expected, "%s: %s (%s), expected %s", what, fff_status_name(got),
          error->message, fff_status_name(expected));
    const char *name = fff_status_name(expected);
    CHECK(strncmp(error->message, name, strlen(name)) == 0, "%s: message '%s'", what, error->message);
}

static void test_load_errors(void)
{
    fff_error error;
    fff_model *model = NULL;
    expect_status(fff_model_load_path("/nonexistent/model.fff", &model, &error), FFF_ERR_IO_ERROR, &error, "missing file");
    CHECK(model == NULL && strstr(error.message, "/nonexistent/model.fff") != NULL, "message '%s'", error.message);
    CHECK(fff_model_load_path("/nonexistent/model.fff", &model, NULL) == FFF_ERR_IO_ERROR, "without error struct");
    char *directory = fixture("demo");
    expect_status(fff_model_load_path(directory, &model, &error), FFF_ERR_IO_ERROR, &error, "a directory");
    free(directory);
    expect_status(fff_model_load_path(NULL, &model, &error), FFF_ERR_INVALID_ARGUMENT, &error, "NULL path");
    char *demo = fixture("demo/digits.fff");
    expect_status(fff_model_load_path(demo, NULL, &error), FFF_ERR_INVALID_ARGUMENT, &error, "NULL model");
    expect_status(fff_model_load_path("\xff\xfe.fff", &model, &error), FFF_ERR_INVALID_ARGUMENT, &error, "not UTF-8");
    expect_status(fff_model_load_bytes(NULL, 10, &model, &error), FFF_ERR_INVALID_ARGUMENT, &error, "NULL bytes");
    expect_status(fff_model_load_bytes(NULL, 0, &model, &error), FFF_ERR_TRUNCATED, &error, "no bytes");
    expect_status(fff_model_load_bytes("FFF", 3, NULL, &error), FFF_ERR_INVALID_ARGUMENT, &error, "NULL model");
    expect_status(fff_model_load_bytes("not a model file at all, no", 27, &model, &error), FFF_ERR_BAD_MAGIC, &error,
                  "bad magic");
    expect_status(fff_model_load_bytes("x", (size_t)-1, &model, &error), FFF_ERR_INVALID_ARGUMENT, &error, "huge length");

    /* A corrupt copy of the demo: one bit of the header checksum flipped. */
    size_t length = 0;
    unsigned char *bytes = read_file(demo, &length);
    CHECK(bytes != NULL && length > 64, "cannot read the demo");
    if (bytes) {
        bytes[length / 2] ^= 0x10; /* inside some section: its CRC-32 no longer matches */
        expect_status(fff_model_load_bytes(bytes, length, &model, &error), FFF_ERR_CHECKSUM_MISMATCH, &error,
                      "a flipped bit");
        CHECK(error.section[0] != 0 && error.offset > 0, "section '%s' offset %lld", error.section, (long long)error.offset);
        free(bytes);
    }

    /* FFF_KERNEL naming no kernel: reported, not fatal. */
    setenv("FFF_KERNEL", "no-such-kernel", 1);
    expect_status(fff_model_load_path(demo, &model, &error), FFF_ERR_KERNEL_UNAVAILABLE, &error, "FFF_KERNEL");
    CHECK(strstr(error.message, "FFF_KERNEL") != NULL, "message '%s'", error.message);
    unsetenv("FFF_KERNEL");
    CHECK(fff_model_load_path(demo, &model, &error) == FFF_OK, "after FFF_KERNEL: %s", error.message);
    fff_model_free(model);
    free(demo);

    fff_model_free(NULL);
    fff_workspace_free(NULL);
}

static void test_argument_errors(void)
{
    char *demo_path = fixture("demo/digits.fff");
    char *small_path = fixture("conformance/valid/depth0_identity.fff");
    fff_model *demo = load(demo_path), *small = load(small_path);
    free(demo_path);
    free(small_path);
    if (!demo || !small) return;
    size_t I = fff_model_input_width(demo), O = fff_model_output_width(demo);
    CHECK(I == 64 && O == 10, "demo is %zu -> %zu", I, O);
    fff_workspace *ws = workspace_for(demo, 0), *small_ws = workspace_for(small, 0);
    fff_error error;
    float record[64] = {0}, output[10], outputs[30];
    float records[3 * 64] = {0};
    int32_t leaf = 77, leaves[3] = {77, 77, 77};
    fff_classification result = {77, 77, 77}, results[3];
    for (size_t i = 0; i < 64; i++) record[i] = (float)(i % 17);
    for (size_t o = 0; o < 10; o++) output[o] = 1234.5f;

#define BAD(call, expected)                                                                   \
    do {                                                                                      \
        memset(&error, 0x55, sizeof error);                                                   \
        expect_status((call), (expected), &error, #call);                                     \
        CHECK((call) == (expected), "again without looking: " #call);                         \
    } while (0)

    /* NULL handles and pointers */
    BAD(fff_predict(NULL, ws, record, I, 0, output, O, &leaf, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_predict(demo, NULL, record, I, 0, output, O, &leaf, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_predict(demo, ws, NULL, I, 0, output, O, &leaf, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_predict(demo, ws, record, I, 0, NULL, O, &leaf, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_classify(demo, ws, record, I, 0, NULL, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_classify(NULL, ws, record, I, 0, &result, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_classify(demo, ws, NULL, I, 0, &result, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_leaf(demo, ws, record, I, 0, NULL, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_leaf(demo, NULL, record, I, 0, &leaf, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_batch_predict(demo, ws, NULL, 3, I, 0, outputs, O, leaves, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_batch_predict(demo, ws, records, 3, I, 0, NULL, O, leaves, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_batch_classify(demo, ws, records, 3, I, 0, NULL, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_batch_classify(demo, NULL, records, 3, I, 0, results, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_batch_leaf(demo, ws, records, 3, I, 0, NULL, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_batch_leaf(NULL, ws, records, 3, I, 0, leaves, &error), FFF_ERR_INVALID_ARGUMENT);
    /* Widths that are not the model's */
    BAD(fff_predict(demo, ws, record, I - 1, 0, output, O, &leaf, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_predict(demo, ws, record, I + 1, 0, output, O, &leaf, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_predict(demo, ws, record, 0, 0, output, O, &leaf, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_predict(demo, ws, record, I, 0, output, O + 1, &leaf, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_predict(demo, ws, record, I, 0, output, 0, &leaf, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_classify(demo, ws, record, 784, 0, &result, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_leaf(demo, ws, record, (size_t)-1, 0, &leaf, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_batch_predict(demo, ws, records, 3, I, 0, outputs, O - 1, leaves, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_batch_classify(demo, ws, records, 3, 32, 0, results, &error), FFF_ERR_INVALID_ARGUMENT);
    /* Counts whose sizes overflow */
    BAD(fff_batch_predict(demo, ws, records, (size_t)-1, I, 0, outputs, O, leaves, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_batch_predict(demo, ws, records, SIZE_MAX / 32, I, 0, outputs, O, leaves, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_batch_classify(demo, ws, records, SIZE_MAX / 64 + 1, I, 0, results, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_batch_leaf(demo, ws, records, (size_t)1 << 62, I, 0, leaves, &error), FFF_ERR_INVALID_ARGUMENT);
    /* Unknown flags */
    BAD(fff_predict(demo, ws, record, I, 2, output, O, &leaf, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_classify(demo, ws, record, I, 0x80000000u, &result, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_batch_leaf(demo, ws, records, 3, I, 3, leaves, &error), FFF_ERR_INVALID_ARGUMENT);
    /* A workspace sized for a smaller model */
    CHECK(fff_workspace_fits(small_ws, demo) == 0 && fff_workspace_fits(ws, small) == 1 &&
              fff_workspace_fits(ws, demo) == 1 && fff_workspace_fits(NULL, demo) == 0 && fff_workspace_fits(ws, NULL) == 0,
          "fff_workspace_fits");
    BAD(fff_predict(demo, small_ws, record, I, 0, output, O, &leaf, &error), FFF_ERR_WORKSPACE_MISMATCH);
    BAD(fff_classify(demo, small_ws, record, I, 0, &result, &error), FFF_ERR_WORKSPACE_MISMATCH);
    BAD(fff_leaf(demo, small_ws, record, I, 0, &leaf, &error), FFF_ERR_WORKSPACE_MISMATCH);
    BAD(fff_batch_predict(demo, small_ws, records, 3, I, 0, outputs, O, leaves, &error), FFF_ERR_WORKSPACE_MISMATCH);
    BAD(fff_batch_classify(demo, small_ws, records, 3, I, 0, results, &error), FFF_ERR_WORKSPACE_MISMATCH);
    BAD(fff_batch_leaf(demo, small_ws, records, 3, I, 0, leaves, &error), FFF_ERR_WORKSPACE_MISMATCH);
    /* Nothing was written by any failed call. */
    for (size_t o = 0; o < 10; o++) CHECK(output[o] == 1234.5f, "output %zu written", o);
    CHECK(leaf == 77 && leaves[0] == 77 && result.index == 77, "results written");

    /* A bigger model's workspace serves a smaller model: the same answers as its own. */
    size_t small_I = fff_model_input_width(small), small_O = fff_model_output_width(small);
    float small_out[2][64];
    CHECK(small_I <= 64 && small_O <= 64, "small model is %zu -> %zu", small_I, small_O);
    CHECK(fff_predict(small, small_ws, record, small_I, 0, small_out[0], small_O, NULL, &error) == FFF_OK, "own");
    CHECK(fff_predict(small, ws, record, small_I, 0, small_out[1], small_O, NULL, &error) == FFF_OK, "bigger: %s",
          error.message);
    CHECK(memcmp(small_out[0], small_out[1], small_O * sizeof(float)) == 0, "a bigger workspace changes the answer");
    fff_classification small_results[3];
    CHECK(fff_batch_classify(small, ws, records, 3, small_I, 0, small_results, &error) == FFF_OK, "%s", error.message);

    /* Workspaces */
    fff_workspace *made = (fff_workspace *)&error;
    BAD(fff_workspace_create(NULL, 0, &made, &error), FFF_ERR_INVALID_ARGUMENT);
    CHECK(made == NULL, "workspace not set to NULL");
    BAD(fff_workspace_create(demo, 0, NULL, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_workspace_create(demo, 65537, &made, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_workspace_create(demo, (size_t)-1, &made, &error), FFF_ERR_INVALID_ARGUMENT);
    CHECK(fff_workspace_create(demo, 1, &made, &error) == FFF_OK && fff_workspace_batch_capacity(made) == 1, "capacity 1");
    CHECK(fff_batch_classify(demo, made, records, 3, I, 0, results, &error) == FFF_OK, "capacity 1 batch");
    fff_workspace_free(made);
    CHECK(fff_workspace_batch_capacity(ws) == 64 && fff_workspace_batch_capacity(NULL) == 0, "default capacity %zu",
          fff_workspace_batch_capacity(ws));

    /* Getters on NULL */
    CHECK(fff_model_input_width(NULL) == 0 && fff_model_output_width(NULL) == 0 && fff_model_depth(NULL) == 0 &&
              fff_model_leaf_count(NULL) == 0 && fff_model_leaf_width(NULL) == 0 && fff_model_master_width(NULL) == 0 &&
              fff_model_packed_bytes(NULL) == 0 && fff_model_has_preprocessing(NULL) == 0 &&
              fff_model_label_count(NULL) == 0 && fff_model_metadata_count(NULL) == 0,
          "NULL model getters");
    CHECK(fff_model_activation(NULL) == NULL && fff_model_weight_type(NULL) == NULL && fff_model_node_type(NULL) == NULL &&
              fff_model_kernel(NULL) == NULL && fff_model_label(NULL, 0, NULL) == NULL &&
              fff_model_metadata_key(NULL, 0, NULL) == NULL && fff_model_metadata_value(NULL, 0, NULL) == NULL &&
              fff_model_metadata_find(NULL, "name", NULL) == NULL,
          "NULL model strings");
    float scale, offset;
    BAD(fff_model_preprocessing(NULL, 0, &scale, &offset, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_model_preprocessing(demo, I, &scale, &offset, &error), FFF_ERR_INVALID_ARGUMENT);
    BAD(fff_model_preprocessing(demo, 0, NULL, &offset, &error), FFF_ERR_INVALID_ARGUMENT);
    CHECK(fff_model_preprocessing(demo, I - 1, &scale, &offset, &error) == FFF_OK && scale == 0.125f && offset == -1,
          "demo preprocessing (%g, %g)", (double)scale, (double)offset);
    /* The demo's labels and metadata */
    size_t length = 0;
    CHECK(fff_model_label_count(demo) == 10 && strcmp(fff_model_label(demo, 7, &length), "7") == 0 && length == 1,
          "demo labels");
    const char *producer = fff_model_metadata_find(demo, "producer", &length);
    CHECK(producer && strncmp(producer, "fff-convert", 11) == 0 && length == strlen(producer), "demo producer");
#undef BAD

    /* After all that, the handles still work. */
    CHECK(fff_predict(demo, ws, record, I, 0, output, O, &leaf, &error) == FFF_OK && leaf >= 0 && leaf < 8, "still works");
    fff_workspace_free(ws);
    fff_workspace_free(small_ws);
    fff_model_free(demo);
    fff_model_free(small);
}

/* ------------------------------------------------------------------------------------------ */
/* Threads: one model, two threads, a workspace each                                           */
/* ------------------------------------------------------------------------------------------ */

typedef struct thread_job {
    const fff_model *model;
    const golden *g;
    const float *expected;        /* count x O: the main thread's outputs */
    const int32_t *expected_leaves;
    int rounds;
    long mismatches, errors;
} thread_job;

static void *thread_main(void *argument)
{
    thread_job *job = argument;
    const golden *g = job->g;
    size_t n = g->count, I = g->in, O = g->out;
    fff_workspace *ws = NULL;
    if (fff_workspace_create(job->model, 7, &ws, NULL) != FFF_OK) {
        job->errors++;
        return NULL;
    }
    float *outputs = malloc(n * O * sizeof(float));
    int32_t *leaves = malloc(n * sizeof(int32_t));
    fff_classification *results = malloc(n * sizeof *results);
    for (int round = 0; round < job->rounds; round++) {
        fff_error error;
        for (size_t r = 0; r < n; r++) {
            float out[16];
            int32_t leaf;
            if (fff_predict(job->model, ws, g->inputs + r * I, I, FFF_INPUT_RAW, out, O, &leaf, &error) != FFF_OK) job->errors++;
            if (memcmp(out, job->expected + r * O, O * sizeof(float)) != 0 || leaf != job->expected_leaves[r]) job->mismatches++;
        }
        if (fff_batch_predict(job->model, ws, g->inputs, n, I, FFF_INPUT_RAW, outputs, O, leaves, &error) != FFF_OK) job->errors++;
        if (memcmp(outputs, job->expected, n * O * sizeof(float)) != 0) job->mismatches++;
        if (fff_batch_classify(job->model, ws, g->inputs, n, I, FFF_INPUT_RAW, results, &error) != FFF_OK) job->errors++;
        for (size_t r = 0; r < n; r++) {
            if (results[r].leaf != job->expected_leaves[r]) job->mismatches++;
        }
    }
    free(outputs);
    free(leaves);
    free(results);
    fff_workspace_free(ws);
    return NULL;
}

static void test_threads(void)
{
    char *index_path = path_in(data_dir, "golden/demo_digits.txt");
    golden g;
    int read = read_golden(index_path, &g);
    CHECK(read, "cannot read %s", index_path);
    free(index_path);
    if (!read) return;
    char *model_path = fixture("demo/digits.fff");
    fff_model *model = load(model_path);
    free(model_path);
    if (model == NULL) return;
    size_t n = g.count, O = g.out;
    float *expected = malloc(n * O * sizeof(float));
    int32_t *leaves = malloc(n * sizeof(int32_t));
    fff_workspace *ws = workspace_for(model, 0);
    CHECK(fff_batch_predict(model, ws, g.inputs, n, g.in, FFF_INPUT_RAW, expected, O, leaves, NULL) == FFF_OK, "batch");
    fff_workspace_free(ws);

    enum { THREADS = 2 };
    pthread_t threads[THREADS];
    thread_job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (thread_job){model, &g, expected, leaves, 40, 0, 0};
        CHECK(pthread_create(&threads[t], NULL, thread_main, &jobs[t]) == 0, "pthread_create");
    }
    long mismatches = 0, errors = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        mismatches += jobs[t].mismatches;
        errors += jobs[t].errors;
    }
    CHECK(errors == 0 && mismatches == 0, "%ld errors, %ld mismatches", errors, mismatches);
    note("%d threads x %d rounds x %zu records (single and batch) on one model: the same answers", THREADS, 40, n);
    free(expected);
    free(leaves);
    fff_model_free(model);
    free_golden(&g);
}

/* ------------------------------------------------------------------------------------------ */
/* No allocation per inference call                                                            */
/* ------------------------------------------------------------------------------------------ */

#if defined(__GLIBC__) && !TEST_ASAN
#define COUNT_ALLOCATIONS 1
/* This program's allocator replaces glibc's for the whole process (the library and the Swift
 * runtime included) and counts calls while `counting` is set, then hands them to glibc. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);
void *memalign(size_t alignment, size_t size);
void *valloc(size_t size);
void *pvalloc(size_t size);
static atomic_int counting;
static atomic_long allocations;
#define COUNT() do { if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add(&allocations, 1); } while (0)
void *malloc(size_t size) { COUNT(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { COUNT(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { COUNT(); return __libc_realloc(pointer, size); }
void free(void *pointer) { __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { COUNT(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { COUNT(); return __libc_memalign(alignment, size); }
void *valloc(size_t size) { COUNT(); return __libc_memalign(4096, size); }
void *pvalloc(size_t size) { COUNT(); return __libc_memalign(4096, (size + 4095) & ~(size_t)4095); }
int posix_memalign(void **result, size_t alignment, size_t size)
{
    COUNT();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}
#else
#define COUNT_ALLOCATIONS 0
#endif

#if COUNT_ALLOCATIONS
static void test_no_allocation(void)
{
    char *demo_path = fixture("demo/digits.fff");
    char *compact_path = fixture("golden/models/compact_int8_row_mnist_like_d3_l4_m8.fff");
    fff_model *models[2] = {load(demo_path), load(compact_path)};
    free(demo_path);
    free(compact_path);
    if (!models[0] || !models[1]) return;
    for (int m = 0; m < 2; m++) {
        fff_model *model = models[m];
        size_t I = fff_model_input_width(model), O = fff_model_output_width(model), n = 32;
        float *records = calloc(n * I, sizeof(float));
        for (size_t i = 0; i < n * I; i++) records[i] = (float)(i % 13);
        float *outputs = malloc(n * O * sizeof(float));
        int32_t leaves[32];
        fff_classification results[32];
        fff_error error;

        /* The counter works: making a workspace allocates. */
        atomic_store(&allocations, 0);
        atomic_store(&counting, 1);
        fff_workspace *ws = workspace_for(model, 8);
        atomic_store(&counting, 0);
        long made = atomic_load(&allocations);
        CHECK(made > 0, "the allocation counter saw nothing (is malloc interposed?)");

        /* Warm up (first calls may set up Swift runtime metadata), then count. */
        int failed = 0;
        for (int round = 0; round < 2; round++) {
            if (round == 1) {
                atomic_store(&allocations, 0);
                atomic_store(&counting, 1);
            }
            for (int repeat = 0; repeat < 50; repeat++) {
                for (size_t r = 0; r < n; r++) {
                    int32_t leaf;
                    fff_classification c;
                    failed |= fff_predict(model, ws, records + r * I, I, FFF_INPUT_RAW, outputs, O, &leaf, &error);
                    failed |= fff_predict(model, ws, records + r * I, I, FFF_INPUT_PREPROCESSED, outputs, O, NULL, NULL);
                    failed |= fff_classify(model, ws, records + r * I, I, FFF_INPUT_RAW, &c, &error);
                    failed |= fff_leaf(model, ws, records + r * I, I, FFF_INPUT_RAW, &leaf, NULL);
                }
                failed |= fff_batch_predict(model, ws, records, n, I, FFF_INPUT_RAW, outputs, O, leaves, &error);
                failed |= fff_batch_classify(model, ws, records, n, I, FFF_INPUT_RAW, results, &error);
                failed |= fff_batch_leaf(model, ws, records, n, I, FFF_INPUT_RAW, leaves, NULL);
                (void)fff_model_label(model, 0, NULL);
                (void)fff_model_input_width(model);
            }
            atomic_store(&counting, 0);
        }
        long during = atomic_load(&allocations);
        CHECK(failed == 0, "a call failed");
        CHECK(during == 0, "%s: %ld allocations in 50 x (%zu x 4 single calls + 3 batch calls)",
              fff_model_weight_type(model), during, n);
        note("%s model (%s weights): 0 allocations in %zu inference calls (workspace creation: %ld)",
             m == 0 ? "demo" : "compact", fff_model_weight_type(model), (size_t)50 * (n * 4 + 3), made);
        fff_workspace_free(ws);
        free(records);
        free(outputs);
    }
    fff_model_free(models[0]);
    fff_model_free(models[1]);
}
#endif

/* ------------------------------------------------------------------------------------------ */
/* MNIST: the paper's three checkpoints, converted by tools/fff-convert                         */
/* ------------------------------------------------------------------------------------------ */

static unsigned char *read_idx(const char *path, uint32_t magic, size_t header, size_t *count)
{
    size_t length = 0;
    unsigned char *bytes = read_file(path, &length);
    if (bytes == NULL || length < header) return NULL;
    uint32_t got = (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
    *count = (size_t)bytes[4] << 24 | (size_t)bytes[5] << 16 | (size_t)bytes[6] << 8 | bytes[7];
    if (got != magic) {
        free(bytes);
        return NULL;
    }
    return bytes;
}

static const char *mnist_dir;

static void test_mnist(const char *name, long expected_correct)
{
    char *images_path = path_in(mnist_dir, "t10k-images-idx3-ubyte");
    char *labels_path = path_in(mnist_dir, "t10k-labels-idx1-ubyte");
    size_t count = 0, label_count = 0;
    unsigned char *images = read_idx(images_path, 0x803, 16, &count);
    unsigned char *labels = read_idx(labels_path, 0x801, 8, &label_count);
    CHECK(images && labels && count == 10000 && label_count == 10000, "cannot read the MNIST test set in %s", mnist_dir);
    free(images_path);
    free(labels_path);
    char file[512];
    snprintf(file, sizeof file, "%s.fff", name);
    char *model_path = path_in(mnist_dir, file);
    fff_model *model = images && labels ? load(model_path) : NULL;
    free(model_path);
    if (model) {
        CHECK(fff_model_input_width(model) == 784 && fff_model_output_width(model) == 10, "shape");
        CHECK(fff_model_has_preprocessing(model), "converted without --input-scale/--input-offset");
        float *pixels = malloc(count * 784 * sizeof(float));
        for (size_t i = 0; i < count * 784; i++) pixels[i] = images[16 + i]; /* raw 0 ... 255 */
        fff_classification *batch = malloc(count * sizeof *batch);
        fff_workspace *ws = workspace_for(model, 0);
        fff_error error;
        fff_status status = fff_batch_classify(model, ws, pixels, count, 784, FFF_INPUT_RAW, batch, &error);
        CHECK(status == FFF_OK, "fff_batch_classify: %s", error.message);
        long correct = 0, disagreements = 0;
        for (size_t r = 0; r < count; r++) {
            if (batch[r].index == labels[8 + r]) correct++;
            fff_classification single;
            fff_classify(model, ws, pixels + r * 784, 784, FFF_INPUT_RAW, &single, NULL);
            if (single.index != batch[r].index || single.leaf != batch[r].leaf) disagreements++;
        }
        CHECK(correct == expected_correct, "%s: %ld correct, the paper's checkpoint gives %ld", name, correct,
              expected_correct);
        CHECK(disagreements == 0, "%s: %ld single calls disagree with the batch", name, disagreements);
        note("%s: %.2f %% (%ld of %zu) through fff_batch_classify and fff_classify (%s kernel)", name,
             100.0 * (double)correct / (double)count, correct, count, fff_model_kernel(model));
        fff_workspace_free(ws);
        free(pixels);
        free(batch);
        fff_model_free(model);
    }
    free(images);
    free(labels);
}

static void test_mnist_lb_l8_d1(void) { test_mnist("lb_mnist_l8_d1", 9346); }
static void test_mnist_ml_l2_d3(void) { test_mnist("ml_mnist_l2_d3", 9414); }
static void test_mnist_ml_l4_d2(void) { test_mnist("ml_mnist_l4_d2", 9473); }

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *no_mnist = "no --mnist directory given";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--mnist") == 0 && i + 1 < argc) {
            mnist_dir = argv[++i];
        } else if (strcmp(argv[i], "--no-mnist") == 0 && i + 1 < argc) {
            no_mnist = argv[++i];
        } else if (data_dir == NULL && argv[i][0] != '-') {
            data_dir = argv[i];
        } else {
            fprintf(stderr, "usage: capi_test DATA-DIR [--only NAME,...] [--mnist DIR | --no-mnist REASON]\n");
            return 64;
        }
    }
    if (data_dir == NULL) {
        fprintf(stderr, "usage: capi_test DATA-DIR [--only NAME,...] [--mnist DIR | --no-mnist REASON]\n");
        return 64;
    }
    if (fff_abi_version() != FFF_ABI_VERSION) {
        fprintf(stderr, "capi_test: built for ABI %d, the library is ABI %u\n", FFF_ABI_VERSION, (unsigned)fff_abi_version());
        return 1;
    }
    printf("libfastfeedforward_c %s (ABI %u)\n", fff_version(), (unsigned)fff_abi_version());

    run("versions", test_versions);
    run("demo", test_demo);
    run("golden-float32", test_golden_float32);
    run("golden-compact", test_golden_compact);
    run("conformance-valid", test_conformance_valid);
    run("conformance-invalid", test_conformance_invalid);
    run("model-info", test_model_info);
    run("load-errors", test_load_errors);
    run("argument-errors", test_argument_errors);
    run("threads", test_threads);
#if COUNT_ALLOCATIONS
    run("no-allocation", test_no_allocation);
#elif TEST_ASAN
    skip("no-allocation", "AddressSanitizer owns malloc here (the uninstrumented run counts allocations)");
#else
    skip("no-allocation", "not glibc: cannot count allocations");
#endif
    if (mnist_dir) {
        run("mnist-lb_mnist_l8_d1", test_mnist_lb_l8_d1);
        run("mnist-ml_mnist_l2_d3", test_mnist_ml_l2_d3);
        run("mnist-ml_mnist_l4_d2", test_mnist_ml_l4_d2);
    } else {
        skip("mnist-lb_mnist_l8_d1", no_mnist);
        skip("mnist-ml_mnist_l2_d3", no_mnist);
        skip("mnist-ml_mnist_l4_d2", no_mnist);
    }
    printf("capi: %d passed, %d failed, %d skipped\n", passed_count, failed_count, skipped_count);
    return failed_count == 0 ? 0 : 1;
}
