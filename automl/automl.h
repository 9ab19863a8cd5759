/* automl.h — the public C API of automl, the only installed header.
 *
 * automl fits a model to a CSV file: it reads and types the columns, featurizes them, searches
 * learners and hyperparameters under the exit criteria you set, refits the best on all rows and
 * gives back a model you can save, load, and predict with.
 *
 *   automl_session *s;  automl_model *m;
 *   automl_session_new(&s);
 *   automl_session_set(s, "target", "income");
 *   automl_session_set(s, "time_budget", "30");
 *   if (automl_fit_csv(s, "train.csv", &m) != AUTOML_OK)
 *       fprintf(stderr, "%s\n", automl_session_errmsg(s));
 *   automl_model_save(s, m, "model.automl");
 *   automl_predict_csv(s, m, "new.csv", "predictions.csv", 0);
 *   automl_model_free(m);  automl_session_free(s);
 *
 * Errors: every fallible call returns an automl_status; on failure the session keeps a message
 * (automl_session_errmsg) naming the file, line and column involved. The library never prints
 * (except where asked to write to standard output), exits or aborts. Warnings and progress go to
 * the log callback.
 *
 * Ownership: objects returned through an `out` pointer belong to the caller and are released with
 * their _free function (which accepts NULL). Strings returned by accessors are owned by the object
 * and live as long as it; strings returned through `char **` are the caller's, released with
 * automl_free.
 *
 * Thread-safety: a session is used by one thread at a time (it holds the last error and the
 * options), except automl_session_cancel, which any thread may call. A model is immutable once
 * fitted or loaded: any number of threads may predict with it at once, each with its own session.
 * Results are reproducible: the same data, options, seed and thread count give the same
 * leaderboard and model bytes (under a time budget, which trials finish may vary).
 *
 * Threads: fits use OpenMP. On a machine shared with other work, run the host program with
 * OMP_WAIT_POLICY=PASSIVE (the automl command line does so unless the variable is set): spinning
 * waits can make a parallel fit ten times slower when the cores are busy.
 *
 * Since 0.1.0 unless said otherwise. C11 and C++ compatible. */
#ifndef AUTOML_H
#define AUTOML_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(AUTOML_BUILDING) && defined(__GNUC__)
#define AUTOML_API __attribute__((visibility("default")))
#else
#define AUTOML_API
#endif

#define AUTOML_VERSION_MAJOR 0
#define AUTOML_VERSION_MINOR 1
#define AUTOML_VERSION_PATCH 0
#define AUTOML_VERSION_STRING "0.1.0"

/* (major << 16) | (minor << 8) | patch of the linked library; compare with the macros. */
AUTOML_API unsigned automl_version(void);

typedef enum automl_status {
    AUTOML_OK = 0,
    AUTOML_ERR_NOMEM = 1,     /* an allocation failed */
    AUTOML_ERR_ARG = 2,       /* the caller passed something invalid (NULL, unknown key) */
    AUTOML_ERR_CONFIG = 3,    /* a bad option value: out of range, unknown learner or metric */
    AUTOML_ERR_IO = 4,        /* a file could not be opened, read, written or renamed */
    AUTOML_ERR_DATA = 5,      /* bad data: malformed CSV, missing target, one class, ... */
    AUTOML_ERR_FORMAT = 6,    /* not a model file, corrupt, truncated or from a newer version */
    AUTOML_ERR_NUMERIC = 7,   /* a numerical failure no learner could recover from */
    AUTOML_ERR_CANCELLED = 8, /* cancelled, or the time budget ended before any model fitted */
    AUTOML_ERR_INTERNAL = 9   /* a bug: please report it */
} automl_status;

/* "AUTOML_ERR_DATA"; never NULL. */
AUTOML_API const char *automl_status_name(automl_status s);
/* Releases a string or buffer the library returned through a char ** (NULL ok). */
AUTOML_API void automl_free(void *p);

/* ---- sessions: options, errors, logging --------------------------------------------------- */

typedef struct automl_session automl_session;

/* AUTOML_ERR_NOMEM (and *out = NULL) when out of memory. */
AUTOML_API automl_status automl_session_new(automl_session **out);
AUTOML_API void automl_session_free(automl_session *s);

/* Sets one option from text. Keys and values (the CLI flags are the same with dashes):
 *   target            name of the target column (required for fit)
 *   task              auto | binary | multiclass | regression        (default auto)
 *   metric            auc | log_loss | accuracy | f1_macro | rmse | mae | r2  (default per task)
 *   time_budget       seconds for the whole fit, including refit and saving   (default 60;
 *                     with `learner` set, none: a single fit runs to the end unless a
 *                     budget is given)
 *   max_trials        0 = no limit                                          (default 0)
 *   exit_score        stop once a trial reaches this validation score    (default none)
 *   patience          stop after N trials without improvement, 0 = off      (default 0)
 *   learners          comma-separated allowed learners  (default: all that fit the task, but
 *                     knn, which is searched only when named here)
 *   exclude_learners  comma-separated learners to leave out
 *   cv                k-fold cross-validation with k folds (>= 2)
 *   holdout           hold out this fraction (0, 1) for validation
 *                     (default: 5-fold CV below 10,000 rows, else holdout 0.2)
 *   seed              random seed                                            (default 0)
 *   threads           threads to use, >= 1                 (default: all cores, at most 64)
 *   learner           estimator mode: train this one learner with fixed parameters
 *   max_bin           value bins per feature for the tree learners, 2..255      (default 255)
 *   column_types      "name=type,..." with type numeric | category | boolean | datetime |
 *                     text: overrides the inferred role of these columns (a number column
 *                     as datetime holds epoch seconds)
 *   drop              "a,b": columns the featurizer leaves out
 *   scaling           standard | robust: how features are scaled for linear models and k-NN
 *                     (mean and sd, or median and interquartile range)     (default standard)
 * AUTOML_ERR_ARG for an unknown key (the message suggests the nearest), AUTOML_ERR_CONFIG for a
 * bad value. The value is copied. */
AUTOML_API automl_status automl_session_set(automl_session *s, const char *key, const char *value);
/* Adds one "key=value" learner parameter for estimator mode (copied). Checked at fit time
 * against the learner's parameter table: unknown or duplicate keys are AUTOML_ERR_CONFIG. */
AUTOML_API automl_status automl_session_add_param(automl_session *s, const char *key_value);

/* The message of the last failed call on s ("" when none). Valid until the next call on s. */
AUTOML_API const char *automl_session_errmsg(const automl_session *s);

typedef enum automl_log_level {
    AUTOML_LOG_DEBUG = 0,
    AUTOML_LOG_INFO = 1,
    AUTOML_LOG_WARN = 2
} automl_log_level;
typedef void (*automl_log_fn)(int level, const char *message, void *user);
/* Messages are delivered on the calling thread of the session's calls. fn NULL = silence. */
AUTOML_API void automl_session_set_log(automl_session *s, automl_log_fn fn, void *user);
/* Asks a running fit on s to stop as soon as possible; safe from any thread or signal handler. */
AUTOML_API void automl_session_cancel(automl_session *s);

/* ---- fitting, saving, loading ------------------------------------------------------------ */

typedef struct automl_model automl_model;

/* Reads train_csv and fits a model under the session's options. The deadline (time_budget)
 * counts from this call and covers reading, featurizing, searching, the final refit and a
 * subsequent automl_model_save. AUTOML_ERR_IO / _DATA for the file; _CONFIG for options;
 * _CANCELLED when no model could be fitted in time. */
AUTOML_API automl_status automl_fit_csv(automl_session *s, const char *train_csv,
                                        automl_model **out);
/* Writes the model file atomically (temporary file then rename). AUTOML_ERR_IO. */
AUTOML_API automl_status automl_model_save(automl_session *s, automl_model *m, const char *path);
/* AUTOML_ERR_IO when the file cannot be read, AUTOML_ERR_FORMAT when it is not a valid model
 * file of a format this build reads. */
AUTOML_API automl_status automl_model_load(automl_session *s, const char *path,
                                           automl_model **out);
AUTOML_API void automl_model_free(automl_model *m);

/* ---- predicting and evaluating ----------------------------------------------------------- */

enum { AUTOML_PREDICT_PROBA = 1 }; /* add one proba_<label> column per class */

/* Reads data_csv (the target column may be absent), checks it against the model's schema and
 * writes a CSV with a `prediction` column (class label as in the training file, or the value).
 * out_csv "-" writes to standard output; a path is written atomically. AUTOML_ERR_DATA for a
 * missing or retyped column; AUTOML_ERR_IO. */
AUTOML_API automl_status automl_predict_csv(automl_session *s, const automl_model *m,
                                            const char *data_csv, const char *out_csv,
                                            unsigned flags);
/* Predicts into caller memory: out holds n_rows * automl_model_n_outputs(m) doubles, row-major
 * (class probabilities in label order, or values); *n_rows receives the row count of data_csv.
 * When out is NULL or out_len is too small, only *n_rows is set and AUTOML_ERR_ARG returned. */
AUTOML_API automl_status automl_predict_csv_values(automl_session *s, const automl_model *m,
                                                   const char *data_csv, double *out,
                                                   int64_t out_len, int64_t *n_rows);
/* Scores the model on data_csv, which holds the target column: every metric that fits the task.
 * *json receives {"metric_name": value, ...} (caller frees with automl_free). */
AUTOML_API automl_status automl_evaluate_csv(automl_session *s, const automl_model *m,
                                             const char *data_csv, char **json);

/* ---- what a model holds -------------------------------------------------------------------- */

AUTOML_API const char *automl_model_task(const automl_model *m);    /* "binary", ... */
AUTOML_API const char *automl_model_metric(const automl_model *m);  /* "auc", ... */
AUTOML_API const char *automl_model_learner(const automl_model *m); /* "ridge", ... */
AUTOML_API const char *automl_model_target(const automl_model *m);
AUTOML_API int32_t automl_model_n_outputs(const automl_model *m);
/* Class label i (0 <= i < n_outputs) of a classifier, NULL otherwise. */
AUTOML_API const char *automl_model_class_label(const automl_model *m, int32_t i);

/* The chosen configuration as "key=value ..." (every parameter), owned by the model. */
AUTOML_API const char *automl_model_params(const automl_model *m);
/* Validation score of the chosen configuration (NaN when it was not validated). */
AUTOML_API double automl_model_best_score(const automl_model *m);
/* The input columns the model reads at predict time, and their types ("number", "category"). */
AUTOML_API int32_t automl_model_n_inputs(const automl_model *m);
AUTOML_API const char *automl_model_input_name(const automl_model *m, int32_t i);
AUTOML_API const char *automl_model_input_type(const automl_model *m, int32_t i);
/* The features the learner sees after featurization ("age", "color=red"). */
AUTOML_API int64_t automl_model_n_features(const automl_model *m);
AUTOML_API const char *automl_model_feature_name(const automl_model *m, int64_t j);
/* Per-feature importance of tree models: total split gain and number of splits for each of the
 * automl_model_n_features features (caller arrays of that length). AUTOML_ERR_ARG when the
 * model's learner has no importance (linear models: see the coefficients in inspect). */
AUTOML_API automl_status automl_model_importance(const automl_model *m, double *gain,
                                                 double *splits);
/* Coefficients of linear models (ridge, elasticnet, logreg) on the automl_model_n_features
 * standardised features: *k columns, column-major, so coef holds *k * n_features values
 * (caller array) and intercept *k; either may be NULL (both NULL: learn *k first). *k is 1 for
 * regression and binary models (a binary model's column gives the log-odds of its second class
 * label) and one per class, in class label order, for multinomial ones. A model's raw output is
 * intercept + coef . features (the value, the log-odds or the class score). AUTOML_ERR_ARG, with
 * *k = 0, when m or k is NULL or the model's learner has no coefficients (tree models: see
 * automl_model_importance); AUTOML_ERR_NOMEM. Reads the model only: thread-safe. */
AUTOML_API automl_status automl_model_coefficients(const automl_model *m, int32_t *k,
                                                   double *coef, double *intercept);
/* Why the search stopped: "time_budget", "max_trials", "exit_score", "patience", "cancelled",
 * "single_fit". */
AUTOML_API const char *automl_model_exit_reason(const automl_model *m);

/* One leaderboard row, best first. Strings are owned by the model. */
typedef struct automl_trial_info {
    int32_t rank;          /* 1-based; failed trials rank last */
    int32_t id;            /* trial id in proposal order */
    const char *learner;
    const char *params;    /* "alpha=0.1" */
    double score;          /* validation metric; NaN when the trial failed */
    double seconds;
    const char *status;    /* "ok", "cancelled", or the failure reason */
} automl_trial_info;

AUTOML_API int32_t automl_model_n_trials(const automl_model *m);
/* AUTOML_ERR_ARG when rank is out of range. */
AUTOML_API automl_status automl_model_trial(const automl_model *m, int32_t rank,
                                            automl_trial_info *out);

/* The data report (guardrails): checks in a fixed order, each with a state "passed" (nothing
 * to say), "done" (something was handled: columns imputed, dropped, encoded) or "alerted" (look
 * at your data) and a one-line detail. Check names: missing_values, high_cardinality,
 * identifier_columns, constant_columns, class_imbalance, target_leakage, duplicated_rows,
 * validation_split, memory_estimate. Strings are owned by the model; AUTOML_ERR_ARG when i is
 * out of range. */
AUTOML_API int32_t automl_model_n_guardrails(const automl_model *m);
AUTOML_API automl_status automl_model_guardrail(const automl_model *m, int32_t i,
                                                const char **check, const char **state,
                                                const char **detail);

/* The fit summary: task, metric, best_score, best_learner, best_params, n_trials, exit_reason,
 * fit_seconds, phases {read, featurize, search, refit, save}, n_rows, n_features, guardrails
 * [{check, state, detail}], leaderboard.
 * Phases, fit_seconds and trial seconds are known only for a model fitted in this process
 * (0 / null after a load: model files hold no timings, so equal runs give equal bytes). Caller frees *json with automl_free. */
AUTOML_API automl_status automl_model_summary_json(const automl_model *m, char **json);
/* Everything inside the model: format, schema, features, target, learner and its parameters,
 * leaderboard. Caller frees with automl_free. */
AUTOML_API automl_status automl_model_inspect_json(const automl_model *m, char **json);

/* ---- learners and their parameters (for help screens) ------------------------------------ */

typedef struct automl_param_info {
    const char *key;
    const char *kind;     /* "int", "real", "bool", "enum" */
    const char *default_text;
    const char *range;    /* "[0, 1e+10]" or "l2|none" */
    const char *search;   /* "[1e-05, 100] log" or "" when not searched */
    const char *doc;
} automl_param_info;

AUTOML_API int32_t automl_learner_count(void);
/* Name and one-line summary of learner i; NULL when out of range. */
AUTOML_API const char *automl_learner_name(int32_t i);
AUTOML_API const char *automl_learner_summary(int32_t i);
/* Tasks learner i supports, as "binary,multiclass,regression". */
AUTOML_API const char *automl_learner_tasks(int32_t i);
/* 1 when a search includes learner i by default, 0 when only when named in "learners" (k-NN),
 * -1 when i is out of range. */
AUTOML_API int32_t automl_learner_searched_by_default(int32_t i);
AUTOML_API int32_t automl_learner_n_params(int32_t i);
/* Parameter j of learner i; the strings stay valid until the next call to this function on the
 * same thread. AUTOML_ERR_ARG when out of range. */
AUTOML_API automl_status automl_learner_param(int32_t i, int32_t j, automl_param_info *out);

#ifdef __cplusplus
}
#endif

#endif
