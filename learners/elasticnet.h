/* elasticnet.h — what the elastic net learner shows beyond its type object: the fitted
 * coefficients (for tests and `automl inspect`), what the solver did, and a fit that forces one
 * of the two solver modes (for tests that compare them).
 *
 * Nothing here is seen outside learners/ except by tests and the inspect command. The type
 * object itself, am_learner_elasticnet, is declared in internal.h. */
#ifndef AM_LEARNERS_ELASTICNET_H
#define AM_LEARNERS_ELASTICNET_H

#include "learner.h"

/* How the coordinate descent computes the gradient x_j'r of a coordinate.
 * COVARIANCE keeps X'y and the Gram columns X'x_k of every feature that has entered the model,
 * so an update costs O(active features); NAIVE keeps the residual vector, so an update costs
 * O(rows) but no p x p memory. AUTO picks covariance unless the Gram cache could outgrow its
 * memory budget (many features). */
typedef enum am_enet_mode {
    AM_ENET_AUTO = 0,
    AM_ENET_COVARIANCE = 1,
    AM_ENET_NAIVE = 2
} am_enet_mode;

/* What one fit did. Kept with the fitted model for tests and logging; not saved (a loaded model
 * reports zeros). */
typedef struct am_enet_info {
    am_enet_mode mode; /* the mode actually used */
    int32_t n_alphas;  /* points of the warm-start path solved, the requested alpha included
                          (0 when alpha >= alpha_max gave beta = 0 without iterating) */
    int32_t n_sweeps;  /* coordinate sweeps at the requested alpha (active-set and full) */
    int64_t n_sweeps_total; /* over the whole path */
    int64_t n_gram;    /* Gram columns computed (covariance mode): one per feature that
                          entered, or p once the whole matrix was computed at once */
    bool converged;    /* the stopping rule held at the requested alpha before max_iter */
    double gap;        /* the final stopping measure (duality gap, normalised objective units) */
    double tol_abs;    /* what it was compared with: tol * sum_i v_i (y_i - ym)^2 */
    double alpha_max;  /* smallest alpha giving beta = 0 (infinity when l1_ratio = 0) */
} am_enet_info;

/* The fitted coefficients (m->n_features values) and intercept of an elasticnet model. */
void am_elasticnet_coef(const am_model *m, const double **coef, double *intercept);

/* What the fit did (zeros for a loaded model). */
am_enet_info am_elasticnet_info(const am_model *m);

/* The learner's fit with the solver mode forced (AM_ENET_AUTO: what the type object's fit does).
 * Same statuses as the type object's fit. */
am_status am_elasticnet_fit_mode(const am_fit_args *a, am_enet_mode mode, am_model **out,
                                 am_diag *d);

#endif
