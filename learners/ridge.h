/* ridge.h — what the ridge learner shows beyond its type object: the regularisation path (many
 * alphas from one factorisation) for the search, which tries several alphas on one fold, and a
 * model built from one of the path's solutions.
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
 * alpha; a single fit costs an SVD of (n + p) x p each time. Memory: about n p + 3 p min(n, p)
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

#endif
