/* controller.c — the search controller: target, split, fold matrices, trials in batches, exit
 * criteria, refit.
 *
 * The shape of a run:
 *   1. the target gives y and the frame rows it keeps; the metric and learners are checked
 *      against the task;
 *   2. the validation split is made over positions in y, and every fold's featurizer and
 *      matrices are built once per variant (scaled or not) and shared read-only by all trials;
 *   3. trials are proposed in batches of AM_SEARCH_BATCH ids; trial i's learner, parameters and
 *      seed depend only on (seed, i); a batch runs in parallel, one single-threaded fit per trial;
 *   4. results are observed in id order, so the exit criteria (trial count, target score,
 *      patience) fire at the same trial on any number of threads; trials of the batch after the
 *      stopping one are dropped;
 *   5. the best configuration is refitted on all rows with every thread; when the deadline cuts
 *      the refit, the best trial's first-fold model (kept alive for that) stands in for it.
 *
 * Time: o->deadline bounds everything including the save. An estimate of the refit's cost
 * (featurizing and fitting on all rows, plus the save reserve) is kept back from the trials, and
 * no batch starts when a typical trial would eat into it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "search.h"

/* In libopenblas, which the search links; declared here so no OpenBLAS header is needed. */
void openblas_set_num_threads(int);

void am_blas_set_threads(int32_t n)
{
    openblas_set_num_threads((int)AM_MAX(n, 1));
}

enum { VARIANT_PLAIN = 0, VARIANT_SCALED = 1, VARIANT_BINNED = 2, N_VARIANTS = 3 };

/* One fold's featurized data for one variant. The binned variant has no featurizer or training
 * matrix of its own: its trials read the shared binned data through train_pos. */
typedef struct fold_data {
    am_featurizer *fz;
    am_matrix x_train, x_valid;
    const int64_t *train_pos; /* binned variant: training positions (rows of the binned data) */
    int64_t n_train_pos;
    double *y_train, *y_valid;
    double seconds; /* featurizer fit + both transforms */
    am_status status;
    am_diag diag;
} fold_data;

/* A trial while it runs: the record the leaderboard keeps, plus what only the controller needs. */
typedef struct trial_slot {
    am_trial t;
    am_model *model0;    /* the fold-0 model, kept until observed (a refit fallback candidate) */
    double fit_seconds;  /* mean fit time per fold */
    am_diag diag;        /* the full failure message */
} trial_slot;

typedef struct search_state {
    const am_frame *f;
    int32_t target_col;
    const am_search_options *o;
    const am_logger *log;
    double start;

    am_task task;
    int32_t n_classes, n_outputs;
    am_metric metric;
    bool higher;
    const double *y;
    const int64_t *rows;
    int64_t n;
    am_column_role *roles;            /* per frame column, decided once on every row */
    bool imbalanced;                  /* class_imbalance alerted: class weights are tried */

    const am_learner_type **learners; /* allowed and fit for the task, caller's order */
    int32_t n_learners;
    const am_learner_type **tunable;  /* the ones with a tuned parameter */
    int32_t n_tunable;

    am_split split;
    /* Tree learners: one native featurizer fitted on every kept row (it learns no target
     * statistic, only level lists), its output for every kept row, and the binned data built
     * from that output once, shared by every fold and trial. */
    am_featurizer *native_fz;
    am_matrix x_native;
    am_binned binned;
    fold_data *data[N_VARIANTS]; /* split.n_folds entries each, NULL when the variant is unused */
    double feat_seconds;         /* slowest fold build */

    am_trial *trials;
    int32_t n_trials, cap_trials;
    int32_t best;
    am_model *best_model0;       /* fold-0 model of trials[best] */
    double best_fit_seconds;
    double max_fit_seconds;      /* slowest per-fold fit of any successful trial */
    double ok_seconds;           /* sum of seconds of successful trials */
    int32_t n_ok;
    int32_t since_improve;
    am_diag first_failure;       /* of the lowest failed id that was not cancelled */
    bool any_failure;
    bool any_cancelled;
} search_state;

const char *am_exit_reason_name(am_exit_reason r)
{
    switch (r) {
    case AM_EXIT_TIME:
        return "time_budget";
    case AM_EXIT_TRIALS:
        return "max_trials";
    case AM_EXIT_SCORE:
        return "exit_score";
    case AM_EXIT_PATIENCE:
        return "patience";
    case AM_EXIT_CANCELLED:
        return "cancelled";
    case AM_EXIT_SINGLE:
        return "single_fit";
    }
    return "unknown";
}

/* ---- small helpers ----------------------------------------------------------------------- */

static const char *task_words(am_task t)
{
    switch (t) {
    case AM_TASK_BINARY:
        return "binary classification";
    case AM_TASK_MULTICLASS:
        return "multiclass classification";
    case AM_TASK_REGRESSION:
        return "regression";
    }
    return "an unknown task";
}

/* "4,000": counts in log lines are read by people. */
static const char *format_count(int64_t v, char *buf, size_t size)
{
    char digits[32];
    int len = snprintf(digits, sizeof(digits), "%lld", (long long)(v < 0 ? -v : v));
    size_t at = 0;
    if (v < 0 && at + 1 < size)
        buf[at++] = '-';
    for (int i = 0; i < len && at + 1 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0 && at + 1 < size)
            buf[at++] = ',';
        if (at + 1 < size)
            buf[at++] = digits[i];
    }
    buf[at] = '\0';
    return buf;
}

static int variant_of(const am_learner_type *t)
{
    if (t->needs & AM_NEEDS_BINNED)
        return VARIANT_BINNED;
    return (t->needs & AM_NEEDS_SCALED) ? VARIANT_SCALED : VARIANT_PLAIN;
}

static bool has_tuned(const am_learner_type *t)
{
    if (!t->params)
        return false;
    for (int32_t i = 0; i < t->params->n; i++)
        if (t->params->desc[i].flags & AM_PF_TUNE)
            return true;
    return false;
}

static void params_cheap(const am_learner_type *t, am_params *p)
{
    memset(p, 0, sizeof(*p));
    if (t->params)
        am_params_cheap(t->params, p);
}

static void params_text(const am_learner_type *t, const am_params *p, char *buf, size_t size)
{
    buf[0] = '\0';
    if (t->params)
        am_params_format(t->params, p, false, buf, size);
}

static bool better(const search_state *s, double a, double b)
{
    return s->higher ? a > b : a < b;
}

static bool cancel_set(const am_search_options *o)
{
    return o->cancel && *o->cancel;
}

/* ---- options, target, learners ------------------------------------------------------------ */

static am_status check_options(const am_search_options *o, am_diag *d)
{
    if (!o->learners || o->n_learners < 1)
        return am_fail(d, AM_ERR_CONFIG, "no learner is allowed");
    for (int32_t i = 0; i < o->n_learners; i++)
        if (!o->learners[i])
            return am_fail(d, AM_ERR_ARG, "learner %d is NULL", (int)i);
    if (o->n_threads < 1)
        return am_fail(d, AM_ERR_CONFIG, "threads=%d: must be at least 1", (int)o->n_threads);
    if (o->cv_folds == 1 || o->cv_folds < 0)
        return am_fail(d, AM_ERR_CONFIG, "cv_folds=%d: must be 0 (holdout) or at least 2",
                       (int)o->cv_folds);
    if (o->cv_folds == 0 && !(o->holdout > 0.0 && o->holdout < 1.0) &&
        !(o->fixed && !o->validate))
        return am_fail(d, AM_ERR_CONFIG, "holdout=%g: must be in (0, 1)", o->holdout);
    if (o->max_trials < 0)
        return am_fail(d, AM_ERR_CONFIG, "max_trials=%d: must be 0 (unlimited) or more",
                       (int)o->max_trials);
    if (o->patience < 0)
        return am_fail(d, AM_ERR_CONFIG, "patience=%d: must be 0 (off) or more", (int)o->patience);
    if (isnan(o->deadline))
        return am_fail(d, AM_ERR_CONFIG, "the deadline is not a number");
    if (!(o->save_reserve >= 0.0))
        return am_fail(d, AM_ERR_CONFIG, "the save reserve must be >= 0 seconds");
    if (o->fixed && o->n_learners != 1)
        return am_fail(d, AM_ERR_CONFIG, "a fixed configuration needs exactly one learner, got %d",
                       (int)o->n_learners);
    if (o->fixed && o->learners[0]->params)
        return am_params_check(o->learners[0]->params, o->fixed, d);
    return AM_OK;
}

static am_status choose_metric(search_state *s, am_diag *d)
{
    am_metric m = s->o->metric ? s->o->metric : am_metric_default(s->task);
    if (!strcmp(am_metric_name(m), "unknown"))
        return am_fail(d, AM_ERR_CONFIG, "unknown metric %d", (int)m);
    if (!am_metric_fits_task(m, s->task))
        return am_fail(d, AM_ERR_CONFIG, "metric %s does not fit %s", am_metric_name(m),
                       task_words(s->task));
    s->metric = m;
    s->higher = am_metric_higher_is_better(m);
    return AM_OK;
}

static am_status choose_learners(search_state *s, am_diag *d)
{
    const am_search_options *o = s->o;
    s->learners = am_malloc_array((size_t)o->n_learners, sizeof(*s->learners));
    s->tunable = am_malloc_array((size_t)o->n_learners, sizeof(*s->tunable));
    if (!s->learners || !s->tunable)
        return am_fail(d, AM_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < o->n_learners; i++) {
        const am_learner_type *t = o->learners[i];
        if (!(t->tasks & (unsigned)s->task)) {
            am_log(s->log, AM_LOG_INFO, "learner %s does not support %s: skipped", t->name,
                   task_words(s->task));
            continue;
        }
        s->learners[s->n_learners++] = t;
        if (has_tuned(t))
            s->tunable[s->n_tunable++] = t;
    }
    if (s->n_learners == 0) {
        if (o->n_learners == 1)
            return am_fail(d, AM_ERR_CONFIG, "learner %s does not support %s",
                           o->learners[0]->name, task_words(s->task));
        return am_fail(d, AM_ERR_CONFIG, "none of the allowed learners supports %s",
                       task_words(s->task));
    }
    return AM_OK;
}

/* ---- the split ------------------------------------------------------------------------------ */

/* Smallest class count (classification), for fitting the number of folds to the data; n when
 * the counts cannot be had (out of memory), which leaves the folds as asked. */
static int64_t smallest_class(const search_state *s)
{
    int64_t *count = am_calloc((size_t)s->n_classes, sizeof(*count));
    if (!count)
        return s->n;
    for (int64_t i = 0; i < s->n; i++)
        if (s->y[i] >= 0 && s->y[i] < (double)s->n_classes) /* the split refuses the others */
            count[(int32_t)s->y[i]]++;
    int64_t smallest = s->n;
    for (int32_t c = 0; c < s->n_classes; c++)
        smallest = AM_MIN(smallest, count[c]);
    am_free(count);
    return smallest;
}

/* scikit-learn refuses k-fold when k exceeds the rows and only warns when a class is smaller than
 * k. We prefer to shrink k (with a warning): folds without a class in their training rows make
 * poor validation, and a small data set should still fit. Never below 2 folds; a class with a
 * single row then simply misses from one fold's training side. */
static int32_t fit_folds(const search_state *s, int32_t k)
{
    char nb[32];
    int32_t want = k;
    if ((int64_t)k > s->n)
        k = (int32_t)s->n;
    if (s->task != AM_TASK_REGRESSION) {
        int64_t smallest = smallest_class(s);
        if (smallest < k) {
            k = (int32_t)AM_MAX(smallest, 2);
            am_log(s->log, AM_LOG_WARN,
                   "the smallest class has only %s rows: using %d-fold cross-validation instead "
                   "of %d", format_count(smallest, nb, sizeof(nb)), (int)k, (int)want);
            return k;
        }
    }
    if (k != want)
        am_log(s->log, AM_LOG_WARN, "only %s rows: using %d-fold cross-validation instead of %d",
               format_count(s->n, nb, sizeof(nb)), (int)k, (int)want);
    return k;
}

static am_status make_split(search_state *s, am_diag *d)
{
    const am_search_options *o = s->o;
    const bool strat = s->task != AM_TASK_REGRESSION;
    char nb[32], tb[32], vb[32];
    if (s->n < 2)
        return am_fail(d, AM_ERR_DATA, "%lld row is too few to validate on", (long long)s->n);
    am_status st;
    if (o->cv_folds >= 2) {
        int32_t k = fit_folds(s, o->cv_folds);
        st = am_split_kfold(s->y, s->n, s->task, s->n_classes, k, o->seed, &s->split, d);
        if (st == AM_OK)
            am_log(s->log, AM_LOG_INFO, "%d-fold %scross-validation on %s rows", (int)k,
                   strat ? "stratified " : "", format_count(s->n, nb, sizeof(nb)));
    } else {
        st = am_split_holdout(s->y, s->n, s->task, s->n_classes, o->holdout, o->seed, &s->split,
                              d);
        if (st == AM_OK)
            am_log(s->log, AM_LOG_INFO,
                   "%sholdout validation on %s rows (%s training, %s validation)",
                   strat ? "stratified " : "", format_count(s->n, nb, sizeof(nb)),
                   format_count(s->split.folds[0].n_train, tb, sizeof(tb)),
                   format_count(s->split.folds[0].n_valid, vb, sizeof(vb)));
    }
    return st;
}

/* ---- fold matrices -------------------------------------------------------------------------- */

static void fold_data_fini(fold_data *fd)
{
    am_featurizer_free(fd->fz);
    fd->fz = NULL;
    am_matrix_fini(&fd->x_train);
    am_matrix_fini(&fd->x_valid);
    am_free(fd->y_train);
    am_free(fd->y_valid);
    fd->y_train = fd->y_valid = NULL;
}

static void free_all_fold_data(search_state *s)
{
    for (int v = 0; v < N_VARIANTS; v++) {
        if (!s->data[v])
            continue;
        for (int32_t k = 0; k < s->split.n_folds; k++)
            fold_data_fini(&s->data[v][k]);
        am_free(s->data[v]);
        s->data[v] = NULL;
    }
}

/* Frame rows and targets of a list of positions into y. */
static am_status gather(const search_state *s, const int64_t *pos, int64_t m, int64_t **frows,
                        double **y, am_diag *d)
{
    *frows = am_malloc_array((size_t)m, sizeof(**frows));
    *y = am_malloc_array((size_t)m, sizeof(**y));
    if (!*frows || !*y) {
        am_free(*frows);
        am_free(*y);
        *frows = NULL;
        *y = NULL;
        return am_fail(d, AM_ERR_NOMEM, "out of memory building the fold data");
    }
    for (int64_t j = 0; j < m; j++) {
        (*frows)[j] = s->rows[pos[j]];
        (*y)[j] = s->y[pos[j]];
    }
    return AM_OK;
}

/* Rows `pos` of the native matrix, as a new matrix: a fold's validation rows for tree trials. */
static am_status gather_native(const search_state *s, const int64_t *pos, int64_t m,
                               am_matrix *out, am_diag *d)
{
    const am_matrix *x = &s->x_native;
    am_status st = am_matrix_new(out, m, x->n_cols, d);
    for (int64_t j = 0; st == AM_OK && j < x->n_cols; j++)
        for (int64_t i = 0; i < m; i++)
            AM_AT(out, i, j) = AM_AT(x, pos[i], j);
    return st;
}

/* The binned variant's fold: targets of both sides, validation rows gathered from the native
 * matrix; the training side stays in the shared binned data. */
static void build_binned_fold(const search_state *s, int32_t k, fold_data *fd)
{
    const am_fold *fold = &s->split.folds[k];
    double t0 = am_now();
    int64_t *tr_rows = NULL, *va_rows = NULL;
    am_status st = gather(s, fold->train, fold->n_train, &tr_rows, &fd->y_train, &fd->diag);
    if (st == AM_OK)
        st = gather(s, fold->valid, fold->n_valid, &va_rows, &fd->y_valid, &fd->diag);
    if (st == AM_OK)
        st = gather_native(s, fold->valid, fold->n_valid, &fd->x_valid, &fd->diag);
    fd->train_pos = fold->train;
    fd->n_train_pos = fold->n_train;
    am_free(tr_rows);
    am_free(va_rows);
    fd->status = st;
    fd->seconds = am_now() - t0;
}

/* The featurizer's options for a variant, fitted on training rows whose targets are y. */
static am_feat_options feat_options(const search_state *s, int variant, const double *y)
{
    return (am_feat_options){.standardize = variant == VARIANT_SCALED,
                             .robust_scale = s->o->robust_scale,
                             .native = variant == VARIANT_BINNED,
                             .n_threads = s->o->n_threads,
                             .roles = s->roles,
                             .y = variant == VARIANT_BINNED ? NULL : y,
                             .task = s->task,
                             .n_classes = s->n_classes,
                             .seed = s->o->seed};
}

/* Fits fold k's featurizer on its training rows and transforms both sides (the training side
 * with out-of-fold target statistics). Thread-safe: touches only *fd. */
static void build_fold(const search_state *s, int variant, int32_t k, const am_logger *log,
                       fold_data *fd)
{
    if (variant == VARIANT_BINNED) {
        build_binned_fold(s, k, fd);
        return;
    }
    const am_fold *fold = &s->split.folds[k];
    double t0 = am_now();
    int64_t *tr_rows = NULL, *va_rows = NULL;
    am_diag *d = &fd->diag;
    am_status st = gather(s, fold->train, fold->n_train, &tr_rows, &fd->y_train, d);
    if (st == AM_OK)
        st = gather(s, fold->valid, fold->n_valid, &va_rows, &fd->y_valid, d);
    am_feat_options fo = feat_options(s, variant, fd->y_train);
    if (st == AM_OK)
        st = am_featurizer_fit_transform(s->f, s->target_col, tr_rows, fold->n_train, &fo, log,
                                         &fd->fz, &fd->x_train, d);
    if (st == AM_OK)
        st = am_featurizer_transform(fd->fz, s->f, va_rows, fold->n_valid, &fd->x_valid, d);
    am_free(tr_rows);
    am_free(va_rows);
    fd->status = st;
    fd->seconds = am_now() - t0;
}

/* Largest number of value bins per feature (plus the missing bin: 256 codes in a byte). */
#define MAX_BIN 255

/* The native featurizer on every kept row, its output, and the binned data: once per run. */
static am_status build_binned(search_state *s, const am_logger *log, am_diag *d)
{
    am_feat_options fo = feat_options(s, VARIANT_BINNED, NULL);
    am_status st = am_featurizer_fit_transform(s->f, s->target_col, s->rows, s->n, &fo, log,
                                               &s->native_fz, &s->x_native, d);
    if (st != AM_OK)
        return st;
    int64_t p = s->x_native.n_cols;
    int32_t *n_categories = am_malloc_array((size_t)(p > 0 ? p : 1), sizeof(int32_t));
    if (!n_categories)
        return am_fail(d, AM_ERR_NOMEM, "out of memory");
    for (int64_t j = 0; j < p; j++)
        n_categories[j] = am_featurizer_n_categories(s->native_fz, j);
    int32_t max_bin = s->o->max_bin > 0 ? s->o->max_bin : MAX_BIN;
    st = am_binned_build(&s->x_native, n_categories, max_bin, s->o->seed, s->o->n_threads,
                         &s->binned, d);
    am_free(n_categories);
    return st;
}

/* Builds the variants the learners need. The first fold is built alone with the logger (so the
 * featurizer's warnings about dropped columns appear once, from this thread); the rest run in
 * parallel without one. */
static am_status build_fold_data(search_state *s, am_diag *d)
{
    bool need[N_VARIANTS] = {false, false, false};
    for (int32_t i = 0; i < s->n_learners; i++)
        need[variant_of(s->learners[i])] = true;
    if (need[VARIANT_BINNED]) {
        /* Its warnings (dropped columns) would repeat the first fold's when another variant is
         * built too. */
        const am_logger *log = need[VARIANT_PLAIN] || need[VARIANT_SCALED] ? NULL : s->log;
        am_status st = build_binned(s, log, d);
        if (st != AM_OK)
            return st;
    }
    const int32_t nf = s->split.n_folds;
    /* Jobs in (variant, fold) order: entries of the used variants' arrays, side by side. */
    fold_data **jobs = am_malloc_array((size_t)nf * N_VARIANTS, sizeof(*jobs));
    int *job_variant = am_malloc_array((size_t)nf * N_VARIANTS, sizeof(*job_variant));
    int32_t n_jobs = 0;
    am_status st = AM_OK;
    if (!jobs || !job_variant)
        st = am_fail(d, AM_ERR_NOMEM, "out of memory");
    for (int v = 0; v < N_VARIANTS && st == AM_OK; v++) {
        if (!need[v])
            continue;
        s->data[v] = am_calloc((size_t)nf, sizeof(fold_data));
        if (!s->data[v]) {
            st = am_fail(d, AM_ERR_NOMEM, "out of memory");
            break;
        }
        for (int32_t k = 0; k < nf; k++) {
            jobs[n_jobs] = &s->data[v][k];
            job_variant[n_jobs++] = v;
        }
    }
    if (st == AM_OK) {
        /* Variants come in order; the binned one logs nothing, so fold 0 of the first variant
         * is the one whose warnings users see. */
        build_fold(s, job_variant[0], 0, s->log, jobs[0]);
        if (jobs[0]->status == AM_OK) {
#pragma omp parallel for num_threads(s->o->n_threads) schedule(dynamic, 1)
            for (int32_t j = 1; j < n_jobs; j++)
                build_fold(s, job_variant[j], j % nf, NULL, jobs[j]);
        }
        /* The first failure in job order, so the message does not depend on thread timing. */
        for (int32_t j = 0; j < n_jobs; j++) {
            s->feat_seconds = AM_MAX(s->feat_seconds, jobs[j]->seconds);
            if (jobs[j]->status != AM_OK) {
                st = jobs[j]->status;
                if (d)
                    *d = jobs[j]->diag;
                break;
            }
        }
    }
    am_free(jobs);
    am_free(job_variant);
    return st;
}

/* ---- trials --------------------------------------------------------------------------------- */

/* With imbalanced classes, learners that take class weights ("class_weight": none | balanced)
 * try both: half of their sampled trials weigh the classes. */
static void offer_class_weights(const search_state *s, am_rng *rng, am_trial *t)
{
    int32_t k = am_params_find(t->learner->params, "class_weight");
    if (s->imbalanced && k >= 0)
        t->params.v[k] = (double)am_rng_below(rng, 2);
}

/* Trial id's learner and parameters: a function of (seed, id) only. */
static void propose(const search_state *s, int32_t id, am_trial *t)
{
    memset(t, 0, sizeof(*t));
    t->id = id;
    t->score = NAN;
    const am_search_options *o = s->o;
    if (o->fixed) {
        t->learner = s->learners[0];
        t->params = *o->fixed;
    } else if (id < s->n_learners) {
        /* Every learner starts at its cheap point, so cheap models are seen before costly ones. */
        t->learner = s->learners[id];
        params_cheap(t->learner, &t->params);
    } else {
        am_rng rng;
        am_rng_seed(&rng, am_seed_derive(o->seed, (uint64_t)id));
        t->learner = s->tunable[am_rng_below(&rng, s->n_tunable)];
        params_cheap(t->learner, &t->params);
        am_params_sample(t->learner->params, &rng, &t->params);
        offer_class_weights(s, &rng, t);
    }
}

/* Ids past this are never proposed: max_trials, or the space of distinct configurations when no
 * learner has a parameter to tune (repeating a fixed configuration teaches nothing). */
static int32_t id_limit(const search_state *s)
{
    int32_t limit = INT32_MAX;
    if (s->o->fixed)
        limit = 1;
    else if (s->n_tunable == 0)
        limit = s->n_learners;
    if (s->o->max_trials > 0)
        limit = AM_MIN(limit, s->o->max_trials);
    return limit;
}

/* The leaderboard note: the message, cut at the note's size (a long one loses its tail). */
static void set_note(am_trial *t, const char *text)
{
    size_t len = AM_MIN(strlen(text), sizeof(t->note) - 1);
    memcpy(t->note, text, len);
    t->note[len] = '\0';
}

static void trial_fail(trial_slot *slot, am_status st, const am_diag *dg)
{
    slot->t.status = st;
    slot->t.score = NAN;
    if (slot->diag.status == AM_OK && dg)
        slot->diag = *dg;
    slot->diag.status = st;
    set_note(&slot->t, slot->diag.message[0] ? slot->diag.message : am_status_name(st));
    am_model_free(slot->model0);
    slot->model0 = NULL;
}

/* Fits, predicts and scores one fold. On success the model is returned in *model. */
static am_status run_fold(const search_state *s, const am_trial *t, const fold_data *fd,
                          const am_stop *stop, am_model **model, double *score, double *fit_s,
                          am_diag *dg)
{
    bool binned = variant_of(t->learner) == VARIANT_BINNED;
    am_fit_args a = {
        .x = binned ? NULL : &fd->x_train,
        .binned = binned ? &s->binned : NULL,
        .rows = binned ? fd->train_pos : NULL,
        .n_rows = binned ? fd->n_train_pos : 0,
        .y = fd->y_train,
        .weight = NULL,
        /* No validation rows for early stopping: the same rows score the trial, and letting the
         * learner stop on them would make the score optimistic. */
        .x_valid = NULL,
        .y_valid = NULL,
        .task = s->task,
        .n_classes = s->n_classes,
        .params = &t->params,
        .seed = am_seed_derive(s->o->seed, (uint64_t)t->id),
        .n_threads = 1,
        .stop = stop,
        .log = NULL, /* the host's logger is not called from worker threads */
    };
    double t0 = am_now();
    am_status st = am_learner_fit(t->learner, &a, model, dg);
    *fit_s = am_now() - t0;
    if (st != AM_OK)
        return st;
    if ((*model)->n_outputs != s->n_outputs)
        return am_fail(dg, AM_ERR_INTERNAL, "learner %s gave %d outputs, expected %d",
                       t->learner->name, (int)(*model)->n_outputs, (int)s->n_outputs);
    int64_t nv = fd->x_valid.n_rows;
    double *pred = am_malloc_array((size_t)nv, (size_t)s->n_outputs * sizeof(double));
    if (!pred)
        return am_fail(dg, AM_ERR_NOMEM, "out of memory predicting %lld validation rows",
                       (long long)nv);
    st = t->learner->predict(*model, &fd->x_valid, 1, stop, pred, dg);
    if (st == AM_OK)
        *score = am_metric_compute(s->metric, s->task, s->n_classes, fd->y_valid, pred, nv);
    am_free(pred);
    if (st == AM_OK && isnan(*score))
        st = am_fail(dg, AM_ERR_NUMERIC, "the validation %s is undefined (non-finite predictions)",
                     am_metric_name(s->metric));
    return st;
}

/* Runs one trial on every fold. Called from worker threads: writes only *slot. */
static void run_trial(const search_state *s, trial_slot *slot, const am_stop *stop)
{
    am_trial *t = &slot->t;
    const fold_data *data = s->data[variant_of(t->learner)];
    double t0 = am_now(), sum = 0.0, fit_sum = 0.0;
    const int32_t nf = s->split.n_folds;
    for (int32_t k = 0; k < nf; k++) {
        am_diag dg;
        am_diag_clear(&dg);
        if (am_stop_hit(stop)) {
            trial_fail(slot, AM_ERR_CANCELLED, NULL);
            break;
        }
        am_model *model = NULL;
        double score = NAN, fit_s = 0.0;
        am_status st = run_fold(s, t, &data[k], stop, &model, &score, &fit_s, &dg);
        fit_sum += fit_s;
        if (k == 0)
            slot->model0 = model;
        else
            am_model_free(model);
        if (st != AM_OK) {
            trial_fail(slot, st, &dg);
            break;
        }
        sum += score;
    }
    if (t->status == AM_OK) {
        t->score = sum / nf;
        slot->fit_seconds = fit_sum / nf;
    } else if (t->status == AM_ERR_CANCELLED) {
        set_note(t, cancel_set(s->o) ? "cancelled" : "cancelled: the time budget ran out");
    }
    t->seconds = am_now() - t0;
}

/* Seconds added to every refit estimate: timer granularity, thread start-up and the first
 * touch of memory make tiny refits cost more than their scaled trial time. */
#define REFIT_MARGIN 0.02

/* The refit's expected cost (with the save reserve): featurizing and fitting on all n rows
 * instead of a fold's training rows, the fit with a margin since it rarely scales linearly.
 * The fit time is the slowest successful trial's, not the current best's: a slower
 * configuration may become the best in the batch that is about to run, and the reserve is
 * fixed before that batch starts. */
static double refit_estimate(const search_state *s)
{
    double scale = 1.0;
    if (s->split.n_folds > 0 && s->split.folds[0].n_train > 0)
        scale = (double)s->n / (double)s->split.folds[0].n_train;
    double est = s->feat_seconds * scale + s->o->save_reserve + REFIT_MARGIN;
    if (s->best >= 0)
        est += AM_MAX(s->best_fit_seconds, s->max_fit_seconds) * scale * 2.0;
    return est;
}

static am_status append_trial(search_state *s, const am_trial *t, am_diag *d)
{
    if (s->n_trials == s->cap_trials) {
        int32_t cap = s->cap_trials ? s->cap_trials * 2 : 64;
        am_trial *grown = am_realloc(s->trials, (size_t)cap * sizeof(*grown));
        if (!grown)
            return am_fail(d, AM_ERR_NOMEM, "out of memory recording trial %d", (int)t->id);
        s->trials = grown;
        s->cap_trials = cap;
    }
    s->trials[s->n_trials++] = *t;
    return AM_OK;
}

static void log_trial(const search_state *s, const am_trial *t)
{
    char ptext[512];
    params_text(t->learner, &t->params, ptext, sizeof(ptext));
    const char *sep = ptext[0] ? " " : "";
    if (t->status == AM_OK)
        am_log(s->log, AM_LOG_DEBUG, "trial %d %s%s%s: %s %.4f (%.2f s)", (int)t->id,
               t->learner->name, sep, ptext, am_metric_name(s->metric), t->score, t->seconds);
    else
        am_log(s->log, AM_LOG_DEBUG, "trial %d %s%s%s: %s (%.2f s)", (int)t->id, t->learner->name,
               sep, ptext, t->note, t->seconds);
}

/* Records one finished trial and updates the best; the slot's fold-0 model is either taken as
 * the new fallback or freed. */
static am_status observe(search_state *s, trial_slot *slot, am_diag *d)
{
    am_status st = append_trial(s, &slot->t, d);
    if (st != AM_OK) {
        am_model_free(slot->model0);
        slot->model0 = NULL;
        return st;
    }
    const am_trial *t = &slot->t;
    log_trial(s, t);
    if (t->status == AM_OK) {
        s->ok_seconds += t->seconds;
        s->n_ok++;
        s->max_fit_seconds = AM_MAX(s->max_fit_seconds, slot->fit_seconds);
    } else if (t->status == AM_ERR_CANCELLED) {
        s->any_cancelled = true;
    } else if (!s->any_failure) {
        s->any_failure = true;
        s->first_failure = slot->diag;
    }
    if (t->status == AM_OK && (s->best < 0 || better(s, t->score, s->trials[s->best].score))) {
        s->best = s->n_trials - 1;
        s->best_fit_seconds = slot->fit_seconds;
        am_model_free(s->best_model0);
        s->best_model0 = slot->model0;
        s->since_improve = 0;
    } else {
        am_model_free(slot->model0);
        s->since_improve++;
    }
    slot->model0 = NULL;
    return AM_OK;
}

/* The exit criterion met after the latest observed trial, or 0. */
static am_exit_reason criterion_met(const search_state *s)
{
    const am_search_options *o = s->o;
    if (o->max_trials > 0 && s->n_trials >= o->max_trials)
        return AM_EXIT_TRIALS;
    if (!isnan(o->exit_score) && s->best >= 0) {
        double b = s->trials[s->best].score;
        if (s->higher ? b >= o->exit_score : b <= o->exit_score)
            return AM_EXIT_SCORE;
    }
    if (o->patience > 0 && s->since_improve >= o->patience)
        return AM_EXIT_PATIENCE;
    return (am_exit_reason)0;
}

static void run_batch(const search_state *s, trial_slot *slots, int32_t nb, const am_stop *stop)
{
    am_blas_set_threads(1);
#pragma omp parallel for num_threads(s->o->n_threads) schedule(dynamic, 1)
    for (int32_t b = 0; b < nb; b++)
        run_trial(s, &slots[b], stop);
}

/* The batch loop. Returns the exit reason through *why; fails only on shared-state trouble. */
static am_status search_loop(search_state *s, am_exit_reason *why, am_diag *d)
{
    const am_search_options *o = s->o;
    const int32_t limit = id_limit(s);
    trial_slot slots[AM_SEARCH_BATCH];
    int32_t next = 0;
    *why = 0;
    while (!*why) {
        if (cancel_set(o)) {
            *why = AM_EXIT_CANCELLED;
            break;
        }
        if (next >= limit) {
            *why = AM_EXIT_TRIALS; /* max_trials, or every distinct configuration tried */
            break;
        }
        double reserve = refit_estimate(s);
        /* A batch runs its trials n_threads at a time: it lasts about this many typical
         * trials end to end. */
        int32_t waves = (AM_MIN(AM_SEARCH_BATCH, limit - next) + o->n_threads - 1) / o->n_threads;
        double typical = s->n_ok > 0 ? s->ok_seconds / s->n_ok : 0.0;
        if (next > 0 && am_now() + reserve + typical * waves > o->deadline) {
            *why = AM_EXIT_TIME;
            break;
        }
        am_stop stop = {o->deadline - reserve, o->cancel};
        int32_t nb = AM_MIN(AM_SEARCH_BATCH, limit - next);
        memset(slots, 0, sizeof(slots));
        for (int32_t b = 0; b < nb; b++)
            propose(s, next + b, &slots[b].t);
        next += nb;
        run_batch(s, slots, nb, &stop);
        am_status st = AM_OK;
        for (int32_t b = 0; b < nb; b++) {
            if (*why || st != AM_OK) {
                am_model_free(slots[b].model0); /* ran, but after the stop: not recorded */
                continue;
            }
            st = observe(s, &slots[b], d);
            if (st == AM_OK)
                *why = criterion_met(s);
        }
        if (st != AM_OK)
            return st;
        if (!*why && s->any_cancelled)
            *why = cancel_set(o) ? AM_EXIT_CANCELLED : AM_EXIT_TIME;
    }
    return AM_OK;
}

/* ---- refit ---------------------------------------------------------------------------------- */

/* The arguments of a refit on every kept row, but for its data (x, or binned and n_rows). */
static am_fit_args refit_args(const search_state *s, const am_params *params, uint64_t seed,
                              const am_stop *stop)
{
    return (am_fit_args){
        .y = s->y,
        .task = s->task,
        .n_classes = s->n_classes,
        .params = params,
        .seed = seed,
        .n_threads = s->o->n_threads,
        .stop = stop,
        .log = s->log,
    };
}

/* Tree learners refit on the shared binned data (built here when no fold needed it, as in
 * estimator mode without validation); the native featurizer passes to the result. */
static am_status refit_binned(search_state *s, const am_learner_type *learner,
                              const am_params *params, uint64_t seed, am_featurizer **fz_out,
                              am_model **model_out, am_diag *d)
{
    const am_search_options *o = s->o;
    am_status st = AM_OK;
    if (!s->native_fz)
        st = build_binned(s, s->split.n_folds == 0 ? s->log : NULL, d);
    am_matrix_fini(&s->x_native); /* only fold validation rows came from it */
    if (st != AM_OK)
        return st;
    am_stop stop = {o->deadline - o->save_reserve, o->cancel};
    am_fit_args a = refit_args(s, params, seed, &stop);
    a.binned = &s->binned;
    a.n_rows = s->n;
    st = am_learner_fit(learner, &a, model_out, d);
    if (st == AM_OK) {
        *fz_out = s->native_fz;
        s->native_fz = NULL;
    }
    return st;
}

static am_status refit_all_rows(search_state *s, const am_learner_type *learner,
                                const am_params *params, uint64_t seed, am_featurizer **fz_out,
                                am_model **model_out, am_diag *d)
{
    const am_search_options *o = s->o;
    if (variant_of(learner) == VARIANT_BINNED)
        return refit_binned(s, learner, params, seed, fz_out, model_out, d);
    am_feat_options fo = feat_options(s, variant_of(learner), s->y);
    am_featurizer *fz = NULL;
    am_matrix x = {0};
    am_model *model = NULL;
    /* The featurizer logs here only when no fold was built (estimator mode without
     * validation); otherwise its warnings were given once already. */
    const am_logger *flog = s->split.n_folds == 0 ? s->log : NULL;
    am_status st = am_featurizer_fit_transform(s->f, s->target_col, s->rows, s->n, &fo, flog,
                                               &fz, &x, d);
    if (st == AM_OK) {
        am_stop stop = {o->deadline - o->save_reserve, o->cancel};
        am_fit_args a = refit_args(s, params, seed, &stop);
        a.x = &x;
        am_blas_set_threads(o->n_threads);
        st = am_learner_fit(learner, &a, &model, d);
    }
    am_matrix_fini(&x);
    if (st != AM_OK) {
        am_featurizer_free(fz);
        return st;
    }
    *fz_out = fz;
    *model_out = model;
    return AM_OK;
}

/* Refits the chosen configuration, or falls back to the best trial's fold-0 model. */
static am_status refit(search_state *s, am_search_result *out, am_diag *d)
{
    const am_search_options *o = s->o;
    const am_learner_type *learner;
    am_params params;
    int32_t id;
    if (s->best >= 0) {
        learner = s->trials[s->best].learner;
        params = s->trials[s->best].params;
        id = s->trials[s->best].id;
    } else {
        learner = s->learners[0];
        params = *o->fixed;
        id = 0;
    }
    /* Keep only what a fallback needs: the best's fold-0 featurizer (its model is held apart).
     * Tree learners share the native featurizer, which stays in s until the refit takes it. */
    am_featurizer *fallback_fz = NULL;
    if (s->best_model0 && variant_of(learner) != VARIANT_BINNED && s->data[variant_of(learner)]) {
        fallback_fz = s->data[variant_of(learner)][0].fz;
        s->data[variant_of(learner)][0].fz = NULL;
    }
    free_all_fold_data(s);

    am_diag rd;
    am_diag_clear(&rd);
    am_status st = refit_all_rows(s, learner, &params, am_seed_derive(o->seed, (uint64_t)id),
                                  &out->featurizer, &out->model, &rd);
    if (st != AM_OK && variant_of(learner) == VARIANT_BINNED) {
        fallback_fz = s->native_fz;
        s->native_fz = NULL;
    }
    if (st != AM_OK && st != AM_ERR_NOMEM && fallback_fz && s->best_model0) {
        am_log(s->log, AM_LOG_WARN,
               "the refit on all rows did not finish (%s); using trial %d's model from the first "
               "fold instead", rd.message[0] ? rd.message : am_status_name(st), (int)id);
        out->featurizer = fallback_fz;
        out->model = s->best_model0;
        out->refit_fallback = true;
        fallback_fz = NULL;
        s->best_model0 = NULL;
        st = AM_OK;
    } else if (st != AM_OK) {
        if (d)
            *d = rd;
        if (st == AM_ERR_CANCELLED && !cancel_set(o))
            am_fail(d, AM_ERR_CANCELLED,
                    "the time budget ended before the model could be fitted on all rows (%s)",
                    rd.message[0] ? rd.message : "cancelled");
    }
    am_featurizer_free(fallback_fz);
    if (st == AM_OK) {
        out->learner = learner;
        out->params = params;
        out->n_features = am_featurizer_n_features(out->featurizer);
    }
    return st;
}

/* When no trial succeeded: why, in the words a user can act on. */
static am_status no_trial_succeeded(const search_state *s, am_exit_reason why, am_diag *d)
{
    if (why == AM_EXIT_CANCELLED || cancel_set(s->o))
        return am_fail(d, AM_ERR_CANCELLED, "cancelled before any trial finished");
    if (s->any_failure && why != AM_EXIT_TIME && !s->any_cancelled) {
        am_status st = s->first_failure.status ? s->first_failure.status : AM_ERR_NUMERIC;
        return am_fail(d, st, "every trial failed; the first: %s",
                       s->first_failure.message[0] ? s->first_failure.message
                                                   : am_status_name(st));
    }
    double left = s->o->deadline - s->start;
    if (left > 0)
        return am_fail(d, AM_ERR_CANCELLED,
                       "the time budget ended before any trial finished (%.3g s were left for the "
                       "search); raise --time-budget", left);
    return am_fail(d, AM_ERR_CANCELLED,
                   "the time budget had ended before the search started; raise --time-budget");
}

/* ---- the run -------------------------------------------------------------------------------- */

static void state_fini(search_state *s)
{
    free_all_fold_data(s);
    am_featurizer_free(s->native_fz);
    am_matrix_fini(&s->x_native);
    am_binned_fini(&s->binned);
    am_split_fini(&s->split);
    am_model_free(s->best_model0);
    am_free(s->learners);
    am_free(s->tunable);
    am_free(s->trials);
    am_free(s->roles);
}

/* The columns' roles, decided once on every row, and the data checks of the report. */
static am_status check_data(search_state *s, am_search_result *out, am_diag *d)
{
    s->roles = am_calloc((size_t)AM_MAX(s->f->n_cols, 1), sizeof(am_column_role));
    if (!s->roles)
        return am_fail(d, AM_ERR_NOMEM, "out of memory for the column roles");
    am_status st = am_roles_infer(s->f, s->target_col, s->o->roles, s->o->n_threads, s->roles, d);
    if (st != AM_OK)
        return st;
    am_guard_input gi = {.f = s->f, .target_col = s->target_col, .roles = s->roles,
                         .rows = s->rows, .n_rows = s->n, .y = s->y, .task = s->task,
                         .n_classes = s->n_classes, .labels = &out->target.labels,
                         .onehot_max_levels = AM_FEAT_ONEHOT_MAX,
                         .rare_min_count = AM_FEAT_RARE_MIN, .seed = s->o->seed,
                         .n_threads = s->o->n_threads};
    st = am_guardrails_check_data(&gi, &out->guardrails, d);
    for (int32_t i = 0; st == AM_OK && i < out->guardrails.n; i++) {
        const am_guardrail *g = &out->guardrails.items[i];
        if (strcmp(g->check, "class_imbalance") == 0 && g->state == AM_GUARD_ALERTED)
            s->imbalanced = true;
        if (g->state == AM_GUARD_ALERTED)
            am_log(s->log, AM_LOG_WARN, "guardrail %s: %s", g->check, g->detail);
    }
    return st;
}

static am_status prepare(search_state *s, am_search_result *out, double **y, int64_t **rows,
                         am_diag *d)
{
    const am_search_options *o = s->o;
    am_status st = check_options(o, d);
    if (st != AM_OK)
        return st;
    am_target_options to = {.task = o->task};
    st = am_target_fit(s->f, s->target_col, &to, s->log, &out->target, y, rows, &s->n, d);
    if (st != AM_OK)
        return st;
    s->y = *y;
    s->rows = *rows;
    s->task = out->target.task;
    s->n_classes = s->task == AM_TASK_REGRESSION ? 0 : out->target.n_classes;
    s->n_outputs = s->task == AM_TASK_REGRESSION ? 1 : s->n_classes;
    if ((st = choose_metric(s, d)) != AM_OK)
        return st;
    out->metric = s->metric;
    double t0 = am_now();
    st = check_data(s, out, d);
    out->seconds_featurize += am_now() - t0; /* the report is part of featurizing */
    if (st != AM_OK)
        return st;
    return choose_learners(s, d);
}

/* ---- the report's split and memory entries ------------------------------------------------ */

static am_status split_guardrail(const search_state *s, am_guardrails *g, am_diag *d)
{
    char nb[32], vb[32];
    format_count(s->n, nb, sizeof(nb));
    if (s->split.n_folds == 0)
        return am_guardrails_add(g, "validation_split", AM_GUARD_PASSED, d,
                                 "no validation: a single fit on %s rows (estimator mode "
                                 "without --cv or --holdout)", nb);
    if (s->o->cv_folds >= 2)
        return am_guardrails_add(g, "validation_split", AM_GUARD_DONE, d,
                                 "%d-fold %scross-validation on %s rows", (int)s->split.n_folds,
                                 s->task != AM_TASK_REGRESSION ? "stratified " : "", nb);
    return am_guardrails_add(g, "validation_split", AM_GUARD_DONE, d,
                             "%sholdout of %s of %s rows for validation",
                             s->task != AM_TASK_REGRESSION ? "stratified " : "",
                             format_count(s->split.folds[0].n_valid, vb, sizeof(vb)), nb);
}

/* Bytes held by the featurized and binned data of every fold and variant. */
static double fold_data_bytes(const search_state *s)
{
    double bytes = (double)s->x_native.n_rows * (double)s->x_native.n_cols * 8.0 +
                   (double)s->binned.n_rows * (double)s->binned.n_features;
    for (int v = 0; v < N_VARIANTS; v++)
        for (int32_t k = 0; s->data[v] && k < s->split.n_folds; k++) {
            const fold_data *fd = &s->data[v][k];
            bytes += 8.0 * ((double)fd->x_train.n_rows * (double)fd->x_train.n_cols +
                            (double)fd->x_valid.n_rows * (double)fd->x_valid.n_cols);
        }
    return bytes;
}

static am_status memory_guardrail(double bytes, bool shared, am_guardrails *g, am_diag *d)
{
    return am_guardrails_add(g, "memory_estimate", AM_GUARD_PASSED, d, "featurized data: %.1f MB%s",
                             bytes / 1e6, shared ? ", shared read-only by every trial" : "");
}

/* Split, fold data, trials: everything before the refit. */
static am_status validate_and_search(search_state *s, am_search_result *out, am_diag *d)
{
    double t0 = am_now();
    am_status st = make_split(s, d);
    if (st == AM_OK)
        st = split_guardrail(s, &out->guardrails, d);
    if (st == AM_OK)
        st = build_fold_data(s, d);
    if (st == AM_OK)
        st = memory_guardrail(fold_data_bytes(s), true, &out->guardrails, d);
    out->seconds_featurize += am_now() - t0;
    if (st != AM_OK)
        return st;
    t0 = am_now();
    am_exit_reason why;
    st = search_loop(s, &why, d);
    out->seconds_search = am_now() - t0;
    if (st != AM_OK)
        return st;
    out->exit_reason = s->o->fixed ? AM_EXIT_SINGLE : why;
    if (s->best < 0)
        return no_trial_succeeded(s, why, d);
    const am_trial *b = &s->trials[s->best];
    char ptext[512];
    params_text(b->learner, &b->params, ptext, sizeof(ptext));
    am_log(s->log, AM_LOG_INFO,
           "search stopped after %d trial%s (%s); best: trial %d %s%s%s, %s %.4f",
           (int)s->n_trials, s->n_trials == 1 ? "" : "s", am_exit_reason_name(out->exit_reason),
           (int)b->id, b->learner->name,
           ptext[0] ? " " : "", ptext, am_metric_name(s->metric), b->score);
    return AM_OK;
}

am_status am_search_run(const am_frame *f, int32_t target_col, const am_search_options *o,
                        const am_logger *log, am_search_result *out, am_diag *d)
{
    if (!out)
        return am_fail(d, AM_ERR_ARG, "no result to fill");
    memset(out, 0, sizeof(*out));
    out->best = -1;
    if (!f || !o)
        return am_fail(d, AM_ERR_ARG, "am_search_run needs a frame and options");
    search_state s = {.f = f, .target_col = target_col, .o = o, .log = log, .start = am_now(),
                      .best = -1};
    double *y = NULL;
    int64_t *rows = NULL;
    am_status st = prepare(&s, out, &y, &rows, d);
    bool validate = !(o->fixed && !o->validate);
    if (st == AM_OK && validate)
        st = validate_and_search(&s, out, d);
    else if (st == AM_OK)
        st = split_guardrail(&s, &out->guardrails, d);
    if (st == AM_OK) {
        if (o->fixed)
            out->exit_reason = AM_EXIT_SINGLE;
        double t0 = am_now();
        st = refit(&s, out, d);
        out->seconds_refit = am_now() - t0;
    }
    if (st == AM_OK && !validate)
        st = memory_guardrail(8.0 * (double)s.n * (double)out->n_features, false,
                              &out->guardrails, d);
    out->n_rows = s.n;
    out->best = s.best;
    out->trials = s.trials;
    out->n_trials = s.n_trials;
    s.trials = NULL;
    state_fini(&s);
    am_free(y);
    am_free(rows);
    if (st != AM_OK) {
        /* A failed run hands back nothing half-made. */
        am_search_result_fini(out);
    }
    return st;
}

void am_search_result_fini(am_search_result *r)
{
    if (!r)
        return;
    am_target_fini(&r->target);
    am_featurizer_free(r->featurizer);
    am_model_free(r->model);
    am_free(r->trials);
    am_guardrails_fini(&r->guardrails);
    memset(r, 0, sizeof(*r));
    r->best = -1;
}

/* ---- ranking -------------------------------------------------------------------------------- */

static bool trial_ok(const am_trial *t)
{
    return t->status == AM_OK && !isnan(t->score);
}

/* Does trial a rank before trial b? Successful first, by score; then by id. */
static bool ranks_before(const am_search_result *r, int32_t a, int32_t b)
{
    const am_trial *ta = &r->trials[a], *tb = &r->trials[b];
    bool oka = trial_ok(ta), okb = trial_ok(tb);
    if (oka != okb)
        return oka;
    if (oka && ta->score != tb->score)
        return am_metric_higher_is_better(r->metric) ? ta->score > tb->score
                                                     : ta->score < tb->score;
    return ta->id < tb->id;
}

static void sift_down(const am_search_result *r, int32_t *h, int32_t root, int32_t n)
{
    for (;;) {
        int32_t child = 2 * root + 1;
        if (child >= n)
            return;
        /* A max-heap under "ranks after", so the heap sort leaves the best first. */
        if (child + 1 < n && ranks_before(r, h[child], h[child + 1]))
            child++;
        if (!ranks_before(r, h[root], h[child]))
            return;
        int32_t tmp = h[root];
        h[root] = h[child];
        h[child] = tmp;
        root = child;
    }
}

void am_search_rank(const am_search_result *r, int32_t *order)
{
    if (!r || !order)
        return;
    const int32_t n = r->n_trials;
    for (int32_t i = 0; i < n; i++)
        order[i] = i;
    /* Heap sort: no allocation, and the order is total (ids break ties), so stability is moot. */
    for (int32_t i = n / 2 - 1; i >= 0; i--)
        sift_down(r, order, i, n);
    for (int32_t end = n - 1; end > 0; end--) {
        int32_t tmp = order[0];
        order[0] = order[end];
        order[end] = tmp;
        sift_down(r, order, 0, end);
    }
}
