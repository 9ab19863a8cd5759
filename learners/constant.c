/* constant.c — the baseline every search should beat: it ignores the features and predicts the
 * (weighted) class priors for classification, or the (weighted) mean or median for regression,
 * as scikit-learn's DummyClassifier(strategy="prior") / DummyRegressor. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

enum { CONST_STRATEGY };
enum { STRATEGY_AUTO, STRATEGY_PRIOR, STRATEGY_MEAN, STRATEGY_MEDIAN };

static const char *const strategy_choices[] = {"auto", "prior", "mean", "median", NULL};

static const am_param_desc constant_desc[] = {
    [CONST_STRATEGY] = {"strategy", AM_P_ENUM, STRATEGY_AUTO, 0, 0, 0, 0, STRATEGY_AUTO,
                        strategy_choices, 0,
                        "auto: prior for classification, mean for regression; or median"},
};

static const am_param_table constant_params = {"constant", constant_desc,
                                               (int32_t)AM_COUNT(constant_desc)};

typedef struct constant_model {
    am_model base;
    double *values; /* n_outputs values, predicted for every row */
} constant_model;

static void constant_free(am_model *m)
{
    constant_model *cm = (constant_model *)m;
    if (!cm)
        return;
    am_free(cm->values);
    am_free(cm);
}

static am_status constant_check(const am_params *p, const am_fit_args *a, am_diag *d)
{
    double v = p->v[CONST_STRATEGY];
    if (!(v >= STRATEGY_AUTO && v <= STRATEGY_MEDIAN))
        return am_fail(d, AM_ERR_CONFIG, "constant.strategy: invalid choice %g", v);
    int s = (int)v;
    bool classify = a->task != AM_TASK_REGRESSION;
    if (classify && (s == STRATEGY_MEAN || s == STRATEGY_MEDIAN))
        return am_fail(d, AM_ERR_CONFIG, "constant.strategy=%s: only for regression",
                       strategy_choices[s]);
    if (!classify && s == STRATEGY_PRIOR)
        return am_fail(d, AM_ERR_CONFIG, "constant.strategy=prior: only for classification");
    return AM_OK;
}

typedef struct weighted_value {
    double v, w;
} weighted_value;

static int cmp_value(const void *a, const void *b)
{
    double x = ((const weighted_value *)a)->v, y = ((const weighted_value *)b)->v;
    return (x > y) - (x < y);
}

/* The lower weighted median: the smallest value whose cumulative weight reaches half the
 * total (scikit-learn's weighted percentile at 50). */
static am_status weighted_median(const am_fit_args *a, double wsum, double *out, am_diag *d)
{
    int64_t n = a->x->n_rows;
    weighted_value *wv = am_malloc_array((size_t)n, sizeof(*wv));
    if (!wv)
        return am_fail(d, AM_ERR_NOMEM, "constant: out of memory");
    for (int64_t i = 0; i < n; i++)
        wv[i] = (weighted_value){a->y[i], am_weight_at(a->weight, i)};
    qsort(wv, (size_t)n, sizeof(*wv), cmp_value);
    double cum = 0;
    *out = wv[n - 1].v;
    for (int64_t i = 0; i < n; i++) {
        cum += wv[i].w;
        if (cum >= 0.5 * wsum) {
            *out = wv[i].v;
            break;
        }
    }
    am_free(wv);
    return AM_OK;
}

static am_status fit_values(const am_fit_args *a, int strategy, double *values, am_diag *d)
{
    int64_t n = a->x->n_rows;
    double wsum = 0;
    for (int64_t i = 0; i < n; i++)
        wsum += am_weight_at(a->weight, i);
    if (a->task != AM_TASK_REGRESSION) {
        for (int64_t i = 0; i < n; i++)
            values[(int64_t)a->y[i]] += am_weight_at(a->weight, i);
        for (int32_t k = 0; k < a->n_classes; k++)
            values[k] /= wsum;
        return AM_OK;
    }
    if (strategy == STRATEGY_MEDIAN)
        return weighted_median(a, wsum, values, d);
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += am_weight_at(a->weight, i) * a->y[i];
    values[0] = s / wsum;
    return AM_OK;
}

static constant_model *constant_alloc(int64_t n_features, int32_t n_outputs)
{
    constant_model *cm = am_calloc(1, sizeof(*cm));
    if (!cm)
        return NULL;
    cm->base = (am_model){&am_learner_constant, n_features, n_outputs};
    cm->values = am_calloc((size_t)n_outputs, sizeof(double));
    if (!cm->values) {
        am_free(cm);
        return NULL;
    }
    return cm;
}

static am_status constant_fit(const am_fit_args *a, am_model **out, am_diag *d)
{
    am_status st = am_fit_data_check(a, "constant", d);
    if (st == AM_OK)
        st = constant_check(a->params, a, d);
    if (st != AM_OK)
        return st;
    constant_model *cm = constant_alloc(a->x->n_cols, am_fit_n_outputs(a));
    if (!cm)
        return am_fail(d, AM_ERR_NOMEM, "constant: out of memory");
    st = fit_values(a, (int)a->params->v[CONST_STRATEGY], cm->values, d);
    if (st != AM_OK) {
        constant_free(&cm->base);
        return st;
    }
    *out = &cm->base;
    return AM_OK;
}

static am_status constant_predict(const am_model *m, const am_matrix *x, int32_t n_threads,
                                  const am_stop *stop, double *out, am_diag *d)
{
    (void)stop; /* cheap enough to finish once started */
    am_status st = am_predict_check(m, x, out, d);
    if (st != AM_OK)
        return st;
    (void)n_threads; /* one pass over x, bound by memory; nothing to share out */
    const constant_model *cm = (const constant_model *)m;
    int32_t k = m->n_outputs;
    for (int64_t i = 0; i < x->n_rows; i++)
        for (int32_t j = 0; j < k; j++)
            out[i * k + j] = cm->values[j];
    return AM_OK;
}

static am_status constant_save(const am_model *m, am_buf *b, am_diag *d)
{
    const constant_model *cm = (const constant_model *)m;
    am_payload_put_dims(b, m);
    am_buf_f64s(b, cm->values, (size_t)m->n_outputs);
    return am_buf_status(b, d);
}

/* Priors must be a probability vector; a regression constant just finite. */
static bool values_valid(const double *v, int32_t n_outputs)
{
    if (n_outputs == 1)
        return true;
    double s = 0;
    for (int32_t k = 0; k < n_outputs; k++) {
        if (v[k] < 0 || v[k] > 1)
            return false;
        s += v[k];
    }
    return fabs(s - 1) <= 1e-9;
}

static am_status constant_load(am_reader *r, uint32_t version, int64_t n_features,
                               int32_t n_outputs, am_model **out, am_diag *d)
{
    if (version != 1)
        return am_fail(d, AM_ERR_FORMAT, "constant model: payload version %u is not supported "
                       "(this build reads version 1)", (unsigned)version);
    if (n_features < 0 || n_outputs < 1)
        return am_fail(d, AM_ERR_FORMAT, "constant model: bad expected dimensions");
    am_status st = am_payload_get_dims(r, "constant", n_features, n_outputs, d);
    double *values = NULL;
    if (st == AM_OK)
        st = am_payload_get_f64s(r, "constant", (size_t)n_outputs, &values, d);
    if (st != AM_OK)
        return st;
    if (!values_valid(values, n_outputs)) {
        am_free(values);
        return am_fail(d, AM_ERR_FORMAT, "constant model: the saved priors do not sum to 1");
    }
    constant_model *cm = am_calloc(1, sizeof(*cm));
    if (!cm) {
        am_free(values);
        return am_fail(d, AM_ERR_NOMEM, "constant: out of memory");
    }
    cm->base = (am_model){&am_learner_constant, n_features, n_outputs};
    cm->values = values;
    *out = &cm->base;
    return AM_OK;
}

static double constant_cost(const am_params *p, int64_t n_rows, int64_t n_cols)
{
    (void)p;
    (void)n_cols;
    return (double)n_rows + 1.0;
}

const double *am_constant_values(const am_model *m)
{
    return ((const constant_model *)m)->values;
}

const am_learner_type am_learner_constant = {
    .name = "constant",
    .summary = "baseline: class priors or the mean (median) of the target, ignoring features",
    .tasks = AM_TASK_BINARY | AM_TASK_MULTICLASS | AM_TASK_REGRESSION,
    .needs = 0,
    .params = &constant_params,
    .format_version = 1,
    .check = constant_check,
    .cost_hint = constant_cost,
    .fit = constant_fit,
    .predict = constant_predict,
    .save = constant_save,
    .load = constant_load,
    .free = constant_free,
};
