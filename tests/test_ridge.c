/* test_ridge.c — the ridge path (many alphas from one factorisation) against the single fit it
 * must reproduce: well-conditioned, ill-conditioned (NIST Longley's raw columns), rank-deficient
 * (duplicated and constant columns, more columns than rows) data, weighted and unweighted, with
 * and without intercept; a quad-precision oracle where the compiler has one; models built from
 * path solutions; the coefficients callback of ridge and elasticnet; bad input. The single
 * fit's solvers: Cholesky (primal and dual forms) against the SVD, the fallback to the SVD on
 * ill-conditioned problems, the same bits on 1 and 2 threads, out of memory. */
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

/* ---- the single fit's solvers: Cholesky (primal, dual) against the SVD ---------------------- */

/* Provided by OpenBLAS; the tests set the BLAS thread count as the search controller does. */
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);

typedef struct fit_out {
    double *coef; /* p values (caller's) */
    double b;
    am_ridge_info info;
} fit_out;

/* One fit with the solver forced (AM_RIDGE_AUTO: the type object's choice); returns the status,
 * filling *o on success. */
static am_status fit_solver_threads(const am_matrix *x, const double *y, const double *w,
                                    double alpha, bool intercept, am_ridge_solver solver,
                                    int32_t n_threads, fit_out *o, am_diag *d)
{
    char a_item[64], i_item[32];
    snprintf(a_item, sizeof(a_item), "alpha=%.17g", alpha);
    snprintf(i_item, sizeof(i_item), "fit_intercept=%s", intercept ? "true" : "false");
    const char *items[] = {a_item, i_item};
    am_params p;
    am_diag_clear(d);
    am_params_defaults(am_learner_ridge.params, &p);
    ck_assert_msg(am_params_parse(am_learner_ridge.params, items, 2, &p, d) == AM_OK, "%s",
                  d->message);
    am_fit_args a;
    memset(&a, 0, sizeof(a));
    a.x = x;
    a.y = y;
    a.weight = w;
    a.task = AM_TASK_REGRESSION;
    a.params = &p;
    a.seed = 1;
    a.n_threads = n_threads;
    am_model *m = NULL;
    am_status st = am_ridge_fit_solver(&a, solver, &m, d);
    if (st != AM_OK) {
        ck_assert_ptr_null(m);
        return st;
    }
    const double *c;
    am_ridge_coef(m, &c, &o->b);
    memcpy(o->coef, c, (size_t)x->n_cols * sizeof(double));
    o->info = am_ridge_fit_info(m);
    am_model_free(m);
    return AM_OK;
}

static am_status fit_solver(const am_matrix *x, const double *y, const double *w, double alpha,
                            bool intercept, am_ridge_solver solver, fit_out *o, am_diag *d)
{
    return fit_solver_threads(x, y, w, alpha, intercept, solver, 1, o, d);
}

static void fit_solver_ok(const am_matrix *x, const double *y, const double *w, double alpha,
                          bool intercept, am_ridge_solver solver, fit_out *o)
{
    am_diag d;
    am_status st = fit_solver(x, y, w, alpha, intercept, solver, o, &d);
    ck_assert_msg(st == AM_OK, "ridge fit (solver %d, alpha=%g): %s: %s", (int)solver, alpha,
                  am_status_name(st), d.message);
}

static fit_out fit_out_new(int64_t p)
{
    fit_out o;
    memset(&o, 0, sizeof(o));
    o.coef = calloc((size_t)p + 1, sizeof(double));
    ck_assert_ptr_nonnull(o.coef);
    return o;
}

/* n x p with uneven scales and offsets, correlated neighbours: well conditioned once centred
 * and scaled, but not trivially so. */
static void uneven_data(am_matrix *x, int64_t n, int64_t p, uint64_t seed, double *y, double *w)
{
    am_rng r;
    am_rng_seed(&r, seed);
    ck_assert_int_eq(am_matrix_new(x, n, p, NULL), AM_OK);
    for (int64_t j = 0; j < p; j++) {
        double scale = pow(10.0, (double)(j % 4) - 1.0), offset = 5.0 * (double)(j % 3);
        double prev_scale = pow(10.0, (double)((j + 3) % 4) - 1.0);
        double prev_offset = 5.0 * (double)((j + 2) % 3);
        for (int64_t i = 0; i < n; i++) {
            double z = gauss(&r);
            if (j > 0)
                z += 0.4 * (AM_AT(x, i, j - 1) - prev_offset) / prev_scale;
            AM_AT(x, i, j) = z * scale + offset;
        }
    }
    linear_targets(x, &r, 0.7, y);
    random_weights(&r, n, w);
}

/* The automatic choice against the forced SVD over alphas and both intercept settings; checks
 * that the automatic fit used `want` and returns the worst relative difference. */
static double auto_vs_svd(const am_matrix *x, const double *y, const double *w,
                          const double *alphas, int n_alphas, am_ridge_solver want, double tol,
                          const char *what)
{
    int64_t p = x->n_cols;
    fit_out fa = fit_out_new(p), fs = fit_out_new(p);
    double *s = calloc((size_t)p + 1, sizeof(double)), worst = 0;
    ck_assert_ptr_nonnull(s);
    for (int centre = 0; centre <= 1; centre++) {
        column_scales(x, w, centre, s);
        for (int k = 0; k < n_alphas; k++) {
            fit_solver_ok(x, y, w, alphas[k], centre, AM_RIDGE_AUTO, &fa);
            fit_solver_ok(x, y, w, alphas[k], centre, AM_RIDGE_SVD, &fs);
            ck_assert_msg(fa.info.solver == want && fa.info.tried == want,
                          "%s, alpha=%g: solved by %d (tried %d, rcond %.3g), expected %d", what,
                          alphas[k], (int)fa.info.solver, (int)fa.info.tried, fa.info.rcond,
                          (int)want);
            ck_assert(fa.info.rcond >= AM_RIDGE_RCOND_MIN);
            ck_assert(fs.info.solver == AM_RIDGE_SVD && fs.info.tried == AM_RIDGE_AUTO);
            double dist = fit_distance(x, s, fa.coef, fa.b, fs.coef, fs.b);
            ck_assert_msg(dist < tol, "%s, %s intercept, alpha=%g: Cholesky and SVD differ by "
                          "%.3g", what, centre ? "with" : "without", alphas[k], dist);
            if (!centre)
                ck_assert(fa.b == 0.0);
            worst = fmax(worst, dist);
        }
    }
    free(s);
    free(fs.coef);
    free(fa.coef);
    return worst;
}

static const double alphas_chol[6] = {1e-3, 0.1, 1, 10, 1e3, 1e6};

START_TEST(cholesky_matches_svd)
{
    enum { N = 300, P = 7 };
    am_matrix x;
    double y[N], w[N];
    uneven_data(&x, N, P, 21, y, w);
    double a = auto_vs_svd(&x, y, NULL, alphas_chol, 6, AM_RIDGE_PRIMAL, 1e-11, "tall");
    double b = auto_vs_svd(&x, y, w, alphas_chol, 6, AM_RIDGE_PRIMAL, 1e-11, "tall, weighted");
    printf("ridge Cholesky (primal) vs SVD, %d x %d: worst relative difference %.2g "
           "(weighted %.2g)\n", N, P, a, b);
    am_matrix_fini(&x);
}
END_TEST

START_TEST(dual_matches_svd)
{
    enum { N = 30, P = 80 };
    am_matrix x;
    double y[N], w[N];
    uneven_data(&x, N, P, 22, y, w);
    double a = auto_vs_svd(&x, y, NULL, alphas_chol, 6, AM_RIDGE_DUAL, 1e-10, "wide");
    double b = auto_vs_svd(&x, y, w, alphas_chol, 6, AM_RIDGE_DUAL, 1e-10, "wide, weighted");
    printf("ridge Cholesky (dual) vs SVD, %d x %d: worst relative difference %.2g (weighted "
           "%.2g)\n", N, P, a, b);
    am_matrix_fini(&x);
}
END_TEST

/* Subtracts each column's mean. */
static void centre_columns(am_matrix *x)
{
    for (int64_t j = 0; j < x->n_cols; j++) {
        double m = 0;
        for (int64_t i = 0; i < x->n_rows; i++)
            m += AM_AT(x, i, j) / (double)x->n_rows;
        for (int64_t i = 0; i < x->n_rows; i++)
            AM_AT(x, i, j) -= m;
    }
}

/* Unit weights and columns near centred (means up to 0.7 sd, close to where the copy takes over)
 * take the primal form without the centred copy; it agrees with the SVD as closely as the copy
 * does, with and without an intercept. */
START_TEST(uncopied_primal_matches_svd)
{
    enum { N = 400, P = 9 };
    am_matrix x;
    double y[N], w[N];
    uneven_data(&x, N, P, 23, y, w);
    centre_columns(&x);
    for (int64_t j = 0; j < P; j++) { /* offsets of 0.7 sd instead of uneven_data's */
        double ss = 0;
        for (int64_t i = 0; i < N; i++)
            ss += AM_AT(&x, i, j) * AM_AT(&x, i, j) / N;
        for (int64_t i = 0; i < N; i++)
            AM_AT(&x, i, j) += 0.7 * sqrt(ss);
    }
    double worst =
        auto_vs_svd(&x, y, NULL, alphas_chol, 6, AM_RIDGE_PRIMAL, 1e-11, "near centred");
    fit_out fa = fit_out_new(P);
    fit_solver_ok(&x, y, NULL, 1.0, true, AM_RIDGE_AUTO, &fa);
    ck_assert_msg(!fa.info.copied, "unit weights, columns near centred: no copy expected");
    fit_solver_ok(&x, y, w, 1.0, true, AM_RIDGE_AUTO, &fa);
    ck_assert_msg(fa.info.copied, "weights: the copy expected");
    for (int64_t i = 0; i < N; i++) /* one column far from centred */
        AM_AT(&x, i, 3) += 100.0;
    fit_solver_ok(&x, y, NULL, 1.0, true, AM_RIDGE_AUTO, &fa);
    ck_assert_msg(fa.info.copied, "a column with a large mean: the copy expected");
    printf("ridge primal without the centred copy vs SVD: worst relative difference %.2g\n",
           worst);
    free(fa.coef);
    am_matrix_fini(&x);
}
END_TEST

/* Either form may be forced for either shape, and they agree; the primal form at alpha = 0 is
 * ordinary least squares by the normal equations, fine on well-conditioned data. */
START_TEST(primal_and_dual_agree)
{
    static const int64_t shapes[2][2] = {{50, 8}, {12, 20}};
    double worst = 0;
    for (int sh = 0; sh < 2; sh++) {
        int64_t n = shapes[sh][0], p = shapes[sh][1];
        am_matrix x;
        double y[50], w[50], s[20];
        uneven_data(&x, n, p, 23 + (uint64_t)sh, y, w);
        fit_out fp = fit_out_new(p), fd = fit_out_new(p), fs = fit_out_new(p);
        for (int weighted = 0; weighted <= 1; weighted++) {
            const double *wp = weighted ? w : NULL;
            column_scales(&x, wp, true, s);
            fit_solver_ok(&x, y, wp, 0.5, true, AM_RIDGE_PRIMAL, &fp);
            fit_solver_ok(&x, y, wp, 0.5, true, AM_RIDGE_DUAL, &fd);
            ck_assert(fp.info.solver == AM_RIDGE_PRIMAL && fd.info.solver == AM_RIDGE_DUAL);
            double dist = fit_distance(&x, s, fd.coef, fd.b, fp.coef, fp.b);
            ck_assert_msg(dist < 1e-10, "%lld x %lld: primal and dual differ by %.3g",
                          (long long)n, (long long)p, dist);
            worst = fmax(worst, dist);
        }
        if (p < n) {
            column_scales(&x, NULL, true, s);
            fit_solver_ok(&x, y, NULL, 0.0, true, AM_RIDGE_PRIMAL, &fp);
            fit_solver_ok(&x, y, NULL, 0.0, true, AM_RIDGE_SVD, &fs);
            double dist = fit_distance(&x, s, fp.coef, fp.b, fs.coef, fs.b);
            ck_assert_msg(dist < 1e-10, "OLS by normal equations vs SVD: %.3g", dist);
            worst = fmax(worst, dist);
        }
        free(fs.coef);
        free(fd.coef);
        free(fp.coef);
        am_matrix_fini(&x);
    }
    printf("ridge primal vs dual forms (and OLS by normal equations vs SVD): worst %.2g\n",
           worst);
}
END_TEST

/* Several blocks of the factorisation (64 columns each, the last one partial), both forms,
 * against the SVD. */
START_TEST(blocked_factorisation)
{
    static const int64_t shapes[2][2] = {{400, 150}, {150, 300}};
    static const am_ridge_solver want[2] = {AM_RIDGE_PRIMAL, AM_RIDGE_DUAL};
    static const double alphas[2] = {1e-2, 1.0};
    for (int sh = 0; sh < 2; sh++) {
        am_matrix x;
        double y[400], w[400];
        uneven_data(&x, shapes[sh][0], shapes[sh][1], 30 + (uint64_t)sh, y, w);
        double a = auto_vs_svd(&x, y, w, alphas, 2, want[sh], 1e-10, "blocked");
        printf("ridge Cholesky (%s), %lld x %lld: worst relative difference from the SVD %.2g\n",
               sh ? "dual" : "primal", (long long)shapes[sh][0], (long long)shapes[sh][1], a);
        am_matrix_fini(&x);
    }
}
END_TEST

/* alpha = 0 always takes the SVD (rank cutoff, minimum-norm solution), nothing tried first. */
START_TEST(alpha_zero_uses_svd)
{
    am_matrix x;
    double y[40], w[40];
    collinear_data(&x, y, w);
    fit_out fa = fit_out_new(5), fs = fit_out_new(5);
    fit_solver_ok(&x, y, w, 0.0, true, AM_RIDGE_AUTO, &fa);
    fit_solver_ok(&x, y, w, 0.0, true, AM_RIDGE_SVD, &fs);
    ck_assert(fa.info.solver == AM_RIDGE_SVD && fa.info.tried == AM_RIDGE_AUTO);
    ck_assert(fa.info.rcond == 0.0);
    ck_assert(memcmp(fa.coef, fs.coef, 5 * sizeof(double)) == 0 && fa.b == fs.b);
    free(fs.coef);
    free(fa.coef);
    am_matrix_fini(&x);
}
END_TEST

/* The automatic choice at alpha on (x, y, w): tried `form`, refused it (rcond below the
 * threshold) and returned the SVD's solution bit for bit. */
static void assert_falls_back(const am_matrix *x, const double *y, const double *w, double alpha,
                              am_ridge_solver form, const char *what)
{
    int64_t p = x->n_cols;
    fit_out fa = fit_out_new(p), fs = fit_out_new(p);
    for (int centre = 0; centre <= 1; centre++) {
        fit_solver_ok(x, y, w, alpha, centre, AM_RIDGE_AUTO, &fa);
        fit_solver_ok(x, y, w, alpha, centre, AM_RIDGE_SVD, &fs);
        ck_assert_msg(fa.info.tried == form && fa.info.solver == AM_RIDGE_SVD,
                      "%s, alpha=%g: tried %d, solved by %d (rcond %.3g)", what, alpha,
                      (int)fa.info.tried, (int)fa.info.solver, fa.info.rcond);
        ck_assert_msg(fa.info.rcond < AM_RIDGE_RCOND_MIN, "%s: rcond %.3g", what,
                      fa.info.rcond);
        ck_assert(memcmp(fa.coef, fs.coef, (size_t)p * sizeof(double)) == 0 && fa.b == fs.b);
    }
    printf("ridge %s, alpha=%g: rcond %.2g, SVD fallback\n", what, alpha, fa.info.rcond);
    free(fs.coef);
    free(fa.coef);
}

/* Exactly collinear columns with tiny penalties: the penalty alone lifts the smallest
 * eigenvalue, too little for the normal equations, so the fit falls back to the SVD. At
 * moderate penalties the same data is solved by Cholesky, as accurately as by the SVD. */
START_TEST(collinear_tiny_alpha_falls_back)
{
    am_matrix x;
    double y[40], w[40];
    collinear_data(&x, y, w);
    assert_falls_back(&x, y, NULL, 1e-12, AM_RIDGE_PRIMAL, "duplicated column");
    assert_falls_back(&x, y, w, 1e-10, AM_RIDGE_PRIMAL, "duplicated column, weighted");
    const double moderate[2] = {1e-3, 1.0};
    double a = auto_vs_svd(&x, y, w, moderate, 2, AM_RIDGE_PRIMAL, 1e-10, "duplicated column");
    printf("ridge duplicated column, alpha 1e-3 and 1: Cholesky vs SVD %.2g\n", a);
    am_matrix_fini(&x);

    /* Wide with a repeated row: the kernel is singular and the penalty is tiny. */
    am_rng r;
    am_rng_seed(&r, 24);
    ck_assert_int_eq(am_matrix_new(&x, 12, 25, NULL), AM_OK);
    for (int64_t j = 0; j < 25; j++)
        for (int64_t i = 0; i < 12; i++)
            AM_AT(&x, i, j) = i == 1 ? AM_AT(&x, 0, j) : gauss(&r) * (1 + 0.3 * (double)j);
    linear_targets(&x, &r, 0.1, y);
    assert_falls_back(&x, y, NULL, 1e-12, AM_RIDGE_DUAL, "wide, repeated row");
    am_matrix_fini(&x);
}
END_TEST

#ifdef __SIZEOF_FLOAT128__
/* NIST Longley's raw columns (scales from 1e2 to 1e5, the year column's mean 1954 against a
 * spread of 5) at penalties down to 1e-10. Centred and equilibrated, the normal equations'
 * matrix is the columns' correlation matrix plus the scaled penalty, rcond ~2e-5, so the
 * automatic choice keeps Cholesky, and every coefficient must still match the quad-precision
 * oracle (measured: 2e-12, the SVD path 4e-13). With a copy of the year column added, a tiny
 * penalty leaves the matrix singular to working precision and the fit falls back to the SVD. */
START_TEST(longley_solvers)
{
    am_matrix x, x7;
    double y[16];
    load_longley(&x, y);
    static const double alphas[4] = {1e-10, 1e-6, 1e-2, 1.0};
    fit_out f = fit_out_new(6);
    double ref[6], worst = 0;
    for (int k = 0; k < 4; k++) {
        fit_solver_ok(&x, y, NULL, alphas[k], true, AM_RIDGE_AUTO, &f);
        ck_assert_msg(f.info.solver == AM_RIDGE_PRIMAL && f.info.rcond > 1e-6,
                      "alpha=%g: solver %d, rcond %.3g", alphas[k], (int)f.info.solver,
                      f.info.rcond);
        quad_ridge(&x, y, alphas[k], ref);
        for (int j = 0; j < 6; j++) {
            double rel = fabs(f.coef[j] - ref[j]) / fabs(ref[j]);
            ck_assert_msg(rel < 1e-10, "alpha=%g coefficient %d: %.17g vs %.17g", alphas[k], j,
                          f.coef[j], ref[j]);
            worst = fmax(worst, rel);
        }
    }
    printf("ridge Longley by Cholesky, alpha 1e-10..1: rcond %.2g, worst coefficient vs quad "
           "precision %.2g\n", f.info.rcond, worst);

    ck_assert_int_eq(am_matrix_new(&x7, 16, 7, NULL), AM_OK);
    for (int64_t j = 0; j < 7; j++)
        for (int64_t i = 0; i < 16; i++)
            AM_AT(&x7, i, j) = AM_AT(&x, i, j < 6 ? j : 5);
    assert_falls_back(&x7, y, NULL, 1e-10, AM_RIDGE_PRIMAL, "Longley with the year twice");
    free(f.coef);
    am_matrix_fini(&x7);
    am_matrix_fini(&x);
}
END_TEST
#endif

#ifdef __SIZEOF_FLOAT128__
static __float128 quad_sqrt(double v)
{
    if (!(v > 0))
        return 0;
    __float128 r = sqrt(v);
    for (int i = 0; i < 3; i++) /* Newton from a double start: quad precision */
        r = (r + v / r) / 2;
    return r;
}

/* Weighted ridge (any intercept setting, n <= 40) in quad precision by the dual form: Xc
 * centred with weighted means, beta = Xc' (Xc Xc' + alpha I)^-1 r, solved by elimination. */
static void quad_dual(const am_matrix *x, const double *y, const double *w, bool centre,
                      double alpha, double *beta)
{
    enum { NMAX = 40 };
    int n = (int)x->n_rows, p = (int)x->n_cols;
    ck_assert(n <= NMAX);
    static __float128 xc[NMAX][200], K[NMAX][NMAX + 1], c[NMAX];
    ck_assert(p <= 200);
    __float128 sw[NMAX], wsum = 0, ym = 0;
    for (int i = 0; i < n; i++) {
        sw[i] = quad_sqrt(w ? w[i] : 1.0);
        wsum += (__float128)(w ? w[i] : 1.0);
        ym += (__float128)(w ? w[i] : 1.0) * y[i];
    }
    ym = centre ? ym / wsum : 0;
    for (int j = 0; j < p; j++) {
        __float128 m = 0;
        for (int i = 0; i < n; i++)
            m += (__float128)(w ? w[i] : 1.0) * AM_AT(x, i, j);
        m = centre ? m / wsum : 0;
        for (int i = 0; i < n; i++)
            xc[i][j] = sw[i] * ((__float128)AM_AT(x, i, j) - m);
    }
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < n; k++) {
            __float128 s = i == k ? (__float128)alpha : 0;
            for (int j = 0; j < p; j++)
                s += xc[i][j] * xc[k][j];
            K[i][k] = s;
        }
        K[i][n] = sw[i] * ((__float128)y[i] - ym);
    }
    for (int col = 0; col < n; col++) /* positive definite: no pivoting needed */
        for (int r = col + 1; r < n; r++) {
            __float128 f = K[r][col] / K[col][col];
            for (int k = col; k <= n; k++)
                K[r][k] -= f * K[col][k];
        }
    for (int i = n - 1; i >= 0; i--) {
        __float128 s = K[i][n];
        for (int k = i + 1; k < n; k++)
            s -= K[i][k] * c[k];
        c[i] = s / K[i][i];
    }
    for (int j = 0; j < p; j++) {
        __float128 s = 0;
        for (int i = 0; i < n; i++)
            s += xc[i][j] * c[i];
        beta[j] = (double)s;
    }
}

/* The dual form at small penalties, where the augmented system the SVD solves loses digits
 * (~eps s^2 / alpha: 5e-9 at alpha = 1e-6 here) and the dual keeps them. With an intercept the
 * fit must lift the kernel's centring direction (eigenvalue alpha alone) or its condition
 * estimate would refuse these penalties. */
START_TEST(dual_quad_oracle)
{
    enum { N = 30, P = 80 };
    am_matrix x;
    double y[N], w[N], ref[P], worst = 0;
    uneven_data(&x, N, P, 22, y, w);
    fit_out f = fit_out_new(P);
    static const double alphas[3] = {1e-6, 1e-3, 1.0};
    for (int c = 0; c < 4; c++) {
        bool centre = c & 1;
        const double *wp = c & 2 ? w : NULL;
        for (int k = 0; k < 3; k++) {
            fit_solver_ok(&x, y, wp, alphas[k], centre, AM_RIDGE_AUTO, &f);
            ck_assert_msg(f.info.solver == AM_RIDGE_DUAL, "case %d, alpha=%g: solver %d, rcond "
                          "%.3g", c, alphas[k], (int)f.info.solver, f.info.rcond);
            quad_dual(&x, y, wp, centre, alphas[k], ref);
            double err = 0, big = 0;
            for (int j = 0; j < P; j++) {
                err = fmax(err, fabs(f.coef[j] - ref[j]));
                big = fmax(big, fabs(ref[j]));
            }
            ck_assert_msg(err < 1e-11 * big, "case %d, alpha=%g: %.3g from quad precision", c,
                          alphas[k], err / big);
            worst = fmax(worst, err / big);
        }
    }
    printf("ridge Cholesky (dual), %d x %d, alpha 1e-6..1: worst vs quad precision %.2g\n", N,
           P, worst);
    free(f.coef);
    am_matrix_fini(&x);
}
END_TEST
#endif

/* Same bits whatever the BLAS thread count (the search refits with as many BLAS threads as the
 * run has, trials with one) and the learner's own thread count, for each solver: the primal
 * form with p >= 64 and the dual form with n >= 64 (more than one block of the factorisation,
 * so dsyrk updates inside it; OpenBLAS's own dpotrf rounds differently on 2 threads there), and
 * the SVD fallback on data small enough for OpenBLAS to stay on one thread (on larger data the
 * SVD's results do depend on the BLAS thread count). */
START_TEST(same_bits_on_1_and_2_threads)
{
    int saved = openblas_get_num_threads();
    /* the last case: centred columns and unit weights, the primal form without a copy */
    static const int64_t shapes[4][2] = {{3000, 70}, {70, 150}, {40, 5}, {3000, 70}};
    static const double alpha[4] = {1.0, 1.0, 1e-12, 1.0};
    static const am_ridge_solver want[4] = {AM_RIDGE_PRIMAL, AM_RIDGE_DUAL, AM_RIDGE_SVD,
                                            AM_RIDGE_PRIMAL};
    for (int c = 0; c < 4; c++) {
        int64_t n = shapes[c][0], p = shapes[c][1];
        am_matrix x;
        double *y = calloc((size_t)n, sizeof(double)), *w = calloc((size_t)n, sizeof(double));
        ck_assert(y && w);
        if (c != 2)
            uneven_data(&x, n, p, 25 + (uint64_t)c, y, w);
        else
            collinear_data(&x, y, w);
        if (c == 3)
            centre_columns(&x);
        fit_out f[3] = {fit_out_new(p), fit_out_new(p), fit_out_new(p)};
        am_diag d;
        for (int t = 0; t < 3; t++) { /* BLAS 1, BLAS 2, BLAS 1 with 2 learner threads */
            openblas_set_num_threads(t == 1 ? 2 : 1);
            am_status st = fit_solver_threads(&x, y, c == 3 ? NULL : w, alpha[c], true,
                                              AM_RIDGE_AUTO, t == 2 ? 2 : 1, &f[t], &d);
            ck_assert_msg(st == AM_OK, "%s", d.message);
            ck_assert_int_eq(f[t].info.solver, want[c]);
            ck_assert(c != 3 || !f[t].info.copied);
        }
        for (int t = 1; t < 3; t++)
            ck_assert_msg(memcmp(f[0].coef, f[t].coef, (size_t)p * sizeof(double)) == 0 &&
                              f[0].b == f[t].b,
                          "%lld x %lld (solver %d): run %d differs from BLAS on 1 thread",
                          (long long)n, (long long)p, (int)want[c], t);
        for (int t = 0; t < 3; t++)
            free(f[t].coef);
        free(w);
        free(y);
        am_matrix_fini(&x);
    }
    openblas_set_num_threads(saved);
}
END_TEST

/* What the info reports when no fit made the model, a forced form on a matrix that is not
 * positive definite, and bad solver arguments. */
START_TEST(solver_info_and_bad_arguments)
{
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 3, 2, NULL), AM_OK);
    for (int i = 0; i < 3; i++) {
        AM_AT(&x, i, 0) = 4.0;
        AM_AT(&x, i, 1) = -1.5;
    }
    double y[3] = {1, 2, 6}, w[3] = {1, 1, 2};
    fit_out o = fit_out_new(2);
    am_diag d;
    /* Only constant columns: Xc = 0, so the Gram matrix is alpha I. */
    ck_assert_int_eq(fit_solver(&x, y, w, 0.0, true, AM_RIDGE_PRIMAL, &o, &d), AM_ERR_NUMERIC);
    ck_assert_msg(strstr(d.message, "not positive definite"), "%s", d.message);
    fit_solver_ok(&x, y, w, 2.0, true, AM_RIDGE_AUTO, &o);
    ck_assert(o.info.solver == AM_RIDGE_PRIMAL && o.coef[0] == 0 && o.coef[1] == 0);
    ck_assert(o.info.rcond > 0.5); /* 2 I, equilibrated: the identity */
    ck_assert_double_eq_tol(o.b, 15.0 / 4.0, 1e-15);
    ck_assert_int_eq(fit_solver(&x, y, w, 2.0, true, (am_ridge_solver)7, &o, &d), AM_ERR_ARG);
    ck_assert_msg(strstr(d.message, "unknown solver"), "%s", d.message);
    am_model *m = NULL;
    ck_assert_int_eq(am_ridge_fit_solver(NULL, AM_RIDGE_AUTO, &m, &d), AM_ERR_ARG);
    ck_assert_ptr_null(m);

    /* Models no fit produced. */
    double coef[2] = {1, 2};
    ck_assert_int_eq(am_ridge_model_new(2, coef, 0.5, &m, &d), AM_OK);
    am_ridge_info info = am_ridge_fit_info(m);
    ck_assert(info.solver == AM_RIDGE_AUTO && info.tried == AM_RIDGE_AUTO && info.rcond == 0);
    am_buf buf;
    am_buf_init(&buf);
    ck_assert_int_eq(m->type->save(m, &buf, &d), AM_OK);
    am_reader rd;
    am_reader_init(&rd, buf.data, buf.len, "ridge payload");
    am_model *m2 = NULL;
    ck_assert_int_eq(am_learner_ridge.load(&rd, 1, 2, 1, &m2, &d), AM_OK);
    info = am_ridge_fit_info(m2);
    ck_assert(info.solver == AM_RIDGE_AUTO && info.tried == AM_RIDGE_AUTO && info.rcond == 0);
    am_model_free(m2);
    am_buf_fini(&buf);
    am_model_free(m);
    free(o.coef);
    am_matrix_fini(&x);
}
END_TEST

/* Out of memory at every allocation in turn, for each solver: AM_ERR_NOMEM and no model, or
 * success once the failures pass the fit's last allocation (the sanitizer and valgrind runs
 * check for leaks). */
START_TEST(solvers_out_of_memory)
{
    static const int64_t shapes[3][2] = {{30, 4}, {10, 20}, {40, 5}};
    static const double alpha[3] = {1.0, 1.0, 1e-12};
    for (int c = 0; c < 3; c++) {
        int64_t n = shapes[c][0], p = shapes[c][1];
        am_matrix x;
        double y[40], w[40];
        if (c < 2)
            uneven_data(&x, n, p, 27 + (uint64_t)c, y, w);
        else
            collinear_data(&x, y, w);
        char item[64];
        snprintf(item, sizeof(item), "alpha=%.17g", alpha[c]);
        const char *items[] = {item};
        am_params params;
        am_diag d;
        am_params_defaults(am_learner_ridge.params, &params);
        ck_assert_int_eq(am_params_parse(am_learner_ridge.params, items, 1, &params, &d), AM_OK);
        am_fit_args a;
        memset(&a, 0, sizeof(a));
        a.x = &x;
        a.y = y;
        a.weight = w;
        a.task = AM_TASK_REGRESSION;
        a.params = &params;
        a.n_threads = 1;
        int n_fail = 0;
        for (int64_t k = 0; k < 1000; k++) {
            am_model *m = NULL;
            am_alloc_fail_after(k);
            am_status st = am_ridge_fit_solver(&a, AM_RIDGE_AUTO, &m, &d);
            am_alloc_fail_after(-1);
            if (st == AM_OK) {
                ck_assert_ptr_nonnull(m);
                am_model_free(m);
                break;
            }
            ck_assert_msg(st == AM_ERR_NOMEM, "k=%lld: %s", (long long)k, d.message);
            ck_assert_ptr_null(m);
            n_fail++;
        }
        ck_assert_int_ge(n_fail, 4); /* model, system, Cholesky matrix and workspace, ... */
        am_matrix_fini(&x);
    }
}
END_TEST

/* Timings, printed (not asserted: the machine's load is not ours to control). */
START_TEST(cholesky_timing)
{
    enum { N = 20000, P = 30 };
    am_matrix x;
    double *y = calloc(N, sizeof(double)), *w = calloc(N, sizeof(double));
    ck_assert(y && w);
    uneven_data(&x, N, P, 29, y, w);
    fit_out fa = fit_out_new(P), fs = fit_out_new(P);
    fit_solver_ok(&x, y, NULL, 1.0, true, AM_RIDGE_AUTO, &fa); /* warm-up: BLAS, caches */
    double t0 = seconds_now();
    fit_solver_ok(&x, y, NULL, 1.0, true, AM_RIDGE_AUTO, &fa);
    double t1 = seconds_now();
    fit_solver_ok(&x, y, NULL, 1.0, true, AM_RIDGE_SVD, &fs);
    double t2 = seconds_now();
    ck_assert(fa.info.solver == AM_RIDGE_PRIMAL);
    printf("ridge %d x %d, alpha=1: Cholesky %.1f ms, SVD %.1f ms (%.1fx)\n", N, P,
           1e3 * (t1 - t0), 1e3 * (t2 - t1), (t2 - t1) / (t1 - t0));
    free(fs.coef);
    free(fa.coef);
    free(w);
    free(y);
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
    TCase *ts = tcase_create("solvers");
    tcase_set_timeout(ts, 60);
    tcase_add_test(ts, cholesky_matches_svd);
    tcase_add_test(ts, dual_matches_svd);
    tcase_add_test(ts, uncopied_primal_matches_svd);
    tcase_add_test(ts, primal_and_dual_agree);
    tcase_add_test(ts, blocked_factorisation);
    tcase_add_test(ts, alpha_zero_uses_svd);
    tcase_add_test(ts, collinear_tiny_alpha_falls_back);
#ifdef __SIZEOF_FLOAT128__
    tcase_add_test(ts, longley_solvers);
    tcase_add_test(ts, dual_quad_oracle);
#endif
    tcase_add_test(ts, same_bits_on_1_and_2_threads);
    tcase_add_test(ts, solver_info_and_bad_arguments);
    tcase_add_test(ts, solvers_out_of_memory);
    tcase_add_test(ts, cholesky_timing);
    suite_add_tcase(s, ts);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
