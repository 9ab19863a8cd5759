/* sort.c — the radix sort of 64-bit keys that roles.c (distinct values) and guardrails.c (level
 * ranks, quantile bins, row groups) share, and the key that orders doubles as integers.
 *
 * Both sort a few arrays of n per column of every table; qsort's comparator calls were most of
 * their time on large tables. An LSD radix sort is O(n), stable (so a second pass on a major
 * key keeps the minor order), and skips the passes whose digit is the same for every key, so
 * small keys (class ids, level ids) cost few passes. */
#include "internal.h"

#include <string.h>

#define RADIX_BITS 11
#define RADIX_SIZE (1 << RADIX_BITS)

/* The digit of key at shift. */
#define DIGIT(key, shift) (((key) >> (shift)) & (RADIX_SIZE - 1))

/* Counts the digits at shift and turns the counts into each digit's first output slot. false
 * when every key has the same digit: that pass would move nothing. */
static bool digit_offsets(const uint64_t *key, int64_t n, int shift, int64_t *count)
{
    memset(count, 0, RADIX_SIZE * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++)
        count[DIGIT(key[i], shift)]++;
    if (count[DIGIT(key[0], shift)] == n)
        return false;
    int64_t at = 0;
    for (int b = 0; b < RADIX_SIZE; b++) {
        int64_t c = count[b];
        count[b] = at;
        at += c;
    }
    return true;
}

void am_feat_radix_sort(uint64_t *key, int64_t *val, int64_t n, uint64_t *key_scratch,
                        int64_t *val_scratch)
{
    uint64_t *sk = key, *dk = key_scratch;
    int64_t *sv = val, *dv = val_scratch;
    int64_t count[RADIX_SIZE];
    for (int shift = 0; shift < 64 && n > 1; shift += RADIX_BITS) {
        if (!digit_offsets(sk, n, shift, count))
            continue;
        /* Two loops rather than a test per key: the keys-only sort stays a bare scatter. */
        if (val) {
            for (int64_t i = 0; i < n; i++) {
                int64_t o = count[DIGIT(sk[i], shift)]++;
                dk[o] = sk[i];
                dv[o] = sv[i];
            }
        } else {
            for (int64_t i = 0; i < n; i++)
                dk[count[DIGIT(sk[i], shift)]++] = sk[i];
        }
        uint64_t *tk = sk;
        sk = dk;
        dk = tk;
        int64_t *tv = sv;
        sv = dv;
        dv = tv;
    }
    if (sk != key) {
        memcpy(key, sk, (size_t)n * sizeof(uint64_t));
        if (val)
            memcpy(val, sv, (size_t)n * sizeof(int64_t));
    }
}

/* Positive doubles get the sign bit set (above every negative one), negative ones are flipped
 * whole (a larger magnitude is then a smaller key). */
uint64_t am_feat_double_key(double x)
{
    uint64_t u;
    if (x == 0)
        x = 0; /* -0 takes the key of 0 */
    memcpy(&u, &x, sizeof(u));
    return u >> 63 ? ~u : u | 0x8000000000000000ull;
}

double am_feat_key_double(uint64_t k)
{
    uint64_t u = k >> 63 ? k & 0x7fffffffffffffffull : ~k;
    double x;
    memcpy(&x, &u, sizeof(x));
    return x;
}

int am_feat_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
