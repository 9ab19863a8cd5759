/* target.c — the target column: which task, which classes, which rows are usable.
 *
 * Class labels are kept as written in the training file (the CSV reader keeps the raw strings of
 * the target column as levels even when it is numeric), and class ids follow a sorted order of
 * those labels, so the same data in another row order gives the same ids and the same model. */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A numeric target with 3..FEW_INTEGERS distinct integer values could be classes (ratings,
 * counts, quality grades). Inference still says regression, but tells the user it guessed. */
#define FEW_INTEGERS 20
/* Class ids are int32 and labels live in an am_strset, whose own limit is INT32_MAX / 4. */
#define MAX_CLASSES (INT32_MAX / 4)

am_status am_feat_fail(am_diag *d, am_status status, const am_frame *f, int64_t line,
                       const char *column, const char *fmt, ...)
{
    if (!d)
        return status;
    char msg[sizeof(d->message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    am_diag_clear(d);
    am_fail(d, status, "%s", msg);
    am_diag_locate(d, f ? f->source : NULL, line, column);
    return status;
}

/* ---- rows with a usable target ------------------------------------------------------------ */

static bool target_missing(const am_column *c, int64_t row)
{
    if (c->type == AM_COL_NUM)
        return !isfinite(c->num[row]);
    return c->codes[row] < 0;
}

/* Collects the rows whose target is usable (ascending), warning once about the others. */
static am_status keep_rows(const am_frame *f, const am_column *c, const am_logger *log,
                           int64_t **rows_out, int64_t *n_out, am_diag *d)
{
    int64_t *rows = am_malloc_array((size_t)(f->n_rows > 0 ? f->n_rows : 1), sizeof(int64_t));
    if (!rows)
        return am_fail(d, AM_ERR_NOMEM, "out of memory for the target's row list");
    int64_t n = 0;
    for (int64_t i = 0; i < f->n_rows; i++)
        if (!target_missing(c, i))
            rows[n++] = i;
    int64_t dropped = f->n_rows - n;
    if (n == 0) {
        am_free(rows);
        return am_feat_fail(d, AM_ERR_DATA, f, 0, c->name, "target \"%s\" has no usable value",
                            c->name);
    }
    if (dropped > 0)
        am_log(log, AM_LOG_WARN,
               "target \"%s\": dropped %lld row%s whose value is missing, NaN or infinite",
               c->name, (long long)dropped, dropped == 1 ? "" : "s");
    *rows_out = rows;
    *n_out = n;
    return AM_OK;
}

/* The label text of a row: the raw string when the column kept one, else the number. */
static const char *row_text(const am_column *c, int64_t row, char *buf, size_t size)
{
    if (c->codes && c->codes[row] >= 0)
        return c->levels.items[c->codes[row]];
    return am_format_double(c->num[row], buf, size);
}

/* ---- choosing the task -------------------------------------------------------------------- */

/* What the data looks like, for choosing and checking the task. */
typedef struct target_shape {
    int64_t n_distinct;
    bool numeric;
    bool all_integers; /* numeric only */
    const char *first; /* a label, for the one-class message */
} target_shape;

static am_status one_class_error(const am_frame *f, const am_column *c, am_task task,
                                 const target_shape *s, am_diag *d)
{
    if (task == AM_TASK_REGRESSION || (task == 0 && s->numeric))
        return am_feat_fail(d, AM_ERR_DATA, f, 0, c->name,
                            "target \"%s\" has only one distinct value (\"%s\"); there is "
                            "nothing to learn", c->name, s->first);
    return am_feat_fail(d, AM_ERR_DATA, f, 0, c->name,
                        "target \"%s\" has only one class (\"%s\"); classification needs at "
                        "least two", c->name, s->first);
}

/* Checks a requested task against the data, or infers one; logs the choice and why. */
static am_status choose_task(const am_frame *f, const am_column *c, unsigned want,
                             const target_shape *s, const am_logger *log, am_task *task,
                             am_diag *d)
{
    const char *name = c->name;
    long long k = (long long)s->n_distinct;
    if (k < 2)
        return one_class_error(f, c, (am_task)want, s, d);
    if (want == AM_TASK_REGRESSION) {
        am_log(log, AM_LOG_INFO, "target \"%s\": regression (as requested)", name);
        *task = AM_TASK_REGRESSION;
        return AM_OK;
    }
    if (want == AM_TASK_BINARY && k != 2)
        return am_feat_fail(d, AM_ERR_DATA, f, 0, name,
                            "target \"%s\" has %lld classes; binary classification needs "
                            "exactly 2 (use multiclass)", name, k);
    if (want == AM_TASK_MULTICLASS && k == 2)
        return am_feat_fail(d, AM_ERR_DATA, f, 0, name,
                            "target \"%s\" has 2 classes; multiclass classification needs at "
                            "least 3 (use binary for two classes)", name);
    if (want != 0 && k > MAX_CLASSES)
        return am_feat_fail(d, AM_ERR_DATA, f, 0, name, "target \"%s\" has too many classes "
                            "(%lld)", name, k);
    if (want != 0) {
        am_log(log, AM_LOG_INFO, "target \"%s\": %lld classes → %s classification (as "
               "requested)", name, k, am_task_name((am_task)want));
        *task = (am_task)want;
        return AM_OK;
    }
    if (!s->numeric) {
        *task = k == 2 ? AM_TASK_BINARY : AM_TASK_MULTICLASS;
        am_log(log, AM_LOG_INFO, "target \"%s\": %lld classes → %s classification", name, k,
               am_task_name(*task));
        if (k > MAX_CLASSES)
            return am_feat_fail(d, AM_ERR_DATA, f, 0, name, "target \"%s\" has too many "
                                "classes (%lld)", name, k);
        return AM_OK;
    }
    if (k == 2) {
        *task = AM_TASK_BINARY;
        am_log(log, AM_LOG_INFO, "target \"%s\": 2 distinct values → binary classification",
               name);
        return AM_OK;
    }
    *task = AM_TASK_REGRESSION;
    if (s->all_integers && k <= FEW_INTEGERS)
        am_log(log, AM_LOG_INFO,
               "target \"%s\" is numeric with %lld distinct integer values: treating it as "
               "regression (use --task multiclass if these are classes)", name, k);
    else
        am_log(log, AM_LOG_INFO, "target \"%s\": numeric with %lld distinct values → "
               "regression", name, k);
    return AM_OK;
}

/* ---- numeric targets ------------------------------------------------------------------- */

/* Sorted distinct values of the kept rows (all finite). Returns the count; NULL on no memory. */
static double *distinct_values(const am_column *c, const int64_t *rows, int64_t n, int64_t *k)
{
    double *v = am_malloc_array((size_t)n, sizeof(double));
    if (!v)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        v[i] = c->num[rows[i]];
    qsort(v, (size_t)n, sizeof(double), am_feat_cmp_double);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (m == 0 || v[i] != v[m - 1])
            v[m++] = v[i];
    *k = m;
    return v;
}

static int64_t find_value(const double *v, int64_t k, double x)
{
    int64_t lo = 0, hi = k;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < k && v[lo] == x ? lo : -1;
}

/* Classes of a numeric target are its distinct values in numeric order; each is labelled with
 * the raw string of its first occurrence ("1.0" stays "1.0"). */
static am_status numeric_classes(const am_column *c, const int64_t *rows, int64_t n,
                                 const double *v, int64_t k, am_target *t, double *y,
                                 am_diag *d)
{
    const char **first = am_calloc((size_t)k, sizeof(char *));
    char (*formatted)[32] = am_malloc_array((size_t)k, 32);
    am_status st = AM_OK;
    if (!first || !formatted) {
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for the target's classes");
        goto cleanup;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t id = find_value(v, k, c->num[rows[i]]);
        y[i] = (double)id;
        if (!first[id])
            first[id] = row_text(c, rows[i], formatted[id], 32);
    }
    for (int64_t id = 0; id < k; id++) {
        int32_t got = am_strset_add(&t->labels, first[id], strlen(first[id]));
        if (got != (int32_t)id) {
            st = got < 0 ? am_fail(d, AM_ERR_NOMEM, "out of memory for the target's labels")
                         : am_fail(d, AM_ERR_INTERNAL, "two target values share the label "
                                   "\"%s\"", first[id]);
            goto cleanup;
        }
    }
cleanup:
    am_free(formatted);
    am_free(first);
    return st;
}

static am_status fit_numeric(const am_frame *f, const am_column *c, unsigned want,
                             const int64_t *rows, int64_t n, const am_logger *log, am_target *t,
                             double *y, am_diag *d)
{
    int64_t k = 0;
    double *v = distinct_values(c, rows, n, &k);
    if (!v)
        return am_fail(d, AM_ERR_NOMEM, "out of memory for the target's values");
    target_shape s = {.n_distinct = k, .numeric = true, .all_integers = true};
    for (int64_t i = 0; i < k && s.all_integers; i++)
        s.all_integers = v[i] == floor(v[i]);
    char buf[32];
    s.first = row_text(c, rows[0], buf, sizeof(buf));
    am_task task = 0;
    am_status st = choose_task(f, c, want, &s, log, &task, d);
    if (st == AM_OK) {
        t->task = task;
        if (task == AM_TASK_REGRESSION) {
            for (int64_t i = 0; i < n; i++)
                y[i] = c->num[rows[i]];
        } else {
            t->n_classes = (int32_t)k;
            st = numeric_classes(c, rows, n, v, k, t, y, d);
        }
    }
    am_free(v);
    return st;
}

/* ---- categorical targets ----------------------------------------------------------------- */

typedef struct label_key {
    const char *s;
    double v;
    int32_t code;
} label_key;

static int cmp_label_numeric(const void *a, const void *b)
{
    const label_key *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return strcmp(x->s, y->s);
}

static int cmp_label_bytes(const void *a, const void *b)
{
    return strcmp(((const label_key *)a)->s, ((const label_key *)b)->s);
}

/* Orders labels numerically when every one is a number, else bytewise. */
static void sort_labels(label_key *keys, int64_t k)
{
    bool numeric = true;
    for (int64_t i = 0; i < k && numeric; i++)
        numeric = am_parse_double(keys[i].s, strlen(keys[i].s), &keys[i].v);
    qsort(keys, (size_t)k, sizeof(label_key), numeric ? cmp_label_numeric : cmp_label_bytes);
}

static am_status fit_categorical(const am_frame *f, const am_column *c, unsigned want,
                                 const int64_t *rows, int64_t n, const am_logger *log,
                                 am_target *t, double *y, am_diag *d)
{
    int32_t n_levels = c->levels.n;
    int32_t *class_of = am_malloc_array((size_t)(n_levels > 0 ? n_levels : 1), sizeof(int32_t));
    label_key *keys = am_malloc_array((size_t)(n_levels > 0 ? n_levels : 1), sizeof(label_key));
    am_status st = AM_OK;
    if (!class_of || !keys) {
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for the target's classes");
        goto cleanup;
    }
    for (int32_t l = 0; l < n_levels; l++)
        class_of[l] = -1;
    /* Only labels that occur in kept rows become classes. */
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t code = c->codes[rows[i]];
        if (class_of[code] < 0) {
            class_of[code] = 0;
            keys[k++] = (label_key){c->levels.items[code], 0.0, code};
        }
    }
    target_shape s = {.n_distinct = k, .numeric = false, .first = keys[0].s};
    am_task task = 0;
    st = choose_task(f, c, want, &s, log, &task, d);
    if (st != AM_OK)
        goto cleanup;
    sort_labels(keys, k);
    for (int64_t id = 0; id < k; id++) {
        class_of[keys[id].code] = (int32_t)id;
        if (am_strset_add(&t->labels, keys[id].s, strlen(keys[id].s)) != (int32_t)id) {
            st = am_fail(d, AM_ERR_NOMEM, "out of memory for the target's labels");
            goto cleanup;
        }
    }
    for (int64_t i = 0; i < n; i++)
        y[i] = (double)class_of[c->codes[rows[i]]];
    t->task = task;
    t->n_classes = (int32_t)k;
cleanup:
    am_free(keys);
    am_free(class_of);
    return st;
}

/* ---- fit and apply ----------------------------------------------------------------------- */

static bool task_valid(unsigned task)
{
    return task == AM_TASK_BINARY || task == AM_TASK_MULTICLASS || task == AM_TASK_REGRESSION;
}

am_status am_target_fit(const am_frame *f, int32_t col, const am_target_options *opts,
                        const am_logger *log, am_target *t, double **y, int64_t **rows,
                        int64_t *n_rows, am_diag *d)
{
    if (!t || !y || !rows || !n_rows)
        return am_fail(d, AM_ERR_ARG, "am_target_fit: NULL output");
    memset(t, 0, sizeof(*t));
    am_strset_init(&t->labels);
    *y = NULL;
    *rows = NULL;
    *n_rows = 0;
    if (!f || col < 0 || col >= f->n_cols)
        return am_fail(d, AM_ERR_ARG, "am_target_fit: no such column (%d)", (int)col);
    unsigned want = opts ? opts->task : 0;
    if (want != 0 && !task_valid(want))
        return am_fail(d, AM_ERR_CONFIG, "unknown task (%u)", want);
    const am_column *c = &f->cols[col];
    if (c->type == AM_COL_TIME)
        return am_feat_fail(d, AM_ERR_DATA, f, 0, c->name, "target \"%s\" is a date/time "
                            "column; a target must hold numbers or class labels", c->name);
    if (want == AM_TASK_REGRESSION && c->type != AM_COL_NUM)
        return am_feat_fail(d, AM_ERR_DATA, f, 0, c->name, "target \"%s\" is a %s column; "
                            "regression needs a numeric target", c->name,
                            am_coltype_name(c->type));

    int64_t *kept = NULL, n = 0;
    double *values = NULL;
    am_status st = keep_rows(f, c, log, &kept, &n, d);
    if (st != AM_OK)
        return st;
    values = am_malloc_array((size_t)n, sizeof(double));
    t->name = am_strdup(c->name);
    if (!values || !t->name) {
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for the target");
        goto fail;
    }
    if (c->type == AM_COL_NUM)
        st = fit_numeric(f, c, want, kept, n, log, t, values, d);
    else
        st = fit_categorical(f, c, want, kept, n, log, t, values, d);
    if (st != AM_OK)
        goto fail;
    *y = values;
    *rows = kept;
    *n_rows = n;
    return AM_OK;
fail:
    am_free(values);
    am_free(kept);
    am_target_fini(t);
    return st;
}

/* Label values when every label is a number (then they ascend), so "1.0" in a new file finds
 * the class "1"; NULL when labels are not all numbers or memory ran out (string match only). */
static double *label_values(const am_target *t)
{
    double *v = am_malloc_array((size_t)(t->labels.n > 0 ? t->labels.n : 1), sizeof(double));
    if (!v)
        return NULL;
    for (int32_t i = 0; i < t->labels.n; i++) {
        if (!am_parse_double(t->labels.items[i], strlen(t->labels.items[i]), &v[i])) {
            am_free(v);
            return NULL;
        }
    }
    return v;
}

/* Class id of a label text: exact string first, then by value among numeric labels. */
static int32_t class_of_text(const am_target *t, const double *values, const char *s)
{
    int32_t id = am_strset_find(&t->labels, s, strlen(s));
    double x;
    if (id < 0 && values && am_parse_double(s, strlen(s), &x))
        id = (int32_t)find_value(values, t->labels.n, x);
    return id;
}

static am_status unknown_label(const am_frame *f, const am_column *c, int64_t row,
                               const char *label, am_diag *d)
{
    return am_feat_fail(d, AM_ERR_DATA, f, am_frame_row_line(f, row), c->name,
                        "target \"%s\": class \"%s\" did not occur in the training data",
                        c->name, label);
}

static am_status apply_classes(const am_target *t, const am_frame *f, const am_column *c,
                               const int64_t *rows, int64_t n, double *y, am_diag *d)
{
    double *values = label_values(t);
    int32_t n_levels = c->codes ? c->levels.n : 0;
    /* Class per level of this frame, resolved on first use: -2 unknown yet, -1 no class. */
    int32_t *class_of = am_malloc_array((size_t)(n_levels > 0 ? n_levels : 1), sizeof(int32_t));
    am_status st = AM_OK;
    if (!class_of) {
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for the target's classes");
        goto cleanup;
    }
    for (int32_t l = 0; l < n_levels; l++)
        class_of[l] = -2;
    for (int64_t i = 0; i < n; i++) {
        int64_t row = rows[i];
        char buf[32];
        const char *text = row_text(c, row, buf, sizeof(buf));
        int32_t id;
        if (c->codes && c->codes[row] >= 0) {
            int32_t code = c->codes[row];
            if (class_of[code] == -2)
                class_of[code] = class_of_text(t, values, text);
            id = class_of[code];
        } else {
            id = class_of_text(t, values, text);
        }
        if (id < 0) {
            st = unknown_label(f, c, row, text, d);
            goto cleanup;
        }
        y[i] = (double)id;
    }
cleanup:
    am_free(class_of);
    am_free(values);
    return st;
}

am_status am_target_apply(const am_target *t, const am_frame *f, int32_t col, const am_logger *log,
                          double **y, int64_t **rows, int64_t *n_rows, am_diag *d)
{
    if (!y || !rows || !n_rows)
        return am_fail(d, AM_ERR_ARG, "am_target_apply: NULL output");
    *y = NULL;
    *rows = NULL;
    *n_rows = 0;
    if (!t || !task_valid(t->task) || !f || col < 0 || col >= f->n_cols)
        return am_fail(d, AM_ERR_ARG, "am_target_apply: no fitted target or no such column");
    const am_column *c = &f->cols[col];
    if (c->type == AM_COL_TIME || (t->task == AM_TASK_REGRESSION && c->type != AM_COL_NUM))
        return am_feat_fail(d, AM_ERR_DATA, f, 0, c->name, "target \"%s\" is a %s column here; "
                            "the model needs %s", c->name, am_coltype_name(c->type),
                            t->task == AM_TASK_REGRESSION ? "numbers" : "class labels");
    int64_t *kept = NULL, n = 0;
    am_status st = keep_rows(f, c, log, &kept, &n, d);
    if (st != AM_OK)
        return st;
    double *values = am_malloc_array((size_t)n, sizeof(double));
    if (!values) {
        am_free(kept);
        return am_fail(d, AM_ERR_NOMEM, "out of memory for the target");
    }
    if (t->task == AM_TASK_REGRESSION) {
        for (int64_t i = 0; i < n; i++)
            values[i] = c->num[kept[i]];
    } else {
        st = apply_classes(t, f, c, kept, n, values, d);
    }
    if (st != AM_OK) {
        am_free(values);
        am_free(kept);
        return st;
    }
    *y = values;
    *rows = kept;
    *n_rows = n;
    return AM_OK;
}

void am_target_fini(am_target *t)
{
    if (!t)
        return;
    am_free(t->name);
    am_strset_fini(&t->labels);
    memset(t, 0, sizeof(*t));
}

/* ---- save and load ----------------------------------------------------------------------- */

/* Payload: str name, u32 task, u32 n_classes, n_classes x str label (class id order). */
am_status am_target_save(const am_target *t, am_buf *b, am_diag *d)
{
    if (!t || !b || !task_valid(t->task) || t->labels.n != t->n_classes)
        return am_fail(d, AM_ERR_ARG, "am_target_save: not a fitted target");
    am_buf_str(b, t->name ? t->name : "");
    am_buf_u32(b, (uint32_t)t->task);
    am_buf_u32(b, (uint32_t)t->n_classes);
    for (int32_t i = 0; i < t->labels.n; i++)
        am_buf_str(b, t->labels.items[i]);
    return am_buf_status(b, d);
}

static bool classes_fit_task(am_task task, uint32_t n)
{
    switch (task) {
    case AM_TASK_REGRESSION: return n == 0;
    case AM_TASK_BINARY: return n == 2;
    case AM_TASK_MULTICLASS: return n >= 3 && n <= MAX_CLASSES;
    }
    return false;
}

am_status am_target_load(am_reader *r, am_target *t, am_diag *d)
{
    if (!r || !t)
        return am_fail(d, AM_ERR_ARG, "am_target_load: NULL argument");
    memset(t, 0, sizeof(*t));
    am_strset_init(&t->labels);
    t->name = am_get_str(r, AM_FEAT_STR_MAX);
    uint32_t task = am_get_u32(r);
    uint32_t n = am_get_u32(r);
    if (!r->failed && (!task_valid(task) || !classes_fit_task((am_task)task, n) ||
                       n > r->left / 4))
        am_reader_fail(r);
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        char *label = am_get_str(r, AM_FEAT_STR_MAX);
        if (!label)
            break;
        int32_t got = am_strset_add(&t->labels, label, strlen(label));
        am_free(label);
        if (got < 0) {
            am_target_fini(t);
            return am_fail(d, AM_ERR_NOMEM, "out of memory loading the target");
        }
        if (got != (int32_t)i) /* a duplicate label */
            am_reader_fail(r);
    }
    am_status st = am_reader_status(r, false, d);
    if (st == AM_OK && !t->name)
        st = am_fail(d, AM_ERR_NOMEM, "out of memory loading the target");
    if (st != AM_OK) {
        am_target_fini(t);
        return st;
    }
    t->task = (am_task)task;
    t->n_classes = (int32_t)n;
    return AM_OK;
}
