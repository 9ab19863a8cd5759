/* guardrails.c — the data report: named checks with a state and a one-line detail, kept in the
 * model file, and the checks that look at the training data (missing values, high cardinality,
 * dropped identifier and constant columns, class imbalance, target leakage, duplicated rows).
 *
 * Every check reads only its inputs (the training rows, their target, the roles and the seed), so
 * the same data and seed give the same report. The checks cost O(n log n) per column at most. */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A detail lists at most this many columns, then "and N more". */
#define LIST_MAX 5
/* Class imbalance: the smallest class has fewer than 1/IMBALANCE_RATIO of the largest's rows. */
#define IMBALANCE_RATIO 5
/* Leakage: a one-feature predictor scoring this on held-out rows is "almost perfect". */
#define LEAK_SCORE 0.99
#define LEAK_MARGIN 0.05
#define LEAK_BINS 32
/* Below this, half the rows are too few for a held-out score to mean anything. */
#define LEAK_MIN_ROWS 20
/* The leakage check looks at a fixed random sample of at most this many training rows: enough
 * to tell a 0.99 accuracy or R^2 from a merely good one (its standard error there is about
 * 0.0006), and it keeps the check's cost flat on tall tables. */
#define LEAK_MAX_ROWS 50000
/* Stream of am_seed_derive for the leakage split, so it differs from other uses of the seed. */
#define LEAK_STREAM 0x6c65616bu
/* The smallest saved entry: two string lengths and the state. */
#define ITEM_MIN_BYTES 12u

/* ---- the list ----------------------------------------------------------------------------- */

void am_guardrails_init(am_guardrails *g)
{
    if (g)
        memset(g, 0, sizeof(*g));
}

static void truncate_list(am_guardrails *g, int32_t n)
{
    while (g->n > n) {
        g->n--;
        am_free(g->items[g->n].check);
        am_free(g->items[g->n].detail);
    }
}

void am_guardrails_fini(am_guardrails *g)
{
    if (!g)
        return;
    truncate_list(g, 0);
    am_free(g->items);
    memset(g, 0, sizeof(*g));
}

static bool state_valid(uint32_t s)
{
    return s >= AM_GUARD_PASSED && s <= AM_GUARD_ALERTED;
}

const char *am_guard_state_name(am_guard_state s)
{
    switch (s) {
    case AM_GUARD_PASSED: return "passed";
    case AM_GUARD_DONE: return "done";
    case AM_GUARD_ALERTED: return "alerted";
    }
    return "unknown";
}

/* Appends an entry taking ownership of check and detail (freed here on failure). */
static am_status push(am_guardrails *g, char *check, am_guard_state state, char *detail,
                      am_diag *d)
{
    if (!check || !detail)
        goto nomem;
    if (g->n == g->cap) {
        if (g->cap > INT32_MAX / 2)
            goto nomem;
        int32_t cap = g->cap ? 2 * g->cap : 8;
        size_t bytes;
        if (!am_size_mul((size_t)cap, sizeof(am_guardrail), &bytes))
            goto nomem;
        am_guardrail *items = am_realloc(g->items, bytes);
        if (!items)
            goto nomem;
        g->items = items;
        g->cap = cap;
    }
    g->items[g->n++] = (am_guardrail){.check = check, .state = state, .detail = detail};
    return AM_OK;
nomem:
    am_free(check);
    am_free(detail);
    return am_fail(d, AM_ERR_NOMEM, "out of memory for the guardrails report");
}

am_status am_guardrails_add(am_guardrails *g, const char *check, am_guard_state state,
                            am_diag *d, const char *fmt, ...)
{
    if (!g || !check || !*check || !fmt || !state_valid(state))
        return am_fail(d, AM_ERR_ARG, "am_guardrails_add: bad arguments");
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0)
        return am_fail(d, AM_ERR_ARG, "am_guardrails_add: bad format for \"%s\"", check);
    char *detail = am_malloc((size_t)len + 1);
    if (detail) {
        va_start(ap, fmt);
        vsnprintf(detail, (size_t)len + 1, fmt, ap);
        va_end(ap);
        /* One line of plain text: a column name read from a quoted header may hold a newline. */
        for (char *p = detail; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
    }
    return push(g, am_strdup(check), state, detail, d);
}

am_status am_guardrails_save(const am_guardrails *g, am_buf *b, am_diag *d)
{
    if (!g || !b || g->n < 0 || (g->n > 0 && !g->items))
        return am_fail(d, AM_ERR_ARG, "am_guardrails_save: bad arguments");
    for (int32_t i = 0; i < g->n; i++) {
        const am_guardrail *it = &g->items[i];
        if (!it->check || !*it->check || !it->detail || !state_valid((uint32_t)it->state))
            return am_fail(d, AM_ERR_ARG, "am_guardrails_save: entry %d is not valid", (int)i);
    }
    am_buf_u32(b, (uint32_t)g->n);
    for (int32_t i = 0; i < g->n; i++) {
        am_buf_str(b, g->items[i].check);
        am_buf_u32(b, (uint32_t)g->items[i].state);
        am_buf_str(b, g->items[i].detail);
    }
    return am_buf_status(b, d);
}

am_status am_guardrails_load(am_reader *r, am_guardrails *g, am_diag *d)
{
    if (!r || !g)
        return am_fail(d, AM_ERR_ARG, "am_guardrails_load: NULL argument");
    am_guardrails_init(g);
    uint32_t n = am_get_u32(r);
    /* Bound the count by the bytes left before trusting it. */
    if (!r->failed && (n > r->left / ITEM_MIN_BYTES || n > INT32_MAX / 2))
        am_reader_fail(r);
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        char *check = am_get_str(r, AM_FEAT_STR_MAX);
        uint32_t state = am_get_u32(r);
        char *detail = am_get_str(r, AM_FEAT_STR_MAX);
        if (r->failed || !check || !*check || !detail || !state_valid(state)) {
            am_free(check);
            am_free(detail);
            am_reader_fail(r);
            break;
        }
        am_status st = push(g, check, (am_guard_state)state, detail, d);
        if (st != AM_OK) {
            am_guardrails_fini(g);
            return st;
        }
    }
    am_status st = am_reader_status(r, false, d);
    if (st != AM_OK)
        am_guardrails_fini(g);
    return st;
}

/* ---- detail text -------------------------------------------------------------------------- */

/* A growing string; a failed allocation marks it and later appends do nothing. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) {
        b->failed = true;
        return;
    }
    size_t need = b->len + (size_t)len + 1;
    if (need > b->cap) {
        size_t cap = AM_MAX(need, 2 * b->cap);
        char *s = am_realloc(b->s, cap);
        if (!s) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)len + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)len;
}

/* Starts item k of a list of total: a separator, or the "and N more" tail once. false when the
 * item is not to be written. */
static bool sb_item(sbuf *b, int64_t k, int64_t total)
{
    if (k >= LIST_MAX) {
        if (k == LIST_MAX)
            sb_printf(b, ", and %" PRId64 " more", total - LIST_MAX);
        return false;
    }
    if (k > 0)
        sb_printf(b, ", ");
    return true;
}

/* Appends the check with the built detail and frees the builder. */
static am_status emit(am_guardrails *g, const char *check, am_guard_state state, sbuf *b,
                      am_diag *d)
{
    am_status st = b->failed ? am_fail(d, AM_ERR_NOMEM, "out of memory for the guardrails report")
                             : am_guardrails_add(g, check, state, d, "%s", b->s ? b->s : "");
    am_free(b->s);
    memset(b, 0, sizeof(*b));
    return st;
}

/* "3,412" */
static const char *fmt_count(int64_t v, char buf[32])
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%" PRId64, v < 0 ? -v : v);
    int o = 0;
    if (v < 0)
        buf[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* "2.1 %"; a share that is not nothing never reads as 0, one that is not all never as 100. */
static const char *fmt_pct(int64_t part, int64_t whole, char buf[32])
{
    double p = whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
    if (p > 0 && p < 0.1)
        snprintf(buf, 32, "%.2g %%", p);
    else if (p > 99.9 && part < whole)
        snprintf(buf, 32, "> 99.9 %%");
    else
        snprintf(buf, 32, "%.1f %%", p);
    return buf;
}

/* ---- reading the data --------------------------------------------------------------------- */

static bool code_type(const am_column *c)
{
    return c->type == AM_COL_CAT || c->type == AM_COL_TEXT;
}

/* A feature the featurizer uses: not the target, not dropped. */
static bool kept(const am_guard_input *in, int32_t j)
{
    return j != in->target_col && in->roles[j].role != AM_ROLE_DROPPED;
}

static bool value_missing(const am_column *c, int64_t row)
{
    if (code_type(c))
        return c->codes[row] < 0 || c->codes[row] >= c->levels.n;
    return !isfinite(c->num[row]);
}

static bool is_classification(am_task t)
{
    return t == AM_TASK_BINARY || t == AM_TASK_MULTICLASS;
}

static am_status check_input(const am_guard_input *in, const am_guardrails *g, am_diag *d)
{
    if (!in || !g || !in->f || !in->roles || !in->rows || !in->y || in->n_rows <= 0 ||
        in->target_col < -1 || in->target_col >= in->f->n_cols)
        return am_fail(d, AM_ERR_ARG, "am_guardrails_check_data: bad arguments");
    const am_frame *f = in->f;
    if (is_classification(in->task) ? in->n_classes < 2 : in->task != AM_TASK_REGRESSION)
        return am_fail(d, AM_ERR_ARG, "am_guardrails_check_data: bad task");
    for (int32_t j = 0; j < f->n_cols; j++) {
        const am_column *c = &f->cols[j];
        if (code_type(c) ? !c->codes : !c->num)
            return am_fail(d, AM_ERR_ARG, "am_guardrails_check_data: column %d has no data",
                           (int)j);
    }
    for (int64_t i = 0; i < in->n_rows; i++) {
        double y = in->y[i];
        bool ok = is_classification(in->task)
                      ? y >= 0 && y < in->n_classes && y == floor(y)
                      : isfinite(y);
        if (in->rows[i] < 0 || in->rows[i] >= f->n_rows || !ok)
            return am_fail(d, AM_ERR_ARG, "am_guardrails_check_data: bad row or target at %" PRId64,
                           i);
    }
    return AM_OK;
}

typedef struct col_count {
    int32_t col;
    int64_t count;
} col_count;

static int cmp_count_desc(const void *a, const void *b)
{
    const col_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return (x->col > y->col) - (x->col < y->col);
}

/* ---- missing_values ------------------------------------------------------------------------ */

static am_status check_missing(const am_guard_input *in, col_count *cc, am_guardrails *g,
                               am_diag *d)
{
    const am_frame *f = in->f;
    int32_t k = 0;
    for (int32_t j = 0; j < f->n_cols; j++) {
        if (!kept(in, j))
            continue;
        int64_t m = 0;
        for (int64_t i = 0; i < in->n_rows; i++)
            m += value_missing(&f->cols[j], in->rows[i]);
        if (m > 0)
            cc[k++] = (col_count){j, m};
    }
    sbuf b = {0};
    if (k == 0) {
        sb_printf(&b, "no missing values in the feature columns");
        return emit(g, "missing_values", AM_GUARD_PASSED, &b, d);
    }
    qsort(cc, (size_t)k, sizeof(*cc), cmp_count_desc);
    sb_printf(&b, "imputed %d column%s: ", (int)k, k == 1 ? "" : "s");
    for (int32_t i = 0; i < k; i++) {
        char pct[32];
        if (sb_item(&b, i, k))
            sb_printf(&b, "%s (%s)", f->cols[cc[i].col].name,
                      fmt_pct(cc[i].count, in->n_rows, pct));
    }
    return emit(g, "missing_values", AM_GUARD_DONE, &b, d);
}

/* ---- high_cardinality --------------------------------------------------------------------- */

/* Levels of the column seen in at least rare_min training rows (the ones the featurizer gives
 * their own encoding; rarer ones share a <rare> group). For a column without codes: distinct
 * non-missing values. scratch: n_rows doubles. */
static am_status distinct_in_rows(const am_guard_input *in, const am_column *c, int32_t rare_min,
                                  double *scratch, int64_t *out, am_diag *d)
{
    int64_t k = 0;
    if (c->codes) {
        int32_t L = c->levels.n;
        int64_t *count = am_calloc(L > 0 ? (size_t)L : 1, sizeof(int64_t));
        if (!count)
            return am_fail(d, AM_ERR_NOMEM, "out of memory counting levels");
        for (int64_t i = 0; i < in->n_rows; i++) {
            int32_t v = c->codes[in->rows[i]];
            if (v >= 0 && v < L)
                k += ++count[v] == rare_min;
        }
        am_free(count);
    } else {
        int64_t m = 0;
        for (int64_t i = 0; i < in->n_rows; i++)
            if (isfinite(c->num[in->rows[i]]))
                scratch[m++] = c->num[in->rows[i]];
        qsort(scratch, (size_t)m, sizeof(double), am_feat_cmp_double);
        for (int64_t i = 0; i < m; i++)
            k += i == 0 || scratch[i] != scratch[i - 1];
    }
    *out = k;
    return AM_OK;
}

static am_status check_cardinality(const am_guard_input *in, col_count *cc, double *scratch,
                                   am_guardrails *g, am_diag *d)
{
    const am_frame *f = in->f;
    int32_t max_levels = in->onehot_max_levels > 0 ? in->onehot_max_levels : AM_FEAT_ONEHOT_MAX;
    int32_t rare_min = in->rare_min_count > 0 ? in->rare_min_count : AM_FEAT_RARE_MIN;
    int32_t k = 0, n_cat = 0;
    for (int32_t j = 0; j < f->n_cols; j++) {
        if (!kept(in, j) || in->roles[j].role != AM_ROLE_CATEGORICAL)
            continue;
        n_cat++;
        int64_t levels = 0;
        am_status st = distinct_in_rows(in, &f->cols[j], rare_min, scratch, &levels, d);
        if (st != AM_OK)
            return st;
        if (levels > max_levels)
            cc[k++] = (col_count){j, levels};
    }
    sbuf b = {0};
    if (k == 0) {
        if (n_cat == 0)
            sb_printf(&b, "no categorical columns");
        else
            sb_printf(&b, "every categorical column has at most %d levels (one-hot encoded)",
                      (int)max_levels);
        return emit(g, "high_cardinality", AM_GUARD_PASSED, &b, d);
    }
    qsort(cc, (size_t)k, sizeof(*cc), cmp_count_desc);
    sb_printf(&b, "target and frequency encoding (trees: category codes) for: ");
    for (int32_t i = 0; i < k; i++) {
        char num[32];
        if (sb_item(&b, i, k))
            sb_printf(&b, "%s (%s levels)", f->cols[cc[i].col].name,
                      fmt_count(cc[i].count, num));
    }
    return emit(g, "high_cardinality", AM_GUARD_DONE, &b, d);
}

/* ---- identifier_columns, constant_columns ----------------------------------------------- */

static bool dropped_for(const am_guard_input *in, int32_t j, bool identifiers)
{
    if (j == in->target_col || in->roles[j].role != AM_ROLE_DROPPED)
        return false;
    am_drop_reason w = in->roles[j].why;
    return identifiers ? w == AM_DROP_IDENTIFIER
                       : w == AM_DROP_CONSTANT || w == AM_DROP_ALL_MISSING;
}

static am_status check_dropped(const am_guard_input *in, bool identifiers, am_guardrails *g,
                               am_diag *d)
{
    const am_frame *f = in->f;
    const char *check = identifiers ? "identifier_columns" : "constant_columns";
    int32_t total = 0;
    for (int32_t j = 0; j < f->n_cols; j++)
        total += dropped_for(in, j, identifiers);
    sbuf b = {0};
    if (total == 0) {
        sb_printf(&b, identifiers ? "no identifier-like column"
                                  : "no constant or all-missing column");
        return emit(g, check, AM_GUARD_PASSED, &b, d);
    }
    if (identifiers)
        sb_printf(&b, "dropped %d identifier column%s (one distinct value per row): ", (int)total,
                  total == 1 ? "" : "s");
    else
        sb_printf(&b, "dropped %d column%s: ", (int)total, total == 1 ? "" : "s");
    int32_t k = 0;
    for (int32_t j = 0; j < f->n_cols; j++) {
        if (!dropped_for(in, j, identifiers))
            continue;
        if (sb_item(&b, k++, total)) {
            if (identifiers)
                sb_printf(&b, "%s", f->cols[j].name);
            else
                sb_printf(&b, "%s (%s)", f->cols[j].name,
                          in->roles[j].why == AM_DROP_CONSTANT ? "constant" : "all missing");
        }
    }
    return emit(g, check, AM_GUARD_DONE, &b, d);
}

/* ---- class_imbalance --------------------------------------------------------------------- */

/* "class good: 262 (87.3 %)" by label when the input has labels, else "class 1: ...". */
static void write_class(sbuf *b, const am_guard_input *in, int32_t c, int64_t count, int64_t n)
{
    char num[32], pct[32];
    if (in->labels && c < in->labels->n)
        sb_printf(b, "class %s: %s (%s)", in->labels->items[c], fmt_count(count, num),
                  fmt_pct(count, n, pct));
    else
        sb_printf(b, "class %d: %s (%s)", (int)c, fmt_count(count, num), fmt_pct(count, n, pct));
}

static am_status check_imbalance(const am_guard_input *in, am_guardrails *g, am_diag *d)
{
    sbuf b = {0};
    if (!is_classification(in->task)) {
        sb_printf(&b, "regression target");
        return emit(g, "class_imbalance", AM_GUARD_PASSED, &b, d);
    }
    int32_t K = in->n_classes;
    int64_t *count = am_calloc((size_t)K, sizeof(int64_t));
    if (!count)
        return am_fail(d, AM_ERR_NOMEM, "out of memory counting classes");
    for (int64_t i = 0; i < in->n_rows; i++)
        count[(int32_t)in->y[i]]++;
    int32_t lo = 0, hi = 0;
    for (int32_t c = 1; c < K; c++) {
        if (count[c] < count[lo])
            lo = c;
        if (count[c] > count[hi])
            hi = c;
    }
    bool alert = count[lo] * IMBALANCE_RATIO < count[hi];
    if (K <= LIST_MAX) {
        for (int32_t c = 0; c < K; c++) {
            if (c > 0)
                sb_printf(&b, ", ");
            write_class(&b, in, c, count[c], in->n_rows);
        }
    } else {
        sb_printf(&b, "%d classes, largest ", (int)K);
        write_class(&b, in, hi, count[hi], in->n_rows);
        sb_printf(&b, ", smallest ");
        write_class(&b, in, lo, count[lo], in->n_rows);
    }
    if (alert)
        sb_printf(&b, "; the smallest class has under a fifth of the largest's rows: class weights "
                      "offered to learners that accept them (logreg class_weight=balanced)");
    am_free(count);
    return emit(g, "class_imbalance", alert ? AM_GUARD_ALERTED : AM_GUARD_PASSED, &b, d);
}

/* ---- target_leakage ------------------------------------------------------------------------ */

/* One-feature predictors fitted on a fixed half of a random sample of the training rows and
 * scored on the other half. Each column is reduced to a level id per sample position: the
 * category (missing = 0), or for numbers one of LEAK_BINS quantile bins of the fit half
 * (missing = 0). */
typedef struct leak_work {
    const am_guard_input *in;
    const int64_t *rows; /* the sample's frame rows, in shuffled order */
    const double *y;     /* and their targets */
    int64_t n, na;    /* perm[0, na): fit half; perm[na, n): scored half */
    int64_t *perm;
    int64_t *ids;     /* per training position */
    uint64_t *keys, *tk; /* scratch, n each */
    int64_t *vals, *tv;  /* scratch, n each */
    int32_t majority; /* classification: the fit half's majority class */
    double baseline;  /* its accuracy on the scored half */
    double mean_a;    /* regression: the fit half's mean */
    double sst;       /* regression: the scored half's total sum of squares */
} leak_work;

static double leak_y(const leak_work *w, int64_t pos)
{
    return w->y[pos];
}

/* Categories: the code + 1. Numbers read as categories: the rank of the value. */
static void level_ids(leak_work *w, const am_column *c, int64_t *n_levels)
{
    const int64_t *rows = w->rows;
    if (c->codes) {
        int32_t L = c->levels.n;
        for (int64_t i = 0; i < w->n; i++) {
            int32_t k = c->codes[rows[i]];
            w->ids[i] = k >= 0 && k < L ? (int64_t)k + 1 : 0;
        }
        *n_levels = (int64_t)L + 1;
        return;
    }
    int64_t m = 0;
    for (int64_t i = 0; i < w->n; i++) {
        double x = c->num[rows[i]];
        w->ids[i] = 0;
        if (isfinite(x)) {
            w->keys[m] = am_feat_double_key(x);
            w->vals[m++] = i;
        }
    }
    am_feat_radix_sort(w->keys, w->vals, m, w->tk, w->tv);
    int64_t r = 0;
    for (int64_t t = 0; t < m; t++) {
        r += t == 0 || w->keys[t] != w->keys[t - 1];
        w->ids[w->vals[t]] = r;
    }
    *n_levels = r + 1;
}

/* Numbers: value bins 1..E+1 cut at quantiles of the fit half, 0 for missing. Returns the
 * number of ids. */
static int64_t bin_ids(leak_work *w, const am_column *c)
{
    const int64_t *rows = w->rows;
    int64_t m = 0;
    for (int64_t t = 0; t < w->na; t++) {
        double x = c->num[rows[w->perm[t]]];
        if (isfinite(x))
            w->keys[m++] = am_feat_double_key(x);
    }
    am_feat_radix_sort(w->keys, NULL, m, w->tk, NULL);
    double upper[LEAK_BINS];
    int ne = 0;
    for (int64_t k = 1; k < LEAK_BINS; k++) {
        int64_t idx = k * m / LEAK_BINS;
        if (idx == 0)
            continue;
        double e = am_feat_key_double(w->keys[idx - 1]);
        if (ne == 0 || e > upper[ne - 1])
            upper[ne++] = e;
    }
    for (int64_t i = 0; i < w->n; i++) {
        double x = c->num[rows[i]];
        if (!isfinite(x)) {
            w->ids[i] = 0;
            continue;
        }
        int lo = 0, hi = ne; /* first upper edge >= x, ne when none */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (upper[mid] < x)
                lo = mid + 1;
            else
                hi = mid;
        }
        w->ids[i] = 1 + lo;
    }
    return ne + 2;
}

/* Classification: per-level majority class of the fit half (ties: the smaller class), unseen
 * levels get the overall majority; accuracy on the scored half. Sorting (level, class) keys keeps
 * it O(n) in memory and time whatever the number of levels and classes. */
static am_status score_class(leak_work *w, int64_t L, double *score, am_diag *d)
{
    uint64_t K = (uint64_t)w->in->n_classes;
    for (int64_t t = 0; t < w->na; t++) {
        int64_t p = w->perm[t];
        w->keys[t] = (uint64_t)w->ids[p] * K + (uint64_t)leak_y(w, p);
    }
    am_feat_radix_sort(w->keys, NULL, w->na, w->tk, NULL);
    int32_t *maj = am_malloc_array((size_t)L, sizeof(int32_t));
    if (!maj)
        return am_fail(d, AM_ERR_NOMEM, "out of memory checking target leakage");
    for (int64_t l = 0; l < L; l++)
        maj[l] = -1;
    int64_t best = 0;
    for (int64_t t = 0; t < w->na;) {
        int64_t s = t;
        while (t < w->na && w->keys[t] == w->keys[s])
            t++;
        uint64_t level = w->keys[s] / K;
        int64_t run = t - s;
        if (maj[level] < 0 || run > best) {
            maj[level] = (int32_t)(w->keys[s] % K);
            best = run;
        }
        /* The next key starts a new level: reset the best count. */
        if (t < w->na && w->keys[t] / K != level)
            best = 0;
    }
    int64_t correct = 0;
    for (int64_t t = w->na; t < w->n; t++) {
        int64_t p = w->perm[t];
        int32_t pred = maj[w->ids[p]] >= 0 ? maj[w->ids[p]] : w->majority;
        correct += pred == (int32_t)leak_y(w, p);
    }
    am_free(maj);
    *score = (double)correct / (double)(w->n - w->na);
    return AM_OK;
}

/* Regression: per-level mean of the fit half (unseen: the overall mean); R^2 on the scored half. */
static am_status score_mean(leak_work *w, int64_t L, double *score, am_diag *d)
{
    double *sum = am_calloc((size_t)L, sizeof(double));
    int64_t *cnt = am_calloc((size_t)L, sizeof(int64_t));
    if (!sum || !cnt) {
        am_free(sum);
        am_free(cnt);
        return am_fail(d, AM_ERR_NOMEM, "out of memory checking target leakage");
    }
    for (int64_t t = 0; t < w->na; t++) {
        int64_t p = w->perm[t];
        sum[w->ids[p]] += leak_y(w, p);
        cnt[w->ids[p]]++;
    }
    double sse = 0;
    for (int64_t t = w->na; t < w->n; t++) {
        int64_t p = w->perm[t];
        int64_t l = w->ids[p];
        double pred = cnt[l] ? sum[l] / (double)cnt[l] : w->mean_a;
        double e = leak_y(w, p) - pred;
        sse += e * e;
    }
    am_free(sum);
    am_free(cnt);
    *score = 1.0 - sse / w->sst;
    return AM_OK;
}

/* Regression on a number: a least-squares line per bin, so a copied or rescaled target scores
 * R^2 = 1 even where bins are wide (skewed targets), where bin means alone fall short. */
static double score_linear(const leak_work *w, const am_column *c)
{
    enum { NB = LEAK_BINS + 1 };
    int64_t cnt[NB] = {0};
    double mx[NB] = {0}, my[NB] = {0}, sxx[NB] = {0}, sxy[NB] = {0};
    const int64_t *rows = w->rows;
    for (int64_t t = 0; t < w->na; t++) {
        int64_t p = w->perm[t], l = w->ids[p];
        cnt[l]++;
        mx[l] += l ? c->num[rows[p]] : 0;
        my[l] += leak_y(w, p);
    }
    for (int l = 0; l < NB; l++) {
        if (cnt[l]) {
            mx[l] /= (double)cnt[l];
            my[l] /= (double)cnt[l];
        }
    }
    /* Two passes: centred sums keep their digits for large values such as epoch seconds. */
    for (int64_t t = 0; t < w->na; t++) {
        int64_t p = w->perm[t], l = w->ids[p];
        if (l == 0)
            continue;
        double dx = c->num[rows[p]] - mx[l];
        sxx[l] += dx * dx;
        sxy[l] += dx * (leak_y(w, p) - my[l]);
    }
    double sse = 0;
    for (int64_t t = w->na; t < w->n; t++) {
        int64_t p = w->perm[t], l = w->ids[p];
        double pred = w->mean_a;
        if (cnt[l]) {
            double slope = l && sxx[l] > 0 ? sxy[l] / sxx[l] : 0;
            pred = my[l] + (l ? slope * (c->num[rows[p]] - mx[l]) : 0);
        }
        double e = leak_y(w, p) - pred;
        sse += e * e;
    }
    return 1.0 - sse / w->sst;
}

static bool numeric_role(am_role r)
{
    return r == AM_ROLE_NUMERIC || r == AM_ROLE_DATETIME;
}

static am_status score_column(leak_work *w, const am_column *c, am_role role, double *score,
                              am_diag *d)
{
    bool numeric = numeric_role(role) && c->num;
    int64_t L = 0;
    if (numeric)
        L = bin_ids(w, c);
    else
        level_ids(w, c, &L);
    if (is_classification(w->in->task))
        return score_class(w, L, score, d);
    am_status st = score_mean(w, L, score, d);
    if (st == AM_OK && numeric) {
        double linear = score_linear(w, c);
        if (linear > *score) /* false for NaN */
            *score = linear;
    }
    /* Overflowing sums (values near DBL_MAX) must not leave a NaN to sort. */
    if (isnan(*score))
        *score = -INFINITY;
    return st;
}

/* The baselines every column is compared with. */
static am_status leak_baseline(leak_work *w, am_diag *d)
{
    const am_guard_input *in = w->in;
    if (is_classification(in->task)) {
        int64_t *cnt = am_calloc((size_t)in->n_classes, sizeof(int64_t));
        if (!cnt)
            return am_fail(d, AM_ERR_NOMEM, "out of memory checking target leakage");
        for (int64_t t = 0; t < w->na; t++)
            cnt[(int32_t)leak_y(w, w->perm[t])]++;
        w->majority = 0;
        for (int32_t c = 1; c < in->n_classes; c++)
            if (cnt[c] > cnt[w->majority])
                w->majority = c;
        am_free(cnt);
        int64_t hit = 0;
        for (int64_t t = w->na; t < w->n; t++)
            hit += (int32_t)leak_y(w, w->perm[t]) == w->majority;
        w->baseline = (double)hit / (double)(w->n - w->na);
        return AM_OK;
    }
    double s = 0, sb = 0;
    for (int64_t t = 0; t < w->na; t++)
        s += leak_y(w, w->perm[t]);
    w->mean_a = s / (double)w->na;
    for (int64_t t = w->na; t < w->n; t++)
        sb += leak_y(w, w->perm[t]);
    double mean_b = sb / (double)(w->n - w->na);
    w->sst = 0;
    for (int64_t t = w->na; t < w->n; t++) {
        double e = leak_y(w, w->perm[t]) - mean_b;
        w->sst += e * e;
    }
    return AM_OK;
}

typedef struct col_score {
    int32_t col;
    double score;
} col_score;

static int cmp_score_desc(const void *a, const void *b)
{
    const col_score *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return (x->col > y->col) - (x->col < y->col);
}

static bool leak_candidate(const am_guard_input *in, int32_t j)
{
    return kept(in, j) && in->roles[j].role != AM_ROLE_TEXT;
}

static bool leaks(const leak_work *w, double score)
{
    if (is_classification(w->in->task))
        return score >= LEAK_SCORE && score > w->baseline + LEAK_MARGIN;
    return score >= LEAK_SCORE;
}

static void leak_detail(const leak_work *w, col_score *cs, int32_t k, sbuf *b, bool *alert)
{
    const am_frame *f = w->in->f;
    const char *metric = is_classification(w->in->task) ? "accuracy" : "R^2";
    int32_t n_leak = 0;
    for (int32_t i = 0; i < k; i++)
        if (leaks(w, cs[i].score))
            cs[n_leak++] = cs[i]; /* in place: i >= n_leak */
    *alert = n_leak > 0;
    if (n_leak == 0) {
        sb_printf(b, "no single column predicts the target almost perfectly on held-out rows");
        if (k > 0)
            sb_printf(b, " (best: %s, %s %.4f", f->cols[cs[0].col].name, metric, cs[0].score);
        if (k > 0 && is_classification(w->in->task))
            sb_printf(b, "; majority class alone %.4f", w->baseline);
        if (k > 0)
            sb_printf(b, ")");
        return;
    }
    sb_printf(b, "%d column%s alone predict%s the target almost perfectly on held-out rows: ",
              (int)n_leak, n_leak == 1 ? "" : "s", n_leak == 1 ? "s" : "");
    for (int32_t i = 0; i < n_leak; i++)
        if (sb_item(b, i, n_leak))
            sb_printf(b, "%s (%s %.4f)", f->cols[cs[i].col].name, metric, cs[i].score);
    sb_printf(b, "; check that %s not computed from the target or known only after it",
              n_leak == 1 ? "it is" : "they are");
}

/* Per-thread scratch of the leakage check: n of each. */
static bool leak_scratch_new(leak_work *w, int64_t n)
{
    size_t m = n > 0 ? (size_t)n : 1;
    w->ids = am_malloc_array(m, sizeof(int64_t));
    w->keys = am_malloc_array(m, sizeof(uint64_t));
    w->tk = am_malloc_array(m, sizeof(uint64_t));
    w->vals = am_malloc_array(m, sizeof(int64_t));
    w->tv = am_malloc_array(m, sizeof(int64_t));
    return w->ids && w->keys && w->tk && w->vals && w->tv;
}

static void leak_scratch_free(leak_work *w)
{
    am_free(w->tv);
    am_free(w->vals);
    am_free(w->tk);
    am_free(w->keys);
    am_free(w->ids);
}

/* The sample: at most LEAK_MAX_ROWS training rows in a fixed random order (rows, y) and the
 * identity permutation over it (the order is already random). */
static bool leak_sample(const am_guard_input *in, leak_work *w, int64_t **rows, double **y)
{
    int64_t n = in->n_rows;
    int64_t *perm = am_malloc_array((size_t)n, sizeof(int64_t));
    if (!perm)
        return false;
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    am_rng rng;
    am_rng_seed(&rng, am_seed_derive(in->seed, LEAK_STREAM));
    am_rng_shuffle(&rng, perm, n);
    w->n = AM_MIN(n, LEAK_MAX_ROWS);
    w->na = w->n / 2;
    *rows = am_malloc_array((size_t)w->n, sizeof(int64_t));
    *y = am_malloc_array((size_t)w->n, sizeof(double));
    if (!*rows || !*y) {
        am_free(perm);
        return false;
    }
    for (int64_t i = 0; i < w->n; i++) {
        (*rows)[i] = in->rows[perm[i]];
        (*y)[i] = in->y[perm[i]];
        perm[i] = i;
    }
    w->perm = perm;
    w->rows = *rows;
    w->y = *y;
    return true;
}

/* Scores the candidate columns cs[0..k) (cs[i].col set), columns shared out among threads:
 * each column is one thread's work with its own scratch, so the scores do not depend on the
 * count. On failure, the first failing column's status and diag, in frame order. */
static am_status score_columns(const leak_work *base, col_score *cs, int32_t k, am_diag *d)
{
    const am_guard_input *in = base->in;
    am_status *status = am_calloc((size_t)AM_MAX(k, 1), sizeof(am_status));
    am_diag *diags = am_calloc((size_t)AM_MAX(k, 1), sizeof(am_diag));
    if (!status || !diags) {
        am_free(status);
        am_free(diags);
        return am_fail(d, AM_ERR_NOMEM, "out of memory checking target leakage");
    }
    bool nomem = false;
    int nt = (int)AM_MAX(1, AM_MIN(in->n_threads, k));
#pragma omp parallel num_threads(nt) reduction(|| : nomem)
    {
        leak_work w = *base;
        nomem = !leak_scratch_new(&w, w.n);
#pragma omp for schedule(dynamic, 1)
        for (int32_t i = 0; i < k; i++) {
            int32_t j = cs[i].col;
            status[i] = nomem ? AM_ERR_NOMEM
                              : score_column(&w, &in->f->cols[j], in->roles[j].role,
                                             &cs[i].score, &diags[i]);
        }
        leak_scratch_free(&w);
    }
    am_status st = nomem ? am_fail(d, AM_ERR_NOMEM, "out of memory checking target leakage")
                         : AM_OK;
    for (int32_t i = 0; st == AM_OK && i < k; i++)
        if (status[i] != AM_OK) {
            if (d)
                *d = diags[i];
            st = status[i];
        }
    am_free(status);
    am_free(diags);
    return st;
}

static am_status check_leakage(const am_guard_input *in, am_guardrails *g, am_diag *d)
{
    const am_frame *f = in->f;
    sbuf b = {0};
    int32_t n_cand = 0;
    for (int32_t j = 0; j < f->n_cols; j++)
        n_cand += leak_candidate(in, j);
    if (in->n_rows < LEAK_MIN_ROWS || n_cand == 0) {
        if (n_cand == 0)
            sb_printf(&b, "no feature column to test");
        else
            sb_printf(&b, "too few training rows to test (%" PRId64 ")", in->n_rows);
        return emit(g, "target_leakage", AM_GUARD_PASSED, &b, d);
    }
    leak_work w = {.in = in};
    int64_t *rows = NULL;
    double *y = NULL;
    col_score *cs = am_malloc_array((size_t)n_cand, sizeof(col_score));
    am_status st = AM_OK;
    if (!cs || !leak_sample(in, &w, &rows, &y)) {
        st = am_fail(d, AM_ERR_NOMEM, "out of memory checking target leakage");
        goto done;
    }
    st = leak_baseline(&w, d);
    if (st != AM_OK)
        goto done;
    if (!is_classification(in->task) && !(w.sst > 0 && isfinite(w.sst))) {
        sb_printf(&b, "the target's spread in the held-out rows is %s; nothing to test",
                  w.sst > 0 ? "too large to measure" : "zero");
        st = emit(g, "target_leakage", AM_GUARD_PASSED, &b, d);
        goto done;
    }
    int32_t k = 0;
    for (int32_t j = 0; j < f->n_cols; j++)
        if (leak_candidate(in, j))
            cs[k++] = (col_score){j, 0.0};
    st = score_columns(&w, cs, k, d);
    if (st == AM_OK) {
        qsort(cs, (size_t)k, sizeof(*cs), cmp_score_desc);
        bool alert;
        leak_detail(&w, cs, k, &b, &alert);
        st = emit(g, "target_leakage", alert ? AM_GUARD_ALERTED : AM_GUARD_PASSED, &b, d);
    }
done:
    am_free(b.s);
    am_free(cs);
    am_free(w.perm);
    am_free(rows);
    am_free(y);
    return st;
}

/* ---- duplicated_rows ----------------------------------------------------------------------- */

/* A value's identity: NaN and every missing code compare equal to themselves, -0 equals 0. */
static uint64_t value_bits(const am_column *c, int64_t row)
{
    if (code_type(c)) {
        int32_t k = c->codes[row];
        return (uint64_t)(int64_t)(k >= 0 && k < c->levels.n ? k : -1);
    }
    double x = c->num[row];
    if (isnan(x))
        return 0x7ff8000000000000ull;
    if (x == 0)
        return 0;
    uint64_t u;
    memcpy(&u, &x, sizeof(u));
    return u;
}

/* Every training position's feature hash into h, a column at a time over blocks of rows (the
 * frame is column-major): each row's hash still takes the kept columns in order, and rows are
 * independent, so neither the blocking nor the threads change a value. */
static void row_hashes(const am_guard_input *in, uint64_t *h)
{
    enum { BLOCK = 4096 };
    int64_t n = in->n_rows, n_blocks = (n + BLOCK - 1) / BLOCK;
    int nt = (int)AM_MAX(1, AM_MIN((int64_t)in->n_threads, n_blocks));
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t b = 0; b < n_blocks; b++) {
        int64_t i0 = b * BLOCK, i1 = AM_MIN(n, i0 + BLOCK);
        for (int64_t i = i0; i < i1; i++)
            h[i] = 0x9e3779b97f4a7c15ull;
        for (int32_t j = 0; j < in->f->n_cols; j++) {
            if (!kept(in, j))
                continue;
            const am_column *c = &in->f->cols[j];
            for (int64_t i = i0; i < i1; i++)
                h[i] = am_feat_mix64(h[i] ^ value_bits(c, in->rows[i])) + (uint64_t)j;
        }
    }
}

static bool same_features(const am_guard_input *in, int64_t r1, int64_t r2)
{
    for (int32_t j = 0; j < in->f->n_cols; j++)
        if (kept(in, j) && value_bits(&in->f->cols[j], r1) != value_bits(&in->f->cols[j], r2))
            return false;
    return true;
}

/* Scratch of n each for grouping rows. */
typedef struct dup_work {
    uint64_t *keys, *tk;
    int64_t *pos, *tv;
    int64_t *group; /* per training position: the first position with the same features */
} dup_work;

/* Fills w->group. Rows are sorted by feature hash (positions ascending within a hash: the sort
 * is stable) and compared exactly within a hash, so a collision never merges different rows. */
static void feature_groups(const am_guard_input *in, dup_work *w)
{
    int64_t n = in->n_rows;
    row_hashes(in, w->keys);
    for (int64_t i = 0; i < n; i++)
        w->pos[i] = i;
    am_feat_radix_sort(w->keys, w->pos, n, w->tk, w->tv);
    for (int64_t a = 0; a < n;) {
        int64_t e = a;
        while (e < n && w->keys[e] == w->keys[a])
            e++;
        for (int64_t t = a; t < e; t++) {
            int64_t p = w->pos[t];
            w->group[p] = p;
            /* Normally the run's first row matches at once; only collisions look further. */
            for (int64_t s = a; s < t; s++) {
                int64_t q = w->pos[s];
                if (w->group[q] == q && same_features(in, in->rows[q], in->rows[p])) {
                    w->group[p] = q;
                    break;
                }
            }
        }
        a = e;
    }
}

/* Orders positions by (group, target, position): two stable passes, minor key first. */
static void order_by_group_target(const am_guard_input *in, dup_work *w)
{
    int64_t n = in->n_rows;
    for (int64_t i = 0; i < n; i++) {
        w->keys[i] = am_feat_double_key(in->y[i]);
        w->pos[i] = i;
    }
    am_feat_radix_sort(w->keys, w->pos, n, w->tk, w->tv);
    for (int64_t t = 0; t < n; t++)
        w->keys[t] = (uint64_t)w->group[w->pos[t]];
    am_feat_radix_sort(w->keys, w->pos, n, w->tk, w->tv);
}

static void dup_free(dup_work *w)
{
    am_free(w->keys);
    am_free(w->tk);
    am_free(w->pos);
    am_free(w->tv);
    am_free(w->group);
}

static void dup_detail(const am_guard_input *in, const dup_work *w, sbuf *b, int64_t *n_rep)
{
    /* A row whose features repeat an earlier row is an exact duplicate when an earlier row of the
     * group has its target (it is not the first of its (group, target) run), else a conflict. */
    const double *y = in->y;
    int64_t n = in->n_rows, same = 0, conflict = 0, first = -1;
    for (int64_t t = 0; t < n; t++) {
        int64_t p = w->pos[t], prev = t > 0 ? w->pos[t - 1] : -1;
        if (w->group[p] == p)
            continue;
        if (prev >= 0 && w->group[prev] == w->group[p] && y[prev] == y[p])
            same++;
        else
            conflict++;
        if (first < 0 || p < first)
            first = p;
    }
    *n_rep = same + conflict;
    if (*n_rep == 0) {
        sb_printf(b, "no training row repeats another's feature values");
        return;
    }
    char num[32], pct[32], n_same[32], n_conflict[32];
    sb_printf(b, "%s training row%s (%s) repeat%s an earlier row's feature values: ",
              fmt_count(*n_rep, num), *n_rep == 1 ? "" : "s", fmt_pct(*n_rep, n, pct),
              *n_rep == 1 ? "s" : "");
    sb_printf(b, "%s with the same target, %s with a different target (conflicting)",
              fmt_count(same, n_same), fmt_count(conflict, n_conflict));
    sb_printf(b, "; first: line %" PRId64 " repeats line %" PRId64,
              am_frame_row_line(in->f, in->rows[first]),
              am_frame_row_line(in->f, in->rows[w->group[first]]));
}

static am_status check_duplicates(const am_guard_input *in, am_guardrails *g, am_diag *d)
{
    sbuf b = {0};
    int32_t n_kept = 0;
    for (int32_t j = 0; j < in->f->n_cols; j++)
        n_kept += kept(in, j);
    if (n_kept == 0) {
        sb_printf(&b, "no feature column to compare");
        return emit(g, "duplicated_rows", AM_GUARD_PASSED, &b, d);
    }
    size_t n = (size_t)in->n_rows;
    dup_work w = {.keys = am_malloc_array(n, sizeof(uint64_t)),
                  .tk = am_malloc_array(n, sizeof(uint64_t)),
                  .pos = am_malloc_array(n, sizeof(int64_t)),
                  .tv = am_malloc_array(n, sizeof(int64_t)),
                  .group = am_malloc_array(n, sizeof(int64_t))};
    if (!w.keys || !w.tk || !w.pos || !w.tv || !w.group) {
        dup_free(&w);
        return am_fail(d, AM_ERR_NOMEM, "out of memory checking duplicated rows");
    }
    feature_groups(in, &w);
    order_by_group_target(in, &w);
    int64_t n_rep;
    dup_detail(in, &w, &b, &n_rep);
    dup_free(&w);
    return emit(g, "duplicated_rows", n_rep ? AM_GUARD_ALERTED : AM_GUARD_PASSED, &b, d);
}

/* ---- all checks ---------------------------------------------------------------------------- */

am_status am_guardrails_check_data(const am_guard_input *in, am_guardrails *g, am_diag *d)
{
    am_status st = check_input(in, g, d);
    if (st != AM_OK)
        return st;
    const am_frame *f = in->f;
    int32_t n0 = g->n;
    col_count *cc = am_malloc_array(f->n_cols > 0 ? (size_t)f->n_cols : 1, sizeof(col_count));
    double *scratch = am_malloc_array((size_t)in->n_rows, sizeof(double));
    if (!cc || !scratch)
        st = am_fail(d, AM_ERR_NOMEM, "out of memory checking the data");
    if (st == AM_OK)
        st = check_missing(in, cc, g, d);
    if (st == AM_OK)
        st = check_cardinality(in, cc, scratch, g, d);
    if (st == AM_OK)
        st = check_dropped(in, true, g, d);
    if (st == AM_OK)
        st = check_dropped(in, false, g, d);
    if (st == AM_OK)
        st = check_imbalance(in, g, d);
    if (st == AM_OK)
        st = check_leakage(in, g, d);
    if (st == AM_OK)
        st = check_duplicates(in, g, d);
    am_free(cc);
    am_free(scratch);
    /* All or nothing: a failure leaves the report as it was. */
    if (st != AM_OK)
        truncate_list(g, n0);
    return st;
}
