/* learner.c — the registry of learner types, the one fit entry point, and the checks every
 * learner shares (fit data, predict arguments, payload dimensions). */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* Real learners first: the order is what `automl help` lists and what the search tries. */
static const am_learner_type *const registry[] = {
    &am_learner_gbdt,
    &am_learner_rf,
    &am_learner_extra_trees,
    &am_learner_ridge,
    &am_learner_elasticnet,
    &am_learner_logreg,
    &am_learner_knn,
    &am_learner_constant,
};

int32_t am_learner_count(void)
{
    return (int32_t)AM_COUNT(registry);
}

const am_learner_type *am_learner_at(int32_t i)
{
    if (i < 0 || i >= am_learner_count())
        return NULL;
    return registry[i];
}

const am_learner_type *am_learner_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < AM_COUNT(registry); i++)
        if (!strcmp(registry[i]->name, name))
            return registry[i];
    return NULL;
}

static const char *task_phrase(am_task t)
{
    switch (t) {
    case AM_TASK_BINARY: return "binary classification";
    case AM_TASK_MULTICLASS: return "multiclass classification";
    case AM_TASK_REGRESSION: return "regression";
    }
    return "an unknown task";
}

am_status am_task_check(const am_learner_type *t, am_task task, am_diag *d)
{
    if (t->tasks & (unsigned)task)
        return AM_OK;
    return am_fail(d, AM_ERR_CONFIG, "%s does not support %s", t->name, task_phrase(task));
}

am_status am_learner_fit(const am_learner_type *t, const am_fit_args *a, am_model **out,
                         am_diag *d)
{
    if (!t || !a || !out)
        return am_fail(d, AM_ERR_ARG, "am_learner_fit: NULL argument");
    if (!a->params)
        return am_fail(d, AM_ERR_ARG, "%s: no parameters given", t->name);
    am_status st = am_task_check(t, a->task, d);
    if (st != AM_OK)
        return st;
    st = am_params_check(t->params, a->params, d);
    if (st != AM_OK)
        return st;
    if (t->check) {
        st = t->check(a->params, a, d);
        if (st != AM_OK)
            return st;
    }
    am_model *m = NULL;
    st = t->fit(a, &m, d);
    if (st != AM_OK)
        return st;
    *out = m;
    return AM_OK;
}

void am_model_free(am_model *m)
{
    if (m && m->type && m->type->free)
        m->type->free(m);
}

/* ---- shared checks -------------------------------------------------------------------------- */

bool am_all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

static am_status check_task(const am_fit_args *a, const char *who, am_diag *d)
{
    switch (a->task) {
    case AM_TASK_BINARY:
        if (a->n_classes != 2)
            return am_fail(d, AM_ERR_ARG, "%s: binary task with n_classes = %d", who,
                           (int)a->n_classes);
        return AM_OK;
    case AM_TASK_MULTICLASS:
        if (a->n_classes < 3)
            return am_fail(d, AM_ERR_ARG, "%s: multiclass task with n_classes = %d", who,
                           (int)a->n_classes);
        return AM_OK;
    case AM_TASK_REGRESSION:
        return AM_OK;
    }
    return am_fail(d, AM_ERR_ARG, "%s: unknown task %d", who, (int)a->task);
}

static am_status check_features(const am_matrix *x, const char *who, am_diag *d)
{
    if (x->n_rows < 1)
        return am_fail(d, AM_ERR_DATA, "%s: no training rows", who);
    if (x->n_cols < 0 || (x->n_cols > 0 && (!x->data || x->ld < x->n_rows)))
        return am_fail(d, AM_ERR_ARG, "%s: malformed feature matrix", who);
    for (int64_t j = 0; j < x->n_cols; j++) {
        const double *col = x->data + j * x->ld;
        for (int64_t i = 0; i < x->n_rows; i++)
            if (!isfinite(col[i]))
                return am_fail(d, AM_ERR_DATA,
                               "%s: feature %" PRId64 " of row %" PRId64 " is not finite", who,
                               j, i + 1);
    }
    return AM_OK;
}

static am_status check_targets(const am_fit_args *a, int64_t n, const char *who, am_diag *d)
{
    bool classify = a->task != AM_TASK_REGRESSION;
    for (int64_t i = 0; i < n; i++) {
        double v = a->y[i];
        if (!isfinite(v))
            return am_fail(d, AM_ERR_DATA, "%s: target of row %" PRId64 " is not finite", who,
                           i + 1);
        if (classify && (v < 0 || v >= a->n_classes || v != floor(v)))
            return am_fail(d, AM_ERR_DATA,
                           "%s: target of row %" PRId64 " is %g, not a class index in [0, %d]",
                           who, i + 1, v, (int)a->n_classes - 1);
    }
    return AM_OK;
}

static am_status check_weights(const am_fit_args *a, int64_t n, const char *who, am_diag *d)
{
    if (!a->weight)
        return AM_OK;
    double total = 0;
    for (int64_t i = 0; i < n; i++) {
        double w = a->weight[i];
        if (!isfinite(w) || w < 0)
            return am_fail(d, AM_ERR_DATA,
                           "%s: weight of row %" PRId64 " is %g; weights must be finite and >= 0",
                           who, i + 1, w);
        total += w;
    }
    if (!(total > 0) || !isfinite(total))
        return am_fail(d, AM_ERR_DATA, "%s: the sample weights sum to %g", who, total);
    return AM_OK;
}

am_status am_fit_data_check(const am_fit_args *a, const char *who, am_diag *d)
{
    if (!a || !a->x || !a->y || !a->params)
        return am_fail(d, AM_ERR_ARG, "%s: fit without data or parameters", who);
    am_status st = check_task(a, who, d);
    if (st == AM_OK)
        st = check_features(a->x, who, d);
    if (st == AM_OK)
        st = check_targets(a, a->x->n_rows, who, d);
    if (st == AM_OK)
        st = check_weights(a, a->x->n_rows, who, d);
    return st;
}

/* A feature's bins as the tree learners read them: edges for numbers, a bin per category. */
static am_status check_bin_feature(const am_bin_feature *f, int32_t j, const char *who,
                                   am_diag *d)
{
    if (f->n_bins < 1 || f->n_bins > 256)
        return am_fail(d, AM_ERR_ARG, "%s: feature %d has %d bins", who, (int)j, (int)f->n_bins);
    if (!f->categorical) {
        if (f->n_bins > 1 && !f->upper)
            return am_fail(d, AM_ERR_ARG, "%s: feature %d has no bin edges", who, (int)j);
        return AM_OK;
    }
    if (f->n_categories < 0 || (f->n_categories > 0 && !f->cat_bin))
        return am_fail(d, AM_ERR_ARG, "%s: categorical feature %d has no category bins", who,
                       (int)j);
    for (int32_t c = 0; c < f->n_categories; c++)
        if (f->cat_bin[c] < 1 || f->cat_bin[c] >= f->n_bins)
            return am_fail(d, AM_ERR_ARG, "%s: feature %d maps category %d to bin %d of %d", who,
                           (int)j, (int)c, (int)f->cat_bin[c], (int)f->n_bins);
    return AM_OK;
}

/* The row selection, ascending and inside the binned data. */
static am_status check_binned_rows(const am_fit_args *a, const char *who, am_diag *d)
{
    const am_binned *b = a->binned;
    if (a->n_rows < 1)
        return am_fail(d, AM_ERR_DATA, "%s: no training rows", who);
    if (!a->rows && a->n_rows != b->n_rows)
        return am_fail(d, AM_ERR_ARG, "%s: %" PRId64 " training rows but %" PRId64
                       " binned rows and no row list", who, a->n_rows, b->n_rows);
    for (int64_t k = 0; a->rows && k < a->n_rows; k++)
        if (a->rows[k] < 0 || a->rows[k] >= b->n_rows || (k > 0 && a->rows[k] < a->rows[k - 1]))
            return am_fail(d, AM_ERR_ARG, "%s: training row %" PRId64 " is binned row %" PRId64
                           ": out of [0, %" PRId64 ") or out of order", who, k, a->rows[k],
                           b->n_rows);
    return AM_OK;
}

/* Every feature's bins, and every code of a training row inside them, so tree learners can
 * index histograms by code without further checks. */
static am_status check_binned_codes(const am_fit_args *a, const char *who, am_diag *d)
{
    const am_binned *b = a->binned;
    for (int32_t j = 0; j < b->n_features; j++) {
        am_status st = check_bin_feature(&b->features[j], j, who, d);
        if (st != AM_OK)
            return st;
        const uint8_t *col = AM_BIN_CODES(b, j);
        uint8_t top = 0;
        for (int64_t k = 0; k < a->n_rows; k++)
            top = AM_MAX(top, col[a->rows ? a->rows[k] : k]);
        if (top >= b->features[j].n_bins)
            return am_fail(d, AM_ERR_ARG, "%s: feature %d has a code %d past its %d bins", who,
                           (int)j, (int)top, (int)b->features[j].n_bins);
    }
    return AM_OK;
}

am_status am_binned_fit_check(const am_fit_args *a, const char *who, am_diag *d)
{
    if (!a || !a->y || !a->params)
        return am_fail(d, AM_ERR_ARG, "%s: fit without data or parameters", who);
    const am_binned *b = a->binned;
    if (!b)
        return am_fail(d, AM_ERR_ARG, "%s: needs the binned data (AM_NEEDS_BINNED)", who);
    if (b->n_rows < 0 || b->n_features < 0 || (b->n_features > 0 && !b->features) ||
        (b->n_features > 0 && b->n_rows > 0 && !b->codes))
        return am_fail(d, AM_ERR_ARG, "%s: malformed binned data", who);
    am_status st = check_task(a, who, d);
    if (st == AM_OK)
        st = check_binned_rows(a, who, d);
    if (st == AM_OK)
        st = check_binned_codes(a, who, d);
    if (st == AM_OK)
        st = check_targets(a, a->n_rows, who, d);
    if (st == AM_OK)
        st = check_weights(a, a->n_rows, who, d);
    return st;
}

int32_t am_fit_n_outputs(const am_fit_args *a)
{
    return a->task == AM_TASK_REGRESSION ? 1 : a->n_classes;
}

am_status am_predict_check(const am_model *m, const am_matrix *x, const double *out, am_diag *d)
{
    if (!m || !x || (!out && x->n_rows > 0))
        return am_fail(d, AM_ERR_ARG, "predict: NULL argument");
    if (x->n_cols != m->n_features)
        return am_fail(d, AM_ERR_ARG, "%s: predict with %" PRId64 " features, fitted with %" PRId64,
                       m->type->name, x->n_cols, m->n_features);
    if (x->n_rows < 0 || (x->n_rows > 0 && x->n_cols > 0 && (!x->data || x->ld < x->n_rows)))
        return am_fail(d, AM_ERR_ARG, "%s: malformed matrix to predict", m->type->name);
    return AM_OK;
}

/* ---- payload helpers ------------------------------------------------------------------------ */

void am_payload_put_dims(am_buf *b, const am_model *m)
{
    am_buf_i64(b, m->n_features);
    am_buf_u32(b, (uint32_t)m->n_outputs);
}

am_status am_payload_get_dims(am_reader *r, const char *who, int64_t n_features,
                              int32_t n_outputs, am_diag *d)
{
    int64_t nf = am_get_i64(r);
    uint32_t no = am_get_u32(r);
    am_status st = am_reader_status(r, false, d);
    if (st != AM_OK)
        return st;
    if (nf != n_features)
        return am_fail(d, AM_ERR_FORMAT, "%s model: saved with %" PRId64 " features, expected %"
                       PRId64, who, nf, n_features);
    if ((int64_t)no != (int64_t)n_outputs)
        return am_fail(d, AM_ERR_FORMAT, "%s model: saved with %" PRIu32 " outputs, expected %d",
                       who, no, (int)n_outputs);
    return AM_OK;
}

am_status am_payload_get_f64s(am_reader *r, const char *who, size_t n, double **out, am_diag *d)
{
    *out = NULL;
    /* Bound the count by the bytes actually present before allocating for it, so a corrupt
     * count cannot ask for a huge allocation. */
    if (r->failed || n > r->left / sizeof(double)) {
        am_reader_fail(r);
        return am_reader_status(r, false, d);
    }
    double *v = am_malloc_array(n ? n : 1, sizeof(double));
    if (!v)
        return am_fail(d, AM_ERR_NOMEM, "%s model: out of memory loading %zu values", who, n);
    if (!am_get_f64s(r, v, n)) {
        am_free(v);
        return am_reader_status(r, false, d);
    }
    if (!am_all_finite(v, n)) {
        am_free(v);
        return am_fail(d, AM_ERR_FORMAT, "%s model: a saved coefficient is not finite", who);
    }
    *out = v;
    return AM_OK;
}
