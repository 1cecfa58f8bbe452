#ifndef CFFF_TEXT_PARSING_H
#define CFFF_TEXT_PARSING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The commonest CSV/TSV line, on any CPU: fields of 1 to 8 ASCII digits separated by exactly
 * `sep`, an optional '\r' at the end, at least 16 bytes in all (`line[0 ..< count]`, without
 * its '\n'). Returns the number of fields, of which the first `capacity` are stored at `out`
 * (each the field's integer rounded once to float), or -1 for any other line (nothing useful is
 * stored then; the caller parses the line its own way). Reads only `line[0 ..< count]`; writes
 * only `out[0 ..< capacity]`. O(count). */
int64_t fff_parse_digit_fields(const uint8_t *line, int64_t count, uint8_t sep, float *out,
                               int64_t capacity);

/* Whether this CPU runs fff_parse_digit_fields_avx2 (AVX2 and BMI1). */
int fff_text_has_avx2(void);

/* fff_parse_digit_fields with AVX2, 8 fields side by side: the same lines taken and refused,
 * the same values and count. Precondition: fff_text_has_avx2(). O(count). */
int64_t fff_parse_digit_fields_avx2(const uint8_t *line, int64_t count, uint8_t sep, float *out,
                                    int64_t capacity);

#ifdef __cplusplus
}
#endif

#endif
