/* enc_category.c — categorical columns: "onehot" (one 0/1 output per kept level, with <rare>,
 * <missing> and <unseen> slots), "boolean" (one 0/1 output for a two-level column), "frequency"
 * (the share of training rows holding the level), "target" (smoothed target statistics per level,
 * out of fold for the training rows) and "native_categorical" (trees: the level's index).
 *
 * Every encoder remembers levels by their string, not their code: the column handed to transform
 * may come from another frame (validation rows, a predict file) whose level dictionary is in
 * another order and holds other levels. Transform maps each level of that column once through a
 * string set built at fit or load time, then maps the rows through that table.
 *
 * For the same reason no order here follows the fit frame's dictionary either: that lists levels
 * by first appearance over every row of the file, validation rows included, so a validation row
 * could reorder a fitted encoder's outputs or saved bytes. Every list of levels an encoder keeps
 * (one-hot slots, native codes, the saved levels), and the one-hot cap's ties, go by the bytewise
 * order of the level strings (strcmp), which depends on the training rows alone. */
#include "encoder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ONEHOT_MAX AM_FEAT_ONEHOT_MAX
#define DEFAULT_RARE_MIN AM_FEAT_RARE_MIN

/* A row's level, as an index into an encoder's string set, or one of these. */
enum { LEVEL_ABSENT = -1, LEVEL_MISSING = -2 };

/* ---- shared helpers ---------------------------------------------------------------------- */

static int32_t rare_min_count(const am_feat_options *o)
{
    int32_t v = o ? o->rare_min_count : 0;
    return v == 0 ? DEFAULT_RARE_MIN : AM_MAX(v, 1);
}

static int32_t onehot_max_levels(const am_feat_options *o)
{
    int32_t v = o ? o->onehot_max_levels : 0;
    return v > 0 ? v : DEFAULT_ONEHOT_MAX;
}

static am_status fail_nomem(const am_enc_fit_args *a, const char *who, am_diag *d)
{
    return am_feat_fail(d, AM_ERR_NOMEM, a->frame, 0, a->col->name,
                        "out of memory for the %s encoding of column \"%s\"", who, a->col->name);
}

static am_status fail_no_level(const am_enc_fit_args *a, am_diag *d)
{
    return am_feat_fail(d, AM_ERR_DATA, a->frame, 0, a->col->name,
                        "column \"%s\" has no value in the training rows", a->col->name);
}

/* Counts the training rows of each level code (counts: col->levels.n entries) and the missing
 * ones. AM_ERR_ARG when the column holds no codes or a code outside its dictionary: the frame is
 * broken, and counting it would write out of bounds. */
static am_status count_levels(const am_enc_fit_args *a, const char *who, int64_t **counts,
                              int64_t *n_missing, am_diag *d)
{
    const am_column *c = a->col;
    *counts = NULL;
    *n_missing = 0;
    if (!c->codes || c->levels.n < 0 || a->n_rows <= 0 || !a->rows)
        return am_feat_fail(d, AM_ERR_ARG, a->frame, 0, c->name,
                            "%s encoding: column \"%s\" is not categorical or has no rows", who,
                            c->name);
    int64_t *n = am_calloc((size_t)AM_MAX(c->levels.n, 1), sizeof(int64_t));
    if (!n)
        return fail_nomem(a, who, d);
    for (int64_t i = 0; i < a->n_rows; i++) {
        int32_t code = c->codes[a->rows[i]];
        if (code < -1 || code >= c->levels.n) {
            am_free(n);
            return am_feat_fail(d, AM_ERR_ARG, a->frame, 0, c->name,
                                "%s encoding: column \"%s\" holds a code outside its levels", who,
                                c->name);
        }
        if (code < 0)
            (*n_missing)++;
        else
            n[code]++;
    }
    *counts = n;
    return AM_OK;
}

static bool add_level(am_strset *set, const char *s)
{
    return am_strset_add(set, s, strlen(s)) >= 0;
}

/* A level held by some training row: its string and its code in the fit column. */
typedef struct seen_level {
    const char *s;
    int32_t code;
} seen_level;

static int cmp_seen_level(const void *pa, const void *pb)
{
    const seen_level *a = pa, *b = pb;
    return strcmp(a->s, b->s);
}

/* The levels with counts[code] > 0, in bytewise order of their strings (never equal: the
 * dictionary holds each string once, so the order does not depend on qsort). NULL when out of
 * memory; *n_seen may be 0. */
static seen_level *seen_bytewise(const am_column *c, const int64_t *counts, int32_t *n_seen)
{
    int32_t n = 0;
    for (int32_t l = 0; l < c->levels.n; l++)
        n += counts[l] > 0;
    seen_level *seen = am_malloc_array((size_t)AM_MAX(n, 1), sizeof(seen_level));
    if (!seen)
        return NULL;
    int32_t k = 0;
    for (int32_t l = 0; l < c->levels.n; l++)
        if (counts[l] > 0)
            seen[k++] = (seen_level){c->levels.items[l], l};
    qsort(seen, (size_t)n, sizeof(seen_level), cmp_seen_level);
    *n_seen = n;
    return seen;
}

/* For each level of col, the index of the same string in set, or LEVEL_ABSENT. NULL when out
 * of memory: callers then look levels up row by row (slower, same result), because transform
 * cannot fail. */
static int32_t *map_levels(const am_strset *set, const am_column *col)
{
    if (!col->codes || col->levels.n <= 0)
        return NULL;
    int32_t *map = am_malloc_array((size_t)col->levels.n, sizeof(int32_t));
    if (!map)
        return NULL;
    for (int32_t l = 0; l < col->levels.n; l++) {
        const char *s = col->levels.items[l];
        map[l] = am_strset_find(set, s, strlen(s));
    }
    return map;
}

/* The level of one row as an index into set (through map when there is one). A column without
 * codes reads as missing, a code outside the dictionary as absent: transform never fails. */
static int32_t level_at(const am_strset *set, const int32_t *map, const am_column *col,
                        int64_t row)
{
    if (!col->codes)
        return LEVEL_MISSING;
    int32_t code = col->codes[row];
    if (code == -1)
        return LEVEL_MISSING;
    if (code < 0 || code >= col->levels.n)
        return LEVEL_ABSENT;
    if (map)
        return map[code];
    const char *s = col->levels.items[code];
    return am_strset_find(set, s, strlen(s));
}

/* Payload strings: u64 count, then each string (u32 length + bytes). */
static void save_levels(const am_strset *set, am_buf *b)
{
    am_buf_u64(b, (uint64_t)set->n);
    for (int32_t i = 0; i < set->n; i++)
        am_buf_str(b, set->items[i]);
}

/* The most strings the rest of the payload could hold (each takes at least its 4-byte length),
 * so a corrupt count is refused before anything is allocated for it. */
static uint64_t max_strings(const am_reader *r)
{
    return AM_MIN((uint64_t)(r->left / 4), (uint64_t)INT32_MAX / 4);
}

/* Reads the strings saved by save_levels into an empty set. Each string must be new (a repeat
 * would make two slots share one string) and free of NUL bytes. AM_ERR_NOMEM apart from
 * AM_ERR_FORMAT, so that out of memory is not reported as a corrupt file. */
static am_status load_levels(am_reader *r, am_strset *set, const char *who, am_diag *d)
{
    uint64_t n = am_get_count(r, max_strings(r));
    for (uint64_t i = 0; i < n && !r->failed; i++) {
        uint32_t len = am_get_u32(r);
        if (r->failed || len > AM_FEAT_STR_MAX || len > r->left ||
            (len && memchr(r->p, '\0', len))) {
            am_reader_fail(r);
            break;
        }
        int32_t at = am_strset_add(set, (const char *)r->p, len);
        if (at < 0)
            return am_fail(d, AM_ERR_NOMEM, "out of memory loading the %s encoder", who);
        if (at != set->n - 1 || (uint64_t)set->n != i + 1)
            am_reader_fail(r);
        /* The bytes were copied by the set: step over them. */
        r->p += len;
        r->left -= len;
    }
    if (r->failed)
        return am_fail(d, AM_ERR_FORMAT, "featurizer: the %s encoder's levels are corrupt", who);
    return AM_OK;
}

/* am_encoder_load_common, with a message that names the encoder. */
static am_status load_common(am_reader *r, int64_t max_width, am_encoder *e, const char *who,
                             am_diag *d)
{
    am_diag inner;
    am_diag_clear(&inner);
    int64_t room = (int64_t)AM_MIN((uint64_t)(r->left / 4), (uint64_t)INT32_MAX);
    am_status st = am_encoder_load_common(r, AM_MIN(max_width, room), e, &inner);
    if (st == AM_ERR_FORMAT)
        return am_fail(d, st, "featurizer: the %s encoder is corrupt: %s", who, inner.message);
    if (st != AM_OK)
        return am_fail(d, st, "%s", inner.message);
    return AM_OK;
}

static am_status check_version(uint32_t version, const am_encoder_type *type, am_diag *d)
{
    if (version != type->version)
        return am_fail(d, AM_ERR_FORMAT, "featurizer: %s encoder version %u is not supported",
                       type->name, (unsigned)version);
    return AM_OK;
}

static bool unit_share(double v)
{
    return v >= 0.0 && v <= 1.0; /* false for NaN too */
}

/* ---- onehot ------------------------------------------------------------------------------ */

/* Output slots: the kept levels (0..n_kept-1, bytewise order), then <rare> when some training
 * level was grouped, <missing> when the training rows missed values, and <unseen> last. */
typedef struct onehot_enc {
    am_encoder base;
    am_strset levels; /* the kept levels (index = slot), then the grouped ones; each bytewise */
    int32_t n_kept;
    bool has_missing;
} onehot_enc;

static bool onehot_has_rare(const onehot_enc *oe)
{
    return oe->levels.n > oe->n_kept;
}

static int64_t onehot_width(const onehot_enc *oe)
{
    return (int64_t)oe->n_kept + onehot_has_rare(oe) + oe->has_missing + 1;
}

static void onehot_free(am_encoder *e)
{
    if (!e)
        return;
    onehot_enc *oe = (onehot_enc *)e;
    am_strset_fini(&oe->levels);
    am_encoder_fini(e);
    am_free(oe);
}

static onehot_enc *onehot_new(void)
{
    onehot_enc *oe = am_calloc(1, sizeof(*oe));
    if (oe) {
        oe->base.type = &am_enc_onehot;
        am_strset_init(&oe->levels);
    }
    return oe;
}

typedef struct level_count {
    int32_t rank; /* in bytewise order */
    int64_t count;
} level_count;

/* Most frequent first; ties: the bytewise first, so the choice depends on neither qsort nor the
 * dictionary. */
static int cmp_level_count(const void *pa, const void *pb)
{
    const level_count *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->rank > b->rank) - (a->rank < b->rank);
}

/* Marks kept[i] for the seen levels (bytewise, n_seen of them) held by at least rare_min rows,
 * at most max_levels of them (the most frequent). Returns the number kept, or -1 when out of
 * memory. */
static int32_t choose_kept(const int64_t *counts, const seen_level *seen, int32_t n_seen,
                           int32_t rare_min, int32_t max_levels, bool *kept)
{
    int32_t n_cand = 0;
    for (int32_t i = 0; i < n_seen; i++)
        n_cand += counts[seen[i].code] >= rare_min;
    if (n_cand <= max_levels) {
        for (int32_t i = 0; i < n_seen; i++)
            kept[i] = counts[seen[i].code] >= rare_min;
        return n_cand;
    }
    level_count *cand = am_malloc_array((size_t)n_cand, sizeof(level_count));
    if (!cand)
        return -1;
    int32_t k = 0;
    for (int32_t i = 0; i < n_seen; i++)
        if (counts[seen[i].code] >= rare_min)
            cand[k++] = (level_count){i, counts[seen[i].code]};
    qsort(cand, (size_t)n_cand, sizeof(level_count), cmp_level_count);
    for (int32_t i = 0; i < max_levels; i++)
        kept[cand[i].rank] = true;
    am_free(cand);
    return max_levels;
}

/* Fills the level set (the kept levels, then the grouped ones, each bytewise) and the names. */
static bool onehot_build(onehot_enc *oe, const am_column *c, const seen_level *seen,
                         int32_t n_seen, const bool *kept)
{
    for (int32_t i = 0; i < n_seen; i++)
        if (kept[i] && !add_level(&oe->levels, seen[i].s))
            return false;
    for (int32_t i = 0; i < n_seen; i++)
        if (!kept[i] && !add_level(&oe->levels, seen[i].s))
            return false;
    if (!am_encoder_init_names(&oe->base, onehot_width(oe)))
        return false;
    int64_t k = 0;
    for (; k < oe->n_kept; k++)
        if (!(oe->base.names[k] = am_encoder_join(c->name, "=", oe->levels.items[k])))
            return false;
    if (onehot_has_rare(oe) && !(oe->base.names[k++] = am_encoder_join(c->name, "=<rare>", "")))
        return false;
    if (oe->has_missing && !(oe->base.names[k++] = am_encoder_join(c->name, "=<missing>", "")))
        return false;
    return (oe->base.names[k] = am_encoder_join(c->name, "=<unseen>", "")) != NULL;
}

static am_status onehot_fit(const am_enc_fit_args *a, am_encoder **out, am_diag *d)
{
    const am_column *c = a->col;
    int64_t *counts = NULL, n_missing = 0;
    am_status st = count_levels(a, "onehot", &counts, &n_missing, d);
    if (st != AM_OK)
        return st;
    int32_t n_seen = 0;
    seen_level *seen = seen_bytewise(c, counts, &n_seen);
    bool *kept = am_calloc((size_t)AM_MAX(n_seen, 1), sizeof(bool));
    onehot_enc *oe = onehot_new();
    if (!seen || !kept || !oe) {
        st = fail_nomem(a, "onehot", d);
        goto done;
    }
    if (n_missing == a->n_rows) {
        st = fail_no_level(a, d);
        goto done;
    }
    oe->n_kept = choose_kept(counts, seen, n_seen, rare_min_count(a->opts),
                             onehot_max_levels(a->opts), kept);
    oe->has_missing = n_missing > 0;
    if (oe->n_kept < 0 || !onehot_build(oe, c, seen, n_seen, kept))
        st = fail_nomem(a, "onehot", d);
done:
    am_free(kept);
    am_free(seen);
    am_free(counts);
    if (st != AM_OK) {
        onehot_free(oe ? &oe->base : NULL);
        return st;
    }
    *out = &oe->base;
    return AM_OK;
}

static void onehot_transform(const am_encoder *e, const am_column *col, const int64_t *rows,
                             int64_t n, double *const *out)
{
    const onehot_enc *oe = (const onehot_enc *)e;
    int64_t rare = onehot_has_rare(oe) ? oe->n_kept : -1;
    int64_t unseen = e->width - 1;
    /* Missing values when training had none: no slot says "missing", so the unseen slot (a
     * value the training rows never showed) takes them. */
    int64_t missing = oe->has_missing ? oe->n_kept + onehot_has_rare(oe) : unseen;
    for (int64_t k = 0; k < e->width; k++)
        for (int64_t i = 0; i < n; i++)
            out[k][i] = 0.0;
    int32_t *map = map_levels(&oe->levels, col);
    for (int64_t i = 0; i < n; i++) {
        int32_t at = level_at(&oe->levels, map, col, am_enc_row(rows, i));
        int64_t slot = at == LEVEL_MISSING ? missing
                       : at == LEVEL_ABSENT ? unseen
                       : at < oe->n_kept    ? at
                                            : rare;
        if (slot >= 0)
            out[slot][i] = 1.0;
    }
    am_free(map);
}

/* Payload: common fields, u64 kept count, the levels (kept, then grouped), u8 has_missing. */
static am_status onehot_save(const am_encoder *e, am_buf *b, am_diag *d)
{
    const onehot_enc *oe = (const onehot_enc *)e;
    am_encoder_save_common(e, b);
    am_buf_u64(b, (uint64_t)oe->n_kept);
    save_levels(&oe->levels, b);
    am_buf_u8(b, oe->has_missing ? 1 : 0);
    return am_buf_status(b, d);
}

static am_status onehot_load(am_reader *r, uint32_t version, am_encoder **out, am_diag *d)
{
    am_status st = check_version(version, &am_enc_onehot, d);
    if (st != AM_OK)
        return st;
    onehot_enc *oe = onehot_new();
    if (!oe)
        return am_fail(d, AM_ERR_NOMEM, "out of memory loading the onehot encoder");
    st = load_common(r, INT32_MAX, &oe->base, "onehot", d);
    uint64_t n_kept = 0;
    if (st == AM_OK) {
        n_kept = am_get_count(r, (uint64_t)INT32_MAX);
        st = load_levels(r, &oe->levels, "onehot", d);
    }
    if (st == AM_OK) {
        uint8_t has_missing = am_get_u8(r);
        oe->n_kept = (int32_t)AM_MIN(n_kept, (uint64_t)oe->levels.n);
        oe->has_missing = has_missing == 1;
        if (r->failed || has_missing > 1 || n_kept > (uint64_t)oe->levels.n ||
            oe->base.n_categories || oe->base.width != onehot_width(oe))
            st = am_fail(d, AM_ERR_FORMAT, "featurizer: the onehot encoder is corrupt");
    }
    if (st != AM_OK) {
        onehot_free(&oe->base);
        return st;
    }
    *out = &oe->base;
    return AM_OK;
}

const am_encoder_type am_enc_onehot = {
    .name = "onehot",
    .version = 1,
    .fit = onehot_fit,
    .transform = onehot_transform,
    .transform_train = NULL,
    .save = onehot_save,
    .load = onehot_load,
    .free = onehot_free,
};

/* ---- boolean ----------------------------------------------------------------------------- */

/* Two values: the one that sorts second (bytewise for strings, by value for a numeric 0/1 column
 * read as numbers) is 1, the other 0; missing and unseen values take the training share of 1s,
 * the mean imputation, which is the least-squares guess and keeps the column finite. */
typedef struct bool_enc {
    am_encoder base;
    bool numeric;     /* the column was read as numbers (say 0/1): compare values */
    am_strset levels; /* categorical: the two levels, the 0 level first */
    double value[2];  /* numeric: the 0 value, then the 1 value */
    double fill;      /* share of 1s over the training rows that had a value */
} bool_enc;

static void bool_free(am_encoder *e)
{
    if (!e)
        return;
    bool_enc *be = (bool_enc *)e;
    am_strset_fini(&be->levels);
    am_encoder_fini(e);
    am_free(be);
}

static bool_enc *bool_new(void)
{
    bool_enc *be = am_calloc(1, sizeof(*be));
    if (be) {
        be->base.type = &am_enc_boolean;
        am_strset_init(&be->levels);
    }
    return be;
}

static am_status bool_two_levels(const am_enc_fit_args *a, int64_t n_seen, am_diag *d)
{
    if (n_seen == 2)
        return AM_OK;
    return am_feat_fail(d, AM_ERR_DATA, a->frame, 0, a->col->name,
                        "boolean encoding: column \"%s\" has %s%lld value%s in the training rows "
                        "(two are needed)",
                        a->col->name, n_seen > 2 ? "more than " : "",
                        (long long)AM_MIN(n_seen, 2), n_seen == 1 ? "" : "s");
}

/* A categorical column: the two levels seen, ordered bytewise (strcmp compares bytes as
 * unsigned char), and the share of the second. */
static am_status bool_fit_levels(const am_enc_fit_args *a, bool_enc *be, am_diag *d)
{
    const am_column *c = a->col;
    int64_t *counts = NULL, n_missing = 0;
    am_status st = count_levels(a, "boolean", &counts, &n_missing, d);
    if (st != AM_OK)
        return st;
    int32_t code[2] = {-1, -1};
    int64_t n_seen = 0;
    for (int32_t l = 0; l < c->levels.n; l++) {
        if (counts[l] == 0)
            continue;
        if (n_seen < 2)
            code[n_seen] = l;
        n_seen++;
    }
    st = bool_two_levels(a, n_seen, d);
    if (st == AM_OK) {
        if (strcmp(c->levels.items[code[0]], c->levels.items[code[1]]) > 0) {
            int32_t t = code[0];
            code[0] = code[1];
            code[1] = t;
        }
        be->fill = (double)counts[code[1]] / (double)(a->n_rows - n_missing);
        if (!add_level(&be->levels, c->levels.items[code[0]]) ||
            !add_level(&be->levels, c->levels.items[code[1]]))
            st = fail_nomem(a, "boolean", d);
    }
    am_free(counts);
    return st;
}

/* A numeric column: the two finite values seen (non-finite ones count as missing). */
static am_status bool_fit_numbers(const am_enc_fit_args *a, bool_enc *be, am_diag *d)
{
    const double *x = a->col->num;
    int64_t n_seen = 0, n_value = 0, n_high = 0;
    for (int64_t i = 0; i < a->n_rows && n_seen <= 2; i++) {
        double v = x[a->rows[i]];
        if (!isfinite(v))
            continue;
        if (n_seen == 0 || (v != be->value[0] && (n_seen == 1 || v != be->value[1]))) {
            if (n_seen < 2)
                be->value[n_seen] = v;
            n_seen++;
        }
    }
    am_status st = bool_two_levels(a, n_seen, d);
    if (st != AM_OK)
        return st;
    if (be->value[0] > be->value[1]) {
        double t = be->value[0];
        be->value[0] = be->value[1];
        be->value[1] = t;
    }
    for (int64_t i = 0; i < a->n_rows; i++) {
        double v = x[a->rows[i]];
        n_value += isfinite(v);
        n_high += v == be->value[1];
    }
    be->fill = (double)n_high / (double)n_value;
    be->numeric = true;
    return AM_OK;
}

static am_status bool_fit(const am_enc_fit_args *a, am_encoder **out, am_diag *d)
{
    bool_enc *be = bool_new();
    if (!be)
        return fail_nomem(a, "boolean", d);
    bool numeric = a->col->type == AM_COL_NUM && a->col->num;
    am_status st = AM_OK;
    if (numeric && (a->n_rows <= 0 || !a->rows))
        st = am_feat_fail(d, AM_ERR_ARG, a->frame, 0, a->col->name,
                          "boolean encoding: no training rows");
    if (st == AM_OK)
        st = numeric ? bool_fit_numbers(a, be, d) : bool_fit_levels(a, be, d);
    if (st == AM_OK && (!am_encoder_init_names(&be->base, 1) ||
                        !(be->base.names[0] = am_strdup(a->col->name))))
        st = fail_nomem(a, "boolean", d);
    if (st != AM_OK) {
        bool_free(&be->base);
        return st;
    }
    *out = &be->base;
    return AM_OK;
}

static void bool_transform(const am_encoder *e, const am_column *col, const int64_t *rows,
                           int64_t n, double *const *out)
{
    const bool_enc *be = (const bool_enc *)e;
    if (be->numeric) {
        for (int64_t i = 0; i < n; i++) {
            double v = col->num ? col->num[am_enc_row(rows, i)] : NAN;
            out[0][i] = v == be->value[1] ? 1.0 : v == be->value[0] ? 0.0 : be->fill;
        }
        return;
    }
    int32_t *map = map_levels(&be->levels, col);
    for (int64_t i = 0; i < n; i++) {
        int32_t at = level_at(&be->levels, map, col, am_enc_row(rows, i));
        out[0][i] = at >= 0 ? (double)at : be->fill;
    }
    am_free(map);
}

/* Payload: common fields, u8 numeric, then the two values (f64) or the two levels, f64 fill. */
static am_status bool_save(const am_encoder *e, am_buf *b, am_diag *d)
{
    const bool_enc *be = (const bool_enc *)e;
    am_encoder_save_common(e, b);
    am_buf_u8(b, be->numeric ? 1 : 0);
    if (be->numeric)
        am_buf_f64s(b, be->value, 2);
    else
        save_levels(&be->levels, b);
    am_buf_f64(b, be->fill);
    return am_buf_status(b, d);
}

static bool bool_valid(const bool_enc *be)
{
    if (be->base.width != 1 || be->base.n_categories || !unit_share(be->fill))
        return false;
    if (be->numeric)
        return isfinite(be->value[0]) && isfinite(be->value[1]) && be->value[0] < be->value[1];
    return be->levels.n == 2 && strcmp(be->levels.items[0], be->levels.items[1]) < 0;
}

static am_status bool_load(am_reader *r, uint32_t version, am_encoder **out, am_diag *d)
{
    am_status st = check_version(version, &am_enc_boolean, d);
    if (st != AM_OK)
        return st;
    bool_enc *be = bool_new();
    if (!be)
        return am_fail(d, AM_ERR_NOMEM, "out of memory loading the boolean encoder");
    st = load_common(r, 1, &be->base, "boolean", d);
    uint8_t numeric = 0;
    if (st == AM_OK) {
        numeric = am_get_u8(r);
        be->numeric = numeric == 1;
        if (be->numeric)
            am_get_f64s(r, be->value, 2);
        else if (numeric == 0)
            st = load_levels(r, &be->levels, "boolean", d);
    }
    if (st == AM_OK) {
        be->fill = am_get_f64(r);
        if (r->failed || numeric > 1 || !bool_valid(be))
            st = am_fail(d, AM_ERR_FORMAT, "featurizer: the boolean encoder is corrupt");
    }
    if (st != AM_OK) {
        bool_free(&be->base);
        return st;
    }
    *out = &be->base;
    return AM_OK;
}

const am_encoder_type am_enc_boolean = {
    .name = "boolean",
    .version = 1,
    .fit = bool_fit,
    .transform = bool_transform,
    .transform_train = NULL,
    .save = bool_save,
    .load = bool_load,
    .free = bool_free,
};

/* ---- frequency --------------------------------------------------------------------------- */

typedef struct freq_enc {
    am_encoder base;
    am_strset levels; /* every level seen in the training rows, bytewise */
    double *share;    /* per level: its share of the training rows */
    double missing;   /* share of training rows without a value */
} freq_enc;

static void freq_free(am_encoder *e)
{
    if (!e)
        return;
    freq_enc *fe = (freq_enc *)e;
    am_strset_fini(&fe->levels);
    am_free(fe->share);
    am_encoder_fini(e);
    am_free(fe);
}

static freq_enc *freq_new(void)
{
    freq_enc *fe = am_calloc(1, sizeof(*fe));
    if (fe) {
        fe->base.type = &am_enc_frequency;
        am_strset_init(&fe->levels);
    }
    return fe;
}

static am_status freq_fit(const am_enc_fit_args *a, am_encoder **out, am_diag *d)
{
    const am_column *c = a->col;
    int64_t *counts = NULL, n_missing = 0;
    am_status st = count_levels(a, "frequency", &counts, &n_missing, d);
    if (st != AM_OK)
        return st;
    freq_enc *fe = freq_new();
    int32_t n_seen = 0;
    seen_level *seen = seen_bytewise(c, counts, &n_seen);
    if (fe && seen)
        fe->share = am_malloc_array((size_t)AM_MAX(n_seen, 1), sizeof(double));
    if (!fe || !fe->share) {
        st = fail_nomem(a, "frequency", d);
        goto done;
    }
    if (n_seen == 0) {
        st = fail_no_level(a, d);
        goto done;
    }
    double total = (double)a->n_rows;
    for (int32_t i = 0; i < n_seen && st == AM_OK; i++) {
        fe->share[i] = (double)counts[seen[i].code] / total;
        if (!add_level(&fe->levels, seen[i].s))
            st = fail_nomem(a, "frequency", d);
    }
    fe->missing = (double)n_missing / total;
    if (st == AM_OK && (!am_encoder_init_names(&fe->base, 1) ||
                        !(fe->base.names[0] = am_encoder_join(c->name, ".freq", ""))))
        st = fail_nomem(a, "frequency", d);
done:
    am_free(seen);
    am_free(counts);
    if (st != AM_OK) {
        freq_free(fe ? &fe->base : NULL);
        return st;
    }
    *out = &fe->base;
    return AM_OK;
}

static void freq_transform(const am_encoder *e, const am_column *col, const int64_t *rows,
                           int64_t n, double *const *out)
{
    const freq_enc *fe = (const freq_enc *)e;
    int32_t *map = map_levels(&fe->levels, col);
    for (int64_t i = 0; i < n; i++) {
        int32_t at = level_at(&fe->levels, map, col, am_enc_row(rows, i));
        out[0][i] = at >= 0 ? fe->share[at] : at == LEVEL_MISSING ? fe->missing : 0.0;
    }
    am_free(map);
}

/* Payload: common fields, the levels, one f64 share per level, f64 missing share. */
static am_status freq_save(const am_encoder *e, am_buf *b, am_diag *d)
{
    const freq_enc *fe = (const freq_enc *)e;
    am_encoder_save_common(e, b);
    save_levels(&fe->levels, b);
    am_buf_f64s(b, fe->share, (size_t)fe->levels.n);
    am_buf_f64(b, fe->missing);
    return am_buf_status(b, d);
}

static am_status freq_load(am_reader *r, uint32_t version, am_encoder **out, am_diag *d)
{
    am_status st = check_version(version, &am_enc_frequency, d);
    if (st != AM_OK)
        return st;
    freq_enc *fe = freq_new();
    if (!fe)
        return am_fail(d, AM_ERR_NOMEM, "out of memory loading the frequency encoder");
    st = load_common(r, 1, &fe->base, "frequency", d);
    if (st == AM_OK)
        st = load_levels(r, &fe->levels, "frequency", d);
    size_t n = st == AM_OK ? (size_t)fe->levels.n : 0;
    if (st == AM_OK && n > r->left / sizeof(double))
        st = am_fail(d, AM_ERR_FORMAT, "featurizer: the frequency encoder is truncated");
    if (st == AM_OK && !(fe->share = am_malloc_array(AM_MAX(n, 1), sizeof(double))))
        st = am_fail(d, AM_ERR_NOMEM, "out of memory loading the frequency encoder");
    if (st == AM_OK) {
        am_get_f64s(r, fe->share, n);
        fe->missing = am_get_f64(r);
        bool ok = !r->failed && n > 0 && unit_share(fe->missing) && fe->base.width == 1 &&
                  !fe->base.n_categories;
        for (size_t i = 0; i < n && ok; i++)
            ok = unit_share(fe->share[i]);
        if (!ok)
            st = am_fail(d, AM_ERR_FORMAT, "featurizer: the frequency encoder is corrupt");
    }
    if (st != AM_OK) {
        freq_free(&fe->base);
        return st;
    }
    *out = &fe->base;
    return AM_OK;
}

const am_encoder_type am_enc_frequency = {
    .name = "frequency",
    .version = 1,
    .fit = freq_fit,
    .transform = freq_transform,
    .transform_train = NULL,
    .save = freq_save,
    .load = freq_load,
    .free = freq_free,
};

/* ---- target ------------------------------------------------------------------------------ */

/* Smoothing: a fixed m = 10 pseudo-rows of the prior, encoding = (stat + m * prior) / (count + m).
 * Chosen over scikit-learn's empirical-Bayes blend ("auto", m = within-level variance / target
 * variance) because that blend gives a level whose few rows all agree (variance 0) no
 * shrinkage at all, exactly the small levels that most need it; and it has no analogue for class
 * shares that keeps the multiclass outputs summing to 1. A fixed m treats every task alike, is
 * scale-free (it counts rows, not target units), and fades once a level has many more than 10
 * rows. */
#define TARGET_SMOOTHING 10.0
/* Inner folds for the training rows' out-of-fold statistics. */
#define TARGET_FOLDS 5

typedef struct target_enc {
    am_encoder base;
    am_task task;
    int32_t n_classes; /* 0 for regression */
    int32_t n_out;     /* 1, or n_classes for multiclass */
    am_strset levels;  /* levels with at least rare_min_count training rows, bytewise */
    double *values;    /* levels.n x n_out encodings, row-major */
    double *prior;     /* n_out: unseen and rare levels */
    double *missing;   /* n_out: missing values (missing counts as a level of its own) */
    /* Fit only, not saved: the training rows' out-of-fold encodings, per inner fold and per
     * training slot (the levels seen in the training rows, bytewise, then missing). */
    uint64_t seed;
    int64_t n_fit_rows;
    int32_t n_codes;   /* the fit column's dictionary size */
    int32_t n_slots;   /* seen levels + 1 */
    int32_t *slot_of;  /* n_codes: code -> slot, -1 when not seen in training */
    double *oof;       /* TARGET_FOLDS x n_slots x n_out */
} target_enc;

static void target_free(am_encoder *e)
{
    if (!e)
        return;
    target_enc *te = (target_enc *)e;
    am_strset_fini(&te->levels);
    am_free(te->values);
    am_free(te->prior);
    am_free(te->missing);
    am_free(te->slot_of);
    am_free(te->oof);
    am_encoder_fini(e);
    am_free(te);
}

static target_enc *target_new(void)
{
    target_enc *te = am_calloc(1, sizeof(*te));
    if (te) {
        te->base.type = &am_enc_target;
        am_strset_init(&te->levels);
    }
    return te;
}

/* The number of outputs for a task, or 0 when task and n_classes do not agree. */
static int32_t target_outputs(am_task task, int64_t n_classes)
{
    if (task == AM_TASK_REGRESSION)
        return n_classes == 0 ? 1 : 0;
    if (task == AM_TASK_BINARY)
        return n_classes == 2 ? 1 : 0;
    if (task == AM_TASK_MULTICLASS)
        return n_classes >= 2 && n_classes <= INT32_MAX / 4 ? (int32_t)n_classes : 0;
    return 0;
}

static am_status target_check_args(const am_enc_fit_args *a, int32_t *n_out, am_diag *d)
{
    *n_out = target_outputs(a->task, a->n_classes);
    if (!a->y || *n_out == 0)
        return am_feat_fail(d, AM_ERR_ARG, a->frame, 0, a->col->name,
                            "target encoding of column \"%s\": %s", a->col->name,
                            a->y ? "task and class count disagree" : "no target given");
    for (int64_t i = 0; i < a->n_rows; i++) {
        double y = a->y[i];
        bool ok = a->task == AM_TASK_REGRESSION
                      ? isfinite(y)
                      : y >= 0 && y < (double)a->n_classes && y == floor(y);
        if (!ok)
            return am_feat_fail(d, AM_ERR_ARG, a->frame, 0, a->col->name,
                                "target encoding of column \"%s\": bad target at training "
                                "position %lld",
                                a->col->name, (long long)i);
    }
    return AM_OK;
}

/* Adds training position i's target to the statistics of its slot: the value for regression,
 * 1 for class 1 (binary), 1 for its class (multiclass). */
static void target_accumulate(const target_enc *te, double y, double *stat)
{
    if (te->task == AM_TASK_REGRESSION)
        stat[0] += y;
    else if (te->task == AM_TASK_BINARY)
        stat[0] += y == 1.0;
    else
        stat[(int32_t)y] += 1.0;
}

/* The prior from totals over the rows used; with no row at all (an empty set of other folds in
 * a tiny training set), a value that reads no target: 0, or equal class shares. */
static void target_prior(const target_enc *te, const double *total, int64_t n, double *prior)
{
    for (int32_t o = 0; o < te->n_out; o++) {
        if (n > 0)
            prior[o] = total[o] / (double)n;
        else
            prior[o] = te->task == AM_TASK_REGRESSION ? 0.0 : 1.0 / (double)te->n_classes;
        if (!isfinite(prior[o]))
            prior[o] = 0.0; /* sums of huge regression targets overflow */
    }
}

/* One level's smoothed encoding, or the prior when it has under rare_min rows. */
static void target_encode(const target_enc *te, const double *stat, int64_t count,
                          int64_t rare_min, const double *prior, double *out)
{
    for (int32_t o = 0; o < te->n_out; o++) {
        double v = prior[o];
        if (count >= rare_min && count > 0)
            v = (stat[o] + TARGET_SMOOTHING * prior[o]) / ((double)count + TARGET_SMOOTHING);
        out[o] = isfinite(v) ? v : prior[o];
    }
}

/* Statistics of the training positions whose inner fold is not `skip` (-1: all of them) per
 * slot: count[s] rows and stat[s * n_out ..] sums; total[] sums every slot. Returns the number
 * of positions used. */
static int64_t target_stats(const target_enc *te, const am_enc_fit_args *a, const int32_t *slot,
                            const int32_t *fold, int32_t skip, int64_t *count, double *stat,
                            double *total)
{
    memset(count, 0, (size_t)te->n_slots * sizeof(int64_t));
    memset(stat, 0, (size_t)te->n_slots * (size_t)te->n_out * sizeof(double));
    memset(total, 0, (size_t)te->n_out * sizeof(double));
    int64_t used = 0;
    for (int64_t i = 0; i < a->n_rows; i++) {
        if (fold[i] == skip)
            continue;
        count[slot[i]]++;
        target_accumulate(te, a->y[i], stat + (size_t)slot[i] * (size_t)te->n_out);
        target_accumulate(te, a->y[i], total);
        used++;
    }
    return used;
}

typedef struct target_scratch {
    int32_t *slot;   /* n_rows: training position -> slot */
    int32_t *fold;   /* n_rows: training position -> inner fold */
    int64_t *count;  /* n_slots */
    double *stat;    /* n_slots x n_out */
    double *total;   /* n_out */
    double *prior;   /* n_out: one inner fold's prior */
} target_scratch;

static void scratch_free(target_scratch *s)
{
    am_free(s->slot);
    am_free(s->fold);
    am_free(s->count);
    am_free(s->stat);
    am_free(s->total);
    am_free(s->prior);
}

/* Maps codes to slots (the seen levels, bytewise; missing last) and allocates everything the
 * statistics need. false when out of memory. */
static bool target_setup(target_enc *te, const am_enc_fit_args *a, const seen_level *seen,
                         int32_t n_seen, target_scratch *s)
{
    const am_column *c = a->col;
    te->n_codes = c->levels.n;
    te->slot_of = am_malloc_array((size_t)AM_MAX(c->levels.n, 1), sizeof(int32_t));
    if (!te->slot_of)
        return false;
    for (int32_t l = 0; l < c->levels.n; l++)
        te->slot_of[l] = -1;
    for (int32_t i = 0; i < n_seen; i++)
        te->slot_of[seen[i].code] = i;
    te->n_slots = n_seen + 1;
    size_t cells, oof_cells;
    if (!am_size_mul((size_t)te->n_slots, (size_t)te->n_out, &cells) ||
        !am_size_mul(cells, TARGET_FOLDS, &oof_cells))
        return false;
    s->slot = am_malloc_array((size_t)a->n_rows, sizeof(int32_t));
    s->fold = am_malloc_array((size_t)a->n_rows, sizeof(int32_t));
    s->count = am_malloc_array((size_t)te->n_slots, sizeof(int64_t));
    s->stat = am_malloc_array(cells, sizeof(double));
    s->total = am_malloc_array((size_t)te->n_out, sizeof(double));
    s->prior = am_malloc_array((size_t)te->n_out, sizeof(double));
    te->oof = am_malloc_array(oof_cells, sizeof(double));
    te->prior = am_malloc_array((size_t)te->n_out, sizeof(double));
    te->missing = am_malloc_array((size_t)te->n_out, sizeof(double));
    if (!s->slot || !s->fold || !s->count || !s->stat || !s->total || !s->prior || !te->oof ||
        !te->prior || !te->missing)
        return false;
    te->seed = a->seed;
    te->n_fit_rows = a->n_rows;
    for (int64_t i = 0; i < a->n_rows; i++) {
        int32_t code = c->codes[a->rows[i]];
        s->slot[i] = code < 0 ? n_seen : te->slot_of[code];
        s->fold[i] = am_enc_inner_fold(a->seed, i, TARGET_FOLDS);
    }
    return true;
}

/* The out-of-fold tables: for inner fold k, every slot encoded from the other folds' rows
 * (prior included), so a training row's encoding never reads its own target. The sums are
 * taken afresh per fold rather than as total minus fold: a subtraction would round
 * differently when the row's own target changes. */
static void target_fit_oof(target_enc *te, const am_enc_fit_args *a, int64_t rare_min,
                           const target_scratch *s)
{
    for (int32_t k = 0; k < TARGET_FOLDS; k++) {
        int64_t used = target_stats(te, a, s->slot, s->fold, k, s->count, s->stat, s->total);
        double *table = te->oof + (size_t)k * (size_t)te->n_slots * (size_t)te->n_out;
        target_prior(te, s->total, used, s->prior);
        for (int32_t sl = 0; sl < te->n_slots; sl++) {
            size_t at = (size_t)sl * (size_t)te->n_out;
            target_encode(te, s->stat + at, s->count[sl], rare_min, s->prior, table + at);
        }
    }
}

/* The full-data state that transform uses: levels with at least rare_min rows and their
 * encodings (bytewise, as the slots of seen), the missing encoding and the prior. */
static bool target_fit_full(target_enc *te, const am_enc_fit_args *a, int64_t rare_min,
                            const seen_level *seen, const target_scratch *s)
{
    int64_t used = target_stats(te, a, s->slot, s->fold, -1, s->count, s->stat, s->total);
    target_prior(te, s->total, used, te->prior);
    int32_t n_seen = te->n_slots - 1, n_kept = 0;
    for (int32_t sl = 0; sl < n_seen; sl++)
        n_kept += s->count[sl] >= rare_min;
    /* n_kept x n_out is below n_slots x n_out, whose product setup checked. */
    te->values = am_malloc_array((size_t)AM_MAX(n_kept, 1) * (size_t)te->n_out, sizeof(double));
    if (!te->values)
        return false;
    for (int32_t sl = 0; sl < n_seen; sl++) {
        if (s->count[sl] < rare_min)
            continue;
        size_t at = (size_t)te->levels.n * (size_t)te->n_out;
        target_encode(te, s->stat + (size_t)sl * (size_t)te->n_out, s->count[sl], rare_min,
                      te->prior, te->values + at);
        if (!add_level(&te->levels, seen[sl].s))
            return false;
    }
    int32_t ms = te->n_slots - 1;
    target_encode(te, s->stat + (size_t)ms * (size_t)te->n_out, s->count[ms], rare_min,
                  te->prior, te->missing);
    return true;
}

static bool target_names(target_enc *te, const char *col)
{
    if (!am_encoder_init_names(&te->base, te->n_out))
        return false;
    if (te->task != AM_TASK_MULTICLASS)
        return (te->base.names[0] = am_encoder_join(col, ".target", "")) != NULL;
    for (int32_t o = 0; o < te->n_out; o++) {
        char idx[16];
        snprintf(idx, sizeof(idx), "%d", (int)o);
        if (!(te->base.names[o] = am_encoder_join(col, ".target=", idx)))
            return false;
    }
    return true;
}

static am_status target_fit(const am_enc_fit_args *a, am_encoder **out, am_diag *d)
{
    int32_t n_out = 0;
    am_status st = target_check_args(a, &n_out, d);
    if (st != AM_OK)
        return st;
    int64_t *counts = NULL, n_missing = 0;
    st = count_levels(a, "target", &counts, &n_missing, d);
    if (st != AM_OK)
        return st;
    target_scratch s = {0};
    int32_t n_seen = 0;
    seen_level *seen = seen_bytewise(a->col, counts, &n_seen);
    target_enc *te = target_new();
    if (!seen || !te) {
        st = fail_nomem(a, "target", d);
        goto done;
    }
    te->task = a->task;
    te->n_classes = a->n_classes;
    te->n_out = n_out;
    if (n_missing == a->n_rows) {
        st = fail_no_level(a, d);
        goto done;
    }
    int64_t rare_min = rare_min_count(a->opts);
    if (!target_setup(te, a, seen, n_seen, &s)) {
        st = fail_nomem(a, "target", d);
        goto done;
    }
    target_fit_oof(te, a, rare_min, &s);
    if (!target_fit_full(te, a, rare_min, seen, &s) || !target_names(te, a->col->name))
        st = fail_nomem(a, "target", d);
done:
    scratch_free(&s);
    am_free(seen);
    am_free(counts);
    if (st != AM_OK) {
        target_free(te ? &te->base : NULL);
        return st;
    }
    *out = &te->base;
    return AM_OK;
}

static void target_transform(const am_encoder *e, const am_column *col, const int64_t *rows,
                             int64_t n, double *const *out)
{
    const target_enc *te = (const target_enc *)e;
    int32_t *map = map_levels(&te->levels, col);
    for (int64_t i = 0; i < n; i++) {
        int32_t at = level_at(&te->levels, map, col, am_enc_row(rows, i));
        const double *v = at >= 0                ? te->values + (size_t)at * (size_t)te->n_out
                          : at == LEVEL_MISSING ? te->missing
                                                : te->prior;
        for (int32_t o = 0; o < te->n_out; o++)
            out[o][i] = v[o];
    }
    am_free(map);
}

/* The training rows' out-of-fold encodings from the tables fit built. An encoder that was
 * loaded rather than fitted, or arguments that do not match the fit, get the prior: it reads
 * no row's own target. */
static void target_transform_train(const am_encoder *e, const am_enc_fit_args *a,
                                   double *const *out)
{
    const target_enc *te = (const target_enc *)e;
    const am_column *c = a->col;
    bool fitted = te->oof && a->n_rows == te->n_fit_rows && c->codes &&
                  c->levels.n == te->n_codes;
    for (int64_t i = 0; i < a->n_rows; i++) {
        const double *v = te->prior;
        int32_t code = fitted ? c->codes[a->rows[i]] : -2;
        int32_t slot = code == -1                        ? te->n_slots - 1
                       : code >= 0 && code < te->n_codes ? te->slot_of[code]
                                                         : -1;
        if (fitted && slot >= 0) {
            int32_t k = am_enc_inner_fold(te->seed, i, TARGET_FOLDS);
            v = te->oof + ((size_t)k * (size_t)te->n_slots + (size_t)slot) * (size_t)te->n_out;
        }
        for (int32_t o = 0; o < te->n_out; o++)
            out[o][i] = v[o];
    }
}

/* Payload: common fields, u8 task, u32 n_classes, f64 prior[n_out], f64 missing[n_out], the
 * levels, f64 values[levels x n_out]. */
static am_status target_save(const am_encoder *e, am_buf *b, am_diag *d)
{
    const target_enc *te = (const target_enc *)e;
    am_encoder_save_common(e, b);
    am_buf_u8(b, (uint8_t)te->task);
    am_buf_u32(b, (uint32_t)te->n_classes);
    am_buf_f64s(b, te->prior, (size_t)te->n_out);
    am_buf_f64s(b, te->missing, (size_t)te->n_out);
    save_levels(&te->levels, b);
    am_buf_f64s(b, te->values, (size_t)te->levels.n * (size_t)te->n_out);
    return am_buf_status(b, d);
}

/* Every value finite; class shares in [0, 1]. */
static bool target_values_ok(const target_enc *te, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]) || (te->task != AM_TASK_REGRESSION && !unit_share(v[i])))
            return false;
    return true;
}

static am_status target_load_head(am_reader *r, target_enc *te, am_diag *d)
{
    uint8_t task = am_get_u8(r);
    uint32_t n_classes = am_get_u32(r);
    te->task = (am_task)task;
    te->n_classes = (int32_t)AM_MIN(n_classes, (uint32_t)INT32_MAX);
    te->n_out = target_outputs(te->task, (int64_t)n_classes);
    if (r->failed || te->n_out == 0 || te->base.width != te->n_out || te->base.n_categories ||
        (size_t)te->n_out > r->left / (2 * sizeof(double)))
        return am_fail(d, AM_ERR_FORMAT, "featurizer: the target encoder is corrupt");
    te->prior = am_malloc_array((size_t)te->n_out, sizeof(double));
    te->missing = am_malloc_array((size_t)te->n_out, sizeof(double));
    if (!te->prior || !te->missing)
        return am_fail(d, AM_ERR_NOMEM, "out of memory loading the target encoder");
    am_get_f64s(r, te->prior, (size_t)te->n_out);
    am_get_f64s(r, te->missing, (size_t)te->n_out);
    if (r->failed || !target_values_ok(te, te->prior, (size_t)te->n_out) ||
        !target_values_ok(te, te->missing, (size_t)te->n_out))
        return am_fail(d, AM_ERR_FORMAT, "featurizer: the target encoder is corrupt");
    return AM_OK;
}

static am_status target_load(am_reader *r, uint32_t version, am_encoder **out, am_diag *d)
{
    am_status st = check_version(version, &am_enc_target, d);
    if (st != AM_OK)
        return st;
    target_enc *te = target_new();
    if (!te)
        return am_fail(d, AM_ERR_NOMEM, "out of memory loading the target encoder");
    st = load_common(r, INT32_MAX, &te->base, "target", d);
    if (st == AM_OK)
        st = target_load_head(r, te, d);
    if (st == AM_OK)
        st = load_levels(r, &te->levels, "target", d);
    size_t cells = st == AM_OK ? (size_t)te->levels.n * (size_t)te->n_out : 0;
    if (st == AM_OK && cells > r->left / sizeof(double))
        st = am_fail(d, AM_ERR_FORMAT, "featurizer: the target encoder is truncated");
    if (st == AM_OK && !(te->values = am_malloc_array(AM_MAX(cells, 1), sizeof(double))))
        st = am_fail(d, AM_ERR_NOMEM, "out of memory loading the target encoder");
    if (st == AM_OK && (!am_get_f64s(r, te->values, cells) ||
                        !target_values_ok(te, te->values, cells)))
        st = am_fail(d, AM_ERR_FORMAT, "featurizer: the target encoder is corrupt");
    if (st != AM_OK) {
        target_free(&te->base);
        return st;
    }
    *out = &te->base;
    return AM_OK;
}

const am_encoder_type am_enc_target = {
    .name = "target",
    .version = 1,
    .fit = target_fit,
    .transform = target_transform,
    .transform_train = target_transform_train,
    .save = target_save,
    .load = target_load,
    .free = target_free,
};

/* ---- native categorical ------------------------------------------------------------------ */

/* Trees: the index of the level among the levels seen in the training rows in bytewise order,
 * as a double; missing and unseen levels are NaN, which trees read as missing. */
typedef struct native_enc {
    am_encoder base;
    am_strset levels;
} native_enc;

static void native_free(am_encoder *e)
{
    if (!e)
        return;
    native_enc *ne = (native_enc *)e;
    am_strset_fini(&ne->levels);
    am_encoder_fini(e);
    am_free(ne);
}

static native_enc *native_new(void)
{
    native_enc *ne = am_calloc(1, sizeof(*ne));
    if (ne) {
        ne->base.type = &am_enc_native_categorical;
        am_strset_init(&ne->levels);
    }
    return ne;
}

static am_status native_fit(const am_enc_fit_args *a, am_encoder **out, am_diag *d)
{
    const am_column *c = a->col;
    int64_t *counts = NULL, n_missing = 0;
    am_status st = count_levels(a, "native categorical", &counts, &n_missing, d);
    if (st != AM_OK)
        return st;
    int32_t n_seen = 0;
    seen_level *seen = seen_bytewise(c, counts, &n_seen);
    native_enc *ne = native_new();
    if (!seen || !ne) {
        st = fail_nomem(a, "native categorical", d);
        goto done;
    }
    if (n_missing == a->n_rows) {
        st = fail_no_level(a, d);
        goto done;
    }
    for (int32_t i = 0; i < n_seen && st == AM_OK; i++)
        if (!add_level(&ne->levels, seen[i].s))
            st = fail_nomem(a, "native categorical", d);
    if (st == AM_OK &&
        (!am_encoder_init_names(&ne->base, 1) || !(ne->base.names[0] = am_strdup(c->name)) ||
         !(ne->base.n_categories = am_calloc(1, sizeof(int32_t)))))
        st = fail_nomem(a, "native categorical", d);
    if (st == AM_OK)
        ne->base.n_categories[0] = ne->levels.n;
done:
    am_free(seen);
    am_free(counts);
    if (st != AM_OK) {
        native_free(ne ? &ne->base : NULL);
        return st;
    }
    *out = &ne->base;
    return AM_OK;
}

static void native_transform(const am_encoder *e, const am_column *col, const int64_t *rows,
                             int64_t n, double *const *out)
{
    const native_enc *ne = (const native_enc *)e;
    int32_t *map = map_levels(&ne->levels, col);
    for (int64_t i = 0; i < n; i++) {
        int32_t at = level_at(&ne->levels, map, col, am_enc_row(rows, i));
        out[0][i] = at >= 0 ? (double)at : NAN;
    }
    am_free(map);
}

/* Payload: common fields (with the category count), the levels. */
static am_status native_save(const am_encoder *e, am_buf *b, am_diag *d)
{
    const native_enc *ne = (const native_enc *)e;
    am_encoder_save_common(e, b);
    save_levels(&ne->levels, b);
    return am_buf_status(b, d);
}

static am_status native_load(am_reader *r, uint32_t version, am_encoder **out, am_diag *d)
{
    am_status st = check_version(version, &am_enc_native_categorical, d);
    if (st != AM_OK)
        return st;
    native_enc *ne = native_new();
    if (!ne)
        return am_fail(d, AM_ERR_NOMEM, "out of memory loading the native categorical encoder");
    st = load_common(r, 1, &ne->base, "native categorical", d);
    if (st == AM_OK)
        st = load_levels(r, &ne->levels, "native categorical", d);
    if (st == AM_OK && (ne->base.width != 1 || !ne->base.n_categories || ne->levels.n == 0 ||
                        ne->base.n_categories[0] != ne->levels.n))
        st = am_fail(d, AM_ERR_FORMAT, "featurizer: the native categorical encoder is corrupt");
    if (st != AM_OK) {
        native_free(&ne->base);
        return st;
    }
    *out = &ne->base;
    return AM_OK;
}

const am_encoder_type am_enc_native_categorical = {
    .name = "native_categorical",
    .version = 1,
    .fit = native_fit,
    .transform = native_transform,
    .transform_train = NULL,
    .save = native_save,
    .load = native_load,
    .free = native_free,
};
