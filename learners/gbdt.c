/* gbdt.c — gradient boosting on histogram trees (LightGBM/XGBoost "hist"): the type object,
 * its parameter table, the losses, the boosting loop with row/column sampling and early
 * stopping, and prediction, saving and loading of the fitted trees.
 *
 * Training reads the shared binned data (a->binned, the rows a->rows); a fitted tree is
 * flattened into the tree.h form with raw-value thresholds (a bin's upper edge) and category
 * code bitsets, so prediction takes the native matrix (numbers, category codes, NaN missing).
 * One forest per score: one for binary (the log-odds) and regression, one per class for
 * multiclass (softmax, one tree per class per round).
 *
 * The grower (gbdt_grow.c) builds each tree; this file owns everything around it: gradients,
 * bags, the scores of training, out-of-bag and validation rows, and the model. */
#include "gbdt.h"
#include "tree.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    P_N_ESTIMATORS,
    P_LEARNING_RATE,
    P_NUM_LEAVES,
    P_MAX_DEPTH,
    P_MIN_CHILD_SAMPLES,
    P_MIN_CHILD_WEIGHT,
    P_REG_LAMBDA,
    P_REG_ALPHA,
    P_MIN_SPLIT_GAIN,
    P_SUBSAMPLE,
    P_COLSAMPLE,
    P_OBJECTIVE,
    P_HUBER_DELTA,
    P_EARLY_STOPPING,
    P_VALIDATION_FRACTION
};
enum { OBJ_AUTO, OBJ_SQUARED, OBJ_ABSOLUTE, OBJ_HUBER };

static const char *const objective_choices[] = {"auto", "squared_error", "absolute_error",
                                                "huber", NULL};

#define TUNE_LOG (AM_PF_TUNE | AM_PF_LOG)
static const am_param_desc gbdt_desc[] = {
    [P_N_ESTIMATORS] = {"n_estimators", AM_P_INT, 100, 1, 100000, 4, 2000, 4, NULL, TUNE_LOG,
                        "boosting rounds (trees per score)"},
    [P_LEARNING_RATE] = {"learning_rate", AM_P_REAL, 0.1, 1e-4, 1, 0.01, 1, 0.1, NULL, TUNE_LOG,
                         "shrinkage applied to every tree's leaf values"},
    [P_NUM_LEAVES] = {"num_leaves", AM_P_INT, 31, 2, 131072, 4, 1024, 4, NULL, TUNE_LOG,
                      "maximum leaves per tree (leaf-wise growth)"},
    [P_MAX_DEPTH] = {"max_depth", AM_P_INT, 0, 0, 64, 0, 0, 0, NULL, 0,
                     "maximum tree depth; 0 = unlimited"},
    [P_MIN_CHILD_SAMPLES] = {"min_child_samples", AM_P_INT, 20, 1, 1e9, 2, 128, 20, NULL,
                             TUNE_LOG, "minimum training rows in a leaf"},
    [P_MIN_CHILD_WEIGHT] = {"min_child_weight", AM_P_REAL, 1e-3, 0, 1e9, 0, 0, 1e-3, NULL, 0,
                            "minimum sum of Hessians in a leaf"},
    [P_REG_LAMBDA] = {"reg_lambda", AM_P_REAL, 0, 0, 1e6, 1e-3, 100, 1.0, NULL, TUNE_LOG,
                      "L2 penalty on leaf values"},
    [P_REG_ALPHA] = {"reg_alpha", AM_P_REAL, 0, 0, 1e6, 1e-3, 100, 1e-3, NULL, TUNE_LOG,
                     "L1 penalty on leaf values"},
    [P_MIN_SPLIT_GAIN] = {"min_split_gain", AM_P_REAL, 0, 0, 1e9, 0, 0, 0, NULL, 0,
                          "minimum loss reduction to make a split"},
    [P_SUBSAMPLE] = {"subsample", AM_P_REAL, 1, 1e-3, 1, 0.5, 1, 1, NULL, AM_PF_TUNE,
                     "fraction of training rows drawn for each round (without replacement)"},
    [P_COLSAMPLE] = {"colsample_bytree", AM_P_REAL, 1, 1e-3, 1, 0.3, 1, 1, NULL, AM_PF_TUNE,
                     "fraction of features each tree may use"},
    [P_OBJECTIVE] = {"objective", AM_P_ENUM, OBJ_AUTO, 0, 0, 0, 0, OBJ_AUTO, objective_choices,
                     0, "auto: log loss, softmax or squared error by task; the others for "
                     "regression only"},
    [P_HUBER_DELTA] = {"huber_delta", AM_P_REAL, 1.0, 1e-9, 1e9, 0, 0, 1.0, NULL, 0,
                       "residual size where the Huber loss turns from quadratic to linear"},
    [P_EARLY_STOPPING] = {"early_stopping_rounds", AM_P_INT, 0, 0, 10000, 0, 0, 0, NULL, 0,
                          "stop when the validation loss has not improved for this many "
                          "rounds and keep the best round; 0 = off"},
    [P_VALIDATION_FRACTION] = {"validation_fraction", AM_P_REAL, 0.1, 0.01, 0.5, 0, 0, 0.1, NULL,
                               0, "training rows held out for early stopping when no "
                               "validation set is given"},
};

static const am_param_table gbdt_params = {"gbdt", gbdt_desc, (int32_t)AM_COUNT(gbdt_desc)};

/* Categorical splits, as LightGBM's defaults. */
#define CAT_SMOOTH 10.0
#define MAX_CAT 32
#define MIN_DATA_PER_GROUP 10
#define HESS_FLOOR 1e-16 /* keeps a leaf of confident rows from a division by ~0 */
#define PREDICT_BLOCK 4096
#define FORMAT_VERSION 1u

typedef struct gbdt_model {
    am_model base;
    int32_t loss;     /* AM_GBDT_* */
    int32_t k;        /* scores per row = forests */
    int32_t n_rounds; /* trees per forest */
    double *init;     /* k starting scores */
    am_forest *forests;
} gbdt_model;

/* ---- losses ---------------------------------------------------------------------------------- */

/* The largest of k scores, m, and sum of exp(f - m) in *sum: softmax and its log without
 * overflow. */
static double softmax_shift(const double *f, int32_t k, double *sum)
{
    double m = f[0], s = 0;
    for (int32_t c = 1; c < k; c++)
        m = fmax(m, f[c]);
    for (int32_t c = 0; c < k; c++)
        s += exp(f[c] - m);
    *sum = s;
    return m;
}

/* Gradients and Hessians of one row; g[c * stride], h[c * stride] for score c. */
static void row_grad(int loss, int32_t k, const double *f, double y, double delta, double *g,
                     double *h, int64_t stride)
{
    double r = f[0] - y;
    switch (loss) {
    case AM_GBDT_LOGLOSS: {
        double e = exp(-fabs(f[0])), p = f[0] >= 0 ? 1 / (1 + e) : e / (1 + e);
        g[0] = p - y;
        h[0] = fmax(p * (1 - p), HESS_FLOOR);
        return;
    }
    case AM_GBDT_SOFTMAX: {
        double s, m = softmax_shift(f, k, &s);
        for (int32_t c = 0; c < k; c++) {
            double p = exp(f[c] - m) / s;
            g[c * stride] = p - (c == (int32_t)y ? 1.0 : 0.0);
            h[c * stride] = fmax(p * (1 - p), HESS_FLOOR);
        }
        return;
    }
    case AM_GBDT_SQUARED:
        g[0] = r;
        break;
    case AM_GBDT_ABSOLUTE:
        g[0] = (double)((r > 0) - (r < 0));
        break;
    default: /* Huber */
        g[0] = fabs(r) <= delta ? r : copysign(delta, r);
        break;
    }
    h[0] = 1.0;
}

static double row_loss(int loss, int32_t k, const double *f, double y, double delta)
{
    double r = f[0] - y;
    switch (loss) {
    case AM_GBDT_LOGLOSS: /* log(1 + e^f) - y f, without overflow */
        return fmax(f[0], 0) + log1p(exp(-fabs(f[0]))) - y * f[0];
    case AM_GBDT_SOFTMAX: {
        double s, m = softmax_shift(f, k, &s);
        return m + log(s) - f[(int32_t)y];
    }
    case AM_GBDT_SQUARED:
        return 0.5 * r * r;
    case AM_GBDT_ABSOLUTE:
        return fabs(r);
    default:
        return fabs(r) <= delta ? 0.5 * r * r : delta * (fabs(r) - 0.5 * delta);
    }
}

void am_gbdt_loss(int loss, int32_t k, const double *f, double y, double huber_delta,
                  double *value, double *g, double *h)
{
    *value = row_loss(loss, k, f, y, huber_delta);
    row_grad(loss, k, f, y, huber_delta, g, h, 1);
}

static int loss_of(const am_params *p, am_task task)
{
    switch ((int)p->v[P_OBJECTIVE]) {
    case OBJ_SQUARED: return AM_GBDT_SQUARED;
    case OBJ_ABSOLUTE: return AM_GBDT_ABSOLUTE;
    case OBJ_HUBER: return AM_GBDT_HUBER;
    }
    if (task == AM_TASK_BINARY)
        return AM_GBDT_LOGLOSS;
    return task == AM_TASK_MULTICLASS ? AM_GBDT_SOFTMAX : AM_GBDT_SQUARED;
}

/* ---- checks ---------------------------------------------------------------------------------- */

static am_status gbdt_check(const am_params *p, const am_fit_args *a, am_diag *d)
{
    int obj = (int)p->v[P_OBJECTIVE];
    if (a && obj != OBJ_AUTO && a->task != AM_TASK_REGRESSION)
        return am_fail(d, AM_ERR_CONFIG, "gbdt.objective=%s: only for regression, not %s",
                       objective_choices[obj], am_task_name(a->task));
    return AM_OK;
}

static am_status check_valid_target(const am_fit_args *a, double y, int64_t i, am_diag *d)
{
    if (!isfinite(y))
        return am_fail(d, AM_ERR_DATA, "gbdt: validation target of row %" PRId64 " is not finite",
                       i + 1);
    if (a->task != AM_TASK_REGRESSION && (y < 0 || y >= a->n_classes || y != floor(y)))
        return am_fail(d, AM_ERR_DATA, "gbdt: validation target of row %" PRId64 " is %g, not a "
                       "class index in [0, %d]", i + 1, y, (int)a->n_classes - 1);
    return AM_OK;
}

/* The optional early-stopping set: raw rows with the training features' count. */
static am_status check_valid(const am_fit_args *a, am_diag *d)
{
    const am_matrix *v = a->x_valid;
    if (!v)
        return AM_OK;
    if (!a->y_valid || v->n_rows < 1 || v->n_cols != a->binned->n_features ||
        (v->n_cols > 0 && (!v->data || v->ld < v->n_rows)))
        return am_fail(d, AM_ERR_ARG, "gbdt: malformed validation set");
    for (int64_t i = 0; i < v->n_rows; i++) {
        am_status st = check_valid_target(a, a->y_valid[i], i, d);
        if (st != AM_OK)
            return st;
    }
    return AM_OK;
}

/* Everything gbdt reads: the shared binned-data checks, then its own limits. */
static am_status check_fit(const am_fit_args *a, int64_t *n, am_diag *d)
{
    am_status st = am_binned_fit_check(a, "gbdt", d);
    if (st != AM_OK)
        return st;
    *n = a->n_rows;
    if (a->binned->n_rows > INT32_MAX)
        return am_fail(d, AM_ERR_ARG, "gbdt: %" PRId64 " binned rows; at most %d are supported",
                       a->binned->n_rows, INT32_MAX);
    st = am_task_check(&am_learner_gbdt, a->task, d);
    if (st == AM_OK)
        st = gbdt_check(a->params, a, d);
    if (st == AM_OK)
        st = check_valid(a, d);
    return st;
}

/* ---- the fit's state ------------------------------------------------------------------------- */

typedef struct eval_set {
    int64_t n;
    double *score; /* n x k */
    const double *y, *w; /* w may be NULL */
} eval_set;

typedef struct gb_fit {
    const am_fit_args *a;
    const am_binned *b;
    int loss;
    int32_t k;
    double delta;
    /* The rows trees are grown on (training rows less the holdout). */
    int64_t n;
    int32_t *bin_row;
    double *y, *w;
    double *score, *g, *h; /* score n x k (row-major); g, h k x n (one block per score) */
    /* Early stopping: rows held out of the training rows (binned), or a->x_valid. */
    int32_t *hold_row;
    double *hold_y, *hold_w;
    eval_set ev;
    bool early;
    /* Sampling. */
    int32_t *bag;
    uint8_t *in_bag;
    int64_t n_bag;
    int32_t *feats, n_feats;
} gb_fit;

static void fit_fini(gb_fit *f)
{
    void *arrays[] = {f->bin_row, f->y, f->w, f->score, f->g, f->h, f->hold_row, f->hold_y,
                      f->hold_w, f->ev.score, f->bag, f->in_bag, f->feats};
    for (size_t i = 0; i < AM_COUNT(arrays); i++)
        am_free(arrays[i]);
}

/* Which training rows are held out for early stopping: a deterministic draw of
 * validation_fraction of them (at least one, and at least one left to train on). */
static am_status choose_holdout(const am_fit_args *a, int64_t n, uint8_t *held, int64_t *n_held,
                                am_diag *d)
{
    memset(held, 0, (size_t)n);
    *n_held = 0;
    bool early = a->params->v[P_EARLY_STOPPING] > 0 && !a->x_valid;
    if (!early)
        return AM_OK;
    int64_t want = (int64_t)llround(a->params->v[P_VALIDATION_FRACTION] * (double)n);
    want = AM_MAX(want, 1);
    if (want >= n)
        return am_fail(d, AM_ERR_DATA, "gbdt: %" PRId64 " training rows are too few to hold out "
                       "a validation set for early stopping", n);
    int64_t *perm = am_malloc_array((size_t)n, sizeof(int64_t));
    if (!perm)
        return am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory");
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    am_rng r;
    am_rng_seed(&r, am_seed_derive(a->seed, 1));
    am_rng_shuffle(&r, perm, n);
    for (int64_t i = 0; i < want; i++)
        held[perm[i]] = 1;
    am_free(perm);
    *n_held = want;
    return AM_OK;
}

static bool alloc_all(void **const *ptrs, const size_t *sizes, size_t count)
{
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        *ptrs[i] = am_malloc(sizes[i] ? sizes[i] : 1);
        ok = ok && *ptrs[i];
    }
    return ok;
}

/* The early-stopping set (a->x_valid, or the held-out rows) and the feature scratch. */
static am_status eval_setup(gb_fit *f, int64_t n_held, am_diag *d)
{
    const am_fit_args *a = f->a;
    f->early = a->params->v[P_EARLY_STOPPING] > 0;
    if (f->early) {
        f->ev.n = a->x_valid ? a->x_valid->n_rows : n_held;
        f->ev.y = a->x_valid ? a->y_valid : f->hold_y;
        f->ev.w = a->x_valid ? NULL : f->hold_w;
        f->ev.score = am_malloc_array((size_t)f->ev.n, (size_t)f->k * sizeof(double));
        if (!f->ev.score)
            return am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory");
    }
    int64_t nf = f->b->n_features;
    f->feats = am_malloc_array((size_t)AM_MAX(nf, 1), sizeof(int32_t));
    if (!f->feats)
        return am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory");
    return AM_OK;
}

/* Splits the fit's rows into the rows trees are grown on and the held-out rows, copying their
 * binned row indices, targets and weights. */
static am_status fit_rows(gb_fit *f, int64_t n_all, am_diag *d)
{
    const am_fit_args *a = f->a;
    uint8_t *held = am_malloc((size_t)n_all);
    if (!held)
        return am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory");
    int64_t n_held = 0;
    am_status st = choose_holdout(a, n_all, held, &n_held, d);
    if (st != AM_OK) {
        am_free(held);
        return st;
    }
    f->n = n_all - n_held;
    size_t n8 = (size_t)f->n * 8, h8 = (size_t)n_held * 8, k = (size_t)f->k;
    size_t nk8;
    if (!am_size_mul(n8, k, &nk8)) {
        am_free(held);
        return am_fail(d, AM_ERR_NOMEM, "gbdt: too many rows and classes");
    }
    void **const ptrs[] = {(void **)&f->bin_row, (void **)&f->y, (void **)&f->w,
                           (void **)&f->score, (void **)&f->g, (void **)&f->h,
                           (void **)&f->hold_row, (void **)&f->hold_y, (void **)&f->hold_w,
                           (void **)&f->bag, (void **)&f->in_bag};
    const size_t sizes[] = {n8 / 2, n8, n8, nk8, nk8, nk8, h8 / 2, h8, h8, n8 / 2, (size_t)f->n};
    if (!alloc_all(ptrs, sizes, AM_COUNT(sizes))) {
        am_free(held);
        return am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory for %" PRId64 " rows", n_all);
    }
    int64_t t = 0, v = 0;
    for (int64_t i = 0; i < n_all; i++) {
        int32_t r = (int32_t)(a->rows ? a->rows[i] : i);
        if (held[i]) {
            f->hold_row[v] = r;
            f->hold_y[v] = a->y[i];
            f->hold_w[v++] = am_weight_at(a->weight, i);
        } else {
            f->bin_row[t] = r;
            f->y[t] = a->y[i];
            f->w[t++] = am_weight_at(a->weight, i);
        }
    }
    am_free(held);
    return eval_setup(f, n_held, d);
}

/* ---- starting scores ------------------------------------------------------------------------- */

typedef struct yw {
    double y, w;
} yw;

static int yw_cmp(const void *pa, const void *pb)
{
    const yw *a = pa, *b = pb;
    return (a->y > b->y) - (a->y < b->y);
}

/* The weighted median: the smallest y whose cumulative weight reaches half the total. */
static am_status weighted_median(const gb_fit *f, double *out, am_diag *d)
{
    yw *v = am_malloc_array((size_t)f->n, sizeof(yw));
    if (!v)
        return am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory");
    double total = 0;
    for (int64_t i = 0; i < f->n; i++) {
        v[i] = (yw){f->y[i], f->w[i]};
        total += f->w[i];
    }
    qsort(v, (size_t)f->n, sizeof(yw), yw_cmp);
    double acc = 0;
    *out = v[f->n - 1].y;
    for (int64_t i = 0; i < f->n; i++) {
        acc += v[i].w;
        if (acc >= 0.5 * total) {
            *out = v[i].y;
            break;
        }
    }
    am_free(v);
    return AM_OK;
}

/* Log-odds, log class priors, the mean, or the median (absolute error). */
static am_status init_scores(const gb_fit *f, double *init, am_diag *d)
{
    if (f->loss == AM_GBDT_ABSOLUTE)
        return weighted_median(f, &init[0], d);
    double total = 0;
    for (int32_t c = 0; c < f->k; c++)
        init[c] = 0;
    for (int64_t i = 0; i < f->n; i++) {
        total += f->w[i];
        if (f->loss == AM_GBDT_SOFTMAX)
            init[(int32_t)f->y[i]] += f->w[i];
        else
            init[0] += f->w[i] * f->y[i];
    }
    if (!(total > 0))
        return am_fail(d, AM_ERR_DATA, "gbdt: the training rows left after the holdout have "
                       "zero total weight");
    if (f->loss == AM_GBDT_LOGLOSS) {
        double p = fmin(fmax(init[0] / total, 1e-15), 1 - 1e-15);
        init[0] = log(p / (1 - p));
    } else if (f->loss == AM_GBDT_SOFTMAX) {
        for (int32_t c = 0; c < f->k; c++)
            init[c] = log(fmax(init[c] / total, 1e-15));
    } else {
        init[0] /= total;
    }
    return AM_OK;
}

/* ---- one round ------------------------------------------------------------------------------- */

static void compute_grads(gb_fit *f, int32_t n_threads)
{
    int64_t n = f->n;
    int32_t k = f->k;
    int nt = n >= 8192 ? (int)n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        row_grad(f->loss, k, f->score + i * k, f->y[i], f->delta, f->g + i, f->h + i, n);
        for (int32_t c = 0; c < k; c++) {
            f->g[c * n + i] *= f->w[i];
            f->h[c * n + i] *= f->w[i];
        }
    }
}

/* Bernoulli row sampling for round r; an empty draw falls back to every row. */
static void make_bag(gb_fit *f, double subsample, int32_t round)
{
    f->n_bag = f->n;
    if (subsample >= 1) {
        memset(f->in_bag, 1, (size_t)f->n);
        return;
    }
    am_rng r;
    am_rng_seed(&r, am_seed_derive(am_seed_derive(f->a->seed, 2), (uint64_t)round));
    int64_t m = 0;
    for (int64_t i = 0; i < f->n; i++) {
        f->in_bag[i] = am_rng_uniform(&r) < subsample;
        if (f->in_bag[i])
            f->bag[m++] = (int32_t)i;
    }
    if (m == 0)
        memset(f->in_bag, 1, (size_t)f->n);
    else
        f->n_bag = m;
}

static int int32_cmp(const void *pa, const void *pb)
{
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

/* The features tree number `tree` may use: all, or a sorted random subset. */
static void pick_features(gb_fit *f, double colsample, int64_t tree)
{
    int32_t nf = f->b->n_features;
    for (int32_t j = 0; j < nf; j++)
        f->feats[j] = j;
    f->n_feats = nf;
    if (colsample >= 1 || nf <= 1)
        return;
    int32_t m = (int32_t)AM_MAX(1, llround(colsample * nf));
    am_rng r;
    am_rng_seed(&r, am_seed_derive(am_seed_derive(f->a->seed, 3), (uint64_t)tree));
    for (int32_t i = 0; i < m; i++) {
        int32_t j = i + (int32_t)am_rng_below(&r, nf - i), t = f->feats[i];
        f->feats[i] = f->feats[j];
        f->feats[j] = t;
    }
    qsort(f->feats, (size_t)m, sizeof(int32_t), int32_cmp);
    f->n_feats = m;
}

/* Appends a grown tree to the forest: bin splits become raw thresholds (a bin's upper edge)
 * or category bitsets. codes: scratch for the largest category count. */
static am_status flatten_tree(am_forest *fo, const gb_node *nodes, int32_t n_nodes,
                              const am_binned *b, int32_t *codes, am_diag *d)
{
    if (am_forest_tree_begin(fo) != AM_OK)
        return am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory for trees");
    for (int32_t i = 0; i < n_nodes; i++) {
        const gb_node *n = &nodes[i];
        int32_t at;
        if (n->feature < 0) {
            if (!isfinite(n->value))
                return am_fail(d, AM_ERR_NUMERIC, "gbdt: a leaf value is not finite");
            at = am_forest_add_leaf(fo, &n->value);
        } else if (n->categorical) {
            const am_bin_feature *bf = &b->features[n->feature];
            int32_t m = 0;
            for (int32_t c = 0; c < bf->n_categories; c++) {
                int32_t bin = bf->cat_bin[c];
                if ((n->left_bins[bin / 64] >> (bin % 64)) & 1u)
                    codes[m++] = c;
            }
            at = am_forest_add_cat_split(fo, n->feature, codes, m, n->default_left, n->gain);
        } else {
            double thr = b->features[n->feature].upper[n->bin - 1];
            at = am_forest_add_split(fo, n->feature, thr, n->default_left, n->gain);
        }
        if (at != i)
            return am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory for trees");
    }
    for (int32_t i = 0; i < n_nodes; i++)
        if (nodes[i].feature >= 0)
            am_forest_set_children(fo, i, nodes[i].left, nodes[i].right);
    am_status st = am_forest_tree_end(fo);
    if (st != AM_OK)
        return am_fail(d, st, "gbdt: could not store a tree");
    return AM_OK;
}

/* Adds the new tree of score c to the training scores (bag rows by leaf, the others routed)
 * and to the early-stopping scores. Every row gets exactly one addition, so the parallel
 * loops give the same scores on any thread count. */
static void apply_tree(gb_fit *f, const gb_grower *gr, const am_forest *fo, int32_t c,
                       int32_t n_threads)
{
    int32_t k = f->k;
    int nt = f->n >= 8192 ? (int)n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int32_t l = 0; l < gr->n_leaves; l++) {
        const gb_leaf *lf = &gr->leaves[l];
        double v = gr->nodes[lf->node].value;
        for (int64_t p = lf->begin; p < lf->begin + lf->count; p++)
            f->score[(int64_t)gr->part[p] * k + c] += v;
    }
    if (f->n_bag < f->n) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t i = 0; i < f->n; i++)
            if (!f->in_bag[i])
                f->score[i * k + c] += gr->nodes[gb_route(gr->nodes, f->b, f->bin_row[i])].value;
    }
    if (!f->early)
        return;
    const am_matrix *xv = f->a->x_valid;
    for (int64_t i = 0; i < f->ev.n; i++) {
        double v = xv ? am_forest_leaf(fo, fo->n_trees - 1, xv->data + i, xv->ld)[0]
                      : gr->nodes[gb_route(gr->nodes, f->b, f->hold_row[i])].value;
        f->ev.score[i * k + c] += v;
    }
}

static double eval_loss(const gb_fit *f)
{
    double s = 0, sw = 0;
    for (int64_t i = 0; i < f->ev.n; i++) {
        double w = am_weight_at(f->ev.w, i);
        s += w * row_loss(f->loss, f->k, f->ev.score + i * f->k, f->ev.y[i], f->delta);
        sw += w;
    }
    return sw > 0 ? s / sw : s;
}

/* Drops the trees after the first `keep` of a forest. Nodes, bitsets and values are appended
 * tree by tree, so the kept trees' data is a prefix of each array. */
static void forest_truncate(am_forest *fo, int32_t keep)
{
    if (keep >= fo->n_trees)
        return;
    fo->n_trees = keep;
    fo->n_nodes = fo->tree_first[keep];
    int64_t words = 0, values = 0;
    for (int64_t i = 0; i < fo->n_nodes; i++) {
        const am_tree_node *n = &fo->nodes[i];
        if (n->feature < 0)
            values = AM_MAX(values, n->value_first + fo->n_values);
        else if (n->cat_words)
            words = AM_MAX(words, (int64_t)n->cat_first + n->cat_words);
    }
    fo->n_cat_words = words;
    fo->n_leaf_values = values;
}

/* ---- the model ------------------------------------------------------------------------------- */

static void gbdt_free(am_model *m)
{
    gbdt_model *gm = (gbdt_model *)m;
    if (!gm)
        return;
    for (int32_t c = 0; gm->forests && c < gm->k; c++)
        am_forest_fini(&gm->forests[c]);
    am_free(gm->forests);
    am_free(gm->init);
    am_free(gm);
}

static gbdt_model *model_new(int64_t n_features, int32_t n_outputs, int loss, int32_t k)
{
    gbdt_model *gm = am_calloc(1, sizeof(*gm));
    if (!gm)
        return NULL;
    gm->base = (am_model){&am_learner_gbdt, n_features, n_outputs};
    gm->loss = loss;
    gm->k = k;
    gm->init = am_calloc((size_t)k, sizeof(double));
    gm->forests = am_calloc((size_t)k, sizeof(am_forest));
    if (!gm->init || !gm->forests) {
        gbdt_free(&gm->base);
        return NULL;
    }
    for (int32_t c = 0; c < k; c++)
        am_forest_init(&gm->forests[c], 1);
    return gm;
}

/* ---- fit ------------------------------------------------------------------------------------- */

typedef struct boost_cfg {
    int32_t rounds, patience, n_threads;
    double subsample, colsample;
} boost_cfg;

/* The boosting loop. On return gm holds the trees of the rounds kept. */
static am_status boost(gb_fit *f, gb_grower *gr, gbdt_model *gm, const boost_cfg *cfg,
                       int32_t *codes, am_diag *d)
{
    const am_fit_args *a = f->a;
    double best = INFINITY;
    int32_t best_round = -1, r;
    for (r = 0; r < cfg->rounds; r++) {
        compute_grads(f, cfg->n_threads);
        make_bag(f, cfg->subsample, r);
        for (int32_t c = 0; c < f->k; c++) {
            if (am_stop_hit(a->stop))
                return am_fail(d, AM_ERR_CANCELLED, "gbdt: stopped after %d rounds", (int)r);
            pick_features(f, cfg->colsample, (int64_t)r * f->k + c);
            am_status st = gb_grow(gr, f->g + (int64_t)c * f->n, f->h + (int64_t)c * f->n,
                                   f->n_bag < f->n ? f->bag : NULL, f->n_bag, f->feats,
                                   f->n_feats, d);
            if (st == AM_OK)
                st = flatten_tree(&gm->forests[c], gr->nodes, gr->n_nodes, f->b, codes, d);
            if (st != AM_OK)
                return st;
            apply_tree(f, gr, &gm->forests[c], c, cfg->n_threads);
        }
        if (f->early) {
            double loss = eval_loss(f);
            if (loss < best) {
                best = loss;
                best_round = r;
            } else if (r - best_round >= cfg->patience) {
                r++;
                break;
            }
        }
    }
    gm->n_rounds = f->early && best_round >= 0 ? best_round + 1 : r;
    for (int32_t c = 0; c < f->k; c++)
        forest_truncate(&gm->forests[c], gm->n_rounds);
    am_log(a->log, AM_LOG_DEBUG, "gbdt: %d rounds run, %d kept%s", (int)r, (int)gm->n_rounds,
           f->early ? " (best validation loss)" : "");
    return AM_OK;
}

static int32_t max_categories(const am_binned *b)
{
    int32_t m = 1;
    for (int32_t j = 0; j < b->n_features; j++)
        if (b->features[j].categorical)
            m = AM_MAX(m, b->features[j].n_categories);
    return m;
}

static am_status fit_setup(gb_fit *f, gb_grower *gr, gbdt_model **gm, int64_t n_all,
                           am_diag *d)
{
    const am_fit_args *a = f->a;
    const double *v = a->params->v;
    am_status st = fit_rows(f, n_all, d);
    if (st != AM_OK)
        return st;
    *gm = model_new(f->b->n_features, am_fit_n_outputs(a), f->loss, f->k);
    if (!*gm)
        return am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory");
    st = init_scores(f, (*gm)->init, d);
    if (st != AM_OK)
        return st;
    for (int64_t i = 0; i < f->n; i++)
        memcpy(f->score + i * f->k, (*gm)->init, (size_t)f->k * sizeof(double));
    for (int64_t i = 0; f->early && i < f->ev.n; i++)
        memcpy(f->ev.score + i * f->k, (*gm)->init, (size_t)f->k * sizeof(double));
    am_gbdt_split_opts o = {v[P_REG_LAMBDA], v[P_REG_ALPHA], v[P_MIN_CHILD_WEIGHT],
                            v[P_MIN_SPLIT_GAIN], CAT_SMOOTH, (int64_t)v[P_MIN_CHILD_SAMPLES],
                            MAX_CAT, MIN_DATA_PER_GROUP};
    return gb_grower_init(gr, f->b, f->bin_row, f->n, &o, (int32_t)v[P_NUM_LEAVES],
                          (int32_t)v[P_MAX_DEPTH], v[P_LEARNING_RATE], a->n_threads, 0, d);
}

static am_status gbdt_fit(const am_fit_args *a, am_model **out, am_diag *d)
{
    int64_t n_all = 0;
    am_status st = check_fit(a, &n_all, d);
    if (st != AM_OK)
        return st;
    if (am_stop_hit(a->stop))
        return am_fail(d, AM_ERR_CANCELLED, "gbdt: stopped before the fit");
    const double *v = a->params->v;
    gb_fit f = {.a = a, .b = a->binned, .loss = loss_of(a->params, a->task),
                .k = a->task == AM_TASK_MULTICLASS ? a->n_classes : 1,
                .delta = v[P_HUBER_DELTA]};
    gb_grower gr = {0};
    gbdt_model *gm = NULL;
    int32_t *codes = am_malloc_array((size_t)max_categories(a->binned), sizeof(int32_t));
    if (codes)
        st = fit_setup(&f, &gr, &gm, n_all, d);
    else
        st = am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory");
    if (st == AM_OK) {
        boost_cfg cfg = {(int32_t)v[P_N_ESTIMATORS], (int32_t)v[P_EARLY_STOPPING],
                         AM_MAX(1, a->n_threads), v[P_SUBSAMPLE], v[P_COLSAMPLE]};
        st = boost(&f, &gr, gm, &cfg, codes, d);
    }
    gb_grower_fini(&gr);
    fit_fini(&f);
    am_free(codes);
    if (st != AM_OK) {
        gbdt_free(gm ? &gm->base : NULL);
        return st;
    }
    *out = &gm->base;
    return AM_OK;
}

/* ---- predict --------------------------------------------------------------------------------- */

/* Scores to outputs: probabilities (sigmoid, softmax) or the value. */
static void finish_block(const gbdt_model *gm, const double *raw, int64_t nb, double *out)
{
    int32_t k = gm->k, no = gm->base.n_outputs;
    for (int64_t i = 0; i < nb; i++) {
        double *o = out + i * no;
        if (gm->loss == AM_GBDT_LOGLOSS) {
            double z = raw[i] + gm->init[0], e = exp(-fabs(z));
            o[1] = z >= 0 ? 1 / (1 + e) : e / (1 + e);
            o[0] = z >= 0 ? e / (1 + e) : 1 / (1 + e);
        } else if (gm->loss == AM_GBDT_SOFTMAX) {
            double m = -INFINITY, s = 0;
            for (int32_t c = 0; c < k; c++)
                m = fmax(m, raw[c * nb + i] + gm->init[c]);
            for (int32_t c = 0; c < k; c++) {
                o[c] = exp(raw[c * nb + i] + gm->init[c] - m);
                s += o[c];
            }
            for (int32_t c = 0; c < k; c++)
                o[c] /= s;
        } else {
            o[0] = raw[i] + gm->init[0];
        }
    }
}

/* Scores one block of at most PREDICT_BLOCK rows into out (raw: nb * k scratch). */
static void predict_block(const gbdt_model *gm, const am_matrix *x, int64_t r0, int64_t nb,
                          double *raw, double *out)
{
    am_matrix blk = {nb, x->n_cols, x->ld, x->data ? x->data + r0 : NULL, false};
    memset(raw, 0, (size_t)(nb * gm->k) * sizeof(double));
    for (int32_t c = 0; c < gm->k; c++)
        am_forest_predict_sum(&gm->forests[c], &blk, 0, gm->n_rounds, 1, raw + c * nb);
    finish_block(gm, raw, nb, out + r0 * gm->base.n_outputs);
}

/* Blocks are shared out among the threads; each row's value is computed the same way whoever
 * computes it, so the output does not depend on the thread count. */
static am_status gbdt_predict(const am_model *m, const am_matrix *x, int32_t n_threads,
                              const am_stop *stop, double *out, am_diag *d)
{
    (void)stop; /* cheap enough to finish once started */
    am_status st = am_predict_check(m, x, out, d);
    if (st != AM_OK)
        return st;
    const gbdt_model *gm = (const gbdt_model *)m;
    int64_t n_blocks = (x->n_rows + PREDICT_BLOCK - 1) / PREDICT_BLOCK;
    int nt = (int)AM_MAX(1, AM_MIN((int64_t)n_threads, n_blocks));
    bool failed = false;
#pragma omp parallel num_threads(nt) reduction(|| : failed)
    {
        double *raw = am_malloc_array(PREDICT_BLOCK, (size_t)gm->k * sizeof(double));
        failed = !raw;
#pragma omp for schedule(static)
        for (int64_t b = 0; b < n_blocks; b++) {
            int64_t r0 = b * PREDICT_BLOCK;
            if (raw)
                predict_block(gm, x, r0, AM_MIN(PREDICT_BLOCK, x->n_rows - r0), raw, out);
        }
        am_free(raw);
    }
    return failed ? am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory") : AM_OK;
}

/* ---- save, load ------------------------------------------------------------------------------ */

static am_status gbdt_save(const am_model *m, am_buf *b, am_diag *d)
{
    const gbdt_model *gm = (const gbdt_model *)m;
    am_payload_put_dims(b, m);
    am_buf_u32(b, (uint32_t)gm->loss);
    am_buf_u32(b, (uint32_t)gm->k);
    am_buf_u32(b, (uint32_t)gm->n_rounds);
    am_buf_f64s(b, gm->init, (size_t)gm->k);
    for (int32_t c = 0; c < gm->k; c++)
        am_forest_save(&gm->forests[c], b);
    return am_buf_status(b, d);
}

/* The loss and score count a model with n_outputs outputs must have. */
static bool loss_fits(uint32_t loss, uint32_t k, int32_t n_outputs)
{
    switch (loss) {
    case AM_GBDT_LOGLOSS: return n_outputs == 2 && k == 1;
    case AM_GBDT_SOFTMAX: return n_outputs >= 3 && k == (uint32_t)n_outputs;
    case AM_GBDT_SQUARED:
    case AM_GBDT_ABSOLUTE:
    case AM_GBDT_HUBER: return n_outputs == 1 && k == 1;
    }
    return false;
}

static am_status gbdt_load(am_reader *r, uint32_t version, int64_t n_features, int32_t n_outputs,
                           am_model **out, am_diag *d)
{
    if (version != FORMAT_VERSION)
        return am_fail(d, AM_ERR_FORMAT, "gbdt model: payload version %u is not supported "
                       "(this build reads version %u)", (unsigned)version, FORMAT_VERSION);
    am_status st = am_payload_get_dims(r, "gbdt", n_features, n_outputs, d);
    if (st != AM_OK)
        return st;
    uint32_t loss = am_get_u32(r), k = am_get_u32(r), rounds = am_get_u32(r);
    if ((st = am_reader_status(r, false, d)) != AM_OK)
        return st;
    if (!loss_fits(loss, k, n_outputs))
        return am_fail(d, AM_ERR_FORMAT, "gbdt model: loss %u with %u scores does not fit %d "
                       "outputs", (unsigned)loss, (unsigned)k, (int)n_outputs);
    if (rounds > 100000)
        return am_fail(d, AM_ERR_FORMAT, "gbdt model: %u rounds is out of range",
                       (unsigned)rounds);
    gbdt_model *gm = model_new(n_features, n_outputs, (int)loss, (int32_t)k);
    if (!gm)
        return am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory");
    gm->n_rounds = (int32_t)rounds;
    am_get_f64s(r, gm->init, k);
    st = am_reader_status(r, false, d);
    if (st == AM_OK && !am_all_finite(gm->init, k))
        st = am_fail(d, AM_ERR_FORMAT, "gbdt model: a starting score is not finite");
    for (uint32_t c = 0; st == AM_OK && c < k; c++) {
        st = am_forest_load(r, n_features, 1, &gm->forests[c], d);
        if (st == AM_OK && gm->forests[c].n_trees != (int32_t)rounds)
            st = am_fail(d, AM_ERR_FORMAT, "gbdt model: %d trees for %u rounds",
                         (int)gm->forests[c].n_trees, (unsigned)rounds);
    }
    if (st != AM_OK) {
        gbdt_free(&gm->base);
        return st;
    }
    *out = &gm->base;
    return AM_OK;
}

/* ---- importance, cost, accessors ------------------------------------------------------------- */

static void gbdt_importance(const am_model *m, double *gain, double *splits)
{
    const gbdt_model *gm = (const gbdt_model *)m;
    int64_t nf = m->n_features;
    memset(gain, 0, (size_t)nf * sizeof(double));
    memset(splits, 0, (size_t)nf * sizeof(double));
    for (int32_t c = 0; c < gm->k; c++) {
        const am_forest *fo = &gm->forests[c];
        for (int64_t i = 0; i < fo->n_nodes; i++) {
            const am_tree_node *n = &fo->nodes[i];
            if (n->feature >= 0 && n->feature < nf) {
                gain[n->feature] += n->gain;
                splits[n->feature] += 1;
            }
        }
    }
}

/* Histogram work is rows x features per level of the tree; the levels grow as log2(leaves). */
static double gbdt_cost(const am_params *p, int64_t n_rows, int64_t n_cols)
{
    double rounds = p ? p->v[P_N_ESTIMATORS] : 100, leaves = p ? p->v[P_NUM_LEAVES] : 31;
    return (double)n_rows * (double)AM_MAX(n_cols, 1) * rounds * (1 + log2(leaves));
}

int32_t am_gbdt_n_rounds(const am_model *m)
{
    return ((const gbdt_model *)m)->n_rounds;
}

const am_learner_type am_learner_gbdt = {
    .name = "gbdt",
    .summary = "gradient boosted trees on histograms (LightGBM-style leaf-wise growth)",
    .tasks = AM_TASK_BINARY | AM_TASK_MULTICLASS | AM_TASK_REGRESSION,
    .needs = AM_NEEDS_BINNED,
    .params = &gbdt_params,
    .format_version = FORMAT_VERSION,
    .check = gbdt_check,
    .cost_hint = gbdt_cost,
    .fit = gbdt_fit,
    .predict = gbdt_predict,
    .save = gbdt_save,
    .load = gbdt_load,
    .free = gbdt_free,
    .importance = gbdt_importance,
};
