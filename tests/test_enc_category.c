/* test_enc_category.c — the categorical encoders (onehot, boolean, frequency, target,
 * native_categorical) on frames built by hand: values against hand computations, rare grouping
 * and the one-hot cap, unseen and rare levels from a frame with another level dictionary,
 * missing values, out-of-fold target statistics against a brute-force oracle, poisoned
 * validation rows, the same bytes whatever the order of the level dictionary, save/load bits,
 * every truncation, corrupt bytes and out of memory. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_testing.h"

/* ---- running encoders ------------------------------------------------------------------- */

static am_enc_fit_args args_of(const am_frame *f, const int64_t *rows, int64_t n, const double *y,
                               am_task task, int32_t n_classes, const am_feat_options *o)
{
    return (am_enc_fit_args){.frame = f, .col = &f->cols[0], .rows = rows, .n_rows = n, .y = y,
                             .task = task, .n_classes = n_classes, .opts = o, .seed = 42};
}

static am_encoder *fit_ok(const am_encoder_type *t, const am_enc_fit_args *a)
{
    am_encoder *e = NULL;
    am_diag d;
    am_diag_clear(&d);
    am_status st = t->fit(a, &e, &d);
    ck_assert_msg(st == AM_OK, "%s fit: %s", t->name, ft_diag_text(&d));
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_eq(e->type, t);
    ck_assert_int_ge(e->width, 1);
    return e;
}

static am_status fit_status(const am_encoder_type *t, const am_enc_fit_args *a, am_diag *d)
{
    am_encoder *e = NULL;
    am_diag_clear(d);
    am_status st = t->fit(a, &e, d);
    if (st == AM_OK)
        t->free(e);
    else
        ck_assert_ptr_null(e);
    return st;
}

static ft_outputs transform_train(const am_encoder *e, const am_enc_fit_args *a)
{
    ft_outputs o = ft_outputs_new(e->width, a->n_rows);
    e->type->transform_train(e, a, o.cols);
    return o;
}

static int64_t name_index(const am_encoder *e, const char *name)
{
    for (int64_t k = 0; k < e->width; k++)
        if (strcmp(e->names[k], name) == 0)
            return k;
    return -1;
}

static am_buf save_ok(const am_encoder *e)
{
    am_buf b;
    am_buf_init(&b);
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(e->type->save(e, &b, &d) == AM_OK, "save: %s", ft_diag_text(&d));
    return b;
}

static am_status load_bytes(const am_encoder_type *t, const uint8_t *p, size_t len,
                            am_encoder **out, size_t *left, am_diag *d)
{
    am_reader r;
    am_reader_init(&r, p, len, "encoder");
    *out = NULL;
    am_diag_clear(d);
    am_status st = t->load(&r, t->version, out, d);
    if (left)
        *left = r.left;
    if (st != AM_OK)
        ck_assert_ptr_null(*out);
    return st;
}

static am_encoder *load_ok(const am_encoder_type *t, const am_buf *b)
{
    am_encoder *e = NULL;
    size_t left = 99;
    am_diag d;
    ck_assert_msg(load_bytes(t, b->data, b->len, &e, &left, &d) == AM_OK, "load: %s",
                  ft_diag_text(&d));
    ck_assert_uint_eq(left, 0); /* load reads exactly what save wrote */
    return e;
}

#define EPS 1e-12

/* ---- onehot ------------------------------------------------------------------------------ */

/* Dictionary b, a, c, d; training counts a 4, b 3, c 1, d 1, missing 1, rare_min 2: a and b are
 * kept in bytewise order (a first, though the dictionary lists b first), c and d grouped as
 * <rare>. */
static const char *const OH_ORDER[] = {"b", "a", "c", "d"};
static const char *const OH_TRAIN[] = {"a", "a", "a", "b", "b", "c", NULL, "a", "b", "d"};

START_TEST(test_onehot_values)
{
    am_frame *f = ft_codes_frame("col", AM_COL_CAT, OH_ORDER, 4, OH_TRAIN, 10);
    int64_t *rows = ft_iota(10);
    am_feat_options o = {.rare_min_count = 2};
    am_enc_fit_args a = args_of(f, rows, 10, NULL, 0, 0, &o);
    am_encoder *e = fit_ok(&am_enc_onehot, &a);
    const char *want_names[] = {"col=a", "col=b", "col=<rare>", "col=<missing>", "col=<unseen>"};
    ck_assert_int_eq(e->width, 5);
    ck_assert_ptr_null(e->n_categories);
    for (int k = 0; k < 5; k++)
        ck_assert_str_eq(e->names[k], want_names[k]);
    ft_outputs out = ft_transform(e, f, NULL, 10);
    /* slot of each training row: a=0, b=1, rare=2, missing=3 */
    const int want_slot[] = {0, 0, 0, 1, 1, 2, 3, 0, 1, 2};
    for (int i = 0; i < 10; i++)
        for (int k = 0; k < 5; k++)
            ck_assert_double_eq(out.cols[k][i], k == want_slot[i] ? 1.0 : 0.0);
    ft_outputs_free(&out);

    /* Another frame, its own dictionary in another order with new levels: "zzz" and "new" are
     * unseen, "d" (grouped in training) goes to <rare>, "c" too; never an error. */
    const char *const order2[] = {"zzz", "d", "a", "new", "b"};
    const char *const v2[] = {"a", "zzz", "d", NULL, "b", "new", "c"};
    am_frame *g = ft_codes_frame("col", AM_COL_CAT, order2, 5, v2, 7);
    out = ft_transform(e, g, NULL, 7);
    const int want2[] = {0, 4, 2, 3, 1, 4, 2};
    for (int i = 0; i < 7; i++)
        for (int k = 0; k < 5; k++)
            ck_assert_double_eq(out.cols[k][i], k == want2[i] ? 1.0 : 0.0);
    ft_outputs_free(&out);
    /* A row list picks rows: the rows 5 and 1 of g. */
    const int64_t pick[] = {5, 1, 2};
    out = ft_transform(e, g, pick, 3);
    ck_assert_double_eq(out.cols[4][0], 1.0);
    ck_assert_double_eq(out.cols[4][1], 1.0);
    ck_assert_double_eq(out.cols[2][2], 1.0);
    ft_outputs_free(&out);
    e->type->free(e);

    /* Default rare_min (5): no level has 5 rows, so every level is grouped. */
    am_feat_options dflt = {0};
    a.opts = &dflt;
    e = fit_ok(&am_enc_onehot, &a);
    ck_assert_int_eq(e->width, 3);
    ck_assert_str_eq(e->names[0], "col=<rare>");
    ck_assert_str_eq(e->names[1], "col=<missing>");
    e->type->free(e);
    /* And rare_min 1 keeps every seen level, with no <rare> slot. */
    o.rare_min_count = -3; /* "at least 1" */
    a.opts = &o;
    e = fit_ok(&am_enc_onehot, &a);
    ck_assert_int_eq(e->width, 6);
    ck_assert_int_lt(name_index(e, "col=<rare>"), 0);
    ck_assert_str_eq(e->names[3], "col=d");
    e->type->free(e);
    am_free(rows);
    am_frame_free(f);
    am_frame_free(g);
}
END_TEST

/* 30 levels in a reversed dictionary (L29 has code 0, L00 code 29); level k seen 30 - k times
 * except L00 (27 rows) and L03 and L04 (26 each). Cap 4 with rare_min 1 keeps the four most
 * frequent: L01, L02, L00, and of the tied pair L03 (bytewise first, though L04 has the lower
 * code), listed bytewise: neither by frequency nor by dictionary. Training has no missing
 * value: no <missing> slot, and a missing value at transform time takes the <unseen> slot. */
START_TEST(test_onehot_cap)
{
    enum { L = 30 };
    int64_t n = 0;
    int cnt[L];
    for (int k = 0; k < L; k++) {
        cnt[k] = k == 0 ? 27 : k == 3 || k == 4 ? 26 : 30 - k;
        n += cnt[k];
    }
    static char names[L][8];
    const char **v = calloc((size_t)n + 1, sizeof(char *));
    const char *order[L];
    int64_t at = 0;
    /* Dictionary in reverse order of frequency, so "frame order" and "frequency order" differ. */
    for (int k = 0; k < L; k++) {
        snprintf(names[k], sizeof(names[k]), "L%02d", k);
        order[L - 1 - k] = names[k];
    }
    for (int k = 0; k < L; k++)
        for (int r = 0; r < cnt[k]; r++)
            v[at++] = names[k];
    v[n] = NULL;
    am_frame *f = ft_codes_frame("c", AM_COL_CAT, order, L, v, n + 1);
    int64_t *rows = ft_iota(n);
    am_feat_options o = {.rare_min_count = 1, .onehot_max_levels = 4};
    am_enc_fit_args a = args_of(f, rows, n, NULL, 0, 0, &o);
    am_encoder *e = fit_ok(&am_enc_onehot, &a);
    const char *want[] = {"c=L00", "c=L01", "c=L02", "c=L03", "c=<rare>", "c=<unseen>"};
    ck_assert_int_eq(e->width, 6);
    for (int k = 0; k < 6; k++)
        ck_assert_str_eq(e->names[k], want[k]);
    const int64_t probe[] = {0, n - 1, n}; /* L00, L29 (rare), missing */
    ft_outputs out = ft_transform(e, f, probe, 3);
    ck_assert_double_eq(out.cols[0][0], 1.0);
    ck_assert_double_eq(out.cols[4][1], 1.0);
    for (int k = 0; k < 6; k++)
        ck_assert_double_eq(out.cols[k][2], k == 5 ? 1.0 : 0.0);
    ft_outputs_free(&out);
    e->type->free(e);
    /* The default cap (AM_FEAT_ONEHOT_MAX, 100) is above these 30 levels: all kept. */
    o.onehot_max_levels = 0;
    e = fit_ok(&am_enc_onehot, &a);
    ck_assert_int_eq(AM_FEAT_ONEHOT_MAX, 100);
    ck_assert_int_eq(e->width, 31);
    ck_assert_int_ge(name_index(e, "c=L29"), 0);
    ck_assert_str_eq(e->names[30], "c=<unseen>");
    e->type->free(e);
    free(v);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* ---- boolean ----------------------------------------------------------------------------- */

/* Each pair: the level that sorts second bytewise is 1, whatever the dictionary order. */
static const char *const BOOL_PAIRS[][2] = {
    {"yes", "no"}, {"true", "false"}, {"1", "0"}, {"Y", "N"}, {"b", "a"}};

START_TEST(test_boolean_values)
{
    const char *one = BOOL_PAIRS[_i][0], *zero = BOOL_PAIRS[_i][1];
    /* Dictionary: the 1 level first; training rows 0..5: 1 three times, 0 twice, one missing. */
    const char *const order[] = {one, zero, "other"};
    const char *const v[] = {one, zero, one, NULL, zero, one, "other", NULL};
    am_frame *f = ft_codes_frame("flag", AM_COL_CAT, order, 3, v, 8);
    int64_t *rows = ft_iota(6);
    am_enc_fit_args a = args_of(f, rows, 6, NULL, 0, 0, NULL);
    am_encoder *e = fit_ok(&am_enc_boolean, &a);
    ck_assert_int_eq(e->width, 1);
    ck_assert_str_eq(e->names[0], "flag");
    ft_outputs out = ft_transform(e, f, NULL, 8);
    const double share = 3.0 / 5.0;
    const double want[] = {1, 0, 1, share, 0, 1, share, share};
    for (int i = 0; i < 8; i++)
        ck_assert_double_eq(out.cols[0][i], want[i]);
    ft_outputs_free(&out);
    e->type->free(e);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

START_TEST(test_boolean_numeric_and_errors)
{
    /* A 0/1 column read as numbers: 1 -> 1, 0 -> 0, missing, infinite and other values -> the
     * share of 1s (2 of 4). */
    const double x[] = {0, 1, NAN, 1, 0, INFINITY, 7};
    am_frame *f = ft_num_frame("n", AM_COL_NUM, x, 7);
    int64_t *rows = ft_iota(7);
    am_enc_fit_args a = args_of(f, rows, 6, NULL, 0, 0, NULL);
    am_encoder *e = fit_ok(&am_enc_boolean, &a);
    ft_outputs out = ft_transform(e, f, NULL, 7);
    const double want[] = {0, 1, 0.5, 1, 0, 0.5, 0.5};
    for (int i = 0; i < 7; i++)
        ck_assert_double_eq(out.cols[0][i], want[i]);
    ft_outputs_free(&out);
    am_buf b = save_ok(e);
    am_encoder *back = load_ok(&am_enc_boolean, &b);
    ft_outputs o2 = ft_transform(back, f, NULL, 7);
    for (int i = 0; i < 7; i++)
        ck_assert_double_eq(o2.cols[0][i], want[i]);
    ft_outputs_free(&o2);
    back->type->free(back);
    am_buf_fini(&b);
    e->type->free(e);
    /* Three values in the training rows: not a boolean. */
    am_diag d;
    a.n_rows = 7;
    ck_assert_int_eq(fit_status(&am_enc_boolean, &a, &d), AM_ERR_DATA);
    am_frame_free(f);

    /* One level in training (the second level only in a validation row): AM_ERR_DATA naming
     * the column. */
    const char *const v[] = {"yes", NULL, "yes", "no"};
    f = ft_codes_frame("flag", AM_COL_CAT, NULL, 0, v, 4);
    a = args_of(f, rows, 3, NULL, 0, 0, NULL);
    ck_assert_int_eq(fit_status(&am_enc_boolean, &a, &d), AM_ERR_DATA);
    ck_assert_str_eq(d.column, "flag");
    ck_assert_ptr_nonnull(strstr(d.message, "flag"));
    am_frame_free(f);
    const char *const all_missing[] = {NULL, NULL};
    f = ft_codes_frame("flag", AM_COL_CAT, NULL, 0, all_missing, 2);
    a = args_of(f, rows, 2, NULL, 0, 0, NULL);
    ck_assert_int_eq(fit_status(&am_enc_boolean, &a, &d), AM_ERR_DATA);
    am_frame_free(f);
    am_free(rows);
}
END_TEST

/* ---- frequency --------------------------------------------------------------------------- */

START_TEST(test_frequency_values)
{
    /* 8 training rows: a 4, b 2, c 1, missing 1; rows 8 and 9 are validation rows with a level
     * ("v") that training never saw. */
    const char *const order[] = {"v", "c", "b", "a"};
    const char *const v[] = {"a", "b", "a", NULL, "c", "a", "b", "a", "v", NULL};
    am_frame *f = ft_codes_frame("city", AM_COL_CAT, order, 4, v, 10);
    int64_t *rows = ft_iota(8);
    am_enc_fit_args a = args_of(f, rows, 8, NULL, 0, 0, NULL);
    am_encoder *e = fit_ok(&am_enc_frequency, &a);
    ck_assert_int_eq(e->width, 1);
    ck_assert_str_eq(e->names[0], "city.freq");
    ft_outputs out = ft_transform(e, f, NULL, 10);
    const double want[] = {0.5, 0.25, 0.5, 0.125, 0.125, 0.5, 0.25, 0.5, 0.0, 0.125};
    for (int i = 0; i < 10; i++)
        ck_assert_double_eq(out.cols[0][i], want[i]);
    ft_outputs_free(&out);
    /* Another dictionary: "b" found by its string, "q" unseen -> 0. */
    const char *const v2[] = {"q", "b", NULL};
    am_frame *g = ft_codes_frame("city", AM_COL_CAT, NULL, 0, v2, 3);
    out = ft_transform(e, g, NULL, 3);
    ck_assert_double_eq(out.cols[0][0], 0.0);
    ck_assert_double_eq(out.cols[0][1], 0.25);
    ck_assert_double_eq(out.cols[0][2], 0.125);
    ft_outputs_free(&out);
    e->type->free(e);
    am_free(rows);
    am_frame_free(f);
    am_frame_free(g);
}
END_TEST

/* ---- native categorical ------------------------------------------------------------------ */

START_TEST(test_native_values)
{
    /* Dictionary z, unused, m, a: the training rows see z, m and a, so codes 0, 1, 2 go to
     * a, m, z, bytewise, whatever the dictionary ("unused" only in a validation row gets no
     * code). */
    const char *const order[] = {"z", "unused", "m", "a"};
    const char *const v[] = {"a", "z", NULL, "m", "a", "unused"};
    am_frame *f = ft_codes_frame("k", AM_COL_CAT, order, 4, v, 6);
    int64_t *rows = ft_iota(5);
    am_enc_fit_args a = args_of(f, rows, 5, NULL, 0, 0, NULL);
    am_encoder *e = fit_ok(&am_enc_native_categorical, &a);
    ck_assert_int_eq(e->width, 1);
    ck_assert_str_eq(e->names[0], "k");
    ck_assert_ptr_nonnull(e->n_categories);
    ck_assert_int_eq(e->n_categories[0], 3);
    ft_outputs out = ft_transform(e, f, NULL, 6);
    ck_assert_double_eq(out.cols[0][0], 0.0);
    ck_assert_double_eq(out.cols[0][1], 2.0);
    ck_assert(isnan(out.cols[0][2]));
    ck_assert_double_eq(out.cols[0][3], 1.0);
    ck_assert(isnan(out.cols[0][5]));
    ft_outputs_free(&out);
    const char *const v2[] = {"m", "new", "z", "a"};
    am_frame *g = ft_codes_frame("k", AM_COL_CAT, NULL, 0, v2, 4);
    out = ft_transform(e, g, NULL, 4);
    ck_assert_double_eq(out.cols[0][0], 1.0);
    ck_assert(isnan(out.cols[0][1]));
    ck_assert_double_eq(out.cols[0][2], 2.0);
    ck_assert_double_eq(out.cols[0][3], 0.0);
    ft_outputs_free(&out);
    e->type->free(e);
    /* No value in the training rows: AM_ERR_DATA. */
    am_diag d;
    a.rows = rows + 2;
    a.n_rows = 1;
    ck_assert_int_eq(fit_status(&am_enc_native_categorical, &a, &d), AM_ERR_DATA);
    am_free(rows);
    am_frame_free(f);
    am_frame_free(g);
}
END_TEST

/* ---- target: values ---------------------------------------------------------------------- */

#define M_SMOOTH 10.0

/* Regression, rare_min 2: a has 3 rows (1, 3, 2), missing 2 rows (7, 9), b and c one row each
 * (rare -> prior). Prior = mean of all 7 = 132 / 7. */
START_TEST(test_target_regression_values)
{
    const char *const order[] = {"c", "b", "a"};
    const char *const v[] = {"a", "a", "b", "a", NULL, "c", NULL};
    const double y[] = {1, 3, 10, 2, 7, 100, 9};
    am_frame *f = ft_codes_frame("t", AM_COL_CAT, order, 3, v, 7);
    int64_t *rows = ft_iota(7);
    am_feat_options o = {.rare_min_count = 2};
    am_enc_fit_args a = args_of(f, rows, 7, y, AM_TASK_REGRESSION, 0, &o);
    am_encoder *e = fit_ok(&am_enc_target, &a);
    ck_assert_int_eq(e->width, 1);
    ck_assert_str_eq(e->names[0], "t.target");
    const double prior = 132.0 / 7.0;
    const double enc_a = (6.0 + M_SMOOTH * prior) / (3.0 + M_SMOOTH);
    const double enc_miss = (16.0 + M_SMOOTH * prior) / (2.0 + M_SMOOTH);
    ft_outputs out = ft_transform(e, f, NULL, 7);
    const double want[] = {enc_a, enc_a, prior, enc_a, enc_miss, prior, enc_miss};
    for (int i = 0; i < 7; i++)
        ck_assert_double_eq_tol(out.cols[0][i], want[i], EPS * 100);
    ft_outputs_free(&out);
    /* Another dictionary: a found by string, "new" unseen -> prior, b rare -> prior. */
    const char *const v2[] = {"new", "b", "a", NULL};
    am_frame *g = ft_codes_frame("t", AM_COL_CAT, NULL, 0, v2, 4);
    out = ft_transform(e, g, NULL, 4);
    ck_assert_double_eq_tol(out.cols[0][0], prior, EPS * 100);
    ck_assert_double_eq_tol(out.cols[0][1], prior, EPS * 100);
    ck_assert_double_eq_tol(out.cols[0][2], enc_a, EPS * 100);
    ck_assert_double_eq_tol(out.cols[0][3], enc_miss, EPS * 100);
    ft_outputs_free(&out);
    e->type->free(e);
    am_free(rows);
    am_frame_free(f);
    am_frame_free(g);
}
END_TEST

/* Smoothing pulls small levels toward the prior (more, the fewer rows they have) and a level
 * under rare_min is the prior exactly. Binary: the output is the smoothed share of class 1. */
START_TEST(test_target_binary_smoothing)
{
    enum { N = 60 };
    const char *v[N];
    double y[N];
    /* "big": 40 rows all class 1; "small": 6 rows all class 1; "tiny": 4 rows all class 1 (rare
     * at rare_min 5); "zero": 10 rows all class 0. */
    for (int i = 0; i < N; i++) {
        v[i] = i < 40 ? "big" : i < 46 ? "small" : i < 50 ? "tiny" : "zero";
        y[i] = i < 50 ? 1.0 : 0.0;
    }
    am_frame *f = ft_codes_frame("s", AM_COL_CAT, NULL, 0, v, N);
    int64_t *rows = ft_iota(N);
    am_enc_fit_args a = args_of(f, rows, N, y, AM_TASK_BINARY, 2, NULL);
    am_encoder *e = fit_ok(&am_enc_target, &a);
    ck_assert_int_eq(e->width, 1);
    const double prior = 50.0 / 60.0;
    const int64_t probe[] = {0, 40, 46, 50};
    ft_outputs out = ft_transform(e, f, probe, 4);
    double big = out.cols[0][0], small = out.cols[0][1], tiny = out.cols[0][2];
    ck_assert_double_eq_tol(big, (40.0 + M_SMOOTH * prior) / 50.0, EPS);
    ck_assert_double_eq_tol(small, (6.0 + M_SMOOTH * prior) / 16.0, EPS);
    ck_assert_double_eq_tol(tiny, prior, EPS);
    ck_assert_double_eq_tol(out.cols[0][3], (0.0 + M_SMOOTH * prior) / 20.0, EPS);
    /* All three levels' raw share is 1; the fewer rows, the closer to the prior. */
    ck_assert(big > small && small > prior);
    ft_outputs_free(&out);
    e->type->free(e);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* Multiclass: one output per class, each the smoothed class share; every row sums to 1, in
 * transform and in transform_train. */
START_TEST(test_target_multiclass)
{
    enum { N = 90 };
    const char *levels[] = {"p", "q", "r", "s"};
    const char *v[N];
    double y[N];
    for (int i = 0; i < N; i++) {
        v[i] = i % 13 == 0 ? NULL : levels[(i * 7) % 4];
        y[i] = (double)((i * i + i / 3) % 3);
    }
    am_frame *f = ft_codes_frame("m", AM_COL_CAT, NULL, 0, v, N);
    int64_t *rows = ft_iota(N);
    am_feat_options o = {.rare_min_count = 1};
    am_enc_fit_args a = args_of(f, rows, N, y, AM_TASK_MULTICLASS, 3, &o);
    am_encoder *e = fit_ok(&am_enc_target, &a);
    ck_assert_int_eq(e->width, 3);
    ck_assert_str_eq(e->names[0], "m.target=0");
    ck_assert_str_eq(e->names[2], "m.target=2");
    ft_outputs out = ft_transform(e, f, NULL, N), tr = transform_train(e, &a);
    /* Level p by hand. */
    double n_p = 0, c_p[3] = {0}, prior[3] = {0};
    for (int i = 0; i < N; i++) {
        prior[(int)y[i]] += 1.0 / N;
        if (v[i] && strcmp(v[i], "p") == 0) {
            n_p++;
            c_p[(int)y[i]]++;
        }
    }
    int first_p = 0;
    while (!v[first_p] || strcmp(v[first_p], "p") != 0)
        first_p++;
    for (int k = 0; k < 3; k++)
        ck_assert_double_eq_tol(out.cols[k][first_p],
                                (c_p[k] + M_SMOOTH * prior[k]) / (n_p + M_SMOOTH), EPS);
    for (int i = 0; i < N; i++) {
        double s1 = 0, s2 = 0;
        for (int k = 0; k < 3; k++) {
            s1 += out.cols[k][i];
            s2 += tr.cols[k][i];
            ck_assert(out.cols[k][i] >= 0 && out.cols[k][i] <= 1);
        }
        ck_assert_double_eq_tol(s1, 1.0, EPS);
        ck_assert_double_eq_tol(s2, 1.0, EPS);
    }
    ft_outputs_free(&out);
    ft_outputs_free(&tr);
    e->type->free(e);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* Bad arguments: no target, task and class count that disagree, class ids out of range, a
 * non-finite regression target: AM_ERR_ARG. */
START_TEST(test_target_bad_args)
{
    const char *const v[] = {"a", "b", "a", "b"};
    const double y_cls[] = {0, 1, 1, 0}, y_bad[] = {0, 2, 1, 0}, y_frac[] = {0, 0.5, 1, 0};
    const double y_nan[] = {1, NAN, 2, 3};
    am_frame *f = ft_codes_frame("c", AM_COL_CAT, NULL, 0, v, 4);
    int64_t *rows = ft_iota(4);
    struct {
        const double *y;
        am_task task;
        int32_t n_classes;
    } cases[] = {
        {NULL, AM_TASK_REGRESSION, 0}, {y_cls, AM_TASK_BINARY, 3},
        {y_cls, AM_TASK_REGRESSION, 2}, {y_cls, AM_TASK_MULTICLASS, 0},
        {y_cls, (am_task)0, 2},         {y_bad, AM_TASK_BINARY, 2},
        {y_frac, AM_TASK_BINARY, 2},    {y_nan, AM_TASK_REGRESSION, 0},
        {y_cls, AM_TASK_MULTICLASS, -3},
    };
    for (size_t c = 0; c < AM_COUNT(cases); c++) {
        am_enc_fit_args a = args_of(f, rows, 4, cases[c].y, cases[c].task, cases[c].n_classes,
                                    NULL);
        am_diag d;
        ck_assert_msg(fit_status(&am_enc_target, &a, &d) == AM_ERR_ARG, "case %zu", c);
        ck_assert_str_eq(d.column, "c");
    }
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* ---- target: out of fold ----------------------------------------------------------------- */

enum { OOF_N = 100, OOF_J = 17 };

static const char *oof_level(int i)
{
    static const char *const levels[] = {"w", "x", "y", "z"};
    return i % 11 == 5 ? NULL : levels[(i * 3 + i / 7) % 4];
}

/* The out-of-fold encoding of training position i, computed from scratch: the rows of the other
 * inner folds only, their prior, m = 10, rare_min 1. */
static double oof_oracle(const char *const *v, const double *y, int64_t n, uint64_t seed,
                         int64_t i)
{
    int32_t k = am_enc_inner_fold(seed, i, 5);
    double sum = 0, cnt = 0, all = 0, n_all = 0;
    for (int64_t r = 0; r < n; r++) {
        if (am_enc_inner_fold(seed, r, 5) == k)
            continue;
        all += y[r];
        n_all++;
        bool same = (!v[r] && !v[i]) || (v[r] && v[i] && strcmp(v[r], v[i]) == 0);
        if (same) {
            sum += y[r];
            cnt++;
        }
    }
    double prior = all / n_all;
    return cnt >= 1 ? (sum + M_SMOOTH * prior) / (cnt + M_SMOOTH) : prior;
}

/* Changing one training row's target leaves its own transform_train value (and those of its
 * inner fold) bit for bit unchanged, while every row of another fold moves; every value
 * matches the brute-force oracle. */
START_TEST(test_target_out_of_fold)
{
    const char *v[OOF_N];
    double y[OOF_N], y2[OOF_N];
    for (int i = 0; i < OOF_N; i++) {
        v[i] = oof_level(i);
        y[i] = y2[i] = (double)((i * 37) % 23) - 5.5;
    }
    y2[OOF_J] += 1000.0;
    am_frame *f = ft_codes_frame("c", AM_COL_CAT, NULL, 0, v, OOF_N);
    int64_t *rows = ft_iota(OOF_N);
    am_feat_options o = {.rare_min_count = 1};
    am_enc_fit_args a = args_of(f, rows, OOF_N, y, AM_TASK_REGRESSION, 0, &o);
    am_enc_fit_args a2 = args_of(f, rows, OOF_N, y2, AM_TASK_REGRESSION, 0, &o);
    am_encoder *e = fit_ok(&am_enc_target, &a), *e2 = fit_ok(&am_enc_target, &a2);
    ft_outputs t1 = transform_train(e, &a), t2 = transform_train(e2, &a2);
    ft_outputs full = ft_transform(e, f, NULL, OOF_N);
    int32_t fold_j = am_enc_inner_fold(a.seed, OOF_J, 5);
    int64_t n_same = 0, n_other = 0, n_diff_full = 0;
    for (int64_t i = 0; i < OOF_N; i++) {
        ck_assert_double_eq_tol(t1.cols[0][i], oof_oracle(v, y, OOF_N, a.seed, i), 1e-9);
        ck_assert_double_eq_tol(t2.cols[0][i], oof_oracle(v, y2, OOF_N, a.seed, i), 1e-9);
        bool same_fold = am_enc_inner_fold(a.seed, i, 5) == fold_j;
        bool equal = memcmp(&t1.cols[0][i], &t2.cols[0][i], sizeof(double)) == 0;
        ck_assert_msg(equal == same_fold, "row %lld (fold %d, j's fold %d)", (long long)i,
                      am_enc_inner_fold(a.seed, i, 5), fold_j);
        n_same += same_fold;
        n_other += !same_fold;
        n_diff_full += t1.cols[0][i] != full.cols[0][i];
    }
    /* The folds split the rows (none empty), and in-sample values differ from out-of-fold. */
    ck_assert_int_gt(n_same, 5);
    ck_assert_int_gt(n_other, 50);
    ck_assert_int_gt(n_diff_full, 50);
    /* The full-data encoding of j's level did see the change. */
    ft_outputs full2 = ft_transform(e2, f, NULL, OOF_N);
    ck_assert(full.cols[0][OOF_J] != full2.cols[0][OOF_J]);
    ft_outputs_free(&t1);
    ft_outputs_free(&t2);
    ft_outputs_free(&full);
    ft_outputs_free(&full2);
    /* A loaded encoder has no out-of-fold tables: transform_train gives the prior, which reads no
     * row's own target. */
    am_buf b = save_ok(e);
    am_encoder *back = load_ok(&am_enc_target, &b);
    ft_outputs tb = transform_train(back, &a);
    double mean = 0;
    for (int i = 0; i < OOF_N; i++)
        mean += y[i] / OOF_N;
    for (int i = 0; i < OOF_N; i++)
        ck_assert_double_eq_tol(tb.cols[0][i], mean, 1e-12);
    ft_outputs_free(&tb);
    back->type->free(back);
    am_buf_fini(&b);
    e->type->free(e);
    e2->type->free(e2);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* Multiclass out of fold: a row's own class never shows in its encoding (same check). */
START_TEST(test_target_out_of_fold_classes)
{
    const char *v[OOF_N];
    double y[OOF_N], y2[OOF_N];
    for (int i = 0; i < OOF_N; i++) {
        v[i] = oof_level(i);
        y[i] = y2[i] = (double)(i % 3);
    }
    y2[OOF_J] = y[OOF_J] == 0 ? 2 : 0;
    am_frame *f = ft_codes_frame("c", AM_COL_CAT, NULL, 0, v, OOF_N);
    int64_t *rows = ft_iota(OOF_N);
    am_feat_options o = {.rare_min_count = 1};
    am_enc_fit_args a = args_of(f, rows, OOF_N, y, AM_TASK_MULTICLASS, 3, &o);
    am_enc_fit_args a2 = args_of(f, rows, OOF_N, y2, AM_TASK_MULTICLASS, 3, &o);
    am_encoder *e = fit_ok(&am_enc_target, &a), *e2 = fit_ok(&am_enc_target, &a2);
    ft_outputs t1 = transform_train(e, &a), t2 = transform_train(e2, &a2);
    int32_t fold_j = am_enc_inner_fold(a.seed, OOF_J, 5);
    for (int64_t i = 0; i < OOF_N; i++) {
        bool same_fold = am_enc_inner_fold(a.seed, i, 5) == fold_j;
        bool equal = true;
        for (int k = 0; k < 3; k++)
            equal &= memcmp(&t1.cols[k][i], &t2.cols[k][i], sizeof(double)) == 0;
        ck_assert_msg(equal == same_fold, "row %lld", (long long)i);
    }
    ft_outputs_free(&t1);
    ft_outputs_free(&t2);
    e->type->free(e);
    e2->type->free(e2);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* ---- every encoder: poison, round trip, truncation, corruption, out of memory ------------- */

/* 40 training rows then 8 validation rows. The validation rows of the two variants differ in
 * every way they can (new levels, missing values, levels already seen); train rows are the
 * same. */
enum { P_TRAIN = 40, P_ALL = 48 };

static const char *const P_LEVELS[] = {"red", "green", "blue", "teal", "gold", "pink"};

static const char *const POISON_A[] = {"poison", NULL, "poison", "zz", "red", "x1", NULL, "x2"};
static const char *const POISON_B[] = {"red", "red", "red", "red", "red", "red", "red", "red"};
static const char *const BOOL_POISON_A[] = {"maybe", NULL, "maybe", "yes", "x", "x", NULL, "q"};
static const char *const BOOL_POISON_B[] = {"no", "no", "no", "no", "no", "no", "no", "no"};

typedef struct enc_case {
    const am_encoder_type *type;
    am_task task;
    int32_t n_classes;
} enc_case;

static const enc_case CASES[] = {
    {&am_enc_onehot, 0, 0},
    {&am_enc_boolean, 0, 0},
    {&am_enc_frequency, 0, 0},
    {&am_enc_target, AM_TASK_REGRESSION, 0},
    {&am_enc_target, AM_TASK_BINARY, 2},
    {&am_enc_target, AM_TASK_MULTICLASS, 3},
    {&am_enc_native_categorical, 0, 0},
};

/* The training column: rows in the dictionary P_LEVELS order (so the poison levels come after),
 * one missing value in 8; the boolean case uses yes/no. */
static am_frame *case_frame(const enc_case *c, bool variant_b)
{
    const char *v[P_ALL];
    bool boolean = c->type == &am_enc_boolean;
    for (int i = 0; i < P_TRAIN; i++) {
        if (i % 8 == 3)
            v[i] = NULL;
        else if (boolean)
            v[i] = i % 3 ? "yes" : "no";
        else
            v[i] = P_LEVELS[(i * 5) % 6 < 4 ? i % 4 : 4 + i % 2];
    }
    const char *const *poison = boolean ? (variant_b ? BOOL_POISON_B : BOOL_POISON_A)
                                        : (variant_b ? POISON_B : POISON_A);
    for (int i = P_TRAIN; i < P_ALL; i++)
        v[i] = poison[i - P_TRAIN];
    static const char *const bool_order[] = {"yes", "no"};
    return boolean ? ft_codes_frame("col", AM_COL_CAT, bool_order, 2, v, P_ALL)
                   : ft_codes_frame("col", AM_COL_CAT, P_LEVELS, 6, v, P_ALL);
}

static void case_target(const enc_case *c, double *y)
{
    for (int i = 0; i < P_TRAIN && c->type == &am_enc_target; i++)
        y[i] = c->task == AM_TASK_REGRESSION ? (double)((i * 13) % 7) * 1.5 - 2.0
                                             : (double)((i * 7 + i / 5) % c->n_classes);
}

static const am_feat_options CASE_OPTS = {.rare_min_count = 3, .onehot_max_levels = 3};

static am_enc_fit_args case_args(const enc_case *c, const am_frame *f, const int64_t *rows,
                                 const double *y)
{
    bool target = c->type == &am_enc_target;
    return args_of(f, rows, P_TRAIN, target ? y : NULL, c->task, c->n_classes, &CASE_OPTS);
}

/* Fits c's encoder on the same training values twice, at rows ra of fa and rows rb of fb, and
 * asserts that the two encoders save the same bytes and give those rows the same outputs
 * (transform_train too). Returns the first encoder; the second is freed. */
static am_encoder *fit_same_twice(const enc_case *c, const am_frame *fa, const int64_t *ra,
                                  const am_frame *fb, const int64_t *rb)
{
    double y[P_TRAIN];
    case_target(c, y);
    am_enc_fit_args aa = case_args(c, fa, ra, y), ab = case_args(c, fb, rb, y);
    am_encoder *ea = fit_ok(c->type, &aa), *eb = fit_ok(c->type, &ab);
    am_buf ba = save_ok(ea), bb = save_ok(eb);
    ck_assert_uint_eq(ba.len, bb.len);
    ck_assert(memcmp(ba.data, bb.data, ba.len) == 0);
    ft_outputs oa = ft_transform(ea, fa, ra, P_TRAIN), ob = ft_transform(eb, fb, rb, P_TRAIN);
    ck_assert(ft_same_outputs(&oa, &ob));
    ft_outputs_free(&oa);
    ft_outputs_free(&ob);
    if (c->type->transform_train) {
        oa = transform_train(ea, &aa);
        ob = transform_train(eb, &ab);
        ck_assert(ft_same_outputs(&oa, &ob));
        ft_outputs_free(&oa);
        ft_outputs_free(&ob);
    }
    am_buf_fini(&ba);
    am_buf_fini(&bb);
    eb->type->free(eb);
    return ea;
}

/* Validation rows full of poison leave the fitted state byte for byte the same. */
START_TEST(test_poisoned_rows)
{
    const enc_case *c = &CASES[_i];
    am_frame *fa = case_frame(c, false), *fb = case_frame(c, true);
    int64_t *rows = ft_iota(P_TRAIN);
    am_encoder *ea = fit_same_twice(c, fa, rows, fb, rows);
    /* The poison rows transform without error, to finite values (NaN only for native). */
    ft_outputs oa = ft_transform(ea, fa, NULL, P_ALL);
    for (int64_t k = 0; k < oa.width; k++)
        for (int64_t i = 0; i < P_ALL; i++)
            ck_assert(isfinite(oa.cols[k][i]) ||
                      (c->type == &am_enc_native_categorical && isnan(oa.cols[k][i])));
    ft_outputs_free(&oa);
    for (int64_t k = 0; k < ea->width; k++)
        ck_assert_ptr_null(strstr(ea->names[k], "poison"));
    ea->type->free(ea);
    am_free(rows);
    am_frame_free(fa);
    am_frame_free(fb);
}
END_TEST

/* Training levels for the dictionary-order test: red and blue 9 rows each, green, teal and gold
 * 6 each (a three-way tie at the one-hot cap of 3: gold wins bytewise), pink 2 (rare), and 2
 * missing values, dealt out in rounds so first appearance is pink, teal, green, red, gold, blue,
 * missing. */
static const char *const D_LEVELS[] = {"pink", "teal", "green", "red", "gold", "blue"};
static const int D_COUNT[] = {2, 6, 6, 9, 6, 9};
/* Validation rows: training levels and a new one. */
static const char *const D_VALID[] = {"blue", "gold", "new"};
enum { D_VALID_N = 3 };

static void dict_train_values(const enc_case *c, const char **v)
{
    int left[6];
    memcpy(left, D_COUNT, sizeof(left));
    int at = 0, missing = 2;
    while (at < P_TRAIN) {
        for (int l = 0; l < 6; l++)
            if (left[l] > 0) {
                v[at++] = D_LEVELS[l];
                left[l]--;
            }
        if (missing > 0) {
            v[at++] = NULL;
            missing--;
        }
    }
    ck_assert_int_eq(at, P_TRAIN);
    for (int i = 0; i < P_TRAIN && c->type == &am_enc_boolean; i++)
        v[i] = v[i] ? (i % 3 ? "yes" : "no") : NULL;
}

/* The same training rows in two files: in one the validation rows come last, in the other first
 * (so they put blue and gold, and for the boolean encoder yes and no, at the head of the level
 * dictionary). The fitted encoders save the same bytes and give the training rows the same
 * outputs: no order in them comes from the dictionary. */
START_TEST(test_dictionary_order)
{
    const enc_case *c = &CASES[_i];
    bool boolean = c->type == &am_enc_boolean;
    static const char *const bool_valid[] = {"yes", "no", "maybe"};
    const char *const *valid = boolean ? bool_valid : D_VALID;
    enum { N = P_TRAIN + D_VALID_N };
    const char *va[N], *vb[N];
    dict_train_values(c, va);
    memcpy(vb + D_VALID_N, va, P_TRAIN * sizeof(va[0]));
    for (int i = 0; i < D_VALID_N; i++)
        va[P_TRAIN + i] = vb[i] = valid[i];
    am_frame *fa = ft_codes_frame("col", AM_COL_CAT, NULL, 0, va, N);
    am_frame *fb = ft_codes_frame("col", AM_COL_CAT, NULL, 0, vb, N);
    ck_assert_str_ne(fa->cols[0].levels.items[0], fb->cols[0].levels.items[0]);
    int64_t ra[P_TRAIN], rb[P_TRAIN];
    for (int i = 0; i < P_TRAIN; i++) {
        ra[i] = i;
        rb[i] = i + D_VALID_N;
    }
    am_encoder *ea = fit_same_twice(c, fa, ra, fb, rb);
    /* What the bytes hold, spelled out: the kept levels and the native codes, bytewise. */
    if (c->type == &am_enc_onehot) {
        const char *const want[] = {"col=blue",   "col=gold",      "col=red",
                                    "col=<rare>", "col=<missing>", "col=<unseen>"};
        ck_assert_int_eq(ea->width, 6);
        for (int k = 0; k < 6; k++)
            ck_assert_str_eq(ea->names[k], want[k]);
    }
    if (c->type == &am_enc_native_categorical) {
        ft_outputs oa = ft_transform(ea, fa, ra, 7); /* pink teal green red gold blue missing */
        const double want[] = {3, 5, 2, 4, 1, 0};
        for (int i = 0; i < 6; i++)
            ck_assert_double_eq(oa.cols[0][i], want[i]);
        ck_assert(isnan(oa.cols[0][6]));
        ft_outputs_free(&oa);
    }
    ea->type->free(ea);
    am_frame_free(fa);
    am_frame_free(fb);
}
END_TEST

/* A frame with another dictionary order, new levels and missing values, for transforms after
 * loading. */
static am_frame *predict_frame(const enc_case *c)
{
    const char *const order[] = {"new", "pink", "gold", "teal", "blue", "green", "red", "yes",
                                 "no"};
    const char *const v[] = {"red", "new", NULL, "pink", "gold", "teal", "blue", "green",
                             "yes", "no", "other", NULL};
    (void)c;
    return ft_codes_frame("col", AM_COL_CAT, order, 9, v, 12);
}

/* save -> load gives the same names, the same transform bits, and saves to the same bytes. */
START_TEST(test_round_trip)
{
    const enc_case *c = &CASES[_i];
    am_frame *f = case_frame(c, false), *g = predict_frame(c);
    int64_t *rows = ft_iota(P_TRAIN);
    double y[P_TRAIN];
    case_target(c, y);
    am_enc_fit_args a = case_args(c, f, rows, y);
    am_encoder *e = fit_ok(c->type, &a);
    am_buf b = save_ok(e);
    am_encoder *back = load_ok(c->type, &b);
    ck_assert_int_eq(back->width, e->width);
    for (int64_t k = 0; k < e->width; k++)
        ck_assert_str_eq(back->names[k], e->names[k]);
    ck_assert_int_eq(back->n_categories != NULL, e->n_categories != NULL);
    if (e->n_categories)
        ck_assert_int_eq(back->n_categories[0], e->n_categories[0]);
    ft_outputs o1 = ft_transform(e, g, NULL, 12), o2 = ft_transform(back, g, NULL, 12);
    ck_assert(ft_same_outputs(&o1, &o2));
    ft_outputs_free(&o1);
    ft_outputs_free(&o2);
    o1 = ft_transform(e, f, NULL, P_ALL);
    o2 = ft_transform(back, f, NULL, P_ALL);
    ck_assert(ft_same_outputs(&o1, &o2));
    ft_outputs_free(&o1);
    ft_outputs_free(&o2);
    am_buf b2 = save_ok(back);
    ck_assert_uint_eq(b2.len, b.len);
    ck_assert(memcmp(b.data, b2.data, b.len) == 0);
    /* A version this code does not know is refused. */
    am_reader r;
    am_reader_init(&r, b.data, b.len, "encoder");
    am_encoder *x = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(c->type->load(&r, c->type->version + 1, &x, &d), AM_ERR_FORMAT);
    ck_assert_ptr_null(x);
    ck_assert_ptr_nonnull(strstr(d.message, c->type->name));
    am_buf_fini(&b);
    am_buf_fini(&b2);
    back->type->free(back);
    e->type->free(e);
    am_free(rows);
    am_frame_free(f);
    am_frame_free(g);
}
END_TEST

/* Every truncation of the saved bytes is AM_ERR_FORMAT, with a message naming the encoder. */
START_TEST(test_truncation)
{
    const enc_case *c = &CASES[_i];
    am_frame *f = case_frame(c, false);
    int64_t *rows = ft_iota(P_TRAIN);
    double y[P_TRAIN];
    case_target(c, y);
    am_enc_fit_args a = case_args(c, f, rows, y);
    am_encoder *e = fit_ok(c->type, &a);
    am_buf b = save_ok(e);
    char who[64];
    snprintf(who, sizeof(who), "%s encoder", c->type->name);
    for (char *p = who; *p; p++)
        if (*p == '_')
            *p = ' ';
    for (size_t len = 0; len < b.len; len++) {
        /* A copy of exactly len bytes, so ASan sees any read past the end. */
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, b.data, len);
        am_encoder *x = NULL;
        am_diag d;
        am_status st = load_bytes(c->type, copy, len, &x, NULL, &d);
        ck_assert_msg(st == AM_ERR_FORMAT, "length %zu of %zu: %s", len, b.len,
                      am_status_name(st));
        ck_assert_msg(strstr(d.message, who), "length %zu: %s", len, d.message);
        free(copy);
    }
    am_buf_fini(&b);
    e->type->free(e);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* Corrupt bytes (each byte flipped in turn, then a few set to 0xff) load as AM_ERR_FORMAT or,
 * where the change is harmless, load and transform without a crash. */
START_TEST(test_corruption)
{
    const enc_case *c = &CASES[_i];
    am_frame *f = case_frame(c, false), *g = predict_frame(c);
    int64_t *rows = ft_iota(P_TRAIN);
    double y[P_TRAIN];
    case_target(c, y);
    am_enc_fit_args a = case_args(c, f, rows, y);
    am_encoder *e = fit_ok(c->type, &a);
    am_buf b = save_ok(e);
    int64_t n_format = 0;
    for (size_t at = 0; at < b.len; at++) {
        for (int how = 0; how < 2; how++) {
            uint8_t *copy = malloc(b.len);
            memcpy(copy, b.data, b.len);
            copy[at] = how == 0 ? (uint8_t)(copy[at] ^ 0x80) : 0xff;
            am_encoder *x = NULL;
            am_diag d;
            am_status st = load_bytes(c->type, copy, b.len, &x, NULL, &d);
            ck_assert_msg(st == AM_OK || st == AM_ERR_FORMAT, "byte %zu: %s", at,
                          am_status_name(st));
            n_format += st == AM_ERR_FORMAT;
            if (x) {
                ft_outputs o = ft_transform(x, g, NULL, 12);
                ft_outputs_free(&o);
                x->type->free(x);
            }
            free(copy);
        }
    }
    ck_assert_int_gt(n_format, 0);
    am_buf_fini(&b);
    e->type->free(e);
    am_free(rows);
    am_frame_free(f);
    am_frame_free(g);
}
END_TEST

/* A crafted payload whose counts are huge but whose bytes are few is refused as corrupt before
 * anything is allocated for it. */
START_TEST(test_huge_counts)
{
    am_buf b;
    am_buf_init(&b);
    am_buf_u64(&b, 1);           /* width */
    am_buf_str(&b, "x");
    am_buf_u8(&b, 0);            /* no categories */
    am_buf_u64(&b, UINT64_MAX / 2); /* level count */
    am_buf_u32(&b, 1);
    am_buf_put(&b, "a", 1);
    am_encoder *x = NULL;
    am_diag d;
    ck_assert_int_eq(load_bytes(&am_enc_frequency, b.data, b.len, &x, NULL, &d), AM_ERR_FORMAT);
    am_buf_fini(&b);
    /* A duplicated level is corrupt too (two slots for one string). */
    am_buf_init(&b);
    am_buf_u64(&b, 1);
    am_buf_str(&b, "k");
    am_buf_u8(&b, 1);
    am_buf_i64(&b, 2);
    am_buf_u64(&b, 2);
    am_buf_str(&b, "a");
    am_buf_str(&b, "a");
    ck_assert_int_eq(load_bytes(&am_enc_native_categorical, b.data, b.len, &x, NULL, &d),
                     AM_ERR_FORMAT);
    am_buf_fini(&b);
    /* A target encoder claiming 2^31 classes. */
    am_buf_init(&b);
    am_buf_u64(&b, 1);
    am_buf_str(&b, "t");
    am_buf_u8(&b, 0);
    am_buf_u8(&b, AM_TASK_MULTICLASS);
    am_buf_u32(&b, 0x80000000u);
    ck_assert_int_eq(load_bytes(&am_enc_target, b.data, b.len, &x, NULL, &d), AM_ERR_FORMAT);
    am_buf_fini(&b);
}
END_TEST

/* Out of memory at every allocation of fit and save: AM_ERR_NOMEM (load: NOMEM, or FORMAT
 * where the common loader's string reader cannot tell the two apart), nothing leaked (ASan and
 * valgrind check), and transform under out of memory gives the same bits (it falls back to
 * looking levels up row by row). */
START_TEST(test_out_of_memory)
{
    const enc_case *c = &CASES[_i];
    am_frame *f = case_frame(c, false), *g = predict_frame(c);
    int64_t *rows = ft_iota(P_TRAIN);
    double y[P_TRAIN];
    case_target(c, y);
    am_enc_fit_args a = case_args(c, f, rows, y);
    am_encoder *ref = fit_ok(c->type, &a);
    ft_outputs want = ft_transform(ref, g, NULL, 12);
    am_buf ref_bytes = save_ok(ref);
    bool fit_done = false;
    for (int64_t k = 0; k < 1000 && !fit_done; k++) {
        am_encoder *e = NULL;
        am_diag d;
        am_diag_clear(&d);
        am_alloc_fail_after(k);
        am_status st = c->type->fit(&a, &e, &d);
        am_alloc_fail_after(-1);
        ck_assert_msg(st == AM_OK || st == AM_ERR_NOMEM, "k=%lld: %s", (long long)k,
                      am_status_name(st));
        fit_done = st == AM_OK;
        if (fit_done) {
            ck_assert_int_gt(k, 0);
            e->type->free(e);
        } else {
            ck_assert_ptr_null(e);
        }
    }
    ck_assert(fit_done);
    bool load_done = false;
    for (int64_t k = 0; k < 1000 && !load_done; k++) {
        am_encoder *e = NULL;
        am_diag d;
        am_alloc_fail_after(k);
        am_status st = load_bytes(c->type, ref_bytes.data, ref_bytes.len, &e, NULL, &d);
        am_alloc_fail_after(-1);
        ck_assert_msg(st == AM_OK || st == AM_ERR_NOMEM || st == AM_ERR_FORMAT, "k=%lld",
                      (long long)k);
        load_done = st == AM_OK;
        if (e)
            e->type->free(e);
    }
    ck_assert(load_done);
    /* Save into a buffer that cannot grow. */
    am_buf b;
    am_buf_init(&b);
    am_alloc_fail_after(0);
    am_status st = c->type->save(ref, &b, NULL);
    am_alloc_fail_after(-1);
    ck_assert_int_eq(st, AM_ERR_NOMEM);
    am_buf_fini(&b);
    /* Transform cannot fail: without memory for its level table it looks up row by row. */
    ft_outputs got = ft_outputs_new(ref->width, 12);
    am_alloc_fail_after(0);
    ref->type->transform(ref, &g->cols[0], NULL, 12, got.cols);
    am_alloc_fail_after(-1);
    ck_assert(ft_same_outputs(&want, &got));
    ft_outputs_free(&got);
    ft_outputs_free(&want);
    am_buf_fini(&ref_bytes);
    ref->type->free(ref);
    am_free(rows);
    am_frame_free(f);
    am_frame_free(g);
}
END_TEST

/* Fit refuses a column without codes (a numeric column given to a category encoder) and a
 * column whose training rows are all missing. */
START_TEST(test_fit_refuses)
{
    const double x[] = {1, 2, 3};
    am_frame *f = ft_num_frame("n", AM_COL_NUM, x, 3);
    int64_t *rows = ft_iota(3);
    const double y[] = {0, 1, 0};
    const am_encoder_type *types[] = {&am_enc_onehot, &am_enc_frequency, &am_enc_target,
                                      &am_enc_native_categorical};
    am_diag d;
    for (size_t t = 0; t < AM_COUNT(types); t++) {
        am_enc_fit_args a = args_of(f, rows, 3, y, AM_TASK_BINARY, 2, NULL);
        ck_assert_int_eq(fit_status(types[t], &a, &d), AM_ERR_ARG);
    }
    am_frame_free(f);
    const char *const v[] = {NULL, NULL, "late"};
    f = ft_codes_frame("c", AM_COL_CAT, NULL, 0, v, 3);
    for (size_t t = 0; t < AM_COUNT(types); t++) {
        am_enc_fit_args a = args_of(f, rows, 2, y, AM_TASK_BINARY, 2, NULL);
        ck_assert_int_eq(fit_status(types[t], &a, &d), AM_ERR_DATA);
        ck_assert_str_eq(d.column, "c");
    }
    am_frame_free(f);
    am_free(rows);
}
END_TEST

/* ---- the suite --------------------------------------------------------------------------- */

static Suite *enc_category_suite(void)
{
    Suite *s = suite_create("enc_category");
    TCase *tc = tcase_create("values");
    tcase_add_test(tc, test_onehot_values);
    tcase_add_test(tc, test_onehot_cap);
    tcase_add_loop_test(tc, test_boolean_values, 0, (int)AM_COUNT(BOOL_PAIRS));
    tcase_add_test(tc, test_boolean_numeric_and_errors);
    tcase_add_test(tc, test_frequency_values);
    tcase_add_test(tc, test_native_values);
    tcase_add_test(tc, test_fit_refuses);
    suite_add_tcase(s, tc);

    tc = tcase_create("target");
    tcase_add_test(tc, test_target_regression_values);
    tcase_add_test(tc, test_target_binary_smoothing);
    tcase_add_test(tc, test_target_multiclass);
    tcase_add_test(tc, test_target_bad_args);
    tcase_add_test(tc, test_target_out_of_fold);
    tcase_add_test(tc, test_target_out_of_fold_classes);
    suite_add_tcase(s, tc);

    tc = tcase_create("robustness");
    tcase_set_timeout(tc, 60);
    int n = (int)AM_COUNT(CASES);
    tcase_add_loop_test(tc, test_poisoned_rows, 0, n);
    tcase_add_loop_test(tc, test_dictionary_order, 0, n);
    tcase_add_loop_test(tc, test_round_trip, 0, n);
    tcase_add_loop_test(tc, test_truncation, 0, n);
    tcase_add_loop_test(tc, test_corruption, 0, n);
    tcase_add_loop_test(tc, test_out_of_memory, 0, n);
    tcase_add_test(tc, test_huge_counts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(enc_category_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
