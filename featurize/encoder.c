/* encoder.c — what every encoder shares: its names, saving them, inner folds. The registry of
 * encoder types lives with the featurizer that chooses them (featurizer.c). */
#include "encoder.h"

#include <stdio.h>
#include <string.h>

bool am_encoder_init_names(am_encoder *e, int64_t width)
{
    e->width = width;
    e->names = am_calloc((size_t)AM_MAX(width, 1), sizeof(char *));
    return e->names != NULL;
}

void am_encoder_fini(am_encoder *e)
{
    if (!e)
        return;
    for (int64_t k = 0; e->names && k < e->width; k++)
        am_free(e->names[k]);
    am_free(e->names);
    am_free(e->n_categories);
    e->names = NULL;
    e->n_categories = NULL;
}

/* Layout: u64 width, width names, u8 has_categories, then width i64 category counts if so. */
void am_encoder_save_common(const am_encoder *e, am_buf *b)
{
    am_buf_u64(b, (uint64_t)e->width);
    for (int64_t k = 0; k < e->width; k++)
        am_buf_str(b, e->names[k]);
    am_buf_u8(b, e->n_categories ? 1 : 0);
    for (int64_t k = 0; e->n_categories && k < e->width; k++)
        am_buf_i64(b, e->n_categories[k]);
}

am_status am_encoder_load_common(am_reader *r, int64_t max_width, am_encoder *e, am_diag *d)
{
    uint64_t width = am_get_count(r, (uint64_t)max_width);
    if (r->failed || width == 0)
        return am_fail(d, AM_ERR_FORMAT, "featurizer: an encoder has a bad output count");
    if (!am_encoder_init_names(e, (int64_t)width))
        return am_fail(d, AM_ERR_NOMEM, "featurizer: out of memory for feature names");
    for (int64_t k = 0; k < e->width && !r->failed; k++)
        e->names[k] = am_get_str(r, AM_FEAT_STR_MAX);
    uint8_t has_categories = am_get_u8(r);
    if (r->failed || has_categories > 1)
        return am_fail(d, AM_ERR_FORMAT, "featurizer: an encoder's feature names are corrupt");
    if (has_categories) {
        e->n_categories = am_calloc((size_t)e->width, sizeof(int32_t));
        if (!e->n_categories)
            return am_fail(d, AM_ERR_NOMEM, "featurizer: out of memory for category counts");
        for (int64_t k = 0; k < e->width; k++) {
            int64_t v = am_get_i64(r);
            if (r->failed || v < 0 || v > INT32_MAX)
                return am_fail(d, AM_ERR_FORMAT, "featurizer: a category count is corrupt");
            e->n_categories[k] = (int32_t)v;
        }
    }
    return AM_OK;
}

char *am_encoder_join(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = am_malloc(la + lb + lc + 1);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

int32_t am_enc_inner_fold(uint64_t seed, int64_t i, int32_t k)
{
    return (int32_t)(am_feat_mix64(seed * 0x9e3779b97f4a7c15ull + (uint64_t)i) % (uint64_t)k);
}
