/* ridge.c — L2-regularised least squares (ordinary least squares at alpha = 0).
 *
 * Minimises sum_i w_i (y_i - b - x_i.beta)^2 + alpha ||beta||^2 with the intercept b
 * unpenalised, as scikit-learn's Ridge. The normal equations X'X square the condition number
 * (NIST Longley loses half its digits that way), so the fit solves the least-squares problem
 * itself: with weighted centring for the intercept, rows scaled by sqrt(w_i), columns scaled to
 * unit norm and the penalty as p extra rows,
 *
 *     min || [ sqrt(W) (X - 1 xm') S^-1          ] z  -  [ sqrt(W) (y - ym) ] ||
 *         || [ sqrt(alpha) S^-1                  ]       [ 0                ] ||,  beta = S^-1 z,
 *
 * by SVD (LAPACK dgelsd), which also gives the minimum-norm solution when alpha = 0 and the
 * columns are collinear (duplicated or constant features). */
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
    double *coef; /* n_features values */
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

/* ---- fit: finish and the entry point -------------------------------------------------------- */

static am_status ridge_fit_coef(const am_fit_args *a, bool centre, double alpha, double wsum,
                                ridge_model *rm, am_diag *d)
{
    int64_t n = a->x->n_rows, p = a->x->n_cols;
    int64_t rows = n + (alpha > 0 ? p : 0);
    int64_t ldb = AM_MAX(rows, p);
    if (rows > INT32_MAX || p > INT32_MAX)
        return am_fail(d, AM_ERR_ARG, "ridge: %lld rows are too many for LAPACK", (long long)rows);
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
    if (st != AM_OK)
        goto cleanup;
    double b = ym;
    for (int64_t j = 0; j < p; j++) {
        rm->coef[j] = rhs[j] / scale[j];
        b -= xm[j] * rm->coef[j];
    }
    rm->intercept = centre ? b : 0.0;
    if (!am_all_finite(rm->coef, (size_t)p) || !isfinite(rm->intercept))
        st = am_fail(d, AM_ERR_NUMERIC, "ridge: the solution is not finite");
cleanup:
    am_free(xm);
    am_free(rhs);
    am_free(A);
    return st;
}

static am_status ridge_fit(const am_fit_args *a, am_model **out, am_diag *d)
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
        st = ridge_fit_coef(a, centre, alpha, wsum, rm, d);
    if (st != AM_OK) {
        ridge_free(&rm->base);
        return st;
    }
    am_log(a->log, AM_LOG_DEBUG, "ridge: fitted %lld coefficients (alpha=%g)",
           (long long)a->x->n_cols, alpha);
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
    (void)n_threads; /* BLAS threads are the BLAS library's own setting */
    const ridge_model *rm = (const ridge_model *)m;
    if (x->n_rows > INT32_MAX || x->ld > INT32_MAX)
        return am_fail(d, AM_ERR_ARG, "ridge: too many rows for BLAS");
    for (int64_t i = 0; i < x->n_rows; i++)
        out[i] = rm->intercept;
    if (x->n_rows > 0 && x->n_cols > 0)
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)x->n_rows, (int)x->n_cols, 1.0, x->data,
                    (int)x->ld, rm->coef, 1, 1.0, out, 1);
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
};
