/* test_binning.c — am_binned_build: numeric edges (one bin per value, greedy equal-count
 * quantiles, big values alone, sampling), the coding rule trees rely on, categorical ranking,
 * determinism across seeds and thread counts, bad arguments and out-of-memory. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../featurize/featurize.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* check reports every passing assertion to the runner (a write to a pipe), so loops over many
 * rows test plainly and call into check only on failure. */
#define REQUIRE(cond, ...)                                                                     \
    do {                                                                                       \
        if (!(cond))                                                                           \
            ck_abort_msg(__VA_ARGS__);                                                         \
    } while (0)

static const char *diag_text(const am_diag *d)
{
    static char buf[1024];
    return am_diag_format(d, buf, sizeof(buf));
}

static am_matrix matrix_new(int64_t n_rows, int64_t n_cols)
{
    am_matrix m;
    ck_assert_int_eq(am_matrix_new(&m, n_rows, n_cols, NULL), AM_OK);
    return m;
}

static am_binned build_ok(const am_matrix *x, const int32_t *n_cat, int32_t max_bin,
                          uint64_t seed, int32_t n_threads)
{
    am_binned b;
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_binned_build(x, n_cat, max_bin, seed, n_threads, &b, &d);
    ck_assert_msg(st == AM_OK, "build: %s", diag_text(&d));
    ck_assert_int_eq(b.n_rows, x->n_rows);
    ck_assert_int_eq(b.n_features, x->n_cols);
    return b;
}

/* The numeric contract of frame.h, checked exhaustively: edges strictly increasing with the last
 * +inf; NaN is bin 0; every value's bin is a value bin; and for every row and every value bin b,
 * the raw test a tree stores (v <= upper[b-1]) agrees with the code test (bin(v) <= b). */
static void assert_numeric_coding(const am_binned *b, const am_matrix *x, int32_t j,
                                  int32_t max_bin)
{
    const am_bin_feature *f = &b->features[j];
    const uint8_t *codes = AM_BIN_CODES(b, j);
    ck_assert(!f->categorical);
    ck_assert_int_ge(f->n_bins, 1);
    ck_assert_int_le(f->n_bins, max_bin + 1);
    if (f->n_bins > 1) {
        ck_assert_ptr_nonnull(f->upper);
        ck_assert(f->upper[f->n_bins - 2] == INFINITY);
    }
    for (int32_t k = 0; k + 2 < f->n_bins; k++)
        ck_assert_msg(f->upper[k] < f->upper[k + 1], "edges %d, %d not increasing", k, k + 1);
    for (int64_t i = 0; i < x->n_rows; i++) {
        double v = AM_AT(x, i, j);
        int32_t c = codes[i];
        if (isnan(v)) {
            REQUIRE(c == 0, "row %lld: NaN in bin %d", (long long)i, c);
            continue;
        }
        REQUIRE(c >= 1 && c < f->n_bins, "row %lld: bin %d of %d", (long long)i, c, f->n_bins);
        for (int32_t bin = 1; bin < f->n_bins; bin++)
            REQUIRE((v <= f->upper[bin - 1]) == (c <= bin),
                          "row %lld value %.17g bin %d: raw and code tests disagree at b=%d",
                          (long long)i, v, c, bin);
    }
}

/* Codes never decrease as values increase (rows sorted by value). */
static int cmp_pair(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

static void assert_monotone(const am_binned *b, const am_matrix *x, int32_t j)
{
    double *pairs = malloc((size_t)x->n_rows * 2 * sizeof(double));
    ck_assert_ptr_nonnull(pairs);
    int64_t m = 0;
    for (int64_t i = 0; i < x->n_rows; i++) {
        if (isnan(AM_AT(x, i, j)))
            continue;
        pairs[2 * m] = AM_AT(x, i, j);
        pairs[2 * m + 1] = AM_BIN_CODES(b, j)[i];
        m++;
    }
    qsort(pairs, (size_t)m, 2 * sizeof(double), cmp_pair);
    for (int64_t i = 1; i < m; i++) {
        if (pairs[2 * i] == pairs[2 * i - 2])
            REQUIRE(pairs[2 * i + 1] == pairs[2 * i - 1], "equal values %.17g split",
                    pairs[2 * i]);
        else
            REQUIRE(pairs[2 * i + 1] >= pairs[2 * i - 1], "bins not monotone at %.17g",
                    pairs[2 * i]);
    }
    free(pairs);
}

static int64_t *bin_counts(const am_binned *b, int32_t j)
{
    int64_t *cnt = calloc(256, sizeof(int64_t));
    ck_assert_ptr_nonnull(cnt);
    for (int64_t i = 0; i < b->n_rows; i++)
        cnt[AM_BIN_CODES(b, j)[i]]++;
    return cnt;
}

static bool same_binned(const am_binned *a, const am_binned *b)
{
    if (a->n_rows != b->n_rows || a->n_features != b->n_features)
        return false;
    if (memcmp(a->codes, b->codes, (size_t)(a->n_rows * a->n_features)) != 0)
        return false;
    for (int32_t j = 0; j < a->n_features; j++) {
        const am_bin_feature *x = &a->features[j], *y = &b->features[j];
        if (x->n_bins != y->n_bins || x->categorical != y->categorical ||
            x->n_categories != y->n_categories)
            return false;
        if (!x->categorical && x->n_bins > 1 &&
            memcmp(x->upper, y->upper, (size_t)(x->n_bins - 1) * sizeof(double)) != 0)
            return false;
        if (x->categorical &&
            memcmp(x->cat_bin, y->cat_bin, (size_t)x->n_categories * sizeof(int32_t)) != 0)
            return false;
    }
    return true;
}

/* ---- numeric features ---------------------------------------------------------------------- */

/* Four distinct values: one bin each, edges half-way between neighbours, NaN in bin 0. Holds
 * whenever the values fit, even when they exactly fill max_bin. */
START_TEST(test_few_distinct_values)
{
    static const double v[] = {3, 1, 2, NAN, 1, 3, 3, 2.5, -0.0, 0.0};
    static const double want_upper[] = {0.5, 1.5, 2.25, 2.75, INFINITY};
    static const uint8_t want_codes[] = {5, 2, 3, 0, 2, 5, 5, 4, 1, 1};
    int32_t max_bin = _i == 0 ? 255 : 5;
    am_matrix x = matrix_new(10, 1);
    memcpy(x.data, v, sizeof(v));
    am_binned b = build_ok(&x, NULL, max_bin, 1, 1);
    ck_assert_int_eq(b.features[0].n_bins, 6);
    ck_assert(!b.features[0].categorical);
    for (int k = 0; k < 5; k++)
        ck_assert_double_eq(b.features[0].upper[k], want_upper[k]);
    ck_assert_mem_eq(b.codes, want_codes, 10);
    assert_numeric_coding(&b, &x, 0, max_bin);
    am_binned_fini(&b);
    am_matrix_fini(&x);
}
END_TEST

/* Uniform values, all distinct: at most max_bin bins, nearly all of them used, each holding
 * between half and twice its fair share; monotone, and the raw test matches the code test. */
START_TEST(test_many_distinct_uniform)
{
    static const int32_t MAX_BINS[] = {255, 64, 7, 2};
    int32_t max_bin = MAX_BINS[_i];
    int64_t n = 50000;
    am_matrix x = matrix_new(n, 1);
    am_rng rng;
    am_rng_seed(&rng, 42);
    for (int64_t i = 0; i < n; i++)
        x.data[i] = 1000.0 * am_rng_uniform(&rng) - 300.0;
    am_binned b = build_ok(&x, NULL, max_bin, 3, 1);
    const am_bin_feature *f = &b.features[0];
    ck_assert_int_le(f->n_bins - 1, max_bin);
    ck_assert_int_ge(f->n_bins - 1, max_bin - max_bin / 10);
    int64_t *cnt = bin_counts(&b, 0);
    double fair = (double)n / max_bin;
    ck_assert_int_eq(cnt[0], 0);
    for (int32_t k = 1; k < f->n_bins; k++)
        ck_assert_msg(cnt[k] >= fair / 2 && cnt[k] <= 2 * fair, "max_bin %d: bin %d holds %lld "
                      "(fair %.1f)", max_bin, k, (long long)cnt[k], fair);
    assert_numeric_coding(&b, &x, 0, max_bin);
    assert_monotone(&b, &x, 0);
    free(cnt);
    am_binned_fini(&b);
    am_matrix_fini(&x);
}
END_TEST

/* Many repeated values and one value holding 40% of the rows: equal values are never split, the
 * big value gets a bin of its own, and the other bins stay balanced around it. */
START_TEST(test_repeated_values_and_big_value)
{
    int64_t n = 40000;
    int32_t max_bin = 32;
    am_matrix x = matrix_new(n, 1);
    am_rng rng;
    am_rng_seed(&rng, 7);
    for (int64_t i = 0; i < n; i++) {
        double u = am_rng_uniform(&rng);
        x.data[i] = u < 0.4 ? 50.0 : floor(100.0 * am_rng_uniform(&rng)) + 0.5;
        if (i % 97 == 0)
            x.data[i] = NAN;
    }
    am_binned b = build_ok(&x, NULL, max_bin, 5, 1);
    const am_bin_feature *f = &b.features[0];
    assert_numeric_coding(&b, &x, 0, max_bin);
    assert_monotone(&b, &x, 0);
    /* The bin of 50 holds 50 and nothing else. */
    int32_t big = -1;
    for (int64_t i = 0; i < n && big < 0; i++)
        if (x.data[i] == 50.0)
            big = AM_BIN_CODES(&b, 0)[i];
    ck_assert_int_gt(big, 0);
    for (int64_t i = 0; i < n; i++)
        REQUIRE(AM_BIN_CODES(&b, 0)[i] != big || x.data[i] == 50.0, "row %lld: %g shares the "
                "bin of 50", (long long)i, x.data[i]);
    ck_assert(big == 1 || f->upper[big - 2] >= 49.5);
    ck_assert(f->upper[big - 1] < 50.5);
    /* Other bins: 100 values of ~0.6% each over about 31 bins, none more than twice fair. */
    int64_t *cnt = bin_counts(&b, 0);
    double fair = (double)(n - cnt[0] - cnt[big]) / (f->n_bins - 2);
    for (int32_t k = 1; k < f->n_bins; k++)
        if (k != big)
            ck_assert_msg(cnt[k] <= 2 * fair, "bin %d holds %lld (fair %.1f)", k,
                          (long long)cnt[k], fair);
    ck_assert_int_ge(f->n_bins - 1, max_bin - 4);
    free(cnt);
    am_binned_fini(&b);
    am_matrix_fini(&x);
}
END_TEST

/* Extremes: infinities are values (lowest and highest bins), adjacent doubles stay apart (the
 * edge is the lower one when no mid-point fits), -0.0 and 0.0 are one value. */
START_TEST(test_extreme_values)
{
    const double one_up = nextafter(1.0, 2.0);
    const double v[] = {INFINITY, -INFINITY, 1.0, one_up, DBL_MAX, -DBL_MAX, -0.0, 0.0, NAN};
    am_matrix x = matrix_new(9, 1);
    memcpy(x.data, v, sizeof(v));
    am_binned b = build_ok(&x, NULL, 255, 1, 1);
    const am_bin_feature *f = &b.features[0];
    ck_assert_int_eq(f->n_bins, 8); /* -inf, -max, 0, 1, 1+, max, inf, and missing */
    assert_numeric_coding(&b, &x, 0, 255);
    const uint8_t *c = b.codes;
    ck_assert_int_eq(c[1], 1);
    ck_assert_int_eq(c[0], 7);
    ck_assert_int_eq(c[6], c[7]);
    ck_assert_int_eq(c[3], c[2] + 1);
    ck_assert_double_eq(f->upper[c[2] - 1], 1.0);
    ck_assert_int_eq(c[8], 0);
    am_binned_fini(&b);
    am_matrix_fini(&x);
}
END_TEST

/* A column that is missing everywhere has only the missing bin: n_bins 1, no edges. */
START_TEST(test_all_missing)
{
    am_matrix x = matrix_new(100, 2);
    for (int64_t i = 0; i < 100; i++) {
        AM_AT(&x, i, 0) = NAN;
        AM_AT(&x, i, 1) = (double)(i % 3);
    }
    am_binned b = build_ok(&x, NULL, 255, 1, 1);
    ck_assert_int_eq(b.features[0].n_bins, 1);
    ck_assert_ptr_null(b.features[0].upper);
    for (int64_t i = 0; i < 100; i++)
        REQUIRE(AM_BIN_CODES(&b, 0)[i] == 0, "row %lld not missing", (long long)i);
    ck_assert_int_eq(b.features[1].n_bins, 4);
    assert_numeric_coding(&b, &x, 1, 255);
    am_binned_fini(&b);
    am_matrix_fini(&x);

    /* No rows at all: numeric features have only the missing bin, categorical ones still bin
     * every code. */
    am_matrix empty = {.n_rows = 0, .n_cols = 2, .ld = 0, .data = NULL, .owner = false};
    int32_t n_cat[2] = {0, 3};
    b = build_ok(&empty, n_cat, 255, 1, 1);
    ck_assert_int_eq(b.features[0].n_bins, 1);
    ck_assert_int_eq(b.features[1].n_bins, 4);
    am_binned_fini(&b);
}
END_TEST

/* ---- sampling ------------------------------------------------------------------------------ */

/* 250,000 rows: edges come from 200,000 sampled rows. A value found in one row only is missed
 * by some seeds' samples (it then has no bin of its own) and caught by others; either way every
 * row is coded by the edges. A feature whose only value lies outside the sample still gets a
 * value bin. With exactly 200,000 rows every row is used, so the rare value always counts. */
START_TEST(test_sampling)
{
    int64_t n = 250000;
    am_matrix x = matrix_new(n, 2);
    for (int64_t i = 0; i < n; i++) {
        AM_AT(&x, i, 0) = (double)(i % 2);
        AM_AT(&x, i, 1) = NAN;
    }
    AM_AT(&x, 123457, 0) = 7.0;
    AM_AT(&x, 200123, 1) = -4.0;
    int seen = 0, missed = 0;
    for (uint64_t seed = 0; seed < 24; seed++) {
        am_binned b = build_ok(&x, NULL, 255, seed, 1);
        const am_bin_feature *f = &b.features[0];
        ck_assert(f->n_bins == 3 || f->n_bins == 4);
        seen += f->n_bins == 4;
        missed += f->n_bins == 3;
        ck_assert_int_eq(AM_BIN_CODES(&b, 0)[123457], f->n_bins - 1);
        assert_numeric_coding(&b, &x, 0, 255);
        ck_assert_int_eq(b.features[1].n_bins, 2);
        ck_assert_int_eq(AM_BIN_CODES(&b, 1)[200123], 1);
        ck_assert_int_eq(AM_BIN_CODES(&b, 1)[0], 0);
        am_binned_fini(&b);
    }
    ck_assert_int_gt(seen, 0);
    ck_assert_int_gt(missed, 0);
    am_matrix_fini(&x);

    am_matrix y = matrix_new(200000, 1);
    for (int64_t i = 0; i < 200000; i++)
        y.data[i] = (double)(i % 2);
    y.data[199999] = 7.0;
    for (uint64_t seed = 0; seed < 3; seed++) {
        am_binned b = build_ok(&y, NULL, 255, seed, 1);
        ck_assert_int_eq(b.features[0].n_bins, 4);
        am_binned_fini(&b);
    }
    am_matrix_fini(&y);
}
END_TEST

/* ---- categorical features ------------------------------------------------------------------ */

/* 310 codes, code c occurring c + 1 times for c < 300 and never for 300..309, plus missing and
 * invalid values: the 254 most frequent (299 down to 46) get bins 1..254, every other code
 * (never-seen ones included) shares bin 255; NaN, negative, fractional and out-of-range values
 * are missing. */
START_TEST(test_categorical_ranking)
{
    int32_t n_cat = 310;
    int64_t n = 300 * 301 / 2 + 5;
    am_matrix x = matrix_new(n, 1);
    int64_t i = 0;
    for (int32_t c = 0; c < 300; c++)
        for (int32_t k = 0; k <= c; k++)
            x.data[i++] = (double)c;
    const double bad[] = {NAN, -1.0, 2.5, 310.0, 1e300};
    for (int k = 0; k < 5; k++)
        x.data[i++] = bad[k];
    am_binned b = build_ok(&x, &n_cat, 255, 1, 1);
    const am_bin_feature *f = &b.features[0];
    ck_assert(f->categorical);
    ck_assert_int_eq(f->n_categories, 310);
    ck_assert_int_eq(f->n_bins, 256);
    ck_assert_ptr_null(f->upper);
    for (int32_t c = 0; c < n_cat; c++)
        ck_assert_int_eq(f->cat_bin[c], c >= 46 && c < 300 ? 300 - c : 255);
    for (int64_t r = 0; r < n; r++) {
        double v = x.data[r];
        int want = r >= n - 5 ? 0 : f->cat_bin[(int32_t)v];
        REQUIRE(AM_BIN_CODES(&b, 0)[r] == want, "row %lld: bin %d, want %d", (long long)r,
                AM_BIN_CODES(&b, 0)[r], want);
    }
    am_binned_fini(&b);
    am_matrix_fini(&x);
}
END_TEST

/* Few codes: each its own bin, ties by code (0 and 1 occur twice; 3 and 4 never), codes never
 * seen still binned (rarest); with max_bin 2 the most frequent code keeps bin 1 and the rest
 * share bin 2. */
START_TEST(test_categorical_small)
{
    const double v[] = {2, 0, 2, NAN, 0, 1, 2, 1};
    int32_t n_cat[2] = {5, 5};
    am_matrix x = matrix_new(8, 2);
    memcpy(x.data, v, sizeof(v));
    memcpy(x.data + 8, v, sizeof(v));
    am_binned b = build_ok(&x, n_cat, 255, 1, 1);
    const am_bin_feature *f = &b.features[0];
    ck_assert_int_eq(f->n_bins, 6);
    const int32_t want[5] = {2, 3, 1, 4, 5}; /* by count: 2 (x3), 0 (x2), 1 (x2), 3, 4 (x0) */
    ck_assert_mem_eq(f->cat_bin, want, sizeof(want));
    const uint8_t want_codes[8] = {1, 2, 1, 0, 2, 3, 1, 3};
    ck_assert_mem_eq(AM_BIN_CODES(&b, 0), want_codes, 8);
    am_binned_fini(&b);

    b = build_ok(&x, n_cat, 2, 1, 1);
    f = &b.features[1];
    ck_assert_int_eq(f->n_bins, 3);
    const int32_t want2[5] = {2, 2, 1, 2, 2};
    ck_assert_mem_eq(f->cat_bin, want2, sizeof(want2));
    const uint8_t want_codes2[8] = {1, 2, 1, 0, 2, 2, 1, 2};
    ck_assert_mem_eq(AM_BIN_CODES(&b, 1), want_codes2, 8);
    am_binned_fini(&b);
    am_matrix_fini(&x);
}
END_TEST

/* ---- determinism ----------------------------------------------------------------------------- */

/* A mixed matrix past the sampling threshold: one seed gives identical bins on 1 and 2 threads
 * and on every run; another seed samples other rows and so moves the quantile edges. */
START_TEST(test_determinism_and_threads)
{
    int64_t n = 230000;
    int32_t nf = 6;
    int32_t n_cat[6] = {0, 0, 12, 0, 0, 40};
    am_matrix x = matrix_new(n, nf);
    am_rng rng;
    am_rng_seed(&rng, 99);
    for (int64_t i = 0; i < n; i++) {
        AM_AT(&x, i, 0) = am_rng_uniform(&rng);
        AM_AT(&x, i, 1) = am_rng_uniform(&rng) < 0.1 ? NAN : floor(50 * am_rng_uniform(&rng));
        AM_AT(&x, i, 2) = (double)am_rng_below(&rng, 12);
        AM_AT(&x, i, 3) = exp(5 * am_rng_uniform(&rng));
        AM_AT(&x, i, 4) = NAN;
        AM_AT(&x, i, 5) = (double)am_rng_below(&rng, 1 + am_rng_below(&rng, 40));
    }
    am_binned a = build_ok(&x, n_cat, 255, 11, 1);
    am_binned b = build_ok(&x, n_cat, 255, 11, 2);
    am_binned c = build_ok(&x, n_cat, 255, 11, 1);
    am_binned e = build_ok(&x, n_cat, 255, 12, 2);
    ck_assert(same_binned(&a, &b));
    ck_assert(same_binned(&a, &c));
    ck_assert(!same_binned(&a, &e));
    for (int32_t j = 0; j < nf; j++)
        if (n_cat[j] == 0)
            assert_numeric_coding(&b, &x, j, 255);
    am_binned_fini(&a);
    am_binned_fini(&b);
    am_binned_fini(&c);
    am_binned_fini(&e);
    am_matrix_fini(&x);
}
END_TEST

/* ---- bad arguments and out of memory --------------------------------------------------------- */

typedef enum bad_case { B_MAX_BIN_1, B_MAX_BIN_256, B_MAX_BIN_NEG, B_NULL_X, B_NEG_CATS,
                        B_BAD_LD, B_COUNT } bad_case;

START_TEST(test_bad_arguments)
{
    am_matrix x = matrix_new(10, 2);
    int32_t n_cat[2] = {0, -3};
    int32_t max_bin = _i == B_MAX_BIN_1 ? 1 : _i == B_MAX_BIN_256 ? 256
                                          : _i == B_MAX_BIN_NEG ? -5 : 255;
    if (_i == B_BAD_LD)
        x.ld = 5;
    am_binned b;
    memset(&b, 0xab, sizeof(b));
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_binned_build(_i == B_NULL_X ? NULL : &x, _i == B_NEG_CATS ? n_cat : NULL,
                                   max_bin, 1, 1, &b, &d);
    ck_assert_int_eq(st, AM_ERR_ARG);
    ck_assert(d.message[0] != '\0');
    if (_i <= B_MAX_BIN_NEG)
        ck_assert_ptr_nonnull(strstr(d.message, "max_bin"));
    ck_assert_ptr_null(b.codes);
    ck_assert_ptr_null(b.features);
    am_binned_fini(&b);
    x.ld = 10;
    ck_assert_int_eq(am_binned_build(&x, NULL, 2, 1, 1, NULL, NULL), AM_ERR_ARG);
    am_matrix_fini(&x);
}
END_TEST

/* Every allocation may fail: AM_ERR_NOMEM and an empty result, never a crash or a leak (the
 * sanitizer and valgrind runs check leaks), until enough succeed and the result matches a clean
 * build. The large case covers the sample and the fallback to all rows. */
static void oom_case(const am_matrix *x, const int32_t *n_cat, uint64_t seed)
{
    am_binned want = build_ok(x, n_cat, 16, seed, 1);
    bool done = false;
    int64_t k;
    for (k = 0; !done && k < 1000; k++) {
        am_binned b;
        am_diag d;
        am_diag_clear(&d);
        am_alloc_fail_after(k);
        am_status st = am_binned_build(x, n_cat, 16, seed, 1, &b, &d);
        am_alloc_fail_after(-1);
        if (st == AM_OK) {
            ck_assert(same_binned(&b, &want));
            done = true;
        } else {
            ck_assert_int_eq(st, AM_ERR_NOMEM);
            ck_assert_ptr_nonnull(strstr(d.message, "out of memory"));
            ck_assert_ptr_null(b.codes);
            ck_assert_ptr_null(b.features);
        }
        am_binned_fini(&b);
    }
    ck_assert(done);
    ck_assert_int_gt(k, 3);
    am_binned_fini(&want);
}

START_TEST(test_out_of_memory)
{
    am_matrix x = matrix_new(300, 5);
    int32_t n_cat[5] = {0, 5, 0, 0, 3};
    for (int64_t i = 0; i < 300; i++) {
        AM_AT(&x, i, 0) = (double)((i * 37) % 101);
        AM_AT(&x, i, 1) = (double)(i % 5);
        AM_AT(&x, i, 2) = i % 4 ? 1.5 : NAN;
        AM_AT(&x, i, 3) = NAN;
        AM_AT(&x, i, 4) = (double)(i % 2);
    }
    oom_case(&x, n_cat, 1);
    am_matrix_fini(&x);

    am_matrix big = matrix_new(400000, 1);
    for (int64_t i = 0; i < 400000; i++)
        big.data[i] = NAN;
    big.data[321] = 3.0;
    oom_case(&big, NULL, 1);
    oom_case(&big, NULL, 2);
    am_matrix_fini(&big);
}
END_TEST

/* ---- the suite --------------------------------------------------------------------------- */

static Suite *binning_suite(void)
{
    Suite *s = suite_create("binning");
    TCase *num = tcase_create("numeric");
    tcase_add_loop_test(num, test_few_distinct_values, 0, 2);
    tcase_add_loop_test(num, test_many_distinct_uniform, 0, 4);
    tcase_add_test(num, test_repeated_values_and_big_value);
    tcase_add_test(num, test_extreme_values);
    tcase_add_test(num, test_all_missing);
    tcase_add_test(num, test_sampling);
    tcase_set_timeout(num, 60);
    suite_add_tcase(s, num);

    TCase *cat = tcase_create("categorical");
    tcase_add_test(cat, test_categorical_ranking);
    tcase_add_test(cat, test_categorical_small);
    suite_add_tcase(s, cat);

    TCase *misc = tcase_create("contract");
    tcase_add_test(misc, test_determinism_and_threads);
    tcase_add_loop_test(misc, test_bad_arguments, 0, B_COUNT);
    tcase_add_test(misc, test_out_of_memory);
    tcase_set_timeout(misc, 120);
    suite_add_tcase(s, misc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(binning_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
