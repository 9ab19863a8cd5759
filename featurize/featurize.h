/* featurize.h — from a typed frame to the dense matrix learners consume, and the target.
 *
 * A featurizer is fitted on training rows only (inside every fold) and saved in the model file.
 * It remembers the input schema (each feature column's name and type) and checks it at transform
 * time: a missing column or one whose type changed is AM_ERR_DATA naming the column; columns are
 * matched by name, so order may change and extra columns are ignored.
 *
 * Each column has a role (am_roles_infer: numeric, category, boolean, datetime, text, or
 * dropped as constant, all-missing, identifier, the target or by the user) and, from the role and
 * the learner family, its encoders (featurize/encoder.h): for linear models and k-NN, numbers
 * imputed by the median (with an indicator when a material share is missing), categories one-hot
 * (rare levels grouped) or, past AM_FEAT_ONEHOT_MAX levels, target (out of fold) and frequency
 * encoded, booleans as one 0/1 feature, dates as the calendar parts that vary (cyclic), text as
 * hashed word and character n-grams with TF-IDF weights, then every output standardised or
 * robustly scaled; for trees ("native"), numbers and category codes as they are with NaN for
 * missing, raw calendar parts, the same text features, no scaling. The data checks of the
 * guardrails report live here too (am_guardrails_check_data).
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

/* ---- column roles (roles.c) ---------------------------------------------------------------- */

/* What a column is to the featurizer. Decided once per dataset from every row (no target is
 * read, so using all rows leaks nothing a fold could learn), saved in the model with each input. */
typedef enum am_role {
    AM_ROLE_NUMERIC = 1,
    AM_ROLE_CATEGORICAL = 2,
    AM_ROLE_BOOLEAN = 3,  /* two values (true/false, yes/no, y/n, t/f, 0/1): one 0/1 feature */
    AM_ROLE_DATETIME = 4, /* an AM_COL_TIME column, or a number column of epoch seconds */
    AM_ROLE_TEXT = 5,
    AM_ROLE_DROPPED = 6
} am_role;

typedef enum am_drop_reason {
    AM_DROP_NONE = 0,
    AM_DROP_TARGET = 1,      /* the target column itself */
    AM_DROP_USER = 2,        /* --drop */
    AM_DROP_CONSTANT = 3,    /* one value and nothing missing: carries no information */
    AM_DROP_ALL_MISSING = 4, /* no value at all */
    AM_DROP_IDENTIFIER = 5   /* a unique identifier: one distinct value per row */
} am_drop_reason;

typedef struct am_column_role {
    am_role role;
    am_drop_reason why;  /* AM_ROLE_DROPPED only, else AM_DROP_NONE */
    int64_t n_distinct;  /* distinct non-missing values over the rows examined */
    int64_t n_missing;
} am_column_role;

/* What the user says about columns: `--column-types name=type,...` (type: one of the role names
 * below but "dropped") and `--drop a,b`. */
typedef struct am_role_override {
    const char *name;
    am_role role;
} am_role_override;

typedef struct am_role_options {
    const am_role_override *types;
    int32_t n_types;
    const char *const *drop;
    int32_t n_drop;
} am_role_options;

/* Decides every column's role (roles[j] for column j of f; target_col, which may be -1, is
 * dropped as the target). Overrides win over inference; a type override must fit the column as
 * read (the reader is told to force the column's type where that is needed, see
 * am_role_csv_type): AM_ERR_DATA naming the column when an override or a drop names an unknown
 * column, names the target, or asks for a type the values cannot take. AM_ERR_NOMEM. Columns are
 * counted on up to n_threads threads; the result does not depend on the count. */
am_status am_roles_infer(const am_frame *f, int32_t target_col, const am_role_options *o,
                         int32_t n_threads, am_column_role *roles, am_diag *d);
/* The column type the CSV reader must force for a role override (AM_ROLE_CATEGORICAL:
 * AM_COL_CAT, AM_ROLE_TEXT: AM_COL_TEXT, AM_ROLE_NUMERIC: AM_COL_NUM; 0 when the reader's own
 * inference is right: datetime and boolean are decided on the values as read). */
am_coltype am_role_csv_type(am_role r);
/* "numeric" "category" "boolean" "datetime" "text" "dropped" */
const char *am_role_name(am_role r);
bool am_role_parse(const char *s, am_role *out); /* the names above but "dropped" */
const char *am_drop_reason_name(am_drop_reason w); /* "target" "user" "constant" ... */

/* ---- guardrails (guardrails.c) -------------------------------------------------------------- */

/* The data report: named checks, each passed (nothing to say), done (something was handled: a
 * column imputed, dropped, encoded) or alerted (the user should look). The check names are a
 * contract (`fit --json` prints them): missing_values, high_cardinality, identifier_columns,
 * constant_columns, class_imbalance, validation_split, target_leakage, duplicated_rows,
 * memory_estimate. */
typedef enum am_guard_state {
    AM_GUARD_PASSED = 1,
    AM_GUARD_DONE = 2,
    AM_GUARD_ALERTED = 3
} am_guard_state;

typedef struct am_guardrail {
    char *check;
    am_guard_state state;
    char *detail; /* one line of plain text; "" when there is nothing to add */
} am_guardrail;

typedef struct am_guardrails {
    am_guardrail *items;
    int32_t n, cap;
} am_guardrails;

void am_guardrails_init(am_guardrails *g);
void am_guardrails_fini(am_guardrails *g);
/* Appends a check (detail: printf format). AM_ERR_NOMEM. */
am_status am_guardrails_add(am_guardrails *g, const char *check, am_guard_state state,
                            am_diag *d, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *am_guard_state_name(am_guard_state s); /* "passed" "done" "alerted" */
/* In the model file (the API's GRDL section): the list as it is. Load checks every length. */
am_status am_guardrails_save(const am_guardrails *g, am_buf *b, am_diag *d);
am_status am_guardrails_load(am_reader *r, am_guardrails *g, am_diag *d);

/* What the data checks look at: the training rows of f (rows ascending, n_rows > 0; the rows
 * whose target is present) and their target y (class ids or values), with the roles decided
 * for every column. */
typedef struct am_guard_input {
    const am_frame *f;
    int32_t target_col;
    const am_column_role *roles; /* per column of f */
    const int64_t *rows;
    int64_t n_rows;
    const double *y;
    am_task task;
    int32_t n_classes;
    const am_strset *labels;   /* class labels by id, for the report; may be NULL */
    int32_t onehot_max_levels; /* a category with more levels is "high cardinality"... */
    int32_t rare_min_count;    /* ...counting levels seen in at least this many rows (0: 5) */
    uint64_t seed;
    int32_t n_threads;         /* for the checks that go column by column; the report does not
                                  depend on it */
} am_guard_input;

/* Appends the data checks, in this order: missing_values, high_cardinality, identifier_columns,
 * constant_columns, class_imbalance (classification only; passed for regression), target_leakage,
 * duplicated_rows. (validation_split and memory_estimate belong to the search, which adds them.)
 * Thresholds: class imbalance when the smallest class has under a fifth of the largest's rows;
 * leakage when one feature alone, fitted on half of a random sample of at most 50,000 rows,
 * scores accuracy >= 0.99 (and above the majority share) or R^2 >= 0.99 on the other half.
 * AM_ERR_NOMEM. */
am_status am_guardrails_check_data(const am_guard_input *in, am_guardrails *g, am_diag *d);

/* ---- the featurizer ---------------------------------------------------------------------- */

typedef struct am_featurizer am_featurizer;

/* Categories with more levels (seen at least rare_min_count times) than this are "high
 * cardinality": target and frequency encoded instead of one-hot (the default of
 * am_feat_options.onehot_max_levels). Why 100: on ames (40 categorical columns, ridge) a
 * one-hot limit of 100 gave test RMSE 37,326, of 50 38,399 and of 20 39,301. */
#define AM_FEAT_ONEHOT_MAX 100
/* Levels seen in fewer training rows than this share a <rare> group (the default of
 * am_feat_options.rare_min_count). */
#define AM_FEAT_RARE_MIN 5

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
    /* Scaling for standardize: robust (median and interquartile range) instead of mean and
     * standard deviation. */
    bool robust_scale;
    /* Column roles (per column of the frame, from am_roles_infer); NULL: taken from the column
     * types as read (number, category, text, datetime), nothing dropped but the target. */
    const am_column_role *roles;
    /* The target of each training row, in the order of the fit's rows (class id or value), with
     * its task; NULL: encoders that need it (target encoding) are not used. */
    const double *y;
    am_task task;
    int32_t n_classes;
    uint64_t seed; /* fixes the inner folds of out-of-fold target statistics */
    /* Limits (0: the default). A category with at most onehot_max_levels kept levels is one-hot
     * encoded, one with more gets target and frequency encodings (default AM_FEAT_ONEHOT_MAX);
     * a level seen in fewer than rare_min_count training rows joins the <rare> group (default
     * AM_FEAT_RARE_MIN, at least 1); text_features: hashed features per text column (default
     * 256). */
    int32_t onehot_max_levels;
    int32_t rare_min_count;
    int32_t text_features;
} am_feat_options;

/* Fits on the given rows of f (all feature columns: every column except target_col, which may
 * be -1, and those opts->roles drops). rows is ascending; n_rows > 0. Drops with a warning the
 * columns with no value in the training rows. AM_ERR_DATA when no feature column is left. */
am_status am_featurizer_fit(const am_frame *f, int32_t target_col, const int64_t *rows,
                            int64_t n_rows, const am_feat_options *opts, const am_logger *log,
                            am_featurizer **out, am_diag *d);
/* am_featurizer_fit, and the training rows' matrix as the learner must see it (x: allocated
 * here, n_rows x n_features; NULL to skip it): target statistics there are out of fold, so no
 * training row's features have seen its own target (a plain transform of the same rows would
 * use the statistics of all of them). */
am_status am_featurizer_fit_transform(const am_frame *f, int32_t target_col, const int64_t *rows,
                                      int64_t n_rows, const am_feat_options *opts,
                                      const am_logger *log, am_featurizer **out, am_matrix *x,
                                      am_diag *d);
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
am_role am_featurizer_input_role(const am_featurizer *fz, int32_t i);
/* How a date input's values were written (am_time_format in csv.h; 0 for other inputs): the
 * reader must force it at predict time. */
uint8_t am_featurizer_input_time_format(const am_featurizer *fz, int32_t i);

#define AM_FEATURIZER_FORMAT 2u
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
