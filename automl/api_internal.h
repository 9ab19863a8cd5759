/* api_internal.h — what the files implementing automl.h share. Not installed. */
#ifndef AM_API_INTERNAL_H
#define AM_API_INTERNAL_H

#include "automl.h"
#include "base/base.h"
#include "base/bundle.h"
#include "base/csv.h"
#include "../featurize/featurize.h"
#include "../learners/learner.h"
#include "../search/search.h"

struct automl_session {
    char errmsg[1024];
    /* options, as set */
    char *target;
    unsigned task;
    am_metric metric;
    double time_budget;
    bool time_budget_set; /* given by the caller (a single fit has none by default) */
    int32_t max_trials;
    double exit_score;
    int32_t patience;
    char *learners;
    char *exclude_learners;
    int32_t cv_folds;
    double holdout;
    uint64_t seed;
    int32_t threads;
    int32_t max_bin;
    char *column_types; /* "name=type,..." as given (checked when set) */
    char *drop;         /* "a,b" as given */
    bool robust_scale;  /* scaling=robust */
    char *learner;
    char **params;
    int32_t n_params;
    /* logging and cancellation */
    automl_log_fn log_fn;
    void *log_user;
    volatile int cancel;
};

/* One leaderboard row as stored in the model (strings, so a loaded model needs no learner). */
typedef struct am_lb_row {
    int32_t id;
    char *learner;
    char *params;
    double score;
    double seconds;
    char *status;
} am_lb_row;

struct automl_model {
    am_target target;
    am_metric metric;
    am_featurizer *featurizer;
    am_model *model;
    const am_learner_type *learner;
    am_params params;
    char *params_text;
    am_lb_row *board; /* best first */
    int32_t n_board;
    am_exit_reason exit_reason;
    double best_score;
    bool refit_fallback;
    int64_t n_rows;
    uint64_t seed;
    /* phases in seconds; fit_start is this process's am_now() at fit start (0 when loaded) */
    double seconds_read, seconds_featurize, seconds_search, seconds_refit, seconds_save;
    double fit_start, fit_seconds;
    double deadline; /* the fit's deadline, so saving stays inside the budget */
    am_guardrails guardrails; /* the data report */
};

/* Fills the session's message from a diag and returns the status as a public one. */
automl_status am_api_fail(automl_session *s, const am_diag *d);
/* Sets the session's message from a format. */
automl_status am_api_failf(automl_session *s, automl_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
am_logger am_api_logger(const automl_session *s);

/* Reads a CSV for the model (api_predict.c): each model input column forced to its training
 * type, and keep_levels (the target's name, or NULL) read as labels. */
am_status am_api_read_for_model(const automl_model *m, const char *path, const char *keep_levels,
                                am_frame **out, am_diag *d);

/* Model building blocks (api_model.c). */
automl_model *am_api_model_new(void);
void am_api_model_take_result(automl_model *m, am_search_result *r);

/* A growable string for JSON and CSV output. */
typedef struct am_text {
    char *s;
    size_t len, cap;
    bool failed;
} am_text;

void am_text_add(am_text *t, const char *str);
void am_text_addf(am_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void am_text_json_str(am_text *t, const char *str);  /* quoted, escaped */
void am_text_json_num(am_text *t, double v);          /* null when not finite */
void am_text_csv_field(am_text *t, const char *str);  /* quoted when needed */

#endif
