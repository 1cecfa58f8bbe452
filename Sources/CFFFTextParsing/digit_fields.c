/* CSV/TSV lines of plain integer fields (pixel and count exports), fast: the separators found
 * 8 bytes at a time (portable) or 32 at a time by one compare (AVX2), and each field converted
 * from the 8 bytes that end at its separator (digits weighted by multiply-adds: pairs, then
 * fours, then eights), by SWAR arithmetic one field at a time (portable) or 8 fields side by
 * side (AVX2). Both take and refuse exactly the same lines and give the same values. */
#include "CFFFTextParsing.h"

#include <string.h>

/* 8 bytes at p, the first in the lowest byte whatever the CPU's byte order. */
static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Digits [start, end), 1 to 8 of them, one at a time: 1 and the value, else 0. */
static inline int small_field(const uint8_t *start, const uint8_t *end, uint32_t *value)
{
    if ((uint64_t)(end - start) - 1 >= 8) return 0;
    uint32_t v = 0;
    for (const uint8_t *q = start; q < end; q++) {
        uint8_t d = (uint8_t)(*q - '0');
        if (d > 9) return 0;
        v = v * 10 + d;
    }
    *value = v;
    return 1;
}

/* Digits [start, end), 1 to 8 of them, from the 8 bytes before `end` (which lie in the line)
 * at once: 1 and the value, else 0. */
static inline int wide_field(const uint8_t *start, const uint8_t *end, uint32_t *value)
{
    uint64_t length = (uint64_t)(end - start);
    if (length - 1 >= 8) return 0;
    uint64_t keep = ~(uint64_t)0 << (64 - 8 * length);
    uint64_t x = (load64(end - 8) ^ 0x3030303030303030ull) & keep;
    /* A byte that is not a digit (x >= 10) sets its top bit. */
    if ((((x + 0x7676767676767676ull) | x) & 0x8080808080808080ull & keep) != 0) return 0;
    x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FFull;
    x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFFull;
    *value = (uint32_t)(x * 10000 + (x >> 32));
    return 1;
}

/* Stores a field's value while there is room, and counts it either way. */
static inline void emit(float *out, int64_t capacity, int64_t *column, uint32_t value)
{
    if (*column < capacity) out[*column] = (float)(int32_t)value;
    ++*column;
}

/* What both paths do first: the line's end without its '\r', and the fields that end within
 * its first 8 bytes, read digit by digit (they have no 8 bytes before their end), every one of
 * those bytes checked to be a digit or `sep` (so that later fields start at a digit). 0 for a
 * line shorter than 16 bytes or not made of digit fields there. */
static inline int line_head(const uint8_t *line, int64_t count, uint8_t sep, float *out,
                            int64_t capacity, const uint8_t **end, const uint8_t **field,
                            int64_t *column)
{
    *end = line + count;
    if (count > 0 && (*end)[-1] == '\r') --*end;
    if (*end - line < 16) return 0;
    *field = line;
    uint32_t value;
    for (const uint8_t *q = line; q < line + 8; q++) {
        if (*q == sep) {
            if (!small_field(*field, q, &value)) return 0;
            emit(out, capacity, column, value);
            *field = q + 1;
        } else if ((uint8_t)(*q - '0') > 9) {
            return 0;
        }
    }
    return 1;
}

int64_t fff_parse_digit_fields(const uint8_t *line, int64_t count, uint8_t sep, float *out,
                               int64_t capacity)
{
    const uint8_t *end, *field;
    int64_t column = 0;
    if (!line_head(line, count, sep, out, capacity, &end, &field, &column)) return -1;
    /* From here on every field is read from the 8 bytes that end at it, whose loads do not
     * wait for the length of the field before. */
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full, separators = 0x0101010101010101ull * sep;
    uint32_t value;
    const uint8_t *q = line + 8;
    for (; q + 8 <= end; q += 8) {
        const uint64_t x = load64(q) ^ separators;
        /* Exactly the bytes equal to `sep` get their top bit. */
        uint64_t found = ~(((x & low7) + low7) | x | low7);
        while (found) {
            const uint8_t *at = q + (__builtin_ctzll(found) >> 3);
            if (!wide_field(field, at, &value)) return -1;
            emit(out, capacity, &column, value);
            field = at + 1;
            found &= found - 1;
        }
    }
    for (; q < end; q++) {
        if (*q == sep) {
            if (!wide_field(field, q, &value)) return -1;
            emit(out, capacity, &column, value);
            field = q + 1;
        }
    }
    if (!wide_field(field, end, &value)) return -1;
    emit(out, capacity, &column, value);
    return column;
}

#if defined(__x86_64__)
#include <immintrin.h>

int fff_text_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi");
}

#define AVX2 __attribute__((target("avx2,bmi")))

/* Four fields' 8-byte words (each ending at its separator), their digits' values: the bytes
 * before each field masked off by its length, every byte of a field known to be a digit. */
AVX2 static inline __m256i digit_words(const uint8_t *const *ends, const int64_t *length)
{
    const __m256i words = _mm256_set_epi64x((long long)load64(ends[3] - 8), (long long)load64(ends[2] - 8),
                                            (long long)load64(ends[1] - 8), (long long)load64(ends[0] - 8));
    const __m256i lengths = _mm256_set_epi64x(length[3], length[2], length[1], length[0]);
    const __m256i keep = _mm256_sllv_epi64(_mm256_set1_epi64x(-1),
                                           _mm256_sub_epi64(_mm256_set1_epi64x(64), _mm256_slli_epi64(lengths, 3)));
    const __m256i digits = _mm256_and_si256(_mm256_sub_epi8(words, _mm256_set1_epi8('0')), keep);
    /* Byte pairs (10, 1) to 16 bits, then pairs of those (100, 1) to 32: each 64-bit lane holds
     * the value of its field's first four digits and of its last four. */
    const __m256i pairs = _mm256_maddubs_epi16(digits, _mm256_set1_epi16(0x010A));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x00010064));
}

/* The 8 fields that end at ends[0 ..< 8], the first starting at *field: stored at
 * out[*column ...] (within capacity) and counted; *field moves past them. 0 when a field is
 * empty or longer than 8 digits. Every byte between the separators is a digit. */
AVX2 static inline int convert8(const uint8_t **field, const uint8_t *const *ends, float *out, int64_t capacity,
                                int64_t *column)
{
    const uint8_t *start = *field;
    int64_t length[8];
    uint64_t bad = 0;
    for (int k = 0; k < 8; k++) {
        length[k] = ends[k] - start;
        bad |= (uint64_t)(length[k] - 1) >> 3; /* nonzero unless 1 <= length <= 8 */
        start = ends[k] + 1;
    }
    if (bad) return 0;
    *field = start;
    const __m256i low = digit_words(ends, length), high = digit_words(ends + 4, length + 4);
    /* Each 128-bit lane: 16-bit (first four, last four) of fields 0 1 4 5 | 2 3 6 7, then
     * first * 10000 + last, then in field order. */
    const __m256i packed = _mm256_packus_epi32(low, high);
    __m256i values = _mm256_madd_epi16(packed, _mm256_set1_epi32(0x00012710));
    values = _mm256_permutevar8x32_epi32(values, _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7));
    const __m256 floats = _mm256_cvtepi32_ps(values);
    if (*column + 8 <= capacity) {
        _mm256_storeu_ps(out + *column, floats);
    } else {
        float spill[8];
        _mm256_storeu_ps(spill, floats);
        for (int k = 0; k < 8 && *column + k < capacity; k++) out[*column + k] = spill[k];
    }
    *column += 8;
    return 1;
}

AVX2 int64_t fff_parse_digit_fields_avx2(const uint8_t *line, int64_t count, uint8_t sep, float *out,
                                         int64_t capacity)
{
    const uint8_t *end, *field;
    int64_t column = 0;
    if (!line_head(line, count, sep, out, capacity, &end, &field, &column)) return -1;
    uint32_t value;
    const uint8_t *q = line + 8;
    /* Blocks of 32 bytes: every byte a digit or the separator; the separators' positions
     * queue up and go 8 at a time. At most 7 wait between blocks, so 39 fit. */
    const uint8_t *ends[48];
    int waiting = 0;
    const __m256i separator = _mm256_set1_epi8((char)sep), zero = _mm256_set1_epi8('0'), nine = _mm256_set1_epi8(9);
    for (; q + 32 <= end; q += 32) {
        const __m256i bytes = _mm256_loadu_si256((const __m256i *)q);
        const __m256i digits = _mm256_sub_epi8(bytes, zero);
        uint32_t seps = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(bytes, separator));
        const uint32_t isDigit =
            (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_min_epu8(digits, nine), digits));
        if ((seps | isDigit) != 0xFFFFFFFFu) return -1;
        while (seps) {
            ends[waiting++] = q + _tzcnt_u32(seps);
            seps = _blsr_u32(seps);
        }
        int done = 0;
        for (; done + 8 <= waiting; done += 8) {
            if (!convert8(&field, ends + done, out, capacity, &column)) return -1;
        }
        for (int k = done; k < waiting; k++) ends[k - done] = ends[k];
        waiting -= done;
    }
    /* The last bytes (fewer than 32, so at most 7 + 31 separators wait), then the fields
     * still waiting and the last one, each from its 8 bytes (all at or after line + 8). */
    for (; q < end; q++) {
        if (*q == sep) {
            ends[waiting++] = q;
        } else if ((uint8_t)(*q - '0') > 9) {
            return -1;
        }
    }
    for (int k = 0; k < waiting; k++) {
        if (!wide_field(field, ends[k], &value)) return -1;
        emit(out, capacity, &column, value);
        field = ends[k] + 1;
    }
    if (!wide_field(field, end, &value)) return -1;
    emit(out, capacity, &column, value);
    return column;
}

#else

int fff_text_has_avx2(void) { return 0; }

int64_t fff_parse_digit_fields_avx2(const uint8_t *line, int64_t count, uint8_t sep, float *out,
                                    int64_t capacity)
{
    (void)line, (void)count, (void)sep, (void)out, (void)capacity;
    return -1;
}

#endif
