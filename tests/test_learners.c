/* test_learners.c — the learners of learners/: reference values (NIST Longley), independent
 * oracles (normal equations by hand, finite differences of the logistic objective), invariants
 * (weight 2 = duplicated row, probabilities sum to 1, save -> load -> predict bit for bit) and
 * bad input (corrupt payloads, bad data, unsupported tasks, cancellation, out of memory). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../learners/internal.h"
#include "learner_testing.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static void random_matrix(am_matrix *x, int64_t n, int64_t p, am_rng *r)
{
    ck_assert_int_eq(am_matrix_new(x, n, p, NULL), AM_OK);
    for (int64_t j = 0; j < p; j++)
        for (int64_t i = 0; i < n; i++)
            AM_AT(x, i, j) = lt_gauss(r);
}

/* Labels drawn from a softmax (k = 2: sigmoid) of fixed random weights: overlapping classes. */
static void noisy_labels(const am_matrix *x, int32_t n_classes, am_rng *r, double *y)
{
    double beta[8][8];
    ck_assert(n_classes <= 8 && x->n_cols <= 8);
    for (int c = 0; c < n_classes; c++)
        for (int64_t j = 0; j < x->n_cols; j++)
            beta[c][j] = lt_gauss(r);
    for (int64_t i = 0; i < x->n_rows; i++) {
        double e[8], s = 0;
        for (int c = 0; c < n_classes; c++) {
            double z = 0;
            for (int64_t j = 0; j < x->n_cols; j++)
                z += AM_AT(x, i, j) * beta[c][j];
            e[c] = exp(z);
            s += e[c];
        }
        double u = am_rng_uniform(r) * s, cum = 0;
        y[i] = n_classes - 1;
        for (int c = 0; c < n_classes; c++) {
            cum += e[c];
            if (u < cum) {
                y[i] = c;
                break;
            }
        }
    }
}

/* Solves the n x n system A z = b (row-major A) by Gaussian elimination with partial pivoting:
 * the independent oracle for ridge. */
static void gauss_solve(double *A, double *b, int n)
{
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(A[r * n + c]) > fabs(A[piv * n + c]))
                piv = r;
        for (int j = 0; j < n; j++) {
            double t = A[c * n + j];
            A[c * n + j] = A[piv * n + j];
            A[piv * n + j] = t;
        }
        double t = b[c];
        b[c] = b[piv];
        b[piv] = t;
        for (int r = c + 1; r < n; r++) {
            double f = A[r * n + c] / A[c * n + c];
            for (int j = c; j < n; j++)
                A[r * n + j] -= f * A[c * n + j];
            b[r] -= f * b[c];
        }
    }
    for (int c = n - 1; c >= 0; c--) {
        for (int j = c + 1; j < n; j++)
            b[c] -= A[c * n + j] * b[j];
        b[c] /= A[c * n + c];
    }
}

/* ---- ridge ---------------------------------------------------------------------------------- */

/* NIST StRD "Wampler1" (higher difficulty): y = 1 + x + x^2 + x^3 + x^4 + x^5 at x = 0..20, an
 * exact quintic whose certified coefficients are all 1 (residual SD 0). The design x..x^5 spans
 * six orders of magnitude and its columns are nearly collinear. */
START_TEST(test_wampler1_ols)
{
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 21, 5, NULL), AM_OK);
    double y[21];
    for (int i = 0; i <= 20; i++) {
        double power = 1;
        y[i] = 1;
        for (int j = 0; j < 5; j++) {
            power *= i;
            AM_AT(&x, i, j) = power;
            y[i] += power;
        }
    }
    const char *items[] = {"alpha=0", "fit_intercept=true"};
    am_params p = lt_params(&am_learner_ridge, items, 2);
    am_fit_args a = lt_dense_args(&x, y, NULL, AM_TASK_REGRESSION, 0, &p);
    am_model *m = lt_fit_ok(&am_learner_ridge, &a);
    const double *coef;
    double b;
    am_ridge_coef(m, &coef, &b);
    double worst = 99;
    for (int j = 0; j < 6; j++) {
        double got = j == 0 ? b : coef[j - 1], rel = fabs(got - 1.0);
        worst = fmin(worst, rel > 0 ? -log10(rel) : 16);
        ck_assert_msg(rel < 1e-7, "Wampler1 coefficient %d: %.15g vs certified 1", j, got);
    }
    printf("wampler1 OLS: worst coefficient agrees to %.1f significant digits\n", worst);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* NIST StRD "Longley" certified regression coefficients: intercept, then x1..x6. */
static const double longley_cert[7] = {
    -3482258.63459582,      15.0618722713733,  -0.358191792925910e-01, -2.02022980381683,
    -1.03322686717359, -0.511041056535807e-01, 1829.15146461355,
};

START_TEST(test_longley_ols)
{
    FILE *fp = fopen(AM_SOURCE_DIR "/tests/data/learners/longley.csv", "r");
    ck_assert_ptr_nonnull(fp);
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp)); /* header */
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 16, 6, NULL), AM_OK);
    double y[16];
    for (int i = 0; i < 16; i++) {
        double v[7];
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
        ck_assert_int_eq(sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2],
                                &v[3], &v[4], &v[5], &v[6]), 7);
        y[i] = v[0];
        for (int j = 0; j < 6; j++)
            AM_AT(&x, i, j) = v[j + 1];
    }
    fclose(fp);

    const char *items[] = {"alpha=0", "fit_intercept=true"};
    am_params p = lt_params(&am_learner_ridge, items, 2);
    am_fit_args a = lt_dense_args(&x, y, NULL, AM_TASK_REGRESSION, 0, &p);
    am_model *m = lt_fit_ok(&am_learner_ridge, &a);
    const double *coef;
    double b;
    am_ridge_coef(m, &coef, &b);
    double worst = 99;
    for (int j = 0; j < 7; j++) {
        double got = j == 0 ? b : coef[j - 1];
        double rel = fabs(got - longley_cert[j]) / fabs(longley_cert[j]);
        double lre = rel > 0 ? -log10(rel) : 16;
        worst = fmin(worst, lre);
        ck_assert_msg(rel < 1e-7, "Longley coefficient %d: %.15g vs certified %.15g", j, got,
                      longley_cert[j]);
    }
    printf("longley OLS: worst coefficient agrees to %.1f significant digits\n", worst);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* Cases: _i bit 0 = fit_intercept, bit 1 = sample weights. */
START_TEST(test_ridge_closed_form)
{
    bool intercept = _i & 1, weighted = _i & 2;
    enum { N = 40, P = 4 };
    am_rng r;
    am_rng_seed(&r, 100 + (uint64_t)_i);
    am_matrix x;
    random_matrix(&x, N, P, &r);
    double y[N], w[N];
    for (int i = 0; i < N; i++) {
        y[i] = 3.0 + 0.5 * lt_gauss(&r);
        for (int j = 0; j < P; j++)
            y[i] += (j + 1) * AM_AT(&x, i, j);
        w[i] = 0.2 + 1.8 * am_rng_uniform(&r);
    }
    const double alpha = 0.7;
    const char *items[] = {"alpha=0.7", intercept ? "fit_intercept=true" : "fit_intercept=false"};
    am_params p = lt_params(&am_learner_ridge, items, 2);
    am_fit_args a = lt_dense_args(&x, y, weighted ? w : NULL, AM_TASK_REGRESSION, 0, &p);
    am_model *m = lt_fit_ok(&am_learner_ridge, &a);

    /* Oracle: (D'WD + alpha diag(1..1, 0)) theta = D'Wy with D = [X, 1] (the 1 only when
     * fitting an intercept, which is not penalised). */
    int q = P + (intercept ? 1 : 0);
    double A[(P + 1) * (P + 1)] = {0}, rhs[P + 1] = {0};
    for (int i = 0; i < N; i++) {
        double row[P + 1], wi = weighted ? w[i] : 1.0;
        for (int j = 0; j < P; j++)
            row[j] = AM_AT(&x, i, j);
        row[P] = 1.0;
        for (int u = 0; u < q; u++) {
            rhs[u] += wi * row[u] * y[i];
            for (int v = 0; v < q; v++)
                A[u * q + v] += wi * row[u] * row[v];
        }
    }
    for (int j = 0; j < P; j++)
        A[j * q + j] += alpha;
    gauss_solve(A, rhs, q);

    const double *coef;
    double b;
    am_ridge_coef(m, &coef, &b);
    for (int j = 0; j < P; j++)
        ck_assert_msg(fabs(coef[j] - rhs[j]) < 1e-10 * fmax(1, fabs(rhs[j])),
                      "coef %d: %.17g vs %.17g", j, coef[j], rhs[j]);
    ck_assert(fabs(b - (intercept ? rhs[P] : 0.0)) < 1e-10 * fmax(1, fabs(b)));
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* Fits learner t on (x, y) with row 0 given weight 2, and on the data with row 0 duplicated;
 * returns the largest difference between the two models' predictions on x. */
static double weight_vs_duplicate(const am_learner_type *t, const am_params *p, am_task task,
                                  int32_t n_classes, const am_matrix *x, const double *y)
{
    int64_t n = x->n_rows, k = x->n_cols;
    am_matrix xd;
    ck_assert_int_eq(am_matrix_new(&xd, n + 1, k, NULL), AM_OK);
    double *yd = calloc((size_t)n + 1, sizeof(double)), *w = calloc((size_t)n, sizeof(double));
    for (int64_t i = 0; i <= n; i++) {
        int64_t src = i < n ? i : 0;
        for (int64_t j = 0; j < k; j++)
            AM_AT(&xd, i, j) = AM_AT(x, src, j);
        yd[i] = y[src];
    }
    for (int64_t i = 0; i < n; i++)
        w[i] = i == 0 ? 2.0 : 1.0;
    am_fit_args aw = lt_dense_args(x, y, w, task, n_classes, p);
    am_fit_args ad = lt_dense_args(&xd, yd, NULL, task, n_classes, p);
    am_model *mw = lt_fit_ok(t, &aw), *md = lt_fit_ok(t, &ad);
    int32_t no = mw->n_outputs;
    double *pw = calloc((size_t)(n * no), sizeof(double)), *pd = calloc((size_t)(n * no), 8);
    ck_assert_int_eq(t->predict(mw, x, 1, NULL, pw, NULL), AM_OK);
    ck_assert_int_eq(t->predict(md, x, 1, NULL, pd, NULL), AM_OK);
    double worst = 0;
    for (int64_t i = 0; i < n * no; i++)
        worst = fmax(worst, fabs(pw[i] - pd[i]));
    free(pw);
    free(pd);
    free(yd);
    free(w);
    am_model_free(mw);
    am_model_free(md);
    am_matrix_fini(&xd);
    return worst;
}

START_TEST(test_ridge_weight_is_duplicate)
{
    am_rng r;
    am_rng_seed(&r, 7);
    am_matrix x;
    random_matrix(&x, 30, 3, &r);
    double y[30];
    for (int i = 0; i < 30; i++)
        y[i] = AM_AT(&x, i, 0) - 2 * AM_AT(&x, i, 2) + lt_gauss(&r);
    const char *items[] = {"alpha=2"};
    am_params p = lt_params(&am_learner_ridge, items, 1);
    double diff = weight_vs_duplicate(&am_learner_ridge, &p, AM_TASK_REGRESSION, 0, &x, y);
    ck_assert_msg(diff < 1e-12, "weight 2 vs duplicated row: predictions differ by %g", diff);
    am_matrix_fini(&x);
}
END_TEST

/* alpha = 0 with a duplicated column: rank deficient, so the minimum-norm solution splits the
 * coefficient evenly, and the fit is that of the design without the duplicate. */
START_TEST(test_ridge_rank_deficient)
{
    am_rng r;
    am_rng_seed(&r, 8);
    am_matrix x, x2;
    random_matrix(&x, 25, 3, &r);
    ck_assert_int_eq(am_matrix_new(&x2, 25, 2, NULL), AM_OK);
    double y[25];
    for (int i = 0; i < 25; i++) {
        AM_AT(&x, i, 2) = AM_AT(&x, i, 0);
        AM_AT(&x2, i, 0) = AM_AT(&x, i, 0);
        AM_AT(&x2, i, 1) = AM_AT(&x, i, 1);
        y[i] = 4 * AM_AT(&x, i, 0) + AM_AT(&x, i, 1) + 0.1 * lt_gauss(&r);
    }
    const char *items[] = {"alpha=0"};
    am_params p = lt_params(&am_learner_ridge, items, 1);
    am_fit_args a = lt_dense_args(&x, y, NULL, AM_TASK_REGRESSION, 0, &p);
    am_fit_args a2 = lt_dense_args(&x2, y, NULL, AM_TASK_REGRESSION, 0, &p);
    am_model *m = lt_fit_ok(&am_learner_ridge, &a), *m2 = lt_fit_ok(&am_learner_ridge, &a2);
    const double *c, *c2;
    double b, b2;
    am_ridge_coef(m, &c, &b);
    am_ridge_coef(m2, &c2, &b2);
    ck_assert(fabs(c[0] - c[2]) < 1e-9);
    ck_assert(fabs(c[0] + c[2] - c2[0]) < 1e-9);
    ck_assert(fabs(c[1] - c2[1]) < 1e-9);
    ck_assert(fabs(b - b2) < 1e-9);
    am_model_free(m);
    am_model_free(m2);
    am_matrix_fini(&x);
    am_matrix_fini(&x2);
}
END_TEST

/* More features than rows at alpha = 0: the minimum-norm solution interpolates the data. */
START_TEST(test_ridge_wide)
{
    am_rng r;
    am_rng_seed(&r, 9);
    am_matrix x;
    random_matrix(&x, 4, 7, &r);
    double y[4] = {1, -2, 0.5, 3}, out[4];
    const char *items[] = {"alpha=0"};
    am_params p = lt_params(&am_learner_ridge, items, 1);
    am_fit_args a = lt_dense_args(&x, y, NULL, AM_TASK_REGRESSION, 0, &p);
    am_model *m = lt_fit_ok(&am_learner_ridge, &a);
    ck_assert_int_eq(am_learner_ridge.predict(m, &x, 1, NULL, out, NULL), AM_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(fabs(out[i] - y[i]) < 1e-10, "row %d: %.17g vs %g", i, out[i], y[i]);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* No features at all: ridge predicts the weighted mean, logreg the class frequencies (the
 * maximum-likelihood intercepts), constant its priors. */
START_TEST(test_no_features)
{
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 8, 0, NULL), AM_OK);
    double y[8] = {0, 1, 1, 2, 2, 2, 0, 2}, w[8] = {1, 1, 1, 1, 1, 1, 1, 3}, out[8 * 3];
    am_params p = lt_params(&am_learner_ridge, NULL, 0);
    am_fit_args a = lt_dense_args(&x, y, w, AM_TASK_REGRESSION, 0, &p);
    am_model *m = lt_fit_ok(&am_learner_ridge, &a);
    ck_assert_int_eq(am_learner_ridge.predict(m, &x, 1, NULL, out, NULL), AM_OK);
    ck_assert_double_eq_tol(out[0], 14.0 / 10.0, 1e-14);
    am_model_free(m);

    const char *items[] = {"tol=1e-10"};
    p = lt_params(&am_learner_logreg, items, 1);
    a = lt_dense_args(&x, y, w, AM_TASK_MULTICLASS, 3, &p);
    m = lt_fit_ok(&am_learner_logreg, &a);
    ck_assert_int_eq(am_learner_logreg.predict(m, &x, 1, NULL, out, NULL), AM_OK);
    ck_assert_double_eq_tol(out[0], 2.0 / 10.0, 1e-7);
    ck_assert_double_eq_tol(out[1], 2.0 / 10.0, 1e-7);
    ck_assert_double_eq_tol(out[2], 6.0 / 10.0, 1e-7);
    am_model_free(m);

    /* Without an intercept there is nothing to fit: uniform probabilities. */
    const char *none[] = {"fit_intercept=false"};
    p = lt_params(&am_learner_logreg, none, 1);
    m = lt_fit_ok(&am_learner_logreg, &a);
    ck_assert_int_eq(am_learner_logreg.predict(m, &x, 1, NULL, out, NULL), AM_OK);
    ck_assert_double_eq_tol(out[0], 1.0 / 3.0, 1e-15);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* ---- logistic regression --------------------------------------------------------------------- */

/* Cases: _i bit 0 = multinomial (3 classes) vs binary, bit 1 = intercept, bit 2 = penalty. */
START_TEST(test_logreg_gradient_fd)
{
    enum { N = 30, P = 4 };
    int32_t n_classes = (_i & 1) ? 3 : 2, k = n_classes == 2 ? 1 : n_classes;
    bool intercept = _i & 2, l2 = _i & 4;
    am_rng r;
    am_rng_seed(&r, 200 + (uint64_t)_i);
    am_matrix x;
    random_matrix(&x, N, P, &r);
    double y[N], w[N], theta[(P + 1) * 3], g[(P + 1) * 3];
    noisy_labels(&x, n_classes, &r, y);
    for (int i = 0; i < N; i++)
        w[i] = 0.1 + 2 * am_rng_uniform(&r);
    int dim = P * k + (intercept ? k : 0);
    for (int j = 0; j < dim; j++)
        theta[j] = 0.7 * lt_gauss(&r);
    const double c = 1.7;
    double f;
    ck_assert_int_eq(am_logreg_objective(&x, y, w, n_classes, c, l2, intercept, theta, &f, g,
                                         NULL), AM_OK);
    for (int j = 0; j < dim; j++) {
        const double h = 1e-5;
        double t0 = theta[j], fp, fm;
        theta[j] = t0 + h;
        ck_assert_int_eq(am_logreg_objective(&x, y, w, n_classes, c, l2, intercept, theta, &fp,
                                             NULL, NULL), AM_OK);
        theta[j] = t0 - h;
        ck_assert_int_eq(am_logreg_objective(&x, y, w, n_classes, c, l2, intercept, theta, &fm,
                                             NULL, NULL), AM_OK);
        theta[j] = t0;
        double fd = (fp - fm) / (2 * h);
        ck_assert_msg(fabs(fd - g[j]) <= 1e-6 * fmax(1, fabs(g[j])),
                      "gradient %d: analytic %.12g, finite difference %.12g", j, g[j], fd);
    }
    am_matrix_fini(&x);
}
END_TEST

/* Weight 2 on a row is the row twice, in the objective itself (up to rounding). */
START_TEST(test_logreg_objective_weight_is_duplicate)
{
    am_rng r;
    am_rng_seed(&r, 300);
    am_matrix x, xd;
    random_matrix(&x, 10, 2, &r);
    ck_assert_int_eq(am_matrix_new(&xd, 11, 2, NULL), AM_OK);
    double y[10], yd[11], w[10], theta[9] = {0.3, -0.2, 0.5, 0.1, -0.4, 0.2, 0.05, -0.1, 0.3};
    noisy_labels(&x, 3, &r, y);
    for (int i = 0; i < 11; i++) {
        int src = i < 10 ? i : 4;
        for (int j = 0; j < 2; j++)
            AM_AT(&xd, i, j) = AM_AT(&x, src, j);
        yd[i] = y[src];
    }
    for (int i = 0; i < 10; i++)
        w[i] = i == 4 ? 2 : 1;
    double f1, f2, g1[9], g2[9];
    ck_assert_int_eq(am_logreg_objective(&x, y, w, 3, 1.0, true, true, theta, &f1, g1, NULL),
                     AM_OK);
    ck_assert_int_eq(am_logreg_objective(&xd, yd, NULL, 3, 1.0, true, true, theta, &f2, g2, NULL),
                     AM_OK);
    ck_assert(fabs(f1 - f2) < 1e-12 * fabs(f1));
    for (int j = 0; j < 9; j++)
        ck_assert(fabs(g1[j] - g2[j]) < 1e-12 * fmax(1, fabs(g1[j])));
    am_matrix_fini(&x);
    am_matrix_fini(&xd);
}
END_TEST

/* The fitted coefficients satisfy the optimality condition: the gradient of the objective at
 * the solution vanishes. Cases: _i = 0 binary, 1 multinomial with 4 classes. */
START_TEST(test_logreg_optimality)
{
    enum { N = 120, P = 3 };
    int32_t n_classes = _i == 0 ? 2 : 4;
    am_rng r;
    am_rng_seed(&r, 400 + (uint64_t)_i);
    am_matrix x;
    random_matrix(&x, N, P, &r);
    double y[N], w[N];
    noisy_labels(&x, n_classes, &r, y);
    for (int i = 0; i < N; i++)
        w[i] = 0.5 + am_rng_uniform(&r);
    const char *items[] = {"C=1", "tol=1e-10", "max_iter=2000"};
    am_params p = lt_params(&am_learner_logreg, items, 3);
    am_fit_args a = lt_dense_args(&x, y, w, n_classes == 2 ? AM_TASK_BINARY : AM_TASK_MULTICLASS,
                             n_classes, &p);
    am_model *m = lt_fit_ok(&am_learner_logreg, &a);
    int32_t k, n_iter;
    const double *coef, *icpt;
    am_logreg_coef(m, &k, &coef, &icpt, &n_iter);
    ck_assert_int_eq(k, n_classes == 2 ? 1 : n_classes);
    /* The model stores [W, b] contiguously, the objective's layout. */
    ck_assert_ptr_eq(icpt, coef + P * k);
    double f, g[(P + 1) * 4];
    ck_assert_int_eq(am_logreg_objective(&x, y, w, n_classes, 1.0, true, true, coef, &f, g, NULL),
                     AM_OK);
    double gmax = 0;
    for (int j = 0; j < (P + 1) * k; j++)
        gmax = fmax(gmax, fabs(g[j]));
    printf("logreg %d classes: gradient max-norm %.2e after %d iterations\n", (int)n_classes,
           gmax, (int)n_iter);
    ck_assert_msg(gmax < 1e-5, "gradient max-norm %g at the solution", gmax);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

START_TEST(test_logreg_weight_is_duplicate)
{
    am_rng r;
    am_rng_seed(&r, 500);
    am_matrix x;
    random_matrix(&x, 40, 2, &r);
    double y[40];
    noisy_labels(&x, 3, &r, y);
    const char *items[] = {"tol=1e-11", "max_iter=1000"};
    am_params p = lt_params(&am_learner_logreg, items, 2);
    double diff = weight_vs_duplicate(&am_learner_logreg, &p, AM_TASK_MULTICLASS, 3, &x, y);
    ck_assert_msg(diff < 1e-7, "weight 2 vs duplicated row: probabilities differ by %g", diff);
    am_matrix_fini(&x);
}
END_TEST

/* Probabilities are in [0, 1] and sum to 1 per row, also far outside the training range. */
START_TEST(test_logreg_probabilities)
{
    int32_t n_classes = _i == 0 ? 2 : 5;
    am_rng r;
    am_rng_seed(&r, 600 + (uint64_t)_i);
    am_matrix x, xt;
    random_matrix(&x, 60, 3, &r);
    random_matrix(&xt, 50, 3, &r);
    for (int i = 0; i < 50; i++)
        for (int j = 0; j < 3; j++)
            AM_AT(&xt, i, j) *= (i % 5 == 0) ? 1e4 : 1.0;
    double y[60];
    noisy_labels(&x, n_classes, &r, y);
    am_params p = lt_params(&am_learner_logreg, NULL, 0);
    am_fit_args a = lt_dense_args(&x, y, NULL, n_classes == 2 ? AM_TASK_BINARY : AM_TASK_MULTICLASS,
                             n_classes, &p);
    am_model *m = lt_fit_ok(&am_learner_logreg, &a);
    ck_assert_int_eq(m->n_outputs, n_classes);
    double out[50 * 5];
    ck_assert_int_eq(am_learner_logreg.predict(m, &xt, 1, NULL, out, NULL), AM_OK);
    for (int i = 0; i < 50; i++) {
        double s = 0;
        for (int c = 0; c < n_classes; c++) {
            double v = out[i * n_classes + c];
            ck_assert(v >= 0 && v <= 1);
            s += v;
        }
        ck_assert_msg(fabs(s - 1) < 1e-12, "row %d sums to %.17g", i, s);
    }
    am_model_free(m);
    am_matrix_fini(&x);
    am_matrix_fini(&xt);
}
END_TEST

/* Three well-separated clusters: the multinomial model recovers every point's class. */
START_TEST(test_logreg_clusters)
{
    static const double centre[3][2] = {{-5, 0}, {5, 0}, {0, 5}};
    am_rng r;
    am_rng_seed(&r, 700);
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 90, 2, NULL), AM_OK);
    double y[90];
    for (int i = 0; i < 90; i++) {
        y[i] = i % 3;
        for (int j = 0; j < 2; j++)
            AM_AT(&x, i, j) = centre[i % 3][j] + 0.7 * lt_gauss(&r);
    }
    am_params p = lt_params(&am_learner_logreg, NULL, 0);
    am_fit_args a = lt_dense_args(&x, y, NULL, AM_TASK_MULTICLASS, 3, &p);
    am_model *m = lt_fit_ok(&am_learner_logreg, &a);
    double out[90 * 3];
    ck_assert_int_eq(am_learner_logreg.predict(m, &x, 1, NULL, out, NULL), AM_OK);
    for (int i = 0; i < 90; i++) {
        int best = 0;
        for (int c = 1; c < 3; c++)
            if (out[i * 3 + c] > out[i * 3 + best])
                best = c;
        ck_assert_int_eq(best, (int)y[i]);
    }
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* Separable data without a penalty: the optimum is at infinity; the fit stops (max_iter or a
 * vanishing objective) with finite coefficients and correct, finite probabilities. */
START_TEST(test_logreg_separable_no_penalty)
{
    int32_t n_classes = _i == 0 ? 2 : 3;
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 60, 2, NULL), AM_OK);
    double y[60];
    for (int i = 0; i < 60; i++) {
        y[i] = i % n_classes;
        AM_AT(&x, i, 0) = 3.0 * y[i] + 0.01 * (i % 7);
        AM_AT(&x, i, 1) = (i % 5) - 2.0;
    }
    const char *items[] = {"penalty=none", "max_iter=300"};
    am_params p = lt_params(&am_learner_logreg, items, 2);
    am_fit_args a = lt_dense_args(&x, y, NULL, n_classes == 2 ? AM_TASK_BINARY : AM_TASK_MULTICLASS,
                             n_classes, &p);
    am_model *m = lt_fit_ok(&am_learner_logreg, &a);
    int32_t k, n_iter;
    const double *coef, *icpt;
    am_logreg_coef(m, &k, &coef, &icpt, &n_iter);
    ck_assert(am_all_finite(coef, (size_t)(3 * k)));
    double out[60 * 3];
    ck_assert_int_eq(am_learner_logreg.predict(m, &x, 1, NULL, out, NULL), AM_OK);
    for (int i = 0; i < 60; i++) {
        ck_assert(am_all_finite(out + i * n_classes, (size_t)n_classes));
        ck_assert(out[i * n_classes + (int)y[i]] > 0.5);
    }
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

START_TEST(test_logreg_cancel)
{
    am_rng r;
    am_rng_seed(&r, 800);
    am_matrix x;
    random_matrix(&x, 200, 5, &r);
    double y[200];
    noisy_labels(&x, 3, &r, y);
    am_params p = lt_params(&am_learner_logreg, NULL, 0);
    am_fit_args a = lt_dense_args(&x, y, NULL, AM_TASK_MULTICLASS, 3, &p);
    am_stop past = {am_now() - 1.0, NULL};
    a.stop = &past;
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    double t0 = am_now();
    ck_assert_int_eq(am_learner_fit(&am_learner_logreg, &a, &m, &d), AM_ERR_CANCELLED);
    ck_assert(am_now() - t0 < 0.1);
    ck_assert_ptr_null(m);

    volatile int flag = 1;
    am_stop cancel = {INFINITY, &flag};
    a.stop = &cancel;
    ck_assert_int_eq(am_learner_fit(&am_learner_logreg, &a, &m, &d), AM_ERR_CANCELLED);
    ck_assert_ptr_null(m);
    am_matrix_fini(&x);
}
END_TEST

/* ---- constant ------------------------------------------------------------------------------- */

START_TEST(test_constant)
{
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 5, 1, NULL), AM_OK);
    double yc[5] = {0, 2, 2, 1, 2}, w[5] = {1, 3, 1, 0.5, 0.5};
    am_params p = lt_params(&am_learner_constant, NULL, 0);
    am_fit_args a = lt_dense_args(&x, yc, w, AM_TASK_MULTICLASS, 3, &p);
    am_model *m = lt_fit_ok(&am_learner_constant, &a);
    const double *v = am_constant_values(m);
    ck_assert_double_eq_tol(v[0], 1 / 6.0, 1e-15);
    ck_assert_double_eq_tol(v[1], 0.5 / 6.0, 1e-15);
    ck_assert_double_eq_tol(v[2], 4.5 / 6.0, 1e-15);
    double out[15];
    ck_assert_int_eq(am_learner_constant.predict(m, &x, 1, NULL, out, NULL), AM_OK);
    ck_assert(out[12] == v[0] && out[13] == v[1] && out[14] == v[2]);
    am_model_free(m);

    double yr[5] = {1, 10, 4, -2, 100};
    a = lt_dense_args(&x, yr, w, AM_TASK_REGRESSION, 0, &p);
    m = lt_fit_ok(&am_learner_constant, &a);
    ck_assert_double_eq_tol(am_constant_values(m)[0], (1 + 30 + 4 - 1 + 50) / 6.0, 1e-13);
    am_model_free(m);

    /* Weighted median: sorted values -2 (0.5), 1 (1), 4 (1), 10 (3), 100 (0.5); half of 6 is
     * reached at 10. */
    const char *med[] = {"strategy=median"};
    am_params pm = lt_params(&am_learner_constant, med, 1);
    a.params = &pm;
    m = lt_fit_ok(&am_learner_constant, &a);
    ck_assert(am_constant_values(m)[0] == 10);
    am_model_free(m);

    /* Strategies that do not fit the task are configuration errors. */
    am_diag d;
    am_diag_clear(&d);
    am_fit_args ac = lt_dense_args(&x, yc, NULL, AM_TASK_MULTICLASS, 3, &pm);
    m = NULL;
    ck_assert_int_eq(am_learner_fit(&am_learner_constant, &ac, &m, &d), AM_ERR_CONFIG);
    ck_assert_ptr_null(m);
    const char *pri[] = {"strategy=prior"};
    am_params pp = lt_params(&am_learner_constant, pri, 1);
    a.params = &pp;
    ck_assert_int_eq(am_learner_fit(&am_learner_constant, &a, &m, &d), AM_ERR_CONFIG);
    am_matrix_fini(&x);
}
END_TEST

/* ---- registry, parameters, task support ----------------------------------------------------- */

START_TEST(test_registry_and_params)
{
    static const char *const names[] = {"ridge", "logreg", "constant"};
    static const char *const valid[] = {"alpha=0.5", "C=2", "strategy=auto"};
    /* The linear learners and the baseline; the tree learners have their own suites. */
    ck_assert_int_ge(am_learner_count(), 3);
    ck_assert_ptr_null(am_learner_at(-1));
    ck_assert_ptr_null(am_learner_at(am_learner_count()));
    ck_assert_ptr_null(am_learner_find("no_such_learner"));
    for (int32_t i = 0; i < 3; i++) {
        const am_learner_type *t = am_learner_find(names[i]);
        ck_assert_ptr_nonnull(t);
        ck_assert_str_eq(t->name, names[i]);
        ck_assert_uint_eq(t->format_version, 1);
        am_params p;
        am_diag d;
        am_diag_clear(&d);
        am_params_defaults(t->params, &p);
        ck_assert_int_eq(am_params_check(t->params, &p, &d), AM_OK);
        const char *bad[] = {"no_such_key=1"};
        ck_assert_int_eq(am_params_parse(t->params, bad, 1, &p, &d), AM_ERR_CONFIG);
        am_params_defaults(t->params, &p);
        const char *good[] = {valid[i]};
        ck_assert_int_eq(am_params_parse(t->params, good, 1, &p, &d), AM_OK);
        ck_assert(t->cost_hint(&p, 2000, 10) > t->cost_hint(&p, 1000, 10));
    }
    am_params p;
    am_params_defaults(am_learner_ridge.params, &p);
    ck_assert(p.v[0] == 1.0 && p.v[1] == 1.0);
    am_params_defaults(am_learner_logreg.params, &p);
    ck_assert(p.v[0] == 1.0 && p.v[1] == 0 && p.v[2] == 1 && p.v[3] == 200 && p.v[4] == 1e-6);
}
END_TEST

START_TEST(test_unsupported_task)
{
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 4, 1, NULL), AM_OK);
    double y[4] = {0, 1, 0, 1};
    am_params p = lt_params(&am_learner_ridge, NULL, 0);
    am_fit_args a = lt_dense_args(&x, y, NULL, AM_TASK_BINARY, 2, &p);
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_fit(&am_learner_ridge, &a, &m, &d), AM_ERR_CONFIG);
    ck_assert_str_eq(d.message, "ridge does not support binary classification");
    ck_assert_ptr_null(m);
    /* The type's own fit refuses too, for callers that skip am_learner_fit. */
    ck_assert_int_eq(am_learner_ridge.fit(&a, &m, &d), AM_ERR_CONFIG);
    am_params pl = lt_params(&am_learner_logreg, NULL, 0);
    a = lt_dense_args(&x, y, NULL, AM_TASK_REGRESSION, 0, &pl);
    ck_assert_int_eq(am_learner_fit(&am_learner_logreg, &a, &m, &d), AM_ERR_CONFIG);
    ck_assert_str_eq(d.message, "logreg does not support regression");
    ck_assert_ptr_null(m);
    am_matrix_fini(&x);
}
END_TEST

/* Bad data, one case per loop index: each is refused with the status given, never fitted. */
static const struct bad_case {
    const char *what;
    int learner; /* 0 ridge, 1 logreg, 2 constant */
    int row;     /* row to spoil */
    double x, y, w;
    am_task task;
    int32_t n_classes;
    am_status want;
} bad_cases[] = {
    {"negative weight", 0, 2, 0.5, 1, -1, AM_TASK_REGRESSION, 0, AM_ERR_DATA},
    {"NaN weight", 1, 1, 0.5, 1, NAN, AM_TASK_BINARY, 2, AM_ERR_DATA},
    {"infinite weight", 2, 0, 0.5, 1, INFINITY, AM_TASK_BINARY, 2, AM_ERR_DATA},
    {"NaN feature", 0, 3, NAN, 1, 1, AM_TASK_REGRESSION, 0, AM_ERR_DATA},
    {"infinite feature", 1, 3, -INFINITY, 1, 1, AM_TASK_BINARY, 2, AM_ERR_DATA},
    {"NaN target", 0, 0, 0.5, NAN, 1, AM_TASK_REGRESSION, 0, AM_ERR_DATA},
    {"class index out of range", 1, 2, 0.5, 2, 1, AM_TASK_BINARY, 2, AM_ERR_DATA},
    {"negative class index", 2, 2, 0.5, -1, 1, AM_TASK_MULTICLASS, 3, AM_ERR_DATA},
    {"fractional class index", 1, 2, 0.5, 0.5, 1, AM_TASK_MULTICLASS, 3, AM_ERR_DATA},
    {"binary task with 3 classes", 1, 0, 0.5, 1, 1, AM_TASK_BINARY, 3, AM_ERR_ARG},
    {"multiclass task with 2 classes", 2, 0, 0.5, 1, 1, AM_TASK_MULTICLASS, 2, AM_ERR_ARG},
};

START_TEST(test_bad_data)
{
    const struct bad_case *bc = &bad_cases[_i];
    static const char *const learner_names[] = {"ridge", "logreg", "constant"};
    const am_learner_type *t = am_learner_find(learner_names[bc->learner]);
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 6, 2, NULL), AM_OK);
    double y[6] = {0, 1, 0, 1, 1, 0}, w[6] = {1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 6; i++)
        AM_AT(&x, i, 0) = AM_AT(&x, i, 1) = 0.1 * i;
    AM_AT(&x, bc->row, 1) = bc->x;
    y[bc->row] = bc->y;
    w[bc->row] = bc->w;
    am_params p = lt_params(t, NULL, 0);
    am_fit_args a = lt_dense_args(&x, y, w, bc->task, bc->n_classes, &p);
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_learner_fit(t, &a, &m, &d);
    ck_assert_msg(st == bc->want, "%s: got %s (%s)", bc->what, am_status_name(st), d.message);
    ck_assert_ptr_null(m);
    ck_assert(d.message[0] != '\0');
    am_matrix_fini(&x);
}
END_TEST

/* ---- save / load ---------------------------------------------------------------------------- */

/* The models the save/load tests round-trip: learner, task, classes. */
static const struct saved_case {
    int learner;
    am_task task;
    int32_t n_classes;
} saved_cases[] = {
    {0, AM_TASK_REGRESSION, 0}, {1, AM_TASK_BINARY, 2},   {1, AM_TASK_MULTICLASS, 3},
    {2, AM_TASK_BINARY, 2},     {2, AM_TASK_MULTICLASS, 4}, {2, AM_TASK_REGRESSION, 0},
};

typedef struct saved_model {
    const am_learner_type *t;
    am_matrix x;
    am_model *m;
    am_buf buf;
} saved_model;

static void saved_make(saved_model *s, int i)
{
    const struct saved_case *sc = &saved_cases[i];
    static const char *const learner_names[] = {"ridge", "logreg", "constant"};
    s->t = am_learner_find(learner_names[sc->learner]);
    am_rng r;
    am_rng_seed(&r, 900 + (uint64_t)i);
    random_matrix(&s->x, 40, 3, &r);
    double y[40];
    if (sc->n_classes)
        noisy_labels(&s->x, sc->n_classes, &r, y);
    else
        for (int k = 0; k < 40; k++)
            y[k] = AM_AT(&s->x, k, 0) + lt_gauss(&r);
    am_params p = lt_params(s->t, NULL, 0);
    am_fit_args a = lt_dense_args(&s->x, y, NULL, sc->task, sc->n_classes, &p);
    s->m = lt_fit_ok(s->t, &a);
    am_buf_init(&s->buf);
    ck_assert_int_eq(s->t->save(s->m, &s->buf, NULL), AM_OK);
}

static void saved_fini(saved_model *s)
{
    am_model_free(s->m);
    am_matrix_fini(&s->x);
    am_buf_fini(&s->buf);
}

static am_status load_bytes(const saved_model *s, const uint8_t *data, size_t len,
                            uint32_t version, int64_t n_features, int32_t n_outputs,
                            am_model **out)
{
    am_reader rd;
    am_reader_init(&rd, data, len, "test payload");
    am_diag d;
    am_diag_clear(&d);
    *out = NULL;
    am_status st = s->t->load(&rd, version, n_features, n_outputs, out, &d);
    if (st != AM_OK) {
        ck_assert_ptr_null(*out);
        ck_assert(d.message[0] != '\0');
    }
    return st;
}

START_TEST(test_save_load_roundtrip)
{
    saved_model s;
    saved_make(&s, _i);
    am_model *m2 = NULL;
    ck_assert_int_eq(load_bytes(&s, s.buf.data, s.buf.len, 1, 3, s.m->n_outputs, &m2), AM_OK);
    ck_assert_ptr_eq(m2->type, s.t);
    size_t n = (size_t)s.x.n_rows * (size_t)s.m->n_outputs;
    double *p1 = calloc(n, sizeof(double)), *p2 = calloc(n, sizeof(double));
    ck_assert_int_eq(s.t->predict(s.m, &s.x, 1, NULL, p1, NULL), AM_OK);
    ck_assert_int_eq(s.t->predict(m2, &s.x, 1, NULL, p2, NULL), AM_OK);
    ck_assert(memcmp(p1, p2, n * sizeof(double)) == 0);
    /* Saving the loaded model gives the same bytes. */
    am_buf b2;
    am_buf_init(&b2);
    ck_assert_int_eq(s.t->save(m2, &b2, NULL), AM_OK);
    ck_assert(b2.len == s.buf.len && memcmp(b2.data, s.buf.data, b2.len) == 0);
    am_buf_fini(&b2);
    free(p1);
    free(p2);
    am_model_free(m2);
    saved_fini(&s);
}
END_TEST

START_TEST(test_load_rejects_corrupt)
{
    saved_model s;
    saved_make(&s, _i);
    int32_t no = s.m->n_outputs;
    am_model *m2;
    for (size_t len = 0; len < s.buf.len; len++)
        ck_assert_int_eq(load_bytes(&s, s.buf.data, len, 1, 3, no, &m2), AM_ERR_FORMAT);
    /* Dimensions that disagree with what the caller expects, and an unknown version. */
    ck_assert_int_eq(load_bytes(&s, s.buf.data, s.buf.len, 1, 4, no, &m2), AM_ERR_FORMAT);
    ck_assert_int_eq(load_bytes(&s, s.buf.data, s.buf.len, 1, 2, no, &m2), AM_ERR_FORMAT);
    ck_assert_int_eq(load_bytes(&s, s.buf.data, s.buf.len, 1, 3, no + 1, &m2), AM_ERR_FORMAT);
    ck_assert_int_eq(load_bytes(&s, s.buf.data, s.buf.len, 2, 3, no, &m2), AM_ERR_FORMAT);

    uint8_t *bad = malloc(s.buf.len);
    /* A wrong count inside the payload: the saved n_features (first 8 bytes), and for logreg
     * the logit column count after the dimensions. */
    memcpy(bad, s.buf.data, s.buf.len);
    bad[0] ^= 0x40;
    ck_assert_int_eq(load_bytes(&s, bad, s.buf.len, 1, 3, no, &m2), AM_ERR_FORMAT);
    memcpy(bad, s.buf.data, s.buf.len);
    bad[7] = 0x80; /* a negative count */
    ck_assert_int_eq(load_bytes(&s, bad, s.buf.len, 1, 3, no, &m2), AM_ERR_FORMAT);
    memcpy(bad, s.buf.data, s.buf.len);
    bad[8] ^= 0x01;
    ck_assert_int_eq(load_bytes(&s, bad, s.buf.len, 1, 3, no, &m2), AM_ERR_FORMAT);
    if (s.t == &am_learner_logreg) {
        memcpy(bad, s.buf.data, s.buf.len);
        bad[12] ^= 0x03;
        ck_assert_int_eq(load_bytes(&s, bad, s.buf.len, 1, 3, no, &m2), AM_ERR_FORMAT);
    }
    /* A non-finite value (the last double of the payload). */
    double nan = NAN;
    memcpy(bad, s.buf.data, s.buf.len);
    memcpy(bad + s.buf.len - 8, &nan, 8);
    ck_assert_int_eq(load_bytes(&s, bad, s.buf.len, 1, 3, no, &m2), AM_ERR_FORMAT);
    free(bad);
    saved_fini(&s);
}
END_TEST

/* ---- robustness ----------------------------------------------------------------------------- */

/* Every allocation failing in turn gives AM_ERR_NOMEM (and, under the sanitizers and valgrind,
 * no leak), until the fit has all it needs. */
START_TEST(test_out_of_memory)
{
    saved_model s;
    saved_make(&s, _i);
    const struct saved_case *sc = &saved_cases[_i];
    double y[40];
    for (int i = 0; i < 40; i++)
        y[i] = sc->n_classes ? i % sc->n_classes : AM_AT(&s.x, i, 1);
    const char *med[] = {"strategy=median"};
    am_params p = lt_params(s.t, med, sc->learner == 2 && !sc->n_classes ? 1 : 0);
    am_fit_args a = lt_dense_args(&s.x, y, NULL, sc->task, sc->n_classes, &p);
    am_status st = AM_ERR_NOMEM;
    int64_t k;
    for (k = 0; k < 100 && st != AM_OK; k++) {
        am_model *m = NULL;
        am_alloc_fail_after(k);
        st = am_learner_fit(s.t, &a, &m, NULL);
        am_alloc_fail_after(-1);
        ck_assert_msg(st == AM_OK || st == AM_ERR_NOMEM, "fit with allocation %d failing: %s",
                      (int)k, am_status_name(st));
        ck_assert(st == AM_OK ? m != NULL : m == NULL);
        am_model_free(m);
    }
    ck_assert_int_eq(st, AM_OK);
    ck_assert(k > 1);
    for (st = AM_ERR_NOMEM, k = 0; k < 100 && st != AM_OK; k++) {
        am_model *m = NULL;
        am_alloc_fail_after(k);
        st = load_bytes(&s, s.buf.data, s.buf.len, 1, 3, s.m->n_outputs, &m);
        am_alloc_fail_after(-1);
        ck_assert(st == AM_OK || st == AM_ERR_NOMEM);
        am_model_free(m);
    }
    ck_assert_int_eq(st, AM_OK);
    saved_fini(&s);
}
END_TEST

START_TEST(test_predict_shape_and_determinism)
{
    saved_model s, s2;
    saved_make(&s, _i);
    saved_make(&s2, _i);
    /* Same data, same parameters: the same model bytes. */
    ck_assert(s.buf.len == s2.buf.len && memcmp(s.buf.data, s2.buf.data, s.buf.len) == 0);
    am_matrix wrong;
    ck_assert_int_eq(am_matrix_new(&wrong, 5, 4, NULL), AM_OK);
    double out[5 * 4];
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(s.t->predict(s.m, &wrong, 1, NULL, out, &d), AM_ERR_ARG);
    am_matrix_fini(&wrong);
    saved_fini(&s);
    saved_fini(&s2);
}
END_TEST

/* ---- dense products (learners/dense.c) ------------------------------------------------------ */

/* Shapes around the block sizes: rows not a multiple of any block, columns not a multiple of
 * four, and more columns of W/Z than one pass of X'Z takes (64). */
static const int64_t dense_shapes[][3] = {
    {1, 1, 1}, {7, 3, 1}, {513, 5, 2}, {5000, 9, 1}, {3000, 13, 6}, {700, 4, 70}, {10, 0, 2},
};

/* X W and X'Z against long-double sums within a relative 1e-13, on 1 to 3 threads with
 * identical bits, and beta 0 writing over NaN while beta 1 adds. */
START_TEST(test_dense_products)
{
    int64_t n = dense_shapes[_i][0], p = dense_shapes[_i][1], k = dense_shapes[_i][2];
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, n, p, NULL), AM_OK);
    am_rng r;
    am_rng_seed(&r, 90 + (uint64_t)_i);
    double *w = malloc((size_t)(p * k + 1) * sizeof(double));
    double *zin = malloc((size_t)(n * k + 1) * sizeof(double));
    double *z[3], *g[3];
    for (int t = 0; t < 3; t++) {
        z[t] = malloc((size_t)(n * k + 1) * sizeof(double));
        g[t] = malloc((size_t)(p * k + 1) * sizeof(double));
    }
    for (int64_t i = 0; i < n * p; i++)
        x.data[i] = lt_gauss(&r) * (1 + (double)(i % 7));
    for (int64_t i = 0; i < p * k; i++)
        w[i] = lt_gauss(&r);
    for (int64_t i = 0; i < n * k; i++)
        zin[i] = lt_gauss(&r);
    for (int t = 0; t < 3; t++) {
        am_dense_x_w(&x, w, p, k, z[t], n, t + 1);
        for (int64_t i = 0; i < p * k; i++)
            g[t][i] = t == 0 ? NAN : 1.0; /* beta 0 must not read it; beta 1 adds to it */
        am_dense_xt_z(&x, zin, n, k, 0.5, t == 0 ? 0.0 : 1.0, g[t], p, t + 1);
    }
    for (int64_t c = 0; c < k; c++) {
        for (int64_t i = 0; i < n; i++) {
            long double s = 0, a = 0;
            for (int64_t j = 0; j < p; j++) {
                s += (long double)AM_AT(&x, i, j) * w[j + c * p];
                a += fabsl((long double)AM_AT(&x, i, j) * w[j + c * p]);
            }
            ck_assert_double_le(fabs(z[0][i + c * n] - (double)s), 1e-13 * (double)a + 1e-300);
        }
        for (int64_t j = 0; j < p; j++) {
            long double s = 0, a = 0;
            for (int64_t i = 0; i < n; i++) {
                s += (long double)AM_AT(&x, i, j) * zin[i + c * n];
                a += fabsl((long double)AM_AT(&x, i, j) * zin[i + c * n]);
            }
            double want = 0.5 * (double)s;
            ck_assert_double_le(fabs(g[0][j + c * p] - want), 1e-13 * (double)a + 1e-300);
            ck_assert_double_eq(g[1][j + c * p], g[0][j + c * p] + 1.0);
        }
    }
    for (int t = 1; t < 3; t++) {
        ck_assert(memcmp(z[0], z[t], (size_t)(n * k) * sizeof(double)) == 0);
        ck_assert(memcmp(g[1], g[t], (size_t)(p * k) * sizeof(double)) == 0);
    }
    for (int t = 0; t < 3; t++) {
        free(z[t]);
        free(g[t]);
    }
    free(zin);
    free(w);
    am_matrix_fini(&x);
}
END_TEST

static Suite *learners_suite(void)
{
    Suite *s = suite_create("learners");
    TCase *tc = tcase_create("ridge");
    tcase_add_test(tc, test_longley_ols);
    tcase_add_test(tc, test_wampler1_ols);
    tcase_add_loop_test(tc, test_ridge_closed_form, 0, 4);
    tcase_add_test(tc, test_ridge_weight_is_duplicate);
    tcase_add_test(tc, test_ridge_rank_deficient);
    tcase_add_test(tc, test_ridge_wide);
    tcase_add_test(tc, test_no_features);
    suite_add_tcase(s, tc);

    tc = tcase_create("logreg");
    tcase_add_loop_test(tc, test_logreg_gradient_fd, 0, 8);
    tcase_add_test(tc, test_logreg_objective_weight_is_duplicate);
    tcase_add_loop_test(tc, test_logreg_optimality, 0, 2);
    tcase_add_test(tc, test_logreg_weight_is_duplicate);
    tcase_add_loop_test(tc, test_logreg_probabilities, 0, 2);
    tcase_add_test(tc, test_logreg_clusters);
    tcase_add_loop_test(tc, test_logreg_separable_no_penalty, 0, 2);
    tcase_add_test(tc, test_logreg_cancel);
    suite_add_tcase(s, tc);

    tc = tcase_create("dense");
    tcase_add_loop_test(tc, test_dense_products, 0, (int)AM_COUNT(dense_shapes));
    suite_add_tcase(s, tc);

    tc = tcase_create("constant");
    tcase_add_test(tc, test_constant);
    suite_add_tcase(s, tc);

    tc = tcase_create("contract");
    tcase_add_test(tc, test_registry_and_params);
    tcase_add_test(tc, test_unsupported_task);
    tcase_add_loop_test(tc, test_bad_data, 0, (int)AM_COUNT(bad_cases));
    tcase_add_loop_test(tc, test_save_load_roundtrip, 0, (int)AM_COUNT(saved_cases));
    tcase_add_loop_test(tc, test_load_rejects_corrupt, 0, (int)AM_COUNT(saved_cases));
    tcase_add_loop_test(tc, test_out_of_memory, 0, (int)AM_COUNT(saved_cases));
    tcase_add_loop_test(tc, test_predict_shape_and_determinism, 0, (int)AM_COUNT(saved_cases));
    /* Generous for valgrind; each case takes milliseconds natively. */
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(learners_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
