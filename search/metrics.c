/* metrics.c — validation metrics, computed the way scikit-learn defines them so scores can be
 * compared with the numbers users already know.
 *
 * am_metric_compute never fails loudly: it runs inside parallel trials, where the caller turns a
 * NaN score into a failed trial. So every undefined case (one class present for AUC, a class id
 * out of range, a non-finite prediction where it cannot be ranked, out of memory for the AUC sort)
 * answers NaN. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"

static const struct {
    am_metric metric;
    const char *name;
    bool higher;
    bool classification;
} metric_info[] = {
    {AM_METRIC_AUC, "auc", true, true},
    {AM_METRIC_LOG_LOSS, "log_loss", false, true},
    {AM_METRIC_ACCURACY, "accuracy", true, true},
    {AM_METRIC_F1_MACRO, "f1_macro", true, true},
    {AM_METRIC_RMSE, "rmse", false, false},
    {AM_METRIC_MAE, "mae", false, false},
    {AM_METRIC_R2, "r2", true, false},
};

static int metric_index(am_metric m)
{
    for (size_t i = 0; i < AM_COUNT(metric_info); i++)
        if (metric_info[i].metric == m)
            return (int)i;
    return -1;
}

const char *am_metric_name(am_metric m)
{
    int i = metric_index(m);
    return i < 0 ? "unknown" : metric_info[i].name;
}

am_metric am_metric_parse(const char *name)
{
    if (!name)
        return (am_metric)0;
    for (size_t i = 0; i < AM_COUNT(metric_info); i++)
        if (!strcmp(metric_info[i].name, name))
            return metric_info[i].metric;
    return (am_metric)0;
}

bool am_metric_higher_is_better(am_metric m)
{
    int i = metric_index(m);
    return i >= 0 && metric_info[i].higher;
}

bool am_metric_fits_task(am_metric m, am_task task)
{
    int i = metric_index(m);
    if (i < 0)
        return false;
    if (task == AM_TASK_BINARY || task == AM_TASK_MULTICLASS)
        return metric_info[i].classification;
    if (task == AM_TASK_REGRESSION)
        return !metric_info[i].classification;
    return false;
}

am_metric am_metric_default(am_task task)
{
    switch (task) {
    case AM_TASK_BINARY:
        return AM_METRIC_AUC;
    case AM_TASK_MULTICLASS:
        return AM_METRIC_LOG_LOSS;
    case AM_TASK_REGRESSION:
        return AM_METRIC_RMSE;
    }
    return (am_metric)0;
}

/* ---- classification ---------------------------------------------------------------------- */

/* Class id of row i, or -1 when y does not hold a valid id. */
static int32_t class_of(const double *y, int64_t i, int32_t n_classes)
{
    double v = y[i];
    if (!(v >= 0.0) || v >= (double)n_classes || v != floor(v))
        return -1;
    return (int32_t)v;
}

static bool labels_valid(const double *y, int64_t n, int32_t n_classes)
{
    for (int64_t i = 0; i < n; i++)
        if (class_of(y, i, n_classes) < 0)
            return false;
    return true;
}

/* Argmax of one row of probabilities; ties go to the lowest class, as numpy's argmax. A NaN
 * entry never wins. */
static int32_t row_argmax(const double *p, int32_t k)
{
    int32_t best = 0;
    for (int32_t c = 1; c < k; c++)
        if (p[c] > p[best] || (isnan(p[best]) && !isnan(p[c])))
            best = c;
    return best;
}

typedef struct scored {
    double score;
    bool positive;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x > y) - (x < y);
}

/* Mann-Whitney U over sorted scores: the AUC equals the probability that a random positive
 * outranks a random negative, counting ties as one half, which average ranks give exactly. */
static double auc_sorted(const scored *s, int64_t n)
{
    int64_t n_pos = 0;
    double rank_sum = 0.0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        int64_t pos_in_group = 0;
        while (j < n && s[j].score == s[i].score) {
            pos_in_group += s[j].positive;
            j++;
        }
        /* Ranks i+1 .. j share their average. */
        double avg_rank = 0.5 * ((double)(i + 1) + (double)j);
        rank_sum += avg_rank * (double)pos_in_group;
        n_pos += pos_in_group;
        i = j;
    }
    int64_t n_neg = n - n_pos;
    if (n_pos == 0 || n_neg == 0)
        return NAN;
    double u = rank_sum - 0.5 * (double)n_pos * ((double)n_pos + 1.0);
    return u / ((double)n_pos * (double)n_neg);
}

/* AUC of class c against the rest, scored by column c of pred (which holds no NaN). */
static double auc_one_vs_rest(const double *y, const double *pred, int64_t n, int32_t k,
                              int32_t c, scored *buf)
{
    for (int64_t i = 0; i < n; i++) {
        buf[i].score = pred[i * k + c];
        buf[i].positive = (int32_t)y[i] == c;
    }
    qsort(buf, (size_t)n, sizeof(*buf), cmp_scored);
    return auc_sorted(buf, n);
}

static double metric_auc(const double *y, const double *pred, int64_t n, int32_t k)
{
    /* NaN cannot be ranked (and would break the sort's ordering). */
    for (int64_t i = 0; i < n * k; i++)
        if (isnan(pred[i]))
            return NAN;
    scored *buf = am_malloc_array((size_t)n, sizeof(*buf));
    if (!buf)
        return NAN;
    double result = NAN;
    if (k == 2) {
        result = auc_one_vs_rest(y, pred, n, k, 1, buf);
    } else {
        /* Macro average over the classes for which AUC is defined (both sides present). */
        double sum = 0.0;
        int32_t used = 0;
        for (int32_t c = 0; c < k; c++) {
            double a = auc_one_vs_rest(y, pred, n, k, c, buf);
            if (!isnan(a)) {
                sum += a;
                used++;
            }
        }
        if (used > 0)
            result = sum / used;
    }
    am_free(buf);
    return result;
}

static double metric_log_loss(const double *y, const double *pred, int64_t n, int32_t k)
{
    const double eps = 1e-15;
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double *p = pred + i * k;
        /* Clip every probability, then renormalise the row, as scikit-learn does. */
        double row_sum = 0.0;
        for (int32_t c = 0; c < k; c++) {
            if (isnan(p[c]))
                return NAN;
            row_sum += AM_MIN(AM_MAX(p[c], eps), 1.0 - eps);
        }
        double pc = AM_MIN(AM_MAX(p[(int32_t)y[i]], eps), 1.0 - eps) / row_sum;
        total -= log(pc);
    }
    return total / (double)n;
}

static double metric_accuracy(const double *y, const double *pred, int64_t n, int32_t k)
{
    int64_t hits = 0;
    for (int64_t i = 0; i < n; i++)
        hits += row_argmax(pred + i * k, k) == (int32_t)y[i];
    return (double)hits / (double)n;
}

/* Macro F1 over the union of classes present in y or predicted, as scikit-learn with its default
 * labels; a class with neither support nor predictions takes no part. */
static double metric_f1_macro(const double *y, const double *pred, int64_t n, int32_t k)
{
    int64_t *counts = am_calloc((size_t)k * 3, sizeof(*counts));
    if (!counts)
        return NAN;
    int64_t *tp = counts, *fp = counts + k, *fn = counts + 2 * k;
    for (int64_t i = 0; i < n; i++) {
        int32_t truth = (int32_t)y[i], guess = row_argmax(pred + i * k, k);
        if (truth == guess) {
            tp[truth]++;
        } else {
            fp[guess]++;
            fn[truth]++;
        }
    }
    double sum = 0.0;
    int32_t used = 0;
    for (int32_t c = 0; c < k; c++) {
        int64_t denom = 2 * tp[c] + fp[c] + fn[c];
        if (denom == 0)
            continue;
        sum += 2.0 * (double)tp[c] / (double)denom;
        used++;
    }
    am_free(counts);
    return used > 0 ? sum / used : NAN;
}

/* ---- regression -------------------------------------------------------------------------- */

static double metric_rmse(const double *y, const double *pred, int64_t n)
{
    double sse = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double e = pred[i] - y[i];
        sse += e * e;
    }
    return sqrt(sse / (double)n);
}

static double metric_mae(const double *y, const double *pred, int64_t n)
{
    double sae = 0.0;
    for (int64_t i = 0; i < n; i++)
        sae += fabs(pred[i] - y[i]);
    return sae / (double)n;
}

/* 1 - SSE/SST; with a constant target scikit-learn answers 1 for a perfect fit and 0 otherwise
 * (force_finite), which keeps the score usable for ranking. */
static double metric_r2(const double *y, const double *pred, int64_t n)
{
    double mean = 0.0;
    for (int64_t i = 0; i < n; i++)
        mean += y[i];
    mean /= (double)n;
    double sse = 0.0, sst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double e = y[i] - pred[i], t = y[i] - mean;
        sse += e * e;
        sst += t * t;
    }
    if (isnan(sse))
        return NAN;
    if (sst == 0.0)
        return sse == 0.0 ? 1.0 : 0.0;
    return 1.0 - sse / sst;
}

double am_metric_compute(am_metric m, am_task task, int32_t n_classes, const double *y,
                         const double *pred, int64_t n)
{
    if (n <= 0 || !y || !pred || !am_metric_fits_task(m, task))
        return NAN;
    if (task != AM_TASK_REGRESSION) {
        if (n_classes < 2 || !labels_valid(y, n, n_classes))
            return NAN;
        switch (m) {
        case AM_METRIC_AUC:
            return metric_auc(y, pred, n, n_classes);
        case AM_METRIC_LOG_LOSS:
            return metric_log_loss(y, pred, n, n_classes);
        case AM_METRIC_ACCURACY:
            return metric_accuracy(y, pred, n, n_classes);
        case AM_METRIC_F1_MACRO:
            return metric_f1_macro(y, pred, n, n_classes);
        default:
            return NAN;
        }
    }
    switch (m) {
    case AM_METRIC_RMSE:
        return metric_rmse(y, pred, n);
    case AM_METRIC_MAE:
        return metric_mae(y, pred, n);
    case AM_METRIC_R2:
        return metric_r2(y, pred, n);
    default:
        return NAN;
    }
}
