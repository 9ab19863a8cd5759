/* test_ridge.c — the ridge path (many alphas from one factorisation) against the single fit it
 * must reproduce: well-conditioned, ill-conditioned (NIST Longley's raw columns), rank-deficient
 * (duplicated and constant columns, more columns than rows) data, weighted and unweighted, with
 * and without intercept; a quad-precision oracle where the compiler has one; models built from
 * path solutions; the coefficients callback of ridge and elasticnet; bad input. */
#define _GNU_SOURCE
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../learners/elasticnet.h"
#include "../learners/internal.h"
#include "../learners/ridge.h"

/* Ten penalties from none to heavy (the path treats 0 separately: the rank cutoff). */
static const double alphas10[10] = {0, 1e-6, 1e-3, 0.01, 0.1, 1, 10, 100, 1e4, 1e6};
/* The same without the tiny penalty, for exactly collinear columns: there the single fit's
 * augmented least-squares problem has condition number ~ s_1 / sqrt(alpha) and, with a nonzero
 * residual, an error ~ eps s_1^2 / alpha (2e-9 at alpha = 1e-6, measured against quad
 * precision), while the path drops the null direction exactly; path_collinear_quad_oracle
 * checks the path there instead. */
static const double alphas10_collinear[10] = {0, 1e-3, 0.01, 0.1, 1, 10, 100, 1e3, 1e4, 1e6};

/* ---- helpers -------------------------------------------------------------------------------- */

static double gauss(am_rng *r)
{
    double u = am_rng_uniform(r), v = am_rng_uniform(r);
    return sqrt(-2 * log(1 - u)) * cos(6.283185307179586 * v);
}

/* One single fit through the type object; fills coef (p values) and *b. */
static void single_fit(const am_matrix *x, const double *y, const double *w, double alpha,
                       bool intercept, double *coef, double *b)
{
    char a_item[64], i_item[32];
    snprintf(a_item, sizeof(a_item), "alpha=%.17g", alpha);
    snprintf(i_item, sizeof(i_item), "fit_intercept=%s", intercept ? "true" : "false");
    const char *items[] = {a_item, i_item};
    am_params p;
    am_diag d;
    am_diag_clear(&d);
    am_params_defaults(am_learner_ridge.params, &p);
    ck_assert_msg(am_params_parse(am_learner_ridge.params, items, 2, &p, &d) == AM_OK, "%s",
                  d.message);
    am_fit_args a;
    memset(&a, 0, sizeof(a));
    a.x = x;
    a.y = y;
    a.weight = w;
    a.task = AM_TASK_REGRESSION;
    a.params = &p;
    a.seed = 1;
    a.n_threads = 1;
    am_model *m = NULL;
    am_status st = am_learner_fit(&am_learner_ridge, &a, &m, &d);
    ck_assert_msg(st == AM_OK, "ridge fit at alpha=%g: %s", alpha, d.message);
    const double *c;
    am_ridge_coef(m, &c, b);
    memcpy(coef, c, (size_t)x->n_cols * sizeof(double));
    am_model_free(m);
}

static void path_ok(const am_matrix *x, const double *y, const double *w, bool intercept,
                    const double *alphas, int32_t n_alphas, double *coef, double *b)
{
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_ridge_path(x, y, w, intercept, alphas, n_alphas, coef, b, &d);
    ck_assert_msg(st == AM_OK, "ridge path: %s: %s", am_status_name(st), d.message);
}

/* The weighted centred norm of each column: the fit's own column scales. Coefficients are
 * compared as s_j beta_j, each column's contribution to the fit, so that a column with a huge
 * scale (Longley's GNP) and a tiny coefficient counts as much as the others. */
static void column_scales(const am_matrix *x, const double *w, bool centre, double *s)
{
    for (int64_t j = 0; j < x->n_cols; j++) {
        double sw = 0, m = 0, ss = 0;
        for (int64_t i = 0; i < x->n_rows; i++) {
            sw += w ? w[i] : 1;
            m += (w ? w[i] : 1) * AM_AT(x, i, j);
        }
        m = centre ? m / sw : 0;
        for (int64_t i = 0; i < x->n_rows; i++)
            ss += (w ? w[i] : 1) * (AM_AT(x, i, j) - m) * (AM_AT(x, i, j) - m);
        s[j] = ss > 0 ? sqrt(ss) : 1;
    }
}

/* Relative disagreement of two fits: coefficients as s_j beta_j (max norm) and predictions on
 * the training rows (which brings in the intercept), each relative to the reference fit's. */
static double fit_distance(const am_matrix *x, const double *s, const double *c1, double b1,
                           const double *c2, double b2)
{
    double dc = 0, nc = 0, dp = 0, np = 0;
    for (int64_t j = 0; j < x->n_cols; j++) {
        dc = fmax(dc, s[j] * fabs(c1[j] - c2[j]));
        nc = fmax(nc, s[j] * fabs(c2[j]));
    }
    for (int64_t i = 0; i < x->n_rows; i++) {
        double p1 = b1, p2 = b2;
        for (int64_t j = 0; j < x->n_cols; j++) {
            p1 += AM_AT(x, i, j) * c1[j];
            p2 += AM_AT(x, i, j) * c2[j];
        }
        dp = fmax(dp, fabs(p1 - p2));
        np = fmax(np, fabs(p2));
    }
    return fmax(nc > 0 ? dc / nc : dc, np > 0 ? dp / np : dp);
}

/* The path over ten alphas against ten single fits, both intercept settings; returns the
 * worst disagreement. */
static double path_vs_single(const am_matrix *x, const double *y, const double *w,
                             const double *alphas, const char *what)
{
    int64_t p = x->n_cols;
    double *path = calloc((size_t)(p * 10 + 1), sizeof(double));
    double *one = calloc((size_t)p + 1, sizeof(double)), *s = calloc((size_t)p + 1, sizeof(double));
    double bp[10], b1, worst = 0;
    ck_assert(path && one && s);
    for (int centre = 0; centre <= 1; centre++) {
        path_ok(x, y, w, centre, alphas, 10, path, bp);
        column_scales(x, w, centre, s);
        for (int k = 0; k < 10; k++) {
            single_fit(x, y, w, alphas[k], centre, one, &b1);
            double dist = fit_distance(x, s, path + k * p, bp[k], one, b1);
            ck_assert_msg(dist < 1e-10, "%s, %s intercept, alpha=%g: path and single fit differ "
                          "by %.3g", what, centre ? "with" : "without", alphas[k], dist);
            if (!centre)
                ck_assert_double_eq(bp[k], 0.0);
            worst = fmax(worst, dist);
        }
    }
    free(s);
    free(one);
    free(path);
    return worst;
}

static void random_weights(am_rng *r, int64_t n, double *w)
{
    for (int64_t i = 0; i < n; i++)
        w[i] = 0.2 + 1.8 * am_rng_uniform(r);
    w[n / 2] = 0; /* a row that must not count */
}

/* y = x beta + noise with beta_j = j - p/2. */
static void linear_targets(const am_matrix *x, am_rng *r, double noise, double *y)
{
    for (int64_t i = 0; i < x->n_rows; i++) {
        y[i] = 3.0 + noise * gauss(r);
        for (int64_t j = 0; j < x->n_cols; j++)
            y[i] += AM_AT(x, i, j) * ((double)j - (double)x->n_cols / 2);
    }
}

static void load_longley(am_matrix *x, double *y)
{
    FILE *fp = fopen(AM_SOURCE_DIR "/tests/data/learners/longley.csv", "r");
    ck_assert_ptr_nonnull(fp);
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp)); /* header */
    ck_assert_int_eq(am_matrix_new(x, 16, 6, NULL), AM_OK);
    for (int i = 0; i < 16; i++) {
        double v[7];
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
        ck_assert_int_eq(sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2],
                                &v[3], &v[4], &v[5], &v[6]), 7);
        y[i] = v[0];
        for (int j = 0; j < 6; j++)
            AM_AT(x, i, j) = v[j + 1];
    }
    fclose(fp);
}

/* ---- the path against single fits ---------------------------------------------------------- */

START_TEST(path_well_conditioned)
{
    am_rng r;
    am_rng_seed(&r, 11);
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 60, 5, NULL), AM_OK);
    for (int64_t j = 0; j < 5; j++)
        for (int64_t i = 0; i < 60; i++)
            AM_AT(&x, i, j) = gauss(&r) * (1 + (double)j) + (double)j; /* uneven scales */
    double y[60], w[60];
    linear_targets(&x, &r, 0.5, y);
    random_weights(&r, 60, w);
    double a = path_vs_single(&x, y, NULL, alphas10, "well-conditioned");
    double b = path_vs_single(&x, y, w, alphas10, "well-conditioned, weighted");
    printf("ridge path, well-conditioned: worst relative difference %.2g (weighted %.2g)\n", a,
           b);
    am_matrix_fini(&x);
}
END_TEST

START_TEST(path_longley)
{
    am_matrix x;
    double y[16], w[16];
    load_longley(&x, y);
    am_rng r;
    am_rng_seed(&r, 12);
    random_weights(&r, 16, w);
    double a = path_vs_single(&x, y, NULL, alphas10, "Longley");
    double b = path_vs_single(&x, y, w, alphas10, "Longley, weighted");
    printf("ridge path, Longley: worst relative difference %.2g (weighted %.2g)\n", a, b);
    am_matrix_fini(&x);
}
END_TEST

/* 40 x 5 with column 4 a copy of column 1 and column 2 constant. */
static void collinear_data(am_matrix *x, double *y, double *w)
{
    am_rng r;
    am_rng_seed(&r, 13);
    ck_assert_int_eq(am_matrix_new(x, 40, 5, NULL), AM_OK);
    for (int64_t i = 0; i < 40; i++) {
        for (int64_t j = 0; j < 5; j++)
            AM_AT(x, i, j) = gauss(&r);
        AM_AT(x, i, 2) = 7.5;
        AM_AT(x, i, 4) = AM_AT(x, i, 1);
    }
    linear_targets(x, &r, 0.3, y);
    random_weights(&r, 40, w);
}

/* At alpha = 0 both fits must give the minimum-norm solution: the duplicates share their
 * coefficient, the constant column gets none. */
START_TEST(path_rank_deficient)
{
    am_matrix x;
    double y[40], w[40];
    collinear_data(&x, y, w);
    double a = path_vs_single(&x, y, NULL, alphas10_collinear, "duplicated column");
    double b = path_vs_single(&x, y, w, alphas10_collinear, "duplicated column, weighted");
    printf("ridge path, rank-deficient: worst relative difference %.2g (weighted %.2g)\n", a, b);

    double coef[5], b0;
    path_ok(&x, y, NULL, true, alphas10, 1, coef, &b0);
    ck_assert_double_eq_tol(coef[1], coef[4], 1e-12 * fabs(coef[1]));
    ck_assert_double_eq(coef[2], 0.0);
    am_matrix_fini(&x);
}
END_TEST

/* More columns than rows: the other orientation of the SVDs, and rank n at alpha = 0. */
START_TEST(path_wide)
{
    am_rng r;
    am_rng_seed(&r, 14);
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 12, 25, NULL), AM_OK);
    for (int64_t j = 0; j < 25; j++)
        for (int64_t i = 0; i < 12; i++)
            AM_AT(&x, i, j) = gauss(&r) * (1 + 0.3 * (double)j);
    double y[12], w[12];
    linear_targets(&x, &r, 0.1, y);
    random_weights(&r, 12, w);
    double a = path_vs_single(&x, y, NULL, alphas10, "wide");
    double b = path_vs_single(&x, y, w, alphas10, "wide, weighted");
    printf("ridge path, 12 x 25: worst relative difference %.2g (weighted %.2g)\n", a, b);
    am_matrix_fini(&x);
}
END_TEST

#ifdef __SIZEOF_FLOAT128__
/* Ridge (unweighted, with intercept, alpha > 0 or full rank) solved in quad precision by the
 * normal equations: squaring the condition number costs at most 20 of quad's 34 digits here,
 * leaving plenty. The oracle for how accurate the path is, not only whether it agrees with the
 * single fit. */
static void quad_ridge(const am_matrix *x, const double *y, double alpha, double *beta)
{
    enum { PMAX = 8 };
    int n = (int)x->n_rows, p = (int)x->n_cols;
    ck_assert(p <= PMAX);
    __float128 xm[PMAX] = {0}, ym = 0, A[PMAX][PMAX + 1];
    for (int i = 0; i < n; i++)
        ym += y[i];
    ym /= n;
    for (int j = 0; j < p; j++) {
        for (int i = 0; i < n; i++)
            xm[j] += AM_AT(x, i, j);
        xm[j] /= n;
    }
    for (int j = 0; j < p; j++) {
        for (int k = 0; k <= p; k++) {
            __float128 s = 0;
            for (int i = 0; i < n; i++)
                s += ((__float128)AM_AT(x, i, j) - xm[j]) *
                     (k < p ? (__float128)AM_AT(x, i, k) - xm[k] : (__float128)y[i] - ym);
            A[j][k] = s;
        }
        A[j][j] += alpha;
    }
    /* Symmetric positive definite: elimination without pivoting is stable. */
    for (int c = 0; c < p; c++)
        for (int r = c + 1; r < p; r++) {
            __float128 f = A[r][c] / A[c][c];
            for (int k = c; k <= p; k++)
                A[r][k] -= f * A[c][k];
        }
    __float128 b[PMAX];
    for (int c = p - 1; c >= 0; c--) {
        __float128 s = A[c][p];
        for (int k = c + 1; k < p; k++)
            s -= A[c][k] * b[k];
        b[c] = s / A[c][c];
        beta[c] = (double)b[c];
    }
}

/* Worst coefficient error of the path against the oracle, relative to the largest
 * coefficient: componentwise when `componentwise`, so that every Longley coefficient (they
 * span five orders of magnitude) must be right on its own. */
static double path_vs_quad(const am_matrix *x, const double *y, const double *alphas, int n_a,
                           bool componentwise)
{
    int p = (int)x->n_cols;
    double coef[8 * 10], b[10], ref[8], worst = 0;
    ck_assert(p <= 8 && n_a <= 10);
    path_ok(x, y, NULL, true, alphas, n_a, coef, b);
    for (int k = 0; k < n_a; k++) {
        quad_ridge(x, y, alphas[k], ref);
        double big = 0;
        for (int j = 0; j < p; j++)
            big = fmax(big, fabs(ref[j]));
        for (int j = 0; j < p; j++) {
            double rel = fabs(coef[k * p + j] - ref[j]) / (componentwise ? fabs(ref[j]) : big);
            ck_assert_msg(rel < 1e-10, "alpha=%g coefficient %d: %.17g vs %.17g", alphas[k], j,
                          coef[k * p + j], ref[j]);
            worst = fmax(worst, rel);
        }
    }
    return worst;
}

START_TEST(path_longley_quad_oracle)
{
    am_matrix x;
    double y[16];
    load_longley(&x, y);
    double worst = path_vs_quad(&x, y, alphas10, 10, true);
    printf("ridge path, Longley: worst coefficient vs quad precision %.2g\n", worst);
    am_matrix_fini(&x);
}
END_TEST

/* Tiny penalties on exactly collinear columns, where the single fit loses digits. */
START_TEST(path_collinear_quad_oracle)
{
    am_matrix x;
    double y[40], w[40];
    collinear_data(&x, y, w);
    const double tiny[3] = {1e-10, 1e-8, 1e-6};
    double worst = path_vs_quad(&x, y, tiny, 3, false);
    printf("ridge path, collinear, alpha 1e-10..1e-6: worst vs quad precision %.2g\n", worst);
    am_matrix_fini(&x);
}
END_TEST
#endif

/* Order and repeats of the alphas change nothing, bit for bit. */
START_TEST(path_order_independent)
{
    am_rng r;
    am_rng_seed(&r, 15);
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 30, 4, NULL), AM_OK);
    for (int64_t j = 0; j < 4; j++)
        for (int64_t i = 0; i < 30; i++)
            AM_AT(&x, i, j) = gauss(&r);
    double y[30];
    linear_targets(&x, &r, 1.0, y);
    double fwd[40], rev[48], bf[10], br[12], ralpha[12];
    for (int k = 0; k < 10; k++)
        ralpha[k] = alphas10[9 - k];
    ralpha[10] = 1.0;
    ralpha[11] = 0.0;
    path_ok(&x, y, NULL, true, alphas10, 10, fwd, bf);
    path_ok(&x, y, NULL, true, ralpha, 12, rev, br);
    for (int k = 0; k < 10; k++) {
        ck_assert(memcmp(fwd + 4 * k, rev + 4 * (9 - k), 4 * sizeof(double)) == 0);
        ck_assert(bf[k] == br[9 - k]);
    }
    ck_assert(memcmp(rev + 40, fwd + 4 * 5, 4 * sizeof(double)) == 0);
    ck_assert(memcmp(rev + 44, fwd, 4 * sizeof(double)) == 0);
    am_matrix_fini(&x);
}
END_TEST

/* No features, or only constant ones: the intercept alone, the weighted mean of y at every
 * alpha. */
START_TEST(path_no_features)
{
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 3, 0, NULL), AM_OK);
    double y[3] = {1, 2, 6}, w[3] = {1, 1, 2}, b[2], dummy[1];
    path_ok(&x, y, w, true, alphas10, 2, dummy, b);
    ck_assert_double_eq_tol(b[0], 15.0 / 4.0, 1e-15);
    ck_assert_double_eq_tol(b[1], 15.0 / 4.0, 1e-15);
    path_ok(&x, y, w, false, alphas10, 2, dummy, b);
    ck_assert_double_eq(b[1], 0.0);
    am_matrix_fini(&x);

    /* Only constant columns: rank 0, so no coefficient at any alpha, as the single fit. */
    ck_assert_int_eq(am_matrix_new(&x, 3, 2, NULL), AM_OK);
    for (int i = 0; i < 3; i++) {
        AM_AT(&x, i, 0) = 4.0;
        AM_AT(&x, i, 1) = -1.5;
    }
    double coef[4], one[2], b1;
    path_ok(&x, y, w, true, alphas10, 2, coef, b);
    for (int k = 0; k < 2; k++) {
        single_fit(&x, y, w, alphas10[k], true, one, &b1);
        ck_assert(coef[2 * k] == 0 && coef[2 * k + 1] == 0 && one[0] == 0 && one[1] == 0);
        ck_assert_double_eq_tol(b[k], b1, 1e-15);
        ck_assert_double_eq_tol(b[k], 15.0 / 4.0, 1e-15);
    }
    am_matrix_fini(&x);
}
END_TEST

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The use the path is for: many trials on one fold. 200 alphas, each equal to its single fit;
 * both timings are printed (not asserted: the machine's load is not ours to control). */
START_TEST(path_200_alphas)
{
    enum { N = 400, P = 30, K = 200 };
    am_rng r;
    am_rng_seed(&r, 16);
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, N, P, NULL), AM_OK);
    for (int64_t j = 0; j < P; j++)
        for (int64_t i = 0; i < N; i++)
            AM_AT(&x, i, j) = gauss(&r) + 0.5 * (j ? AM_AT(&x, i, j - 1) : 0);
    static double y[N], w[N], alphas[K], path[K * P], bp[K], one[P];
    linear_targets(&x, &r, 2.0, y);
    random_weights(&r, N, w);
    for (int k = 0; k < K; k++)
        alphas[k] = k == 0 ? 0.0 : pow(10.0, -4.0 + 10.0 * (double)k / (double)K);
    double t0 = seconds_now();
    path_ok(&x, y, w, true, alphas, K, path, bp);
    double t1 = seconds_now();
    double s[P], worst = 0;
    column_scales(&x, w, true, s);
    double t_single = 0;
    for (int k = 0; k < K; k++) {
        double b1, t2 = seconds_now();
        single_fit(&x, y, w, alphas[k], true, one, &b1);
        t_single += seconds_now() - t2;
        double dist = fit_distance(&x, s, path + k * P, bp[k], one, b1);
        ck_assert_msg(dist < 1e-10, "alpha=%g: path and single fit differ by %.3g", alphas[k],
                      dist);
        worst = fmax(worst, dist);
    }
    printf("ridge path, %d x %d, %d alphas: %.2f ms; %d single fits: %.1f ms (%.0fx); worst "
           "relative difference %.2g\n", N, P, K, 1e3 * (t1 - t0), K, 1e3 * t_single,
           t_single / (t1 - t0), worst);
    am_matrix_fini(&x);
}
END_TEST

/* ---- models from path solutions, and the coefficients callback ------------------------------ */

START_TEST(model_from_path_predicts_like_a_fit)
{
    am_rng r;
    am_rng_seed(&r, 17);
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 25, 3, NULL), AM_OK);
    for (int64_t j = 0; j < 3; j++)
        for (int64_t i = 0; i < 25; i++)
            AM_AT(&x, i, j) = gauss(&r);
    double y[25], coef[3], b, pred[25];
    linear_targets(&x, &r, 0.5, y);
    double alpha = 2.5;
    path_ok(&x, y, NULL, true, &alpha, 1, coef, &b);
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_ridge_model_new(3, coef, b, &m, &d), AM_OK);
    ck_assert_ptr_eq(m->type, &am_learner_ridge);
    ck_assert_int_eq(m->n_outputs, 1);
    ck_assert_int_eq(m->type->predict(m, &x, 1, NULL, pred, &d), AM_OK);
    for (int64_t i = 0; i < 25; i++) {
        double want = b;
        for (int j = 0; j < 3; j++)
            want += AM_AT(&x, i, j) * coef[j];
        ck_assert_double_eq_tol(pred[i], want, 1e-12 * (1 + fabs(want)));
    }
    /* It saves and loads like a fitted one. */
    am_buf buf;
    am_buf_init(&buf);
    ck_assert_int_eq(m->type->save(m, &buf, &d), AM_OK);
    am_reader rd;
    am_reader_init(&rd, buf.data, buf.len, "ridge payload");
    am_model *m2 = NULL;
    ck_assert_int_eq(am_learner_ridge.load(&rd, 1, 3, 1, &m2, &d), AM_OK);
    const double *c2;
    double b2;
    am_ridge_coef(m2, &c2, &b2);
    ck_assert(memcmp(c2, coef, sizeof(coef)) == 0 && b2 == b);
    am_buf_fini(&buf);
    am_model_free(m2);
    am_model_free(m);

    double bad[3] = {1, NAN, 2};
    m = NULL;
    ck_assert_int_eq(am_ridge_model_new(3, bad, 0, &m, &d), AM_ERR_DATA);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(am_ridge_model_new(-1, coef, 0, &m, &d), AM_ERR_ARG);
    ck_assert_int_eq(am_ridge_model_new(3, NULL, 0, &m, &d), AM_ERR_ARG);
    am_matrix_fini(&x);
}
END_TEST

/* ridge and elasticnet report one column of coefficients, equal to what they fitted; a query
 * with NULL buffers returns k alone. */
START_TEST(coefficients_callback)
{
    am_rng r;
    am_rng_seed(&r, 18);
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 30, 4, NULL), AM_OK);
    for (int64_t j = 0; j < 4; j++)
        for (int64_t i = 0; i < 30; i++)
            AM_AT(&x, i, j) = gauss(&r);
    double y[30];
    linear_targets(&x, &r, 0.5, y);
    const am_learner_type *types[2] = {&am_learner_ridge, &am_learner_elasticnet};
    for (int t = 0; t < 2; t++) {
        am_params p;
        am_diag d;
        am_diag_clear(&d);
        const char *items[] = {"alpha=0.01"};
        am_params_defaults(types[t]->params, &p);
        ck_assert_int_eq(am_params_parse(types[t]->params, items, 1, &p, &d), AM_OK);
        am_fit_args a;
        memset(&a, 0, sizeof(a));
        a.x = &x;
        a.y = y;
        a.task = AM_TASK_REGRESSION;
        a.params = &p;
        a.n_threads = 1;
        am_model *m = NULL;
        ck_assert_msg(am_learner_fit(types[t], &a, &m, &d) == AM_OK, "%s", d.message);
        ck_assert_ptr_nonnull(types[t]->coefficients);
        ck_assert_int_eq(types[t]->coefficients(m, NULL, NULL), 1);
        double coef[4] = {0}, b = 0;
        ck_assert_int_eq(types[t]->coefficients(m, coef, &b), 1);
        const double *want;
        double want_b;
        if (t == 0)
            am_ridge_coef(m, &want, &want_b);
        else
            am_elasticnet_coef(m, &want, &want_b);
        ck_assert(memcmp(coef, want, sizeof(coef)) == 0);
        ck_assert(b == want_b);
        ck_assert(fabs(coef[3] - 1.0) < 0.5); /* the fit found the planted slope */
        am_model_free(m);
    }
    am_matrix_fini(&x);
}
END_TEST

/* ---- bad input ------------------------------------------------------------------------------ */

typedef struct bad_case {
    const char *what;
    am_status status;
    const char *message;
} bad_case;

static const bad_case bad_cases[] = {
    {"negative alpha", AM_ERR_CONFIG, "alphas[1]=-1"},
    {"NaN alpha", AM_ERR_CONFIG, "alphas[1]=nan"},
    {"infinite alpha", AM_ERR_CONFIG, "alphas[1]=inf"},
    {"no alpha array", AM_ERR_ARG, "without their arrays"},
    {"negative count", AM_ERR_ARG, "without their arrays"},
    {"NaN feature", AM_ERR_DATA, "not finite"},
    {"NaN target", AM_ERR_DATA, "row 3"},
    {"negative weight", AM_ERR_DATA, "row 2"},
    {"zero weights", AM_ERR_DATA, "weight"},
    {"no x", AM_ERR_ARG, "ridge path"},
};

START_TEST(path_bad_input)
{
    const bad_case *c = &bad_cases[_i];
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 4, 2, NULL), AM_OK);
    for (int64_t i = 0; i < 4; i++) {
        AM_AT(&x, i, 0) = (double)i;
        AM_AT(&x, i, 1) = (double)(i * i);
    }
    double y[4] = {1, 2, 3, 5}, w[4] = {1, 1, 1, 1}, zero[4] = {0};
    double alphas[2] = {1, 2}, coef[4] = {0}, b[2] = {0};
    const double *wp = NULL, *ap = alphas;
    const am_matrix *xp = &x;
    int32_t n_alphas = 2;
    switch (_i) {
    case 0: alphas[1] = -1; break;
    case 1: alphas[1] = NAN; break;
    case 2: alphas[1] = INFINITY; break;
    case 3: ap = NULL; break;
    case 4: n_alphas = -1; break;
    case 5: AM_AT(&x, 2, 1) = NAN; break;
    case 6: y[2] = NAN; break;
    case 7: w[1] = -1; wp = w; break;
    case 8: wp = zero; break;
    case 9: xp = NULL; break;
    }
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_ridge_path(xp, y, wp, true, ap, n_alphas, coef, b, &d);
    ck_assert_msg(st == c->status, "%s: %s (%s)", c->what, am_status_name(st), d.message);
    ck_assert_msg(strstr(d.message, c->message), "%s: message \"%s\" lacks \"%s\"", c->what,
                  d.message, c->message);
    am_matrix_fini(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ridge");
    TCase *tc = tcase_create("path");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, path_well_conditioned);
    tcase_add_test(tc, path_longley);
    tcase_add_test(tc, path_rank_deficient);
    tcase_add_test(tc, path_wide);
#ifdef __SIZEOF_FLOAT128__
    tcase_add_test(tc, path_longley_quad_oracle);
    tcase_add_test(tc, path_collinear_quad_oracle);
#endif
    tcase_add_test(tc, path_order_independent);
    tcase_add_test(tc, path_no_features);
    tcase_add_test(tc, path_200_alphas);
    tcase_add_test(tc, model_from_path_predicts_like_a_fit);
    tcase_add_test(tc, coefficients_callback);
    tcase_add_loop_test(tc, path_bad_input, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
