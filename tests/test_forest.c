/* test_forest.c — random forest (rf) and extra trees (extra_trees): the root split against an
 * exhaustive search over features and bins (gini, entropy, variance), exact fits of separable
 * and step data, invariants (probabilities sum to 1, weight 2 = duplicated row, a row list =
 * the same rows binned alone, model bytes independent of the thread count, save -> load ->
 * predict bit for bit), missing values and categories, and bad input (parameters through the
 * table, data, corrupt payloads, cancellation, out of memory).
 *
 * The binned data is made here by hand (one bin per distinct value when there are few), so the
 * tests depend on nothing but the am_binned contract of frame.h. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../learners/internal.h"
#include "../learners/tree.h"
#include "learner_testing.h"

/* ---- binned data by hand --------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Numeric feature: one bin per distinct value (edges half-way) when there are at most max_bin,
 * else edges at equally spaced ranks of the distinct values; the last edge is +inf. */
static void bin_numeric(const am_matrix *x, int64_t j, int32_t max_bin, am_binned *b)
{
    am_bin_feature *f = &b->features[j];
    double *v = malloc((size_t)x->n_rows * sizeof(double));
    int64_t u = 0;
    for (int64_t i = 0; i < x->n_rows; i++)
        if (!isnan(AM_AT(x, i, j)))
            v[u++] = AM_AT(x, i, j);
    qsort(v, (size_t)u, sizeof(double), cmp_double);
    int64_t w = 0;
    for (int64_t i = 0; i < u; i++)
        if (w == 0 || v[i] != v[w - 1])
            v[w++] = v[i];
    int32_t n_edges = (int32_t)(w <= max_bin ? AM_MAX(w, 1) : max_bin);
    f->upper = malloc((size_t)n_edges * sizeof(double));
    for (int32_t e = 0; e < n_edges - 1; e++) {
        if (w <= max_bin)
            f->upper[e] = 0.5 * (v[e] + v[e + 1]);
        else
            f->upper[e] = v[(int64_t)(e + 1) * w / max_bin - 1];
    }
    f->upper[n_edges - 1] = INFINITY;
    f->n_bins = n_edges + 1;
    uint8_t *codes = AM_BIN_CODES(b, j);
    for (int64_t i = 0; i < x->n_rows; i++) {
        double xv = AM_AT(x, i, j);
        int32_t bin = 0;
        if (!isnan(xv))
            for (bin = 1; xv > f->upper[bin - 1]; bin++) {
            }
        codes[i] = (uint8_t)bin;
    }
    free(v);
}

/* n_cat[j] > 0 marks feature j categorical with codes 0..n_cat[j]-1: bin = code + 1. */
static void hand_bin(const am_matrix *x, const int32_t *n_cat, int32_t max_bin, am_binned *b)
{
    b->n_rows = x->n_rows;
    b->n_features = (int32_t)x->n_cols;
    b->codes = calloc((size_t)AM_MAX(x->n_rows * x->n_cols, 1), 1);
    b->features = calloc((size_t)AM_MAX(x->n_cols, 1), sizeof(am_bin_feature));
    for (int64_t j = 0; j < x->n_cols; j++) {
        if (!n_cat || n_cat[j] == 0) {
            bin_numeric(x, j, max_bin, b);
            continue;
        }
        am_bin_feature *f = &b->features[j];
        f->categorical = true;
        f->n_categories = n_cat[j];
        f->n_bins = n_cat[j] + 1;
        f->cat_bin = malloc((size_t)n_cat[j] * sizeof(int32_t));
        for (int32_t c = 0; c < n_cat[j]; c++)
            f->cat_bin[c] = c + 1;
        for (int64_t i = 0; i < x->n_rows; i++) {
            double xv = AM_AT(x, i, j);
            AM_BIN_CODES(b, j)[i] = isnan(xv) ? 0 : (uint8_t)((int)xv + 1);
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
    memset(b, 0, sizeof(*b));
}

/* ---- fitting helpers ------------------------------------------------------------------------ */

static am_model *fit_with(const am_learner_type *t, const am_binned *b, const double *y,
                          const double *w, am_task task, int32_t n_classes,
                          const char *const *items, int32_t n_items)
{
    am_params p = lt_params(t, items, n_items);
    am_fit_args a = lt_binned_args(b, y, w, task, n_classes, &p);
    return lt_fit_ok(t, &a);
}

static double *predict_all(const am_model *m, const am_matrix *x)
{
    double *out = malloc((size_t)AM_MAX(x->n_rows * m->n_outputs, 1) * sizeof(double));
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(m->type->predict(m, x, 1, NULL, out, &d) == AM_OK, "%s", d.message);
    return out;
}

static int32_t argmax(const double *v, int32_t n)
{
    int32_t best = 0;
    for (int32_t k = 1; k < n; k++)
        if (v[k] > v[best])
            best = k;
    return best;
}

static double accuracy(const am_model *m, const am_matrix *x, const double *y)
{
    double *p = predict_all(m, x), hits = 0;
    for (int64_t i = 0; i < x->n_rows; i++)
        hits += argmax(p + i * m->n_outputs, m->n_outputs) == (int32_t)y[i];
    free(p);
    return hits / (double)x->n_rows;
}

static void save_model(const am_model *m, am_buf *b)
{
    am_diag d;
    am_diag_clear(&d);
    am_buf_init(b);
    ck_assert_msg(m->type->save(m, b, &d) == AM_OK, "%s", d.message);
}

static bool same_bytes(const am_model *a, const am_model *b)
{
    am_buf ba, bb;
    save_model(a, &ba);
    save_model(b, &bb);
    bool same = ba.len == bb.len && memcmp(ba.data, bb.data, ba.len) == 0;
    am_buf_fini(&ba);
    am_buf_fini(&bb);
    return same;
}

static const am_forest *trees_of(const am_model *m)
{
    const am_forest *f = am_forest_model_trees(m);
    ck_assert_ptr_nonnull(f);
    return f;
}

/* x (n x p) uniform in [0, 1) rounded to `levels` values (0: not rounded). */
static void uniform_matrix(am_matrix *x, int64_t n, int64_t p, int levels, am_rng *r)
{
    ck_assert_int_eq(am_matrix_new(x, n, p, NULL), AM_OK);
    for (int64_t j = 0; j < p; j++)
        for (int64_t i = 0; i < n; i++) {
            double v = am_rng_uniform(r);
            AM_AT(x, i, j) = levels > 0 ? floor(v * levels) / levels : v;
        }
}

static const am_learner_type *const both[] = {&am_learner_rf, &am_learner_extra_trees};

/* ---- registry and tables --------------------------------------------------------------------- */

START_TEST(registered_with_tables)
{
    ck_assert_ptr_eq(am_learner_find("rf"), &am_learner_rf);
    ck_assert_ptr_eq(am_learner_find("extra_trees"), &am_learner_extra_trees);
    am_params p;
    am_params_defaults(am_learner_rf.params, &p);
    ck_assert_double_eq(p.v[am_params_find(am_learner_rf.params, "bootstrap")], 1);
    am_params_defaults(am_learner_extra_trees.params, &p);
    ck_assert_double_eq(p.v[am_params_find(am_learner_extra_trees.params, "bootstrap")], 0);
    /* The cheap start: few trees. */
    am_params_cheap(am_learner_rf.params, &p);
    ck_assert_double_le(p.v[am_params_find(am_learner_rf.params, "n_estimators")], 10);
    ck_assert(am_learner_rf.needs & AM_NEEDS_BINNED);
    ck_assert_ptr_nonnull(am_learner_rf.importance);
}
END_TEST

static const struct {
    const char *item;
    bool ok;
} param_cases[] = {
    {"max_features=1.5", false}, {"max_features=-0.1", false}, {"n_estimators=0", false},
    {"min_samples_leaf=0", false}, {"min_samples_split=1", false}, {"max_depth=129", false},
    {"criterion=mse", false},     {"max_samples=0", false},      {"bootstrap=maybe", false},
    {"max_features=0.3", true},   {"max_features=0", true},      {"max_features=1", true},
    {"criterion=entropy", true},  {"max_depth=0", true},
};

START_TEST(params_through_table)
{
    for (size_t k = 0; k < AM_COUNT(both); k++) {
        const am_learner_type *t = both[k];
        am_params p;
        am_diag d;
        am_diag_clear(&d);
        am_params_defaults(t->params, &p);
        const char *items[] = {param_cases[_i].item};
        am_status st = am_params_parse(t->params, items, 1, &p, &d);
        if (param_cases[_i].ok) {
            ck_assert_msg(st == AM_OK, "%s: %s", items[0], d.message);
        } else {
            ck_assert_int_eq(st, AM_ERR_CONFIG);
            ck_assert_msg(strstr(d.message, t->params->owner) != NULL, "%s", d.message);
        }
    }
}
END_TEST

/* ---- exact fits ------------------------------------------------------------------------------ */

static const char *const greedy_one[] = {"n_estimators=1", "bootstrap=false",
                                         "max_features=1.0"};

START_TEST(separable_fit_exactly)
{
    am_rng r;
    am_rng_seed(&r, 1);
    am_matrix x;
    uniform_matrix(&x, 200, 2, 0, &r);
    double y[200];
    for (int i = 0; i < 200; i++)
        y[i] = AM_AT(&x, i, 0) + AM_AT(&x, i, 1) > 1.0;
    am_binned b;
    hand_bin(&x, NULL, 255, &b);
    am_model *m = fit_with(&am_learner_rf, &b, y, NULL, AM_TASK_BINARY, 2, greedy_one, 3);
    double *p = predict_all(m, &x);
    for (int i = 0; i < 200; i++) {
        ck_assert_double_eq(p[2 * i + (int)y[i]], 1.0); /* pure leaves: exactly 1 */
        ck_assert_double_eq(p[2 * i + 1 - (int)y[i]], 0.0);
    }
    free(p);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

START_TEST(regression_recovers_steps)
{
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 300, 1, NULL), AM_OK);
    double y[300];
    for (int i = 0; i < 300; i++) {
        AM_AT(&x, i, 0) = i / 100.0;
        y[i] = 10.0 * floor(i / 100.0) + 5.0;
    }
    am_binned b;
    hand_bin(&x, NULL, 255, &b);
    am_model *m = fit_with(&am_learner_rf, &b, y, NULL, AM_TASK_REGRESSION, 0, greedy_one, 3);
    /* Three constant runs: two splits, three pure leaves. */
    ck_assert_int_eq(trees_of(m)->n_nodes, 5);
    am_matrix q;
    ck_assert_int_eq(am_matrix_new(&q, 6, 1, NULL), AM_OK);
    const double at[6] = {-5, 0.2, 0.99, 1.5, 2.7, 100}, want[6] = {5, 5, 5, 15, 25, 25};
    memcpy(q.data, at, sizeof(at));
    double *p = predict_all(m, &q);
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq_tol(p[i], want[i], 1e-9);
    free(p);
    am_matrix_fini(&q);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* ---- the root split against an exhaustive search --------------------------------------------- */

/* Impurity decrease of the split (l, r) as the learner defines it, computed independently from
 * the class weights (or W, sum wy): gini / entropy / variance in units of weight. */
static double oracle_gain(int32_t k, bool entropy, const double *l, const double *r)
{
    if (k == 0) {
        double dm = l[1] / l[0] - r[1] / r[0];
        return l[0] * r[0] / (l[0] + r[0]) * dm * dm;
    }
    double score[3] = {0, 0, 0}, tot[8] = {0};
    const double *side[2] = {l, r};
    for (int s = 0; s < 2; s++) {
        double w = 0;
        for (int c = 0; c < k; c++) {
            w += side[s][c];
            tot[c] += side[s][c];
        }
        for (int c = 0; c < k; c++)
            score[s] += entropy ? (side[s][c] > 0 ? side[s][c] * log2(side[s][c] / w) : 0)
                                : side[s][c] * side[s][c] / w;
    }
    double w = 0;
    for (int c = 0; c < k; c++)
        w += tot[c];
    for (int c = 0; c < k; c++)
        score[2] += entropy ? (tot[c] > 0 ? tot[c] * log2(tot[c] / w) : 0) : tot[c] * tot[c] / w;
    return score[0] + score[1] - score[2];
}

/* Gain of "feature f: bins 1..cut left, missing left when ml", or -inf when a side is empty. */
static double oracle_split(const am_binned *b, const double *y, const double *w, int32_t k,
                           bool entropy, int32_t f, int32_t cut, bool ml)
{
    double l[8] = {0}, r[8] = {0};
    int64_t nl = 0, nr = 0;
    for (int64_t i = 0; i < b->n_rows; i++) {
        int32_t bin = AM_BIN_CODES(b, f)[i];
        bool left = bin == 0 ? ml : bin <= cut;
        double *s = left ? l : r;
        if (k == 0) {
            s[0] += w[i];
            s[1] += w[i] * y[i];
        } else {
            s[(int)y[i]] += w[i];
        }
        *(left ? &nl : &nr) += 1;
    }
    if (nl == 0 || nr == 0)
        return -INFINITY;
    return oracle_gain(k, entropy, l, r);
}

static void check_root_split(am_task task, int32_t k, bool entropy, uint64_t seed)
{
    am_rng r;
    am_rng_seed(&r, seed);
    am_matrix x;
    uniform_matrix(&x, 300, 5, 20, &r);
    for (int i = 0; i < 300; i += 7)
        AM_AT(&x, i, (i / 7) % 5) = NAN; /* some missing in every feature */
    double y[300], w[300];
    for (int i = 0; i < 300; i++) {
        double s = AM_AT(&x, i, 1) - 0.7 * AM_AT(&x, i, 3) + 0.4 * am_rng_uniform(&r);
        if (isnan(s))
            s = am_rng_uniform(&r);
        y[i] = k == 0 ? s : k == 2 ? (s > 0.3) : (s > 0.1) + (s > 0.5);
        w[i] = 0.5 + 1.5 * am_rng_uniform(&r);
    }
    am_binned b;
    hand_bin(&x, NULL, 255, &b);
    const char *items[] = {"n_estimators=1", "bootstrap=false", "max_features=1.0", "max_depth=1",
                           entropy ? "criterion=entropy" : "criterion=gini"};
    am_model *m = fit_with(&am_learner_rf, &b, y, w, task, k, items, 5);

    double best = -INFINITY;
    for (int32_t f = 0; f < b.n_features; f++)
        for (int32_t cut = 1; cut < b.features[f].n_bins; cut++)
            for (int ml = 0; ml < 2; ml++)
                best = fmax(best, oracle_split(&b, y, w, k, entropy, f, cut, ml));
    const am_forest *fo = trees_of(m);
    const am_tree_node *root = &fo->nodes[0];
    ck_assert_int_ge(root->feature, 0);
    ck_assert_int_eq(root->cat_words, 0);
    const am_bin_feature *bf = &b.features[root->feature];
    int32_t cut = 1;
    while (cut < bf->n_bins && bf->upper[cut - 1] != root->threshold)
        cut++;
    ck_assert_int_lt(cut, bf->n_bins); /* the threshold is one of the bin edges */
    double chosen = oracle_split(&b, y, w, k, entropy, root->feature, cut, root->default_left);
    ck_assert_double_eq_tol(chosen, best, 1e-9 * fabs(best));
    ck_assert_double_eq_tol(root->gain, best, 1e-9 * fabs(best));
    ck_assert_double_gt(best, 0);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
}

START_TEST(root_split_is_exhaustive_best)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        check_root_split(AM_TASK_BINARY, 2, false, seed);
        check_root_split(AM_TASK_BINARY, 2, true, seed);
        check_root_split(AM_TASK_MULTICLASS, 3, false, seed);
        check_root_split(AM_TASK_REGRESSION, 0, false, seed);
    }
}
END_TEST

/* Three identical columns: every split ties across them and must go to feature 0, whatever
 * order the features are drawn in (so results do not hinge on the generator). */
START_TEST(ties_go_to_lower_feature)
{
    am_rng r;
    am_rng_seed(&r, 14);
    am_matrix x;
    uniform_matrix(&x, 200, 3, 25, &r);
    double y[200];
    for (int i = 0; i < 200; i++) {
        AM_AT(&x, i, 1) = AM_AT(&x, i, 2) = AM_AT(&x, i, 0);
        y[i] = AM_AT(&x, i, 0) + 0.4 * am_rng_uniform(&r) > 0.6;
    }
    am_binned b;
    hand_bin(&x, NULL, 255, &b);
    am_params p = lt_params(&am_learner_rf, greedy_one, 3);
    for (uint64_t seed = 1; seed <= 8; seed++) {
        am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_BINARY, 2, &p);
        a.seed = seed;
        am_model *m = lt_fit_ok(&am_learner_rf, &a);
        const am_forest *f = trees_of(m);
        ck_assert_int_gt(f->n_nodes, 5);
        for (int64_t i = 0; i < f->n_nodes; i++)
            ck_assert_int_le(f->nodes[i].feature, 0);
        am_model_free(m);
    }
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* A feature that is constant in a node uses up its draw (Breiman's and ranger's rule, not
 * scikit-learn's draw-on): with one informative and one constant feature and max_features = 1/2,
 * about half the trees draw the constant one at the root and stay a single leaf. */
START_TEST(constant_feature_uses_up_its_draw)
{
    am_rng r;
    am_rng_seed(&r, 5);
    am_matrix x;
    uniform_matrix(&x, 200, 2, 0, &r);
    double y[200];
    for (int i = 0; i < 200; i++) {
        AM_AT(&x, i, 0) = 1.0;
        y[i] = AM_AT(&x, i, 1) > 0.5;
    }
    am_binned b;
    hand_bin(&x, NULL, 255, &b);
    static const char *const items[] = {"n_estimators=40", "max_features=0.5", "bootstrap=false"};
    am_model *m = fit_with(&am_learner_rf, &b, y, NULL, AM_TASK_BINARY, 2, items, 3);
    const am_forest *f = trees_of(m);
    int single_leaf = 0;
    for (int32_t t = 0; t < f->n_trees; t++)
        single_leaf += f->nodes[f->tree_first[t]].feature < 0;
    ck_assert_msg(single_leaf >= 8 && single_leaf <= 32, "%d of 40 trees are one leaf",
                  single_leaf);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* ---- invariants ------------------------------------------------------------------------------ */

START_TEST(probabilities_sum_to_one)
{
    am_rng r;
    am_rng_seed(&r, 3);
    am_matrix x;
    uniform_matrix(&x, 400, 4, 0, &r);
    double y[400];
    for (int i = 0; i < 400; i++)
        y[i] = (double)(((int)(AM_AT(&x, i, 0) * 4) + (am_rng_uniform(&r) < 0.3)) % 4);
    am_binned b;
    hand_bin(&x, NULL, 32, &b);
    const char *items[] = {"n_estimators=10"};
    for (size_t k = 0; k < AM_COUNT(both); k++) {
        am_model *m = fit_with(both[k], &b, y, NULL, AM_TASK_MULTICLASS, 4, items, 1);
        ck_assert_int_eq(m->n_outputs, 4);
        double *p = predict_all(m, &x);
        for (int i = 0; i < 400; i++) {
            double s = 0;
            for (int c = 0; c < 4; c++) {
                ck_assert(p[4 * i + c] >= 0 && p[4 * i + c] <= 1);
                s += p[4 * i + c];
            }
            ck_assert_double_eq_tol(s, 1.0, 1e-12);
        }
        ck_assert_double_gt(accuracy(m, &x, y), 0.7);
        free(p);
        am_model_free(m);
    }
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* Weight 2 on a row = the row twice, for rf without bootstrap (trees are then deterministic). */
START_TEST(weight_two_is_duplicated_row)
{
    am_rng r;
    am_rng_seed(&r, 4);
    am_matrix x, x2;
    uniform_matrix(&x, 120, 3, 10, &r);
    double y[120], yr[120], w[120], y2[180], yr2[180];
    int64_t n2 = 0;
    ck_assert_int_eq(am_matrix_new(&x2, 180, 3, NULL), AM_OK);
    for (int i = 0; i < 120; i++) {
        y[i] = (AM_AT(&x, i, 0) + 0.3 * am_rng_uniform(&r)) > 0.6;
        yr[i] = AM_AT(&x, i, 1) * 3 + am_rng_uniform(&r);
        w[i] = i % 2 ? 2.0 : 1.0;
        for (int copy = 0; copy < (int)w[i]; copy++, n2++) {
            for (int j = 0; j < 3; j++)
                AM_AT(&x2, n2, j) = AM_AT(&x, i, j);
            y2[n2] = y[i];
            yr2[n2] = yr[i];
        }
    }
    ck_assert_int_eq(n2, 180);
    am_binned b, b2;
    hand_bin(&x, NULL, 255, &b);
    hand_bin(&x2, NULL, 255, &b2);
    const char *items[] = {"n_estimators=3", "bootstrap=false", "max_features=1.0"};
    for (int task = 0; task < 2; task++) {
        am_task tk = task ? AM_TASK_REGRESSION : AM_TASK_BINARY;
        int32_t k = task ? 0 : 2;
        am_model *m = fit_with(&am_learner_rf, &b, task ? yr : y, w, tk, k, items, 3);
        am_model *m2 = fit_with(&am_learner_rf, &b2, task ? yr2 : y2, NULL, tk, k, items, 3);
        ck_assert_int_eq(trees_of(m)->n_nodes, trees_of(m2)->n_nodes);
        ck_assert_int_gt(trees_of(m)->n_nodes, 3);
        double *p = predict_all(m, &x), *p2 = predict_all(m2, &x);
        for (int64_t i = 0; i < 120 * m->n_outputs; i++)
            ck_assert_double_eq_tol(p[i], p2[i], 1e-12);
        free(p);
        free(p2);
        am_model_free(m);
        am_model_free(m2);
    }
    binned_free(&b);
    binned_free(&b2);
    am_matrix_fini(&x);
    am_matrix_fini(&x2);
}
END_TEST

/* A row list selects the same rows that binning them alone would give (same bins): the models
 * are byte for byte the same, and an explicit list of all rows equals no list. */
START_TEST(row_list_selects_rows)
{
    am_rng r;
    am_rng_seed(&r, 5);
    am_matrix x;
    uniform_matrix(&x, 200, 3, 16, &r);
    double y[200], ys[100];
    int64_t rows[100], all[200];
    for (int i = 0; i < 200; i++) {
        y[i] = AM_AT(&x, i, 2) + 0.2 * am_rng_uniform(&r) > 0.5;
        all[i] = i;
    }
    am_binned b, sub;
    hand_bin(&x, NULL, 255, &b);
    /* sub: the even rows' codes under b's bins. */
    sub = b;
    sub.n_rows = 100;
    sub.codes = malloc(300);
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 100; i++)
            AM_BIN_CODES(&sub, j)[i] = AM_BIN_CODES(&b, j)[2 * i];
    for (int i = 0; i < 100; i++) {
        rows[i] = 2 * i;
        ys[i] = y[2 * i];
    }
    const char *items[] = {"n_estimators=5"};
    for (size_t k = 0; k < AM_COUNT(both); k++) {
        am_params p = lt_params(both[k], items, 1);
        am_fit_args a = lt_binned_args(&b, ys, NULL, AM_TASK_BINARY, 2, &p);
        a.rows = rows;
        a.n_rows = 100;
        am_model *m = lt_fit_ok(both[k], &a);
        am_fit_args as = lt_binned_args(&sub, ys, NULL, AM_TASK_BINARY, 2, &p);
        am_model *ms = lt_fit_ok(both[k], &as);
        ck_assert(same_bytes(m, ms));
        am_fit_args a1 = lt_binned_args(&b, y, NULL, AM_TASK_BINARY, 2, &p);
        am_model *m1 = lt_fit_ok(both[k], &a1);
        a1.rows = all;
        am_model *m2 = lt_fit_ok(both[k], &a1);
        ck_assert(same_bytes(m1, m2));
        am_model_free(m);
        am_model_free(ms);
        am_model_free(m1);
        am_model_free(m2);
    }
    free(sub.codes);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* Mixed data (numbers, categories, missing values) shared by the determinism and file tests. */
typedef struct mixed {
    am_matrix x;
    am_binned b;
    double y[500], yr[500];
} mixed;

static void mixed_init(mixed *md)
{
    am_rng r;
    am_rng_seed(&r, 6);
    uniform_matrix(&md->x, 500, 4, 0, &r);
    for (int i = 0; i < 500; i++) {
        AM_AT(&md->x, i, 3) = (double)am_rng_below(&r, 6);
        if (i % 9 == 0)
            AM_AT(&md->x, i, i % 4) = NAN;
        double c = AM_AT(&md->x, i, 3), v = AM_AT(&md->x, i, 0);
        double s = (isnan(v) ? 0.5 : v) + (c == 1 || c == 4 ? 0.5 : 0) + 0.3 * am_rng_uniform(&r);
        md->y[i] = s > 0.9;
        md->yr[i] = 10 * s;
    }
    const int32_t n_cat[4] = {0, 0, 0, 6};
    hand_bin(&md->x, n_cat, 64, &md->b);
}

static void mixed_fini(mixed *md)
{
    binned_free(&md->b);
    am_matrix_fini(&md->x);
}

START_TEST(bytes_independent_of_threads)
{
    mixed md;
    mixed_init(&md);
    const char *items[] = {"n_estimators=6", "bootstrap=true"};
    for (size_t k = 0; k < AM_COUNT(both); k++)
        for (int task = 0; task < 2; task++) {
            am_params p = lt_params(both[k], items, 2);
            am_fit_args a = lt_binned_args(&md.b, task ? md.yr : md.y, NULL,
                                     task ? AM_TASK_REGRESSION : AM_TASK_BINARY, task ? 0 : 2,
                                     &p);
            am_model *m1 = lt_fit_ok(both[k], &a);
            a.n_threads = 2;
            am_model *m2 = lt_fit_ok(both[k], &a);
            a.n_threads = 3;
            am_model *m3 = lt_fit_ok(both[k], &a);
            a.seed = 8;
            am_model *m4 = lt_fit_ok(both[k], &a);
            ck_assert(same_bytes(m1, m2));
            ck_assert(same_bytes(m1, m3));
            ck_assert(!same_bytes(m1, m4)); /* the seed matters */
            am_model_free(m1);
            am_model_free(m2);
            am_model_free(m3);
            am_model_free(m4);
        }
    mixed_fini(&md);
}
END_TEST

START_TEST(save_load_predicts_bit_for_bit)
{
    mixed md;
    mixed_init(&md);
    const char *items[] = {"n_estimators=5"};
    for (size_t k = 0; k < AM_COUNT(both); k++)
        for (int task = 0; task < 2; task++) {
            const am_learner_type *t = both[k];
            am_model *m = fit_with(t, &md.b, task ? md.yr : md.y, NULL,
                                   task ? AM_TASK_REGRESSION : AM_TASK_BINARY, task ? 0 : 2,
                                   items, 1);
            am_buf buf;
            save_model(m, &buf);
            am_reader rd;
            am_reader_init(&rd, buf.data, buf.len, "forest payload");
            am_model *back = NULL;
            am_diag d;
            am_diag_clear(&d);
            ck_assert_msg(t->load(&rd, t->format_version, m->n_features, m->n_outputs, &back,
                                  &d) == AM_OK, "%s", d.message);
            ck_assert_int_eq(rd.left, 0);
            ck_assert_ptr_eq(back->type, t);
            double *p = predict_all(m, &md.x), *q = predict_all(back, &md.x);
            ck_assert(memcmp(p, q, (size_t)(500 * m->n_outputs) * sizeof(double)) == 0);
            free(p);
            free(q);
            am_model_free(back);
            am_buf_fini(&buf);
            am_model_free(m);
        }
    mixed_fini(&md);
}
END_TEST

/* ---- missing values and categories ----------------------------------------------------------- */

/* Class 1 iff x > 50; some rows of one class have x missing. The missing rows must follow that
 * class, and a missing value at prediction goes the same way. */
static void check_missing_side(bool missing_in_class_1)
{
    am_matrix x, q;
    ck_assert_int_eq(am_matrix_new(&x, 100, 1, NULL), AM_OK);
    double y[100];
    for (int i = 0; i < 100; i++) {
        y[i] = i > 50;
        AM_AT(&x, i, 0) = (y[i] == missing_in_class_1 && i % 3 == 0) ? NAN : (double)i;
    }
    am_binned b;
    hand_bin(&x, NULL, 255, &b);
    const char *items[] = {"n_estimators=1", "bootstrap=false", "max_features=1.0",
                           "max_depth=1"};
    am_model *m = fit_with(&am_learner_rf, &b, y, NULL, AM_TASK_BINARY, 2, items, 4);
    const am_tree_node *root = &trees_of(m)->nodes[0];
    ck_assert_int_eq(root->default_left, !missing_in_class_1);
    ck_assert_double_eq(accuracy(m, &x, y), 1.0);
    ck_assert_int_eq(am_matrix_new(&q, 1, 1, NULL), AM_OK);
    q.data[0] = NAN;
    double *p = predict_all(m, &q);
    ck_assert_double_eq(p[missing_in_class_1 ? 1 : 0], 1.0);
    free(p);
    am_matrix_fini(&q);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
}

START_TEST(missing_follows_learned_side)
{
    check_missing_side(true);
    check_missing_side(false);
}
END_TEST

/* Class 1 iff the category is in {1, 4, 5, 8}: no order of the codes separates them, but one
 * categorical split does. Unseen codes at prediction go right without trouble. */
START_TEST(categorical_split_any_order)
{
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 400, 1, NULL), AM_OK);
    double y[400], yr[400];
    for (int i = 0; i < 400; i++) {
        int c = (i * 7) % 10;
        AM_AT(&x, i, 0) = c;
        y[i] = c == 1 || c == 4 || c == 5 || c == 8;
        yr[i] = y[i] ? 3.0 : -1.0;
    }
    const int32_t n_cat[1] = {10};
    am_binned b;
    hand_bin(&x, n_cat, 255, &b);
    const char *items[] = {"n_estimators=1", "bootstrap=false", "max_features=1.0",
                           "max_depth=1"};
    am_model *m = fit_with(&am_learner_rf, &b, y, NULL, AM_TASK_BINARY, 2, items, 4);
    ck_assert_int_gt(trees_of(m)->nodes[0].cat_words, 0);
    ck_assert_double_eq(accuracy(m, &x, y), 1.0);
    am_model *mr = fit_with(&am_learner_rf, &b, yr, NULL, AM_TASK_REGRESSION, 0, items, 4);
    double *p = predict_all(mr, &x);
    for (int i = 0; i < 400; i++)
        ck_assert_double_eq_tol(p[i], yr[i], 1e-12);
    free(p);
    /* extra_trees reaches it too with a few more trees and depth. */
    const char *et_items[] = {"n_estimators=20", "max_features=1.0"};
    am_model *me = fit_with(&am_learner_extra_trees, &b, y, NULL, AM_TASK_BINARY, 2, et_items, 2);
    ck_assert_double_eq(accuracy(me, &x, y), 1.0);
    am_matrix q;
    ck_assert_int_eq(am_matrix_new(&q, 2, 1, NULL), AM_OK);
    q.data[0] = 12; /* never seen */
    q.data[1] = 1e9;
    double *pq = predict_all(m, &q);
    ck_assert_double_eq(pq[0] + pq[1], 1.0);
    free(pq);
    am_matrix_fini(&q);
    am_model_free(me);
    am_model_free(mr);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* ---- extra trees, importance ----------------------------------------------------------------- */

START_TEST(extra_trees_differs_but_learns)
{
    am_rng r;
    am_rng_seed(&r, 9);
    am_matrix x, xt;
    uniform_matrix(&x, 600, 3, 0, &r);
    uniform_matrix(&xt, 400, 3, 0, &r);
    double y[600], yt[400];
    for (int i = 0; i < 600; i++)
        y[i] = AM_AT(&x, i, 0) + 0.5 * AM_AT(&x, i, 1) > 0.8;
    for (int i = 0; i < 400; i++)
        yt[i] = AM_AT(&xt, i, 0) + 0.5 * AM_AT(&xt, i, 1) > 0.8;
    am_binned b;
    hand_bin(&x, NULL, 255, &b);
    const char *items[] = {"n_estimators=30"};
    am_model *rf = fit_with(&am_learner_rf, &b, y, NULL, AM_TASK_BINARY, 2, items, 1);
    am_model *et = fit_with(&am_learner_extra_trees, &b, y, NULL, AM_TASK_BINARY, 2, items, 1);
    ck_assert_double_gt(accuracy(rf, &xt, yt), 0.9);
    ck_assert_double_gt(accuracy(et, &xt, yt), 0.9);
    double *p = predict_all(rf, &xt), *q = predict_all(et, &xt);
    ck_assert(memcmp(p, q, 800 * sizeof(double)) != 0);
    free(p);
    free(q);
    /* Importance: the noise feature 2 gets the least gain; counts are positive. */
    double gain[3], splits[3];
    for (int k = 0; k < 2; k++) {
        const am_model *m = k ? et : rf;
        m->type->importance(m, gain, splits);
        ck_assert_double_gt(gain[0], gain[2]);
        ck_assert_double_gt(gain[1], gain[2]);
        ck_assert_double_gt(splits[0], 0);
    }
    am_model_free(rf);
    am_model_free(et);
    binned_free(&b);
    am_matrix_fini(&x);
    am_matrix_fini(&xt);
}
END_TEST

START_TEST(depth_and_leaf_limits)
{
    am_rng r;
    am_rng_seed(&r, 10);
    am_matrix x;
    uniform_matrix(&x, 300, 2, 0, &r);
    double y[300];
    for (int i = 0; i < 300; i++)
        y[i] = am_rng_uniform(&r) < 0.5; /* noise: trees would grow to single rows */
    am_binned b;
    hand_bin(&x, NULL, 255, &b);
    const char *items[] = {"n_estimators=2", "max_depth=3"};
    am_model *m = fit_with(&am_learner_rf, &b, y, NULL, AM_TASK_BINARY, 2, items, 2);
    const am_forest *f = trees_of(m);
    for (int32_t t = 0; t < f->n_trees; t++)
        ck_assert_int_le(f->tree_first[t + 1] - f->tree_first[t], 15);
    am_model_free(m);
    /* min_samples_leaf = 40 without bootstrap: every leaf holds >= 40 of the 300 rows, so no
     * more than 7 leaves (13 nodes). */
    const char *leaf[] = {"n_estimators=1", "bootstrap=false", "min_samples_leaf=40"};
    m = fit_with(&am_learner_rf, &b, y, NULL, AM_TASK_BINARY, 2, leaf, 3);
    ck_assert_int_le(trees_of(m)->n_nodes, 13);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* ---- bad input ------------------------------------------------------------------------------- */

START_TEST(stop_check_cancels)
{
    am_rng r;
    am_rng_seed(&r, 11);
    am_matrix x;
    uniform_matrix(&x, 2000, 4, 0, &r);
    double y[2000];
    for (int i = 0; i < 2000; i++)
        y[i] = am_rng_uniform(&r) < 0.5;
    am_binned b;
    hand_bin(&x, NULL, 255, &b);
    const char *items[] = {"n_estimators=100000"};
    am_params p = lt_params(&am_learner_rf, items, 1);
    am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_BINARY, 2, &p);
    volatile int cancel = 1;
    am_stop st = {INFINITY, &cancel};
    a.stop = &st;
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_fit(&am_learner_rf, &a, &m, &d), AM_ERR_CANCELLED);
    ck_assert_ptr_null(m);
    /* A deadline 0.2 s away stops 100000 trees within a fraction of a second of it. */
    cancel = 0;
    st.deadline = am_now() + 0.2;
    a.n_threads = 2;
    double t0 = am_now();
    ck_assert_int_eq(am_learner_fit(&am_learner_rf, &a, &m, &d), AM_ERR_CANCELLED);
    ck_assert_double_lt(am_now() - t0, 1.5);
    ck_assert_ptr_null(m);
    ck_assert(strstr(d.message, "stopped after") != NULL);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

START_TEST(bad_data_rejected)
{
    am_rng r;
    am_rng_seed(&r, 12);
    am_matrix x;
    uniform_matrix(&x, 50, 2, 0, &r);
    double y[50], w[50];
    for (int i = 0; i < 50; i++) {
        y[i] = i % 2;
        w[i] = 0;
    }
    am_binned b;
    hand_bin(&x, NULL, 255, &b);
    am_params p = lt_params(&am_learner_rf, NULL, 0);
    am_model *m = NULL;
    am_diag d;

    am_fit_args a = lt_binned_args(&b, y, NULL, AM_TASK_BINARY, 2, &p);
    a.binned = NULL;
    ck_assert_int_eq(am_learner_fit(&am_learner_rf, &a, &m, &d), AM_ERR_ARG);
    ck_assert_int_eq(am_learner_rf.fit(&a, &m, &d), AM_ERR_ARG);

    a = lt_binned_args(&b, y, w, AM_TASK_BINARY, 2, &p);
    ck_assert_int_eq(am_learner_fit(&am_learner_rf, &a, &m, &d), AM_ERR_DATA); /* weights 0 */

    y[7] = 2;
    a = lt_binned_args(&b, y, NULL, AM_TASK_BINARY, 2, &p);
    ck_assert_int_eq(am_learner_fit(&am_learner_rf, &a, &m, &d), AM_ERR_DATA);
    ck_assert(strstr(d.message, "row 8") != NULL);
    y[7] = 1;

    int64_t rows[2] = {0, 50};
    a.rows = rows;
    a.n_rows = 2;
    ck_assert_int_eq(am_learner_fit(&am_learner_rf, &a, &m, &d), AM_ERR_ARG);

    a = lt_binned_args(&b, y, NULL, AM_TASK_MULTICLASS, 2, &p);
    ck_assert_int_eq(am_learner_fit(&am_learner_rf, &a, &m, &d), AM_ERR_ARG);

    uint8_t keep = AM_BIN_CODES(&b, 1)[3];
    AM_BIN_CODES(&b, 1)[3] = (uint8_t)b.features[1].n_bins; /* a code past the bins */
    a = lt_binned_args(&b, y, NULL, AM_TASK_BINARY, 2, &p);
    ck_assert_int_eq(am_learner_fit(&am_learner_rf, &a, &m, &d), AM_ERR_ARG);
    AM_BIN_CODES(&b, 1)[3] = keep;
    ck_assert_ptr_null(m);

    /* Predict with the wrong number of columns. */
    m = lt_fit_ok(&am_learner_rf, &a);
    am_matrix q;
    ck_assert_int_eq(am_matrix_new(&q, 2, 3, NULL), AM_OK);
    double out[4];
    ck_assert_int_eq(m->type->predict(m, &q, 1, NULL, out, &d), AM_ERR_ARG);
    am_matrix_fini(&q);
    am_model_free(m);
    binned_free(&b);
    am_matrix_fini(&x);
}
END_TEST

/* Every truncation and many single-byte corruptions of a payload load as an error or as a model
 * that predicts without going out of bounds (valgrind / ASan watch the latter). */
START_TEST(corrupt_payloads)
{
    mixed md;
    mixed_init(&md);
    const char *items[] = {"n_estimators=2", "max_depth=3"};
    am_model *m = fit_with(&am_learner_rf, &md.b, md.y, NULL, AM_TASK_BINARY, 2, items, 2);
    am_buf buf;
    save_model(m, &buf);
    am_diag d;
    am_model *back = NULL;
    am_reader rd;
    am_reader_init(&rd, buf.data, buf.len, "payload");
    ck_assert_int_eq(am_learner_rf.load(&rd, 2, 4, 2, &back, &d), AM_ERR_FORMAT);
    am_reader_init(&rd, buf.data, buf.len, "payload");
    ck_assert_int_eq(am_learner_rf.load(&rd, 1, 5, 2, &back, &d), AM_ERR_FORMAT);
    am_reader_init(&rd, buf.data, buf.len, "payload");
    ck_assert_int_eq(am_learner_rf.load(&rd, 1, 4, 3, &back, &d), AM_ERR_FORMAT);
    for (size_t len = 0; len < buf.len; len++) {
        am_reader_init(&rd, buf.data, len, "payload");
        ck_assert_int_eq(am_learner_rf.load(&rd, 1, 4, 2, &back, &d), AM_ERR_FORMAT);
    }
    uint8_t *copy = malloc(buf.len);
    am_rng r;
    am_rng_seed(&r, 13);
    for (int trial = 0; trial < 400; trial++) {
        memcpy(copy, buf.data, buf.len);
        copy[am_rng_below(&r, (int64_t)buf.len)] ^= (uint8_t)(1 + am_rng_below(&r, 255));
        am_reader_init(&rd, copy, buf.len, "payload");
        back = NULL;
        am_status st = am_learner_rf.load(&rd, 1, 4, 2, &back, &d);
        ck_assert(st == AM_OK || st == AM_ERR_FORMAT);
        if (st == AM_OK) {
            double *p = predict_all(back, &md.x);
            free(p);
            am_model_free(back);
        }
    }
    free(copy);
    am_buf_fini(&buf);
    am_model_free(m);
    mixed_fini(&md);
}
END_TEST

START_TEST(out_of_memory_fails_cleanly)
{
    mixed md;
    mixed_init(&md);
    const char *items[] = {"n_estimators=3", "max_depth=4"};
    am_params p = lt_params(&am_learner_extra_trees, items, 2);
    am_fit_args a = lt_binned_args(&md.b, md.y, NULL, AM_TASK_BINARY, 2, &p);
    am_status st = AM_ERR_NOMEM;
    int64_t n;
    for (n = 0; st == AM_ERR_NOMEM && n < 10000; n++) {
        am_model *m = NULL;
        am_diag d;
        am_alloc_fail_after(n);
        st = am_learner_fit(&am_learner_extra_trees, &a, &m, &d);
        am_alloc_fail_after(-1);
        if (st == AM_OK)
            am_model_free(m);
        else
            ck_assert_ptr_null(m);
    }
    ck_assert_int_eq(st, AM_OK);
    ck_assert_int_gt(n, 5);
    mixed_fini(&md);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("forest");
    TCase *tc = tcase_create("forest");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, registered_with_tables);
    tcase_add_loop_test(tc, params_through_table, 0, (int)AM_COUNT(param_cases));
    tcase_add_test(tc, separable_fit_exactly);
    tcase_add_test(tc, regression_recovers_steps);
    tcase_add_test(tc, root_split_is_exhaustive_best);
    tcase_add_test(tc, ties_go_to_lower_feature);
    tcase_add_test(tc, constant_feature_uses_up_its_draw);
    tcase_add_test(tc, probabilities_sum_to_one);
    tcase_add_test(tc, weight_two_is_duplicated_row);
    tcase_add_test(tc, row_list_selects_rows);
    tcase_add_test(tc, bytes_independent_of_threads);
    tcase_add_test(tc, save_load_predicts_bit_for_bit);
    tcase_add_test(tc, missing_follows_learned_side);
    tcase_add_test(tc, categorical_split_any_order);
    tcase_add_test(tc, extra_trees_differs_but_learns);
    tcase_add_test(tc, depth_and_leaf_limits);
    tcase_add_test(tc, stop_check_cancels);
    tcase_add_test(tc, bad_data_rejected);
    tcase_add_test(tc, corrupt_payloads);
    tcase_add_test(tc, out_of_memory_fails_cleanly);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
