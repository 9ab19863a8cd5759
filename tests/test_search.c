/* test_search.c — metrics against hand-computed values and a brute-force AUC oracle, splits
 * against their invariants, and the controller end to end on small hand-built frames. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../search/search.h"

#define TOL 1e-12

static double metric(am_metric m, am_task task, int32_t k, const double *y, const double *pred,
                     int64_t n)
{
    return am_metric_compute(m, task, k, y, pred, n);
}

/* ---- metrics ------------------------------------------------------------------------------ */

START_TEST(test_metric_names)
{
    static const char *names[] = {"auc", "log_loss", "accuracy", "f1_macro", "rmse", "mae", "r2"};
    for (int i = 0; i < 7; i++) {
        am_metric m = am_metric_parse(names[i]);
        ck_assert_int_eq(m, i + 1);
        ck_assert_str_eq(am_metric_name(m), names[i]);
        ck_assert(am_metric_fits_task(m, AM_TASK_REGRESSION) == (i >= 4));
        ck_assert(am_metric_fits_task(m, AM_TASK_BINARY) == (i < 4));
        ck_assert(am_metric_fits_task(m, AM_TASK_MULTICLASS) == (i < 4));
    }
    ck_assert_int_eq(am_metric_parse("AUC"), 0);
    ck_assert_int_eq(am_metric_parse("rmse "), 0);
    ck_assert_int_eq(am_metric_parse(NULL), 0);
    ck_assert(am_metric_higher_is_better(AM_METRIC_AUC));
    ck_assert(am_metric_higher_is_better(AM_METRIC_ACCURACY));
    ck_assert(am_metric_higher_is_better(AM_METRIC_F1_MACRO));
    ck_assert(am_metric_higher_is_better(AM_METRIC_R2));
    ck_assert(!am_metric_higher_is_better(AM_METRIC_LOG_LOSS));
    ck_assert(!am_metric_higher_is_better(AM_METRIC_RMSE));
    ck_assert(!am_metric_higher_is_better(AM_METRIC_MAE));
    ck_assert_int_eq(am_metric_default(AM_TASK_BINARY), AM_METRIC_AUC);
    ck_assert_int_eq(am_metric_default(AM_TASK_MULTICLASS), AM_METRIC_LOG_LOSS);
    ck_assert_int_eq(am_metric_default(AM_TASK_REGRESSION), AM_METRIC_RMSE);
    ck_assert_str_eq(am_exit_reason_name(AM_EXIT_TIME), "time_budget");
    ck_assert_str_eq(am_exit_reason_name(AM_EXIT_TRIALS), "max_trials");
    ck_assert_str_eq(am_exit_reason_name(AM_EXIT_PATIENCE), "patience");
}
END_TEST

/* Binary predictions from P(class 1). */
static void binary_pred(const double *p1, int64_t n, double *pred)
{
    for (int64_t i = 0; i < n; i++) {
        pred[2 * i] = 1.0 - p1[i];
        pred[2 * i + 1] = p1[i];
    }
}

START_TEST(test_auc_hand)
{
    double y[4] = {0, 0, 1, 1}, pred[8];
    binary_pred((double[]){0.1, 0.2, 0.8, 0.9}, 4, pred);
    ck_assert_double_eq_tol(metric(AM_METRIC_AUC, AM_TASK_BINARY, 2, y, pred, 4), 1.0, TOL);
    binary_pred((double[]){0.9, 0.8, 0.2, 0.1}, 4, pred);
    ck_assert_double_eq_tol(metric(AM_METRIC_AUC, AM_TASK_BINARY, 2, y, pred, 4), 0.0, TOL);
    /* Ties count one half per tied positive-negative pair: 1 + 0.5 + 1 + 1 over 4 pairs. */
    binary_pred((double[]){0.1, 0.5, 0.5, 0.9}, 4, pred);
    ck_assert_double_eq_tol(metric(AM_METRIC_AUC, AM_TASK_BINARY, 2, y, pred, 4), 0.875, TOL);
    /* Everything tied: 0.5. */
    binary_pred((double[]){0.3, 0.3, 0.3, 0.3}, 4, pred);
    ck_assert_double_eq_tol(metric(AM_METRIC_AUC, AM_TASK_BINARY, 2, y, pred, 4), 0.5, TOL);
    /* One class present: undefined. */
    double y1[4] = {1, 1, 1, 1};
    ck_assert(isnan(metric(AM_METRIC_AUC, AM_TASK_BINARY, 2, y1, pred, 4)));
    /* A NaN prediction cannot be ranked. */
    pred[3] = NAN;
    ck_assert(isnan(metric(AM_METRIC_AUC, AM_TASK_BINARY, 2, y, pred, 4)));
}
END_TEST

/* O(n^2) pair counting: the definition of AUC. */
static double auc_oracle(const double *y, const double *pred, int64_t n, int32_t k, int32_t c)
{
    double wins = 0;
    int64_t pairs = 0;
    for (int64_t i = 0; i < n; i++) {
        if ((int32_t)y[i] != c)
            continue;
        for (int64_t j = 0; j < n; j++) {
            if ((int32_t)y[j] == c)
                continue;
            double a = pred[i * k + c], b = pred[j * k + c];
            wins += a > b ? 1.0 : a == b ? 0.5 : 0.0;
            pairs++;
        }
    }
    return pairs ? wins / (double)pairs : NAN;
}

START_TEST(test_auc_oracle)
{
    enum { N = 257 };
    am_rng r;
    am_rng_seed(&r, 99);
    for (int32_t k = 2; k <= 4; k++) {
        static double y[N], pred[N * 4];
        for (int64_t i = 0; i < N; i++) {
            /* Class k-1 never occurs when k == 4: it is left out of the macro average. */
            y[i] = (double)am_rng_below(&r, k == 4 ? 3 : k);
            for (int32_t c = 0; c < k; c++) /* coarse scores: many ties */
                pred[i * k + c] = (double)am_rng_below(&r, 7) / 7.0 + (y[i] == c ? 0.2 : 0.0);
        }
        double want;
        if (k == 2) {
            want = auc_oracle(y, pred, N, k, 1);
        } else {
            double sum = 0;
            int used = 0;
            for (int32_t c = 0; c < k; c++) {
                double a = auc_oracle(y, pred, N, k, c);
                if (!isnan(a)) {
                    sum += a;
                    used++;
                }
            }
            ck_assert_int_eq(used, k == 4 ? 3 : k);
            want = sum / used;
        }
        am_task task = k == 2 ? AM_TASK_BINARY : AM_TASK_MULTICLASS;
        ck_assert_double_eq_tol(metric(AM_METRIC_AUC, task, k, y, pred, N), want, 1e-12);
        ck_assert(want > 0.55 && want < 0.99);
    }
}
END_TEST

START_TEST(test_log_loss)
{
    double y[2] = {1, 0}, pred[4];
    binary_pred((double[]){0.8, 0.3}, 2, pred);
    double want = -(log(0.8) + log(0.7)) / 2;
    ck_assert_double_eq_tol(metric(AM_METRIC_LOG_LOSS, AM_TASK_BINARY, 2, y, pred, 2), want,
                            TOL);
    /* A certain wrong answer is clipped to 1e-15 instead of infinity. */
    double y0[1] = {0}, p0[2] = {0.0, 1.0};
    ck_assert_double_eq_tol(metric(AM_METRIC_LOG_LOSS, AM_TASK_BINARY, 2, y0, p0, 1),
                            -log(1e-15), 1e-9);
    /* Rows that do not sum to one are renormalised: (0.2, 0.2, 0.4) -> 0.25 for class 0. */
    double y3[1] = {0}, p3[3] = {0.2, 0.2, 0.4};
    ck_assert_double_eq_tol(metric(AM_METRIC_LOG_LOSS, AM_TASK_MULTICLASS, 3, y3, p3, 1),
                            -log(0.25), TOL);
}
END_TEST

START_TEST(test_accuracy_f1)
{
    /* Argmax per row: 0, 1, 1, 1, 2, 0; the tie in row 0 goes to class 0. */
    double y[6] = {0, 0, 1, 1, 2, 2};
    double pred[6 * 3] = {0.4, 0.4, 0.2, 0.1, 0.8, 0.1, 0.2, 0.7, 0.1,
                          0.3, 0.6, 0.1, 0.1, 0.1, 0.8, 0.5, 0.2, 0.3};
    ck_assert_double_eq_tol(metric(AM_METRIC_ACCURACY, AM_TASK_MULTICLASS, 3, y, pred, 6),
                            4.0 / 6.0, TOL);
    /* F1: class 0 tp1 fp1 fn1 = 0.5; class 1 tp2 fp1 = 0.8; class 2 tp1 fn1 = 2/3. */
    double want = (0.5 + 0.8 + 2.0 / 3.0) / 3.0;
    ck_assert_double_eq_tol(metric(AM_METRIC_F1_MACRO, AM_TASK_MULTICLASS, 3, y, pred, 6), want,
                            TOL);
    /* A fourth class with neither support nor predictions takes no part. */
    double pred4[6 * 4];
    for (int i = 0; i < 6; i++) {
        for (int c = 0; c < 3; c++)
            pred4[i * 4 + c] = pred[i * 3 + c];
        pred4[i * 4 + 3] = 0.0;
    }
    ck_assert_double_eq_tol(metric(AM_METRIC_F1_MACRO, AM_TASK_MULTICLASS, 4, y, pred4, 6), want,
                            TOL);
    /* A class predicted but never true counts (with F1 0). */
    pred4[0 * 4 + 3] = 0.9; /* row 0 now predicts class 3: class 0 tp0 fp1 fn2 */
    double want4 = (0.0 + 0.8 + 2.0 / 3.0 + 0.0) / 4.0;
    ck_assert_double_eq_tol(metric(AM_METRIC_F1_MACRO, AM_TASK_MULTICLASS, 4, y, pred4, 6),
                            want4, TOL);
    /* A label that is not a class id makes the metric undefined. */
    y[2] = 7;
    ck_assert(isnan(metric(AM_METRIC_ACCURACY, AM_TASK_MULTICLASS, 3, y, pred, 6)));
}
END_TEST

START_TEST(test_regression_metrics)
{
    double y[3] = {1, 2, 3}, p[3] = {2, 2, 5};
    ck_assert_double_eq_tol(metric(AM_METRIC_RMSE, AM_TASK_REGRESSION, 0, y, p, 3), sqrt(5.0 / 3),
                            TOL);
    ck_assert_double_eq_tol(metric(AM_METRIC_MAE, AM_TASK_REGRESSION, 0, y, p, 3), 1.0, TOL);
    /* R2 = 1 - 5/2. */
    ck_assert_double_eq_tol(metric(AM_METRIC_R2, AM_TASK_REGRESSION, 0, y, p, 3), -1.5, TOL);
    ck_assert_double_eq_tol(metric(AM_METRIC_R2, AM_TASK_REGRESSION, 0, y, y, 3), 1.0, TOL);
    double mean[3] = {2, 2, 2};
    ck_assert_double_eq_tol(metric(AM_METRIC_R2, AM_TASK_REGRESSION, 0, y, mean, 3), 0.0, TOL);
    /* Constant target: 1 when perfect, 0 otherwise (scikit-learn's force_finite). */
    ck_assert_double_eq(metric(AM_METRIC_R2, AM_TASK_REGRESSION, 0, mean, mean, 3), 1.0);
    ck_assert_double_eq(metric(AM_METRIC_R2, AM_TASK_REGRESSION, 0, mean, y, 3), 0.0);
    /* A metric for the wrong task is undefined. */
    ck_assert(isnan(metric(AM_METRIC_AUC, AM_TASK_REGRESSION, 0, y, p, 3)));
    ck_assert(isnan(metric(AM_METRIC_RMSE, AM_TASK_BINARY, 2, y, p, 3)));
}
END_TEST

/* ---- splits ------------------------------------------------------------------------------- */

static void assert_ascending_partition(const am_fold *f, int64_t n)
{
    ck_assert_int_eq(f->n_train + f->n_valid, n);
    char *seen = calloc((size_t)n, 1);
    for (int64_t j = 0; j < f->n_train; j++) {
        ck_assert(f->train[j] >= 0 && f->train[j] < n);
        ck_assert(j == 0 || f->train[j] > f->train[j - 1]);
        seen[f->train[j]]++;
    }
    for (int64_t j = 0; j < f->n_valid; j++) {
        ck_assert(f->valid[j] >= 0 && f->valid[j] < n);
        ck_assert(j == 0 || f->valid[j] > f->valid[j - 1]);
        seen[f->valid[j]]++;
    }
    for (int64_t i = 0; i < n; i++)
        ck_assert_int_eq(seen[i], 1);
    free(seen);
}

/* Every position in exactly one validation list; fold sizes within one. */
static void assert_kfold(const am_split *s, int64_t n, int32_t k)
{
    ck_assert_int_eq(s->n_folds, k);
    int *hits = calloc((size_t)n, sizeof(int));
    int64_t lo = n, hi = 0;
    for (int32_t f = 0; f < k; f++) {
        assert_ascending_partition(&s->folds[f], n);
        for (int64_t j = 0; j < s->folds[f].n_valid; j++)
            hits[s->folds[f].valid[j]]++;
        lo = AM_MIN(lo, s->folds[f].n_valid);
        hi = AM_MAX(hi, s->folds[f].n_valid);
    }
    for (int64_t i = 0; i < n; i++)
        ck_assert_int_eq(hits[i], 1);
    ck_assert_int_le(hi - lo, 1);
    free(hits);
}

START_TEST(test_kfold_regression)
{
    enum { N = 103 };
    double y[N];
    for (int i = 0; i < N; i++)
        y[i] = i * 0.5;
    am_split s;
    ck_assert_int_eq(am_split_kfold(y, N, AM_TASK_REGRESSION, 0, 5, 7, &s, NULL), AM_OK);
    assert_kfold(&s, N, 5);
    /* Shuffled, not cut in order: fold 0 is not the first 21 positions. */
    ck_assert(s.folds[0].valid[s.folds[0].n_valid - 1] > 21);
    am_split_fini(&s);
    am_split_fini(&s); /* idempotent */
}
END_TEST

/* Classes of 50, 30 and 7 rows. */
static void three_classes(double *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = i % 87 < 50 ? 0 : i % 87 < 80 ? 1 : 2;
}

START_TEST(test_kfold_stratified)
{
    enum { N = 87, K = 4 };
    double y[N];
    three_classes(y, N);
    am_split s;
    ck_assert_int_eq(am_split_kfold(y, N, AM_TASK_MULTICLASS, 3, K, 11, &s, NULL), AM_OK);
    assert_kfold(&s, N, K);
    const int64_t total[3] = {50, 30, 7};
    for (int32_t f = 0; f < K; f++) {
        int64_t count[3] = {0, 0, 0};
        for (int64_t j = 0; j < s.folds[f].n_valid; j++)
            count[(int)y[s.folds[f].valid[j]]]++;
        /* Each class within one row of its share of the fold. */
        for (int c = 0; c < 3; c++) {
            ck_assert_int_ge(count[c], total[c] / K);
            ck_assert_int_le(count[c], (total[c] + K - 1) / K);
        }
    }
    am_split_fini(&s);
}
END_TEST

START_TEST(test_holdout)
{
    enum { N = 87 };
    double y[N];
    three_classes(y, N);
    am_split s;
    ck_assert_int_eq(am_split_holdout(y, N, AM_TASK_MULTICLASS, 3, 0.2, 3, &s, NULL), AM_OK);
    ck_assert_int_eq(s.n_folds, 1);
    assert_ascending_partition(&s.folds[0], N);
    int64_t count[3] = {0, 0, 0};
    for (int64_t j = 0; j < s.folds[0].n_valid; j++)
        count[(int)y[s.folds[0].valid[j]]]++;
    ck_assert_int_eq(count[0], 10); /* round(0.2 * 50) */
    ck_assert_int_eq(count[1], 6);
    ck_assert_int_eq(count[2], 1); /* round(1.4) */
    am_split_fini(&s);

    /* A class of two rows still gets one validation row; a single row stays in training. */
    double y2[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2};
    ck_assert_int_eq(am_split_holdout(y2, 12, AM_TASK_MULTICLASS, 3, 0.1, 3, &s, NULL), AM_OK);
    int64_t c2[3] = {0, 0, 0};
    for (int64_t j = 0; j < s.folds[0].n_valid; j++)
        c2[(int)y2[s.folds[0].valid[j]]]++;
    ck_assert_int_eq(c2[0], 1);
    ck_assert_int_eq(c2[1], 1);
    ck_assert_int_eq(c2[2], 0);
    am_split_fini(&s);

    double yr[50];
    for (int i = 0; i < 50; i++)
        yr[i] = i;
    ck_assert_int_eq(am_split_holdout(yr, 50, AM_TASK_REGRESSION, 0, 0.3, 3, &s, NULL), AM_OK);
    ck_assert_int_eq(s.folds[0].n_valid, 15);
    ck_assert_int_eq(s.folds[0].n_train, 35);
    assert_ascending_partition(&s.folds[0], 50);
    am_split_fini(&s);
}
END_TEST

static bool same_split(const am_split *a, const am_split *b)
{
    if (a->n_folds != b->n_folds)
        return false;
    for (int32_t f = 0; f < a->n_folds; f++) {
        if (a->folds[f].n_valid != b->folds[f].n_valid ||
            memcmp(a->folds[f].valid, b->folds[f].valid,
                   (size_t)a->folds[f].n_valid * sizeof(int64_t)))
            return false;
    }
    return true;
}

START_TEST(test_split_seed)
{
    enum { N = 87 };
    double y[N];
    three_classes(y, N);
    am_split a, b, c;
    ck_assert_int_eq(am_split_kfold(y, N, AM_TASK_MULTICLASS, 3, 5, 42, &a, NULL), AM_OK);
    ck_assert_int_eq(am_split_kfold(y, N, AM_TASK_MULTICLASS, 3, 5, 42, &b, NULL), AM_OK);
    ck_assert_int_eq(am_split_kfold(y, N, AM_TASK_MULTICLASS, 3, 5, 43, &c, NULL), AM_OK);
    ck_assert(same_split(&a, &b));
    ck_assert(!same_split(&a, &c));
    am_split_fini(&a);
    am_split_fini(&b);
    am_split_fini(&c);
    ck_assert_int_eq(am_split_holdout(y, N, AM_TASK_REGRESSION, 0, 0.25, 42, &a, NULL), AM_OK);
    ck_assert_int_eq(am_split_holdout(y, N, AM_TASK_REGRESSION, 0, 0.25, 42, &b, NULL), AM_OK);
    ck_assert_int_eq(am_split_holdout(y, N, AM_TASK_REGRESSION, 0, 0.25, 43, &c, NULL), AM_OK);
    ck_assert(same_split(&a, &b));
    ck_assert(!same_split(&a, &c));
    am_split_fini(&a);
    am_split_fini(&b);
    am_split_fini(&c);
}
END_TEST

/* Bad split requests: each must fail with its status and leave an empty split. */
static const struct {
    bool kfold;
    am_task task;
    int32_t n_classes;
    int32_t k;
    double fraction;
    int64_t n;
    double bad_label;
    am_status status;
    const char *message_part;
} bad_splits[] = {
    {true, AM_TASK_REGRESSION, 0, 1, 0, 10, 0, AM_ERR_CONFIG, "1-fold"},
    {true, AM_TASK_REGRESSION, 0, 11, 0, 10, 0, AM_ERR_CONFIG, "folds <= rows"},
    {true, AM_TASK_BINARY, 1, 2, 0, 10, 0, AM_ERR_ARG, "at least 2 classes"},
    {true, AM_TASK_BINARY, 2, 2, 0, 10, 2, AM_ERR_ARG, "not a class id"},
    {true, AM_TASK_BINARY, 2, 2, 0, 10, 0.5, AM_ERR_ARG, "not a class id"},
    {false, AM_TASK_REGRESSION, 0, 0, 0.0, 10, 0, AM_ERR_CONFIG, "must be in (0, 1)"},
    {false, AM_TASK_REGRESSION, 0, 0, 1.0, 10, 0, AM_ERR_CONFIG, "must be in (0, 1)"},
    {false, AM_TASK_REGRESSION, 0, 0, NAN, 10, 0, AM_ERR_CONFIG, "must be in (0, 1)"},
    {false, AM_TASK_REGRESSION, 0, 0, 0.5, 1, 0, AM_ERR_CONFIG, "leaves no row"},
    {false, AM_TASK_BINARY, 2, 0, 0.5, 10, -1, AM_ERR_ARG, "not a class id"},
    {true, AM_TASK_REGRESSION, 0, 2, 0, 0, 0, AM_ERR_ARG, "cannot split"},
};

START_TEST(test_split_bad)
{
    double y[10] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    if (bad_splits[_i].bad_label != 0)
        y[3] = bad_splits[_i].bad_label;
    am_split s;
    am_diag d;
    am_diag_clear(&d);
    am_status st =
        bad_splits[_i].kfold
            ? am_split_kfold(y, bad_splits[_i].n, bad_splits[_i].task, bad_splits[_i].n_classes,
                             bad_splits[_i].k, 1, &s, &d)
            : am_split_holdout(y, bad_splits[_i].n, bad_splits[_i].task, bad_splits[_i].n_classes,
                               bad_splits[_i].fraction, 1, &s, &d);
    ck_assert_int_eq(st, bad_splits[_i].status);
    ck_assert_msg(strstr(d.message, bad_splits[_i].message_part), "message: %s", d.message);
    ck_assert_ptr_null(s.folds);
    ck_assert_int_eq(s.n_folds, 0);
}
END_TEST

/* ---- hand-built frames --------------------------------------------------------------------- */

static char *dup(const char *s)
{
    char *p = am_strdup(s);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void num_column(am_column *c, const char *name, int64_t n)
{
    c->name = dup(name);
    c->type = AM_COL_NUM;
    c->num = am_calloc((size_t)n, sizeof(double));
    ck_assert_ptr_nonnull(c->num);
    am_strset_init(&c->levels);
}

static void cat_column(am_column *c, const char *name, int64_t n, const char *const *levels,
                       int n_levels)
{
    c->name = dup(name);
    c->type = AM_COL_CAT;
    c->codes = am_calloc((size_t)n, sizeof(int32_t));
    ck_assert_ptr_nonnull(c->codes);
    am_strset_init(&c->levels);
    for (int i = 0; i < n_levels; i++)
        ck_assert_int_eq(am_strset_add(&c->levels, levels[i], strlen(levels[i])), i);
}

enum { COL_X1, COL_X2, COL_COLOR, COL_TARGET, N_COLS };

/* Two numeric features (one missing value), a colour with an effect, and a target from a noisy
 * linear rule: n_classes 0 = regression, 2 = binary ("no"/"yes"), 3 = three grades. */
static am_frame *make_frame(int64_t n, int n_classes, uint64_t seed)
{
    am_frame *f = am_calloc(1, sizeof(*f));
    ck_assert_ptr_nonnull(f);
    f->n_rows = n;
    f->n_cols = N_COLS;
    f->cols = am_calloc(N_COLS, sizeof(am_column));
    ck_assert_ptr_nonnull(f->cols);
    static const char *const colors[] = {"red", "green", "blue"};
    static const char *const binary[] = {"no", "yes"};
    static const char *const grades[] = {"a", "b", "c"};
    num_column(&f->cols[COL_X1], "x1", n);
    num_column(&f->cols[COL_X2], "x2", n);
    cat_column(&f->cols[COL_COLOR], "color", n, colors, 3);
    if (n_classes == 0)
        num_column(&f->cols[COL_TARGET], "target", n);
    else
        cat_column(&f->cols[COL_TARGET], "target", n, n_classes == 2 ? binary : grades,
                   n_classes);
    am_rng r;
    am_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) {
        double x1 = 2 * am_rng_uniform(&r) - 1, x2 = 2 * am_rng_uniform(&r) - 1;
        int32_t color = (int32_t)am_rng_below(&r, 3);
        double noise = 0.3 * (am_rng_uniform(&r) + am_rng_uniform(&r) - 1);
        double score = x1 + 0.5 * x2 + (color == 2 ? 0.4 : 0.0) + noise;
        f->cols[COL_X1].num[i] = x1;
        f->cols[COL_X2].num[i] = x2;
        f->cols[COL_COLOR].codes[i] = color;
        if (n_classes == 0)
            f->cols[COL_TARGET].num[i] = 3 * score + 1;
        else if (n_classes == 2)
            f->cols[COL_TARGET].codes[i] = score > 0;
        else
            f->cols[COL_TARGET].codes[i] = score < -0.4 ? 0 : score < 0.4 ? 1 : 2;
    }
    f->cols[COL_X1].num[5] = NAN;
    f->cols[COL_X1].n_missing = 1;
    return f;
}

static const am_learner_type *need_learner(const char *name)
{
    const am_learner_type *t = am_learner_find(name);
    ck_assert_msg(t != NULL, "learner %s is not registered", name);
    return t;
}

static am_search_options base_options(const am_learner_type *const *learners, int32_t n)
{
    am_search_options o = {
        .learners = learners,
        .n_learners = n,
        .cv_folds = 3,
        .holdout = 0.2,
        .deadline = INFINITY,
        .save_reserve = 0,
        .max_trials = 10,
        .exit_score = NAN,
        .seed = 1,
        .n_threads = 1,
    };
    return o;
}

/* Predictions of the result's pipeline on every row of f (caller frees). */
static double *predict_all(const am_search_result *r, const am_frame *f)
{
    am_matrix x;
    am_diag d;
    ck_assert_int_eq(am_featurizer_transform(r->featurizer, f, NULL, f->n_rows, &x, &d), AM_OK);
    double *out = malloc((size_t)f->n_rows * (size_t)r->model->n_outputs * sizeof(double));
    ck_assert_int_eq(r->model->type->predict(r->model, &x, 1, NULL, out, &d), AM_OK);
    am_matrix_fini(&x);
    return out;
}

static const am_trial *trial_of(const am_search_result *r, const char *learner)
{
    for (int32_t i = 0; i < r->n_trials; i++)
        if (!strcmp(r->trials[i].learner->name, learner))
            return &r->trials[i];
    return NULL;
}

static void assert_consistent(const am_search_result *r)
{
    ck_assert_ptr_nonnull(r->model);
    ck_assert_ptr_nonnull(r->featurizer);
    ck_assert_int_eq(r->n_features, am_featurizer_n_features(r->featurizer));
    ck_assert_int_eq(r->model->n_features, r->n_features);
    for (int32_t i = 0; i < r->n_trials; i++) {
        ck_assert_int_eq(r->trials[i].id, i);
        ck_assert(r->trials[i].status == AM_OK ? isfinite(r->trials[i].score)
                                               : isnan(r->trials[i].score));
    }
    if (r->best >= 0) {
        const am_trial *b = &r->trials[r->best];
        ck_assert_ptr_eq(b->learner, r->learner);
        ck_assert_int_eq(memcmp(&b->params, &r->params, sizeof(am_params)), 0);
        /* No successful trial scores better, and earlier ties lose to nobody. */
        bool higher = am_metric_higher_is_better(r->metric);
        for (int32_t i = 0; i < r->n_trials; i++) {
            if (r->trials[i].status != AM_OK)
                continue;
            double s = r->trials[i].score;
            ck_assert(higher ? s <= b->score : s >= b->score);
            if (i < r->best)
                ck_assert(s != b->score);
        }
    }
}

/* ---- the controller ------------------------------------------------------------------------- */

START_TEST(test_search_binary)
{
    am_frame *f = make_frame(300, 2, 5);
    const am_learner_type *ls[] = {need_learner("logreg"), need_learner("constant")};
    am_search_options o = base_options(ls, 2);
    am_search_result r;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(am_search_run(f, COL_TARGET, &o, NULL, &r, &d) == AM_OK, "%s", d.message);
    assert_consistent(&r);
    ck_assert_int_eq(r.target.task, AM_TASK_BINARY);
    ck_assert_int_eq(r.metric, AM_METRIC_AUC);
    ck_assert_int_eq(r.n_trials, 10);
    ck_assert_int_eq(r.exit_reason, AM_EXIT_TRIALS);
    ck_assert_int_eq(r.n_rows, 300);
    ck_assert_int_ge(r.best, 0);
    /* The cheap starting points come first, in the caller's order. */
    ck_assert_str_eq(r.trials[0].learner->name, "logreg");
    ck_assert_str_eq(r.trials[1].learner->name, "constant");
    /* constant has nothing to tune: it is never drawn again. */
    for (int32_t i = 2; i < r.n_trials; i++)
        ck_assert_str_eq(r.trials[i].learner->name, "logreg");
    const am_trial *c = trial_of(&r, "constant");
    ck_assert_double_eq_tol(c->score, 0.5, 1e-12);
    ck_assert(r.trials[r.best].score > c->score + 0.3);
    ck_assert_str_eq(r.learner->name, "logreg");
    /* The refitted pipeline predicts the training rows well. */
    double *p = predict_all(&r, f);
    int64_t hits = 0;
    for (int64_t i = 0; i < f->n_rows; i++)
        hits += (p[2 * i + 1] > 0.5) == (f->cols[COL_TARGET].codes[i] == 1);
    ck_assert_int_gt(hits, 270);
    free(p);
    ck_assert(r.seconds_featurize > 0 && r.seconds_search > 0 && r.seconds_refit > 0);
    am_search_result_fini(&r);
    am_search_result_fini(&r); /* idempotent */
    am_search_result_fini(NULL);
    am_frame_free(f);
}
END_TEST

START_TEST(test_search_regression)
{
    am_frame *f = make_frame(300, 0, 6);
    const am_learner_type *ls[] = {need_learner("constant"), need_learner("ridge")};
    am_search_options o = base_options(ls, 2);
    o.task = AM_TASK_REGRESSION;
    o.cv_folds = 0;
    o.holdout = 0.25;
    am_search_result r;
    am_diag d;
    ck_assert_msg(am_search_run(f, COL_TARGET, &o, NULL, &r, &d) == AM_OK, "%s", d.message);
    assert_consistent(&r);
    ck_assert_int_eq(r.metric, AM_METRIC_RMSE);
    ck_assert_int_eq(r.n_trials, 10);
    const am_trial *c = trial_of(&r, "constant");
    ck_assert_ptr_nonnull(c);
    /* Noise is at most 0.9 in y; the target's spread is far larger. */
    ck_assert(r.trials[r.best].score < 0.5 * c->score);
    ck_assert(r.trials[r.best].score < 1.0);
    ck_assert_str_eq(r.learner->name, "ridge");
    am_search_result_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_search_multiclass)
{
    am_frame *f = make_frame(240, 3, 8);
    const am_learner_type *ls[] = {need_learner("logreg"), need_learner("constant")};
    am_search_options o = base_options(ls, 2);
    o.max_trials = 4;
    am_search_result r;
    am_diag d;
    ck_assert_msg(am_search_run(f, COL_TARGET, &o, NULL, &r, &d) == AM_OK, "%s", d.message);
    assert_consistent(&r);
    ck_assert_int_eq(r.target.task, AM_TASK_MULTICLASS);
    ck_assert_int_eq(r.metric, AM_METRIC_LOG_LOSS);
    ck_assert(r.trials[r.best].score < trial_of(&r, "constant")->score);
    ck_assert_int_eq(r.model->n_outputs, 3);
    am_search_result_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_search_threads_identical)
{
    am_frame *f = make_frame(300, 2, 9);
    const am_learner_type *ls[] = {need_learner("logreg"), need_learner("constant")};
    am_search_result r[2];
    double *p[2];
    for (int k = 0; k < 2; k++) {
        am_search_options o = base_options(ls, 2);
        o.n_threads = k + 1;
        o.max_trials = 11; /* a batch and a part, so the second batch is cut */
        am_diag d;
        ck_assert_msg(am_search_run(f, COL_TARGET, &o, NULL, &r[k], &d) == AM_OK, "%s",
                      d.message);
        p[k] = predict_all(&r[k], f);
    }
    ck_assert_int_eq(r[0].n_trials, r[1].n_trials);
    ck_assert_int_eq(r[0].best, r[1].best);
    for (int32_t i = 0; i < r[0].n_trials; i++) {
        const am_trial *a = &r[0].trials[i], *b = &r[1].trials[i];
        ck_assert_ptr_eq(a->learner, b->learner);
        ck_assert_int_eq(memcmp(&a->params, &b->params, sizeof(am_params)), 0);
        ck_assert_int_eq(memcmp(&a->score, &b->score, sizeof(double)), 0);
    }
    /* Sampled configurations differ from each other (the rng is really per trial). */
    ck_assert(memcmp(&r[0].trials[2].params, &r[0].trials[3].params, sizeof(am_params)) != 0);
    ck_assert_int_eq(memcmp(p[0], p[1], 300 * 2 * sizeof(double)), 0);
    /* Another seed proposes other configurations. */
    am_search_options o = base_options(ls, 2);
    o.seed = 2;
    o.max_trials = 3;
    am_search_result r3;
    am_diag d;
    ck_assert_int_eq(am_search_run(f, COL_TARGET, &o, NULL, &r3, &d), AM_OK);
    ck_assert(memcmp(&r3.trials[2].params, &r[0].trials[2].params, sizeof(am_params)) != 0);
    am_search_result_fini(&r3);
    for (int k = 0; k < 2; k++) {
        free(p[k]);
        am_search_result_fini(&r[k]);
    }
    am_frame_free(f);
}
END_TEST

START_TEST(test_exit_patience)
{
    am_frame *f = make_frame(300, 2, 10);
    const am_learner_type *ls[] = {need_learner("logreg"), need_learner("constant")};
    am_search_options o = base_options(ls, 2);
    o.max_trials = 0;
    o.patience = 3;
    am_search_result r;
    am_diag d;
    ck_assert_msg(am_search_run(f, COL_TARGET, &o, NULL, &r, &d) == AM_OK, "%s", d.message);
    assert_consistent(&r);
    ck_assert_int_eq(r.exit_reason, AM_EXIT_PATIENCE);
    /* The last improvement is exactly `patience` trials before the end, and the run stopped
     * at the first moment the rule held. */
    ck_assert_int_eq(r.best, r.n_trials - 1 - 3);
    bool higher = am_metric_higher_is_better(r.metric);
    int since = 0;
    double best = NAN;
    for (int32_t i = 0; i < r.n_trials - 1; i++) {
        double s = r.trials[i].score;
        if (r.trials[i].status == AM_OK && (isnan(best) || (higher ? s > best : s < best))) {
            best = s;
            since = 0;
        } else {
            since++;
        }
        ck_assert_int_lt(since, 3);
    }
    am_search_result_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_exit_score)
{
    am_frame *f = make_frame(300, 2, 11);
    const am_learner_type *ls[] = {need_learner("constant"), need_learner("logreg")};
    am_search_options o = base_options(ls, 2);
    o.max_trials = 40;
    /* First learn what the trials score, then ask to stop at the third trial's score. */
    am_search_result full;
    am_diag d;
    ck_assert_int_eq(am_search_run(f, COL_TARGET, &o, NULL, &full, &d), AM_OK);
    int32_t want = -1;
    double target = full.trials[2].score;
    for (int32_t i = 0; i < full.n_trials && want < 0; i++)
        if (full.trials[i].status == AM_OK && full.trials[i].score >= target)
            want = i;
    am_search_result_fini(&full);
    o.exit_score = target;
    am_search_result r;
    ck_assert_msg(am_search_run(f, COL_TARGET, &o, NULL, &r, &d) == AM_OK, "%s", d.message);
    ck_assert_int_eq(r.exit_reason, AM_EXIT_SCORE);
    ck_assert_int_eq(r.n_trials, want + 1);
    ck_assert(r.trials[r.best].score >= target);
    am_search_result_fini(&r);
    am_frame_free(f);
}
END_TEST

START_TEST(test_estimator_mode)
{
    am_frame *f = make_frame(200, 2, 12);
    const am_learner_type *lr = need_learner("logreg");
    const am_learner_type *ls[] = {lr};
    am_params fixed;
    am_params_defaults(lr->params, &fixed);
    for (int validate = 0; validate <= 1; validate++) {
        am_search_options o = base_options(ls, 1);
        o.fixed = &fixed;
        o.validate = validate;
        am_search_result r;
        am_diag d;
        ck_assert_msg(am_search_run(f, COL_TARGET, &o, NULL, &r, &d) == AM_OK, "%s", d.message);
        ck_assert_int_eq(r.exit_reason, AM_EXIT_SINGLE);
        ck_assert_int_eq(r.n_trials, validate);
        ck_assert_int_eq(r.best, validate ? 0 : -1);
        ck_assert_ptr_eq(r.learner, lr);
        ck_assert_int_eq(memcmp(&r.params, &fixed, sizeof(am_params)), 0);
        ck_assert_ptr_nonnull(r.model);
        ck_assert(!r.refit_fallback);
        if (validate)
            ck_assert(r.trials[0].score > 0.8);
        am_search_result_fini(&r);
    }
    /* A fixed configuration out of its table's range is refused before any work. */
    am_search_options o = base_options(ls, 1);
    am_params bad = fixed;
    int32_t ci = am_params_find(lr->params, "C");
    ck_assert_int_ge(ci, 0);
    bad.v[ci] = -5;
    o.fixed = &bad;
    am_search_result r;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_search_run(f, COL_TARGET, &o, NULL, &r, &d), AM_ERR_CONFIG);
    ck_assert_msg(strstr(d.message, "C=-5"), "%s", d.message);
    ck_assert_ptr_null(r.model);
    am_frame_free(f);
}
END_TEST

START_TEST(test_deadline_past)
{
    am_frame *f = make_frame(300, 2, 13);
    const am_learner_type *ls[] = {need_learner("logreg"), need_learner("constant")};
    am_search_options o = base_options(ls, 2);
    o.max_trials = 0;
    double t0 = am_now();
    o.deadline = t0 - 1.0;
    am_search_result r;
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_search_run(f, COL_TARGET, &o, NULL, &r, &d);
    double took = am_now() - t0;
    ck_assert_msg(took < 1.0, "took %g s", took);
    if (st == AM_OK) {
        ck_assert_int_eq(r.exit_reason, AM_EXIT_TIME);
        ck_assert_ptr_nonnull(r.model);
        ck_assert_int_ge(r.best, 0);
        ck_assert_int_le(r.n_trials, AM_SEARCH_BATCH);
        am_search_result_fini(&r);
    } else {
        ck_assert_int_eq(st, AM_ERR_CANCELLED);
        ck_assert_msg(strstr(d.message, "time budget"), "%s", d.message);
        ck_assert_ptr_null(r.model);
        ck_assert_ptr_null(r.trials);
    }
    am_frame_free(f);
}
END_TEST

START_TEST(test_deadline_budget)
{
    am_frame *f = make_frame(300, 2, 14);
    const am_learner_type *ls[] = {need_learner("logreg"), need_learner("constant")};
    am_search_options o = base_options(ls, 2);
    o.max_trials = 0; /* only the clock stops this run */
    o.n_threads = 2;
    double t0 = am_now();
    o.deadline = t0 + 0.4;
    am_search_result r;
    am_diag d;
    ck_assert_msg(am_search_run(f, COL_TARGET, &o, NULL, &r, &d) == AM_OK, "%s", d.message);
    double took = am_now() - t0;
    ck_assert_msg(took < 0.4 + 0.5, "took %g s", took); /* slack for a loaded machine */
    ck_assert_int_eq(r.exit_reason, AM_EXIT_TIME);
    ck_assert_int_gt(r.n_trials, 2);
    assert_consistent(&r);
    /* Cancelled trials are listed as such, with no score. */
    for (int32_t i = 0; i < r.n_trials; i++)
        if (r.trials[i].status == AM_ERR_CANCELLED)
            ck_assert(isnan(r.trials[i].score) && strstr(r.trials[i].note, "cancelled"));
    am_search_result_fini(&r);
    am_frame_free(f);
}
END_TEST

/* ---- test learners: a failing one and one that cancels its own refit ------------------------ */

static const am_param_table no_params = {"test", NULL, 0};

typedef struct mean_model {
    am_model base;
    double mean;
} mean_model;

static am_status fail_fit(const am_fit_args *a, am_model **out, am_diag *d)
{
    (void)a;
    (void)out;
    return am_fail(d, AM_ERR_NUMERIC, "t_fail: the solver diverged");
}

static am_status mean_predict(const am_model *m, const am_matrix *x, int32_t n_threads,
                              const am_stop *stop, double *out, am_diag *d)
{
    (void)stop; /* cheap enough to finish once started */
    (void)n_threads;
    (void)d;
    for (int64_t i = 0; i < x->n_rows; i++)
        out[i] = ((const mean_model *)m)->mean;
    return AM_OK;
}

static void mean_free(am_model *m)
{
    am_free(m);
}

/* The host's cancel flag, which t_mean raises when it is asked to fit on this many rows: it
 * plays a deadline that arrives during the refit. */
static volatile int cancel_flag;
static int64_t cancel_at_rows = -1;

static am_status mean_fit(const am_fit_args *a, am_model **out, am_diag *d);

static const am_learner_type t_mean = {
    .name = "t_mean",
    .summary = "test: predicts the training mean",
    .tasks = AM_TASK_REGRESSION,
    .params = &no_params,
    .fit = mean_fit,
    .predict = mean_predict,
    .free = mean_free,
};

static am_status mean_fit(const am_fit_args *a, am_model **out, am_diag *d)
{
    if (a->x->n_rows == cancel_at_rows)
        cancel_flag = 1;
    if (am_stop_hit(a->stop))
        return am_fail(d, AM_ERR_CANCELLED, "t_mean: stopped");
    mean_model *m = am_calloc(1, sizeof(*m));
    if (!m)
        return am_fail(d, AM_ERR_NOMEM, "t_mean: out of memory");
    m->base = (am_model){&t_mean, a->x->n_cols, 1};
    for (int64_t i = 0; i < a->x->n_rows; i++)
        m->mean += a->y[i] / (double)a->x->n_rows;
    *out = &m->base;
    return AM_OK;
}

static const am_learner_type t_fail = {
    .name = "t_fail",
    .summary = "test: always fails",
    .tasks = AM_TASK_BINARY | AM_TASK_MULTICLASS | AM_TASK_REGRESSION,
    .params = &no_params,
    .fit = fail_fit,
    .predict = mean_predict,
    .free = mean_free,
};

START_TEST(test_failing_trials)
{
    am_frame *f = make_frame(150, 0, 15);
    const am_learner_type *ls[] = {&t_fail, &t_mean};
    am_search_options o = base_options(ls, 2);
    am_search_result r;
    am_diag d;
    ck_assert_msg(am_search_run(f, COL_TARGET, &o, NULL, &r, &d) == AM_OK, "%s", d.message);
    /* Neither has a parameter to tune: two distinct configurations, then the space is done. */
    ck_assert_int_eq(r.n_trials, 2);
    ck_assert_int_eq(r.exit_reason, AM_EXIT_TRIALS);
    ck_assert_int_eq(r.trials[0].status, AM_ERR_NUMERIC);
    ck_assert(isnan(r.trials[0].score));
    ck_assert_str_eq(r.trials[0].note, "t_fail: the solver diverged");
    ck_assert_int_eq(r.best, 1);
    ck_assert_ptr_eq(r.learner, &t_mean);
    int32_t order[2];
    am_search_rank(&r, order);
    ck_assert_int_eq(order[0], 1);
    ck_assert_int_eq(order[1], 0);
    am_search_result_fini(&r);

    /* Only failures: the first failure's status and message. */
    const am_learner_type *only[] = {&t_fail};
    o = base_options(only, 1);
    am_diag_clear(&d);
    ck_assert_int_eq(am_search_run(f, COL_TARGET, &o, NULL, &r, &d), AM_ERR_NUMERIC);
    ck_assert_msg(strstr(d.message, "t_fail: the solver diverged"), "%s", d.message);
    ck_assert_ptr_null(r.trials);
    ck_assert_int_eq(r.n_trials, 0);
    am_frame_free(f);
}
END_TEST

START_TEST(test_refit_fallback)
{
    am_frame *f = make_frame(150, 0, 16);
    const am_learner_type *ls[] = {&t_mean};
    am_search_options o = base_options(ls, 1);
    o.cancel = &cancel_flag;
    cancel_flag = 0;
    cancel_at_rows = 150; /* the refit on all rows */
    am_search_result r;
    am_diag d;
    ck_assert_msg(am_search_run(f, COL_TARGET, &o, NULL, &r, &d) == AM_OK, "%s", d.message);
    ck_assert(r.refit_fallback);
    ck_assert_ptr_nonnull(r.model);
    ck_assert_ptr_nonnull(r.featurizer);
    ck_assert_ptr_eq(r.model->type, &t_mean);
    ck_assert_int_eq(r.n_features, am_featurizer_n_features(r.featurizer));
    /* The fallback is fold 0's model: its mean is that of fold 0's 100 training rows. */
    double full_mean = 0;
    for (int64_t i = 0; i < 150; i++)
        full_mean += f->cols[COL_TARGET].num[i] / 150;
    ck_assert(((const mean_model *)r.model)->mean != full_mean);
    am_search_result_fini(&r);
    cancel_at_rows = -1;
    am_frame_free(f);
}
END_TEST

/* Bad configurations of a run: status and message. */
static const struct {
    const char *what;
    am_metric metric;
    int32_t cv_folds;
    double holdout;
    int32_t n_threads;
    bool regression_only;
    const char *message_part;
} bad_runs[] = {
    {"metric", AM_METRIC_RMSE, 3, 0.2, 1, false, "metric rmse does not fit binary classification"},
    {"metric", AM_METRIC_R2, 3, 0.2, 1, false, "metric r2 does not fit binary"},
    {"folds", 0, 1, 0.2, 1, false, "cv_folds=1"},
    {"holdout", 0, 0, 1.5, 1, false, "holdout=1.5"},
    {"threads", 0, 3, 0.2, 0, false, "threads=0"},
    {"task", 0, 3, 0.2, 1, true, "does not support binary classification"},
};

START_TEST(test_bad_runs)
{
    am_frame *f = make_frame(60, 2, 17);
    const am_learner_type *ls[] = {bad_runs[_i].regression_only ? &t_mean : &t_fail};
    am_search_options o = base_options(ls, 1);
    o.metric = bad_runs[_i].metric;
    o.cv_folds = bad_runs[_i].cv_folds;
    o.holdout = bad_runs[_i].holdout;
    o.n_threads = bad_runs[_i].n_threads;
    am_search_result r;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_search_run(f, COL_TARGET, &o, NULL, &r, &d), AM_ERR_CONFIG);
    ck_assert_msg(strstr(d.message, bad_runs[_i].message_part), "%s: %s", bad_runs[_i].what,
                  d.message);
    ck_assert_ptr_null(r.model);
    ck_assert_ptr_null(r.trials);
    ck_assert_int_eq(r.best, -1);
    am_frame_free(f);
}
END_TEST

START_TEST(test_rank)
{
    am_trial t[6];
    memset(t, 0, sizeof(t));
    const double scores[6] = {0.7, NAN, 0.9, 0.7, 0.8, NAN};
    const am_status status[6] = {AM_OK, AM_ERR_NUMERIC, AM_OK, AM_OK, AM_OK, AM_ERR_CANCELLED};
    for (int i = 0; i < 6; i++) {
        t[i].id = i;
        t[i].score = scores[i];
        t[i].status = status[i];
    }
    am_search_result r;
    memset(&r, 0, sizeof(r));
    r.trials = t;
    r.n_trials = 6;
    r.metric = AM_METRIC_AUC;
    int32_t order[6];
    am_search_rank(&r, order);
    const int32_t want_high[6] = {2, 4, 0, 3, 1, 5};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(order[i], want_high[i]);
    r.metric = AM_METRIC_RMSE;
    am_search_rank(&r, order);
    const int32_t want_low[6] = {0, 3, 4, 2, 1, 5};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(order[i], want_low[i]);
    r.n_trials = 0;
    am_search_rank(&r, order); /* nothing to do, nothing touched */
}
END_TEST

/* A logger that records what it was told, to check the run explains itself. */
typedef struct log_capture {
    char text[8192];
    size_t len;
} log_capture;

static void capture(int level, const char *message, void *user)
{
    log_capture *c = user;
    int k = snprintf(c->text + c->len, sizeof(c->text) - c->len, "%d %s\n", level, message);
    if (k > 0)
        c->len = AM_MIN(sizeof(c->text) - 1, c->len + (size_t)k);
}

START_TEST(test_logging)
{
    am_frame *f = make_frame(300, 2, 18);
    const am_learner_type *ls[] = {need_learner("logreg"), need_learner("constant")};
    am_search_options o = base_options(ls, 2);
    o.cv_folds = 5;
    o.max_trials = 3;
    log_capture cap = {{0}, 0};
    am_logger lg = {capture, &cap};
    am_search_result r;
    am_diag d;
    ck_assert_int_eq(am_search_run(f, COL_TARGET, &o, &lg, &r, &d), AM_OK);
    ck_assert_msg(strstr(cap.text, "1 5-fold stratified cross-validation on 300 rows"), "%s",
                  cap.text);
    ck_assert_msg(strstr(cap.text, "0 trial 1 constant: auc 0.5000"), "%s", cap.text);
    ck_assert_msg(strstr(cap.text, "max_trials"), "%s", cap.text);
    am_search_result_fini(&r);
    am_frame_free(f);
}
END_TEST


/* A host that cancels while the search runs (here: from the logger, after trial 3 is seen). */
static volatile int host_cancel;

static void cancel_after_trial3(int level, const char *message, void *user)
{
    (void)level;
    (void)user;
    if (!strncmp(message, "trial 3 ", 8))
        host_cancel = 1;
}

START_TEST(test_cancel)
{
    am_frame *f = make_frame(300, 2, 19);
    const am_learner_type *ls[] = {need_learner("logreg"), need_learner("constant")};
    am_search_options o = base_options(ls, 2);
    o.max_trials = 0;
    o.cancel = &host_cancel;
    host_cancel = 0;
    am_logger lg = {cancel_after_trial3, NULL};
    am_search_result r;
    am_diag d;
    /* The batch that saw the cancel is observed whole; no batch starts after it, and the
     * refit, cancelled too, falls back on the best trial's first-fold model. */
    ck_assert_msg(am_search_run(f, COL_TARGET, &o, &lg, &r, &d) == AM_OK, "%s", d.message);
    ck_assert_int_eq(r.exit_reason, AM_EXIT_CANCELLED);
    ck_assert_int_eq(r.n_trials, AM_SEARCH_BATCH);
    ck_assert_ptr_nonnull(r.model);
    ck_assert(r.refit_fallback);
    am_search_result_fini(&r);

    /* Cancelled before anything ran: nothing to give back. */
    host_cancel = 1;
    am_diag_clear(&d);
    ck_assert_int_eq(am_search_run(f, COL_TARGET, &o, NULL, &r, &d), AM_ERR_CANCELLED);
    ck_assert_msg(strstr(d.message, "cancelled"), "%s", d.message);
    ck_assert_ptr_null(r.model);
    host_cancel = 0;
    am_frame_free(f);
}
END_TEST

/* A class with fewer rows than folds: the folds shrink to fit it, with a warning. */
START_TEST(test_small_class)
{
    am_frame *f = make_frame(60, 2, 20);
    for (int64_t i = 0; i < 60; i++)
        f->cols[COL_TARGET].codes[i] = i == 7 || i == 30 || i == 44;
    const am_learner_type *ls[] = {need_learner("logreg"), need_learner("constant")};
    am_search_options o = base_options(ls, 2);
    o.cv_folds = 5;
    o.max_trials = 2;
    log_capture cap = {{0}, 0};
    am_logger lg = {capture, &cap};
    am_search_result r;
    am_diag d;
    ck_assert_msg(am_search_run(f, COL_TARGET, &o, &lg, &r, &d) == AM_OK, "%s", d.message);
    ck_assert_msg(strstr(cap.text, "2 the smallest class has only 3 rows: using 3-fold"), "%s",
                  cap.text);
    ck_assert_msg(strstr(cap.text, "3-fold stratified cross-validation on 60 rows"), "%s",
                  cap.text);
    /* Every fold validates on one positive, so AUC is defined for every trial. */
    for (int32_t i = 0; i < r.n_trials; i++)
        ck_assert_int_eq(r.trials[i].status, AM_OK);
    am_search_result_fini(&r);
    am_frame_free(f);
}
END_TEST

/* Out of memory at every allocation in turn: the run fails cleanly with AM_ERR_NOMEM (or
 * succeeds when only trials were hit), and leaks nothing (the sanitizer and valgrind runs
 * check that). */
START_TEST(test_out_of_memory)
{
    am_frame *f = make_frame(40, 0, 21);
    const am_learner_type *ls[] = {need_learner("ridge"), need_learner("constant")};
    am_search_options o = base_options(ls, 2);
    o.max_trials = 3;
    int64_t n_fail = 0;
    bool done = false;
    for (int64_t k = 0; k < 100000 && !done; k++) {
        am_search_result r;
        am_diag d;
        am_diag_clear(&d);
        am_alloc_fail_after(k);
        am_status st = am_search_run(f, COL_TARGET, &o, NULL, &r, &d);
        am_alloc_fail_after(-1);
        ck_assert_msg(st == AM_OK || st == AM_ERR_NOMEM, "k=%lld: %s %s", (long long)k,
                      am_status_name(st), d.message);
        if (st == AM_OK) {
            assert_consistent(&r);
            /* Success with every allocation allowed ends the sweep. */
            done = r.n_trials == 3;
            for (int32_t i = 0; i < r.n_trials; i++)
                done = done && r.trials[i].status == AM_OK;
            am_search_result_fini(&r);
        } else {
            ck_assert_ptr_null(r.model);
            ck_assert_ptr_null(r.trials);
            n_fail++;
        }
    }
    ck_assert(done);
    ck_assert_int_gt(n_fail, 10);
    am_frame_free(f);
}
END_TEST

static Suite *search_suite(void)
{
    Suite *s = suite_create("search");
    TCase *m = tcase_create("metrics");
    tcase_add_test(m, test_metric_names);
    tcase_add_test(m, test_auc_hand);
    tcase_add_test(m, test_auc_oracle);
    tcase_add_test(m, test_log_loss);
    tcase_add_test(m, test_accuracy_f1);
    tcase_add_test(m, test_regression_metrics);
    tcase_add_test(m, test_rank);
    suite_add_tcase(s, m);

    TCase *sp = tcase_create("splits");
    tcase_add_test(sp, test_kfold_regression);
    tcase_add_test(sp, test_kfold_stratified);
    tcase_add_test(sp, test_holdout);
    tcase_add_test(sp, test_split_seed);
    tcase_add_loop_test(sp, test_split_bad, 0, (int)AM_COUNT(bad_splits));
    suite_add_tcase(s, sp);

    TCase *c = tcase_create("controller");
    tcase_set_timeout(c, 60);
    tcase_add_test(c, test_search_binary);
    tcase_add_test(c, test_search_regression);
    tcase_add_test(c, test_search_multiclass);
    tcase_add_test(c, test_search_threads_identical);
    tcase_add_test(c, test_exit_patience);
    tcase_add_test(c, test_exit_score);
    tcase_add_test(c, test_estimator_mode);
    tcase_add_test(c, test_deadline_past);
    tcase_add_test(c, test_deadline_budget);
    tcase_add_test(c, test_failing_trials);
    tcase_add_test(c, test_refit_fallback);
    tcase_add_loop_test(c, test_bad_runs, 0, (int)AM_COUNT(bad_runs));
    tcase_add_test(c, test_logging);
    tcase_add_test(c, test_cancel);
    tcase_add_test(c, test_small_class);
    tcase_add_test(c, test_out_of_memory);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(search_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
