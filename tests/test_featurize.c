/* test_featurize.c — the target (task inference, labels, dropped rows) and the minimal featurizer
 * (imputation, one-hot, standardisation, native output for trees, schema checks, save/load), on
 * frames built by hand. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_testing.h"

/* ---- a logger that remembers ------------------------------------------------------------- */

#define LOG_MAX 16

typedef struct captured {
    int n;
    int level[LOG_MAX];
    char msg[LOG_MAX][1024];
} captured;

static void capture(int level, const char *message, void *user)
{
    captured *c = user;
    if (c->n < LOG_MAX) {
        c->level[c->n] = level;
        snprintf(c->msg[c->n], sizeof(c->msg[0]), "%s", message);
    }
    c->n++;
}

/* Index of the first message at this level containing text, or -1. */
static int find_log(const captured *c, int level, const char *text)
{
    for (int i = 0; i < c->n && i < LOG_MAX; i++)
        if (c->level[i] == level && strstr(c->msg[i], text))
            return i;
    return -1;
}

static int count_level(const captured *c, int level)
{
    int k = 0;
    for (int i = 0; i < c->n && i < LOG_MAX; i++)
        k += c->level[i] == level;
    return k;
}

/* ---- fitting and comparing ------------------------------------------------------------------- */

/* Fits, failing the test on error. Every level seen is kept (no rare grouping) up to 100 per
 * column, so the small hand-made frames keep their levels; the defaults have their own tests. */
static am_featurizer *fit_ok(const am_frame *f, int32_t target, const int64_t *rows, int64_t n,
                             bool standardize, const am_logger *log)
{
    am_feat_options o = {.standardize = standardize, .rare_min_count = 1,
                         .onehot_max_levels = 100};
    am_featurizer *fz = NULL;
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_featurizer_fit(f, target, rows, n, &o, log, &fz, &d);
    ck_assert_msg(st == AM_OK, "fit: %s", ft_diag_text(&d));
    ck_assert_ptr_nonnull(fz);
    return fz;
}

static am_matrix transform_ok(const am_featurizer *fz, const am_frame *f, const int64_t *rows,
                              int64_t n)
{
    am_matrix m;
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_featurizer_transform(fz, f, rows, n, &m, &d);
    ck_assert_msg(st == AM_OK, "transform: %s", ft_diag_text(&d));
    ck_assert_int_eq(m.n_cols, am_featurizer_n_features(fz));
    return m;
}

static int64_t feature_index(const am_featurizer *fz, const char *name)
{
    for (int64_t j = 0; j < am_featurizer_n_features(fz); j++)
        if (strcmp(am_featurizer_feature_name(fz, j), name) == 0)
            return j;
    return -1;
}

static bool same_bits(const am_matrix *a, const am_matrix *b)
{
    if (a->n_rows != b->n_rows || a->n_cols != b->n_cols)
        return false;
    for (int64_t j = 0; j < a->n_cols; j++)
        if (a->n_rows && memcmp(&AM_AT(a, 0, j), &AM_AT(b, 0, j),
                                (size_t)a->n_rows * sizeof(double)) != 0)
            return false;
    return true;
}

static bool same_names(const am_featurizer *a, const am_featurizer *b)
{
    if (am_featurizer_n_features(a) != am_featurizer_n_features(b) ||
        am_featurizer_n_inputs(a) != am_featurizer_n_inputs(b))
        return false;
    for (int64_t j = 0; j < am_featurizer_n_features(a); j++)
        if (strcmp(am_featurizer_feature_name(a, j), am_featurizer_feature_name(b, j)))
            return false;
    for (int32_t i = 0; i < am_featurizer_n_inputs(a); i++)
        if (strcmp(am_featurizer_input_name(a, i), am_featurizer_input_name(b, i)) ||
            am_featurizer_input_type(a, i) != am_featurizer_input_type(b, i))
            return false;
    return true;
}

/* ---- featurizer: training rows only ------------------------------------------------------ */

/* Rows 0..7 train; rows 8 and 9 are validation rows full of poison: a huge number, a missing
 * value in a column that has none in training, a new category and a missing category. */
static const double POISON_X[] = {4, 1, NAN, 7, 2, 9, 3, INFINITY, 1e300, NAN};
static const double POISON_Z[] = {1, 2, 3, 4, 5, 6, 7, 8, 1e308, NAN};
static const char *const POISON_C[] = {"red", "blue", "red", NULL, "green", "red", "blue",
                                       "green", "poison", NULL};
static const char *const POISON_K[] = {"a", "b", "a", "b", "a", "b", "a", "b", "zzz", NULL};

static am_frame *poison_frame(int64_t n_rows)
{
    am_frame *f = ft_frame_new(n_rows, 4);
    ft_set_num(f, 0, "x", POISON_X);
    ft_set_cat(f, 1, "c", POISON_C);
    ft_set_num(f, 2, "z", POISON_Z);
    ft_set_cat(f, 3, "k", POISON_K);
    return f;
}

START_TEST(test_fit_on_training_rows_only)
{
    bool standardize = _i == 1;
    am_frame *with = poison_frame(10), *without = poison_frame(8);
    int64_t *rows = ft_iota(10);
    am_featurizer *a = fit_ok(with, -1, rows, 8, standardize, NULL);
    am_featurizer *b = fit_ok(without, -1, rows, 8, standardize, NULL);
    ck_assert(same_names(a, b));
    am_matrix ma = transform_ok(a, with, rows, 8), mb = transform_ok(b, without, rows, 8);
    ck_assert(same_bits(&ma, &mb));
    /* The poison left no trace in the layout either. */
    ck_assert_int_lt(feature_index(a, "c=poison"), 0);
    ck_assert_int_lt(feature_index(a, "z_missing"), 0);
    ck_assert_int_lt(feature_index(a, "k=<missing>"), 0);
    ck_assert_int_ge(feature_index(a, "c=<missing>"), 0);
    ck_assert_int_ge(feature_index(a, "x_missing"), 0);
    /* And the validation rows land where they should: poison -> unseen. */
    am_matrix mv = transform_ok(a, with, rows + 8, 2);
    if (!standardize) {
        ck_assert_double_eq(AM_AT(&mv, 0, feature_index(a, "c=<unseen>")), 1.0);
        ck_assert_double_eq(AM_AT(&mv, 0, feature_index(a, "x")), 1e300);
        ck_assert_double_eq(AM_AT(&mv, 1, feature_index(a, "z")), 4.5);
        ck_assert_double_eq(AM_AT(&mv, 0, feature_index(a, "k=<unseen>")), 1.0);
        ck_assert_double_eq(AM_AT(&mv, 1, feature_index(a, "k=<unseen>")), 1.0);
    }
    am_matrix_fini(&ma);
    am_matrix_fini(&mb);
    am_matrix_fini(&mv);
    am_featurizer_free(a);
    am_featurizer_free(b);
    am_free(rows);
    am_frame_free(with);
    am_frame_free(without);
}
END_TEST

/* ---- featurizer: numbers ---------------------------------------------------------------- */

START_TEST(test_median_and_indicator)
{
    const double x[] = {1, NAN, 3, INFINITY, 10, -INFINITY, 2};
    const double y[] = {5, 1, 4, 2, 3, 9, 7};
    am_frame *f = ft_frame_new(7, 2);
    ft_set_num(f, 0, "x", x);
    ft_set_num(f, 1, "y", y);
    int64_t *rows = ft_iota(7);
    am_featurizer *fz = fit_ok(f, -1, rows, 7, false, NULL);
    ck_assert_int_eq(am_featurizer_n_features(fz), 3);
    ck_assert_str_eq(am_featurizer_feature_name(fz, 0), "x");
    ck_assert_str_eq(am_featurizer_feature_name(fz, 1), "x_missing");
    ck_assert_str_eq(am_featurizer_feature_name(fz, 2), "y");
    ck_assert_ptr_null(am_featurizer_feature_name(fz, 3));
    am_matrix m = transform_ok(fz, f, NULL, 0);
    /* Finite x: 1, 3, 10, 2 -> median 2.5; NaN and both infinities are missing. */
    const double want_x[] = {1, 2.5, 3, 2.5, 10, 2.5, 2};
    const double want_miss[] = {0, 1, 0, 1, 0, 1, 0};
    for (int i = 0; i < 7; i++) {
        ck_assert_double_eq(AM_AT(&m, i, 0), want_x[i]);
        ck_assert_double_eq(AM_AT(&m, i, 1), want_miss[i]);
        ck_assert_double_eq(AM_AT(&m, i, 2), y[i]);
    }
    /* A column without missing values in training still imputes at predict time (median 4). */
    const double x2[] = {NAN, -INFINITY}, y2[] = {NAN, INFINITY};
    am_frame *g = ft_frame_new(2, 2);
    ft_set_num(g, 0, "y", y2);
    ft_set_num(g, 1, "x", x2);
    am_matrix p = transform_ok(fz, g, NULL, 0);
    ck_assert_double_eq(AM_AT(&p, 0, 2), 4.0);
    ck_assert_double_eq(AM_AT(&p, 1, 2), 4.0);
    ck_assert_double_eq(AM_AT(&p, 1, 0), 2.5);
    ck_assert_double_eq(AM_AT(&p, 1, 1), 1.0);
    am_matrix_fini(&p);
    am_matrix_fini(&m);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(f);
    am_frame_free(g);
}
END_TEST

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quickselect median against sorting, on shapes that break naive partitioning; from loop 16 on,
 * columns long enough (30,000+ values) for the sampled bracket to come first. */
START_TEST(test_median_oracle)
{
    const int64_t n = 1 + (_i % 2) + 200 * (_i / 4) + (_i >= 16 ? 30000 : 0);
    am_rng rng;
    am_rng_seed(&rng, (uint64_t)_i);
    double *v = am_malloc_array((size_t)n + 1, sizeof(double));
    double *s = am_malloc_array((size_t)n, sizeof(double));
    ck_assert(v && s);
    for (int64_t i = 0; i < n; i++) {
        switch (_i % 4) {
        case 0: v[i] = am_rng_uniform(&rng) * 100 - 50; break;
        case 1: v[i] = (double)i; break;                       /* sorted */
        case 2: v[i] = (double)am_rng_below(&rng, 3); break;   /* many ties */
        default: v[i] = 7.0; break;                            /* all equal */
        }
        s[i] = v[i];
    }
    v[n] = NAN; /* one extra row, missing, to read the median back */
    qsort(s, (size_t)n, sizeof(double), cmp_dbl);
    double want = n % 2 ? s[n / 2] : 0.5 * s[n / 2 - 1] + 0.5 * s[n / 2];
    am_frame *f = ft_frame_new(n + 1, 1);
    ft_set_num(f, 0, "v", v);
    int64_t *rows = ft_iota(n + 1);
    am_featurizer *fz = fit_ok(f, -1, rows, n, false, NULL);
    am_matrix m = transform_ok(fz, f, rows + n, 1);
    ck_assert_double_eq(AM_AT(&m, 0, 0), want);
    am_matrix_fini(&m);
    am_featurizer_free(fz);
    am_free(rows);
    am_free(v);
    am_free(s);
    am_frame_free(f);
}
END_TEST

/* Mean and sd of values near the largest double (their sum overflows), with a missing one. */
START_TEST(test_standardize_huge_values)
{
    const double x[] = {1e308, 1.5e308, NAN, 1.7e308, 0.2e308};
    am_frame *f = ft_frame_new(5, 1);
    ft_set_num(f, 0, "x", x);
    int64_t *rows = ft_iota(5);
    am_featurizer *fz = fit_ok(f, -1, rows, 5, true, NULL);
    am_matrix m = transform_ok(fz, f, rows, 5);
    /* imputed 1.25e308, in units of 1e308 */
    const double v[] = {1.0, 1.5, 1.25, 1.7, 0.2};
    double mean = 0, ss = 0;
    for (int i = 0; i < 5; i++)
        mean += v[i] / 5;
    for (int i = 0; i < 5; i++)
        ss += (v[i] - mean) * (v[i] - mean) / 5;
    for (int i = 0; i < 5; i++)
        ck_assert_double_eq_tol(AM_AT(&m, i, 0), (v[i] - mean) / sqrt(ss), 1e-12);
    am_matrix_fini(&m);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* ---- featurizer: categories -------------------------------------------------------------- */

START_TEST(test_onehot_unseen_and_reordered_levels)
{
    /* Rows 0..4 train; row 5 (validation) has a level never seen in training. The kept levels
     * are listed bytewise (green before red), not in order of first appearance. */
    const char *const c[] = {"red", "green", "red", NULL, "green", "purple"};
    am_frame *f = ft_frame_new(6, 1);
    ft_set_cat(f, 0, "c", c);
    int64_t *rows = ft_iota(6);
    am_featurizer *fz = fit_ok(f, -1, rows, 5, false, NULL);
    ck_assert_int_eq(am_featurizer_n_features(fz), 4);
    ck_assert_str_eq(am_featurizer_feature_name(fz, 0), "c=green");
    ck_assert_str_eq(am_featurizer_feature_name(fz, 1), "c=red");
    ck_assert_str_eq(am_featurizer_feature_name(fz, 2), "c=<missing>");
    ck_assert_str_eq(am_featurizer_feature_name(fz, 3), "c=<unseen>");
    am_matrix m = transform_ok(fz, f, NULL, 0);
    const int hot[] = {1, 0, 1, 2, 0, 3};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++)
            ck_assert_double_eq(AM_AT(&m, i, j), j == hot[i] ? 1.0 : 0.0);
    am_matrix_fini(&m);

    /* A prediction frame with its own dictionary, in another order: matched by string. */
    const char *const order[] = {"purple", "green", "red"};
    const char *const p[] = {"green", "red", "purple", NULL, "teal"};
    am_frame *g = ft_frame_new(5, 1);
    ft_set_codes(g, 0, "c", AM_COL_CAT, order, 3, p);
    am_matrix q = transform_ok(fz, g, NULL, 0);
    const int hot2[] = {0, 1, 3, 2, 3};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            ck_assert_double_eq(AM_AT(&q, i, j), j == hot2[i] ? 1.0 : 0.0);
    am_matrix_fini(&q);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(f);
    am_frame_free(g);
}
END_TEST

/* Missing at predict time when training had none: no missing slot exists, so the unseen slot. */
START_TEST(test_onehot_missing_without_slot)
{
    const char *const c[] = {"a", "b", "a"};
    const char *const p[] = {NULL, "b"};
    am_frame *f = ft_frame_new(3, 1), *g = ft_frame_new(2, 1);
    ft_set_cat(f, 0, "c", c);
    ft_set_cat(g, 0, "c", p);
    int64_t *rows = ft_iota(3);
    am_featurizer *fz = fit_ok(f, -1, rows, 3, false, NULL);
    ck_assert_int_eq(am_featurizer_n_features(fz), 3);
    am_matrix q = transform_ok(fz, g, NULL, 0);
    ck_assert_double_eq(AM_AT(&q, 0, 2), 1.0);
    ck_assert_double_eq(AM_AT(&q, 0, 0) + AM_AT(&q, 0, 1), 0.0);
    ck_assert_double_eq(AM_AT(&q, 1, 1), 1.0);
    am_matrix_fini(&q);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(f);
    am_frame_free(g);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 150 levels, a cap of 100: L149 (5 rows), L120 (4 rows) and, of the 148 levels tied at one row,
 * the first 98 bytewise ("L0", "L1", "L10", "L100", ...; not the first 98 of the dictionary)
 * keep a slot, listed bytewise; the rest share the <rare> slot. */
START_TEST(test_onehot_level_cap)
{
    enum { L = 150, N = L + 7 };
    char names[L][8];
    const char *v[N];
    for (int l = 0; l < L; l++) {
        snprintf(names[l], sizeof(names[l]), "L%d", l);
        v[l] = names[l];
    }
    for (int i = L; i < N; i++)
        v[i] = i < L + 4 ? names[149] : names[120];
    am_frame *f = ft_frame_new(N, 1);
    ft_set_cat(f, 0, "c", v);
    int64_t *rows = ft_iota(N);
    am_featurizer *fz = fit_ok(f, -1, rows, N, false, NULL);
    ck_assert_int_eq(am_featurizer_n_features(fz), 102);
    /* The oracle: the tied levels sorted, the first 98 of them with L120 and L149, sorted. */
    const char *kept[L];
    int n_tied = 0;
    for (int l = 0; l < L; l++)
        if (l != 120 && l != 149)
            kept[n_tied++] = names[l];
    qsort(kept, (size_t)n_tied, sizeof(kept[0]), cmp_str);
    kept[98] = names[120];
    kept[99] = names[149];
    qsort(kept, 100, sizeof(kept[0]), cmp_str);
    for (int l = 0; l < 100; l++) {
        char want[16];
        snprintf(want, sizeof(want), "c=%s", kept[l]);
        ck_assert_str_eq(am_featurizer_feature_name(fz, l), want);
    }
    ck_assert_str_eq(am_featurizer_feature_name(fz, 0), "c=L0");
    ck_assert_str_eq(am_featurizer_feature_name(fz, 2), "c=L10");
    ck_assert_str_eq(am_featurizer_feature_name(fz, 3), "c=L100");
    ck_assert_str_eq(am_featurizer_feature_name(fz, 100), "c=<rare>");
    ck_assert_str_eq(am_featurizer_feature_name(fz, 101), "c=<unseen>");
    ck_assert_int_lt(feature_index(fz, "c=L99"), 0); /* bytewise last of the tied ones */
    ck_assert_int_lt(feature_index(fz, "c=L97"), 0); /* would be kept by dictionary order */
    int64_t j120 = feature_index(fz, "c=L120"), j149 = feature_index(fz, "c=L149");
    ck_assert(j120 >= 0 && j149 >= 0);
    am_matrix m = transform_ok(fz, f, NULL, 0);
    ck_assert_double_eq(AM_AT(&m, 99, 100), 1.0); /* L99 has no slot of its own: grouped */
    ck_assert_double_eq(AM_AT(&m, 120, j120), 1.0);
    ck_assert_double_eq(AM_AT(&m, 149, j149), 1.0);
    am_matrix_fini(&m);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* ---- featurizer: standardisation --------------------------------------------------------- */

START_TEST(test_standardize)
{
    const double x[] = {1, 2, NAN, 40, 5, 6, -3, 8, 1e6};
    const double k[] = {5, 5, 5, 5, 5, 5, 5, 5, 5};
    const char *const c[] = {"a", "b", "a", NULL, "c", "a", "b", "a", "d"};
    am_frame *f = ft_frame_new(9, 3);
    ft_set_num(f, 0, "x", x);
    ft_set_num(f, 1, "k", k);
    ft_set_cat(f, 2, "c", c);
    int64_t *rows = ft_iota(9);
    const int64_t n = 8; /* the last row is validation */
    am_featurizer *fz = fit_ok(f, -1, rows, n, true, NULL);
    am_matrix m = transform_ok(fz, f, rows, n);
    int64_t constant_k = feature_index(fz, "k"), unseen = feature_index(fz, "c=<unseen>");
    ck_assert_int_ge(constant_k, 0);
    ck_assert_int_ge(unseen, 0);
    for (int64_t j = 0; j < m.n_cols; j++) {
        double sum = 0, ss = 0;
        for (int64_t i = 0; i < n; i++)
            sum += AM_AT(&m, i, j);
        double mean = sum / (double)n;
        for (int64_t i = 0; i < n; i++)
            ss += (AM_AT(&m, i, j) - mean) * (AM_AT(&m, i, j) - mean);
        double sd = sqrt(ss / (double)n);
        ck_assert_double_eq_tol(mean, 0.0, 1e-12);
        if (j == constant_k || j == unseen) /* sd 0 in training: centred, not scaled */
            ck_assert_double_eq(sd, 0.0);
        else
            ck_assert_double_eq_tol(sd, 1.0, 1e-12);
    }
    for (int64_t i = 0; i < n; i++)
        ck_assert_double_eq(AM_AT(&m, i, constant_k), 0.0);
    am_matrix_fini(&m);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* ---- featurizer: schema ------------------------------------------------------------------ */

static am_featurizer *age_color_featurizer(am_frame **train)
{
    const double age[] = {30, 40, NAN, 50};
    const char *const color[] = {"red", "blue", "red", "blue"};
    am_frame *f = ft_frame_new(4, 2);
    ft_set_num(f, 0, "age", age);
    ft_set_cat(f, 1, "color", color);
    int64_t rows[] = {0, 1, 2, 3};
    *train = f;
    return fit_ok(f, -1, rows, 4, false, NULL);
}

START_TEST(test_schema_missing_column)
{
    am_frame *train;
    am_featurizer *fz = age_color_featurizer(&train);
    const char *const color[] = {"red"};
    am_frame *g = ft_frame_new(1, 1);
    ft_set_cat(g, 0, "color", color);
    ft_set_source(g, "pred.csv");
    am_matrix m;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_featurizer_transform(fz, g, NULL, 0, &m, &d), AM_ERR_DATA);
    ck_assert_str_eq(d.message, "column \"age\" is missing");
    ck_assert_str_eq(d.column, "age");
    ck_assert_str_eq(d.file, "pred.csv");
    ck_assert_ptr_null(m.data);
    am_featurizer_free(fz);
    am_frame_free(train);
    am_frame_free(g);
}
END_TEST

START_TEST(test_schema_retyped_column)
{
    am_frame *train;
    am_featurizer *fz = age_color_featurizer(&train);
    const char *const age[] = {"old"};
    const char *const color[] = {"red"};
    am_frame *g = ft_frame_new(1, 2);
    ft_set_cat(g, 0, "color", color);
    ft_set_cat(g, 1, "age", age);
    ft_set_source(g, "pred.csv");
    am_matrix m;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_featurizer_transform(fz, g, NULL, 0, &m, &d), AM_ERR_DATA);
    ck_assert_str_eq(d.message, "column \"age\" was number in training, is category here");
    ck_assert_str_eq(d.column, "age");
    ck_assert_str_eq(d.file, "pred.csv");
    am_featurizer_free(fz);
    am_frame_free(train);
    am_frame_free(g);
}
END_TEST

/* Columns are matched by name: another order and extra columns give the same matrix. */
START_TEST(test_schema_order_and_extra_columns)
{
    am_frame *train;
    am_featurizer *fz = age_color_featurizer(&train);
    ck_assert_int_eq(am_featurizer_n_inputs(fz), 2);
    ck_assert_str_eq(am_featurizer_input_name(fz, 0), "age");
    ck_assert_int_eq(am_featurizer_input_type(fz, 0), AM_COL_NUM);
    ck_assert_int_eq(am_featurizer_input_type(fz, 1), AM_COL_CAT);
    const double age[] = {30, 40, NAN, 50}, extra[] = {1, 2, 3, 4};
    const char *const color[] = {"red", "blue", "red", "blue"};
    am_frame *g = ft_frame_new(4, 3);
    ft_set_num(g, 0, "extra", extra);
    ft_set_cat(g, 1, "color", color);
    ft_set_num(g, 2, "age", age);
    am_matrix a = transform_ok(fz, train, NULL, 0), b = transform_ok(fz, g, NULL, 0);
    ck_assert(same_bits(&a, &b));
    am_matrix_fini(&a);
    am_matrix_fini(&b);
    am_featurizer_free(fz);
    am_frame_free(train);
    am_frame_free(g);
}
END_TEST

/* ---- featurizer: dropped columns --------------------------------------------------------- */

START_TEST(test_time_text_encoded_empty_dropped)
{
    const double x[] = {1, 2, 3}, t[] = {0, 86400 * 40, 172800 * 90}, e[] = {NAN, NAN, 5},
                 y[] = {0, 1, 0};
    const char *const txt[] = {"a long text", "more words here", "and so on"};
    am_frame *f = ft_frame_new(3, 5);
    ft_set_num(f, 0, "x", x);
    ft_set_time(f, 1, "d", t);
    ft_set_codes(f, 2, "t", AM_COL_TEXT, NULL, 0, txt);
    ft_set_num(f, 3, "e", e);
    ft_set_num(f, 4, "y", y);
    captured cap = {0};
    am_logger log = {capture, &cap};
    int64_t rows[] = {0, 1}; /* e has a value only in row 2, which is not a training row */
    am_featurizer *fz = fit_ok(f, 4, rows, 2, false, &log);
    ck_assert_int_eq(am_featurizer_n_inputs(fz), 3);
    ck_assert_str_eq(am_featurizer_input_name(fz, 0), "x");
    ck_assert_str_eq(am_featurizer_input_name(fz, 1), "d");
    ck_assert_int_eq(am_featurizer_input_role(fz, 1), AM_ROLE_DATETIME);
    ck_assert_str_eq(am_featurizer_input_name(fz, 2), "t");
    ck_assert_int_eq(am_featurizer_input_role(fz, 2), AM_ROLE_TEXT);
    ck_assert_int_ge(feature_index(fz, "d.month_sin"), 0); /* the month varies */
    ck_assert_int_ge(feature_index(fz, "t#w0"), 0);
    ck_assert_int_eq(count_level(&cap, AM_LOG_WARN), 1);
    ck_assert_int_ge(find_log(&cap, AM_LOG_WARN, "dropping column \"e\": it has no value in the "
                              "training rows"), 0);
    am_featurizer_free(fz);
    am_frame_free(f);

    /* Target and a column empty in the training rows: nothing is left. */
    f = ft_frame_new(3, 2);
    ft_set_num(f, 0, "y", y);
    ft_set_num(f, 1, "e", e);
    ft_set_source(f, "train.csv");
    am_featurizer *none = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_featurizer_fit(f, 0, rows, 2, NULL, NULL, &none, &d), AM_ERR_DATA);
    ck_assert_ptr_null(none);
    ck_assert_ptr_nonnull(strstr(d.message, "no feature column"));
    /* and why each column is out */
    ck_assert_ptr_nonnull(strstr(d.message, "\"y\" (the target), \"e\" (no value in the "
                                            "training rows)"));
    ck_assert_str_eq(d.file, "train.csv");
    am_frame_free(f);
}
END_TEST

START_TEST(test_fit_bad_arguments)
{
    const double x[] = {1, 2};
    am_frame *f = ft_frame_new(2, 1);
    ft_set_num(f, 0, "x", x);
    int64_t bad[] = {0, 2}, good[] = {0, 1};
    am_featurizer *fz = NULL;
    ck_assert_int_eq(am_featurizer_fit(f, -1, bad, 2, NULL, NULL, &fz, NULL), AM_ERR_ARG);
    ck_assert_int_eq(am_featurizer_fit(f, -1, good, 0, NULL, NULL, &fz, NULL), AM_ERR_ARG);
    ck_assert_int_eq(am_featurizer_fit(f, 1, good, 2, NULL, NULL, &fz, NULL), AM_ERR_ARG);
    ck_assert_ptr_null(fz);
    fz = fit_ok(f, -1, good, 2, false, NULL);
    am_matrix m;
    ck_assert_int_eq(am_featurizer_transform(fz, f, bad, 2, &m, NULL), AM_ERR_ARG);
    am_featurizer_free(fz);
    am_featurizer_free(NULL);
    am_frame_free(f);
}
END_TEST

/* ---- featurizer: save and load ----------------------------------------------------------- */

static void save_ok(const am_featurizer *fz, am_buf *b)
{
    am_buf_init(b);
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(am_featurizer_save(fz, b, &d) == AM_OK, "save: %s", ft_diag_text(&d));
}

static am_status load_bytes(const void *data, size_t len, uint32_t version, am_featurizer **out,
                            am_diag *d)
{
    am_reader r;
    am_reader_init(&r, data, len, "featurizer");
    return am_featurizer_load(&r, version, out, d);
}

START_TEST(test_save_load_roundtrip)
{
    bool standardize = _i == 1;
    am_frame *f = poison_frame(10);
    int64_t *rows = ft_iota(10);
    am_featurizer *fz = fit_ok(f, -1, rows, 8, standardize, NULL);
    am_buf b;
    save_ok(fz, &b);
    am_featurizer *back = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(load_bytes(b.data, b.len, AM_FEATURIZER_FORMAT, &back, &d) == AM_OK, "%s",
                  ft_diag_text(&d));
    ck_assert(same_names(fz, back));
    am_matrix m1 = transform_ok(fz, f, NULL, 0), m2 = transform_ok(back, f, NULL, 0);
    ck_assert(same_bits(&m1, &m2));
    /* Saving the loaded one gives the same bytes. */
    am_buf b2;
    save_ok(back, &b2);
    ck_assert_uint_eq(b.len, b2.len);
    ck_assert_mem_eq(b.data, b2.data, b.len);
    am_buf_fini(&b2);
    am_matrix_fini(&m1);
    am_matrix_fini(&m2);
    am_featurizer_free(back);
    am_buf_fini(&b);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* Column statistics are shared out among threads; the fitted featurizer must not change. */
START_TEST(test_threads_identical)
{
    const int64_t n = 3001;
    const int32_t p = 9;
    am_rng rng;
    am_rng_seed(&rng, 77);
    am_frame *f = ft_frame_new(n, p);
    double *v = am_malloc_array((size_t)n, sizeof(double));
    ck_assert_ptr_nonnull(v);
    for (int32_t j = 0; j < p; j++) {
        for (int64_t i = 0; i < n; i++)
            v[i] = am_rng_below(&rng, 10) == 0 ? NAN : am_rng_uniform(&rng) * (j + 1) - j;
        char name[16];
        snprintf(name, sizeof(name), "x%d", (int)j);
        ft_set_num(f, j, name, v);
    }
    int64_t *rows = ft_iota(n);
    am_buf b[2];
    for (int t = 0; t < 2; t++) {
        am_feat_options o = {.standardize = true, .n_threads = t + 1};
        am_featurizer *fz = NULL;
        am_diag d;
        am_diag_clear(&d);
        ck_assert_msg(am_featurizer_fit(f, -1, rows, n, &o, NULL, &fz, &d) == AM_OK, "fit: %s",
                      ft_diag_text(&d));
        save_ok(fz, &b[t]);
        am_featurizer_free(fz);
    }
    ck_assert_uint_eq(b[0].len, b[1].len);
    ck_assert_mem_eq(b[0].data, b[1].data, b[0].len);
    am_buf_fini(&b[0]);
    am_buf_fini(&b[1]);
    am_free(rows);
    am_free(v);
    am_frame_free(f);
}
END_TEST

START_TEST(test_load_truncated)
{
    am_frame *f = poison_frame(10);
    int64_t *rows = ft_iota(10);
    am_featurizer *fz = fit_ok(f, -1, rows, 8, _i == 1, NULL);
    am_buf b;
    save_ok(fz, &b);
    for (size_t len = 0; len < b.len; len++) {
        am_featurizer *out = NULL;
        am_diag d;
        am_diag_clear(&d);
        ck_assert_int_eq(load_bytes(b.data, len, AM_FEATURIZER_FORMAT, &out, &d), AM_ERR_FORMAT);
        ck_assert_ptr_null(out);
    }
    am_buf_fini(&b);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* Hand-made payloads (format 2) that are well-formed byte streams but nonsense as
 * featurizers. Two numeric inputs: "n" (imputed value and indicator) and "m" (value only). */
typedef enum corrupt {
    C_NO_INPUTS, C_HUGE_INPUTS, C_BAD_NATIVE, C_BAD_SCALING, C_BAD_TYPE, C_BAD_ROLE,
    C_BAD_FORMAT, C_NO_ENCODERS, C_MANY_ENCODERS, C_UNKNOWN_ENCODER, C_LONG_PAYLOAD,
    C_SHORT_PAYLOAD, C_NAN_MEDIAN, C_DUP_INPUT, C_INF_SCALE, C_ZERO_SCALE, C_NEG_SCALE,
    C_NAN_CENTER, C_NEWER_VERSION, C_VALID, C_COUNT
} corrupt;

/* A numeric encoder's payload: width, names, no category counts, fill, indicator flag. */
static void numeric_payload(am_buf *p, const char *name, double fill, bool indicator)
{
    am_buf_init(p);
    am_buf_u64(p, indicator ? 2 : 1);
    am_buf_str(p, name);
    if (indicator) {
        char miss[64];
        snprintf(miss, sizeof(miss), "%s_missing", name);
        am_buf_str(p, miss);
    }
    am_buf_u8(p, 0);
    am_buf_f64(p, fill);
    am_buf_u8(p, indicator ? 1 : 0);
}

static void put_input(am_buf *b, corrupt c, const char *name, double fill, bool indicator)
{
    am_buf_str(b, name);
    am_buf_u32(b, c == C_BAD_TYPE ? AM_COL_TEXT : AM_COL_NUM);
    am_buf_u8(b, c == C_BAD_FORMAT ? 1 : 0);                    /* time format */
    am_buf_u8(b, c == C_BAD_ROLE ? 9 : AM_ROLE_NUMERIC);
    am_buf_u32(b, c == C_NO_ENCODERS ? 0 : c == C_MANY_ENCODERS ? 5 : 1);
    am_buf p;
    numeric_payload(&p, name, fill, indicator);
    am_buf_str(b, c == C_UNKNOWN_ENCODER ? "bogus" : "numeric");
    am_buf_u32(b, 1);
    am_buf_u64(b, p.len + (c == C_LONG_PAYLOAD) - (c == C_SHORT_PAYLOAD));
    am_buf_put(b, p.data, p.len);
    if (c == C_LONG_PAYLOAD)
        am_buf_u8(b, 0);
    am_buf_fini(&p);
}

static void build_payload(am_buf *b, corrupt c)
{
    am_buf_init(b);
    am_buf_u64(b, c == C_NO_INPUTS ? 0 : c == C_HUGE_INPUTS ? UINT64_MAX / 2 : 2);
    am_buf_u8(b, c == C_BAD_NATIVE ? 2 : 0);  /* not native */
    am_buf_u8(b, c == C_BAD_SCALING ? 3 : 1); /* standardised */
    put_input(b, c, "n", c == C_NAN_MEDIAN ? NAN : 1.5, true);
    put_input(b, c, c == C_DUP_INPUT ? "n" : "m", 2.0, false);
    const double center[3] = {0, 0.5, c == C_NAN_CENTER ? NAN : 0.5};
    const double scale[3] = {c == C_INF_SCALE ? INFINITY : 1, c == C_ZERO_SCALE ? 0.0 : 0.5,
                             c == C_NEG_SCALE ? -0.5 : 0.5};
    am_buf_f64s(b, center, 3);
    am_buf_f64s(b, scale, 3);
    ck_assert(!b->failed);
}

START_TEST(test_load_corrupt)
{
    am_buf b;
    build_payload(&b, (corrupt)_i);
    am_featurizer *out = NULL;
    am_diag d;
    am_diag_clear(&d);
    uint32_t version = _i == C_NEWER_VERSION ? AM_FEATURIZER_FORMAT + 1 : AM_FEATURIZER_FORMAT;
    am_status st = load_bytes(b.data, b.len, version, &out, &d);
    if (_i == C_VALID) {
        ck_assert_msg(st == AM_OK, "%s", ft_diag_text(&d));
        ck_assert_int_eq(am_featurizer_n_features(out), 3);
        ck_assert_str_eq(am_featurizer_feature_name(out, 1), "n_missing");
        ck_assert_str_eq(am_featurizer_feature_name(out, 2), "m");
    } else {
        ck_assert_int_eq(st, AM_ERR_FORMAT);
        ck_assert_ptr_null(out);
        ck_assert(d.message[0] != '\0');
    }
    am_featurizer_free(out);
    am_buf_fini(&b);
}
END_TEST

/* Every allocation in fit, transform, save and load may fail: a clean status, never a crash or
 * a leak (the sanitizer and valgrind runs check the leaks). */
START_TEST(test_out_of_memory)
{
    am_frame *f = poison_frame(10);
    int64_t *rows = ft_iota(10);
    am_feat_options o = {.standardize = true};
    am_featurizer *ref = NULL;
    am_matrix ref_x;
    ck_assert_int_eq(am_featurizer_fit_transform(f, -1, rows, 8, &o, NULL, &ref, &ref_x, NULL),
                     AM_OK);
    bool done = false;
    for (int64_t k = 0; !done && k < 10000; k++) {
        am_featurizer *fz = NULL, *back = NULL;
        am_matrix m = {0}, x = {0};
        am_buf b;
        am_buf_init(&b);
        am_alloc_fail_after(k);
        am_status st = am_featurizer_fit_transform(f, -1, rows, 8, &o, NULL, &fz, &x, NULL);
        /* A failure is reported, never swallowed: whenever the fit says OK, its training
         * matrix is the one fitted without failures. */
        am_status fit_st = st;
        if (st == AM_OK)
            st = am_featurizer_transform(fz, f, rows, 10, &m, NULL);
        if (st == AM_OK)
            st = am_featurizer_save(fz, &b, NULL);
        if (st == AM_OK)
            st = load_bytes(b.data, b.len, AM_FEATURIZER_FORMAT, &back, NULL);
        am_alloc_fail_after(-1);
        if (fit_st == AM_OK)
            ck_assert_msg(same_bits(&x, &ref_x), "k=%lld: a swallowed failure", (long long)k);
        /* Only the k-th allocation failing: later successes must not hide it. */
        am_featurizer *fz1 = NULL;
        am_matrix x1 = {0};
        am_alloc_fail_once(k);
        am_status once = am_featurizer_fit_transform(f, -1, rows, 8, &o, NULL, &fz1, &x1, NULL);
        am_alloc_fail_after(-1);
        ck_assert(once == AM_OK || once == AM_ERR_NOMEM);
        if (once == AM_OK)
            ck_assert_msg(same_bits(&x1, &ref_x), "k=%lld: a failure hidden by a later success",
                          (long long)k);
        am_matrix_fini(&x1);
        am_featurizer_free(fz1);
        ck_assert_msg(st == AM_OK || st == AM_ERR_NOMEM || st == AM_ERR_FORMAT,
                      "k=%lld: %s", (long long)k, am_status_name(st));
        done = st == AM_OK;
        am_featurizer_free(back);
        am_matrix_fini(&m);
        am_matrix_fini(&x);
        am_buf_fini(&b);
        am_featurizer_free(fz);
    }
    ck_assert(done);
    am_matrix_fini(&ref_x);
    am_featurizer_free(ref);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* ---- featurizer: native output (tree learners) --------------------------------------------- */

static am_featurizer *fit_native(const am_frame *f, int32_t target, const int64_t *rows,
                                 int64_t n, bool standardize, const am_logger *log)
{
    am_feat_options o = {.standardize = standardize, .native = true};
    am_featurizer *fz = NULL;
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_featurizer_fit(f, target, rows, n, &o, log, &fz, &d);
    ck_assert_msg(st == AM_OK, "fit: %s", ft_diag_text(&d));
    return fz;
}

/* Expected value, NaN included (NaN == NaN here). */
static void assert_value(double got, double want, const char *what, int64_t row)
{
    ck_assert_msg(isnan(want) ? isnan(got) : got == want, "%s row %lld: got %.17g, want %.17g",
                  what, (long long)row, got, want);
}

/* One feature per column named as the column; numbers as they are with NaN for missing and
 * infinite values (no imputation, no indicator, no scaling even when asked); categories as the
 * index of the level among the training levels, NaN for missing and unseen. */
START_TEST(test_native_output)
{
    bool standardize = _i == 1;
    am_frame *f = poison_frame(10);
    int64_t *rows = ft_iota(10);
    am_featurizer *fz = fit_native(f, -1, rows, 8, standardize, NULL);
    ck_assert_int_eq(am_featurizer_n_features(fz), 4);
    ck_assert_int_eq(am_featurizer_n_inputs(fz), 4);
    const char *const names[] = {"x", "c", "z", "k"};
    const int32_t n_cat[] = {0, 3, 0, 2};
    for (int j = 0; j < 4; j++) {
        ck_assert_str_eq(am_featurizer_feature_name(fz, j), names[j]);
        ck_assert_int_eq(am_featurizer_n_categories(fz, j), n_cat[j]);
    }
    ck_assert_int_eq(am_featurizer_n_categories(fz, -1), 0);
    ck_assert_int_eq(am_featurizer_n_categories(fz, 4), 0);
    ck_assert_int_eq(am_featurizer_n_categories(NULL, 0), 0);
    am_matrix m = transform_ok(fz, f, NULL, 0);
    const double want_c[] = {2, 0, 2, NAN, 1, 2, 0, 1, NAN, NAN}; /* blue, green, red; poison */
    const double want_k[] = {0, 1, 0, 1, 0, 1, 0, 1, NAN, NAN};
    for (int64_t i = 0; i < 10; i++) {
        double x = POISON_X[i];
        assert_value(AM_AT(&m, i, 0), isfinite(x) ? x : NAN, "x", i);
        assert_value(AM_AT(&m, i, 1), want_c[i], "c", i);
        assert_value(AM_AT(&m, i, 2), POISON_Z[i], "z", i);
        assert_value(AM_AT(&m, i, 3), want_k[i], "k", i);
    }
    /* A one-hot featurizer of the same data says 0 categories everywhere. */
    am_featurizer *plain = fit_ok(f, -1, rows, 8, false, NULL);
    for (int64_t j = 0; j < am_featurizer_n_features(plain); j++)
        ck_assert_int_eq(am_featurizer_n_categories(plain, j), 0);
    am_featurizer_free(plain);
    am_matrix_fini(&m);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* Codes are the bytewise rank among the levels seen in training (not the dictionary's order,
 * which starts zeta, alpha, mid, nor first appearance), every seen level is kept (no one-hot
 * cap), an unused or new level is NaN, and another frame with its own level dictionary is
 * matched by string. */
START_TEST(test_native_levels)
{
    enum { N = 160, N_TRAIN = 156 };
    static char many[150][8];
    const char *v[N];
    for (int i = 0; i < 150; i++) {
        snprintf(many[i], sizeof(many[i]), "L%03d", i);
        v[i] = many[i];
    }
    const char *const tail[] = {"alpha", "mid", "zeta", "alpha", NULL, "mid",
                                "unused", "zeta", NULL, "new"};
    for (int i = 0; i < 10; i++)
        v[150 + i] = tail[i];
    const char *const order[] = {"zeta", "alpha", "mid", "unused"};
    am_frame *f = ft_frame_new(N, 1);
    ft_set_codes(f, 0, "c", AM_COL_CAT, order, 4, v);
    int64_t *rows = ft_iota(N);
    am_featurizer *fz = fit_native(f, -1, rows, N_TRAIN, false, NULL);
    ck_assert_int_eq(am_featurizer_n_features(fz), 1);
    ck_assert_int_eq(am_featurizer_n_categories(fz, 0), 153);
    am_matrix m = transform_ok(fz, f, NULL, 0);
    for (int i = 0; i < 150; i++)
        assert_value(AM_AT(&m, i, 0), i, "L", i); /* "L000" < "L149" < "alpha" */
    const double want[] = {150, 151, 152, 150, NAN, 151, NAN, 152, NAN, NAN};
    for (int i = 0; i < 10; i++)
        assert_value(AM_AT(&m, 150 + i, 0), want[i], "tail", 150 + i);
    am_matrix_fini(&m);

    const char *const other[] = {"mid", "new", "zeta", "L149"};
    am_frame *g = ft_frame_new(4, 1);
    ft_set_cat(g, 0, "c", other);
    m = transform_ok(fz, g, NULL, 0);
    const double want_g[] = {151, NAN, 152, 149};
    for (int i = 0; i < 4; i++)
        assert_value(AM_AT(&m, i, 0), want_g[i], "other frame", i);
    am_matrix_fini(&m);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(g);
    am_frame_free(f);
}
END_TEST

/* The rules around the output stay: date/text and empty columns dropped, schema checked. */
START_TEST(test_native_drops_and_schema)
{
    const double x[] = {1, 2, 3}, t[] = {0, 86400, 172800}, e[] = {NAN, NAN, 5};
    am_frame *f = ft_frame_new(3, 3);
    ft_set_num(f, 0, "x", x);
    ft_set_time(f, 1, "d", t);
    ft_set_num(f, 2, "e", e);
    captured cap = {0};
    am_logger log = {capture, &cap};
    int64_t rows[] = {0, 1};
    am_featurizer *fz = fit_native(f, -1, rows, 2, false, &log);
    ck_assert_int_eq(am_featurizer_n_inputs(fz), 2); /* e has no value in the training rows */
    ck_assert_str_eq(am_featurizer_feature_name(fz, 0), "x");
    ck_assert_str_eq(am_featurizer_feature_name(fz, 1), "d.day"); /* raw calendar parts */
    ck_assert_int_eq(count_level(&cap, AM_LOG_WARN), 1);
    am_frame *g = ft_frame_new(3, 1);
    ft_set_num(g, 0, "y", x);
    am_matrix m;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_featurizer_transform(fz, g, NULL, 0, &m, &d), AM_ERR_DATA);
    ck_assert_str_eq(d.column, "x");
    am_featurizer_free(fz);
    am_frame_free(g);
    am_frame_free(f);
}
END_TEST

/* Save -> load keeps the native mode, the levels and so the output bit for bit; saving again
 * gives the same bytes; every truncation is refused. */
START_TEST(test_native_save_load)
{
    am_frame *f = poison_frame(10);
    int64_t *rows = ft_iota(10);
    am_featurizer *fz = fit_native(f, -1, rows, 8, false, NULL);
    am_buf b;
    save_ok(fz, &b);
    ck_assert_uint_gt(b.len, 10);
    ck_assert_int_eq(b.data[8], 1); /* after the input count: native, then no scaling */
    ck_assert_int_eq(b.data[9], 0);
    am_featurizer *back = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(load_bytes(b.data, b.len, AM_FEATURIZER_FORMAT, &back, &d) == AM_OK, "%s",
                  ft_diag_text(&d));
    ck_assert(same_names(fz, back));
    for (int64_t j = 0; j < 4; j++)
        ck_assert_int_eq(am_featurizer_n_categories(back, j), am_featurizer_n_categories(fz, j));
    am_matrix m1 = transform_ok(fz, f, NULL, 0), m2 = transform_ok(back, f, NULL, 0);
    ck_assert(same_bits(&m1, &m2));
    ck_assert(isnan(AM_AT(&m2, 8, 1))); /* still native: an unseen level is NaN */
    am_buf b2;
    save_ok(back, &b2);
    ck_assert_uint_eq(b.len, b2.len);
    ck_assert_mem_eq(b.data, b2.data, b.len);
    for (size_t len = 0; len < b.len; len++) {
        am_featurizer *out = NULL;
        ck_assert_int_eq(load_bytes(b.data, len, AM_FEATURIZER_FORMAT, &out, NULL), AM_ERR_FORMAT);
        ck_assert_ptr_null(out);
    }
    am_buf_fini(&b2);
    am_matrix_fini(&m1);
    am_matrix_fini(&m2);
    am_featurizer_free(back);
    am_buf_fini(&b);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* Native payloads that parse as bytes but not as featurizers. */
/* Native payloads by hand: _i 0 native with scaling (corrupt), 1 an input with no encoder
 * (corrupt), 2 valid: two native numeric inputs. */
START_TEST(test_native_load_corrupt)
{
    am_buf b;
    am_buf_init(&b);
    am_buf_u64(&b, 2);
    am_buf_u8(&b, 1);               /* native */
    am_buf_u8(&b, _i == 0 ? 1 : 0); /* scaling */
    const char *names[2] = {"n", "c"};
    for (int k = 0; k < 2; k++) {
        am_buf_str(&b, names[k]);
        am_buf_u32(&b, AM_COL_NUM);
        am_buf_u8(&b, 0);
        am_buf_u8(&b, AM_ROLE_NUMERIC);
        am_buf_u32(&b, _i == 1 && k == 1 ? 0 : 1);
        if (_i == 1 && k == 1)
            continue;
        am_buf p;
        am_buf_init(&p);
        am_buf_u64(&p, 1);
        am_buf_str(&p, names[k]);
        am_buf_u8(&p, 0);
        am_buf_str(&b, "native_numeric");
        am_buf_u32(&b, 1);
        am_buf_u64(&b, p.len);
        am_buf_put(&b, p.data, p.len);
        am_buf_fini(&p);
    }
    ck_assert(!b.failed);
    am_featurizer *out = NULL;
    am_status st = load_bytes(b.data, b.len, AM_FEATURIZER_FORMAT, &out, NULL);
    if (_i == 2) {
        ck_assert_int_eq(st, AM_OK);
        ck_assert_int_eq(am_featurizer_n_features(out), 2);
        ck_assert_str_eq(am_featurizer_feature_name(out, 1), "c");
        ck_assert_int_eq(am_featurizer_n_categories(out, 1), 0);
    } else {
        ck_assert_int_eq(st, AM_ERR_FORMAT);
        ck_assert_ptr_null(out);
    }
    am_featurizer_free(out);
    am_buf_fini(&b);
}
END_TEST

START_TEST(test_native_out_of_memory)
{
    am_frame *f = poison_frame(10);
    int64_t *rows = ft_iota(10);
    bool done = false;
    for (int64_t k = 0; !done && k < 10000; k++) {
        am_featurizer *fz = NULL, *back = NULL;
        am_matrix m = {0};
        am_buf b;
        am_buf_init(&b);
        am_feat_options o = {.native = true};
        am_alloc_fail_after(k);
        am_status st = am_featurizer_fit(f, -1, rows, 8, &o, NULL, &fz, NULL);
        if (st == AM_OK)
            st = am_featurizer_transform(fz, f, rows, 10, &m, NULL);
        if (st == AM_OK)
            st = am_featurizer_save(fz, &b, NULL);
        if (st == AM_OK)
            st = load_bytes(b.data, b.len, AM_FEATURIZER_FORMAT, &back, NULL);
        am_alloc_fail_after(-1);
        ck_assert_msg(st == AM_OK || st == AM_ERR_NOMEM || st == AM_ERR_FORMAT,
                      "k=%lld: %s", (long long)k, am_status_name(st));
        done = st == AM_OK;
        if (done)
            ck_assert_int_eq(am_featurizer_n_categories(back, 1), 3);
        am_featurizer_free(back);
        am_matrix_fini(&m);
        am_buf_fini(&b);
        am_featurizer_free(fz);
    }
    ck_assert(done);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* ---- target ------------------------------------------------------------------------------- */

typedef struct target_run {
    am_status st;
    am_target t;
    double *y;
    int64_t *rows;
    int64_t n;
    am_diag d;
    captured cap;
} target_run;

static void run_target(target_run *r, const am_frame *f, int32_t col, unsigned task)
{
    memset(r, 0, sizeof(*r));
    am_target_options o = {.task = task};
    am_logger log = {capture, &r->cap};
    r->st = am_target_fit(f, col, &o, &log, &r->t, &r->y, &r->rows, &r->n, &r->d);
}

static void target_run_fini(target_run *r)
{
    am_target_fini(&r->t);
    am_free(r->y);
    am_free(r->rows);
}

static void assert_labels(const am_target *t, const char *const *want, int n)
{
    ck_assert_int_eq(t->n_classes, n);
    ck_assert_int_eq(t->labels.n, n);
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(t->labels.items[i], want[i]);
}

START_TEST(test_target_two_strings_binary)
{
    const char *const v[] = {"yes", "no", "no", "yes", "no"};
    am_frame *f = ft_frame_new(5, 1);
    ft_set_cat(f, 0, "income", v);
    target_run r;
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);
    ck_assert_int_eq(r.t.task, AM_TASK_BINARY);
    ck_assert_str_eq(r.t.name, "income");
    const char *const want[] = {"no", "yes"};
    assert_labels(&r.t, want, 2);
    const double y[] = {1, 0, 0, 1, 0};
    ck_assert_int_eq(r.n, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_double_eq(r.y[i], y[i]);
        ck_assert_int_eq(r.rows[i], i);
    }
    ck_assert_int_ge(find_log(&r.cap, AM_LOG_INFO,
                              "target \"income\": 2 classes → binary classification"), 0);
    ck_assert_int_eq(count_level(&r.cap, AM_LOG_WARN), 0);
    target_run_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_target_three_strings_multiclass)
{
    const char *const v[] = {"b", "a", "c", "a"};
    am_frame *f = ft_frame_new(4, 1);
    ft_set_codes(f, 0, "y", AM_COL_TEXT, NULL, 0, v); /* text targets are labels too */
    target_run r;
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);
    ck_assert_int_eq(r.t.task, AM_TASK_MULTICLASS);
    const char *const want[] = {"a", "b", "c"};
    assert_labels(&r.t, want, 3);
    ck_assert_double_eq(r.y[0], 1);
    ck_assert_double_eq(r.y[2], 2);
    ck_assert_int_ge(find_log(&r.cap, AM_LOG_INFO, "3 classes → multiclass classification"), 0);
    target_run_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_target_numeric_two_values_binary)
{
    const double v[] = {1, 0, 0, 1, 1};
    am_frame *f = ft_frame_new(5, 1);
    ft_set_num(f, 0, "y", v);
    target_run r;
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);
    ck_assert_int_eq(r.t.task, AM_TASK_BINARY);
    const char *const want[] = {"0", "1"};
    assert_labels(&r.t, want, 2);
    for (int i = 0; i < 5; i++)
        ck_assert_double_eq(r.y[i], v[i]);
    ck_assert_int_ge(find_log(&r.cap, AM_LOG_INFO, "2 distinct values → binary"), 0);
    target_run_fini(&r);
    am_frame_free(f);

    /* Read with keep_levels: labels are the raw strings, classes are the values. */
    const char *const raw[] = {"1.0", "0", "1", "0.0"};
    f = ft_frame_new(4, 1);
    ft_set_num_keep(f, 0, "y", raw);
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);
    ck_assert_int_eq(r.t.task, AM_TASK_BINARY);
    const char *const want2[] = {"0", "1.0"};
    assert_labels(&r.t, want2, 2);
    const double y2[] = {1, 0, 1, 0};
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq(r.y[i], y2[i]);
    target_run_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_target_numeric_many_values_regression)
{
    double v[30];
    for (int i = 0; i < 30; i++)
        v[i] = i * 1.5;
    am_frame *f = ft_frame_new(30, 1);
    ft_set_num(f, 0, "price", v);
    target_run r;
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);
    ck_assert_int_eq(r.t.task, AM_TASK_REGRESSION);
    ck_assert_int_eq(r.t.n_classes, 0);
    ck_assert_int_eq(r.t.labels.n, 0);
    for (int i = 0; i < 30; i++)
        ck_assert_double_eq(r.y[i], v[i]);
    ck_assert_int_ge(find_log(&r.cap, AM_LOG_INFO,
                              "target \"price\": numeric with 30 distinct values → regression"),
                     0);
    target_run_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_target_few_integers_judgement_call)
{
    const double v[] = {3, 4, 5, 6, 7, 8, 9, 5, 6, 6};
    am_frame *f = ft_frame_new(10, 1);
    ft_set_num(f, 0, "quality", v);
    target_run r;
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);
    ck_assert_int_eq(r.t.task, AM_TASK_REGRESSION);
    ck_assert_int_ge(find_log(&r.cap, AM_LOG_INFO,
                              "target \"quality\" is numeric with 7 distinct integer values: "
                              "treating it as regression (use --task multiclass if these are "
                              "classes)"), 0);
    target_run_fini(&r);
    /* The same column forced to multiclass: 7 classes labelled 3..9. */
    run_target(&r, f, 0, AM_TASK_MULTICLASS);
    ck_assert_int_eq(r.st, AM_OK);
    ck_assert_int_eq(r.t.n_classes, 7);
    ck_assert_str_eq(r.t.labels.items[0], "3");
    ck_assert_double_eq(r.y[6], 6);
    target_run_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_target_one_class)
{
    const char *const v[] = {"yes", NULL, "yes"};
    am_frame *f = ft_frame_new(3, 1);
    ft_set_cat(f, 0, "y", v);
    ft_set_source(f, "train.csv");
    target_run r;
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_ERR_DATA);
    ck_assert_str_eq(r.d.message, "target \"y\" has only one class (\"yes\"); classification "
                                  "needs at least two");
    ck_assert_str_eq(r.d.column, "y");
    ck_assert_str_eq(r.d.file, "train.csv");
    ck_assert_ptr_null(r.y);
    ck_assert_ptr_null(r.rows);
    ck_assert_ptr_null(r.t.name);
    target_run_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_target_drops_missing)
{
    const double v[] = {1.5, NAN, 2.5, INFINITY, 3.5, -INFINITY, 4.5, 5.5, 6.5, 7.5};
    am_frame *f = ft_frame_new(10, 1);
    ft_set_num(f, 0, "y", v);
    target_run r;
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);
    ck_assert_int_eq(r.n, 7);
    const int64_t want[] = {0, 2, 4, 6, 7, 8, 9};
    for (int i = 0; i < 7; i++) {
        ck_assert_int_eq(r.rows[i], want[i]);
        ck_assert_double_eq(r.y[i], v[want[i]]);
    }
    ck_assert_int_eq(count_level(&r.cap, AM_LOG_WARN), 1);
    ck_assert_int_ge(find_log(&r.cap, AM_LOG_WARN,
                              "target \"y\": dropped 3 rows whose value is missing, NaN or "
                              "infinite"), 0);
    target_run_fini(&r);
    am_frame_free(f);

    /* Category targets: code -1 is missing. */
    const char *const c[] = {"a", NULL, "b"};
    f = ft_frame_new(3, 1);
    ft_set_cat(f, 0, "y", c);
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);
    ck_assert_int_eq(r.n, 2);
    ck_assert_int_eq(r.rows[1], 2);
    ck_assert_int_ge(find_log(&r.cap, AM_LOG_WARN, "dropped 1 row whose"), 0);
    target_run_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_target_all_missing)
{
    const double v[] = {NAN, INFINITY, NAN};
    am_frame *f = ft_frame_new(3, 1);
    ft_set_num(f, 0, "y", v);
    target_run r;
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_ERR_DATA);
    ck_assert_str_eq(r.d.message, "target \"y\" has no usable value");
    ck_assert_str_eq(r.d.column, "y");
    ck_assert_ptr_null(r.y);
    target_run_fini(&r);
    am_frame_free(f);
}
END_TEST

/* Forced tasks the data does not support: a table of cases. */
static const struct forced_case {
    unsigned task;
    int n_labels;
    const char *message;
} FORCED[] = {
    {AM_TASK_BINARY, 3, "target \"y\" has 3 classes; binary classification needs exactly 2"},
    {AM_TASK_MULTICLASS, 2, "use binary"},
    {AM_TASK_BINARY, 1, "has only one class (\"a\")"},
    {AM_TASK_REGRESSION, 3, "regression needs a numeric target"},
};

START_TEST(test_target_forced_task_errors)
{
    const struct forced_case *fc = &FORCED[_i];
    const char *const all[] = {"a", "b", "c", "a", "b", "c"};
    const char *v[6];
    for (int i = 0; i < 6; i++)
        v[i] = all[i % fc->n_labels];
    am_frame *f = ft_frame_new(6, 1);
    ft_set_cat(f, 0, "y", v);
    target_run r;
    run_target(&r, f, 0, fc->task);
    ck_assert_int_eq(r.st, AM_ERR_DATA);
    ck_assert_msg(strstr(r.d.message, fc->message), "got: %s", r.d.message);
    ck_assert_str_eq(r.d.column, "y");
    target_run_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_target_label_order)
{
    /* Numbers as category labels sort numerically, whatever the row order. */
    const char *const num[] = {"2", "10", "1", "10"};
    am_frame *f = ft_frame_new(4, 1);
    ft_set_cat(f, 0, "y", num);
    target_run r;
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);
    const char *const want[] = {"1", "2", "10"};
    assert_labels(&r.t, want, 3);
    const double y[] = {1, 2, 0, 2};
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq(r.y[i], y[i]);
    target_run_fini(&r);
    am_frame_free(f);

    /* The same through a numeric column read with keep_levels, forced multiclass. */
    f = ft_frame_new(4, 1);
    ft_set_num_keep(f, 0, "y", num);
    run_target(&r, f, 0, AM_TASK_MULTICLASS);
    ck_assert_int_eq(r.st, AM_OK);
    assert_labels(&r.t, want, 3);
    target_run_fini(&r);
    am_frame_free(f);

    /* Otherwise bytewise: uppercase before lowercase, "10" before "9x". */
    const char *const text[] = {"b", "9x", "a", "C", "10"};
    f = ft_frame_new(5, 1);
    ft_set_cat(f, 0, "y", text);
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);
    const char *const want2[] = {"10", "9x", "C", "a", "b"};
    assert_labels(&r.t, want2, 5);
    target_run_fini(&r);
    am_frame_free(f);
}
END_TEST

/* Only labels that occur in rows become classes, not every level of the dictionary. */
START_TEST(test_target_unused_level)
{
    const char *const order[] = {"ghost", "a", "b"};
    const char *const v[] = {"a", "b", "a"};
    am_frame *f = ft_frame_new(3, 1);
    ft_set_codes(f, 0, "y", AM_COL_CAT, order, 3, v);
    target_run r;
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);
    ck_assert_int_eq(r.t.task, AM_TASK_BINARY);
    const char *const want[] = {"a", "b"};
    assert_labels(&r.t, want, 2);
    target_run_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_target_apply)
{
    const char *const v[] = {"1", "0", "1", "0"};
    am_frame *f = ft_frame_new(4, 1);
    ft_set_num_keep(f, 0, "y", v);
    target_run r;
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);

    /* A new file: its own dictionary, "1.0" written differently, one missing value. */
    const char *const w[] = {"0", "1.0", NULL, "1"};
    am_frame *g = ft_frame_new(4, 2);
    const double other[] = {0, 0, 0, 0};
    ft_set_num(g, 0, "x", other);
    ft_set_num_keep(g, 1, "y", w);
    captured cap = {0};
    am_logger log = {capture, &cap};
    double *y = NULL;
    int64_t *rows = NULL, n = 0;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_target_apply(&r.t, g, 1, &log, &y, &rows, &n, &d), AM_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_double_eq(y[0], 0);
    ck_assert_double_eq(y[1], 1);
    ck_assert_double_eq(y[2], 1);
    ck_assert_int_eq(rows[2], 3);
    ck_assert_int_ge(find_log(&cap, AM_LOG_WARN, "dropped 1 row"), 0);
    am_free(y);
    am_free(rows);

    /* An unknown label names its line and column. */
    const char *const u[] = {"0", "1", "2"};
    am_frame *h = ft_frame_new(3, 1);
    ft_set_num_keep(h, 0, "y", u);
    ft_set_source(h, "eval.csv");
    h->row_line = am_malloc_array(3, sizeof(int64_t));
    ck_assert_ptr_nonnull(h->row_line);
    h->row_line[0] = 2;
    h->row_line[1] = 3;
    h->row_line[2] = 7; /* a multi-line quoted field earlier */
    ck_assert_int_eq(am_target_apply(&r.t, h, 0, NULL, &y, &rows, &n, &d), AM_ERR_DATA);
    ck_assert_int_eq(d.line, 7);
    ck_assert_str_eq(d.column, "y");
    ck_assert_str_eq(d.file, "eval.csv");
    ck_assert_ptr_nonnull(strstr(d.message, "\"2\""));
    ck_assert_ptr_null(y);
    ck_assert_ptr_null(rows);
    target_run_fini(&r);
    am_frame_free(f);
    am_frame_free(g);
    am_frame_free(h);
}
END_TEST

START_TEST(test_target_apply_regression)
{
    const double v[] = {1.5, 2.5, 3.5, 4.5};
    am_frame *f = ft_frame_new(4, 1);
    ft_set_num(f, 0, "y", v);
    target_run r;
    run_target(&r, f, 0, AM_TASK_REGRESSION);
    ck_assert_int_eq(r.st, AM_OK);
    const char *const c[] = {"a"};
    am_frame *g = ft_frame_new(1, 1);
    ft_set_cat(g, 0, "y", c);
    double *y = NULL;
    int64_t *rows = NULL, n = 0;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_target_apply(&r.t, g, 0, NULL, &y, &rows, &n, &d), AM_ERR_DATA);
    ck_assert_str_eq(d.column, "y");
    ck_assert_int_eq(am_target_apply(&r.t, f, 0, NULL, &y, &rows, &n, &d), AM_OK);
    ck_assert_int_eq(n, 4);
    ck_assert_double_eq(y[3], 4.5);
    am_free(y);
    am_free(rows);
    target_run_fini(&r);
    am_frame_free(f);
    am_frame_free(g);
}
END_TEST

START_TEST(test_target_save_load)
{
    const char *const v[] = {"b", "a", "c", "a"};
    am_frame *f = ft_frame_new(4, 1);
    ft_set_cat(f, 0, "label", v);
    target_run r;
    run_target(&r, f, 0, 0);
    ck_assert_int_eq(r.st, AM_OK);
    am_buf b;
    am_buf_init(&b);
    ck_assert_int_eq(am_target_save(&r.t, &b, NULL), AM_OK);
    am_reader rd;
    am_reader_init(&rd, b.data, b.len, "target");
    am_target t;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_target_load(&rd, &t, &d), AM_OK);
    ck_assert_uint_eq(rd.left, 0);
    ck_assert_str_eq(t.name, "label");
    ck_assert_int_eq(t.task, AM_TASK_MULTICLASS);
    const char *const want[] = {"a", "b", "c"};
    assert_labels(&t, want, 3);
    ck_assert_int_eq(am_strset_find(&t.labels, "c", 1), 2); /* the index works after load */
    am_target_fini(&t);
    /* Every truncation fails cleanly. */
    for (size_t len = 0; len < b.len; len++) {
        am_reader_init(&rd, b.data, len, "target");
        ck_assert_int_eq(am_target_load(&rd, &t, &d), AM_ERR_FORMAT);
        ck_assert_ptr_null(t.name);
    }
    am_buf_fini(&b);
    target_run_fini(&r);
    am_frame_free(f);
}
END_TEST

/* Nonsense targets: bad task, class count that does not fit the task, duplicate labels. */
static const struct bad_target {
    uint32_t task, n;
    const char *labels[3];
} BAD_TARGETS[] = {
    {3, 0, {NULL}},
    {AM_TASK_REGRESSION, 2, {"a", "b"}},
    {AM_TASK_BINARY, 3, {"a", "b", "c"}},
    {AM_TASK_MULTICLASS, 2, {"a", "b"}},
    {AM_TASK_BINARY, 2, {"a", "a"}},
    {AM_TASK_MULTICLASS, 0x7fffffff, {"a", "b", "c"}},
};

START_TEST(test_target_load_corrupt)
{
    const struct bad_target *bt = &BAD_TARGETS[_i];
    am_buf b;
    am_buf_init(&b);
    am_buf_str(&b, "y");
    am_buf_u32(&b, bt->task);
    am_buf_u32(&b, bt->n);
    for (int i = 0; i < 3 && bt->labels[i]; i++)
        am_buf_str(&b, bt->labels[i]);
    am_reader rd;
    am_reader_init(&rd, b.data, b.len, "target");
    am_target t;
    ck_assert_int_eq(am_target_load(&rd, &t, NULL), AM_ERR_FORMAT);
    ck_assert_ptr_null(t.name);
    am_buf_fini(&b);
}
END_TEST

/* Allocation failures anywhere in fit, apply, save and load of the target: a clean status. */
START_TEST(test_target_out_of_memory)
{
    const char *const v[] = {"2", "10", NULL, "1", "10", "2"};
    am_frame *f = ft_frame_new(6, 1);
    ft_set_num_keep(f, 0, "y", v);
    bool done = false;
    for (int64_t k = 0; !done && k < 1000; k++) {
        am_target t, back;
        memset(&back, 0, sizeof(back));
        double *y = NULL, *y2 = NULL;
        int64_t *rows = NULL, *rows2 = NULL, n = 0;
        am_buf b;
        am_buf_init(&b);
        am_target_options o = {.task = AM_TASK_MULTICLASS};
        am_alloc_fail_after(k);
        am_status st = am_target_fit(f, 0, &o, NULL, &t, &y, &rows, &n, NULL);
        if (st == AM_OK)
            st = am_target_apply(&t, f, 0, NULL, &y2, &rows2, &n, NULL);
        if (st == AM_OK)
            st = am_target_save(&t, &b, NULL);
        if (st == AM_OK) {
            am_reader rd;
            am_reader_init(&rd, b.data, b.len, "target");
            st = am_target_load(&rd, &back, NULL);
        }
        am_alloc_fail_after(-1);
        ck_assert_msg(st == AM_OK || st == AM_ERR_NOMEM || st == AM_ERR_FORMAT, "k=%lld: %s",
                      (long long)k, am_status_name(st));
        if (st == AM_OK) {
            done = true;
            ck_assert_int_eq(back.n_classes, 3);
            ck_assert_double_eq(y2[0], 1);
        }
        am_target_fini(&back);
        am_buf_fini(&b);
        am_free(y2);
        am_free(rows2);
        am_free(y);
        am_free(rows);
        am_target_fini(&t);
    }
    ck_assert(done);
    am_frame_free(f);
}
END_TEST

/* ---- the suite --------------------------------------------------------------------------- */

/* ---- featurizer: roles, target statistics, scaling (issue 5) ---------------------------- */

/* A "messy" table of n rows: an integer id, a constant, a yes/no column, a city among 40
 * (high cardinality), a colour among 3 and a number; y depends on city and number. */
static am_frame *messy_frame(int64_t n, double **y_out)
{
    static const char *const yes_no[] = {"no", "yes"};
    static const char *const colours[] = {"red", "green", "blue"};
    char (*cities)[8] = malloc(40 * sizeof(*cities));
    const char **city = malloc((size_t)n * sizeof(char *));
    const char **yn = malloc((size_t)n * sizeof(char *));
    const char **col = malloc((size_t)n * sizeof(char *));
    double *id = malloc((size_t)n * sizeof(double)), *k = malloc((size_t)n * sizeof(double)),
           *x = malloc((size_t)n * sizeof(double)), *y = malloc((size_t)n * sizeof(double));
    ck_assert(cities && city && yn && col && id && k && x && y);
    for (int c = 0; c < 40; c++)
        snprintf(cities[c], sizeof(cities[c]), "c%02d", c);
    am_rng r;
    am_rng_seed(&r, 7);
    for (int64_t i = 0; i < n; i++) {
        int c = (int)am_rng_below(&r, 40);
        id[i] = (double)(1000 + i);
        k[i] = 3.0;
        x[i] = am_rng_uniform(&r);
        city[i] = cities[c];
        yn[i] = yes_no[am_rng_below(&r, 2)];
        col[i] = colours[am_rng_below(&r, 3)];
        y[i] = (c % 4 == 0) != (x[i] > 0.8) ? 1.0 : 0.0;
    }
    am_frame *f = ft_frame_new(n, 6);
    ft_set_num(f, 0, "id", id);
    ft_set_num(f, 1, "k", k);
    ft_set_cat(f, 2, "member", yn);
    ft_set_cat(f, 3, "city", city);
    ft_set_cat(f, 4, "colour", col);
    ft_set_num(f, 5, "x", x);
    free(cities);
    free(city);
    free(yn);
    free(col);
    free(id);
    free(k);
    free(x);
    *y_out = y;
    return f;
}

static am_column_role *roles_ok(const am_frame *f)
{
    am_column_role *roles = calloc((size_t)f->n_cols, sizeof(am_column_role));
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(am_roles_infer(f, -1, NULL, 1, roles, &d) == AM_OK, "%s", ft_diag_text(&d));
    return roles;
}

/* Roles decide the encoders: the id and the constant are left out, the yes/no column is one
 * 0/1 feature, the 40-level city gets target and frequency encodings (it has a target), the
 * colour is one-hot. Without a target the city is one-hot (capped). */
START_TEST(test_roles_choose_encoders)
{
    double *y;
    am_frame *f = messy_frame(2000, &y);
    am_column_role *roles = roles_ok(f);
    ck_assert_int_eq(roles[0].why, AM_DROP_IDENTIFIER);
    ck_assert_int_eq(roles[1].why, AM_DROP_CONSTANT);
    ck_assert_int_eq(roles[2].role, AM_ROLE_BOOLEAN);
    int64_t *rows = ft_iota(2000);
    am_feat_options o = {.standardize = true, .roles = roles, .y = y, .task = AM_TASK_BINARY,
                         .n_classes = 2, .seed = 3, .onehot_max_levels = 20};
    am_featurizer *fz = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(am_featurizer_fit(f, -1, rows, 2000, &o, NULL, &fz, &d) == AM_OK, "%s",
                  ft_diag_text(&d));
    ck_assert_int_eq(am_featurizer_n_inputs(fz), 4);
    ck_assert_int_lt(feature_index(fz, "id"), 0);
    ck_assert_int_lt(feature_index(fz, "k"), 0);
    ck_assert_int_ge(feature_index(fz, "member"), 0);
    ck_assert_int_lt(feature_index(fz, "member=yes"), 0);
    ck_assert_int_ge(feature_index(fz, "city.target"), 0);
    ck_assert_int_ge(feature_index(fz, "city.freq"), 0);
    ck_assert_int_lt(feature_index(fz, "city=c00"), 0);
    ck_assert_int_ge(feature_index(fz, "colour=red"), 0);
    am_featurizer_free(fz);

    o.y = NULL; /* no target: no target statistics; the city is one-hot, capped */
    ck_assert_int_eq(am_featurizer_fit(f, -1, rows, 2000, &o, NULL, &fz, &d), AM_OK);
    ck_assert_int_lt(feature_index(fz, "city.target"), 0);
    ck_assert_int_ge(feature_index(fz, "city=<unseen>"), 0);
    int64_t city_slots = 0;
    for (int64_t j = 0; j < am_featurizer_n_features(fz); j++)
        city_slots += strncmp(am_featurizer_feature_name(fz, j), "city=c", 6) == 0;
    ck_assert_int_eq(city_slots, 20);
    am_featurizer_free(fz);
    free(roles);
    free(y);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* The training matrix of fit_transform holds out-of-fold target statistics: a row's own target
 * never enters its encoding (flipping it leaves the row's value alone), whereas a plain
 * transform of the same rows uses every training row. */
START_TEST(test_fit_transform_out_of_fold)
{
    double *y;
    am_frame *f = messy_frame(1500, &y);
    am_column_role *roles = roles_ok(f);
    int64_t *rows = ft_iota(1500);
    am_feat_options o = {.roles = roles, .y = y, .task = AM_TASK_BINARY, .n_classes = 2,
                         .seed = 11, .onehot_max_levels = 20};
    am_featurizer *fz = NULL, *fz2 = NULL;
    am_matrix x1, x2;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(am_featurizer_fit_transform(f, -1, rows, 1500, &o, NULL, &fz, &x1, &d) ==
                      AM_OK, "%s", ft_diag_text(&d));
    int64_t jt = feature_index(fz, "city.target");
    ck_assert_int_ge(jt, 0);
    am_matrix plain = transform_ok(fz, f, rows, 1500);
    int64_t differ = 0;
    for (int64_t i = 0; i < 1500; i++)
        differ += AM_AT(&x1, i, jt) != AM_AT(&plain, i, jt);
    ck_assert_int_gt(differ, 1000); /* out of fold is not the plain encoding */
    y[17] = 1.0 - y[17];
    ck_assert_int_eq(am_featurizer_fit_transform(f, -1, rows, 1500, &o, NULL, &fz2, &x2, &d),
                     AM_OK);
    ck_assert_double_eq(AM_AT(&x1, 17, jt), AM_AT(&x2, 17, jt));
    int64_t moved = 0; /* rows of the same city in other inner folds did see it */
    for (int64_t i = 0; i < 1500; i++)
        moved += AM_AT(&x1, i, jt) != AM_AT(&x2, i, jt);
    ck_assert_int_gt(moved, 0);
    am_matrix_fini(&x1);
    am_matrix_fini(&x2);
    am_matrix_fini(&plain);
    am_featurizer_free(fz);
    am_featurizer_free(fz2);
    free(roles);
    free(y);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* Validation rows (not in rows) full of poison — new cities, huge numbers, missing colours —
 * leave the fitted featurizer's bytes unchanged, target statistics included. */
START_TEST(test_poisoned_rows_with_target)
{
    double *y, *y_b;
    am_frame *a = messy_frame(1200, &y), *b = messy_frame(1200, &y_b);
    free(y_b);
    for (int64_t i = 1000; i < 1200; i++) { /* poison b's validation rows */
        b->cols[3].codes[i] = am_strset_add(&b->cols[3].levels, "poison", 6);
        b->cols[5].num[i] = 1e300;
        b->cols[4].codes[i] = -1;
    }
    am_column_role *roles = roles_ok(a);
    int64_t *rows = ft_iota(1000);
    am_feat_options o = {.standardize = true, .roles = roles, .y = y, .task = AM_TASK_BINARY,
                         .n_classes = 2, .seed = 5, .onehot_max_levels = 20};
    am_featurizer *fa = NULL, *fb = NULL;
    ck_assert_int_eq(am_featurizer_fit(a, -1, rows, 1000, &o, NULL, &fa, NULL), AM_OK);
    ck_assert_int_eq(am_featurizer_fit(b, -1, rows, 1000, &o, NULL, &fb, NULL), AM_OK);
    am_buf ba, bb;
    save_ok(fa, &ba);
    save_ok(fb, &bb);
    ck_assert_uint_eq(ba.len, bb.len);
    ck_assert_mem_eq(ba.data, bb.data, ba.len);
    /* and the poisoned rows transform without error: an unseen city gets the prior */
    int64_t vrows[] = {1100, 1101};
    am_matrix m = transform_ok(fb, b, vrows, 2);
    ck_assert(isfinite(AM_AT(&m, 0, feature_index(fb, "city.target"))));
    am_matrix_fini(&m);
    am_buf_fini(&ba);
    am_buf_fini(&bb);
    am_featurizer_free(fa);
    am_featurizer_free(fb);
    free(roles);
    free(y);
    am_free(rows);
    am_frame_free(a);
    am_frame_free(b);
}
END_TEST

/* Defaults: levels seen in fewer than 5 training rows share a <rare> slot. */
START_TEST(test_rare_levels_grouped)
{
    const char *v[40];
    for (int i = 0; i < 40; i++)
        v[i] = i < 30 ? (i % 2 ? "big" : "large") : i < 34 ? "tiny" : i < 36 ? "odd" : "small";
    am_frame *f = ft_frame_new(40, 1);
    ft_set_cat(f, 0, "c", v);
    int64_t *rows = ft_iota(40);
    am_feat_options o = {0};
    am_featurizer *fz = NULL;
    ck_assert_int_eq(am_featurizer_fit(f, -1, rows, 40, &o, NULL, &fz, NULL), AM_OK);
    ck_assert_int_ge(feature_index(fz, "c=big"), 0);
    ck_assert_int_ge(feature_index(fz, "c=large"), 0);
    ck_assert_int_lt(feature_index(fz, "c=tiny"), 0); /* 4 rows */
    ck_assert_int_lt(feature_index(fz, "c=odd"), 0);  /* 2 rows */
    ck_assert_int_lt(feature_index(fz, "c=small"), 0); /* 4 rows */
    int64_t rare = feature_index(fz, "c=<rare>");
    ck_assert_int_ge(rare, 0);
    am_matrix m = transform_ok(fz, f, rows, 40);
    ck_assert_double_eq(AM_AT(&m, 31, rare), 1.0);
    ck_assert_double_eq(AM_AT(&m, 0, rare), 0.0);
    am_matrix_fini(&m);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* Robust scaling: each training output column has median 0 and interquartile range 1 (or is
 * only centred when it has no spread there). */
START_TEST(test_robust_scaling)
{
    double x[101];
    for (int i = 0; i < 101; i++)
        x[i] = i == 100 ? 1e6 : (double)(i * i); /* one huge outlier */
    am_frame *f = ft_frame_new(101, 1);
    ft_set_num(f, 0, "x", x);
    int64_t *rows = ft_iota(101);
    am_feat_options o = {.standardize = true, .robust_scale = true};
    am_featurizer *fz = NULL;
    am_matrix m;
    ck_assert_int_eq(am_featurizer_fit_transform(f, -1, rows, 101, &o, NULL, &fz, &m, NULL),
                     AM_OK);
    double *v = malloc(101 * sizeof(double));
    memcpy(v, m.data, 101 * sizeof(double));
    qsort(v, 101, sizeof(double), cmp_dbl);
    ck_assert_double_eq_tol(v[50], 0.0, 1e-12);
    ck_assert_double_eq_tol(v[75] - v[25], 1.0, 1e-12);
    /* the same values from transform */
    am_matrix t = transform_ok(fz, f, rows, 101);
    ck_assert(same_bits(&m, &t));
    free(v);
    am_matrix_fini(&m);
    am_matrix_fini(&t);
    am_featurizer_free(fz);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* Every encoder kind through save and load: identical bytes and transform bits. */
START_TEST(test_save_load_all_encoders)
{
    double *y;
    am_frame *f = messy_frame(600, &y);
    am_column_role *roles = roles_ok(f);
    int64_t *rows = ft_iota(600);
    for (int native = 0; native < 2; native++) {
        am_feat_options o = {.standardize = !native, .native = native, .roles = roles,
                             .y = native ? NULL : y, .task = AM_TASK_BINARY, .n_classes = 2,
                             .onehot_max_levels = 20};
        am_featurizer *fz = NULL, *back = NULL;
        ck_assert_int_eq(am_featurizer_fit(f, -1, rows, 600, &o, NULL, &fz, NULL), AM_OK);
        am_buf b, b2;
        save_ok(fz, &b);
        am_diag d;
        am_diag_clear(&d);
        ck_assert_msg(load_bytes(b.data, b.len, AM_FEATURIZER_FORMAT, &back, &d) == AM_OK, "%s",
                      ft_diag_text(&d));
        save_ok(back, &b2);
        ck_assert_uint_eq(b.len, b2.len);
        ck_assert_mem_eq(b.data, b2.data, b.len);
        am_matrix m1 = transform_ok(fz, f, NULL, 0), m2 = transform_ok(back, f, NULL, 0);
        ck_assert(same_bits(&m1, &m2));
        for (int64_t j = 0; j < am_featurizer_n_features(fz); j++)
            ck_assert_int_eq(am_featurizer_n_categories(fz, j),
                             am_featurizer_n_categories(back, j));
        /* every truncation is an error, never a crash */
        for (size_t len = 0; len < b.len; len += 1 + len / 64) {
            am_featurizer *cut = NULL;
            ck_assert_int_ne(load_bytes(b.data, len, AM_FEATURIZER_FORMAT, &cut, NULL), AM_OK);
            ck_assert_ptr_null(cut);
        }
        am_matrix_fini(&m1);
        am_matrix_fini(&m2);
        am_buf_fini(&b);
        am_buf_fini(&b2);
        am_featurizer_free(fz);
        am_featurizer_free(back);
    }
    free(roles);
    free(y);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

static Suite *featurize_suite(void)
{
    Suite *s = suite_create("featurize");
    TCase *fz = tcase_create("featurizer");
    tcase_add_loop_test(fz, test_fit_on_training_rows_only, 0, 2);
    tcase_add_test(fz, test_median_and_indicator);
    tcase_add_loop_test(fz, test_median_oracle, 0, 24);
    tcase_add_test(fz, test_standardize_huge_values);
    tcase_add_test(fz, test_onehot_unseen_and_reordered_levels);
    tcase_add_test(fz, test_onehot_missing_without_slot);
    tcase_add_test(fz, test_onehot_level_cap);
    tcase_add_test(fz, test_standardize);
    tcase_add_test(fz, test_schema_missing_column);
    tcase_add_test(fz, test_schema_retyped_column);
    tcase_add_test(fz, test_schema_order_and_extra_columns);
    tcase_add_test(fz, test_time_text_encoded_empty_dropped);
    tcase_add_test(fz, test_fit_bad_arguments);
    tcase_add_loop_test(fz, test_save_load_roundtrip, 0, 2);
    tcase_add_test(fz, test_threads_identical);
    tcase_add_loop_test(fz, test_load_truncated, 0, 2);
    tcase_add_loop_test(fz, test_load_corrupt, 0, C_COUNT);
    tcase_add_test(fz, test_out_of_memory);
    tcase_add_test(fz, test_roles_choose_encoders);
    tcase_add_test(fz, test_fit_transform_out_of_fold);
    tcase_add_test(fz, test_poisoned_rows_with_target);
    tcase_add_test(fz, test_rare_levels_grouped);
    tcase_add_test(fz, test_robust_scaling);
    tcase_add_test(fz, test_save_load_all_encoders);
    tcase_set_timeout(fz, 60);
    suite_add_tcase(s, fz);

    TCase *nat = tcase_create("native");
    tcase_add_loop_test(nat, test_native_output, 0, 2);
    tcase_add_test(nat, test_native_levels);
    tcase_add_test(nat, test_native_drops_and_schema);
    tcase_add_test(nat, test_native_save_load);
    tcase_add_loop_test(nat, test_native_load_corrupt, 0, 3);
    tcase_add_test(nat, test_native_out_of_memory);
    tcase_set_timeout(nat, 60);
    suite_add_tcase(s, nat);

    TCase *tg = tcase_create("target");
    tcase_add_test(tg, test_target_two_strings_binary);
    tcase_add_test(tg, test_target_three_strings_multiclass);
    tcase_add_test(tg, test_target_numeric_two_values_binary);
    tcase_add_test(tg, test_target_numeric_many_values_regression);
    tcase_add_test(tg, test_target_few_integers_judgement_call);
    tcase_add_test(tg, test_target_one_class);
    tcase_add_test(tg, test_target_drops_missing);
    tcase_add_test(tg, test_target_all_missing);
    tcase_add_loop_test(tg, test_target_forced_task_errors, 0, (int)AM_COUNT(FORCED));
    tcase_add_test(tg, test_target_label_order);
    tcase_add_test(tg, test_target_unused_level);
    tcase_add_test(tg, test_target_apply);
    tcase_add_test(tg, test_target_apply_regression);
    tcase_add_test(tg, test_target_save_load);
    tcase_add_loop_test(tg, test_target_load_corrupt, 0, (int)AM_COUNT(BAD_TARGETS));
    tcase_add_test(tg, test_target_out_of_memory);
    suite_add_tcase(s, tg);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(featurize_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
