/* test_elasticnet.c — the elastic net learner: its optimality conditions checked from the fitted
 * coefficients along a path of alphas and l1_ratios, reference solutions (an independent
 * proximal-gradient solve, scikit-learn's numbers, the SVD ridge at l1_ratio = 0 and alpha = 0),
 * alpha_max, weights as duplicated rows, thread-count independence, the two solver modes,
 * awkward designs (p > n, duplicated and constant columns), save/load and bad input. */
#include <cblas.h>
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../learners/elasticnet.h"
#include "../learners/internal.h"
#include "learner_testing.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static am_params enet_params(const char *const *items, int32_t n)
{
    return lt_params(&am_learner_elasticnet, items, n);
}

static am_fit_args enet_args(const am_matrix *x, const double *y, const double *w,
                             const am_params *p)
{
    return lt_dense_args(x, y, w, AM_TASK_REGRESSION, 0, p);
}

static am_model *enet_fit_ok(const am_fit_args *a)
{
    return lt_fit_ok(&am_learner_elasticnet, a);
}

/* Parameters from numbers: alpha, l1_ratio, tol (max_iter large, intercept on). */
static am_params enet_numbers(double alpha, double l1_ratio, double tol)
{
    char a[64], l[64], t[64];
    snprintf(a, sizeof(a), "alpha=%.17g", alpha);
    snprintf(l, sizeof(l), "l1_ratio=%.17g", l1_ratio);
    snprintf(t, sizeof(t), "tol=%.17g", tol);
    const char *items[] = {a, l, t, "max_iter=100000"};
    return enet_params(items, 4);
}

/* Columns sharing a common factor (pairwise correlation about 0.5) plus a chain between
 * neighbours, so the lasso has real choices to make; y depends on a few of them. */
static void correlated_problem(am_matrix *x, double *y, int64_t n, int64_t p, am_rng *r)
{
    ck_assert_int_eq(am_matrix_new(x, n, p, NULL), AM_OK);
    for (int64_t i = 0; i < n; i++) {
        double f = lt_gauss(r), prev = 0;
        for (int64_t j = 0; j < p; j++) {
            double e = lt_gauss(r);
            AM_AT(x, i, j) = 0.7 * f + 0.5 * e + 0.4 * prev;
            prev = e;
        }
        y[i] = 0.5 + 2.0 * AM_AT(x, i, 0) - 1.5 * AM_AT(x, i, p / 2) + 0.8 * AM_AT(x, i, p - 1) +
               0.5 * lt_gauss(r);
    }
}

/* sum_i v_i (u_i - mean)(t_i - mean) with v = w / sum(w): the weighted covariance. */
static double wcov(const double *u, const double *t, const double *w, int64_t n)
{
    double sw = 0, mu = 0, mt = 0;
    for (int64_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        sw += wi;
        mu += wi * u[i];
        mt += wi * t[i];
    }
    mu /= sw;
    mt /= sw;
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (w ? w[i] : 1.0) * (u[i] - mu) * (t[i] - mt);
    return s / sw;
}

/* The smallest alpha with beta = 0: max_j |cov_w(x_j, y)| / l1_ratio. */
static double alpha_max_of(const am_matrix *x, const double *y, const double *w, double l1r)
{
    double m = 0;
    for (int64_t j = 0; j < x->n_cols; j++)
        m = fmax(m, fabs(wcov(x->data + j * x->ld, y, w, x->n_rows)));
    return m / l1r;
}

/* The largest violation of the optimality conditions of
 *     1/(2 sum w) sum_i w_i (y_i - b - x_i.beta)^2 + alpha l1r ||beta||_1
 *     + alpha (1 - l1r)/2 ||beta||^2
 * at (b, beta), computed from the raw data: with g_j = (1/sum w) sum_i w_i x_ij r_i,
 * beta_j != 0 needs g_j = alpha l1r sign(beta_j) + alpha (1 - l1r) beta_j and beta_j = 0 needs
 * |g_j| <= alpha l1r; the intercept needs sum_i w_i r_i = 0. */
static double kkt_violation(const am_matrix *x, const double *y, const double *w, double alpha,
                            double l1r, const double *beta, double b)
{
    int64_t n = x->n_rows, p = x->n_cols;
    double *r = calloc((size_t)n, sizeof(double)), sw = 0, sr = 0, worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double f = b;
        for (int64_t j = 0; j < p; j++)
            f += AM_AT(x, i, j) * beta[j];
        double wi = w ? w[i] : 1.0;
        r[i] = y[i] - f;
        sw += wi;
        sr += wi * r[i];
    }
    worst = fabs(sr / sw);
    for (int64_t j = 0; j < p; j++) {
        double g = 0;
        for (int64_t i = 0; i < n; i++)
            g += (w ? w[i] : 1.0) * AM_AT(x, i, j) * r[i];
        g /= sw;
        double v;
        if (beta[j] != 0)
            v = fabs(g - alpha * l1r * (beta[j] > 0 ? 1 : -1) - alpha * (1 - l1r) * beta[j]);
        else
            v = fmax(0.0, fabs(g) - alpha * l1r);
        worst = fmax(worst, v);
    }
    free(r);
    return worst;
}

/* The bound the duality gap puts on a violation: a point whose gap is eps has a proximal
 * gradient step of length at most sqrt(2 L eps), L <= trace of the weighted covariance. */
static double kkt_bound(const am_matrix *x, const double *y, const double *w, double tol)
{
    double tr = 0;
    for (int64_t j = 0; j < x->n_cols; j++) {
        const double *c = x->data + j * x->ld;
        tr += wcov(c, c, w, x->n_rows);
    }
    return sqrt(2 * tr * tol * wcov(y, y, w, x->n_rows));
}

static void predict_ok(const am_model *m, const am_matrix *x, double *out)
{
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_learner_elasticnet.predict(m, x, 1, NULL, out, &d);
    ck_assert_msg(st == AM_OK, "predict: %s", d.message);
}

/* ---- optimality along a path ---------------------------------------------------------------- */

static const double path_l1_ratios[] = {1.0, 0.7, 0.3, 0.05, 0.0};

/* Several alphas (fractions of alpha_max) for each l1_ratio, weighted and not, both modes. */
START_TEST(test_kkt_path)
{
    double l1r = path_l1_ratios[_i];
    am_rng r;
    am_rng_seed(&r, 11 + (uint64_t)_i);
    int64_t n = 80, p = 12;
    am_matrix x;
    double y[80], w[80];
    correlated_problem(&x, y, n, p, &r);
    for (int64_t i = 0; i < n; i++)
        w[i] = 0.25 + 2 * am_rng_uniform(&r);
    static const double fractions[] = {0.9, 0.5, 0.1, 0.02, 1e-3, 1e-5};
    const double tol = 1e-10;
    for (int weighted = 0; weighted < 2; weighted++) {
        const double *wt = weighted ? w : NULL;
        double amax = alpha_max_of(&x, y, wt, l1r > 0 ? l1r : 1.0);
        for (size_t k = 0; k < AM_COUNT(fractions); k++) {
            double alpha = amax * fractions[k];
            am_params pr = enet_numbers(alpha, l1r, tol);
            am_fit_args a = enet_args(&x, y, wt, &pr);
            for (int mode = AM_ENET_COVARIANCE; mode <= AM_ENET_NAIVE; mode++) {
                am_model *m = NULL;
                am_diag d;
                am_diag_clear(&d);
                ck_assert_int_eq(am_elasticnet_fit_mode(&a, (am_enet_mode)mode, &m, &d), AM_OK);
                const double *beta;
                double b;
                am_elasticnet_coef(m, &beta, &b);
                am_enet_info info = am_elasticnet_info(m);
                ck_assert_msg(info.converged, "l1_ratio %g alpha %g mode %d: not converged", l1r,
                              alpha, mode);
                ck_assert_int_eq(info.mode, mode);
                double v = kkt_violation(&x, y, wt, alpha, l1r, beta, b);
                double bound = kkt_bound(&x, y, wt, tol);
                ck_assert_msg(v <= bound, "l1_ratio %g alpha %g mode %d: KKT violation %g > %g",
                              l1r, alpha, mode, v, bound);
                /* Sparsity where the L1 part is strong: not every feature survives. */
                if (l1r == 1.0 && fractions[k] >= 0.5) {
                    int nz = 0;
                    for (int64_t j = 0; j < p; j++)
                        nz += beta[j] != 0;
                    ck_assert_msg(nz > 0 && nz < p, "lasso at %g alpha_max: %d nonzero",
                                  fractions[k], nz);
                }
                am_model_free(m);
            }
        }
    }
    am_matrix_fini(&x);
}
END_TEST

/* The objective the learner minimises, from the raw data (weights normalised to sum 1). */
static double objective(const am_matrix *x, const double *y, const double *w, double alpha,
                        double l1r, const double *beta, double b)
{
    double sw = 0, loss = 0, n1 = 0, n2 = 0;
    for (int64_t i = 0; i < x->n_rows; i++) {
        double f = b;
        for (int64_t j = 0; j < x->n_cols; j++)
            f += AM_AT(x, i, j) * beta[j];
        double wi = w ? w[i] : 1.0;
        sw += wi;
        loss += wi * (y[i] - f) * (y[i] - f);
    }
    for (int64_t j = 0; j < x->n_cols; j++) {
        n1 += fabs(beta[j]);
        n2 += beta[j] * beta[j];
    }
    return 0.5 * loss / sw + alpha * l1r * n1 + 0.5 * alpha * (1 - l1r) * n2;
}

/* The stopping rule is scikit-learn's: at the default tol the fit stops with a duality gap of
 * at most tol * var_w(y), and the gap it reports really bounds how far the objective is from
 * the optimum (found here with tol = 1e-14). */
START_TEST(test_gap_bounds_suboptimality)
{
    double l1r = path_l1_ratios[_i];
    am_rng r;
    am_rng_seed(&r, 17 + (uint64_t)_i);
    int64_t n = 60, p = 10;
    am_matrix x;
    double y[60], w[60];
    correlated_problem(&x, y, n, p, &r);
    for (int64_t i = 0; i < n; i++)
        w[i] = 0.5 + am_rng_uniform(&r);
    double tol_abs = 1e-4 * wcov(y, y, w, n);
    static const double fractions[] = {0.5, 0.05, 1e-3};
    for (size_t k = 0; k < AM_COUNT(fractions); k++) {
        double alpha = fractions[k] * alpha_max_of(&x, y, w, l1r > 0 ? l1r : 1.0);
        char a1[64], a2[64];
        snprintf(a1, sizeof(a1), "alpha=%.17g", alpha);
        snprintf(a2, sizeof(a2), "l1_ratio=%.17g", l1r);
        const char *items[] = {a1, a2};
        am_params pd = enet_params(items, 2), pt = enet_numbers(alpha, l1r, 1e-14);
        am_fit_args ad = enet_args(&x, y, w, &pd), at = enet_args(&x, y, w, &pt);
        am_model *md = enet_fit_ok(&ad), *mt = enet_fit_ok(&at);
        am_enet_info info = am_elasticnet_info(md);
        ck_assert(info.converged);
        ck_assert_msg(fabs(info.tol_abs - tol_abs) <= 1e-12 * tol_abs, "tol_abs %g, want %g",
                      info.tol_abs, tol_abs);
        ck_assert(info.gap <= info.tol_abs);
        const double *bd, *bt;
        double id, it;
        am_elasticnet_coef(md, &bd, &id);
        am_elasticnet_coef(mt, &bt, &it);
        double sub = objective(&x, y, w, alpha, l1r, bd, id) -
                     objective(&x, y, w, alpha, l1r, bt, it);
        ck_assert_msg(sub <= info.gap + 1e-13, "l1_ratio %g alpha %g: suboptimality %g > gap %g",
                      l1r, alpha, sub, info.gap);
        am_model_free(md);
        am_model_free(mt);
    }
    am_matrix_fini(&x);
}
END_TEST

/* ---- reference solutions -------------------------------------------------------------------- */

/* A small weighted problem (6 x 3) solved independently: proximal gradient on (b, beta) with
 * the intercept as an unpenalised coordinate (no centring), step 1/L with L the trace bound,
 * run until the iterate stops moving at 1e-15. */
static void prox_gradient(const am_matrix *x, const double *y, const double *w, double alpha,
                          double l1r, double *b_out, double *beta)
{
    int64_t n = x->n_rows, p = x->n_cols;
    double sw = 0, lip = 0;
    for (int64_t i = 0; i < n; i++) {
        double row = 1;
        for (int64_t j = 0; j < p; j++)
            row += AM_AT(x, i, j) * AM_AT(x, i, j);
        sw += w[i];
        lip += w[i] * row;
    }
    lip = lip / sw + alpha * (1 - l1r);
    double b = 0, step = 1 / lip;
    memset(beta, 0, (size_t)p * sizeof(double));
    for (int it = 0; it < 2000000; it++) {
        double gb = 0, g[8] = {0};
        for (int64_t i = 0; i < n; i++) {
            double f = b;
            for (int64_t j = 0; j < p; j++)
                f += AM_AT(x, i, j) * beta[j];
            double res = w[i] * (f - y[i]) / sw;
            gb += res;
            for (int64_t j = 0; j < p; j++)
                g[j] += res * AM_AT(x, i, j);
        }
        double moved = fabs(step * gb);
        b -= step * gb;
        for (int64_t j = 0; j < p; j++) {
            double z = beta[j] - step * (g[j] + alpha * (1 - l1r) * beta[j]);
            double t = step * alpha * l1r;
            double nb = z > t ? z - t : z < -t ? z + t : 0.0;
            moved = fmax(moved, fabs(nb - beta[j]));
            beta[j] = nb;
        }
        if (moved < 1e-15)
            break;
    }
    *b_out = b;
}

static const double small_x[6][3] = {
    {0.5, -1.2, 0.3}, {1.1, 0.4, -0.7}, {-0.3, 0.9, 1.5},
    {2.0, -0.5, 0.2}, {-1.4, 1.3, -0.9}, {0.7, 0.1, 0.8},
};
static const double small_y[6] = {1.3, 2.1, -0.4, 3.2, -1.5, 1.0};
static const double small_w[6] = {1, 2, 0.5, 1, 3, 1.5};

static void small_matrix(am_matrix *x)
{
    ck_assert_int_eq(am_matrix_new(x, 6, 3, NULL), AM_OK);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++)
            AM_AT(x, i, j) = small_x[i][j];
}

static const struct {
    double alpha, l1r;
} small_cases[] = {{0.05, 0.7}, {0.3, 1.0}, {0.2, 0.2}, {0.6, 1.0}};

START_TEST(test_reference_prox)
{
    am_matrix x;
    small_matrix(&x);
    double alpha = small_cases[_i].alpha, l1r = small_cases[_i].l1r;
    double want_b, want[3];
    prox_gradient(&x, small_y, small_w, alpha, l1r, &want_b, want);
    am_params p = enet_numbers(alpha, l1r, 1e-14);
    am_fit_args a = enet_args(&x, small_y, small_w, &p);
    am_model *m = enet_fit_ok(&a);
    const double *beta;
    double b;
    am_elasticnet_coef(m, &beta, &b);
    ck_assert_msg(fabs(b - want_b) < 1e-6, "intercept %.12g, want %.12g", b, want_b);
    for (int j = 0; j < 3; j++) {
        ck_assert_msg(fabs(beta[j] - want[j]) < 1e-6, "beta[%d] %.12g, want %.12g", j, beta[j],
                      want[j]);
        /* Zeros are exact zeros, on both sides. */
        ck_assert_int_eq(beta[j] == 0, want[j] == 0);
    }
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* scikit-learn 1.2.1, sklearn.linear_model.ElasticNet(alpha, l1_ratio, tol=1e-14,
 * max_iter=10**7).fit(small_x, small_y, sample_weight=small_w): coef_ and intercept_. */
static const struct {
    double alpha, l1r;
    double coef[3], intercept;
} sklearn_cases[] = {
    {0.05, 0.7, {1.3429375311847758, -0.10431433262394872, -0.16029735828497041},
     0.41454760140192531},
    {0.2, 0.2, {1.1396567803562154, -0.22576025931512964, -0.067862877357737147},
     0.51169374371061094},
    {0.3, 1.0, {1.1839674603847135, 0.0, 0.0}, 0.42693839505126674},
};

START_TEST(test_reference_sklearn)
{
    am_matrix x;
    small_matrix(&x);
    am_params p = enet_numbers(sklearn_cases[_i].alpha, sklearn_cases[_i].l1r, 1e-14);
    am_fit_args a = enet_args(&x, small_y, small_w, &p);
    am_model *m = enet_fit_ok(&a);
    const double *beta;
    double b;
    am_elasticnet_coef(m, &beta, &b);
    ck_assert_msg(fabs(b - sklearn_cases[_i].intercept) < 1e-6, "intercept %.12g", b);
    for (int j = 0; j < 3; j++)
        ck_assert_msg(fabs(beta[j] - sklearn_cases[_i].coef[j]) < 1e-6, "beta[%d] %.12g", j,
                      beta[j]);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* l1_ratio = 0 is ridge: 1/(2W) sum w r^2 + alpha/2 ||beta||^2 is ridge's
 * sum w r^2 + (alpha W) ||beta||^2, which learners/ridge.c solves by SVD; alpha = 0 is least
 * squares, ridge's alpha = 0. */
START_TEST(test_matches_ridge)
{
    am_rng r;
    am_rng_seed(&r, 21);
    int64_t n = 50, p = 6;
    am_matrix x;
    double y[50], w[50], sw = 0;
    correlated_problem(&x, y, n, p, &r);
    for (int64_t i = 0; i < n; i++) {
        w[i] = 0.5 + am_rng_uniform(&r);
        sw += w[i];
    }
    /* Least squares has no duality gap to stop on; its stand-in (the best coordinate step's
     * decrease) needs a tighter tol for the same accuracy. */
    double alpha = _i == 0 ? 0.3 : 0.0;
    am_params pe = enet_numbers(alpha, 0.0, _i == 0 ? 1e-12 : 1e-16);
    char ra[64];
    snprintf(ra, sizeof(ra), "alpha=%.17g", alpha * sw);
    const char *items[] = {ra};
    am_params pr;
    am_params_defaults(am_learner_ridge.params, &pr);
    ck_assert_int_eq(am_params_parse(am_learner_ridge.params, items, 1, &pr, NULL), AM_OK);
    am_fit_args ae = enet_args(&x, y, w, &pe), ar = enet_args(&x, y, w, &pr);
    am_model *me = enet_fit_ok(&ae), *mr = NULL;
    ck_assert_int_eq(am_learner_fit(&am_learner_ridge, &ar, &mr, NULL), AM_OK);
    const double *be, *br;
    double ie, ir;
    am_elasticnet_coef(me, &be, &ie);
    am_ridge_coef(mr, &br, &ir);
    for (int64_t j = 0; j < p; j++)
        ck_assert_msg(fabs(be[j] - br[j]) < 1e-6, "alpha %g beta[%d]: %.12g vs ridge %.12g",
                      alpha, (int)j, be[j], br[j]);
    ck_assert(fabs(ie - ir) < 1e-6);
    ck_assert(am_elasticnet_info(me).converged);
    am_model_free(me);
    am_model_free(mr);
    am_matrix_fini(&x);
}
END_TEST

/* ---- alpha_max ------------------------------------------------------------------------------ */

START_TEST(test_alpha_max)
{
    am_rng r;
    am_rng_seed(&r, 31);
    int64_t n = 40, p = 5;
    am_matrix x;
    double y[40], w[40];
    correlated_problem(&x, y, n, p, &r);
    for (int64_t i = 0; i < n; i++)
        w[i] = 1 + (double)(i % 3);
    double l1r = 0.6, amax = alpha_max_of(&x, y, w, l1r);
    double sw = 0, ym = 0;
    for (int64_t i = 0; i < n; i++) {
        sw += w[i];
        ym += w[i] * y[i];
    }
    ym /= sw;
    /* Just above alpha_max: all zero, the weighted mean as intercept. */
    am_params p1 = enet_numbers(amax * (1 + 1e-9), l1r, 1e-4);
    am_fit_args a1 = enet_args(&x, y, w, &p1);
    am_model *m1 = enet_fit_ok(&a1);
    const double *beta;
    double b;
    am_elasticnet_coef(m1, &beta, &b);
    for (int64_t j = 0; j < p; j++)
        ck_assert(beta[j] == 0.0);
    ck_assert_msg(fabs(b - ym) < 1e-12, "intercept %.15g, weighted mean %.15g", b, ym);
    am_enet_info info = am_elasticnet_info(m1);
    ck_assert(info.converged && info.n_alphas == 0);
    ck_assert(fabs(info.alpha_max - amax) < 1e-12 * amax);
    /* Far above, too. */
    am_params p2 = enet_numbers(1e6, l1r, 1e-4);
    am_fit_args a2 = enet_args(&x, y, w, &p2);
    am_model *m2 = enet_fit_ok(&a2);
    am_elasticnet_coef(m2, &beta, &b);
    for (int64_t j = 0; j < p; j++)
        ck_assert(beta[j] == 0.0);
    ck_assert(fabs(b - ym) < 1e-12);
    /* Just below: one feature enters. */
    am_params p3 = enet_numbers(amax * 0.98, l1r, 1e-8);
    am_fit_args a3 = enet_args(&x, y, w, &p3);
    am_model *m3 = enet_fit_ok(&a3);
    am_elasticnet_coef(m3, &beta, &b);
    int nz = 0;
    for (int64_t j = 0; j < p; j++)
        nz += beta[j] != 0;
    ck_assert_int_eq(nz, 1);
    am_model_free(m1);
    am_model_free(m2);
    am_model_free(m3);
    am_matrix_fini(&x);
}
END_TEST

/* ---- invariants ----------------------------------------------------------------------------- */

/* Integer weights (0 included) against rows repeated that many times. */
START_TEST(test_weight_is_duplicate)
{
    am_rng r;
    am_rng_seed(&r, 41);
    int64_t n = 30, p = 6;
    am_matrix x, xd;
    double y[30], w[30], yd[120];
    correlated_problem(&x, y, n, p, &r);
    int64_t nd = 0;
    for (int64_t i = 0; i < n; i++)
        w[i] = (double)(i % 4); /* 0, 1, 2, 3 copies */
    for (int64_t i = 0; i < n; i++)
        nd += (int64_t)w[i];
    ck_assert_int_eq(am_matrix_new(&xd, nd, p, NULL), AM_OK);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < (int)w[i]; c++, k++) {
            for (int64_t j = 0; j < p; j++)
                AM_AT(&xd, k, j) = AM_AT(&x, i, j);
            yd[k] = y[i];
        }
    static const double ratios[] = {1.0, 0.5, 0.0};
    for (size_t t = 0; t < AM_COUNT(ratios); t++) {
        am_params pr = enet_numbers(0.05, ratios[t], 1e-13);
        am_fit_args aw = enet_args(&x, y, w, &pr), ad = enet_args(&xd, yd, NULL, &pr);
        am_model *mw = enet_fit_ok(&aw), *md = enet_fit_ok(&ad);
        const double *bw, *bd;
        double iw, id;
        am_elasticnet_coef(mw, &bw, &iw);
        am_elasticnet_coef(md, &bd, &id);
        for (int64_t j = 0; j < p; j++)
            ck_assert_msg(fabs(bw[j] - bd[j]) < 1e-7, "l1_ratio %g beta[%d]: %.12g vs %.12g",
                          ratios[t], (int)j, bw[j], bd[j]);
        ck_assert(fabs(iw - id) < 1e-7);
        am_model_free(mw);
        am_model_free(md);
    }
    am_matrix_fini(&x);
    am_matrix_fini(&xd);
}
END_TEST

/* Large enough for the setup and the products to run in parallel, and tall enough for BLAS's
 * own dgemv to split its sums: the model bytes and predictions depend neither on the learner's
 * thread count nor on the BLAS library's (set alike here). _i: the solver mode, 0 covariance,
 * 1 naive. */
START_TEST(test_threads_identical)
{
    am_rng r;
    am_rng_seed(&r, 51);
    int64_t n = 20000, p = 60;
    am_matrix x;
    double *y = calloc((size_t)n, sizeof(double));
    double *o[2] = {calloc((size_t)n, sizeof(double)), calloc((size_t)n, sizeof(double))};
    correlated_problem(&x, y, n, p, &r);
    am_params pr = enet_numbers(0.01, 0.5, 1e-6);
    am_enet_mode mode = _i == 0 ? AM_ENET_COVARIANCE : AM_ENET_NAIVE;
    int saved = openblas_get_num_threads();
    am_buf b[2];
    for (int t = 0; t < 2; t++) {
        am_fit_args a = enet_args(&x, y, NULL, &pr);
        a.n_threads = t + 1;
        openblas_set_num_threads(t + 1);
        am_model *m = NULL;
        ck_assert_int_eq(am_elasticnet_fit_mode(&a, mode, &m, NULL), AM_OK);
        am_buf_init(&b[t]);
        ck_assert_int_eq(am_learner_elasticnet.save(m, &b[t], NULL), AM_OK);
        ck_assert_int_eq(am_learner_elasticnet.predict(m, &x, t + 1, NULL, o[t], NULL), AM_OK);
        am_model_free(m);
    }
    openblas_set_num_threads(saved);
    ck_assert(b[0].len == b[1].len && memcmp(b[0].data, b[1].data, b[0].len) == 0);
    ck_assert(memcmp(o[0], o[1], (size_t)n * sizeof(double)) == 0);
    am_buf_fini(&b[0]);
    am_buf_fini(&b[1]);
    free(o[0]);
    free(o[1]);
    free(y);
    am_matrix_fini(&x);
}
END_TEST

/* The two ways of computing a coordinate's gradient reach the same solution: near alpha_max
 * (few features enter, their Gram columns one by one) and far below (the whole matrix). */
START_TEST(test_modes_agree)
{
    am_rng r;
    am_rng_seed(&r, 61);
    int64_t n = 100, p = 80;
    am_matrix x;
    double y[100];
    correlated_problem(&x, y, n, p, &r);
    double fraction = _i == 0 ? 0.7 : 0.01;
    am_params pr = enet_numbers(fraction * alpha_max_of(&x, y, NULL, 0.8), 0.8, 1e-12);
    am_fit_args a = enet_args(&x, y, NULL, &pr);
    am_model *mc = NULL, *mn = NULL;
    ck_assert_int_eq(am_elasticnet_fit_mode(&a, AM_ENET_COVARIANCE, &mc, NULL), AM_OK);
    ck_assert_int_eq(am_elasticnet_fit_mode(&a, AM_ENET_NAIVE, &mn, NULL), AM_OK);
    am_enet_info ic = am_elasticnet_info(mc), in = am_elasticnet_info(mn);
    ck_assert_int_eq(ic.mode, AM_ENET_COVARIANCE);
    ck_assert_int_eq(in.mode, AM_ENET_NAIVE);
    ck_assert_int_eq(in.n_gram, 0);
    if (_i == 0)
        ck_assert_msg(ic.n_gram > 0 && ic.n_gram < 5, "%lld Gram columns", (long long)ic.n_gram);
    else
        ck_assert_int_eq(ic.n_gram, p);
    const double *bc, *bn;
    double b_c, b_n;
    am_elasticnet_coef(mc, &bc, &b_c);
    am_elasticnet_coef(mn, &bn, &b_n);
    for (int64_t j = 0; j < p; j++)
        ck_assert_msg(fabs(bc[j] - bn[j]) < 1e-7, "beta[%d]: %.12g vs %.12g", (int)j, bc[j],
                      bn[j]);
    ck_assert(fabs(b_c - b_n) < 1e-7);
    am_model_free(mc);
    am_model_free(mn);
    am_matrix_fini(&x);
}
END_TEST

/* ---- awkward designs ------------------------------------------------------------------------ */

/* p > n, column 7 a copy of column 3, column 11 all zeros, column 12 constant. */
START_TEST(test_wide_duplicated)
{
    double l1r = _i == 0 ? 1.0 : 0.5;
    am_rng r;
    am_rng_seed(&r, 71);
    int64_t n = 20, p = 50;
    am_matrix x;
    double y[20];
    correlated_problem(&x, y, n, p, &r);
    for (int64_t i = 0; i < n; i++) {
        AM_AT(&x, i, 7) = AM_AT(&x, i, 3);
        AM_AT(&x, i, 11) = 0.0;
        AM_AT(&x, i, 12) = 3.7;
        y[i] += 1.5 * AM_AT(&x, i, 3);
    }
    double alpha = 0.01 * alpha_max_of(&x, y, NULL, l1r), tol = 1e-10;
    am_params pr = enet_numbers(alpha, l1r, tol);
    am_fit_args a = enet_args(&x, y, NULL, &pr);
    for (int mode = AM_ENET_COVARIANCE; mode <= AM_ENET_NAIVE; mode++) {
        am_model *m = NULL;
        ck_assert_int_eq(am_elasticnet_fit_mode(&a, (am_enet_mode)mode, &m, NULL), AM_OK);
        am_enet_info info = am_elasticnet_info(m);
        ck_assert_msg(info.converged, "mode %d: not converged in %d sweeps", mode,
                      info.n_sweeps);
        const double *beta;
        double b;
        am_elasticnet_coef(m, &beta, &b);
        double v = kkt_violation(&x, y, NULL, alpha, l1r, beta, b);
        ck_assert_msg(v <= kkt_bound(&x, y, NULL, tol), "mode %d: KKT violation %g", mode, v);
        ck_assert(beta[11] == 0.0 && beta[12] == 0.0);
        /* Strictly convex: copies share the coefficient equally. Along beta_3 - beta_7 the
         * objective's curvature is l2 alone, so a gap of tol * var(y) allows a difference of
         * 2 sqrt(tol var(y) / l2). */
        double l2 = alpha * (1 - l1r);
        double split = l2 > 0 ? 2 * sqrt(tol * wcov(y, y, NULL, n) / l2) : 0;
        if (l1r < 1)
            ck_assert_msg(fabs(beta[3] - beta[7]) <= split, "%.12g vs %.12g", beta[3], beta[7]);
        else /* the lasso's solutions split the coefficient any way with one sign */
            ck_assert(beta[3] * beta[7] >= 0 && beta[3] + beta[7] != 0);
        am_model_free(m);
    }
    am_matrix_fini(&x);
}
END_TEST

/* More features than the Gram budget allows (p^2 doubles > 128 MiB): the automatic choice is
 * the naive mode, which still meets the conditions. */
START_TEST(test_many_features_naive)
{
    am_rng r;
    am_rng_seed(&r, 75);
    int64_t n = 25, p = 4200;
    am_matrix x;
    double y[25];
    correlated_problem(&x, y, n, p, &r);
    double alpha = 0.3 * alpha_max_of(&x, y, NULL, 1.0), tol = 1e-10;
    am_params pr = enet_numbers(alpha, 1.0, tol);
    am_fit_args a = enet_args(&x, y, NULL, &pr);
    am_model *m = enet_fit_ok(&a);
    am_enet_info info = am_elasticnet_info(m);
    ck_assert_int_eq(info.mode, AM_ENET_NAIVE);
    ck_assert(info.converged);
    const double *beta;
    double b;
    am_elasticnet_coef(m, &beta, &b);
    double v = kkt_violation(&x, y, NULL, alpha, 1.0, beta, b);
    ck_assert_msg(v <= kkt_bound(&x, y, NULL, tol), "KKT violation %g", v);
    am_model_free(m);
    /* A mode that does not exist is refused. */
    ck_assert_int_eq(am_elasticnet_fit_mode(&a, (am_enet_mode)7, &m, NULL), AM_ERR_ARG);
    am_matrix_fini(&x);
}
END_TEST

/* A constant target: nothing to explain, whatever alpha (0 included). */
START_TEST(test_constant_target)
{
    am_rng r;
    am_rng_seed(&r, 81);
    am_matrix x;
    double y[15];
    correlated_problem(&x, y, 15, 4, &r);
    for (int i = 0; i < 15; i++)
        y[i] = 2.5;
    am_params pr = enet_numbers(0.0, 0.5, 1e-4);
    am_fit_args a = enet_args(&x, y, NULL, &pr);
    am_model *m = enet_fit_ok(&a);
    const double *beta;
    double b;
    am_elasticnet_coef(m, &beta, &b);
    for (int j = 0; j < 4; j++)
        ck_assert(beta[j] == 0.0);
    ck_assert(fabs(b - 2.5) < 1e-14);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* No features at all: the weighted mean. */
START_TEST(test_no_features)
{
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 4, 0, NULL), AM_OK);
    double y[4] = {1, 2, 3, 4}, w[4] = {1, 1, 1, 5}, out[4];
    am_params pr = enet_params(NULL, 0);
    am_fit_args a = enet_args(&x, y, w, &pr);
    am_model *m = enet_fit_ok(&a);
    predict_ok(m, &x, out);
    ck_assert(fabs(out[0] - 26.0 / 8.0) < 1e-14);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* No intercept: the conditions hold with b = 0. */
START_TEST(test_no_intercept)
{
    am_rng r;
    am_rng_seed(&r, 91);
    am_matrix x;
    double y[40];
    correlated_problem(&x, y, 40, 5, &r);
    const char *items[] = {"alpha=0.05", "l1_ratio=0.9", "fit_intercept=false", "tol=1e-12"};
    am_params pr = enet_params(items, 4);
    am_fit_args a = enet_args(&x, y, NULL, &pr);
    am_model *m = enet_fit_ok(&a);
    const double *beta;
    double b;
    am_elasticnet_coef(m, &beta, &b);
    ck_assert(b == 0.0);
    /* Only the coefficient conditions: without an intercept the residuals need not sum to 0. */
    double worst = 0;
    for (int64_t j = 0; j < 5; j++) {
        double g = 0;
        for (int64_t i = 0; i < 40; i++) {
            double f = 0;
            for (int64_t k = 0; k < 5; k++)
                f += AM_AT(&x, i, k) * beta[k];
            g += AM_AT(&x, i, j) * (y[i] - f) / 40;
        }
        double v = beta[j] != 0 ? fabs(g - 0.045 * (beta[j] > 0 ? 1 : -1) - 0.005 * beta[j])
                                : fmax(0, fabs(g) - 0.045);
        worst = fmax(worst, v);
    }
    ck_assert_msg(worst < 1e-5, "KKT violation %g", worst);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* ---- max_iter and cancellation -------------------------------------------------------------- */

typedef struct log_capture {
    int warnings;
    char last[512];
} log_capture;

static void capture(int level, const char *message, void *user)
{
    log_capture *c = user;
    if (level == AM_LOG_WARN) {
        c->warnings++;
        snprintf(c->last, sizeof(c->last), "%s", message);
    }
}

START_TEST(test_max_iter_keeps_model)
{
    am_rng r;
    am_rng_seed(&r, 101);
    am_matrix x;
    double y[60];
    correlated_problem(&x, y, 60, 10, &r);
    const char *items[] = {"alpha=0.0001", "l1_ratio=0.5", "max_iter=1", "tol=1e-12"};
    am_params pr = enet_params(items, 4);
    am_fit_args a = enet_args(&x, y, NULL, &pr);
    log_capture cap = {0, ""};
    am_logger lg = {capture, &cap};
    a.log = &lg;
    am_model *m = enet_fit_ok(&a);
    am_enet_info info = am_elasticnet_info(m);
    ck_assert(!info.converged);
    ck_assert_int_eq(info.n_sweeps, 1);
    ck_assert_int_eq(cap.warnings, 1);
    ck_assert_msg(strstr(cap.last, "did not converge") != NULL, "%s", cap.last);
    am_model_free(m);
    /* Converged fits stay quiet. */
    const char *ok_items[] = {"alpha=0.1"};
    am_params pok = enet_params(ok_items, 1);
    a.params = &pok;
    m = enet_fit_ok(&a);
    ck_assert_int_eq(cap.warnings, 1);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

START_TEST(test_cancelled)
{
    am_rng r;
    am_rng_seed(&r, 111);
    am_matrix x;
    double y[30];
    correlated_problem(&x, y, 30, 5, &r);
    am_params pr = enet_params(NULL, 0);
    am_fit_args a = enet_args(&x, y, NULL, &pr);
    volatile int flag = 1;
    am_stop stop = {INFINITY, &flag};
    a.stop = &stop;
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_fit(&am_learner_elasticnet, &a, &m, &d), AM_ERR_CANCELLED);
    ck_assert_ptr_null(m);
    am_matrix_fini(&x);
}
END_TEST

/* ---- save / load ---------------------------------------------------------------------------- */

typedef struct saved {
    am_matrix x;
    am_model *m;
    am_buf buf;
} saved;

static void saved_make(saved *s)
{
    am_rng r;
    am_rng_seed(&r, 121);
    double y[40];
    correlated_problem(&s->x, y, 40, 6, &r);
    am_params pr = enet_numbers(0.05, 0.5, 1e-6);
    am_fit_args a = enet_args(&s->x, y, NULL, &pr);
    s->m = enet_fit_ok(&a);
    am_buf_init(&s->buf);
    ck_assert_int_eq(am_learner_elasticnet.save(s->m, &s->buf, NULL), AM_OK);
}

static void saved_fini(saved *s)
{
    am_model_free(s->m);
    am_matrix_fini(&s->x);
    am_buf_fini(&s->buf);
}

static am_status load_bytes(const uint8_t *data, size_t len, uint32_t version, int64_t nf,
                            int32_t no, am_model **out)
{
    am_reader rd;
    am_reader_init(&rd, data, len, "test payload");
    am_diag d;
    am_diag_clear(&d);
    *out = NULL;
    am_status st = am_learner_elasticnet.load(&rd, version, nf, no, out, &d);
    if (st != AM_OK) {
        ck_assert_ptr_null(*out);
        ck_assert(d.message[0] != '\0');
    } else if (rd.left != 0) {
        /* What the model file reader would refuse as trailing bytes. */
        am_model_free(*out);
        *out = NULL;
        st = AM_ERR_FORMAT;
    }
    return st;
}

START_TEST(test_save_load_roundtrip)
{
    saved s;
    saved_make(&s);
    am_model *m2 = NULL;
    ck_assert_int_eq(load_bytes(s.buf.data, s.buf.len, 1, 6, 1, &m2), AM_OK);
    ck_assert_ptr_eq(m2->type, &am_learner_elasticnet);
    double p1[40], p2[40];
    predict_ok(s.m, &s.x, p1);
    predict_ok(m2, &s.x, p2);
    ck_assert(memcmp(p1, p2, sizeof(p1)) == 0);
    am_buf b2;
    am_buf_init(&b2);
    ck_assert_int_eq(am_learner_elasticnet.save(m2, &b2, NULL), AM_OK);
    ck_assert(b2.len == s.buf.len && memcmp(b2.data, s.buf.data, b2.len) == 0);
    am_buf_fini(&b2);
    am_model_free(m2);
    saved_fini(&s);
}
END_TEST

START_TEST(test_load_truncated)
{
    saved s;
    saved_make(&s);
    for (size_t len = 0; len < s.buf.len; len++) {
        am_model *m2 = NULL;
        ck_assert_msg(load_bytes(s.buf.data, len, 1, 6, 1, &m2) != AM_OK, "%zu bytes loaded",
                      len);
    }
    saved_fini(&s);
}
END_TEST

/* Corruptions: 0 wrong feature count, 1 wrong outputs, 2 NaN intercept, 3 infinite
 * coefficient, 4 newer payload version. */
START_TEST(test_load_corrupt)
{
    saved s;
    saved_make(&s);
    uint8_t *bytes = malloc(s.buf.len);
    memcpy(bytes, s.buf.data, s.buf.len);
    int64_t nf = 6;
    int32_t no = 1;
    uint32_t version = 1;
    double bad = _i == 2 ? NAN : INFINITY;
    switch (_i) {
    case 0: nf = 7; break;
    case 1: no = 2; break;
    case 2: memcpy(bytes + 12, &bad, 8); break;      /* after i64 + u32 dims */
    case 3: memcpy(bytes + 12 + 8 * 3, &bad, 8); break; /* coefficient 2 */
    case 4: version = 2; break;
    }
    am_model *m2 = NULL;
    ck_assert_int_eq(load_bytes(bytes, s.buf.len, version, nf, no, &m2), AM_ERR_FORMAT);
    free(bytes);
    saved_fini(&s);
}
END_TEST

/* ---- bad input ------------------------------------------------------------------------------ */

static const struct bad_param {
    const char *item;
} bad_params[] = {
    {"alpha=-1"}, {"l1_ratio=1.5"}, {"l1_ratio=-0.1"}, {"max_iter=0"}, {"tol=-1"}, {"alpha=nan"},
};

START_TEST(test_bad_params_parse)
{
    am_params p;
    am_params_defaults(am_learner_elasticnet.params, &p);
    am_diag d;
    am_diag_clear(&d);
    const char *items[] = {bad_params[_i].item};
    ck_assert_int_eq(am_params_parse(am_learner_elasticnet.params, items, 1, &p, &d),
                     AM_ERR_CONFIG);
    ck_assert_msg(strstr(d.message, "elasticnet.") != NULL, "%s", d.message);
}
END_TEST

/* Values that bypass the parser (a fit called through the type object) are still refused. */
static const struct bad_value {
    const char *key;
    double value;
} bad_values[] = {
    {"alpha", -1.0}, {"l1_ratio", 1.5}, {"alpha", NAN}, {"max_iter", 0}, {"tol", -1},
};

START_TEST(test_bad_params_direct)
{
    am_rng r;
    am_rng_seed(&r, 131);
    am_matrix x;
    double y[10];
    correlated_problem(&x, y, 10, 3, &r);
    am_params p = enet_params(NULL, 0);
    int32_t k = am_params_find(am_learner_elasticnet.params, bad_values[_i].key);
    ck_assert_int_ge(k, 0);
    p.v[k] = bad_values[_i].value;
    am_fit_args a = enet_args(&x, y, NULL, &p);
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_elasticnet.fit(&a, &m, &d), AM_ERR_CONFIG);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(d.message, bad_values[_i].key) != NULL, "%s", d.message);
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_fit(&am_learner_elasticnet, &a, &m, &d), AM_ERR_CONFIG);
    ck_assert_ptr_null(m);
    am_matrix_fini(&x);
}
END_TEST

START_TEST(test_bad_task_and_data)
{
    am_rng r;
    am_rng_seed(&r, 141);
    am_matrix x;
    double y[10], w[10];
    correlated_problem(&x, y, 10, 3, &r);
    for (int i = 0; i < 10; i++) {
        y[i] = i % 2;
        w[i] = 1;
    }
    am_params p = enet_params(NULL, 0);
    am_fit_args a = enet_args(&x, y, w, &p);
    a.task = AM_TASK_BINARY;
    a.n_classes = 2;
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_elasticnet.fit(&a, &m, &d), AM_ERR_CONFIG);
    ck_assert_str_eq(d.message, "elasticnet does not support binary classification");
    a = enet_args(&x, y, w, &p);
    w[3] = -1;
    ck_assert_int_eq(am_learner_elasticnet.fit(&a, &m, &d), AM_ERR_DATA);
    w[3] = 1;
    AM_AT(&x, 2, 1) = NAN;
    ck_assert_int_eq(am_learner_elasticnet.fit(&a, &m, &d), AM_ERR_DATA);
    ck_assert_ptr_null(m);
    am_matrix_fini(&x);
}
END_TEST

START_TEST(test_out_of_memory)
{
    am_rng r;
    am_rng_seed(&r, 151);
    am_matrix x;
    double y[30];
    correlated_problem(&x, y, 30, 8, &r);
    am_params p = enet_numbers(0.01, 0.5, 1e-6);
    am_fit_args a = enet_args(&x, y, NULL, &p);
    /* Every allocation point in turn fails; each must be reported, never crash or leak. */
    bool finished = false;
    for (int64_t k = 0; k < 200 && !finished; k++) {
        am_model *m = NULL;
        am_diag d;
        am_diag_clear(&d);
        am_alloc_fail_after(k);
        am_status st = am_learner_fit(&am_learner_elasticnet, &a, &m, &d);
        am_alloc_fail_after(-1);
        if (st == AM_OK) {
            finished = true;
            am_model_free(m);
        } else {
            ck_assert_msg(st == AM_ERR_NOMEM, "allocation %lld: %s", (long long)k, d.message);
            ck_assert_ptr_null(m);
        }
    }
    ck_assert(finished);
    am_matrix_fini(&x);
}
END_TEST

/* ---- the suite ------------------------------------------------------------------------------- */

static Suite *enet_suite(void)
{
    Suite *s = suite_create("elasticnet");
    TCase *tc = tcase_create("optimality");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_kkt_path, 0, (int)AM_COUNT(path_l1_ratios));
    tcase_add_loop_test(tc, test_gap_bounds_suboptimality, 0, (int)AM_COUNT(path_l1_ratios));
    tcase_add_loop_test(tc, test_reference_prox, 0, (int)AM_COUNT(small_cases));
    tcase_add_loop_test(tc, test_reference_sklearn, 0, (int)AM_COUNT(sklearn_cases));
    tcase_add_loop_test(tc, test_matches_ridge, 0, 2);
    tcase_add_test(tc, test_alpha_max);
    suite_add_tcase(s, tc);

    tc = tcase_create("invariants");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_weight_is_duplicate);
    tcase_add_loop_test(tc, test_threads_identical, 0, 2);
    tcase_add_loop_test(tc, test_modes_agree, 0, 2);
    tcase_add_loop_test(tc, test_wide_duplicated, 0, 2);
    tcase_add_test(tc, test_many_features_naive);
    tcase_add_test(tc, test_constant_target);
    tcase_add_test(tc, test_no_features);
    tcase_add_test(tc, test_no_intercept);
    tcase_add_test(tc, test_max_iter_keeps_model);
    tcase_add_test(tc, test_cancelled);
    suite_add_tcase(s, tc);

    tc = tcase_create("save_load");
    tcase_add_test(tc, test_save_load_roundtrip);
    tcase_add_test(tc, test_load_truncated);
    tcase_add_loop_test(tc, test_load_corrupt, 0, 5);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_input");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_bad_params_parse, 0, (int)AM_COUNT(bad_params));
    tcase_add_loop_test(tc, test_bad_params_direct, 0, (int)AM_COUNT(bad_values));
    tcase_add_test(tc, test_bad_task_and_data);
    tcase_add_test(tc, test_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(enet_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
