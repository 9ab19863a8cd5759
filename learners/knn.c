/* knn.c — k-nearest neighbours, as scikit-learn's KNeighborsClassifier and KNeighborsRegressor
 * with the brute-force algorithm: class probabilities are the (weighted) vote shares of the k
 * nearest training rows, a regression prediction their (weighted) mean.
 *
 * All the cost is in predict, which works on fixed blocks: a block of query rows (the unit of
 * parallel work and of the stop check) against tiles of training rows. One tile of distances is
 *     euclidean  ||q||^2 - 2 q.x + ||x||^2    (the cross term by one dgemm),
 *     cosine     1 - q.x on unit rows          (one dgemm),
 *     manhattan  sum_j |q_j - x_j|             (a blocked loop),
 * and each query keeps its k best in a bounded max-heap while the tiles stream by, so memory per
 * thread is bounded by the block sizes and no distance row is ever sorted in full. Ties at equal
 * distance go to the lower training row: tiles arrive in row order, so a newcomer at the same
 * distance as the worst kept neighbour is simply refused.
 *
 * The dgemm form loses relative precision for near neighbours (the norms cancel), which only
 * matters where the distance itself is used: with weights=distance the distances of the k chosen
 * neighbours are recomputed directly (O(k p) per query), so a query equal to a training row gets
 * distance exactly 0 and, as in scikit-learn, only the neighbours at distance 0 then vote.
 *
 * Determinism: the block and tile boundaries depend on the model only, every dgemm call is the
 * same whichever thread makes it, and each query's vote is summed in (distance, row) order, so
 * predictions do not depend on the thread count. */
#include "knn.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Saved as values in model files: new entries and choices only ever go at the end. */
enum { KNN_N_NEIGHBORS, KNN_WEIGHTS, KNN_METRIC };
enum { WEIGHTS_UNIFORM, WEIGHTS_DISTANCE };
enum { METRIC_EUCLIDEAN, METRIC_MANHATTAN, METRIC_COSINE };

#define KNN_MAX_NEIGHBORS 100000

static const char *const weights_choices[] = {"uniform", "distance", NULL};
static const char *const metric_choices[] = {"euclidean", "manhattan", "cosine", NULL};

static const am_param_desc knn_desc[] = {
    [KNN_N_NEIGHBORS] = {"n_neighbors", AM_P_INT, 5, 1, KNN_MAX_NEIGHBORS, 1, 50, 5, NULL,
                         AM_PF_TUNE | AM_PF_LOG,
                         "neighbours that vote (all training rows when there are fewer)"},
    [KNN_WEIGHTS] = {"weights", AM_P_ENUM, WEIGHTS_UNIFORM, 0, 0, 0, 0, WEIGHTS_UNIFORM,
                     weights_choices, AM_PF_TUNE,
                     "uniform: a neighbour counts its sample weight; distance: sample weight / "
                     "distance"},
    [KNN_METRIC] = {"metric", AM_P_ENUM, METRIC_EUCLIDEAN, 0, 0, 0, 0, METRIC_EUCLIDEAN,
                    metric_choices, AM_PF_TUNE,
                    "distance between rows: euclidean, manhattan (L1) or cosine (1 - cosine "
                    "similarity)"},
};

static const am_param_table knn_params = {"knn", knn_desc, (int32_t)AM_COUNT(knn_desc)};

/* Block geometry. A 256 x 512 tile of distances is 1 MiB, so a tile, the training rows it reads
 * and the query block stay near the core's cache between dgemm and selection. */
enum {
    QUERY_BLOCK = 256,       /* query rows per block */
    TRAIN_TILE = 512,        /* training rows per distance tile */
    HEAP_BUDGET = 1 << 18,   /* neighbour slots per block (4 MiB): fewer rows when k is large */
    QUERY_BUDGET = 1 << 18,  /* copied query values per block (2 MiB): fewer rows when p is large */
    MANHATTAN_UNROLL = 4     /* training rows per pass of the L1 kernel: independent sums */
};

typedef struct knn_model {
    am_model base;
    int32_t n_neighbors, weighting, metric;
    int32_t n_classes; /* 0 for regression */
    int64_t n_train;
    double *x;    /* n_train rows of n_features values, row-major (cosine: unit rows), so a tile
                     is one contiguous block for dgemm and the L1 kernel reads rows in order */
    double *norm; /* euclidean: squared row norms; cosine: squared norms of the unit rows (0 for
                     a zero row, about 1 otherwise); manhattan: NULL */
    double *y;    /* targets (class indices as doubles) */
    double *w;    /* sample weights (ones when none were given) */
} knn_model;

/* One kept neighbour. */
typedef struct knn_slot {
    double d;
    int64_t i;
} knn_slot;

/* Where predict cuts its work (from the model only, so results cannot depend on threads). */
typedef struct knn_plan {
    int64_t query_rows, tile_rows, k;
} knn_plan;

static knn_plan plan_of(const knn_model *km)
{
    knn_plan pl;
    int64_t p = AM_MAX(km->base.n_features, 1);
    pl.k = AM_MIN((int64_t)km->n_neighbors, km->n_train);
    pl.query_rows = AM_MIN((int64_t)QUERY_BLOCK, AM_MIN(HEAP_BUDGET / pl.k, QUERY_BUDGET / p));
    pl.query_rows = AM_MAX(pl.query_rows, 1);
    pl.tile_rows = AM_MIN((int64_t)TRAIN_TILE, km->n_train);
    return pl;
}

void am_knn_blocks(const am_model *m, int64_t *query_rows, int64_t *train_rows)
{
    knn_plan pl = plan_of((const knn_model *)m);
    *query_rows = pl.query_rows;
    *train_rows = pl.tile_rows;
}

static void knn_free(am_model *m)
{
    knn_model *km = (knn_model *)m;
    if (!km)
        return;
    am_free(km->x);
    am_free(km->norm);
    am_free(km->y);
    am_free(km->w);
    am_free(km);
}

/* ---- row preparation (shared by fit, load and predict) -------------------------------------- */

/* Scales a row to unit length; a zero row stays zero (scikit-learn's normalize). Dividing by the
 * largest magnitude first keeps the sum of squares from overflowing. */
static void unit_row(double *r, int64_t p)
{
    double top = 0;
    for (int64_t j = 0; j < p; j++)
        top = fmax(top, fabs(r[j]));
    if (!(top > 0))
        return;
    double s = 0;
    for (int64_t j = 0; j < p; j++) {
        double v = r[j] / top;
        s += v * v;
    }
    double root = sqrt(s);
    for (int64_t j = 0; j < p; j++)
        r[j] = r[j] / top / root;
}

static double squared_norm(const double *r, int64_t p)
{
    double s = 0;
    for (int64_t j = 0; j < p; j++)
        s += r[j] * r[j];
    return s;
}

/* Row-major copy of rows [r0, r0 + n) of a column-major matrix, in strips of rows so the writes
 * of one strip stay in cache while the columns are read in order. */
static void copy_rows(const am_matrix *x, int64_t r0, int64_t n, double *dst)
{
    enum { STRIP = 64 };
    int64_t p = x->n_cols;
    for (int64_t s = 0; s < n; s += STRIP) {
        int64_t e = AM_MIN(n, s + STRIP);
        for (int64_t j = 0; j < p; j++) {
            const double *col = x->data + j * x->ld + r0;
            for (int64_t i = s; i < e; i++)
                dst[i * p + j] = col[i];
        }
    }
}

/* ---- fit ------------------------------------------------------------------------------------ */

static knn_model *knn_alloc(int64_t n_features, int32_t n_outputs, int64_t n_train,
                            bool norms)
{
    size_t cells;
    if (!am_size_mul((size_t)n_train, (size_t)n_features, &cells))
        return NULL;
    knn_model *km = am_calloc(1, sizeof(*km));
    if (!km)
        return NULL;
    km->base = (am_model){&am_learner_knn, n_features, n_outputs};
    km->n_train = n_train;
    km->x = am_malloc_array(cells ? cells : 1, sizeof(double));
    km->norm = norms ? am_malloc_array((size_t)n_train, sizeof(double)) : NULL;
    km->y = am_malloc_array((size_t)n_train, sizeof(double));
    km->w = am_malloc_array((size_t)n_train, sizeof(double));
    if (!km->x || (norms && !km->norm) || !km->y || !km->w) {
        knn_free(&km->base);
        return NULL;
    }
    return km;
}

/* The norms the metric needs, from the stored rows. false when a euclidean norm overflows (the
 * dgemm form would then give inf - inf). */
static bool fill_norms(knn_model *km)
{
    if (!km->norm)
        return true;
    int64_t p = km->base.n_features;
    for (int64_t i = 0; i < km->n_train; i++) {
        km->norm[i] = squared_norm(km->x + i * p, p);
        if (!isfinite(km->norm[i]))
            return false;
    }
    return true;
}

static am_status check_values(const am_params *pv, am_diag *d)
{
    double k = pv->v[KNN_N_NEIGHBORS], w = pv->v[KNN_WEIGHTS], m = pv->v[KNN_METRIC];
    if (!(k >= 1 && k <= KNN_MAX_NEIGHBORS) || k != floor(k))
        return am_fail(d, AM_ERR_CONFIG, "knn.n_neighbors=%g: must be in [1, %d]", k,
                       KNN_MAX_NEIGHBORS);
    if (!(w == WEIGHTS_UNIFORM || w == WEIGHTS_DISTANCE))
        return am_fail(d, AM_ERR_CONFIG, "knn.weights: unknown choice %g", w);
    if (!(m == METRIC_EUCLIDEAN || m == METRIC_MANHATTAN || m == METRIC_COSINE))
        return am_fail(d, AM_ERR_CONFIG, "knn.metric: unknown choice %g", m);
    return AM_OK;
}

static am_status knn_fit(const am_fit_args *a, am_model **out, am_diag *d)
{
    am_status st = am_fit_data_check(a, "knn", d);
    if (st == AM_OK)
        st = am_task_check(&am_learner_knn, a->task, d);
    if (st == AM_OK)
        st = check_values(a->params, d);
    if (st != AM_OK)
        return st;
    const am_matrix *x = a->x;
    if (x->n_cols > INT32_MAX)
        return am_fail(d, AM_ERR_ARG, "knn: %lld features are too many for BLAS",
                       (long long)x->n_cols);
    if (am_stop_hit(a->stop))
        return am_fail(d, AM_ERR_CANCELLED, "knn: stopped before the fit");
    int32_t metric = (int32_t)a->params->v[KNN_METRIC];
    knn_model *km = knn_alloc(x->n_cols, am_fit_n_outputs(a), x->n_rows,
                              metric != METRIC_MANHATTAN);
    if (!km)
        return am_fail(d, AM_ERR_NOMEM, "knn: out of memory for %lld training rows",
                       (long long)x->n_rows);
    km->n_neighbors = (int32_t)a->params->v[KNN_N_NEIGHBORS];
    km->weighting = (int32_t)a->params->v[KNN_WEIGHTS];
    km->metric = metric;
    km->n_classes = a->task == AM_TASK_REGRESSION ? 0 : a->n_classes;
    copy_rows(x, 0, x->n_rows, km->x);
    for (int64_t i = 0; metric == METRIC_COSINE && i < x->n_rows; i++)
        unit_row(km->x + i * x->n_cols, x->n_cols);
    memcpy(km->y, a->y, (size_t)x->n_rows * sizeof(double));
    for (int64_t i = 0; i < x->n_rows; i++)
        km->w[i] = am_weight_at(a->weight, i);
    if (!fill_norms(km)) {
        knn_free(&km->base);
        return am_fail(d, AM_ERR_DATA, "knn: feature values too large for euclidean distances "
                       "(a squared row norm overflows)");
    }
    am_log(a->log, AM_LOG_DEBUG, "knn: stored %lld training rows (n_neighbors=%d)",
           (long long)x->n_rows, (int)km->n_neighbors);
    *out = &km->base;
    return AM_OK;
}

/* ---- predict: distances of one tile --------------------------------------------------------- */

/* Per-thread scratch, sized by the plan. */
typedef struct knn_scratch {
    double *q;      /* query_rows x p, row-major: the block's queries (cosine: unit rows) */
    double *qnorm;  /* squared norms of those rows */
    double *tile;   /* query_rows x tile_rows distances (or the dgemm cross term) */
    knn_slot *heap; /* query_rows x k kept neighbours, one max-heap per query */
    int64_t *fill;  /* slots in use per query */
    double *rdist;  /* k recomputed distances of one query */
} knn_scratch;

static void scratch_fini(knn_scratch *s)
{
    am_free(s->q);
    am_free(s->qnorm);
    am_free(s->tile);
    am_free(s->heap);
    am_free(s->fill);
    am_free(s->rdist);
}

static bool scratch_init(knn_scratch *s, const knn_plan *pl, int64_t p)
{
    size_t qr = (size_t)pl->query_rows;
    s->q = am_malloc_array(qr * (size_t)AM_MAX(p, 1), sizeof(double));
    s->qnorm = am_malloc_array(qr, sizeof(double));
    s->tile = am_malloc_array(qr * (size_t)pl->tile_rows, sizeof(double));
    s->heap = am_malloc_array(qr * (size_t)pl->k, sizeof(knn_slot));
    s->fill = am_malloc_array(qr, sizeof(int64_t));
    s->rdist = am_malloc_array((size_t)pl->k, sizeof(double));
    if (s->q && s->qnorm && s->tile && s->heap && s->fill && s->rdist)
        return true;
    scratch_fini(s);
    memset(s, 0, sizeof(*s));
    return false;
}

/* L1 distances of nq queries to nt training rows. Each query meets MANHATTAN_UNROLL training
 * rows at once: independent sums hide the latency of the adds, and each sum still runs over
 * the features in order, so a distance does not depend on where the tile boundaries fall. */
static void manhattan_tile(const double *q, int64_t nq, const double *xt, int64_t nt, int64_t p,
                           double *tile)
{
    for (int64_t i = 0; i < nq; i++) {
        const double *qi = q + i * p;
        double *row = tile + i * nt;
        int64_t t = 0;
        for (; t + MANHATTAN_UNROLL <= nt; t += MANHATTAN_UNROLL) {
            const double *x0 = xt + t * p, *x1 = x0 + p, *x2 = x1 + p, *x3 = x2 + p;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int64_t j = 0; j < p; j++) {
                s0 += fabs(qi[j] - x0[j]);
                s1 += fabs(qi[j] - x1[j]);
                s2 += fabs(qi[j] - x2[j]);
                s3 += fabs(qi[j] - x3[j]);
            }
            row[t] = s0;
            row[t + 1] = s1;
            row[t + 2] = s2;
            row[t + 3] = s3;
        }
        for (; t < nt; t++) {
            const double *xr = xt + t * p;
            double s = 0;
            for (int64_t j = 0; j < p; j++)
                s += fabs(qi[j] - xr[j]);
            row[t] = s;
        }
    }
}

/* Fills the tile for training rows [t0, t0 + nt): the L1 distances, or the dgemm cross term
 * scaled so that the selection only adds (euclidean: -2 q.x; cosine: -q.x). */
static void distance_tile(const knn_model *km, knn_scratch *s, int64_t nq, int64_t t0,
                          int64_t nt)
{
    int64_t p = km->base.n_features;
    const double *xt = km->x + t0 * p;
    if (km->metric == METRIC_MANHATTAN) {
        manhattan_tile(s->q, nq, xt, nt, p, s->tile);
    } else if (p == 0) {
        memset(s->tile, 0, (size_t)(nq * nt) * sizeof(double));
    } else {
        double alpha = km->metric == METRIC_EUCLIDEAN ? -2.0 : -1.0;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)nt, (int)p, alpha,
                    s->q, (int)p, xt, (int)p, 0.0, s->tile, (int)nt);
    }
}

/* ---- predict: selection ---------------------------------------------------------------------- */

static inline bool slot_before(knn_slot a, knn_slot b)
{
    return a.d < b.d || (a.d == b.d && a.i < b.i);
}

static void sift_down(knn_slot *h, int64_t n, int64_t at)
{
    knn_slot v = h[at];
    for (;;) {
        int64_t c = 2 * at + 1;
        if (c >= n)
            break;
        if (c + 1 < n && slot_before(h[c], h[c + 1]))
            c++;
        if (!slot_before(v, h[c]))
            break;
        h[at] = h[c];
        at = c;
    }
    h[at] = v;
}

/* Offers a candidate to a max-heap of at most k slots (h[0] the worst kept). */
static inline void heap_offer(knn_slot *h, int64_t *n, int64_t k, knn_slot c)
{
    if (*n < k) {
        int64_t at = (*n)++;
        while (at > 0 && slot_before(h[(at - 1) / 2], c)) {
            h[at] = h[(at - 1) / 2];
            at = (at - 1) / 2;
        }
        h[at] = c;
    } else if (slot_before(c, h[0])) {
        h[0] = c;
        sift_down(h, k, 0);
    }
}

/* A finished distance: negatives from rounding become 0; NaN (from non-finite query values)
 * becomes +inf, so it sorts last and every comparison stays well defined. */
static inline double clean_distance(double v)
{
    return v >= 0 ? v : (v < 0 ? 0.0 : INFINITY);
}

/* Turns one query's row of the tile into finished distances, in place. One loop per metric
 * with nothing that depends on the heap, so the compiler can vectorise it. */
static void finish_row(int32_t metric, double qn, const double *xn, double *row, int64_t nt)
{
    switch (metric) {
    case METRIC_EUCLIDEAN:
        for (int64_t t = 0; t < nt; t++)
            row[t] = clean_distance(qn + row[t] + xn[t]);
        break;
    case METRIC_COSINE:
        for (int64_t t = 0; t < nt; t++) {
            double v = clean_distance(1.0 + row[t]);
            row[t] = v > 2.0 ? 2.0 : v;
        }
        break;
    default:
        for (int64_t t = 0; t < nt; t++)
            row[t] = clean_distance(row[t]);
        break;
    }
}

/* Finishes the tile's distances and offers them to each query's heap. The common case, a
 * distance no better than the worst kept one, costs one comparison: with tiles in row order a
 * tie is refused, which is the lower-row-wins rule. */
static void select_tile(const knn_model *km, const knn_plan *pl, knn_scratch *s, int64_t nq,
                        int64_t t0, int64_t nt)
{
    const double *xn = km->norm ? km->norm + t0 : NULL;
    int64_t k = pl->k;
    for (int64_t i = 0; i < nq; i++) {
        double *row = s->tile + i * nt;
        knn_slot *h = s->heap + i * k;
        int64_t fill = s->fill[i];
        finish_row(km->metric, s->qnorm[i], xn, row, nt);
        for (int64_t t = 0; t < nt; t++) {
            if (fill == k && !(row[t] < h[0].d))
                continue;
            heap_offer(h, &fill, k, (knn_slot){row[t], t0 + t});
        }
        s->fill[i] = fill;
    }
}

/* Heap sort in place: the max-heap becomes ascending (distance, row) order. */
static void heap_sort(knn_slot *h, int64_t n)
{
    for (int64_t end = n - 1; end > 0; end--) {
        knn_slot top = h[0];
        h[0] = h[end];
        h[end] = top;
        sift_down(h, end, 0);
    }
}

/* ---- predict: the vote ----------------------------------------------------------------------- */

/* The distance of query q to training row t computed directly, for weights=distance: exact 0
 * for equal rows and full relative precision for near ones. Cosine uses ||q - x||^2 / 2 on unit
 * rows (= 1 - q.x without the cancellation); a zero row is at distance 1 from everything, as
 * 1 - 0 in scikit-learn. */
static double direct_distance(const knn_model *km, const double *q, double qnorm, int64_t t)
{
    int64_t p = km->base.n_features;
    const double *xr = km->x + t * p;
    double s = 0;
    switch (km->metric) {
    case METRIC_EUCLIDEAN:
        for (int64_t j = 0; j < p; j++)
            s += (q[j] - xr[j]) * (q[j] - xr[j]);
        return clean_distance(sqrt(s));
    case METRIC_COSINE:
        if (!(qnorm > 0) || !(km->norm[t] > 0))
            return 1.0;
        for (int64_t j = 0; j < p; j++)
            s += (q[j] - xr[j]) * (q[j] - xr[j]);
        return fmin(clean_distance(0.5 * s), 2.0);
    default:
        for (int64_t j = 0; j < p; j++)
            s += fabs(q[j] - xr[j]);
        return clean_distance(s);
    }
}

/* Vote weights of the k sorted neighbours of one query, into rdist (overwritten). uniform: the
 * sample weight; distance: sample weight / distance, or, when some neighbours are at distance 0,
 * the sample weight of those alone (scikit-learn's rule). Returns their sum. */
static double vote_weights(const knn_model *km, const knn_slot *nb, int64_t k, const double *q,
                           double qnorm, double *v)
{
    double total = 0;
    if (km->weighting == WEIGHTS_UNIFORM) {
        for (int64_t r = 0; r < k; r++)
            total += v[r] = km->w[nb[r].i];
        return total;
    }
    bool exact = false;
    for (int64_t r = 0; r < k; r++) {
        v[r] = direct_distance(km, q, qnorm, nb[r].i);
        exact = exact || v[r] == 0;
    }
    for (int64_t r = 0; r < k; r++) {
        double sw = km->w[nb[r].i];
        v[r] = exact ? (v[r] == 0 ? sw : 0.0) : sw / v[r];
        total += v[r];
    }
    return total;
}

/* Writes one query's prediction from its sorted neighbours. When the vote weights sum to zero
 * (every neighbour has sample weight 0) or overflow, every neighbour counts once instead. */
static void vote(const knn_model *km, const knn_slot *nb, int64_t k, const double *q,
                 double qnorm, double *v, double *out)
{
    double total = vote_weights(km, nb, k, q, qnorm, v);
    if (!(total > 0) || !isfinite(total)) {
        for (int64_t r = 0; r < k; r++)
            v[r] = 1.0;
        total = (double)k;
    }
    if (km->n_classes == 0) {
        double s = 0;
        for (int64_t r = 0; r < k; r++)
            s += v[r] * km->y[nb[r].i];
        out[0] = s / total;
        return;
    }
    for (int32_t c = 0; c < km->n_classes; c++)
        out[c] = 0;
    for (int64_t r = 0; r < k; r++)
        out[(int32_t)km->y[nb[r].i]] += v[r];
    for (int32_t c = 0; c < km->n_classes; c++)
        out[c] /= total;
}

/* ---- predict: one block and the driver ------------------------------------------------------- */

/* Queries [q0, q0 + nq): copy (cosine: to unit rows) and norms, then every training tile in row
 * order through the heaps, then the votes. */
static void predict_block(const knn_model *km, const knn_plan *pl, const am_matrix *x,
                          int64_t q0, int64_t nq, knn_scratch *s, double *out)
{
    int64_t p = km->base.n_features;
    copy_rows(x, q0, nq, s->q);
    for (int64_t i = 0; i < nq; i++) {
        if (km->metric == METRIC_COSINE)
            unit_row(s->q + i * p, p);
        s->qnorm[i] = squared_norm(s->q + i * p, p);
        s->fill[i] = 0;
    }
    for (int64_t t0 = 0; t0 < km->n_train; t0 += pl->tile_rows) {
        int64_t nt = AM_MIN(pl->tile_rows, km->n_train - t0);
        distance_tile(km, s, nq, t0, nt);
        select_tile(km, pl, s, nq, t0, nt);
    }
    int32_t n_out = km->base.n_outputs;
    for (int64_t i = 0; i < nq; i++) {
        knn_slot *nb = s->heap + i * pl->k;
        heap_sort(nb, s->fill[i]);
        vote(km, nb, s->fill[i], s->q + i * p, s->qnorm[i], s->rdist,
             out + (q0 + i) * n_out);
    }
}

static am_status knn_predict(const am_model *m, const am_matrix *x, int32_t n_threads,
                             const am_stop *stop, double *out, am_diag *d)
{
    am_status st = am_predict_check(m, x, out, d);
    if (st != AM_OK)
        return st;
    const knn_model *km = (const knn_model *)m;
    if (x->n_rows == 0)
        return AM_OK;
    knn_plan pl = plan_of(km);
    int64_t n_blocks = (x->n_rows + pl.query_rows - 1) / pl.query_rows;
    int nt = (int)AM_MAX(1, AM_MIN((int64_t)n_threads, n_blocks));
    int nomem = 0, cancelled = 0;
#pragma omp parallel num_threads(nt)
    {
        knn_scratch s;
        memset(&s, 0, sizeof(s));
        bool ready = scratch_init(&s, &pl, m->n_features);
        if (!ready) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < n_blocks; b++) {
            int out_of_memory, stopped;
#pragma omp atomic read
            out_of_memory = nomem;
#pragma omp atomic read
            stopped = cancelled;
            if (out_of_memory || stopped || !ready)
                continue;
            /* The stop check before each block: k-NN's cost is here, not in fit, so this is
             * what lets a deadline end a trial that is predicting. */
            if (am_stop_hit(stop)) {
#pragma omp atomic write
                cancelled = 1;
                continue;
            }
            int64_t q0 = b * pl.query_rows;
            predict_block(km, &pl, x, q0, AM_MIN(pl.query_rows, x->n_rows - q0), &s, out);
        }
        scratch_fini(&s);
    }
    if (nomem)
        return am_fail(d, AM_ERR_NOMEM, "knn: out of memory for the prediction scratch");
    if (cancelled)
        return am_fail(d, AM_ERR_CANCELLED, "knn: stopped during prediction");
    return AM_OK;
}

/* ---- save, load ------------------------------------------------------------------------------ */

static am_status knn_save(const am_model *m, am_buf *b, am_diag *d)
{
    const knn_model *km = (const knn_model *)m;
    am_payload_put_dims(b, m);
    am_buf_u32(b, (uint32_t)km->n_classes);
    am_buf_u32(b, (uint32_t)km->n_neighbors);
    am_buf_u32(b, (uint32_t)km->weighting);
    am_buf_u32(b, (uint32_t)km->metric);
    am_buf_i64(b, km->n_train);
    am_buf_f64s(b, km->x, (size_t)(km->n_train * m->n_features));
    am_buf_f64s(b, km->y, (size_t)km->n_train);
    am_buf_f64s(b, km->w, (size_t)km->n_train);
    return am_buf_status(b, d);
}

/* The fixed part of the payload after the dimensions, checked before anything is allocated:
 * the row count against the bytes left (each row holds n_features + 2 doubles). */
static am_status load_header(am_reader *r, int64_t n_features, int32_t n_outputs,
                             knn_model *h, am_diag *d)
{
    uint32_t nc = am_get_u32(r), k = am_get_u32(r), wt = am_get_u32(r), me = am_get_u32(r);
    int64_t n = am_get_i64(r);
    am_status st = am_reader_status(r, false, d);
    if (st != AM_OK)
        return st;
    if (nc == 1 || nc > INT32_MAX || (nc == 0 ? n_outputs != 1 : (int64_t)nc != n_outputs))
        return am_fail(d, AM_ERR_FORMAT, "knn model: %u classes saved for %d outputs",
                       (unsigned)nc, (int)n_outputs);
    if (k < 1 || k > KNN_MAX_NEIGHBORS || wt > WEIGHTS_DISTANCE || me > METRIC_COSINE)
        return am_fail(d, AM_ERR_FORMAT, "knn model: bad parameters (n_neighbors %u, weights "
                       "%u, metric %u)", (unsigned)k, (unsigned)wt, (unsigned)me);
    uint64_t per_row = (uint64_t)n_features + 2;
    if (n < 1 || n_features > INT32_MAX || (uint64_t)n > r->left / sizeof(double) / per_row)
        return am_fail(d, AM_ERR_FORMAT, "knn model: %lld training rows of %lld features do "
                       "not fit in the %zu bytes left", (long long)n, (long long)n_features,
                       r->left);
    h->n_classes = (int32_t)nc;
    h->n_neighbors = (int32_t)k;
    h->weighting = (int32_t)wt;
    h->metric = (int32_t)me;
    h->n_train = n;
    return AM_OK;
}

/* Targets and weights as fit would have accepted them. */
static am_status check_rows(knn_model *km, am_diag *d)
{
    double total = 0;
    for (int64_t i = 0; i < km->n_train; i++) {
        double y = km->y[i];
        if (km->n_classes > 0 && !(y >= 0 && y < km->n_classes && y == floor(y)))
            return am_fail(d, AM_ERR_FORMAT, "knn model: saved row %lld has class %g of %d",
                           (long long)i, y, (int)km->n_classes);
        if (!(km->w[i] >= 0))
            return am_fail(d, AM_ERR_FORMAT, "knn model: saved row %lld has weight %g",
                           (long long)i, km->w[i]);
        total += km->w[i];
    }
    if (!(total > 0) || !isfinite(total))
        return am_fail(d, AM_ERR_FORMAT, "knn model: the saved weights sum to %g", total);
    if (!fill_norms(km))
        return am_fail(d, AM_ERR_FORMAT, "knn model: a saved row's squared norm overflows");
    return AM_OK;
}

static am_status knn_load(am_reader *r, uint32_t version, int64_t n_features, int32_t n_outputs,
                          am_model **out, am_diag *d)
{
    if (version != 1)
        return am_fail(d, AM_ERR_FORMAT, "knn model: payload version %u is not supported "
                       "(this build reads version 1)", (unsigned)version);
    if (n_features < 0 || n_outputs < 1)
        return am_fail(d, AM_ERR_FORMAT, "knn model: expected %lld features and %d outputs",
                       (long long)n_features, (int)n_outputs);
    am_status st = am_payload_get_dims(r, "knn", n_features, n_outputs, d);
    knn_model h;
    memset(&h, 0, sizeof(h));
    if (st == AM_OK)
        st = load_header(r, n_features, n_outputs, &h, d);
    if (st != AM_OK)
        return st;
    knn_model *km = am_calloc(1, sizeof(*km));
    if (!km)
        return am_fail(d, AM_ERR_NOMEM, "knn: out of memory");
    *km = h;
    km->base = (am_model){&am_learner_knn, n_features, n_outputs};
    st = am_payload_get_f64s(r, "knn", (size_t)(h.n_train * n_features), &km->x, d);
    if (st == AM_OK)
        st = am_payload_get_f64s(r, "knn", (size_t)h.n_train, &km->y, d);
    if (st == AM_OK)
        st = am_payload_get_f64s(r, "knn", (size_t)h.n_train, &km->w, d);
    if (st == AM_OK && km->metric != METRIC_MANHATTAN) {
        km->norm = am_malloc_array((size_t)h.n_train, sizeof(double));
        if (!km->norm)
            st = am_fail(d, AM_ERR_NOMEM, "knn: out of memory");
    }
    if (st == AM_OK)
        st = check_rows(km, d);
    if (st != AM_OK) {
        knn_free(&km->base);
        return st;
    }
    *out = &km->base;
    return AM_OK;
}

/* Prediction dominates: every query row meets every training row over every feature. */
static double knn_cost(const am_params *p, int64_t n_rows, int64_t n_cols)
{
    (void)p;
    double n = (double)n_rows;
    return n * n * (double)AM_MAX(n_cols, 1);
}

const am_learner_type am_learner_knn = {
    .name = "knn",
    .summary = "k-nearest neighbours: vote (classification) or mean (regression) of the k "
               "closest training rows",
    .tasks = AM_TASK_BINARY | AM_TASK_MULTICLASS | AM_TASK_REGRESSION,
    .needs = AM_NEEDS_SCALED,
    .on_request = true,
    .params = &knn_params,
    .format_version = 1,
    .check = NULL,
    .cost_hint = knn_cost,
    .fit = knn_fit,
    .predict = knn_predict,
    .save = knn_save,
    .load = knn_load,
    .free = knn_free,
};
