/* bin.c — cutting the native features into at most 255 value bins (plus bin 0 for missing) for
 * the histogram tree learners. The contract is am_binned in frame.h and am_binned_build in
 * featurize.h.
 *
 * Numeric features: edges come from the sorted non-missing values of a sample of rows. With few
 * distinct values each gets its own bin (edges half-way between neighbours); otherwise a greedy
 * pass in the manner of LightGBM's bin finder gives every bin about the same number of sampled
 * values, cutting only between distinct values, and lets a value that alone holds a bin's share
 * have a bin to itself. Then every row (sampled or not) is coded by a branch-free binary search
 * over the edges, so the raw test v <= upper[b-1] and the code test bin <= b always agree.
 *
 * Categorical features: codes ranked by how often they occur over all rows; the most frequent
 * get a bin each, the rest share the last bin.
 *
 * An all-missing numeric feature (no value in any row) has n_bins = 1 and upper = NULL: only
 * the missing bin, which a tree can never split.
 *
 * Features are independent, so they are binned in parallel; nothing one feature computes depends
 * on another or on which thread ran it. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows that set the numeric edges: beyond this, quantiles barely move while sorting costs grow. */
#define SAMPLE_MAX 200000
/* LSD radix sort of 64-bit keys: six passes of 11 bits. */
#define RADIX_BITS 11
#define RADIX_SIZE (1 << RADIX_BITS)
#define RADIX_PASSES 6

void am_binned_fini(am_binned *b)
{
    if (!b)
        return;
    if (b->features) {
        for (int32_t j = 0; j < b->n_features; j++) {
            am_free(b->features[j].upper);
            am_free(b->features[j].cat_bin);
        }
    }
    am_free(b->features);
    am_free(b->codes);
    memset(b, 0, sizeof(*b));
}

/* ---- the sample ---------------------------------------------------------------------------- */

/* *rows = NULL (every row) when n <= SAMPLE_MAX, else SAMPLE_MAX distinct rows, ascending, drawn
 * by selection sampling: one pass, every subset equally likely, and the same rows for one seed
 * whatever the thread count, because it is drawn once before the features are. */
static bool draw_sample(int64_t n, uint64_t seed, int64_t **rows, int64_t *m)
{
    *rows = NULL;
    *m = n;
    if (n <= SAMPLE_MAX)
        return true;
    int64_t *r = am_malloc_array(SAMPLE_MAX, sizeof(int64_t));
    if (!r)
        return false;
    am_rng rng;
    am_rng_seed(&rng, seed);
    int64_t need = SAMPLE_MAX, k = 0;
    for (int64_t i = 0; i < n && need > 0; i++) {
        if (am_rng_below(&rng, n - i) < need) {
            r[k++] = i;
            need--;
        }
    }
    *rows = r;
    *m = k;
    return true;
}

/* ---- sorting ------------------------------------------------------------------------------- */

/* Doubles as unsigned keys with the same order (for non-NaN values): flip every bit of a
 * negative number, only the sign bit of a positive one. */
static inline uint64_t key_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return (u >> 63) ? ~u : u | ((uint64_t)1 << 63);
}

static inline double value_of(uint64_t k)
{
    uint64_t u = (k >> 63) ? k & ~((uint64_t)1 << 63) : ~k;
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

/* Sorts a[0..n) using tmp (n keys); the result ends in a. Passes where every key has the same
 * digit (the exponent bits of most columns) are skipped. Radix rather than comparison sorting:
 * the 200,000-value sample of every feature is sorted, and this is several times faster. */
static void radix_sort(uint64_t *a, uint64_t *tmp, int64_t n)
{
    if (n < 2)
        return;
    int64_t count[RADIX_PASSES][RADIX_SIZE];
    memset(count, 0, sizeof(count));
    for (int64_t i = 0; i < n; i++)
        for (int p = 0; p < RADIX_PASSES; p++)
            count[p][(a[i] >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
    uint64_t *src = a, *dst = tmp;
    for (int p = 0; p < RADIX_PASSES; p++) {
        int shift = p * RADIX_BITS;
        if (count[p][(src[0] >> shift) & (RADIX_SIZE - 1)] == n)
            continue;
        int64_t start = 0;
        for (int b = 0; b < RADIX_SIZE; b++) {
            int64_t c = count[p][b];
            count[p][b] = start;
            start += c;
        }
        for (int64_t i = 0; i < n; i++)
            dst[count[p][(src[i] >> shift) & (RADIX_SIZE - 1)]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, (size_t)n * sizeof(uint64_t));
}

/* ---- numeric features ---------------------------------------------------------------------- */

/* The keys of the non-missing values of col at rows (NULL = the first n rows). -0.0 becomes 0.0
 * so equal values have equal keys. Returns how many. */
static int64_t gather_keys(const double *col, const int64_t *rows, int64_t n, uint64_t *keys)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = col[rows ? rows[i] : i];
        if (isnan(v))
            continue;
        keys[m++] = key_of(v == 0.0 ? 0.0 : v);
    }
    return m;
}

/* Collapses sorted keys in place into the distinct keys keys[0..nd) (written behind the read
 * position) with their counts in cnt. Returns nd. */
static int64_t distinct_keys(uint64_t *keys, int64_t m, int64_t *cnt)
{
    int64_t nd = 0;
    for (int64_t i = 0; i < m;) {
        int64_t j = i + 1;
        while (j < m && keys[j] == keys[i])
            j++;
        keys[nd] = keys[i];
        cnt[nd] = j - i;
        nd++;
        i = j;
    }
    return nd;
}

/* An edge e with a <= e < b (a < b): the mid-point when it is representable strictly below b
 * (adjacent doubles, or b = +inf, would round it up), else a itself. */
static double edge_between(uint64_t key_a, uint64_t key_b)
{
    double a = value_of(key_a), b = value_of(key_b);
    double mid = 0.5 * a + 0.5 * b; /* halves first: no overflow near DBL_MAX */
    return mid >= a && mid < b ? mid : a;
}

/* Greedy equal-count cutting of nd > max_bin distinct values into at most max_bin bins. A value
 * holding at least total / max_bin samples is "big": it closes the bin it is in, and the bin
 * before it closes early (from half a bin's share) so it tends to stand alone. Every other bin is
 * filled to the average of what remains over the bins that remain, which corrects as it goes so
 * the last bin is not left with scraps. Writes the upper edges; returns how many (last +inf). */
static int32_t greedy_edges(const uint64_t *dk, const int64_t *cnt, int64_t nd, int64_t total,
                            int32_t max_bin, double *upper)
{
    double big = (double)total / max_bin;
    int64_t rest = total;
    int32_t rest_bins = max_bin;
    for (int64_t k = 0; k < nd; k++) {
        if ((double)cnt[k] >= big) {
            rest -= cnt[k];
            rest_bins--;
        }
    }
    double mean = (double)rest / AM_MAX(rest_bins, 1);
    int64_t acc = 0;
    int32_t n = 0;
    for (int64_t k = 0; k + 1 < nd && n < max_bin - 1; k++) {
        bool is_big = (double)cnt[k] >= big, next_big = (double)cnt[k + 1] >= big;
        if (!is_big)
            rest -= cnt[k];
        acc += cnt[k];
        if (!is_big && (double)acc < mean && !(next_big && (double)acc >= AM_MAX(1.0, mean / 2)))
            continue;
        upper[n++] = edge_between(dk[k], dk[k + 1]);
        acc = 0;
        if (!is_big) {
            rest_bins--;
            mean = (double)rest / AM_MAX(rest_bins, 1);
        }
    }
    upper[n++] = INFINITY;
    return n;
}

/* Upper edges from the distinct keys dk (ascending) and their counts: one bin per value when
 * they fit, else greedy. */
static int32_t choose_edges(const uint64_t *dk, const int64_t *cnt, int64_t nd, int64_t total,
                            int32_t max_bin, double *upper)
{
    if (nd > max_bin)
        return greedy_edges(dk, cnt, nd, total, max_bin, upper);
    for (int64_t k = 0; k + 1 < nd; k++)
        upper[k] = edge_between(dk[k], dk[k + 1]);
    upper[nd - 1] = INFINITY;
    return (int32_t)nd;
}

/* Codes every row: 1 + the number of edges below v, found by a branch-free binary search over
 * the edges padded with +inf to a power of two (a few nanoseconds a row: the edges sit in L1
 * and no branch depends on the data); NaN is 0. The last real edge is +inf, so the count never
 * reaches the padded length and every code is a real bin. */
static void code_numeric(const double *col, int64_t n, const double *upper, int32_t n_edges,
                         uint8_t *codes)
{
    double e[256];
    int32_t size = 1;
    while (size < n_edges)
        size *= 2;
    for (int32_t k = 0; k < size; k++)
        e[k] = k < n_edges ? upper[k] : INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = col[i];
        int32_t pos = 0;
        for (int32_t step = size / 2; step > 0; step /= 2)
            pos += e[pos + step - 1] < v ? step : 0;
        codes[i] = isnan(v) ? 0 : (uint8_t)(pos + 1);
    }
}

/* Edges of one numeric feature from the sampled rows (all rows when the sample holds no value
 * but the column does: a feature that is almost always missing still gets its bins). */
static am_status bin_numeric(const double *col, int64_t n_rows, const int64_t *sample,
                             int64_t n_sample, int32_t max_bin, am_bin_feature *bf, uint8_t *codes)
{
    uint64_t *keys = am_malloc_array((size_t)n_sample, sizeof(uint64_t));
    if (!keys)
        return AM_ERR_NOMEM;
    int64_t m = gather_keys(col, sample, n_sample, keys);
    if (m == 0 && sample) {
        am_free(keys);
        if (!(keys = am_malloc_array((size_t)n_rows, sizeof(uint64_t))))
            return AM_ERR_NOMEM;
        m = gather_keys(col, NULL, n_rows, keys);
    }
    am_status st = AM_OK;
    uint64_t *tmp = am_malloc_array((size_t)m, sizeof(uint64_t));
    if (!tmp) {
        st = AM_ERR_NOMEM;
        goto cleanup;
    }
    radix_sort(keys, tmp, m);
    /* The sort's scratch is free again: it takes the counts (int64_t may alias uint64_t). */
    int64_t *cnt = (int64_t *)tmp;
    int64_t nd = distinct_keys(keys, m, cnt);
    bf->n_bins = 1;
    if (nd > 0) {
        if (!(bf->upper = am_malloc_array((size_t)AM_MIN(nd, max_bin), sizeof(double)))) {
            st = AM_ERR_NOMEM;
            goto cleanup;
        }
        bf->n_bins = 1 + choose_edges(keys, cnt, nd, m, max_bin, bf->upper);
    }
    code_numeric(col, n_rows, bf->upper, bf->n_bins - 1, codes);
cleanup:
    am_free(tmp);
    am_free(keys);
    return st;
}

/* ---- categorical features ------------------------------------------------------------------ */

typedef struct code_count {
    int32_t code;
    int64_t count;
} code_count;

static int cmp_count_desc(const void *a, const void *b)
{
    const code_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->code > y->code) - (x->code < y->code);
}

/* A whole number in [0, n_cat) is a code; anything else (NaN, a fraction, out of range) is
 * missing. Returns the code or -1. */
static inline int32_t code_at(double v, int32_t n_cat)
{
    if (!(v >= 0.0 && v < (double)n_cat))
        return -1;
    int32_t c = (int32_t)v;
    return (double)c == v ? c : -1;
}

static am_status bin_categorical(const double *col, int64_t n_rows, int32_t n_cat,
                                 int32_t max_bin, am_bin_feature *bf, uint8_t *codes)
{
    code_count *order = am_malloc_array((size_t)n_cat, sizeof(code_count));
    bf->cat_bin = am_malloc_array((size_t)n_cat, sizeof(int32_t));
    if (!order || !bf->cat_bin) {
        am_free(order);
        return AM_ERR_NOMEM;
    }
    for (int32_t c = 0; c < n_cat; c++)
        order[c] = (code_count){c, 0};
    for (int64_t i = 0; i < n_rows; i++) {
        int32_t c = code_at(col[i], n_cat);
        if (c >= 0)
            order[c].count++;
    }
    qsort(order, (size_t)n_cat, sizeof(code_count), cmp_count_desc);
    int32_t n_own = AM_MIN(n_cat, max_bin - 1);
    for (int32_t r = 0; r < n_cat; r++)
        bf->cat_bin[order[r].code] = r < n_own ? r + 1 : n_own + 1;
    am_free(order);
    bf->categorical = true;
    bf->n_categories = n_cat;
    bf->n_bins = 1 + AM_MIN(n_cat, max_bin);
    for (int64_t i = 0; i < n_rows; i++) {
        int32_t c = code_at(col[i], n_cat);
        codes[i] = c < 0 ? 0 : (uint8_t)bf->cat_bin[c];
    }
    return AM_OK;
}

/* ---- the whole matrix ---------------------------------------------------------------------- */

static am_status check_args(const am_matrix *x, const int32_t *n_categories, int32_t max_bin,
                            am_diag *d)
{
    if (!x || x->n_rows < 0 || x->n_cols < 0 || x->n_cols > INT32_MAX || x->ld < x->n_rows ||
        (x->n_rows > 0 && x->n_cols > 0 && !x->data))
        return am_fail(d, AM_ERR_ARG, "am_binned_build: bad matrix");
    if (max_bin < 2 || max_bin > 255)
        return am_fail(d, AM_ERR_ARG, "am_binned_build: max_bin=%d: must be in [2, 255]",
                       (int)max_bin);
    for (int64_t j = 0; n_categories && j < x->n_cols; j++)
        if (n_categories[j] < 0)
            return am_fail(d, AM_ERR_ARG, "am_binned_build: feature %lld: n_categories=%d: "
                           "must be >= 0", (long long)j, (int)n_categories[j]);
    return AM_OK;
}

am_status am_binned_build(const am_matrix *x, const int32_t *n_categories, int32_t max_bin,
                          uint64_t seed, int32_t n_threads, am_binned *out, am_diag *d)
{
    if (!out)
        return am_fail(d, AM_ERR_ARG, "am_binned_build: NULL output");
    memset(out, 0, sizeof(*out));
    am_status st = check_args(x, n_categories, max_bin, d);
    if (st != AM_OK)
        return st;
    int64_t n = x->n_rows;
    int32_t nf = (int32_t)x->n_cols;
    size_t n_codes;
    int64_t *sample = NULL, n_sample = 0;
    out->n_rows = n;
    out->n_features = nf;
    if (!am_size_mul((size_t)n, (size_t)nf, &n_codes) || !(out->codes = am_malloc(n_codes)) ||
        !(out->features = am_calloc((size_t)nf, sizeof(am_bin_feature))) ||
        !draw_sample(n, seed, &sample, &n_sample)) {
        am_binned_fini(out);
        return am_fail(d, AM_ERR_NOMEM, "out of memory binning %lld rows x %d features",
                       (long long)n, (int)nf);
    }
    int failed = 0;
#pragma omp parallel for num_threads(n_threads > 0 ? n_threads : 1) schedule(dynamic, 1)
    for (int32_t j = 0; j < nf; j++) {
        int stop;
#pragma omp atomic read
        stop = failed;
        if (stop)
            continue;
        const double *col = x->data + (int64_t)j * x->ld;
        int32_t n_cat = n_categories ? n_categories[j] : 0;
        am_status fst = n_cat > 0 ? bin_categorical(col, n, n_cat, max_bin, &out->features[j],
                                                    AM_BIN_CODES(out, j))
                                  : bin_numeric(col, n, sample, n_sample, max_bin,
                                                &out->features[j], AM_BIN_CODES(out, j));
        if (fst != AM_OK) {
#pragma omp atomic write
            failed = 1;
        }
    }
    am_free(sample);
    if (failed) {
        am_binned_fini(out);
        return am_fail(d, AM_ERR_NOMEM, "out of memory binning %lld rows x %d features",
                       (long long)n, (int)nf);
    }
    return AM_OK;
}
