/* ridge.c — L2-regularised least squares (ordinary least squares at alpha = 0).
 *
 * Minimises sum_i w_i (y_i - b - x_i.beta)^2 + alpha ||beta||^2 with the intercept b
 * unpenalised, as scikit-learn's Ridge. With weighted centring for the intercept and rows scaled
 * by sqrt(w_i), Xc = sqrt(W) (X - 1 xm') and r = sqrt(W) (y - ym), a single fit solves
 * min ||Xc beta - r||^2 + alpha ||beta||^2 in one of two ways.
 *
 * Cholesky (alpha > 0): the normal equations (Xc'Xc + alpha I) beta = Xc'r, the p x p Gram
 * matrix and Xc'r from one dsyrk over [Xc r]; or, with more columns than rows, the dual form
 * beta = Xc' (Xc Xc' + alpha I)^-1 r with an n x n kernel. Forming either matrix squares the
 * condition number of the problem, so the solution is kept only when LAPACK's condition
 * estimate says it has enough digits (see spd_solve); the penalty bounds the smallest
 * eigenvalue away from zero, so this holds except for tiny alphas on nearly collinear columns.
 *
 * SVD (alpha = 0, and whenever Cholesky is refused): the least-squares problem itself, which
 * keeps the digits the normal equations lose (NIST Longley) and gives the minimum-norm
 * solution when alpha = 0 and the columns are collinear (duplicated or constant features).
 * With columns scaled to unit norm and the penalty as p extra rows,
 *
 *     min || [ sqrt(W) (X - 1 xm') S^-1          ] z  -  [ sqrt(W) (y - ym) ] ||
 *         || [ sqrt(alpha) S^-1                  ]       [ 0                ] ||,  beta = S^-1 z,
 *
 * by LAPACK dgelsd.
 *
 * The path (am_ridge_path, ridge.h) solves the same problems for many alphas from one SVD; see
 * the comment above its section for why it needs a second, small one. */
#include "ridge.h"

#include "internal.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

enum { RIDGE_ALPHA, RIDGE_FIT_INTERCEPT };

static const am_param_desc ridge_desc[] = {
    [RIDGE_ALPHA] = {"alpha", AM_P_REAL, 1.0, 0.0, 1e10, 1e-4, 1e3, 1.0, NULL,
                     AM_PF_TUNE | AM_PF_LOG, "L2 penalty on the coefficients (0: least squares)"},
    [RIDGE_FIT_INTERCEPT] = {"fit_intercept", AM_P_BOOL, 1, 0, 1, 0, 1, 1, NULL, 0,
                             "fit an unpenalised intercept"},
};

static const am_param_table ridge_params = {"ridge", ridge_desc, (int32_t)AM_COUNT(ridge_desc)};

typedef struct ridge_model {
    am_model base;
    double intercept;
    double *coef;       /* n_features values */
    am_ridge_info info; /* what the fit did; zeros when loaded or built */
} ridge_model;

static void ridge_free(am_model *m)
{
    ridge_model *rm = (ridge_model *)m;
    if (!rm)
        return;
    am_free(rm->coef);
    am_free(rm);
}

static ridge_model *ridge_alloc(int64_t n_features)
{
    ridge_model *rm = am_calloc(1, sizeof(*rm));
    if (!rm)
        return NULL;
    rm->base.type = &am_learner_ridge;
    rm->base.n_features = n_features;
    rm->base.n_outputs = 1;
    rm->coef = am_calloc(n_features > 0 ? (size_t)n_features : 1, sizeof(double));
    if (!rm->coef) {
        am_free(rm);
        return NULL;
    }
    return rm;
}

/* ---- fit: setup ----------------------------------------------------------------------------- */

/* Weighted mean with one correction pass: the second sum of residuals recovers the rounding of
 * the first, which matters when the mean is large against the spread (Longley's year column). */
static double weighted_mean(const double *v, const double *w, int64_t n, double wsum)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += am_weight_at(w, i) * v[i];
    double m = s / wsum;
    double c = 0;
    for (int64_t i = 0; i < n; i++)
        c += am_weight_at(w, i) * (v[i] - m);
    return m + c / wsum;
}

/* Fills the working copy the solver overwrites (rows x p, column-major, lda = rows) and the
 * right-hand side; records the centring means and column scales. */
static void build_system(const am_fit_args *a, bool centre, double alpha, double wsum,
                         double *A, lapack_int rows, double *rhs, double *xm, double *scale,
                         double *ym)
{
    const am_matrix *x = a->x;
    int64_t n = x->n_rows, p = x->n_cols;
    const double *w = a->weight;
    *ym = centre ? weighted_mean(a->y, w, n, wsum) : 0.0;
    for (int64_t i = 0; i < n; i++)
        rhs[i] = sqrt(am_weight_at(w, i)) * (a->y[i] - *ym);
    for (int64_t j = 0; j < p; j++) {
        const double *col = x->data + j * x->ld;
        double *acol = A + j * (int64_t)rows;
        xm[j] = centre ? weighted_mean(col, w, n, wsum) : 0.0;
        for (int64_t i = 0; i < n; i++)
            acol[i] = sqrt(am_weight_at(w, i)) * (col[i] - xm[j]);
        double norm = cblas_dnrm2((int)n, acol, 1);
        scale[j] = norm > 0 ? norm : 1.0;
        for (int64_t i = 0; i < n; i++)
            acol[i] /= scale[j];
        /* The penalty rows: alpha ||beta||^2 = || sqrt(alpha) S^-1 z ||^2. */
        for (int64_t i = n; i < rows; i++)
            acol[i] = (i - n == j) ? sqrt(alpha) / scale[j] : 0.0;
    }
    for (int64_t i = n; i < rows; i++)
        rhs[i] = 0.0;
}

/* ---- fit: solve ----------------------------------------------------------------------------- */

/* Least squares by divide-and-conquer SVD; the workspace comes from our allocator (the _work
 * interface), so out-of-memory stays an error we report. On return rhs[0..p) holds z. */
static am_status svd_solve(double *A, lapack_int rows, lapack_int p, double *rhs,
                           lapack_int ldb, am_diag *d)
{
    double *sv = am_malloc_array((size_t)p, sizeof(double));
    double wq = 0;
    lapack_int iq = 0, rank = 0;
    double rcond = DBL_EPSILON * (double)AM_MAX(rows, p);
    lapack_int info = LAPACKE_dgelsd_work(LAPACK_COL_MAJOR, rows, p, 1, A, rows, rhs, ldb, sv,
                                          rcond, &rank, &wq, -1, &iq);
    if (!sv || info != 0) {
        am_free(sv);
        return info != 0 ? am_fail(d, AM_ERR_INTERNAL, "ridge: dgelsd query failed (%d)", (int)info)
                         : am_fail(d, AM_ERR_NOMEM, "ridge: out of memory");
    }
    if (!(wq < (double)INT32_MAX)) {
        am_free(sv);
        return am_fail(d, AM_ERR_NOMEM, "ridge: problem too large for LAPACK");
    }
    lapack_int lwork = (lapack_int)wq;
    double *work = am_malloc_array((size_t)lwork + 1, sizeof(double));
    lapack_int *iwork = am_malloc_array((size_t)AM_MAX(iq, 1), sizeof(lapack_int));
    am_status st = AM_OK;
    if (!work || !iwork) {
        st = am_fail(d, AM_ERR_NOMEM, "ridge: out of memory for the solver workspace");
    } else {
        info = LAPACKE_dgelsd_work(LAPACK_COL_MAJOR, rows, p, 1, A, rows, rhs, ldb, sv, rcond,
                                   &rank, work, lwork, iwork);
        if (info > 0)
            st = am_fail(d, AM_ERR_NUMERIC, "ridge: the SVD did not converge");
        else if (info < 0)
            st = am_fail(d, AM_ERR_INTERNAL, "ridge: dgelsd argument %d is invalid", (int)-info);
    }
    am_free(iwork);
    am_free(work);
    am_free(sv);
    return st;
}

/* ---- fit: the normal equations by Cholesky -------------------------------------------------- */

/* Sum of w_i (v_i - shift) in four interleaved partial sums, combined in a fixed order: as
 * deterministic as one running sum, and not held up by the latency of each addition (once the
 * Gram matrix comes from dsyrk, the passes that build the system are a sizeable part of the
 * fit). */
static double shifted_sum(const double *v, const double *w, int64_t n, double shift)
{
    double s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    if (w) {
        for (; i + 4 <= n; i += 4)
            for (int k = 0; k < 4; k++)
                s[k] += w[i + k] * (v[i + k] - shift);
        for (; i < n; i++)
            s[i & 3] += w[i] * (v[i] - shift);
    } else {
        for (; i + 4 <= n; i += 4)
            for (int k = 0; k < 4; k++)
                s[k] += v[i + k] - shift;
        for (; i < n; i++)
            s[i & 3] += v[i] - shift;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* weighted_mean's correction pass, with the faster sums. */
static double weighted_mean_fast(const double *v, const double *w, int64_t n, double wsum)
{
    double m = shifted_sum(v, w, n, 0.0) / wsum;
    return m + shifted_sum(v, w, n, m) / wsum;
}

/* dst = sqrt(W) (src - m) with m the weighted mean of src (0 when !centre); returns m.
 * sw: sqrt(w_i), or NULL for unit weights. */
static double centre_into(const double *src, const double *w, const double *sw, int64_t n,
                          bool centre, double wsum, double *dst)
{
    double m = centre ? weighted_mean_fast(src, w, n, wsum) : 0.0;
    if (sw)
        for (int64_t i = 0; i < n; i++)
            dst[i] = sw[i] * (src[i] - m);
    else
        for (int64_t i = 0; i < n; i++)
            dst[i] = src[i] - m;
    return m;
}

/* Fills Xr (n x (p + 1), ld n) with [Xc r]: Xc = sqrt(W) (X - 1 xm') and r = sqrt(W) (y - ym),
 * unscaled (the normal equations need no column scaling: spd_solve equilibrates the matrix it
 * factors instead). sw: sqrt(w_i), or NULL for unit weights. */
static void build_centred(const am_fit_args *a, bool centre, double wsum, const double *sw,
                          double *Xr, double *xm, double *ym)
{
    const am_matrix *x = a->x;
    int64_t n = x->n_rows, p = x->n_cols;
    *ym = centre_into(a->y, a->weight, sw, n, centre, wsum, Xr + p * n);
    for (int64_t j = 0; j < p; j++)
        xm[j] = centre_into(x->data + j * x->ld, a->weight, sw, n, centre, wsum, Xr + j * n);
}

/* The Cholesky factorisation M = U'U (upper triangle, ld ldm, overwritten by U); false when a
 * pivot is not positive (M not numerically positive definite).
 *
 * Ours rather than LAPACK's dpotrf, because OpenBLAS's dpotrf (and LAPACK's dpotrf2 through
 * the BLAS calls it makes) rounds differently with its thread count from m = 64 on, and the
 * search refits with as many BLAS threads as the run has: a model must not depend on that.
 * Right-looking in blocks of CHOL_NB columns: each block is factored and its row panel solved
 * here, in a fixed order, and the trailing matrix is updated by dsyrk, whose results OpenBLAS
 * computes in the same order on any number of threads (it splits the columns of the result,
 * never the sum; tests/test_ridge.c checks a model's bits on 1 and 2 threads). The work left
 * to the plain loops is m^2 CHOL_NB / 2 flops against dsyrk's m^3 / 3. */
enum { CHOL_NB = 64 };

static bool chol_block(double *M, int64_t k0, int64_t kb, int64_t ldm)
{
    for (int64_t j = k0; j < k0 + kb; j++) {
        double *cj = M + j * ldm;
        for (int64_t i = k0; i <= j; i++) {
            const double *ci = M + i * ldm;
            double s = cj[i];
            for (int64_t t = k0; t < i; t++)
                s -= ci[t] * cj[t];
            if (i < j) {
                cj[i] = s / ci[i];
            } else {
                if (!(s > 0))
                    return false;
                cj[j] = sqrt(s);
            }
        }
    }
    return true;
}

static bool chol_upper(double *M, int64_t m, int64_t ldm)
{
    for (int64_t k0 = 0; k0 < m; k0 += CHOL_NB) {
        int64_t kb = AM_MIN((int64_t)CHOL_NB, m - k0), r0 = k0 + kb;
        if (!chol_block(M, k0, kb, ldm))
            return false;
        /* The row panel U12 = U11^-T M12, column by column. */
        for (int64_t c = r0; c < m; c++) {
            double *cc = M + c * ldm;
            for (int64_t i = k0; i < r0; i++) {
                const double *ci = M + i * ldm;
                double s = cc[i];
                for (int64_t t = k0; t < i; t++)
                    s -= ci[t] * cc[t];
                cc[i] = s / ci[i];
            }
        }
        if (r0 < m) /* M22 -= U12'U12 */
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)(m - r0), (int)kb, -1.0,
                        M + k0 + r0 * ldm, (int)ldm, 1.0, M + r0 + r0 * ldm, (int)ldm);
    }
    return true;
}

/* b = (U'U)^-1 b: U'y = b, then U x = y, both column by column from U's storage. */
static void chol_solve(const double *U, int64_t m, int64_t ldm, double *b)
{
    for (int64_t i = 0; i < m; i++) {
        const double *ci = U + i * ldm;
        double s = b[i];
        for (int64_t t = 0; t < i; t++)
            s -= ci[t] * b[t];
        b[i] = s / ci[i];
    }
    for (int64_t i = m - 1; i >= 0; i--) {
        const double *ci = U + i * ldm;
        b[i] /= ci[i];
        for (int64_t t = 0; t < i; t++)
            b[t] -= ci[t] * b[i];
    }
}

/* Solves M u = b for the m x m symmetric matrix M (upper triangle, ld ldm; overwritten by its
 * Cholesky factor), b (m values) overwritten by u, when M is numerically positive definite and
 * dpocon's reciprocal condition estimate *rcond is at least min_rcond; *ok says whether it did.
 *
 * The estimate is taken of E M E with E the powers of two nearest diag(M)^(-1/2): the scaling
 * is exact, so the factor and the solution carry the same rounding as without it, but the
 * estimate then measures what governs Cholesky's accuracy, the condition number of M scaled to
 * unit diagonal (van der Sluis; Higham, Accuracy and Stability of Numerical Algorithms, 2nd
 * ed., section 10.1), not that of column scales (a column of zeros, whose diagonal is alpha
 * alone, is harmless).
 *
 * The threshold, AM_RIDGE_RCOND_MIN = 1e-10. Forming M perturbs it by about n eps |Xc|'|Xc|
 * and the factorisation adds about m eps ||M||, so the computed solution has a relative error
 * of about eps kappa(M) times a modest factor. The SVD of the augmented system gets
 * eps kappa(M)^(1/2) plus eps kappa(M) ||residual|| / (||A|| ||z||): the same order as
 * Cholesky when the residual is not small (noisy targets, ridge's usual case), up to half the
 * digits better when it is. dpocon's estimate of kappa_1 is rarely low by more than a small
 * factor, and kappa_2 <= kappa_1 for a symmetric matrix, so rcond >= 1e-10 means
 * kappa_2 <~ 1e10: the worst accepted case keeps about 6 significant digits, a typical one
 * (kappa 1e2..1e6) 10 to 14, and below the threshold the SVD's digits are worth its several
 * times the cost. The penalty bounds the estimate from below: the equilibrated matrix
 * has eigenvalues >= alpha / (4 max_j M_jj) and a 1-norm <= 2 m, so rcond >= ~alpha /
 * (8 m^1.5 max_j M_jj); in the primal form with features standardised (M_jj ~ the total
 * weight W) the check can refuse only when alpha is below ~1e-9 p^1.5 W and columns are close
 * to collinear.
 *
 * Workspace from our allocator, as in svd_solve. */
static am_status spd_solve(double *M, lapack_int m, lapack_int ldm, double *b,
                           double min_rcond, double *rcond, bool *ok, am_diag *d)
{
    *rcond = 0;
    *ok = false;
    double *e = am_malloc_array((size_t)m, 4 * sizeof(double)); /* E, then 3 m of workspace */
    lapack_int *iwork = am_malloc_array((size_t)m, sizeof(lapack_int));
    am_status st = AM_OK;
    if (!e || !iwork) {
        st = am_fail(d, AM_ERR_NOMEM, "ridge: out of memory for the Cholesky workspace");
        goto cleanup;
    }
    double *work = e + m;
    for (lapack_int j = 0; j < m; j++) {
        double g = M[j + (int64_t)j * ldm];
        if (!(g > 0) || !isfinite(g))
            goto cleanup; /* not positive definite (or overflowed): not ok */
        int ex;
        frexp(g, &ex);
        e[j] = ldexp(1.0, -(ex / 2)); /* e_j^2 g in [0.25, 2) */
    }
    for (lapack_int j = 0; j < m; j++) {
        double *col = M + (int64_t)j * ldm;
        for (lapack_int i = 0; i <= j; i++)
            col[i] = col[i] * e[i] * e[j]; /* one factor at a time: no overflow */
        b[j] *= e[j];
    }
    double anorm = LAPACKE_dlansy_work(LAPACK_COL_MAJOR, '1', 'U', m, M, ldm, work);
    if (!isfinite(anorm))
        goto cleanup;
    if (!chol_upper(M, m, ldm))
        goto cleanup;
    lapack_int info =
        LAPACKE_dpocon_work(LAPACK_COL_MAJOR, 'U', m, M, ldm, anorm, rcond, work, iwork);
    if (info != 0) {
        st = am_fail(d, AM_ERR_INTERNAL, "ridge: dpocon argument %d is invalid", (int)-info);
        goto cleanup;
    }
    if (*rcond >= min_rcond) {
        chol_solve(M, m, ldm, b);
        for (lapack_int j = 0; j < m; j++)
            b[j] *= e[j];
        *ok = true;
    }
cleanup:
    am_free(iwork);
    am_free(e);
    return st;
}

/* The primal form: (Xc'Xc + alpha I) beta = Xc'r. Xr holds [Xc r] (n x (p + 1), ld ld), so one
 * dsyrk gives the Gram matrix and, as its last column, the right-hand side. On *ok, beta
 * (p values) receives the solution; nothing else is written. */
static am_status primal_solve(const double *Xr, int64_t n, int64_t p, lapack_int ld, double alpha,
                              double min_rcond, double *beta, double *rcond, bool *ok,
                              am_diag *d)
{
    lapack_int q = (lapack_int)p + 1;
    double *G = am_calloc((size_t)q, (size_t)q * sizeof(double));
    if (!G)
        return am_fail(d, AM_ERR_NOMEM, "ridge: out of memory for a %lld x %lld Gram matrix",
                       (long long)p, (long long)p);
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)q, (int)n, 1.0, Xr, (int)ld, 0.0, G,
                (int)q);
    for (int64_t j = 0; j < p; j++)
        G[j + j * q] += alpha;
    double *g = G + p * q; /* Xc'r */
    am_status st = spd_solve(G, (lapack_int)p, q, g, min_rcond, rcond, ok, d);
    if (st == AM_OK && *ok)
        memcpy(beta, g, (size_t)p * sizeof(double));
    am_free(G);
    return st;
}

/* The dual form for p > n: beta = Xc' c with (Xc Xc' + alpha I) c = r, an n x n system. X holds
 * Xc (n x p, ld ld). On *ok, beta (p values) receives the solution; nothing else is written.
 *
 * With an intercept, u = sqrt(w) / sqrt(W) satisfies Xc'u = 0 and u'r = 0 (weighted centring),
 * so u is an eigenvector of the kernel with eigenvalue alpha alone and c has no component along
 * it. Adding gamma u u' (gamma: the kernel's largest diagonal) changes neither the other
 * components of c nor beta in exact arithmetic, and lifts that eigenvalue to the scale of the
 * others; without it the condition estimate would refuse every small alpha for a direction
 * that beta = Xc'c cancels anyway. (A direction with Xc'v = 0 but v'r != 0, a repeated row
 * with another target, is different: its large component of c leaks into the others through
 * rounding, and the estimate is right to count it.)
 *
 * beta = Xc'c is summed by am_dense_dot rather than dgemv (dense.c says why). */
static am_status dual_solve(const double *X, int64_t n, int64_t p, lapack_int ld, const double *r,
                            const double *sw, double wsum, bool centre, double alpha,
                            double min_rcond, double *beta, double *rcond, bool *ok, am_diag *d)
{
    double *K = am_calloc((size_t)n, (size_t)(n + 1) * sizeof(double)); /* K, then c */
    if (!K)
        return am_fail(d, AM_ERR_NOMEM, "ridge: out of memory for a %lld x %lld kernel matrix",
                       (long long)n, (long long)n);
    double *c = K + n * n;
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)n, (int)p, 1.0, X, (int)ld, 0.0, K,
                (int)n);
    if (centre) {
        double gamma = 0, *u = c; /* c is scratch until the solve */
        for (int64_t i = 0; i < n; i++) {
            gamma = fmax(gamma, K[i + i * n]);
            u[i] = (sw ? sw[i] : 1.0) / sqrt(wsum);
        }
        for (int64_t j = 0; j < n; j++)
            for (int64_t i = 0; i <= j; i++)
                K[i + j * n] += gamma * u[i] * u[j];
    }
    for (int64_t i = 0; i < n; i++)
        K[i + i * n] += alpha;
    memcpy(c, r, (size_t)n * sizeof(double));
    am_status st = spd_solve(K, (lapack_int)n, (lapack_int)n, c, min_rcond, rcond, ok, d);
    for (int64_t j = 0; st == AM_OK && *ok && j < p; j++) {
        beta[j] = am_dense_dot(X + j * ld, c, n);
    }
    am_free(K);
    return st;
}

/* Sets the model's coefficients (beta_j / scale_j; scale NULL for ones) and intercept
 * ym - xm'coef; AM_ERR_NUMERIC when they are not finite. */
static am_status fit_finish(ridge_model *rm, bool centre, const double *beta,
                            const double *scale, const double *xm, double ym, am_diag *d)
{
    int64_t p = rm->base.n_features;
    double b = ym;
    for (int64_t j = 0; j < p; j++) {
        rm->coef[j] = scale ? beta[j] / scale[j] : beta[j];
        b -= xm[j] * rm->coef[j];
    }
    rm->intercept = centre ? b : 0.0;
    if (!am_all_finite(rm->coef, (size_t)p) || !isfinite(rm->intercept))
        return am_fail(d, AM_ERR_NUMERIC, "ridge: the solution is not finite");
    return AM_OK;
}

/* Column j's mean and whether the column is near enough centred for the Gram matrix of the
 * centred columns to come from the uncentred ones: the squared mean at most half the mean
 * square, so X'X - n xm xm' loses at most about a bit to cancellation (the featurizer's
 * standardised columns have means of order 1e-16). */
static bool near_centred(const double *col, int64_t n, double *mean)
{
    double s[4] = {0, 0, 0, 0}, q[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++) {
            s[k] += col[i + k];
            q[k] += col[i + k] * col[i + k];
        }
    for (; i < n; i++) {
        s[i & 3] += col[i];
        q[i & 3] += col[i] * col[i];
    }
    double m = ((s[0] + s[1]) + (s[2] + s[3])) / (double)n;
    double ms = ((q[0] + q[1]) + (q[2] + q[3])) / (double)n;
    *mean = m;
    return m * m <= 0.5 * ms;
}

/* The primal form straight from X, for unit weights: (X'X - n xm xm' + alpha I) beta = X'(y - ym)
 * (the centred right-hand side needs no centred X: the centred y sums to zero). It spares the
 * n x (p + 1) centred copy, the largest allocation of the fit, which cholesky_fit needs for
 * weights or for columns far from centred; *done false (nothing written) in those cases. */
static am_status primal_uncopied(const am_fit_args *a, bool centre, double alpha,
                                 double min_rcond, ridge_model *rm, bool *done, bool *ok,
                                 am_diag *d)
{
    const am_matrix *x = a->x;
    int64_t n = x->n_rows, p = x->n_cols, q = p + 1;
    *done = false;
    double *xm = am_calloc((size_t)p, sizeof(double));
    if (!xm)
        return am_fail(d, AM_ERR_NOMEM, "ridge: out of memory for %lld column means",
                       (long long)p);
    for (int64_t j = 0; centre && j < p; j++)
        if (!near_centred(x->data + j * x->ld, n, &xm[j])) {
            am_free(xm);
            return AM_OK;
        }
    double *G = am_calloc((size_t)q, (size_t)q * sizeof(double));
    double *yc = am_malloc_array((size_t)n, sizeof(double));
    am_status st = AM_OK;
    if (!G || !yc) {
        st = am_fail(d, AM_ERR_NOMEM, "ridge: out of memory for a %lld x %lld Gram matrix",
                     (long long)p, (long long)p);
        goto cleanup;
    }
    *done = true;
    double ym = centre ? weighted_mean_fast(a->y, NULL, n, (double)n) : 0.0;
    for (int64_t i = 0; i < n; i++)
        yc[i] = a->y[i] - ym;
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)p, (int)n, 1.0, x->data, (int)x->ld,
                0.0, G, (int)q);
    double *g = G + p * q; /* X'(y - ym) */
    am_dense_xt_z(x, yc, n, 1, 1.0, 0.0, g, p, a->n_threads);
    for (int64_t j = 0; j < p; j++) {
        for (int64_t i = 0; i <= j; i++)
            G[i + j * q] -= (double)n * xm[i] * xm[j];
        G[j + j * q] += alpha;
    }
    rm->info.tried = AM_RIDGE_PRIMAL;
    st = spd_solve(G, (lapack_int)p, (lapack_int)q, g, min_rcond, &rm->info.rcond, ok, d);
    if (st == AM_OK && *ok) {
        rm->info.solver = AM_RIDGE_PRIMAL;
        st = fit_finish(rm, centre, g, NULL, xm, ym, d);
    }
cleanup:
    am_free(yc);
    am_free(G);
    am_free(xm);
    return st;
}

/* The fit by Cholesky in the form `form` (PRIMAL or DUAL), refused (*ok false, the model
 * untouched but for its info) when the matrix is not numerically positive definite or its
 * condition estimate is below min_rcond. Memory: n (p + 2) + 2 p doubles and the form's
 * matrix ((p + 1)^2 or n^2). */
static am_status cholesky_fit(const am_fit_args *a, am_ridge_solver form, bool centre,
                              double alpha, double wsum, double min_rcond, ridge_model *rm,
                              bool *ok, am_diag *d)
{
    if (form == AM_RIDGE_PRIMAL && !a->weight) {
        bool done;
        am_status st = primal_uncopied(a, centre, alpha, min_rcond, rm, &done, ok, d);
        if (st != AM_OK || done)
            return st;
    }
    int64_t n = a->x->n_rows, p = a->x->n_cols;
    size_t np1;
    double *Xr = NULL, *xm = NULL;
    if (am_size_mul((size_t)n, (size_t)p + 1, &np1))
        Xr = am_malloc_array(np1, sizeof(double));
    xm = am_malloc_array((size_t)(2 * p + n), sizeof(double));
    am_status st = AM_OK;
    if (!Xr || !xm) {
        st = am_fail(d, AM_ERR_NOMEM, "ridge: out of memory for a %lld x %lld system",
                     (long long)n, (long long)p + 1);
        goto cleanup;
    }
    /* xm (p), then sqrt(w) (n), then beta (p) */
    double *sw = NULL, *beta = xm + p + n, ym = 0;
    if (a->weight) {
        sw = xm + p;
        for (int64_t i = 0; i < n; i++)
            sw[i] = sqrt(a->weight[i]);
    }
    build_centred(a, centre, wsum, sw, Xr, xm, &ym);
    rm->info.tried = form;
    rm->info.copied = true;
    if (form == AM_RIDGE_PRIMAL)
        st = primal_solve(Xr, n, p, (lapack_int)n, alpha, min_rcond, beta, &rm->info.rcond, ok,
                          d);
    else
        st = dual_solve(Xr, n, p, (lapack_int)n, Xr + p * n, sw, wsum, centre, alpha, min_rcond,
                        beta, &rm->info.rcond, ok, d);
    if (st == AM_OK && *ok) {
        rm->info.solver = form;
        st = fit_finish(rm, centre, beta, NULL, xm, ym, d);
    }
cleanup:
    am_free(xm);
    am_free(Xr);
    return st;
}

/* ---- fit: finish and the entry point -------------------------------------------------------- */

/* The solver the automatic choice tries first. */
static am_ridge_solver auto_solver(double alpha, int64_t n, int64_t p)
{
    if (!(alpha > 0))
        return AM_RIDGE_SVD;
    return p > n ? AM_RIDGE_DUAL : AM_RIDGE_PRIMAL;
}

/* The fit by SVD of the scaled, augmented system (the header comment). */
static am_status svd_fit(const am_fit_args *a, bool centre, double alpha, double wsum,
                         ridge_model *rm, am_diag *d)
{
    int64_t n = a->x->n_rows, p = a->x->n_cols;
    int64_t rows = n + (alpha > 0 ? p : 0);
    int64_t ldb = AM_MAX(rows, p);
    double *A = am_malloc_array((size_t)rows, (size_t)p * sizeof(double));
    double *rhs = am_malloc_array((size_t)ldb, sizeof(double));
    double *xm = am_malloc_array((size_t)p, 2 * sizeof(double));
    am_status st = AM_OK;
    if (!A || !rhs || !xm) {
        st = am_fail(d, AM_ERR_NOMEM, "ridge: out of memory for a %lld x %lld system",
                     (long long)rows, (long long)p);
        goto cleanup;
    }
    double *scale = xm + p, ym = 0;
    build_system(a, centre, alpha, wsum, A, (lapack_int)rows, rhs, xm, scale, &ym);
    st = svd_solve(A, (lapack_int)rows, (lapack_int)p, rhs, (lapack_int)ldb, d);
    if (st == AM_OK) {
        rm->info.solver = AM_RIDGE_SVD;
        st = fit_finish(rm, centre, rhs, scale, xm, ym, d);
    }
cleanup:
    am_free(xm);
    am_free(rhs);
    am_free(A);
    return st;
}

/* Cholesky first when `want` (after the automatic choice) says so, with the condition check
 * unless forced; the SVD otherwise or when Cholesky is refused. The SVD builds its own system,
 * so its result does not depend on what was tried first. */
static am_status ridge_fit_coef(const am_fit_args *a, bool centre, double alpha, double wsum,
                                am_ridge_solver want, ridge_model *rm, am_diag *d)
{
    int64_t n = a->x->n_rows, p = a->x->n_cols;
    int64_t rows = n + (alpha > 0 ? p : 0);
    if (rows > INT32_MAX || p >= INT32_MAX)
        return am_fail(d, AM_ERR_ARG, "ridge: %lld rows are too many for LAPACK", (long long)rows);
    am_ridge_solver form = want == AM_RIDGE_AUTO ? auto_solver(alpha, n, p) : want;
    if (form != AM_RIDGE_SVD) {
        double min_rcond = want == AM_RIDGE_AUTO ? AM_RIDGE_RCOND_MIN : 0.0;
        bool ok = false;
        am_status st = cholesky_fit(a, form, centre, alpha, wsum, min_rcond, rm, &ok, d);
        if (st != AM_OK || ok)
            return st;
        if (want != AM_RIDGE_AUTO)
            return am_fail(d, AM_ERR_NUMERIC, "ridge: the %s matrix is not positive definite "
                           "(alpha=%g)", form == AM_RIDGE_PRIMAL ? "Gram" : "kernel", alpha);
    }
    return svd_fit(a, centre, alpha, wsum, rm, d);
}

static const char *solver_name(am_ridge_solver s)
{
    switch (s) {
    case AM_RIDGE_SVD: return "SVD";
    case AM_RIDGE_PRIMAL: return "Cholesky (primal)";
    case AM_RIDGE_DUAL: return "Cholesky (dual)";
    case AM_RIDGE_AUTO: break;
    }
    return "none";
}

static am_status ridge_fit_with(const am_fit_args *a, am_ridge_solver want, am_model **out,
                                am_diag *d)
{
    am_status st = am_fit_data_check(a, "ridge", d);
    if (st == AM_OK)
        st = am_task_check(&am_learner_ridge, a->task, d);
    if (st != AM_OK)
        return st;
    double alpha = a->params->v[RIDGE_ALPHA];
    bool centre = a->params->v[RIDGE_FIT_INTERCEPT] != 0;
    if (!(alpha >= 0) || !isfinite(alpha))
        return am_fail(d, AM_ERR_CONFIG, "ridge.alpha=%g: must be in [0, 1e+10]", alpha);
    if (am_stop_hit(a->stop))
        return am_fail(d, AM_ERR_CANCELLED, "ridge: stopped before the fit");
    double wsum = 0;
    for (int64_t i = 0; i < a->x->n_rows; i++)
        wsum += am_weight_at(a->weight, i);

    ridge_model *rm = ridge_alloc(a->x->n_cols);
    if (!rm)
        return am_fail(d, AM_ERR_NOMEM, "ridge: out of memory");
    if (a->x->n_cols == 0)
        rm->intercept = centre ? weighted_mean(a->y, a->weight, a->x->n_rows, wsum) : 0.0;
    else
        st = ridge_fit_coef(a, centre, alpha, wsum, want, rm, d);
    if (st != AM_OK) {
        ridge_free(&rm->base);
        return st;
    }
    am_log(a->log, AM_LOG_DEBUG, "ridge: fitted %lld coefficients (alpha=%g) by %s (rcond %.3g)",
           (long long)a->x->n_cols, alpha, solver_name(rm->info.solver), rm->info.rcond);
    *out = &rm->base;
    return AM_OK;
}

static am_status ridge_fit(const am_fit_args *a, am_model **out, am_diag *d)
{
    return ridge_fit_with(a, AM_RIDGE_AUTO, out, d);
}

am_status am_ridge_fit_solver(const am_fit_args *a, am_ridge_solver solver, am_model **out,
                              am_diag *d)
{
    if (!a || !a->params || !out)
        return am_fail(d, AM_ERR_ARG, "ridge: NULL argument");
    if (solver != AM_RIDGE_AUTO && solver != AM_RIDGE_SVD && solver != AM_RIDGE_PRIMAL &&
        solver != AM_RIDGE_DUAL)
        return am_fail(d, AM_ERR_ARG, "ridge: unknown solver %d", (int)solver);
    return ridge_fit_with(a, solver, out, d);
}

am_ridge_info am_ridge_fit_info(const am_model *m)
{
    return ((const ridge_model *)m)->info;
}

/* ---- the path: many alphas from one factorisation ------------------------------------------- */

/* With Xs the single fit's scaled matrix without the penalty rows, sqrt(W) (X - 1 xm') S^-1,
 * r its right-hand side, Xs = U diag(s) V' its thin SVD (m = min(n, p) values) and r_k the
 * number of s_i above dgelsd's cutoff rcond s_1:
 *
 *   alpha = 0:  z = V diag(1/s_i for the r_k kept, 0 for the rest) U'r and beta = S^-1 z: what
 *               dgelsd computes on the same matrix with the same cutoff, so the same rank and,
 *               on collinear columns, the same minimum-norm solution (minimal in z).
 *   alpha > 0:  the penalty alpha ||beta||^2 = alpha ||S^-1 z||^2 is not diagonal in V's basis
 *               unless every column has the same scale, so s_i / (s_i^2 + alpha) applied to the
 *               scaled SVD would solve another problem. The unscaled matrix is Xc = Xs S = U K
 *               with K = diag(s) V' S; a second, small SVD of K's first r_k rows,
 *               P diag(t) Q', makes (U P) diag(t) Q' an SVD of Xc (less the dropped
 *               directions), so beta = Q diag(t_i / (t_i^2 + alpha)) P'U'r.
 *
 * K is formed from the scaled SVD rather than Xc factored directly, so the big factorisation is
 * the one the single fit trusts at alpha = 0 (NIST Longley's raw columns). Against a
 * quad-precision oracle the path is good to ~1e-13 on Longley at every alpha, and to ~1e-15 on
 * duplicated columns at alpha down to 1e-10, where the single fit's augmented system (condition
 * ~ s_1 / sqrt(alpha), squared by the nonzero residual) keeps only ~7 digits; tests/test_ridge.c
 * measures both. */
typedef struct ridge_factor {
    int64_t n, p, m;
    int64_t rank;         /* singular values of Xs above the cutoff (r_k above) */
    double ym, cutoff;    /* cutoff: dgelsd's, rcond s_1 with rcond = eps max(n, p) */
    double *xm, *scale;   /* p each: the centring means and column scales */
    double *sv, *vt, *ur; /* the scaled SVD: s (m), V' (m x p, ld m), U'r (m) */
    double *t, *qt, *pur; /* the unscaled one: t (rank), Q' (rank x p), P'U'r (rank) */
    double *mem;          /* one block holding all of the above */
} ridge_factor;

static am_status factor_alloc(ridge_factor *f, int64_t n, int64_t p, am_diag *d)
{
    int64_t m = AM_MIN(n, p);
    size_t mp, total;
    /* 2 p + 4 m + 2 m p doubles */
    if (!am_size_mul((size_t)m, (size_t)p, &mp) || !am_size_mul(mp, 2, &total) ||
        total > SIZE_MAX - (size_t)(2 * p + 4 * m))
        return am_fail(d, AM_ERR_NOMEM, "ridge path: a %lld x %lld problem is too large",
                       (long long)n, (long long)p);
    total += (size_t)(2 * p + 4 * m);
    *f = (ridge_factor){.n = n, .p = p, .m = m};
    f->mem = am_malloc_array(total, sizeof(double));
    if (!f->mem)
        return am_fail(d, AM_ERR_NOMEM, "ridge path: out of memory for a %lld x %lld problem",
                       (long long)n, (long long)p);
    f->xm = f->mem;
    f->scale = f->xm + p;
    f->sv = f->scale + p;
    f->ur = f->sv + m;
    f->t = f->ur + m;
    f->pur = f->t + m;
    f->vt = f->pur + m;
    f->qt = f->vt + mp;
    return AM_OK;
}

/* Thin SVD of the rows x cols matrix a (column-major, ld rows) by divide and conquer, with
 * k = min(rows, cols): s receives k values, *u the rows x k left vectors (ld rows) and *vt the
 * k x cols right ones (ld k). One of them overwrites a (jobz 'O': U when rows >= cols, else V'),
 * the other is written to sq (k x k). Workspace from our allocator, as in svd_solve. */
static am_status thin_svd(lapack_int rows, lapack_int cols, double *a, double *s, double *sq,
                          double **u, double **vt, am_diag *d)
{
    bool tall = rows >= cols;
    lapack_int k = AM_MIN(rows, cols), ldu = tall ? 1 : rows, ldvt = tall ? cols : 1;
    lapack_int *iwork = am_malloc_array(8 * (size_t)k, sizeof(lapack_int));
    double wq = 0, *work = NULL;
    am_status st = AM_OK;
    if (!iwork) {
        st = am_fail(d, AM_ERR_NOMEM, "ridge path: out of memory for the SVD");
        goto cleanup;
    }
    lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'O', rows, cols, a, rows, s, sq, ldu,
                                          sq, ldvt, &wq, -1, iwork);
    if (info != 0 || !(wq < (double)INT32_MAX)) {
        st = info != 0 ? am_fail(d, AM_ERR_INTERNAL, "ridge path: dgesdd query failed (%d)",
                                 (int)info)
                       : am_fail(d, AM_ERR_NOMEM, "ridge path: problem too large for LAPACK");
        goto cleanup;
    }
    lapack_int lwork = (lapack_int)wq;
    work = am_malloc_array((size_t)lwork + 1, sizeof(double));
    if (!work) {
        st = am_fail(d, AM_ERR_NOMEM, "ridge path: out of memory for the SVD workspace");
        goto cleanup;
    }
    info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'O', rows, cols, a, rows, s, sq, ldu, sq, ldvt,
                               work, lwork, iwork);
    if (info > 0)
        st = am_fail(d, AM_ERR_NUMERIC, "ridge path: the SVD did not converge");
    else if (info < 0)
        st = am_fail(d, AM_ERR_INTERNAL, "ridge path: dgesdd argument %d is invalid", (int)-info);
    *u = tall ? a : sq;
    *vt = tall ? sq : a;
cleanup:
    am_free(work);
    am_free(iwork);
    return st;
}

/* The big factorisation: the single fit's system at alpha = 0, its SVD and U'r. */
static am_status factor_scaled(const am_fit_args *a, bool centre, double wsum, ridge_factor *f,
                               am_diag *d)
{
    int64_t n = f->n, p = f->p, m = f->m;
    double *A = am_malloc_array((size_t)n, (size_t)p * sizeof(double));
    double *r = am_malloc_array((size_t)n, sizeof(double));
    double *sq = am_malloc_array((size_t)m, (size_t)m * sizeof(double));
    double *u = NULL, *vt = NULL;
    am_status st = AM_OK;
    if (!A || !r || !sq) {
        st = am_fail(d, AM_ERR_NOMEM, "ridge path: out of memory for a %lld x %lld system",
                     (long long)n, (long long)p);
        goto cleanup;
    }
    build_system(a, centre, 0.0, wsum, A, (lapack_int)n, r, f->xm, f->scale, &f->ym);
    st = thin_svd((lapack_int)n, (lapack_int)p, A, f->sv, sq, &u, &vt, d);
    if (st != AM_OK)
        goto cleanup;
    cblas_dgemv(CblasColMajor, CblasTrans, (int)n, (int)m, 1.0, u, (int)n, r, 1, 0.0, f->ur, 1);
    memcpy(f->vt, vt, (size_t)(m * p) * sizeof(double));
    f->cutoff = DBL_EPSILON * (double)AM_MAX(n, p) * f->sv[0];
cleanup:
    am_free(sq);
    am_free(r);
    am_free(A);
    return st;
}

/* The small one: K = diag(s) V' S over the r singular values above the rank cutoff, its SVD
 * P diag(t) Q', and P'U'r. The directions below the cutoff are dropped here too, not only at
 * alpha = 0: their singular values carry no correct digits (on duplicated columns they are
 * rounding noise for an exact zero), and t_i / (t_i^2 + alpha) would scale that noise by
 * 1 / alpha at small alphas. */
static am_status factor_unscaled(ridge_factor *f, am_diag *d)
{
    int64_t p = f->p, r = 0;
    while (r < f->m && f->sv[r] > f->cutoff)
        r++;
    f->rank = r;
    if (r == 0)
        return AM_OK;
    double *K = am_malloc_array((size_t)r, (size_t)p * sizeof(double));
    double *sq = am_malloc_array((size_t)r, (size_t)r * sizeof(double));
    double *pm = NULL, *qt = NULL;
    am_status st = AM_OK;
    if (!K || !sq) {
        st = am_fail(d, AM_ERR_NOMEM, "ridge path: out of memory");
        goto cleanup;
    }
    for (int64_t j = 0; j < p; j++)
        for (int64_t i = 0; i < r; i++)
            K[i + j * r] = f->sv[i] * f->vt[i + j * f->m] * f->scale[j];
    st = thin_svd((lapack_int)r, (lapack_int)p, K, f->t, sq, &pm, &qt, d);
    if (st != AM_OK)
        goto cleanup;
    cblas_dgemv(CblasColMajor, CblasTrans, (int)r, (int)r, 1.0, pm, (int)r, f->ur, 1, 0.0,
                f->pur, 1);
    memcpy(f->qt, qt, (size_t)(r * p) * sizeof(double));
cleanup:
    am_free(sq);
    am_free(K);
    return st;
}

/* One alpha: beta (p values) and the intercept, from the factors; w is m values of scratch.
 * t_i / (t_i^2 + alpha) is written 1 / (t_i + alpha / t_i) so that t_i^2 cannot overflow. */
static double path_solve(const ridge_factor *f, bool centre, double alpha, double *w,
                         double *beta)
{
    int m = (int)f->m, r = (int)f->rank, p = (int)f->p;
    if (r == 0) { /* every column constant (or zero weight): nothing to fit but the mean */
        memset(beta, 0, (size_t)p * sizeof(double));
    } else if (alpha == 0) {
        for (int i = 0; i < r; i++)
            w[i] = f->ur[i] / f->sv[i];
        cblas_dgemv(CblasColMajor, CblasTrans, r, p, 1.0, f->vt, m, w, 1, 0.0, beta, 1);
        for (int j = 0; j < p; j++)
            beta[j] /= f->scale[j];
    } else {
        for (int i = 0; i < r; i++)
            w[i] = f->t[i] > 0 ? f->pur[i] / (f->t[i] + alpha / f->t[i]) : 0.0;
        cblas_dgemv(CblasColMajor, CblasTrans, r, p, 1.0, f->qt, r, w, 1, 0.0, beta, 1);
    }
    double b = f->ym;
    for (int j = 0; j < p; j++)
        b -= f->xm[j] * beta[j];
    return centre ? b : 0.0;
}

/* Checks the arguments the way the single fit checks its own, and every alpha. */
static am_status path_check(const am_fit_args *a, const double *alphas, int32_t n_alphas,
                            const double *coef, const double *intercept, am_diag *d)
{
    if (n_alphas < 0 || (n_alphas > 0 && (!alphas || !coef || !intercept)))
        return am_fail(d, AM_ERR_ARG, "ridge path: %d alphas without their arrays",
                       (int)n_alphas);
    am_status st = am_fit_data_check(a, "ridge path", d);
    if (st != AM_OK)
        return st;
    for (int32_t k = 0; k < n_alphas; k++)
        if (!(alphas[k] >= 0) || !isfinite(alphas[k]))
            return am_fail(d, AM_ERR_CONFIG, "ridge path: alphas[%d]=%g: must be finite and >= 0",
                           (int)k, alphas[k]);
    if (a->x->n_rows > INT32_MAX || a->x->n_cols > INT32_MAX)
        return am_fail(d, AM_ERR_ARG, "ridge path: a %lld x %lld matrix is too large for LAPACK",
                       (long long)a->x->n_rows, (long long)a->x->n_cols);
    return AM_OK;
}

am_status am_ridge_path(const am_matrix *x, const double *y, const double *weight,
                        bool fit_intercept, const double *alphas, int32_t n_alphas, double *coef,
                        double *intercept, am_diag *d)
{
    am_params params;
    am_params_defaults(&ridge_params, &params);
    am_fit_args a = {.x = x, .y = y, .weight = weight, .task = AM_TASK_REGRESSION,
                     .params = &params, .n_threads = 1};
    am_status st = path_check(&a, alphas, n_alphas, coef, intercept, d);
    if (st != AM_OK || n_alphas == 0)
        return st;
    int64_t n = x->n_rows, p = x->n_cols;
    double wsum = 0;
    for (int64_t i = 0; i < n; i++)
        wsum += am_weight_at(weight, i);
    if (p == 0) {
        double b = fit_intercept ? weighted_mean(y, weight, n, wsum) : 0.0;
        for (int32_t k = 0; k < n_alphas; k++)
            intercept[k] = b;
        return AM_OK;
    }
    ridge_factor f;
    st = factor_alloc(&f, n, p, d);
    if (st != AM_OK)
        return st;
    double *w = am_malloc_array((size_t)f.m, sizeof(double));
    if (!w)
        st = am_fail(d, AM_ERR_NOMEM, "ridge path: out of memory");
    if (st == AM_OK)
        st = factor_scaled(&a, fit_intercept, wsum, &f, d);
    if (st == AM_OK)
        st = factor_unscaled(&f, d);
    for (int32_t k = 0; st == AM_OK && k < n_alphas; k++) {
        double *beta = coef + (size_t)k * (size_t)p;
        intercept[k] = path_solve(&f, fit_intercept, alphas[k], w, beta);
        if (!am_all_finite(beta, (size_t)p) || !isfinite(intercept[k]))
            st = am_fail(d, AM_ERR_NUMERIC, "ridge path: the solution at alpha=%g is not finite",
                         alphas[k]);
    }
    am_free(w);
    am_free(f.mem);
    return st;
}

am_status am_ridge_model_new(int64_t n_features, const double *coef, double intercept,
                             am_model **out, am_diag *d)
{
    if (n_features < 0 || (n_features > 0 && !coef) || !out)
        return am_fail(d, AM_ERR_ARG, "ridge: a model needs its coefficients");
    if (!am_all_finite(coef, (size_t)n_features) || !isfinite(intercept))
        return am_fail(d, AM_ERR_DATA, "ridge: a coefficient or the intercept is not finite");
    ridge_model *rm = ridge_alloc(n_features);
    if (!rm)
        return am_fail(d, AM_ERR_NOMEM, "ridge: out of memory");
    if (n_features > 0)
        memcpy(rm->coef, coef, (size_t)n_features * sizeof(double));
    rm->intercept = intercept;
    *out = &rm->base;
    return AM_OK;
}

/* ---- predict, save, load -------------------------------------------------------------------- */

static am_status ridge_predict(const am_model *m, const am_matrix *x, int32_t n_threads,
                               const am_stop *stop, double *out, am_diag *d)
{
    (void)stop; /* cheap enough to finish once started */
    am_status st = am_predict_check(m, x, out, d);
    if (st != AM_OK)
        return st;
    const ridge_model *rm = (const ridge_model *)m;
    am_dense_x_w(x, rm->coef, x->n_cols, 1, out, x->n_rows, n_threads);
    for (int64_t i = 0; i < x->n_rows; i++)
        out[i] += rm->intercept;
    return AM_OK;
}

static am_status ridge_save(const am_model *m, am_buf *b, am_diag *d)
{
    const ridge_model *rm = (const ridge_model *)m;
    am_payload_put_dims(b, m);
    am_buf_f64(b, rm->intercept);
    am_buf_f64s(b, rm->coef, (size_t)m->n_features);
    return am_buf_status(b, d);
}

static am_status ridge_load(am_reader *r, uint32_t version, int64_t n_features, int32_t n_outputs,
                            am_model **out, am_diag *d)
{
    if (version != 1)
        return am_fail(d, AM_ERR_FORMAT, "ridge model: payload version %u is not supported "
                       "(this build reads version 1)", (unsigned)version);
    if (n_features < 0 || n_outputs != 1)
        return am_fail(d, AM_ERR_FORMAT, "ridge model: expected %d outputs; ridge has one",
                       (int)n_outputs);
    am_status st = am_payload_get_dims(r, "ridge", n_features, n_outputs, d);
    if (st != AM_OK)
        return st;
    double intercept = am_get_f64(r);
    double *coef = NULL;
    st = am_payload_get_f64s(r, "ridge", (size_t)n_features, &coef, d);
    if (st != AM_OK)
        return st;
    if (!isfinite(intercept)) {
        am_free(coef);
        return am_fail(d, AM_ERR_FORMAT, "ridge model: the saved intercept is not finite");
    }
    ridge_model *rm = am_calloc(1, sizeof(*rm));
    if (!rm) {
        am_free(coef);
        return am_fail(d, AM_ERR_NOMEM, "ridge: out of memory");
    }
    rm->base = (am_model){&am_learner_ridge, n_features, 1};
    rm->intercept = intercept;
    rm->coef = coef;
    *out = &rm->base;
    return AM_OK;
}

static double ridge_cost(const am_params *p, int64_t n_rows, int64_t n_cols)
{
    (void)p;
    double n = (double)n_rows, k = (double)n_cols;
    return (n + k) * k * k + n;
}

void am_ridge_coef(const am_model *m, const double **coef, double *intercept)
{
    const ridge_model *rm = (const ridge_model *)m;
    *coef = rm->coef;
    *intercept = rm->intercept;
}

/* For inspect: one column of coefficients. */
static int32_t ridge_coefficients(const am_model *m, double *coef, double *intercept)
{
    const ridge_model *rm = (const ridge_model *)m;
    if (coef && m->n_features > 0)
        memcpy(coef, rm->coef, (size_t)m->n_features * sizeof(double));
    if (intercept)
        *intercept = rm->intercept;
    return 1;
}

const am_learner_type am_learner_ridge = {
    .name = "ridge",
    .summary = "linear least squares with an L2 penalty (ordinary least squares at alpha=0)",
    .tasks = AM_TASK_REGRESSION,
    .needs = AM_NEEDS_SCALED,
    .params = &ridge_params,
    .format_version = 1,
    .check = NULL,
    .cost_hint = ridge_cost,
    .fit = ridge_fit,
    .predict = ridge_predict,
    .save = ridge_save,
    .load = ridge_load,
    .free = ridge_free,
    .coefficients = ridge_coefficients,
};
