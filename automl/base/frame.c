/* frame.c — string sets, frames and matrices. */
#define _DEFAULT_SOURCE /* madvise and MADV_HUGEPAGE */
#include "frame.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

const char *am_coltype_name(am_coltype t)
{
    switch (t) {
    case AM_COL_NUM: return "number";
    case AM_COL_CAT: return "category";
    case AM_COL_TEXT: return "text";
    case AM_COL_TIME: return "datetime";
    }
    return "unknown";
}

/* ---- string sets ------------------------------------------------------------------------- */

void am_strset_init(am_strset *s)
{
    memset(s, 0, sizeof(*s));
}

void am_strset_fini(am_strset *s)
{
    if (!s)
        return;
    for (int32_t i = 0; i < s->n; i++)
        am_free(s->items[i]);
    am_free(s->items);
    am_free(s->table);
    memset(s, 0, sizeof(*s));
}

/* FNV-1a: short strings, few collisions, no state. */
static uint32_t hash_bytes(const char *str, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)str[i];
        h *= 16777619u;
    }
    return h;
}

static bool item_equals(const char *item, const char *str, size_t len)
{
    return strncmp(item, str, len) == 0 && item[len] == '\0';
}

int32_t am_strset_find(const am_strset *s, const char *str, size_t len)
{
    if (s->table_size == 0)
        return -1;
    uint32_t mask = (uint32_t)s->table_size - 1;
    for (uint32_t slot = hash_bytes(str, len) & mask;; slot = (slot + 1) & mask) {
        int32_t idx = s->table[slot];
        if (idx < 0)
            return -1;
        if (item_equals(s->items[idx], str, len))
            return idx;
    }
}

static bool rehash(am_strset *s, int32_t new_size)
{
    int32_t *table = am_malloc_array((size_t)new_size, sizeof(int32_t));
    if (!table)
        return false;
    for (int32_t i = 0; i < new_size; i++)
        table[i] = -1;
    uint32_t mask = (uint32_t)new_size - 1;
    for (int32_t i = 0; i < s->n; i++) {
        uint32_t slot = hash_bytes(s->items[i], strlen(s->items[i])) & mask;
        while (table[slot] >= 0)
            slot = (slot + 1) & mask;
        table[slot] = i;
    }
    am_free(s->table);
    s->table = table;
    s->table_size = new_size;
    return true;
}

int32_t am_strset_add(am_strset *s, const char *str, size_t len)
{
    int32_t found = am_strset_find(s, str, len);
    if (found >= 0)
        return found;
    if (s->n == INT32_MAX / 4)
        return -1;
    /* Keep the table at most half full so probes stay short. */
    if ((s->n + 1) * 2 > s->table_size && !rehash(s, s->table_size ? s->table_size * 2 : 16))
        return -1;
    if (s->n == s->cap) {
        int32_t cap = s->cap ? s->cap * 2 : 16;
        char **items = am_realloc(s->items, sizeof(char *) * (size_t)cap);
        if (!items)
            return -1;
        s->items = items;
        s->cap = cap;
    }
    char *copy = am_malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, str, len);
    copy[len] = '\0';
    uint32_t mask = (uint32_t)s->table_size - 1;
    uint32_t slot = hash_bytes(str, len) & mask;
    while (s->table[slot] >= 0)
        slot = (slot + 1) & mask;
    s->table[slot] = s->n;
    s->items[s->n] = copy;
    return s->n++;
}

/* ---- frames ------------------------------------------------------------------------------ */

void am_frame_free(am_frame *f)
{
    if (!f)
        return;
    for (int32_t j = 0; j < f->n_cols; j++) {
        am_column *c = &f->cols[j];
        am_free(c->name);
        am_free(c->num);
        am_free(c->codes);
        am_strset_fini(&c->levels);
    }
    am_free(f->cols);
    am_free(f->row_line);
    am_free(f->source);
    am_free(f);
}

int32_t am_frame_col_find(const am_frame *f, const char *name)
{
    for (int32_t j = 0; j < f->n_cols; j++)
        if (strcmp(f->cols[j].name, name) == 0)
            return j;
    return -1;
}

int64_t am_frame_row_line(const am_frame *f, int64_t row)
{
    return f->row_line ? f->row_line[row] : row + 2;
}

bool am_column_missing(const am_column *c, int64_t row)
{
    if (c->type == AM_COL_NUM || c->type == AM_COL_TIME)
        return isnan(c->num[row]);
    return c->codes[row] < 0;
}

/* ---- matrices ---------------------------------------------------------------------------- */

/* Large matrices ask for transparent huge pages (where the system hands them out on request):
 * a featurized table of 128 MB otherwise costs 32,768 page faults on first touch, a sizeable
 * part of featurizing it. Only the 2 MB-aligned inside of the block is advised; nothing
 * changes where the call is not available or refused. */
static void advise_huge_pages(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (bytes < 4 * huge)
        return;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t hi = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

am_status am_matrix_new(am_matrix *m, int64_t n_rows, int64_t n_cols, am_diag *d)
{
    memset(m, 0, sizeof(*m));
    if (n_rows < 0 || n_cols < 0)
        return am_fail(d, AM_ERR_ARG, "negative matrix size");
    size_t cells;
    if (!am_size_mul((size_t)n_rows, (size_t)n_cols, &cells))
        return am_fail(d, AM_ERR_NOMEM, "matrix of %lld x %lld is too large", (long long)n_rows,
                       (long long)n_cols);
    m->data = am_calloc(cells ? cells : 1, sizeof(double));
    if (!m->data)
        return am_fail(d, AM_ERR_NOMEM, "out of memory for a %lld x %lld matrix",
                       (long long)n_rows, (long long)n_cols);
    advise_huge_pages(m->data, cells * sizeof(double));
    m->n_rows = n_rows;
    m->n_cols = n_cols;
    m->ld = n_rows > 0 ? n_rows : 1;
    m->owner = true;
    return AM_OK;
}

void am_matrix_fini(am_matrix *m)
{
    if (!m)
        return;
    if (m->owner)
        am_free(m->data);
    memset(m, 0, sizeof(*m));
}
