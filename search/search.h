/* search.h — validation splits, metrics, and the search controller that turns a frame and a
 * target column into a fitted pipeline (featurizer + model) and a leaderboard.
 *
 * Determinism: trial i's learner and parameters derive only from (seed, i); trials run in
 * batches of AM_SEARCH_BATCH (independent of the thread count) and are observed in id order, so
 * with the same seed and trial budget the leaderboard and the model are identical on 1 thread or
 * many. Under a time budget, which trials finish may vary; each finished trial is reproducible.
 *
 * Threads: trials of a batch run in parallel (OpenMP, n_threads), each single-threaded with
 * OpenBLAS set to one thread; the final refit uses all n_threads. */
#ifndef AM_SEARCH_H
#define AM_SEARCH_H

#include "../automl/base/base.h"
#include "../automl/base/frame.h"
#include "../featurize/featurize.h"
#include "../learners/learner.h"

/* ---- metrics ----------------------------------------------------------------------------- */

/* Saved in model files: explicit values, append only. */
typedef enum am_metric {
    AM_METRIC_AUC = 1,      /* binary: ROC AUC; multiclass: macro one-vs-rest */
    AM_METRIC_LOG_LOSS = 2,
    AM_METRIC_ACCURACY = 3,
    AM_METRIC_F1_MACRO = 4,
    AM_METRIC_RMSE = 5,
    AM_METRIC_MAE = 6,
    AM_METRIC_R2 = 7
} am_metric;

const char *am_metric_name(am_metric m);   /* "auc", "log_loss", "accuracy", "f1_macro", ... */
am_metric am_metric_parse(const char *name); /* 0 when unknown */
bool am_metric_higher_is_better(am_metric m);
bool am_metric_fits_task(am_metric m, am_task task);
am_metric am_metric_default(am_task task); /* binary auc, multiclass log_loss, regression rmse */
/* pred is row-major n x n_outputs as learners write it; y as learners read it. Returns NaN when
 * the metric is undefined on these rows (AUC with one class present). */
double am_metric_compute(am_metric m, am_task task, int32_t n_classes, const double *y,
                         const double *pred, int64_t n);

/* ---- validation splits ------------------------------------------------------------------- */

/* Indices are positions 0..n-1 in the target vector, ascending within each list. */
typedef struct am_fold {
    int64_t *train, *valid;
    int64_t n_train, n_valid;
} am_fold;

typedef struct am_split {
    am_fold *folds;
    int32_t n_folds;
} am_split;

/* k-fold (stratified by class for classification: each class spread over folds as evenly as its
 * count allows); AM_ERR_CONFIG when k < 2 or k > n. */
am_status am_split_kfold(const double *y, int64_t n, am_task task, int32_t n_classes, int32_t k,
                         uint64_t seed, am_split *out, am_diag *d);
/* One fold holding out `fraction` of the rows (stratified for classification); AM_ERR_CONFIG
 * when the fraction is not in (0, 1) or leaves an empty side. */
am_status am_split_holdout(const double *y, int64_t n, am_task task, int32_t n_classes,
                           double fraction, uint64_t seed, am_split *out, am_diag *d);
void am_split_fini(am_split *s);

/* ---- the search -------------------------------------------------------------------------- */

#define AM_SEARCH_BATCH 8

typedef enum am_exit_reason {
    AM_EXIT_TIME = 1,      /* the time budget ran out */
    AM_EXIT_TRIALS = 2,    /* max_trials reached */
    AM_EXIT_SCORE = 3,     /* exit_score reached */
    AM_EXIT_PATIENCE = 4,  /* no improvement for `patience` trials */
    AM_EXIT_CANCELLED = 5, /* the host cancelled */
    AM_EXIT_SINGLE = 6     /* estimator mode: one configuration */
} am_exit_reason;

const char *am_exit_reason_name(am_exit_reason r); /* "time_budget", "max_trials", ... */

typedef struct am_search_options {
    const am_learner_type *const *learners; /* allowed learners (already filtered by the caller) */
    int32_t n_learners;
    unsigned task;        /* AM_TASK_* or 0 = infer */
    am_metric metric;     /* 0 = default for the task */
    int32_t cv_folds;     /* >= 2 for k-fold, 0 for holdout */
    double holdout;       /* fraction in (0, 1) when cv_folds == 0 */
    double deadline;      /* am_now() value by which the whole fit, including refit and the
                             save, must be done; INFINITY for none */
    double save_reserve;  /* seconds kept back for saving the model */
    int32_t max_trials;   /* 0 = unlimited */
    double exit_score;    /* NaN = none */
    int32_t patience;     /* 0 = off */
    uint64_t seed;
    int32_t n_threads;    /* >= 1 */
    int32_t max_bin;      /* value bins per feature for tree learners, 2..255; 0 = 255 */
    const volatile int *cancel; /* may be NULL */
    /* Estimator mode: when fixed is non-NULL, n_learners is 1 and exactly this configuration
     * is trained on all rows; it is validated first only when validate is true. */
    const am_params *fixed;
    bool validate;
    /* The user's column types and drops (--column-types, --drop); NULL for none. */
    const am_role_options *roles;
    bool robust_scale; /* linear models and k-NN: median and IQR scaling instead of mean and sd */
} am_search_options;

typedef struct am_trial {
    int32_t id;
    const am_learner_type *learner;
    am_params params;
    double score;        /* mean validation metric over folds; NaN when the trial failed */
    double seconds;      /* wall time of the trial, all folds */
    am_status status;    /* AM_OK, AM_ERR_CANCELLED (cut by the deadline), other failures */
    char note[160];      /* failure reason for the leaderboard */
} am_trial;

typedef struct am_search_result {
    am_target target;
    am_metric metric;
    am_featurizer *featurizer; /* fitted on all kept rows (or a fold's, see refit_fallback) */
    am_model *model;
    const am_learner_type *learner;
    am_params params;
    am_trial *trials;          /* in id order */
    int32_t n_trials;
    int32_t best;              /* index into trials, -1 when nothing was validated */
    am_exit_reason exit_reason;
    bool refit_fallback;       /* the refit could not finish in time: the best trial's first-fold
                                  model is used instead (a warning is logged) */
    int64_t n_rows;            /* rows used (after dropping missing targets) */
    int64_t n_features;
    am_guardrails guardrails;  /* the data report: the featurizer's checks, then the split and
                                  the memory estimate */
    double seconds_featurize, seconds_search, seconds_refit;
} am_search_result;

/* Runs the whole fit on frame f. Statuses: AM_ERR_CONFIG (bad options, metric not fit for the
 * task, learner not fit for the task), AM_ERR_DATA (target problems), AM_ERR_CANCELLED (the
 * budget ended before any trial finished and no model could be fitted), AM_ERR_NOMEM. A trial
 * that fails is recorded on the leaderboard, not returned. */
/* OpenBLAS's thread count from here on (process-wide, set explicitly rather than left to its
 * default): 1 while trials run side by side and around predictions that share rows out among
 * threads themselves; the thread count for a single fit (the refit, estimator mode). */
void am_blas_set_threads(int32_t n);

am_status am_search_run(const am_frame *f, int32_t target_col, const am_search_options *o,
                        const am_logger *log, am_search_result *out, am_diag *d);
void am_search_result_fini(am_search_result *r);
/* Trial indices best first (failed trials last, ties by id); order has n_trials entries. */
void am_search_rank(const am_search_result *r, int32_t *order);

#endif
