/* frame_testing.h — what the featurize test suites share: frames built by hand (numbers, times,
 * categories and text with a chosen level dictionary, numbers read with their raw strings),
 * row lists, diagnostics as text, and blocks of encoder outputs. Header-only (static inline),
 * for tests/test_*.c built against automl_featurize and check. Everything is allocated through
 * am_malloc and friends, so am_frame_free and am_free release it; a failed allocation fails the
 * test. */
#ifndef AM_FRAME_TESTING_H
#define AM_FRAME_TESTING_H

#include <check.h>
#include <math.h>
#include <string.h>

#include "../featurize/encoder.h"

/* ---- frames ------------------------------------------------------------------------------ */

/* A frame of n_rows rows and n_cols empty columns, to be filled by the ft_set_* calls. */
static inline am_frame *ft_frame_new(int64_t n_rows, int32_t n_cols)
{
    am_frame *f = am_calloc(1, sizeof(*f));
    ck_assert_ptr_nonnull(f);
    f->n_rows = n_rows;
    f->n_cols = n_cols;
    f->cols = am_calloc((size_t)n_cols, sizeof(am_column));
    ck_assert_ptr_nonnull(f->cols);
    return f;
}

/* Names column j and sets its type, with an empty level dictionary. */
static inline am_column *ft_col_init(am_frame *f, int32_t j, const char *name, am_coltype type)
{
    am_column *c = &f->cols[j];
    c->name = am_strdup(name);
    ck_assert_ptr_nonnull(c->name);
    c->type = type;
    am_strset_init(&c->levels);
    return c;
}

/* A numeric column of v[0..n_rows); NaN = missing. */
static inline void ft_set_num(am_frame *f, int32_t j, const char *name, const double *v)
{
    am_column *c = ft_col_init(f, j, name, AM_COL_NUM);
    c->num = am_malloc_array((size_t)AM_MAX(f->n_rows, 1), sizeof(double));
    ck_assert_ptr_nonnull(c->num);
    for (int64_t i = 0; i < f->n_rows; i++) {
        c->num[i] = v[i];
        c->n_missing += isnan(v[i]);
    }
}

/* A date/time column of v[0..n_rows) (seconds since 1970); NaN = missing. */
static inline void ft_set_time(am_frame *f, int32_t j, const char *name, const double *v)
{
    ft_set_num(f, j, name, v);
    f->cols[j].type = AM_COL_TIME;
}

/* A column of codes (type: category, text, or a number read with its strings) holding
 * v[0..n_rows), NULL = missing. The levels listed in `order` (n_order of them, may be NULL) are
 * added to the dictionary first, in that order, so tests control the dictionary: levels that
 * no row holds, or another order than first appearance. */
static inline void ft_set_codes(am_frame *f, int32_t j, const char *name, am_coltype type,
                                const char *const *order, int n_order, const char *const *v)
{
    am_column *c = ft_col_init(f, j, name, type);
    for (int k = 0; k < n_order; k++)
        ck_assert_int_ge(am_strset_add(&c->levels, order[k], strlen(order[k])), 0);
    c->codes = am_malloc_array((size_t)AM_MAX(f->n_rows, 1), sizeof(int32_t));
    ck_assert_ptr_nonnull(c->codes);
    for (int64_t i = 0; i < f->n_rows; i++) {
        c->codes[i] = v[i] ? am_strset_add(&c->levels, v[i], strlen(v[i])) : -1;
        ck_assert(!v[i] || c->codes[i] >= 0);
        c->n_missing += !v[i];
    }
}

/* A categorical column, levels in order of first appearance. */
static inline void ft_set_cat(am_frame *f, int32_t j, const char *name, const char *const *v)
{
    ft_set_codes(f, j, name, AM_COL_CAT, NULL, 0, v);
}

/* A numeric column read with keep_levels: values plus the raw strings (NULL = missing). */
static inline void ft_set_num_keep(am_frame *f, int32_t j, const char *name,
                                   const char *const *raw)
{
    ft_set_codes(f, j, name, AM_COL_NUM, NULL, 0, raw);
    am_column *c = &f->cols[j];
    c->num = am_malloc_array((size_t)AM_MAX(f->n_rows, 1), sizeof(double));
    ck_assert_ptr_nonnull(c->num);
    for (int64_t i = 0; i < f->n_rows; i++) {
        c->num[i] = NAN;
        if (raw[i])
            ck_assert(am_parse_double(raw[i], strlen(raw[i]), &c->num[i]));
    }
}

/* The file name diagnostics locate errors in. */
static inline void ft_set_source(am_frame *f, const char *source)
{
    f->source = am_strdup(source);
    ck_assert_ptr_nonnull(f->source);
}

/* A one-column frame of n numbers (type AM_COL_NUM or AM_COL_TIME); NaN = missing. */
static inline am_frame *ft_num_frame(const char *name, am_coltype type, const double *v, int64_t n)
{
    am_frame *f = ft_frame_new(n, 1);
    ft_set_num(f, 0, name, v);
    f->cols[0].type = type;
    return f;
}

/* A one-column frame of n codes: ft_set_codes on a frame of its own. */
static inline am_frame *ft_codes_frame(const char *name, am_coltype type,
                                       const char *const *order, int n_order,
                                       const char *const *v, int64_t n)
{
    am_frame *f = ft_frame_new(n, 1);
    ft_set_codes(f, 0, name, type, order, n_order, v);
    return f;
}

/* ---- rows and diagnostics ---------------------------------------------------------------- */

/* The rows 0..n-1 (n may be 0); am_free it. */
static inline int64_t *ft_iota(int64_t n)
{
    int64_t *r = am_malloc_array((size_t)AM_MAX(n, 1), sizeof(int64_t));
    ck_assert_ptr_nonnull(r);
    for (int64_t i = 0; i < n; i++)
        r[i] = i;
    return r;
}

/* The diagnostic as one line, in a buffer that the next call overwrites. */
static inline const char *ft_diag_text(const am_diag *d)
{
    static char buf[1024];
    return am_diag_format(d, buf, sizeof(buf));
}

/* ---- encoder outputs --------------------------------------------------------------------- */

/* width x n outputs as one block: output k of row i at data[k * n + i], column k at cols[k]. */
typedef struct ft_outputs {
    int64_t width, n;
    double *data;
    double **cols;
} ft_outputs;

/* Every cell starts as a value no encoder writes, so a cell left unwritten shows. */
static inline ft_outputs ft_outputs_new(int64_t width, int64_t n)
{
    ft_outputs o = {.width = width, .n = n};
    o.data = am_malloc_array((size_t)(width * AM_MAX(n, 1)), sizeof(double));
    o.cols = am_malloc_array((size_t)AM_MAX(width, 1), sizeof(double *));
    ck_assert_ptr_nonnull(o.data);
    ck_assert_ptr_nonnull(o.cols);
    for (int64_t i = 0; i < width * n; i++)
        o.data[i] = -12345.0;
    for (int64_t k = 0; k < width; k++)
        o.cols[k] = o.data + k * n;
    return o;
}

static inline void ft_outputs_free(ft_outputs *o)
{
    am_free(o->data);
    am_free(o->cols);
}

/* e's outputs for rows (NULL: the first n) of column 0 of f. */
static inline ft_outputs ft_transform(const am_encoder *e, const am_frame *f, const int64_t *rows,
                                      int64_t n)
{
    ft_outputs o = ft_outputs_new(e->width, n);
    e->type->transform(e, &f->cols[0], rows, n, o.cols);
    return o;
}

/* The same shape and the same bits in every cell. */
static inline bool ft_same_outputs(const ft_outputs *a, const ft_outputs *b)
{
    return a->width == b->width && a->n == b->n &&
           memcmp(a->data, b->data, (size_t)(a->width * a->n) * sizeof(double)) == 0;
}

#endif
