/* enc_date.c — "date": a column of timestamps (seconds since 1970-01-01 UTC: an AM_COL_TIME
 * column, or a number column of epoch seconds) becomes its calendar parts.
 *
 * Parts: year, month (1-12), day of month (1-31), day of week (0-6, Monday 0), day of year
 * (1-366), hour, minute, all in UTC and the proleptic Gregorian calendar, computed here from the
 * day count (no localtime/gmtime: the answer must not depend on the process's TZ or locale).
 * Fitting keeps the parts that take at least two values over the training rows; when none does,
 * the one output is the timestamp itself in days ("<col>.days"), so the encoder always writes
 * something.
 *
 * Tree family (opts->native): each kept part as a number ("<col>.year", "<col>.month", ...),
 * NaN for a missing value; trees split on order and find the cycles themselves.
 * Linear family: the year as a number; every other part as a point on a circle
 * ("<col>.month_sin", "<col>.month_cos"), so December sits next to January and 23:00 next to
 * midnight, which a raw number cannot say to a linear model or a distance. Periods: 12 months,
 * the length of that month for the day (so the last day of every month sits just before the
 * first of the next, and month ends line up across months: paydays, billing cycles; a fixed 31
 * would leave a gap after a 30-day month), 7 weekdays, the length of that year for the day of
 * the year (so 31 December meets 1 January in leap years too), 24 hours, 60 minutes. A missing
 * value (NaN or infinite) takes the parts of the training rows' median timestamp, with a
 * "<col>_missing" 0/1 output when the training rows had missing values.
 *
 * Dates outside the training range need nothing special: the year is a number and the cycles
 * are bounded. Timestamps beyond TIME_LIMIT either way are read as TIME_LIMIT, which keeps the
 * day arithmetic far inside int64 and every output finite. */
#include "encoder.h"

#include <math.h>
#include <string.h>

/* About three million years either way: no real date is near it. */
#define TIME_LIMIT 1e14
#define SECONDS_PER_DAY 86400.0
#define TWO_PI 6.283185307179586476925286766559

enum { P_YEAR, P_MONTH, P_DAY, P_WEEKDAY, P_YEARDAY, P_HOUR, P_MINUTE, N_PARTS };
#define ALL_PARTS ((1u << N_PARTS) - 1)
/* Linear family at most: the year, two outputs for each of the six cyclic parts, an indicator. */
#define MAX_WIDTH (1 + 2 * (N_PARTS - 1) + 1)

/* Output name suffixes, by part; "<col>.days" is the fallback. */
static const char *const part_names[N_PARTS] = {".year", ".month", ".day", ".dayofweek",
                                                ".dayofyear", ".hour", ".minute"};

typedef struct date_enc {
    am_encoder base;
    bool native;    /* tree family: raw parts, NaN when missing */
    uint8_t parts;  /* bit p set: part p is written; 0: the "<col>.days" fallback */
    bool indicator; /* linear family: a last "<col>_missing" output */
    double median;  /* linear family: the timestamp written for a missing value */
} date_enc;

/* ---- the calendar ------------------------------------------------------------------------- */

/* A timestamp's calendar parts, plus the period of the day-of-month and day-of-year cycles. */
typedef struct calendar {
    int64_t year;
    int part[N_PARTS]; /* part[P_YEAR] unused: the year may not fit an int */
    int month_len, year_len;
} calendar;

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_length(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days from 1970-01-01 to y-m-d. The year is counted from 1 March, so the leap day is the last
 * day of its year, and in eras of 400 years (146097 days), after which the calendar repeats
 * (H. Hinnant's "chrono-compatible low-level date algorithms"). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] from 1 March */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* The inverse: the civil date of day z (0 = 1970-01-01). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468; /* days from 0000-03-01 */
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;                                         /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;    /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                  /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                       /* [0, 11], March 0 */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = era * 400 + yoe + (*m <= 2);
}

/* The parts of a finite timestamp t (seconds). A timestamp a hair below midnight (-1e-20) gives
 * a second of exactly 86400 after rounding: the clamp keeps it at 23:59 of its own day. */
static void calendar_of(double t, calendar *c)
{
    t = AM_MAX(-TIME_LIMIT, AM_MIN(TIME_LIMIT, t));
    int64_t day = (int64_t)floor(t / SECONDS_PER_DAY);
    double second = t - (double)day * SECONDS_PER_DAY;
    int64_t minute_of_day = (int64_t)floor(second / 60.0);
    minute_of_day = AM_MAX(0, AM_MIN(minute_of_day, 24 * 60 - 1));
    int m, d;
    civil_from_days(day, &c->year, &m, &d);
    c->part[P_YEAR] = 0;
    c->part[P_MONTH] = m;
    c->part[P_DAY] = d;
    c->part[P_WEEKDAY] = (int)((day % 7 + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
    c->part[P_YEARDAY] = (int)(day - days_from_civil(c->year, 1, 1) + 1);
    c->part[P_HOUR] = (int)(minute_of_day / 60);
    c->part[P_MINUTE] = (int)(minute_of_day % 60);
    c->month_len = month_length(c->year, m);
    c->year_len = is_leap(c->year) ? 366 : 365;
}

static double part_value(const calendar *c, int p)
{
    return p == P_YEAR ? (double)c->year : (double)c->part[p];
}

/* Where part p (not the year) sits on its cycle, as a share of a turn in [0, 1). */
static double cycle_share(const calendar *c, int p)
{
    switch (p) {
    case P_MONTH: return (c->part[p] - 1) / 12.0;
    case P_DAY: return (c->part[p] - 1) / (double)c->month_len;
    case P_WEEKDAY: return c->part[p] / 7.0;
    case P_YEARDAY: return (c->part[p] - 1) / (double)c->year_len;
    case P_HOUR: return c->part[p] / 24.0;
    default: return c->part[p] / 60.0;
    }
}

/* ---- the layout --------------------------------------------------------------------------- */

static int count_bits(unsigned v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

/* Outputs written for a family, part set and indicator. */
static int64_t layout_width(bool native, unsigned parts, bool indicator)
{
    if (parts == 0)
        return 1 + indicator;
    if (native)
        return count_bits(parts);
    bool year = parts & (1u << P_YEAR);
    return year + 2 * (count_bits(parts) - year) + indicator;
}

static void date_free(am_encoder *e)
{
    if (!e)
        return;
    am_encoder_fini(e);
    am_free(e);
}

static date_enc *date_new(void)
{
    date_enc *de = am_calloc(1, sizeof(*de));
    if (de)
        de->base.type = &am_enc_date;
    return de;
}

/* Names in output order: kept parts (cyclic ones as _sin then _cos in the linear family) or the
 * days fallback, then the indicator. */
static bool name_outputs(date_enc *de, const char *col)
{
    if (!am_encoder_init_names(&de->base, layout_width(de->native, de->parts, de->indicator)))
        return false;
    char **names = de->base.names;
    int64_t k = 0;
    for (int p = 0; p < N_PARTS; p++) {
        if (!(de->parts & (1u << p)))
            continue;
        if (de->native || p == P_YEAR) {
            if (!(names[k++] = am_encoder_join(col, part_names[p], "")))
                return false;
        } else if (!(names[k++] = am_encoder_join(col, part_names[p], "_sin")) ||
                   !(names[k++] = am_encoder_join(col, part_names[p], "_cos"))) {
            return false;
        }
    }
    if (de->parts == 0 && !(names[k++] = am_encoder_join(col, ".days", "")))
        return false;
    return !de->indicator || (names[k] = am_encoder_join(col, "_missing", "")) != NULL;
}

/* ---- fitting ------------------------------------------------------------------------------ */

/* The parts that take at least two values over the finite timestamps of the training rows. */
static uint8_t varying_parts(const am_column *c, const int64_t *rows, int64_t n)
{
    double lo[N_PARTS] = {0}, hi[N_PARTS] = {0};
    bool any = false;
    for (int64_t i = 0; i < n; i++) {
        double t = c->num[rows[i]];
        if (!isfinite(t))
            continue;
        calendar cal;
        calendar_of(t, &cal);
        for (int p = 0; p < N_PARTS; p++) {
            double v = part_value(&cal, p);
            lo[p] = any ? AM_MIN(lo[p], v) : v;
            hi[p] = any ? AM_MAX(hi[p], v) : v;
        }
        any = true;
    }
    unsigned parts = 0;
    for (int p = 0; any && p < N_PARTS; p++)
        if (lo[p] != hi[p])
            parts |= 1u << p;
    return (uint8_t)parts;
}

/* The linear family's fill: the median finite training timestamp (0, the epoch, when there is
 * none, so that the outputs stay finite), and whether any training value was missing. */
static am_status fit_fill(const am_enc_fit_args *a, date_enc *de, am_diag *d)
{
    const am_column *c = a->col;
    double *v = am_malloc_array((size_t)a->n_rows, 2 * sizeof(double));
    if (!v)
        return am_fail(d, AM_ERR_NOMEM, "out of memory for the features of column \"%s\"",
                       c->name);
    int64_t m = 0;
    for (int64_t i = 0; i < a->n_rows; i++) {
        double t = c->num[a->rows[i]];
        if (isfinite(t))
            v[m++] = AM_MAX(-TIME_LIMIT, AM_MIN(TIME_LIMIT, t));
    }
    de->median = m > 0 ? am_feat_median(v, m, v + a->n_rows) : 0.0;
    de->indicator = m < a->n_rows;
    am_free(v);
    return AM_OK;
}

static am_status date_fit(const am_enc_fit_args *a, am_encoder **out, am_diag *d)
{
    const am_column *c = a->col;
    if (!c->num || (c->type != AM_COL_TIME && c->type != AM_COL_NUM))
        return am_feat_fail(d, AM_ERR_DATA, a->frame, 0, c->name,
                            "column \"%s\" is neither a date nor a number of epoch seconds",
                            c->name);
    date_enc *de = date_new();
    if (!de)
        return am_fail(d, AM_ERR_NOMEM, "out of memory for the features of column \"%s\"",
                       c->name);
    de->native = a->opts && a->opts->native;
    de->parts = varying_parts(c, a->rows, a->n_rows);
    am_status st = de->native ? AM_OK : fit_fill(a, de, d);
    if (st == AM_OK && !name_outputs(de, c->name))
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for the features of column \"%s\"",
                     c->name);
    if (st != AM_OK) {
        date_free(&de->base);
        return st;
    }
    *out = &de->base;
    return AM_OK;
}

/* ---- transforming ------------------------------------------------------------------------- */

/* Row i of the outputs for timestamp t (non-finite: missing). */
static void encode_one(const date_enc *de, double t, double *const *out, int64_t i)
{
    bool missing = !isfinite(t);
    if (missing && de->native) {
        for (int64_t k = 0; k < de->base.width; k++)
            out[k][i] = NAN;
        return;
    }
    if (missing)
        t = de->median;
    calendar cal;
    calendar_of(t, &cal);
    int64_t k = 0;
    for (int p = 0; p < N_PARTS; p++) {
        if (!(de->parts & (1u << p)))
            continue;
        if (de->native || p == P_YEAR) {
            out[k++][i] = part_value(&cal, p);
        } else {
            double angle = TWO_PI * cycle_share(&cal, p);
            out[k++][i] = sin(angle);
            out[k++][i] = cos(angle);
        }
    }
    if (de->parts == 0)
        out[k++][i] = AM_MAX(-TIME_LIMIT, AM_MIN(TIME_LIMIT, t)) / SECONDS_PER_DAY;
    if (de->indicator)
        out[k][i] = missing ? 1.0 : 0.0;
}

static void date_transform(const am_encoder *e, const am_column *col, const int64_t *rows,
                           int64_t n, double *const *out)
{
    const date_enc *de = (const date_enc *)e;
    for (int64_t i = 0; i < n; i++)
        encode_one(de, col->num ? col->num[am_enc_row(rows, i)] : NAN, out, i);
}

/* ---- saving ------------------------------------------------------------------------------- */

/* Payload: common fields, u8 native, u8 parts, f64 median, u8 indicator. */
static am_status date_save(const am_encoder *e, am_buf *b, am_diag *d)
{
    const date_enc *de = (const date_enc *)e;
    am_encoder_save_common(e, b);
    am_buf_u8(b, de->native ? 1 : 0);
    am_buf_u8(b, de->parts);
    am_buf_f64(b, de->median);
    am_buf_u8(b, de->indicator ? 1 : 0);
    return am_buf_status(b, d);
}

static am_status date_load(am_reader *r, uint32_t version, am_encoder **out, am_diag *d)
{
    if (version != 1)
        return am_fail(d, AM_ERR_FORMAT, "date encoder: version %u is not supported",
                       (unsigned)version);
    date_enc *de = date_new();
    if (!de)
        return am_fail(d, AM_ERR_NOMEM, "out of memory loading a date encoder");
    am_status st = am_encoder_load_common(r, MAX_WIDTH, &de->base, d);
    if (st == AM_OK) {
        uint8_t native = am_get_u8(r);
        uint8_t parts = am_get_u8(r);
        de->median = am_get_f64(r);
        uint8_t indicator = am_get_u8(r);
        de->native = native == 1;
        de->parts = parts;
        de->indicator = indicator == 1;
        if (r->failed || native > 1 || parts > ALL_PARTS || indicator > 1 ||
            (de->native && de->indicator) || !(fabs(de->median) <= TIME_LIMIT) ||
            de->base.n_categories ||
            de->base.width != layout_width(de->native, parts, de->indicator))
            st = am_fail(d, AM_ERR_FORMAT, "date encoder: corrupt payload");
    }
    if (st != AM_OK) {
        date_free(&de->base);
        return st;
    }
    *out = &de->base;
    return AM_OK;
}

const am_encoder_type am_enc_date = {
    .name = "date",
    .version = 1,
    .fit = date_fit,
    .transform = date_transform,
    .transform_train = NULL,
    .save = date_save,
    .load = date_load,
    .free = date_free,
};
