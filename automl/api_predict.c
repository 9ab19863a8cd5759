/* api_predict.c — predicting and evaluating with a model, and the learner catalogue for help
 * screens. */
#define _GNU_SOURCE
#include "api_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- reading data against the model's schema -------------------------------------------- */

/* Reads a CSV forcing each model input column to its training type, so "abc" in a numeric
 * column is an error naming its line rather than a silently retyped column. */
am_status am_api_read_for_model(const automl_model *m, const char *path, const char *keep_levels,
                                am_frame **out, am_diag *d)
{
    int32_t n = am_featurizer_n_inputs(m->featurizer);
    am_csv_force *force = am_calloc((size_t)n + 1, sizeof(am_csv_force));
    if (!force)
        return am_fail(d, AM_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < n; i++) {
        force[i].name = am_featurizer_input_name(m->featurizer, i);
        force[i].type = am_featurizer_input_type(m->featurizer, i);
        force[i].time_format = am_featurizer_input_time_format(m->featurizer, i);
    }
    am_csv_options opts = {0};
    opts.force = force;
    opts.n_force = n;
    opts.keep_levels = keep_levels;
    am_status st = am_csv_read(path, &opts, out, d);
    am_free(force);
    return st;
}

/* Featurizes rows (NULL = all) and predicts with the session's threads: *pred gets
 * n_rows * n_outputs values. */
static am_status predict_frame(const automl_session *s, const automl_model *m, const am_frame *f,
                               const int64_t *rows, int64_t n_rows, double **pred, am_diag *d)
{
    am_matrix x;
    am_status st = am_featurizer_transform(m->featurizer, f, rows, n_rows, &x, d);
    if (st != AM_OK)
        return st;
    int32_t k = m->model->n_outputs;
    *pred = am_malloc_array((size_t)(n_rows > 0 ? n_rows : 1), sizeof(double) * (size_t)k);
    if (!*pred)
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for %lld predictions", (long long)n_rows);
    else {
        /* Learners that use BLAS here either share rows out among threads themselves (k-NN) or
         * make one memory-bound call (linear models): single-threaded BLAS suits both. */
        am_blas_set_threads(1);
        st = m->learner->predict(m->model, &x, s->threads, NULL, *pred, d);
    }
    am_matrix_fini(&x);
    if (st != AM_OK) {
        am_free(*pred);
        *pred = NULL;
    }
    return st;
}

/* ---- writing predictions ----------------------------------------------------------------- */

static int32_t argmax(const double *p, int32_t k)
{
    int32_t best = 0;
    for (int32_t j = 1; j < k; j++)
        if (p[j] > p[best])
            best = j;
    return best;
}

static void format_predictions(const automl_model *m, const double *pred, int64_t n,
                               bool proba, am_text *t)
{
    bool classify = m->target.task != AM_TASK_REGRESSION;
    int32_t k = m->model->n_outputs;
    char buf[40];
    am_text_add(t, "prediction");
    for (int32_t j = 0; classify && proba && j < k; j++) {
        am_text_add(t, ",");
        char name[512];
        snprintf(name, sizeof(name), "proba_%s", m->target.labels.items[j]);
        am_text_csv_field(t, name);
    }
    am_text_add(t, "\n");
    for (int64_t i = 0; i < n && !t->failed; i++) {
        const double *p = pred + i * k;
        if (classify)
            am_text_csv_field(t, m->target.labels.items[argmax(p, k)]);
        else
            am_text_add(t, am_format_double(p[0], buf, sizeof(buf)));
        for (int32_t j = 0; classify && proba && j < k; j++) {
            am_text_add(t, ",");
            am_text_add(t, am_format_double(p[j], buf, sizeof(buf)));
        }
        am_text_add(t, "\n");
    }
}

static am_status write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return AM_ERR_IO;
        data += w;
        len -= (size_t)w;
    }
    return AM_OK;
}

/* Standard output for "-", else a temporary file renamed over path. */
static am_status write_output(const char *path, const am_text *t, am_diag *d)
{
    if (!strcmp(path, "-")) {
        if (write_all(STDOUT_FILENO, t->s, t->len) != AM_OK)
            return am_fail(d, AM_ERR_IO, "cannot write to standard output: %s", strerror(errno));
        return AM_OK;
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return am_fail(d, AM_ERR_IO, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return am_fail(d, AM_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    am_status st = write_all(fd, t->s, t->len);
    int err = errno;
    if (close(fd) != 0 && st == AM_OK) {
        st = AM_ERR_IO;
        err = errno;
    }
    if (st == AM_OK && rename(tmp, path) != 0) {
        st = AM_ERR_IO;
        err = errno;
    }
    if (st != AM_OK) {
        unlink(tmp);
        return am_fail(d, AM_ERR_IO, "cannot write %s: %s", path, strerror(err));
    }
    return AM_OK;
}

automl_status automl_predict_csv(automl_session *s, const automl_model *m, const char *data_csv,
                                 const char *out_csv, unsigned flags)
{
    if (!s)
        return AUTOML_ERR_ARG;
    if (!m || !data_csv || !out_csv)
        return am_api_failf(s, AUTOML_ERR_ARG, "automl_predict_csv: model and paths are required");
    s->errmsg[0] = '\0';
    am_diag d;
    am_diag_clear(&d);
    am_frame *f = NULL;
    double *pred = NULL;
    am_text t = {0};
    am_status st = am_api_read_for_model(m, data_csv, NULL, &f, &d);
    if (st == AM_OK)
        st = predict_frame(s, m, f, NULL, f->n_rows, &pred, &d);
    if (st == AM_OK) {
        format_predictions(m, pred, f->n_rows, (flags & AUTOML_PREDICT_PROBA) != 0, &t);
        st = t.failed ? am_fail(&d, AM_ERR_NOMEM, "out of memory") : write_output(out_csv, &t, &d);
    }
    am_free(t.s);
    am_free(pred);
    am_frame_free(f);
    return st == AM_OK ? AUTOML_OK : am_api_fail(s, &d);
}

automl_status automl_predict_csv_values(automl_session *s, const automl_model *m,
                                        const char *data_csv, double *out, int64_t out_len,
                                        int64_t *n_rows)
{
    if (!s)
        return AUTOML_ERR_ARG;
    if (!m || !data_csv || !n_rows)
        return am_api_failf(s, AUTOML_ERR_ARG, "automl_predict_csv_values: missing argument");
    s->errmsg[0] = '\0';
    am_diag d;
    am_diag_clear(&d);
    am_frame *f = NULL;
    double *pred = NULL;
    am_status st = am_api_read_for_model(m, data_csv, NULL, &f, &d);
    if (st != AM_OK)
        return am_api_fail(s, &d);
    *n_rows = f->n_rows;
    int64_t need = f->n_rows * m->model->n_outputs;
    automl_status result = AUTOML_OK;
    if (!out || out_len < need) {
        result = am_api_failf(s, AUTOML_ERR_ARG, "output buffer holds %lld values, %lld needed",
                              (long long)out_len, (long long)need);
    } else if (predict_frame(s, m, f, NULL, f->n_rows, &pred, &d) != AM_OK) {
        result = am_api_fail(s, &d);
    } else {
        memcpy(out, pred, sizeof(double) * (size_t)need);
    }
    am_free(pred);
    am_frame_free(f);
    return result;
}

/* ---- evaluating -------------------------------------------------------------------------- */

static void metrics_json(const automl_model *m, const double *y, const double *pred, int64_t n,
                         am_text *t)
{
    am_text_add(t, "{");
    bool first = true;
    for (int metric = AM_METRIC_AUC; metric <= AM_METRIC_R2; metric++) {
        if (!am_metric_fits_task((am_metric)metric, m->target.task))
            continue;
        double v = am_metric_compute((am_metric)metric, m->target.task, m->target.n_classes, y,
                                     pred, n);
        am_text_add(t, first ? "" : ",");
        am_text_json_str(t, am_metric_name((am_metric)metric));
        am_text_add(t, ":");
        am_text_json_num(t, v);
        first = false;
    }
    am_text_addf(t, ",\"n_rows\":%lld}", (long long)n);
}

automl_status automl_evaluate_csv(automl_session *s, const automl_model *m, const char *data_csv,
                                  char **json)
{
    if (!s)
        return AUTOML_ERR_ARG;
    if (!m || !data_csv || !json)
        return am_api_failf(s, AUTOML_ERR_ARG, "automl_evaluate_csv: missing argument");
    s->errmsg[0] = '\0';
    *json = NULL;
    am_diag d;
    am_diag_clear(&d);
    am_frame *f = NULL;
    double *y = NULL, *pred = NULL;
    int64_t *rows = NULL, n = 0;
    am_logger lg = am_api_logger(s);
    am_status st = am_api_read_for_model(m, data_csv, m->target.name, &f, &d);
    int32_t col = st == AM_OK ? am_frame_col_find(f, m->target.name) : -1;
    if (st == AM_OK && col < 0) {
        st = am_fail(&d, AM_ERR_DATA, "target column \"%s\" is missing; evaluate needs it",
                     m->target.name);
        am_diag_locate(&d, data_csv, 0, NULL);
    }
    if (st == AM_OK)
        st = am_target_apply(&m->target, f, col, &lg, &y, &rows, &n, &d);
    if (st == AM_OK)
        st = predict_frame(s, m, f, rows, n, &pred, &d);
    if (st == AM_OK) {
        am_text t = {0};
        metrics_json(m, y, pred, n, &t);
        if (t.failed) {
            am_free(t.s);
            st = am_fail(&d, AM_ERR_NOMEM, "out of memory");
        } else {
            *json = t.s;
        }
    }
    am_free(y);
    am_free(rows);
    am_free(pred);
    am_frame_free(f);
    return st == AM_OK ? AUTOML_OK : am_api_fail(s, &d);
}

/* ---- learner catalogue ------------------------------------------------------------------- */

int32_t automl_learner_count(void)
{
    return am_learner_count();
}

const char *automl_learner_name(int32_t i)
{
    return i >= 0 && i < am_learner_count() ? am_learner_at(i)->name : NULL;
}

const char *automl_learner_summary(int32_t i)
{
    return i >= 0 && i < am_learner_count() ? am_learner_at(i)->summary : NULL;
}

const char *automl_learner_tasks(int32_t i)
{
    static const char *const masks[8] = {
        "", "binary", "multiclass", "binary,multiclass", "regression", "binary,regression",
        "multiclass,regression", "binary,multiclass,regression",
    };
    if (i < 0 || i >= am_learner_count())
        return NULL;
    return masks[am_learner_at(i)->tasks & 7u];
}

int32_t automl_learner_searched_by_default(int32_t i)
{
    if (i < 0 || i >= am_learner_count())
        return -1;
    return am_learner_at(i)->on_request ? 0 : 1;
}

int32_t automl_learner_n_params(int32_t i)
{
    return i >= 0 && i < am_learner_count() ? am_learner_at(i)->params->n : 0;
}

automl_status automl_learner_param(int32_t i, int32_t j, automl_param_info *out)
{
    static _Thread_local char def[64], range[512], search[128];
    if (!out || i < 0 || i >= am_learner_count() || j < 0 || j >= am_learner_at(i)->params->n)
        return AUTOML_ERR_ARG;
    const am_param_desc *p = &am_learner_at(i)->params->desc[j];
    static const char *const kinds[] = {"?", "int", "real", "bool", "enum"};
    char lo[32], hi[32];
    am_params_value_text(p, p->def, def, sizeof(def));
    if (p->kind == AM_P_ENUM) {
        range[0] = '\0';
        for (int k = 0; p->choices[k]; k++) {
            if (k)
                strncat(range, "|", sizeof(range) - strlen(range) - 1);
            strncat(range, p->choices[k], sizeof(range) - strlen(range) - 1);
        }
    } else if (p->kind == AM_P_BOOL) {
        snprintf(range, sizeof(range), "true|false");
    } else {
        snprintf(range, sizeof(range), "[%s, %s]", am_format_double(p->lo, lo, sizeof(lo)),
                 am_format_double(p->hi, hi, sizeof(hi)));
    }
    search[0] = '\0';
    if ((p->flags & AM_PF_TUNE) && (p->kind == AM_P_INT || p->kind == AM_P_REAL))
        snprintf(search, sizeof(search), "[%s, %s]%s",
                 am_format_double(p->tune_lo, lo, sizeof(lo)),
                 am_format_double(p->tune_hi, hi, sizeof(hi)),
                 (p->flags & AM_PF_LOG) ? " log" : "");
    else if (p->flags & AM_PF_TUNE)
        snprintf(search, sizeof(search), "all choices");
    out->key = p->key;
    out->kind = (unsigned)p->kind < AM_COUNT(kinds) ? kinds[p->kind] : "?";
    out->default_text = def;
    out->range = range;
    out->search = search;
    out->doc = p->doc ? p->doc : "";
    return AUTOML_OK;
}
