/* api.c — sessions (options, errors, logging) and fitting. No algorithms live here: this file
 * turns options into a search configuration and hands the work to search/. */
#define _GNU_SOURCE
#include "api_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TIME_BUDGET 60.0
#define MAX_THREADS 64
/* Below this many rows the default validation is 5-fold CV, above it a 20 % holdout. */
#define CV_ROW_LIMIT 10000

unsigned automl_version(void)
{
    return (AUTOML_VERSION_MAJOR << 16) | (AUTOML_VERSION_MINOR << 8) | AUTOML_VERSION_PATCH;
}

const char *automl_status_name(automl_status s)
{
    static const char *const names[] = {
        "AUTOML_OK", "AUTOML_ERR_NOMEM", "AUTOML_ERR_ARG", "AUTOML_ERR_CONFIG", "AUTOML_ERR_IO",
        "AUTOML_ERR_DATA", "AUTOML_ERR_FORMAT", "AUTOML_ERR_NUMERIC", "AUTOML_ERR_CANCELLED",
        "AUTOML_ERR_INTERNAL",
    };
    if ((unsigned)s < AM_COUNT(names))
        return names[s];
    return "AUTOML_ERR_UNKNOWN";
}

void automl_free(void *p)
{
    am_free(p);
}

/* ---- errors and logging ------------------------------------------------------------------ */

automl_status am_api_fail(automl_session *s, const am_diag *d)
{
    if (s)
        am_diag_format(d, s->errmsg, sizeof(s->errmsg));
    return (automl_status)d->status;
}

automl_status am_api_failf(automl_session *s, automl_status st, const char *fmt, ...)
{
    if (s) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
        va_end(ap);
    }
    return st;
}

am_logger am_api_logger(const automl_session *s)
{
    am_logger lg = {s->log_fn, s->log_user};
    return lg;
}

const char *automl_session_errmsg(const automl_session *s)
{
    return s ? s->errmsg : "no session";
}

void automl_session_set_log(automl_session *s, automl_log_fn fn, void *user)
{
    if (!s)
        return;
    s->log_fn = fn;
    s->log_user = user;
}

void automl_session_cancel(automl_session *s)
{
    if (s)
        s->cancel = 1;
}

/* ---- sessions ---------------------------------------------------------------------------- */

static int32_t default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > MAX_THREADS ? MAX_THREADS : (int32_t)n;
}

automl_status automl_session_new(automl_session **out)
{
    if (!out)
        return AUTOML_ERR_ARG;
    automl_session *s = am_calloc(1, sizeof(*s));
    *out = s;
    if (!s)
        return AUTOML_ERR_NOMEM;
    s->time_budget = DEFAULT_TIME_BUDGET;
    s->exit_score = NAN;
    s->threads = default_threads();
    return AUTOML_OK;
}

void automl_session_free(automl_session *s)
{
    if (!s)
        return;
    am_free(s->target);
    am_free(s->learners);
    am_free(s->exclude_learners);
    am_free(s->learner);
    am_free(s->column_types);
    am_free(s->drop);
    for (int32_t i = 0; i < s->n_params; i++)
        am_free(s->params[i]);
    am_free(s->params);
    am_free(s);
}

static const char *const session_keys[] = {
    "target", "task", "metric", "time_budget", "max_trials", "exit_score", "patience",
    "learners", "exclude_learners", "cv", "holdout", "seed", "threads", "learner", "max_bin",
    "column_types", "drop", "scaling",
};

static automl_status set_string(automl_session *s, char **slot, const char *value)
{
    char *copy = am_strdup(value);
    if (!copy)
        return am_api_failf(s, AUTOML_ERR_NOMEM, "out of memory");
    am_free(*slot);
    *slot = copy;
    return AUTOML_OK;
}

static automl_status set_number(automl_session *s, const char *key, const char *value, double lo,
                                double hi, bool integer, double *out)
{
    double v;
    if (!am_parse_double(value, strlen(value), &v) || !isfinite(v))
        return am_api_failf(s, AUTOML_ERR_CONFIG, "%s=%s: expected a number", key, value);
    if (integer && v != floor(v))
        return am_api_failf(s, AUTOML_ERR_CONFIG, "%s=%s: expected a whole number", key, value);
    if (v < lo || v > hi) {
        char a[32], b[32];
        return am_api_failf(s, AUTOML_ERR_CONFIG, "%s=%s: must be in [%s, %s]", key, value,
                            am_format_double(lo, a, sizeof(a)), am_format_double(hi, b, sizeof(b)));
    }
    *out = v;
    return AUTOML_OK;
}

static automl_status set_int32(automl_session *s, const char *key, const char *value, double lo,
                               double hi, int32_t *slot)
{
    double v;
    automl_status st = set_number(s, key, value, lo, hi, true, &v);
    if (st == AUTOML_OK)
        *slot = (int32_t)v;
    return st;
}

static automl_status set_task(automl_session *s, const char *value)
{
    if (!strcmp(value, "auto")) {
        s->task = 0;
        return AUTOML_OK;
    }
    am_task t = am_task_parse(value);
    if (!t)
        return am_api_failf(s, AUTOML_ERR_CONFIG,
                            "task=%s: must be one of auto, binary, multiclass, regression", value);
    s->task = t;
    return AUTOML_OK;
}

static automl_status set_metric(automl_session *s, const char *value)
{
    am_metric m = am_metric_parse(value);
    if (!m)
        return am_api_failf(s, AUTOML_ERR_CONFIG,
                            "metric=%s: must be one of auc, log_loss, accuracy, f1_macro, rmse, "
                            "mae, r2", value);
    s->metric = m;
    return AUTOML_OK;
}

/* ---- column types and drops ---------------------------------------------------------------- */

/* The user's roles, parsed from the session's texts: the names point into copies of them. */
typedef struct user_roles {
    char *types_text, *drop_text;
    am_role_override *types;
    const char **drop;
    int32_t n_types, n_drop;
    am_role_options opts;
    am_csv_force *force; /* the reader's forced types for overrides that need one */
    int32_t n_force;
} user_roles;

static void user_roles_fini(user_roles *u)
{
    am_free(u->types_text);
    am_free(u->drop_text);
    am_free(u->types);
    am_free(u->drop);
    am_free(u->force);
    memset(u, 0, sizeof(*u));
}

/* Splits text (modified in place) at commas into at most max non-empty items; returns the
 * count, -1 when an item is empty. */
static int32_t split_commas(char *text, char **items, int32_t max)
{
    int32_t n = 0;
    for (char *p = text; n < max;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p)
            return -1;
        items[n++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

static int32_t count_items(const char *text)
{
    int32_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    return n;
}

/* Parses "a=category,b=text" and "x,y" (either text may be NULL). AUTOML_ERR_CONFIG naming
 * the bad item. */
static automl_status user_roles_parse(automl_session *s, const char *types, const char *drop,
                                      user_roles *u)
{
    memset(u, 0, sizeof(*u));
    int32_t nt = types ? count_items(types) : 0, nd = drop ? count_items(drop) : 0;
    u->types_text = types ? am_strdup(types) : NULL;
    u->drop_text = drop ? am_strdup(drop) : NULL;
    char **items = am_calloc((size_t)AM_MAX(nt, nd) + 1, sizeof(char *));
    u->types = am_calloc((size_t)nt + 1, sizeof(*u->types));
    u->drop = am_calloc((size_t)nd + 1, sizeof(*u->drop));
    u->force = am_calloc((size_t)nt + 1, sizeof(*u->force));
    automl_status st = AUTOML_OK;
    if (!items || !u->types || !u->drop || !u->force || (types && !u->types_text) ||
        (drop && !u->drop_text)) {
        st = am_api_failf(s, AUTOML_ERR_NOMEM, "out of memory");
        goto done;
    }
    int32_t n = types ? split_commas(u->types_text, items, nt) : 0;
    for (int32_t i = 0; i < n && st == AUTOML_OK; i++) {
        char *eq = strrchr(items[i], '=');
        am_role role;
        if (!eq || eq == items[i] || !am_role_parse(eq + 1, &role)) {
            st = am_api_failf(s, AUTOML_ERR_CONFIG,
                              "column_types: \"%s\": expected NAME=TYPE with TYPE one of "
                              "numeric, category, boolean, datetime, text", items[i]);
            break;
        }
        *eq = '\0';
        u->types[u->n_types++] = (am_role_override){items[i], role};
        am_coltype forced = am_role_csv_type(role);
        if (forced)
            u->force[u->n_force++] = (am_csv_force){.name = items[i], .type = forced};
    }
    if (n < 0)
        st = am_api_failf(s, AUTOML_ERR_CONFIG, "column_types: an empty item in \"%s\"", types);
    int32_t m = st == AUTOML_OK && drop ? split_commas(u->drop_text, items, nd) : 0;
    if (m < 0)
        st = am_api_failf(s, AUTOML_ERR_CONFIG, "drop: an empty column name in \"%s\"", drop);
    for (int32_t i = 0; i < m; i++)
        u->drop[u->n_drop++] = items[i];
    u->opts = (am_role_options){u->types, u->n_types, u->drop, u->n_drop};
done:
    am_free(items);
    if (st != AUTOML_OK)
        user_roles_fini(u);
    return st;
}

/* Checks a column_types or drop text when it is set, so a typo fails at once. */
static automl_status set_roles_text(automl_session *s, char **slot, const char *value,
                                    bool types)
{
    user_roles u;
    automl_status st = user_roles_parse(s, types ? value : NULL, types ? NULL : value, &u);
    user_roles_fini(&u);
    return st == AUTOML_OK ? set_string(s, slot, value) : st;
}

static automl_status set_known(automl_session *s, const char *key, const char *value)
{
    double v;
    automl_status st;
    if (!strcmp(key, "target"))
        return set_string(s, &s->target, value);
    if (!strcmp(key, "task"))
        return set_task(s, value);
    if (!strcmp(key, "metric"))
        return set_metric(s, value);
    if (!strcmp(key, "learners"))
        return set_string(s, &s->learners, value);
    if (!strcmp(key, "exclude_learners"))
        return set_string(s, &s->exclude_learners, value);
    if (!strcmp(key, "learner"))
        return set_string(s, &s->learner, value);
    if (!strcmp(key, "column_types"))
        return set_roles_text(s, &s->column_types, value, true);
    if (!strcmp(key, "drop"))
        return set_roles_text(s, &s->drop, value, false);
    if (!strcmp(key, "scaling")) {
        if (strcmp(value, "standard") && strcmp(value, "robust"))
            return am_api_failf(s, AUTOML_ERR_CONFIG, "scaling=%s: must be standard or robust",
                                value);
        s->robust_scale = !strcmp(value, "robust");
        return AUTOML_OK;
    }
    if (!strcmp(key, "time_budget")) {
        st = set_number(s, key, value, 0.001, 1e9, false, &v);
        if (st == AUTOML_OK) {
            s->time_budget = v;
            s->time_budget_set = true;
        }
        return st;
    }
    if (!strcmp(key, "exit_score")) {
        st = set_number(s, key, value, -1e300, 1e300, false, &v);
        if (st == AUTOML_OK)
            s->exit_score = v;
        return st;
    }
    if (!strcmp(key, "holdout")) {
        st = set_number(s, key, value, 1e-9, 1 - 1e-9, false, &v);
        if (st == AUTOML_OK) {
            s->holdout = v;
            s->cv_folds = 0;
        }
        return st;
    }
    if (!strcmp(key, "max_trials"))
        return set_int32(s, key, value, 0, 1e9, &s->max_trials);
    if (!strcmp(key, "patience"))
        return set_int32(s, key, value, 0, 1e9, &s->patience);
    if (!strcmp(key, "threads"))
        return set_int32(s, key, value, 1, MAX_THREADS, &s->threads);
    if (!strcmp(key, "max_bin"))
        return set_int32(s, key, value, 2, 255, &s->max_bin);
    if (!strcmp(key, "cv")) {
        st = set_int32(s, key, value, 2, 1000, &s->cv_folds);
        if (st == AUTOML_OK)
            s->holdout = 0;
        return st;
    }
    if (!strcmp(key, "seed")) {
        st = set_number(s, key, value, 0, 9007199254740992.0, true, &v);
        if (st == AUTOML_OK)
            s->seed = (uint64_t)v;
        return st;
    }
    return AUTOML_ERR_ARG;
}

automl_status automl_session_set(automl_session *s, const char *key, const char *value)
{
    if (!s)
        return AUTOML_ERR_ARG;
    if (!key || !value)
        return am_api_failf(s, AUTOML_ERR_ARG, "automl_session_set: key and value are required");
    s->errmsg[0] = '\0';
    automl_status st = set_known(s, key, value);
    if (st != AUTOML_ERR_ARG)
        return st;
    const char *nearest = session_keys[0];
    for (size_t i = 1; i < AM_COUNT(session_keys); i++)
        if (am_edit_distance(key, session_keys[i]) < am_edit_distance(key, nearest))
            nearest = session_keys[i];
    return am_api_failf(s, AUTOML_ERR_ARG, "unknown option \"%s\"; did you mean \"%s\"?", key,
                        nearest);
}

automl_status automl_session_add_param(automl_session *s, const char *key_value)
{
    if (!s || !key_value)
        return AUTOML_ERR_ARG;
    char **params = am_realloc(s->params, sizeof(char *) * (size_t)(s->n_params + 1));
    if (!params)
        return am_api_failf(s, AUTOML_ERR_NOMEM, "out of memory");
    s->params = params;
    s->params[s->n_params] = am_strdup(key_value);
    if (!s->params[s->n_params])
        return am_api_failf(s, AUTOML_ERR_NOMEM, "out of memory");
    s->n_params++;
    return AUTOML_OK;
}

/* ---- choosing learners ------------------------------------------------------------------- */

/* Calls fn for each non-empty, blank-trimmed name of a comma-separated list. */
static automl_status for_each_name(automl_session *s, const char *list,
                                   automl_status (*fn)(automl_session *, const char *, void *),
                                   void *user)
{
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[128];
        while (len && (*p == ' ')) {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        if (len >= sizeof(name))
            return am_api_failf(s, AUTOML_ERR_CONFIG, "learner name too long");
        memcpy(name, p, len);
        name[len] = '\0';
        if (len) {
            automl_status st = fn(s, name, user);
            if (st != AUTOML_OK)
                return st;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return AUTOML_OK;
}

static automl_status unknown_learner(automl_session *s, const char *name)
{
    const char *nearest = am_learner_at(0)->name;
    char all[512] = "";
    for (int32_t i = 0; i < am_learner_count(); i++) {
        const char *n = am_learner_at(i)->name;
        if (am_edit_distance(name, n) < am_edit_distance(name, nearest))
            nearest = n;
        if (i)
            strncat(all, ", ", sizeof(all) - strlen(all) - 1);
        strncat(all, n, sizeof(all) - strlen(all) - 1);
    }
    return am_api_failf(s, AUTOML_ERR_CONFIG,
                        "unknown learner \"%s\"; did you mean \"%s\"? (learners: %s)", name,
                        nearest, all);
}

static automl_status mark_learner(automl_session *s, const char *name, void *user)
{
    bool *mask = user;
    for (int32_t i = 0; i < am_learner_count(); i++) {
        if (!strcmp(am_learner_at(i)->name, name)) {
            mask[i] = true;
            return AUTOML_OK;
        }
    }
    return unknown_learner(s, name);
}

/* Fills list with the learners allowed by the learners / exclude_learners options: those named
 * in learners, or without it every learner but the on-request ones (k-NN), less the excluded. */
static automl_status allowed_learners(automl_session *s, const am_learner_type **list,
                                      int32_t *n)
{
    int32_t total = am_learner_count();
    bool include[64] = {false}, exclude[64] = {false};
    if (total > 64)
        return am_api_failf(s, AUTOML_ERR_INTERNAL, "too many learners");
    automl_status st = AUTOML_OK;
    if (s->learners)
        st = for_each_name(s, s->learners, mark_learner, include);
    if (st == AUTOML_OK && s->exclude_learners)
        st = for_each_name(s, s->exclude_learners, mark_learner, exclude);
    if (st != AUTOML_OK)
        return st;
    *n = 0;
    for (int32_t i = 0; i < total; i++)
        if ((s->learners ? include[i] : !am_learner_at(i)->on_request) && !exclude[i])
            list[(*n)++] = am_learner_at(i);
    if (*n == 0)
        return am_api_failf(s, AUTOML_ERR_CONFIG, "no learner left to search after "
                                                  "--learners/--exclude-learners");
    return AUTOML_OK;
}

/* ---- fitting ----------------------------------------------------------------------------- */

static automl_status find_target(automl_session *s, const am_frame *f, const char *path,
                                 int32_t *col)
{
    *col = am_frame_col_find(f, s->target);
    if (*col >= 0)
        return AUTOML_OK;
    const char *nearest = f->cols[0].name;
    for (int32_t j = 1; j < f->n_cols; j++)
        if (am_edit_distance(s->target, f->cols[j].name) <
            am_edit_distance(s->target, nearest))
            nearest = f->cols[j].name;
    return am_api_failf(s, AUTOML_ERR_DATA,
                        "%s: target column \"%s\" not found; did you mean \"%s\"?", path,
                        s->target, nearest);
}

/* Time kept back for writing the model file: small models save in milliseconds. */
#define SAVE_RESERVE 0.25

static automl_status run_search(automl_session *s, const am_frame *f, int32_t target_col,
                                double deadline, const user_roles *u, am_search_result *res)
{
    const am_learner_type *list[64];
    int32_t n_list = 0;
    am_params fixed;
    am_search_options o;
    memset(&o, 0, sizeof(o));
    automl_status st;
    if (s->learner) {
        list[0] = am_learner_find(s->learner);
        if (!list[0])
            return unknown_learner(s, s->learner);
        n_list = 1;
        am_diag d;
        am_diag_clear(&d);
        am_params_defaults(list[0]->params, &fixed);
        if (am_params_parse(list[0]->params, (const char *const *)s->params, s->n_params, &fixed,
                            &d) != AM_OK)
            return am_api_fail(s, &d);
        o.fixed = &fixed;
        o.validate = s->cv_folds >= 2 || s->holdout > 0;
    } else {
        if (s->n_params)
            return am_api_failf(s, AUTOML_ERR_CONFIG,
                                "--param needs --learner NAME (parameters belong to one learner)");
        st = allowed_learners(s, list, &n_list);
        if (st != AUTOML_OK)
            return st;
    }
    o.learners = list;
    o.n_learners = n_list;
    o.task = s->task;
    o.metric = s->metric;
    o.cv_folds = s->cv_folds;
    o.holdout = s->holdout;
    if (o.cv_folds < 2 && o.holdout <= 0) {
        if (f->n_rows < CV_ROW_LIMIT)
            o.cv_folds = 5;
        else
            o.holdout = 0.2;
    }
    o.deadline = deadline;
    o.save_reserve = SAVE_RESERVE;
    o.max_trials = s->max_trials;
    o.exit_score = s->exit_score;
    o.patience = s->patience;
    o.seed = s->seed;
    o.n_threads = s->threads;
    o.max_bin = s->max_bin;
    o.cancel = &s->cancel;
    o.roles = &u->opts;
    o.robust_scale = s->robust_scale;
    am_logger lg = am_api_logger(s);
    am_diag d;
    am_diag_clear(&d);
    if (am_search_run(f, target_col, &o, &lg, res, &d) != AM_OK)
        return am_api_fail(s, &d);
    return AUTOML_OK;
}

automl_status automl_fit_csv(automl_session *s, const char *train_csv, automl_model **out)
{
    if (!s)
        return AUTOML_ERR_ARG;
    if (!train_csv || !out)
        return am_api_failf(s, AUTOML_ERR_ARG, "automl_fit_csv: path and out are required");
    *out = NULL;
    s->errmsg[0] = '\0';
    s->cancel = 0;
    if (!s->target)
        return am_api_failf(s, AUTOML_ERR_CONFIG, "no target column: set \"target\" (--target)");
    double start = am_now();
    /* A search needs a budget; a single fit of given parameters ends on its own, as a fit in
     * any other library does, unless the caller set one. */
    bool single_fit = s->learner && s->learner[0];
    double deadline = single_fit && !s->time_budget_set ? INFINITY : start + s->time_budget;

    user_roles u;
    automl_status st = user_roles_parse(s, s->column_types, s->drop, &u);
    if (st != AUTOML_OK)
        return st;
    am_csv_options copts = {0};
    copts.keep_levels = s->target;
    copts.force = u.force;
    copts.n_force = u.n_force;
    am_frame *frame = NULL;
    am_diag d;
    am_diag_clear(&d);
    if (am_csv_read(train_csv, &copts, &frame, &d) != AM_OK) {
        user_roles_fini(&u);
        return am_api_fail(s, &d);
    }
    double read_done = am_now();

    int32_t target_col;
    am_search_result res;
    memset(&res, 0, sizeof(res));
    st = find_target(s, frame, train_csv, &target_col);
    if (st == AUTOML_OK)
        st = run_search(s, frame, target_col, deadline, &u, &res);
    am_frame_free(frame);
    user_roles_fini(&u);
    if (st != AUTOML_OK) {
        am_search_result_fini(&res);
        return st;
    }
    automl_model *m = am_api_model_new();
    if (!m) {
        am_search_result_fini(&res);
        return am_api_failf(s, AUTOML_ERR_NOMEM, "out of memory");
    }
    am_api_model_take_result(m, &res);
    am_search_result_fini(&res);
    if (!m->params_text) {
        automl_model_free(m);
        return am_api_failf(s, AUTOML_ERR_NOMEM, "out of memory");
    }
    m->seed = s->seed;
    m->fit_start = start;
    m->deadline = deadline;
    m->seconds_read = read_done - start;
    m->fit_seconds = am_now() - start;
    *out = m;
    return AUTOML_OK;
}
