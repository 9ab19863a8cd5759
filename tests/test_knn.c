/* test_knn.c — the k-nearest-neighbours learner (learners/knn.c).
 *
 * The main oracle is an O(n^2) brute-force search written here independently: every distance
 * computed directly, all of them sorted by (distance, row), the first k taken and voted with the
 * documented rule. It runs on data with exact arithmetic (small integers, and +-1 rows for
 * cosine), where ties in distance and duplicate rows are everywhere and the lower row must win
 * bit for bit, and on Gaussian data, where a query whose k-th and (k+1)-th distances are too
 * close to call is skipped. Every case spans more than one query block and one training tile,
 * with sizes that are not multiples of either. The rest: thread-count invariance, save -> load
 * -> identical predictions and bytes, corrupt payloads, cancellation, parameters, out of memory.
 *
 * The distance step's speed was measured outside the suite (timings do not belong in tests),
 * with a program that makes predict's dgemm calls on their own: query blocks of 256 rows
 * against training tiles of 512 rows, 20,000 training x 5,000 query rows x 50 features,
 * OPENBLAS_NUM_THREADS=1, on the development machine. Its core:
 *
 *     for (int q0 = 0; q0 < NQ; q0 += 256)
 *         for (int t0 = 0; t0 < NT; t0 += 512)
 *             cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, MIN(256, NQ - q0),
 *                         MIN(512, NT - t0), P, -2.0, q + q0 * P, P, x + t0 * P, P, 0.0,
 *                         tile, MIN(512, NT - t0));
 *     gflops = 2.0 * NT * NQ * P / seconds / 1e9;
 *
 * Measured with thread CPU time, best of 5, on the 2-core development machine while it was shared
 * with other builds (load ~4): dgemm part 0.69-0.72 s = 13.9-14.4 GFLOP/s, as fast as one large
 * square dgemm there (2000^3: 10.7-13.9 GFLOP/s); the whole predict (euclidean, k=5, 3 classes)
 * 0.87 s, so about 80% of it is the dgemm; cosine 0.91 s; manhattan (no BLAS) 1.98 s. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../learners/knn.h"
#include "learner_testing.h"

enum { METRIC_EUCLIDEAN, METRIC_MANHATTAN, METRIC_COSINE };
enum { WEIGHTS_UNIFORM, WEIGHTS_DISTANCE };
static const char *const metric_names[] = {"euclidean", "manhattan", "cosine"};
static const char *const weights_names[] = {"uniform", "distance"};

/* ---- helpers -------------------------------------------------------------------------------- */

static am_model *knn_fit_ok(const am_fit_args *a)
{
    return lt_fit_ok(&am_learner_knn, a);
}

static am_params knn_params(int64_t k, int weighting, int metric)
{
    char kk[64], ww[64], mm[64];
    snprintf(kk, sizeof(kk), "n_neighbors=%lld", (long long)k);
    snprintf(ww, sizeof(ww), "weights=%s", weights_names[weighting]);
    snprintf(mm, sizeof(mm), "metric=%s", metric_names[metric]);
    const char *items[] = {kk, ww, mm};
    am_params p;
    am_diag d;
    am_diag_clear(&d);
    am_params_defaults(am_learner_knn.params, &p);
    ck_assert_msg(am_params_parse(am_learner_knn.params, items, 3, &p, &d) == AM_OK, "%s",
                  d.message);
    return p;
}

static double *predict_ok(const am_model *m, const am_matrix *x, int32_t n_threads)
{
    double *out = calloc((size_t)(x->n_rows * m->n_outputs) + 1, sizeof(double));
    ck_assert_ptr_nonnull(out);
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_learner_knn.predict(m, x, n_threads, NULL, out, &d);
    ck_assert_msg(st == AM_OK, "knn predict: %s: %s", am_status_name(st), d.message);
    return out;
}

/* Kinds of feature data. GRID and SIGNS make every distance exact in floating point (small
 * integers; cosine on rows whose norms are powers of two), so ties are real ties. */
enum { DATA_GAUSS, DATA_GRID, DATA_SIGNS };

static void make_matrix(am_matrix *x, int64_t n, int64_t p, int kind, am_rng *r)
{
    ck_assert_int_eq(am_matrix_new(x, n, p, NULL), AM_OK);
    for (int64_t i = 0; i < n; i++) {
        /* SIGNS: 4 entries of +-1 (norm 2), some rows doubled (the same direction) and some
         * zero (distance 1 from everything). */
        double scale = kind == DATA_SIGNS ? (double)am_rng_below(r, 8) : 1;
        scale = scale == 0 ? 0 : scale < 3 ? 2 : 1;
        for (int64_t j = 0; j < p; j++) {
            double v = kind == DATA_GAUSS  ? lt_gauss(r)
                       : kind == DATA_GRID ? (double)am_rng_below(r, 3)
                                           : (am_rng_below(r, 2) ? 1.0 : -1.0) * scale;
            AM_AT(x, i, j) = v;
        }
    }
}

static void make_targets(int64_t n, int32_t n_classes, am_rng *r, double *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = n_classes ? (double)am_rng_below(r, n_classes) : 3 * lt_gauss(r);
}

/* Sample weights with some zeros: a zero-weight row still takes a neighbour's place. */
static void make_weights(int64_t n, am_rng *r, double *w)
{
    for (int64_t i = 0; i < n; i++)
        w[i] = am_rng_below(r, 10) == 0 ? 0.0 : 0.5 + 1.5 * am_rng_uniform(r);
}

/* ---- the brute-force oracle ----------------------------------------------------------------- */

typedef struct ranked {
    double d;
    int64_t i;
} ranked;

static int ranked_cmp(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->d != b->d)
        return a->d < b->d ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static double row_dot(const am_matrix *a, int64_t i, const am_matrix *b, int64_t t)
{
    double s = 0;
    for (int64_t j = 0; j < a->n_cols; j++)
        s += AM_AT(a, i, j) * AM_AT(b, t, j);
    return s;
}

/* The distances by their definitions, from the raw rows. */
static double oracle_distance(int metric, const am_matrix *q, int64_t i, const am_matrix *x,
                              int64_t t)
{
    double s = 0;
    switch (metric) {
    case METRIC_EUCLIDEAN:
        for (int64_t j = 0; j < q->n_cols; j++)
            s += (AM_AT(q, i, j) - AM_AT(x, t, j)) * (AM_AT(q, i, j) - AM_AT(x, t, j));
        return sqrt(s);
    case METRIC_MANHATTAN:
        for (int64_t j = 0; j < q->n_cols; j++)
            s += fabs(AM_AT(q, i, j) - AM_AT(x, t, j));
        return s;
    default: {
        /* 1 - cos = ||q/|q| - x/|x|||^2 / 2, in long double: 1 - q.x/(|q||x|) would lose the
         * digits of near neighbours to cancellation. */
        long double nq = sqrtl((long double)row_dot(q, i, q, i));
        long double nx = sqrtl((long double)row_dot(x, t, x, t)), ls = 0;
        if (nq == 0 || nx == 0)
            return 1.0;
        for (int64_t j = 0; j < q->n_cols; j++) {
            long double dj = AM_AT(q, i, j) / nq - AM_AT(x, t, j) / nx;
            ls += dj * dj;
        }
        return fmin((double)(ls / 2), 2.0);
    }
    }
}

typedef struct oracle {
    int metric, weighting;
    int64_t k;
    const am_matrix *x;
    const double *y, *w; /* w NULL: all ones */
    int32_t n_classes;
    ranked *buf; /* x->n_rows */
} oracle;

/* One query's prediction; *unclear is set when the k-th and (k+1)-th distances are within
 * rounding of each other, so the fast search may fairly choose differently. */
static void oracle_predict(const oracle *o, const am_matrix *q, int64_t i, double *out,
                           bool *unclear)
{
    int64_t n = o->x->n_rows, k = o->k < n ? o->k : n;
    for (int64_t t = 0; t < n; t++)
        o->buf[t] = (ranked){oracle_distance(o->metric, q, i, o->x, t), t};
    qsort(o->buf, (size_t)n, sizeof(ranked), ranked_cmp);
    *unclear = k < n && o->buf[k].d - o->buf[k - 1].d <= 1e-9 * (1 + o->buf[k].d);
    double v[64], total = 0;
    ck_assert(k <= 64);
    bool at_zero = false;
    for (int64_t r = 0; r < k; r++)
        at_zero = at_zero || o->buf[r].d == 0;
    for (int64_t r = 0; r < k; r++) {
        double sw = o->w ? o->w[o->buf[r].i] : 1.0;
        if (o->weighting == WEIGHTS_UNIFORM)
            v[r] = sw;
        else
            v[r] = at_zero ? (o->buf[r].d == 0 ? sw : 0.0) : sw / o->buf[r].d;
        total += v[r];
    }
    if (!(total > 0)) { /* every neighbour has weight 0: each counts once */
        for (int64_t r = 0; r < k; r++)
            v[r] = 1;
        total = (double)k;
    }
    int32_t n_out = o->n_classes ? o->n_classes : 1;
    for (int32_t c = 0; c < n_out; c++)
        out[c] = 0;
    for (int64_t r = 0; r < k; r++) {
        double y = o->y[o->buf[r].i];
        if (o->n_classes)
            out[(int)y] += v[r];
        else
            out[0] += v[r] * y;
    }
    for (int32_t c = 0; c < n_out; c++)
        out[c] /= total;
}

/* Oracle cases, one per loop index: metric x exact-or-Gaussian data x weighting x task x
 * sample weights. */
enum { N_TRAIN = 600, N_QUERY = 300 };

START_TEST(test_oracle)
{
    static const int64_t ks[] = {1, 4, 17, 40};
    int i = _i;
    bool weighted = i % 2;
    i /= 2;
    int task_i = i % 3;
    i /= 3;
    int weighting = i % 2;
    i /= 2;
    bool exact = i % 2;
    int metric = i / 2;
    int kind = !exact ? DATA_GAUSS : metric == METRIC_COSINE ? DATA_SIGNS : DATA_GRID;
    int64_t p = kind == DATA_GAUSS ? 6 : kind == DATA_GRID ? 3 : 4;
    int64_t k = ks[(_i / 2) % 4];
    static const am_task tasks[] = {AM_TASK_BINARY, AM_TASK_MULTICLASS, AM_TASK_REGRESSION};
    static const int32_t classes[] = {2, 4, 0};
    am_task task = tasks[task_i];
    int32_t nc = classes[task_i];

    am_rng r;
    am_rng_seed(&r, 1000 + (uint64_t)_i);
    am_matrix x, q;
    make_matrix(&x, N_TRAIN, p, kind, &r);
    make_matrix(&q, N_QUERY, p, kind, &r);
    double y[N_TRAIN], w[N_TRAIN];
    make_targets(N_TRAIN, nc, &r, y);
    make_weights(N_TRAIN, &r, w);
    am_params pa = knn_params(k, weighting, metric);
    am_fit_args a = lt_dense_args(&x, y, weighted ? w : NULL, task, nc, &pa);
    am_model *m = knn_fit_ok(&a);
    ck_assert_int_eq(m->n_outputs, nc ? nc : 1);

    /* The data must cross block and tile boundaries, off their multiples. */
    int64_t qb, tb;
    am_knn_blocks(m, &qb, &tb);
    ck_assert(N_QUERY > qb && N_QUERY % qb != 0 && N_TRAIN > tb && N_TRAIN % tb != 0);

    double *got = predict_ok(m, &q, 1);
    oracle o = {metric, weighting, k, &x, y, weighted ? w : NULL, nc, NULL};
    o.buf = malloc(N_TRAIN * sizeof(ranked));
    int32_t n_out = m->n_outputs;
    int64_t unclear_count = 0;
    double tol = exact ? 1e-12 : 1e-9;
    for (int64_t qi = 0; qi < N_QUERY; qi++) {
        double want[8];
        bool unclear;
        oracle_predict(&o, &q, qi, want, &unclear);
        /* Exact data: ties are real and must be broken exactly as the oracle breaks them, so
         * no query is skipped there. */
        if (unclear && !exact) {
            unclear_count++;
            continue;
        }
        double sum = 0;
        for (int32_t c = 0; c < n_out; c++) {
            double g = got[qi * n_out + c];
            sum += g;
            ck_assert_msg(fabs(g - want[c]) <= tol * (1 + fabs(want[c])),
                          "case %d (%s, %s, k=%lld, %s data): query %lld output %d: %.17g, "
                          "oracle %.17g", _i, metric_names[metric], weights_names[weighting],
                          (long long)k, exact ? "exact" : "Gaussian", (long long)qi, (int)c, g,
                          want[c]);
        }
        if (nc)
            ck_assert_double_eq_tol(sum, 1.0, 1e-12);
    }
    ck_assert_int_le(unclear_count, 3);
    free(o.buf);
    free(got);
    am_model_free(m);
    am_matrix_fini(&x);
    am_matrix_fini(&q);
}
END_TEST

/* ---- ties, duplicates, distance 0 ----------------------------------------------------------- */

/* Duplicate training rows with different targets, k = 1: the lower row wins, whichever comes
 * first in the data and whichever tile each lands in. */
START_TEST(test_tie_lower_row_wins)
{
    int metric = _i;
    enum { N = 700 };
    am_matrix x, q;
    ck_assert_int_eq(am_matrix_new(&x, N, 4, NULL), AM_OK);
    ck_assert_int_eq(am_matrix_new(&q, 1, 4, NULL), AM_OK);
    double y[N];
    /* Every row opposite the query except rows 3, 600 and 650, which equal it. Entries +-1 in 4
     * features keep every metric exact (cosine: unit entries +-0.5), so the tie is a tie. */
    static const double near[4] = {1, -1, 1, 1};
    for (int64_t i = 0; i < N; i++) {
        for (int j = 0; j < 4; j++)
            AM_AT(&x, i, j) = (i == 3 || i == 600 || i == 650) ? near[j] : -3 * near[j];
        y[i] = 0;
    }
    for (int j = 0; j < 4; j++)
        AM_AT(&q, 0, j) = near[j];
    for (int order = 0; order < 2; order++) {
        y[3] = order ? 2 : 1;
        y[600] = order ? 1 : 2;
        y[650] = 0;
        am_params p = knn_params(1, WEIGHTS_UNIFORM, metric);
        am_fit_args a = lt_dense_args(&x, y, NULL, AM_TASK_MULTICLASS, 3, &p);
        am_model *m = knn_fit_ok(&a);
        double *out = predict_ok(m, &q, 1);
        ck_assert(out[(int)y[3]] == 1.0);
        free(out);
        am_model_free(m);
        /* k = 2 takes rows 3 and 600 (not 650), with distance weights too: both at 0. */
        p = knn_params(2, WEIGHTS_DISTANCE, metric);
        a.params = &p;
        m = knn_fit_ok(&a);
        out = predict_ok(m, &q, 2);
        ck_assert(out[1] == 0.5 && out[2] == 0.5 && out[0] == 0);
        free(out);
        am_model_free(m);
    }
    am_matrix_fini(&x);
    am_matrix_fini(&q);
}
END_TEST

/* A query equal to a training row, on Gaussian data where the dgemm form of the distance is not
 * exactly 0: with weights=distance only the rows at distance 0 vote (scikit-learn's rule), here
 * two duplicates weighted by their sample weights. */
START_TEST(test_distance_zero_only)
{
    int metric = _i;
    enum { N = 300, P = 5 };
    am_rng r;
    am_rng_seed(&r, 77 + (uint64_t)_i);
    am_matrix x, q;
    make_matrix(&x, N, P, DATA_GAUSS, &r);
    ck_assert_int_eq(am_matrix_new(&q, 1, P, NULL), AM_OK);
    for (int j = 0; j < P; j++)
        AM_AT(&x, 250, j) = AM_AT(&x, 17, j) = AM_AT(&q, 0, j) = 1.0 / 3.0 + 0.1 * j;
    double y[N], w[N];
    for (int i = 0; i < N; i++) {
        y[i] = 100 + i;
        w[i] = 1;
    }
    y[17] = 2;
    y[250] = 5;
    w[17] = 3;
    am_params p = knn_params(10, WEIGHTS_DISTANCE, metric);
    am_fit_args a = lt_dense_args(&x, y, w, AM_TASK_REGRESSION, 0, &p);
    am_model *m = knn_fit_ok(&a);
    double *out = predict_ok(m, &q, 1);
    ck_assert_msg(out[0] == (3 * 2.0 + 5.0) / 4.0, "%s: %.17g", metric_names[metric], out[0]);
    free(out);
    am_model_free(m);
    am_matrix_fini(&x);
    am_matrix_fini(&q);
}
END_TEST

/* Queries a hair (1e-6) away from pairs of training rows, with weights=distance: the dgemm
 * form of the distance has an absolute error near one ulp of the squared norms, a large relative
 * error at that range, so knn must recompute the chosen neighbours' distances directly to agree
 * with the oracle (which computes every distance by its definition). */
START_TEST(test_near_neighbours_precision)
{
    int metric = _i;
    enum { N = 200, P = 5, NQ = 20 };
    am_rng r;
    am_rng_seed(&r, 90 + (uint64_t)_i);
    am_matrix x, q;
    make_matrix(&x, N, P, DATA_GAUSS, &r);
    ck_assert_int_eq(am_matrix_new(&q, NQ, P, NULL), AM_OK);
    /* Two training rows and the query, all within 1e-6 of each other: the vote between the two
     * depends on the ratio of their tiny distances. */
    for (int i = 0; i < NQ; i++)
        for (int j = 0; j < P; j++) {
            AM_AT(&x, 7 * i + 1, j) = AM_AT(&x, 7 * i, j) + 1e-6 * lt_gauss(&r);
            AM_AT(&q, i, j) = AM_AT(&x, 7 * i, j) + 1e-6 * lt_gauss(&r);
        }
    double y[N];
    make_targets(N, 0, &r, y);
    am_params p = knn_params(3, WEIGHTS_DISTANCE, metric);
    am_fit_args a = lt_dense_args(&x, y, NULL, AM_TASK_REGRESSION, 0, &p);
    am_model *m = knn_fit_ok(&a);
    double *out = predict_ok(m, &q, 1);
    oracle o = {metric, WEIGHTS_DISTANCE, 3, &x, y, NULL, 0, malloc(N * sizeof(ranked))};
    for (int i = 0; i < NQ; i++) {
        double want;
        bool unclear;
        oracle_predict(&o, &q, i, &want, &unclear);
        ck_assert_msg(fabs(out[i] - want) <= 1e-9 * (1 + fabs(want)),
                      "%s: query %d: %.17g, oracle %.17g", metric_names[metric], i, out[i], want);
    }
    free(o.buf);
    free(out);
    am_model_free(m);
    am_matrix_fini(&x);
    am_matrix_fini(&q);
}
END_TEST

/* n_neighbors beyond the training rows uses them all; with uniform weights every query gets
 * the weighted mean of all targets. */
START_TEST(test_k_beyond_rows)
{
    am_matrix x, q;
    am_rng r;
    am_rng_seed(&r, 5);
    make_matrix(&x, 4, 2, DATA_GAUSS, &r);
    make_matrix(&q, 3, 2, DATA_GAUSS, &r);
    double y[4] = {1, 2, 4, 8}, w[4] = {1, 1, 2, 0};
    am_params p = knn_params(100000, WEIGHTS_UNIFORM, METRIC_MANHATTAN);
    am_fit_args a = lt_dense_args(&x, y, w, AM_TASK_REGRESSION, 0, &p);
    am_model *m = knn_fit_ok(&a);
    double *out = predict_ok(m, &q, 1);
    for (int i = 0; i < 3; i++)
        ck_assert_double_eq_tol(out[i], (1 + 2 + 8) / 4.0, 1e-15);
    free(out);
    am_model_free(m);
    /* The three nearest rows all have weight 0: each counts once rather than 0 / 0. */
    double cols[8] = {0, 0, 1, 10, 0, 1, 0, 10}, yc[4] = {0, 1, 1, 0}, wz[4] = {0, 0, 0, 1};
    am_matrix xz = {4, 2, 4, cols, false};
    for (int weighting = 0; weighting < 2; weighting++) {
        p = knn_params(3, weighting, METRIC_EUCLIDEAN);
        a = lt_dense_args(&xz, yc, wz, AM_TASK_BINARY, 2, &p);
        m = knn_fit_ok(&a);
        double row[2] = {0, 0};
        am_matrix one = {1, 2, 1, row, false};
        out = predict_ok(m, &one, 1);
        ck_assert_double_eq_tol(out[0], 1 / 3.0, 1e-15);
        ck_assert_double_eq_tol(out[1], 2 / 3.0, 1e-15);
        free(out);
        am_model_free(m);
    }
    am_matrix_fini(&x);
    am_matrix_fini(&q);
}
END_TEST

/* A query with NaN (not checked by predict): a defined, finite answer, not a crash. */
START_TEST(test_nan_query)
{
    am_matrix x;
    am_rng r;
    am_rng_seed(&r, 6);
    make_matrix(&x, 50, 3, DATA_GAUSS, &r);
    double y[50];
    make_targets(50, 3, &r, y);
    for (int metric = 0; metric < 3; metric++)
        for (int weighting = 0; weighting < 2; weighting++) {
            am_params p = knn_params(5, weighting, metric);
            am_fit_args a = lt_dense_args(&x, y, NULL, AM_TASK_MULTICLASS, 3, &p);
            am_model *m = knn_fit_ok(&a);
            double row[3] = {NAN, 0.5, 0.25};
            am_matrix one = {1, 3, 1, row, false};
            double *out = predict_ok(m, &one, 1);
            ck_assert(isfinite(out[0]) && isfinite(out[1]) && isfinite(out[2]));
            ck_assert_double_eq_tol(out[0] + out[1] + out[2], 1.0, 1e-15);
            free(out);
            am_model_free(m);
        }
    am_matrix_fini(&x);
}
END_TEST

/* ---- determinism ---------------------------------------------------------------------------- */

/* 1 and 2 threads give the same bits, for every metric and weighting, over several blocks. */
START_TEST(test_threads_identical)
{
    int metric = _i / 2, weighting = _i % 2;
    enum { NT = 1300, NQ = 700, P = 9 };
    am_rng r;
    am_rng_seed(&r, 300 + (uint64_t)_i);
    am_matrix x, q;
    make_matrix(&x, NT, P, DATA_GAUSS, &r);
    make_matrix(&q, NQ, P, DATA_GAUSS, &r);
    double *y = malloc(NT * sizeof(double)), *w = malloc(NT * sizeof(double));
    make_targets(NT, 5, &r, y);
    make_weights(NT, &r, w);
    am_params p = knn_params(7, weighting, metric);
    am_fit_args a = lt_dense_args(&x, y, w, AM_TASK_MULTICLASS, 5, &p);
    am_model *m = knn_fit_ok(&a);
    int64_t qb, tb;
    am_knn_blocks(m, &qb, &tb);
    ck_assert(NQ > 2 * qb && NT > 2 * tb);
    double *one = predict_ok(m, &q, 1), *two = predict_ok(m, &q, 2);
    ck_assert(memcmp(one, two, (size_t)NQ * 5 * sizeof(double)) == 0);
    /* The same queries one block-sized slice at a time agree with the whole batch. */
    am_matrix part = q;
    part.data = q.data + 300;
    part.n_rows = 150;
    double *sub = predict_ok(m, &part, 2);
    for (int64_t i = 0; i < 150 * 5; i++)
        ck_assert_double_eq_tol(sub[i], one[300 * 5 + i], 1e-12);
    free(sub);
    free(one);
    free(two);
    free(y);
    free(w);
    am_model_free(m);
    am_matrix_fini(&x);
    am_matrix_fini(&q);
}
END_TEST

/* ---- save / load ---------------------------------------------------------------------------- */

typedef struct saved {
    am_matrix x;
    am_model *m;
    am_buf buf;
} saved;

/* Case i: metric i / 3, task i % 3; weights=distance on odd cases. */
static void saved_make(saved *s, int i, int64_t n)
{
    static const am_task tasks[] = {AM_TASK_BINARY, AM_TASK_MULTICLASS, AM_TASK_REGRESSION};
    static const int32_t classes[] = {2, 3, 0};
    am_rng r;
    am_rng_seed(&r, 400 + (uint64_t)i);
    make_matrix(&s->x, n, 3, DATA_GAUSS, &r);
    double *y = malloc((size_t)n * sizeof(double)), *w = malloc((size_t)n * sizeof(double));
    make_targets(n, classes[i % 3], &r, y);
    make_weights(n, &r, w);
    w[0] = 1; /* never all zero */
    am_params p = knn_params(3, i % 2, i / 3);
    am_fit_args a = lt_dense_args(&s->x, y, w, tasks[i % 3], classes[i % 3], &p);
    s->m = knn_fit_ok(&a);
    am_buf_init(&s->buf);
    ck_assert_int_eq(am_learner_knn.save(s->m, &s->buf, NULL), AM_OK);
    free(y);
    free(w);
}

static void saved_fini(saved *s)
{
    am_model_free(s->m);
    am_matrix_fini(&s->x);
    am_buf_fini(&s->buf);
}

static am_status load_bytes(const uint8_t *data, size_t len, uint32_t version,
                            int64_t n_features, int32_t n_outputs, am_model **out)
{
    am_reader rd;
    am_reader_init(&rd, data, len, "test payload");
    am_diag d;
    am_diag_clear(&d);
    *out = NULL;
    am_status st = am_learner_knn.load(&rd, version, n_features, n_outputs, out, &d);
    if (st != AM_OK) {
        ck_assert_ptr_null(*out);
        ck_assert(d.message[0] != '\0');
    }
    return st;
}

START_TEST(test_save_load_roundtrip)
{
    saved s;
    saved_make(&s, _i, 600);
    am_model *m2 = NULL;
    ck_assert_int_eq(load_bytes(s.buf.data, s.buf.len, 1, 3, s.m->n_outputs, &m2), AM_OK);
    ck_assert_ptr_eq(m2->type, &am_learner_knn);
    double *p1 = predict_ok(s.m, &s.x, 1), *p2 = predict_ok(m2, &s.x, 2);
    ck_assert(memcmp(p1, p2, (size_t)(s.x.n_rows * s.m->n_outputs) * sizeof(double)) == 0);
    am_buf b2;
    am_buf_init(&b2);
    ck_assert_int_eq(am_learner_knn.save(m2, &b2, NULL), AM_OK);
    ck_assert(b2.len == s.buf.len && memcmp(b2.data, s.buf.data, b2.len) == 0);
    am_buf_fini(&b2);
    free(p1);
    free(p2);
    am_model_free(m2);
    saved_fini(&s);
}
END_TEST

START_TEST(test_load_truncated)
{
    saved s;
    saved_make(&s, _i, 12);
    int32_t no = s.m->n_outputs;
    am_model *m2;
    for (size_t len = 0; len < s.buf.len; len++)
        ck_assert_int_eq(load_bytes(s.buf.data, len, 1, 3, no, &m2), AM_ERR_FORMAT);
    ck_assert_int_eq(load_bytes(s.buf.data, s.buf.len, 2, 3, no, &m2), AM_ERR_FORMAT);
    ck_assert_int_eq(load_bytes(s.buf.data, s.buf.len, 1, 4, no, &m2), AM_ERR_FORMAT);
    ck_assert_int_eq(load_bytes(s.buf.data, s.buf.len, 1, 3, no + 1, &m2), AM_ERR_FORMAT);
    ck_assert_int_eq(load_bytes(s.buf.data, s.buf.len, 1, 3, no, &m2), AM_OK);
    am_model_free(m2);
    saved_fini(&s);
}
END_TEST

/* Payload offsets of the model saved by saved_make (3 features, 12 rows). */
enum {
    OFF_CLASSES = 12, OFF_K = 16, OFF_WEIGHTS = 20, OFF_METRIC = 24, OFF_ROWS = 28, OFF_X = 36,
    OFF_Y = OFF_X + 12 * 3 * 8, OFF_W = OFF_Y + 12 * 8
};

static void put_le(uint8_t *at, uint64_t v, int bytes)
{
    for (int b = 0; b < bytes; b++)
        at[b] = (uint8_t)(v >> (8 * b));
}

static uint64_t f64_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
}

/* Crafted payloads: one field set to a bad value each; all refused with AM_ERR_FORMAT. The
 * model is multiclass (3 classes), manhattan, weights=uniform (saved_make case 4). */
static const struct crafted {
    const char *what;
    int offset, bytes;
    uint64_t value;
    bool all_weights; /* write value into every weight */
} crafted[] = {
    {"class count disagrees with the outputs", OFF_CLASSES, 4, 5, false},
    {"one class", OFF_CLASSES, 4, 1, false},
    {"regression saved for 3 outputs", OFF_CLASSES, 4, 0, false},
    {"n_neighbors 0", OFF_K, 4, 0, false},
    {"n_neighbors too large", OFF_K, 4, 100001, false},
    {"unknown weighting", OFF_WEIGHTS, 4, 2, false},
    {"unknown metric", OFF_METRIC, 4, 3, false},
    {"no training rows", OFF_ROWS, 8, 0, false},
    {"negative row count", OFF_ROWS, 8, UINT64_MAX, false},
    {"row count of 2^40", OFF_ROWS, 8, (uint64_t)1 << 40, false},
    {"one row more than present", OFF_ROWS, 8, 13, false},
    {"NaN feature", OFF_X + 8, 8, 0x7ff8000000000000u, false},
    {"infinite feature", OFF_X, 8, 0x7ff0000000000000u, false},
    {"class index 3 of 3", OFF_Y + 16, 8, 0x4008000000000000u /* 3.0 */, false},
    {"class index -1", OFF_Y, 8, 0xbff0000000000000u /* -1.0 */, false},
    {"class index 1.5", OFF_Y + 8, 8, 0x3ff8000000000000u /* 1.5 */, false},
    {"negative weight", OFF_W + 8, 8, 0xbff0000000000000u, false},
    {"infinite weight", OFF_W, 8, 0x7ff0000000000000u, false},
    {"all weights zero", OFF_W, 8, 0, true},
};

START_TEST(test_load_crafted)
{
    const struct crafted *c = &crafted[_i];
    saved s;
    saved_make(&s, 4, 12);
    ck_assert_uint_eq(s.buf.len, (size_t)OFF_W + 12 * 8);
    uint8_t *bad = malloc(s.buf.len);
    memcpy(bad, s.buf.data, s.buf.len);
    for (int r = 0; r < (c->all_weights ? 12 : 1); r++)
        put_le(bad + c->offset + 8 * r, c->value, c->bytes);
    am_model *m2;
    am_status st = load_bytes(bad, s.buf.len, 1, 3, 3, &m2);
    ck_assert_msg(st == AM_ERR_FORMAT, "%s: %s", c->what, am_status_name(st));
    free(bad);
    saved_fini(&s);
}
END_TEST

/* A euclidean model whose saved rows overflow the squared norm is refused too. */
START_TEST(test_load_norm_overflow)
{
    saved s;
    saved_make(&s, 2, 12); /* euclidean, regression */
    uint8_t *bad = malloc(s.buf.len);
    memcpy(bad, s.buf.data, s.buf.len);
    put_le(bad + OFF_X, f64_bits(1e200), 8);
    am_model *m2;
    ck_assert_int_eq(load_bytes(bad, s.buf.len, 1, 3, 1, &m2), AM_ERR_FORMAT);
    /* The same row given to fit is a data error. */
    AM_AT(&s.x, 0, 0) = 1e200;
    double y[12] = {0};
    am_params p = knn_params(3, WEIGHTS_UNIFORM, METRIC_EUCLIDEAN);
    am_fit_args a = lt_dense_args(&s.x, y, NULL, AM_TASK_REGRESSION, 0, &p);
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_fit(&am_learner_knn, &a, &m2, &d), AM_ERR_DATA);
    free(bad);
    saved_fini(&s);
}
END_TEST

/* ---- cancellation, parameters, contract ----------------------------------------------------- */

START_TEST(test_cancel)
{
    saved s;
    saved_make(&s, 1, 600);
    size_t n = (size_t)(s.x.n_rows * s.m->n_outputs);
    double *out = malloc(n * sizeof(double));
    am_diag d;
    am_diag_clear(&d);
    am_stop past = {am_now() - 1.0, NULL};
    for (int32_t threads = 1; threads <= 2; threads++)
        ck_assert_int_eq(am_learner_knn.predict(s.m, &s.x, threads, &past, out, &d),
                         AM_ERR_CANCELLED);
    ck_assert(d.message[0] != '\0');
    volatile int flag = 1;
    am_stop cancel = {INFINITY, &flag};
    ck_assert_int_eq(am_learner_knn.predict(s.m, &s.x, 2, &cancel, out, &d), AM_ERR_CANCELLED);
    flag = 0;
    ck_assert_int_eq(am_learner_knn.predict(s.m, &s.x, 2, &cancel, out, &d), AM_OK);
    free(out);
    saved_fini(&s);
}
END_TEST

START_TEST(test_params)
{
    const am_param_table *t = am_learner_knn.params;
    ck_assert_ptr_eq(am_learner_knn.params, t);
    ck_assert_str_eq(am_learner_knn.name, "knn");
    ck_assert_uint_eq(am_learner_knn.format_version, 1);
    ck_assert_uint_eq(am_learner_knn.needs, AM_NEEDS_SCALED);
    ck_assert_uint_eq(am_learner_knn.tasks,
                      AM_TASK_BINARY | AM_TASK_MULTICLASS | AM_TASK_REGRESSION);
    int32_t ik = am_params_find(t, "n_neighbors"), iw = am_params_find(t, "weights"),
            im = am_params_find(t, "metric");
    ck_assert(ik >= 0 && iw >= 0 && im >= 0);
    am_params p;
    am_params_defaults(t, &p);
    ck_assert(p.v[ik] == 5 && p.v[iw] == WEIGHTS_UNIFORM && p.v[im] == METRIC_EUCLIDEAN);
    am_params_cheap(t, &p);
    ck_assert(p.v[ik] == 5);
    ck_assert(t->desc[ik].flags & AM_PF_LOG);
    am_rng r;
    am_rng_seed(&r, 9);
    for (int i = 0; i < 200; i++) {
        am_params_sample(t, &r, &p);
        ck_assert(p.v[ik] >= 1 && p.v[ik] <= 50 && p.v[ik] == floor(p.v[ik]));
        ck_assert(p.v[iw] == 0 || p.v[iw] == 1);
        ck_assert(p.v[im] >= 0 && p.v[im] <= 2);
    }
    am_diag d;
    am_diag_clear(&d);
    static const char *const bad[] = {"metric=chebyshev", "weights=gaussian", "n_neighbors=0",
                                      "n_neighbors=100001", "n_neighbors=2.5", "k=3"};
    for (size_t i = 0; i < AM_COUNT(bad); i++) {
        am_params_defaults(t, &p);
        ck_assert_msg(am_params_parse(t, &bad[i], 1, &p, &d) == AM_ERR_CONFIG, "%s", bad[i]);
        ck_assert(d.message[0] != '\0');
    }
    am_params_defaults(t, &p);
    const char *metric_bad[] = {"metric=chebyshev"};
    ck_assert_int_eq(am_params_parse(t, metric_bad, 1, &p, &d), AM_ERR_CONFIG);
    ck_assert_msg(strstr(d.message, "cosine") != NULL, "%s", d.message);
    const char *good[] = {"metric=cosine", "weights=distance", "n_neighbors=100000"};
    ck_assert_int_eq(am_params_parse(t, good, 3, &p, &d), AM_OK);
    ck_assert(p.v[im] == METRIC_COSINE && p.v[iw] == WEIGHTS_DISTANCE && p.v[ik] == 100000);
    for (int i = 0; i < t->n; i++)
        ck_assert(t->desc[i].doc && t->desc[i].doc[0]);
    /* Cost grows with the square of the rows. */
    ck_assert_double_eq_tol(am_learner_knn.cost_hint(&p, 2000, 10) /
                                am_learner_knn.cost_hint(&p, 1000, 10), 4.0, 1e-12);
    ck_assert(am_learner_knn.cost_hint(&p, 1000, 20) > am_learner_knn.cost_hint(&p, 1000, 10));
}
END_TEST

/* Bad values that only a direct call of fit (skipping the table check) could pass, bad data,
 * and a prediction with the wrong feature count. */
START_TEST(test_fit_refuses)
{
    am_matrix x;
    am_rng r;
    am_rng_seed(&r, 10);
    make_matrix(&x, 8, 2, DATA_GAUSS, &r);
    double y[8] = {0, 1, 0, 1, 1, 0, 0, 1};
    am_params p = knn_params(3, WEIGHTS_UNIFORM, METRIC_EUCLIDEAN);
    p.v[0] = 0;
    am_fit_args a = lt_dense_args(&x, y, NULL, AM_TASK_BINARY, 2, &p);
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_knn.fit(&a, &m, &d), AM_ERR_CONFIG);
    p = knn_params(3, WEIGHTS_UNIFORM, METRIC_EUCLIDEAN);
    p.v[2] = 7;
    ck_assert_int_eq(am_learner_knn.fit(&a, &m, &d), AM_ERR_CONFIG);
    ck_assert_ptr_null(m);
    p = knn_params(3, WEIGHTS_UNIFORM, METRIC_EUCLIDEAN);
    y[2] = 2;
    ck_assert_int_eq(am_learner_fit(&am_learner_knn, &a, &m, &d), AM_ERR_DATA);
    y[2] = 0;
    AM_AT(&x, 4, 1) = NAN;
    ck_assert_int_eq(am_learner_fit(&am_learner_knn, &a, &m, &d), AM_ERR_DATA);
    ck_assert_ptr_null(m);
    AM_AT(&x, 4, 1) = 0.5;
    am_stop past = {am_now() - 1.0, NULL};
    a.stop = &past;
    ck_assert_int_eq(am_learner_fit(&am_learner_knn, &a, &m, &d), AM_ERR_CANCELLED);
    a.stop = NULL;
    m = knn_fit_ok(&a);
    am_matrix wrong;
    ck_assert_int_eq(am_matrix_new(&wrong, 4, 3, NULL), AM_OK);
    double out[8];
    ck_assert_int_eq(am_learner_knn.predict(m, &wrong, 1, NULL, out, &d), AM_ERR_ARG);
    /* No query rows: nothing to do. */
    am_matrix none = {0, 2, 1, NULL, false};
    ck_assert_int_eq(am_learner_knn.predict(m, &none, 1, NULL, out, &d), AM_OK);
    am_matrix_fini(&wrong);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* No features at all: every row is at distance 0 (euclidean, manhattan) or 1 (cosine) from
 * every query, so the first k rows vote. */
START_TEST(test_no_features)
{
    am_matrix x = {6, 0, 6, NULL, false}, q = {2, 0, 2, NULL, false};
    double y[6] = {1, 2, 3, 4, 5, 6};
    for (int metric = 0; metric < 3; metric++) {
        am_params p = knn_params(2, WEIGHTS_DISTANCE, metric);
        am_fit_args a = lt_dense_args(&x, y, NULL, AM_TASK_REGRESSION, 0, &p);
        am_model *m = knn_fit_ok(&a);
        double *out = predict_ok(m, &q, 1);
        ck_assert(out[0] == 1.5 && out[1] == 1.5);
        free(out);
        am_model_free(m);
    }
}
END_TEST

/* Every allocation failing in turn: fit, load and predict report AM_ERR_NOMEM (and leak
 * nothing, under the sanitizers and valgrind) until they have what they need. */
START_TEST(test_out_of_memory)
{
    saved s;
    saved_make(&s, 6, 30); /* cosine: the load allocates norms too */
    double y[30];
    for (int i = 0; i < 30; i++)
        y[i] = i % 2;
    am_params p = knn_params(3, WEIGHTS_DISTANCE, METRIC_EUCLIDEAN);
    am_fit_args a = lt_dense_args(&s.x, y, NULL, AM_TASK_BINARY, 2, &p);
    am_status st = AM_ERR_NOMEM;
    int64_t k;
    for (k = 0; k < 100 && st != AM_OK; k++) {
        am_model *m = NULL;
        am_alloc_fail_after(k);
        st = am_learner_fit(&am_learner_knn, &a, &m, NULL);
        am_alloc_fail_after(-1);
        ck_assert(st == AM_OK || st == AM_ERR_NOMEM);
        ck_assert(st == AM_OK ? m != NULL : m == NULL);
        am_model_free(m);
    }
    ck_assert_int_eq(st, AM_OK);
    ck_assert(k > 1);
    for (st = AM_ERR_NOMEM, k = 0; k < 100 && st != AM_OK; k++) {
        am_model *m = NULL;
        am_alloc_fail_after(k);
        st = load_bytes(s.buf.data, s.buf.len, 1, 3, s.m->n_outputs, &m);
        am_alloc_fail_after(-1);
        ck_assert(st == AM_OK || st == AM_ERR_NOMEM);
        am_model_free(m);
    }
    ck_assert_int_eq(st, AM_OK);
    double out[30 * 2]; /* binary: two probabilities per row */
    for (st = AM_ERR_NOMEM, k = 0; k < 100 && st != AM_OK; k++) {
        am_alloc_fail_after(k);
        st = am_learner_knn.predict(s.m, &s.x, 1, NULL, out, NULL);
        am_alloc_fail_after(-1);
        ck_assert(st == AM_OK || st == AM_ERR_NOMEM);
    }
    ck_assert_int_eq(st, AM_OK);
    ck_assert(k > 1);
    saved_fini(&s);
}
END_TEST

static Suite *knn_suite(void)
{
    Suite *s = suite_create("knn");
    TCase *tc = tcase_create("oracle");
    tcase_add_loop_test(tc, test_oracle, 0, 3 * 2 * 2 * 3 * 2);
    tcase_add_loop_test(tc, test_tie_lower_row_wins, 0, 3);
    tcase_add_loop_test(tc, test_distance_zero_only, 0, 3);
    tcase_add_loop_test(tc, test_near_neighbours_precision, 0, 3);
    tcase_add_test(tc, test_k_beyond_rows);
    tcase_add_test(tc, test_nan_query);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("determinism");
    tcase_add_loop_test(tc, test_threads_identical, 0, 6);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("save_load");
    tcase_add_loop_test(tc, test_save_load_roundtrip, 0, 9);
    tcase_add_loop_test(tc, test_load_truncated, 0, 9);
    tcase_add_loop_test(tc, test_load_crafted, 0, (int)AM_COUNT(crafted));
    tcase_add_test(tc, test_load_norm_overflow);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("contract");
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_params);
    tcase_add_test(tc, test_fit_refuses);
    tcase_add_test(tc, test_no_features);
    tcase_add_test(tc, test_out_of_memory);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(knn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
