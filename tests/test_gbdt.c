/* test_gbdt.c — the shared tree form (learners/tree.c) and the histogram gradient boosting
 * learner (learners/gbdt*.c).
 *
 * Tree form: routing of numeric, categorical and missing values, batch prediction against the
 * row-by-row walk on any thread count, importance, pruning, save -> load -> save bit for bit,
 * and crafted files with out-of-range indices refused. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../featurize/featurize.h"
#include "../learners/internal.h"
#include "../learners/tree.h"
#include "learner_testing.h"

/* ---- the tree form -------------------------------------------------------------------------- */

/* Tree 0: x0 <= 0.5 ? (code of x1 in {1, 3, 70}, missing left ? A : B) : C
 * Tree 1: a single leaf D.
 * Tree 2: x1 <= 2 (missing left) ? E : F
 * Two values per leaf: (v, -v). */
static void leaf2(am_forest *f, double v, int32_t *at)
{
    double vals[2] = {v, -v};
    *at = am_forest_add_leaf(f, vals);
    ck_assert_int_ge(*at, 0);
}

static void build_sample(am_forest *f)
{
    am_forest_init(f, 2);
    static const int32_t codes[] = {1, 3, 70};
    int32_t root, cat, a, b, c, d, e, g;
    ck_assert_int_eq(am_forest_tree_begin(f), AM_OK);
    root = am_forest_add_split(f, 0, 0.5, false, 4.0);
    cat = am_forest_add_cat_split(f, 1, codes, 3, true, 2.5);
    ck_assert_int_eq(root, 0);
    ck_assert_int_eq(cat, 1);
    leaf2(f, 10, &c);
    leaf2(f, 1, &a);
    leaf2(f, 2, &b);
    am_forest_set_children(f, root, cat, c);
    am_forest_set_children(f, cat, a, b);
    ck_assert_int_eq(am_forest_tree_end(f), AM_OK);
    ck_assert_int_eq(am_forest_tree_begin(f), AM_OK);
    leaf2(f, 100, &d);
    ck_assert_int_eq(d, 0);
    ck_assert_int_eq(am_forest_tree_end(f), AM_OK);
    ck_assert_int_eq(am_forest_tree_begin(f), AM_OK);
    root = am_forest_add_split(f, 1, 2.0, true, 1.0);
    leaf2(f, 0.5, &e);
    leaf2(f, -0.5, &g);
    am_forest_set_children(f, root, e, g);
    ck_assert_int_eq(am_forest_tree_end(f), AM_OK);
    ck_assert_int_eq(f->n_trees, 3);
    ck_assert_int_eq(f->n_nodes, 9);
    ck_assert_int_eq(f->n_cat_words, 2); /* code 70 needs a second word */
}

static double route(const am_forest *f, int32_t t, double x0, double x1)
{
    double row[2] = {x0, x1};
    return am_forest_leaf(f, t, row, 1)[0];
}

START_TEST(test_tree_routing)
{
    am_forest f;
    build_sample(&f);
    ck_assert(route(&f, 0, 0.5, 1) == 1);      /* x0 <= 0.5 is inclusive; code 1 left */
    ck_assert(route(&f, 0, 0.6, 1) == 10);     /* right of the root */
    ck_assert(route(&f, 0, NAN, 1) == 10);     /* missing x0 goes right (default_left false) */
    ck_assert(route(&f, 0, -1, 3) == 1);
    ck_assert(route(&f, 0, -1, 70) == 1);      /* a code in the second word */
    ck_assert(route(&f, 0, -1, 2) == 2);       /* not in the set */
    ck_assert(route(&f, 0, -1, 64) == 2);      /* inside the bitset, not set */
    ck_assert(route(&f, 0, -1, 128) == 2);     /* past the bitset: right */
    ck_assert(route(&f, 0, -1, 1e12) == 2);
    ck_assert(route(&f, 0, -1, NAN) == 1);     /* missing category: default left */
    ck_assert(route(&f, 0, -1, -1) == 1);      /* a negative code counts as missing */
    ck_assert(route(&f, 1, NAN, NAN) == 100);
    ck_assert(route(&f, 2, 0, 2) == 0.5);
    ck_assert(route(&f, 2, 0, 2.0000001) == -0.5);
    ck_assert(route(&f, 2, 0, NAN) == 0.5);
    ck_assert(route(&f, 2, 0, -INFINITY) == 0.5);
    /* Column-major access: the stride selects feature j of the row. */
    double cm[6] = {0.7, -1, 0, 5, 3, 1}; /* rows (0.7, 5), (-1, 3), (0, 1) */
    ck_assert(am_forest_leaf(&f, 0, cm + 0, 3)[0] == 10);
    ck_assert(am_forest_leaf(&f, 0, cm + 1, 3)[0] == 1);
    ck_assert(am_forest_leaf(&f, 0, cm + 2, 3)[1] == -1);
    am_forest_fini(&f);
}
END_TEST

static void sample_matrix(am_matrix *x, int64_t n, uint64_t seed)
{
    am_rng r;
    am_rng_seed(&r, seed);
    ck_assert_int_eq(am_matrix_new(x, n, 2, NULL), AM_OK);
    for (int64_t i = 0; i < n; i++) {
        AM_AT(x, i, 0) = i % 17 == 0 ? NAN : am_rng_uniform(&r);
        AM_AT(x, i, 1) = i % 13 == 0 ? NAN : (double)am_rng_below(&r, 80);
    }
}

START_TEST(test_tree_predict_sum)
{
    am_forest f;
    build_sample(&f);
    am_matrix x;
    int64_t n = 1000; /* several blocks, the last one partial */
    sample_matrix(&x, n, 5);
    double *o1 = calloc((size_t)n * 2, sizeof(double)), *o2 = calloc((size_t)n * 2, sizeof(double));
    double *o3 = calloc((size_t)n * 2, sizeof(double));
    am_forest_predict_sum(&f, &x, 0, 3, 1, o1);
    am_forest_predict_sum(&f, &x, 0, 3, 2, o2);
    am_forest_predict_sum(&f, &x, 1, 2, 2, o3);
    ck_assert_mem_eq(o1, o2, (size_t)n * 2 * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        double s = 0, s12 = 0;
        for (int32_t t = 0; t < 3; t++) {
            double v = am_forest_leaf(&f, t, x.data + i, x.ld)[0];
            s += v;
            if (t >= 1)
                s12 += v;
        }
        ck_assert(o1[2 * i] == s && o1[2 * i + 1] == -s);
        ck_assert(o3[2 * i] == s12);
    }
    /* It adds to what is there. */
    am_forest_predict_sum(&f, &x, 1, 1, 1, o3);
    ck_assert(o3[0] == o1[0] - am_forest_leaf(&f, 0, x.data, x.ld)[0] + 100);
    free(o1);
    free(o2);
    free(o3);
    am_matrix_fini(&x);
    am_forest_fini(&f);
}
END_TEST

START_TEST(test_tree_importance_and_prune)
{
    am_forest f;
    build_sample(&f);
    double gain[3], splits[3];
    am_forest_importance(&f, 3, gain, splits);
    ck_assert(gain[0] == 4.0 && splits[0] == 1);
    ck_assert(gain[1] == 3.5 && splits[1] == 2);
    ck_assert(gain[2] == 0 && splits[2] == 0);

    /* Pruning the root of an open tree turns the whole tree into one leaf. */
    ck_assert_int_eq(am_forest_tree_begin(&f), AM_OK);
    int32_t root = am_forest_add_split(&f, 0, 0.0, false, 7.0), l, r;
    leaf2(&f, 1, &l);
    leaf2(&f, 2, &r);
    am_forest_set_children(&f, root, l, r);
    double v[2] = {42, 43};
    ck_assert_int_eq(am_forest_make_leaf(&f, root, v), AM_OK);
    ck_assert_int_eq(am_forest_tree_end(&f), AM_OK);
    ck_assert(route(&f, 3, -5, 0) == 42 && route(&f, 3, 5, 0) == 42);
    am_forest_importance(&f, 3, gain, splits);
    ck_assert(gain[0] == 4.0 && splits[0] == 1);

    /* A split whose children were never set is refused at the end of its tree. */
    ck_assert_int_eq(am_forest_tree_begin(&f), AM_OK);
    am_forest_add_split(&f, 0, 0.0, false, 1.0);
    ck_assert_int_eq(am_forest_tree_end(&f), AM_ERR_INTERNAL);
    ck_assert_int_eq(f.n_trees, 4);
    am_forest_fini(&f);
}
END_TEST

static void save_bytes(const am_forest *f, am_buf *b)
{
    am_buf_init(b);
    am_forest_save(f, b);
    ck_assert(!b->failed);
}

START_TEST(test_tree_save_load)
{
    am_forest f, g;
    build_sample(&f);
    am_buf b1, b2;
    save_bytes(&f, &b1);
    am_reader r;
    am_reader_init(&r, b1.data, b1.len, "trees");
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_forest_load(&r, 2, 2, &g, &d), AM_OK);
    ck_assert_int_eq(am_reader_status(&r, true, &d), AM_OK);
    save_bytes(&g, &b2);
    ck_assert_uint_eq(b1.len, b2.len);
    ck_assert_mem_eq(b1.data, b2.data, b1.len);
    am_matrix x;
    sample_matrix(&x, 300, 9);
    double o1[600] = {0}, o2[600] = {0};
    am_forest_predict_sum(&f, &x, 0, 3, 1, o1);
    am_forest_predict_sum(&g, &x, 0, 3, 1, o2);
    ck_assert_mem_eq(o1, o2, sizeof(o1));
    /* An empty forest round-trips too. */
    am_forest e;
    am_forest_init(&e, 1);
    am_buf b3;
    save_bytes(&e, &b3);
    am_reader_init(&r, b3.data, b3.len, "trees");
    am_forest h;
    ck_assert_int_eq(am_forest_load(&r, 2, 1, &h, &d), AM_OK);
    ck_assert_int_eq(h.n_trees, 0);
    am_forest_fini(&h);
    am_buf_fini(&b1);
    am_buf_fini(&b2);
    am_buf_fini(&b3);
    am_matrix_fini(&x);
    am_forest_fini(&f);
    am_forest_fini(&g);
}
END_TEST

/* A random subtree below the open tree's current end: a split (numeric or categorical, on
 * one of 3 features) added before its children, which are grown in either order, so node
 * indices are neither breadth- nor always depth-first; leaves hold (v, 2v). */
static int32_t random_subtree(am_forest *f, am_rng *r, int depth)
{
    if (depth == 0 || am_rng_below(r, 5) == 0) {
        double v[2] = {am_rng_uniform(r) - 0.5, 0};
        v[1] = 2 * v[0];
        return am_forest_add_leaf(f, v);
    }
    int32_t feature = (int32_t)am_rng_below(r, 3), at;
    bool default_left = am_rng_below(r, 2) != 0;
    if (feature == 2) {
        int32_t codes[8], n = (int32_t)am_rng_below(r, 8);
        for (int32_t i = 0; i < n; i++)
            codes[i] = (int32_t)am_rng_below(r, 130);
        at = am_forest_add_cat_split(f, feature, codes, n, default_left, 1.0);
    } else {
        at = am_forest_add_split(f, feature, am_rng_uniform(r), default_left, 1.0);
    }
    ck_assert_int_ge(at, 0);
    int32_t left, right;
    if (am_rng_below(r, 2) != 0) {
        left = random_subtree(f, r, depth - 1);
        right = random_subtree(f, r, depth - 1);
    } else {
        right = random_subtree(f, r, depth - 1);
        left = random_subtree(f, r, depth - 1);
    }
    am_forest_set_children(f, at, left, right);
    return at;
}

/* Values that exercise every branch of a test: in and out of [0, 1], NaN, infinities, codes
 * past the bitsets and negative ones. */
static double random_value(am_rng *r, int64_t j)
{
    switch (am_rng_below(r, 10)) {
    case 0:
        return NAN;
    case 1:
        return am_rng_below(r, 2) != 0 ? INFINITY : -INFINITY;
    case 2:
        return -1.0 - (double)am_rng_below(r, 3);
    default:
        return j == 2 ? (double)am_rng_below(r, 200) : 1.4 * am_rng_uniform(r) - 0.2;
    }
}

/* The compact walk of predict_sum (eight rows in lockstep, breadth-first copies) against the
 * plain node walk, on random trees with pruned subtrees, before and after save/load. */
START_TEST(test_tree_compact_walk)
{
    am_rng r;
    am_rng_seed(&r, 11);
    am_forest f, g;
    am_forest_init(&f, 2);
    for (int t = 0; t < 40; t++) {
        ck_assert_int_eq(am_forest_tree_begin(&f), AM_OK);
        int32_t root = random_subtree(&f, &r, 1 + t % 9);
        ck_assert_int_eq(root, 0);
        int64_t size = f.n_nodes - f.tree_first[f.n_trees];
        if (t % 3 == 0 && size > 2) {
            double v[2] = {7, 14};
            ck_assert_int_eq(am_forest_make_leaf(&f, (int32_t)am_rng_below(&r, size), v),
                             AM_OK);
        }
        ck_assert_int_eq(am_forest_tree_end(&f), AM_OK);
    }
    am_buf b;
    save_bytes(&f, &b);
    am_reader rd;
    am_reader_init(&rd, b.data, b.len, "trees");
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_forest_load(&rd, 3, 2, &g, &d), AM_OK);
    int64_t n = 1237; /* blocks of 256 and groups of 8, the last of each partial */
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, n, 3, NULL), AM_OK);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < 3; j++)
            AM_AT(&x, i, j) = random_value(&r, j);
    double *o1 = calloc((size_t)n * 2, sizeof(double)), *o2 = calloc((size_t)n * 2, sizeof(double));
    am_forest_predict_sum(&f, &x, 0, f.n_trees, 2, o1);
    am_forest_predict_sum(&g, &x, 0, g.n_trees, 1, o2);
    for (int64_t i = 0; i < n; i++) {
        double sum[2] = {0, 0};
        for (int32_t t = 0; t < f.n_trees; t++) {
            const double *v = am_forest_leaf(&f, t, x.data + i, x.ld);
            sum[0] += v[0];
            sum[1] += v[1];
        }
        ck_assert_msg(o1[2 * i] == sum[0] && o1[2 * i + 1] == sum[1], "row %lld", (long long)i);
    }
    ck_assert_mem_eq(o1, o2, (size_t)n * 2 * sizeof(double));
    free(o1);
    free(o2);
    am_matrix_fini(&x);
    am_buf_fini(&b);
    am_forest_fini(&f);
    am_forest_fini(&g);
}
END_TEST

/* Crafted files: one field of the sample forest's saved bytes changed per case. Layout: a 32-byte
 * header, 4 tree offsets of 8 bytes, then 45-byte nodes (feature +0, left +4, right +8,
 * threshold +12, cat_first +20, cat_words +24, default_left +28, value_first +29, gain +37). */
#define NODE_AT(i) (32 + 4 * 8 + 45 * (i))
static const struct crafted {
    const char *what;
    size_t offset;
    int width; /* bytes written */
    int64_t value;
} crafted_cases[] = {
    {"left child points back to the root", NODE_AT(0) + 4, 4, 0},
    {"both children are the same split", NODE_AT(0) + 8, 4, 1},
    {"right child past the tree", NODE_AT(0) + 8, 4, 5},
    {"child in the next tree", NODE_AT(1) + 4, 4, 5},
    {"negative child", NODE_AT(1) + 8, 4, -2},
    {"feature index past n_features", NODE_AT(0), 4, 2},
    {"feature index -7", NODE_AT(0), 4, -7},
    {"bitset past the words", NODE_AT(1) + 20, 4, 1},
    {"bitset length overflows", NODE_AT(1) + 24, 4, 0xffffffff},
    {"leaf value past the values", NODE_AT(2) + 29, 8, 15},
    {"negative leaf value index", NODE_AT(2) + 29, 8, -2},
    {"a split with a value index", NODE_AT(0) + 29, 8, 0},
    {"default_left not a bool", NODE_AT(0) + 28, 1, 2},
    {"NaN threshold", NODE_AT(0) + 12, 8, (int64_t)0x7ff8000000000000},
    {"leaf value not finite", 0, -1, 0}, /* special: last value set to inf */
    {"values per leaf disagree", 0, 4, 1},
    {"tree offsets decrease", 32 + 8, 8, 6},
    {"last offset short", 32 + 24, 8, 8},
    {"huge node count", 8, 8, (int64_t)1 << 40},
    {"truncated", 0, -2, 0},
};

START_TEST(test_tree_crafted)
{
    const struct crafted *c = &crafted_cases[_i];
    am_forest f, g;
    build_sample(&f);
    am_buf b;
    save_bytes(&f, &b);
    size_t len = b.len;
    if (c->width == -1) {
        double inf = INFINITY;
        memcpy(b.data + b.len - 8, &inf, 8);
    } else if (c->width == -2) {
        len -= 3;
    } else {
        for (int k = 0; k < c->width; k++)
            b.data[c->offset + (size_t)k] = (uint8_t)((uint64_t)c->value >> (8 * k));
    }
    am_reader r;
    am_reader_init(&r, b.data, len, "trees");
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_forest_load(&r, 2, 2, &g, &d);
    ck_assert_msg(st == AM_ERR_FORMAT, "%s: got %s", c->what, am_status_name(st));
    ck_assert(d.message[0] != '\0');
    ck_assert_ptr_null(g.nodes);
    am_buf_fini(&b);
    am_forest_fini(&f);
}
END_TEST

/* ---- binned data by hand -------------------------------------------------------------------- */

/* Bins a native matrix as the contract of frame.h says (so the tests do not depend on
 * featurize/): numeric features get at most max_bin value bins cut at quantiles of the distinct
 * values (upper edges at values, the last +inf), categorical ones a bin per code (code + 1). */
typedef struct hb_feature {
    double *upper;
    int32_t *cat_bin;
} hb_feature;

static int dbl_cmp(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static void bin_numeric(const am_matrix *x, int64_t j, int32_t max_bin, am_bin_feature *f,
                        uint8_t *codes)
{
    int64_t n = x->n_rows, m = 0;
    double *v = malloc((size_t)(n + 1) * sizeof(double));
    for (int64_t i = 0; i < n; i++)
        if (!isnan(AM_AT(x, i, j)))
            v[m++] = AM_AT(x, i, j);
    qsort(v, (size_t)m, sizeof(double), dbl_cmp);
    int64_t nd = 0;
    for (int64_t i = 0; i < m; i++)
        if (nd == 0 || v[i] != v[nd - 1])
            v[nd++] = v[i];
    int32_t nvb = nd == 0 ? 1 : (int32_t)AM_MIN(nd, max_bin);
    f->n_bins = nvb + 1;
    f->categorical = false;
    f->upper = malloc((size_t)nvb * sizeof(double));
    for (int32_t b = 0; b < nvb - 1; b++)
        f->upper[b] = v[(int64_t)(b + 1) * nd / nvb - 1];
    f->upper[nvb - 1] = INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double t = AM_AT(x, i, j);
        int32_t b = 0;
        if (!isnan(t))
            while (t > f->upper[b])
                b++;
        codes[i] = (uint8_t)(isnan(t) ? 0 : b + 1);
    }
    free(v);
}

static void bin_by_hand(const am_matrix *x, const int32_t *n_cat, int32_t max_bin, am_binned *b)
{
    int64_t n = x->n_rows;
    b->n_rows = n;
    b->n_features = (int32_t)x->n_cols;
    b->codes = malloc((size_t)(n * x->n_cols + 1));
    b->features = calloc((size_t)x->n_cols + 1, sizeof(am_bin_feature));
    for (int64_t j = 0; j < x->n_cols; j++) {
        am_bin_feature *f = &b->features[j];
        uint8_t *codes = b->codes + j * n;
        if (!n_cat || n_cat[j] == 0) {
            bin_numeric(x, j, max_bin, f, codes);
            continue;
        }
        f->categorical = true;
        f->n_categories = n_cat[j];
        f->n_bins = n_cat[j] + 1;
        f->cat_bin = malloc((size_t)n_cat[j] * sizeof(int32_t));
        for (int32_t c = 0; c < n_cat[j]; c++)
            f->cat_bin[c] = c + 1;
        for (int64_t i = 0; i < n; i++) {
            double t = AM_AT(x, i, j);
            codes[i] = (uint8_t)(isnan(t) ? 0 : (int)t + 1);
        }
    }
}

static void binned_free(am_binned *b)
{
    for (int32_t j = 0; j < b->n_features; j++) {
        free(b->features[j].upper);
        free(b->features[j].cat_bin);
    }
    free(b->features);
    free(b->codes);
}

/* ---- fitting helpers ------------------------------------------------------------------------ */

static am_params gbdt_params_of(const char *const *items, int32_t n)
{
    return lt_params(&am_learner_gbdt, items, n);
}

static am_model *gbdt_fit_ok(const am_fit_args *a)
{
    return lt_fit_ok(&am_learner_gbdt, a);
}

static double *predict_all(const am_model *m, const am_matrix *x)
{
    double *out = malloc((size_t)(x->n_rows * m->n_outputs) * sizeof(double));
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_gbdt.predict(m, x, 1, NULL, out, &d), AM_OK);
    return out;
}

static void save_model(const am_model *m, am_buf *b)
{
    am_buf_init(b);
    ck_assert_int_eq(am_learner_gbdt.save(m, b, NULL), AM_OK);
}

static double mse(const double *p, const double *y, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (p[i] - y[i]) * (p[i] - y[i]);
    return s / (double)n;
}

/* A regression toy set: y = sin(3 x0) + x1^2 (+ noise), x2 noise; some x1 missing. */
static void toy_regression(int64_t n, uint64_t seed, double noise, am_matrix *x, double *y)
{
    am_rng r;
    am_rng_seed(&r, seed);
    ck_assert_int_eq(am_matrix_new(x, n, 3, NULL), AM_OK);
    for (int64_t i = 0; i < n; i++) {
        double a = 2 * am_rng_uniform(&r) - 1, b = 2 * am_rng_uniform(&r) - 1;
        AM_AT(x, i, 0) = a;
        AM_AT(x, i, 1) = i % 11 == 3 ? NAN : b;
        AM_AT(x, i, 2) = lt_gauss(&r);
        y[i] = sin(3 * a) + b * b + noise * lt_gauss(&r);
    }
}

/* ---- split finding against exhaustive search ------------------------------------------------- */

typedef struct brute {
    double gain;
    int64_t lc;
} brute;

static double score(double g, double h, const am_gbdt_split_opts *o)
{
    double t = g > o->alpha ? g - o->alpha : g < -o->alpha ? g + o->alpha : 0;
    return h + o->lambda > 0 ? t * t / (h + o->lambda) : 0;
}

/* The gain of sending the rows marked in `left` left, or -inf when a constraint fails. */
static double gain_of(const bool *left, int64_t n, const double *g, const double *h,
                      const am_gbdt_split_opts *o, int64_t *lc_out)
{
    double lg = 0, lh = 0, rg = 0, rh = 0;
    int64_t lc = 0, rc = 0;
    for (int64_t i = 0; i < n; i++) {
        if (left[i]) {
            lg += g[i];
            lh += h[i];
            lc++;
        } else {
            rg += g[i];
            rh += h[i];
            rc++;
        }
    }
    *lc_out = lc;
    if (lc < o->min_child_samples || rc < o->min_child_samples || lh < o->min_child_weight ||
        rh < o->min_child_weight)
        return -INFINITY;
    return score(lg, lh, o) + score(rg, rh, o) - score(lg + rg, lh + rh, o);
}

/* Every numeric threshold with missing on both sides; every subset of the non-empty bins of a
 * categorical feature. */
static brute brute_force(const am_binned *b, int64_t n, const double *g, const double *h,
                         const am_gbdt_split_opts *o)
{
    brute best = {-INFINITY, 0};
    bool *left = malloc((size_t)n);
    for (int32_t j = 0; j < b->n_features; j++) {
        const am_bin_feature *f = &b->features[j];
        const uint8_t *col = AM_BIN_CODES(b, j);
        int64_t sets = f->categorical ? (int64_t)1 << f->n_bins : 2 * f->n_bins;
        for (int64_t s = 0; s < sets; s++) {
            for (int64_t i = 0; i < n; i++) {
                if (f->categorical)
                    left[i] = (s >> col[i]) & 1;
                else
                    left[i] = col[i] == 0 ? (s & 1) : col[i] <= s / 2;
            }
            int64_t lc;
            double gain = gain_of(left, n, g, h, o, &lc);
            if (gain > best.gain)
                best = (brute){gain, lc};
        }
    }
    free(left);
    return best;
}

static void random_problem(am_rng *r, int64_t n, bool categorical, am_binned *b, double *g,
                           double *h)
{
    am_matrix x;
    int32_t ncat[4] = {0, 0, 0, 0};
    ck_assert_int_eq(am_matrix_new(&x, n, 4, NULL), AM_OK);
    for (int64_t j = 0; j < 4; j++) {
        int32_t levels = 2 + (int32_t)am_rng_below(r, 6);
        if (categorical)
            ncat[j] = levels;
        for (int64_t i = 0; i < n; i++) {
            double v = categorical ? (double)am_rng_below(r, levels) : am_rng_uniform(r);
            AM_AT(&x, i, j) = am_rng_uniform(r) < 0.15 * (double)j ? NAN : v;
        }
    }
    bin_by_hand(&x, ncat, 2 + (int32_t)am_rng_below(r, 8), b);
    for (int64_t i = 0; i < n; i++) {
        g[i] = lt_gauss(r);
        h[i] = 0.1 + am_rng_uniform(r);
    }
    am_matrix_fini(&x);
}

START_TEST(test_best_split_exhaustive)
{
    am_rng r;
    am_rng_seed(&r, 100 + (uint64_t)_i);
    bool categorical = _i % 2 == 1;
    int64_t n = 40 + (int64_t)am_rng_below(&r, 40);
    double g[80], h[80];
    int64_t rows[80];
    am_binned b;
    random_problem(&r, n, categorical, &b, g, h);
    for (int64_t i = 0; i < n; i++)
        rows[i] = i;
    /* The ordered scan is exact for categories only without the smoothing and penalties that
     * LightGBM adds (Fisher's result for weighted squared error); numeric splits are exact
     * with all of them. */
    am_gbdt_split_opts o = {0, 0, 0, 0, 0, 1, 64, 1};
    if (!categorical) {
        o.lambda = (_i / 2) % 2 ? 1.5 : 0;
        o.alpha = (_i / 4) % 2 ? 0.4 : 0;
        o.min_child_samples = 1 + (int64_t)am_rng_below(&r, 8);
        o.min_child_weight = 0.5 * am_rng_uniform(&r);
    }
    am_gbdt_split s;
    am_diag d;
    ck_assert_int_eq(am_gbdt_best_split(&b, rows, n, g, h, &o, &s, &d), AM_OK);
    brute want = brute_force(&b, n, g, h, &o);
    if (!(want.gain > 0)) {
        ck_assert_int_eq(s.feature, -1);
    } else {
        ck_assert_int_ge(s.feature, 0);
        ck_assert_msg(fabs(s.gain - want.gain) <= 1e-9 * fmax(1, want.gain),
                      "case %d: gain %.17g, exhaustive %.17g", _i, s.gain, want.gain);
        /* The split reported sends exactly the rows its statistics describe. */
        bool left[80];
        const uint8_t *col = AM_BIN_CODES(&b, s.feature);
        for (int64_t i = 0; i < n; i++)
            left[i] = s.categorical ? (s.left_bins[col[i] / 64] >> (col[i] % 64)) & 1
                                    : (col[i] == 0 ? s.default_left : col[i] <= s.bin);
        int64_t lc;
        ck_assert(fabs(gain_of(left, n, g, h, &o, &lc) - s.gain) <= 1e-9 * fmax(1, s.gain));
        ck_assert_int_eq(lc, s.lc);
        ck_assert_int_eq(s.lc + s.rc, n);
        ck_assert(s.categorical == categorical);
    }
    binned_free(&b);
}
END_TEST

/* A planted split: feature 2 below 0.3 has gradient -1, above +1; the others are noise. */
START_TEST(test_best_split_planted)
{
    am_rng r;
    am_rng_seed(&r, 3);
    int64_t n = 250, rows[250]; /* fewer rows than bins: one bin per value */
    double g[250], h[250];
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, n, 3, NULL), AM_OK);
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < 3; j++)
            AM_AT(&x, i, j) = am_rng_uniform(&r);
        g[i] = AM_AT(&x, i, 2) <= 0.3 ? -1 : 1;
        h[i] = 1;
        rows[i] = i;
    }
    am_binned b;
    bin_by_hand(&x, NULL, 255, &b);
    am_gbdt_split_opts o = {0, 0, 1e-3, 0, 10, 20, 32, 10};
    am_gbdt_split s;
    ck_assert_int_eq(am_gbdt_best_split(&b, rows, n, g, h, &o, &s, NULL), AM_OK);
    ck_assert_int_eq(s.feature, 2);
    ck_assert(b.features[2].upper[s.bin - 1] <= 0.3 && b.features[2].upper[s.bin] > 0.3);
    ck_assert(s.lg == -(double)s.lc && s.rg == (double)s.rc);
    /* min_split_gain above the best gain: no split. */
    o.min_split_gain = s.gain * 1.0001;
    ck_assert_int_eq(am_gbdt_best_split(&b, rows, n, g, h, &o, &s, NULL), AM_OK);
    ck_assert_int_eq(s.feature, -1);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* A histogram pool of 3 slots (the least there is) makes the grower drop histograms of waiting
 * leaves and build both children of such a leaf from their rows: the same tree as with a pool
 * that holds every leaf, up to rounding in the sums. */
START_TEST(test_histogram_eviction)
{
    am_rng r;
    am_rng_seed(&r, 9);
    int64_t n = 3000;
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, n, 6, NULL), AM_OK);
    double *g = malloc((size_t)n * sizeof(double)), *h = malloc((size_t)n * sizeof(double));
    double *v1 = malloc((size_t)n * sizeof(double)), *v2 = malloc((size_t)n * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < 6; j++)
            AM_AT(&x, i, j) = i % (7 + j) == 0 ? NAN : am_rng_uniform(&r);
        double x0 = AM_AT(&x, i, 0);
        g[i] = sin(5 * (isnan(x0) ? 0.5 : x0)) + lt_gauss(&r);
        h[i] = 0.5 + am_rng_uniform(&r);
    }
    int32_t ncat[6] = {0, 0, 0, 0, 0, 0};
    am_binned b;
    bin_by_hand(&x, ncat, 64, &b);
    am_gbdt_split_opts o = {0.5, 0, 1e-3, 0, 10, 5, 32, 10};
    int32_t l1, l2;
    am_diag d;
    ck_assert_int_eq(am_gbdt_grow_tree(&b, g, h, &o, 120, 0, &l1, v1, &d), AM_OK);
    ck_assert_int_eq(am_gbdt_grow_tree(&b, g, h, &o, 120, 1, &l2, v2, &d), AM_OK);
    ck_assert_int_eq(l1, 120);
    ck_assert_int_eq(l2, l1);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(v1[i] - v2[i]) <= 1e-9 * fmax(1, fabs(v1[i])), "row %lld: %g vs %g",
                      (long long)i, v1[i], v2[i]);
    /* The leaf values are Newton steps -G / (H + lambda) of the rows in each leaf. */
    double sg = 0, sh = 0;
    for (int64_t i = 0; i < n; i++)
        if (v1[i] == v1[0]) {
            sg += g[i];
            sh += h[i];
        }
    ck_assert(fabs(v1[0] + sg / (sh + 0.5)) < 1e-9);
    free(g);
    free(h);
    free(v1);
    free(v2);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* ---- losses against finite differences ------------------------------------------------------- */

static void check_fd(int loss, int32_t k, const double *f0, double y, double delta,
                     bool hessian)
{
    double f[4], v, g[4], h[4], vp, vm, gp[4], gm[4], hp[4], hm[4], eps = 1e-6;
    memcpy(f, f0, (size_t)k * sizeof(double));
    am_gbdt_loss(loss, k, f, y, delta, &v, g, h);
    for (int32_t c = 0; c < k; c++) {
        f[c] = f0[c] + eps;
        am_gbdt_loss(loss, k, f, y, delta, &vp, gp, hp);
        f[c] = f0[c] - eps;
        am_gbdt_loss(loss, k, f, y, delta, &vm, gm, hm);
        f[c] = f0[c];
        double fd_g = (vp - vm) / (2 * eps), fd_h = (gp[c] - gm[c]) / (2 * eps);
        ck_assert_msg(fabs(fd_g - g[c]) < 1e-6, "loss %d score %d: gradient %g, fd %g", loss,
                      (int)c, g[c], fd_g);
        if (hessian)
            ck_assert_msg(fabs(fd_h - h[c]) < 1e-5, "loss %d score %d: hessian %g, fd %g", loss,
                          (int)c, h[c], fd_h);
    }
}

START_TEST(test_loss_derivatives)
{
    am_rng r;
    am_rng_seed(&r, 11);
    for (int t = 0; t < 50; t++) {
        double f[4];
        for (int c = 0; c < 4; c++)
            f[c] = 3 * lt_gauss(&r);
        double cls = (double)am_rng_below(&r, 4), y = 2 * lt_gauss(&r);
        check_fd(AM_GBDT_LOGLOSS, 1, f, cls < 2 ? 0 : 1, 0, true);
        check_fd(AM_GBDT_SOFTMAX, 4, f, cls, 0, true);
        check_fd(AM_GBDT_SQUARED, 1, f, y, 0, true);
        if (fabs(f[0] - y) > 1e-3)
            check_fd(AM_GBDT_ABSOLUTE, 1, f, y, 0, false); /* Hessian: the surrogate 1 */
        double delta = 0.5 + am_rng_uniform(&r), r0 = f[0] - y;
        if (fabs(fabs(r0) - delta) > 1e-3)
            check_fd(AM_GBDT_HUBER, 1, f, y, delta, fabs(r0) < delta);
    }
    /* Values: log loss at 0 is log 2; Huber is continuous at delta. */
    double f0 = 0, v, g, h;
    am_gbdt_loss(AM_GBDT_LOGLOSS, 1, &f0, 1, 0, &v, &g, &h);
    ck_assert(fabs(v - log(2)) < 1e-15 && g == -0.5 && h == 0.25);
    double fd = 2.0;
    am_gbdt_loss(AM_GBDT_HUBER, 1, &fd, 0, 2.0, &v, &g, &h);
    ck_assert(fabs(v - 2.0) < 1e-15 && g == 2.0);
    double big = 800; /* no overflow far out */
    am_gbdt_loss(AM_GBDT_LOGLOSS, 1, &big, 0, 0, &v, &g, &h);
    ck_assert(fabs(v - 800) < 1e-9 && g == 1.0 && h > 0);
}
END_TEST

/* ---- trees and boosting ---------------------------------------------------------------------- */

START_TEST(test_separable)
{
    am_rng r;
    am_rng_seed(&r, 5);
    int64_t n = 200;
    am_matrix x;
    double y[200];
    ck_assert_int_eq(am_matrix_new(&x, n, 2, NULL), AM_OK);
    for (int64_t i = 0; i < n; i++) {
        AM_AT(&x, i, 0) = am_rng_uniform(&r);
        AM_AT(&x, i, 1) = am_rng_uniform(&r);
        y[i] = AM_AT(&x, i, 1) > 0.62 ? 1 : 0;
    }
    am_binned b;
    bin_by_hand(&x, NULL, 255, &b);
    /* One tree of two leaves with learning rate 1 reproduces a 0/1 regression target. */
    const char *one[] = {"n_estimators=1", "num_leaves=2", "learning_rate=1",
                         "min_child_samples=1"};
    am_params p = gbdt_params_of(one, 4);
    am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_REGRESSION, 0, &p);
    am_model *m = gbdt_fit_ok(&a);
    double *pr = predict_all(m, &x);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(pr[i] - y[i]) < 1e-12, "row %lld: %g vs %g", (long long)i, pr[i],
                      y[i]);
    double gain[2], splits[2];
    am_learner_gbdt.importance(m, gain, splits);
    ck_assert(splits[0] == 0 && splits[1] == 1 && gain[1] > 0 && gain[0] == 0);
    free(pr);
    am_model_free(m);
    /* Binary log loss: every row on the right side of 0.5 after a few rounds. */
    const char *few[] = {"n_estimators=5", "num_leaves=2", "min_child_samples=1"};
    p = gbdt_params_of(few, 3);
    a = lt_binned_args(&b, y, NULL, AM_TASK_BINARY, 2, &p);
    m = gbdt_fit_ok(&a);
    pr = predict_all(m, &x);
    for (int64_t i = 0; i < n; i++) {
        ck_assert((pr[2 * i + 1] > 0.5) == (y[i] == 1));
        ck_assert(fabs(pr[2 * i] + pr[2 * i + 1] - 1) < 1e-15);
    }
    free(pr);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* Squared error with lr <= 1 and lambda >= 0: each tree's leaf values are shrunk means of the
 * residuals, so the training loss never rises from one round to the next. */
START_TEST(test_monotone_training_loss)
{
    int64_t n = 300;
    am_matrix x;
    double y[300];
    toy_regression(n, 21, 0.3, &x, y);
    am_binned b;
    bin_by_hand(&x, NULL, 32, &b);
    double prev = INFINITY;
    for (int rounds = 1; rounds <= 12; rounds++) {
        char est[32];
        snprintf(est, sizeof(est), "n_estimators=%d", rounds);
        const char *items[] = {est, "learning_rate=0.7", "reg_lambda=0.5", "num_leaves=6",
                               "min_child_samples=3"};
        am_params p = gbdt_params_of(items, 5);
        am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_REGRESSION, 0, &p);
        am_model *m = gbdt_fit_ok(&a);
        double *pr = predict_all(m, &x), loss = mse(pr, y, n);
        ck_assert_msg(loss <= prev + 1e-12, "round %d: %g after %g", rounds, loss, prev);
        if (rounds == 12)
            ck_assert(loss < 0.5 * mse(y, (double[300]){0}, n));
        prev = loss;
        free(pr);
        am_model_free(m);
    }
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* A multiclass problem with categorical and missing features, large enough that histograms and
 * gradients go parallel: the model bytes must not depend on the thread count. */
static void big_problem(am_matrix *x, double *y, int64_t n, int32_t *ncat)
{
    am_rng r;
    am_rng_seed(&r, 77);
    ck_assert_int_eq(am_matrix_new(x, n, 5, NULL), AM_OK);
    ncat[0] = ncat[1] = ncat[2] = ncat[4] = 0;
    ncat[3] = 9;
    for (int64_t i = 0; i < n; i++) {
        double a = lt_gauss(&r), b = lt_gauss(&r), c = am_rng_uniform(&r);
        int32_t cat = (int32_t)am_rng_below(&r, 9);
        AM_AT(x, i, 0) = a;
        AM_AT(x, i, 1) = i % 7 == 0 ? NAN : b;
        AM_AT(x, i, 2) = c;
        AM_AT(x, i, 3) = i % 13 == 0 ? NAN : (double)cat;
        AM_AT(x, i, 4) = lt_gauss(&r);
        double z = a + (cat % 3 == 1 ? 1.5 : 0) + 0.5 * lt_gauss(&r);
        y[i] = z < -0.5 ? 0 : z < 0.8 ? 1 : 2;
    }
}

START_TEST(test_threads_identical)
{
    int64_t n = 12000;
    am_matrix x;
    double *y = malloc((size_t)n * sizeof(double));
    int32_t ncat[5];
    big_problem(&x, y, n, ncat);
    am_binned b;
    bin_by_hand(&x, ncat, 64, &b);
    const char *items[] = {"n_estimators=6", "num_leaves=15", "subsample=0.8",
                           "colsample_bytree=0.6", "reg_alpha=0.1"};
    am_params p = gbdt_params_of(items, 5);
    am_buf out[2];
    for (int t = 0; t < 2; t++) {
        am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_MULTICLASS, 3, &p);
        a.n_threads = t + 1;
        am_model *m = gbdt_fit_ok(&a);
        save_model(m, &out[t]);
        am_model_free(m);
    }
    ck_assert_uint_eq(out[0].len, out[1].len);
    ck_assert_mem_eq(out[0].data, out[1].data, out[0].len);
    am_buf_fini(&out[0]);
    am_buf_fini(&out[1]);
    binned_free(&b);
    am_matrix_fini(&x);
    free(y);
}
END_TEST

/* Save -> load -> predict bit for bit, and save again gives the same bytes; for each task. */
START_TEST(test_save_load)
{
    static const am_task tasks[] = {AM_TASK_BINARY, AM_TASK_MULTICLASS, AM_TASK_REGRESSION};
    int64_t n = 600;
    am_matrix x;
    double y[600], yt[600];
    int32_t ncat[5];
    big_problem(&x, y, n, ncat);
    am_binned b;
    bin_by_hand(&x, ncat, 16, &b);
    am_task task = tasks[_i];
    int32_t ncls = task == AM_TASK_BINARY ? 2 : task == AM_TASK_MULTICLASS ? 3 : 0;
    for (int64_t i = 0; i < n; i++)
        yt[i] = task == AM_TASK_BINARY ? (y[i] > 0) : task == AM_TASK_REGRESSION ? AM_AT(&x, i, 0)
                                                                                 : y[i];
    const char *items[] = {"n_estimators=8", "num_leaves=7", "subsample=0.7"};
    am_params p = gbdt_params_of(items, 3);
    am_fit_args a = lt_binned_args(&b, yt, NULL, task, ncls, &p);
    am_model *m = gbdt_fit_ok(&a), *m2 = NULL;
    am_buf b1, b2;
    save_model(m, &b1);
    am_reader r;
    am_reader_init(&r, b1.data, b1.len, "gbdt");
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_gbdt.load(&r, 1, 5, m->n_outputs, &m2, &d), AM_OK);
    ck_assert_int_eq(am_reader_status(&r, true, &d), AM_OK);
    save_model(m2, &b2);
    ck_assert_uint_eq(b1.len, b2.len);
    ck_assert_mem_eq(b1.data, b2.data, b1.len);
    double *p1 = predict_all(m, &x), *p2 = predict_all(m2, &x);
    ck_assert_mem_eq(p1, p2, (size_t)(n * m->n_outputs) * sizeof(double));
    ck_assert_int_eq(am_gbdt_n_rounds(m2), 8);
    /* The payload disagreeing with what the caller expects, or damaged, is refused. */
    am_model *bad = NULL;
    am_reader_init(&r, b1.data, b1.len, "gbdt");
    ck_assert_int_eq(am_learner_gbdt.load(&r, 2, 5, m->n_outputs, &bad, &d), AM_ERR_FORMAT);
    am_reader_init(&r, b1.data, b1.len, "gbdt");
    ck_assert_int_eq(am_learner_gbdt.load(&r, 1, 4, m->n_outputs, &bad, &d), AM_ERR_FORMAT);
    am_reader_init(&r, b1.data, b1.len, "gbdt");
    ck_assert_int_eq(am_learner_gbdt.load(&r, 1, 5, m->n_outputs + 1, &bad, &d), AM_ERR_FORMAT);
    am_reader_init(&r, b1.data, b1.len - 9, "gbdt");
    ck_assert_int_eq(am_learner_gbdt.load(&r, 1, 5, m->n_outputs, &bad, &d), AM_ERR_FORMAT);
    /* A child index sent backwards inside the first tree's root: payload = dims (12), loss,
     * k, rounds (12), k init scores, then the forest (32-byte header, offsets, nodes). */
    int32_t k = task == AM_TASK_MULTICLASS ? 3 : 1;
    size_t root = 12 + 12 + 8 * (size_t)k + 32 + 8 * 9;
    uint8_t *copy = malloc(b1.len);
    memcpy(copy, b1.data, b1.len);
    memset(copy + root + 4, 0, 4);
    am_reader_init(&r, copy, b1.len, "gbdt");
    ck_assert_int_eq(am_learner_gbdt.load(&r, 1, 5, m->n_outputs, &bad, &d), AM_ERR_FORMAT);
    ck_assert_ptr_null(bad);
    free(copy);
    free(p1);
    free(p2);
    am_buf_fini(&b1);
    am_buf_fini(&b2);
    am_model_free(m);
    am_model_free(m2);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

static void set_flag_stop(am_stop *st, const volatile int *flag)
{
    st->deadline = INFINITY;
    st->cancel = flag;
}

START_TEST(test_stop_cancels)
{
    int64_t n = 300;
    am_matrix x;
    double y[300];
    toy_regression(n, 4, 0.1, &x, y);
    am_binned b;
    bin_by_hand(&x, NULL, 32, &b);
    am_params p = gbdt_params_of(NULL, 0);
    am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_REGRESSION, 0, &p);
    static volatile int flag = 1;
    am_stop st;
    set_flag_stop(&st, &flag);
    a.stop = &st;
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_fit(&am_learner_gbdt, &a, &m, &d), AM_ERR_CANCELLED);
    ck_assert_ptr_null(m);
    st = (am_stop){am_now() - 1, NULL};
    ck_assert_int_eq(am_learner_fit(&am_learner_gbdt, &a, &m, &d), AM_ERR_CANCELLED);
    ck_assert_ptr_null(m);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* Early stopping on a validation set keeps the round with the lowest validation loss: the
 * kept model equals the model fitted with exactly that many rounds. */
START_TEST(test_early_stopping)
{
    int64_t n = 200, nv = 200;
    am_matrix x, xv;
    double y[200], yv[200];
    toy_regression(n, 31, 0.8, &x, y);
    toy_regression(nv, 32, 0.8, &xv, yv);
    am_binned b;
    bin_by_hand(&x, NULL, 64, &b);
    /* Large steps and small leaves overfit the noise quickly. */
    const char *base[] = {"learning_rate=0.5", "num_leaves=16", "min_child_samples=2"};
    double best = INFINITY;
    int best_r = 0;
    for (int rounds = 1; rounds <= 40; rounds++) {
        char est[32];
        snprintf(est, sizeof(est), "n_estimators=%d", rounds);
        const char *items[] = {base[0], base[1], base[2], est};
        am_params p = gbdt_params_of(items, 4);
        am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_REGRESSION, 0, &p);
        am_model *m = gbdt_fit_ok(&a);
        double *pr = predict_all(m, &xv), loss = mse(pr, yv, nv);
        if (loss < best) {
            best = loss;
            best_r = rounds;
        }
        free(pr);
        am_model_free(m);
    }
    ck_assert_int_lt(best_r, 30); /* it does overfit, so stopping has something to do */
    const char *items[] = {base[0], base[1], base[2], "n_estimators=1000",
                           "early_stopping_rounds=10"};
    am_params p = gbdt_params_of(items, 5);
    am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_REGRESSION, 0, &p);
    a.x_valid = &xv;
    a.y_valid = yv;
    am_model *m = gbdt_fit_ok(&a);
    ck_assert_int_eq(am_gbdt_n_rounds(m), best_r);
    double *pr = predict_all(m, &xv);
    ck_assert(fabs(mse(pr, yv, nv) - best) < 1e-12);
    free(pr);
    am_model_free(m);
    /* Without a validation set a fraction of the training rows is held out: deterministic. */
    a.x_valid = NULL;
    a.y_valid = NULL;
    am_model *m1 = gbdt_fit_ok(&a), *m2 = gbdt_fit_ok(&a);
    ck_assert_int_lt(am_gbdt_n_rounds(m1), 1000);
    am_buf b1, b2;
    save_model(m1, &b1);
    save_model(m2, &b2);
    ck_assert_uint_eq(b1.len, b2.len);
    ck_assert_mem_eq(b1.data, b2.data, b1.len);
    am_buf_fini(&b1);
    am_buf_fini(&b2);
    am_model_free(m1);
    am_model_free(m2);
    binned_free(&b);
    am_matrix_fini(&x);
    am_matrix_fini(&xv);
}
END_TEST

/* Weight 2 on a row is the same as the row twice (min_child_samples=1, so counts do not bind). */
START_TEST(test_weight_is_duplicate)
{
    int64_t n = 120;
    am_matrix x, xd;
    double y[120], yd[240], w[120];
    toy_regression(n, 41, 0.2, &x, y);
    int64_t nd = 0;
    for (int64_t i = 0; i < n; i++)
        w[i] = i % 3 == 0 ? 2 : 1;
    ck_assert_int_eq(am_matrix_new(&xd, n + n / 3, 3, NULL), AM_OK);
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < (int)w[i]; c++) {
            for (int64_t j = 0; j < 3; j++)
                AM_AT(&xd, nd, j) = AM_AT(&x, i, j);
            yd[nd++] = y[i];
        }
    am_binned b, bd;
    bin_by_hand(&x, NULL, 255, &b);
    bin_by_hand(&xd, NULL, 255, &bd);
    const char *items[] = {"n_estimators=10", "num_leaves=8", "min_child_samples=1",
                           "min_child_weight=0", "reg_lambda=1"};
    am_params p = gbdt_params_of(items, 5);
    am_fit_args a = lt_binned_args(&b, y, w, AM_TASK_REGRESSION, 0, &p);
    am_fit_args ad = lt_binned_args(&bd, yd, NULL, AM_TASK_REGRESSION, 0, &p);
    am_model *m = gbdt_fit_ok(&a), *md = gbdt_fit_ok(&ad);
    double *p1 = predict_all(m, &x), *p2 = predict_all(md, &x);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(p1[i] - p2[i]) < 1e-9, "row %lld: %.17g vs %.17g", (long long)i,
                      p1[i], p2[i]);
    free(p1);
    free(p2);
    am_model_free(m);
    am_model_free(md);
    binned_free(&b);
    binned_free(&bd);
    am_matrix_fini(&x);
    am_matrix_fini(&xd);
}
END_TEST

/* Category effects in an arbitrary order (even codes high, odd codes low): one categorical split
 * separates them; a threshold on the codes as numbers cannot. */
START_TEST(test_categorical_beats_numeric)
{
    int64_t n = 480;
    am_matrix x;
    double y[480];
    ck_assert_int_eq(am_matrix_new(&x, n, 1, NULL), AM_OK);
    for (int64_t i = 0; i < n; i++) {
        int32_t c = (int32_t)(i % 12);
        AM_AT(&x, i, 0) = c;
        y[i] = c % 2 == 0 ? 1.0 : -1.0;
    }
    int32_t ncat[1] = {12};
    am_binned bc, bn;
    bin_by_hand(&x, ncat, 255, &bc);
    bin_by_hand(&x, NULL, 255, &bn);
    const char *items[] = {"n_estimators=1", "num_leaves=2", "learning_rate=1"};
    am_params p = gbdt_params_of(items, 3);
    am_fit_args a = lt_binned_args(&bc, y, NULL, AM_TASK_REGRESSION, 0, &p);
    am_model *mc = gbdt_fit_ok(&a);
    a.binned = &bn;
    am_model *mn = gbdt_fit_ok(&a);
    double *pc = predict_all(mc, &x), *pn = predict_all(mn, &x);
    ck_assert(mse(pc, y, n) < 1e-20);
    ck_assert(mse(pn, y, n) > 0.5);
    /* An unseen or missing category goes the default way, not out of bounds. */
    am_matrix u;
    ck_assert_int_eq(am_matrix_new(&u, 3, 1, NULL), AM_OK);
    AM_AT(&u, 0, 0) = NAN;
    AM_AT(&u, 1, 0) = 12;
    AM_AT(&u, 2, 0) = 1e9;
    double *pu = predict_all(mc, &u);
    for (int i = 0; i < 3; i++)
        ck_assert(isfinite(pu[i]) && fabs(fabs(pu[i]) - 1) < 1e-12);
    free(pu);
    free(pc);
    free(pn);
    am_model_free(mc);
    am_model_free(mn);
    binned_free(&bc);
    binned_free(&bn);
    am_matrix_fini(&x);
    am_matrix_fini(&u);
}
END_TEST

/* Missing values that predict the target. (a) x0 missing: mostly positive; present: rarely,
 * whatever the value. The one split is on x0 and sends missing to its own side. (b) Present
 * values above 0.7 are positive and missing rows too: the split at 0.7 learns to send missing
 * right, with the high values. */
static void missing_problem(int64_t n, bool high_positive, am_matrix *x, double *y)
{
    am_rng r;
    am_rng_seed(&r, 51);
    ck_assert_int_eq(am_matrix_new(x, n, 2, NULL), AM_OK);
    for (int64_t i = 0; i < n; i++) {
        bool missing = i % 4 == 0;
        double v = am_rng_uniform(&r);
        AM_AT(x, i, 0) = missing ? NAN : v;
        AM_AT(x, i, 1) = am_rng_uniform(&r);
        bool pos_present = high_positive ? v > 0.7 : am_rng_uniform(&r) < 0.1;
        y[i] = missing ? (i % 40 != 0) : pos_present;
    }
}

static double *missing_fit_predict(bool high_positive, double *splits)
{
    int64_t n = 400;
    am_matrix x;
    double y[400];
    missing_problem(n, high_positive, &x, y);
    am_binned b;
    bin_by_hand(&x, NULL, 255, &b);
    const char *items[] = {"n_estimators=1", "num_leaves=2", "learning_rate=1"};
    am_params p = gbdt_params_of(items, 3);
    am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_BINARY, 2, &p);
    am_model *m = gbdt_fit_ok(&a);
    double gain[2];
    am_learner_gbdt.importance(m, gain, splits);
    am_matrix q;
    ck_assert_int_eq(am_matrix_new(&q, 3, 2, NULL), AM_OK);
    AM_AT(&q, 0, 0) = NAN;
    AM_AT(&q, 1, 0) = 0.1;
    AM_AT(&q, 2, 0) = 0.95;
    double *pq = predict_all(m, &q);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
    am_matrix_fini(&q);
    return pq;
}

START_TEST(test_missing_direction)
{
    double splits[2];
    double *pq = missing_fit_predict(false, splits);
    ck_assert(splits[0] == 1 && splits[1] == 0);
    ck_assert(pq[1] > 0.8);                /* missing: positive */
    ck_assert(pq[3] < 0.5 && pq[5] < 0.5); /* present, low or high */
    ck_assert(pq[3] == pq[5]);             /* one side for every present value */
    free(pq);
    pq = missing_fit_predict(true, splits);
    ck_assert(splits[0] == 1 && splits[1] == 0);
    ck_assert(pq[1] > 0.8 && pq[5] > 0.8 && pq[1] == pq[5]); /* missing joins the high side */
    ck_assert(pq[3] < 0.2);
    free(pq);
}
END_TEST

/* A feature without missing values in training may see them at prediction: they go to one of
 * the two sides, never out of bounds. */
START_TEST(test_missing_unseen)
{
    int64_t n = 300;
    am_matrix x, q;
    double y[300];
    toy_regression(n, 8, 0.1, &x, y);
    am_binned b;
    bin_by_hand(&x, NULL, 32, &b);
    const char *items[] = {"n_estimators=5", "num_leaves=4"};
    am_params p = gbdt_params_of(items, 2);
    am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_REGRESSION, 0, &p);
    am_model *m = gbdt_fit_ok(&a);
    ck_assert_int_eq(am_matrix_new(&q, 1, 3, NULL), AM_OK);
    AM_AT(&q, 0, 0) = NAN;
    AM_AT(&q, 0, 1) = NAN;
    AM_AT(&q, 0, 2) = NAN;
    double *pq = predict_all(m, &q);
    ck_assert(isfinite(pq[0]));
    free(pq);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
    am_matrix_fini(&q);
}
END_TEST

/* Every objective fits: the training loss falls well below that of the starting score. */
START_TEST(test_objectives)
{
    static const char *const objs[] = {"objective=squared_error", "objective=absolute_error",
                                       "objective=huber"};
    int64_t n = 400;
    am_matrix x;
    double y[400];
    toy_regression(n, 61, 0.05, &x, y);
    if (_i > 0)
        y[5] = 100; /* an outlier the robust losses shrug off */
    double mean = 0;
    for (int64_t i = 0; i < n; i++)
        mean += i == 5 ? 0 : y[i] / (double)(n - 1);
    am_binned b;
    bin_by_hand(&x, NULL, 64, &b);
    const char *items[] = {objs[_i], "n_estimators=60", "num_leaves=8", "learning_rate=0.3"};
    am_params p = gbdt_params_of(items, 4);
    am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_REGRESSION, 0, &p);
    am_model *m = gbdt_fit_ok(&a);
    double *pr = predict_all(m, &x), err = 0, base = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i == 5)
            continue;
        err += fabs(pr[i] - y[i]);
        base += fabs(y[i] - mean);
    }
    ck_assert_msg(err < 0.3 * base, "%s: %g vs %g", objs[_i], err, base);
    if (_i > 0)
        ck_assert(fabs(pr[5] - 100) > 50); /* not dragged to the outlier */
    free(pr);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

START_TEST(test_multiclass_and_rows)
{
    int64_t n = 900;
    am_matrix x;
    double y[900];
    int32_t ncat[5];
    big_problem(&x, y, n, ncat);
    am_binned b;
    bin_by_hand(&x, ncat, 32, &b);
    /* Train on the even rows only, through the row list. */
    int64_t rows[450];
    double ye[450];
    for (int64_t i = 0; i < n / 2; i++) {
        rows[i] = 2 * i;
        ye[i] = y[2 * i];
    }
    const char *items[] = {"n_estimators=30", "num_leaves=8"};
    am_params p = gbdt_params_of(items, 2);
    am_fit_args a = lt_binned_args(&b, ye, NULL, AM_TASK_MULTICLASS, 3, &p);
    a.rows = rows;
    a.n_rows = n / 2;
    am_model *m = gbdt_fit_ok(&a);
    ck_assert_int_eq(m->n_outputs, 3);
    double *pr = predict_all(m, &x);
    int64_t right[2] = {0, 0};
    for (int64_t i = 0; i < n; i++) {
        const double *o = pr + 3 * i;
        ck_assert(fabs(o[0] + o[1] + o[2] - 1) < 1e-12);
        int32_t arg = o[1] > o[0] ? 1 : 0;
        arg = o[2] > o[arg] ? 2 : arg;
        right[i % 2] += arg == (int32_t)y[i];
    }
    ck_assert_int_gt(right[0], 0.85 * 450); /* training rows */
    ck_assert_int_gt(right[1], 0.6 * 450);  /* held-out rows */
    free(pr);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* The flattened tree must route raw values exactly as the bins routed the training rows: with
 * one tree, learning rate 1, squared error and no penalty, every leaf's value is the mean target
 * of the rows that trained it, so grouping rows by their prediction must give back those means.
 * Run on the featurizer's binning (quantile edges, categories, missing values), and on bins
 * with many values per bin (the thresholds are upper edges, not the values seen). */
static void check_routing(const am_binned *b, const am_matrix *x, const double *y)
{
    const char *items[] = {"n_estimators=1", "num_leaves=24", "learning_rate=1",
                           "min_child_samples=5"};
    am_params p = gbdt_params_of(items, 4);
    am_fit_args a = lt_binned_args(b, y, NULL, AM_TASK_REGRESSION, 0, &p);
    am_model *m = gbdt_fit_ok(&a);
    int64_t n = x->n_rows;
    double *pr = predict_all(m, x);
    int32_t groups = 0;
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        int64_t c = 0, first = -1;
        for (int64_t k = 0; k < n; k++)
            if (pr[k] == pr[i]) {
                s += y[k];
                c++;
                first = first < 0 ? k : first;
            }
        ck_assert_msg(fabs(s / (double)c - pr[i]) < 1e-9, "row %lld: leaf %g, its rows' mean %g",
                      (long long)i, pr[i], s / (double)c);
        groups += first == i;
    }
    ck_assert_int_gt(groups, 12);
    free(pr);
    am_model_free(m);
}

START_TEST(test_routing_matches_bins)
{
    int64_t n = 2000;
    am_matrix x;
    double *y = malloc((size_t)n * sizeof(double));
    int32_t ncat[5];
    big_problem(&x, y, n, ncat);
    for (int64_t i = 0; i < n; i++)
        y[i] = AM_AT(&x, i, 0) + (i % 13 == 0 ? 2 : (double)((int64_t)AM_AT(&x, i, 3) % 4)) +
               (isnan(AM_AT(&x, i, 1)) ? -1 : AM_AT(&x, i, 1));
    am_binned b;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(am_binned_build(&x, ncat, 255, 3, 1, &b, &d) == AM_OK, "%s", d.message);
    check_routing(&b, &x, y);
    am_binned_fini(&b);
    ck_assert_int_eq(am_binned_build(&x, ncat, 7, 3, 1, &b, &d), AM_OK);
    check_routing(&b, &x, y);
    am_binned_fini(&b);
    bin_by_hand(&x, ncat, 5, &b);
    check_routing(&b, &x, y);
    binned_free(&b);
    am_matrix_fini(&x);
    free(y);
}
END_TEST

/* Bad input, one case per loop index: each refused with its status, no model made. */
enum { BAD_NONE, BAD_NO_BINNED, BAD_HUBER_BINARY, BAD_CLASS, BAD_WEIGHT, BAD_ROWS, BAD_CODE,
       BAD_TOO_FEW, BAD_VALID_COLS };
static const struct bad_case {
    const char *what;
    int kind;
    am_status want;
} bad_cases[] = {
    {"no binned data", BAD_NO_BINNED, AM_ERR_ARG},
    {"huber for binary", BAD_HUBER_BINARY, AM_ERR_CONFIG},
    {"class index out of range", BAD_CLASS, AM_ERR_DATA},
    {"negative weight", BAD_WEIGHT, AM_ERR_DATA},
    {"row list out of order", BAD_ROWS, AM_ERR_ARG},
    {"bin code past the bins", BAD_CODE, AM_ERR_ARG},
    {"too few rows to hold out", BAD_TOO_FEW, AM_ERR_DATA},
    {"validation set with other columns", BAD_VALID_COLS, AM_ERR_ARG},
};

START_TEST(test_bad_input)
{
    const struct bad_case *bc = &bad_cases[_i];
    int64_t n = 40;
    am_matrix x, xv;
    double y[40], w[40];
    toy_regression(n, 71, 0.1, &x, y);
    ck_assert_int_eq(am_matrix_new(&xv, 5, 2, NULL), AM_OK);
    for (int64_t i = 0; i < n; i++) {
        y[i] = y[i] > 0.5;
        w[i] = 1;
    }
    am_binned b;
    bin_by_hand(&x, NULL, 16, &b);
    const char *huber[] = {"objective=huber"}, *es[] = {"early_stopping_rounds=5"};
    am_params p = gbdt_params_of(bc->kind == BAD_HUBER_BINARY ? huber : es,
                              bc->kind == BAD_HUBER_BINARY || bc->kind == BAD_TOO_FEW ||
                                      bc->kind == BAD_VALID_COLS ? 1 : 0);
    am_fit_args a = lt_binned_args(&b, y, w, AM_TASK_BINARY, 2, &p);
    int64_t rows[2] = {3, 1};
    switch (bc->kind) {
    case BAD_NO_BINNED: a.binned = NULL; break;
    case BAD_CLASS: y[7] = 2; break;
    case BAD_WEIGHT: w[3] = -1; break;
    case BAD_ROWS: a.rows = rows; a.n_rows = 2; break;
    case BAD_CODE: b.codes[n + 5] = (uint8_t)b.features[1].n_bins; break;
    case BAD_TOO_FEW: a.rows = rows; a.n_rows = 1; break;
    case BAD_VALID_COLS: a.x_valid = &xv; a.y_valid = y; break;
    }
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_learner_fit(&am_learner_gbdt, &a, &m, &d);
    ck_assert_msg(st == bc->want, "%s: got %s (%s)", bc->what, am_status_name(st), d.message);
    ck_assert_ptr_null(m);
    ck_assert(d.message[0] != '\0');
    /* The type's own fit refuses as well. */
    ck_assert_int_eq(am_learner_gbdt.fit(&a, &m, &d), bc->want);
    binned_free(&b);
    am_matrix_fini(&x);
    am_matrix_fini(&xv);
}
END_TEST

/* Every allocation failing in turn: fit, save and load each fail cleanly with AM_ERR_NOMEM (no
 * crash, no leak under the sanitizers) until enough allocations succeed. */
START_TEST(test_out_of_memory)
{
    int64_t n = 200;
    am_matrix x;
    double y[200];
    int32_t ncat[5];
    big_problem(&x, y, n, ncat);
    am_binned b;
    bin_by_hand(&x, ncat, 16, &b);
    const char *items[] = {"n_estimators=3", "num_leaves=5", "subsample=0.8",
                           "early_stopping_rounds=2"};
    am_params p = gbdt_params_of(items, 4);
    am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_MULTICLASS, 3, &p);
    am_model *m = NULL;
    am_diag d;
    int64_t k;
    for (k = 0; k < 1000; k++) {
        am_alloc_fail_after(k);
        am_status st = am_learner_fit(&am_learner_gbdt, &a, &m, &d);
        am_alloc_fail_after(-1);
        if (st == AM_OK)
            break;
        ck_assert_msg(st == AM_ERR_NOMEM, "allocation %lld: %s", (long long)k,
                      am_status_name(st));
        ck_assert_ptr_null(m);
    }
    ck_assert_int_gt(k, 5);
    ck_assert_ptr_nonnull(m);
    am_buf full;
    save_model(m, &full);
    for (k = 0; k < 1000; k++) {
        am_buf buf;
        am_buf_init(&buf);
        am_alloc_fail_after(k);
        am_status st = am_learner_gbdt.save(m, &buf, &d);
        am_model *m2 = NULL;
        am_reader r;
        am_reader_init(&r, full.data, full.len, "gbdt");
        am_status lst = am_learner_gbdt.load(&r, 1, 5, 3, &m2, &d);
        am_alloc_fail_after(-1);
        am_buf_fini(&buf);
        ck_assert(st == AM_OK || st == AM_ERR_NOMEM);
        ck_assert(lst == AM_OK || lst == AM_ERR_NOMEM);
        ck_assert(lst == AM_OK || m2 == NULL);
        am_model_free(m2);
        if (st == AM_OK && lst == AM_OK)
            break;
    }
    ck_assert_int_lt(k, 1000);
    am_buf_fini(&full);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

START_TEST(test_params_table)
{
    const am_param_table *t = am_learner_gbdt.params;
    am_params p, c;
    am_diag d;
    am_params_defaults(t, &p);
    ck_assert_int_eq(am_params_check(t, &p, &d), AM_OK);
    ck_assert(p.v[am_params_find(t, "n_estimators")] == 100);
    ck_assert(p.v[am_params_find(t, "num_leaves")] == 31);
    ck_assert(p.v[am_params_find(t, "learning_rate")] == 0.1);
    am_params_cheap(t, &c);
    ck_assert_int_eq(am_params_check(t, &c, &d), AM_OK);
    ck_assert(c.v[am_params_find(t, "n_estimators")] == 4);
    ck_assert(c.v[am_params_find(t, "num_leaves")] == 4);
    /* Every tuned range lies inside the valid range; log ranges are positive. */
    for (int32_t i = 0; i < t->n; i++) {
        const am_param_desc *e = &t->desc[i];
        if (!(e->flags & AM_PF_TUNE))
            continue;
        ck_assert(e->tune_lo >= e->lo && e->tune_hi <= e->hi && e->tune_lo < e->tune_hi);
        ck_assert(!(e->flags & AM_PF_LOG) || e->tune_lo > 0);
    }
    const char *bad[] = {"num_leaves=1"};
    ck_assert_int_eq(am_params_parse(t, bad, 1, &p, &d), AM_ERR_CONFIG);
    ck_assert(am_learner_gbdt.cost_hint(&p, 2000, 10) > am_learner_gbdt.cost_hint(&p, 1000, 10));
    ck_assert(am_learner_gbdt.needs & AM_NEEDS_BINNED);
}
END_TEST

/* ---- the suite ------------------------------------------------------------------------------ */

static Suite *gbdt_suite(void)
{
    Suite *s = suite_create("gbdt");
    TCase *tc = tcase_create("tree");
    tcase_add_test(tc, test_tree_routing);
    tcase_add_test(tc, test_tree_predict_sum);
    tcase_add_test(tc, test_tree_compact_walk);
    tcase_add_test(tc, test_tree_importance_and_prune);
    tcase_add_test(tc, test_tree_save_load);
    tcase_add_loop_test(tc, test_tree_crafted, 0, (int)AM_COUNT(crafted_cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("split");
    tcase_add_loop_test(tc, test_best_split_exhaustive, 0, 24);
    tcase_add_test(tc, test_best_split_planted);
    tcase_add_test(tc, test_histogram_eviction);
    tcase_add_test(tc, test_loss_derivatives);
    suite_add_tcase(s, tc);
    tc = tcase_create("boost");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_separable);
    tcase_add_test(tc, test_monotone_training_loss);
    tcase_add_test(tc, test_threads_identical);
    tcase_add_loop_test(tc, test_save_load, 0, 3);
    tcase_add_test(tc, test_stop_cancels);
    tcase_add_test(tc, test_early_stopping);
    tcase_add_test(tc, test_weight_is_duplicate);
    tcase_add_test(tc, test_categorical_beats_numeric);
    tcase_add_test(tc, test_missing_direction);
    tcase_add_test(tc, test_missing_unseen);
    tcase_add_loop_test(tc, test_objectives, 0, 3);
    tcase_add_test(tc, test_multiclass_and_rows);
    tcase_add_test(tc, test_routing_matches_bins);
    tcase_add_loop_test(tc, test_bad_input, 0, (int)AM_COUNT(bad_cases));
    tcase_add_test(tc, test_out_of_memory);
    tcase_add_test(tc, test_params_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gbdt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
