/* internal.h — what the files of learners/ share among themselves: the type objects the registry
 * lists, the checks every fit and load makes, and a few test-only entry points.
 *
 * Nothing here is seen outside learners/ except by tests/test_learners.c. */
#ifndef AM_LEARNERS_INTERNAL_H
#define AM_LEARNERS_INTERNAL_H

#include "learner.h"

extern const am_learner_type am_learner_ridge;
extern const am_learner_type am_learner_logreg;
extern const am_learner_type am_learner_constant;
extern const am_learner_type am_learner_gbdt;
extern const am_learner_type am_learner_elasticnet;
extern const am_learner_type am_learner_knn;

/* Sample weight i (all ones when w is NULL). */
static inline double am_weight_at(const double *w, int64_t i)
{
    return w ? w[i] : 1.0;
}

/* ---- shared checks (learner.c) ------------------------------------------------------------ */

/* Checks what every fit relies on, so a fit called through its type object directly is as safe
 * as one through am_learner_fit: x present with at least one row and finite values, n_classes
 * agreeing with the task, targets finite (regression) or class indices in [0, n_classes)
 * (classification), weights finite, non-negative and not all zero. AM_ERR_ARG for misuse,
 * AM_ERR_DATA for bad values (naming the row). `who` prefixes the messages. */
am_status am_fit_data_check(const am_fit_args *a, const char *who, am_diag *d);
/* The same for tree learners (AM_NEEDS_BINNED): the binned data's bins, the row selection
 * (a->n_rows >= 1 rows, ascending, in range), every training row's code inside its feature's
 * bins, targets and weights. */
am_status am_binned_fit_check(const am_fit_args *a, const char *who, am_diag *d);

/* AM_ERR_CONFIG "ridge does not support binary classification" unless t supports task. */
am_status am_task_check(const am_learner_type *t, am_task task, am_diag *d);

/* Outputs a model for this fit produces: n_classes for classification, 1 for regression. */
int32_t am_fit_n_outputs(const am_fit_args *a);

/* Checks the arguments of predict: x has m->n_features columns and out is present. */
am_status am_predict_check(const am_model *m, const am_matrix *x, const double *out, am_diag *d);

/* true when all n values are finite. */
bool am_all_finite(const double *v, size_t n);

/* Every payload starts with the dimensions: i64 n_features, u32 n_outputs. */
void am_payload_put_dims(am_buf *b, const am_model *m);
/* Reads the dimensions and checks them against what the caller expects (AM_ERR_FORMAT when the
 * payload is truncated or disagrees, naming both values). */
am_status am_payload_get_dims(am_reader *r, const char *who, int64_t n_features,
                              int32_t n_outputs, am_diag *d);
/* Reads n doubles into a new array (NULL on failure, with d filled): AM_ERR_FORMAT when fewer
 * than n * 8 bytes remain (checked before allocating) or any value is not finite. */
am_status am_payload_get_f64s(am_reader *r, const char *who, size_t n, double **out,
                              am_diag *d);

/* ---- dense products with a fixed order of additions (dense.c) --------------------------------
 * The linear learners' matrix-vector products: their bits depend on no thread count, ours or
 * the BLAS library's (whose dgemv and dgemm do not promise that; dense.c says where they fail).
 * n_threads: OpenMP threads for the product. */

/* u'v over n values, in four interleaved partial sums combined in a fixed order. */
double am_dense_dot(const double *u, const double *v, int64_t n);
/* Z = X W: W is x->n_cols x k (column-major, ld ldw), Z x->n_rows x k (ld ldz). */
void am_dense_x_w(const am_matrix *x, const double *w, int64_t ldw, int64_t k, double *z,
                  int64_t ldz, int32_t n_threads);
/* G = alpha X'Z + beta G: Z is x->n_rows x k (ld ldz), G x->n_cols x k (ld ldg); beta 0: G is
 * only written. */
void am_dense_xt_z(const am_matrix *x, const double *z, int64_t ldz, int64_t k, double alpha,
                   double beta, double *g, int64_t ldg, int32_t n_threads);

/* ---- test-only entry points ----------------------------------------------------------------- */

/* The smooth part of the logistic objective that logreg minimises (the whole objective for the
 * l2 and none penalties; an L1 part adds (1 - r)/2 ||W||^2 + r ||W||_1 outside it), and its
 * gradient:
 *     f(theta) = C * sum_i w_i loss_i + (l2 ? 0.5 * ||W||^2 : 0)
 * with theta = [W (x->n_cols x k, column-major), b (k values, only when fit_intercept)],
 * k = 1 logit (sigmoid) for n_classes == 2 and k = n_classes (softmax) otherwise. grad has the
 * length of theta. AM_ERR_NUMERIC when f is not finite; AM_ERR_NOMEM. */
am_status am_logreg_objective(const am_matrix *x, const double *y, const double *w,
                              int32_t n_classes, double c, bool l2, bool fit_intercept,
                              const double *theta, double *f, double *grad, am_diag *d);

/* The fitted logistic model's parameters in the layout above (k logit columns; the intercepts
 * are zeros when none was fitted), and the solver's iteration count. */
void am_logreg_coef(const am_model *m, int32_t *k, const double **coef, const double **intercept,
                    int32_t *n_iter);

/* The fitted ridge model's coefficients (n_features values) and intercept. */
void am_ridge_coef(const am_model *m, const double **coef, double *intercept);

/* The constant model's n_outputs values (class priors or the regression constant). */
const double *am_constant_values(const am_model *m);

/* ---- gbdt (learners/gbdt*.c): split finding and losses, exposed for tests ------------------ */

/* What a split must satisfy: each child has >= min_child_samples rows and a Hessian sum >=
 * min_child_weight, and the gain exceeds min_split_gain (and 0). Gain of a split with L2 (lambda)
 * and L1 (alpha): S(left) + S(right) - S(parent), S(G, H) = T(G)^2 / (H + lambda), T the
 * soft-threshold of G by alpha. Categorical features: bins with at least min_data_per_group rows
 * are ordered by G / (H + cat_smooth) and prefixes of that order (from either end, at most
 * max_cat bins) are tried as the left set; the other bins go right. */
typedef struct am_gbdt_split_opts {
    double lambda, alpha, min_child_weight, min_split_gain, cat_smooth;
    int64_t min_child_samples;
    int32_t max_cat, min_data_per_group;
} am_gbdt_split_opts;

typedef struct am_gbdt_split {
    int32_t feature;       /* -1: no split satisfies the constraints */
    int32_t bin;           /* numeric: bins 1..bin go left */
    bool default_left;     /* missing (bin 0) goes left */
    bool categorical;
    uint64_t left_bins[4]; /* categorical: the bins going left (bit 0: missing) */
    double gain;
    double lg, lh, rg, rh; /* gradient and Hessian sums of the children */
    int64_t lc, rc;        /* their row counts */
} am_gbdt_split;

/* The best split of one leaf holding binned rows rows[0..n) (g, h: one per listed row) over
 * all features, ties to the lowest feature, then the lowest bin. Uses the learner's histogram
 * and scan code. AM_ERR_NOMEM. */
am_status am_gbdt_best_split(const am_binned *b, const int64_t *rows, int64_t n, const double *g,
                             const double *h, const am_gbdt_split_opts *o, am_gbdt_split *out,
                             am_diag *d);

/* Grows one tree (learning rate 1) on every row of b with a histogram pool of pool_bytes (0:
 * the default): *n_leaves and each row's leaf value. A small pool forces histograms to be
 * dropped and rebuilt from rows, which must give the same tree. */
am_status am_gbdt_grow_tree(const am_binned *b, const double *g, const double *h,
                            const am_gbdt_split_opts *o, int32_t num_leaves, size_t pool_bytes,
                            int32_t *n_leaves, double *row_value, am_diag *d);

/* The losses gbdt boosts, for one row with unit weight: f holds k raw scores (k = 1 except
 * softmax), y the target (a class index for log loss and softmax). Fills the loss and, per
 * score, the gradient and the Hessian the booster uses (absolute and Huber use the Hessian 1 of
 * their quadratic part, as LightGBM does, so leaf values are Newton steps on a surrogate). */
enum { AM_GBDT_LOGLOSS, AM_GBDT_SOFTMAX, AM_GBDT_SQUARED, AM_GBDT_ABSOLUTE, AM_GBDT_HUBER };
void am_gbdt_loss(int loss, int32_t k, const double *f, double y, double huber_delta,
                  double *value, double *g, double *h);

/* Boosting rounds a fitted gbdt model keeps (the best iteration under early stopping). */
int32_t am_gbdt_n_rounds(const am_model *m);

/* ---- random forest and extra trees (forest.c) ------------------------------------------------ */

extern const am_learner_type am_learner_rf;
extern const am_learner_type am_learner_extra_trees;

/* The fitted forest of an rf or extra_trees model (NULL for any other model): for tests that
 * inspect the chosen splits. */
struct am_forest;
const struct am_forest *am_forest_model_trees(const am_model *m);

#endif
