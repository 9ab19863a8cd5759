/* api_model.c — the model object: built from a search result, saved to and loaded from the model
 * file, described by accessors and JSON.
 *
 * Model file sections (bundle.h): META (task, metric, best score, exit reason), TRGT (the
 * target), FEAT (the featurizer), MODL (learner name, its format version, parameters by name,
 * payload), LBRD (the leaderboard as text), GRDL (the data report: guardrails).
 *
 * Timings are deliberately not saved: with them, two runs with the same seed would write
 * different bytes, and "same seed, same model file" is a property tests and users rely on.
 * The fit summary (automl_model_summary_json) reports them for a model fitted in-process. */
#define _GNU_SOURCE
#include "api_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define META_VERSION 1u
#define MODL_VERSION 1u
#define LBRD_VERSION 1u
#define TRGT_VERSION 1u
#define GRDL_VERSION 1u
#define MAX_TEXT 65536 /* longest string field we accept from a model file */
#define MAX_TRIALS_IN_FILE 10000000

/* ---- text building ----------------------------------------------------------------------- */

static void text_reserve(am_text *t, size_t extra)
{
    if (t->failed || t->len + extra + 1 <= t->cap)
        return;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + extra + 1)
        cap *= 2;
    char *s = am_realloc(t->s, cap);
    if (!s) {
        t->failed = true;
        return;
    }
    t->s = s;
    t->cap = cap;
}

void am_text_add(am_text *t, const char *str)
{
    size_t n = strlen(str);
    text_reserve(t, n);
    if (t->failed)
        return;
    memcpy(t->s + t->len, str, n + 1);
    t->len += n;
}

void am_text_addf(am_text *t, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        am_text_add(t, small);
        return;
    }
    text_reserve(t, (size_t)n);
    if (t->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void am_text_json_str(am_text *t, const char *str)
{
    am_text_add(t, "\"");
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\')
            am_text_addf(t, "\\%c", *p);
        else if (*p == '\n')
            am_text_add(t, "\\n");
        else if (*p == '\t')
            am_text_add(t, "\\t");
        else if (*p < 0x20)
            am_text_addf(t, "\\u%04x", *p);
        else {
            char c[2] = {(char)*p, 0};
            am_text_add(t, c);
        }
    }
    am_text_add(t, "\"");
}

void am_text_json_num(am_text *t, double v)
{
    char buf[40];
    am_text_add(t, isfinite(v) ? am_format_double(v, buf, sizeof(buf)) : "null");
}

void am_text_csv_field(am_text *t, const char *str)
{
    if (!strpbrk(str, ",\"\r\n;\t")) {
        am_text_add(t, str);
        return;
    }
    am_text_add(t, "\"");
    for (const char *p = str; *p; p++)
        am_text_add(t, *p == '"' ? "\"\"" : (char[]){*p, 0});
    am_text_add(t, "\"");
}

/* ---- building and freeing ---------------------------------------------------------------- */

automl_model *am_api_model_new(void)
{
    automl_model *m = am_calloc(1, sizeof(*m));
    if (m)
        m->best_score = NAN;
    return m;
}

void automl_model_free(automl_model *m)
{
    if (!m)
        return;
    am_target_fini(&m->target);
    am_featurizer_free(m->featurizer);
    am_model_free(m->model);
    am_free(m->params_text);
    for (int32_t i = 0; i < m->n_board; i++) {
        am_free(m->board[i].learner);
        am_free(m->board[i].params);
        am_free(m->board[i].status);
    }
    am_free(m->board);
    am_guardrails_fini(&m->guardrails);
    am_free(m);
}

static char *params_text(const am_learner_type *lt, const am_params *p, bool all)
{
    char buf[1024];
    am_params_format(lt->params, p, all, buf, sizeof(buf));
    return am_strdup(buf);
}

static const char *trial_status_text(const am_trial *t)
{
    if (t->status == AM_OK)
        return "ok";
    if (t->status == AM_ERR_CANCELLED)
        return "cancelled";
    return t->note[0] ? t->note : am_status_name(t->status);
}

/* Moves the target, featurizer and model out of r (leaving r safe to finalise) and copies the
 * leaderboard as text. Leaves m->params_text NULL when out of memory. */
void am_api_model_take_result(automl_model *m, am_search_result *r)
{
    m->target = r->target;
    memset(&r->target, 0, sizeof(r->target));
    m->featurizer = r->featurizer;
    r->featurizer = NULL;
    m->model = r->model;
    r->model = NULL;
    m->learner = r->learner;
    m->params = r->params;
    m->metric = r->metric;
    m->exit_reason = r->exit_reason;
    m->refit_fallback = r->refit_fallback;
    m->n_rows = r->n_rows;
    m->best_score = r->best >= 0 ? r->trials[r->best].score : NAN;
    m->seconds_featurize = r->seconds_featurize;
    m->seconds_search = r->seconds_search;
    m->seconds_refit = r->seconds_refit;
    m->guardrails = r->guardrails;
    memset(&r->guardrails, 0, sizeof(r->guardrails));
    int32_t *order = am_malloc_array((size_t)r->n_trials + 1, sizeof(int32_t));
    m->board = am_calloc((size_t)r->n_trials + 1, sizeof(am_lb_row));
    if (!order || !m->board) {
        am_free(order);
        return;
    }
    am_search_rank(r, order);
    for (int32_t k = 0; k < r->n_trials; k++) {
        const am_trial *t = &r->trials[order[k]];
        am_lb_row *row = &m->board[m->n_board++];
        row->id = t->id;
        row->score = t->score;
        row->seconds = t->seconds;
        row->learner = am_strdup(t->learner->name);
        row->params = params_text(t->learner, &t->params, false);
        row->status = am_strdup(trial_status_text(t));
        if (!row->learner || !row->params || !row->status) {
            am_free(order);
            return;
        }
    }
    am_free(order);
    m->params_text = params_text(m->learner, &m->params, true);
}

/* ---- saving ------------------------------------------------------------------------------ */

static void write_meta(const automl_model *m, am_buf *b)
{
    am_buf_str(b, AUTOML_VERSION_STRING);
    am_buf_u32(b, (uint32_t)m->target.task);
    am_buf_u32(b, (uint32_t)m->metric);
    am_buf_u32(b, (uint32_t)m->exit_reason);
    am_buf_f64(b, m->best_score);
    am_buf_u8(b, m->refit_fallback);
    am_buf_i64(b, m->n_rows);
    am_buf_u64(b, m->seed);
}

static am_status write_model(const automl_model *m, am_buf *b, am_diag *d)
{
    const am_param_table *t = m->learner->params;
    am_buf_str(b, m->learner->name);
    am_buf_u32(b, m->learner->format_version);
    am_buf_u64(b, (uint64_t)t->n);
    for (int32_t i = 0; i < t->n; i++) {
        am_buf_str(b, t->desc[i].key);
        am_buf_f64(b, m->params.v[i]);
    }
    return m->learner->save(m->model, b, d);
}

static void write_board(const automl_model *m, am_buf *b)
{
    am_buf_u64(b, (uint64_t)m->n_board);
    for (int32_t i = 0; i < m->n_board; i++) {
        const am_lb_row *row = &m->board[i];
        am_buf_u32(b, (uint32_t)row->id);
        am_buf_str(b, row->learner);
        am_buf_str(b, row->params);
        am_buf_f64(b, row->score);
        am_buf_str(b, row->status);
    }
}

/* Each section is built in its own buffer so its CRC covers exactly its payload. */
static am_status add_section(am_bundle *bundle, const char *tag, uint32_t version, am_buf *b,
                             am_status st, am_diag *d)
{
    if (st == AM_OK)
        st = am_buf_status(b, d);
    if (st == AM_OK)
        st = am_bundle_add(bundle, tag, version, b, d);
    am_buf_fini(b);
    am_buf_init(b);
    return st;
}

static am_status build_bundle(const automl_model *m, am_bundle *bundle, am_diag *d)
{
    am_buf b;
    am_buf_init(&b);
    write_meta(m, &b);
    am_status st = add_section(bundle, "META", META_VERSION, &b, AM_OK, d);
    if (st == AM_OK)
        st = add_section(bundle, "TRGT", TRGT_VERSION, &b, am_target_save(&m->target, &b, d), d);
    if (st == AM_OK)
        st = add_section(bundle, "FEAT", AM_FEATURIZER_FORMAT, &b,
                         am_featurizer_save(m->featurizer, &b, d), d);
    if (st == AM_OK)
        st = add_section(bundle, "MODL", MODL_VERSION, &b, write_model(m, &b, d), d);
    if (st == AM_OK) {
        write_board(m, &b);
        st = add_section(bundle, "LBRD", LBRD_VERSION, &b, AM_OK, d);
    }
    if (st == AM_OK)
        st = add_section(bundle, "GRDL", GRDL_VERSION, &b,
                         am_guardrails_save(&m->guardrails, &b, d), d);
    am_buf_fini(&b);
    return st;
}

automl_status automl_model_save(automl_session *s, automl_model *m, const char *path)
{
    if (!s)
        return AUTOML_ERR_ARG;
    if (!m || !path)
        return am_api_failf(s, AUTOML_ERR_ARG, "automl_model_save: model and path are required");
    s->errmsg[0] = '\0';
    double start = am_now();
    am_bundle bundle;
    am_bundle_init(&bundle);
    am_diag d;
    am_diag_clear(&d);
    am_status st = build_bundle(m, &bundle, &d);
    if (st == AM_OK)
        st = am_bundle_save(&bundle, path, &d);
    am_bundle_fini(&bundle);
    if (st != AM_OK)
        return am_api_fail(s, &d);
    m->seconds_save = am_now() - start;
    if (m->fit_start > 0)
        m->fit_seconds = am_now() - m->fit_start;
    return AUTOML_OK;
}

/* ---- loading ----------------------------------------------------------------------------- */

static const am_section *require(const am_bundle *b, const char *tag, uint32_t max_version,
                                 const char *path, am_diag *d)
{
    const am_section *sec = am_bundle_find(b, tag);
    if (!sec) {
        am_fail(d, AM_ERR_FORMAT, "model file has no %s section", tag);
        am_diag_locate(d, path, 0, NULL);
        return NULL;
    }
    if (sec->version > max_version) {
        am_fail(d, AM_ERR_FORMAT, "section %s version %u is newer than this build reads (%u)",
                tag, sec->version, max_version);
        am_diag_locate(d, path, 0, NULL);
        return NULL;
    }
    return sec;
}

static am_status read_meta(automl_model *m, const am_section *sec, am_diag *d)
{
    am_reader r;
    am_reader_init(&r, sec->data, sec->len, "section META");
    char *version = am_get_str(&r, 64);
    am_free(version);
    uint32_t task = am_get_u32(&r);
    m->metric = (am_metric)am_get_u32(&r);
    uint32_t exit_reason = am_get_u32(&r);
    m->best_score = am_get_f64(&r);
    m->refit_fallback = am_get_u8(&r) != 0;
    m->n_rows = am_get_i64(&r);
    m->seed = am_get_u64(&r);
    am_status st = am_reader_status(&r, true, d);
    if (st != AM_OK)
        return st;
    if (!am_metric_fits_task(m->metric, (am_task)task) || exit_reason < AM_EXIT_TIME ||
        exit_reason > AM_EXIT_SINGLE || m->n_rows < 0)
        return am_fail(d, AM_ERR_FORMAT, "section META: invalid task, metric or exit reason");
    m->exit_reason = (am_exit_reason)exit_reason;
    return AM_OK;
}

static am_status read_params(automl_model *m, am_reader *r, am_diag *d)
{
    const am_param_table *t = m->learner->params;
    am_params_defaults(t, &m->params);
    uint32_t n = (uint32_t)am_get_count(r, AM_PARAMS_MAX);
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        char *key = am_get_str(r, 128);
        double v = am_get_f64(r);
        int32_t k = key ? am_params_find(t, key) : -1;
        /* A parameter this build does not know is an error: its model may depend on it. */
        if (key && k < 0) {
            am_fail(d, AM_ERR_FORMAT, "section MODL: %s has no parameter \"%s\"",
                    m->learner->name, key);
            am_free(key);
            return AM_ERR_FORMAT;
        }
        if (k >= 0)
            m->params.v[k] = v;
        am_free(key);
    }
    am_status st = am_reader_status(r, false, d);
    if (st == AM_OK)
        st = am_params_check(t, &m->params, d);
    return st;
}

static am_status read_model(automl_model *m, const am_section *sec, am_diag *d)
{
    am_reader r;
    am_reader_init(&r, sec->data, sec->len, "section MODL");
    char *name = am_get_str(&r, 128);
    uint32_t version = am_get_u32(&r);
    if (!name)
        return am_reader_status(&r, false, d);
    m->learner = am_learner_find(name);
    if (!m->learner) {
        am_fail(d, AM_ERR_FORMAT, "section MODL: unknown learner \"%s\" (from a newer automl?)",
                name);
        am_free(name);
        return AM_ERR_FORMAT;
    }
    am_free(name);
    if (version > m->learner->format_version)
        return am_fail(d, AM_ERR_FORMAT, "%s model format %u is newer than this build reads (%u)",
                       m->learner->name, version, m->learner->format_version);
    am_status st = read_params(m, &r, d);
    if (st != AM_OK)
        return st;
    int32_t n_outputs = m->target.task == AM_TASK_REGRESSION ? 1 : m->target.n_classes;
    st = m->learner->load(&r, version, am_featurizer_n_features(m->featurizer), n_outputs,
                          &m->model, d);
    if (st == AM_OK)
        st = am_reader_status(&r, true, d);
    return st;
}

static am_status read_board(automl_model *m, const am_section *sec, am_diag *d)
{
    am_reader r;
    am_reader_init(&r, sec->data, sec->len, "section LBRD");
    uint32_t n = (uint32_t)am_get_count(&r, MAX_TRIALS_IN_FILE);
    if (r.failed || (size_t)n > sec->len)
        return am_fail(d, AM_ERR_FORMAT, "section LBRD: bad trial count");
    m->board = am_calloc((size_t)n + 1, sizeof(am_lb_row));
    if (!m->board)
        return am_fail(d, AM_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n && !r.failed; i++) {
        am_lb_row *row = &m->board[m->n_board++];
        row->id = (int32_t)am_get_u32(&r);
        row->learner = am_get_str(&r, MAX_TEXT);
        row->params = am_get_str(&r, MAX_TEXT);
        row->score = am_get_f64(&r);
        row->seconds = NAN;
        row->status = am_get_str(&r, MAX_TEXT);
    }
    return am_reader_status(&r, true, d);
}

static am_status read_bundle(automl_model *m, const am_bundle *b, const char *path, am_diag *d)
{
    const am_section *meta = require(b, "META", META_VERSION, path, d);
    const am_section *trgt = meta ? require(b, "TRGT", TRGT_VERSION, path, d) : NULL;
    const am_section *feat = trgt ? require(b, "FEAT", AM_FEATURIZER_FORMAT, path, d) : NULL;
    const am_section *modl = feat ? require(b, "MODL", MODL_VERSION, path, d) : NULL;
    const am_section *lbrd = modl ? require(b, "LBRD", LBRD_VERSION, path, d) : NULL;
    const am_section *grdl = lbrd ? require(b, "GRDL", GRDL_VERSION, path, d) : NULL;
    if (!grdl)
        return AM_ERR_FORMAT;
    am_reader r;
    am_reader_init(&r, trgt->data, trgt->len, "section TRGT");
    am_status st = am_target_load(&r, &m->target, d);
    if (st == AM_OK)
        st = am_reader_status(&r, true, d);
    if (st == AM_OK)
        st = read_meta(m, meta, d);
    if (st == AM_OK && !am_metric_fits_task(m->metric, m->target.task))
        st = am_fail(d, AM_ERR_FORMAT, "metric and target task disagree");
    if (st == AM_OK) {
        am_reader_init(&r, feat->data, feat->len, "section FEAT");
        st = am_featurizer_load(&r, feat->version, &m->featurizer, d);
        if (st == AM_OK)
            st = am_reader_status(&r, true, d);
    }
    if (st == AM_OK)
        st = read_model(m, modl, d);
    if (st == AM_OK)
        st = read_board(m, lbrd, d);
    if (st == AM_OK) {
        am_reader_init(&r, grdl->data, grdl->len, "section GRDL");
        st = am_guardrails_load(&r, &m->guardrails, d);
        if (st == AM_OK)
            st = am_reader_status(&r, true, d);
    }
    if (st == AM_OK) {
        m->params_text = params_text(m->learner, &m->params, true);
        if (!m->params_text)
            st = am_fail(d, AM_ERR_NOMEM, "out of memory");
    }
    return st;
}

automl_status automl_model_load(automl_session *s, const char *path, automl_model **out)
{
    if (!s)
        return AUTOML_ERR_ARG;
    if (!path || !out)
        return am_api_failf(s, AUTOML_ERR_ARG, "automl_model_load: path and out are required");
    *out = NULL;
    s->errmsg[0] = '\0';
    am_bundle bundle;
    am_bundle_init(&bundle);
    am_diag d;
    am_diag_clear(&d);
    automl_model *m = NULL;
    am_status st = am_bundle_load(&bundle, path, &d);
    if (st == AM_OK) {
        m = am_api_model_new();
        st = m ? read_bundle(m, &bundle, path, &d) : am_fail(&d, AM_ERR_NOMEM, "out of memory");
    }
    am_bundle_fini(&bundle);
    if (st != AM_OK) {
        automl_model_free(m);
        if (st == AM_ERR_FORMAT || st == AM_ERR_DATA || st == AM_ERR_CONFIG) {
            /* Whatever a section said, to the user the file is not a valid model. */
            d.status = AM_ERR_FORMAT;
            am_diag_locate(&d, path, 0, NULL);
        }
        return am_api_fail(s, &d);
    }
    *out = m;
    return AUTOML_OK;
}

/* ---- accessors --------------------------------------------------------------------------- */

const char *automl_model_task(const automl_model *m)
{
    return m ? am_task_name(m->target.task) : NULL;
}

const char *automl_model_metric(const automl_model *m)
{
    return m ? am_metric_name(m->metric) : NULL;
}

const char *automl_model_learner(const automl_model *m)
{
    return m ? m->learner->name : NULL;
}

const char *automl_model_target(const automl_model *m)
{
    return m ? m->target.name : NULL;
}

const char *automl_model_params(const automl_model *m)
{
    return m ? m->params_text : NULL;
}

double automl_model_best_score(const automl_model *m)
{
    return m ? m->best_score : NAN;
}

const char *automl_model_exit_reason(const automl_model *m)
{
    return m ? am_exit_reason_name(m->exit_reason) : NULL;
}

int32_t automl_model_n_outputs(const automl_model *m)
{
    if (!m)
        return 0;
    return m->target.task == AM_TASK_REGRESSION ? 1 : m->target.n_classes;
}

const char *automl_model_class_label(const automl_model *m, int32_t i)
{
    if (!m || m->target.task == AM_TASK_REGRESSION || i < 0 || i >= m->target.labels.n)
        return NULL;
    return m->target.labels.items[i];
}

int32_t automl_model_n_inputs(const automl_model *m)
{
    return m ? am_featurizer_n_inputs(m->featurizer) : 0;
}

const char *automl_model_input_name(const automl_model *m, int32_t i)
{
    if (!m || i < 0 || i >= am_featurizer_n_inputs(m->featurizer))
        return NULL;
    return am_featurizer_input_name(m->featurizer, i);
}

const char *automl_model_input_type(const automl_model *m, int32_t i)
{
    if (!m || i < 0 || i >= am_featurizer_n_inputs(m->featurizer))
        return NULL;
    return am_coltype_name(am_featurizer_input_type(m->featurizer, i));
}

int64_t automl_model_n_features(const automl_model *m)
{
    return m ? am_featurizer_n_features(m->featurizer) : 0;
}

const char *automl_model_feature_name(const automl_model *m, int64_t j)
{
    if (!m || j < 0 || j >= am_featurizer_n_features(m->featurizer))
        return NULL;
    return am_featurizer_feature_name(m->featurizer, j);
}

automl_status automl_model_importance(const automl_model *m, double *gain, double *splits)
{
    if (!m || !gain || !splits || !m->learner->importance)
        return AUTOML_ERR_ARG;
    m->learner->importance(m->model, gain, splits);
    return AUTOML_OK;
}

/* The learner's coefficients in new arrays: *k columns of the model's features and *k
 * intercepts. The callback is handed buffers for one column per output, the most a linear model
 * has, instead of being asked for k with NULL buffers first, so the answer does not depend on
 * how a learner treats that query. AUTOML_ERR_ARG when the learner has none. */
static automl_status fetch_coefficients(const automl_model *m, int32_t *k, double **coef,
                                        double **intercept)
{
    *k = 0;
    *coef = *intercept = NULL;
    if (!m->learner->coefficients || !m->model)
        return AUTOML_ERR_ARG;
    int64_t p = m->model->n_features;
    int32_t k_max = AM_MAX(m->model->n_outputs, 1);
    double *c = am_malloc_array((size_t)p + 1, (size_t)k_max * sizeof(double));
    double *b = am_malloc_array((size_t)k_max, sizeof(double));
    int32_t got = c && b ? m->learner->coefficients(m->model, c, b) : 0;
    if (got < 1 || got > k_max) {
        am_free(c);
        am_free(b);
        return c && b ? AUTOML_ERR_INTERNAL : AUTOML_ERR_NOMEM;
    }
    *k = got;
    *coef = c;
    *intercept = b;
    return AUTOML_OK;
}

automl_status automl_model_coefficients(const automl_model *m, int32_t *k, double *coef,
                                        double *intercept)
{
    if (k)
        *k = 0;
    if (!m || !k || !m->learner->coefficients)
        return AUTOML_ERR_ARG;
    int32_t got;
    double *c, *b;
    automl_status st = fetch_coefficients(m, &got, &c, &b);
    if (st != AUTOML_OK)
        return st;
    size_t p = (size_t)m->model->n_features;
    if (coef)
        memcpy(coef, c, (size_t)got * p * sizeof(double));
    if (intercept)
        memcpy(intercept, b, (size_t)got * sizeof(double));
    *k = got;
    am_free(c);
    am_free(b);
    return AUTOML_OK;
}

int32_t automl_model_n_guardrails(const automl_model *m)
{
    return m ? m->guardrails.n : 0;
}

automl_status automl_model_guardrail(const automl_model *m, int32_t i, const char **check,
                                     const char **state, const char **detail)
{
    if (!m || i < 0 || i >= m->guardrails.n)
        return AUTOML_ERR_ARG;
    const am_guardrail *g = &m->guardrails.items[i];
    if (check)
        *check = g->check;
    if (state)
        *state = am_guard_state_name(g->state);
    if (detail)
        *detail = g->detail;
    return AUTOML_OK;
}

int32_t automl_model_n_trials(const automl_model *m)
{
    return m ? m->n_board : 0;
}

automl_status automl_model_trial(const automl_model *m, int32_t rank, automl_trial_info *out)
{
    if (!m || !out || rank < 1 || rank > m->n_board)
        return AUTOML_ERR_ARG;
    const am_lb_row *row = &m->board[rank - 1];
    out->rank = rank;
    out->id = row->id;
    out->learner = row->learner;
    out->params = row->params;
    out->score = row->score;
    out->seconds = row->seconds;
    out->status = row->status;
    return AUTOML_OK;
}

/* ---- JSON -------------------------------------------------------------------------------- */

static void json_board(const automl_model *m, am_text *t)
{
    am_text_add(t, "[");
    for (int32_t i = 0; i < m->n_board; i++) {
        const am_lb_row *row = &m->board[i];
        am_text_addf(t, "%s{\"rank\":%d,\"id\":%d,\"learner\":", i ? "," : "", i + 1, row->id);
        am_text_json_str(t, row->learner);
        am_text_add(t, ",\"params\":");
        am_text_json_str(t, row->params);
        am_text_add(t, ",\"score\":");
        am_text_json_num(t, row->score);
        am_text_add(t, ",\"seconds\":");
        am_text_json_num(t, row->seconds);
        am_text_add(t, ",\"status\":");
        am_text_json_str(t, row->status);
        am_text_add(t, "}");
    }
    am_text_add(t, "]");
}

/* ,"guardrails":[{"check":..,"state":..,"detail":..},...] */
static void json_guardrails(const automl_model *m, am_text *t)
{
    am_text_add(t, ",\"guardrails\":[");
    for (int32_t i = 0; i < m->guardrails.n; i++) {
        const am_guardrail *g = &m->guardrails.items[i];
        am_text_add(t, i ? ",{\"check\":" : "{\"check\":");
        am_text_json_str(t, g->check);
        am_text_add(t, ",\"state\":");
        am_text_json_str(t, am_guard_state_name(g->state));
        am_text_add(t, ",\"detail\":");
        am_text_json_str(t, g->detail);
        am_text_add(t, "}");
    }
    am_text_add(t, "]");
}

static void json_summary_fields(const automl_model *m, am_text *t)
{
    am_text_add(t, "\"task\":");
    am_text_json_str(t, am_task_name(m->target.task));
    am_text_add(t, ",\"target\":");
    am_text_json_str(t, m->target.name);
    am_text_add(t, ",\"metric\":");
    am_text_json_str(t, am_metric_name(m->metric));
    am_text_add(t, ",\"best_score\":");
    am_text_json_num(t, m->best_score);
    am_text_add(t, ",\"best_learner\":");
    am_text_json_str(t, m->learner->name);
    am_text_add(t, ",\"best_params\":");
    am_text_json_str(t, m->params_text);
    am_text_addf(t, ",\"n_trials\":%d,\"exit_reason\":", m->n_board);
    am_text_json_str(t, am_exit_reason_name(m->exit_reason));
    am_text_add(t, ",\"fit_seconds\":");
    am_text_json_num(t, m->fit_seconds);
    /* null: none (a single fit without one), or a model loaded from a file */
    am_text_add(t, ",\"time_budget\":");
    am_text_json_num(t, m->fit_start > 0 ? m->deadline - m->fit_start : NAN);
    am_text_add(t, ",\"phases\":{\"read\":");
    am_text_json_num(t, m->seconds_read);
    am_text_add(t, ",\"featurize\":");
    am_text_json_num(t, m->seconds_featurize);
    am_text_add(t, ",\"search\":");
    am_text_json_num(t, m->seconds_search);
    am_text_add(t, ",\"refit\":");
    am_text_json_num(t, m->seconds_refit);
    am_text_add(t, ",\"save\":");
    am_text_json_num(t, m->seconds_save);
    am_text_addf(t, "},\"n_rows\":%lld,\"n_features\":%lld,\"refit_fallback\":%s",
                 (long long)m->n_rows, (long long)am_featurizer_n_features(m->featurizer),
                 m->refit_fallback ? "true" : "false");
    json_guardrails(m, t);
}

static automl_status finish_json(am_text *t, char **json)
{
    if (t->failed) {
        am_free(t->s);
        return AUTOML_ERR_NOMEM;
    }
    *json = t->s;
    return AUTOML_OK;
}

automl_status automl_model_summary_json(const automl_model *m, char **json)
{
    if (!m || !json)
        return AUTOML_ERR_ARG;
    am_text t = {0};
    am_text_add(&t, "{");
    json_summary_fields(m, &t);
    am_text_add(&t, ",\"leaderboard\":");
    json_board(m, &t);
    am_text_add(&t, "}");
    return finish_json(&t, json);
}

static void json_schema(const automl_model *m, am_text *t)
{
    am_text_add(t, "\"inputs\":[");
    for (int32_t i = 0; i < am_featurizer_n_inputs(m->featurizer); i++) {
        am_text_add(t, i ? ",{\"name\":" : "{\"name\":");
        am_text_json_str(t, am_featurizer_input_name(m->featurizer, i));
        am_text_add(t, ",\"type\":");
        am_text_json_str(t, am_coltype_name(am_featurizer_input_type(m->featurizer, i)));
        am_text_add(t, ",\"role\":");
        am_text_json_str(t, am_role_name(am_featurizer_input_role(m->featurizer, i)));
        am_text_add(t, "}");
    }
    am_text_add(t, "],\"features\":[");
    for (int64_t j = 0; j < am_featurizer_n_features(m->featurizer); j++) {
        if (j)
            am_text_add(t, ",");
        am_text_json_str(t, am_featurizer_feature_name(m->featurizer, j));
    }
    am_text_add(t, "],\"classes\":[");
    for (int32_t k = 0; m->target.task != AM_TASK_REGRESSION && k < m->target.labels.n; k++) {
        if (k)
            am_text_add(t, ",");
        am_text_json_str(t, m->target.labels.items[k]);
    }
    am_text_add(t, "]");
}

static void json_params(const automl_model *m, am_text *t)
{
    const am_param_table *pt = m->learner->params;
    am_text_add(t, "\"params\":{");
    for (int32_t i = 0; i < pt->n; i++) {
        char buf[64];
        if (i)
            am_text_add(t, ",");
        am_text_json_str(t, pt->desc[i].key);
        am_text_add(t, ":");
        am_params_value_text(&pt->desc[i], m->params.v[i], buf, sizeof(buf));
        if (pt->desc[i].kind == AM_P_ENUM)
            am_text_json_str(t, buf);
        else
            am_text_add(t, buf);
    }
    am_text_add(t, "}");
}

/* "importance": features by decreasing gain (tree models only). */
static void json_importance(const automl_model *m, am_text *t)
{
    int64_t p = am_featurizer_n_features(m->featurizer);
    double *gain = am_calloc((size_t)p + 1, sizeof(double));
    double *splits = am_calloc((size_t)p + 1, sizeof(double));
    int64_t *order = am_calloc((size_t)p + 1, sizeof(int64_t));
    if (!gain || !splits || !order) {
        t->failed = true;
    } else {
        m->learner->importance(m->model, gain, splits);
        for (int64_t j = 0; j < p; j++)
            order[j] = j;
        /* Insertion sort by gain, ties by index: p is the feature count, small. */
        for (int64_t i = 1; i < p; i++)
            for (int64_t k = i; k > 0 && gain[order[k]] > gain[order[k - 1]]; k--) {
                int64_t tmp = order[k];
                order[k] = order[k - 1];
                order[k - 1] = tmp;
            }
        am_text_add(t, ",\"importance\":[");
        for (int64_t k = 0; k < p; k++) {
            am_text_add(t, k ? ",{\"feature\":" : "{\"feature\":");
            am_text_json_str(t, am_featurizer_feature_name(m->featurizer, order[k]));
            am_text_add(t, ",\"gain\":");
            am_text_json_num(t, gain[order[k]]);
            am_text_add(t, ",\"splits\":");
            am_text_json_num(t, splits[order[k]]);
            am_text_add(t, "}");
        }
        am_text_add(t, "]");
    }
    am_free(gain);
    am_free(splits);
    am_free(order);
}

/* One class name for the per-class layout: the label, or the class index if there is none. */
static void json_class(const automl_model *m, am_text *t, int32_t c)
{
    if (m->target.task != AM_TASK_REGRESSION && c < m->target.labels.n)
        am_text_json_str(t, m->target.labels.items[c]);
    else
        am_text_addf(t, "\"%d\"", (int)c);
}

/* "coefficients" and "intercept" of linear models, every feature in feature order. One column:
 * [{"feature":name,"value":x},...] and a number. k columns (one per class):
 * {"classes":[labels],"features":[{"feature":name,"values":[k numbers]},...]} and k numbers. */
static void json_coefficients(const automl_model *m, am_text *t)
{
    int32_t k;
    double *c, *b;
    automl_status st = fetch_coefficients(m, &k, &c, &b);
    if (st != AUTOML_OK) {
        t->failed |= st == AUTOML_ERR_NOMEM;
        return;
    }
    int64_t p = m->model->n_features;
    am_text_add(t, k == 1 ? ",\"coefficients\":[" : ",\"coefficients\":{\"classes\":[");
    for (int32_t i = 0; k > 1 && i < k; i++) {
        am_text_add(t, i ? "," : "");
        json_class(m, t, i);
    }
    am_text_add(t, k == 1 ? "" : "],\"features\":[");
    for (int64_t j = 0; j < p; j++) {
        am_text_add(t, j ? ",{\"feature\":" : "{\"feature\":");
        am_text_json_str(t, am_featurizer_feature_name(m->featurizer, j));
        am_text_add(t, k == 1 ? ",\"value\":" : ",\"values\":[");
        for (int32_t i = 0; i < k; i++) {
            am_text_add(t, i ? "," : "");
            am_text_json_num(t, c[j + (int64_t)i * p]);
        }
        am_text_add(t, k == 1 ? "}" : "]}");
    }
    am_text_add(t, k == 1 ? "],\"intercept\":" : "]},\"intercept\":[");
    for (int32_t i = 0; i < k; i++) {
        am_text_add(t, i ? "," : "");
        am_text_json_num(t, b[i]);
    }
    am_text_add(t, k == 1 ? "" : "]");
    am_free(c);
    am_free(b);
}

automl_status automl_model_inspect_json(const automl_model *m, char **json)
{
    if (!m || !json)
        return AUTOML_ERR_ARG;
    am_text t = {0};
    am_text_addf(&t, "{\"format_version\":%u,\"automl_version\":", AM_BUNDLE_FORMAT);
    am_text_json_str(&t, AUTOML_VERSION_STRING);
    am_text_add(&t, ",");
    json_summary_fields(m, &t);
    am_text_add(&t, ",\"learner\":");
    am_text_json_str(&t, m->learner->name);
    am_text_addf(&t, ",\"learner_format\":%u,", m->learner->format_version);
    json_params(m, &t);
    am_text_add(&t, ",");
    json_schema(m, &t);
    if (m->learner->importance)
        json_importance(m, &t);
    if (m->learner->coefficients)
        json_coefficients(m, &t);
    am_text_add(&t, ",\"leaderboard\":");
    json_board(m, &t);
    am_text_add(&t, "}");
    return finish_json(&t, json);
}
