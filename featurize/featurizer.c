/* featurizer.c — the minimal featurizer: median imputation with missing indicators for numeric
 * columns, one-hot encoding for categorical ones, optional standardisation; or, for tree
 * learners, native output (one feature per column, missing kept as NaN).
 *
 * Output layout, per kept input column in frame order:
 *   number:   "<name>", then "<name>_missing" when the training rows had missing values;
 *   category: "<name>=<level>" per kept level (frame level order), then "<name>=<missing>" when
 *             the training rows had missing values, then "<name>=<unseen>" always.
 * Native layout: "<name>" alone for both; a category is written as the index of its level among
 * every level seen in the training rows (frame level order), NaN when missing or unseen.
 * Every statistic (median, kept levels, mean and sd) comes from the training rows only, so a
 * validation row can never leak into the features it is scored on. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One-hot width cap per column: the most frequent levels keep their own slot, the rest share the
 * unseen slot. A crude guard against id-like columns until the featurization issue brings
 * frequency/target encodings. */
#define MAX_ONEHOT_LEVELS 100
/* Load-time bounds: far above what fit produces, low enough that nothing overflows. */
#define LOAD_MAX_INPUTS ((uint64_t)1 << 24)
#define LOAD_MAX_LEVELS ((uint64_t)1 << 24)

typedef struct feat_input {
    char *name;
    am_coltype type;   /* AM_COL_NUM or AM_COL_CAT */
    double median;     /* number: replaces missing and non-finite values */
    bool indicator;    /* number: a "<name>_missing" feature follows */
    am_strset levels;  /* category: kept levels in slot order */
    bool missing_slot; /* category: a "<name>=<missing>" slot follows the levels */
    int64_t first;     /* its first output feature */
    int64_t width;     /* how many output features it has */
} feat_input;

struct am_featurizer {
    feat_input *inputs;
    int32_t n_inputs;
    bool standardize;
    bool native;           /* one feature per input (so input i is feature i); no scaling */
    int64_t n_features, cap_features;
    char **names;          /* per feature */
    double *center, *scale; /* per feature: output = (raw - center) / scale; 0 and 1 when not
                               standardising, which leaves raw values bit for bit */
};

/* ---- small helpers ----------------------------------------------------------------------- */

static void input_fini(feat_input *in)
{
    am_free(in->name);
    am_strset_fini(&in->levels);
}

void am_featurizer_free(am_featurizer *fz)
{
    if (!fz)
        return;
    for (int32_t i = 0; i < fz->n_inputs; i++)
        input_fini(&fz->inputs[i]);
    for (int64_t j = 0; j < fz->n_features; j++)
        am_free(fz->names[j]);
    am_free(fz->inputs);
    am_free(fz->names);
    am_free(fz->center);
    am_free(fz->scale);
    am_free(fz);
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = am_malloc(la + lb + lc + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, c, lc + 1);
    }
    return s;
}

/* Appends one output feature; the scale of a constant column stays 1 so it is only centred. */
static bool push_feature(am_featurizer *fz, char *name, double mean, double sd)
{
    if (!name)
        return false;
    if (fz->n_features == fz->cap_features) {
        int64_t cap = fz->cap_features ? fz->cap_features * 2 : 16;
        char **names = am_realloc(fz->names, (size_t)cap * sizeof(char *));
        if (names)
            fz->names = names;
        double *center = am_realloc(fz->center, (size_t)cap * sizeof(double));
        if (center)
            fz->center = center;
        double *scale = am_realloc(fz->scale, (size_t)cap * sizeof(double));
        if (scale)
            fz->scale = scale;
        if (!names || !center || !scale) {
            am_free(name);
            return false;
        }
        fz->cap_features = cap;
    }
    int64_t j = fz->n_features++;
    fz->names[j] = name;
    fz->center[j] = fz->standardize ? mean : 0.0;
    fz->scale[j] = fz->standardize && isfinite(sd) && sd > 0 ? sd : 1.0;
    return true;
}

/* Mean and population sd of a 0/1 feature that is 1 in `count` of n rows. */
static bool push_indicator(am_featurizer *fz, char *name, int64_t count, int64_t n)
{
    double p = (double)count / (double)n;
    return push_feature(fz, name, p, sqrt(p * (1.0 - p)));
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

/* "date/time columns "a", "b" (and 2 more)" */
static void name_list_say(const name_list *l, const char *what, char *buf, size_t size)
{
    int k = snprintf(buf, size, "%s column%s %s", what, l->count == 1 ? "" : "s", l->text);
    if (l->omitted > 0 && k > 0 && (size_t)k < size)
        snprintf(buf + k, size - (size_t)k, " (and %lld more)", (long long)l->omitted);
}

/* ---- fitting numeric columns -------------------------------------------------------------- */

static void swap_d(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* The k-th smallest (0-based) of a[0..n), reordering a so that a[k..n) >= it. Three-way
 * partitioning keeps long runs of equal values (a column of mostly zeros) linear; a pivot drawn
 * from a fixed-seed generator keeps sorted or hostile orders from going quadratic while the
 * result stays deterministic (and the value does not depend on the pivots anyway). */
static double select_kth(double *a, int64_t n, int64_t k, am_rng *rng)
{
    int64_t lo = 0, hi = n;
    while (hi - lo > 1) {
        double p = a[lo + am_rng_below(rng, hi - lo)];
        int64_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (a[i] < p)
                swap_d(&a[lt++], &a[i++]);
            else if (a[i] > p)
                swap_d(&a[i], &a[--gt]);
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return p;
    }
    return a[k];
}

/* The mean of the k-th and last-th smallest (0-based; last is k or k + 1) of a[0..n),
 * reordering a. */
static double middle_of(double *a, int64_t n, int64_t k, int64_t last, am_rng *rng)
{
    double lo = select_kth(a, n, k, rng);
    if (last == k)
        return lo;
    double hi = a[k + 1];
    for (int64_t i = k + 2; i < n; i++)
        hi = AM_MIN(hi, a[i]);
    return 0.5 * lo + 0.5 * hi; /* halves first: no overflow near DBL_MAX */
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Columns shorter than this go straight to quickselect; longer ones are bracketed by a sample
 * of MEDIAN_SAMPLE values first. The bracket reaches MEDIAN_REACH sample ranks either side of
 * the middle: about 3.5 standard deviations of the middle's rank in the sample, so it misses
 * about once in a thousand columns and holds about 8 % of the values. */
enum { MEDIAN_DIRECT = 8192, MEDIAN_SAMPLE = 2048, MEDIAN_REACH = 80 };

/* Median of a[0..n) (finite values, n > 0), leaving a as it is; buf: n doubles of scratch.
 * Quickselect's three-way partition costs a mispredicted branch per value and pass, the
 * featurizer's largest cost on tall tables. Instead, two values of a sorted random sample
 * bracket the middle ranks, one branch-free pass counts the values below the bracket and
 * copies those inside it to buf, and quickselect finishes on that small part. When the middle
 * ranks fall outside the bracket it starts again by quickselect on a copy of the whole. The
 * value does not depend on the sample (a fixed seed keeps the work deterministic too). */
static double median_of(const double *a, int64_t n, double *buf)
{
    am_rng rng;
    am_rng_seed(&rng, 0x6d656469616eull);
    if (n >= MEDIAN_DIRECT) {
        double sample[MEDIAN_SAMPLE];
        for (int i = 0; i < MEDIAN_SAMPLE; i++)
            sample[i] = a[am_rng_below(&rng, n)];
        qsort(sample, MEDIAN_SAMPLE, sizeof(double), cmp_double);
        double lo = sample[MEDIAN_SAMPLE / 2 - MEDIAN_REACH];
        double hi = sample[MEDIAN_SAMPLE / 2 + MEDIAN_REACH];
        int64_t below = 0, inside = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = a[i];
            buf[inside] = v;
            inside += (v >= lo) & (v <= hi);
            below += v < lo;
        }
        int64_t k = (n - 1) / 2 - below, last = n / 2 - below; /* the middle ranks in buf */
        if (k >= 0 && last < inside)
            return middle_of(buf, inside, k, last, &rng);
    }
    memcpy(buf, a, (size_t)n * sizeof(double));
    return middle_of(buf, n, (n - 1) / 2, n / 2, &rng);
}

/* Sum of v[0..m) in four interleaved partial sums combined in a fixed order (deterministic, and
 * not held up by the latency of each addition), with the smallest and largest value. */
static double sum_min_max(const double *v, int64_t m, double *vmin, double *vmax)
{
    double s[4] = {0, 0, 0, 0}, lo = v[0], hi = v[0];
    for (int64_t i = 0; i < m; i++) {
        s[i & 3] += v[i];
        lo = AM_MIN(lo, v[i]);
        hi = AM_MAX(hi, v[i]);
    }
    *vmin = lo;
    *vmax = hi;
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Sum of ((v_i - mean) * inv)^2 over v[0..m), in four partial sums like sum_min_max's. */
static double scaled_squares(const double *v, int64_t m, double mean, double inv)
{
    double s[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < m; i++) {
        double z = (v[i] - mean) * inv;
        s[i & 3] += z * z;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Mean and population sd of the imputed column: the m finite values v (m > 0) and n - m copies
 * of fill. Deviations are scaled by the largest one before squaring, so values near 1e200 do
 * not overflow to inf. */
static void numeric_moments(const double *v, int64_t m, int64_t n, double fill, double *mean_out,
                            double *sd_out)
{
    double n_fill = (double)(n - m), vmin, vmax;
    double mean = (sum_min_max(v, m, &vmin, &vmax) + n_fill * fill) / (double)n;
    if (!isfinite(mean)) { /* the sum overflowed: average halved values instead */
        mean = n_fill * (0.5 * fill) / (double)n;
        for (int64_t i = 0; i < m; i++)
            mean += (0.5 * v[i]) / (double)n;
        mean = isfinite(2.0 * mean) ? 2.0 * mean : 0.0;
    }
    double big = AM_MAX(AM_MAX(vmax - mean, mean - vmin), fabs(fill - mean));
    double sd = 0.0;
    if (big > 0.0 && isfinite(big)) {
        double inv = 1.0 / big, zf = (fill - mean) * inv;
        sd = big * sqrt((scaled_squares(v, m, mean, inv) + n_fill * zf * zf) / (double)n);
    }
    *mean_out = mean;
    *sd_out = sd;
}

/* What a numeric column's training rows give the featurizer. */
typedef struct numeric_stats {
    bool has_value;    /* some training row holds a finite value */
    int64_t n_missing; /* rows that do not: an indicator feature follows when > 0 */
    double median, mean, sd;
} numeric_stats;

/* The statistics of one numeric column over the training rows (scratch: 2 n doubles). Native
 * output needs none but whether there is a value. */
static numeric_stats numeric_column_stats(const am_column *c, const int64_t *rows, int64_t n,
                                          bool native, bool standardize, double *scratch)
{
    numeric_stats st = {0};
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = c->num[rows[i]];
        if (isfinite(v))
            scratch[m++] = v;
    }
    st.has_value = m > 0;
    if (m == 0 || native)
        return st;
    st.median = median_of(scratch, m, scratch + n);
    st.n_missing = n - m;
    if (standardize)
        numeric_moments(scratch, m, n, st.median, &st.mean, &st.sd);
    return st;
}

/* Every numeric column's statistics (stats[j] for column j; others untouched), columns shared
 * out among threads: each is computed as it would be alone, so the result does not depend on
 * the thread count. false when out of memory. */
static bool all_numeric_stats(const am_frame *f, int32_t target_col, const int64_t *rows,
                              int64_t n, bool native, bool standardize, int32_t n_threads,
                              numeric_stats *stats)
{
    bool failed = false;
    int nt = (int)AM_MAX(1, AM_MIN(n_threads, f->n_cols));
#pragma omp parallel num_threads(nt) reduction(|| : failed)
    {
        double *scratch = am_malloc_array((size_t)n, 2 * sizeof(double));
        failed = !scratch;
#pragma omp for schedule(dynamic, 1)
        for (int32_t j = 0; j < f->n_cols; j++)
            if (scratch && j != target_col && f->cols[j].type == AM_COL_NUM)
                stats[j] = numeric_column_stats(&f->cols[j], rows, n, native, standardize,
                                                scratch);
        am_free(scratch);
    }
    return !failed;
}

/* Fits a numeric input from its statistics; false in *has_value when the training rows hold
 * no finite value. */
static am_status fit_numeric(am_featurizer *fz, feat_input *in, const am_column *c, int64_t n,
                             const numeric_stats *ns, bool *has_value, am_diag *d)
{
    *has_value = ns->has_value;
    if (!ns->has_value)
        return AM_OK;
    if (fz->native) /* values pass through as they are: nothing to learn */
        return push_feature(fz, am_strdup(c->name), 0.0, 1.0)
                   ? AM_OK
                   : am_fail(d, AM_ERR_NOMEM, "out of memory for the features of column \"%s\"",
                             c->name);
    in->median = ns->median;
    in->indicator = ns->n_missing > 0;
    if (!push_feature(fz, am_strdup(c->name), ns->mean, ns->sd) ||
        (in->indicator && !push_indicator(fz, join3(c->name, "_missing", ""), ns->n_missing, n)))
        return am_fail(d, AM_ERR_NOMEM, "out of memory for the features of column \"%s\"",
                       c->name);
    return AM_OK;
}

/* ---- fitting categorical columns ---------------------------------------------------------- */

typedef struct level_count {
    int32_t code;
    int64_t count;
} level_count;

static int cmp_by_count(const void *a, const void *b)
{
    const level_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->code > y->code) - (x->code < y->code);
}

static int cmp_by_code(const void *a, const void *b)
{
    const level_count *x = a, *y = b;
    return (x->code > y->code) - (x->code < y->code);
}

/* Keeps the levels seen in the training rows, at most MAX_ONEHOT_LEVELS of them (most frequent,
 * ties by level order), in level order; returns how many in *k. */
static void choose_levels(level_count *seen, int64_t n_seen, int64_t *k)
{
    if (n_seen > MAX_ONEHOT_LEVELS) {
        qsort(seen, (size_t)n_seen, sizeof(level_count), cmp_by_count);
        n_seen = MAX_ONEHOT_LEVELS;
        qsort(seen, (size_t)n_seen, sizeof(level_count), cmp_by_code);
    }
    *k = n_seen;
}

static am_status push_level_features(am_featurizer *fz, feat_input *in, const am_column *c,
                                     const level_count *kept, int64_t k, int64_t n_missing,
                                     int64_t n)
{
    int64_t in_kept = 0;
    for (int64_t s = 0; s < k; s++) {
        const char *level = c->levels.items[kept[s].code];
        if (am_strset_add(&in->levels, level, strlen(level)) != (int32_t)s ||
            !push_indicator(fz, join3(c->name, "=", level), kept[s].count, n))
            return AM_ERR_NOMEM;
        in_kept += kept[s].count;
    }
    in->missing_slot = n_missing > 0;
    if (in->missing_slot && !push_indicator(fz, join3(c->name, "=<missing>", ""), n_missing, n))
        return AM_ERR_NOMEM;
    if (!push_indicator(fz, join3(c->name, "=<unseen>", ""), n - in_kept - n_missing, n))
        return AM_ERR_NOMEM;
    return AM_OK;
}

/* Native: every seen level keeps its code (no cap: trees group rare levels themselves), in level
 * order, and the column is one feature holding that code. */
static am_status push_native_levels(am_featurizer *fz, feat_input *in, const am_column *c,
                                    const level_count *seen, int64_t n_seen)
{
    for (int64_t s = 0; s < n_seen; s++) {
        const char *level = c->levels.items[seen[s].code];
        if (am_strset_add(&in->levels, level, strlen(level)) != (int32_t)s)
            return AM_ERR_NOMEM;
    }
    return push_feature(fz, am_strdup(c->name), 0.0, 1.0) ? AM_OK : AM_ERR_NOMEM;
}

static am_status fit_categorical(am_featurizer *fz, feat_input *in, const am_column *c,
                                 const int64_t *rows, int64_t n, bool *has_value, am_diag *d)
{
    int32_t n_levels = c->levels.n;
    size_t alloc = (size_t)(n_levels > 0 ? n_levels : 1);
    int64_t *counts = am_calloc(alloc, sizeof(int64_t));
    level_count *seen = am_malloc_array(alloc, sizeof(level_count));
    am_status st = AM_OK;
    if (!counts || !seen) {
        st = AM_ERR_NOMEM;
        goto cleanup;
    }
    int64_t n_missing = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t code = c->codes[rows[i]];
        if (code < 0)
            n_missing++;
        else
            counts[code]++;
    }
    int64_t n_seen = 0;
    for (int32_t l = 0; l < n_levels; l++)
        if (counts[l] > 0)
            seen[n_seen++] = (level_count){l, counts[l]};
    *has_value = n_seen > 0;
    if (n_seen > 0 && fz->native) {
        st = push_native_levels(fz, in, c, seen, n_seen);
    } else if (n_seen > 0) {
        int64_t k = 0;
        choose_levels(seen, n_seen, &k);
        st = push_level_features(fz, in, c, seen, k, n_missing, n);
    }
cleanup:
    am_free(seen);
    am_free(counts);
    if (st != AM_OK)
        return am_fail(d, AM_ERR_NOMEM, "out of memory for the features of column \"%s\"",
                       c->name);
    return AM_OK;
}

/* ---- fit -------------------------------------------------------------------------------- */

static am_status check_rows(const am_frame *f, const int64_t *rows, int64_t n, const char *who,
                            am_diag *d)
{
    for (int64_t i = 0; i < n; i++)
        if (rows[i] < 0 || rows[i] >= f->n_rows)
            return am_fail(d, AM_ERR_ARG, "%s: row index %lld out of range", who,
                           (long long)rows[i]);
    return AM_OK;
}

static void warn_dropped(const am_logger *log, const name_list *time, const name_list *text,
                         const name_list *empty)
{
    char a[512], b[512];
    if (time->count > 0 || text->count > 0) {
        if (time->count > 0)
            name_list_say(time, "date/time", a, sizeof(a));
        if (text->count > 0)
            name_list_say(text, "text", b, sizeof(b));
        am_log(log, AM_LOG_WARN, "dropping %s%s%s until featurization supports them",
               time->count > 0 ? a : "", time->count > 0 && text->count > 0 ? " and " : "",
               text->count > 0 ? b : "");
    }
    if (empty->count > 0) {
        name_list_say(empty, "", a, sizeof(a));
        am_log(log, AM_LOG_WARN, "dropping%s: %s no value in the training rows", a,
               empty->count == 1 ? "it has" : "they have");
    }
}

/* Fits one column into fz->inputs[fz->n_inputs] (kept when it has a value). */
static am_status fit_column(am_featurizer *fz, const am_column *c, const int64_t *rows,
                            int64_t n, const numeric_stats *ns, name_list *empty, am_diag *d)
{
    feat_input *in = &fz->inputs[fz->n_inputs];
    memset(in, 0, sizeof(*in));
    am_strset_init(&in->levels);
    in->type = c->type;
    in->first = fz->n_features;
    in->name = am_strdup(c->name);
    if (!in->name)
        return am_fail(d, AM_ERR_NOMEM, "out of memory for the featurizer");
    bool has_value = false;
    am_status st = c->type == AM_COL_NUM
                       ? fit_numeric(fz, in, c, n, ns, &has_value, d)
                       : fit_categorical(fz, in, c, rows, n, &has_value, d);
    if (st == AM_OK && has_value) {
        in->width = fz->n_features - in->first;
        fz->n_inputs++;
        return AM_OK;
    }
    if (st == AM_OK)
        name_list_add(empty, c->name);
    input_fini(in);
    return st;
}

am_status am_featurizer_fit(const am_frame *f, int32_t target_col, const int64_t *rows,
                            int64_t n_rows, const am_feat_options *opts, const am_logger *log,
                            am_featurizer **out, am_diag *d)
{
    if (!out)
        return am_fail(d, AM_ERR_ARG, "am_featurizer_fit: NULL output");
    *out = NULL;
    if (!f || !rows || n_rows <= 0 || target_col < -1 || target_col >= f->n_cols)
        return am_fail(d, AM_ERR_ARG, "am_featurizer_fit: bad arguments");
    am_status st = check_rows(f, rows, n_rows, "am_featurizer_fit", d);
    if (st != AM_OK)
        return st;
    am_featurizer *fz = am_calloc(1, sizeof(*fz));
    numeric_stats *stats = am_calloc((size_t)AM_MAX(f->n_cols, 1), sizeof(numeric_stats));
    if (!fz || !stats ||
        !(fz->inputs = am_calloc((size_t)(f->n_cols > 0 ? f->n_cols : 1), sizeof(feat_input)))) {
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for the featurizer");
        goto fail;
    }
    fz->native = opts && opts->native;
    fz->standardize = opts && opts->standardize && !fz->native;
    if (!all_numeric_stats(f, target_col, rows, n_rows, fz->native, fz->standardize,
                           opts ? opts->n_threads : 1, stats)) {
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for the featurizer");
        goto fail;
    }
    name_list time = {0}, text = {0}, empty = {0};
    for (int32_t j = 0; j < f->n_cols && st == AM_OK; j++) {
        const am_column *c = &f->cols[j];
        if (j == target_col)
            continue;
        if (c->type == AM_COL_TIME)
            name_list_add(&time, c->name);
        else if (c->type == AM_COL_TEXT)
            name_list_add(&text, c->name);
        else if (c->type == AM_COL_NUM || c->type == AM_COL_CAT)
            st = fit_column(fz, c, rows, n_rows, &stats[j], &empty, d);
    }
    if (st != AM_OK)
        goto fail;
    warn_dropped(log, &time, &text, &empty);
    if (fz->n_inputs == 0) {
        st = am_feat_fail(d, AM_ERR_DATA, f, 0, NULL, "no feature column is left: every column "
                          "is the target, was dropped, or has no value in the training rows");
        goto fail;
    }
    am_free(stats);
    *out = fz;
    return AM_OK;
fail:
    am_free(stats);
    am_featurizer_free(fz);
    return st;
}

/* ---- transform -------------------------------------------------------------------------- */

static inline int64_t row_at(const int64_t *rows, int64_t i)
{
    return rows ? rows[i] : i;
}

/* Schema check: the frame column of every input, by name, with the training type. */
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
        cols[i] = j;
    }
    return AM_OK;
}

static void write_numeric(const am_featurizer *fz, const feat_input *in, const am_column *c,
                          const int64_t *rows, int64_t n, am_matrix *out)
{
    int64_t j = in->first;
    double *dst = out->data + j * out->ld;
    double center = fz->center[j], scale = fz->scale[j];
    for (int64_t i = 0; i < n; i++) {
        double v = c->num[row_at(rows, i)];
        dst[i] = ((isfinite(v) ? v : in->median) - center) / scale;
    }
    if (!in->indicator)
        return;
    j++;
    dst = out->data + j * out->ld;
    double present = (0.0 - fz->center[j]) / fz->scale[j];
    double missing = (1.0 - fz->center[j]) / fz->scale[j];
    for (int64_t i = 0; i < n; i++)
        dst[i] = isfinite(c->num[row_at(rows, i)]) ? present : missing;
}

/* slot_of maps each level of this frame's column to an output slot (by string, since the frame
 * may have its own level dictionary); it holds c->levels.n entries. */
static void write_categorical(const am_featurizer *fz, const feat_input *in, const am_column *c,
                              const int64_t *rows, int64_t n, int32_t *slot_of, am_matrix *out)
{
    int32_t unseen = (int32_t)in->width - 1;
    /* Missing values never seen in training are as unknown as a new level. */
    int32_t missing = in->missing_slot ? in->levels.n : unseen;
    for (int32_t l = 0; l < c->levels.n; l++) {
        const char *s = c->levels.items[l];
        int32_t k = am_strset_find(&in->levels, s, strlen(s));
        slot_of[l] = k >= 0 ? k : unseen;
    }
    /* Fill each slot's column with its "off" value, then set the one "on" cell of each row. */
    for (int64_t s = 0; s < in->width; s++) {
        int64_t j = in->first + s;
        double off = (0.0 - fz->center[j]) / fz->scale[j];
        double *dst = out->data + j * out->ld;
        for (int64_t i = 0; i < n; i++)
            dst[i] = off;
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t code = c->codes[row_at(rows, i)];
        int64_t j = in->first + (code < 0 ? missing : slot_of[code]);
        out->data[i + j * out->ld] = (1.0 - fz->center[j]) / fz->scale[j];
    }
}

/* Native: numbers as they are, with infinities made missing like NaN (trees treat both alike,
 * and an infinite value would make split thresholds meaningless). */
static void write_native_numeric(const feat_input *in, const am_column *c, const int64_t *rows,
                                 int64_t n, am_matrix *out)
{
    double *dst = out->data + in->first * out->ld;
    for (int64_t i = 0; i < n; i++) {
        double v = c->num[row_at(rows, i)];
        dst[i] = isfinite(v) ? v : NAN;
    }
}

/* Native: the code of the level among the training levels; NaN for missing and unseen.
 * slot_of as for write_categorical. */
static void write_native_categorical(const feat_input *in, const am_column *c,
                                     const int64_t *rows, int64_t n, int32_t *slot_of,
                                     am_matrix *out)
{
    for (int32_t l = 0; l < c->levels.n; l++) {
        const char *s = c->levels.items[l];
        slot_of[l] = am_strset_find(&in->levels, s, strlen(s));
    }
    double *dst = out->data + in->first * out->ld;
    for (int64_t i = 0; i < n; i++) {
        int32_t code = c->codes[row_at(rows, i)];
        int32_t slot = code < 0 ? -1 : slot_of[code];
        dst[i] = slot < 0 ? NAN : (double)slot;
    }
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
    am_status st = rows ? check_rows(f, rows, n, "am_featurizer_transform", d) : AM_OK;
    if (st != AM_OK)
        return st;
    int32_t *cols = am_malloc_array((size_t)fz->n_inputs, sizeof(int32_t));
    if (!cols)
        return am_fail(d, AM_ERR_NOMEM, "out of memory for the featurizer");
    int32_t *slot_of = NULL;
    st = find_inputs(fz, f, cols, d);
    if (st == AM_OK)
        st = am_matrix_new(out, n, fz->n_features, d);
    for (int32_t i = 0; i < fz->n_inputs && st == AM_OK; i++) {
        const feat_input *in = &fz->inputs[i];
        const am_column *c = &f->cols[cols[i]];
        if (in->type == AM_COL_NUM) {
            if (fz->native)
                write_native_numeric(in, c, rows, n, out);
            else
                write_numeric(fz, in, c, rows, n, out);
            continue;
        }
        am_free(slot_of);
        slot_of = am_malloc_array((size_t)(c->levels.n > 0 ? c->levels.n : 1), sizeof(int32_t));
        if (!slot_of)
            st = am_fail(d, AM_ERR_NOMEM, "out of memory for the featurizer");
        else if (fz->native)
            write_native_categorical(in, c, rows, n, slot_of, out);
        else
            write_categorical(fz, in, c, rows, n, slot_of, out);
    }
    am_free(slot_of);
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
    if (!fz || !fz->native || j < 0 || j >= fz->n_features)
        return 0;
    const feat_input *in = &fz->inputs[j];
    return in->type == AM_COL_CAT ? in->levels.n : 0;
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

/* ---- save and load ----------------------------------------------------------------------- */

/* The byte after the input count. Format 1 began with only the first two; files that have them
 * read as before. */
enum { MODE_PLAIN = 0, MODE_STANDARDIZED = 1, MODE_NATIVE = 2 };

/* Payload (format 1): u64 n_inputs, u8 mode, then per input: str name, u32 type and
 *   number:   f64 median, u8 indicator              (nothing when native)
 *   category: u64 n_levels, n_levels x str level, u8 missing_slot (no missing_slot when native)
 * then, when standardized: f64 center[n_features], f64 scale[n_features].
 * Feature names and the layout follow from the inputs, so nothing stored can point outside it. */
am_status am_featurizer_save(const am_featurizer *fz, am_buf *b, am_diag *d)
{
    if (!fz || !b)
        return am_fail(d, AM_ERR_ARG, "am_featurizer_save: NULL argument");
    am_buf_u64(b, (uint64_t)fz->n_inputs);
    am_buf_u8(b, fz->native ? MODE_NATIVE : fz->standardize ? MODE_STANDARDIZED : MODE_PLAIN);
    for (int32_t i = 0; i < fz->n_inputs; i++) {
        const feat_input *in = &fz->inputs[i];
        am_buf_str(b, in->name);
        am_buf_u32(b, (uint32_t)in->type);
        if (in->type == AM_COL_NUM) {
            if (fz->native)
                continue;
            am_buf_f64(b, in->median);
            am_buf_u8(b, in->indicator ? 1 : 0);
        } else {
            am_buf_u64(b, (uint64_t)in->levels.n);
            for (int32_t l = 0; l < in->levels.n; l++)
                am_buf_str(b, in->levels.items[l]);
            if (!fz->native)
                am_buf_u8(b, in->missing_slot ? 1 : 0);
        }
    }
    if (fz->standardize) {
        am_buf_f64s(b, fz->center, (size_t)fz->n_features);
        am_buf_f64s(b, fz->scale, (size_t)fz->n_features);
    }
    return am_buf_status(b, d);
}

static bool get_flag(am_reader *r)
{
    uint8_t v = am_get_u8(r);
    if (v > 1)
        am_reader_fail(r);
    return v == 1;
}

/* The rest of a numeric input. Returns false on no memory; a malformed payload fails the reader
 * instead. */
static bool load_numeric(am_reader *r, am_featurizer *fz, feat_input *in)
{
    if (fz->native)
        return push_feature(fz, am_strdup(in->name), 0.0, 1.0);
    in->median = am_get_f64(r);
    in->indicator = get_flag(r);
    if (!isfinite(in->median))
        am_reader_fail(r);
    if (r->failed)
        return true;
    return push_feature(fz, am_strdup(in->name), 0.0, 1.0) &&
           (!in->indicator || push_feature(fz, join3(in->name, "_missing", ""), 0.0, 1.0));
}

/* The rest of a categorical input: its levels (at least one, all distinct), then its features. */
static bool load_categorical(am_reader *r, am_featurizer *fz, feat_input *in)
{
    uint64_t k = am_get_count(r, AM_MIN(LOAD_MAX_LEVELS, (uint64_t)r->left / 4));
    if (k == 0)
        am_reader_fail(r);
    for (uint64_t s = 0; s < k && !r->failed; s++) {
        char *level = am_get_str(r, AM_FEAT_STR_MAX);
        if (!level)
            return r->failed;
        int32_t got = am_strset_add(&in->levels, level, strlen(level));
        bool ok = got >= 0 &&
                  (fz->native || push_feature(fz, join3(in->name, "=", level), 0.0, 1.0));
        am_free(level);
        if (!ok)
            return false;
        if (got != (int32_t)s) /* a duplicate level */
            am_reader_fail(r);
    }
    if (fz->native)
        return r->failed || push_feature(fz, am_strdup(in->name), 0.0, 1.0);
    in->missing_slot = get_flag(r);
    if (r->failed)
        return true;
    return (!in->missing_slot || push_feature(fz, join3(in->name, "=<missing>", ""), 0.0, 1.0))
           && push_feature(fz, join3(in->name, "=<unseen>", ""), 0.0, 1.0);
}

/* Reads one input and pushes its features (names; center 0, scale 1 for now). Returns false on
 * no memory; a malformed payload fails the reader instead. */
static bool load_input(am_reader *r, am_featurizer *fz, am_strset *seen_names)
{
    feat_input *in = &fz->inputs[fz->n_inputs];
    memset(in, 0, sizeof(*in));
    am_strset_init(&in->levels);
    in->first = fz->n_features;
    in->name = am_get_str(r, AM_FEAT_STR_MAX);
    if (!in->name)
        return r->failed;
    fz->n_inputs++; /* owned by fz from here on, so a failure below frees it */
    int32_t before = seen_names->n;
    if (am_strset_add(seen_names, in->name, strlen(in->name)) < 0)
        return false;
    if (seen_names->n == before) /* two inputs with one name */
        am_reader_fail(r);
    in->type = (am_coltype)am_get_u32(r);
    bool ok = true;
    if (r->failed)
        return true;
    if (in->type == AM_COL_NUM)
        ok = load_numeric(r, fz, in);
    else if (in->type == AM_COL_CAT)
        ok = load_categorical(r, fz, in);
    else
        am_reader_fail(r);
    in->width = fz->n_features - in->first;
    return ok;
}

/* Reads the standardisation; a non-finite centre or a scale that is not a positive finite
 * number would turn every prediction into NaN, so it is corruption. */
static void load_scaling(am_reader *r, am_featurizer *fz)
{
    if (!am_get_f64s(r, fz->center, (size_t)fz->n_features) ||
        !am_get_f64s(r, fz->scale, (size_t)fz->n_features))
        return;
    for (int64_t j = 0; j < fz->n_features; j++)
        if (!isfinite(fz->center[j]) || !isfinite(fz->scale[j]) || !(fz->scale[j] > 0.0)) {
            am_reader_fail(r);
            return;
        }
}

/* The mode byte; anything but the three known modes is corruption. */
static void load_mode(am_reader *r, am_featurizer *fz)
{
    uint8_t mode = am_get_u8(r);
    if (mode > MODE_NATIVE)
        am_reader_fail(r);
    fz->standardize = mode == MODE_STANDARDIZED;
    fz->native = mode == MODE_NATIVE;
}

am_status am_featurizer_load(am_reader *r, uint32_t version, am_featurizer **out, am_diag *d)
{
    if (!out || !r)
        return am_fail(d, AM_ERR_ARG, "am_featurizer_load: NULL argument");
    *out = NULL;
    if (version == 0 || version > AM_FEATURIZER_FORMAT)
        return am_fail(d, AM_ERR_FORMAT, "featurizer format %u is not supported by this "
                       "version (it reads format %u)", version, AM_FEATURIZER_FORMAT);
    am_strset names;
    am_strset_init(&names);
    am_featurizer *fz = am_calloc(1, sizeof(*fz));
    bool ok = fz != NULL;
    /* Each input takes at least 8 bytes (name length and type: a native number). */
    uint64_t n = am_get_count(r, AM_MIN(LOAD_MAX_INPUTS, (uint64_t)r->left / 8));
    if (ok) {
        load_mode(r, fz);
        if (n == 0)
            am_reader_fail(r);
        ok = r->failed || (fz->inputs = am_calloc((size_t)n, sizeof(feat_input))) != NULL;
    }
    for (uint64_t i = 0; ok && i < n && !r->failed; i++)
        ok = load_input(r, fz, &names);
    if (ok && !r->failed && fz->standardize)
        load_scaling(r, fz);
    am_strset_fini(&names);
    am_status st = ok ? am_reader_status(r, false, d)
                      : am_fail(d, AM_ERR_NOMEM, "out of memory loading the featurizer");
    if (st != AM_OK) {
        am_featurizer_free(fz);
        return st;
    }
    *out = fz;
    return AM_OK;
}
