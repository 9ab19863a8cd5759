/* ridge.h — what the ridge learner shows beyond its type object: the regularisation path (many
 * alphas from one factorisation) for the search, which tries several alphas on one fold, a
 * model built from one of the path's solutions, and, for tests, which solver a single fit used
 * and a fit that forces one.
 *
 * Nothing here is seen outside learners/ except by tests and the search. The type object itself,
 * am_learner_ridge, is declared in internal.h. */
#ifndef AM_LEARNERS_RIDGE_H
#define AM_LEARNERS_RIDGE_H

#include "learner.h"

/* Ridge fits for n_alphas penalties at once: for each alpha[a] (>= 0, finite, in any order,
 * repeats allowed) the coefficients and intercept that am_learner_ridge's fit with
 * alpha = alphas[a] and this fit_intercept computes, to rounding (the same weighted centring,
 * column scaling and, at alpha = 0, the same rank cutoff and minimum-norm solution on
 * collinear columns).
 *
 * x: the training rows (n x p, column-major); y: n targets; weight: n sample weights or NULL for
 * all ones (checked as the learner's fit checks them). coef receives p * n_alphas values,
 * column-major (column a: the p coefficients for alphas[a]); intercept receives n_alphas values
 * (zeros when !fit_intercept). Neither is written on failure.
 *
 * Cost: one SVD of the n x p problem and one of a min(n, p) x p matrix, then O(p min(n, p)) per
 * alpha; a single fit costs a Gram matrix and its Cholesky factorisation each time (n p^2 / 2 +
 * p^3 / 3 flops; an SVD of (n + p) x p when that is refused). Memory: about n p + 3 p min(n, p)
 * doubles. Uses the BLAS library's own thread setting; no threads of its own. Thread-safe.
 *
 * AM_ERR_ARG for NULL arguments or a malformed x; AM_ERR_DATA for non-finite data or bad
 * weights (naming the row); AM_ERR_CONFIG for an alpha that is negative or not finite (naming
 * its index); AM_ERR_NUMERIC when an SVD does not converge or a solution is not finite;
 * AM_ERR_NOMEM. */
am_status am_ridge_path(const am_matrix *x, const double *y, const double *weight,
                        bool fit_intercept, const double *alphas, int32_t n_alphas, double *coef,
                        double *intercept, am_diag *d);

/* A ridge model (n_features coefficients, copied, and the intercept), as if fitted: it predicts,
 * saves and loads like any ridge model. For turning one of am_ridge_path's solutions into a
 * trial's model. AM_ERR_ARG for n_features < 0 or a NULL coef with n_features > 0;
 * AM_ERR_DATA when a value is not finite; AM_ERR_NOMEM. */
am_status am_ridge_model_new(int64_t n_features, const double *coef, double intercept,
                             am_model **out, am_diag *d);

/* ---- the single fit's solvers (for tests and logging) ---------------------------------------- */

/* How a single fit solves its least-squares problem (ridge.c's header comment has the details).
 * SVD: the augmented problem by LAPACK dgelsd: always at alpha = 0 (minimum-norm solution on
 * collinear columns), and the fallback. PRIMAL: Cholesky of Xc'Xc + alpha I (p x p), the
 * automatic choice for alpha > 0 and p <= n. DUAL: Cholesky of Xc Xc' + alpha I (n x n), the
 * automatic choice for alpha > 0 and p > n. (Xc: the weighted, centred features.) */
typedef enum am_ridge_solver {
    AM_RIDGE_AUTO = 0,
    AM_RIDGE_SVD = 1,
    AM_RIDGE_PRIMAL = 2,
    AM_RIDGE_DUAL = 3
} am_ridge_solver;

/* The automatic choice keeps a Cholesky solution only when LAPACK dpocon's reciprocal condition
 * estimate of the (equilibrated) matrix is at least this; otherwise it solves by SVD. Why this
 * value: the comment above spd_solve in ridge.c. */
#define AM_RIDGE_RCOND_MIN 1e-10

/* What one single fit did. Kept with the fitted model; not saved. */
typedef struct am_ridge_info {
    am_ridge_solver solver; /* the solver whose solution the model holds; AM_RIDGE_AUTO when no
                               fit produced it (loaded, built by am_ridge_model_new, or no
                               features) */
    am_ridge_solver tried;  /* the Cholesky form tried first (PRIMAL or DUAL), AM_RIDGE_AUTO when
                               none was (alpha = 0, or the SVD forced) */
    double rcond;           /* dpocon's estimate for the tried form; 0 when none was tried or the
                               matrix was not numerically positive definite */
    bool copied;            /* the Cholesky form worked on a centred, weighted copy of X (n x
                               (p + 1) doubles); the primal form does without one for unit
                               weights and columns near centred (standardised ones) */
} am_ridge_info;

/* What the fit of m did (see am_ridge_info). */
am_ridge_info am_ridge_fit_info(const am_model *m);

/* The learner's fit with the solver forced (AM_RIDGE_AUTO: what the type object's fit does).
 * A forced PRIMAL or DUAL skips the condition check (its estimate is still reported) and
 * returns AM_ERR_NUMERIC when the matrix is not numerically positive definite (possible at
 * alpha = 0); either form may be forced for any shape. AM_ERR_ARG for an unknown solver;
 * otherwise the statuses of the type object's fit. */
am_status am_ridge_fit_solver(const am_fit_args *a, am_ridge_solver solver, am_model **out,
                              am_diag *d);

#endif
