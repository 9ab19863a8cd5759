/* roles.c — what each column is to the featurizer: numeric, categorical, boolean, datetime, text,
 * or dropped (the target, the user's --drop, constant, all-missing, unique identifiers).
 *
 * Roles are decided on every row of the frame. No target value is read, so using all rows leaks
 * nothing that a fold could learn, and the decision is the same for every fold and trial.
 * The user's overrides win over inference and are never second-guessed by the drop rules; they
 * are only refused when the column as read cannot take the asked type. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fewer rows than this and "one distinct value per row" is no evidence of an identifier: ten
 * rows of a small hand-made table can all differ by chance. */
#define ID_MIN_ROWS 10

/* ---- names ------------------------------------------------------------------------------- */

static const char *const ROLE_NAMES[] = {
    [AM_ROLE_NUMERIC] = "numeric", [AM_ROLE_CATEGORICAL] = "category",
    [AM_ROLE_BOOLEAN] = "boolean", [AM_ROLE_DATETIME] = "datetime",
    [AM_ROLE_TEXT] = "text",       [AM_ROLE_DROPPED] = "dropped",
};

const char *am_role_name(am_role r)
{
    if ((int)r >= AM_ROLE_NUMERIC && (int)r <= AM_ROLE_DROPPED)
        return ROLE_NAMES[r];
    return "unknown";
}

bool am_role_parse(const char *s, am_role *out)
{
    if (!s)
        return false;
    for (int r = AM_ROLE_NUMERIC; r < AM_ROLE_DROPPED; r++) {
        if (strcmp(s, ROLE_NAMES[r]) == 0) {
            if (out)
                *out = (am_role)r;
            return true;
        }
    }
    return false;
}

am_coltype am_role_csv_type(am_role r)
{
    switch (r) {
    case AM_ROLE_NUMERIC: return AM_COL_NUM;
    case AM_ROLE_CATEGORICAL: return AM_COL_CAT;
    case AM_ROLE_TEXT: return AM_COL_TEXT;
    default: return (am_coltype)0;
    }
}

const char *am_drop_reason_name(am_drop_reason w)
{
    switch (w) {
    case AM_DROP_NONE: return "none";
    case AM_DROP_TARGET: return "target";
    case AM_DROP_USER: return "user";
    case AM_DROP_CONSTANT: return "constant";
    case AM_DROP_ALL_MISSING: return "all_missing";
    case AM_DROP_IDENTIFIER: return "identifier";
    }
    return "unknown";
}

/* ---- counting ---------------------------------------------------------------------------- */

/* What inference needs to know about a column's values, over every row. */
typedef struct col_stats {
    int64_t n_distinct, n_missing;
    double min, max;  /* numbers: finite values only */
    bool integral;    /* numbers: every finite value is a whole number */
} col_stats;

static bool has_codes(const am_column *c)
{
    return c->type == AM_COL_CAT || c->type == AM_COL_TEXT;
}

/* Categories and text: distinct codes in use. A code outside the levels is corrupt data and
 * counts as missing, like -1. */
static am_status count_codes(const am_column *c, int64_t n, col_stats *s, am_diag *d)
{
    int32_t L = c->levels.n;
    uint8_t *seen = am_calloc(L > 0 ? (size_t)L : 1, 1);
    if (!seen)
        return am_fail(d, AM_ERR_NOMEM, "out of memory counting the levels of \"%s\"", c->name);
    for (int64_t i = 0; i < n; i++) {
        int32_t k = c->codes[i];
        if (k < 0 || k >= L) {
            s->n_missing++;
        } else if (!seen[k]) {
            seen[k] = 1;
            s->n_distinct++;
        }
    }
    am_free(seen);
    return AM_OK;
}

/* Numbers and times: distinct finite values, on a sorted copy (radix-sorted keys: roles are
 * decided on every row of every column, and qsort's comparator calls dominated that on large
 * tables). Non-finite values count as missing because the featurizer imputes them like missing
 * ones. v, tmp: n keys of scratch each. */
static void count_values(const am_column *c, int64_t n, uint64_t *v, uint64_t *tmp, col_stats *s)
{
    int64_t m = 0;
    s->integral = true;
    for (int64_t i = 0; i < n; i++) {
        double x = c->num[i];
        if (!isfinite(x))
            continue;
        v[m++] = am_feat_double_key(x);
        if (m == 1 || x < s->min)
            s->min = x;
        if (m == 1 || x > s->max)
            s->max = x;
        /* Beyond 2^53 every double is a whole number, which says nothing about identifiers. */
        if (x != floor(x) || fabs(x) > 9007199254740992.0)
            s->integral = false;
    }
    s->n_missing = n - m;
    am_feat_radix_sort(v, NULL, m, tmp, NULL);
    for (int64_t i = 0; i < m; i++)
        s->n_distinct += i == 0 || v[i] != v[i - 1];
}

/* scratch: 2 n keys for number columns. */
static am_status count_column(const am_column *c, int64_t n, uint64_t *scratch, col_stats *s,
                              am_diag *d)
{
    memset(s, 0, sizeof(*s));
    if (has_codes(c) && c->codes)
        return count_codes(c, n, s, d);
    if (!has_codes(c) && c->num) {
        count_values(c, n, scratch, scratch + n, s);
        return AM_OK;
    }
    return am_fail(d, AM_ERR_ARG, "am_roles_infer: column \"%s\" has no values", c->name);
}

/* Every column's statistics, columns shared out among threads (each column is one thread's
 * work, so nothing depends on the count). stats[j] for column j; on failure the first failing
 * column's diag, in frame order. */
static am_status count_all(const am_frame *f, int32_t n_threads, col_stats *stats,
                           am_status *status, am_diag *diags, am_diag *d)
{
    bool nomem = false;
    int nt = (int)AM_MAX(1, AM_MIN(n_threads, f->n_cols));
#pragma omp parallel num_threads(nt) reduction(|| : nomem)
    {
        uint64_t *scratch = am_malloc_array(f->n_rows > 0 ? (size_t)f->n_rows : 1,
                                            2 * sizeof(uint64_t));
        nomem = !scratch;
#pragma omp for schedule(dynamic, 1)
        for (int32_t j = 0; j < f->n_cols; j++)
            status[j] = scratch ? count_column(&f->cols[j], f->n_rows, scratch, &stats[j],
                                               &diags[j])
                                : AM_ERR_NOMEM;
        am_free(scratch);
    }
    if (nomem)
        return am_fail(d, AM_ERR_NOMEM, "out of memory counting the columns' values");
    for (int32_t j = 0; j < f->n_cols; j++)
        if (status[j] != AM_OK) {
            if (d)
                *d = diags[j];
            return status[j];
        }
    return AM_OK;
}

/* ---- inference --------------------------------------------------------------------------- */

static char ascii_lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static bool ascii_letter(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool ends_with_word(const char *name, size_t n, const char *word)
{
    size_t k = strlen(word);
    if (n < k)
        return false;
    const char *tail = name + n - k;
    for (size_t i = 0; i < k; i++)
        if (ascii_lower(tail[i]) != word[i])
            return false;
    if (n == k)
        return true;
    char before = tail[-1];
    /* "customer_id", "row id", "x.key"; or camel case "customerId", "customerID", "rowIndex".
     * A lower-case tail after a letter ("paid", "valid", "monkey") is part of another word. */
    if (!ascii_letter(before))
        return true;
    return before >= 'a' && before <= 'z' && tail[0] >= 'A' && tail[0] <= 'Z';
}

/* Does the name say "identifier"? Only consulted for unique integer columns, whose values alone
 * cannot tell a row number from a measured count. */
static bool name_is_identifier(const char *name)
{
    static const char *const WORDS[] = {"id", "key", "uuid", "index", "row"};
    if (!name)
        return false;
    size_t n = strlen(name);
    for (size_t w = 0; w < AM_COUNT(WORDS); w++)
        if (ends_with_word(name, n, WORDS[w]))
            return true;
    return false;
}

static bool unique_per_row(const col_stats *s, int64_t n_rows)
{
    return n_rows >= ID_MIN_ROWS && s->n_missing == 0 && s->n_distinct == n_rows;
}

static void infer_role(const am_column *c, const col_stats *s, int64_t n_rows, am_column_role *r)
{
    r->role = AM_ROLE_DROPPED;
    if (s->n_distinct == 0) {
        r->why = AM_DROP_ALL_MISSING;
        return;
    }
    if (s->n_distinct == 1 && s->n_missing == 0) {
        r->why = AM_DROP_CONSTANT;
        return;
    }
    if (c->type == AM_COL_CAT && unique_per_row(s, n_rows)) {
        r->why = AM_DROP_IDENTIFIER;
        return;
    }
    /* A unique integer column is an identifier when its name says so or when its values are
     * nearly a run of row numbers; unique prices or measurements (floats) are features. */
    if (c->type == AM_COL_NUM && s->integral && unique_per_row(s, n_rows) &&
        (name_is_identifier(c->name) || s->max - s->min + 1 <= 2.0 * (double)n_rows)) {
        r->why = AM_DROP_IDENTIFIER;
        return;
    }
    r->why = AM_DROP_NONE;
    if (c->type == AM_COL_CAT && s->n_distinct == 2) {
        r->role = AM_ROLE_BOOLEAN;
        return;
    }
    if (c->type == AM_COL_NUM && s->n_distinct == 2 && s->min == 0 && s->max == 1) {
        r->role = AM_ROLE_BOOLEAN;
        return;
    }
    switch (c->type) {
    case AM_COL_NUM: r->role = AM_ROLE_NUMERIC; break;
    case AM_COL_CAT: r->role = AM_ROLE_CATEGORICAL; break;
    case AM_COL_TEXT: r->role = AM_ROLE_TEXT; break;
    case AM_COL_TIME: r->role = AM_ROLE_DATETIME; break;
    }
}

/* ---- overrides --------------------------------------------------------------------------- */

/* The closest column name for a "did you mean", or NULL when none is close. */
static const char *closest_name(const am_frame *f, const char *name)
{
    const char *best = NULL;
    int best_d = 0;
    size_t len = strlen(name);
    int limit = len <= 3 ? 1 : len <= 8 ? 2 : 3;
    if (len > 256)
        return NULL;
    for (int32_t j = 0; j < f->n_cols; j++) {
        const char *cand = f->cols[j].name;
        if (!cand || strlen(cand) > 256)
            continue;
        int dist = am_edit_distance(name, cand);
        if (dist <= limit && (!best || dist < best_d)) {
            best = cand;
            best_d = dist;
        }
    }
    return best;
}

/* The column an override names: AM_ERR_DATA when it is unknown or the target. */
static am_status override_column(const am_frame *f, int32_t target_col, const char *name,
                                 const char *option, int32_t *col, am_diag *d)
{
    if (!name)
        return am_fail(d, AM_ERR_ARG, "am_roles_infer: NULL column name in %s", option);
    int32_t j = am_frame_col_find(f, name);
    if (j < 0) {
        const char *near = closest_name(f, name);
        if (near)
            return am_feat_fail(d, AM_ERR_DATA, f, 0, name,
                                "%s names column \"%s\", which is not in the data; did you mean "
                                "\"%s\"?", option, name, near);
        return am_feat_fail(d, AM_ERR_DATA, f, 0, name,
                            "%s names column \"%s\", which is not in the data", option, name);
    }
    if (j == target_col)
        return am_feat_fail(d, AM_ERR_DATA, f, 0, name,
                            "%s names column \"%s\", which is the target", option, name);
    *col = j;
    return AM_OK;
}

/* Fills asked[j] from the options: 0 = nothing asked, a role, or AM_ROLE_DROPPED for --drop. */
static am_status collect_overrides(const am_frame *f, int32_t target_col, const am_role_options *o,
                                   am_role *asked, am_diag *d)
{
    if (!o)
        return AM_OK;
    if (o->n_types < 0 || o->n_drop < 0 || (o->n_types > 0 && !o->types) ||
        (o->n_drop > 0 && !o->drop))
        return am_fail(d, AM_ERR_ARG, "am_roles_infer: bad override lists");
    for (int32_t i = 0; i < o->n_drop; i++) {
        int32_t j;
        am_status st = override_column(f, target_col, o->drop[i], "--drop", &j, d);
        if (st != AM_OK)
            return st;
        asked[j] = AM_ROLE_DROPPED;
    }
    for (int32_t i = 0; i < o->n_types; i++) {
        const am_role_override *t = &o->types[i];
        if ((int)t->role < AM_ROLE_NUMERIC || (int)t->role >= AM_ROLE_DROPPED)
            return am_fail(d, AM_ERR_ARG, "am_roles_infer: bad role %d for \"%s\"", (int)t->role,
                           t->name ? t->name : "(null)");
        int32_t j;
        am_status st = override_column(f, target_col, t->name, "--column-types", &j, d);
        if (st != AM_OK)
            return st;
        if (asked[j] == AM_ROLE_DROPPED)
            return am_feat_fail(d, AM_ERR_DATA, f, 0, t->name,
                                "column \"%s\" is both in --drop and in --column-types", t->name);
        if (asked[j] != 0 && asked[j] != t->role)
            return am_feat_fail(d, AM_ERR_DATA, f, 0, t->name,
                                "--column-types gives column \"%s\" two types: %s and %s", t->name,
                                am_role_name(asked[j]), am_role_name(t->role));
        asked[j] = t->role;
    }
    return AM_OK;
}

/* One value of the column, as text, for messages: the first non-missing one. */
static void example_value(const am_column *c, int64_t n, char *buf, size_t size)
{
    snprintf(buf, size, "none");
    for (int64_t i = 0; i < n; i++) {
        if (has_codes(c)) {
            int32_t k = c->codes[i];
            if (k >= 0 && k < c->levels.n) {
                snprintf(buf, size, "\"%.60s\"", c->levels.items[k]);
                return;
            }
        } else if (isfinite(c->num[i])) {
            char num[40];
            snprintf(buf, size, "%s", am_format_double(c->num[i], num, sizeof(num)));
            return;
        }
    }
}

static bool override_fits(const am_column *c, const col_stats *s, am_role want)
{
    switch (want) {
    case AM_ROLE_NUMERIC: return c->type == AM_COL_NUM;
    /* A number column asked to be a category should have been read as one (am_role_csv_type);
     * if it was not, its raw strings are still usable when the reader kept them. */
    case AM_ROLE_CATEGORICAL: return c->type == AM_COL_CAT || (c->type == AM_COL_NUM && c->codes);
    case AM_ROLE_TEXT: return c->type == AM_COL_TEXT || c->type == AM_COL_CAT;
    case AM_ROLE_DATETIME: return c->type == AM_COL_TIME || c->type == AM_COL_NUM;
    case AM_ROLE_BOOLEAN: return s->n_distinct == 2;
    default: return false;
    }
}

static am_status apply_override(const am_frame *f, const am_column *c, const col_stats *s,
                                am_role want, am_column_role *r, am_diag *d)
{
    if (want == AM_ROLE_DROPPED) {
        r->role = AM_ROLE_DROPPED;
        r->why = AM_DROP_USER;
        return AM_OK;
    }
    if (!override_fits(c, s, want)) {
        char ex[80];
        example_value(c, f->n_rows, ex, sizeof(ex));
        return am_feat_fail(d, AM_ERR_DATA, f, 0, c->name,
                            "--column-types asks for column \"%s\" to be %s, but it holds %s "
                            "values (%lld distinct, %lld missing, e.g. %s)%s",
                            c->name, am_role_name(want), am_coltype_name(c->type),
                            (long long)s->n_distinct, (long long)s->n_missing, ex,
                            want == AM_ROLE_BOOLEAN ? "; boolean needs exactly two distinct values"
                                                    : "");
    }
    r->role = want;
    r->why = AM_DROP_NONE;
    return AM_OK;
}

am_status am_roles_infer(const am_frame *f, int32_t target_col, const am_role_options *o,
                         int32_t n_threads, am_column_role *roles, am_diag *d)
{
    if (!f || !roles || target_col < -1 || target_col >= f->n_cols || f->n_rows < 0)
        return am_fail(d, AM_ERR_ARG, "am_roles_infer: bad arguments");
    size_t nc = f->n_cols > 0 ? (size_t)f->n_cols : 1;
    am_role *asked = am_calloc(nc, sizeof(am_role));
    col_stats *stats = am_calloc(nc, sizeof(col_stats));
    am_status *status = am_calloc(nc, sizeof(am_status));
    am_diag *diags = am_calloc(nc, sizeof(am_diag));
    am_status st = AM_OK;
    if (!asked || !stats || !status || !diags)
        st = am_fail(d, AM_ERR_NOMEM, "out of memory deciding column roles");
    if (st == AM_OK)
        st = collect_overrides(f, target_col, o, asked, d);
    if (st == AM_OK)
        st = count_all(f, n_threads, stats, status, diags, d);
    for (int32_t j = 0; j < f->n_cols && st == AM_OK; j++) {
        const am_column *c = &f->cols[j];
        const col_stats *s = &stats[j];
        am_column_role *r = &roles[j];
        r->n_distinct = s->n_distinct;
        r->n_missing = s->n_missing;
        if (j == target_col) {
            r->role = AM_ROLE_DROPPED;
            r->why = AM_DROP_TARGET;
        } else if (asked[j]) {
            st = apply_override(f, c, s, asked[j], r, d);
        } else {
            infer_role(c, s, f->n_rows, r);
        }
    }
    am_free(diags);
    am_free(status);
    am_free(stats);
    am_free(asked);
    return st;
}
