/* split.c — k-fold and holdout validation splits over positions 0..n-1 of a target vector.
 *
 * Classification splits are stratified: each class's positions are shuffled and dealt out on
 * their own, so every fold (or the holdout side) keeps the class proportions of the whole set as
 * closely as the counts allow. All randomness comes from one am_rng seeded with the caller's seed,
 * consumed in class order, so a split depends only on (y, seed). */
#include <math.h>
#include <string.h>

#include "search.h"

void am_split_fini(am_split *s)
{
    if (!s)
        return;
    if (s->folds) {
        for (int32_t i = 0; i < s->n_folds; i++) {
            am_free(s->folds[i].train);
            am_free(s->folds[i].valid);
        }
        am_free(s->folds);
    }
    s->folds = NULL;
    s->n_folds = 0;
}

static bool is_classification(am_task task)
{
    return task == AM_TASK_BINARY || task == AM_TASK_MULTICLASS;
}

static am_status check_targets(const double *y, int64_t n, am_task task, int32_t n_classes,
                               am_diag *d)
{
    if (n <= 0 || !y)
        return am_fail(d, AM_ERR_ARG, "cannot split %lld rows", (long long)n);
    if (!is_classification(task))
        return task == AM_TASK_REGRESSION ? AM_OK
                                          : am_fail(d, AM_ERR_ARG, "unknown task %d", (int)task);
    if (n_classes < 2)
        return am_fail(d, AM_ERR_ARG, "a classification split needs at least 2 classes, got %d",
                       (int)n_classes);
    for (int64_t i = 0; i < n; i++) {
        double v = y[i];
        if (!(v >= 0.0) || v >= (double)n_classes || v != floor(v))
            return am_fail(d, AM_ERR_ARG, "target position %lld holds %g, not a class id below %d",
                           (long long)i, v, (int)n_classes);
    }
    return AM_OK;
}

/* Positions grouped by class: perm holds every position, class c's block starts at start[c] and
 * ends at start[c + 1]; each block is ascending before shuffling. Regression is one block. */
typedef struct groups {
    int64_t *perm;
    int64_t *start;
    int32_t n_groups;
} groups;

static void groups_fini(groups *g)
{
    am_free(g->perm);
    am_free(g->start);
}

static am_status groups_build(const double *y, int64_t n, am_task task, int32_t n_classes,
                              uint64_t seed, groups *g, am_diag *d)
{
    g->n_groups = is_classification(task) ? n_classes : 1;
    g->perm = am_malloc_array((size_t)n, sizeof(*g->perm));
    g->start = am_calloc((size_t)g->n_groups + 1, sizeof(*g->start));
    if (!g->perm || !g->start) {
        groups_fini(g);
        return am_fail(d, AM_ERR_NOMEM, "out of memory splitting %lld rows", (long long)n);
    }
    if (g->n_groups == 1) {
        for (int64_t i = 0; i < n; i++)
            g->perm[i] = i;
        g->start[1] = n;
    } else {
        /* Counting sort by class keeps positions ascending within each block. */
        for (int64_t i = 0; i < n; i++)
            g->start[(int32_t)y[i] + 1]++;
        for (int32_t c = 0; c < g->n_groups; c++)
            g->start[c + 1] += g->start[c];
        int64_t *fill = am_malloc_array((size_t)g->n_groups, sizeof(*fill));
        if (!fill) {
            groups_fini(g);
            return am_fail(d, AM_ERR_NOMEM, "out of memory splitting %lld rows", (long long)n);
        }
        memcpy(fill, g->start, (size_t)g->n_groups * sizeof(*fill));
        for (int64_t i = 0; i < n; i++)
            g->perm[fill[(int32_t)y[i]]++] = i;
        am_free(fill);
    }
    am_rng rng;
    am_rng_seed(&rng, seed);
    for (int32_t c = 0; c < g->n_groups; c++)
        am_rng_shuffle(&rng, g->perm + g->start[c], g->start[c + 1] - g->start[c]);
    return AM_OK;
}

/* Turns an assignment (fold_of[i] = the fold holding position i out) into ascending lists. */
static am_status split_from_assignment(const int32_t *fold_of, int64_t n, int32_t k, am_split *out,
                                       am_diag *d)
{
    out->folds = am_calloc((size_t)k, sizeof(*out->folds));
    if (!out->folds)
        return am_fail(d, AM_ERR_NOMEM, "out of memory splitting %lld rows", (long long)n);
    out->n_folds = k;
    for (int32_t f = 0; f < k; f++) {
        am_fold *fold = &out->folds[f];
        int64_t nv = 0;
        for (int64_t i = 0; i < n; i++)
            nv += fold_of[i] == f;
        /* Empty lists still get one element of storage so NULL always means failure. */
        fold->valid = am_malloc_array((size_t)AM_MAX(nv, 1), sizeof(int64_t));
        fold->train = am_malloc_array((size_t)AM_MAX(n - nv, 1), sizeof(int64_t));
        if (!fold->valid || !fold->train) {
            am_split_fini(out);
            return am_fail(d, AM_ERR_NOMEM, "out of memory splitting %lld rows", (long long)n);
        }
        for (int64_t i = 0; i < n; i++) {
            if (fold_of[i] == f)
                fold->valid[fold->n_valid++] = i;
            else
                fold->train[fold->n_train++] = i;
        }
    }
    return AM_OK;
}

am_status am_split_kfold(const double *y, int64_t n, am_task task, int32_t n_classes, int32_t k,
                         uint64_t seed, am_split *out, am_diag *d)
{
    if (!out)
        return am_fail(d, AM_ERR_ARG, "no split to fill");
    memset(out, 0, sizeof(*out));
    am_status st = check_targets(y, n, task, n_classes, d);
    if (st != AM_OK)
        return st;
    if (k < 2 || (int64_t)k > n)
        return am_fail(d, AM_ERR_CONFIG, "%d-fold cross-validation needs 2 <= folds <= rows (%lld)",
                       (int)k, (long long)n);
    groups g;
    if ((st = groups_build(y, n, task, n_classes, seed, &g, d)) != AM_OK)
        return st;
    int32_t *fold_of = am_malloc_array((size_t)n, sizeof(*fold_of));
    if (!fold_of) {
        groups_fini(&g);
        return am_fail(d, AM_ERR_NOMEM, "out of memory splitting %lld rows", (long long)n);
    }
    if (g.n_groups == 1) {
        /* Cut the shuffled positions into k runs; the first n % k runs take one extra row. */
        int64_t base = n / k, extra = n % k, at = 0;
        for (int32_t f = 0; f < k; f++) {
            int64_t len = base + (f < extra);
            for (int64_t j = 0; j < len; j++)
                fold_of[g.perm[at++]] = f;
        }
    } else {
        /* Deal class by class, continuing the round-robin across classes: each class spreads
         * over the folds within one row, and the fold totals differ by at most one. */
        int64_t cursor = 0;
        for (int64_t j = 0; j < n; j++)
            fold_of[g.perm[j]] = (int32_t)(cursor++ % k);
    }
    groups_fini(&g);
    st = split_from_assignment(fold_of, n, k, out, d);
    am_free(fold_of);
    return st;
}

/* Rows of one group (of size m) that go to the validation side. */
static int64_t holdout_count(int64_t m, double fraction)
{
    if (m < 2)
        return 0; /* a single row is worth more to training than to a one-row validation */
    int64_t nv = (int64_t)llround(fraction * (double)m);
    return AM_MIN(AM_MAX(nv, 1), m - 1);
}

am_status am_split_holdout(const double *y, int64_t n, am_task task, int32_t n_classes,
                           double fraction, uint64_t seed, am_split *out, am_diag *d)
{
    if (!out)
        return am_fail(d, AM_ERR_ARG, "no split to fill");
    memset(out, 0, sizeof(*out));
    am_status st = check_targets(y, n, task, n_classes, d);
    if (st != AM_OK)
        return st;
    if (!(fraction > 0.0 && fraction < 1.0))
        return am_fail(d, AM_ERR_CONFIG, "holdout=%g: must be in (0, 1)", fraction);
    groups g;
    if ((st = groups_build(y, n, task, n_classes, seed, &g, d)) != AM_OK)
        return st;
    int32_t *fold_of = am_malloc_array((size_t)n, sizeof(*fold_of));
    if (!fold_of) {
        groups_fini(&g);
        return am_fail(d, AM_ERR_NOMEM, "out of memory splitting %lld rows", (long long)n);
    }
    /* fold_of == 0 marks a validation row (the one fold's held-out side). */
    int64_t n_valid = 0;
    for (int32_t c = 0; c < g.n_groups; c++) {
        int64_t m = g.start[c + 1] - g.start[c];
        int64_t nv = holdout_count(m, fraction);
        for (int64_t j = 0; j < m; j++)
            fold_of[g.perm[g.start[c] + j]] = j < nv ? 0 : 1;
        n_valid += nv;
    }
    groups_fini(&g);
    if (n_valid == 0 || n_valid == n) {
        am_free(fold_of);
        return am_fail(d, AM_ERR_CONFIG,
                       "holdout=%g on %lld rows leaves no row for %s", fraction, (long long)n,
                       n_valid == 0 ? "validation" : "training");
    }
    st = split_from_assignment(fold_of, n, 1, out, d);
    am_free(fold_of);
    return st;
}
