/* logreg.c — regularised logistic regression, binary (one logit, sigmoid) and multinomial
 * (softmax over all K classes), as scikit-learn's LogisticRegression: the exact optimum of
 *     f(W, b) = C * sum_i w_i loss_i + (1 - r)/2 ||W||^2 + r ||W||_1
 * with r = l1_ratio (0 for penalty=l2, 1 for l1, l1_ratio for elasticnet; penalty=none drops
 * both terms) and unpenalised intercepts. class_weight=balanced multiplies each row's weight
 * by n_rows / (n_classes * weighted count of its class), as scikit-learn does with unit weights.
 *
 * The data arrive standardised (AM_NEEDS_SCALED: the featurizer centres and scales numeric
 * columns), so the solvers do no scaling of their own; the penalty acts on the scaled
 * coefficients, as it does in a scikit-learn pipeline with StandardScaler.
 *
 * Two solvers:
 *  - smooth objectives (l2, none): L-BFGS with a strong-Wolfe line search. One evaluation of f
 *    and its gradient is two BLAS-3 products over the whole training matrix:
 *        Z = X W (n x K),   R = w .* (softmax(Z) - Y),   grad_W = C X'R + W,
 *    so the cost per iteration is that of two dgemm calls; everything else is O(n K).
 *  - objectives with an L1 part (l1, elasticnet with r > 0): proximal Newton, as glmnet and
 *    newGLMNET do. Each outer iteration takes the exact second-order model of the smooth part
 *    (the full multinomial Hessian, not a bound) plus the L1 term, minimises it by cyclic
 *    coordinate descent with soft-thresholding, and backtracks along that step on the true
 *    objective. Coordinate descent handles the L1 term exactly (a zero is an exact zero) and
 *    the Newton outer loop needs few iterations at any scale of C; the inner sweeps multiply
 *    on ill-conditioned data, which is why the model Hessian is formed explicitly, making
 *    sweeps nearly free, when the parameters are few and the sweeps many. It stops when the
 *    minimum-norm subgradient falls below tol * max(1, its initial value).
 *
 * The code is split by phase: the objective (evaluate), the L-BFGS direction and line search
 * (iterate), the solver loops with their convergence tests, and the model around them (fit,
 * predict, save, load). */
#include "internal.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* Saved as indices in model files: new entries and choices only ever go at the end. */
enum { LR_C, LR_PENALTY, LR_FIT_INTERCEPT, LR_MAX_ITER, LR_TOL, LR_L1_RATIO, LR_CLASS_WEIGHT };
enum { PENALTY_L2, PENALTY_NONE, PENALTY_L1, PENALTY_ELASTICNET };
enum { CLASS_WEIGHT_NONE, CLASS_WEIGHT_BALANCED };

static const char *const penalty_choices[] = {"l2", "none", "l1", "elasticnet", NULL};
static const char *const class_weight_choices[] = {"none", "balanced", NULL};

static const am_param_desc logreg_desc[] = {
    [LR_C] = {"C", AM_P_REAL, 1.0, 1e-10, 1e10, 1e-3, 1e3, 1.0, NULL, AM_PF_TUNE | AM_PF_LOG,
              "inverse regularisation strength (larger: less penalty)"},
    [LR_PENALTY] = {"penalty", AM_P_ENUM, PENALTY_L2, 0, 0, 0, 0, PENALTY_L2, penalty_choices, 0,
                    "l2: 0.5 ||W||^2; none: unpenalised; l1: ||W||_1; elasticnet: "
                    "(1 - l1_ratio)/2 ||W||^2 + l1_ratio ||W||_1"},
    [LR_FIT_INTERCEPT] = {"fit_intercept", AM_P_BOOL, 1, 0, 1, 0, 1, 1, NULL, 0,
                          "fit unpenalised intercepts"},
    [LR_MAX_ITER] = {"max_iter", AM_P_INT, 200, 1, 100000, 0, 0, 200, NULL, 0,
                     "maximum solver iterations (L-BFGS or proximal Newton)"},
    [LR_TOL] = {"tol", AM_P_REAL, 1e-6, 1e-12, 1, 0, 0, 1e-6, NULL, 0,
                "stop when the gradient (with an L1 part: minimum-norm subgradient) max-norm "
                "falls below tol * max(1, its initial value)"},
    [LR_L1_RATIO] = {"l1_ratio", AM_P_REAL, 0.5, 0, 1, 0, 1, 0.5, NULL, 0,
                     "elasticnet only: share of the L1 term (0: l2, 1: l1)"},
    [LR_CLASS_WEIGHT] = {"class_weight", AM_P_ENUM, CLASS_WEIGHT_NONE, 0, 0, 0, 0,
                         CLASS_WEIGHT_NONE, class_weight_choices, 0,
                         "balanced: weight rows by n_rows / (n_classes * weight of their class)"},
};

static const am_param_table logreg_params = {"logreg", logreg_desc,
                                             (int32_t)AM_COUNT(logreg_desc)};

#define LBFGS_MEMORY 10
#define LS_MAX_EVALS 40
#define PREDICT_BLOCK 4096

typedef struct logreg_model {
    am_model base;
    int32_t k;         /* logit columns: 1 for binary, n_classes otherwise */
    int32_t n_iter;    /* solver iterations the fit took (not saved) */
    double *coef;      /* [W (n_features x k, column-major), b (k)]: one block, the solver's
                          parameter vector */
    double *intercept; /* coef + n_features * k (zeros when no intercept was fitted) */
} logreg_model;

/* ---- the objective -------------------------------------------------------------------------- */

typedef struct lr_problem {
    const am_matrix *x;
    const double *y, *w;
    int64_t n, p;
    int32_t k;
    double c;
    double l2; /* weight of the smooth penalty 0.5 ||W||^2: 1 (l2), 0 (none, l1), 1 - r */
    bool intercept;
    double *z; /* n x k scratch: the logits, then the weighted residuals w .* (P - Y) */
    int32_t n_threads; /* for the products with X */
} lr_problem;

static int64_t lr_dim(const lr_problem *pb)
{
    return pb->p * pb->k + (pb->intercept ? pb->k : 0);
}

/* Binary loss softplus(z) - y z, computed without overflow; *r = sigmoid(z) - y. */
static double loss_binary(double z, double y, double *r)
{
    double e = exp(-fabs(z));
    double sig = z >= 0 ? 1 / (1 + e) : e / (1 + e);
    *r = sig - y;
    return fmax(z, 0) + log1p(e) - y * z;
}

/* Multinomial loss logsumexp(z) - z_y for one row (stride apart in the column-major block);
 * overwrites the row with w (softmax(z) - onehot(y)). */
static double loss_multi(double *z, int64_t stride, int32_t k, int32_t yi, double wi)
{
    double zy = z[yi * stride], m = z[0];
    for (int32_t j = 1; j < k; j++)
        m = fmax(m, z[j * stride]);
    double s = 0;
    for (int32_t j = 0; j < k; j++) {
        z[j * stride] = exp(z[j * stride] - m);
        s += z[j * stride];
    }
    for (int32_t j = 0; j < k; j++)
        z[j * stride] = wi * (z[j * stride] / s - (j == yi ? 1.0 : 0.0));
    return m + log(s) - zy;
}

/* pb->z = X W + b: the logits at theta. */
static void lr_logits(lr_problem *pb, const double *theta)
{
    int64_t n = pb->n, p = pb->p, k = pb->k;
    const double *b = pb->intercept ? theta + p * k : NULL;
    am_dense_x_w(pb->x, theta, p, k, pb->z, n, pb->n_threads); /* dense.c: why not dgemm */
    for (int64_t j = 0; b && j < k; j++)
        for (int64_t i = 0; i < n; i++)
            pb->z[i + j * n] += b[j];
}

/* f(theta) and, when g is not NULL, its gradient, from the logits already in pb->z (which
 * become the weighted residuals). Kept apart from lr_logits so that the proximal Newton line
 * search can evaluate f at points whose logits it forms without a product. Returns whether f
 * is finite. */
static bool lr_finish(lr_problem *pb, const double *theta, double *f, double *g)
{
    int64_t n = pb->n, p = pb->p, k = pb->k;
    const double *W = theta, *b = pb->intercept ? theta + p * k : NULL;
    double loss = 0;
    for (int64_t i = 0; i < n; i++) {
        double wi = am_weight_at(pb->w, i), r;
        if (k == 1) {
            loss += wi * loss_binary(pb->z[i], pb->y[i], &r);
            pb->z[i] = wi * r;
        } else {
            loss += wi * loss_multi(pb->z + i, n, (int32_t)k, (int32_t)pb->y[i], wi);
        }
    }
    double pen = 0;
    if (pb->l2 != 0)
        for (int64_t j = 0; j < p * k; j++)
            pen += W[j] * W[j];
    /* With l2 = 1 this is bit for bit the plain 0.5 ||W||^2 of the l2 penalty. */
    *f = pb->c * loss + 0.5 * pb->l2 * pen;
    if (!g)
        return isfinite(*f);

    for (int64_t j = 0; j < p * k; j++)
        g[j] = pb->l2 != 0 ? pb->l2 * W[j] : 0.0;
    am_dense_xt_z(pb->x, pb->z, n, k, pb->c, 1.0, g, p, pb->n_threads);
    for (int64_t j = 0; b && j < k; j++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++)
            s += pb->z[i + j * n];
        g[p * k + j] = pb->c * s;
    }
    return isfinite(*f);
}

/* f(theta) and, when g is not NULL, its gradient. Returns whether f is finite. */
static bool lr_eval(lr_problem *pb, const double *theta, double *f, double *g)
{
    lr_logits(pb, theta);
    return lr_finish(pb, theta, f, g);
}

/* ---- L-BFGS: the direction ------------------------------------------------------------------ */

typedef struct lbfgs {
    int64_t dim;
    int count, head;        /* pairs stored; slot of the next pair */
    double *s, *y;          /* LBFGS_MEMORY x dim each */
    double rho[LBFGS_MEMORY], alpha[LBFGS_MEMORY];
} lbfgs;

static double dot(const double *a, const double *b, int64_t n)
{
    return cblas_ddot((int)n, a, 1, b, 1);
}

static double norm_inf(const double *v, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* Stores the pair (s, y) unless its curvature s'y is not clearly positive, which would make the
 * inverse-Hessian approximation indefinite. */
static void lbfgs_push(lbfgs *lb, const double *s, const double *y)
{
    double sy = dot(s, y, lb->dim), yy = dot(y, y, lb->dim);
    if (!(sy > DBL_EPSILON * yy) || !isfinite(sy))
        return;
    memcpy(lb->s + lb->head * lb->dim, s, (size_t)lb->dim * sizeof(double));
    memcpy(lb->y + lb->head * lb->dim, y, (size_t)lb->dim * sizeof(double));
    lb->rho[lb->head] = 1.0 / sy;
    lb->head = (lb->head + 1) % LBFGS_MEMORY;
    if (lb->count < LBFGS_MEMORY)
        lb->count++;
}

/* dir = -H g by the two-loop recursion, H0 = (s'y / y'y) I from the newest pair. */
static void lbfgs_direction(lbfgs *lb, const double *g, double *dir)
{
    int64_t n = lb->dim;
    memcpy(dir, g, (size_t)n * sizeof(double));
    for (int c = 0; c < lb->count; c++) {
        int i = (lb->head - 1 - c + LBFGS_MEMORY) % LBFGS_MEMORY;
        lb->alpha[i] = lb->rho[i] * dot(lb->s + i * n, dir, n);
        cblas_daxpy((int)n, -lb->alpha[i], lb->y + i * n, 1, dir, 1);
    }
    int newest = (lb->head - 1 + LBFGS_MEMORY) % LBFGS_MEMORY;
    const double *yn = lb->y + newest * n;
    cblas_dscal((int)n, 1.0 / (lb->rho[newest] * dot(yn, yn, n)), dir, 1);
    for (int c = lb->count - 1; c >= 0; c--) {
        int i = (lb->head - 1 - c + LBFGS_MEMORY) % LBFGS_MEMORY;
        double beta = lb->rho[i] * dot(lb->y + i * n, dir, n);
        cblas_daxpy((int)n, lb->alpha[i] - beta, lb->s + i * n, 1, dir, 1);
    }
    cblas_dscal((int)n, -1.0, dir, 1);
}

/* ---- L-BFGS: the line search ---------------------------------------------------------------- */

typedef struct ls_point {
    double a, f, dg; /* step, objective, directional derivative */
} ls_point;

/* Minimiser of the cubic through two points with their slopes (Nocedal & Wright, eq. 3.59),
 * kept inside the middle 80% of the bracket; bisection when the cubic is unusable. */
static double ls_interpolate(ls_point lo, ls_point hi)
{
    double left = fmin(lo.a, hi.a), width = fabs(hi.a - lo.a);
    double t = 0.5 * (lo.a + hi.a);
    if (isfinite(hi.f) && isfinite(hi.dg)) {
        double d1 = lo.dg + hi.dg - 3 * (lo.f - hi.f) / (lo.a - hi.a);
        double disc = d1 * d1 - lo.dg * hi.dg;
        if (disc >= 0) {
            double d2 = copysign(sqrt(disc), hi.a - lo.a);
            double den = hi.dg - lo.dg + 2 * d2;
            if (den != 0)
                t = hi.a - (hi.a - lo.a) * (hi.dg + d2 - d1) / den;
        }
    }
    if (!(t >= left + 0.1 * width && t <= left + 0.9 * width))
        t = 0.5 * (lo.a + hi.a);
    return t;
}

typedef struct ls_work {
    lr_problem *pb;
    const double *x0, *dir;
    double *x, *g; /* the trial point and its gradient */
    int64_t dim;
    int n_eval;
} ls_work;

static ls_point ls_try(ls_work *lw, double a)
{
    memcpy(lw->x, lw->x0, (size_t)lw->dim * sizeof(double));
    cblas_daxpy((int)lw->dim, a, lw->dir, 1, lw->x, 1);
    ls_point pt = {a, INFINITY, NAN};
    lw->n_eval++;
    if (lr_eval(lw->pb, lw->x, &pt.f, lw->g))
        pt.dg = dot(lw->g, lw->dir, lw->dim);
    else
        pt.f = INFINITY; /* treated as "too far": the bracket shrinks towards x0 */
    return pt;
}

/* Strong-Wolfe search (sufficient decrease c1 = 1e-4, curvature c2 = 0.9) by bracketing and
 * zooming. On success (true) lw->x, lw->g and *f_out hold the accepted point. When no point
 * meets both conditions within the budget, the best point with sufficient decrease is taken;
 * false only when there is none. */
static bool line_search(ls_work *lw, double f0, double dg0, double a0, double *f_out)
{
    const double c1 = 1e-4, c2 = 0.9;
    ls_point lo = {0, f0, dg0}, hi = {INFINITY, INFINITY, NAN};
    double a = a0;
    for (int it = 0; it < LS_MAX_EVALS; it++) {
        ls_point pt = ls_try(lw, a);
        if (!(pt.f <= f0 + c1 * a * dg0) || pt.f >= lo.f) {
            hi = pt;
        } else {
            if (fabs(pt.dg) <= -c2 * dg0) {
                *f_out = pt.f;
                return true;
            }
            if (pt.dg * (hi.a - lo.a) >= 0)
                hi = lo;
            lo = pt;
        }
        if (isinf(hi.a))
            a = 4 * lo.a;
        else if (fabs(hi.a - lo.a) <= 1e-14 * fmax(lo.a, hi.a))
            break;
        else
            a = ls_interpolate(lo, hi);
    }
    if (lo.a <= 0)
        return false;
    ls_point pt = ls_try(lw, lo.a);
    *f_out = pt.f;
    return isfinite(pt.f);
}

/* ---- the solver loop ------------------------------------------------------------------------ */

typedef struct lr_solver {
    int32_t max_iter;
    double tol;
    const am_stop *stop;
    int32_t n_threads; /* for the proximal Newton solver's row and coordinate loops */
} lr_solver;

typedef struct lr_buffers {
    double *g, *xn, *gn, *dir, *s, *y; /* dim each; lbfgs memory separately */
    double *mem;
} lr_buffers;

/* One L-BFGS step from (x, f, g): writes the new point into x, f, g. false when the line
 * search found no decrease along this direction. */
static bool lbfgs_step(lr_problem *pb, lbfgs *lb, lr_buffers *bf, double *x, double *f)
{
    int64_t dim = lb->dim;
    double a0 = 1.0;
    if (lb->count > 0)
        lbfgs_direction(lb, bf->g, bf->dir);
    double dg = lb->count > 0 ? dot(bf->dir, bf->g, dim) : 0.0;
    if (!(dg < 0)) {
        /* No curvature information yet (or it gave an ascent direction): steepest descent
         * with a step of unit length. */
        lb->count = lb->head = 0;
        for (int64_t i = 0; i < dim; i++)
            bf->dir[i] = -bf->g[i];
        dg = -dot(bf->g, bf->g, dim);
        a0 = fmin(1.0, 1.0 / sqrt(-dg));
    }
    ls_work lw = {pb, x, bf->dir, bf->xn, bf->gn, dim, 0};
    double fn;
    if (!line_search(&lw, *f, dg, a0, &fn))
        return false;
    for (int64_t i = 0; i < dim; i++) {
        bf->s[i] = bf->xn[i] - x[i];
        bf->y[i] = bf->gn[i] - bf->g[i];
    }
    lbfgs_push(lb, bf->s, bf->y);
    memcpy(x, bf->xn, (size_t)dim * sizeof(double));
    memcpy(bf->g, bf->gn, (size_t)dim * sizeof(double));
    *f = fn;
    return true;
}

/* Minimises from x (in: start, out: solution). Converged when the gradient max-norm is at most
 * tol * max(1, its initial value) or one step lowers f by a relative 64 eps or less
 * (scikit-learn's settings for lbfgs). Reaching max_iter is not an error: the iterate is returned. */
static am_status lbfgs_run(lr_problem *pb, const lr_solver *so, double *x, int32_t *n_iter,
                           const char **why, am_diag *d)
{
    int64_t dim = lr_dim(pb);
    lr_buffers bf = {0};
    lbfgs lb = {.dim = dim};
    bf.mem = am_malloc_array((size_t)AM_MAX(dim, 1), (6 + 2 * LBFGS_MEMORY) * sizeof(double));
    if (!bf.mem)
        return am_fail(d, AM_ERR_NOMEM, "logreg: out of memory for the solver");
    double **parts[] = {&bf.g, &bf.xn, &bf.gn, &bf.dir, &bf.s, &bf.y};
    for (size_t i = 0; i < AM_COUNT(parts); i++)
        *parts[i] = bf.mem + (int64_t)i * dim;
    lb.s = bf.mem + 6 * dim;
    lb.y = lb.s + LBFGS_MEMORY * dim;

    am_status st = AM_OK;
    double f;
    int32_t it = 0;
    if (!lr_eval(pb, x, &f, bf.g)) {
        st = am_fail(d, AM_ERR_NUMERIC, "logreg: the objective is not finite at the start");
        goto cleanup;
    }
    double gtol = so->tol * fmax(1.0, norm_inf(bf.g, dim));
    *why = "max_iter";
    for (;;) {
        if (norm_inf(bf.g, dim) <= gtol) {
            *why = "gradient below tol";
            break;
        }
        if (it >= so->max_iter)
            break;
        if (am_stop_hit(so->stop)) {
            st = am_fail(d, AM_ERR_CANCELLED, "logreg: stopped after %d iterations", (int)it);
            goto cleanup;
        }
        double f_old = f;
        bool had_memory = lb.count > 0;
        it++;
        if (!lbfgs_step(pb, &lb, &bf, x, &f)) {
            if (!had_memory) {
                *why = "no further decrease"; /* not even steepest descent: as good as it gets */
                break;
            }
            lb.count = lb.head = 0;
            continue;
        }
        if (f_old - f <= 64 * DBL_EPSILON * fmax(fmax(fabs(f_old), fabs(f)), 1.0)) {
            *why = "relative decrease below 64 eps";
            break;
        }
    }
    if (!isfinite(f) || !am_all_finite(x, (size_t)dim))
        st = am_fail(d, AM_ERR_NUMERIC, "logreg: the solution is not finite");
    *n_iter = it;
cleanup:
    am_free(bf.mem);
    return st;
}

/* ---- proximal Newton: penalties with an L1 part --------------------------------------------- */

/* Each outer iteration minimises the model
 *     q(delta) = g'delta + 0.5 delta' H delta + r ||W + delta_W||_1
 * where g and H are the gradient and Hessian of the smooth part S = C * loss + (1 - r)/2 ||W||^2,
 * by cyclic coordinate descent. Coordinate descent needs the model's gradient g + H delta at
 * one coordinate at a time, which is had in one of two ways:
 *  - naive mode: through U = X delta_W + delta_b (n x K), kept current, and per-row weights,
 *        binary:       (H delta)_j   = C sum_i x_ij w_i p_i (1 - p_i) u_i
 *        multinomial:  (H delta)_jk  = C sum_i x_ij w_i p_ik (u_ik - s_i),  s_i = sum_m p_im u_im
 *    (plus (1 - r) delta_jk for the penalised W): O(n) per coordinate update, memory-bound;
 *  - covariance mode (few parameters): H formed once per outer iteration with BLAS-3 products
 *    and g + H delta kept current: O(dim) per update. Sweeps then cost next to nothing, which
 *    is what makes ill-conditioned problems (correlated features, near-separable classes, that
 *    need hundreds of sweeps) cheap.
 * The full multinomial Hessian is used, not a bound, so the outer iterations converge at
 * Newton's rate. */

#define PN_MAX_SWEEPS 1000  /* coordinate-descent sweeps per outer iteration */
#define PN_MAX_HALVINGS 50
#define PN_SIGMA 0.01       /* sufficient decrease of the Armijo rule (Tseng & Yun, gamma = 0) */
#define PN_INNER 0.1        /* the model is solved to this fraction of the outer violation */
#define PN_FLOOR 1e-10      /* relative floor of the model's curvature, against huge steps
                               where the probabilities saturate (pure L1 on separable data) */
#define PN_GRAM_MAX_DIM 512 /* covariance mode up to this many parameters (H: 2 MiB) */
#define PN_GRAM_SWEEPS 12   /* ... once an iteration needs dim / this many sweeps */
#define PN_GRAM_ROWS 256    /* row block of the products forming H */

typedef struct pn_work {
    lr_problem *pb;
    double l1;              /* r: weight of ||W||_1 */
    int64_t dim, pk;        /* parameters; the penalised ones (W) come first, then b */
    int32_t n_threads;
    bool gram;              /* covariance mode in this outer iteration */
    double *theta;          /* the current point (the model's coefficient block) */
    double *g;              /* dim: gradient of the smooth part at theta */
    double *delta;          /* dim: the step being built */
    double *trial;          /* dim: theta + t delta in the line search */
    double *diag;           /* dim: the model's Hessian diagonal (with the floor) */
    double *xsq;            /* dim: sum_i w_i x_ij^2 (the curvature floor's scale) */
    double *zsave;          /* n x k: the logits at theta */
    double *prob;           /* n x k: the probabilities at theta */
    double *hw;             /* n x k: Hessian row weights, w p (1 - p) binary, w p multinomial */
    double *hd;             /* n x k: their diagonal part w p (1 - p) (= hw for binary) */
    double *u;              /* n x k: the step's change of the logits */
    double *s;              /* n: the multinomial coupling sum_k p_ik u_ik (naive mode) */
    double *ones;           /* n: the intercept's column */
    double *kinks;          /* k: scratch of the shift move */
    double *mem;
    unsigned char *active;  /* dim: the coordinates the active-set sweeps visit */
    /* Covariance mode: H (dim x dim), the model's gradient gq = g + H delta, and the scratch
     * of the products: H in the products' own order (q k x q k, q = columns with the
     * intercept's), one row block of [X, 1] and the block scaled per class pair. */
    double *H, *gq, *hx, *xt, *yt;
    int64_t q;
    double *gmem;
} pn_work;

static const double *pn_column(const pn_work *pw, int64_t idx)
{
    const lr_problem *pb = pw->pb;
    return idx < pw->pk ? pb->x->data + (idx % pb->p) * pb->x->ld : pw->ones;
}

static int64_t pn_class(const pn_work *pw, int64_t idx)
{
    return idx < pw->pk ? idx / pw->pb->p : idx - pw->pk;
}

static double l1_norm(const double *v, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += fabs(v[i]);
    return s;
}

/* sum_i x_i h_i (u_i - s_i), s NULL meaning zeros: the innermost loop of the naive mode. Four
 * interleaved partial sums, because one running sum is bound by the latency of each addition;
 * the order of the additions is fixed, so the value depends on the data alone. */
static double coupled_dot(const double *x, const double *h, const double *u, const double *s,
                          int64_t n)
{
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int64_t i = 0;
    if (s) {
        for (; i + 4 <= n; i += 4) {
            a0 += x[i] * h[i] * (u[i] - s[i]);
            a1 += x[i + 1] * h[i + 1] * (u[i + 1] - s[i + 1]);
            a2 += x[i + 2] * h[i + 2] * (u[i + 2] - s[i + 2]);
            a3 += x[i + 3] * h[i + 3] * (u[i + 3] - s[i + 3]);
        }
        for (; i < n; i++)
            a0 += x[i] * h[i] * (u[i] - s[i]);
    } else {
        for (; i + 4 <= n; i += 4) {
            a0 += x[i] * h[i] * u[i];
            a1 += x[i + 1] * h[i + 1] * u[i + 1];
            a2 += x[i + 2] * h[i + 2] * u[i + 2];
            a3 += x[i + 3] * h[i + 3] * u[i + 3];
        }
        for (; i < n; i++)
            a0 += x[i] * h[i] * u[i];
    }
    return (a0 + a1) + (a2 + a3);
}

static void pn_free(pn_work *pw)
{
    am_free(pw->mem);
    am_free(pw->gmem);
    am_free(pw->active);
}

/* The covariance mode's arrays, when that mode is allowed: H is small (dim <= PN_GRAM_MAX_DIM)
 * and no larger than the data (dim <= n), and there is something to fit. */
static bool pn_gram_alloc(pn_work *pw)
{
    const lr_problem *pb = pw->pb;
    if (pw->dim == 0 || pw->dim > PN_GRAM_MAX_DIM || pw->dim > pb->n)
        return true;
    pw->q = pb->p + (pb->intercept ? 1 : 0);
    int64_t qk = pw->q * pb->k, rows = PN_GRAM_ROWS;
    int64_t count = pw->dim * pw->dim + pw->dim + qk * qk + rows * pw->q + rows * qk;
    pw->gmem = am_malloc_array((size_t)count, sizeof(double));
    if (!pw->gmem)
        return false;
    pw->H = pw->gmem;
    pw->gq = pw->H + pw->dim * pw->dim;
    pw->hx = pw->gq + pw->dim;
    pw->xt = pw->hx + qk * qk;
    pw->yt = pw->xt + rows * pw->q;
    return true;
}

/* Whether the next outer iteration forms H, given the sweeps the last one needed. Forming H
 * costs about n dim^2 / 2 multiply-adds at BLAS speed, a naive sweep n dim memory-bound ones,
 * some ten times slower each: H pays once an iteration needs more than dim / PN_GRAM_SWEEPS
 * sweeps, as ill-conditioned problems do. Sweep counts, not timings, decide, so that the
 * result is reproducible. */
static bool pn_use_gram(const pn_work *pw, int32_t last_sweeps)
{
    return pw->gmem && (int64_t)last_sweeps * PN_GRAM_SWEEPS >= pw->dim;
}

/* Carves the work arrays out of one block and computes the constant curvature scales. */
static am_status pn_alloc(pn_work *pw, lr_problem *pb, double l1, int32_t n_threads,
                          double *theta, am_diag *d)
{
    int64_t n = pb->n, nk = pb->n * pb->k, dim = lr_dim(pb);
    bool multi = pb->k > 1;
    *pw = (pn_work){.pb = pb, .l1 = l1, .dim = dim, .pk = pb->p * pb->k,
                    .n_threads = AM_MAX(n_threads, 1), .theta = theta};
    /* nk doubles already fit (problem_init allocated them), so these sums cannot overflow
     * int64_t; am_malloc_array checks the byte count. */
    int64_t count = 5 * dim + (multi ? 5 : 4) * nk + 2 * n + pb->k;
    pw->mem = am_malloc_array((size_t)AM_MAX(count, 1), sizeof(double));
    pw->active = am_malloc((size_t)AM_MAX(dim, 1));
    if (!pw->mem || !pw->active || !pn_gram_alloc(pw)) {
        pn_free(pw);
        return am_fail(d, AM_ERR_NOMEM, "logreg: out of memory for the proximal Newton solver");
    }
    double *next = pw->mem;
    double **dims[] = {&pw->g, &pw->delta, &pw->trial, &pw->diag, &pw->xsq};
    for (size_t i = 0; i < AM_COUNT(dims); i++, next += dim)
        *dims[i] = next;
    double **blocks[] = {&pw->zsave, &pw->prob, &pw->hw, &pw->u, &pw->hd};
    for (size_t i = 0; i < AM_COUNT(blocks) - (multi ? 0 : 1); i++, next += nk)
        *blocks[i] = next;
    if (!multi)
        pw->hd = pw->hw;
    pw->s = next;
    pw->ones = next + n;
    pw->kinks = next + 2 * n;
    for (int64_t i = 0; i < n; i++)
        pw->ones[i] = 1.0;
    for (int64_t idx = 0; idx < dim; idx++) {
        const double *x = pn_column(pw, idx);
        pw->xsq[idx] = coupled_dot(x, pb->w ? pb->w : pw->ones, x, NULL, n);
    }
    return AM_OK;
}

/* The smooth part's value and gradient at theta, keeping the logits; returns the whole
 * objective in *f. false when it is not finite. */
static bool pn_evaluate(pn_work *pw, double *f)
{
    lr_problem *pb = pw->pb;
    lr_logits(pb, pw->theta);
    memcpy(pw->zsave, pb->z, (size_t)(pb->n * pb->k) * sizeof(double));
    double fs;
    bool ok = lr_finish(pb, pw->theta, &fs, pw->g);
    *f = fs + pw->l1 * l1_norm(pw->theta, pw->pk);
    return ok && isfinite(*f) && am_all_finite(pw->g, (size_t)pw->dim);
}

/* Max-norm of the minimum-norm subgradient of f at theta: zero exactly at the optimum. */
static double pn_violation(const pn_work *pw)
{
    double vmax = 0, r = pw->l1;
    for (int64_t idx = 0; idx < pw->dim; idx++) {
        double w = pw->theta[idx], g = pw->g[idx], v;
        if (idx >= pw->pk)
            v = fabs(g);
        else if (w != 0)
            v = fabs(g + copysign(r, w));
        else
            v = fmax(fabs(g) - r, 0);
        vmax = fmax(vmax, v);
    }
    return vmax;
}

/* One row's probabilities and Hessian weights from its logits. */
static void pn_row_weights(pn_work *pw, int64_t i)
{
    const lr_problem *pb = pw->pb;
    int64_t n = pb->n, k = pb->k;
    double wi = am_weight_at(pb->w, i);
    if (k == 1) {
        double z = pw->zsave[i], e = exp(-fabs(z));
        double p = z >= 0 ? 1 / (1 + e) : e / (1 + e), q = z >= 0 ? e / (1 + e) : 1 / (1 + e);
        pw->prob[i] = p;
        pw->hw[i] = wi * p * q;
        return;
    }
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < k; j++)
        m = fmax(m, pw->zsave[i + j * n]);
    for (int64_t j = 0; j < k; j++) {
        pw->prob[i + j * n] = exp(pw->zsave[i + j * n] - m);
        s += pw->prob[i + j * n];
    }
    for (int64_t j = 0; j < k; j++) {
        double p = pw->prob[i + j * n] / s;
        pw->prob[i + j * n] = p;
        pw->hw[i + j * n] = wi * p;
        pw->hd[i + j * n] = wi * p * (1 - p);
    }
}

/* Parameter index of column l (l = p: the intercept) of class c. */
static int64_t pn_index(const pn_work *pw, int64_t l, int64_t c)
{
    return l < pw->pb->p ? l + c * pw->pb->p : pw->pk + c;
}

/* Adds one row block [r0, r0 + nb) to hx = sum_i xt_i xt_i' (x) B_i, xt_i = [x_i, 1] and B_i
 * row i's K x K loss Hessian / C: binary w p (1 - p), multinomial w (diag(p) - p p'). Only the
 * class blocks (c, m >= c) are formed, and of each only its upper triangle: every block is
 * X' D X for a diagonal D of one sign (w p_c (1 - p_c) on the diagonal blocks, -w p_c p_m off
 * it), so one dsyrk on the rows scaled by sqrt(|D|) gives it. dsyrk rather than dgemm: OpenBLAS's
 * dsyrk splits the result's columns among its threads, never a sum, so H's bits do not depend
 * on the BLAS thread count (its dgemm's do); and it does half the work. */
static void pn_gram_block(pn_work *pw, int64_t r0, int64_t nb)
{
    const lr_problem *pb = pw->pb;
    int64_t n = pb->n, k = pb->k, q = pw->q, qk = q * k;
    for (int64_t l = 0; l < q; l++)
        for (int64_t i = 0; i < nb; i++)
            pw->xt[i + l * nb] = l < pb->p ? AM_AT(pb->x, r0 + i, l) : 1.0;
    for (int64_t c = 0; c < k; c++)
        for (int64_t m = c; m < k; m++) {
            for (int64_t i = 0; i < nb; i++) {
                int64_t row = r0 + i;
                double b = m == c ? pw->hd[row + c * n] : pw->hw[row + c * n] *
                                                              pw->prob[row + m * n];
                pw->yt[i] = sqrt(b); /* the scales, kept in the first column for now */
            }
            for (int64_t l = q - 1; l >= 0; l--) /* column 0 holds the scales: it comes last */
                for (int64_t i = 0; i < nb; i++)
                    pw->yt[i + l * nb] = pw->yt[i] * pw->xt[i + l * nb];
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)q, (int)nb,
                        m == c ? 1.0 : -1.0, pw->yt, (int)nb, 1.0,
                        pw->hx + c * q + m * q * qk, (int)qk);
        }
}

/* Covariance mode: H = C hx (reordered to the parameters' order, the lower class blocks from
 * the upper ones) plus (1 - r) on W's diagonal. Fixed row blocks, so the sums, and H, do not
 * depend on the thread count. */
static void pn_gram(pn_work *pw)
{
    const lr_problem *pb = pw->pb;
    int64_t k = pb->k, q = pw->q, qk = q * k, dim = pw->dim;
    memset(pw->hx, 0, (size_t)(qk * qk) * sizeof(double));
    for (int64_t r0 = 0; r0 < pb->n; r0 += PN_GRAM_ROWS)
        pn_gram_block(pw, r0, AM_MIN(PN_GRAM_ROWS, pb->n - r0));
    for (int64_t cb = 0; cb < k; cb++)
        for (int64_t lb = 0; lb < q; lb++)
            for (int64_t ca = 0; ca < k; ca++)
                for (int64_t la = 0; la < q; la++) {
                    /* each class block is symmetric and holds its upper triangle */
                    int64_t lo = AM_MIN(la, lb), hi = AM_MAX(la, lb);
                    int64_t a = AM_MIN(ca, cb) * q + lo, b = AM_MAX(ca, cb) * q + hi;
                    double v = pw->hx[a + b * qk];
                    pw->H[pn_index(pw, la, ca) + pn_index(pw, lb, cb) * dim] = pb->c * v;
                }
    for (int64_t idx = 0; idx < pw->pk; idx++)
        pw->H[idx + idx * dim] += pb->l2;
}

/* The probabilities and Hessian weights at theta, then the model's diagonal (and in
 * covariance mode H). Rows and coordinates are independent of one another, so the loops split
 * across threads without the result depending on how. */
static void pn_hessian(pn_work *pw)
{
    const lr_problem *pb = pw->pb;
    int64_t n = pb->n, dim = pw->dim;
    int nt = pw->n_threads;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; i++)
        pn_row_weights(pw, i);
    if (pw->gram) {
        pn_gram(pw);
        for (int64_t idx = 0; idx < dim; idx++)
            pw->diag[idx] = pw->H[idx + idx * dim] + pb->c * PN_FLOOR * pw->xsq[idx];
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t idx = 0; idx < dim; idx++) {
        const double *x = pn_column(pw, idx), *hd = pw->hd + pn_class(pw, idx) * n;
        double s = coupled_dot(x, hd, x, NULL, n);
        pw->diag[idx] = pb->c * (s + PN_FLOOR * pw->xsq[idx]) + (idx < pw->pk ? pb->l2 : 0.0);
    }
}

/* The model's gradient at the current step, coordinate idx. */
static double pn_model_grad(const pn_work *pw, int64_t idx)
{
    if (pw->gram)
        return pw->gq[idx];
    const lr_problem *pb = pw->pb;
    int64_t n = pb->n, k = pn_class(pw, idx);
    double acc = coupled_dot(pn_column(pw, idx), pw->hw + k * n, pw->u + k * n,
                             pb->k > 1 ? pw->s : NULL, n);
    return pw->g[idx] + pb->c * acc + (idx < pw->pk ? pb->l2 * pw->delta[idx] : 0.0);
}

/* Moves coordinate idx of the step by `step`, keeping the model's gradient current. */
static void pn_move(pn_work *pw, int64_t idx, double step)
{
    pw->delta[idx] += step;
    if (pw->gram) {
        cblas_daxpy((int)pw->dim, step, pw->H + idx * pw->dim, 1, pw->gq, 1);
        return;
    }
    const lr_problem *pb = pw->pb;
    int64_t n = pb->n, k = pn_class(pw, idx);
    const double *x = pn_column(pw, idx), *p = pw->prob + k * n;
    double *u = pw->u + k * n, *s = pw->s;
    if (pb->k == 1) {
        for (int64_t i = 0; i < n; i++)
            u[i] += step * x[i];
    } else {
        for (int64_t i = 0; i < n; i++) {
            double dz = step * x[i];
            u[i] += dz;
            s[i] += p[i] * dz;
        }
    }
}

/* Moves coordinate idx of the step so that theta + delta becomes `next`. A value thresholded
 * to zero is exactly zero there: theta + (0 - theta) is 0 in floating point. */
static void pn_set(pn_work *pw, int64_t idx, double next)
{
    double step = (next - pw->theta[idx]) - pw->delta[idx];
    if (step != 0) {
        pn_move(pw, idx, step);
        pw->delta[idx] = next - pw->theta[idx];
    }
}

/* Minimises the model along one coordinate (soft-thresholding the penalised ones) and returns
 * that coordinate's optimality violation in the model before the update. */
static double pn_coord(pn_work *pw, int64_t idx)
{
    double G = pn_model_grad(pw, idx);
    double cur = pw->theta[idx] + pw->delta[idx], a = pw->diag[idx], r = pw->l1, viol, next;
    if (idx >= pw->pk) {
        viol = G;
        next = cur - G / a;
    } else {
        viol = cur != 0 ? G + copysign(r, cur) : fmax(fabs(G) - r, 0);
        double t = cur - G / a;
        next = fabs(t) > r / a ? t - copysign(r / a, t) : 0.0;
    }
    if (a > 0) /* else an all-zero column: nothing to move */
        pn_set(pw, idx, next);
    return fabs(viol);
}

/* The value c >= lo, <= hi nearest to 0. */
static double clamp0(double lo, double hi)
{
    return fmin(fmax(0.0, lo), hi);
}

/* Minimiser of phi(c) = l2/2 sum_k (v_k + c)^2 + r sum_k |v_k + c| given the kinks b = -v
 * sorted ascending and S = sum_k v_k. phi' is piecewise linear and increasing: the minimiser
 * is a kink whose subdifferential holds 0 or a zero of phi' between two kinks. Where phi is
 * flat (l2 = 0, an even count: the median interval) the point nearest 0 is taken: no move. */
static double shift_minimiser(const double *b, int64_t k, double s_sum, double l2, double r)
{
    if (l2 == 0)
        return k % 2 ? b[k / 2] : clamp0(b[k / 2 - 1], b[k / 2]);
    for (int64_t m = 0; m <= k; m++) {
        if (m > 0 && (m == k || b[m] != b[m - 1])) {
            /* The kink t = b[m-1], the last of its ties: m kinks are <= t, first of them < t. */
            int64_t first = m - 1;
            while (first > 0 && b[first - 1] == b[m - 1])
                first--;
            double t = b[m - 1], base = l2 * (s_sum + (double)k * t);
            if (base + r * (double)(2 * first - k) <= 0 && base + r * (double)(2 * m - k) >= 0)
                return t;
        }
        /* Between kinks b[m-1] and b[m], m terms are positive. */
        double lo = m > 0 ? b[m - 1] : -INFINITY, hi = m < k ? b[m] : INFINITY;
        double c = (-r * (double)(2 * m - k) / l2 - s_sum) / (double)k;
        if (c > lo && c < hi)
            return c;
    }
    return 0; /* not reached for finite input */
}

/* The multinomial loss does not change when one feature's coefficients all move by the same c
 * (softmax is shift-invariant), so along that direction the model is the penalty alone:
 *     phi(c) = l2/2 sum_k (v_k + c)^2 + r sum_k |v_k + c|,   v_k = W_jk + delta_jk.
 * Coordinate descent crawls along this direction (curvature l2 there against C X'HX across
 * it), so each sweep minimises phi exactly for every feature. In naive mode U and s need no
 * update: u - s is unchanged, and a constant offset of a row's logits changes none of its
 * probabilities. */
static void pn_shift(pn_work *pw, int64_t j)
{
    const lr_problem *pb = pw->pb;
    int64_t p = pb->p, k = pb->k;
    double *b = pw->kinks, s_sum = 0;
    for (int64_t c = 0; c < k; c++) {
        double v = pw->theta[j + c * p] + pw->delta[j + c * p];
        s_sum += v;
        /* Insertion sort: k is the class count, and the values arrive nearly sorted. */
        int64_t at = c;
        while (at > 0 && b[at - 1] > -v) {
            b[at] = b[at - 1];
            at--;
        }
        b[at] = -v;
    }
    double shift = shift_minimiser(b, k, s_sum, pb->l2, pw->l1);
    if (shift == 0 || !isfinite(shift))
        return;
    for (int64_t c = 0; c < k; c++) {
        int64_t idx = j + c * p;
        /* v + (-v) is exactly 0: a coefficient moved onto its kink is exactly zero. */
        double next = pw->theta[idx] + pw->delta[idx] + shift;
        if (pw->gram)
            pn_set(pw, idx, next);
        else
            pw->delta[idx] = next - pw->theta[idx];
        pw->active[idx] |= next != 0;
    }
}

/* Coordinate c of a sweep: the intercepts first (they move most at the start), then W. */
static int64_t pn_order(const pn_work *pw, int64_t c)
{
    int64_t nb = pw->dim - pw->pk;
    return c < nb ? pw->pk + c : c - nb;
}

/* Builds the step by cyclic coordinate descent on the model until a full sweep finds every
 * violation at most tol; between full sweeps only the nonzero coordinates are visited (glmnet's
 * active set). Returns the sweeps made, or -1 when the stop check fired. */
static int32_t pn_direction(pn_work *pw, double tol, const am_stop *stop)
{
    const lr_problem *pb = pw->pb;
    memset(pw->delta, 0, (size_t)pw->dim * sizeof(double));
    memset(pw->active, 0, (size_t)pw->dim);
    if (pw->gram) {
        memcpy(pw->gq, pw->g, (size_t)pw->dim * sizeof(double));
    } else {
        memset(pw->u, 0, (size_t)(pb->n * pb->k) * sizeof(double));
        memset(pw->s, 0, (size_t)pb->n * sizeof(double));
    }
    bool full = true;
    int32_t sweep = 0;
    while (sweep < PN_MAX_SWEEPS) {
        if (sweep > 0 && am_stop_hit(stop))
            return -1;
        sweep++;
        if (pb->k > 1)
            for (int64_t j = 0; j < pb->p; j++)
                pn_shift(pw, j);
        double vmax = 0;
        for (int64_t c = 0; c < pw->dim; c++) {
            int64_t idx = pn_order(pw, c);
            if (!full && !pw->active[idx])
                continue;
            vmax = fmax(vmax, pn_coord(pw, idx));
            if (full)
                pw->active[idx] = idx >= pw->pk || pw->theta[idx] + pw->delta[idx] != 0;
        }
        if (vmax <= tol && full)
            break;
        full = vmax <= tol; /* the active set has settled: check every coordinate again */
    }
    /* The line search needs U; covariance mode forms it only now, with one product (and
     * naive mode's U lacks the shift moves, which change no probability). */
    if (pw->gram) {
        lr_logits(pw->pb, pw->delta);
        memcpy(pw->u, pb->z, (size_t)(pb->n * pb->k) * sizeof(double));
    }
    return sweep;
}

/* The model's predicted change of f along the whole step: g'delta plus the change of the L1
 * term (the quadratic term left out, gamma = 0 in Tseng & Yun's rule). Negative unless the
 * step is zero. */
static double pn_predicted(const pn_work *pw)
{
    double m = 0;
    for (int64_t idx = 0; idx < pw->dim; idx++)
        m += pw->g[idx] * pw->delta[idx];
    for (int64_t idx = 0; idx < pw->pk; idx++)
        m += pw->l1 * (fabs(pw->theta[idx] + pw->delta[idx]) - fabs(pw->theta[idx]));
    return m;
}

/* Backtracks from the full step until f(theta + t delta) <= f0 + sigma t dm + noise, noise a
 * few rounding errors of f: near the optimum the decrease a Newton step brings falls below what
 * two sums of n losses can resolve, while the step itself is still reliable. The trial logits
 * are Z + t U, formed without a product. true with pw->trial and *f holding the accepted
 * point. */
static bool pn_line_search(pn_work *pw, double f0, double dm, double *f)
{
    lr_problem *pb = pw->pb;
    int64_t nk = pb->n * pb->k;
    double t = 1, noise = 64 * DBL_EPSILON * fabs(f0);
    for (int h = 0; h < PN_MAX_HALVINGS; h++, t *= 0.5) {
        for (int64_t idx = 0; idx < pw->dim; idx++)
            pw->trial[idx] = pw->theta[idx] + t * pw->delta[idx];
        for (int64_t i = 0; i < nk; i++)
            pb->z[i] = pw->zsave[i] + t * pw->u[i];
        double fs;
        if (!lr_finish(pb, pw->trial, &fs, NULL))
            continue;
        double ft = fs + pw->l1 * l1_norm(pw->trial, pw->pk);
        if (ft <= f0 + PN_SIGMA * t * dm + noise) {
            *f = ft;
            return true;
        }
    }
    return false;
}

/* Multinomial intercepts are determined only up to a common shift (the softmax ignores it and
 * they are not penalised), and coordinate descent drifts along it. Centring them picks the
 * representative scikit-learn's solvers return (they stay on sum(b) = 0 from their zero start);
 * neither f nor any prediction changes. */
static void center_intercepts(const lr_problem *pb, double *theta)
{
    if (pb->k < 2 || !pb->intercept)
        return;
    double *b = theta + pb->p * pb->k, mean = 0;
    for (int64_t c = 0; c < pb->k; c++)
        mean += b[c];
    mean /= (double)pb->k;
    for (int64_t c = 0; c < pb->k; c++)
        b[c] -= mean;
}

/* Minimises from theta (in: start, out: solution). Converged when the minimum-norm subgradient's
 * max-norm is at most tol * max(1, its initial value). Also stops, with the best point that
 * double precision allows, when no step along the model's direction lowers f, or a step
 * lowers neither f nor the violation. Reaching max_iter is not an error. */
static am_status pn_run(lr_problem *pb, const lr_solver *so, double l1, double *theta,
                        int32_t *n_iter, int32_t *n_sweeps, const char **why, am_diag *d)
{
    pn_work pw;
    am_status st = pn_alloc(&pw, pb, l1, so->n_threads, theta, d);
    if (st != AM_OK)
        return st;
    double f;
    int32_t it = 0, sweeps = 0, last_sweeps = 0;
    if (!pn_evaluate(&pw, &f)) {
        st = am_fail(d, AM_ERR_NUMERIC, "logreg: the objective is not finite at the start");
        goto cleanup;
    }
    double viol = pn_violation(&pw), vtol = so->tol * fmax(1.0, viol);
    *why = "max_iter";
    for (;;) {
        if (viol <= vtol) {
            *why = "subgradient below tol";
            break;
        }
        if (it >= so->max_iter)
            break;
        if (am_stop_hit(so->stop)) {
            st = am_fail(d, AM_ERR_CANCELLED, "logreg: stopped after %d iterations", (int)it);
            goto cleanup;
        }
        it++;
        pw.gram = pn_use_gram(&pw, last_sweeps);
        pn_hessian(&pw);
        int32_t sw = pn_direction(&pw, PN_INNER * viol, so->stop);
        if (sw < 0) {
            st = am_fail(d, AM_ERR_CANCELLED, "logreg: stopped in iteration %d", (int)it);
            goto cleanup;
        }
        sweeps += sw;
        last_sweeps = sw;
        double dm = pn_predicted(&pw), fn;
        if (!(dm < 0) || !pn_line_search(&pw, f, dm, &fn)) {
            *why = "no further decrease";
            break;
        }
        memcpy(theta, pw.trial, (size_t)pw.dim * sizeof(double));
        double f_old = f, viol_old = viol;
        if (!pn_evaluate(&pw, &f)) {
            st = am_fail(d, AM_ERR_NUMERIC, "logreg: the objective is not finite");
            goto cleanup;
        }
        viol = pn_violation(&pw);
        if (f >= f_old && viol >= viol_old) {
            *why = "at the limit of double precision";
            break;
        }
    }
    for (int64_t idx = 0; idx < pw.dim; idx++)
        theta[idx] = theta[idx] == 0 ? 0.0 : theta[idx]; /* no negative zeros in the model */
    center_intercepts(pb, theta);
    *n_iter = it;
    *n_sweeps = sweeps;
cleanup:
    pn_free(&pw);
    return st;
}

/* ---- fit ------------------------------------------------------------------------------------ */

static am_status problem_init(lr_problem *pb, const am_matrix *x, const double *y,
                              const double *w, int32_t n_classes, double c, double l2,
                              bool intercept, int32_t n_threads, am_diag *d)
{
    *pb = (lr_problem){x, y, w, x->n_rows, x->n_cols, n_classes == 2 ? 1 : n_classes, c, l2,
                       intercept, NULL, AM_MAX(n_threads, 1)};
    if (pb->n > INT32_MAX || x->ld > INT32_MAX || pb->p > INT32_MAX ||
        (pb->p + 1) * pb->k > INT32_MAX)
        return am_fail(d, AM_ERR_ARG, "logreg: the problem is too large for BLAS");
    pb->z = am_malloc_array((size_t)pb->n, (size_t)pb->k * sizeof(double));
    if (!pb->z)
        return am_fail(d, AM_ERR_NOMEM, "logreg: out of memory for %lld x %d logits",
                       (long long)pb->n, (int)pb->k);
    return AM_OK;
}

static logreg_model *model_alloc(int64_t n_features, int32_t n_outputs, int32_t k)
{
    logreg_model *lm = am_calloc(1, sizeof(*lm));
    if (!lm)
        return NULL;
    lm->base = (am_model){&am_learner_logreg, n_features, n_outputs};
    lm->k = k;
    lm->coef = am_calloc((size_t)(n_features * k + k), sizeof(double));
    if (!lm->coef) {
        am_free(lm);
        return NULL;
    }
    lm->intercept = lm->coef + n_features * k;
    return lm;
}

static void logreg_free(am_model *m)
{
    logreg_model *lm = (logreg_model *)m;
    if (!lm)
        return;
    am_free(lm->coef);
    am_free(lm);
}

/* The penalty as weights of its two terms: l2 of 0.5 ||W||^2 and l1 of ||W||_1. */
static void penalty_weights(const double *v, double *l2, double *l1)
{
    switch ((int)v[LR_PENALTY]) {
    case PENALTY_NONE:
        *l2 = 0, *l1 = 0;
        break;
    case PENALTY_L1:
        *l2 = 0, *l1 = 1;
        break;
    case PENALTY_ELASTICNET:
        *l1 = v[LR_L1_RATIO], *l2 = 1 - v[LR_L1_RATIO];
        break;
    default:
        *l2 = 1, *l1 = 0;
        break;
    }
}

/* class_weight=balanced: a new array of each row's weight times n_rows / (n_classes * the
 * weighted count of its class), so that every class present carries the same total weight.
 * With unit weights this is scikit-learn's n_samples / (n_classes * bincount(y)). */
static am_status balanced_weights(const am_fit_args *a, double **out, am_diag *d)
{
    int64_t n = a->x->n_rows;
    int32_t n_classes = a->n_classes;
    double *cw = am_calloc((size_t)n_classes, sizeof(double));
    double *w = am_malloc_array((size_t)n, sizeof(double));
    if (!cw || !w) {
        am_free(cw);
        am_free(w);
        return am_fail(d, AM_ERR_NOMEM, "logreg: out of memory for the class weights");
    }
    for (int64_t i = 0; i < n; i++)
        cw[(int32_t)a->y[i]] += am_weight_at(a->weight, i);
    for (int32_t c = 0; c < n_classes; c++)
        cw[c] = cw[c] > 0 ? (double)n / ((double)n_classes * cw[c]) : 0.0;
    for (int64_t i = 0; i < n; i++)
        w[i] = am_weight_at(a->weight, i) * cw[(int32_t)a->y[i]];
    am_free(cw);
    *out = w;
    return AM_OK;
}

static am_status logreg_fit(const am_fit_args *a, am_model **out, am_diag *d)
{
    am_status st = am_fit_data_check(a, "logreg", d);
    if (st == AM_OK)
        st = am_task_check(&am_learner_logreg, a->task, d);
    if (st != AM_OK)
        return st;
    const double *v = a->params->v;
    lr_solver so = {(int32_t)v[LR_MAX_ITER], v[LR_TOL], a->stop, a->n_threads};
    if (!(v[LR_C] > 0) || !isfinite(v[LR_C]) || so.max_iter < 1 || !(so.tol > 0))
        return am_fail(d, AM_ERR_CONFIG, "logreg: C, max_iter and tol must be positive");
    if (!(v[LR_L1_RATIO] >= 0 && v[LR_L1_RATIO] <= 1))
        return am_fail(d, AM_ERR_CONFIG, "logreg: l1_ratio must be in [0, 1]");
    if (am_stop_hit(a->stop))
        return am_fail(d, AM_ERR_CANCELLED, "logreg: stopped before the fit");

    double l2, l1, *wb = NULL;
    penalty_weights(v, &l2, &l1);
    logreg_model *lm = NULL;
    lr_problem pb = {0};
    if (v[LR_CLASS_WEIGHT] == CLASS_WEIGHT_BALANCED &&
        (st = balanced_weights(a, &wb, d)) != AM_OK)
        return st;
    st = problem_init(&pb, a->x, a->y, wb ? wb : a->weight, a->n_classes, v[LR_C], l2,
                      v[LR_FIT_INTERCEPT] != 0, a->n_threads, d);
    if (st != AM_OK)
        goto cleanup;
    lm = model_alloc(pb.p, a->n_classes, pb.k);
    if (!lm) {
        st = am_fail(d, AM_ERR_NOMEM, "logreg: out of memory");
        goto cleanup;
    }
    /* The model's coef block is laid out as theta = [W, b]: solve in place. The L1 part needs
     * the proximal Newton solver; without it (elasticnet with l1_ratio = 0 included) the
     * objective is smooth and L-BFGS is the cheaper choice. */
    const char *why = "";
    int32_t sweeps = 0;
    if (l1 > 0)
        st = pn_run(&pb, &so, l1, lm->coef, &lm->n_iter, &sweeps, &why, d);
    else
        st = lbfgs_run(&pb, &so, lm->coef, &lm->n_iter, &why, d);
    if (st != AM_OK)
        goto cleanup;
    if (l1 > 0)
        am_log(a->log, AM_LOG_DEBUG, "logreg: %d proximal Newton iterations, %d coordinate "
               "sweeps (%s)", (int)lm->n_iter, (int)sweeps, why);
    else
        am_log(a->log, AM_LOG_DEBUG, "logreg: %d L-BFGS iterations (%s)", (int)lm->n_iter, why);
    *out = &lm->base;
    lm = NULL;
cleanup:
    logreg_free(lm ? &lm->base : NULL);
    am_free(pb.z);
    am_free(wb);
    return st;
}

/* ---- predict, save, load -------------------------------------------------------------------- */

/* Probabilities for one block of rows whose logits are in z (nb x k, column-major). */
static void block_probs(const logreg_model *lm, const double *z, int64_t nb, double *out)
{
    int32_t k = lm->k, n_out = lm->base.n_outputs;
    for (int64_t i = 0; i < nb; i++) {
        double *o = out + i * n_out;
        if (k == 1) {
            double zi = z[i] + lm->intercept[0], e = exp(-fabs(zi));
            o[0] = zi >= 0 ? e / (1 + e) : 1 / (1 + e);
            o[1] = zi >= 0 ? 1 / (1 + e) : e / (1 + e);
            continue;
        }
        double m = -INFINITY, s = 0;
        for (int32_t j = 0; j < k; j++)
            m = fmax(m, z[i + j * nb] + lm->intercept[j]);
        for (int32_t j = 0; j < k; j++) {
            o[j] = exp(z[i + j * nb] + lm->intercept[j] - m);
            s += o[j];
        }
        for (int32_t j = 0; j < k; j++)
            o[j] /= s;
    }
}

static am_status logreg_predict(const am_model *m, const am_matrix *x, int32_t n_threads,
                                const am_stop *stop, double *out, am_diag *d)
{
    (void)stop; /* cheap enough to finish once started */
    am_status st = am_predict_check(m, x, out, d);
    if (st != AM_OK)
        return st;
    (void)n_threads; /* BLAS threads are the BLAS library's own setting */
    const logreg_model *lm = (const logreg_model *)m;
    if (x->ld > INT32_MAX)
        return am_fail(d, AM_ERR_ARG, "logreg: too many rows for BLAS");
    int64_t p = m->n_features;
    double *z = am_malloc_array(PREDICT_BLOCK, (size_t)lm->k * sizeof(double));
    if (!z)
        return am_fail(d, AM_ERR_NOMEM, "logreg: out of memory");
    for (int64_t r0 = 0; r0 < x->n_rows; r0 += PREDICT_BLOCK) {
        int64_t nb = AM_MIN(PREDICT_BLOCK, x->n_rows - r0);
        if (p > 0)
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)nb, lm->k, (int)p, 1.0,
                        x->data + r0, (int)x->ld, lm->coef, (int)p, 0.0, z, (int)nb);
        else
            memset(z, 0, (size_t)(nb * lm->k) * sizeof(double));
        block_probs(lm, z, nb, out + r0 * m->n_outputs);
    }
    am_free(z);
    return AM_OK;
}

static am_status logreg_save(const am_model *m, am_buf *b, am_diag *d)
{
    const logreg_model *lm = (const logreg_model *)m;
    am_payload_put_dims(b, m);
    am_buf_u32(b, (uint32_t)lm->k);
    am_buf_f64s(b, lm->coef, (size_t)(m->n_features * lm->k + lm->k));
    return am_buf_status(b, d);
}

static am_status logreg_load(am_reader *r, uint32_t version, int64_t n_features,
                             int32_t n_outputs, am_model **out, am_diag *d)
{
    if (version != 1)
        return am_fail(d, AM_ERR_FORMAT, "logreg model: payload version %u is not supported "
                       "(this build reads version 1)", (unsigned)version);
    if (n_features < 0 || n_outputs < 2)
        return am_fail(d, AM_ERR_FORMAT, "logreg model: expected %d outputs; a classifier has "
                       "at least 2", (int)n_outputs);
    am_status st = am_payload_get_dims(r, "logreg", n_features, n_outputs, d);
    if (st != AM_OK)
        return st;
    uint32_t k = am_get_u32(r);
    if ((st = am_reader_status(r, false, d)) != AM_OK)
        return st;
    uint32_t k_want = n_outputs == 2 ? 1u : (uint32_t)n_outputs;
    if (k != k_want)
        return am_fail(d, AM_ERR_FORMAT, "logreg model: %u logit columns for %d classes",
                       (unsigned)k, (int)n_outputs);
    size_t count;
    if (!am_size_mul((size_t)n_features + 1, k, &count))
        return am_fail(d, AM_ERR_FORMAT, "logreg model: coefficient count overflows");
    double *coef = NULL;
    st = am_payload_get_f64s(r, "logreg", count, &coef, d);
    if (st != AM_OK)
        return st;
    logreg_model *lm = am_calloc(1, sizeof(*lm));
    if (!lm) {
        am_free(coef);
        return am_fail(d, AM_ERR_NOMEM, "logreg: out of memory");
    }
    lm->base = (am_model){&am_learner_logreg, n_features, n_outputs};
    lm->k = (int32_t)k;
    lm->coef = coef;
    lm->intercept = coef + n_features * (int64_t)k;
    *out = &lm->base;
    return AM_OK;
}

/* Two products of n x p x K per evaluation; the iteration count grows slowly with C (weaker
 * regularisation, flatter valleys). K is not known here, so it is left out. With an L1 part,
 * each proximal Newton iteration adds a few coordinate sweeps of the same n x p size. */
static double logreg_cost(const am_params *p, int64_t n_rows, int64_t n_cols)
{
    double c = p ? p->v[LR_C] : 1.0, max_iter = p ? p->v[LR_MAX_ITER] : 200;
    double iters = fmin(max_iter, 20 + 10 * log10(1 + fmax(c, 0)));
    int penalty = p ? (int)p->v[LR_PENALTY] : PENALTY_L2;
    if (penalty == PENALTY_L1 || (penalty == PENALTY_ELASTICNET && p->v[LR_L1_RATIO] > 0))
        iters *= 3;
    return 2.0 * (double)n_rows * (double)(n_cols + 1) * iters;
}

/* ---- test-only entry points ----------------------------------------------------------------- */

am_status am_logreg_objective(const am_matrix *x, const double *y, const double *w,
                              int32_t n_classes, double c, bool l2, bool fit_intercept,
                              const double *theta, double *f, double *grad, am_diag *d)
{
    lr_problem pb;
    am_status st =
        problem_init(&pb, x, y, w, n_classes, c, l2 ? 1.0 : 0.0, fit_intercept, 1, d);
    if (st != AM_OK)
        return st;
    bool ok = lr_eval(&pb, theta, f, grad);
    am_free(pb.z);
    return ok ? AM_OK : am_fail(d, AM_ERR_NUMERIC, "logreg: the objective is not finite");
}

void am_logreg_coef(const am_model *m, int32_t *k, const double **coef, const double **intercept,
                    int32_t *n_iter)
{
    const logreg_model *lm = (const logreg_model *)m;
    *k = lm->k;
    *coef = lm->coef;
    *intercept = lm->intercept;
    *n_iter = lm->n_iter;
}

/* k = 1 (the log-odds of the second class) for binary models, one column per class otherwise. */
static int32_t logreg_coefficients(const am_model *m, double *coef, double *intercept)
{
    const logreg_model *lm = (const logreg_model *)m;
    if (coef)
        memcpy(coef, lm->coef, (size_t)(m->n_features * lm->k) * sizeof(double));
    if (intercept)
        memcpy(intercept, lm->intercept, (size_t)lm->k * sizeof(double));
    return lm->k;
}

const am_learner_type am_learner_logreg = {
    .name = "logreg",
    .summary = "logistic regression (binary and multinomial; l2, l1 or elastic-net penalty)",
    .tasks = AM_TASK_BINARY | AM_TASK_MULTICLASS,
    .needs = AM_NEEDS_SCALED,
    .params = &logreg_params,
    .format_version = 1,
    .check = NULL,
    .cost_hint = logreg_cost,
    .fit = logreg_fit,
    .predict = logreg_predict,
    .save = logreg_save,
    .load = logreg_load,
    .free = logreg_free,
    .coefficients = logreg_coefficients,
};
