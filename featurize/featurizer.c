/* featurizer.c — from a typed frame to the dense matrix a learner family consumes.
 *
 * Each input column has a role (roles.c, or its type as read when the caller gives none) and,
 * from the role and the family, one or more encoders (encoder.h): for linear models and k-NN
 * ("linear" family) numbers are imputed by the median with a missing indicator, categories
 * one-hot encoded when they have few levels and target + frequency encoded when they have many,
 * two-valued columns become one 0/1 feature, dates become calendar parts with cyclic encodings,
 * text becomes hashed TF-IDF n-grams; every output is then standardised (or robustly scaled).
 * Tree learners ("native" family) get numbers as they are, categories as level codes, dates as
 * raw calendar parts, text hashed as above, missing values as NaN, and no scaling.
 *
 * Output layout: the kept inputs in frame order; each input's encoders in the order chosen
 * below; each encoder's outputs in its own order. Every statistic comes from the training rows
 * only, and target statistics for the training rows themselves are computed out of fold
 * (am_featurizer_fit_transform), so no row's features have seen its own target.
 *
 * Fitting runs the inputs on several threads (each input is one thread's work, so nothing
 * depends on the count); transform runs on one. */
#include "encoder.h"
#include "../automl/base/csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defaults of the limits in am_feat_options. */
#define DEFAULT_ONEHOT_MAX AM_FEAT_ONEHOT_MAX
#define DEFAULT_RARE_MIN AM_FEAT_RARE_MIN
#define DEFAULT_TEXT_FEATURES 256
/* Load-time bounds: far above what fit produces, low enough that nothing overflows. */
#define LOAD_MAX_INPUTS ((uint64_t)1 << 24)
#define LOAD_MAX_ENCODERS 4
#define LOAD_MAX_WIDTH ((int64_t)1 << 24)

enum { SCALE_NONE = 0, SCALE_STANDARD = 1, SCALE_ROBUST = 2 };

typedef struct feat_input {
    char *name;
    am_coltype type;  /* as read at fit: the schema a transformed frame must match */
    uint8_t time_format; /* AM_COL_TIME: how its dates were written (forced at predict time) */
    am_role role;
    am_encoder *enc[LOAD_MAX_ENCODERS];
    int32_t n_enc;
    int64_t first, width; /* its output columns */
} feat_input;

struct am_featurizer {
    feat_input *inputs;
    int32_t n_inputs;
    uint8_t scaling; /* SCALE_*: none for the native family */
    bool native;
    int64_t n_features;
    const char **names;     /* per feature: the encoders' names (not owned) */
    int32_t *n_categories;  /* per feature: category codes (native categorical), else 0 */
    double *center, *scale; /* per feature: output = (encoded - center) / scale */
};

/* ---- the encoder registry ------------------------------------------------------------------ */

static const am_encoder_type *const encoder_types[] = {
    &am_enc_numeric,  &am_enc_native_numeric,     &am_enc_onehot, &am_enc_boolean,
    &am_enc_target,   &am_enc_frequency,          &am_enc_date,   &am_enc_text,
    &am_enc_native_categorical,
};

const am_encoder_type *am_encoder_find(const char *name)
{
    for (size_t i = 0; i < AM_COUNT(encoder_types); i++)
        if (strcmp(encoder_types[i]->name, name) == 0)
            return encoder_types[i];
    return NULL;
}

/* ---- small helpers ----------------------------------------------------------------------- */

static void input_fini(feat_input *in)
{
    am_free(in->name);
    for (int32_t e = 0; e < in->n_enc; e++)
        if (in->enc[e])
            in->enc[e]->type->free(in->enc[e]);
    memset(in, 0, sizeof(*in));
}

void am_featurizer_free(am_featurizer *fz)
{
    if (!fz)
        return;
    for (int32_t i = 0; i < fz->n_inputs; i++)
        input_fini(&fz->inputs[i]);
    am_free(fz->inputs);
    am_free(fz->names);
    am_free(fz->n_categories);
    am_free(fz->center);
    am_free(fz->scale);
    am_free(fz);
}

static am_status check_rows(const am_frame *f, const int64_t *rows, int64_t n, const char *who,
                            am_diag *d)
{
    for (int64_t i = 0; i < n; i++)
        if (rows[i] < 0 || rows[i] >= f->n_rows || (i > 0 && rows[i] <= rows[i - 1]))
            return am_fail(d, AM_ERR_ARG, "%s: row index %lld out of range or out of order",
                           who, (long long)rows[i]);
    return AM_OK;
}

/* A list of column names for one warning, cut short (with a count) when it gets long. */
typedef struct name_list {
    char text[400];
    size_t used;
    int64_t count, omitted;
} name_list;

static void name_list_add(name_list *l, const char *name)
{
    size_t need = strlen(name) + 4;
    if (l->used + need >= sizeof(l->text)) {
        l->omitted++;
    } else {
        int k = snprintf(l->text + l->used, sizeof(l->text) - l->used, "%s\"%s\"",
                         l->count ? ", " : "", name);
        l->used += k > 0 ? (size_t)k : 0;
    }
    l->count++;
}

static void warn_empty(const am_logger *log, const name_list *empty)
{
    if (empty->count == 0)
        return;
    am_log(log, AM_LOG_WARN, "dropping column%s %s%s: %s no value in the training rows",
           empty->count == 1 ? "" : "s", empty->text, empty->omitted > 0 ? " (and more)" : "",
           empty->count == 1 ? "it has" : "they have");
}

/* ---- choosing encoders ------------------------------------------------------------------- */

/* The role a column has when the caller gives no roles: its type as read. */
static am_role role_of_type(am_coltype t)
{
    switch (t) {
    case AM_COL_NUM: return AM_ROLE_NUMERIC;
    case AM_COL_CAT: return AM_ROLE_CATEGORICAL;
    case AM_COL_TEXT: return AM_ROLE_TEXT;
    case AM_COL_TIME: return AM_ROLE_DATETIME;
    }
    return AM_ROLE_DROPPED;
}

/* Whether the training rows hold some value of c. */
static bool has_value(const am_column *c, const int64_t *rows, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t r = rows[i];
        if (c->type == AM_COL_NUM || c->type == AM_COL_TIME ? isfinite(c->num[r])
                                                            : c->codes[r] >= 0)
            return true;
    }
    return false;
}

/* Levels of a categorical column seen in at least rare_min training rows. -1 when out of
 * memory. */
static int64_t common_levels(const am_column *c, const int64_t *rows, int64_t n, int32_t rare_min)
{
    int64_t *count = am_calloc((size_t)AM_MAX(c->levels.n, 1), sizeof(int64_t));
    if (!count)
        return -1;
    for (int64_t i = 0; i < n; i++)
        if (c->codes[rows[i]] >= 0)
            count[c->codes[rows[i]]]++;
    int64_t k = 0;
    for (int32_t l = 0; l < c->levels.n; l++)
        k += count[l] >= rare_min;
    am_free(count);
    return k;
}

/* The encoders of one input (at most LOAD_MAX_ENCODERS), by role and family. Returns how many;
 * -1 when out of memory. */
static int32_t choose_encoders(const am_column *c, am_role role, const int64_t *rows, int64_t n,
                               const am_feat_options *o, const am_encoder_type **out)
{
    bool native = o->native;
    switch (role) {
    case AM_ROLE_NUMERIC:
        out[0] = native ? &am_enc_native_numeric : &am_enc_numeric;
        return 1;
    case AM_ROLE_BOOLEAN:
        if (c->type == AM_COL_NUM)
            out[0] = native ? &am_enc_native_numeric : &am_enc_numeric;
        else
            out[0] = native ? &am_enc_native_categorical : &am_enc_boolean;
        return 1;
    case AM_ROLE_CATEGORICAL: {
        if (native) {
            out[0] = &am_enc_native_categorical;
            return 1;
        }
        int32_t onehot_max = o->onehot_max_levels > 0 ? o->onehot_max_levels : DEFAULT_ONEHOT_MAX;
        int32_t rare_min = o->rare_min_count > 0 ? o->rare_min_count : DEFAULT_RARE_MIN;
        int64_t k = common_levels(c, rows, n, rare_min);
        if (k < 0)
            return -1;
        if (k <= onehot_max || !o->y) {
            out[0] = &am_enc_onehot; /* without a target, one-hot keeps the most frequent */
            return 1;
        }
        out[0] = &am_enc_target;
        out[1] = &am_enc_frequency;
        return 2;
    }
    case AM_ROLE_DATETIME:
        out[0] = &am_enc_date;
        return 1;
    case AM_ROLE_TEXT:
        out[0] = &am_enc_text;
        return 1;
    case AM_ROLE_DROPPED:
        break;
    }
    return 0;
}

/* A per-column seed: the run's seed mixed with the column's name (not its position, so that
 * reordering the columns of a file changes nothing). */
static uint64_t column_seed(uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return seed ^ h;
}

/* ---- fit --------------------------------------------------------------------------------- */

/* What fitting one input needs besides the input itself. */
typedef struct fit_job {
    const am_frame *f;
    int32_t col;
    const am_encoder_type *types[LOAD_MAX_ENCODERS];
    int32_t n_types;
    am_status st;
    am_diag d;
} fit_job;

static am_status fit_input(feat_input *in, fit_job *job, const int64_t *rows, int64_t n,
                           const am_feat_options *o)
{
    const am_column *c = &job->f->cols[job->col];
    am_enc_fit_args a = {.frame = job->f, .col = c, .rows = rows, .n_rows = n, .y = o->y,
                         .task = o->task, .n_classes = o->n_classes, .opts = o,
                         .seed = column_seed(o->seed, c->name)};
    for (int32_t e = 0; e < job->n_types; e++) {
        am_status st = job->types[e]->fit(&a, &in->enc[e], &job->d);
        if (st != AM_OK)
            return st;
        in->n_enc++;
        in->width += in->enc[e]->width;
    }
    return AM_OK;
}

/* AM_ERR_DATA saying why each column was left out: "no feature column is left: "id" (an
 * identifier), "k" (constant), "y" (the target)". */
static am_status no_feature_left(const am_frame *f, int32_t target_col, const am_feat_options *o,
                                 am_diag *d)
{
    char why[600];
    size_t used = 0;
    for (int32_t j = 0; j < f->n_cols && used + 80 < sizeof(why); j++) {
        const char *reason = j == target_col ? "the target"
                             : o->roles && o->roles[j].role == AM_ROLE_DROPPED
                                 ? am_drop_reason_name(o->roles[j].why)
                                 : "no value in the training rows";
        int w = snprintf(why + used, sizeof(why) - used, "%s\"%s\" (%s)", j ? ", " : "",
                         f->cols[j].name, reason);
        used += w > 0 ? (size_t)w : 0;
    }
    return am_feat_fail(d, AM_ERR_DATA, f, 0, NULL, "no feature column is left: %s",
                        f->n_cols ? why : "the file has no column");
}

/* Decides the kept inputs and their encoders (fz->inputs, not yet fitted: n_enc 0) into jobs.
 * Returns the count in *n_jobs. */
static am_status plan_inputs(am_featurizer *fz, const am_frame *f, int32_t target_col,
                             const int64_t *rows, int64_t n, const am_feat_options *o,
                             const am_logger *log, fit_job *jobs, int32_t *n_jobs, am_diag *d)
{
    name_list empty = {0};
    int32_t k = 0;
    for (int32_t j = 0; j < f->n_cols; j++) {
        const am_column *c = &f->cols[j];
        am_role role = j == target_col ? AM_ROLE_DROPPED
                       : o->roles     ? o->roles[j].role
                                      : role_of_type(c->type);
        if (role == AM_ROLE_DROPPED)
            continue;
        if (!has_value(c, rows, n)) {
            name_list_add(&empty, c->name);
            continue;
        }
        fit_job *job = &jobs[k];
        job->f = f;
        job->col = j;
        job->n_types = choose_encoders(c, role, rows, n, o, job->types);
        if (job->n_types < 0)
            return am_fail(d, AM_ERR_NOMEM, "out of memory for the featurizer");
        feat_input *in = &fz->inputs[k];
        in->name = am_strdup(c->name);
        in->type = c->type;
        in->time_format = c->type == AM_COL_TIME ? c->time_format : 0;
        in->role = role;
        fz->n_inputs = ++k;
        if (!in->name)
            return am_fail(d, AM_ERR_NOMEM, "out of memory for the featurizer");
    }
    warn_empty(log, &empty);
    if (k == 0)
        return no_feature_left(f, target_col, o, d);
    *n_jobs = k;
    return AM_OK;
}

/* Lays the fitted inputs' outputs side by side: first columns, names, category counts. */
static am_status lay_out(am_featurizer *fz, am_diag *d)
{
    int64_t total = 0;
    for (int32_t i = 0; i < fz->n_inputs; i++) {
        fz->inputs[i].first = total;
        total += fz->inputs[i].width;
    }
    fz->n_features = total;
    size_t m = (size_t)AM_MAX(total, 1);
    fz->names = am_calloc(m, sizeof(char *));
    fz->n_categories = am_calloc(m, sizeof(int32_t));
    fz->center = am_calloc(m, sizeof(double));
    fz->scale = am_malloc_array(m, sizeof(double));
    if (!fz->names || !fz->n_categories || !fz->center || !fz->scale)
        return am_fail(d, AM_ERR_NOMEM, "out of memory for %lld feature names", (long long)total);
    for (int64_t j = 0; j < total; j++)
        fz->scale[j] = 1.0;
    for (int32_t i = 0; i < fz->n_inputs; i++) {
        const feat_input *in = &fz->inputs[i];
        int64_t j = in->first;
        for (int32_t e = 0; e < in->n_enc; e++)
            for (int64_t k = 0; k < in->enc[e]->width; k++, j++) {
                fz->names[j] = in->enc[e]->names[k];
                fz->n_categories[j] = in->enc[e]->n_categories ? in->enc[e]->n_categories[k] : 0;
            }
    }
    return AM_OK;
}

/* ---- scaling ------------------------------------------------------------------------------ */

/* Mean and population sd of v[0..n), with deviations scaled by the largest one so values near
 * 1e200 do not overflow. */
static void mean_sd(const double *v, int64_t n, double *mean_out, double *sd_out)
{
    double s[4] = {0, 0, 0, 0}, lo = v[0], hi = v[0];
    for (int64_t i = 0; i < n; i++) {
        s[i & 3] += v[i];
        lo = AM_MIN(lo, v[i]);
        hi = AM_MAX(hi, v[i]);
    }
    double mean = ((s[0] + s[1]) + (s[2] + s[3])) / (double)n;
    if (!isfinite(mean)) { /* the sum overflowed: average halved values instead */
        mean = 0.0;
        for (int64_t i = 0; i < n; i++)
            mean += (0.5 * v[i]) / (double)n;
        mean = isfinite(2.0 * mean) ? 2.0 * mean : 0.0;
    }
    double big = AM_MAX(hi - mean, mean - lo), sd = 0.0;
    if (big > 0.0 && isfinite(big)) {
        double q[4] = {0, 0, 0, 0}, inv = 1.0 / big;
        for (int64_t i = 0; i < n; i++) {
            double z = (v[i] - mean) * inv;
            q[i & 3] += z * z;
        }
        sd = big * sqrt(((q[0] + q[1]) + (q[2] + q[3])) / (double)n);
    }
    *mean_out = mean;
    *sd_out = sd;
}

/* Centre and scale of one training output column (scratch: n doubles, for the robust
 * quantiles). A column without spread is only centred. */
static void column_scaling(const double *v, int64_t n, uint8_t mode, double *scratch,
                           double *center, double *scale)
{
    double mean, sd;
    mean_sd(v, n, &mean, &sd);
    *center = mean;
    *scale = isfinite(sd) && sd > 0 ? sd : 1.0;
    if (mode != SCALE_ROBUST)
        return;
    memcpy(scratch, v, (size_t)n * sizeof(double));
    double med = am_feat_quantile(scratch, n, 0.5);
    double q1 = am_feat_quantile(scratch, n, 0.25), q3 = am_feat_quantile(scratch, n, 0.75);
    *center = med;
    if (isfinite(q3 - q1) && q3 - q1 > 0)
        *scale = q3 - q1; /* else the sd (or 1), as a column of mostly one value needs */
}

/* Fits the scaling on the training matrix x and applies it in place. false when out of memory. */
static bool fit_scaling(am_featurizer *fz, am_matrix *x, int32_t n_threads)
{
    if (fz->scaling == SCALE_NONE)
        return true;
    bool failed = false;
    int nt = (int)AM_MAX(1, AM_MIN((int64_t)n_threads, fz->n_features));
#pragma omp parallel num_threads(nt) reduction(|| : failed)
    {
        double *scratch = fz->scaling == SCALE_ROBUST
                              ? am_malloc_array((size_t)x->n_rows, sizeof(double))
                              : NULL;
        failed = fz->scaling == SCALE_ROBUST && !scratch;
#pragma omp for schedule(dynamic, 4)
        for (int64_t j = 0; j < fz->n_features; j++) {
            if (failed)
                continue;
            double *col = x->data + j * x->ld;
            column_scaling(col, x->n_rows, fz->scaling, scratch, &fz->center[j], &fz->scale[j]);
            for (int64_t i = 0; i < x->n_rows; i++)
                col[i] = (col[i] - fz->center[j]) / fz->scale[j];
        }
        am_free(scratch);
    }
    return !failed;
}

/* ---- transform --------------------------------------------------------------------------- */

/* Output column pointers of one encoder of an input. */
static void encoder_columns(const feat_input *in, int32_t e, am_matrix *out, double **cols)
{
    int64_t j = in->first;
    for (int32_t k = 0; k < e; k++)
        j += in->enc[k]->width;
    for (int64_t k = 0; k < in->enc[e]->width; k++)
        cols[k] = out->data + (j + k) * out->ld;
}

/* Writes input i's encodings of rows into out; train: the training rows of the fit, with the
 * out-of-fold encodings where an encoder has them. */
static am_status encode_input(const feat_input *in, const am_column *c, const int64_t *rows,
                              int64_t n, const am_enc_fit_args *train, am_matrix *out)
{
    int64_t max_w = 0;
    for (int32_t e = 0; e < in->n_enc; e++)
        max_w = AM_MAX(max_w, in->enc[e]->width);
    double **cols = am_malloc_array((size_t)AM_MAX(max_w, 1), sizeof(double *));
    if (!cols)
        return AM_ERR_NOMEM;
    for (int32_t e = 0; e < in->n_enc; e++) {
        const am_encoder *enc = in->enc[e];
        encoder_columns(in, e, out, cols);
        if (train && enc->type->transform_train)
            enc->type->transform_train(enc, train, cols);
        else
            enc->type->transform(enc, c, rows, n, cols);
    }
    am_free(cols);
    return AM_OK;
}

/* The training matrix: every input's out-of-fold or plain encodings, inputs on threads. */
static am_status encode_training(const am_featurizer *fz, const fit_job *jobs,
                                 const int64_t *rows, int64_t n, const am_feat_options *o,
                                 am_matrix *x, am_diag *d)
{
    am_status st = am_matrix_new(x, n, fz->n_features, d);
    if (st != AM_OK)
        return st;
    bool failed = false;
    int nt = (int)AM_MAX(1, AM_MIN(o->n_threads, fz->n_inputs));
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) reduction(|| : failed)
    for (int32_t i = 0; i < fz->n_inputs; i++) {
        const am_column *c = &jobs[i].f->cols[jobs[i].col];
        am_enc_fit_args a = {.frame = jobs[i].f, .col = c, .rows = rows, .n_rows = n,
                             .y = o->y, .task = o->task, .n_classes = o->n_classes, .opts = o,
                             .seed = column_seed(o->seed, c->name)};
        if (encode_input(&fz->inputs[i], c, rows, n, &a, x) != AM_OK)
            failed = true; /* not "failed = ...": a later input must not clear it */
    }
    if (failed) {
        am_matrix_fini(x);
        return am_fail(d, AM_ERR_NOMEM, "out of memory encoding the training rows");
    }
    return AM_OK;
}

/* ---- the entry points of fitting --------------------------------------------------------- */

static am_status fit_args_check(const am_frame *f, int32_t target_col, const int64_t *rows,
                                int64_t n_rows, const am_feat_options *o, am_diag *d)
{
    if (!f || !rows || n_rows <= 0 || target_col < -1 || target_col >= f->n_cols || !o)
        return am_fail(d, AM_ERR_ARG, "am_featurizer_fit: bad arguments");
    bool classes_ok = o->task == AM_TASK_REGRESSION ? o->n_classes == 0 : o->n_classes >= 2;
    if (o->y && !classes_ok)
        return am_fail(d, AM_ERR_ARG, "am_featurizer_fit: the target's task and classes "
                       "disagree");
    return check_rows(f, rows, n_rows, "am_featurizer_fit", d);
}

am_status am_featurizer_fit_transform(const am_frame *f, int32_t target_col, const int64_t *rows,
                                      int64_t n_rows, const am_feat_options *opts,
                                      const am_logger *log, am_featurizer **out, am_matrix *x,
                                      am_diag *d)
{
    if (!out)
        return am_fail(d, AM_ERR_ARG, "am_featurizer_fit: NULL output");
    *out = NULL;
    if (x)
        memset(x, 0, sizeof(*x));
    am_feat_options o = opts ? *opts : (am_feat_options){0};
    o.n_threads = AM_MAX(o.n_threads, 1);
    am_status st = fit_args_check(f, target_col, rows, n_rows, &o, d);
    if (st != AM_OK)
        return st;
    am_featurizer *fz = am_calloc(1, sizeof(*fz));
    fit_job *jobs = am_calloc((size_t)AM_MAX(f->n_cols, 1), sizeof(fit_job));
    if (!fz || !jobs ||
        !(fz->inputs = am_calloc((size_t)AM_MAX(f->n_cols, 1), sizeof(feat_input)))) {
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for the featurizer");
        goto fail;
    }
    fz->native = o.native;
    fz->scaling = o.native || !o.standardize ? SCALE_NONE
                  : o.robust_scale         ? SCALE_ROBUST
                                           : SCALE_STANDARD;
    int32_t n_jobs = 0;
    st = plan_inputs(fz, f, target_col, rows, n_rows, &o, log, jobs, &n_jobs, d);
    if (st != AM_OK)
        goto fail;
    int nt = (int)AM_MAX(1, AM_MIN(o.n_threads, n_jobs));
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int32_t i = 0; i < n_jobs; i++)
        jobs[i].st = fit_input(&fz->inputs[i], &jobs[i], rows, n_rows, &o);
    for (int32_t i = 0; i < n_jobs; i++)
        if (jobs[i].st != AM_OK) { /* the first failing input, in frame order */
            if (d)
                *d = jobs[i].d;
            st = jobs[i].st;
            goto fail;
        }
    st = lay_out(fz, d);
    am_matrix train = {0};
    if (st == AM_OK)
        st = encode_training(fz, jobs, rows, n_rows, &o, &train, d);
    if (st == AM_OK && !fit_scaling(fz, &train, o.n_threads))
        st = am_fail(d, AM_ERR_NOMEM, "out of memory scaling the features");
    if (st != AM_OK) {
        am_matrix_fini(&train);
        goto fail;
    }
    if (x)
        *x = train;
    else
        am_matrix_fini(&train);
    am_free(jobs);
    *out = fz;
    return AM_OK;
fail:
    am_free(jobs);
    am_featurizer_free(fz);
    return st;
}

am_status am_featurizer_fit(const am_frame *f, int32_t target_col, const int64_t *rows,
                            int64_t n_rows, const am_feat_options *opts, const am_logger *log,
                            am_featurizer **out, am_diag *d)
{
    return am_featurizer_fit_transform(f, target_col, rows, n_rows, opts, log, out, NULL, d);
}

/* ---- transform --------------------------------------------------------------------------- */

static const char *time_format_name(uint8_t f)
{
    return f == AM_TIME_MDY ? "month first (M/D/YYYY)"
           : f == AM_TIME_DMY ? "day first (D/M/YYYY)"
                              : "as ISO dates";
}

/* Schema check: the frame column of every input, by name, with the training type (and, for
 * dates, the training format). */
static am_status find_inputs(const am_featurizer *fz, const am_frame *f, int32_t *cols,
                             am_diag *d)
{
    for (int32_t i = 0; i < fz->n_inputs; i++) {
        const feat_input *in = &fz->inputs[i];
        int32_t j = am_frame_col_find(f, in->name);
        if (j < 0)
            return am_feat_fail(d, AM_ERR_DATA, f, 0, in->name, "column \"%s\" is missing",
                                in->name);
        if (f->cols[j].type != in->type)
            return am_feat_fail(d, AM_ERR_DATA, f, 0, in->name,
                                "column \"%s\" was %s in training, is %s here", in->name,
                                am_coltype_name(in->type), am_coltype_name(f->cols[j].type));
        if (in->type == AM_COL_TIME && f->cols[j].time_format != in->time_format)
            return am_feat_fail(d, AM_ERR_DATA, f, 0, in->name,
                                "column \"%s\": its dates were written %s in training, %s here "
                                "(read the file with the model's schema)", in->name,
                                time_format_name(in->time_format),
                                time_format_name(f->cols[j].time_format));
        cols[i] = j;
    }
    return AM_OK;
}

am_status am_featurizer_transform(const am_featurizer *fz, const am_frame *f, const int64_t *rows,
                                  int64_t n_rows, am_matrix *out, am_diag *d)
{
    if (!out)
        return am_fail(d, AM_ERR_ARG, "am_featurizer_transform: NULL output");
    memset(out, 0, sizeof(*out));
    if (!fz || !f || (rows && n_rows < 0))
        return am_fail(d, AM_ERR_ARG, "am_featurizer_transform: bad arguments");
    int64_t n = rows ? n_rows : f->n_rows;
    am_status st = AM_OK;
    for (int64_t i = 0; rows && i < n && st == AM_OK; i++)
        if (rows[i] < 0 || rows[i] >= f->n_rows)
            st = am_fail(d, AM_ERR_ARG, "am_featurizer_transform: row index %lld out of range",
                         (long long)rows[i]);
    int32_t *cols = st == AM_OK ? am_malloc_array((size_t)AM_MAX(fz->n_inputs, 1),
                                                  sizeof(int32_t))
                                : NULL;
    if (st == AM_OK && !cols)
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for the featurizer");
    if (st == AM_OK)
        st = find_inputs(fz, f, cols, d);
    if (st == AM_OK)
        st = am_matrix_new(out, n, fz->n_features, d);
    for (int32_t i = 0; i < fz->n_inputs && st == AM_OK; i++)
        if (encode_input(&fz->inputs[i], &f->cols[cols[i]], rows, n, NULL, out) != AM_OK)
            st = am_fail(d, AM_ERR_NOMEM, "out of memory for the featurizer");
    for (int64_t j = 0; st == AM_OK && fz->scaling != SCALE_NONE && j < fz->n_features; j++) {
        double *col = out->data + j * out->ld, c = fz->center[j], s = fz->scale[j];
        for (int64_t i = 0; i < n; i++)
            col[i] = (col[i] - c) / s;
    }
    am_free(cols);
    if (st != AM_OK)
        am_matrix_fini(out);
    return st;
}

/* ---- accessors -------------------------------------------------------------------------- */

int64_t am_featurizer_n_features(const am_featurizer *fz)
{
    return fz ? fz->n_features : 0;
}

int32_t am_featurizer_n_categories(const am_featurizer *fz, int64_t j)
{
    return fz && j >= 0 && j < fz->n_features ? fz->n_categories[j] : 0;
}

const char *am_featurizer_feature_name(const am_featurizer *fz, int64_t j)
{
    return fz && j >= 0 && j < fz->n_features ? fz->names[j] : NULL;
}

int32_t am_featurizer_n_inputs(const am_featurizer *fz)
{
    return fz ? fz->n_inputs : 0;
}

const char *am_featurizer_input_name(const am_featurizer *fz, int32_t i)
{
    return fz && i >= 0 && i < fz->n_inputs ? fz->inputs[i].name : NULL;
}

am_coltype am_featurizer_input_type(const am_featurizer *fz, int32_t i)
{
    return fz && i >= 0 && i < fz->n_inputs ? fz->inputs[i].type : (am_coltype)0;
}

uint8_t am_featurizer_input_time_format(const am_featurizer *fz, int32_t i)
{
    return fz && i >= 0 && i < fz->n_inputs ? fz->inputs[i].time_format : 0;
}

am_role am_featurizer_input_role(const am_featurizer *fz, int32_t i)
{
    return fz && i >= 0 && i < fz->n_inputs ? fz->inputs[i].role : (am_role)0;
}

/* ---- save and load ----------------------------------------------------------------------- */

/* Payload (format 2): u64 n_inputs, u8 native, u8 scaling; per input: str name, u32 type,
 * u8 time format, u8 role, u32 n_encoders, and per encoder: str type name, u32 version,
 * u64 payload length, payload; then, when scaling: f64 center[n_features], f64
 * scale[n_features]. The layout and the feature names follow from the encoders, so nothing
 * stored can point outside it. */
am_status am_featurizer_save(const am_featurizer *fz, am_buf *b, am_diag *d)
{
    if (!fz || !b)
        return am_fail(d, AM_ERR_ARG, "am_featurizer_save: NULL argument");
    am_buf_u64(b, (uint64_t)fz->n_inputs);
    am_buf_u8(b, fz->native ? 1 : 0);
    am_buf_u8(b, fz->scaling);
    for (int32_t i = 0; i < fz->n_inputs; i++) {
        const feat_input *in = &fz->inputs[i];
        am_buf_str(b, in->name);
        am_buf_u32(b, (uint32_t)in->type);
        am_buf_u8(b, in->time_format);
        am_buf_u8(b, (uint8_t)in->role);
        am_buf_u32(b, (uint32_t)in->n_enc);
        for (int32_t e = 0; e < in->n_enc; e++) {
            const am_encoder *enc = in->enc[e];
            am_buf payload;
            am_buf_init(&payload);
            am_status st = enc->type->save(enc, &payload, d);
            if (st == AM_OK) {
                am_buf_str(b, enc->type->name);
                am_buf_u32(b, enc->type->version);
                am_buf_u64(b, (uint64_t)payload.len);
                am_buf_put(b, payload.data, payload.len);
            }
            am_buf_fini(&payload);
            if (st != AM_OK)
                return st;
        }
    }
    if (fz->scaling != SCALE_NONE) {
        am_buf_f64s(b, fz->center, (size_t)fz->n_features);
        am_buf_f64s(b, fz->scale, (size_t)fz->n_features);
    }
    return am_buf_status(b, d);
}

/* One encoder: its type by name, then its payload read through a reader of exactly its length
 * (an encoder that reads short or long is corrupt). */
static am_status load_encoder(am_reader *r, am_encoder **out, am_diag *d)
{
    char *name = am_get_str(r, 64);
    uint32_t version = am_get_u32(r);
    uint64_t len = am_get_u64(r);
    if (r->failed || !name || len > r->left) {
        am_free(name);
        return am_fail(d, AM_ERR_FORMAT, "featurizer: an encoder header is corrupt");
    }
    const am_encoder_type *t = am_encoder_find(name);
    if (!t) {
        am_status st = am_fail(d, AM_ERR_FORMAT, "featurizer: unknown encoder \"%s\" (written "
                               "by a newer version of automl?)", name);
        am_free(name);
        return st;
    }
    am_free(name);
    am_reader sub;
    am_reader_init(&sub, r->p, (size_t)len, r->what);
    r->p += len;
    r->left -= (size_t)len;
    am_status st = t->load(&sub, version, out, d);
    if (st == AM_OK && (sub.failed || sub.left != 0 || (*out)->width < 1)) {
        t->free(*out);
        *out = NULL;
        st = am_fail(d, AM_ERR_FORMAT, "featurizer: the %s encoder's payload is corrupt",
                     t->name);
    }
    return st;
}

/* The roles an input's type can have (a corrupt pairing would send a column's values to an
 * encoder that reads another kind of column). */
static bool role_fits_type(am_role role, am_coltype t)
{
    switch (role) {
    case AM_ROLE_NUMERIC: return t == AM_COL_NUM;
    case AM_ROLE_CATEGORICAL: return t == AM_COL_CAT;
    case AM_ROLE_BOOLEAN: return t == AM_COL_CAT || t == AM_COL_NUM;
    case AM_ROLE_DATETIME: return t == AM_COL_TIME || t == AM_COL_NUM;
    case AM_ROLE_TEXT: return t == AM_COL_TEXT || t == AM_COL_CAT;
    case AM_ROLE_DROPPED: break;
    }
    return false;
}

static am_status load_input(am_reader *r, feat_input *in, am_strset *seen, am_diag *d)
{
    in->name = am_get_str(r, AM_FEAT_STR_MAX);
    in->type = (am_coltype)am_get_u32(r);
    in->time_format = am_get_u8(r);
    in->role = (am_role)am_get_u8(r);
    uint32_t n_enc = am_get_u32(r);
    if (r->failed || !in->name || n_enc == 0 || n_enc > LOAD_MAX_ENCODERS ||
        !role_fits_type(in->role, in->type) || in->time_format > AM_TIME_DMY ||
        (in->time_format && in->type != AM_COL_TIME))
        return am_fail(d, AM_ERR_FORMAT, "featurizer: an input is corrupt");
    int32_t before = seen->n;
    if (am_strset_add(seen, in->name, strlen(in->name)) < 0)
        return am_fail(d, AM_ERR_NOMEM, "out of memory loading the featurizer");
    if (seen->n == before)
        return am_fail(d, AM_ERR_FORMAT, "featurizer: two inputs are named \"%s\"", in->name);
    for (uint32_t e = 0; e < n_enc; e++) {
        am_status st = load_encoder(r, &in->enc[e], d);
        if (st != AM_OK)
            return st;
        in->n_enc++;
        in->width += in->enc[e]->width;
        if (in->width > LOAD_MAX_WIDTH)
            return am_fail(d, AM_ERR_FORMAT, "featurizer: too many features");
    }
    return AM_OK;
}

/* Reads the scaling; a non-finite centre or a scale that is not a positive finite number would
 * turn every prediction into NaN, so it is corruption. */
static am_status load_scaling(am_reader *r, am_featurizer *fz, am_diag *d)
{
    if (am_get_f64s(r, fz->center, (size_t)fz->n_features) &&
        am_get_f64s(r, fz->scale, (size_t)fz->n_features))
        for (int64_t j = 0; j < fz->n_features; j++)
            if (!isfinite(fz->center[j]) || !isfinite(fz->scale[j]) || !(fz->scale[j] > 0.0))
                am_reader_fail(r);
    return r->failed ? am_fail(d, AM_ERR_FORMAT, "featurizer: the scaling is corrupt") : AM_OK;
}

am_status am_featurizer_load(am_reader *r, uint32_t version, am_featurizer **out, am_diag *d)
{
    if (!out || !r)
        return am_fail(d, AM_ERR_ARG, "am_featurizer_load: NULL argument");
    *out = NULL;
    if (version == 1)
        return am_fail(d, AM_ERR_FORMAT, "this model was written by an earlier version of "
                       "automl (featurizer format 1); fit it again");
    if (version != AM_FEATURIZER_FORMAT)
        return am_fail(d, AM_ERR_FORMAT, "featurizer format %u is not supported by this "
                       "version (it reads format %u)", version, AM_FEATURIZER_FORMAT);
    am_strset seen;
    am_strset_init(&seen);
    am_featurizer *fz = am_calloc(1, sizeof(*fz));
    /* Each input takes at least 19 bytes (name length, type, format, role, encoder count). */
    uint64_t n = am_get_count(r, AM_MIN(LOAD_MAX_INPUTS, (uint64_t)r->left / 19));
    uint8_t native = am_get_u8(r), scaling = am_get_u8(r);
    am_status st = AM_OK;
    if (!fz)
        st = am_fail(d, AM_ERR_NOMEM, "out of memory loading the featurizer");
    else if (r->failed || n == 0 || native > 1 || scaling > SCALE_ROBUST ||
             (native && scaling != SCALE_NONE))
        st = am_fail(d, AM_ERR_FORMAT, "featurizer: the header is corrupt");
    else if (!(fz->inputs = am_calloc((size_t)n, sizeof(feat_input))))
        st = am_fail(d, AM_ERR_NOMEM, "out of memory loading the featurizer");
    if (st == AM_OK) {
        fz->native = native;
        fz->scaling = scaling;
    }
    for (uint64_t i = 0; st == AM_OK && i < n; i++) {
        fz->n_inputs++;
        st = load_input(r, &fz->inputs[i], &seen, d);
    }
    if (st == AM_OK)
        st = lay_out(fz, d);
    if (st == AM_OK && fz->scaling != SCALE_NONE)
        st = load_scaling(r, fz, d);
    if (st == AM_OK)
        st = am_reader_status(r, false, d);
    am_strset_fini(&seen);
    if (st != AM_OK) {
        am_featurizer_free(fz);
        return st;
    }
    *out = fz;
    return AM_OK;
}
