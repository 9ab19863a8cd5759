/* elasticnet.c — elastic net and lasso regression by coordinate descent, as scikit-learn's
 * ElasticNet.
 *
 * Minimises, with sample weights w normalised to sum to n (so v = w / sum(w) sums to one),
 *
 *     P(b, beta) = 1/2 sum_i v_i (y_i - b - x_i.beta)^2 + l1 ||beta||_1 + l2/2 ||beta||^2,
 *     l1 = alpha * l1_ratio,  l2 = alpha * (1 - l1_ratio),  intercept b unpenalised,
 *
 * which is scikit-learn's objective 1/(2n) sum_i w_i r_i^2 + ... written with v. The intercept
 * is removed by centring x and y with v; b = ym - xm.beta afterwards.
 *
 * Solver (Friedman, Hastie and Tibshirani 2010, "Regularization paths for generalized linear
 * models via coordinate descent"): cyclic coordinate descent, warm-started along a geometric
 * path of alphas from alpha_max (the smallest alpha at which beta = 0) down to the requested
 * one. At each alpha: one full sweep over every feature, then sweeps over the active set (the
 * features with beta_j != 0) until they settle, then a full sweep again; it stops when a full
 * sweep changes no active set and the duality gap is at most tol * sum_i v_i yc_i^2 —
 * scikit-learn's stopping rule. Reaching max_iter keeps the model and logs a warning, as
 * scikit-learn does.
 *
 * The gradient of coordinate j is c_j = sum_i v_i xc_ij r_i. In covariance mode (the default)
 * it comes from X'y and the Gram columns X'x_k of the features that have entered the model
 * (computed once on entry with BLAS and cached): c_j = xty_j - sum_k G_jk beta_k, so an update
 * inside the active set costs O(active) instead of O(n). Once a sixteenth of the features
 * have entered, the rest of the matrix is computed at once (BLAS-3 beats one memory-bound pass
 * per column). With many features the cache could need p^2 doubles, so past a memory budget
 * the naive mode keeps the residual vector instead: O(n) per update, no Gram.
 *
 * alpha = 0 is plain least squares by coordinate descent; ridge (SVD) is the better solver for
 * it and for l1_ratio = 0. Both work here, with the stopping rules described at
 * stopping_measure.
 *
 * Threads: the setup's pass over the columns and the products with x (dense.c) use
 * a->n_threads, each value one thread's work in a fixed order, so nothing depends on the count;
 * the sweeps are sequential by nature; the Gram matrix comes from dsyrk, whose bits do not
 * depend on the BLAS thread count either (OpenBLAS splits its result, not its sums).
 *
 * The code is split by phase: the centred problem (setup), the coordinate sweeps of each mode,
 * the stopping measure, the alpha path, and the model around it (fit, predict, save, load). */
#include "elasticnet.h"
#include "internal.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

enum { EN_ALPHA, EN_L1_RATIO, EN_FIT_INTERCEPT, EN_MAX_ITER, EN_TOL };

static const am_param_desc enet_desc[] = {
    [EN_ALPHA] = {"alpha", AM_P_REAL, 1.0, 0.0, 1e10, 1e-5, 10.0, 1.0, NULL,
                  AM_PF_TUNE | AM_PF_LOG,
                  "penalty strength (0: least squares, for which ridge is the better solver)"},
    [EN_L1_RATIO] = {"l1_ratio", AM_P_REAL, 0.5, 0.0, 1.0, 0.0, 1.0, 0.5, NULL, AM_PF_TUNE,
                     "share of the penalty that is L1 (1: lasso, 0: ridge)"},
    [EN_FIT_INTERCEPT] = {"fit_intercept", AM_P_BOOL, 1, 0, 1, 0, 1, 1, NULL, 0,
                          "fit an unpenalised intercept"},
    [EN_MAX_ITER] = {"max_iter", AM_P_INT, 1000, 1, 1e6, 0, 0, 1000, NULL, 0,
                     "maximum coordinate sweeps at each alpha of the warm-start path"},
    [EN_TOL] = {"tol", AM_P_REAL, 1e-4, 0.0, 1.0, 0, 0, 1e-4, NULL, 0,
                "stop when the duality gap <= tol * weighted variance of y (scikit-learn's rule)"},
};

static const am_param_table enet_params = {"elasticnet", enet_desc,
                                           (int32_t)AM_COUNT(enet_desc)};

/* Below this l1_ratio the path starts where l1_ratio = ENET_L1_FLOOR would give beta = 0:
 * with no L1 part there is no alpha_max, but coefficients that small are as good a start. */
#define ENET_L1_FLOOR 1e-3
#define ENET_PATH_MAX 20          /* path points, the requested alpha included */
#define ENET_STEPS_PER_DECADE 5.0 /* path spacing when it needs fewer than ENET_PATH_MAX */
#define ENET_ZERO_END 1e-4        /* alpha = 0: the last positive point is alpha_start * this */
/* Covariance mode only when a full Gram matrix (p^2 doubles) would fit in this. */
#define ENET_GRAM_BUDGET ((size_t)128 << 20)
/* A column whose weighted variance is below this share of its mean square is constant up to
 * rounding (a constant c leaves centred values of about eps * c) and never enters. */
#define ENET_CONSTANT_REL 1e-20
#define ENET_POLL_EVERY 256      /* naive sweeps poll the stop check every this many features */
#define ENET_PARALLEL_MIN 100000 /* setup parallelises over columns above this many values */
#define ENET_BLOCK_VALUES 131072 /* row block of the whole-Gram product (1 MiB) */
/* Gram columns are computed one by one as features enter, until max(ENET_LAZY_MIN,
 * p / ENET_LAZY_SHARE) have; then the whole matrix at once. */
#define ENET_LAZY_MIN 4
#define ENET_LAZY_SHARE 16
#define ENET_PACK_MAX ((size_t)32 << 20) /* largest packed active block, bytes */

typedef struct enet_model {
    am_model base;
    double intercept;
    double *coef; /* n_features values */
    am_enet_info info;
} enet_model;

/* ---- setup: the centred, weighted problem ---------------------------------------------------- */

/* What the solver sees: P(beta) = 1/2 sum_i v_i (yc_i - xc_i.beta)^2 + penalties, with xc, yc
 * centred by v when an intercept is fitted. x itself is never copied whole: centring is applied
 * on the fly, so the fit needs O(n + p) memory besides the Gram cache. */
typedef struct enet_data {
    const am_matrix *x;
    int64_t n, p;
    double *v;     /* n normalised weights (sum 1) */
    double *yc;    /* n centred targets */
    double *xm;    /* p column means (zeros without an intercept) */
    double *diag;  /* p: sum_i v_i xc_ij^2; 0 marks a constant column, which never moves */
    double *xty;   /* p: sum_i v_i xc_ij yc_i */
    double ym, yy; /* target mean; sum_i v_i yc_i^2 */
    int32_t n_threads; /* for the products with x */
} enet_data;

static void data_fini(enet_data *dt)
{
    am_free(dt->v);
    am_free(dt->xm);
}

/* Mean under weights v that sum to one, with one correction pass: the second sum recovers the
 * rounding of the first, which matters when the mean is large against the spread. */
static double weighted_mean(const double *col, const double *v, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += v[i] * col[i];
    double c = 0;
    for (int64_t i = 0; i < n; i++)
        c += v[i] * (col[i] - s);
    return s + c;
}

/* Column j's mean, weighted variance and covariance with yc. */
static void column_moments(enet_data *dt, int64_t j, bool centre)
{
    const double *col = dt->x->data + j * dt->x->ld;
    const double *v = dt->v, *yc = dt->yc;
    double m = centre ? weighted_mean(col, v, dt->n) : 0.0;
    double s2 = 0, sxy = 0, raw = 0;
    for (int64_t i = 0; i < dt->n; i++) {
        double t = col[i] - m;
        s2 += v[i] * t * t;
        sxy += v[i] * t * yc[i];
        raw += v[i] * col[i] * col[i];
    }
    bool constant = !(s2 > ENET_CONSTANT_REL * raw);
    dt->xm[j] = m;
    dt->diag[j] = constant ? 0.0 : s2;
    dt->xty[j] = constant ? 0.0 : sxy;
}

static am_status data_init(enet_data *dt, const am_fit_args *a, bool centre, am_diag *d)
{
    memset(dt, 0, sizeof(*dt));
    dt->x = a->x;
    dt->n = a->x->n_rows;
    dt->n_threads = AM_MAX(a->n_threads, 1);
    dt->p = a->x->n_cols;
    int64_t n = dt->n, p = dt->p;
    dt->v = am_malloc_array((size_t)n, 2 * sizeof(double));
    dt->xm = am_malloc_array((size_t)AM_MAX(p, 1), 3 * sizeof(double));
    if (!dt->v || !dt->xm) {
        data_fini(dt);
        return am_fail(d, AM_ERR_NOMEM, "elasticnet: out of memory for %lld rows and %lld "
                       "features", (long long)n, (long long)p);
    }
    dt->yc = dt->v + n;
    dt->diag = dt->xm + AM_MAX(p, 1);
    dt->xty = dt->diag + AM_MAX(p, 1);

    double wsum = 0;
    for (int64_t i = 0; i < n; i++)
        wsum += am_weight_at(a->weight, i);
    if (!(wsum > 0) || !isfinite(wsum)) {
        data_fini(dt);
        return am_fail(d, AM_ERR_DATA, "elasticnet: the sample weights sum to %g", wsum);
    }
    for (int64_t i = 0; i < n; i++)
        dt->v[i] = am_weight_at(a->weight, i) / wsum;
    dt->ym = centre ? weighted_mean(a->y, dt->v, n) : 0.0;
    dt->yy = 0;
    for (int64_t i = 0; i < n; i++) {
        dt->yc[i] = a->y[i] - dt->ym;
        dt->yy += dt->v[i] * dt->yc[i] * dt->yc[i];
    }
    /* Each column is one thread's work from start to end, so the values do not depend on the
     * thread count. */
    int nt = (double)n * (double)p >= ENET_PARALLEL_MIN ? (int)AM_MAX(a->n_threads, 1) : 1;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t j = 0; j < p; j++)
        column_moments(dt, j, centre);
    return AM_OK;
}

/* ---- the solver state ----------------------------------------------------------------------- */

typedef struct enet_solver {
    const enet_data *dt;
    am_enet_mode mode;
    double l1, l2;   /* penalties at the current alpha */
    double *beta;    /* p coefficients */
    double *c;       /* p: gradient sum_i v_i xc_ij r_i, r = yc - xc.beta (see each mode) */
    int64_t *active; /* the features with beta != 0, ascending, as of the last full sweep */
    int64_t n_active;
    /* Covariance mode: column slot[k] of gram (p values) is sum_i v_i xc_ij xc_ik. */
    double *gram;
    int64_t *slot; /* p: feature k's column, or -1 before it enters */
    int64_t n_slots, cap;
    /* Covariance mode, while cycling over the active set: its block of the Gram matrix and its
     * c and diag, packed so that an update is one contiguous pass (gathering each element from
     * the Gram columns took most of the time on wide problems). */
    double *gaa; /* n_active x n_active */
    size_t gaa_cap;
    double *ca, *da; /* p each, first n_active used */
    /* Naive mode: r_i = v_i (yc_i - xc_i.beta). Covariance mode: scratch for a Gram column. */
    double *r;
    int32_t max_iter;
    double tol_abs;
    const am_stop *stop;
} enet_solver;

static void solver_fini(enet_solver *sv)
{
    am_free(sv->gaa);
    am_free(sv->gram);
    am_free(sv->active);
    am_free(sv->beta);
    am_free(sv->r);
}

static am_status solver_init(enet_solver *sv, const enet_data *dt, am_enet_mode mode,
                             am_diag *d)
{
    memset(sv, 0, sizeof(*sv));
    sv->dt = dt;
    sv->mode = mode;
    size_t p = (size_t)AM_MAX(dt->p, 1);
    sv->beta = am_calloc(p, 4 * sizeof(double));
    sv->active = am_malloc_array(p, 2 * sizeof(int64_t));
    sv->r = am_malloc_array((size_t)dt->n, sizeof(double));
    if (!sv->beta || !sv->active || !sv->r) {
        solver_fini(sv);
        return am_fail(d, AM_ERR_NOMEM, "elasticnet: out of memory for the solver");
    }
    sv->c = sv->beta + p;
    sv->ca = sv->c + p;
    sv->da = sv->ca + p;
    sv->slot = sv->active + p;
    for (int64_t j = 0; j < dt->p; j++)
        sv->slot[j] = -1;
    return AM_OK;
}

/* The minimiser over beta_j with the others fixed, given z = c_j + diag_j beta_j: the
 * soft-threshold of z by the L1 penalty, shrunk by the L2 one. */
static double coord_min(double z, double l1, double denom)
{
    if (z > l1)
        return (z - l1) / denom;
    if (z < -l1)
        return (z + l1) / denom;
    return 0.0;
}

static void rebuild_active(enet_solver *sv)
{
    sv->n_active = 0;
    for (int64_t j = 0; j < sv->dt->p; j++)
        if (sv->beta[j] != 0)
            sv->active[sv->n_active++] = j;
}

/* ---- covariance mode ------------------------------------------------------------------------ */

/* Computes feature k's Gram column, growing the cache geometrically (at most p columns). */
static am_status gram_enter(enet_solver *sv, int64_t k, am_diag *d)
{
    const enet_data *dt = sv->dt;
    int64_t n = dt->n, p = dt->p;
    if (sv->n_slots == sv->cap) {
        int64_t cap = AM_MIN(p, AM_MAX(8, 2 * sv->cap));
        size_t bytes;
        double *g = NULL;
        if (am_size_mul((size_t)p, (size_t)cap * sizeof(double), &bytes))
            g = am_realloc(sv->gram, bytes);
        if (!g)
            return am_fail(d, AM_ERR_NOMEM, "elasticnet: out of memory for %lld Gram columns "
                           "of %lld features", (long long)cap, (long long)p);
        sv->gram = g;
        sv->cap = cap;
    }
    const double *col = dt->x->data + k * dt->x->ld;
    for (int64_t i = 0; i < n; i++)
        sv->r[i] = dt->v[i] * (col[i] - dt->xm[k]);
    /* sum_i x_ij v_i xc_ik equals sum_i v_i xc_ij xc_ik, because sum_i v_i xc_ik = 0, so the
     * product runs on x as given. */
    double *g = sv->gram + sv->n_slots * p;
    am_dense_xt_z(dt->x, sv->r, n, 1, 1.0, 0.0, g, p, dt->n_threads);
    for (int64_t j = 0; j < p; j++)
        if (dt->diag[j] == 0)
            g[j] = 0.0;
    g[k] = dt->diag[k]; /* the value the updates divide by, so a coordinate's fixed point holds */
    sv->slot[k] = sv->n_slots++;
    return AM_OK;
}

/* Completes the lower triangle dsyrk left into the full symmetric matrix, with zeros for
 * constant columns and the diagonal the updates divide by; every feature now has its column. */
static void gram_mirror(enet_solver *sv)
{
    const enet_data *dt = sv->dt;
    int64_t p = dt->p;
    double *g = sv->gram;
    for (int64_t k = 0; k < p; k++) {
        for (int64_t j = k + 1; j < p; j++) {
            bool constant = dt->diag[j] == 0 || dt->diag[k] == 0;
            g[j + k * p] = constant ? 0.0 : g[j + k * p];
            g[k + j * p] = g[j + k * p];
        }
        g[k + k * p] = dt->diag[k];
        sv->slot[k] = k;
    }
    sv->n_slots = p;
}

/* The weighted, centred rows r0 .. r0 + nb of x, scaled by sqrt(v_i), into blk (nb x p). */
static void fill_block(const enet_data *dt, int64_t r0, int64_t nb, double *blk)
{
    for (int64_t j = 0; j < dt->p; j++) {
        const double *col = dt->x->data + j * dt->x->ld + r0;
        double m = dt->xm[j];
        for (int64_t i = 0; i < nb; i++)
            blk[i + j * nb] = sqrt(dt->v[r0 + i]) * (col[i] - m);
    }
}

/* Every Gram column at once, replacing the columns computed so far: one BLAS-3 pass over row
 * blocks instead of one memory-bound pass over x per entering feature (several times faster
 * per column). Fixed block boundaries keep the order of the sums fixed. */
static am_status gram_all(enet_solver *sv, am_diag *d)
{
    const enet_data *dt = sv->dt;
    int64_t n = dt->n, p = dt->p;
    int64_t rows = AM_MIN(n, AM_MAX(64, ENET_BLOCK_VALUES / p));
    double *blk = am_malloc_array((size_t)rows, (size_t)p * sizeof(double));
    double *g = am_calloc((size_t)p, (size_t)p * sizeof(double));
    am_status st = AM_OK;
    if (!blk || !g) {
        st = am_fail(d, AM_ERR_NOMEM, "elasticnet: out of memory for the %lld x %lld Gram "
                     "matrix", (long long)p, (long long)p);
        goto cleanup;
    }
    for (int64_t r0 = 0; r0 < n; r0 += rows) {
        if (am_stop_hit(sv->stop)) {
            st = am_fail(d, AM_ERR_CANCELLED, "elasticnet: stopped during the fit");
            goto cleanup;
        }
        int64_t nb = AM_MIN(rows, n - r0);
        fill_block(dt, r0, nb, blk);
        cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)p, (int)nb, 1.0, blk, (int)nb,
                    1.0, g, (int)p);
    }
    am_free(sv->gram);
    sv->gram = g;
    g = NULL;
    sv->cap = p;
    gram_mirror(sv);
cleanup:
    am_free(g);
    am_free(blk);
    return st;
}

/* c = X'y - G beta from scratch, which also clears the drift of the incremental updates:
 * O(p) per nonzero coefficient. */
static void cov_refresh(enet_solver *sv)
{
    const enet_data *dt = sv->dt;
    int64_t p = dt->p;
    memcpy(sv->c, dt->xty, (size_t)p * sizeof(double));
    for (int64_t k = 0; k < p; k++)
        if (sv->beta[k] != 0)
            cblas_daxpy((int)p, -sv->beta[k], sv->gram + sv->slot[k] * p, 1, sv->c, 1);
}

static am_status cov_full_sweep(enet_solver *sv, bool *changed, am_diag *d)
{
    const enet_data *dt = sv->dt;
    int64_t p = dt->p;
    cov_refresh(sv);
    for (int64_t j = 0; j < p; j++) {
        if (dt->diag[j] == 0)
            continue;
        double old = sv->beta[j];
        double b = coord_min(sv->c[j] + dt->diag[j] * old, sv->l1, dt->diag[j] + sv->l2);
        if (b == old)
            continue;
        if (sv->slot[j] < 0) {
            /* An entry costs O(n p): worth a look at the clock first. Once a sixteenth of the
             * features have entered one at a time, the rest are likely to follow: the whole
             * matrix costs about as much as those entries did, so at most twice the better
             * of the two choices made in hindsight. */
            if (am_stop_hit(sv->stop))
                return am_fail(d, AM_ERR_CANCELLED, "elasticnet: stopped during the fit");
            bool all = sv->n_slots + 1 >= AM_MAX(ENET_LAZY_MIN, p / ENET_LAZY_SHARE);
            am_status st = all ? gram_all(sv, d) : gram_enter(sv, j, d);
            if (st != AM_OK)
                return st;
        }
        *changed |= (old == 0) != (b == 0);
        sv->beta[j] = b;
        cblas_daxpy((int)p, -(b - old), sv->gram + sv->slot[j] * p, 1, sv->c, 1);
    }
    return AM_OK;
}

/* One sweep over the active set, keeping c current on the active set only (the next full
 * sweep recomputes the rest). Returns max_j diag_j delta_j^2, the objective scale of the
 * largest move. */
static double cov_active_sweep(enet_solver *sv)
{
    const enet_data *dt = sv->dt;
    double moved = 0;
    for (int64_t a = 0; a < sv->n_active; a++) {
        int64_t j = sv->active[a];
        double old = sv->beta[j];
        double b = coord_min(sv->c[j] + dt->diag[j] * old, sv->l1, dt->diag[j] + sv->l2);
        if (b == old)
            continue;
        double delta = b - old;
        sv->beta[j] = b;
        const double *g = sv->gram + sv->slot[j] * dt->p;
        for (int64_t e = 0; e < sv->n_active; e++) {
            int64_t k = sv->active[e];
            sv->c[k] -= delta * g[k];
        }
        moved = fmax(moved, dt->diag[j] * delta * delta);
    }
    return moved;
}

/* Packs the active block for active_loop; *packed stays false (the sweeps then gather from
 * the Gram columns) when the block would exceed ENET_PACK_MAX bytes. */
static am_status cov_pack(enet_solver *sv, bool *packed, am_diag *d)
{
    int64_t na = sv->n_active, p = sv->dt->p;
    size_t need;
    *packed = false;
    if (!am_size_mul((size_t)na, (size_t)na, &need) || need > ENET_PACK_MAX / sizeof(double))
        return AM_OK;
    if (need > sv->gaa_cap) {
        double *g = am_realloc(sv->gaa, need * sizeof(double));
        if (!g)
            return am_fail(d, AM_ERR_NOMEM, "elasticnet: out of memory for the active block "
                           "of %lld features", (long long)na);
        sv->gaa = g;
        sv->gaa_cap = need;
    }
    for (int64_t a = 0; a < na; a++) {
        int64_t j = sv->active[a];
        const double *g = sv->gram + sv->slot[j] * p;
        double *dst = sv->gaa + a * na;
        for (int64_t e = 0; e < na; e++)
            dst[e] = g[sv->active[e]];
        sv->ca[a] = sv->c[j];
        sv->da[a] = sv->dt->diag[j];
    }
    *packed = true;
    return AM_OK;
}

/* cov_active_sweep on the packed block: the same updates in the same order. */
static double cov_packed_sweep(enet_solver *sv)
{
    int64_t na = sv->n_active;
    double moved = 0;
    for (int64_t a = 0; a < na; a++) {
        int64_t j = sv->active[a];
        double old = sv->beta[j];
        double b = coord_min(sv->ca[a] + sv->da[a] * old, sv->l1, sv->da[a] + sv->l2);
        if (b == old)
            continue;
        double delta = b - old;
        sv->beta[j] = b;
        const double *g = sv->gaa + a * na;
        double *ca = sv->ca;
        for (int64_t e = 0; e < na; e++)
            ca[e] -= delta * g[e];
        moved = fmax(moved, sv->da[a] * delta * delta);
    }
    return moved;
}

static void cov_unpack(enet_solver *sv)
{
    for (int64_t a = 0; a < sv->n_active; a++)
        sv->c[sv->active[a]] = sv->ca[a];
}

/* ---- naive mode ----------------------------------------------------------------------------- */

static double naive_grad(const enet_solver *sv, int64_t j)
{
    const enet_data *dt = sv->dt;
    const double *col = dt->x->data + j * dt->x->ld, *r = sv->r;
    double m = dt->xm[j], s = 0;
    for (int64_t i = 0; i < dt->n; i++)
        s += (col[i] - m) * r[i];
    return s;
}

static void naive_apply(enet_solver *sv, int64_t j, double delta)
{
    const enet_data *dt = sv->dt;
    const double *col = dt->x->data + j * dt->x->ld, *v = dt->v;
    double m = dt->xm[j];
    for (int64_t i = 0; i < dt->n; i++)
        sv->r[i] -= delta * v[i] * (col[i] - m);
}

/* r from scratch (once per alpha), clearing the drift of the incremental updates. */
static void naive_refresh_r(enet_solver *sv)
{
    const enet_data *dt = sv->dt;
    int64_t n = dt->n, p = dt->p;
    double mb = 0;
    for (int64_t j = 0; j < p; j++)
        mb += dt->xm[j] * sv->beta[j];
    am_dense_x_w(dt->x, sv->beta, p, 1, sv->r, n, dt->n_threads);
    for (int64_t i = 0; i < n; i++)
        sv->r[i] = dt->v[i] * (dt->yc[i] - (sv->r[i] - mb));
}

/* Every c_j at once: X'r, less xm_j sum_i r_i for the centring. */
static void naive_refresh_c(enet_solver *sv)
{
    const enet_data *dt = sv->dt;
    int64_t n = dt->n, p = dt->p;
    if (p == 0)
        return;
    am_dense_xt_z(dt->x, sv->r, n, 1, 1.0, 0.0, sv->c, p, dt->n_threads);
    double sr = 0;
    for (int64_t i = 0; i < n; i++)
        sr += sv->r[i];
    for (int64_t j = 0; j < p; j++)
        sv->c[j] = dt->diag[j] == 0 ? 0.0 : sv->c[j] - dt->xm[j] * sr;
}

/* Updates coordinate j from its gradient; returns the change. */
static double naive_update(enet_solver *sv, int64_t j)
{
    const enet_data *dt = sv->dt;
    double old = sv->beta[j];
    double b = coord_min(naive_grad(sv, j) + dt->diag[j] * old, sv->l1, dt->diag[j] + sv->l2);
    if (b == old)
        return 0.0;
    sv->beta[j] = b;
    naive_apply(sv, j, b - old);
    return b - old;
}

static am_status naive_full_sweep(enet_solver *sv, bool *changed, am_diag *d)
{
    const enet_data *dt = sv->dt;
    for (int64_t j = 0; j < dt->p; j++) {
        if (dt->diag[j] == 0)
            continue;
        if (j % ENET_POLL_EVERY == ENET_POLL_EVERY - 1 && am_stop_hit(sv->stop))
            return am_fail(d, AM_ERR_CANCELLED, "elasticnet: stopped during the fit");
        double old = sv->beta[j];
        naive_update(sv, j);
        *changed |= (old == 0) != (sv->beta[j] == 0);
    }
    return AM_OK;
}

static double naive_active_sweep(enet_solver *sv)
{
    double moved = 0;
    for (int64_t a = 0; a < sv->n_active; a++) {
        int64_t j = sv->active[a];
        double delta = naive_update(sv, j);
        moved = fmax(moved, sv->dt->diag[j] * delta * delta);
    }
    return moved;
}

/* ---- the stopping measure ------------------------------------------------------------------- */

/* With c current and ry = sum_i v_i yc_i r_i, the measure compared with tol_abs:
 *  - l1 > 0: scikit-learn's duality gap (the lasso dual of the problem augmented with
 *    sqrt(l2) I), written as 1/2 (1-s)^2 ry + 1/2 (1+s^2)(l2 ||beta||^2 - beta'c) + l1 ||beta||_1
 *    using ||r||^2 = ry - beta'c, which keeps the cancellation of ||r||^2 - ry out of it;
 *  - l2 > 0: also the gap of the elastic net's own dual at theta = r,
 *    -beta'c + l1 ||beta||_1 + l2/2 ||beta||^2 + sum_j (|c_j| - l1)_+^2 / (2 l2),
 *    which stays informative as l1 -> 0 where the first degenerates; the smaller one counts
 *    (both bound the suboptimality);
 *  - l1 = l2 = 0 (least squares) has no cheap dual bound: max_j c_j^2 / diag_j, twice the
 *    decrease the best single coordinate step could still make, stands in for it. */
static double stopping_measure(const enet_solver *sv, double ry)
{
    const enet_data *dt = sv->dt;
    double l1 = sv->l1, l2 = sv->l2;
    double bc = 0, b1 = 0, b2 = 0, dual_norm = 0, excess = 0, ls = 0;
    for (int64_t j = 0; j < dt->p; j++) {
        if (dt->diag[j] == 0)
            continue;
        double b = sv->beta[j], cj = sv->c[j];
        bc += b * cj;
        b1 += fabs(b);
        b2 += b * b;
        dual_norm = fmax(dual_norm, fabs(cj - l2 * b));
        double e = fabs(cj) - l1;
        if (e > 0)
            excess += e * e;
        ls = fmax(ls, cj * cj / dt->diag[j]);
    }
    if (l1 == 0 && l2 == 0)
        return ls;
    double gap = INFINITY;
    if (l2 > 0)
        gap = -bc + l1 * b1 + 0.5 * l2 * b2 + excess / (2 * l2);
    if (l1 > 0) {
        double s = dual_norm > l1 ? l1 / dual_norm : 1.0;
        double lasso = 0.5 * (1 - s) * (1 - s) * ry + 0.5 * (1 + s * s) * (l2 * b2 - bc) + l1 * b1;
        gap = fmin(gap, lasso);
    }
    return gap;
}

/* The stopping measure right after a full sweep. Covariance mode: c is current, because the
 * sweep started from a fresh one and updated all of it. Naive mode: c is computed here. */
static double current_measure(enet_solver *sv)
{
    const enet_data *dt = sv->dt;
    double ry;
    if (sv->mode == AM_ENET_COVARIANCE) {
        ry = dt->yy;
        for (int64_t j = 0; j < dt->p; j++)
            ry -= sv->beta[j] * dt->xty[j];
    } else {
        naive_refresh_c(sv);
        ry = 0;
        for (int64_t i = 0; i < dt->n; i++)
            ry += dt->yc[i] * sv->r[i];
    }
    return stopping_measure(sv, ry);
}

/* ---- one alpha ------------------------------------------------------------------------------- */

typedef struct enet_outcome {
    int32_t sweeps;
    bool converged;
    double gap;
} enet_outcome;

static am_status full_sweep(enet_solver *sv, bool *changed, am_diag *d)
{
    return sv->mode == AM_ENET_COVARIANCE ? cov_full_sweep(sv, changed, d)
                                          : naive_full_sweep(sv, changed, d);
}

/* Cycles over the active set until the largest move is at most settle, leaving the last of
 * the max_iter sweeps for a full one. */
static am_status active_loop(enet_solver *sv, double settle, enet_outcome *o, am_diag *d)
{
    if (sv->n_active == 0 || o->sweeps >= sv->max_iter - 1)
        return AM_OK;
    bool packed = false;
    am_status st = AM_OK;
    if (sv->mode == AM_ENET_COVARIANCE && (st = cov_pack(sv, &packed, d)) != AM_OK)
        return st;
    while (o->sweeps < sv->max_iter - 1) {
        if (am_stop_hit(sv->stop)) {
            st = am_fail(d, AM_ERR_CANCELLED, "elasticnet: stopped during the fit");
            break;
        }
        double moved = packed ? cov_packed_sweep(sv)
                       : sv->mode == AM_ENET_COVARIANCE ? cov_active_sweep(sv)
                                                         : naive_active_sweep(sv);
        o->sweeps++;
        if (moved <= settle)
            break;
    }
    if (packed)
        cov_unpack(sv);
    return st;
}

/* Solves at the penalties in sv from the current beta. Every sweep (full or active) counts
 * against max_iter, and the last one is always a full sweep, so the measure reported is that
 * of a point where every feature had its say. */
static am_status solve_alpha(enet_solver *sv, enet_outcome *o, am_diag *d)
{
    memset(o, 0, sizeof(*o));
    /* The active loop stops when its largest move is this small; each time a full sweep finds
     * the gap still too large, it is tightened tenfold. */
    double settle = sv->tol_abs;
    if (sv->mode == AM_ENET_NAIVE)
        naive_refresh_r(sv);
    for (;;) {
        if (am_stop_hit(sv->stop))
            return am_fail(d, AM_ERR_CANCELLED, "elasticnet: stopped during the fit");
        bool changed = false;
        am_status st = full_sweep(sv, &changed, d);
        if (st != AM_OK)
            return st;
        o->sweeps++;
        rebuild_active(sv);
        o->gap = current_measure(sv);
        if (!changed && o->gap <= sv->tol_abs) {
            o->converged = true;
            return AM_OK;
        }
        if (o->sweeps >= sv->max_iter)
            return AM_OK;
        if (!changed)
            settle *= 0.1;
        if ((st = active_loop(sv, settle, o, d)) != AM_OK)
            return st;
    }
}

/* ---- the alpha path ------------------------------------------------------------------------- */

/* The path's alphas after start (where beta = 0), ending with alpha: geometric, at most
 * ENET_STEPS_PER_DECADE a decade and ENET_PATH_MAX points. Returns the count. */
static int32_t path_alphas(double start, double alpha, double *out)
{
    if (!(alpha < start)) {
        out[0] = alpha;
        return 1;
    }
    double end = alpha > 0 ? alpha : start * ENET_ZERO_END;
    int32_t cap = alpha > 0 ? ENET_PATH_MAX : ENET_PATH_MAX - 1;
    double steps = ceil(log10(start / end) * ENET_STEPS_PER_DECADE - 1e-9);
    int32_t k = (int32_t)fmax(1.0, fmin(steps, (double)cap));
    for (int32_t i = 1; i <= k; i++)
        out[i - 1] = i == k ? end : start * pow(end / start, (double)i / k);
    if (alpha == 0)
        out[k++] = 0.0;
    return k;
}

static am_status run_path(enet_solver *sv, double alpha, double l1_ratio, am_enet_info *info,
                          am_diag *d)
{
    const enet_data *dt = sv->dt;
    double lmax = 0;
    for (int64_t j = 0; j < dt->p; j++)
        lmax = fmax(lmax, fabs(dt->xty[j]));
    info->alpha_max = lmax == 0 ? 0.0 : l1_ratio > 0 ? lmax / l1_ratio : INFINITY;
    /* beta = 0 satisfies the optimality conditions exactly: max_j |c_j| <= l1. */
    if (lmax <= alpha * l1_ratio) {
        info->converged = true;
        return AM_OK;
    }
    /* Without an L1 part every feature enters on the first sweep. */
    if (sv->mode == AM_ENET_COVARIANCE && l1_ratio == 0) {
        am_status st = gram_all(sv, d);
        if (st != AM_OK)
            return st;
    }
    double alphas[ENET_PATH_MAX + 1];
    int32_t k = path_alphas(lmax / fmax(l1_ratio, ENET_L1_FLOOR), alpha, alphas);
    for (int32_t i = 0; i < k; i++) {
        sv->l1 = alphas[i] * l1_ratio;
        sv->l2 = alphas[i] * (1 - l1_ratio);
        enet_outcome o;
        am_status st = solve_alpha(sv, &o, d);
        if (st != AM_OK)
            return st;
        info->n_sweeps_total += o.sweeps;
        info->n_sweeps = o.sweeps;
        info->converged = o.converged;
        info->gap = o.gap;
    }
    info->n_alphas = k;
    info->n_gram = sv->n_slots;
    return AM_OK;
}

/* ---- fit ------------------------------------------------------------------------------------- */

static void enet_free(am_model *m)
{
    enet_model *em = (enet_model *)m;
    if (!em)
        return;
    am_free(em->coef);
    am_free(em);
}

static enet_model *enet_alloc(int64_t n_features)
{
    enet_model *em = am_calloc(1, sizeof(*em));
    if (!em)
        return NULL;
    em->base = (am_model){&am_learner_elasticnet, n_features, 1};
    em->coef = am_calloc((size_t)AM_MAX(n_features, 1), sizeof(double));
    if (!em->coef) {
        am_free(em);
        return NULL;
    }
    return em;
}

/* The parameters a fit through the type object directly must still respect (am_learner_fit
 * checks the table's ranges first; NaN would slip through comparisons below). */
static am_status check_values(const double *v, am_diag *d)
{
    if (!(v[EN_ALPHA] >= 0 && v[EN_ALPHA] <= 1e10))
        return am_fail(d, AM_ERR_CONFIG, "elasticnet.alpha=%g: must be in [0, 1e+10]",
                       v[EN_ALPHA]);
    if (!(v[EN_L1_RATIO] >= 0 && v[EN_L1_RATIO] <= 1))
        return am_fail(d, AM_ERR_CONFIG, "elasticnet.l1_ratio=%g: must be in [0, 1]",
                       v[EN_L1_RATIO]);
    if (!(v[EN_MAX_ITER] >= 1 && v[EN_MAX_ITER] <= 1e6))
        return am_fail(d, AM_ERR_CONFIG, "elasticnet.max_iter=%g: must be in [1, 1000000]",
                       v[EN_MAX_ITER]);
    if (!(v[EN_TOL] >= 0 && v[EN_TOL] <= 1))
        return am_fail(d, AM_ERR_CONFIG, "elasticnet.tol=%g: must be in [0, 1]", v[EN_TOL]);
    return AM_OK;
}

static am_status check_fit_args(const am_fit_args *a, am_diag *d)
{
    am_status st = am_fit_data_check(a, "elasticnet", d);
    if (st == AM_OK)
        st = am_task_check(&am_learner_elasticnet, a->task, d);
    if (st == AM_OK)
        st = check_values(a->params->v, d);
    if (st != AM_OK)
        return st;
    const am_matrix *x = a->x;
    if (x->n_rows > INT32_MAX || x->n_cols > INT32_MAX || x->ld > INT32_MAX)
        return am_fail(d, AM_ERR_ARG, "elasticnet: a %lld x %lld matrix is too large for BLAS",
                       (long long)x->n_rows, (long long)x->n_cols);
    if (am_stop_hit(a->stop))
        return am_fail(d, AM_ERR_CANCELLED, "elasticnet: stopped before the fit");
    return AM_OK;
}

static am_enet_mode pick_mode(am_enet_mode asked, int64_t p)
{
    if (asked != AM_ENET_AUTO)
        return asked;
    size_t bytes;
    bool fits = am_size_mul((size_t)p, (size_t)p * sizeof(double), &bytes) &&
                bytes <= ENET_GRAM_BUDGET;
    return fits ? AM_ENET_COVARIANCE : AM_ENET_NAIVE;
}

static void log_outcome(const am_fit_args *a, const am_enet_info *info, double alpha,
                        int32_t max_iter)
{
    if (!info->converged)
        am_log(a->log, AM_LOG_WARN,
               "elasticnet: coordinate descent did not converge in %d sweeps at alpha=%g "
               "(duality gap %.3g > tolerance %.3g); the model is kept: raise max_iter or tol",
               (int)max_iter, alpha, info->gap, info->tol_abs);
    am_log(a->log, AM_LOG_DEBUG, "elasticnet: %s mode, %d alphas, %lld sweeps, %lld Gram "
           "columns, gap %.3g", info->mode == AM_ENET_COVARIANCE ? "covariance" : "naive",
           (int)info->n_alphas, (long long)info->n_sweeps_total, (long long)info->n_gram,
           info->gap);
}

am_status am_elasticnet_fit_mode(const am_fit_args *a, am_enet_mode mode, am_model **out,
                                 am_diag *d)
{
    if (mode != AM_ENET_AUTO && mode != AM_ENET_COVARIANCE && mode != AM_ENET_NAIVE)
        return am_fail(d, AM_ERR_ARG, "elasticnet: unknown solver mode %d", (int)mode);
    am_status st = check_fit_args(a, d);
    if (st != AM_OK)
        return st;
    const double *pv = a->params->v;
    double alpha = pv[EN_ALPHA], l1_ratio = pv[EN_L1_RATIO];
    bool centre = pv[EN_FIT_INTERCEPT] != 0;
    enet_data dt;
    st = data_init(&dt, a, centre, d);
    if (st != AM_OK)
        return st;
    enet_solver sv;
    st = solver_init(&sv, &dt, pick_mode(mode, dt.p), d);
    if (st != AM_OK) {
        data_fini(&dt);
        return st;
    }
    sv.max_iter = (int32_t)pv[EN_MAX_ITER];
    sv.tol_abs = pv[EN_TOL] * dt.yy;
    sv.stop = a->stop;
    enet_model *em = enet_alloc(dt.p);
    if (!em) {
        st = am_fail(d, AM_ERR_NOMEM, "elasticnet: out of memory");
        goto cleanup;
    }
    em->info.mode = sv.mode;
    em->info.tol_abs = sv.tol_abs;
    st = run_path(&sv, alpha, l1_ratio, &em->info, d);
    if (st != AM_OK)
        goto cleanup;
    double b = dt.ym;
    for (int64_t j = 0; j < dt.p; j++) {
        em->coef[j] = sv.beta[j];
        b -= dt.xm[j] * sv.beta[j];
    }
    em->intercept = centre ? b : 0.0;
    if (!am_all_finite(em->coef, (size_t)dt.p) || !isfinite(em->intercept)) {
        st = am_fail(d, AM_ERR_NUMERIC, "elasticnet: the solution is not finite");
        goto cleanup;
    }
    log_outcome(a, &em->info, alpha, sv.max_iter);
    *out = &em->base;
    em = NULL;
cleanup:
    enet_free(em ? &em->base : NULL);
    solver_fini(&sv);
    data_fini(&dt);
    return st;
}

static am_status enet_fit(const am_fit_args *a, am_model **out, am_diag *d)
{
    return am_elasticnet_fit_mode(a, AM_ENET_AUTO, out, d);
}

/* ---- predict, save, load -------------------------------------------------------------------- */

static am_status enet_predict(const am_model *m, const am_matrix *x, int32_t n_threads,
                              const am_stop *stop, double *out, am_diag *d)
{
    (void)stop; /* one pass over x: cheap enough to finish once started */
    am_status st = am_predict_check(m, x, out, d);
    if (st != AM_OK)
        return st;
    const enet_model *em = (const enet_model *)m;
    am_dense_x_w(x, em->coef, x->n_cols, 1, out, x->n_rows, n_threads);
    for (int64_t i = 0; i < x->n_rows; i++)
        out[i] += em->intercept;
    return AM_OK;
}

static am_status enet_save(const am_model *m, am_buf *b, am_diag *d)
{
    const enet_model *em = (const enet_model *)m;
    am_payload_put_dims(b, m);
    am_buf_f64(b, em->intercept);
    am_buf_f64s(b, em->coef, (size_t)m->n_features);
    return am_buf_status(b, d);
}

static am_status enet_load(am_reader *r, uint32_t version, int64_t n_features, int32_t n_outputs,
                           am_model **out, am_diag *d)
{
    if (version != 1)
        return am_fail(d, AM_ERR_FORMAT, "elasticnet model: payload version %u is not "
                       "supported (this build reads version 1)", (unsigned)version);
    if (n_features < 0 || n_outputs != 1)
        return am_fail(d, AM_ERR_FORMAT, "elasticnet model: expected %d outputs; elasticnet "
                       "has one", (int)n_outputs);
    am_status st = am_payload_get_dims(r, "elasticnet", n_features, n_outputs, d);
    if (st != AM_OK)
        return st;
    double intercept = am_get_f64(r);
    if ((st = am_reader_status(r, false, d)) != AM_OK)
        return st;
    if (!isfinite(intercept))
        return am_fail(d, AM_ERR_FORMAT, "elasticnet model: the saved intercept is not finite");
    double *coef = NULL;
    st = am_payload_get_f64s(r, "elasticnet", (size_t)n_features, &coef, d);
    if (st != AM_OK)
        return st;
    enet_model *em = am_calloc(1, sizeof(*em));
    if (!em) {
        am_free(coef);
        return am_fail(d, AM_ERR_NOMEM, "elasticnet: out of memory");
    }
    em->base = (am_model){&am_learner_elasticnet, n_features, 1};
    em->intercept = intercept;
    em->coef = coef;
    *out = &em->base;
    return AM_OK;
}

/* Each feature that enters costs one Gram column (n p); a smaller penalty lets more of them in,
 * up to min(n, p) for the lasso. The sweeps themselves are cheap beside that. */
static double enet_cost(const am_params *p, int64_t n_rows, int64_t n_cols)
{
    double alpha = p ? p->v[EN_ALPHA] : 1.0, l1_ratio = p ? p->v[EN_L1_RATIO] : 0.5;
    double n = (double)n_rows, k = (double)n_cols;
    double share = 1.0 / (1.0 + 10.0 * alpha * fmax(l1_ratio, 0.05));
    double entered = fmax(1.0, share * fmin(n, k));
    return n * k * (2.0 + entered) + n;
}

/* ---- entry points for tests and inspect ----------------------------------------------------- */

void am_elasticnet_coef(const am_model *m, const double **coef, double *intercept)
{
    const enet_model *em = (const enet_model *)m;
    *coef = em->coef;
    *intercept = em->intercept;
}

am_enet_info am_elasticnet_info(const am_model *m)
{
    return ((const enet_model *)m)->info;
}

/* For inspect: one column of coefficients. */
static int32_t enet_coefficients(const am_model *m, double *coef, double *intercept)
{
    const enet_model *em = (const enet_model *)m;
    if (coef && m->n_features > 0)
        memcpy(coef, em->coef, (size_t)m->n_features * sizeof(double));
    if (intercept)
        *intercept = em->intercept;
    return 1;
}

const am_learner_type am_learner_elasticnet = {
    .name = "elasticnet",
    .summary = "linear least squares with L1 and L2 penalties (lasso at l1_ratio=1), by "
               "coordinate descent",
    .tasks = AM_TASK_REGRESSION,
    .needs = AM_NEEDS_SCALED,
    .params = &enet_params,
    .format_version = 1,
    .check = NULL,
    .cost_hint = enet_cost,
    .fit = enet_fit,
    .predict = enet_predict,
    .save = enet_save,
    .load = enet_load,
    .free = enet_free,
    .coefficients = enet_coefficients,
};
