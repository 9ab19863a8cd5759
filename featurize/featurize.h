/* featurize.h — from a typed frame to the dense matrix learners consume, and the target.
 *
 * A featurizer is fitted on training rows only (inside every fold) and saved in the model file.
 * It remembers the input schema (each feature column's name and type) and checks it at transform
 * time: a missing column or one whose type changed is AM_ERR_DATA naming the column; columns are
 * matched by name, so order may change and extra columns are ignored.
 *
 * Steps (this version): numeric columns — median imputation of missing and non-finite values plus
 * a missing indicator when the column had missing values in the training rows; categorical
 * columns — one-hot over the levels seen in the training rows, one slot for missing and one for
 * unseen levels; optional standardisation (mean 0, variance 1 over the training rows) of every
 * output column for learners that ask for scaled input. Date and text columns are dropped with a
 * warning (the featurization issue brings them in).
 *
 * Thread-safety: a fitted featurizer is immutable; transform may run on many threads at once. */
#ifndef AM_FEATURIZE_H
#define AM_FEATURIZE_H

#include "../automl/base/base.h"
#include "../automl/base/bundle.h"
#include "../automl/base/frame.h"

/* ---- the target -------------------------------------------------------------------------- */

typedef struct am_target {
    char *name;
    am_task task;
    int32_t n_classes;  /* 0 for regression */
    am_strset labels;   /* classification: class labels as written in the training file;
                           index = class id. Sorted: numerically when every label is a number,
                           else bytewise, so ids do not depend on row order */
} am_target;

/* Requested task: AM_TASK_* or 0 for auto. */
typedef struct am_target_options {
    unsigned task; /* 0 = infer */
} am_target_options;

/* Builds the target from column `col` of f: infers or checks the task, maps class labels to ids,
 * and fills *y (n_kept values) and *rows (the indices of kept rows, ascending), both allocated
 * here (caller frees with am_free). Rows whose target is missing, NaN or infinite are dropped with
 * one warning giving the count; AM_ERR_DATA when none remain, when a classification target has
 * only one class, or when a regression target is not numeric. The inferred task and the reason
 * are logged at INFO level (a numeric target with few distinct integer values is called a
 * judgement call). The column must have been read with csv keep_levels set to its name so class
 * labels are kept as written. */
am_status am_target_fit(const am_frame *f, int32_t col, const am_target_options *opts,
                        const am_logger *log, am_target *t, double **y, int64_t **rows,
                        int64_t *n_rows, am_diag *d);
/* Maps the target column of another frame (evaluate) with a fitted target: class labels must be
 * known (an unknown label is AM_ERR_DATA naming line and column); rows with a missing target are
 * dropped as above. */
am_status am_target_apply(const am_target *t, const am_frame *f, int32_t col, const am_logger *log,
                          double **y, int64_t **rows, int64_t *n_rows, am_diag *d);
void am_target_fini(am_target *t);
am_status am_target_save(const am_target *t, am_buf *b, am_diag *d);
am_status am_target_load(am_reader *r, am_target *t, am_diag *d);

/* ---- the featurizer ---------------------------------------------------------------------- */

typedef struct am_featurizer am_featurizer;

typedef struct am_feat_options {
    bool standardize; /* scale every output column (learners with AM_NEEDS_SCALED) */
    /* Native output for tree learners (AM_NEEDS_BINNED): one feature per input column, numbers
     * as they are (missing and non-finite as NaN, no indicator), categories as the index of the
     * level among the levels seen in fitting (as a double; missing and unseen levels as NaN).
     * No imputation, no one-hot, no scaling. Overrides standardize. */
    bool native;
    /* Threads for the per-column statistics of fitting (0 or 1: one); the result does not
     * depend on it. */
    int32_t n_threads;
} am_feat_options;

/* Fits on the given rows of f (all feature columns: every column except target_col, which may
 * be -1). rows is ascending; n_rows > 0. Drops with a warning: date/text columns, and columns
 * with no value in the training rows. AM_ERR_DATA when no feature column is left. */
am_status am_featurizer_fit(const am_frame *f, int32_t target_col, const int64_t *rows,
                            int64_t n_rows, const am_feat_options *opts, const am_logger *log,
                            am_featurizer **out, am_diag *d);
/* Transforms rows of f (rows NULL = every row) into *out (allocated here, n_rows x n_features).
 * Checks the schema first. */
am_status am_featurizer_transform(const am_featurizer *fz, const am_frame *f, const int64_t *rows,
                                  int64_t n_rows, am_matrix *out, am_diag *d);
void am_featurizer_free(am_featurizer *fz); /* NULL ok */

int64_t am_featurizer_n_features(const am_featurizer *fz);
/* Native featurizers: how many category codes feature j takes (0 for a numeric feature). */
int32_t am_featurizer_n_categories(const am_featurizer *fz, int64_t j);
const char *am_featurizer_feature_name(const am_featurizer *fz, int64_t j); /* "age", "color=red" */
/* The input columns the featurizer needs, for forcing types when reading a predict file. */
int32_t am_featurizer_n_inputs(const am_featurizer *fz);
const char *am_featurizer_input_name(const am_featurizer *fz, int32_t i);
am_coltype am_featurizer_input_type(const am_featurizer *fz, int32_t i);

#define AM_FEATURIZER_FORMAT 1u
am_status am_featurizer_save(const am_featurizer *fz, am_buf *b, am_diag *d);
am_status am_featurizer_load(am_reader *r, uint32_t version, am_featurizer **out, am_diag *d);

/* ---- binning (for histogram tree learners) ------------------------------------------------ */

/* Bins every feature of x (a native featurizer's output: NaN = missing; n_categories[j] > 0 marks
 * a categorical feature whose values are codes 0..n_categories[j]-1). Numeric bin edges are
 * quantiles of the distinct non-missing values (at most max_bin value bins; features with few
 * distinct values get one bin per value, edges half-way between neighbours), computed on at
 * most 200,000 rows drawn with seed (all rows when fewer), so binning costs O(n) beyond that.
 * Binning uses no target: building it once on all rows and sharing it across folds leaks
 * nothing a fold could learn from (LightGBM's cv does the same). max_bin in [2, 255].
 * AM_ERR_NOMEM; AM_ERR_ARG for a bad max_bin. Thread-safe; uses up to n_threads threads with a
 * result independent of the count. */
am_status am_binned_build(const am_matrix *x, const int32_t *n_categories, int32_t max_bin,
                          uint64_t seed, int32_t n_threads, am_binned *out, am_diag *d);
void am_binned_fini(am_binned *b); /* NULL ok */

#endif
