/* internal.h — helpers shared by the files of featurize/ and nobody else. */
#ifndef AM_FEATURIZE_INTERNAL_H
#define AM_FEATURIZE_INTERNAL_H

#include "featurize.h"

/* Fills d afresh (a diag reused from an earlier failure must not keep its old location) with
 * status and message, located at the frame's source file, the given line (0 = none) and column
 * (NULL = none). f may be NULL. Returns status. */
am_status am_feat_fail(am_diag *d, am_status status, const am_frame *f, int64_t line,
                       const char *column, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The median of a[0..n) (finite values, n > 0), leaving a as it is; buf: n doubles of scratch.
 * Even n: the mean of the two middle values. (enc_numeric.c) */
double am_feat_median(const double *a, int64_t n, double *buf);
/* The q-quantile (0 <= q <= 1, linear interpolation between order statistics, as numpy's
 * default) of a[0..n), n > 0, reordering a. */
double am_feat_quantile(double *a, int64_t n, double q);

/* Sorts key[0, n) ascending, moving val[0, n) along when val is not NULL; equal keys keep their
 * order (stable), so a second sort on a major key keeps the first one's order within it.
 * key_scratch: n keys of scratch; val_scratch: n values, only with val (else NULL). O(n): an
 * LSD radix sort, whose passes cost little for small keys. (sort.c) */
void am_feat_radix_sort(uint64_t *key, int64_t *val, int64_t n, uint64_t *key_scratch,
                        int64_t *val_scratch);
/* A finite double as a key in the same order (as unsigned integers); -0 and 0 are one key. */
uint64_t am_feat_double_key(double x);
/* The double of a key from am_feat_double_key (0 for the key of -0). */
double am_feat_key_double(uint64_t k);

/* qsort's comparator for doubles, ascending (no NaN). (sort.c) */
int am_feat_cmp_double(const void *a, const void *b);

/* splitmix64's finaliser: a well-mixed 64-bit hash of z (fold assignment, text n-grams, row
 * hashes). Inline: the text encoder calls it per n-gram. */
static inline uint64_t am_feat_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Longest name or label string accepted when loading, so a corrupt length cannot make the loader
 * allocate gigabytes before noticing. Real column names and labels are far shorter. */
#define AM_FEAT_STR_MAX ((size_t)1 << 20)

#endif
