/* test_logreg.c — logreg's penalties with an L1 part (l1, elasticnet) and its class weights.
 *
 * What is proved, and how:
 *  - the solutions are optimal: the KKT (subgradient) conditions are checked here from the
 *    gradient of the smooth loss alone (am_logreg_objective with the L2 term off), binary and
 *    multinomial, with and without weights and intercepts, on well- and ill-conditioned, wide
 *    and larger data (both ways the solver has of forming its Newton model);
 *  - one small case agrees with scikit-learn's saga solver (reference numbers below);
 *  - sparsity behaves: monotone along a path of C, irrelevant features zeroed, informative
 *    ones kept, and with three classes every feature keeps a zero coefficient (the softmax's
 *    shift invariance puts the median of a feature's coefficients at zero);
 *  - class_weight=balanced is exactly the balanced weights passed as sample weights;
 *  - the penalty choices are consistent (elasticnet with l1_ratio 1 is l1, 0 is l2) and keep
 *    the saved enum indices of older model files;
 *  - determinism across thread counts, save -> load -> the same predictions, bad parameters,
 *    cancellation and out-of-memory. */
#include <cblas.h>
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../learners/internal.h"
#include "learner_testing.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static am_params logreg_params_of(const char *const *items, int32_t n)
{
    return lt_params(&am_learner_logreg, items, n);
}

static am_fit_args logreg_args(const am_matrix *x, const double *y, const double *w,
                               int32_t n_classes, const am_params *p)
{
    return lt_dense_args(x, y, w, n_classes == 2 ? AM_TASK_BINARY : AM_TASK_MULTICLASS,
                         n_classes, p);
}

static am_model *logreg_fit_ok(const am_fit_args *a)
{
    return lt_fit_ok(&am_learner_logreg, a);
}

/* How a synthetic data set is drawn. */
typedef struct data_spec {
    int64_t n, p;
    int32_t n_classes;
    int n_informative; /* the first features carry the signal, the rest are noise */
    double signal;     /* scale of the informative coefficients */
    double rho;        /* AR(1) correlation of neighbouring features: near 1 is ill-conditioned */
    double skew;       /* added to class 0's logit: unbalanced classes */
    uint64_t seed;
} data_spec;

/* Features AR(1)-correlated standard normals; labels drawn from a softmax (sigmoid for two
 * classes) of random coefficients on the informative features: overlapping classes. */
static void make_data(const data_spec *s, am_matrix *x, double *y)
{
    am_rng r;
    am_rng_seed(&r, s->seed);
    ck_assert_int_eq(am_matrix_new(x, s->n, s->p, NULL), AM_OK);
    for (int64_t i = 0; i < s->n; i++) {
        double prev = lt_gauss(&r);
        for (int64_t j = 0; j < s->p; j++) {
            if (j > 0)
                prev = s->rho * prev + sqrt(1 - s->rho * s->rho) * lt_gauss(&r);
            AM_AT(x, i, j) = prev;
        }
    }
    enum { MAXC = 6, MAXI = 8 };
    ck_assert(s->n_classes <= MAXC && s->n_informative <= MAXI && s->n_informative <= s->p);
    double beta[MAXC][MAXI];
    for (int c = 0; c < s->n_classes; c++)
        for (int j = 0; j < s->n_informative; j++)
            beta[c][j] = s->signal * lt_gauss(&r);
    for (int64_t i = 0; i < s->n; i++) {
        double e[MAXC], sum = 0;
        for (int c = 0; c < s->n_classes; c++) {
            double z = c == 0 ? s->skew : 0;
            for (int j = 0; j < s->n_informative; j++)
                z += AM_AT(x, i, j) * beta[c][j];
            e[c] = exp(z);
            sum += e[c];
        }
        double u = am_rng_uniform(&r) * sum, cum = 0;
        y[i] = s->n_classes - 1;
        for (int c = 0; c < s->n_classes; c++) {
            cum += e[c];
            if (u < cum) {
                y[i] = c;
                break;
            }
        }
    }
}

static void coef_of(const am_model *m, int32_t *k, const double **coef)
{
    const double *icpt;
    int32_t n_iter;
    am_logreg_coef(m, k, coef, &icpt, &n_iter);
}

static int32_t n_iter_of(const am_model *m)
{
    int32_t k, n_iter;
    const double *coef, *icpt;
    am_logreg_coef(m, &k, &coef, &icpt, &n_iter);
    return n_iter;
}

/* Zero entries of W (the intercepts left out). */
static int count_zeros(const am_model *m)
{
    int32_t k;
    const double *coef;
    coef_of(m, &k, &coef);
    int zeros = 0;
    for (int64_t j = 0; j < m->n_features * k; j++)
        zeros += coef[j] == 0;
    return zeros;
}

/* The optimality conditions of f = C sum w_i loss_i + (1 - r)/2 ||W||^2 + r ||W||_1 at the
 * fitted coefficients, from g = the gradient of C sum w_i loss_i alone:
 *     W_j != 0:  g_j + (1 - r) W_j + r sign(W_j) = 0
 *     W_j == 0:  |g_j| <= r
 *     b_k:       g_k = 0 (unpenalised; only when fitted).
 * Returns the largest violation. */
static double kkt_violation(const am_model *m, const am_matrix *x, const double *y,
                            const double *w, int32_t n_classes, double c, double r,
                            bool intercept)
{
    int32_t k;
    const double *coef;
    coef_of(m, &k, &coef);
    int64_t pk = x->n_cols * k, dim = pk + (intercept ? k : 0);
    double *g = calloc((size_t)dim + 1, sizeof(double)), f;
    ck_assert_int_eq(am_logreg_objective(x, y, w, n_classes, c, false, intercept, coef, &f, g,
                                         NULL), AM_OK);
    double worst = 0;
    for (int64_t j = 0; j < dim; j++) {
        double v;
        if (j >= pk)
            v = fabs(g[j]);
        else if (coef[j] != 0)
            v = fabs(g[j] + (1 - r) * coef[j] + r * (coef[j] > 0 ? 1 : -1));
        else
            v = fmax(fabs(g[j]) - r, 0);
        worst = fmax(worst, v);
    }
    free(g);
    return worst;
}

/* ---- optimality ----------------------------------------------------------------------------- */

/* The solver forms the model Hessian explicitly ("covariance mode") once an outer iteration
 * needs many coordinate sweeps and the parameters are few (dim <= 512, dim <= n); otherwise it
 * works through the data. The cases cover both: the well-conditioned ones stay on the data,
 * the ill-conditioned ones switch, the wide and the large ones never can. */
static const struct kkt_case {
    const char *what;
    int64_t n, p;
    int32_t n_classes;
    const char *penalty, *l1_ratio; /* parameter items */
    double r;                       /* the l1 ratio they mean */
    double c, rho;
    bool weights, intercept;
} kkt_cases[] = {
    {"binary l1, weighted", 200, 10, 2, "penalty=l1", "l1_ratio=0.5", 1.0, 0.5, 0.0, true, true},
    {"binary elasticnet", 200, 10, 2, "penalty=elasticnet", "l1_ratio=0.3", 0.3, 0.1, 0.5, false,
     true},
    {"binary l1, ill-conditioned", 200, 10, 2, "penalty=l1", "l1_ratio=0.5", 1.0, 10.0, 0.995,
     false, true},
    {"binary elasticnet, no intercept", 200, 10, 2, "penalty=elasticnet", "l1_ratio=0.8", 0.8,
     0.2, 0.0, true, false},
    {"binary l1, wide (80 rows, 120 features)", 80, 120, 2, "penalty=l1", "l1_ratio=0.5", 1.0,
     2.0, 0.9, true, true},
    {"3 classes l1, weighted", 200, 10, 3, "penalty=l1", "l1_ratio=0.5", 1.0, 1.0, 0.0, true,
     true},
    {"4 classes elasticnet, no intercept", 200, 10, 4, "penalty=elasticnet", "l1_ratio=0.7", 0.7,
     0.3, 0.3, false, false},
    {"3 classes l1, ill-conditioned", 200, 10, 3, "penalty=l1", "l1_ratio=0.5", 1.0, 5.0, 0.99,
     true, true},
    {"3 classes elasticnet, large C", 200, 10, 3, "penalty=elasticnet", "l1_ratio=0.5", 0.5,
     1000.0, 0.6, false, true},
    {"3 classes elasticnet, 603 parameters", 700, 200, 3, "penalty=elasticnet", "l1_ratio=0.9",
     0.9, 0.05, 0.7, true, true},
};

START_TEST(test_kkt)
{
    const struct kkt_case *kc = &kkt_cases[_i];
    data_spec s = {kc->n, kc->p, kc->n_classes, 4, 1.0, kc->rho, 0.0, 1000 + (uint64_t)_i};
    am_matrix x;
    double *y = malloc((size_t)kc->n * sizeof(double)), *w = malloc((size_t)kc->n * sizeof(double));
    make_data(&s, &x, y);
    am_rng r;
    am_rng_seed(&r, 77 + (uint64_t)_i);
    for (int64_t i = 0; i < kc->n; i++)
        w[i] = 0.2 + 1.6 * am_rng_uniform(&r);
    char c_item[32];
    snprintf(c_item, sizeof(c_item), "C=%.17g", kc->c);
    const char *items[] = {kc->penalty, kc->l1_ratio, c_item, "tol=1e-10", "max_iter=1000",
                           kc->intercept ? "fit_intercept=true" : "fit_intercept=false"};
    am_params p = logreg_params_of(items, 6);
    const double *wp = kc->weights ? w : NULL;
    am_fit_args a = logreg_args(&x, y, wp, kc->n_classes, &p);
    am_model *m = logreg_fit_ok(&a);
    double worst = kkt_violation(m, &x, y, wp, kc->n_classes, kc->c, kc->r, kc->intercept);
    int zeros = count_zeros(m), pk = (int)kc->p * (kc->n_classes == 2 ? 1 : kc->n_classes);
    printf("logreg %s: KKT violation %.2e, %d of %d coefficients zero, %d iterations\n",
           kc->what, worst, zeros, pk, (int)n_iter_of(m));
    /* The gradient grows with C, and so does what double precision can resolve in it. */
    double tol = 1e-6 * fmax(1, kc->c / 100);
    ck_assert_msg(worst < tol, "%s: KKT violated by %g", kc->what, worst);
    /* Both branches of the conditions are exercised: some coefficients zero, some not. */
    ck_assert_msg(zeros > 0 && zeros < pk, "%s: %d zeros", kc->what, zeros);
    am_model_free(m);
    am_matrix_fini(&x);
    free(y);
    free(w);
}
END_TEST

/* Reference: scikit-learn 1.2.1, LogisticRegression(penalty="l1", C=0.5, solver="saga",
 * tol=1e-12, max_iter=10000000, random_state=0) fitted on the 24 x 3 table below (binary,
 * intercept fitted, no scaling), coef_ and intercept_ printed with 17 digits. saga is
 * stochastic but converges to the unique optimum: other random states agree to 3e-10, and the
 * subgradient conditions hold there to 3e-10. The table was drawn once (normal values rounded
 * to two decimals, labels from a logistic model) and is fixed here. */
static const double ref_x[24][3] = {
    {1.69, -0.47, 0.03},  {0.41, -0.79, 0.00},   {-0.00, -1.75, 1.02}, {0.60, -0.63, -0.17},
    {0.51, -0.26, -0.24}, {-1.45, 0.55, 0.12},   {0.27, -1.53, 1.65},  {0.15, -0.39, 2.03},
    {-0.05, -1.45, -0.41}, {-2.29, 1.05, -0.42}, {-0.74, 1.07, -1.65}, {0.54, -2.06, -0.66},
    {-1.20, 1.46, 1.77},  {-0.33, 0.84, -0.18},  {0.57, -0.75, -1.71}, {-1.80, 0.38, 2.25},
    {0.27, -0.52, 1.91},  {0.24, 0.10, 0.25},    {-0.13, -0.31, -1.43}, {0.50, -0.09, 1.19},
    {-0.37, -1.91, -0.10}, {1.70, -0.38, -0.89}, {-1.19, -1.05, -0.30}, {-1.18, 1.50, -0.28},
};
static const double ref_y[24] = {1, 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1,
                                 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0};
static const double ref_coef[3] = {1.0580617014422178, -0.87439933590819208, 0};
static const double ref_intercept = -0.036443643165190769;

START_TEST(test_sklearn_reference)
{
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 24, 3, NULL), AM_OK);
    for (int i = 0; i < 24; i++)
        for (int j = 0; j < 3; j++)
            AM_AT(&x, i, j) = ref_x[i][j];
    const char *items[] = {"penalty=l1", "C=0.5", "tol=1e-12", "max_iter=1000"};
    am_params p = logreg_params_of(items, 4);
    am_fit_args a = logreg_args(&x, ref_y, NULL, 2, &p);
    am_model *m = logreg_fit_ok(&a);
    int32_t k, n_iter;
    const double *coef, *icpt;
    am_logreg_coef(m, &k, &coef, &icpt, &n_iter);
    double worst = fabs(icpt[0] - ref_intercept);
    for (int j = 0; j < 3; j++)
        worst = fmax(worst, fabs(coef[j] - ref_coef[j]));
    printf("logreg l1 vs scikit-learn saga: largest difference %.2e\n", worst);
    ck_assert_msg(worst < 1e-8, "coef %.12g %.12g %.12g, intercept %.12g", coef[0], coef[1],
                  coef[2], icpt[0]);
    ck_assert(coef[2] == 0); /* the zero is exact, as scikit-learn's */
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* ---- sparsity ------------------------------------------------------------------------------- */

/* Along a path of growing C (weaker penalty) the number of zero coefficients never grows; the
 * smallest C zeroes everything. _i: 0 binary, 1 three classes.
 *
 * With three classes the softmax does not change when a feature's three coefficients move
 * together, and the L1 term is least when they are moved to put their median at zero: at the
 * optimum every feature keeps at least one zero coefficient, however large C. */
START_TEST(test_path_sparsity)
{
    enum { P = 8 };
    int32_t n_classes = _i == 0 ? 2 : 3, k = _i == 0 ? 1 : 3;
    data_spec s = {150, P, n_classes, P, 0.5, 0.3, 0.0, 2000 + (uint64_t)_i};
    am_matrix x;
    double y[150];
    make_data(&s, &x, y);
    static const double cs[] = {1e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 5, 100};
    int prev = P * k + 1;
    for (size_t i = 0; i < AM_COUNT(cs); i++) {
        char c_item[32];
        snprintf(c_item, sizeof(c_item), "C=%g", cs[i]);
        const char *items[] = {"penalty=l1", c_item, "tol=1e-9"};
        am_params p = logreg_params_of(items, 3);
        am_fit_args a = logreg_args(&x, y, NULL, n_classes, &p);
        am_model *m = logreg_fit_ok(&a);
        int zeros = count_zeros(m);
        printf("logreg l1 path, %d classes, C=%g: %d zeros\n", (int)n_classes, cs[i], zeros);
        ck_assert_msg(zeros <= prev, "C=%g: %d zeros after %d", cs[i], zeros, prev);
        if (i == 0)
            ck_assert_int_eq(zeros, P * k);
        int32_t kk;
        const double *coef;
        coef_of(m, &kk, &coef);
        for (int j = 0; k == 3 && j < P; j++)
            ck_assert_msg(coef[j] == 0 || coef[j + P] == 0 || coef[j + 2 * P] == 0,
                          "C=%g: feature %d has no zero class coefficient", cs[i], j);
        if (i + 1 == AM_COUNT(cs))
            ck_assert_int_eq(zeros, k == 1 ? 0 : P);
        prev = zeros;
        am_model_free(m);
    }
    am_matrix_fini(&x);
}
END_TEST

/* Many irrelevant features: l1 zeroes nearly all of them and keeps every informative one.
 * _i: 0 binary, 1 four classes. */
START_TEST(test_irrelevant_features)
{
    enum { N = 400, P = 40, INF = 4 };
    int32_t n_classes = _i == 0 ? 2 : 4, k = _i == 0 ? 1 : 4;
    data_spec s = {N, P, n_classes, INF, 2.0, 0.0, 0.0, 3000 + (uint64_t)_i};
    am_matrix x;
    double y[N];
    make_data(&s, &x, y);
    const char *items[] = {"penalty=l1", "C=0.05"};
    am_params p = logreg_params_of(items, 2);
    am_fit_args a = logreg_args(&x, y, NULL, n_classes, &p);
    am_model *m = logreg_fit_ok(&a);
    int32_t kk;
    const double *coef;
    coef_of(m, &kk, &coef);
    ck_assert_int_eq(kk, k);
    int kept_noise = 0;
    for (int j = 0; j < P; j++) {
        bool used = false;
        for (int c = 0; c < k; c++)
            used |= coef[j + c * P] != 0;
        if (j < INF)
            ck_assert_msg(used, "informative feature %d was dropped", j);
        else
            kept_noise += used;
    }
    printf("logreg l1, %d classes: %d of %d irrelevant features kept\n", (int)n_classes,
           kept_noise, P - INF);
    ck_assert_msg(kept_noise <= (P - INF) / 10, "%d irrelevant features kept", kept_noise);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* ---- class weights -------------------------------------------------------------------------- */

/* class_weight=balanced is the same fit as sample weights w_i * n / (n_classes * W_c), W_c the
 * weighted count of row i's class: same coefficients. _i: 0 l2 (L-BFGS), 1 l1 (proximal
 * Newton), 2 binary elasticnet. */
START_TEST(test_balanced_is_sample_weights)
{
    static const char *const penalties[] = {"penalty=l2", "penalty=l1", "penalty=elasticnet"};
    int32_t n_classes = _i == 2 ? 2 : 3;
    data_spec s = {180, 5, n_classes, 5, 1.0, 0.2, 2.0, 4000 + (uint64_t)_i};
    am_matrix x;
    double y[180], w[180], wb[180], cw[3] = {0, 0, 0};
    make_data(&s, &x, y);
    am_rng r;
    am_rng_seed(&r, 4100);
    for (int i = 0; i < 180; i++) {
        w[i] = 0.5 + am_rng_uniform(&r);
        cw[(int)y[i]] += w[i];
    }
    printf("logreg balanced: class weights %g %g %g\n", cw[0], cw[1], cw[2]);
    ck_assert(cw[0] > 1.5 * cw[1]); /* the skew made class 0 dominant */
    for (int c = 0; c < n_classes; c++)
        cw[c] = 180.0 / ((double)n_classes * cw[c]);
    for (int i = 0; i < 180; i++)
        wb[i] = w[i] * cw[(int)y[i]];

    const char *items[] = {penalties[_i], "tol=1e-10", "max_iter=1000", "class_weight=balanced"};
    am_params pb = logreg_params_of(items, 4), pn = logreg_params_of(items, 3);
    am_fit_args a = logreg_args(&x, y, w, n_classes, &pb);
    am_model *mb = logreg_fit_ok(&a);
    a = logreg_args(&x, y, wb, n_classes, &pn);
    am_model *mw = logreg_fit_ok(&a);
    a = logreg_args(&x, y, w, n_classes, &pn);
    am_model *mu = logreg_fit_ok(&a); /* unbalanced: must differ */
    int32_t k;
    const double *cb, *cwt, *cu;
    coef_of(mb, &k, &cb);
    coef_of(mw, &k, &cwt);
    coef_of(mu, &k, &cu);
    double diff = 0, change = 0;
    for (int j = 0; j < 6 * k; j++) {
        diff = fmax(diff, fabs(cb[j] - cwt[j]));
        change = fmax(change, fabs(cb[j] - cu[j]));
    }
    ck_assert_msg(diff <= 1e-12, "balanced vs sample weights: %g", diff);
    ck_assert_msg(change > 1e-2, "balancing changed nothing (%g)", change);
    am_model_free(mb);
    am_model_free(mw);
    am_model_free(mu);
    am_matrix_fini(&x);
}
END_TEST

/* ---- consistency of the penalty choices ----------------------------------------------------- */

static bool same_coef(const am_model *a, const am_model *b)
{
    int32_t k;
    const double *ca, *cb;
    coef_of(a, &k, &ca);
    coef_of(b, &k, &cb);
    return memcmp(ca, cb, (size_t)(a->n_features + 1) * (size_t)k * sizeof(double)) == 0;
}

/* elasticnet with l1_ratio 1 is l1 and with 0 is l2, bit for bit; l1_ratio is ignored by the
 * other penalties. The saved enum indices stay those of older model files: 0 = l2, 1 = none. */
START_TEST(test_penalty_choices)
{
    data_spec s = {100, 4, 3, 4, 1.0, 0.0, 0.0, 5000};
    am_matrix x;
    double y[100];
    make_data(&s, &x, y);
    const char *en1[] = {"penalty=elasticnet", "l1_ratio=1"}, *l1[] = {"penalty=l1"};
    const char *en0[] = {"penalty=elasticnet", "l1_ratio=0"}, *l2[] = {"penalty=l2"};
    const char *l2r[] = {"penalty=l2", "l1_ratio=0.9"};
    am_params p[5] = {logreg_params_of(en1, 2), logreg_params_of(l1, 1), logreg_params_of(en0, 2), logreg_params_of(l2, 1),
                      logreg_params_of(l2r, 2)};
    am_model *m[5];
    for (int i = 0; i < 5; i++) {
        am_fit_args a = logreg_args(&x, y, NULL, 3, &p[i]);
        m[i] = logreg_fit_ok(&a);
    }
    ck_assert(same_coef(m[0], m[1]));
    ck_assert(same_coef(m[2], m[3]));
    ck_assert(same_coef(m[3], m[4]));
    ck_assert(!same_coef(m[1], m[3]));
    for (int i = 0; i < 5; i++)
        am_model_free(m[i]);

    const am_param_table *t = am_learner_logreg.params;
    int32_t ip = am_params_find(t, "penalty");
    ck_assert_int_eq(ip, 1);
    char buf[32];
    static const char *const names[] = {"l2", "none", "l1", "elasticnet"};
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(am_params_value_text(&t->desc[ip], i, buf, sizeof(buf)), names[i]);
    am_params d = logreg_params_of(NULL, 0);
    ck_assert(d.v[am_params_find(t, "l1_ratio")] == 0.5);
    ck_assert(d.v[am_params_find(t, "class_weight")] == 0);
    ck_assert_uint_eq(am_learner_logreg.format_version, 1);
    am_matrix_fini(&x);
}
END_TEST

/* Without features only the (unpenalised) intercepts are fitted, by the proximal Newton
 * solver too: the class frequencies. */
START_TEST(test_no_features_l1)
{
    am_matrix x;
    ck_assert_int_eq(am_matrix_new(&x, 8, 0, NULL), AM_OK);
    double y[8] = {0, 1, 1, 2, 2, 2, 0, 2}, w[8] = {1, 1, 1, 1, 1, 1, 1, 3}, out[8 * 3];
    const char *items[] = {"penalty=l1", "tol=1e-10"};
    am_params p = logreg_params_of(items, 2);
    am_fit_args a = logreg_args(&x, y, w, 3, &p);
    am_model *m = logreg_fit_ok(&a);
    ck_assert_int_eq(am_learner_logreg.predict(m, &x, 1, NULL, out, NULL), AM_OK);
    ck_assert_double_eq_tol(out[0], 0.2, 1e-8);
    ck_assert_double_eq_tol(out[1], 0.2, 1e-8);
    ck_assert_double_eq_tol(out[2], 0.6, 1e-8);
    am_model_free(m);

    /* Nothing to fit at all: uniform probabilities. */
    const char *none[] = {"penalty=l1", "fit_intercept=false"};
    p = logreg_params_of(none, 2);
    m = logreg_fit_ok(&a);
    ck_assert_int_eq(am_learner_logreg.predict(m, &x, 1, NULL, out, NULL), AM_OK);
    ck_assert_double_eq_tol(out[0], 1.0 / 3.0, 1e-15);
    am_model_free(m);
    am_matrix_fini(&x);
}
END_TEST

/* ---- determinism, save and load ------------------------------------------------------------- */

static const char *const model_items[4][3] = {
    {"penalty=l1", "C=0.3", "class_weight=balanced"},
    {"penalty=elasticnet", "l1_ratio=0.4", "C=0.1"},
    {"penalty=l2", "C=0.3", "class_weight=balanced"},
    {"penalty=l2", "C=2", "tol=1e-8"},
};

/* The model bytes and predictions do not depend on the thread count, of the learner or of the
 * BLAS library (set alike here). _i: 0 three-class l1, 1 binary elasticnet, 2 binary l2 (the
 * matrix-vector products), 3 three-class l2 (matrix-matrix). */
START_TEST(test_threads)
{
    int32_t n_classes = _i % 2 == 0 ? 3 : 2;
    int saved = openblas_get_num_threads();
    data_spec s = {3000, 12, n_classes, 6, 0.7, 0.5, 0.5, 6000 + (uint64_t)_i};
    am_matrix x;
    double *y = malloc(3000 * sizeof(double)), *o1 = malloc(3000 * 3 * sizeof(double)),
           *o2 = malloc(3000 * 3 * sizeof(double));
    make_data(&s, &x, y);
    am_params p = logreg_params_of(model_items[_i], 3);
    am_buf b[2];
    for (int t = 0; t < 2; t++) {
        am_fit_args a = logreg_args(&x, y, NULL, n_classes, &p);
        a.n_threads = t + 1;
        openblas_set_num_threads(t + 1);
        am_model *m = logreg_fit_ok(&a);
        am_buf_init(&b[t]);
        ck_assert_int_eq(am_learner_logreg.save(m, &b[t], NULL), AM_OK);
        ck_assert_int_eq(am_learner_logreg.predict(m, &x, t + 1, NULL, t ? o2 : o1, NULL),
                         AM_OK);
        am_model_free(m);
    }
    openblas_set_num_threads(saved);
    ck_assert(b[0].len == b[1].len && memcmp(b[0].data, b[1].data, b[0].len) == 0);
    ck_assert(memcmp(o1, o2, 3000 * (size_t)n_classes * sizeof(double)) == 0);
    am_buf_fini(&b[0]);
    am_buf_fini(&b[1]);
    free(y);
    free(o1);
    free(o2);
    am_matrix_fini(&x);
}
END_TEST

/* save -> load (payload version 1, unchanged by the new penalties) -> the same predictions bit
 * for bit, and the same bytes saved again. */
START_TEST(test_save_load)
{
    int32_t n_classes = _i == 0 ? 3 : 2;
    data_spec s = {120, 6, n_classes, 3, 1.0, 0.0, 0.0, 7000 + (uint64_t)_i};
    am_matrix x;
    double y[120], o1[120 * 3], o2[120 * 3];
    make_data(&s, &x, y);
    am_params p = logreg_params_of(model_items[_i], 3);
    am_fit_args a = logreg_args(&x, y, NULL, n_classes, &p);
    am_model *m = logreg_fit_ok(&a);
    ck_assert_int_gt(count_zeros(m), 0);
    am_buf b, b2;
    am_buf_init(&b);
    am_buf_init(&b2);
    ck_assert_int_eq(am_learner_logreg.save(m, &b, NULL), AM_OK);
    am_reader rd;
    am_reader_init(&rd, b.data, b.len, "test payload");
    am_model *m2 = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(am_learner_logreg.load(&rd, 1, 6, n_classes, &m2, &d) == AM_OK, "%s",
                  d.message);
    ck_assert_int_eq(am_learner_logreg.predict(m, &x, 1, NULL, o1, NULL), AM_OK);
    ck_assert_int_eq(am_learner_logreg.predict(m2, &x, 1, NULL, o2, NULL), AM_OK);
    ck_assert(memcmp(o1, o2, 120 * (size_t)n_classes * sizeof(double)) == 0);
    ck_assert_int_eq(am_learner_logreg.save(m2, &b2, NULL), AM_OK);
    ck_assert(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
    am_buf_fini(&b);
    am_buf_fini(&b2);
    am_model_free(m);
    am_model_free(m2);
    am_matrix_fini(&x);
}
END_TEST

/* ---- bad input, cancellation, out of memory ------------------------------------------------- */

static const struct bad_param {
    const char *item, *message;
} bad_params[] = {
    {"l1_ratio=1.5", "logreg.l1_ratio=1.5: must be in [0, 1]"},
    {"l1_ratio=-0.1", "logreg.l1_ratio=-0.1: must be in [0, 1]"},
    {"penalty=l3", "logreg.penalty=l3: must be one of l2, none, l1, elasticnet"},
    {"penalty=L1", "logreg.penalty=L1: must be one of l2, none, l1, elasticnet"},
    {"class_weight=auto", "logreg.class_weight=auto: must be one of none, balanced"},
};

START_TEST(test_bad_params)
{
    const struct bad_param *bp = &bad_params[_i];
    am_params p;
    am_diag d;
    am_diag_clear(&d);
    am_params_defaults(am_learner_logreg.params, &p);
    const char *items[] = {bp->item};
    ck_assert_int_eq(am_params_parse(am_learner_logreg.params, items, 1, &p, &d), AM_ERR_CONFIG);
    ck_assert_str_eq(d.message, bp->message);
}
END_TEST

/* A value set past the parser (as from a corrupt model file) is refused by the fit itself. */
START_TEST(test_bad_l1_ratio_in_fit)
{
    am_matrix x;
    double y[4] = {0, 1, 0, 1};
    ck_assert_int_eq(am_matrix_new(&x, 4, 1, NULL), AM_OK);
    am_params p = logreg_params_of(NULL, 0);
    p.v[am_params_find(am_learner_logreg.params, "l1_ratio")] = 2;
    am_fit_args a = logreg_args(&x, y, NULL, 2, &p);
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_fit(&am_learner_logreg, &a, &m, &d), AM_ERR_CONFIG);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(am_learner_logreg.fit(&a, &m, &d), AM_ERR_CONFIG);
    ck_assert_ptr_null(m);
    am_matrix_fini(&x);
}
END_TEST

START_TEST(test_cancel)
{
    data_spec s = {300, 10, 3, 5, 1.0, 0.5, 0.0, 8000};
    am_matrix x;
    double y[300];
    make_data(&s, &x, y);
    const char *items[] = {"penalty=l1"};
    am_params p = logreg_params_of(items, 1);
    am_fit_args a = logreg_args(&x, y, NULL, 3, &p);
    volatile int flag = 1;
    am_stop cancel = {INFINITY, &flag};
    a.stop = &cancel;
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_learner_fit(&am_learner_logreg, &a, &m, &d), AM_ERR_CANCELLED);
    ck_assert_ptr_null(m);
    am_stop past = {am_now() - 1.0, NULL};
    a.stop = &past;
    ck_assert_int_eq(am_learner_fit(&am_learner_logreg, &a, &m, &d), AM_ERR_CANCELLED);
    ck_assert_ptr_null(m);
    am_matrix_fini(&x);
}
END_TEST

/* Every allocation failing in turn gives AM_ERR_NOMEM and nothing else (no leak under the
 * sanitizers and valgrind), until the fit has all it needs. */
START_TEST(test_out_of_memory)
{
    data_spec s = {60, 4, 3, 4, 1.0, 0.0, 1.0, 9000};
    am_matrix x;
    double y[60];
    make_data(&s, &x, y);
    am_params p = logreg_params_of(model_items[0], 3);
    am_fit_args a = logreg_args(&x, y, NULL, 3, &p);
    am_status st = AM_ERR_NOMEM;
    int k;
    for (k = 0; k < 100 && st != AM_OK; k++) {
        am_model *m = NULL;
        am_alloc_fail_after(k);
        st = am_learner_fit(&am_learner_logreg, &a, &m, NULL);
        am_alloc_fail_after(-1);
        ck_assert_msg(st == AM_OK || st == AM_ERR_NOMEM, "allocation %d failing: %s", k,
                      am_status_name(st));
        ck_assert(st == AM_OK ? m != NULL : m == NULL);
        am_model_free(m);
    }
    ck_assert_int_eq(st, AM_OK);
    ck_assert_int_gt(k, 3);
    am_matrix_fini(&x);
}
END_TEST

static Suite *logreg_suite(void)
{
    Suite *s = suite_create("logreg");
    TCase *tc = tcase_create("optimality");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_kkt, 0, (int)AM_COUNT(kkt_cases));
    tcase_add_test(tc, test_sklearn_reference);
    tcase_add_test(tc, test_no_features_l1);
    suite_add_tcase(s, tc);

    tc = tcase_create("sparsity");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_path_sparsity, 0, 2);
    tcase_add_loop_test(tc, test_irrelevant_features, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("weights and choices");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_balanced_is_sample_weights, 0, 3);
    tcase_add_test(tc, test_penalty_choices);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_threads, 0, 4);
    tcase_add_loop_test(tc, test_save_load, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad input");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_bad_params, 0, (int)AM_COUNT(bad_params));
    tcase_add_test(tc, test_bad_l1_ratio_in_fit);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(logreg_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
