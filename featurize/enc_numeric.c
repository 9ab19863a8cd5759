/* enc_numeric.c — numeric columns: "numeric" (linear models and k-NN: missing and non-finite
 * values imputed by the training median, with a "<name>_missing" indicator when the training
 * rows miss a material share) and "native_numeric" (trees: the value as it is, NaN when
 * missing, since trees learn which side missing values go to). */
#include "encoder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* An indicator joins the imputed value when at least this share of the training rows is
 * missing: below it the indicator is a nearly constant column that costs a feature and says
 * little (a missing value at predict time is still imputed either way). */
#define INDICATOR_SHARE 0.01

typedef struct numeric_enc {
    am_encoder base;
    double fill;    /* the training median, written for missing and non-finite values */
    bool indicator; /* a second output: 1 when the value was missing */
} numeric_enc;

/* ---- the median --------------------------------------------------------------------------- */

static void swap_d(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* The k-th smallest (0-based) of a[0..n), reordering a so that a[k..n) >= it. Three-way
 * partitioning keeps long runs of equal values (a column of mostly zeros) linear; pivots from
 * a fixed-seed generator keep hostile orders from going quadratic (the value does not depend
 * on them). */
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

/* Columns shorter than this go straight to quickselect; longer ones are bracketed by a sample
 * of MEDIAN_SAMPLE values first. The bracket reaches MEDIAN_REACH sample ranks either side of
 * the middle: about 3.5 standard deviations of the middle's rank in the sample, so it misses
 * about once in a thousand columns and holds about 8 % of the values. */
enum { MEDIAN_DIRECT = 8192, MEDIAN_SAMPLE = 2048, MEDIAN_REACH = 80 };

double am_feat_median(const double *a, int64_t n, double *buf)
{
    am_rng rng;
    am_rng_seed(&rng, 0x6d656469616eull);
    if (n >= MEDIAN_DIRECT) {
        double sample[MEDIAN_SAMPLE];
        for (int i = 0; i < MEDIAN_SAMPLE; i++)
            sample[i] = a[am_rng_below(&rng, n)];
        qsort(sample, MEDIAN_SAMPLE, sizeof(double), am_feat_cmp_double);
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

double am_feat_quantile(double *a, int64_t n, double q)
{
    am_rng rng;
    am_rng_seed(&rng, 0x7175616e74ull);
    double pos = q * (double)(n - 1);
    int64_t k = (int64_t)floor(pos);
    double lo = select_kth(a, n, k, &rng);
    if (k + 1 >= n || pos == (double)k)
        return lo;
    double hi = a[k + 1];
    for (int64_t i = k + 2; i < n; i++)
        hi = AM_MIN(hi, a[i]);
    return lo + (pos - (double)k) * (hi - lo);
}

/* ---- numeric ------------------------------------------------------------------------------ */

static void numeric_free(am_encoder *e)
{
    if (!e)
        return;
    am_encoder_fini(e);
    am_free(e);
}

static numeric_enc *numeric_new(const am_encoder_type *type)
{
    numeric_enc *ne = am_calloc(1, sizeof(*ne));
    if (ne)
        ne->base.type = type;
    return ne;
}

static am_status numeric_fit(const am_enc_fit_args *a, am_encoder **out, am_diag *d)
{
    const am_column *c = a->col;
    double *v = am_malloc_array((size_t)a->n_rows, 2 * sizeof(double));
    numeric_enc *ne = numeric_new(&am_enc_numeric);
    if (!v || !ne) {
        am_free(v);
        numeric_free(ne ? &ne->base : NULL);
        return am_fail(d, AM_ERR_NOMEM, "out of memory for the features of column \"%s\"",
                       c->name);
    }
    int64_t m = 0;
    for (int64_t i = 0; i < a->n_rows; i++) {
        double x = c->num[a->rows[i]];
        if (isfinite(x))
            v[m++] = x;
    }
    am_status st = AM_OK;
    if (m == 0) {
        st = am_feat_fail(d, AM_ERR_DATA, a->frame, 0, c->name,
                          "column \"%s\" has no value in the training rows", c->name);
        goto done;
    }
    ne->fill = am_feat_median(v, m, v + a->n_rows);
    ne->indicator = (double)(a->n_rows - m) >= INDICATOR_SHARE * (double)a->n_rows;
    if (!am_encoder_init_names(&ne->base, ne->indicator ? 2 : 1) ||
        !(ne->base.names[0] = am_strdup(c->name)) ||
        (ne->indicator && !(ne->base.names[1] = am_encoder_join(c->name, "_missing", ""))))
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for the features of column \"%s\"",
                     c->name);
done:
    am_free(v);
    if (st != AM_OK) {
        numeric_free(&ne->base);
        return st;
    }
    *out = &ne->base;
    return AM_OK;
}

static void numeric_transform(const am_encoder *e, const am_column *col, const int64_t *rows,
                              int64_t n, double *const *out)
{
    const numeric_enc *ne = (const numeric_enc *)e;
    for (int64_t i = 0; i < n; i++) {
        double x = col->num[am_enc_row(rows, i)];
        out[0][i] = isfinite(x) ? x : ne->fill;
    }
    for (int64_t i = 0; ne->indicator && i < n; i++)
        out[1][i] = isfinite(col->num[am_enc_row(rows, i)]) ? 0.0 : 1.0;
}

/* Payload: common fields, f64 fill, u8 indicator. */
static am_status numeric_save(const am_encoder *e, am_buf *b, am_diag *d)
{
    const numeric_enc *ne = (const numeric_enc *)e;
    am_encoder_save_common(e, b);
    am_buf_f64(b, ne->fill);
    am_buf_u8(b, ne->indicator ? 1 : 0);
    return am_buf_status(b, d);
}

static am_status numeric_load(am_reader *r, uint32_t version, am_encoder **out, am_diag *d)
{
    if (version != 1)
        return am_fail(d, AM_ERR_FORMAT, "numeric encoder: version %u is not supported",
                       (unsigned)version);
    numeric_enc *ne = numeric_new(&am_enc_numeric);
    if (!ne)
        return am_fail(d, AM_ERR_NOMEM, "out of memory loading a numeric encoder");
    am_status st = am_encoder_load_common(r, 2, &ne->base, d);
    if (st == AM_OK) {
        ne->fill = am_get_f64(r);
        uint8_t ind = am_get_u8(r);
        ne->indicator = ind == 1;
        if (r->failed || ind > 1 || !isfinite(ne->fill) || ne->base.n_categories ||
            ne->base.width != (ne->indicator ? 2 : 1))
            st = am_fail(d, AM_ERR_FORMAT, "numeric encoder: corrupt payload");
    }
    if (st != AM_OK) {
        numeric_free(&ne->base);
        return st;
    }
    *out = &ne->base;
    return AM_OK;
}

const am_encoder_type am_enc_numeric = {
    .name = "numeric",
    .version = 1,
    .fit = numeric_fit,
    .transform = numeric_transform,
    .transform_train = NULL,
    .save = numeric_save,
    .load = numeric_load,
    .free = numeric_free,
};

/* ---- native numeric ----------------------------------------------------------------------- */

static am_status native_numeric_fit(const am_enc_fit_args *a, am_encoder **out, am_diag *d)
{
    numeric_enc *ne = numeric_new(&am_enc_native_numeric);
    if (!ne || !am_encoder_init_names(&ne->base, 1) ||
        !(ne->base.names[0] = am_strdup(a->col->name))) {
        numeric_free(ne ? &ne->base : NULL);
        return am_fail(d, AM_ERR_NOMEM, "out of memory for the features of column \"%s\"",
                       a->col->name);
    }
    *out = &ne->base;
    return AM_OK;
}

static void native_numeric_transform(const am_encoder *e, const am_column *col,
                                     const int64_t *rows, int64_t n, double *const *out)
{
    (void)e;
    for (int64_t i = 0; i < n; i++) {
        double x = col->num[am_enc_row(rows, i)];
        out[0][i] = isfinite(x) ? x : NAN;
    }
}

static am_status native_numeric_save(const am_encoder *e, am_buf *b, am_diag *d)
{
    am_encoder_save_common(e, b);
    return am_buf_status(b, d);
}

static am_status native_numeric_load(am_reader *r, uint32_t version, am_encoder **out,
                                     am_diag *d)
{
    if (version != 1)
        return am_fail(d, AM_ERR_FORMAT, "native numeric encoder: version %u is not supported",
                       (unsigned)version);
    numeric_enc *ne = numeric_new(&am_enc_native_numeric);
    if (!ne)
        return am_fail(d, AM_ERR_NOMEM, "out of memory loading a numeric encoder");
    am_status st = am_encoder_load_common(r, 1, &ne->base, d);
    if (st == AM_OK && (ne->base.width != 1 || ne->base.n_categories))
        st = am_fail(d, AM_ERR_FORMAT, "native numeric encoder: corrupt payload");
    if (st != AM_OK) {
        numeric_free(&ne->base);
        return st;
    }
    *out = &ne->base;
    return AM_OK;
}

const am_encoder_type am_enc_native_numeric = {
    .name = "native_numeric",
    .version = 1,
    .fit = native_numeric_fit,
    .transform = native_numeric_transform,
    .transform_train = NULL,
    .save = native_numeric_save,
    .load = native_numeric_load,
    .free = numeric_free,
};
