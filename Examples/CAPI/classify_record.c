/*
 * classify_record: the C API (fastfeedforward.h) from a client's seat: load a model file,
 * classify one record. The C twin of Examples/ClassifyRecord; README's "C API" section builds it.
 *
 *   ./classify_record MODEL.fff 0,0,12,255,...     record on the command line
 *   echo "0 0 12 255 ..." | ./classify_record MODEL.fff    record on standard input
 *
 * Numbers are separated by commas and/or whitespace, raw (the model's preprocessing applies).
 * Prints the predicted class (its label when the model has labels), its score, the leaf the
 * record reached, and every output.
 */
#define _POSIX_C_SOURCE 200809L /* strtok_r */

#include <fastfeedforward.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends the number in `field` to the record (counting past its end, to report the count). */
static int add(const char *field, float *record, size_t inputs, size_t *count)
{
    char *end;
    float value = strtof(field, &end);
    if (end == field || *end != 0) {
        fprintf(stderr, "classify_record: '%s' is not a number\n", field);
        return 0;
    }
    if (*count < inputs) record[*count] = value;
    (*count)++;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: classify_record MODEL.fff [NUMBERS]  (numbers from stdin when omitted)\n");
        return 2;
    }
    if (fff_abi_version() != FFF_ABI_VERSION) {
        fprintf(stderr, "classify_record: built for ABI %d, libfastfeedforward_c is ABI %u\n", FFF_ABI_VERSION,
                (unsigned)fff_abi_version());
        return 2;
    }

    /* 1. Read, validate and compile the model: errors carry the spec's code and where. */
    fff_error error;
    fff_model *model;
    if (fff_model_load_path(argv[1], &model, &error) != FFF_OK) {
        fprintf(stderr, "classify_record: %s: %s\n", argv[1], error.message);
        return 1;
    }
    size_t inputs = fff_model_input_width(model), outputs = fff_model_output_width(model);

    /* 2. Parse the record: from the arguments, or from standard input. */
    float *record = malloc(inputs * sizeof(float));
    float *scores = malloc(outputs * sizeof(float));
    size_t count = 0;
    if (argc >= 3) {
        for (int i = 2; i < argc; i++) {
            char *rest;
            for (char *field = strtok_r(argv[i], ", \t\n", &rest); field; field = strtok_r(NULL, ", \t\n", &rest)) {
                if (!add(field, record, inputs, &count)) return 1;
            }
        }
    } else {
        char field[64];
        while (scanf(" %63[^, \t\n]", field) == 1) {
            if (!add(field, record, inputs, &count)) return 1;
            if (scanf("%*[, \t\n]") == EOF) break;
        }
    }
    if (count != inputs) {
        fprintf(stderr, "classify_record: the record has %zu numbers; the model expects %zu\n", count, inputs);
        return 1;
    }

    /* 3. One workspace for this thread; then classify and predict (no allocation in either). */
    fff_workspace *workspace;
    fff_classification result;
    int32_t leaf;
    if (fff_workspace_create(model, 0, &workspace, &error) != FFF_OK ||
        fff_classify(model, workspace, record, inputs, FFF_INPUT_RAW, &result, &error) != FFF_OK ||
        fff_predict(model, workspace, record, inputs, FFF_INPUT_RAW, scores, outputs, &leaf, &error) != FFF_OK) {
        fprintf(stderr, "classify_record: %s\n", error.message);
        return 1;
    }
    const char *label = fff_model_label(model, (size_t)result.index, NULL);
    if (label != NULL) {
        printf("class: %s (index %d)\n", label, result.index);
    } else {
        printf("class: %d\n", result.index);
    }
    printf("score: %g\nleaf: %d of %zu\noutputs:", (double)result.score, result.leaf, fff_model_leaf_count(model));
    for (size_t o = 0; o < outputs; o++) printf(" %g", (double)scores[o]);
    printf("\n");

    fff_workspace_free(workspace);
    fff_model_free(model);
    free(record);
    free(scores);
    return 0;
}
