/* learner.h — the learner type object and the registry. The face of learners/.
 *
 * A learner is a const type object (name, tasks, parameter table, function pointers) plus the
 * model state its fit allocates. The search and the single-learner ("estimator") mode make
 * exactly the same calls: am_params_defaults → am_params_parse → check → fit → predict.
 *
 * Data contract: fit receives the featurized, dense, column-major training matrix (every row is a
 * training row) and the targets: for classification the class index 0..n_classes-1 stored as a
 * double, for regression the value. Predictions are written row-major into a caller buffer of
 * n_rows * n_outputs doubles: class probabilities (n_outputs = n_classes, also 2 for binary) or
 * the predicted value (n_outputs = 1).
 *
 * Thread-safety: type objects are const. fit may be called from many threads at once on
 * different (or the same, read-only) data; it uses at most n_threads threads of its own. A fitted
 * model is immutable: predict is thread-safe. */
#ifndef AM_LEARNER_H
#define AM_LEARNER_H

#include "../automl/base/base.h"
#include "../automl/base/bundle.h"
#include "../automl/base/frame.h"
#include "../automl/base/params.h"

/* What a learner wants from the featurizer. */
enum {
    AM_NEEDS_SCALED = 1u << 0, /* standardised numeric features (linear models, k-NN) */
    AM_NEEDS_BINNED = 1u << 1  /* native features + the shared binned data (tree learners) */
};

typedef struct am_fit_args {
    /* Training rows: a dense matrix (x), or for AM_NEEDS_BINNED learners the shared binned data
     * with the training rows selected by index (binned + rows; rows NULL = every row). y and
     * weight hold one value per training row, in the order of x's rows or of `rows`. */
    const am_matrix *x;
    const am_binned *binned;
    const int64_t *rows;      /* ascending indices into binned, or NULL for all */
    int64_t n_rows;           /* training rows when binned is used */
    const double *y;          /* targets of the training rows */
    const double *weight;     /* sample weights of the training rows, or NULL for all ones */
    const am_matrix *x_valid; /* optional validation rows for early stopping, or NULL */
    const double *y_valid;
    am_task task;
    int32_t n_classes;        /* 2 for binary, >= 3 for multiclass, 0 for regression */
    const am_params *params;  /* validated against the learner's table */
    uint64_t seed;
    int32_t n_threads;        /* threads this fit may use; 1 inside parallel trials */
    const am_stop *stop;      /* polled at iteration boundaries; may be NULL */
    const am_logger *log;     /* may be NULL */
} am_fit_args;

typedef struct am_learner_type am_learner_type;

/* The first member of every fitted model. */
typedef struct am_model {
    const am_learner_type *type;
    int64_t n_features;
    int32_t n_outputs;
} am_model;

struct am_learner_type {
    const char *name;    /* stable: used in model files and on the command line */
    const char *summary; /* one line for `automl help` */
    unsigned tasks;      /* mask of am_task */
    unsigned needs;      /* mask of AM_NEEDS_* */
    /* Left out of the default portfolio; searched only when named (its cost does not suit
     * every dataset: k-NN predicts in time rows x rows). */
    bool on_request;
    const am_param_table *params;
    uint32_t format_version; /* of this learner's saved payload */
    /* Cross-parameter and data checks beyond the table's ranges; may be NULL. */
    am_status (*check)(const am_params *p, const am_fit_args *a, am_diag *d);
    /* Rough relative cost of one fit (arbitrary units, comparable within one learner); may be
     * NULL. */
    double (*cost_hint)(const am_params *p, int64_t n_rows, int64_t n_cols);
    /* AM_ERR_CANCELLED when the stop check fired; AM_ERR_NUMERIC when the fit failed
     * numerically; AM_ERR_NOMEM. *out is set only on success. */
    am_status (*fit)(const am_fit_args *a, am_model **out, am_diag *d);
    /* x has m->n_features columns; out holds x->n_rows * m->n_outputs values. Uses at most
     * n_threads (>= 1) threads; the values do not depend on it. A learner whose prediction is
     * costly (k-NN) polls stop (may be NULL) between blocks of rows and returns
     * AM_ERR_CANCELLED when it fires; the others may ignore it. */
    am_status (*predict)(const am_model *m, const am_matrix *x, int32_t n_threads,
                         const am_stop *stop, double *out, am_diag *d);
    /* Appends the model's payload (not its type or params, which the caller saves). */
    am_status (*save)(const am_model *m, am_buf *b, am_diag *d);
    /* Reads a payload written by save with the given format version, checking every count and
     * index; AM_ERR_FORMAT on anything inconsistent. n_features/n_outputs are what the caller
     * expects (from the featurizer and target), so the payload must agree with them. */
    am_status (*load)(am_reader *r, uint32_t version, int64_t n_features, int32_t n_outputs,
                      am_model **out, am_diag *d);
    void (*free)(am_model *m); /* NULL ok */
    /* Per-feature importance: total gain of the splits on each feature and how many splits use
     * it (arrays of m->n_features, filled here). NULL when the learner has none. */
    void (*importance)(const am_model *m, double *gain, double *splits);
    /* Linear models: the coefficients on the model's features, k columns of m->n_features
     * (column-major; k = 1, or one per class for multinomial models; k <= m->n_outputs), and k
     * intercepts. Returns k; coef and intercept may be NULL to query k alone. A binary model's
     * single column is the log-odds of its second class. NULL when the learner has none. */
    int32_t (*coefficients)(const am_model *m, double *coef, double *intercept);
};

/* Registry: a const list, no mutable globals. */
int32_t am_learner_count(void);
const am_learner_type *am_learner_at(int32_t i);
const am_learner_type *am_learner_find(const char *name); /* NULL when unknown */

/* Fits with the learner's check first: the one entry point the search and estimator mode use. */
am_status am_learner_fit(const am_learner_type *t, const am_fit_args *a, am_model **out,
                         am_diag *d);
/* Frees any model through its type (NULL ok). */
void am_model_free(am_model *m);

#endif
