/* test_enc_date.c — the "date" encoder: calendar parts against known dates and a day-by-day
 * oracle, only varying parts kept, cyclic encodings, missing values, unseen date ranges,
 * training rows only, save/load (bits, truncation, corruption) and out-of-memory. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_testing.h"

#define DAY 86400.0
#define PI 3.14159265358979323846

/* ---- frames and encoders built by hand ---------------------------------------------------- */

/* A one-column frame "when" of timestamps. */
static am_frame *time_frame(const double *v, int64_t n)
{
    return ft_num_frame("when", AM_COL_TIME, v, n);
}

/* Fits on rows (NULL: every row) of column 0; must succeed. */
static am_encoder *fit_rows(const am_frame *f, const int64_t *rows, int64_t n, bool native)
{
    int64_t *all = NULL;
    if (!rows) {
        all = ft_iota(f->n_rows);
        rows = all;
        n = f->n_rows;
    }
    am_feat_options opts = {.native = native};
    am_enc_fit_args a = {.frame = f, .col = &f->cols[0], .rows = rows, .n_rows = n,
                         .opts = &opts, .seed = 7};
    am_encoder *e = NULL;
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_enc_date.fit(&a, &e, &d);
    ck_assert_msg(st == AM_OK, "%s", d.message);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_eq(e->type, &am_enc_date);
    ck_assert_int_ge(e->width, 1);
    am_free(all);
    return e;
}

static am_encoder *fit_all(const double *v, int64_t n, bool native)
{
    am_frame *f = time_frame(v, n);
    am_encoder *e = fit_rows(f, NULL, 0, native);
    am_frame_free(f);
    return e;
}

/* The encodings of v[0..n): output k of row i is at [k * n + i]. Caller frees. */
static double *encode(const am_encoder *e, const double *v, int64_t n)
{
    am_frame *f = time_frame(v, n);
    double *block = malloc((size_t)(e->width * n) * sizeof(double));
    double **out = malloc((size_t)e->width * sizeof(double *));
    ck_assert(block && out);
    for (int64_t k = 0; k < e->width; k++)
        out[k] = block + k * n;
    e->type->transform(e, &f->cols[0], NULL, n, out);
    free(out);
    am_frame_free(f);
    return block;
}

/* The output named "when<suffix>", or -1. */
static int64_t output(const am_encoder *e, const char *suffix)
{
    char want[64];
    snprintf(want, sizeof(want), "when%s", suffix);
    for (int64_t k = 0; k < e->width; k++)
        if (strcmp(e->names[k], want) == 0)
            return k;
    return -1;
}

static void assert_names(const am_encoder *e, const char *const *want, int64_t n)
{
    ck_assert_int_eq(e->width, n);
    ck_assert_ptr_null(e->n_categories);
    for (int64_t k = 0; k < n; k++)
        ck_assert_str_eq(e->names[k], want[k]);
}

static am_buf save(const am_encoder *e)
{
    am_buf b;
    am_buf_init(&b);
    am_diag d;
    ck_assert_int_eq(e->type->save(e, &b, &d), AM_OK);
    return b;
}

static am_status load(const uint8_t *data, size_t len, uint32_t version, am_encoder **out,
                      am_diag *d)
{
    am_reader r;
    am_reader_init(&r, data, len, "date encoder");
    am_diag_clear(d);
    return am_enc_date.load(&r, version, out, d);
}

/* Seconds of y-m-d h:mi, counted day by day from 1970 (no shared code with the encoder). */
static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_len(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

static double at(int y, int m, int d, int h, int mi)
{
    int64_t days = 0;
    for (int k = 1970; k < y; k++)
        days += leap(k) ? 366 : 365;
    for (int k = y; k < 1970; k++)
        days -= leap(k) ? 366 : 365;
    for (int k = 1; k < m; k++)
        days += month_len(y, k);
    days += d - 1;
    return (double)days * DAY + h * 3600.0 + mi * 60.0;
}

/* Training timestamps over which every part varies. */
static const double varied[] = {
    0.0,                                    /* 1970-01-01 00:00 Thursday */
    951782400.0 + 13 * 3600 + 27 * 60,      /* 2000-02-29 13:27 Tuesday */
    1609372800.0 + 23 * 3600 + 59 * 60 + 5, /* 2020-12-31 23:59:05 Thursday */
};

/* ---- calendar parts ----------------------------------------------------------------------- */

typedef struct known {
    double t;
    int year, month, day, weekday, yearday, hour, minute;
} known;

static const known known_dates[] = {
    {0.0, 1970, 1, 1, 3, 1, 0, 0},                 /* the epoch was a Thursday */
    {951782400.0, 2000, 2, 29, 1, 60, 0, 0},       /* 2000 is leap (divisible by 400) */
    {951868800.0 - 1.0, 2000, 2, 29, 1, 60, 23, 59},
    {-60.0, 1969, 12, 31, 2, 365, 23, 59},         /* 1969-12-31 23:59, a Wednesday */
    {-1e-20, 1969, 12, 31, 2, 365, 23, 59},        /* t / 86400 rounds to -1 exactly */
    {-0.5, 1969, 12, 31, 2, 365, 23, 59},
    {-86400.0, 1969, 12, 31, 2, 365, 0, 0},
    {4107542400.0, 2100, 3, 1, 0, 60, 0, 0},       /* 2100 is not leap: 1 March is day 60 */
    {4107542400.0 - 1.0, 2100, 2, 28, 6, 59, 23, 59},
    {-2208988800.0, 1900, 1, 1, 0, 1, 0, 0},       /* 1900-01-01 was a Monday */
    {1735603200.0 + 45240.0, 2024, 12, 31, 1, 366, 12, 34},
    {946684800.0, 2000, 1, 1, 5, 1, 0, 0},         /* a Saturday */
    {-62167219200.0, 0, 1, 1, 5, 1, 0, 0},         /* year 0 (1 BC), leap */
    {-62167219200.0 - DAY, -1, 12, 31, 4, 365, 0, 0},
};

/* The tree family writes the parts as they are: checked against facts, including leap days. */
START_TEST(test_known_dates)
{
    am_encoder *e = fit_all(varied, AM_COUNT(varied), true);
    static const char *const names[] = {"when.year", "when.month", "when.day", "when.dayofweek",
                                        "when.dayofyear", "when.hour", "when.minute"};
    assert_names(e, names, 7);
    int64_t n = AM_COUNT(known_dates);
    double *v = malloc((size_t)n * sizeof(double));
    for (int64_t i = 0; i < n; i++)
        v[i] = known_dates[i].t;
    double *out = encode(e, v, n);
    for (int64_t i = 0; i < n; i++) {
        const known *k = &known_dates[i];
        const int want[7] = {k->year, k->month, k->day, k->weekday, k->yearday, k->hour,
                             k->minute};
        for (int p = 0; p < 7; p++)
            ck_assert_msg(out[p * n + i] == want[p], "t=%.17g part %d: %g, want %d", k->t, p,
                          out[p * n + i], want[p]);
    }
    free(out);
    free(v);
    e->type->free(e);
}
END_TEST

/* Every day from 1896 to 2104 (two century years that are not leap, one that is), at a
 * different time of day each, against a calendar walked one day at a time. */
START_TEST(test_calendar_oracle)
{
    am_encoder *e = fit_all(varied, AM_COUNT(varied), true);
    int64_t n = 0;
    for (int y = 1896; y <= 2104; y++)
        n += leap(y) ? 366 : 365;
    double *v = malloc((size_t)n * sizeof(double));
    int *want = malloc((size_t)n * 7 * sizeof(int));
    ck_assert(v && want);
    double first = at(1896, 1, 1, 0, 0);
    /* 1896-01-01's weekday from the epoch's (Thursday = 3), by whole weeks. */
    int64_t first_day = (int64_t)(first / DAY);
    int weekday = (int)(((first_day % 7) + 7 + 3) % 7);
    ck_assert_int_eq(weekday, 2); /* 1896-01-01 was a Wednesday */
    int64_t i = 0;
    for (int y = 1896; y <= 2104; y++) {
        int yearday = 1;
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= month_len(y, m); d++, i++, yearday++) {
                int second = (int)((i * 7919) % 86400);
                v[i] = first + (double)i * DAY + second;
                int *w = &want[i * 7];
                w[0] = y, w[1] = m, w[2] = d, w[3] = weekday, w[4] = yearday;
                w[5] = second / 3600, w[6] = second % 3600 / 60;
                weekday = (weekday + 1) % 7;
            }
    }
    ck_assert_int_eq(i, n);
    ck_assert_double_eq(v[0], at(1896, 1, 1, 0, 0));
    double *out = encode(e, v, n);
    for (i = 0; i < n; i++)
        for (int p = 0; p < 7; p++)
            if (out[p * n + i] != want[i * 7 + p]) /* a call per value is slow under valgrind */
                ck_assert_msg(0, "day %lld part %d: %g, want %d", (long long)i, p,
                              out[p * n + i], want[i * 7 + p]);
    free(out);
    free(want);
    free(v);
    e->type->free(e);
}
END_TEST

/* ---- which parts are kept ----------------------------------------------------------------- */

START_TEST(test_only_varying_parts)
{
    /* Midnight on the first of three months of one year: month, weekday and day of year vary. */
    const double firsts[] = {at(2021, 1, 1, 0, 0), at(2021, 3, 1, 0, 0), at(2021, 7, 1, 0, 0)};
    am_encoder *e = fit_all(firsts, 3, true);
    static const char *const tree[] = {"when.month", "when.dayofweek", "when.dayofyear"};
    assert_names(e, tree, 3);
    e->type->free(e);
    e = fit_all(firsts, 3, false);
    static const char *const linear[] = {"when.month_sin",     "when.month_cos",
                                         "when.dayofweek_sin", "when.dayofweek_cos",
                                         "when.dayofyear_sin", "when.dayofyear_cos"};
    assert_names(e, linear, 6);
    e->type->free(e);

    /* Same day, different times: hour and minute only. The year, when it varies, is a number. */
    const double times[] = {at(2021, 5, 5, 8, 0), at(2021, 5, 5, 9, 30), at(2023, 5, 5, 8, 0)};
    e = fit_all(times, 2, false);
    static const char *const clock[] = {"when.hour_sin", "when.hour_cos", "when.minute_sin",
                                        "when.minute_cos"};
    assert_names(e, clock, 4);
    e->type->free(e);
    const double years[] = {at(2021, 5, 5, 8, 0), at(2023, 5, 5, 8, 0)};
    e = fit_all(years, 2, false);
    static const char *const year[] = {"when.year", "when.dayofweek_sin", "when.dayofweek_cos"};
    assert_names(e, year, 3);
    e->type->free(e);

    /* Only the training rows count: row 2 differs in the hour but is not one of them. */
    am_frame *f = time_frame(times, 3);
    const int64_t rows[] = {0, 2};
    e = fit_rows(f, rows, 2, true);
    static const char *const kept[] = {"when.year", "when.dayofweek"};
    assert_names(e, kept, 2);
    e->type->free(e);
    am_frame_free(f);
}
END_TEST

/* Nothing varies: the timestamp in days is the one output, in both families. */
START_TEST(test_days_fallback)
{
    const double same[] = {at(2021, 5, 5, 8, 0) + 12.5, at(2021, 5, 5, 8, 0) + 30.0, NAN};
    for (int native = 0; native <= 1; native++) {
        am_encoder *e = fit_all(same, 2, native);
        static const char *const days[] = {"when.days"};
        assert_names(e, days, 1);
        const double probe[] = {same[0], -DAY * 3.25, NAN};
        double *out = encode(e, probe, 3);
        ck_assert_double_eq(out[0], same[0] / DAY);
        ck_assert_double_eq(out[1], -3.25);
        if (native)
            ck_assert(isnan(out[2]));
        else
            ck_assert_double_eq(out[2], (same[0] + same[1]) / 2 / DAY); /* the median */
        free(out);
        e->type->free(e);
    }
    /* With a missing training value the linear family adds the indicator. */
    am_encoder *e = fit_all(same, 3, false);
    static const char *const with[] = {"when.days", "when_missing"};
    assert_names(e, with, 2);
    e->type->free(e);
    /* No value at all: still one output (the epoch), finite. */
    const double none[] = {NAN, NAN};
    e = fit_all(none, 2, false);
    assert_names(e, with, 2);
    double *out = encode(e, none, 2);
    ck_assert_double_eq(out[0], 0.0);
    ck_assert_double_eq(out[2], 1.0);
    free(out);
    e->type->free(e);
}
END_TEST

/* ---- cyclic encodings --------------------------------------------------------------------- */

static double dist(const double *out, int64_t n, int64_t k, int64_t i, int64_t j)
{
    return hypot(out[k * n + i] - out[k * n + j], out[(k + 1) * n + i] - out[(k + 1) * n + j]);
}

START_TEST(test_cyclic)
{
    am_encoder *e = fit_all(varied, AM_COUNT(varied), false);
    ck_assert_int_eq(e->width, 1 + 2 * 6);
    ck_assert_int_eq(output(e, ".year"), 0);
    int64_t month = output(e, ".month_sin"), day = output(e, ".day_sin");
    int64_t yday = output(e, ".dayofyear_sin"), hour = output(e, ".hour_sin");
    int64_t minute = output(e, ".minute_sin"), wday = output(e, ".dayofweek_sin");
    ck_assert(month > 0 && day > 0 && yday > 0 && hour > 0 && minute > 0 && wday > 0);
    ck_assert_int_eq(output(e, ".month_cos"), month + 1);

    const double v[] = {
        at(2020, 12, 31, 23, 59), at(2021, 1, 1, 0, 0), at(2021, 2, 1, 0, 0),
        at(2021, 7, 1, 12, 30),   at(2021, 4, 30, 0, 0), at(2021, 5, 1, 0, 0),
        at(2021, 5, 2, 0, 0),     at(2021, 12, 31, 0, 0), at(2021, 3, 15, 6, 45),
    };
    int64_t n = AM_COUNT(v);
    double *out = encode(e, v, n);
    /* Every pair is a point on the unit circle. */
    for (int64_t k = 1; k < e->width; k += 2)
        for (int64_t i = 0; i < n; i++) {
            double s = out[k * n + i], c = out[(k + 1) * n + i];
            ck_assert(fabs(s * s + c * c - 1.0) < 1e-12);
        }
    ck_assert_double_eq(out[0], 2020.0);
    ck_assert_double_eq(out[1], 2021.0);
    /* January is exactly one month step from December as from February, and far from July. */
    double step = 2 * sin(PI / 12);
    ck_assert(fabs(dist(out, n, month, 0, 1) - step) < 1e-12);
    ck_assert(fabs(dist(out, n, month, 1, 2) - step) < 1e-12);
    ck_assert(fabs(dist(out, n, month, 1, 3) - 2.0) < 1e-12);
    /* Day of year: 31 December (day 366 of 2020) and 1 January are one day apart. */
    ck_assert(fabs(dist(out, n, yday, 0, 1) - 2 * sin(PI / 366)) < 1e-12);
    ck_assert(fabs(dist(out, n, yday, 7, 1) - 2 * sin(PI / 365)) < 1e-12);
    ck_assert(dist(out, n, yday, 1, 3) > 1.9);
    /* Day of month: 30 April is one step of a 30-day cycle before 1 May. */
    ck_assert(fabs(dist(out, n, day, 4, 5) - 2 * sin(PI / 30)) < 1e-12);
    ck_assert(fabs(dist(out, n, day, 5, 6) - 2 * sin(PI / 31)) < 1e-12);
    /* 23:59 is next to midnight in hours (one step) and minutes (one step). */
    ck_assert(fabs(dist(out, n, hour, 0, 1) - 2 * sin(PI / 24)) < 1e-12);
    ck_assert(fabs(dist(out, n, minute, 0, 1) - 2 * sin(PI / 60)) < 1e-12);
    /* Thursday 31 Dec 2020 -> Friday 1 Jan 2021: one weekday step. */
    ck_assert(fabs(dist(out, n, wday, 0, 1) - 2 * sin(PI / 7)) < 1e-12);
    /* Exact angles: 15 March 06:45 -> month 2/12, hour 6/24 (sin 1, cos ~0), minute 45/60. */
    ck_assert(fabs(out[month * n + 8] - sin(2 * PI * 2 / 12)) < 1e-15);
    ck_assert(fabs(out[hour * n + 8] - 1.0) < 1e-15);
    ck_assert(fabs(out[(minute + 1) * n + 8]) < 1e-15);
    ck_assert(fabs(out[minute * n + 8] + 1.0) < 1e-15);
    free(out);
    e->type->free(e);
}
END_TEST

/* ---- missing values ----------------------------------------------------------------------- */

START_TEST(test_missing)
{
    const double v[] = {at(2021, 1, 10, 5, 0), NAN, at(2021, 6, 3, 17, 20),
                        at(2022, 3, 1, 9, 45), INFINITY};
    /* Linear: the median timestamp's parts (the middle of three values) and an indicator. */
    am_encoder *e = fit_all(v, 5, false);
    int64_t ind = output(e, "_missing");
    ck_assert_int_eq(ind, e->width - 1);
    const double probe[] = {NAN, at(2021, 6, 3, 17, 20), -INFINITY, at(2030, 1, 1, 0, 0)};
    double *out = encode(e, probe, 4);
    for (int64_t k = 0; k < ind; k++) {
        ck_assert(isfinite(out[k * 4 + 0]));
        ck_assert(memcmp(&out[k * 4 + 0], &out[k * 4 + 1], sizeof(double)) == 0);
        ck_assert(memcmp(&out[k * 4 + 2], &out[k * 4 + 1], sizeof(double)) == 0);
    }
    ck_assert_double_eq(out[ind * 4 + 0], 1.0);
    ck_assert_double_eq(out[ind * 4 + 1], 0.0);
    ck_assert_double_eq(out[ind * 4 + 2], 1.0);
    ck_assert_double_eq(out[ind * 4 + 3], 0.0);
    free(out);
    e->type->free(e);

    /* An even count: the median is the mean of the two middle timestamps. */
    const double two[] = {at(2021, 1, 1, 0, 0), at(2021, 1, 3, 0, 0), NAN};
    e = fit_all(two, 3, false);
    out = encode(e, (const double[]){NAN, at(2021, 1, 2, 0, 0)}, 2);
    for (int64_t k = 0; k < e->width - 1; k++)
        ck_assert_double_eq(out[k * 2], out[k * 2 + 1]);
    free(out);
    e->type->free(e);

    /* No missing training value: no indicator, and a missing value at predict time is still
     * imputed. */
    e = fit_all(v + 2, 2, false);
    ck_assert_int_eq(output(e, "_missing"), -1);
    out = encode(e, (const double[]){NAN}, 1);
    for (int64_t k = 0; k < e->width; k++)
        ck_assert(isfinite(out[k]));
    free(out);
    e->type->free(e);

    /* Trees: NaN in every output, no indicator. */
    e = fit_all(v, 5, true);
    ck_assert_int_eq(output(e, "_missing"), -1);
    out = encode(e, probe, 4);
    for (int64_t k = 0; k < e->width; k++) {
        ck_assert(isnan(out[k * 4 + 0]) && isnan(out[k * 4 + 2]));
        ck_assert(isfinite(out[k * 4 + 1]) && isfinite(out[k * 4 + 3]));
    }
    free(out);
    e->type->free(e);
}
END_TEST

/* ---- unseen ranges ------------------------------------------------------------------------ */

START_TEST(test_unseen_range)
{
    const double train[] = {at(2000, 1, 5, 3, 4), at(2010, 6, 7, 8, 9), at(2020, 11, 12, 13, 14)};
    const double probe[] = {at(2150, 6, 15, 12, 0), at(1900, 1, 1, 0, 0), 1e300, -1e300,
                            -DBL_MAX, 9.2e18};
    for (int native = 0; native <= 1; native++) {
        am_encoder *e = fit_all(train, 3, native);
        double *out = encode(e, probe, 6);
        ck_assert_int_eq(output(e, ".year"), 0);
        ck_assert_double_eq(out[0], 2150.0);
        ck_assert_double_eq(out[1], 1900.0);
        for (int64_t k = 0; k < e->width * 6; k++)
            ck_assert_msg(isfinite(out[k]), "output %lld", (long long)k);
        if (native) {
            ck_assert_double_eq(out[output(e, ".dayofweek") * 6 + 0], 0.0); /* Monday */
            ck_assert_double_eq(out[output(e, ".dayofyear") * 6 + 0], 166.0);
        }
        free(out);
        e->type->free(e);
    }
}
END_TEST

/* An AM_COL_NUM column of epoch seconds is read the same way; a category column is refused. */
START_TEST(test_column_types)
{
    am_frame *f = ft_num_frame("when", AM_COL_NUM, varied, 3);
    am_encoder *e = fit_rows(f, NULL, 0, true);
    ck_assert_int_eq(e->width, 7);
    e->type->free(e);
    am_frame_free(f);

    f = ft_codes_frame("when", AM_COL_CAT, NULL, 0, (const char *const[]){"a", "a"}, 2);
    const am_column *c = &f->cols[0];
    const int64_t rows[] = {0, 1};
    am_feat_options opts = {0};
    am_enc_fit_args a = {.frame = f, .col = c, .rows = rows, .n_rows = 2, .opts = &opts};
    am_diag d;
    e = NULL;
    ck_assert_int_eq(am_enc_date.fit(&a, &e, &d), AM_ERR_DATA);
    ck_assert_ptr_null(e);
    ck_assert_str_eq(d.column, "when");
    am_frame_free(f);
}
END_TEST

/* ---- training rows only ------------------------------------------------------------------- */

/* The rows that are not training rows are rewritten with values that would change every part
 * of the fitted state (range, median, missing); the saved bytes must not change. */
START_TEST(test_poisoned_rows)
{
    enum { N = 40 };
    double clean[N], poisoned[N];
    int64_t rows[N];
    int64_t n_train = 0;
    for (int i = 0; i < N; i++) {
        clean[i] = at(2015 + i % 3, 1 + i % 12, 1 + i % 28, i % 24, 0);
        if (i % 5 == 3)
            clean[i] = NAN;
        /* Every minute is 0 in the clean rows: the poison adds minutes, years and NaN. */
        bool train = i % 4 != 1;
        poisoned[i] = train ? clean[i] : (i % 8 == 1 ? NAN : 1e12 + i * 3.7);
        if (train)
            rows[n_train++] = i;
    }
    for (int native = 0; native <= 1; native++) {
        am_frame *a = time_frame(clean, N), *b = time_frame(poisoned, N);
        am_encoder *ea = fit_rows(a, rows, n_train, native);
        am_encoder *eb = fit_rows(b, rows, n_train, native);
        am_encoder *all = fit_rows(b, NULL, 0, native);
        am_buf ba = save(ea), bb = save(eb), ball = save(all);
        ck_assert_uint_eq(ba.len, bb.len);
        ck_assert(memcmp(ba.data, bb.data, ba.len) == 0);
        /* The poison would have shown had it been read. */
        ck_assert(ball.len != ba.len || memcmp(ball.data, ba.data, ba.len) != 0);
        am_buf_fini(&ba);
        am_buf_fini(&bb);
        am_buf_fini(&ball);
        ea->type->free(ea);
        eb->type->free(eb);
        all->type->free(all);
        am_frame_free(a);
        am_frame_free(b);
    }
}
END_TEST

/* ---- save and load ------------------------------------------------------------------------ */

/* Fitted encoders of every shape: linear and tree, all parts, some parts, the days fallback,
 * with and without the indicator. */
static am_encoder *fit_shape(int shape)
{
    const double some[] = {at(2021, 1, 1, 0, 0), at(2021, 3, 1, 0, 0), NAN};
    const double same[] = {at(2021, 1, 1, 0, 0), NAN};
    switch (shape) {
    case 0: return fit_all(varied, 3, false);
    case 1: return fit_all(varied, 3, true);
    case 2: return fit_all(some, 3, false);
    case 3: return fit_all(some, 3, true);
    case 4: return fit_all(same, 2, false);
    case 5: return fit_all(same, 1, false);
    default: return fit_all(same, 2, true);
    }
}
#define N_SHAPES 7

/* ..., 2150-06-15 12:00, 1900-01-01, ... */
static const double probe_values[] = {0.0,           -60.0,          951782400.5, NAN,
                                      5694580800.0, -2208988800.0, INFINITY,    1e300};

START_TEST(test_round_trip)
{
    am_encoder *e = fit_shape(_i);
    am_buf b = save(e);
    am_encoder *back = NULL;
    am_diag d;
    ck_assert_msg(load(b.data, b.len, 1, &back, &d) == AM_OK, "%s", d.message);
    ck_assert_int_eq(back->width, e->width);
    for (int64_t k = 0; k < e->width; k++)
        ck_assert_str_eq(back->names[k], e->names[k]);
    int64_t n = AM_COUNT(probe_values);
    double *x = encode(e, probe_values, n), *y = encode(back, probe_values, n);
    ck_assert(memcmp(x, y, (size_t)(e->width * n) * sizeof(double)) == 0);
    am_buf again = save(back);
    ck_assert_uint_eq(again.len, b.len);
    ck_assert(memcmp(again.data, b.data, b.len) == 0);
    /* Other versions are refused. */
    am_encoder *none = NULL;
    ck_assert_int_eq(load(b.data, b.len, 2, &none, &d), AM_ERR_FORMAT);
    ck_assert_ptr_null(none);
    free(x);
    free(y);
    am_buf_fini(&again);
    am_buf_fini(&b);
    back->type->free(back);
    e->type->free(e);
}
END_TEST

START_TEST(test_truncated)
{
    am_encoder *e = fit_shape(_i);
    am_buf b = save(e);
    for (size_t len = 0; len < b.len; len++) {
        am_encoder *out = NULL;
        am_diag d;
        ck_assert_msg(load(b.data, len, 1, &out, &d) == AM_ERR_FORMAT, "length %zu", len);
        ck_assert_ptr_null(out);
    }
    am_buf_fini(&b);
    e->type->free(e);
}
END_TEST

/* The payload after the common fields: u8 native, u8 parts, f64 median, u8 indicator. Each
 * case rewrites one field of a valid payload (linear, all parts, indicator off) from its end. */
typedef struct corrupt_case {
    const char *what;
    size_t from_end; /* bytes from the end where the field starts */
    uint8_t bytes[8];
    size_t n;
} corrupt_case;

static const corrupt_case corrupt_cases[] = {
    {"native flag 2", 11, {2}, 1},
    {"native with this width", 11, {1}, 1},
    {"parts past the last", 10, {0x80}, 1},
    {"parts that do not match the width", 10, {0x3f}, 1},
    {"median NaN", 9, {0, 0, 0, 0, 0, 0, 0xf8, 0x7f}, 8},
    {"median infinite", 9, {0, 0, 0, 0, 0, 0, 0xf0, 0x7f}, 8},
    {"median past the limit", 9, {0, 0, 0, 0, 0, 0, 0xf0, 0x47}, 8},
    {"indicator 2", 1, {2}, 1},
    {"indicator with this width", 1, {1}, 1},
};

START_TEST(test_corrupt)
{
    const corrupt_case *cc = &corrupt_cases[_i];
    am_encoder *e = fit_shape(0);
    am_buf b = save(e);
    uint8_t *copy = malloc(b.len);
    memcpy(copy, b.data, b.len);
    memcpy(copy + b.len - cc->from_end, cc->bytes, cc->n);
    am_encoder *out = NULL;
    am_diag d;
    ck_assert_msg(load(copy, b.len, 1, &out, &d) == AM_ERR_FORMAT, "%s", cc->what);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(d.message, "date encoder: corrupt payload");
    /* The untouched payload loads (the cases really are the only change). */
    ck_assert_int_eq(load(b.data, b.len, 1, &out, &d), AM_OK);
    out->type->free(out);
    free(copy);
    am_buf_fini(&b);
    e->type->free(e);
}
END_TEST

/* A width field past the most outputs a date encoder has. */
START_TEST(test_corrupt_width)
{
    am_buf b;
    am_buf_init(&b);
    am_buf_u64(&b, 15);
    for (int k = 0; k < 15; k++)
        am_buf_str(&b, "x");
    am_buf_u8(&b, 0);
    am_encoder *out = NULL;
    am_diag d;
    ck_assert_int_eq(load(b.data, b.len, 1, &out, &d), AM_ERR_FORMAT);
    ck_assert_ptr_null(out);
    am_buf_fini(&b);
}
END_TEST

/* ---- out of memory ------------------------------------------------------------------------ */

START_TEST(test_out_of_memory)
{
    const double v[] = {at(2021, 1, 10, 5, 0), NAN, at(2021, 6, 3, 17, 20)};
    am_frame *f = time_frame(v, 3);
    const int64_t rows[] = {0, 1, 2};
    for (int native = 0; native <= 1; native++) {
        am_feat_options opts = {.native = native};
        am_enc_fit_args a = {.frame = f, .col = &f->cols[0], .rows = rows, .n_rows = 3,
                             .opts = &opts};
        am_encoder *ref = fit_rows(f, rows, 3, native);
        am_buf want = save(ref);
        int k = 0;
        for (;; k++) {
            ck_assert_int_lt(k, 1000);
            am_encoder *e = NULL;
            am_diag d;
            am_alloc_fail_after(k);
            am_status st = am_enc_date.fit(&a, &e, &d);
            am_alloc_fail_after(-1);
            if (st == AM_OK) {
                am_buf got = save(e);
                ck_assert(got.len == want.len && memcmp(got.data, want.data, got.len) == 0);
                am_buf_fini(&got);
                e->type->free(e);
                break;
            }
            ck_assert_int_eq(st, AM_ERR_NOMEM);
            ck_assert_ptr_null(e);
        }
        ck_assert_int_gt(k, 3);
        for (k = 0;; k++) {
            ck_assert_int_lt(k, 1000);
            am_encoder *e = NULL;
            am_diag d;
            am_alloc_fail_after(k);
            am_status st = load(want.data, want.len, 1, &e, &d);
            am_alloc_fail_after(-1);
            if (st == AM_OK) {
                e->type->free(e);
                break;
            }
            /* A name that cannot be allocated fails the reader (am_get_str), which the common
             * loader reports as a format error: either status, never a crash or a leak. */
            ck_assert_msg(st == AM_ERR_NOMEM || st == AM_ERR_FORMAT, "k=%d: %s", k, d.message);
            ck_assert_ptr_null(e);
        }
        ck_assert_int_gt(k, 3);
        am_buf_fini(&want);
        ref->type->free(ref);
    }
    am_frame_free(f);
}
END_TEST

static Suite *enc_date_suite(void)
{
    Suite *s = suite_create("enc_date");
    TCase *tc = tcase_create("calendar");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_known_dates);
    tcase_add_test(tc, test_calendar_oracle);
    suite_add_tcase(s, tc);

    tc = tcase_create("encoding");
    tcase_add_test(tc, test_only_varying_parts);
    tcase_add_test(tc, test_days_fallback);
    tcase_add_test(tc, test_cyclic);
    tcase_add_test(tc, test_missing);
    tcase_add_test(tc, test_unseen_range);
    tcase_add_test(tc, test_column_types);
    tcase_add_test(tc, test_poisoned_rows);
    suite_add_tcase(s, tc);

    tc = tcase_create("saving");
    tcase_add_loop_test(tc, test_round_trip, 0, N_SHAPES);
    tcase_add_loop_test(tc, test_truncated, 0, N_SHAPES);
    tcase_add_loop_test(tc, test_corrupt, 0, (int)AM_COUNT(corrupt_cases));
    tcase_add_test(tc, test_corrupt_width);
    tcase_add_test(tc, test_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(enc_date_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
