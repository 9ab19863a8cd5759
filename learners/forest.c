/* forest.c — random forest (rf) and extremely randomised trees (extra_trees) on the shared binned
 * data, as scikit-learn's RandomForest* and ExtraTrees* (Breiman 2001; Geurts, Ernst and
 * Wehenkel 2006): classification (averaged class probabilities) and regression (averaged means).
 *
 * A tree grows depth first with an explicit stack over an array of its rows, which each split
 * partitions stably (so every node's rows stay in ascending order and the column reads walk
 * memory forwards). At each node a fresh sample of max_features features is drawn without
 * replacement; for each one a histogram of its bins over the node's rows gives the statistics
 * (row count plus class weights, or weight and weighted sum of y) of every candidate split:
 *   rf           every prefix of the present bins (numeric: in bin order; categorical: ordered
 *                by the bin's share of class 1 / of the node's majority class / mean of y), with
 *                the missing bin tried on each side;
 *   extra_trees  one random cut per feature (numeric: a bin drawn uniformly between the node's
 *                smallest and largest present bin; categorical: a random subset of the present
 *                bins), the missing bin again tried on each side.
 * The largest impurity decrease (gini or entropy for classes, squared error for regression, in
 * units of weight) wins; ties go to the lower feature index, so the order in which features are
 * drawn does not matter. A feature constant in the node uses up its draw (see find_split). The
 * decrease is also the node's gain for importance.
 *
 * Trees are independent: tree t has its own generator seeded from (seed, t), is built by
 * whichever thread takes it into a one-tree local forest, and is appended to the model in tree
 * order, so the model bytes do not depend on the thread count. The stop check is polled before
 * every tree.
 *
 * The file runs in phases: parameters, data checks, the split search at one node (histogram,
 * scan), growing one tree, the parallel loop over trees, and the model (predict, save, load). */
#include "internal.h"
#include "tree.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ----------------------------------------------------------------------------- */

enum {
    FP_N_ESTIMATORS,
    FP_MAX_FEATURES,
    FP_MAX_DEPTH,
    FP_MIN_SAMPLES_LEAF,
    FP_MIN_SAMPLES_SPLIT,
    FP_BOOTSTRAP,
    FP_MAX_SAMPLES,
    FP_CRITERION
};
enum { CRIT_GINI, CRIT_ENTROPY };

static const char *const criterion_choices[] = {"gini", "entropy", NULL};

/* The two learners share one table layout; only the owner and bootstrap's default differ. The
 * cheap start is a few trees with leaves of at least 8 rows. */
#define FOREST_DESC(bootstrap_default)                                                            \
    {                                                                                             \
        [FP_N_ESTIMATORS] = {"n_estimators", AM_P_INT, 100, 1, 100000, 4, 1000, 4, NULL,         \
                             AM_PF_TUNE | AM_PF_LOG,                                              \
                             "number of trees (predictions average them)"},                       \
        [FP_MAX_FEATURES] = {"max_features", AM_P_REAL, 0, 0, 1, 0.1, 1, 0, NULL, AM_PF_TUNE,    \
                             "fraction of the features tried at each split; 0 = auto: "           \
                             "sqrt(p)/p for classification, all for regression"},                 \
        [FP_MAX_DEPTH] = {"max_depth", AM_P_INT, 0, 0, 128, 0, 0, 0, NULL, 0,                     \
                          "maximum depth of a tree (root = 0); 0 = unlimited"},                   \
        [FP_MIN_SAMPLES_LEAF] = {"min_samples_leaf", AM_P_INT, 1, 1, 1e9, 1, 64, 8, NULL,         \
                                 AM_PF_TUNE | AM_PF_LOG, "fewest training rows in a leaf"},       \
        [FP_MIN_SAMPLES_SPLIT] = {"min_samples_split", AM_P_INT, 2, 2, 1e9, 0, 0, 2, NULL, 0,     \
                                  "fewest training rows in a node that may be split"},            \
        [FP_BOOTSTRAP] = {"bootstrap", AM_P_BOOL, bootstrap_default, 0, 1, 0, 1,                  \
                          bootstrap_default, NULL, 0,                                             \
                          "grow each tree on rows drawn with replacement instead of all rows"},   \
        [FP_MAX_SAMPLES] = {"max_samples", AM_P_REAL, 1, 1e-6, 1, 0, 0, 1, NULL, 0,               \
                            "with bootstrap: rows drawn per tree, as a fraction of the rows"},    \
        [FP_CRITERION] = {"criterion", AM_P_ENUM, CRIT_GINI, 0, 0, 0, 0, CRIT_GINI,               \
                          criterion_choices, 0,                                                   \
                          "classification impurity; regression always uses squared error"},      \
    }

static const am_param_desc rf_desc[] = FOREST_DESC(1);
static const am_param_desc et_desc[] = FOREST_DESC(0);

static const am_param_table rf_params = {"rf", rf_desc, (int32_t)AM_COUNT(rf_desc)};
static const am_param_table et_params = {"extra_trees", et_desc, (int32_t)AM_COUNT(et_desc)};

#define MAX_BINS 256
#define FOREST_FORMAT 1u

typedef struct forest_model {
    am_model base;
    am_forest f; /* n_values = n_outputs; predictions are the mean over its trees */
} forest_model;

/* ---- the fit's settings and shared data ------------------------------------------------------ */

typedef struct forest_cfg {
    bool extra;        /* extra_trees: one random cut per feature */
    bool bootstrap, entropy;
    int32_t n_trees, mtry, max_depth;
    int64_t min_leaf, min_split, n_draw;
    int32_t n_classes; /* 0 for regression */
    int32_t stride;    /* doubles per histogram bin: row count, then class weights or (W, sum wy) */
    int32_t n_values;  /* per leaf */
} forest_cfg;

typedef struct forest_ctx {
    forest_cfg cfg;
    const am_binned *bin;
    const int64_t *rows; /* NULL: training row k is binned row k */
    int64_t n;           /* training rows */
    const double *y, *weight;
    double y_offset;     /* regression: the weighted mean of y, subtracted so sums stay small */
    int32_t p;
    int32_t max_categories;
    uint64_t seed;
} forest_ctx;

/* ---- data checks ----------------------------------------------------------------------------- */

static am_status binned_present(const char *who, const am_fit_args *a, am_diag *d)
{
    if (!a->binned)
        return am_fail(d, AM_ERR_ARG, "%s: needs the binned data (AM_NEEDS_BINNED)", who);
    return AM_OK;
}

/* Only what needs no pass over the data; fit checks the rest itself. */
static am_status rf_check(const am_params *p, const am_fit_args *a, am_diag *d)
{
    (void)p;
    return binned_present("rf", a, d);
}

static am_status et_check(const am_params *p, const am_fit_args *a, am_diag *d)
{
    (void)p;
    return binned_present("extra_trees", a, d);
}

static int32_t features_tried(double max_features, int32_t p, bool classify)
{
    if (p < 1)
        return 0;
    double k = max_features > 0 ? floor(max_features * p) : classify ? floor(sqrt((double)p)) : p;
    return (int32_t)AM_MAX(1.0, AM_MIN(k, (double)p));
}

static void ctx_init(forest_ctx *cx, const am_learner_type *type, const am_fit_args *a)
{
    const double *v = a->params->v;
    forest_cfg *c = &cx->cfg;
    bool classify = a->task != AM_TASK_REGRESSION;
    memset(cx, 0, sizeof(*cx));
    c->extra = type == &am_learner_extra_trees;
    c->bootstrap = v[FP_BOOTSTRAP] != 0;
    c->entropy = v[FP_CRITERION] == CRIT_ENTROPY;
    c->n_trees = (int32_t)v[FP_N_ESTIMATORS];
    c->mtry = features_tried(v[FP_MAX_FEATURES], a->binned->n_features, classify);
    c->max_depth = (int32_t)v[FP_MAX_DEPTH];
    c->min_leaf = (int64_t)v[FP_MIN_SAMPLES_LEAF];
    c->min_split = (int64_t)v[FP_MIN_SAMPLES_SPLIT];
    c->n_draw = (int64_t)AM_MAX(1.0, round(v[FP_MAX_SAMPLES] * (double)a->n_rows));
    c->n_classes = classify ? a->n_classes : 0;
    c->stride = classify ? a->n_classes + 1 : 3;
    c->n_values = classify ? a->n_classes : 1;

    cx->bin = a->binned;
    cx->rows = a->rows;
    cx->n = a->n_rows;
    cx->y = a->y;
    cx->weight = a->weight;
    cx->p = a->binned->n_features;
    cx->seed = a->seed;
    for (int32_t j = 0; j < cx->p; j++)
        if (cx->bin->features[j].categorical)
            cx->max_categories = AM_MAX(cx->max_categories, cx->bin->features[j].n_categories);
    if (!classify) {
        double sw = 0, swy = 0;
        for (int64_t k = 0; k < cx->n; k++) {
            double w = am_weight_at(a->weight, k);
            sw += w;
            swy += w * a->y[k];
        }
        cx->y_offset = swy / sw;
    }
}

/* ---- one worker's state ---------------------------------------------------------------------- */

typedef struct stack_entry {
    int64_t begin, end; /* the node's rows in the worker's arrays */
    int32_t depth, parent;
    bool is_left;
} stack_entry;

typedef struct bin_key {
    double key;
    int32_t bin;
} bin_key;

/* A candidate split of one feature: bins order[0..prefix-1] go left. */
typedef struct split {
    double gain;
    int32_t feature;
    int32_t prefix;
    int32_t cut;       /* numeric: the last bin that goes left (the threshold is its upper edge) */
    bool missing_left;
    double n_left;     /* rows going left */
} split;

typedef struct worker {
    const forest_ctx *cx;
    am_rng rng;
    /* The tree's rows in node order: binned row, weight (times bootstrap count), target (class
     * index, or y minus y_offset). Partitioned together. */
    int64_t *idx;
    double *w, *t;
    void *scratch;    /* n * 8 bytes: the right side during a stable partition */
    uint8_t *dir;     /* n: 1 = row goes left */
    uint32_t *draws;  /* n bootstrap counts; NULL without bootstrap */
    double *hist;     /* MAX_BINS x stride, all zero between features */
    double *stats;    /* 7 x stride: node totals, then T, M, L, R, L', R' of the scan */
    double *values;   /* n_values: a leaf's values */
    int32_t *perm;    /* p: the features, partly shuffled at each node */
    int32_t *codes;   /* max_categories: left codes of a categorical split */
    int32_t order[MAX_BINS];
    int32_t n_order;  /* present non-missing bins of the current feature, in scan order */
    bin_key keys[MAX_BINS];
    uint8_t go_left[MAX_BINS]; /* the chosen split, by bin (bin 0 = missing) */
    double threshold;          /* the chosen numeric split's threshold */
    stack_entry *stack;
    int64_t n_stack, cap_stack;
    int32_t *kids;             /* 2 per node: left and right child, -1 until known */
    int64_t cap_kids;
    int32_t n_nodes;
    am_forest tree;            /* the tree being built (one tree) */
} worker;

static void worker_fini(worker *w)
{
    am_free(w->idx);
    am_free(w->w);
    am_free(w->t);
    am_free(w->scratch);
    am_free(w->dir);
    am_free(w->draws);
    am_free(w->hist);
    am_free(w->stats);
    am_free(w->values);
    am_free(w->perm);
    am_free(w->codes);
    am_free(w->stack);
    am_free(w->kids);
    am_forest_fini(&w->tree);
    memset(w, 0, sizeof(*w));
}

static am_status worker_init(worker *w, const forest_ctx *cx)
{
    const forest_cfg *c = &cx->cfg;
    size_t n = (size_t)cx->n, s = (size_t)c->stride;
    memset(w, 0, sizeof(*w));
    w->cx = cx;
    am_forest_init(&w->tree, c->n_values);
    w->idx = am_malloc_array(n, sizeof(int64_t));
    w->w = am_malloc_array(n, sizeof(double));
    w->t = am_malloc_array(n, sizeof(double));
    w->scratch = am_malloc_array(n, 8);
    w->dir = am_malloc_array(n, 1);
    w->draws = c->bootstrap ? am_malloc_array(n, sizeof(uint32_t)) : NULL;
    w->hist = am_calloc(MAX_BINS, s * sizeof(double));
    w->stats = am_malloc_array(7 * s, sizeof(double));
    w->values = am_malloc_array((size_t)c->n_values, sizeof(double));
    w->perm = am_malloc_array((size_t)AM_MAX(cx->p, 1), sizeof(int32_t));
    w->codes = am_malloc_array((size_t)AM_MAX(cx->max_categories, 1), sizeof(int32_t));
    if (!w->idx || !w->w || !w->t || !w->scratch || !w->dir || (c->bootstrap && !w->draws) ||
        !w->hist || !w->stats || !w->values || !w->perm || !w->codes) {
        worker_fini(w);
        return AM_ERR_NOMEM;
    }
    for (int32_t j = 0; j < cx->p; j++)
        w->perm[j] = j;
    return AM_OK;
}

/* ---- statistics and impurity --------------------------------------------------------------- */

/* A side's purity in units of weight (larger is purer) and its weight: gini sum_c S_c^2 / W,
 * entropy sum_c S_c log2(S_c / W). The impurity decrease of a split is
 * score(left) + score(right) - score(parent). */
static double class_score(const forest_cfg *c, const double *s, double *weight)
{
    double wsum = 0, acc = 0;
    for (int32_t k = 1; k <= c->n_classes; k++)
        wsum += s[k];
    *weight = wsum;
    if (!(wsum > 0))
        return 0;
    if (c->entropy) {
        for (int32_t k = 1; k <= c->n_classes; k++)
            if (s[k] > 0)
                acc += s[k] * log2(s[k] / wsum);
        return acc;
    }
    for (int32_t k = 1; k <= c->n_classes; k++)
        acc += s[k] * s[k];
    return acc / wsum;
}

/* Impurity decrease of the split (l, r), or -inf when a side is too small or weightless.
 * Regression uses W_l W_r / W (mean_l - mean_r)^2, the variance decrease without the
 * cancellation of sum-of-squares formulas. */
static double split_gain(const forest_cfg *c, const double *l, const double *r, double score_t)
{
    if (l[0] < (double)c->min_leaf || r[0] < (double)c->min_leaf)
        return -INFINITY;
    double wl, wr;
    if (c->n_classes == 0) {
        wl = l[1];
        wr = r[1];
        if (!(wl > 0 && wr > 0))
            return -INFINITY;
        double dm = l[2] / wl - r[2] / wr;
        return wl * wr / (wl + wr) * dm * dm;
    }
    double sl = class_score(c, l, &wl), sr = class_score(c, r, &wr);
    if (!(wl > 0 && wr > 0))
        return -INFINITY;
    return sl + sr - score_t;
}

/* out = a - b, with counts and weights kept >= 0 against rounding (a regression side's sum of
 * weighted y may be negative). */
static void stats_sub(const forest_cfg *c, const double *a, const double *b, double *out)
{
    for (int32_t k = 0; k < c->stride; k++)
        out[k] = a[k] - b[k];
    for (int32_t k = 0; k < c->stride; k++)
        if ((c->n_classes > 0 || k < 2) && out[k] < 0)
            out[k] = 0;
}

static void stats_add(int32_t stride, const double *a, double *out)
{
    for (int32_t k = 0; k < stride; k++)
        out[k] += a[k];
}

/* The node's totals (row count, class weights or W and sum wy) and whether it is pure: one class
 * holds all the weight, or every weighted row has the same y. */
static bool node_totals(const worker *w, int64_t begin, int64_t end, double *tot)
{
    const forest_cfg *c = &w->cx->cfg;
    memset(tot, 0, (size_t)c->stride * sizeof(double));
    tot[0] = (double)(end - begin);
    if (c->n_classes > 0) {
        for (int64_t k = begin; k < end; k++)
            tot[1 + (int32_t)w->t[k]] += w->w[k];
        int32_t present = 0;
        for (int32_t k = 1; k <= c->n_classes; k++)
            present += tot[k] > 0;
        return present <= 1;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t k = begin; k < end; k++) {
        double wk = w->w[k], tk = w->t[k];
        tot[1] += wk;
        tot[2] += wk * tk;
        if (wk > 0) {
            lo = tk < lo ? tk : lo;
            hi = tk > hi ? tk : hi;
        }
    }
    return !(lo < hi);
}

static void leaf_values(const forest_ctx *cx, const double *tot, double *out)
{
    const forest_cfg *c = &cx->cfg;
    if (c->n_classes == 0) {
        out[0] = cx->y_offset + (tot[1] > 0 ? tot[2] / tot[1] : 0.0);
        return;
    }
    double wsum = 0;
    for (int32_t k = 1; k <= c->n_classes; k++)
        wsum += tot[k];
    for (int32_t k = 0; k < c->n_classes; k++)
        out[k] = wsum > 0 ? tot[1 + k] / wsum : 1.0 / c->n_classes;
}

/* ---- the split search at one node ------------------------------------------------------------ */

/* Adds the node's rows to the (zero) histogram of one feature; seen marks the bins touched.
 * The hot loop of the whole learner: one pass per feature tried, split by task so each does
 * only its own arithmetic. */
static void hist_build(worker *w, const uint8_t *col, int64_t begin, int64_t end, uint64_t *seen)
{
    const forest_cfg *c = &w->cx->cfg;
    const int64_t *idx = w->idx;
    const double *wt = w->w, *t = w->t;
    double *h = w->hist;
    size_t s = (size_t)c->stride;
    if (c->n_classes > 0) {
        for (int64_t k = begin; k < end; k++) {
            unsigned b = col[idx[k]];
            double *hb = h + b * s;
            hb[0] += 1.0;
            hb[1 + (int32_t)t[k]] += wt[k];
            seen[b >> 6] |= (uint64_t)1 << (b & 63);
        }
        return;
    }
    for (int64_t k = begin; k < end; k++) {
        unsigned b = col[idx[k]];
        double *hb = h + b * 3;
        hb[0] += 1.0;
        hb[1] += wt[k];
        hb[2] += wt[k] * t[k];
        seen[b >> 6] |= (uint64_t)1 << (b & 63);
    }
}

/* Lists the touched non-missing bins in ascending order into w->order, sums every touched bin
 * (missing too) into t and the missing bin into m. */
static void hist_collect(worker *w, const uint64_t *seen, double *t, double *m)
{
    int32_t s = w->cx->cfg.stride;
    memset(t, 0, (size_t)s * sizeof(double));
    memset(m, 0, (size_t)s * sizeof(double));
    w->n_order = 0;
    for (int32_t word = 0; word < MAX_BINS / 64; word++)
        for (uint64_t bits = seen[word]; bits; bits &= bits - 1) {
            int32_t b = word * 64 + __builtin_ctzll(bits);
            const double *hb = w->hist + (size_t)b * (size_t)s;
            stats_add(s, hb, t);
            if (b == 0)
                memcpy(m, hb, (size_t)s * sizeof(double));
            else
                w->order[w->n_order++] = b;
        }
}

/* Zeroes only the touched bins, so a small node costs in proportion to its rows, not to 256
 * bins. */
static void hist_clear(worker *w, const uint64_t *seen)
{
    size_t s = (size_t)w->cx->cfg.stride;
    for (int32_t word = 0; word < MAX_BINS / 64; word++)
        for (uint64_t bits = seen[word]; bits; bits &= bits - 1) {
            double *hb = w->hist + (size_t)(word * 64 + __builtin_ctzll(bits)) * s;
            for (size_t k = 0; k < s; k++)
                hb[k] = 0;
        }
}

/* The scan's inner step for the three-double layouts (binary: count, w0, w1; regression: count,
 * W, sum wy) in scalar arithmetic: the same values as split_gain, without its loops. */
static inline double entropy2(double a, double b, double w)
{
    return (a > 0 ? a * log2(a / w) : 0.0) + (b > 0 ? b * log2(b / w) : 0.0);
}

static inline double gain3(const forest_cfg *c, const double *l, const double *r,
                           double score_t)
{
    if (l[0] < (double)c->min_leaf || r[0] < (double)c->min_leaf)
        return -INFINITY;
    if (c->n_classes == 0) {
        double wl = l[1], wr = r[1];
        if (!(wl > 0 && wr > 0))
            return -INFINITY;
        double dm = l[2] / wl - r[2] / wr;
        return wl * wr / (wl + wr) * dm * dm;
    }
    double wl = l[1] + l[2], wr = r[1] + r[2];
    if (!(wl > 0 && wr > 0))
        return -INFINITY;
    if (c->entropy)
        return entropy2(l[1], l[2], wl) + entropy2(r[1], r[2], wr) - score_t;
    return (l[1] * l[1] + l[2] * l[2]) / wl + (r[1] * r[1] + r[2] * r[2]) / wr - score_t;
}

static inline double clamp0(double v)
{
    return v < 0 ? 0.0 : v;
}

/* try_prefix (below) for the three-double layouts. Forced inline: it runs for every present bin
 * of every feature tried, and a call there cost a sixth of the fit. */
__attribute__((always_inline)) static inline void try_prefix3(const forest_cfg *c,
                                                              const double *t, const double *m,
                                                              const double *l, double score_t,
                                                              int32_t prefix, int32_t cut,
                                                              split *best)
{
    bool cls = c->n_classes > 0;
    double r[3] = {clamp0(t[0] - l[0]), clamp0(t[1] - l[1]),
                   cls ? clamp0(t[2] - l[2]) : t[2] - l[2]};
    double g = gain3(c, l, r, score_t);
    if (g > best->gain)
        *best = (split){g, best->feature, prefix, cut, m[0] > 0 ? false : l[0] >= r[0], l[0]};
    if (!(m[0] > 0))
        return;
    double l2[3] = {l[0] + m[0], l[1] + m[1], l[2] + m[2]};
    double r2[3] = {clamp0(r[0] - m[0]), clamp0(r[1] - m[1]),
                    cls ? clamp0(r[2] - m[2]) : r[2] - m[2]};
    g = gain3(c, l2, r2, score_t);
    if (g > best->gain)
        *best = (split){g, best->feature, prefix, cut, true, l2[0]};
}

/* Tries "order[0..prefix-1] go left" (their statistics in l) with the missing bin m on the right,
 * and when there is one, on the left too; keeps the better in *best (first wins ties). */
static void try_prefix(worker *w, const double *t, const double *m, const double *l,
                       double score_t, int32_t prefix, int32_t cut, split *best)
{
    const forest_cfg *c = &w->cx->cfg;
    int32_t s = c->stride;
    if (s == 3) {
        try_prefix3(c, t, m, l, score_t, prefix, cut, best);
        return;
    }
    double *r = w->stats + 4 * s, *l2 = w->stats + 5 * s, *r2 = w->stats + 6 * s;
    stats_sub(c, t, l, r);
    double g = split_gain(c, l, r, score_t);
    if (g > best->gain) {
        /* No missing rows here: later ones follow the larger side, as scikit-learn does. */
        *best = (split){g, best->feature, prefix, cut, m[0] > 0 ? false : l[0] >= r[0], l[0]};
    }
    if (!(m[0] > 0))
        return;
    memcpy(l2, l, (size_t)s * sizeof(double));
    stats_add(s, m, l2);
    stats_sub(c, r, m, r2);
    g = split_gain(c, l2, r2, score_t);
    if (g > best->gain)
        *best = (split){g, best->feature, prefix, cut, true, l2[0]};
}

static int cmp_key(const void *pa, const void *pb)
{
    const bin_key *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->bin > b->bin) - (a->bin < b->bin);
}

/* Orders a categorical feature's present bins by their mean (regression), share of class 1
 * (binary) or share of the node's majority class (multiclass): for the first two the best
 * prefix in this order is the best subset split (Breiman et al. 1984); for many classes it is a
 * cheap heuristic. */
static void order_categories(worker *w, const double *t)
{
    const forest_cfg *c = &w->cx->cfg;
    int32_t s = c->stride, major = 1;
    for (int32_t k = 2; k <= c->n_classes; k++)
        if (t[k] > t[major])
            major = k;
    for (int32_t i = 0; i < w->n_order; i++) {
        const double *hb = w->hist + (size_t)w->order[i] * (size_t)s;
        double wsum = 0, key;
        if (c->n_classes == 0) {
            wsum = hb[1];
            key = hb[2];
        } else {
            for (int32_t k = 1; k <= c->n_classes; k++)
                wsum += hb[k];
            key = hb[c->n_classes == 2 ? 2 : major];
        }
        w->keys[i] = (bin_key){wsum > 0 ? key / wsum : 0.0, w->order[i]};
    }
    qsort(w->keys, (size_t)w->n_order, sizeof(bin_key), cmp_key);
    for (int32_t i = 0; i < w->n_order; i++)
        w->order[i] = w->keys[i].bin;
}

/* rf: every prefix of w->order. */
static void scan_all(worker *w, const double *t, const double *m, double score_t, split *best)
{
    const forest_cfg *c = &w->cx->cfg;
    int32_t s = c->stride;
    if (s == 3) {
        double l3[3] = {0, 0, 0};
        for (int32_t i = 0; i < w->n_order; i++) {
            const double *hb = w->hist + (size_t)w->order[i] * 3;
            l3[0] += hb[0];
            l3[1] += hb[1];
            l3[2] += hb[2];
            try_prefix3(c, t, m, l3, score_t, i + 1, w->order[i], best);
        }
        return;
    }
    double *l = w->stats + 3 * s;
    memset(l, 0, (size_t)s * sizeof(double));
    for (int32_t i = 0; i < w->n_order; i++) {
        stats_add(s, w->hist + (size_t)w->order[i] * (size_t)s, l);
        try_prefix(w, t, m, l, score_t, i + 1, w->order[i], best);
    }
}

/* extra_trees: one random cut. Numeric: a bin uniform between the smallest and largest present
 * bin (bins up to it go left). Categorical: a random non-empty proper subset of the present bins,
 * as a random order and a random prefix length. A lone present bin beside missing rows can only
 * be split from the missing ones. */
static void scan_random(worker *w, bool categorical, const double *t, const double *m,
                        double score_t, split *best)
{
    int32_t s = w->cx->cfg.stride, n = w->n_order, prefix = n, cut = w->order[n - 1];
    if (n >= 2 && categorical) {
        for (int32_t i = n - 1; i > 0; i--) {
            int32_t j = (int32_t)am_rng_below(&w->rng, i + 1), tmp = w->order[i];
            w->order[i] = w->order[j];
            w->order[j] = tmp;
        }
        prefix = 1 + (int32_t)am_rng_below(&w->rng, n - 1);
        cut = w->order[prefix - 1];
    } else if (n >= 2) {
        cut = w->order[0] + (int32_t)am_rng_below(&w->rng, w->order[n - 1] - w->order[0]);
        for (prefix = 0; prefix < n && w->order[prefix] <= cut; prefix++) {
        }
    }
    double *l = w->stats + 3 * s;
    memset(l, 0, (size_t)s * sizeof(double));
    for (int32_t i = 0; i < prefix; i++)
        stats_add(s, w->hist + (size_t)w->order[i] * (size_t)s, l);
    try_prefix(w, t, m, l, score_t, prefix, cut, best);
}

/* Evaluates one feature at the node: false when it is constant there (one present bin, counting
 * missing), which does not use up one of the max_features tries. */
static bool eval_feature(worker *w, int32_t f, int64_t begin, int64_t end, split *best)
{
    const forest_cfg *c = &w->cx->cfg;
    const am_bin_feature *bf = &w->cx->bin->features[f];
    int32_t s = c->stride;
    uint64_t seen[MAX_BINS / 64] = {0};
    double *t = w->stats + 1 * s, *m = w->stats + 2 * s;
    hist_build(w, AM_BIN_CODES(w->cx->bin, f), begin, end, seen);
    hist_collect(w, seen, t, m);
    *best = (split){-INFINITY, f, 0, 0, false, 0};
    bool varies = w->n_order + (m[0] > 0) >= 2;
    if (varies) {
        double wt, score_t = c->n_classes > 0 ? class_score(c, t, &wt) : 0.0;
        if (bf->categorical && !c->extra)
            order_categories(w, t);
        if (c->extra)
            scan_random(w, bf->categorical, t, m, score_t, best);
        else
            scan_all(w, t, m, score_t, best);
    }
    hist_clear(w, seen);
    return varies;
}

/* Records the feature's split as the node's choice: the bins going left, and the threshold. */
static void take_split(worker *w, const split *sp)
{
    const am_bin_feature *bf = &w->cx->bin->features[sp->feature];
    memset(w->go_left, 0, sizeof(w->go_left));
    for (int32_t i = 0; i < sp->prefix; i++)
        w->go_left[w->order[i]] = 1;
    w->go_left[0] = sp->missing_left;
    /* Numeric: bins 1..cut hold exactly the values <= upper[cut - 1] (+inf for the last bin). */
    w->threshold = bf->categorical ? 0.0 : bf->upper[sp->cut - 1];
}

/* Draws max_features features without replacement and keeps the best split; a feature that is
 * constant in the node uses up its draw (Breiman's and ranger's rule). scikit-learn instead
 * draws on until max_features non-constant ones were tried, which makes deep nodes greedier:
 * measured with ranger's node size, 100 trees, test AUC on fertility 0.6082 that way against
 * 0.6205 this way (ranger 0.6209), on adult 0.9100 against 0.9121 (ranger 0.9148). */
static void find_split(worker *w, int64_t begin, int64_t end, split *best)
{
    const forest_ctx *cx = w->cx;
    int32_t tried = 0;
    *best = (split){-INFINITY, -1, 0, 0, false, 0};
    for (int32_t i = 0; i < cx->p && tried < cx->cfg.mtry; i++) {
        int32_t j = i + (int32_t)am_rng_below(&w->rng, cx->p - i), f = w->perm[j];
        w->perm[j] = w->perm[i];
        w->perm[i] = f;
        split sp;
        tried++;
        if (!eval_feature(w, f, begin, end, &sp))
            continue;
        if (sp.gain > best->gain || (sp.gain == best->gain && sp.gain > -INFINITY &&
                                     f < best->feature)) {
            *best = sp;
            take_split(w, &sp);
        }
    }
}

/* ---- growing one tree ----------------------------------------------------------------------- */

static void partition_i64(int64_t *a, const uint8_t *dir, int64_t n, int64_t *tmp)
{
    int64_t l = 0, r = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t v = a[k];
        if (dir[k])
            a[l++] = v;
        else
            tmp[r++] = v;
    }
    memcpy(a + l, tmp, (size_t)r * sizeof(int64_t));
}

static void partition_f64(double *a, const uint8_t *dir, int64_t n, double *tmp)
{
    int64_t l = 0, r = 0;
    for (int64_t k = 0; k < n; k++) {
        double v = a[k];
        if (dir[k])
            a[l++] = v;
        else
            tmp[r++] = v;
    }
    memcpy(a + l, tmp, (size_t)r * sizeof(double));
}

/* Splits the node's rows by w->go_left, stably (each side keeps ascending row order); returns
 * the first row of the right side. */
static int64_t partition_rows(worker *w, int32_t f, int64_t begin, int64_t end)
{
    const uint8_t *col = AM_BIN_CODES(w->cx->bin, f);
    int64_t n = end - begin, n_left = 0;
    uint8_t *dir = w->dir + begin;
    for (int64_t k = 0; k < n; k++) {
        dir[k] = w->go_left[col[w->idx[begin + k]]];
        n_left += dir[k];
    }
    partition_i64(w->idx + begin, dir, n, w->scratch);
    partition_f64(w->w + begin, dir, n, w->scratch);
    partition_f64(w->t + begin, dir, n, w->scratch);
    return begin + n_left;
}

/* Adds the chosen split as a node of the tree: numeric threshold or the codes going left. */
static int32_t add_split_node(worker *w, const split *sp)
{
    const am_bin_feature *bf = &w->cx->bin->features[sp->feature];
    if (!bf->categorical)
        return am_forest_add_split(&w->tree, sp->feature, w->threshold, sp->missing_left,
                                   sp->gain);
    int32_t n_left = 0;
    for (int32_t code = 0; code < bf->n_categories; code++)
        if (w->go_left[bf->cat_bin[code]])
            w->codes[n_left++] = code;
    return am_forest_add_cat_split(&w->tree, sp->feature, w->codes, n_left, sp->missing_left,
                                   sp->gain);
}

static bool grow_array(void **p, int64_t *cap, int64_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    int64_t c = AM_MAX(need, AM_MAX(*cap * 2, (int64_t)64));
    size_t bytes;
    if (!am_size_mul((size_t)c, elem, &bytes))
        return false;
    void *q = am_realloc(*p, bytes);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

/* Notes node id (just added) as its parent's child and as having no children yet. */
static am_status link_node(worker *w, int32_t id, const stack_entry *e)
{
    if (!grow_array((void **)&w->kids, &w->cap_kids, 2 * ((int64_t)id + 1), sizeof(int32_t)))
        return AM_ERR_NOMEM;
    w->kids[2 * id] = w->kids[2 * id + 1] = -1;
    if (e->parent >= 0)
        w->kids[2 * e->parent + (e->is_left ? 0 : 1)] = id;
    w->n_nodes = id + 1;
    return AM_OK;
}

static am_status push(worker *w, stack_entry e)
{
    if (!grow_array((void **)&w->stack, &w->cap_stack, w->n_stack + 1, sizeof(stack_entry)))
        return AM_ERR_NOMEM;
    w->stack[w->n_stack++] = e;
    return AM_OK;
}

/* Makes the node a leaf, or splits it and pushes its children (right first, so the left one is
 * grown next and node indices follow depth-first order). */
static am_status grow_node(worker *w, const stack_entry *e)
{
    const forest_cfg *c = &w->cx->cfg;
    double *tot = w->stats;
    int64_t n = e->end - e->begin;
    bool pure = node_totals(w, e->begin, e->end, tot);
    /* A pure node, or one of zero weight (all its rows weigh 0), is a leaf. */
    bool can = !pure && (c->max_depth == 0 || e->depth < c->max_depth) &&
               n >= c->min_split && n >= 2 * c->min_leaf;
    split best = {-INFINITY, -1, 0, 0, false, 0};
    if (can)
        find_split(w, e->begin, e->end, &best);
    int32_t id;
    if (best.feature < 0) {
        leaf_values(w->cx, tot, w->values);
        id = am_forest_add_leaf(&w->tree, w->values);
    } else {
        id = add_split_node(w, &best);
    }
    if (id < 0 || link_node(w, id, e) != AM_OK)
        return AM_ERR_NOMEM;
    if (best.feature < 0)
        return AM_OK;
    int64_t mid = partition_rows(w, best.feature, e->begin, e->end);
    /* The histogram counted the same rows the partition moves: a mismatch is a bug, and an empty
     * side would let the tree grow forever. */
    if ((double)(mid - e->begin) != best.n_left || mid == e->begin || mid == e->end)
        return AM_ERR_INTERNAL;
    am_status st = push(w, (stack_entry){mid, e->end, e->depth + 1, id, false});
    if (st == AM_OK)
        st = push(w, (stack_entry){e->begin, mid, e->depth + 1, id, true});
    return st;
}

/* The tree's rows: all training rows, or a bootstrap sample of n_draw rows whose counts multiply
 * the weights (so a row drawn twice is one row of weight 2). Returns how many. */
static int64_t sample_rows(worker *w)
{
    const forest_ctx *cx = w->cx;
    if (cx->cfg.bootstrap) {
        memset(w->draws, 0, (size_t)cx->n * sizeof(uint32_t));
        for (int64_t i = 0; i < cx->cfg.n_draw; i++)
            w->draws[am_rng_below(&w->rng, cx->n)]++;
    }
    int64_t m = 0;
    for (int64_t k = 0; k < cx->n; k++) {
        double count = cx->cfg.bootstrap ? (double)w->draws[k] : 1.0;
        if (count == 0)
            continue;
        w->idx[m] = cx->rows ? cx->rows[k] : k;
        w->w[m] = count * am_weight_at(cx->weight, k);
        w->t[m] = cx->y[k] - cx->y_offset;
        m++;
    }
    return m;
}

/* Grows tree t into w->tree (which then holds just this tree). */
static am_status build_tree(worker *w, int32_t t)
{
    am_rng_seed(&w->rng, am_seed_derive(w->cx->seed, (uint64_t)t));
    for (int32_t j = 0; j < w->cx->p; j++)
        w->perm[j] = j; /* so a tree does not depend on which trees its thread built before */
    am_forest_fini(&w->tree);
    int64_t n = sample_rows(w);
    w->n_nodes = 0;
    w->n_stack = 0;
    am_status st = am_forest_tree_begin(&w->tree);
    if (st == AM_OK)
        st = push(w, (stack_entry){0, n, 0, -1, false});
    while (st == AM_OK && w->n_stack > 0) {
        stack_entry e = w->stack[--w->n_stack];
        st = grow_node(w, &e);
    }
    if (st != AM_OK)
        return st;
    for (int32_t id = 0; id < w->n_nodes; id++)
        if (w->kids[2 * id] >= 0)
            am_forest_set_children(&w->tree, id, w->kids[2 * id], w->kids[2 * id + 1]);
    return am_forest_tree_end(&w->tree);
}

/* ---- the trees in parallel ---------------------------------------------------------------- */

typedef struct forest_job {
    const forest_ctx *cx;
    const am_stop *stop;
    am_forest *out;
    am_forest *pending; /* n_trees one-tree forests waiting for their turn to be appended */
    bool *ready;
    int32_t next;       /* the next tree to append */
    int32_t *codes;     /* decoding a categorical split while appending */
    int64_t cap_codes;
    bool broken;        /* an append failed: out is unusable (only touched inside deliver) */
    int failed;         /* read and written atomically */
    am_status status;   /* the first failure */
} forest_job;

/* Copies the one tree of src into dst through the building calls (node indices are kept, since
 * nodes are added in the same order). */
static am_status append_tree(forest_job *job, const am_forest *src)
{
    am_forest *dst = job->out;
    am_status st = am_forest_tree_begin(dst);
    for (int64_t i = 0; st == AM_OK && i < src->n_nodes; i++) {
        const am_tree_node *nd = &src->nodes[i];
        int32_t id;
        if (nd->feature < 0) {
            id = am_forest_add_leaf(dst, src->leaf_values + nd->value_first);
        } else if (nd->cat_words == 0) {
            id = am_forest_add_split(dst, nd->feature, nd->threshold, nd->default_left,
                                     nd->gain);
        } else {
            int64_t n_bits = (int64_t)nd->cat_words * 64;
            if (!grow_array((void **)&job->codes, &job->cap_codes, n_bits, sizeof(int32_t)))
                return AM_ERR_NOMEM;
            int32_t n_left = 0;
            const uint64_t *bits = src->cat_bits + nd->cat_first;
            for (int64_t code = 0; code < n_bits; code++)
                if ((bits[code / 64] >> (code % 64)) & 1u)
                    job->codes[n_left++] = (int32_t)code;
            id = am_forest_add_cat_split(dst, nd->feature, job->codes, n_left, nd->default_left,
                                         nd->gain);
        }
        if (id != i)
            st = id < 0 ? AM_ERR_NOMEM : AM_ERR_INTERNAL;
    }
    for (int64_t i = 0; st == AM_OK && i < src->n_nodes; i++)
        if (src->nodes[i].feature >= 0)
            am_forest_set_children(dst, (int32_t)i, src->nodes[i].left, src->nodes[i].right);
    return st == AM_OK ? am_forest_tree_end(dst) : st;
}

/* Hands tree t over and appends every tree whose turn has come, in tree order. */
static am_status deliver(forest_job *job, worker *w, int32_t t)
{
    am_status st = AM_OK;
#pragma omp critical(am_forest_deliver)
    {
        job->pending[t] = w->tree;
        job->ready[t] = true;
        while (!job->broken && job->next < job->cx->cfg.n_trees && job->ready[job->next]) {
            st = append_tree(job, &job->pending[job->next]);
            am_forest_fini(&job->pending[job->next]);
            job->next++;
            job->broken = st != AM_OK;
        }
    }
    am_forest_init(&w->tree, job->cx->cfg.n_values);
    return st;
}

static void job_fail(forest_job *job, am_status st)
{
#pragma omp critical(am_forest_fail)
    {
        if (job->status == AM_OK)
            job->status = st;
    }
#pragma omp atomic write
    job->failed = 1;
}

static void run_trees(forest_job *job, int32_t n_threads)
{
    int32_t n_trees = job->cx->cfg.n_trees;
    int nt = (int)AM_MAX(1, AM_MIN(n_threads, n_trees));
#pragma omp parallel num_threads(nt)
    {
        worker w;
        am_status wst = worker_init(&w, job->cx);
        if (wst != AM_OK)
            job_fail(job, wst);
#pragma omp for schedule(dynamic, 1)
        for (int32_t t = 0; t < n_trees; t++) {
            int failed;
#pragma omp atomic read
            failed = job->failed;
            if (failed || wst != AM_OK)
                continue;
            /* The stop check between trees: before each one, so a stop during tree t ends the
             * fit when the next tree would start. */
            am_status st = am_stop_hit(job->stop) ? AM_ERR_CANCELLED : build_tree(&w, t);
            if (st == AM_OK)
                st = deliver(job, &w, t);
            if (st != AM_OK)
                job_fail(job, st);
        }
        worker_fini(&w);
    }
}

static am_status grow_forest(const forest_ctx *cx, const am_fit_args *a, am_forest *out)
{
    int32_t n_trees = cx->cfg.n_trees;
    forest_job job = {cx, a->stop, out, NULL, NULL, 0, NULL, 0, false, 0, AM_OK};
    job.pending = am_calloc((size_t)n_trees, sizeof(am_forest));
    job.ready = am_calloc((size_t)n_trees, sizeof(bool));
    if (!job.pending || !job.ready) {
        am_free(job.pending);
        am_free(job.ready);
        return AM_ERR_NOMEM;
    }
    run_trees(&job, a->n_threads);
    for (int32_t t = 0; t < n_trees; t++)
        am_forest_fini(&job.pending[t]);
    am_free(job.pending);
    am_free(job.ready);
    am_free(job.codes);
    return job.status;
}

/* ---- fit ------------------------------------------------------------------------------------ */

static void forest_free(am_model *m)
{
    forest_model *fm = (forest_model *)m;
    if (!fm)
        return;
    am_forest_fini(&fm->f);
    am_free(fm);
}

static am_status forest_fit_as(const am_learner_type *type, const am_fit_args *a, am_model **out,
                               am_diag *d)
{
    const char *who = type->name;
    am_status st = am_binned_fit_check(a, who, d);
    if (st == AM_OK)
        st = am_task_check(type, a->task, d);
    if (st == AM_OK)
        st = am_params_check(type->params, a->params, d);
    if (st != AM_OK)
        return st;
    if (am_stop_hit(a->stop))
        return am_fail(d, AM_ERR_CANCELLED, "%s: stopped before the fit", who);
    forest_ctx cx;
    ctx_init(&cx, type, a);
    forest_model *fm = am_calloc(1, sizeof(*fm));
    if (!fm)
        return am_fail(d, AM_ERR_NOMEM, "%s: out of memory", who);
    fm->base = (am_model){type, cx.p, cx.cfg.n_values};
    am_forest_init(&fm->f, cx.cfg.n_values);
    double t0 = am_now();
    st = grow_forest(&cx, a, &fm->f);
    if (st != AM_OK) {
        int32_t done = fm->f.n_trees;
        forest_free(&fm->base);
        switch (st) {
        case AM_ERR_CANCELLED:
            return am_fail(d, st, "%s: stopped after %d of %d trees", who, (int)done,
                           (int)cx.cfg.n_trees);
        case AM_ERR_NOMEM:
            return am_fail(d, st, "%s: out of memory growing the trees", who);
        default:
            return am_fail(d, st, "%s: internal error growing a tree", who);
        }
    }
    am_log(a->log, AM_LOG_DEBUG, "%s: %d trees, %" PRId64 " nodes, %.3f s", who,
           (int)fm->f.n_trees, fm->f.n_nodes, am_now() - t0);
    *out = &fm->base;
    return AM_OK;
}

static am_status rf_fit(const am_fit_args *a, am_model **out, am_diag *d)
{
    return forest_fit_as(&am_learner_rf, a, out, d);
}

static am_status et_fit(const am_fit_args *a, am_model **out, am_diag *d)
{
    return forest_fit_as(&am_learner_extra_trees, a, out, d);
}

/* ---- predict, save, load, importance --------------------------------------------------------- */

static am_status forest_predict(const am_model *m, const am_matrix *x, int32_t n_threads,
                                const am_stop *stop, double *out, am_diag *d)
{
    (void)stop; /* cheap enough to finish once started */
    am_status st = am_predict_check(m, x, out, d);
    if (st != AM_OK)
        return st;
    const forest_model *fm = (const forest_model *)m;
    size_t count;
    if (!am_size_mul((size_t)x->n_rows, (size_t)m->n_outputs, &count))
        return am_fail(d, AM_ERR_ARG, "%s: too many rows to predict", m->type->name);
    if (count == 0)
        return AM_OK;
    memset(out, 0, count * sizeof(double));
    am_forest_predict_sum(&fm->f, x, 0, fm->f.n_trees, AM_MAX(n_threads, 1), out);
    double n_trees = (double)fm->f.n_trees;
    for (size_t i = 0; i < count; i++)
        out[i] /= n_trees;
    return AM_OK;
}

static am_status forest_save(const am_model *m, am_buf *b, am_diag *d)
{
    const forest_model *fm = (const forest_model *)m;
    am_payload_put_dims(b, m);
    am_forest_save(&fm->f, b);
    return am_buf_status(b, d);
}

static am_status forest_load_as(const am_learner_type *type, am_reader *r, uint32_t version,
                                int64_t n_features, int32_t n_outputs, am_model **out,
                                am_diag *d)
{
    const char *who = type->name;
    if (version != FOREST_FORMAT)
        return am_fail(d, AM_ERR_FORMAT, "%s model: payload version %u is not supported "
                       "(this build reads version %u)", who, (unsigned)version, FOREST_FORMAT);
    if (n_features < 0 || n_features > INT32_MAX || n_outputs < 1)
        return am_fail(d, AM_ERR_FORMAT, "%s model: %" PRId64 " features and %d outputs are "
                       "out of range", who, n_features, (int)n_outputs);
    am_status st = am_payload_get_dims(r, who, n_features, n_outputs, d);
    if (st != AM_OK)
        return st;
    forest_model *fm = am_calloc(1, sizeof(*fm));
    if (!fm)
        return am_fail(d, AM_ERR_NOMEM, "%s: out of memory", who);
    fm->base = (am_model){type, n_features, n_outputs};
    st = am_forest_load(r, n_features, n_outputs, &fm->f, d);
    if (st == AM_OK && fm->f.n_trees < 1)
        st = am_fail(d, AM_ERR_FORMAT, "%s model: no trees", who);
    if (st != AM_OK) {
        forest_free(&fm->base);
        return st;
    }
    *out = &fm->base;
    return AM_OK;
}

static am_status rf_load(am_reader *r, uint32_t version, int64_t n_features, int32_t n_outputs,
                         am_model **out, am_diag *d)
{
    return forest_load_as(&am_learner_rf, r, version, n_features, n_outputs, out, d);
}

static am_status et_load(am_reader *r, uint32_t version, int64_t n_features, int32_t n_outputs,
                         am_model **out, am_diag *d)
{
    return forest_load_as(&am_learner_extra_trees, r, version, n_features, n_outputs, out, d);
}

static void forest_importance(const am_model *m, double *gain, double *splits)
{
    const forest_model *fm = (const forest_model *)m;
    am_forest_importance(&fm->f, m->n_features, gain, splits);
}

/* Each tree visits every (sampled) row once per level, for each feature tried: about
 * n log2 n rows times the features tried. */
static double forest_cost(const am_params *p, int64_t n_rows, int64_t n_cols)
{
    double trees = p ? p->v[FP_N_ESTIMATORS] : 100, mf = p ? p->v[FP_MAX_FEATURES] : 0;
    double tried = mf > 0 ? fmax(1, mf * (double)n_cols) : fmax(1, sqrt((double)n_cols));
    double rows = (double)AM_MAX(n_rows, 1);
    if (p && p->v[FP_BOOTSTRAP] != 0)
        rows *= 0.632 * p->v[FP_MAX_SAMPLES];
    return trees * rows * log2(rows + 2) * tried;
}

const am_forest *am_forest_model_trees(const am_model *m)
{
    if (!m || (m->type != &am_learner_rf && m->type != &am_learner_extra_trees))
        return NULL;
    return &((const forest_model *)m)->f;
}

const am_learner_type am_learner_rf = {
    .name = "rf",
    .summary = "random forest: bootstrapped trees, best split among random features (gini)",
    .tasks = AM_TASK_BINARY | AM_TASK_MULTICLASS | AM_TASK_REGRESSION,
    .needs = AM_NEEDS_BINNED,
    .params = &rf_params,
    .format_version = FOREST_FORMAT,
    .check = rf_check,
    .cost_hint = forest_cost,
    .fit = rf_fit,
    .predict = forest_predict,
    .save = forest_save,
    .load = rf_load,
    .free = forest_free,
    .importance = forest_importance,
};

const am_learner_type am_learner_extra_trees = {
    .name = "extra_trees",
    .summary = "extremely randomised trees: one random cut per random feature, all rows",
    .tasks = AM_TASK_BINARY | AM_TASK_MULTICLASS | AM_TASK_REGRESSION,
    .needs = AM_NEEDS_BINNED,
    .params = &et_params,
    .format_version = FOREST_FORMAT,
    .check = et_check,
    .cost_hint = forest_cost,
    .fit = et_fit,
    .predict = forest_predict,
    .save = forest_save,
    .load = et_load,
    .free = forest_free,
    .importance = forest_importance,
};
